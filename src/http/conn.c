#include "http/conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base.h"
#include "http/h1.h"
#include "http/h2.h"
#include "http/server.h"
#include "net/tls.h"
#include "obs/stats.h"

#define CONN_READ_CHUNK 16384
#define CONN_LINGER_MS 2000
/* Unsent bytes the kernel queues per connection before writes return EAGAIN. */
#define CONN_NOTSENT_LOWAT (128 * 1024)
/* Piece of a file body read at a time for TLS connections. */
#define TLS_FILE_CHUNK (64u * 1024)
/* Draining: how long an idle keep-alive connection is still read, for a request the client may
   have sent before it could know, before it is shut down. */
#define CONN_DRAIN_IDLE_GRACE_MS 1000

static uint64_t secs_to_ms(unsigned secs)
{
    return (uint64_t)secs * 1000;
}

void conn_arm_in(struct conn *c, enum conn_timer_kind kind, uint64_t ms)
{
    c->timer_kind = kind;
    loop_timer_arm(c->srv->loop, &c->timer, ms);
}

void conn_arm(struct conn *c, enum conn_timer_kind kind)
{
    const struct config *cfg = c->srv->cfg;
    switch (kind) {
    case CONN_TIMER_HEADER:
        conn_arm_in(c, kind, secs_to_ms(cfg->header_timeout_secs));
        return;
    case CONN_TIMER_LINGER:
        conn_arm_in(c, kind, CONN_LINGER_MS);
        return;
    case CONN_TIMER_NONE:
    case CONN_TIMER_IDLE:
    case CONN_TIMER_BODY:
    case CONN_TIMER_WRITE:
        conn_arm_in(c, kind, secs_to_ms(cfg->idle_timeout_secs));
        return;
    }
}

void conn_disarm(struct conn *c)
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
    h1_close(c);
    h2_close_streams(c);
    loop_timer_cancel(c->srv->loop, &c->timer);
    loop_remove(c->srv->loop, &c->io);
    close(c->io.fd);
    if (c->file_fd >= 0) {
        close(c->file_fd);
        c->file_fd = -1;
    }
    loop_defer(c->srv->loop, &c->defer); /* freed there: later events of the batch may name c */
    peercount_remove(&c->srv->per_ip, (const struct sockaddr *)&c->peer);
    server_conn_closed(c->srv, c);
}

static void conn_free(struct conn *c)
{
    if (c->tls)
        tls_conn_free(c->tls);
    h2_free(c);
    h1_free(c);
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
}

void conn_linger(struct conn *c)
{
    if (c->tls)
        tls_shutdown(c->tls);
    shutdown(c->io.fd, SHUT_WR);
    c->state = CONN_LINGER;
    c->read_pending = true;
    conn_arm(c, CONN_TIMER_LINGER);
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


void conn_schedule(struct conn *c)
{
    if (!c->closed)
        loop_defer(c->srv->loop, &c->defer);
}

void conn_set_idle(struct conn *c, bool idle)
{
    if (!idle)
        conn_disarm(c);
    else if (c->timer_kind != CONN_TIMER_IDLE)
        conn_arm(c, CONN_TIMER_IDLE);
}

void conn_drain(struct conn *c)
{
    if (c->h2)
        h2_goaway(c);
    else if (c->state == CONN_READING && c->timer_kind == CONN_TIMER_IDLE)
        conn_arm_in(c, CONN_TIMER_IDLE, CONN_DRAIN_IDLE_GRACE_MS);
}


static ssize_t conn_send(struct conn *c, const void *data, size_t len, bool more)
{
    if (c->tls)
        return tls_write(c->tls, data, len);
    return send(c->io.fd, data, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
}

static ssize_t conn_recv(struct conn *c, void *data, size_t len)
{
    if (c->tls)
        return tls_read(c->tls, data, len);
    return read(c->io.fd, data, len);
}

/* The client does not take our bytes now: wait for EPOLLOUT, but not for ever. */
static void conn_write_blocked(struct conn *c)
{
    conn_arm(c, CONN_TIMER_WRITE);
}

/*
 * A write that moved nothing: true to try again at once (EINTR); otherwise false, after waiting
 * for EPOLLOUT (EAGAIN) or closing (an error, or a file that shrank).
 */
static bool conn_retry_write(struct conn *c, ssize_t n)
{
    if (n < 0 && errno == EINTR)
        return true;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        conn_write_blocked(c);
    else
        conn_close(c);
    return false;
}

/* TLS cannot use sendfile: the next piece of a file body is read into `out` instead. */
static bool conn_load_file_chunk(struct conn *c)
{
    size_t want = c->file_left < TLS_FILE_CHUNK ? (size_t)c->file_left : TLS_FILE_CHUNK;
    ssize_t n = pread(c->file_fd, buf_reserve(&c->out, want), want, c->file_off);
    if (n <= 0)
        return false; /* the file shrank under us: the promised length cannot be delivered */
    c->out.len += (size_t)n;
    c->file_off += n;
    c->file_left -= n;
    return true;
}

/* Sends the file body with sendfile(2). Returns false when blocked or closed. */
static bool conn_sendfile(struct conn *c)
{
    while (c->file_left > 0) {
        size_t want = c->file_left > (1 << 30) ? (size_t)1 << 30 : (size_t)c->file_left;
        ssize_t n = sendfile(c->io.fd, c->file_fd, &c->file_off, want);
        if (n > 0) {
            c->file_left -= n;
            continue;
        }
        if (conn_retry_write(c, n)) /* n == 0: the file shrank under us */
            continue;
        return false;
    }
    return true;
}

/* Writes `out`, then the file body. Returns true when both are written. */
static bool conn_write_out(struct conn *c)
{
    for (;;) {
        while (c->out_pos < c->out.len) {
            ssize_t n = conn_send(c, c->out.data + c->out_pos, c->out.len - c->out_pos,
                                  c->file_left > 0);
            if (n > 0) {
                c->out_pos += (size_t)n;
                continue;
            }
            if (conn_retry_write(c, n))
                continue;
            return false;
        }
        buf_clear(&c->out);
        c->out_pos = 0;
        if (c->file_left == 0)
            break;
        if (!c->tls) {
            if (!conn_sendfile(c))
                return false;
            break;
        }
        if (!conn_load_file_chunk(c)) {
            conn_close(c);
            return false;
        }
    }
    if (c->file_fd >= 0) {
        close(c->file_fd);
        c->file_fd = -1;
    }
    return true;
}

/* Writes pending output. Returns true when everything queued so far has been written. */
bool conn_flush(struct conn *c)
{
    if (!conn_write_out(c))
        return false;
    exchange_source_drained(&c->x); /* a paused source resumes after the batch */
    return true;
}

/* ---- reading and parsing ---------------------------------------------------------------------- */

/* Reads one chunk. Returns true if the state may have changed (data or EOF), false on EAGAIN. */
bool conn_fill(struct conn *c)
{
    for (;;) {
        /* An idle connection owns no buffer: read on the stack, keep only what arrived. */
        char first[CONN_READ_CHUNK];
        char *to = c->in.cap ? buf_reserve(&c->in, CONN_READ_CHUNK) : first;
        ssize_t n = conn_recv(c, to, CONN_READ_CHUNK);
        if (n > 0) {
            if (to == first)
                buf_append(&c->in, first, (size_t)n);
            else
                c->in.len += (size_t)n;
            if (c->timer_kind == CONN_TIMER_BODY && !c->h2) /* HTTP/2 times each stream */
                conn_arm(c, CONN_TIMER_BODY);
            return true;
        }
        if (n < 0 && errno == EINTR)
            continue;
        c->read_pending = false;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return false;
        /* EOF or error: an unfinished request cannot be answered; an idle connection just ends. */
        conn_close(c);
        return false;
    }
}

/* The TLS handshake is done: HTTP/2 if ALPN chose it, else HTTP/1.x. */
static void conn_handshake_done(struct conn *c)
{
    c->state = CONN_READING;
    conn_arm(c, CONN_TIMER_IDLE);
    c->x.tls = true;
    c->x.tls_version = tls_version(c->tls);
    if (tls_alpn_h2(c->tls) && h2_start(c) < 0)
        conn_close(c);
}

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN (sizeof(h2_preface) - 1)

/*
 * h2c with prior knowledge: a plain connection whose first bytes are the HTTP/2 preface.
 * Returns true while undecided (a prefix of the preface, wait for more) or after switching.
 */
static bool conn_detect_h2c(struct conn *c)
{
    if (c->tls || !c->first_request || c->in.len == 0)
        return false;
    size_t n = c->in.len < H2_PREFACE_LEN ? c->in.len : H2_PREFACE_LEN;
    if (memcmp(c->in.data, h2_preface, n) != 0)
        return false;
    if (n < H2_PREFACE_LEN)
        return true;
    if (h2_start(c) < 0)
        conn_close(c);
    return true;
}

/* Drives the state machine as far as it goes without blocking. */
static void conn_step(struct conn *c)
{
    while (!c->closed) {
        if (c->h2) {
            h2_step(c);
            return;
        }
        switch (c->state) {
        case CONN_HANDSHAKE: {
            int rc = tls_handshake(c->tls);
            if (rc < 0)
                conn_close(c);
            if (rc <= 0)
                return;
            conn_handshake_done(c);
            break;
        }
        case CONN_READING:
            if (conn_detect_h2c(c)) {
                if (c->h2 || c->closed)
                    break;
                if (!c->read_pending || !conn_fill(c))
                    return;
                break;
            }
            if (!h1_step(c))
                return;
            break;
        case CONN_RESPONDING:
            if (!h1_step(c))
                return;
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
    struct conn *c = container_of(io, struct conn, io);
    if (c->closed)
        return;
    /* A client that goes away while its response is being produced (PHP works on it): stop,
       and let the script see connection_aborted() (nginx + PHP-FPM behave the same way). */
    if (exchange_has_source(&c->x) && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        conn_close(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->read_pending = true;
    conn_run(c);
}

/* kiln_timeouts_total: a client too slow to send its head (or finish the TLS handshake), its
   body, or to read our response. Idle keep-alive connections and lingering closes are not
   timeouts of a request; the internal server's connections are not counted. */
void conn_count_timeout(const struct conn *c, enum conn_timer_kind kind)
{
    if (c->srv->handler)
        return;
    switch (kind) {
    case CONN_TIMER_HEADER: stats_count_timeout(STATS_TIMEOUT_HEADER); return;
    case CONN_TIMER_BODY: stats_count_timeout(STATS_TIMEOUT_BODY); return;
    case CONN_TIMER_WRITE: stats_count_timeout(STATS_TIMEOUT_WRITE); return;
    case CONN_TIMER_NONE:
    case CONN_TIMER_IDLE:
    case CONN_TIMER_LINGER:
        return;
    }
}

bool conn_body_pace_ok(const struct conn *c, struct body *b)
{
    const struct config *cfg = c->srv->cfg;
    if (body_pace_ok(b, loop_now_ms(c->srv->loop), secs_to_ms(cfg->idle_timeout_secs),
                     cfg->body_min_rate))
        return true;
    conn_count_timeout(c, CONN_TIMER_BODY);
    return false;
}

static void conn_on_timer(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct conn *c = container_of(t, struct conn, timer);
    enum conn_timer_kind kind = c->timer_kind;
    c->timer_kind = CONN_TIMER_NONE;
    if (c->h2 && kind == CONN_TIMER_BODY) {
        h2_body_timeout(c); /* counts the streams it cuts */
        return;
    }
    conn_count_timeout(c, kind);
    if (c->state == CONN_HANDSHAKE || c->h2) {
        conn_close(c); /* no HTTP/1 answer is possible: TLS not up, or an HTTP/2 connection */
        return;
    }
    switch (kind) {
    case CONN_TIMER_HEADER:
    case CONN_TIMER_BODY:
        h1_fail(c, 408);
        conn_run(c);
        return;
    case CONN_TIMER_IDLE:
        /* Draining: a lingering close, so that a request crossing our FIN is not met by a RST. */
        if (c->srv->draining) {
            conn_linger(c);
            return;
        }
        conn_close(c);
        return;
    case CONN_TIMER_NONE:
    case CONN_TIMER_WRITE:
    case CONN_TIMER_LINGER:
        conn_close(c);
        return;
    }
}

/* After the event batch: a closed connection is freed, an open one runs. */
static void conn_on_deferred(struct loop *loop, struct loop_defer *d)
{
    (void)loop;
    struct conn *c = container_of(d, struct conn, defer);
    if (c->closed)
        conn_free(c);
    else
        conn_run(c);
}

void conn_accept(struct server *srv, int fd, const struct sockaddr *peer, socklen_t peer_len,
                 bool redirect)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        peercount_remove(&srv->per_ip, peer); /* counted at accept (server.c) */
        close(fd);
        return;
    }
    /* Responses leave in whole pieces (head and body bytes gathered in `out`, MSG_MORE before a
       file): Nagle's algorithm would only hold back the last small segment of each piece until
       the client's delayed ACK, about 40 ms per flush() on a kept-alive connection. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* The kernel holds at most this much not yet sent (besides what is in flight): a slow
       reader of a large file costs 128 KiB, not a send buffer autotuned to megabytes that the
       master would spend its time filling. */
    int lowat = CONN_NOTSENT_LOWAT;
    setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
    c->srv = srv;
    c->io.fd = fd;
    c->io.fn = conn_on_io;
    c->timer.fn = conn_on_timer;
    c->defer.fn = conn_on_deferred;
    c->file_fd = -1;
    c->redirect = redirect;
    c->peer_len = peer_len <= sizeof(c->peer) ? peer_len : sizeof(c->peer);
    memcpy(&c->peer, peer, c->peer_len);
    socklen_t local_len = sizeof(c->local);
    getsockname(fd, (struct sockaddr *)&c->local, &local_len);
    h1_init(c);
    if (loop_add(srv->loop, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
        peercount_remove(&srv->per_ip, peer);
        close(fd);
        conn_free(c);
        return;
    }
    server_conn_opened(srv, c);
    if (srv->tls && !redirect) {
        c->tls = tls_conn_new(srv->tls, fd);
        if (!c->tls) {
            conn_close(c);
            return;
        }
        c->state = CONN_HANDSHAKE;
        conn_arm(c, CONN_TIMER_HEADER);
    } else {
        c->state = CONN_READING;
        conn_arm(c, CONN_TIMER_IDLE);
    }
    c->read_pending = true; /* data may have arrived with the handshake */
    conn_run(c);
}
