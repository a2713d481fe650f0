#include "http/h1.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base.h"
#include "http/conn.h"
#include "http/field.h"
#include "http/response.h"
#include "http/serve.h"
#include "http/server.h"
#include "obs/log.h"

/* ---- responses: the exchange operations ------------------------------------------------------ */

static struct conn *conn_of(const struct exchange *x)
{
    return container_of(x, struct conn, x);
}

static bool h1_keeps_alive(struct conn *c)
{
    if (c->x.close || c->srv->draining || c->http.state != HTTP1_MESSAGE_DONE ||
        !http1_keep_alive(&c->http))
        c->close_after = true;
    return !c->close_after;
}

static bool h1_has_body(const struct conn *c)
{
    return response_status_has_body(c->x.status) && !exchange_is_head(&c->x);
}

static void h1_send_head(struct exchange *x, long long length)
{
    struct conn *c = conn_of(x);
    response_begin(&c->out, x->status, loop_wall_time(c->srv->loop), &x->response_headers);
    response_add_headers(&c->out, &x->response_headers);
    if (response_status_has_body(x->status) && length >= 0) {
        response_header_uint(&c->out, "Content-Length", (unsigned long long)length);
    } else if (h1_has_body(c)) {
        if (c->version_minor >= 1) {
            buf_append_str(&c->out, "Transfer-Encoding: chunked\r\n");
            c->chunked = true;
        } else {
            c->close_after = true; /* HTTP/1.0: the end of the body is the end of the connection */
        }
    }
    bool keep = h1_keeps_alive(c);
    response_end_head(&c->out, !keep, keep && c->version_minor == 0);
    conn_schedule(c);
}

static void h1_send_data(struct exchange *x, const void *data, size_t len)
{
    struct conn *c = conn_of(x);
    if (!h1_has_body(c) || len == 0)
        return;
    if (c->chunked)
        buf_printf(&c->out, "%zx\r\n", len);
    buf_append(&c->out, data, len);
    if (c->chunked)
        buf_append(&c->out, "\r\n", 2);
    conn_schedule(c);
}

static void h1_send_file(struct exchange *x, int fd, off_t off, off_t len)
{
    struct conn *c = conn_of(x);
    c->file_fd = fd;
    c->file_off = off;
    c->file_left = len;
    conn_schedule(c);
}

static void h1_finish(struct exchange *x)
{
    struct conn *c = conn_of(x);
    if (c->chunked)
        buf_append_str(&c->out, "0\r\n\r\n");
    c->response_complete = true;
    conn_schedule(c);
}

static void h1_abort(struct exchange *x)
{
    conn_close(conn_of(x));
}

static size_t h1_queued(const struct exchange *x)
{
    const struct conn *c = conn_of(x);
    return c->out.len - c->out_pos + (size_t)c->file_left;
}

static const struct exchange_ops h1_ops = {
    .send_head = h1_send_head,
    .send_data = h1_send_data,
    .send_file = h1_send_file,
    .finish = h1_finish,
    .abort = h1_abort,
    .queued = h1_queued,
};

void h1_fail(struct conn *c, int status)
{
    c->state = CONN_RESPONDING;
    conn_disarm(c);
    exchange_reset(&c->x);
    c->x.method = HTTP_GET; /* whatever the request was, the error has a body */
    c->x.close = true;
    exchange_reply_status(&c->x, status);
}

/* Keeps the buffer bounded while a body streams through: decoded body bytes are dropped. */
static void h1_drop_parsed_body(struct conn *c)
{
    size_t rest = c->in.len - c->parsed;
    memmove(c->in.data + c->head_end, c->in.data + c->parsed, rest);
    c->in.len = c->head_end + rest;
    c->parsed = c->head_end;
}

/* Expect: 100-continue gets its interim response; any other expectation is refused (417). */
static int h1_expect(struct conn *c)
{
    const struct http1_header *h = http1_find_header(&c->http, c->in.data, "Expect");
    if (!h)
        return 0;
    if (h->value.len != 12 || strncasecmp(c->in.data + h->value.off, "100-continue", 12) != 0)
        return 417;
    if (http1_version_minor(&c->http) >= 1) {
        buf_append_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
        c->read_pending = true;
    }
    return 0;
}

/*
 * HTTP/1.1 requests carry exactly one Host header, HTTP/1.0 ones at most one (RFC 9112 section
 * 3.2), and its value is a valid authority: everything after this (SERVER_NAME, redirects) may
 * rely on that.
 */
static bool h1_host_valid(const struct conn *c)
{
    unsigned count = 0;
    for (uint32_t i = 0; i < c->http.header_count; i++) {
        const struct http1_header *h = &c->http.headers[i];
        if (h->name.len != 4 || strncasecmp(c->in.data + h->name.off, "Host", 4) != 0)
            continue;
        if (!http_field_host_valid(c->in.data + h->value.off, h->value.len))
            return false;
        count++;
    }
    return count == 1 || (count == 0 && c->version_minor == 0);
}

/* Points the exchange at the parsed request; `in` does not move until the response is done. */
static void h1_fill_exchange(struct conn *c)
{
    struct exchange *x = &c->x;
    if (c->http.header_count > c->fields_cap) {
        free(c->fields);
        c->fields_cap = c->http.header_count;
        c->fields = malloc(c->fields_cap * sizeof(*c->fields));
        if (!c->fields)
            abort();
    }
    for (uint32_t i = 0; i < c->http.header_count; i++) {
        const struct http1_header *h = &c->http.headers[i];
        c->fields[i] = (struct http_field){c->in.data + h->name.off, h->name.len,
                                           c->in.data + h->value.off, h->value.len};
    }
    x->method = http1_method(&c->http);
    x->method_name = http1_method_name(&c->http);
    x->target = c->in.data + c->http.target.off;
    x->target_len = c->http.target.len;
    x->protocol = c->version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
    x->headers = c->fields;
    x->header_count = c->http.header_count;
    x->has_body = http1_has_body(&c->http);
}

static void h1_start_exchange(struct conn *c)
{
    c->version_minor = http1_version_minor(&c->http);
    c->first_request = false;
    h1_fill_exchange(c);
    if (!h1_host_valid(c)) {
        c->x.close = true;
        exchange_reply_status(&c->x, 400);
        return;
    }
    serve_listener_request(&c->x, c->redirect);
}

/* Parses what is buffered. Returns true when a request is complete or refused (RESPONDING). */
static bool h1_parse(struct conn *c)
{
    for (;;) {
        c->parsed = http1_feed(&c->http, c->in.data, c->parsed, c->in.len);
        switch (c->http.state) {
        case HTTP1_HEAD:
            if (c->in.len > c->http.head_start && c->timer_kind == CONN_TIMER_IDLE)
                conn_arm(c, CONN_TIMER_HEADER);
            return false;
        case HTTP1_HEAD_DONE: {
            c->head_end = (uint32_t)c->parsed;
            int refuse = h1_expect(c);
            if (refuse) {
                h1_fail(c, refuse);
                return true;
            }
            http1_resume(&c->http);
            conn_arm(c, CONN_TIMER_BODY);
            body_pace_start(&c->x.body, loop_now_ms(c->srv->loop));
            continue;
        }
        case HTTP1_BODY:
            h1_drop_parsed_body(c);
            if (!conn_body_pace_ok(c, &c->x.body)) {
                h1_fail(c, 408);
                return true;
            }
            return false;
        case HTTP1_MESSAGE_DONE:
            conn_disarm(c);
            c->state = CONN_RESPONDING;
            h1_start_exchange(c);
            return true;
        case HTTP1_ERROR:
            log_debug("bad request: %s", c->http.error_reason ? c->http.error_reason : "?");
            h1_fail(c, c->http.error_status);
            return true;
        }
    }
}

/* Idle between requests: only the struct stays (10,000 idle keep-alive connections are many). */
static void h1_release_buffers(struct conn *c)
{
    buf_free(&c->in);
    buf_free(&c->out);
    c->out_pos = 0;
    headers_free(&c->x.response_headers);
    http1_free(&c->http);
    free(c->fields);
    c->fields = NULL;
    c->fields_cap = 0;
}

/* The response is written: close, or get ready for the next request (maybe already buffered). */
static void h1_finish_response(struct conn *c)
{
    c->response_complete = false;
    c->chunked = false;
    exchange_reset(&c->x);
    c->version_minor = 1;
    if (c->close_after) {
        conn_linger(c);
        return;
    }
    size_t rest = c->in.len - c->parsed;
    memmove(c->in.data, c->in.data + c->parsed, rest);
    c->in.len = rest;
    c->parsed = 0;
    http1_next(&c->http, 0);
    c->state = CONN_READING;
    if (rest == 0) {
        h1_release_buffers(c);
        conn_arm(c, CONN_TIMER_IDLE);
    } else {
        conn_arm(c, CONN_TIMER_HEADER);
    }
}


/* ---- the connection's side -------------------------------------------------------------------- */

static void h1_on_body(void *ctx, const char *data, size_t len)
{
    struct conn *c = ctx;
    body_append(&c->x.body, data, len);
}

void h1_init(struct conn *c)
{
    c->first_request = true;
    c->version_minor = 1;
    c->x.ops = &h1_ops;
    c->x.srv = c->srv;
    c->x.peer = (const struct sockaddr *)&c->peer;
    c->x.local = (const struct sockaddr *)&c->local;
    body_init(&c->x.body);
    c->x.worker_id = -1;
    http1_init(&c->http, &c->srv->limits, h1_on_body, c);
}

bool h1_step(struct conn *c)
{
    if (c->state == CONN_RESPONDING) {
        if (!conn_flush(c) || !c->response_complete)
            return false;
        h1_finish_response(c);
        return true;
    }
    if (h1_parse(c))
        return true;
    if (c->out_pos < c->out.len && !conn_flush(c))
        return false; /* an interim "100 Continue" still on its way */
    return c->read_pending && conn_fill(c);
}

void h1_close(struct conn *c)
{
    exchange_source_stop(&c->x);
}

void h1_free(struct conn *c)
{
    http1_free(&c->http);
    exchange_free(&c->x);
    free(c->fields);
}
