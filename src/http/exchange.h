/*
 * One request and its response, whatever the protocol: an HTTP/1.x connection has one at a
 * time, an HTTP/2 connection one per stream. Routing, static files, the PHP dispatch and the
 * middleware work on exchanges only; the protocol behind them implements `exchange_ops`.
 *
 * The request fields are filled by the protocol before serve_request() and stay valid until
 * the exchange ends. The response is built in `status` and `response_headers` (a header list,
 * http/headers.h, without Date, Server, framing or connection headers, which the protocol adds),
 * then sent with exchange_send_head() once, exchange_send_data()/exchange_send_file(),
 * and exchange_finish(). These run the middleware chain's response phase, the body override
 * (error pages) and the encoder (compression) before the protocol's ops.
 *
 * The ops never call back into the code that called them: output is queued and written after
 * the current event, so a handler may keep using its exchange until it returns.
 *
 * The path of a response: source -> exchange -> filter -> protocol.
 *
 * A *source* is whatever produces a response over time and may outlive the call that started
 * it: the PHP dispatch today, the internal server's pages and SSE next. Answers produced at once
 * (static files, Kiln's own short answers) need none. A source embeds `struct exchange_source`,
 * attaches it with exchange_source_attach(), and produces with exchange_send_*(); it is detached
 * when it calls exchange_finish() or exchange_abort(). The protocols and the owner of the
 * exchange see it only through exchange_has_source(), exchange_source_stop() (the client is gone
 * or the exchange is freed) and exchange_source_drained() (what was queued has been written).
 * A source that paused for back-pressure sets `paused`; its `resume` then runs after the event
 * batch in which the output drained (a loop_defer item), never from inside the protocol's write
 * path or nghttp2's data callback. `release` is called after the batch in which the source was
 * detached (finished, aborted or stopped), so a source may still look at its own state after
 * a send: `x` is NULL once the exchange let go.
 *
 * A *filter* rewrites the body on its way to the protocol (compression): the response phase of
 * the middleware installs one with exchange_set_filter(); it sees every body byte, flushes with
 * PHP's flush() and is finished (or destroyed) with the response.
 */
#ifndef KILN_HTTP_EXCHANGE_H
#define KILN_HTTP_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "buf.h"
#include "http/body.h"
#include "http/field.h"
#include "obs/trace.h"
#include "http/headers.h"
#include "net/loop.h"

struct server;
struct exchange;
struct exchange_source;

struct exchange_source_ops {
    /* The exchange ends before the source finished (client gone, stream reset, exchange freed):
       stop producing at once. The source is already detached: it must not use its exchange. */
    void (*stop)(struct exchange_source *s);
    /* The output queued for the client has drained after the source paused: produce again.
       Runs after the event batch; the source may send on its exchange from here. */
    void (*resume)(struct exchange_source *s);
    /* After the batch in which the source was detached: free or recycle it. */
    void (*release)(struct exchange_source *s);
};

/* Embedded in a source's own state. */
struct exchange_source {
    const struct exchange_source_ops *ops;
    struct exchange *x;        /* the exchange it answers; NULL once detached */
    struct loop_defer resume;  /* a resume (or a release) waiting for the end of the batch */
    bool paused;               /* set by the source: resume it when the output has drained */
};

/* Rewrites the response body on its way to the protocol (compression). Output is appended to
   `out`; -1 means the filter failed and the response must be aborted. */
struct exchange_filter_ops {
    /* `flush`: everything written so far must come out in a form the client can use now. */
    int (*write)(void *filter, const void *data, size_t len, bool flush, struct buf *out);
    /* The body is complete: the rest of the output. */
    int (*finish)(void *filter, struct buf *out);
    void (*destroy)(void *filter);
};

struct exchange_ops {
    /* Sends the status and `response_headers`. `length` >= 0 is the body length (Content-Length); -1 means
       the body follows in pieces of unknown total. Bodies of HEAD, 1xx, 204, 304 are dropped. */
    void (*send_head)(struct exchange *x, long long length);
    void (*send_data)(struct exchange *x, const void *data, size_t len);
    /* The next `len` bytes of the body come from `fd` at `off`; the protocol closes `fd`. */
    void (*send_file)(struct exchange *x, int fd, off_t off, off_t len);
    /* The response is complete. */
    void (*finish)(struct exchange *x);
    /* The response cannot be completed (after send_head): the client must see it broken. */
    void (*abort)(struct exchange *x);
    /* Bytes queued and not yet written: back-pressure for streamed responses. */
    size_t (*queued)(const struct exchange *x);
};

struct exchange {
    const struct exchange_ops *ops;
    struct server *srv;

    /* The request */
    int method;                 /* llhttp_method_t (HTTP_GET, HTTP_HEAD, ...) */
    const char *method_name;
    const char *target;         /* as received, with the query */
    size_t target_len;
    const char *protocol;       /* "HTTP/1.0", "HTTP/1.1" or "HTTP/2.0" */
    const struct http_field *headers;
    size_t header_count;
    bool has_body;              /* the request had body framing */
    struct body body;
    const struct sockaddr *peer;
    const struct sockaddr *local;
    bool tls;
    const char *tls_version;    /* "TLSv1.3", "TLSv1.2" (net/tls.h); NULL on a plain connection */
    struct trace_request trace; /* made by exchange_trace() when first needed */

    /* The response */
    int status;
    struct headers response_headers;
    bool close;                 /* HTTP/1: close the connection after this response */
    struct exchange_source *src; /* what produces the response over time, or NULL */

    /* Middleware state */
    uint64_t start_ms;          /* the request was complete (loop clock) */
    bool is_static;             /* the answer is a static file: */
    const char *static_path;    /*   its path under the root (valid while the head is sent) */
    struct stat static_stat;    /*   and what fstat() said of it */
    bool own_body;              /* the body is Kiln's own short answer (error pages may replace it) */
    int worker_id;              /* the PHP worker that answered, -1 = none */
    /* A PHP request's times from the pool (pool_job_timing(), loop clock, milliseconds), set by
       the dispatch when the head goes out and again when the job ends. */
    bool php_queued;            /* the request went to the pool: queue_wait_ms is set */
    bool php_begun;             /* a worker took it: php_ms is set */
    uint64_t queue_wait_ms;     /* submitted until a worker took it (or until now, still queued) */
    uint64_t php_ms;            /* taken until the response was complete, or until now */
    bool head_sent;
    bool done;                  /* chain_done() ran */
    uint64_t bytes_sent;        /* body bytes handed to the protocol, after encoding */
    const char *override_body;  /* set by the response phase: sent instead of the real body */
    size_t override_len;
    const struct exchange_filter_ops *filter_ops; /* set by the response phase (compression) */
    void *filter;
};

/* Resets an exchange for a new request (keeps buffers' memory). */
void exchange_reset(struct exchange *x);
/* Releases everything (stops a source still producing). */
void exchange_free(struct exchange *x);

/* ---- sources: see the top of this file ------------------------------------------------------ */

/* `s` produces this exchange's response from now on (until exchange_finish/abort). */
void exchange_source_attach(struct exchange *x, struct exchange_source *s,
                            const struct exchange_source_ops *ops);
/* A source is producing this response (a PHP request in progress). */
bool exchange_has_source(const struct exchange *x);
/* The client is gone or the exchange ends: the source stops now (PHP: connection_aborted()). */
void exchange_source_stop(struct exchange *x);
/* The protocol wrote what was queued: a paused source resumes after the event batch. */
void exchange_source_drained(struct exchange *x);

/* Installs the body filter (one per response); the exchange finishes and destroys it. */
void exchange_set_filter(struct exchange *x, const struct exchange_filter_ops *ops, void *filter);

/* The value of request header `name` (case-insensitive), or NULL; *len is set. */
const char *exchange_header(const struct exchange *x, const char *name, size_t *len);

bool exchange_is_head(const struct exchange *x);

/* The request's trace context and request id (traceparent, X-Request-ID), made on first use. */
const struct trace_request *exchange_trace(struct exchange *x);

/* The response phase of the middleware chain, then the status and head. */
void exchange_send_head(struct exchange *x, long long length);
/* Body bytes; `flush` asks that they reach the client now (PHP's flush()). */
void exchange_send_data(struct exchange *x, const void *data, size_t len, bool flush);
/* The next `len` bytes of the body from `fd` at `off`; the exchange closes `fd`. */
void exchange_send_file(struct exchange *x, int fd, off_t off, off_t len);
void exchange_finish(struct exchange *x);
void exchange_abort(struct exchange *x);

/* A complete response with a small in-memory body. Headers it needs besides Content-Type
   (Location, Retry-After, ...) are added to `response_headers` first. */
void exchange_reply(struct exchange *x, int status, const char *content_type, const char *body,
                    size_t len);

/* exchange_reply() with the body "<status> <reason>\n" as text/plain: Kiln's own answers. */
void exchange_reply_status(struct exchange *x, int status);

#endif
