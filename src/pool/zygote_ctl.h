/*
 * The master's end of the php-zygote (php/zygote.h): it forks the zygote, asks it for workers
 * and reads its reports. Nothing here knows PHP; what runs in the forked process is the entry
 * point the caller passes to zygote_ctl_start() (main.c passes php/zygote.h's zygote_main), so
 * the pool links without libphp.
 *
 * The control socket is SOCK_SEQPACKET, one `struct zygote_ctl_msg` per packet. The master asks
 * for a worker by sending the worker's end of a fresh socketpair (SCM_RIGHTS); the zygote forks
 * the worker and reports SPAWNED, and reports EXITED with the wait status when a worker ends
 * (the zygote is the workers' parent and reaps them).
 *
 * Killing a worker (deadline passed) is the master's job: kill(-pid, SIGKILL), its process
 * group; the EXITED event follows. Closing the master's end of a worker's socketpair makes an
 * idle worker exit cleanly.
 */
#ifndef KILN_POOL_ZYGOTE_CTL_H
#define KILN_POOL_ZYGOTE_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "pool/proto.h"

/*
 * A worker_id's low ZYGOTE_CTL_SLOT_BITS bits are the worker's slot on the begin board (0 to
 * PHP_WORKERS - 1); the zygote hands that slot to the worker. The other bits are the master's.
 */
#define ZYGOTE_CTL_SLOT_BITS 16u
#define ZYGOTE_CTL_SLOT_MASK ((1u << ZYGOTE_CTL_SLOT_BITS) - 1)

/* ---- the wire: both ends of the control socket -------------------------------------------- */

enum zygote_ctl_msg_kind {
    ZYGOTE_CTL_MSG_READY = 1,    /* zygote -> master: PHP started; status = ZYGOTE_CTL_READY_*
                                    bits, text = PHP_VERSION */
    ZYGOTE_CTL_MSG_START_FAILED, /* zygote -> master: text says why */
    ZYGOTE_CTL_MSG_SPAWN,        /* master -> zygote, with the worker's socket (SCM_RIGHTS) */
    ZYGOTE_CTL_MSG_SPAWNED,
    ZYGOTE_CTL_MSG_EXITED,
    ZYGOTE_CTL_MSG_SPAWN_FAILED,
};

#define ZYGOTE_CTL_READY_OPCACHE 0x1 /* OPcache came up under the SAPI */
#define ZYGOTE_CTL_READY_JIT 0x2     /* and its JIT is on */

struct zygote_ctl_msg {
    uint32_t kind;
    uint32_t worker_id;
    int32_t pid;
    int32_t status;
    char text[200];
};

/*
 * The zygote process: runs in the child zygote_ctl_start() forks and never returns. `sock` is
 * its end of the control socket (first message: READY or START_FAILED), `master` the pid it
 * must die with, `board` the begin board's `slots` slots, shared with the workers.
 */
typedef void zygote_ctl_main_fn(int sock, const struct config *cfg, pid_t master,
                                proto_slot *board, unsigned slots);

/* ---- the master's client -------------------------------------------------------------------- */

struct zygote_ctl {
    pid_t pid;            /* -1 when not running */
    int control_fd;       /* master's end of the control socket */
    proto_slot *board;    /* the begin board, one slot per worker (pool/proto.h) */
    unsigned slots;
    bool opcache_enabled; /* OPcache came up under the SAPI (warn when false) */
    bool jit_enabled;     /* OPcache's JIT is on */
    char php_version[32]; /* PHP_VERSION, for the start-up line */
    char err[256];        /* why zygote_ctl_start() failed */
};

enum zygote_ctl_event_kind {
    ZYGOTE_CTL_SPAWNED,      /* worker_id runs as pid */
    ZYGOTE_CTL_EXITED,       /* worker_id (pid) ended; status is its wait status */
    ZYGOTE_CTL_SPAWN_FAILED, /* fork failed; status is the errno; the master may retry later */
};

struct zygote_ctl_event {
    enum zygote_ctl_event_kind kind;
    unsigned worker_id;
    pid_t pid;
    int status;
};

/*
 * Maps the begin board, forks the zygote (which runs `zygote_main`) and waits until it reports
 * that PHP has started (php.ini read, OPcache up). Call it before opening any listener. Returns
 * 0, or -1 with z->err set (one line for the user).
 */
int zygote_ctl_start(struct zygote_ctl *z, const struct config *cfg,
                     zygote_ctl_main_fn *zygote_main);

/*
 * Asks for a new worker. Creates the socketpair, passes the worker's end to the zygote and
 * returns the master's end (non-blocking, close-on-exec), or -1 with errno set. Does not wait
 * for the fork: ZYGOTE_CTL_SPAWNED or ZYGOTE_CTL_SPAWN_FAILED follows. Requests may be written
 * to the returned socket at once.
 */
int zygote_ctl_spawn(struct zygote_ctl *z, unsigned worker_id);

/* The begin board's slot `slot` (shared with the worker in that slot), or NULL. */
proto_slot *zygote_ctl_slot(const struct zygote_ctl *z, unsigned slot);

/* For epoll: readable when events are pending (or the zygote is gone). */
int zygote_ctl_fd(const struct zygote_ctl *z);

/* Non-blocking: 1 = *ev filled, 0 = none pending, -1 = the zygote is gone. */
int zygote_ctl_read_event(struct zygote_ctl *z, struct zygote_ctl_event *ev);

/* Terminates the zygote and every worker (SIGKILL: drain first), and reaps the zygote. */
void zygote_ctl_stop(struct zygote_ctl *z);

#endif
