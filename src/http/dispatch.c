#include "http/dispatch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/conn.h"
#include "http/response.h"
#include "http/router.h"
#include "php/cgi.h"
#include "pool/pool.h"
#include "server.h"

#define STREAM_THRESHOLD (64u * 1024)  /* output held back before the response streams */
#define PAUSE_THRESHOLD (1024u * 1024) /* unsent output at which the worker is paused */

/* ---- the request ------------------------------------------------------------------------------ */

static uint64_t wall_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static struct cgi_header *request_headers(const struct conn *c)
{
    struct cgi_header *h = calloc(c->http.header_count + 1, sizeof(*h));
    if (!h)
        abort();
    for (uint32_t i = 0; i < c->http.header_count; i++) {
        const struct http1_header *src = &c->http.headers[i];
        h[i] = (struct cgi_header){
            .name = c->in.data + src->name.off,
            .name_len = src->name.len,
            .value = c->in.data + src->value.off,
            .value_len = src->value.len,
        };
    }
    return h;
}

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

static int encode_request(struct conn *c, const struct route *route, struct pool_job *job)
{
    struct cgi_header *headers = request_headers(c);
    const char *protocol = http1_version_minor(&c->http) == 0 ? "HTTP/1.0" : "HTTP/1.1";
    struct cgi_input in = {
        .method = http1_method_name(&c->http),
        .target = c->in.data + c->http.target.off,
        .target_len = c->http.target.len,
        .protocol = protocol,
        .script_name = route->script,
        .path_info = route->path_info,
        .document_root = c->srv->cfg->document_root,
        .remote = (const struct sockaddr *)&c->peer,
        .local = (const struct sockaddr *)&c->local,
        .headers = headers,
        .header_count = c->http.header_count,
        .content_length = http1_has_body(&c->http) ? (int64_t)c->body.len : -1,
        .start_usec = wall_usec(),
    };
    uint32_t flags = c->body.fd >= 0 ? PROTO_REQ_BODY_FD : 0;
    int rc = cgi_encode_request(pool_job_frames(job), &in, pool_job_seq(job), flags);
    free(headers);
    return rc;
}

/* ---- the response ----------------------------------------------------------------------------- */

static struct conn *conn_of_owner(void *owner)
{
    return owner;
}

static bool is_head_request(const struct conn *c)
{
    return http1_method(&c->http) == HTTP_HEAD;
}

/* 1xx, 204 and 304 responses never have a body (RFC 9110 section 6.4.1). */
static bool status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

static bool body_is_sent(const struct conn *c)
{
    return !is_head_request(c) && status_has_body(c->php.status);
}

/* Framing headers and connection handling are Kiln's; everything else from PHP passes. */
static bool is_hop_by_hop(const char *name, size_t len)
{
    static const char *const names[] = {"Connection", "Keep-Alive", "Transfer-Encoding",
                                        "Content-Length", "Upgrade"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == len && strncasecmp(name, names[i], len) == 0)
            return true;
    return false;
}

static void on_headers(void *owner, const struct proto_headers *h)
{
    struct conn *c = conn_of_owner(owner);
    c->php.status = (int)h->status;
    struct proto_pair_iter it;
    struct proto_pair p;
    proto_pair_iter_init(&it, h->pairs, h->pairs_len);
    while (proto_pair_next(&it, &p))
        if (!is_hop_by_hop(p.name, p.name_len))
            response_header_n(&c->php.head, p.name, p.value, p.value_len);
}

/* Sends the status line and headers; `length` >= 0 gives a Content-Length. */
static void send_head(struct conn *c, long long length)
{
    bool keep = conn_decide_keep_alive(c);
    response_begin(&c->out, c->php.status ? c->php.status : 500, loop_wall_time(c->srv->loop));
    buf_append(&c->out, c->php.head.data, c->php.head.len);
    if (length >= 0)
        response_header_uint(&c->out, "Content-Length", (unsigned long long)length);
    else if (c->php.chunked)
        buf_append_str(&c->out, "Transfer-Encoding: chunked\r\n");
    response_end_head(&c->out, !keep, keep && http1_version_minor(&c->http) == 0);
    buf_free(&c->php.head);
}

static void append_chunk(struct conn *c, const void *data, size_t len)
{
    if (len == 0)
        return;
    if (c->php.chunked)
        buf_printf(&c->out, "%zx\r\n", len);
    buf_append(&c->out, data, len);
    if (c->php.chunked)
        buf_append(&c->out, "\r\n", 2);
}

static void start_streaming(struct conn *c)
{
    c->php.streaming = true;
    if (body_is_sent(c)) {
        if (http1_version_minor(&c->http) >= 1)
            c->php.chunked = true;
        else
            c->close_after = true; /* HTTP/1.0: the end of the body is the end of the connection */
    }
    send_head(c, body_is_sent(c) || is_head_request(c) ? -1 : 0);
    if (body_is_sent(c))
        append_chunk(c, c->php.pending.data, c->php.pending.len);
    buf_free(&c->php.pending);
}

static void apply_back_pressure(struct conn *c)
{
    if (c->php.job && c->out.len - c->out_pos > PAUSE_THRESHOLD)
        pool_job_pause(c->php.job, true);
}

static void on_body(void *owner, const uint8_t *data, size_t len, bool flush)
{
    struct conn *c = conn_of_owner(owner);
    if (c->php.streaming) {
        if (body_is_sent(c))
            append_chunk(c, data, len);
    } else {
        buf_append(&c->php.pending, data, len);
        if (flush || c->php.pending.len > STREAM_THRESHOLD)
            start_streaming(c);
    }
    if (c->php.streaming) {
        apply_back_pressure(c);
        conn_run(c);
    }
}

static void on_complete(void *owner)
{
    struct conn *c = conn_of_owner(owner);
    c->php.job = NULL;
    if (c->php.streaming) {
        if (c->php.chunked)
            buf_append_str(&c->out, "0\r\n\r\n");
    } else if (body_is_sent(c)) {
        send_head(c, (long long)c->php.pending.len);
        buf_append(&c->out, c->php.pending.data, c->php.pending.len);
    } else {
        send_head(c, is_head_request(c) || !status_has_body(c->php.status) ? -1 : 0);
    }
    buf_free(&c->php.pending);
    c->response_complete = true;
    conn_run(c);
}

static void on_fail(void *owner, int status)
{
    struct conn *c = conn_of_owner(owner);
    c->php.job = NULL;
    if (c->php.streaming) {
        conn_close(c); /* half a response: only closing tells the client it is incomplete */
        return;
    }
    buf_free(&c->php.head);
    buf_free(&c->php.pending);
    conn_reply_status(c, status, NULL, false);
    conn_run(c);
}

static const struct pool_job_ops http1_job_ops = {
    .on_headers = on_headers,
    .on_body = on_body,
    .on_complete = on_complete,
    .on_fail = on_fail,
};

/* ---- entry points ----------------------------------------------------------------------------- */

void dispatch_php(struct conn *c, const struct route *route)
{
    if (c->body.failed) {
        conn_reply_status(c, 500, NULL, true);
        return;
    }
    c->php = (struct php_reply){0};
    struct pool_job *job = pool_job_create(c->srv->pool, &http1_job_ops, c);
    if (encode_request(c, route, job) < 0) {
        pool_job_cancel(job);
        conn_reply_status(c, 431, NULL, true);
        return;
    }
    add_body(job, &c->body);
    body_reset(&c->body);
    c->php.job = job; /* before submitting: a worker failing at once already reports to us */
    if (pool_submit(job) < 0) {
        c->php.job = NULL;
        conn_reply_status(c, 503, "Retry-After: 1\r\n", false);
    }
}

void dispatch_cancel(struct conn *c)
{
    if (c->php.job)
        pool_job_cancel(c->php.job);
    c->php.job = NULL;
    buf_free(&c->php.head);
    buf_free(&c->php.pending);
}

void dispatch_output_drained(struct conn *c)
{
    if (c->php.job)
        pool_job_pause(c->php.job, false);
}
