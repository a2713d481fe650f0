/*
 * The php-zygote: the one process that starts PHP (php.ini, extensions, OPcache's shared
 * memory, preload) and forks the PHP workers, so every worker shares that start-up and the
 * OPcache segment. The master forks it first, before any listener, TLS key or client socket
 * exists, and never loads PHP itself.
 *
 * The master talks to it over a SOCK_SEQPACKET control socket: it asks for a worker by sending
 * the worker's end of a fresh socketpair (SCM_RIGHTS); the zygote forks the worker and reports
 * SPAWNED, and reports EXITED with the wait status when a worker ends (the zygote is the
 * workers' parent and reaps them). The zygote is in its own process group (a terminal's Ctrl-C
 * reaches the master only), each worker leads one of its own, and all die with their parent
 * (PR_SET_PDEATHSIG). A worker's group goes with it: the zygote kills it when it reaps the
 * worker, and, as a child subreaper, kills any process orphaned by a worker's death (docs/php.md,
 * section 7).
 *
 * Killing a worker (deadline passed) is the master's job: kill(-pid, SIGKILL), its group; the
 * EXITED event follows. Closing the master's end of a worker's socketpair makes an idle worker
 * exit cleanly.
 */
#ifndef KILN_PHP_ZYGOTE_H
#define KILN_PHP_ZYGOTE_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "pool/proto.h"

/*
 * A worker_id's low ZYGOTE_SLOT_BITS bits are the worker's slot on the begin board (0 to
 * PHP_WORKERS - 1); the zygote hands that slot to the worker. The other bits are the master's.
 */
#define ZYGOTE_SLOT_BITS 16u
#define ZYGOTE_SLOT_MASK ((1u << ZYGOTE_SLOT_BITS) - 1)

struct zygote {
    pid_t pid;            /* -1 when not running */
    int control_fd;       /* master's end of the control socket */
    proto_slot *board;    /* the begin board, one slot per worker (pool/proto.h) */
    unsigned slots;
    bool opcache_enabled; /* OPcache came up under the SAPI (warn when false) */
    char err[256];        /* why zygote_start() failed */
};

enum zygote_event_kind {
    ZYGOTE_SPAWNED,      /* worker_id runs as pid */
    ZYGOTE_EXITED,       /* worker_id (pid) ended; status is its wait status */
    ZYGOTE_SPAWN_FAILED, /* fork failed; status is the errno; the master may retry later */
};

struct zygote_event {
    enum zygote_event_kind kind;
    unsigned worker_id;
    pid_t pid;
    int status;
};

/*
 * Forks the zygote and waits until PHP has started in it (php.ini read, OPcache up). Call it
 * before opening any listener. Returns 0, or -1 with z->err set (one line for the user).
 */
int zygote_start(struct zygote *z, const struct config *cfg);

/*
 * Asks for a new worker. Creates the socketpair, passes the worker's end to the zygote and
 * returns the master's end (non-blocking, close-on-exec), or -1 with errno set. Does not wait
 * for the fork: ZYGOTE_SPAWNED or ZYGOTE_SPAWN_FAILED follows. Requests may be written to the
 * returned socket at once.
 */
int zygote_spawn(struct zygote *z, unsigned worker_id);

/* The begin board's slot `slot` (shared with the worker in that slot), or NULL. */
proto_slot *zygote_slot(const struct zygote *z, unsigned slot);

/* For epoll: readable when events are pending (or the zygote is gone). */
int zygote_control_fd(const struct zygote *z);

/* Non-blocking: 1 = *ev filled, 0 = none pending, -1 = the zygote is gone. */
int zygote_read_event(struct zygote *z, struct zygote_event *ev);

/* Terminates the zygote and every worker (SIGKILL: drain first), and reaps the zygote. */
void zygote_stop(struct zygote *z);

#endif
