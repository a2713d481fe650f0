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
#include "pool/scoreboard.h"

/*
 * A worker_id's low ZYGOTE_CTL_SLOT_BITS bits are the worker's slot on the begin board (0 to
 * PHP_WORKERS - 1); the zygote hands that slot to the worker. The other bits are the master's.
 */
#define ZYGOTE_CTL_SLOT_BITS 16u
#define ZYGOTE_CTL_SLOT_MASK ((1u << ZYGOTE_CTL_SLOT_BITS) - 1)

/* ---- the wire: both ends of the control socket -------------------------------------------- */

enum zygote_ctl_msg_kind {
    ZYGOTE_CTL_MSG_READY = 1,    /* zygote -> master: PHP started; status = ZYGOTE_CTL_READY_*
                                    flags, text = PHP's version */
    ZYGOTE_CTL_MSG_START_FAILED, /* zygote -> master: text says why */
    ZYGOTE_CTL_MSG_SPAWN,        /* master -> zygote, with the worker's socket (SCM_RIGHTS) */
    ZYGOTE_CTL_MSG_SPAWNED,
    ZYGOTE_CTL_MSG_EXITED,
    ZYGOTE_CTL_MSG_SPAWN_FAILED,
};

/* READY's status flags. */
#define ZYGOTE_CTL_READY_OPCACHE 0x1u /* OPcache came up under the SAPI and opcache.enable is on */
#define ZYGOTE_CTL_READY_JIT 0x2u     /* ... and php.ini asks for the JIT (opcache.jit, a buffer) */

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
 * must die with, `board` the begin board's and `scoreboard` the scoreboard's `slots` slots,
 * shared with the workers.
 */
typedef void zygote_ctl_main_fn(int sock, const struct config *cfg, pid_t master,
                                proto_slot *board, struct scoreboard_slot *scoreboard,
                                unsigned slots);

/* ---- the master's client -------------------------------------------------------------------- */

struct zygote_ctl {
    pid_t pid;            /* -1 when not running */
    int control_fd;       /* master's end of the control socket */
    proto_slot *board;    /* the begin board, one slot per worker (pool/proto.h) */
    struct scoreboard_slot *scoreboard; /* one slot per worker too (pool/scoreboard.h) */
    unsigned slots;
    bool opcache_enabled; /* OPcache came up under the SAPI (warn when false) */
    bool jit_enabled;     /* and php.ini turns the JIT on (the start-up line) */
    char php_version[32]; /* PHP_VERSION of the libphp the zygote runs, e.g. "8.2.7" */
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
 * Maps the begin board and the scoreboard, forks the zygote (which runs `zygote_main`) and waits until it reports
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
/* The scoreboard's slot `slot`, or NULL. */
struct scoreboard_slot *zygote_ctl_scoreboard_slot(const struct zygote_ctl *z, unsigned slot);

/* For epoll: readable when events are pending (or the zygote is gone). */
int zygote_ctl_fd(const struct zygote_ctl *z);

/* Non-blocking: 1 = *ev filled, 0 = none pending, -1 = the zygote is gone. */
int zygote_ctl_read_event(struct zygote_ctl *z, struct zygote_ctl_event *ev);

/* Terminates the zygote and every worker (SIGKILL: drain first), and reaps the zygote; waits
   up to 5 s for it to end by itself. */
void zygote_ctl_stop(struct zygote_ctl *z);

/* The same without waiting, in two steps: release (unmap, close the control socket: the
   zygote kills its workers and exits), then reap until it returns true; `force` kills the
   zygote first and waits for it. */
void zygote_ctl_release(struct zygote_ctl *z);
bool zygote_ctl_reap(struct zygote_ctl *z, bool force);

/* ---- a zygote started by exec: graceful reload ---------------------------------------------- */

/*
 * The master's own binary (/proc/self/exe, so an upgrade installed meanwhile cannot mix
 * versions) started again as a php-zygote, with the master's arguments and environment: a
 * fresh process that holds nothing of the master's memory (no TLS key, no client's request)
 * and reads php.ini, the settings and DOCUMENT_ROOT's link again. The begin board and the
 * scoreboard are memfds it maps. The first argument is ZYGOTE_CTL_EXEC_FLAG=<spec>; main()
 * hands <spec> to zygote_ctl_exec_attach() before anything else.
 */
#define ZYGOTE_CTL_EXEC_FLAG "--php-zygote"

/*
 * Starts it without waiting: 0, then READY or START_FAILED comes on zygote_ctl_fd() (read it
 * with zygote_ctl_read_ready()); -1 with z->err set.
 */
int zygote_ctl_launch(struct zygote_ctl *z, unsigned slots, char *const argv[],
                      char *const envp[]);

/* Non-blocking: 1 = ready (version and flags set), 0 = not yet, -1 = failed (z->err says why). */
int zygote_ctl_read_ready(struct zygote_ctl *z);

/* What the exec'd zygote inherits. */
struct zygote_ctl_child {
    int sock;
    pid_t master; /* the process that started it, which it must die with */
    proto_slot *board;
    struct scoreboard_slot *scoreboard;
    unsigned slots;
};

/* In the exec'd zygote: parses <spec> and maps the shared memory. 0, or -1. */
int zygote_ctl_exec_attach(const char *spec, struct zygote_ctl_child *out);

/* In the exec'd zygote, when it cannot start (its settings fail): START_FAILED with `why`. */
void zygote_ctl_report_start_failure(int sock, const char *why);

#endif
