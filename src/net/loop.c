#include "net/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256

struct loop {
    int epfd;
    bool running;
    uint64_t now_ms;
    time_t wall;
    struct loop_timer **heap;
    size_t heap_len;
    size_t heap_cap;
    struct loop_defer *defer_head; /* FIFO of deferred items */
    struct loop_defer *defer_tail;
    struct loop_io signal_io;
    loop_signal_fn signal_fn;
};

static void loop_update_time(struct loop *loop)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    loop->now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    loop->wall = time(NULL);
}

struct loop *loop_create(void)
{
    struct loop *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        free(loop);
        return NULL;
    }
    loop->signal_io.fd = -1;
    loop_update_time(loop);
    return loop;
}

void loop_destroy(struct loop *loop)
{
    if (!loop)
        return;
    if (loop->signal_io.fd >= 0)
        close(loop->signal_io.fd);
    close(loop->epfd);
    free(loop->heap);
    free(loop);
}

int loop_add(struct loop *loop, struct loop_io *io, uint32_t events)
{
    struct epoll_event ev = {.events = events | EPOLLET, .data.ptr = io};
    return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev);
}

void loop_remove(struct loop *loop, struct loop_io *io)
{
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

/* ---- timer heap (1-based heap_index so that 0 means "not armed") ---------------------------- */

static void heap_place(struct loop *loop, size_t i, struct loop_timer *t)
{
    loop->heap[i] = t;
    t->heap_index = i + 1;
}

static void heap_sift_up(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (loop->heap[parent]->deadline_ms <= t->deadline_ms)
            break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, t);
}

static void heap_sift_down(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len &&
            loop->heap[child + 1]->deadline_ms < loop->heap[child]->deadline_ms)
            child++;
        if (t->deadline_ms <= loop->heap[child]->deadline_ms)
            break;
        heap_place(loop, i, loop->heap[child]);
        i = child;
    }
    heap_place(loop, i, t);
}

void loop_timer_cancel(struct loop *loop, struct loop_timer *t)
{
    if (!t->heap_index)
        return;
    size_t i = t->heap_index - 1;
    t->heap_index = 0;
    struct loop_timer *last = loop->heap[--loop->heap_len];
    if (i == loop->heap_len)
        return;
    heap_place(loop, i, last);
    heap_sift_down(loop, i);
    heap_sift_up(loop, last->heap_index - 1);
}

void loop_timer_arm(struct loop *loop, struct loop_timer *t, uint64_t ms)
{
    loop_timer_cancel(loop, t);
    if (loop->heap_len == loop->heap_cap) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        struct loop_timer **heap = realloc(loop->heap, cap * sizeof(*heap));
        if (!heap)
            abort();
        loop->heap = heap;
        loop->heap_cap = cap;
    }
    t->deadline_ms = loop->now_ms + ms;
    heap_place(loop, loop->heap_len++, t);
    heap_sift_up(loop, loop->heap_len - 1);
}

static void loop_fire_timers(struct loop *loop)
{
    while (loop->heap_len > 0 && loop->heap[0]->deadline_ms <= loop->now_ms) {
        struct loop_timer *t = loop->heap[0];
        loop_timer_cancel(loop, t);
        t->fn(loop, t);
    }
}

static int loop_next_timeout(const struct loop *loop)
{
    if (loop->heap_len == 0)
        return -1;
    uint64_t deadline = loop->heap[0]->deadline_ms;
    if (deadline <= loop->now_ms)
        return 0;
    uint64_t wait = deadline - loop->now_ms;
    return wait > 60000 ? 60000 : (int)wait;
}

/* ---- deferred items --------------------------------------------------------------------------- */

void loop_defer(struct loop *loop, struct loop_defer *d)
{
    if (d->queued)
        return;
    d->queued = true;
    d->next = NULL;
    if (loop->defer_tail)
        loop->defer_tail->next = d;
    else
        loop->defer_head = d;
    loop->defer_tail = d;
}

void loop_run_deferred(struct loop *loop)
{
    while (loop->defer_head) {
        struct loop_defer *d = loop->defer_head;
        loop->defer_head = d->next;
        if (!loop->defer_head)
            loop->defer_tail = NULL;
        d->queued = false; /* before the call: the item may queue itself again, or be freed */
        d->fn(loop, d);
    }
}

/* ---- signals ---------------------------------------------------------------------------------- */

static void loop_on_signalfd(struct loop *loop, struct loop_io *io, uint32_t events)
{
    (void)events;
    struct signalfd_siginfo info;
    while (read(io->fd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
        struct loop_signal sig = {.signo = (int)info.ssi_signo, .sender = (pid_t)info.ssi_pid,
                                  .queued = info.ssi_code == SI_QUEUE, .value = info.ssi_int};
        loop->signal_fn(loop, &sig);
    }
}

int loop_handle_signals(struct loop *loop, const sigset_t *signals, loop_signal_fn fn)
{
    if (sigprocmask(SIG_BLOCK, signals, NULL) < 0)
        return -1;
    int fd = signalfd(-1, signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -1;
    loop->signal_io.fd = fd;
    loop->signal_io.fn = loop_on_signalfd;
    loop->signal_fn = fn;
    return loop_add(loop, &loop->signal_io, EPOLLIN);
}

/* ---- running ---------------------------------------------------------------------------------- */

uint64_t loop_now_ms(const struct loop *loop)
{
    return loop->now_ms;
}

time_t loop_wall_time(const struct loop *loop)
{
    return loop->wall;
}

void loop_stop(struct loop *loop)
{
    loop->running = false;
}

int loop_run_once(struct loop *loop, int max_wait_ms)
{
    struct epoll_event events[LOOP_MAX_EVENTS];
    int wait = loop->defer_head ? 0 : loop_next_timeout(loop);
    if (wait < 0 || wait > max_wait_ms)
        wait = max_wait_ms;
    int n = epoll_wait(loop->epfd, events, LOOP_MAX_EVENTS, wait);
    loop_update_time(loop);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        struct loop_io *io = events[i].data.ptr;
        io->fn(loop, io, events[i].events);
    }
    loop_fire_timers(loop);
    loop_run_deferred(loop);
    return 0;
}

int loop_run(struct loop *loop)
{
    loop->running = true;
    while (loop->running)
        if (loop_run_once(loop, 60000) < 0)
            return -1;
    return 0;
}
