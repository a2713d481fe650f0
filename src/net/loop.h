/*
 * The event loop: epoll (edge-triggered), a timer heap, and signals through signalfd.
 *
 * Single-threaded. An I/O source is a `struct loop_io` embedded in its owner; its callback gets
 * the epoll event bits. A timer is a `struct loop_timer` embedded in its owner; timers live in a
 * binary min-heap, so arming, re-arming and cancelling are O(log n) and 10,000 connections with a
 * timer each cost nothing noticeable. Time is read once per wake-up (loop_now_ms).
 *
 * A deferred item (`struct loop_defer`, embedded in its owner) runs once after the current event
 * batch, when every I/O callback and due timer of the batch has returned (Redis' beforeSleep,
 * libuv's check handles): work queued from deep inside a callback (output to write, memory to
 * free) is done there, and nobody is called back while still on the stack.
 */
#ifndef KILN_NET_LOOP_H
#define KILN_NET_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct loop;
struct loop_io;
struct loop_timer;
struct loop_defer;

typedef void (*loop_io_fn)(struct loop *loop, struct loop_io *io, uint32_t events);
typedef void (*loop_timer_fn)(struct loop *loop, struct loop_timer *timer);
typedef void (*loop_defer_fn)(struct loop *loop, struct loop_defer *d);
/* A signal as the signalfd reported it. */
struct loop_signal {
    int signo;
    pid_t sender;  /* the process that sent it (0 from the kernel) */
    bool queued;   /* sent with sigqueue(): `value` is the sender's */
    int value;
};
typedef void (*loop_signal_fn)(struct loop *loop, const struct loop_signal *sig);

struct loop_io {
    int fd;
    loop_io_fn fn;
};

struct loop_timer {
    uint64_t deadline_ms;
    size_t heap_index; /* 0 = not armed; otherwise position + 1 in the heap */
    loop_timer_fn fn;
};

struct loop_defer {
    loop_defer_fn fn;
    struct loop_defer *next;
    bool queued;
};

struct loop *loop_create(void);
void loop_destroy(struct loop *loop);

/* Registers io->fd for `events` (EPOLLIN/EPOLLOUT/...; EPOLLET is added). */
int loop_add(struct loop *loop, struct loop_io *io, uint32_t events);
void loop_remove(struct loop *loop, struct loop_io *io);

/* Arms (or re-arms) `t` to fire `ms` milliseconds from the loop's current time. */
void loop_timer_arm(struct loop *loop, struct loop_timer *t, uint64_t ms);
void loop_timer_cancel(struct loop *loop, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t) { return t->heap_index != 0; }

/* Queues `d` to run after the current event batch, in the order queued; nothing if it already
   is queued. Items queued while the deferred items run are run in the same pass. */
void loop_defer(struct loop *loop, struct loop_defer *d);
/* Runs the queued items now (teardown, where no batch follows). */
void loop_run_deferred(struct loop *loop);

/* Blocks `signals` for the process and delivers them to `fn` through a signalfd. */
int loop_handle_signals(struct loop *loop, const sigset_t *signals, loop_signal_fn fn);

/* Monotonic milliseconds and wall-clock seconds, both sampled when the loop last woke. */
uint64_t loop_now_ms(const struct loop *loop);
time_t loop_wall_time(const struct loop *loop);

/* Runs until loop_stop(); returns 0, or -1 if epoll_wait fails for a reason other than EINTR. */
int loop_run(struct loop *loop);

/* One batch: waits up to `max_wait_ms` (0 = not at all) for events, handles them, the timers
   that are due and then the deferred items. Returns 0, or -1 as loop_run(). */
int loop_run_once(struct loop *loop, int max_wait_ms);
void loop_stop(struct loop *loop);

#endif
