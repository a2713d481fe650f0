/*
 * One request and its response, whatever the protocol: an HTTP/1.x connection has one at a
 * time, an HTTP/2 connection one per stream. Routing, static files, the PHP dispatch and the
 * middleware work on exchanges only; the protocol behind them implements `exchange_ops`.
 *
 * The request fields are filled by the protocol before serve_request() and stay valid until
 * the exchange ends. The response is built in `status` and `head` (header lines
 * "Name: value\r\n", without Date, Server, framing or connection headers, which the protocol
 * adds), then sent through the ops: send_head once, then data or a file, then finish.
 *
 * The ops never call back into the code that called them: output is queued and written after
 * the current event, so a handler may keep using its exchange until it returns.
 */
#ifndef KILN_HTTP_EXCHANGE_H
#define KILN_HTTP_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "buf.h"
#include "http/body.h"
#include "http/dispatch.h"
#include "http/field.h"

struct server;
struct exchange;

struct exchange_ops {
    /* Sends the status and `head`. `length` >= 0 is the body length (Content-Length); -1 means
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

    /* The response */
    int status;
    struct buf head;
    bool close;                 /* HTTP/1: close the connection after this response */
    struct php_reply php;       /* the PHP request behind this response, if any */
};

/* Resets an exchange for a new request (keeps buffers' memory). */
void exchange_reset(struct exchange *x);
/* Releases everything (cancels a PHP request in progress). */
void exchange_free(struct exchange *x);

/* The value of request header `name` (case-insensitive), or NULL; *len is set. */
const char *exchange_header(const struct exchange *x, const char *name, size_t *len);

bool exchange_is_head(const struct exchange *x);

/* A complete response with a small in-memory body. `extra_headers`: NULL or "Name: v\r\n" lines. */
void exchange_reply(struct exchange *x, int status, const char *extra_headers,
                    const char *content_type, const char *body, size_t len);

/* exchange_reply() with the body "<status> <reason>\n" as text/plain: Kiln's own answers. */
void exchange_reply_status(struct exchange *x, int status, const char *extra_headers);

#endif
