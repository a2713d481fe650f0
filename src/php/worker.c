#include "php/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "obs/sysinfo.h"
#include "php/opcache_stats.h"
#include "php/sapi.h"
#include "php/wmode.h"

#define MAX_PENDING_FDS 8
#define OPCACHE_SAMPLE_MS 1000 /* at most one OPcache sample a second per worker */

struct worker {
    int sock;
    const struct config *cfg;
    struct proto_decoder in;
    struct buf out;               /* response frames not written yet */
    size_t body_at;               /* open BODY frame in `out`, or PROTO_NO_FRAME */
    int fds[MAX_PENDING_FDS];     /* body files received, waiting for their REQUEST (FIFO) */
    size_t nfds;
    bool wrote;                   /* frames written since the last look for ABORT */
    bool broken;                  /* the socket failed: the master is gone */
    bool detached;                /* this process is a fork() of the worker (pcntl_fork) */
    unsigned served;
    uint32_t requests;            /* REQUEST frames received: positions on the begin board */
    proto_slot *slot;             /* the begin board, or NULL */
    struct scoreboard_slot *score; /* what it publishes for /workers and /metrics, or NULL */
    uint64_t opcache_due_ms;      /* monotonic time of the next OPcache sample */
};

static struct worker the_worker;
static pid_t forking_pid; /* the process in fork(), for its child */

void worker_report(const char *what, const char *detail)
{
    fprintf(stderr, "kiln-worker[%d]: %s%s%s\n", (int)getpid(), what, detail ? ": " : "",
            detail ? detail : "");
}

/* ---- input ------------------------------------------------------------------------------ */

/* One read into the decoder: 1 bytes read, 0 end of stream, -1 error (errno set). */
static int fill(struct worker *w, bool block)
{
    size_t avail;
    uint8_t *space = proto_decoder_space(&w->in, &avail);
    if (!space) {
        errno = ENOMEM;
        return -1;
    }
    ssize_t n;
    size_t nfds;
    int fds[MAX_PENDING_FDS];
    do {
        nfds = MAX_PENDING_FDS - w->nfds;
        n = proto_recv_fds(w->sock, space, avail, fds, &nfds, block ? 0 : MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return (int)n;
    memcpy(w->fds + w->nfds, fds, nfds * sizeof fds[0]);
    w->nfds += nfds;
    proto_decoder_commit(&w->in, (size_t)n);
    return 1;
}

/* Waits for the next frame: 1, 0 at end of stream, -1 on a socket or protocol error. */
static int next_frame(struct worker *w, struct proto_frame *f)
{
    for (;;) {
        int rc = proto_decoder_next(&w->in, f);
        if (rc > 0)
            return 1;
        if (rc < 0) {
            worker_report("protocol error", proto_strerror(rc));
            return -1;
        }
        rc = fill(w, true);
        if (rc <= 0) {
            if (rc < 0)
                worker_report("read failed", strerror(errno));
            return rc;
        }
    }
}

static int take_body_fd(struct worker *w)
{
    if (w->nfds == 0)
        return -1;
    int fd = w->fds[0];
    memmove(w->fds, w->fds + 1, (w->nfds - 1) * sizeof w->fds[0]);
    w->nfds--;
    return fd;
}

/* BODY frames up to body_length; an ABORT of this request ends the body early. */
static int receive_body(struct worker *w, struct kiln_request *r)
{
    uint64_t want = r->req.head.body_length;
    if (want > SIZE_MAX || !(r->body = malloc((size_t)want))) {
        worker_report("request body too large for memory", NULL);
        return -1;
    }
    while (r->body_len < want) {
        struct proto_frame f;
        uint32_t seq;
        if (next_frame(w, &f) != 1)
            return -1;
        if (f.type == PROTO_ABORT) {
            proto_parse_abort(&f, &seq);
            if (seq == r->req.head.seq) {
                r->abort_received = true;
                return 1;
            }
            continue;
        }
        if (f.type != PROTO_BODY || f.length > want - r->body_len) {
            worker_report("protocol error", "unexpected frame in a request body");
            return -1;
        }
        memcpy(r->body + r->body_len, f.payload, f.length);
        r->body_len += f.length;
    }
    return 1;
}

/* Waits for the next REQUEST and its body: 1 ready, 0 end of stream, -1 error. */
static int receive_request(struct worker *w, struct kiln_request *r)
{
    struct proto_frame f;
    int rc;
    while ((rc = next_frame(w, &f)) == 1 && f.type == PROTO_ABORT)
        ; /* the ABORT of a request already answered */
    if (rc != 1)
        return rc;
    if (f.type != PROTO_REQUEST) {
        worker_report("protocol error", "expected REQUEST");
        return -1;
    }
    /* A copy: the decoder's buffer moves while the request runs, and PHP may write into it. */
    if (!(r->payload = malloc(f.length)))
        return -1;
    memcpy(r->payload, f.payload, f.length);
    f.payload = r->payload;
    rc = proto_parse_request(&f, &r->req);
    if (rc < 0) {
        worker_report("bad REQUEST", proto_strerror(rc));
        return -1;
    }
    r->heartbeat_max = w->cfg->request_timeout_secs;
    r->stream_heartbeat_max = w->cfg->sse_timeout_secs;
    if (r->req.head.flags & PROTO_REQ_BODY_FD) {
        r->body_fd = take_body_fd(w);
        r->body_len = r->req.head.body_length;
        if (r->body_fd < 0) {
            worker_report("protocol error", "REQUEST without its body file");
            return -1;
        }
        return 1;
    }
    return r->req.head.body_length ? receive_body(w, r) : 1;
}

static void request_init(struct kiln_request *r, struct worker *w)
{
    memset(r, 0, sizeof *r);
    r->worker = w;
    r->body_fd = -1;
}

static void request_free(struct kiln_request *r)
{
    free(r->payload);
    free(r->body);
    if (r->body_fd >= 0)
        close(r->body_fd);
}

/* ---- output ----------------------------------------------------------------------------- */

void worker_send(struct worker *w)
{
    size_t done = 0;
    while (done < w->out.len && !w->broken) {
        ssize_t n = send(w->sock, w->out.data + done, w->out.len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            w->broken = true;
        else
            done += (size_t)n;
    }
    w->out.len = 0;
    w->body_at = PROTO_NO_FRAME;
    w->wrote = true;
}

void worker_put_body(struct worker *w, const char *data, size_t len)
{
    while (len > 0 && !w->broken) {
        size_t n = len < PROTO_BODY_CHUNK ? len : PROTO_BODY_CHUNK;
        if (proto_put_body(&w->out, &w->body_at, data, n) < 0) {
            worker_report("out of memory for output", NULL);
            w->broken = true;
            return;
        }
        if (w->out.len >= PROTO_BODY_CHUNK)
            worker_send(w);
        data += n;
        len -= n;
    }
}

struct buf *worker_frames(struct worker *w)
{
    w->body_at = PROTO_NO_FRAME;
    return &w->out;
}

void worker_flush(struct worker *w)
{
    if (w->body_at == PROTO_NO_FRAME)
        proto_put_frame(&w->out, PROTO_BODY, PROTO_FLAG_FLUSH, NULL, 0);
    else
        proto_add_flags(&w->out, w->body_at, PROTO_FLAG_FLUSH);
    worker_send(w);
}

bool worker_client_gone(struct worker *w, uint32_t seq)
{
    if (w->broken)
        return true;
    if (!w->wrote)
        return false;
    w->wrote = false;
    int rc;
    while ((rc = fill(w, false)) == 1)
        ;
    if (rc == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        w->broken = true;
        return true;
    }
    size_t cursor = 0;
    struct proto_frame f;
    uint32_t abort_seq;
    while (proto_decoder_peek(&w->in, &cursor, &f)) {
        if (f.type == PROTO_ABORT && proto_parse_abort(&f, &abort_seq) == 0 && abort_seq == seq)
            return true;
    }
    return false;
}

/* ---- children --------------------------------------------------------------------------- */

static void before_fork(void)
{
    forking_pid = getpid();
}

/*
 * In every child fork() makes while a script runs (pcntl_fork, proc_open): the child never
 * writes to the master. Its output, headers and END are dropped (`broken`, the request
 * `finished`), the socket becomes /dev/null so no stray write can reach the master, and the
 * child dies with the process that forked it, even after setsid().
 */
static void detach_forked_child(void)
{
    struct worker *w = &the_worker;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != forking_pid)
        _exit(1); /* the parent is already gone */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup3(null, w->sock, O_CLOEXEC);
        close(null);
    } else {
        close(w->sock);
    }
    for (size_t i = 0; i < w->nfds; i++)
        close(w->fds[i]);
    w->nfds = 0;
    w->out.len = 0;
    w->body_at = PROTO_NO_FRAME;
    w->broken = true;
    w->detached = true;
    struct kiln_request *r = kiln_sapi_current();
    if (r) {
        r->detached = true;
        r->finished = true;
    }
}

/*
 * Between requests: children the script did not wait for, and orphans adopted as subreaper.
 * Never during a request, so pcntl_waitpid() gets its child's status.
 */
static void reap_children(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

/* ---- the scoreboard ----------------------------------------------------------------------- */

/* Clock reads through the vDSO: no system call per request. */
/* The request begins: its method and URI for /workers (pool/scoreboard.h). */
static void publish_request(struct worker *w, const struct kiln_request *r)
{
    struct proto_pair method = {.name = NULL}, uri = {.name = NULL}, p;
    struct proto_pair_iter it;
    proto_pair_iter_init(&it, r->req.vars, r->req.vars_len);
    while ((!method.name || !uri.name) && proto_pair_next(&it, &p)) {
        if (p.name_len == 14 && memcmp(p.name, "REQUEST_METHOD", 14) == 0)
            method = p;
        else if (p.name_len == 11 && memcmp(p.name, "REQUEST_URI", 11) == 0)
            uri = p;
    }
    scoreboard_publish_request(w->score, r->req.head.seq, method.name ? method.value : "",
                               method.name ? method.value_len : 0, uri.name ? uri.value : "",
                               uri.name ? uri.value_len : 0, clock_usec(CLOCK_REALTIME));
}

void worker_after_script(struct worker *w)
{
    if (!w->score || w->detached)
        return;
    uint64_t now_ms = clock_usec(CLOCK_MONOTONIC_COARSE) / 1000;
    if (now_ms < w->opcache_due_ms)
        return;
    w->opcache_due_ms = now_ms + OPCACHE_SAMPLE_MS;
    struct scoreboard_opcache o;
    if (!opcache_stats_sample(&o))
        return;
    o.sampled_usec = clock_usec(CLOCK_REALTIME);
    scoreboard_publish_opcache(w->score, &o);
}

/* ---- the loop --------------------------------------------------------------------------- */

static void send_end(struct worker *w, const struct kiln_request *r, bool retiring)
{
    struct proto_end end = {
        .seq = r->req.head.seq,
        .exit_status = r->exit_status,
        .flags = retiring ? PROTO_END_RETIRING : 0,
        .peak_memory = r->peak_memory,
    };
    proto_put_end(worker_frames(w), &end);
    worker_send(w);
}

int worker_next_request(struct worker *w, struct kiln_request *r)
{
    for (;;) {
        request_init(r, w);
        int rc = receive_request(w, r);
        if (rc <= 0) {
            request_free(r);
            return rc;
        }
        uint32_t pos = proto_position_next(&w->requests);
        if (w->slot && !proto_slot_begin(w->slot, pos)) {
            request_free(r); /* the master gave it to another worker */
            continue;
        }
        w->served++;
        if (w->score)
            publish_request(w, r);
        w->wrote = false; /* look for ABORT only after this request's own writes */
        return 1;
    }
}

/* WORKER_MAX_MEMORY: private resident memory (shared pages, such as OPcache's, not counted). */
static bool over_memory(const struct worker *w)
{
    uint64_t max = w->cfg->worker_max_memory;
    if (!max)
        return false;
    struct sysinfo_process_memory mem;
    if (!sysinfo_process_memory(getpid(), &mem) || mem.private_bytes <= max)
        return false;
    char detail[96];
    snprintf(detail, sizeof detail, "%llu KiB of private memory, over WORKER_MAX_MEMORY (%llu KiB)",
             (unsigned long long)(mem.private_bytes / 1024), (unsigned long long)(max / 1024));
    worker_report("retiring", detail);
    return true;
}

bool worker_end_request(struct worker *w, struct kiln_request *r, bool healthy, bool recycle)
{
    unsigned max = w->cfg->worker_max_requests;
    bool retiring = !healthy || recycle || w->broken || (max && w->served >= max) ||
                    over_memory(w);
    send_end(w, r, retiring);
    request_free(r);
    reap_children();
    return retiring;
}

bool worker_detached(const struct worker *w)
{
    return w->detached;
}

noreturn void worker_exit(struct worker *w, int status, bool clean)
{
    for (size_t i = 0; i < w->nfds; i++)
        close(w->fds[i]);
    close(w->sock); /* the master sees EOF at once */
    proto_decoder_free(&w->in);
    buf_free(&w->out);
    kiln_sapi_exit(status, clean);
}

/* Milliseconds of monotonic time. */
static uint64_t now_ms(void)
{
    return clock_usec(CLOCK_MONOTONIC) / 1000;
}

/*
 * The worker script failed before it served anything: every request that reaches this worker
 * until `until_ms` is answered 500 at once (a client never waits for a PHP that cannot boot),
 * then the worker exits. Living that long is the back-off: the pool replaces a worker that
 * began requests at once, and without this a failing boot under traffic would fork per request.
 */
static noreturn void refuse_requests(struct worker *w, uint64_t until_ms)
{
    for (;;) {
        uint64_t now = now_ms();
        struct pollfd p = {.fd = w->sock, .events = POLLIN};
        bool pending = proto_decoder_pending(&w->in) > 0; /* bytes read, not decoded */
        if (!pending && poll(&p, 1, now < until_ms ? (int)(until_ms - now) : 0) <= 0)
            break;
        struct kiln_request r;
        if (worker_next_request(w, &r) <= 0)
            break;
        kiln_sapi_refuse(&r);
        if (worker_end_request(w, &r, true, false))
            break;
    }
    worker_exit(w, 1, true);
}

static noreturn void serve_classic(struct worker *w)
{
    for (;;) {
        struct kiln_request r;
        int rc = worker_next_request(w, &r);
        if (rc <= 0)
            worker_exit(w, rc == 0 ? 0 : 1, true);
        bool healthy = kiln_sapi_execute(&r);
        if (w->detached) { /* a forked child at the end of the script: exit, silently */
            int status = r.exit_status;
            request_free(&r);
            worker_exit(w, status, healthy);
        }
        if (worker_end_request(w, &r, healthy, false))
            worker_exit(w, healthy ? 0 : 1, healthy);
    }
}

/* Worker mode (WORKER_SCRIPT): the script runs once and serves requests itself. */
static noreturn void serve_worker_script(struct worker *w, uint64_t started_ms)
{
    enum wmode_result res = wmode_run(w, w->cfg->worker_script);
    if (res == WMODE_BOOT_FAILED)
        refuse_requests(w, started_ms + WORKER_BOOT_BACKOFF_MS);
    if (w->detached)
        worker_exit(w, 0, false);
    /* after a fatal error in a handler PHP's request shutdown ran as usual: PHP is sound */
    worker_exit(w, res == WMODE_DONE ? 0 : 1, true);
}

noreturn void worker_main(int sock, const struct config *cfg, proto_slot *slot,
                          struct scoreboard_slot *score)
{
    struct worker *w = &the_worker;
    uint64_t started_ms = now_ms();
    w->sock = sock;
    w->cfg = cfg;
    w->score = score;
    w->slot = slot;
    w->body_at = PROTO_NO_FRAME;
    proto_decoder_init(&w->in, 0);
    /* descendants whose parent dies come back to the worker, in its process group's reach */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    pthread_atfork(before_fork, NULL, detach_forked_child);
    if (cfg->worker_script[0])
        serve_worker_script(w, started_ms);
    serve_classic(w);
}
