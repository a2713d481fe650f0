#include "http/dispatch.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base.h"
#include "buf.h"
#include "http/cgi.h"
#include "http/encoding.h"
#include "http/exchange.h"
#include "http/response.h"
#include "http/router.h"
#include "http/server.h"
#include "obs/log.h"
#include "obs/stats.h"
#include "pool/pool.h"

#define STREAM_THRESHOLD (64u * 1024)  /* output held back before the response streams */
#define PAUSE_THRESHOLD (1024u * 1024) /* unsent output at which the worker is paused */
#define SPARE_REPLIES 64                /* finished replies kept for the next requests */
#define SPARE_PENDING (2 * STREAM_THRESHOLD) /* held-back output memory a spare reply keeps */
#define EVENT_STREAM "text/event-stream"

/* A PHP request in progress: the exchange's source. */
struct php_reply {
    struct exchange_source src;
    struct pool_job *job;     /* the request at the pool, NULL once it ended */
    bool streaming;           /* the head has been sent; the body follows as it comes */
    struct buf pending;       /* output held back until the response is complete or streams */
    long long head_length;    /* HEAD: the Content-Length the script set, or -1 */
    bool sse_request;         /* the client asked for text/event-stream (Accept) */
    bool stream;              /* the answer is text/event-stream: every piece goes out at once */
    bool stream_counted;      /* in kiln_sse_active_connections */
    struct php_reply *next;   /* in the spare list */
};

/* Finished replies, reused so that a request does not allocate one (the loop is single-threaded). */
static struct php_reply *spare;
static unsigned spare_count;

/* ---- the request ------------------------------------------------------------------------------ */

/* Appends the body as BODY frames, or hands its file to the job. */
static void add_body(struct pool_job *job, struct body *body)
{
    if (body->fd >= 0) {
        pool_job_set_body_fd(job, body->fd);
        body->fd = -1;
        return;
    }
    for (size_t off = 0; off < body->mem.len; off += PROTO_BODY_CHUNK) {
        size_t n = body->mem.len - off < PROTO_BODY_CHUNK ? body->mem.len - off : PROTO_BODY_CHUNK;
        if (proto_put_frame(pool_job_frames(job), PROTO_BODY, 0, body->mem.data + off, n) < 0)
            abort();
    }
}

static int encode_request(struct exchange *x, const struct route *route, struct php_reply *r,
                          struct pool_job *job)
{
    struct cgi_input in = {
        .method = x->method_name,
        .target = x->target,
        .target_len = x->target_len,
        .protocol = x->protocol,
        .script_name = route->script,
        .path_info = route->path_info,
        .document_root = x->srv->cfg->document_root,
        .remote = x->peer,
        .local = x->local,
        .https = x->tls,
        .headers = x->headers,
        .header_count = x->header_count,
        .content_length = x->has_body ? (int64_t)x->body.len : -1,
        .start_usec = clock_usec(CLOCK_REALTIME),
        .trace = exchange_trace(x),
    };
    uint32_t flags = x->body.fd >= 0 ? PROTO_REQ_BODY_FD : 0;
    if (r->sse_request)
        flags |= PROTO_REQ_EVENT_STREAM;
    return cgi_encode_request(pool_job_frames(job), &in, pool_job_seq(job), flags);
}

/* ---- the response ----------------------------------------------------------------------------- */

/* Framing and connection handling are the protocol's; everything else from PHP passes. */
static bool is_hop_by_hop(const char *name, size_t len)
{
    static const char *const names[] = {"Connection", "Keep-Alive", "Transfer-Encoding",
                                        "Content-Length", "Upgrade"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == len && strncasecmp(name, names[i], len) == 0)
            return true;
    return false;
}

/* A Content-Length value: 1*DIGIT that fits; -1 otherwise. */
static long long parse_length(const char *v, size_t len)
{
    long long n = 0;
    if (len == 0 || len > 18)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (v[i] - '0');
    }
    return n;
}

static bool is_event_stream(const struct exchange *x)
{
    size_t len;
    const char *type = headers_find(&x->response_headers, "Content-Type", &len);
    return type && len >= sizeof(EVENT_STREAM) - 1 &&
           strncasecmp(type, EVENT_STREAM, sizeof(EVENT_STREAM) - 1) == 0 &&
           (len == sizeof(EVENT_STREAM) - 1 || type[sizeof(EVENT_STREAM) - 1] == ';' ||
            type[sizeof(EVENT_STREAM) - 1] == ' ');
}

/*
 * The answer is an event stream (docs/php.md, "Server-Sent Events"): SSE_TIMEOUT instead of
 * REQUEST_TIMEOUT (from now, unless the client asked for a stream from the start), nothing
 * held back, and no cache or proxy buffering on the way.
 */
static void begin_stream(struct php_reply *r)
{
    struct exchange *x = r->src.x;
    r->stream = true;
    if (!r->sse_request)
        pool_job_set_stream(r->job, x->srv->cfg->sse_timeout_secs);
    size_t len;
    if (!headers_find(&x->response_headers, "Cache-Control", &len))
        headers_add_str(&x->response_headers, "Cache-Control", "no-cache");
    headers_add_str(&x->response_headers, "X-Accel-Buffering", "no");
}

static void on_headers(void *owner, const struct proto_headers *h)
{
    struct php_reply *r = owner;
    struct exchange *x = r->src.x;
    x->status = (int)h->status;
    x->worker_id = pool_job_worker_id(r->job);
    struct proto_pair_iter it;
    struct proto_pair p;
    proto_pair_iter_init(&it, h->pairs, h->pairs_len);
    while (proto_pair_next(&it, &p)) {
        /* PHP sends no body for HEAD; the length a GET would have is the script's to say
           (RFC 9110 section 9.3.2). For other methods Kiln frames the body it receives. */
        if (exchange_is_head(x) && p.name_len == 14 &&
            strncasecmp(p.name, "Content-Length", 14) == 0)
            r->head_length = parse_length(p.value, p.value_len);
        if (!is_hop_by_hop(p.name, p.name_len) &&
            !headers_add_checked(&x->response_headers, p.name, p.name_len, p.value,
                                 p.value_len))
            log_debug("dropped an invalid header from PHP: %.*s", (int)p.name_len, p.name);
    }
    if (is_event_stream(x))
        begin_stream(r);
}

/* Copies the job's times to the exchange (profiling headers, access log); the job must live. */
static void note_timing(struct exchange *x, const struct pool_job *job)
{
    x->php_queued = true;
    x->php_begun = pool_job_timing(job, &x->queue_wait_ms, &x->php_ms);
}

static void start_streaming(struct php_reply *r)
{
    struct exchange *x = r->src.x;
    r->streaming = true;
    note_timing(x, r->job); /* so far: the script is still running */
    if (!x->status)
        x->status = 500;
    if (r->stream) {
        stats_inc(stats_global.sse_connections);
        stats_gauge_add(stats_global.sse_active, 1);
        r->stream_counted = true;
    }
    exchange_send_head(x, -1);
    exchange_send_data(x, r->pending.data, r->pending.len, true);
    buf_clear(&r->pending);
}

static void on_body(void *owner, const uint8_t *data, size_t len, bool flush)
{
    struct php_reply *r = owner;
    struct exchange *x = r->src.x;
    if (r->streaming) {
        exchange_send_data(x, data, len, flush);
    } else {
        buf_append(&r->pending, data, len);
        if (flush || r->stream || r->pending.len > STREAM_THRESHOLD)
            start_streaming(r);
    }
    if (r->stream) {
        stats_inc(stats_global.sse_chunks);
        stats_add(stats_global.sse_bytes, len);
    }
    if (!r->src.x)
        return; /* the response was aborted (the filter failed): the job is cancelled */
    if (r->streaming && r->job && !r->src.paused && x->ops->queued(x) > PAUSE_THRESHOLD) {
        pool_job_pause(r->job, true);
        r->src.paused = true; /* resumed when the protocol has written it out */
    }
}

/* After the exchange's finish or abort, `r` is detached and released after the batch. */
static void on_complete(void *owner)
{
    struct php_reply *r = owner;
    struct exchange *x = r->src.x;
    note_timing(x, r->job);
    r->job = NULL;
    if (!r->streaming) {
        if (!x->status)
            x->status = 500;
        exchange_send_head(x, exchange_is_head(x) ? r->head_length : (long long)r->pending.len);
        exchange_send_data(x, r->pending.data, r->pending.len, false);
    }
    exchange_finish(x);
}

static void on_fail(void *owner, int status)
{
    struct php_reply *r = owner;
    struct exchange *x = r->src.x;
    note_timing(x, r->job);
    r->job = NULL;
    if (r->streaming) {
        exchange_abort(x); /* half a response: the client must see it is incomplete */
        return;
    }
    headers_clear(&x->response_headers);
    exchange_reply_status(x, status);
}

static const struct pool_job_ops job_ops = {
    .on_headers = on_headers,
    .on_body = on_body,
    .on_complete = on_complete,
    .on_fail = on_fail,
};

/* ---- the exchange's source -------------------------------------------------------------------- */

/* The client is gone: the worker is told (connection_aborted()) and its answer dropped. */
static void reply_stop(struct exchange_source *s)
{
    struct php_reply *r = container_of(s, struct php_reply, src);
    if (r->job)
        pool_job_cancel(r->job);
    r->job = NULL;
}

static void reply_resume(struct exchange_source *s)
{
    struct php_reply *r = container_of(s, struct php_reply, src);
    if (r->job)
        pool_job_pause(r->job, false);
}

static void reply_release(struct exchange_source *s)
{
    struct php_reply *r = container_of(s, struct php_reply, src);
    if (r->stream_counted)
        stats_gauge_add(stats_global.sse_active, -1);
    if (spare_count >= SPARE_REPLIES) {
        buf_free(&r->pending);
        free(r);
        return;
    }
    if (r->pending.cap > SPARE_PENDING)
        buf_free(&r->pending);
    r->next = spare;
    spare = r;
    spare_count++;
}

static const struct exchange_source_ops reply_ops = {
    .stop = reply_stop,
    .resume = reply_resume,
    .release = reply_release,
};

static struct php_reply *reply_get(void)
{
    struct php_reply *r = spare;
    if (r) {
        spare = r->next;
        spare_count--;
    } else {
        r = calloc(1, sizeof(*r));
        if (!r)
            abort();
    }
    buf_clear(&r->pending);
    r->job = NULL;
    r->streaming = false;
    r->head_length = -1;
    r->sse_request = r->stream = r->stream_counted = false;
    return r;
}

/* ---- entry points ----------------------------------------------------------------------------- */

void dispatch_php(struct exchange *x, const struct route *route)
{
    if (x->body.failed) {
        exchange_reply_status(x, 500);
        return;
    }
    struct php_reply *r = reply_get();
    struct pool_job *job = pool_job_create(x->srv->pool, &job_ops, r);
    size_t accept_len;
    const char *accept = exchange_header(x, "Accept", &accept_len);
    r->sse_request = encoding_list_names(accept, accept_len, EVENT_STREAM);
    if (r->sse_request)
        pool_job_set_stream(job, x->srv->cfg->sse_timeout_secs);
    if (encode_request(x, route, r, job) < 0) {
        pool_job_cancel(job);
        reply_release(&r->src);
        x->close = true;
        exchange_reply_status(x, 431);
        return;
    }
    add_body(job, &x->body);
    body_reset(&x->body);
    /* Attached before submitting: a worker failing at once already reports to us. */
    r->job = job;
    exchange_source_attach(x, &r->src, &reply_ops);
    if (pool_submit(job) < 0) {
        r->job = NULL;
        headers_add_str(&x->response_headers, "Retry-After", "1");
        exchange_reply_status(x, 503);
    }
}
