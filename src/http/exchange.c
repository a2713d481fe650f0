#include "http/exchange.h"

#include <llhttp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base.h"
#include "http/response.h"
#include "http/server.h"
#include "obs/stats.h"

static void exchange_end_middleware(struct exchange *x);

void exchange_reset(struct exchange *x)
{
    x->method = 0;
    x->method_name = NULL;
    x->target = NULL;
    x->target_len = 0;
    x->headers = NULL;
    x->header_count = 0;
    x->has_body = false;
    body_reset(&x->body);
    x->trace.ready = false;
    x->status = 0;
    headers_clear(&x->response_headers);
    x->close = false;
    exchange_end_middleware(x);
    x->start_ms = 0;
    x->is_static = false;
    x->static_path = NULL;
    x->own_body = false;
    x->worker_id = -1;
    x->php_queued = x->php_begun = false;
    x->head_sent = false;
    x->done = false;
    x->bytes_sent = 0;
    x->override_body = NULL;
    x->override_len = 0;
}

void exchange_free(struct exchange *x)
{
    exchange_source_stop(x);
    exchange_end_middleware(x);
    body_reset(&x->body);
    headers_free(&x->response_headers);
}

const char *exchange_header(const struct exchange *x, const char *name, size_t *len)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < x->header_count; i++) {
        const struct http_field *h = &x->headers[i];
        if (h->name_len == n && strncasecmp(h->name, name, n) == 0) {
            *len = h->value_len;
            return h->value;
        }
    }
    *len = 0;
    return NULL;
}

const struct trace_request *exchange_trace(struct exchange *x)
{
    if (!x->trace.ready) {
        size_t tp_len, id_len;
        const char *tp = exchange_header(x, "traceparent", &tp_len);
        const char *id = exchange_header(x, "X-Request-ID", &id_len);
        trace_request_start(&x->trace, tp, tp_len, id, id_len);
    }
    return &x->trace;
}

bool exchange_is_head(const struct exchange *x)
{
    return x->method == HTTP_HEAD;
}

void exchange_reply(struct exchange *x, int status, const char *content_type, const char *body,
                    size_t len)
{
    x->status = status;
    if (content_type)
        headers_add_str(&x->response_headers, "Content-Type", content_type);
    exchange_send_head(x, (long long)len);
    exchange_send_data(x, body, len, false);
    exchange_finish(x);
}

void exchange_reply_status(struct exchange *x, int status)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, response_reason(status));
    x->own_body = true;
    exchange_reply(x, status, "text/plain; charset=utf-8", body, (size_t)n);
}

/* ---- sources ------------------------------------------------------------------------------- */

/* After the batch: a queued resume runs, or the source detached meanwhile and is released. */
static void source_on_deferred(struct loop *loop, struct loop_defer *d)
{
    (void)loop;
    struct exchange_source *s = container_of(d, struct exchange_source, resume);
    if (!s->x) {
        s->ops->release(s);
        return;
    }
    s->paused = false;
    s->ops->resume(s);
}

void exchange_source_attach(struct exchange *x, struct exchange_source *s,
                            const struct exchange_source_ops *ops)
{
    s->ops = ops;
    s->x = x;
    s->resume.fn = source_on_deferred;
    s->paused = false;
    x->src = s;
}

bool exchange_has_source(const struct exchange *x)
{
    return x->src != NULL;
}

/*
 * Lets go of the source. Its memory is released after the batch (source_on_deferred): the
 * source may be on the stack (an abort from inside its own send), and a resume may be queued.
 */
static void source_detach(struct exchange *x, bool stop)
{
    struct exchange_source *s = x->src;
    if (!s)
        return;
    x->src = NULL;
    s->x = NULL;
    if (stop)
        s->ops->stop(s);
    loop_defer(x->srv->loop, &s->resume);
}

void exchange_source_stop(struct exchange *x)
{
    source_detach(x, true);
}

void exchange_source_drained(struct exchange *x)
{
    if (x->src && x->src->paused)
        loop_defer(x->srv->loop, &x->src->resume);
}

/* ---- the send path: middleware, body override, filter, protocol --------------------------- */

void exchange_set_filter(struct exchange *x, const struct exchange_filter_ops *ops, void *filter)
{
    x->filter_ops = ops;
    x->filter = filter;
}

static void destroy_filter(struct exchange *x)
{
    if (x->filter) {
        x->filter_ops->destroy(x->filter);
        x->filter = NULL;
    }
}

/* kiln_responses_total and its kin: the main server's responses (the internal server, which
   has a handler of its own, is not counted). Body bytes are the ones the client gets: the
   protocol drops the body of a HEAD, 1xx, 204 or 304 response. */
static void count_response(const struct exchange *x)
{
    if (x->srv->handler)
        return;
    bool body = response_status_has_body(x->status) && !exchange_is_head(x);
    stats_count_response(x->status, stats_protocol_of(x->protocol),
                         loop_now_ms(x->srv->loop) - x->start_ms, body ? x->bytes_sent : 0);
}

/* The chain's end-of-exchange hooks run once, and the filter goes with them. */
static void exchange_end_middleware(struct exchange *x)
{
    if (x->head_sent && !x->done) {
        x->done = true;
        server_chain_done(x->srv, x);
        count_response(x);
    }
    destroy_filter(x);
}

static void deliver(struct exchange *x, const void *data, size_t len)
{
    if (len == 0)
        return;
    x->bytes_sent += len;
    x->ops->send_data(x, data, len);
}

/* Runs `data` through the filter (if any) and hands the result to the protocol; `finish` ends
   the filter's output (data is then empty). */
static void filter_and_deliver(struct exchange *x, const void *data, size_t len, bool flush,
                               bool finish)
{
    if (!x->filter) {
        deliver(x, data, len);
        return;
    }
    struct buf out = {0};
    int rc = finish ? x->filter_ops->finish(x->filter, &out)
                    : x->filter_ops->write(x->filter, data, len, flush, &out);
    if (rc < 0) {
        buf_free(&out);
        exchange_abort(x); /* cannot happen with sane input; the client must not get garbage */
        return;
    }
    deliver(x, out.data, out.len);
    buf_free(&out);
}

void exchange_send_head(struct exchange *x, long long length)
{
    if (!x->start_ms)
        x->start_ms = loop_now_ms(x->srv->loop);
    server_chain_response(x->srv, x, &length);
    x->head_sent = true;
    x->ops->send_head(x, length);
    if (x->override_body)
        deliver(x, x->override_body, x->override_len);
}

void exchange_send_data(struct exchange *x, const void *data, size_t len, bool flush)
{
    if (x->override_body || (len == 0 && !flush))
        return;
    filter_and_deliver(x, data, len, flush, false);
}

/* Filtered files are read and encoded piece by piece (sendfile cannot compress). */
#define FILE_PIECE (64u * 1024)

void exchange_send_file(struct exchange *x, int fd, off_t off, off_t len)
{
    if (x->override_body || len == 0) {
        close(fd);
        return;
    }
    if (!x->filter) {
        x->bytes_sent += (uint64_t)len;
        x->ops->send_file(x, fd, off, len);
        return;
    }
    char piece[FILE_PIECE];
    while (len > 0 && x->filter) {
        ssize_t n = pread(fd, piece, len < (off_t)sizeof(piece) ? (size_t)len : sizeof(piece), off);
        if (n <= 0) {
            exchange_abort(x); /* the file shrank under us */
            break;
        }
        filter_and_deliver(x, piece, (size_t)n, false, false);
        off += n;
        len -= n;
    }
    close(fd);
}

void exchange_finish(struct exchange *x)
{
    source_detach(x, false);
    if (x->filter)
        filter_and_deliver(x, NULL, 0, true, true);
    exchange_end_middleware(x);
    x->ops->finish(x);
}

void exchange_abort(struct exchange *x)
{
    source_detach(x, true); /* an aborted response needs nothing more from its source */
    destroy_filter(x);
    exchange_end_middleware(x);
    x->ops->abort(x);
}
