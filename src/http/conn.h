/*
 * One client connection, the transport: reading and writing the socket (plain or TLS, sendfile
 * for file bodies), timeouts, closing. The protocol on it is HTTP/1.x (http/h1.c) or HTTP/2
 * (http/h2.c): TLS ALPN or the h2c preface decides.
 *
 * The connection is a small state machine driven by conn_run(): HANDSHAKE (TLS), READING (parse
 * what arrived, read more), RESPONDING (HTTP/1: a response is being produced or written; nothing
 * more is parsed, so pipelined responses leave in request order), LINGER (response sent on a
 * connection that must close: our side is shut down and the rest of the input drained briefly,
 * so that the kernel does not reset the connection and destroy the response in flight).
 *
 * Timers, one per connection: IDLE (no byte of a request yet; IDLE_TIMEOUT_SECS, silent close;
 * while draining 1 s, then a lingering close),
 * HEADER (head incomplete; HEADER_TIMEOUT_SECS from its first byte, never extended: 408),
 * BODY (no body progress for IDLE_TIMEOUT_SECS: 408; on HTTP/2 each stream is timed on its own and
 * the timer fires for the one closest to its limit; a body slower than BODY_MIN_RATE is cut as
 * its bytes arrive, conn_body_pace_ok), WRITE (client not reading for
 * IDLE_TIMEOUT_SECS: close), LINGER (2 s).
 */
#ifndef KILN_HTTP_CONN_H
#define KILN_HTTP_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "buf.h"
#include "http/exchange.h"
#include "http/http1.h"
#include "net/loop.h"

struct server;

struct tls_conn;
struct h2_session;

enum conn_state {
    CONN_HANDSHAKE, /* TLS handshake in progress (bounded by HEADER_TIMEOUT_SECS) */
    CONN_READING,
    CONN_RESPONDING,
    CONN_LINGER,
};

enum conn_timer_kind {
    CONN_TIMER_NONE,
    CONN_TIMER_IDLE,
    CONN_TIMER_HEADER,
    CONN_TIMER_BODY,
    CONN_TIMER_WRITE,
    CONN_TIMER_LINGER,
};

struct conn {
    struct loop_io io;
    struct loop_timer timer;
    enum conn_timer_kind timer_kind;
    struct loop_defer defer;   /* after the event batch: run (conn_run), or free once closed */
    struct server *srv;
    LIST_ENTRY(conn) link;     /* server's list of open connections */

    enum conn_state state;
    struct tls_conn *tls;      /* NULL on plain connections */
    struct h2_session *h2;     /* the connection speaks HTTP/2; NULL for HTTP/1.x */
    bool redirect;             /* HTTP_REDIRECT_ADDR connection: everything gets a 301 */
    bool closed;
    bool running;       /* conn_run() is on the stack */
    bool read_pending;  /* the socket may hold unread bytes (edge-triggered epoll) */

    struct buf in;      /* bytes read; the current request's head starts at http.head_start */
    struct buf out;     /* response bytes not yet written, from out_pos */
    size_t out_pos;
    int file_fd;        /* body sent with sendfile after `out`, or -1 */
    off_t file_off;
    off_t file_left;

    /* HTTP/1.x (http/h1.c) */
    bool first_request; /* nothing answered yet (h2c preface detection) */
    bool close_after;   /* close once the current response is written */
    size_t parsed;      /* parse position in `in` */
    uint32_t head_end;  /* end of the current head in `in` (body bytes after it are dropped) */
    struct http1_parser http;
    struct http_field *fields; /* the current request's headers, for the exchange */
    uint32_t fields_cap;
    struct exchange x;  /* the current request */
    unsigned version_minor; /* of the current request: 0 for HTTP/1.0 */
    bool chunked;       /* the current response uses chunked transfer coding */
    bool response_complete; /* nothing more will be added to this response */

    struct sockaddr_storage peer;
    socklen_t peer_len;
    struct sockaddr_storage local; /* our end of the connection (SERVER_ADDR, SERVER_PORT) */
};

/* Takes ownership of the accepted, non-blocking socket `fd`. */
void conn_accept(struct server *srv, int fd, const struct sockaddr *peer, socklen_t peer_len,
                 bool redirect);

/* Drives the connection as far as it can go without blocking. */
void conn_run(struct conn *c);

/* Runs the connection (conn_run) after the current event batch: output queued from anywhere is
   written then, and nobody is called back while still on the stack. */
void conn_schedule(struct conn *c);

/* Closes now (idempotent); the memory is released after the current event batch. */
void conn_close(struct conn *c);

/*
 * The server drains (shutdown): HTTP/2 gets GOAWAY (open streams finish). An idle HTTP/1
 * keep-alive connection is still read for a short grace (a request may be on its way; it is
 * answered with Connection: close), then shut down with a lingering close. A busy HTTP/1
 * connection closes after its response (keep-alive sees the server draining).
 */
void conn_drain(struct conn *c);

/* --- for the protocols (http/h1.c, http/h2.c) on the connection's transport ------------- */

/* Reads one chunk into `in`. True if something arrived; false on EAGAIN or close. */
bool conn_fill(struct conn *c);
/* Writes `out` (and a file body). True when all of it is written. */
bool conn_flush(struct conn *c);
/* Arms the connection's timer: idle (no stream open) or off. */
void conn_set_idle(struct conn *c, bool idle);
/* Arms the connection's one timer for `kind`, with its configured duration (header: HEADER_
   TIMEOUT_SECS; idle, body, write: IDLE_TIMEOUT_SECS; linger: 2 s), or stops it. */
void conn_arm(struct conn *c, enum conn_timer_kind kind);
/* Arms the timer for `kind` to fire in `ms` (HTTP/2 times its streams' bodies itself). */
void conn_arm_in(struct conn *c, enum conn_timer_kind kind, uint64_t ms);
void conn_disarm(struct conn *c);
/* kiln_timeouts_total for a timer of `kind` that cut a request (not on the internal server). */
void conn_count_timeout(const struct conn *c, enum conn_timer_kind kind);
/* After request body bytes arrived: false (and counted as a body timeout) when the body came
   slower than BODY_MIN_RATE over the window of IDLE_TIMEOUT_SECS that ends now. */
bool conn_body_pace_ok(const struct conn *c, struct body *b);
/* Shuts our side down and drains the input briefly, then closes (a lingering close). */
void conn_linger(struct conn *c);

#endif
