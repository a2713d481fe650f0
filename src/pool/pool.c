#include "pool/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "obs/log.h"
#include "obs/stats.h"
#include "obs/sysinfo.h"
#include "pool/zygote_ctl.h"

/* A worker that dies within this time of its start without beginning any request is replaced
   only after it: a PHP that cannot start must not turn into a fork loop. A worker that began a
   request (which may have crashed it) is replaced at once. */
#define RESPAWN_DELAY_MS 1000
/*
 * The zygote echoes the id given to zygote_ctl_spawn() in its reports. Kiln gives it the worker's
 * slot and the generation of the process in that slot: a slot's old process may be reported on
 * (SPAWNED, EXITED) after its successor was asked for, since the zygote's reports and the
 * worker sockets are read in whatever order epoll returns them, and a forked child can serve a
 * request before its parent has even sent SPAWNED.
 */
#define SLOT_BITS ZYGOTE_CTL_SLOT_BITS
#define SLOT_MASK ZYGOTE_CTL_SLOT_MASK

/* Times a job goes back to the queue because its worker died before beginning it. */
#define MAX_REQUEUES 3
/* A reload's new php-zygote that is not ready by then has failed (a preload script that hangs). */
#define RELOAD_START_TIMEOUT_MS 60000
/* A php-zygote whose workers are all gone is asked to exit, then checked this often; after
   ZYGOTE_EXIT_WAIT_MS it is killed. */
#define ZYGOTE_REAP_EVERY_MS 20
#define ZYGOTE_EXIT_WAIT_MS 5000

enum worker_state {
    WORKER_DOWN,
    WORKER_IDLE,
    WORKER_BUSY,
    WORKER_RETIRING, /* said it exits after its last request (WORKER_MAX_REQUESTS) */
};

/*
 * A php-zygote and the worker processes it forked that are still up. Normally there is one; a
 * reload (pool_reload()) starts another, and the old one is "retired": its workers finish the
 * request they run and go, and once the last is gone the zygote is asked to exit and reaped.
 */
struct pool_zygote {
    struct zygote_ctl ctl;
    struct loop_io io;
    struct pool *pool;
    unsigned live;            /* slots holding a process it forked (state not WORKER_DOWN) */
    bool retired;             /* replaced: no new workers; released once `live` is 0 */
    bool released;            /* told to exit; `reap` polls until it has */
    uint64_t released_ms;
    struct loop_timer reap;
    LIST_ENTRY(pool_zygote) link; /* in pool->retired */
};

struct pool_worker {
    struct loop_io io;
    struct pool *pool;
    struct pool_zygote *zygote; /* that forked the process in this slot (while not DOWN) */
    unsigned id;
    pid_t pid;             /* 0 until the zygote reports the spawn */
    bool exited;           /* the zygote reported its exit; its socket may still hold output */
    proto_slot *slot;      /* its slot on the begin board: which request it began */
    struct scoreboard_slot *score; /* what it publishes: its request, OPcache (or NULL) */
    uint32_t sent;         /* REQUEST frames written to it: positions on the board */
    enum worker_state state;
    struct proto_decoder in;
    struct buf out;
    int send_fd;           /* body file to attach to the first byte of `out`, or -1 */
    struct pool_job *job;
    struct pool_job *next_job; /* sent ahead, runs when `job` ends (see pool_assign()) */
    uint64_t avg_ms8;      /* recent time per request, milliseconds x 8 (moving average) */
    bool paused;
    uint64_t started_ms;
    unsigned served;
    unsigned generation;   /* of the process in this slot, SLOT_BITS wide */
    /* Why the process goes, for the restart counters and /workers (see record_exit()). */
    enum pool_exit_reason exit_reason; /* decided by the master (deadline, protocol), or NONE */
    bool spawn_failed;     /* no process ever ran: nothing to count */
    int wait_status;       /* from EXITED, valid once `exited` */
    bool exit_pending;     /* went down before its EXITED: the status will decide */
    unsigned pending_generation;
    enum pool_exit_reason last_exit; /* of the slot's previous process */
    int last_exit_status;  /* its wait status, or -1 when the master ended it first */
    bool renewing;         /* down as the routine replacement of a retired process, not a failure */
    struct loop_timer respawn;
    struct loop_timer resume; /* reads again after the owner of a paused job went away */
    struct loop_timer ahead;  /* bounds the wait of the job sent ahead to it (AHEAD_WAIT_MS) */
};

struct pool_job {
    struct pool *pool;
    TAILQ_ENTRY(pool_job) link;   /* in the queue while `queued` */
    const struct pool_job_ops *ops;
    void *owner;                  /* NULL once complete, failed or cancelled */
    struct buf frames;            /* kept until the worker shows it has read them */
    int body_fd;
    uint32_t seq;
    uint32_t position;            /* of its REQUEST on its worker's socket (the begin board) */
    bool queued;
    bool input_kept;              /* `frames` and `body_fd` can be sent again */
    unsigned requeues;
    uint64_t submitted_ms;        /* queued by pool_submit() */
    uint64_t started_ms;          /* the worker began it */
    bool wait_observed;           /* its queue wait is in the histogram */
    bool pending;                 /* counted in pool->pending: submitted, owner not yet told */
    bool streamed;                /* the script flushed: a long response, nothing goes behind it */
    struct pool_worker *worker;   /* while it runs, or is sent ahead to this worker */
    struct loop_timer deadline;
    uint64_t limit_secs;          /* REQUEST_TIMEOUT, or SSE_TIMEOUT for a stream; 0 = none */
    bool stream;                  /* pool_job_set_stream() */
};

struct pool {
    struct loop *loop;
    const struct config *cfg;
    struct pool_zygote *zygote;   /* new workers come from it */
    struct pool_zygote *starting; /* a reload's zygote until its READY */
    LIST_HEAD(, pool_zygote) retired;
    struct loop_timer start_timeout;
    pool_reload_argv_fn argv_fn;  /* for a reload's zygote (pool_reload()) */
    char *const *envp;
    bool reload_again;            /* asked for while `starting`: once more after it */
    pool_reload_fn reloaded;
    void *reloaded_arg;
    uint64_t reloads[2];          /* failed, succeeded */
    struct pool_worker *workers;
    unsigned worker_count;
    TAILQ_HEAD(, pool_job) queue; /* FIFO; a job put back goes to the head */
    unsigned queued;
    uint32_t next_seq;
    bool stopping;
    /* for pool_stats(): one addition or store where they change */
    unsigned pending;
    uint64_t dropped;
    uint64_t abandoned; /* pool_stats() */
    uint64_t restarts[POOL_EXIT_REASONS];
    struct metrics_histogram *queue_wait; /* optional, pool_set_histograms() */
    struct metrics_histogram *php_time;   /* optional, pool_set_histograms() */
    bool started;                         /* every worker has been up at the same moment */
};

static void pool_worker_spawn(struct pool_worker *w);
static void pool_worker_down(struct pool_worker *w, const char *why);
static void pool_worker_process(struct pool_worker *w);
static void pool_worker_read(struct pool_worker *w);
static void pool_assign(struct pool *pool);
static void retire_worker(struct pool_worker *w);
static void zygote_worker_gone(struct pool_zygote *z);

/* SIGKILL, unless the process is already gone (its pid may belong to another by now). */
static void pool_worker_kill(struct pool_worker *w)
{
    if (w->pid > 0 && !w->exited)
        kill(-w->pid, SIGKILL); /* its process group (the zygote makes one per worker) */
}

/* ---- jobs ------------------------------------------------------------------------------------- */

static void job_free(struct pool_job *job)
{
    loop_timer_cancel(job->pool->loop, &job->deadline);
    buf_free(&job->frames);
    if (job->body_fd >= 0)
        close(job->body_fd);
    free(job);
}

/* The owner hears no more of the job: it no longer counts as pending. Returns the owner. */
static void *job_forget_owner(struct pool_job *job)
{
    void *owner = job->owner;
    job->owner = NULL;
    if (job->pending) {
        job->pending = false;
        job->pool->pending--;
    }
    return owner;
}

/* Tells the owner the response failed and forgets it. */
static void job_fail(struct pool_job *job, int status)
{
    void *owner = job_forget_owner(job);
    if (owner)
        job->ops->on_fail(owner, status);
}

static void job_complete(struct pool_job *job)
{
    void *owner = job_forget_owner(job);
    if (owner)
        job->ops->on_complete(owner);
}

/* A worker begins the job (or will, the moment its current one ends). */
static void job_started(struct pool_job *job, uint64_t now)
{
    job->started_ms = now;
    if (job->pool->queue_wait && !job->wait_observed) {
        job->wait_observed = true;
        metrics_histogram_observe(job->pool->queue_wait, (double)(now - job->submitted_ms) / 1000);
    }
}

/* The worker has read the job's input (it answered): the copy is not needed any more. */
static void job_release_input(struct pool_job *job)
{
    if (!job->input_kept)
        return;
    job->input_kept = false;
    buf_free(&job->frames);
    if (job->body_fd >= 0)
        close(job->body_fd);
    job->body_fd = -1;
}

/* Back to the head of the queue: it was the oldest when it left. */
static void queue_push_front(struct pool *pool, struct pool_job *job)
{
    TAILQ_INSERT_HEAD(&pool->queue, job, link);
    job->queued = true;
    pool->queued++;
}

static void queue_remove(struct pool *pool, struct pool_job *job)
{
    TAILQ_REMOVE(&pool->queue, job, link);
    job->queued = false;
    pool->queued--;
}

/* A job that was sent to a worker which never started it goes back to the head of the queue. */
static void job_requeue(struct pool *pool, struct pool_job *job)
{
    job->worker = NULL;
    queue_push_front(pool, job);
}

/*
 * Takes back the job sent ahead to `w` if the worker has not begun it (the board decides, see
 * pool/proto.h); the worker will skip it. True when taken: w->next_job is then NULL.
 */
static bool take_back(struct pool_worker *w)
{
    struct pool_job *job = w->next_job;
    if (!proto_slot_take_back(w->slot, job->position))
        return false;
    w->next_job = NULL;
    job->worker = NULL;
    loop_timer_cancel(w->pool->loop, &w->ahead);
    return true;
}

/*
 * A job whose worker died: back to the queue only when the worker provably never began it (its
 * slot on the board says so), at most MAX_REQUEUES times.
 * Any other job gets 502: its script may have run, and running it again could repeat what it
 * did (a payment, a mail).
 */
static void job_after_worker_death(struct pool_worker *w, struct pool_job *job)
{
    struct pool *pool = w->pool;
    if (!job)
        return;
    bool begun = proto_slot_begun(w->slot, job->position);
    if (!begun && job->owner && job->input_kept && !pool->stopping &&
        job->requeues < MAX_REQUEUES) {
        log_warn("worker %u (pid %d) had not begun request %u; it goes back to the queue", w->id,
                 (int)w->pid, job->seq);
        job->requeues++;
        job_requeue(pool, job);
        return;
    }
    job_fail(job, 502);
    job_free(job);
}

static void on_deadline(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct pool_job *job = container_of(t, struct pool_job, deadline);
    struct pool *pool = job->pool;
    if (job->owner) /* a client still waits for it: it gets its 504 below */
        stats_count_timeout(job->stream ? STATS_TIMEOUT_SSE : STATS_TIMEOUT_REQUEST);
    if (job->queued) {
        queue_remove(pool, job);
        job_fail(job, 504);
        job_free(job);
        return;
    }
    struct pool_worker *w = job->worker;
    if (w->next_job == job) {
        job_fail(job, 504);
        if (take_back(w)) /* it will never run */
            job_free(job);
        /* else it has begun, unseen yet: it runs with nobody listening, under a fresh deadline
           (pool_worker_end) */
        return;
    }
    log_warn("worker %u: request passed %s (%llus); killing pid %d", w->id,
             job->stream ? "SSE_TIMEOUT" : "REQUEST_TIMEOUT", (unsigned long long)job->limit_secs,
             (int)w->pid);
    job_fail(job, 504);
    pool_worker_kill(w);
    w->exit_reason = POOL_EXIT_TIMED_OUT;
    pool_worker_down(w, "killed at its deadline");
}

struct pool_job *pool_job_create(struct pool *pool, const struct pool_job_ops *ops, void *owner)
{
    struct pool_job *job = calloc(1, sizeof(*job));
    if (!job)
        abort();
    job->pool = pool;
    job->ops = ops;
    job->owner = owner;
    job->body_fd = -1;
    job->seq = ++pool->next_seq;
    job->deadline.fn = on_deadline;
    job->limit_secs = pool->cfg->request_timeout_secs;
    return job;
}

struct buf *pool_job_frames(struct pool_job *job)
{
    return &job->frames;
}

bool pool_job_timing(const struct pool_job *job, uint64_t *queue_ms, uint64_t *php_ms)
{
    uint64_t now = loop_now_ms(job->pool->loop);
    /* taken: it has a worker and is not the one waiting behind that worker's current job */
    bool taken = job->worker && job->worker->next_job != job;
    *queue_ms = (taken ? job->started_ms : now) - job->submitted_ms;
    *php_ms = taken ? now - job->started_ms : 0;
    return taken;
}

uint32_t pool_job_seq(const struct pool_job *job)
{
    return job->seq;
}

int pool_job_worker_id(const struct pool_job *job)
{
    return job->worker ? (int)job->worker->id : -1;
}

void pool_job_set_stream(struct pool_job *job, uint64_t secs)
{
    job->stream = true;
    job->limit_secs = secs;
    if (!job->pending)
        return; /* armed by pool_submit() */
    if (secs > 0)
        loop_timer_arm(job->pool->loop, &job->deadline, secs * 1000);
    else
        loop_timer_cancel(job->pool->loop, &job->deadline);
}

void pool_job_set_body_fd(struct pool_job *job, int fd)
{
    job->body_fd = fd;
}

int pool_submit(struct pool_job *job)
{
    struct pool *pool = job->pool;
    if (pool->queued >= pool->cfg->queue_capacity) {
        pool->dropped++;
        job_free(job);
        return -1;
    }
    job->submitted_ms = loop_now_ms(pool->loop);
    job->pending = true;
    pool->pending++;
    if (job->limit_secs > 0)
        loop_timer_arm(pool->loop, &job->deadline, job->limit_secs * 1000);
    job->queued = true;
    TAILQ_INSERT_TAIL(&pool->queue, job, link);
    pool->queued++;
    pool_assign(pool);
    return 0;
}

/* ---- worker I/O ------------------------------------------------------------------------------- */

static void pool_worker_write(struct pool_worker *w)
{
    while (w->out.len > 0) {
        ssize_t n;
        if (w->send_fd >= 0)
            n = proto_send_fd(w->io.fd, w->out.data, w->out.len, w->send_fd, MSG_NOSIGNAL);
        else
            n = send(w->io.fd, w->out.data, w->out.len, MSG_NOSIGNAL);
        if (n > 0) {
            if (w->send_fd >= 0) {
                close(w->send_fd);
                w->send_fd = -1;
            }
            buf_consume(&w->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        pool_worker_down(w, "its socket failed");
        return;
    }
}

void pool_job_cancel(struct pool_job *job)
{
    struct pool *pool = job->pool;
    job_forget_owner(job);
    if (job->queued) {
        queue_remove(pool, job);
        pool->abandoned++;
    }
    if (!job->worker) { /* queued, or never submitted */
        job_free(job);
        return;
    }
    struct pool_worker *w = job->worker;
    if (w->next_job == job && take_back(w)) {
        pool->abandoned++;
        job_free(job); /* sent ahead, not begun: it never runs */
        return;
    }
    if (w->state != WORKER_BUSY || w->job != job)
        return; /* a job sent ahead that has begun runs with nobody listening */
    /*
     * Nothing holds the output back any more. A paused worker may be blocked writing to a full
     * socket whose bytes epoll already reported (edge-triggered: no new event comes), so the
     * reading restarts from the loop, not from inside the owner's teardown.
     */
    if (w->paused) {
        w->paused = false;
        loop_timer_arm(pool->loop, &w->resume, 0);
    }
    if (proto_put_abort(&w->out, job->seq) == 0)
        pool_worker_write(w);
}

static void on_resume(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct pool_worker *w = container_of(t, struct pool_worker, resume);
    if (w->state == WORKER_DOWN || w->paused)
        return;
    pool_worker_process(w);
    pool_worker_read(w);
}

static enum log_level log_level_of(enum proto_log_level level)
{
    switch (level) {
    case PROTO_LOG_DEBUG: return LOG_LEVEL_DEBUG;
    case PROTO_LOG_INFO: return LOG_LEVEL_INFO;
    case PROTO_LOG_WARN: return LOG_LEVEL_WARN;
    case PROTO_LOG_ERROR: return LOG_LEVEL_ERROR;
    }
    return LOG_LEVEL_ERROR;
}

/* The worker finished a request and is idle again (or about to retire). */
static void pool_worker_end(struct pool_worker *w, const struct proto_end *end)
{
    struct pool *pool = w->pool;
    struct pool_job *job = w->job;
    uint64_t now = loop_now_ms(pool->loop);
    w->avg_ms8 = w->avg_ms8 - w->avg_ms8 / 8 + (now - job->started_ms);
    if (pool->php_time)
        metrics_histogram_observe(pool->php_time, (double)(now - job->started_ms) / 1000);
    job_complete(job);
    job_free(job);
    w->job = NULL;
    w->paused = false;
    w->served++;
    bool retiring = (end->flags & PROTO_END_RETIRING) || w->exited || w->zygote->retired;
    struct pool_job *next = w->next_job;
    /* A retiring worker does not begin the job sent ahead: it goes back to the queue, unless
       it has begun after all (then it runs here, and pool_worker_down decides its fate). */
    if (next && retiring && take_back(w)) {
        job_requeue(pool, next);
        next = NULL;
    }
    w->next_job = NULL;
    loop_timer_cancel(pool->loop, &w->ahead);
    if (next) {
        w->job = next;
        job_started(next, now);
        if (!loop_timer_armed(&next->deadline) && next->limit_secs > 0)
            loop_timer_arm(pool->loop, &next->deadline, next->limit_secs * 1000);
        pool_assign(pool);
        return;
    }
    w->state = retiring ? WORKER_RETIRING : WORKER_IDLE;
    if (w->zygote->retired) /* a reload replaced it: it goes now that its request is done */
        retire_worker(w);
    pool_assign(pool);
}

static void pool_worker_heartbeat(struct pool_worker *w, uint32_t secs)
{
    uint64_t limit = w->job->limit_secs;
    if (limit > 0 && secs > 0 && secs <= limit)
        loop_timer_arm(w->pool->loop, &w->job->deadline, (uint64_t)secs * 1000);
}

/* Returns false when the worker has to go (protocol violation). */
static bool pool_worker_frame(struct pool_worker *w, const struct proto_frame *f)
{
    struct pool_job *job = w->job;
    if (job) /* anything from the worker means it read the request: its script has started */
        job_release_input(job);
    if (f->type == PROTO_LOG) {
        struct proto_log msg;
        if (proto_parse_log(f, &msg) < 0)
            return false;
        log_line(log_level_of(msg.level), msg.text, msg.len); /* a whole line from the worker */
        return true;
    }
    if (!job)
        return false; /* nothing else may come from an idle worker */
    switch (f->type) {
    case PROTO_HEADERS: {
        struct proto_headers h;
        if (proto_parse_headers(f, &h) < 0)
            return false;
        if (job->owner)
            job->ops->on_headers(job->owner, &h);
        return true;
    }
    case PROTO_BODY:
        if (f->flags & PROTO_FLAG_FLUSH)
            job->streamed = true;
        if (job->owner)
            job->ops->on_body(job->owner, f->payload, f->length, f->flags & PROTO_FLAG_FLUSH);
        return true;
    case PROTO_FINISH:
        job_complete(job);
        return true;
    case PROTO_HEARTBEAT: {
        uint32_t secs;
        if (proto_parse_heartbeat(f, &secs) < 0)
            return false;
        pool_worker_heartbeat(w, secs);
        return true;
    }
    case PROTO_END: {
        struct proto_end end;
        if (proto_parse_end(f, &end) < 0 || end.seq != job->seq)
            return false;
        pool_worker_end(w, &end);
        return true;
    }
    default:
        return false;
    }
}

/* Handles the complete frames already received, unless the owner asked to pause. */
static void pool_worker_process(struct pool_worker *w)
{
    struct proto_frame f;
    int rc;
    while (!w->paused && w->state != WORKER_DOWN && (rc = proto_decoder_next(&w->in, &f)) != 0) {
        if (rc < 0 || !pool_worker_frame(w, &f)) {
            log_error("worker %u: protocol error (%s); replacing it", w->id,
                      rc < 0 ? proto_strerror(rc) : proto_type_name(f.type));
            pool_worker_kill(w);
            w->exit_reason = POOL_EXIT_CRASHED;
            pool_worker_down(w, "protocol error");
            return;
        }
    }
}

static void pool_worker_read(struct pool_worker *w)
{
    while (!w->paused && w->state != WORKER_DOWN) {
        size_t avail;
        uint8_t *space = proto_decoder_space(&w->in, &avail);
        if (!space)
            abort();
        ssize_t n = read(w->io.fd, space, avail);
        if (n > 0) {
            proto_decoder_commit(&w->in, (size_t)n);
            pool_worker_process(w);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (w->exited) /* all it wrote is read; a child it left may hold the socket open */
                pool_worker_down(w, "its process exited");
            return;
        }
        if (n < 0 && errno == ECONNRESET) {
            /* AF_UNIX: its end was closed with bytes we sent still unread */
            pool_worker_down(w, "it ended without reading all its input");
            return;
        }
        pool_worker_down(w, n == 0 ? "it closed its socket" : "its socket failed");
        return;
    }
}

static void on_worker_io(struct loop *loop, struct loop_io *io, uint32_t events)
{
    (void)loop;
    struct pool_worker *w = container_of(io, struct pool_worker, io);
    if (events & EPOLLOUT)
        pool_worker_write(w);
    if (w->state != WORKER_DOWN && (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
        pool_worker_read(w);
}

void pool_job_pause(struct pool_job *job, bool paused)
{
    struct pool_worker *w = job->worker;
    if (!w || w->job != job || w->paused == paused)
        return;
    w->paused = paused;
    if (!paused) {
        pool_worker_process(w);
        pool_worker_read(w);
    }
}

/* ---- assigning jobs --------------------------------------------------------------------------- */

static struct pool_worker *idle_worker(struct pool *pool)
{
    for (unsigned i = 0; i < pool->worker_count; i++) {
        struct pool_worker *w = &pool->workers[i];
        if (w->state == WORKER_IDLE && w->zygote == pool->zygote) /* not one a reload retires */
            return w;
    }
    return NULL;
}

/* Writes the job's REQUEST (and body) to the worker, keeping a copy until it answers. */
static void send_job(struct pool_worker *w, struct pool_job *job)
{
    buf_append(&w->out, job->frames.data, job->frames.len);
    /* The job keeps its input until the worker answers: should the worker die before reading
       it, the job goes to another worker (pool_worker_down). */
    job->input_kept = true;
    w->send_fd = -1;
    if (job->body_fd >= 0) {
        w->send_fd = fcntl(job->body_fd, F_DUPFD_CLOEXEC, 0);
        if (w->send_fd < 0) { /* no copy: send the original, no second chance */
            w->send_fd = job->body_fd;
            job->body_fd = -1;
            job_release_input(job);
        }
    }
    job->worker = w;
    job->position = proto_position_next(&w->sent);
    pool_worker_write(w);
}

static void pool_worker_start(struct pool_worker *w, struct pool_job *job)
{
    w->job = job;
    w->state = WORKER_BUSY;
    job_started(job, loop_now_ms(w->pool->loop));
    send_job(w, job);
}

/*
 * When every worker is busy, the next job may be sent ahead to a worker, so that it starts the
 * moment the current one ends instead of after a round trip through the master (design.md
 * measured 2x on short scripts). Only behind a request that is short by recent measure and so
 * far, that streams nothing, and only one job ahead: a slow script must not hold up others.
 * Jobs with a body file are not sent ahead (the descriptor goes with the first byte written).
 */
#define PIPELINE_MAX_MS 2
/*
 * A job sent ahead waits at most this long behind its worker's current request: then that
 * request is not short after all, and the job goes back to the head of the queue for another
 * worker (taken back from the first that becomes free even sooner, see pool_assign()). Without
 * this, a worker that is never idle (it always has its own job sent ahead) never takes it.
 */
#define AHEAD_WAIT_MS 5

static struct pool_worker *pool_worker_to_send_ahead(struct pool *pool, const struct pool_job *job)
{
    if (job->body_fd >= 0)
        return NULL;
    uint64_t now = loop_now_ms(pool->loop);
    for (unsigned i = 0; i < pool->worker_count; i++) {
        struct pool_worker *w = &pool->workers[i];
        if (w->state == WORKER_BUSY && !w->next_job && !w->paused && !w->exited &&
            w->zygote == pool->zygote &&
            w->send_fd < 0 && w->out.len == 0 && !w->job->streamed &&
            !proto_slot_taken_pending(w->slot) &&
            now - w->job->started_ms < PIPELINE_MAX_MS && w->avg_ms8 < 8 * PIPELINE_MAX_MS)
            return w;
    }
    return NULL;
}

/*
 * A job sent ahead waits for its worker's current request to end, which may take long (a slow
 * script, a runaway). An idle worker takes it first (it left the queue before anything still
 * queued), from the worker whose current request has run longest. The board decides: a job
 * its worker has begun stays there.
 */
static struct pool_job *take_back_waiting_job(struct pool *pool)
{
    struct pool_worker *best = NULL;
    for (unsigned i = 0; i < pool->worker_count; i++) {
        struct pool_worker *w = &pool->workers[i];
        if (w->next_job && w->state == WORKER_BUSY &&
            (!best || w->job->started_ms < best->job->started_ms))
            best = w;
    }
    if (!best)
        return NULL;
    struct pool_job *job = best->next_job;
    return take_back(best) ? job : NULL;
}

static void pool_assign(struct pool *pool)
{
    struct pool_worker *w;
    while ((w = idle_worker(pool))) {
        struct pool_job *job = take_back_waiting_job(pool);
        if (!job && (job = TAILQ_FIRST(&pool->queue)))
            queue_remove(pool, job);
        if (!job)
            break;
        pool_worker_start(w, job);
    }
    struct pool_job *job;
    while ((job = TAILQ_FIRST(&pool->queue)) && (w = pool_worker_to_send_ahead(pool, job))) {
        queue_remove(pool, job);
        w->next_job = job;
        send_job(w, job);
        loop_timer_arm(pool->loop, &w->ahead, AHEAD_WAIT_MS);
    }
}

static void on_ahead_timeout(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct pool_worker *w = container_of(t, struct pool_worker, ahead);
    struct pool_job *job = w->next_job;
    if (job && take_back(w)) {
        job_requeue(w->pool, job);
        pool_assign(w->pool);
    }
}

/* ---- worker lifecycle ------------------------------------------------------------------------- */

static void on_respawn(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    pool_worker_spawn(container_of(t, struct pool_worker, respawn));
}

static void pool_worker_spawn(struct pool_worker *w)
{
    struct pool *pool = w->pool;
    w->generation = (w->generation + 1) & (UINT32_MAX >> SLOT_BITS);
    int fd = zygote_ctl_spawn(&pool->zygote->ctl, w->id | (w->generation << SLOT_BITS));
    if (fd < 0) {
        log_error("worker %u: the zygote could not start it; retrying in %d ms", w->id,
                  RESPAWN_DELAY_MS);
        loop_timer_arm(pool->loop, &w->respawn, RESPAWN_DELAY_MS);
        return;
    }
    w->io.fd = fd;
    w->io.fn = on_worker_io;
    w->slot = zygote_ctl_slot(&pool->zygote->ctl, w->id);
    w->score = zygote_ctl_scoreboard_slot(&pool->zygote->ctl, w->id);
    w->pid = 0;
    w->exited = false;
    w->sent = 0;
    proto_slot_reset(w->slot);
    w->send_fd = -1;
    w->paused = false;
    w->served = 0;
    w->started_ms = loop_now_ms(pool->loop);
    w->exit_reason = POOL_EXIT_NONE;
    w->spawn_failed = false;
    proto_decoder_init(&w->in, 0);
    if (loop_add(pool->loop, &w->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
        close(fd);
        proto_decoder_free(&w->in);
        loop_timer_arm(pool->loop, &w->respawn, RESPAWN_DELAY_MS);
        return;
    }
    w->state = WORKER_IDLE;
    w->zygote = pool->zygote;
    w->zygote->live++;
    pool_assign(pool);
}

/* A wait status the master did not cause: killed from outside, or died on its own. */
static enum pool_exit_reason exit_reason_of(int status)
{
    if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGKILL || WTERMSIG(status) == SIGTERM ||
                                WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGQUIT))
        return POOL_EXIT_KILLED;
    return POOL_EXIT_CRASHED;
}

static void record_exit(struct pool_worker *w, enum pool_exit_reason reason, int status)
{
    w->last_exit = reason;
    w->last_exit_status = status;
    w->pool->restarts[reason]++;
}

/*
 * Why the process went, counted once: what the master decided (retired, killed at its deadline,
 * protocol error), else its wait status; when the socket closed before the zygote's EXITED
 * came, the status decides later (on_zygote_event).
 */
static void classify_exit(struct pool_worker *w, bool retiring)
{
    w->exit_pending = false;
    if (w->pool->stopping || w->spawn_failed)
        return;
    if (retiring)
        record_exit(w, POOL_EXIT_RECYCLED, w->exited ? w->wait_status : -1);
    else if (w->exit_reason != POOL_EXIT_NONE)
        record_exit(w, w->exit_reason, w->exited ? w->wait_status : -1);
    else if (w->exited)
        record_exit(w, exit_reason_of(w->wait_status), w->wait_status);
    else {
        w->exit_pending = true;
        w->pending_generation = w->generation;
    }
}

static void pool_worker_down(struct pool_worker *w, const char *why)
{
    if (w->state == WORKER_DOWN)
        return;
    struct pool *pool = w->pool;
    bool quiet = w->state == WORKER_RETIRING;
    classify_exit(w, quiet);
    w->renewing = quiet;
    w->state = WORKER_DOWN;
    loop_timer_cancel(pool->loop, &w->resume);
    loop_timer_cancel(pool->loop, &w->ahead);
    loop_remove(pool->loop, &w->io);
    close(w->io.fd);
    proto_decoder_free(&w->in);
    buf_free(&w->out);
    if (w->send_fd >= 0)
        close(w->send_fd);
    w->send_fd = -1;
    struct pool_job *job = w->job;
    w->job = NULL;
    struct pool_job *next = w->next_job;
    w->next_job = NULL;
    if (!quiet)
        log_warn("worker %u (pid %d) is gone: %s", w->id, (int)w->pid, why);
    /* The job sent ahead goes first, so that the older current job ends up before it. */
    job_after_worker_death(w, next);
    job_after_worker_death(w, job);
    zygote_worker_gone(w->zygote); /* after the last look at w->slot, on its zygote's board */
    if (pool->stopping)
        return;
    uint64_t age = loop_now_ms(pool->loop) - w->started_ms;
    if (!quiet && w->served == 0 && !proto_slot_begun_any(w->slot) && age < RESPAWN_DELAY_MS) {
        log_warn("worker %u (pid %d) began no request in the %llu ms since its start; "
                 "replacing it in %d ms", w->id, (int)w->pid, (unsigned long long)age,
                 RESPAWN_DELAY_MS);
        loop_timer_arm(pool->loop, &w->respawn, RESPAWN_DELAY_MS);
        pool_assign(pool); /* a job sent back to the queue may have another worker */
    } else {
        log_debug("worker %u (pid %d): replacing it at once", w->id, (int)w->pid);
        pool_worker_spawn(w);
    }
}

/*
 * The worker's process is gone, but what it wrote before (the rest of a response, its END) may
 * still wait in the socket, unread because the client is slow (paused) or because this report
 * came first. Read it all before letting the worker go: pool_worker_read() ends it at EOF, or when
 * nothing is left to read.
 */
static void pool_worker_exited(struct pool_worker *w)
{
    w->exited = true;
    if (!w->paused)
        pool_worker_read(w);
}

static void log_exit(unsigned id, pid_t pid, int status)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        log_debug("worker %u (pid %d) exited", id, (int)pid);
    else if (WIFEXITED(status))
        log_warn("worker %u (pid %d) exited with status %d", id, (int)pid, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        log_warn("worker %u (pid %d) was killed by signal %d (%s)", id, (int)pid,
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
}

static bool all_workers_up(const struct pool *pool)
{
    for (unsigned i = 0; i < pool->worker_count; i++)
        if (pool->workers[i].state == WORKER_DOWN || pool->workers[i].pid <= 0)
            return false;
    return true;
}

static void on_zygote_event(struct loop *loop, struct loop_io *io, uint32_t events)
{
    (void)events;
    struct pool_zygote *z = container_of(io, struct pool_zygote, io);
    struct pool *pool = z->pool;
    struct zygote_ctl_event ev;
    int rc;
    while ((rc = zygote_ctl_read_event(&z->ctl, &ev)) == 1) {
        unsigned slot = ev.worker_id & SLOT_MASK;
        if (slot >= pool->worker_count)
            continue;
        struct pool_worker *w = &pool->workers[slot];
        /* about the process now in the slot, not one before it */
        bool current = ev.worker_id >> SLOT_BITS == w->generation && w->state != WORKER_DOWN;
        switch (ev.kind) {
        case ZYGOTE_CTL_SPAWNED:
            if (current && w->pid == 0)
                w->pid = ev.pid;
            if (!pool->started)
                pool->started = all_workers_up(pool);
            break;
        case ZYGOTE_CTL_SPAWN_FAILED:
            log_error("worker %u: fork failed: %s", slot, strerror(ev.status));
            if (current) {
                w->served = 0; /* respawn after a delay, not at once */
                w->spawn_failed = true;
                pool_worker_down(w, "it could not be forked");
            }
            break;
        case ZYGOTE_CTL_EXITED:
            log_exit(slot, ev.pid, ev.status);
            if (current && w->pid == ev.pid) {
                w->wait_status = ev.status;
                pool_worker_exited(w);
            } else if (w->exit_pending && ev.worker_id >> SLOT_BITS == w->pending_generation) {
                w->exit_pending = false;
                record_exit(w, exit_reason_of(ev.status), ev.status);
            }
            break;
        }
    }
    if (rc == 0 || pool->stopping)
        return;
    loop_remove(loop, io);
    if (z->retired) { /* its workers die with it: their sockets end, and they are replaced */
        log_warn("a retired php-zygote (pid %d) ended early", (int)z->ctl.pid);
        return;
    }
    log_error("the php-zygote is gone; PHP requests cannot be served, shutting down");
    pool->stopping = true;
    loop_stop(loop);
}

/* ---- zygotes and reload ----------------------------------------------------------------------- */

static void on_zygote_reap(struct loop *loop, struct loop_timer *t);

/* Takes over a started zygote and watches its control socket with `fn`. */
static struct pool_zygote *zygote_adopt(struct pool *pool, const struct zygote_ctl *ctl,
                                        loop_io_fn fn)
{
    struct pool_zygote *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    z->ctl = *ctl;
    z->pool = pool;
    z->reap.fn = on_zygote_reap;
    z->io.fd = zygote_ctl_fd(&z->ctl);
    z->io.fn = fn;
    if (loop_add(pool->loop, &z->io, EPOLLIN) < 0) {
        free(z);
        return NULL;
    }
    return z;
}

/* Stops it now (waits for it) and frees it: shutdown, or a zygote never adopted. */
static void zygote_destroy(struct pool *pool, struct pool_zygote *z)
{
    if (!z)
        return;
    loop_timer_cancel(pool->loop, &z->reap);
    if (!z->released)
        loop_remove(pool->loop, &z->io);
    zygote_ctl_stop(&z->ctl);
    free(z);
}

/* Replaced, or failed to start: it goes once its last worker has (at once if it has none). */
static void zygote_retire(struct pool *pool, struct pool_zygote *z)
{
    z->retired = true;
    LIST_INSERT_HEAD(&pool->retired, z, link);
    if (z->live == 0)
        loop_timer_arm(pool->loop, &z->reap, 0);
}

static void zygote_worker_gone(struct pool_zygote *z)
{
    if (--z->live == 0 && z->retired && !z->pool->stopping)
        loop_timer_arm(z->pool->loop, &z->reap, 0); /* not now: the caller still reads w->slot */
}

/* A retired zygote: asked to exit once its workers are gone, reaped, then freed. */
static void on_zygote_reap(struct loop *loop, struct loop_timer *t)
{
    struct pool_zygote *z = container_of(t, struct pool_zygote, reap);
    uint64_t now = loop_now_ms(loop);
    if (!z->released) {
        loop_remove(loop, &z->io);
        zygote_ctl_release(&z->ctl);
        z->released = true;
        z->released_ms = now;
    }
    bool late = now - z->released_ms >= ZYGOTE_EXIT_WAIT_MS;
    if (!zygote_ctl_reap(&z->ctl, late)) {
        loop_timer_arm(loop, t, ZYGOTE_REAP_EVERY_MS);
        return;
    }
    log_info("the retired php-zygote has exited%s", late ? " (killed: it did not exit)" : "");
    LIST_REMOVE(z, link);
    free(z);
}

/*
 * A worker of a retired zygote: one that is idle (or done with its last request) goes at once,
 * its socket closed (an idle worker exits when it is), and is replaced from the new zygote; a
 * busy one keeps its request and goes after it (pool_worker_end()). A job sent ahead to it
 * goes back to the queue unless it has begun.
 */
static void retire_worker(struct pool_worker *w)
{
    struct pool_job *next = w->next_job;
    switch (w->state) {
    case WORKER_BUSY:
        if (next && take_back(w))
            job_requeue(w->pool, next);
        return;
    case WORKER_IDLE:
    case WORKER_RETIRING:
        w->state = WORKER_RETIRING; /* counted as recycled, replaced at once, no warning */
        pool_worker_down(w, "replaced by a reload");
        return;
    case WORKER_DOWN:
        return; /* its replacement comes from the new zygote */
    }
}

static void reload_finished(struct pool *pool, bool ok, const char *why)
{
    pool->reloads[ok]++;
    if (pool->reloaded)
        pool->reloaded(pool->reloaded_arg, ok, why);
    if (pool->reload_again) {
        pool->reload_again = false;
        pool_reload(pool);
    }
}

static void reload_failed(struct pool *pool, const char *why)
{
    struct pool_zygote *z = pool->starting;
    pool->starting = NULL;
    loop_timer_cancel(pool->loop, &pool->start_timeout);
    log_error("reload failed: %s; the running PHP workers keep serving", why);
    zygote_retire(pool, z);
    reload_finished(pool, false, why);
}

/* The new zygote is ready: from now on every new request goes to its workers. */
static void reload_switch(struct pool *pool)
{
    struct pool_zygote *old = pool->zygote, *z = pool->starting;
    pool->starting = NULL;
    loop_timer_cancel(pool->loop, &pool->start_timeout);
    z->io.fn = on_zygote_event;
    pool->zygote = z;
    zygote_retire(pool, old);
    unsigned busy = 0;
    for (unsigned i = 0; i < pool->worker_count; i++) {
        struct pool_worker *w = &pool->workers[i];
        if (w->state != WORKER_DOWN && w->zygote == old) {
            busy += w->state == WORKER_BUSY;
            retire_worker(w);
        }
    }
    log_info("reloaded: new PHP workers (php-zygote pid %d) take every new request; old workers "
             "finishing their request: %u", (int)z->ctl.pid, busy);
    pool_assign(pool);
    reload_finished(pool, true, NULL);
}

static void on_zygote_starting(struct loop *loop, struct loop_io *io, uint32_t events)
{
    (void)loop;
    (void)events;
    struct pool_zygote *z = container_of(io, struct pool_zygote, io);
    int rc = zygote_ctl_read_ready(&z->ctl);
    if (rc > 0)
        reload_switch(z->pool);
    else if (rc < 0)
        reload_failed(z->pool, z->ctl.err);
}

static void on_start_timeout(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct pool *pool = container_of(t, struct pool, start_timeout);
    char why[96];
    snprintf(why, sizeof why, "the new php-zygote was not ready within %d s",
             RELOAD_START_TIMEOUT_MS / 1000);
    reload_failed(pool, why);
}

void pool_set_reload(struct pool *pool, pool_reload_argv_fn argv_fn, char *const envp[],
                     pool_reload_fn fn, void *arg)
{
    pool->argv_fn = argv_fn;
    pool->envp = envp;
    pool->reloaded = fn;
    pool->reloaded_arg = arg;
}

void pool_reload(struct pool *pool)
{
    if (pool->starting) {
        pool->reload_again = true; /* it may have read php.ini before the change asked for */
        return;
    }
    char why[CONFIG_ERR_MAX];
    char *const *argv = pool->argv_fn(pool->reloaded_arg, why, sizeof why);
    if (!argv) { /* the caller logs why */
        reload_finished(pool, false, why);
        return;
    }
    struct zygote_ctl ctl;
    if (zygote_ctl_launch(&ctl, pool->worker_count, argv, pool->envp) < 0) {
        log_error("reload failed: %s; the running PHP workers keep serving", ctl.err);
        reload_finished(pool, false, ctl.err);
        return;
    }
    struct pool_zygote *z = zygote_adopt(pool, &ctl, on_zygote_starting);
    if (!z) {
        zygote_ctl_stop(&ctl);
        log_error("reload failed: out of memory; the running PHP workers keep serving");
        reload_finished(pool, false, "out of memory");
        return;
    }
    pool->starting = z;
    loop_timer_arm(pool->loop, &pool->start_timeout, RELOAD_START_TIMEOUT_MS);
    log_info("reload: starting a new php-zygote (pid %d)", (int)z->ctl.pid);
}

bool pool_reload_pending(const struct pool *pool)
{
    return pool->starting != NULL || pool->reload_again;
}

/* ---- pool ------------------------------------------------------------------------------------- */

struct pool *pool_create(struct loop *loop, const struct config *cfg, struct zygote_ctl *zygote)
{
    struct pool *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return NULL;
    pool->loop = loop;
    pool->cfg = cfg;
    pool->worker_count = cfg->php_workers;
    pool->start_timeout.fn = on_start_timeout;
    TAILQ_INIT(&pool->queue);
    LIST_INIT(&pool->retired);
    pool->workers = calloc(pool->worker_count, sizeof(*pool->workers));
    if (!pool->workers || !(pool->zygote = zygote_adopt(pool, zygote, on_zygote_event))) {
        free(pool->workers);
        free(pool);
        return NULL;
    }
    for (unsigned i = 0; i < pool->worker_count; i++) {
        struct pool_worker *w = &pool->workers[i];
        w->pool = pool;
        w->id = i;
        w->state = WORKER_DOWN;
        w->send_fd = -1;
        w->slot = zygote_ctl_slot(&pool->zygote->ctl, i);
        w->score = zygote_ctl_scoreboard_slot(&pool->zygote->ctl, i);
        w->last_exit_status = -1;
        w->respawn.fn = on_respawn;
        w->resume.fn = on_resume;
        w->ahead.fn = on_ahead_timeout;
        pool_worker_spawn(w);
    }
    return pool;
}

void pool_destroy(struct pool *pool)
{
    if (!pool)
        return;
    pool->stopping = true;
    struct pool_job *job;
    while ((job = TAILQ_FIRST(&pool->queue))) {
        queue_remove(pool, job);
        job_free(job);
    }
    for (unsigned i = 0; i < pool->worker_count; i++) {
        struct pool_worker *w = &pool->workers[i];
        loop_timer_cancel(pool->loop, &w->respawn);
        loop_timer_cancel(pool->loop, &w->resume);
        loop_timer_cancel(pool->loop, &w->ahead);
        w->state = w->state == WORKER_DOWN ? WORKER_DOWN : WORKER_RETIRING; /* no log line */
        if (w->job)
            w->job->owner = NULL;
        if (w->next_job) /* pending owners hear nothing (pool.h) */
            w->next_job->owner = NULL;
        pool_worker_down(w, "shutdown");
    }
    loop_timer_cancel(pool->loop, &pool->start_timeout);
    zygote_destroy(pool, pool->starting);
    zygote_destroy(pool, pool->zygote);
    struct pool_zygote *z;
    while ((z = LIST_FIRST(&pool->retired))) {
        LIST_REMOVE(z, link);
        zygote_destroy(pool, z);
    }
    free(pool->workers);
    free(pool);
}

/* ---- observability ---------------------------------------------------------------------------- */

const char *pool_exit_reason_name(enum pool_exit_reason reason)
{
    switch (reason) {
    case POOL_EXIT_NONE: return NULL;
    case POOL_EXIT_RECYCLED: return "recycled";
    case POOL_EXIT_CRASHED: return "crashed";
    case POOL_EXIT_TIMED_OUT: return "timed_out";
    case POOL_EXIT_KILLED: return "killed";
    }
    return NULL;
}

const char *pool_worker_state_name(enum pool_worker_state state)
{
    switch (state) {
    case POOL_WORKER_STARTING: return "starting";
    case POOL_WORKER_IDLE: return "idle";
    case POOL_WORKER_BUSY: return "busy";
    case POOL_WORKER_EXITING: return "exiting";
    }
    return "starting";
}

/* A worker that may take jobs before the zygote reported its pid is still starting to us. */
static enum pool_worker_state public_state(const struct pool_worker *w)
{
    switch (w->state) {
    case WORKER_DOWN: return POOL_WORKER_STARTING;
    case WORKER_IDLE: return w->pid > 0 ? POOL_WORKER_IDLE : POOL_WORKER_STARTING;
    case WORKER_BUSY: return POOL_WORKER_BUSY;
    case WORKER_RETIRING: return POOL_WORKER_EXITING;
    }
    return POOL_WORKER_STARTING;
}

/* Its workers run WORKER_SCRIPT (every zygote of a pool has the same: it needs a restart). */
static bool in_worker_mode(const struct pool *pool)
{
    return pool->cfg->worker_script[0] != '\0';
}

void pool_stats(const struct pool *pool, struct pool_stats *out)
{
    memset(out, 0, sizeof *out);
    out->workers = pool->worker_count;
    out->worker_mode = in_worker_mode(pool);
    out->started = pool->started;
    for (unsigned i = 0; i < pool->worker_count; i++) {
        enum pool_worker_state state = public_state(&pool->workers[i]);
        out->by_state[state]++;
        out->renewing += state == POOL_WORKER_STARTING && pool->workers[i].renewing;
    }
    out->queued = pool->queued;
    out->pending = pool->pending;
    out->dropped = pool->dropped;
    out->abandoned = pool->abandoned;
    memcpy(out->restarts, pool->restarts, sizeof out->restarts);
    out->reloads_failed = pool->reloads[0];
    out->reloads_ok = pool->reloads[1];
}

void pool_set_histograms(struct pool *pool, struct metrics_histogram *queue_wait,
                         struct metrics_histogram *php_time)
{
    pool->queue_wait = queue_wait;
    pool->php_time = php_time;
}

bool pool_opcache_stats(const struct pool *pool, struct scoreboard_opcache *out)
{
    const struct zygote_ctl *z = &pool->zygote->ctl;
    return z->scoreboard && scoreboard_latest_opcache(z->scoreboard, z->slots, out);
}

unsigned pool_worker_count(const struct pool *pool)
{
    return pool->worker_count;
}

/* The current request of a busy worker: from its scoreboard slot when it has published it. */
static void current_request(const struct pool_worker *w, uint64_t wall_of_loop_ms0,
                            struct pool_worker_info *out)
{
    const struct pool_job *job = w->job;
    out->has_request = true;
    out->request_known = w->score && scoreboard_read_request(w->score, &out->request) &&
                         out->request.seq == job->seq;
    if (!out->request_known) { /* sent, not yet begun as far as the board shows */
        memset(&out->request, 0, sizeof out->request);
        out->request.seq = job->seq;
        out->request.begin_usec = wall_of_loop_ms0 + job->started_ms * 1000;
    }
}

size_t pool_worker_snapshot(const struct pool *pool, struct pool_worker_info *out, size_t max)
{
    /* loop time (ms, monotonic) to wall-clock microseconds: loop ms 0 happened at this time */
    uint64_t wall_of_loop_ms0 = clock_usec(CLOCK_REALTIME) - loop_now_ms(pool->loop) * 1000;
    size_t n = 0;
    for (unsigned i = 0; i < pool->worker_count && n < max; i++, n++) {
        const struct pool_worker *w = &pool->workers[i];
        struct pool_worker_info *info = &out[n];
        memset(info, 0, sizeof *info);
        info->id = w->id;
        info->state = public_state(w);
        bool running = w->state != WORKER_DOWN;
        info->pid = running ? w->pid : 0;
        info->spawned_usec = running ? wall_of_loop_ms0 + w->started_ms * 1000 : 0;
        info->served = running ? w->served : 0;
        if (w->state == WORKER_BUSY && w->job)
            current_request(w, wall_of_loop_ms0, info);
        info->worker_mode = in_worker_mode(pool);
        struct sysinfo_process_memory mem = {0};
        if (info->pid > 0 && !w->exited)
            sysinfo_process_memory(info->pid, &mem);
        info->rss_bytes = mem.rss_bytes;
        info->private_bytes = mem.private_bytes;
        info->last_exit = w->last_exit;
        info->last_exit_status = w->last_exit_status;
    }
    return n;
}
