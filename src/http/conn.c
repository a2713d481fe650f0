#include "http/conn.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/response.h"
#include "http/serve.h"
#include "obs/log.h"
#include "server.h"

#define CONN_READ_CHUNK 16384
#define CONN_LINGER_MS 2000
/* Buffers above this size are released when the connection goes idle. */
#define CONN_IDLE_KEEP_BYTES 8192

static struct conn *conn_of_io(struct loop_io *io)
{
    return (struct conn *)((char *)io - offsetof(struct conn, io));
}

static struct conn *conn_of_timer(struct loop_timer *t)
{
    return (struct conn *)((char *)t - offsetof(struct conn, timer));
}

static uint64_t secs_to_ms(unsigned secs)
{
    return (uint64_t)secs * 1000;
}

static void conn_arm(struct conn *c, enum conn_timer_kind kind, uint64_t ms)
{
    c->timer_kind = kind;
    loop_timer_arm(c->srv->loop, &c->timer, ms);
}

static void conn_disarm(struct conn *c)
{
    c->timer_kind = CONN_TIMER_NONE;
    loop_timer_cancel(c->srv->loop, &c->timer);
}

/* ---- closing ---------------------------------------------------------------------------------- */

void conn_close(struct conn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    dispatch_cancel(c);
    loop_timer_cancel(c->srv->loop, &c->timer);
    loop_remove(c->srv->loop, &c->io);
    close(c->io.fd);
    if (c->file_fd >= 0) {
        close(c->file_fd);
        c->file_fd = -1;
    }
    server_conn_closed(c->srv, c);
}

void conn_free(struct conn *c)
{
    http1_free(&c->http);
    body_reset(&c->body);
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
}

static void conn_start_linger(struct conn *c)
{
    shutdown(c->io.fd, SHUT_WR);
    c->state = CONN_LINGER;
    c->read_pending = true;
    conn_arm(c, CONN_TIMER_LINGER, CONN_LINGER_MS);
}

/* Reads and drops input until EOF; the connection closes then, or when the linger timer fires. */
static void conn_drain_linger(struct conn *c)
{
    char scratch[4096];
    for (;;) {
        ssize_t n = read(c->io.fd, scratch, sizeof(scratch));
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->read_pending = false;
            return;
        }
        conn_close(c);
        return;
    }
}

/* ---- request accessors used by serve.c -------------------------------------------------------- */

const char *conn_header(const struct conn *c, const char *name, size_t *len)
{
    const struct http1_header *h = http1_find_header(&c->http, c->in.data, name);
    if (!h) {
        *len = 0;
        return NULL;
    }
    *len = h->value.len;
    return c->in.data + h->value.off;
}

bool conn_decide_keep_alive(struct conn *c)
{
    if (c->http.state != HTTP1_MESSAGE_DONE || !http1_keep_alive(&c->http) || c->srv->draining)
        c->close_after = true;
    return !c->close_after;
}

bool conn_is_idle(const struct conn *c)
{
    return c->state == CONN_READING && c->timer_kind == CONN_TIMER_IDLE;
}

/* ---- responses -------------------------------------------------------------------------------- */

static bool conn_is_head_request(const struct conn *c)
{
    return c->http.state != HTTP1_ERROR && http1_method(&c->http) == HTTP_HEAD;
}

void conn_reply(struct conn *c, int status, const char *extra_headers, const char *content_type,
                const char *body, size_t body_len, bool close)
{
    if (close)
        c->close_after = true;
    bool keep = conn_decide_keep_alive(c);
    bool is_10 = c->http.state != HTTP1_ERROR && http1_version_minor(&c->http) == 0;
    response_begin(&c->out, status, loop_wall_time(c->srv->loop));
    if (extra_headers)
        buf_append_str(&c->out, extra_headers);
    if (content_type)
        response_header(&c->out, "Content-Type", content_type);
    response_header_uint(&c->out, "Content-Length", body_len);
    response_end_head(&c->out, !keep, keep && is_10);
    if (!conn_is_head_request(c))
        buf_append(&c->out, body, body_len);
    c->response_complete = true;
}

void conn_reply_status(struct conn *c, int status, const char *extra_headers, bool close)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, response_reason(status));
    conn_reply(c, status, extra_headers, "text/plain; charset=utf-8", body, (size_t)n, close);
}

/* Answers a request that cannot be parsed or is refused before it was read; always closes. */
static void conn_fail(struct conn *c, int status)
{
    c->state = CONN_RESPONDING;
    conn_disarm(c);
    conn_reply_status(c, status, NULL, true);
}

void conn_send_continue(struct conn *c)
{
    buf_append_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
    c->read_pending = true;
}

/* Writes pending output. Returns true when everything queued so far has been written. */
static bool conn_flush(struct conn *c)
{
    while (c->out_pos < c->out.len) {
        int flags = MSG_NOSIGNAL | (c->file_left > 0 ? MSG_MORE : 0);
        ssize_t n = send(c->io.fd, c->out.data + c->out_pos, c->out.len - c->out_pos, flags);
        if (n > 0) {
            c->out_pos += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            conn_arm(c, CONN_TIMER_WRITE, secs_to_ms(c->srv->cfg->idle_timeout_secs));
            return false;
        }
        conn_close(c);
        return false;
    }
    buf_clear(&c->out);
    c->out_pos = 0;
    while (c->file_left > 0) {
        size_t want = c->file_left > (1 << 30) ? (size_t)1 << 30 : (size_t)c->file_left;
        ssize_t n = sendfile(c->io.fd, c->file_fd, &c->file_off, want);
        if (n > 0) {
            c->file_left -= n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            conn_arm(c, CONN_TIMER_WRITE, secs_to_ms(c->srv->cfg->idle_timeout_secs));
            return false;
        }
        /* n == 0: the file shrank under us; the promised length cannot be delivered. */
        conn_close(c);
        return false;
    }
    if (c->file_fd >= 0) {
        close(c->file_fd);
        c->file_fd = -1;
    }
    dispatch_output_drained(c);
    return true;
}

/* ---- reading and parsing ---------------------------------------------------------------------- */

/* Reads one chunk. Returns true if the state may have changed (data or EOF), false on EAGAIN. */
static bool conn_fill(struct conn *c)
{
    for (;;) {
        ssize_t n = read(c->io.fd, buf_reserve(&c->in, CONN_READ_CHUNK), CONN_READ_CHUNK);
        if (n > 0) {
            c->in.len += (size_t)n;
            if (c->timer_kind == CONN_TIMER_BODY)
                conn_arm(c, CONN_TIMER_BODY, secs_to_ms(c->srv->cfg->idle_timeout_secs));
            return true;
        }
        if (n < 0 && errno == EINTR)
            continue;
        c->read_pending = false;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return false;
        /* EOF or error: an unfinished request cannot be answered; an idle connection just ends. */
        c->peer_eof = true;
        conn_close(c);
        return false;
    }
}

/* Keeps the buffer bounded while a body streams through: decoded body bytes are dropped. */
static void conn_drop_parsed_body(struct conn *c)
{
    size_t rest = c->in.len - c->parsed;
    memmove(c->in.data + c->head_end, c->in.data + c->parsed, rest);
    c->in.len = c->head_end + rest;
    c->parsed = c->head_end;
}

/* Parses what is buffered. Returns true when a request is complete or refused (RESPONDING). */
static bool conn_parse(struct conn *c)
{
    for (;;) {
        c->parsed = http1_feed(&c->http, c->in.data, c->parsed, c->in.len);
        switch (c->http.state) {
        case HTTP1_HEAD:
            if (c->in.len > c->http.head_start && c->timer_kind == CONN_TIMER_IDLE)
                conn_arm(c, CONN_TIMER_HEADER, secs_to_ms(c->srv->cfg->header_timeout_secs));
            return false;
        case HTTP1_HEAD_DONE: {
            c->head_end = (uint32_t)c->parsed;
            int refuse = serve_head(c);
            if (refuse) {
                conn_fail(c, refuse);
                return true;
            }
            http1_resume(&c->http);
            conn_arm(c, CONN_TIMER_BODY, secs_to_ms(c->srv->cfg->idle_timeout_secs));
            continue;
        }
        case HTTP1_BODY:
            conn_drop_parsed_body(c);
            return false;
        case HTTP1_MESSAGE_DONE:
            conn_disarm(c);
            c->state = CONN_RESPONDING;
            serve_request(c);
            return true;
        case HTTP1_ERROR:
            log_debug("bad request: %s", c->http.error_reason ? c->http.error_reason : "?");
            conn_fail(c, c->http.error_status);
            return true;
        }
    }
}

/* The response is written: close, or get ready for the next request (maybe already buffered). */
static void conn_finish_response(struct conn *c)
{
    c->response_complete = false;
    body_reset(&c->body);
    if (c->close_after) {
        conn_start_linger(c);
        return;
    }
    size_t rest = c->in.len - c->parsed;
    memmove(c->in.data, c->in.data + c->parsed, rest);
    c->in.len = rest;
    c->parsed = 0;
    http1_next(&c->http, 0);
    c->state = CONN_READING;
    if (rest == 0) {
        if (c->in.cap > CONN_IDLE_KEEP_BYTES)
            buf_free(&c->in);
        if (c->out.cap > CONN_IDLE_KEEP_BYTES)
            buf_free(&c->out);
        conn_arm(c, CONN_TIMER_IDLE, secs_to_ms(c->srv->cfg->idle_timeout_secs));
    } else {
        conn_arm(c, CONN_TIMER_HEADER, secs_to_ms(c->srv->cfg->header_timeout_secs));
    }
}

/* Drives the state machine as far as it goes without blocking. */
static void conn_step(struct conn *c)
{
    while (!c->closed) {
        switch (c->state) {
        case CONN_READING:
            if (conn_parse(c))
                break;
            if (c->out_pos < c->out.len && !conn_flush(c))
                return; /* an interim "100 Continue" still on its way */
            if (!c->read_pending || !conn_fill(c))
                return;
            break;
        case CONN_RESPONDING:
            if (!conn_flush(c) || !c->response_complete)
                return;
            conn_finish_response(c);
            break;
        case CONN_LINGER:
            if (c->read_pending)
                conn_drain_linger(c);
            return;
        }
    }
}

void conn_run(struct conn *c)
{
    /* A worker can answer from inside serve_request() (when it fails at once): the conn_run
       already on the stack carries on from the new state. */
    if (c->running)
        return;
    c->running = true;
    conn_step(c);
    c->running = false;
}

/* ---- events ----------------------------------------------------------------------------------- */

static void conn_on_io(struct loop *loop, struct loop_io *io, uint32_t events)
{
    (void)loop;
    struct conn *c = conn_of_io(io);
    if (c->closed)
        return;
    /* A client that goes away while PHP works on its request: stop, and let the script see
       connection_aborted() (nginx + PHP-FPM behave the same way). */
    if (c->php.job && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        conn_close(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->read_pending = true;
    conn_run(c);
}

static void conn_on_body(void *ctx, const char *data, size_t len)
{
    struct conn *c = ctx;
    body_append(&c->body, data, len);
}

static void conn_on_timer(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct conn *c = conn_of_timer(t);
    enum conn_timer_kind kind = c->timer_kind;
    c->timer_kind = CONN_TIMER_NONE;
    switch (kind) {
    case CONN_TIMER_HEADER:
    case CONN_TIMER_BODY:
        conn_fail(c, 408);
        conn_run(c);
        return;
    case CONN_TIMER_NONE:
    case CONN_TIMER_IDLE:
    case CONN_TIMER_WRITE:
    case CONN_TIMER_LINGER:
        conn_close(c);
        return;
    }
}

void conn_accept(struct server *srv, int fd, const struct sockaddr *peer, socklen_t peer_len)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    c->srv = srv;
    c->io.fd = fd;
    c->io.fn = conn_on_io;
    c->timer.fn = conn_on_timer;
    c->file_fd = -1;
    c->peer_len = peer_len <= sizeof(c->peer) ? peer_len : sizeof(c->peer);
    memcpy(&c->peer, peer, c->peer_len);
    socklen_t local_len = sizeof(c->local);
    getsockname(fd, (struct sockaddr *)&c->local, &local_len);
    body_init(&c->body);
    http1_init(&c->http, &srv->limits, conn_on_body, c);
    if (loop_add(srv->loop, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
        close(fd);
        conn_free(c);
        return;
    }
    server_conn_opened(srv, c);
    conn_arm(c, CONN_TIMER_IDLE, secs_to_ms(srv->cfg->idle_timeout_secs));
    c->read_pending = true; /* data may have arrived with the handshake */
    conn_run(c);
}
