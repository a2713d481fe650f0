/*
 * The PHP worker pool as the master sees it.
 *
 * PHP_WORKERS workers, each a process forked by the php-zygote and reached through its own
 * socketpair; a bounded FIFO of jobs (QUEUE_CAPACITY); dispatch of the next job to any idle
 * worker; the request deadline (REQUEST_TIMEOUT from the moment a job is queued, moved by
 * kiln_request_heartbeat()); replacement of workers that exit, crash or are killed.
 *
 * A job is one PHP request. Its owner (the client connection) encodes the REQUEST frame into
 * the job, submits it, and hears back through `struct pool_job_ops` until the response is
 * complete or has failed; after either of those the pool forgets the owner and frees the job
 * itself once the worker is done with it. An owner that goes away first calls pool_job_cancel().
 */
#ifndef KILN_POOL_POOL_H
#define KILN_POOL_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "net/loop.h"
#include "obs/metrics.h"
#include "pool/proto.h"
#include "pool/scoreboard.h"

struct pool;
struct pool_job;
struct zygote_ctl;

struct pool_job_ops {
    /* The worker's HEADERS frame (status and header pairs, checked). */
    void (*on_headers)(void *owner, const struct proto_headers *headers);
    /* Response bytes; `flush` when the script asked for them to reach the client now. */
    void (*on_body)(void *owner, const uint8_t *data, size_t len, bool flush);
    /* The response is complete (FINISH or END). No callback follows. */
    void (*on_complete)(void *owner);
    /* The response cannot be completed: 502 (the worker died) or 504 (deadline passed).
       No callback follows. */
    void (*on_fail)(void *owner, int status);
};

/*
 * Creates the pool and asks the zygote for its workers. `zygote` is already started; the pool
 * takes it over: once this succeeds, pool_destroy() stops it and the caller must not (its copy
 * of the struct stays readable until then). The pool watches its control socket for spawn and
 * exit reports.
 */
struct pool *pool_create(struct loop *loop, const struct config *cfg, struct zygote_ctl *zygote);
/* Kills the workers, stops the zygotes and frees everything; pending owners hear nothing. */
void pool_destroy(struct pool *pool);

/* ---- graceful reload ---------------------------------------------------------------------- */

/* A reload's outcome: `ok`, or `why` not (one line). */
typedef void (*pool_reload_fn)(void *arg, bool ok, const char *why);

/*
 * The arguments of a reload's zygote, asked for as each reload begins (the master loads its
 * settings again then): valid until the next call, or NULL with `why` (one line) filled, and
 * the reload fails at once without starting anything.
 */
typedef char *const *(*pool_reload_argv_fn)(void *arg, char *why, size_t whylen);

/* What pool_reload() starts its zygote with (its arguments from `argv_fn`, the master's
   environment, which must outlive the pool), and whom both tell (`arg`) and how each reload
   ended (`fn`). */
void pool_set_reload(struct pool *pool, pool_reload_argv_fn argv_fn, char *const envp[],
                     pool_reload_fn fn, void *arg);

/*
 * Graceful reload (SIGHUP): starts a new php-zygote (zygote_ctl_launch(): php.ini, OPcache and
 * DOCUMENT_ROOT afresh) while the workers serve on. When it is ready, the reload function hears
 * `ok` and, from that moment, every job goes to the new zygote's workers: idle old workers are
 * replaced at once, busy ones after the request they run (nothing is cut, nothing runs twice),
 * and the old zygote exits after its last worker. When the new one fails (START_FAILED, it
 * ended, or it was not ready within a minute), the old workers keep serving and the function
 * hears why. A reload asked for while one is starting runs once that one has ended.
 */
void pool_reload(struct pool *pool);
/* A reload is under way (started, or asked for again): its outcome is still to come. */
bool pool_reload_pending(const struct pool *pool);

/* A new job for `owner`; encode the REQUEST (and BODY frames) into pool_job_frames(). */
struct pool_job *pool_job_create(struct pool *pool, const struct pool_job_ops *ops, void *owner);
struct buf *pool_job_frames(struct pool_job *job);
/* The sequence number to put in the job's REQUEST frame. */
uint32_t pool_job_seq(const struct pool_job *job);
/* The id (0..PHP_WORKERS-1) of the worker running the job, or -1 while it waits. */
int pool_job_worker_id(const struct pool_job *job);
/*
 * The job's times so far, in milliseconds of the loop clock (read once per wake-up): its queue
 * wait, from pool_submit() until a worker took it (the pool's queue-wait histogram measures the
 * same; a job sent ahead is taken when its turn comes), and its PHP time, from then until now.
 * Returns false, with *php_ms 0, while no worker has taken it: *queue_ms then runs until now.
 * Called from on_complete or on_fail, "now" is the moment the response ended or failed.
 */
bool pool_job_timing(const struct pool_job *job, uint64_t *queue_ms, uint64_t *php_ms);
/* Hands a request body file to the job (sent with the REQUEST frame); the job owns it. */
void pool_job_set_body_fd(struct pool_job *job, int fd);

/*
 * The job is a stream (Server-Sent Events): its deadline is `secs` (SSE_TIMEOUT; 0 = none)
 * instead of REQUEST_TIMEOUT, counted from pool_submit() when called before it, from now when
 * called after (the stream showed itself by its Content-Type); kiln_request_heartbeat() may
 * move it by up to `secs`.
 */
void pool_job_set_stream(struct pool_job *job, uint64_t secs);

/* Queues the job. Returns 0, or -1 when the queue is full (503): the job is freed then. */
int pool_submit(struct pool_job *job);

/* The owner is gone: a job not yet running is freed, a running one is aborted (ABORT frame). */
void pool_job_cancel(struct pool_job *job);

/* Stops (or restarts) reading the job's response: back-pressure from a slow client. */
void pool_job_pause(struct pool_job *job, bool paused);

/* ---- observability: read at scrape time (docs/observability.md, "Pool, PHP and host data") --- */

/* Why a worker process ended (restarts by reason). */
enum pool_exit_reason {
    POOL_EXIT_NONE,      /* no process has ended in this slot yet */
    POOL_EXIT_RECYCLED,  /* it retired itself: WORKER_MAX_REQUESTS, or PHP's state was unsafe */
    POOL_EXIT_CRASHED,   /* died on its own: a fatal signal (SIGSEGV...), an exit, a protocol
                            error; also a socket that closed before the zygote's report */
    POOL_EXIT_TIMED_OUT, /* killed by the master at REQUEST_TIMEOUT */
    POOL_EXIT_KILLED,    /* killed from outside: SIGKILL, SIGTERM, SIGINT, SIGQUIT (the OOM
                            killer, an operator) */
};
#define POOL_EXIT_REASONS 5

/* "recycled", "crashed", "timed_out", "killed"; NULL for POOL_EXIT_NONE. */
const char *pool_exit_reason_name(enum pool_exit_reason reason);

enum pool_worker_state {
    POOL_WORKER_STARTING, /* asked for, its pid not yet reported, or waiting to be replaced */
    POOL_WORKER_IDLE,
    POOL_WORKER_BUSY,     /* running a request */
    POOL_WORKER_EXITING,  /* retiring after its last request; a replacement follows */
};
#define POOL_WORKER_STATES 4

/* "starting", "idle", "busy", "exiting". */
const char *pool_worker_state_name(enum pool_worker_state state);

struct pool_stats {
    unsigned workers;                         /* PHP_WORKERS */
    bool worker_mode;    /* the workers run WORKER_SCRIPT */
    bool started;        /* every worker has been up at once (start-up is over) */
    unsigned by_state[POOL_WORKER_STATES];    /* workers per enum pool_worker_state */
    unsigned renewing;   /* of the starting ones: replacing a retired process (WORKER_MAX_REQUESTS,
                            a reload), not one that failed */
    unsigned queued;     /* queue depth: jobs waiting for a worker */
    unsigned pending;    /* jobs submitted whose owner has not yet heard the end (in flight) */
    uint64_t dropped;    /* jobs refused because the queue was full (503) */
    uint64_t abandoned;  /* jobs cancelled before a worker began them (client gone, drain cut):
                            they never ran */
    uint64_t restarts[POOL_EXIT_REASONS]; /* worker processes ended, by reason ([0] unused) */
    uint64_t reloads_ok;     /* graceful reloads whose new zygote took over */
    uint64_t reloads_failed; /* ... and those whose new zygote did not start */
};

/* The pool's counters and gauges now; cheap (one pass over the workers). */
void pool_stats(const struct pool *pool, struct pool_stats *out);

/*
 * Observes, in seconds with the loop clock's millisecond resolution, each job's queue wait into
 * `queue_wait` (from pool_submit() to the moment a worker takes it or, for a job sent ahead,
 * its turn comes; once per job) and each answered job's PHP time into `php_time` (from then to
 * the worker's END). NULL: not observed. The histograms must outlive the pool.
 */
void pool_set_histograms(struct pool *pool, struct metrics_histogram *queue_wait,
                         struct metrics_histogram *php_time);

/* The most recent OPcache sample any worker published; false when none has yet. */
bool pool_opcache_stats(const struct pool *pool, struct scoreboard_opcache *out);

/* One worker slot as /workers shows it. */
struct pool_worker_info {
    unsigned id;                  /* 0..PHP_WORKERS-1 */
    pid_t pid;                    /* 0 while not known */
    enum pool_worker_state state;
    uint64_t spawned_usec;        /* wall clock, when its process was asked for; 0: none */
    unsigned served;              /* requests this process has run */
    bool has_request;             /* busy: `request` is its current request */
    bool request_known;           /* the worker published it: method and URI are set; else
                                     only seq and begin_usec (when the master sent it) */
    struct scoreboard_request request;
    bool worker_mode;             /* it runs WORKER_SCRIPT */
    uint64_t rss_bytes;           /* resident memory (/proc/<pid>/statm), 0 when unknown */
    uint64_t private_bytes;       /* of it, not shared (what WORKER_MAX_MEMORY limits) */
    enum pool_exit_reason last_exit; /* of the slot's previous process */
    int last_exit_status;         /* its wait status, -1 when unknown */
};

unsigned pool_worker_count(const struct pool *pool);

/*
 * Fills out[0..n) for the first n = min(max, pool_worker_count()) workers and returns n. Reads
 * /proc/<pid>/statm for every live worker and the scoreboard: at scrape time, not per request.
 */
size_t pool_worker_snapshot(const struct pool *pool, struct pool_worker_info *out, size_t max);

#endif
