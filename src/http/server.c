#include "http/server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base.h"
#include "http/conn.h"
#include "obs/log.h"
#include "obs/stats.h"
#include "pool/pool.h"

/* After EMFILE/ENFILE (or at the connection limit) accepting pauses this long, instead of spinning
   on a listener whose queue cannot be drained. */
#define ACCEPT_RETRY_MS 100
/* After this many connections are closed (and freed), free heap pages go back to the system: a burst of
   idle connections must not leave the master large once they are gone. */
#define TRIM_AFTER_FREES 1024

static void server_pause_accept(struct server *srv, bool retry_later)
{
    if (!srv->accept_paused) {
        for (unsigned i = 0; i < srv->listener_count; i++)
            loop_remove(srv->loop, &srv->listeners[i].io);
        srv->accept_paused = true;
    }
    if (retry_later)
        loop_timer_arm(srv->loop, &srv->accept_retry, ACCEPT_RETRY_MS);
}

static void server_on_accept(struct loop *loop, struct loop_io *io, uint32_t events);

static void server_resume_accept(struct server *srv)
{
    if (!srv->accept_paused || srv->draining)
        return;
    srv->accept_paused = false;
    loop_timer_cancel(srv->loop, &srv->accept_retry);
    for (unsigned i = 0; i < srv->listener_count; i++) {
        loop_add(srv->loop, &srv->listeners[i].io, EPOLLIN);
        /* Edge-triggered: connections queued while paused raise no new edge, so look now. */
        server_on_accept(srv->loop, &srv->listeners[i].io, EPOLLIN);
    }
}

static void server_on_accept_retry(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    server_resume_accept(container_of(t, struct server, accept_retry));
}

static void server_on_accept(struct loop *loop, struct loop_io *io, uint32_t events)
{
    (void)loop;
    (void)events;
    struct server_listener *l = (struct server_listener *)io;
    struct server *srv = l->srv;
    while (!srv->accept_paused) {
        if (srv->conn_count >= srv->cfg->max_connections) {
            server_pause_accept(srv, false); /* resumed when a connection closes */
            return;
        }
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof(peer);
        int fd = accept4(io->fd, (struct sockaddr *)&peer, &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            /* The TCP peer, not the address the rate limiter may take from X-Forwarded-For: no
               request has been read yet, and a header could name anyone. conn_close() counts
               the connection out again. */
            unsigned per_ip = srv->handler ? 0 : srv->cfg->max_connections_per_ip;
            if (per_ip && !peercount_add(&srv->per_ip, (struct sockaddr *)&peer, per_ip)) {
                close(fd); /* before TLS or any byte of HTTP: a refusal costs nothing */
                stats_inc(stats_global.connections_refused[STATS_REFUSED_PER_IP]);
                continue;
            }
            conn_accept(srv, fd, (struct sockaddr *)&peer, peer_len, l->redirect);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
            continue;
        switch (errno) {
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            log_warn("accept: %s; pausing new connections for %d ms", strerror(errno),
                     ACCEPT_RETRY_MS);
            server_pause_accept(srv, true);
            return;
        default:
            log_error("accept: %s", strerror(errno));
            server_pause_accept(srv, true);
            return;
        }
    }
}

/* Queued after the connections' own deferred items, so it runs once they are freed. */
static void server_on_trim(struct loop *loop, struct loop_defer *d)
{
    (void)loop;
    (void)d;
    malloc_trim(0);
}

void server_conn_opened(struct server *srv, struct conn *c)
{
    LIST_INSERT_HEAD(&srv->conns, c, link);
    srv->conn_count++;
}

void server_conn_closed(struct server *srv, struct conn *c)
{
    LIST_REMOVE(c, link);
    srv->conn_count--;
    if (++srv->closed_since_trim >= TRIM_AFTER_FREES) {
        srv->closed_since_trim = 0;
        loop_defer(srv->loop, &srv->trim);
    }
    if (srv->draining && srv->conn_count == 0)
        loop_stop(srv->loop);
    else if (srv->accept_paused && !loop_timer_armed(&srv->accept_retry))
        server_resume_accept(srv);
}

/* One line for what a stop cuts short: open connections and PHP requests queued or running. */
static void server_log_cut(const struct server *srv, const char *why)
{
    struct pool_stats ps = {0};
    if (srv->pool)
        pool_stats(srv->pool, &ps);
    log_warn("%s: cutting %u connections and %u PHP requests in flight", why, srv->conn_count,
             ps.pending);
}

static void server_on_drain_timeout(struct loop *loop, struct loop_timer *t)
{
    struct server *srv = container_of(t, struct server, drain_timer);
    server_log_cut(srv, "drain timeout reached");
    loop_stop(loop);
}

void server_drain(struct server *srv)
{
    if (srv->draining)
        return;
    srv->shutting_down = true;
    loop_timer_cancel(srv->loop, &srv->delay_timer);
    /* Connections the kernel has already completed are taken and drained like the others:
       closing the listener with them in its queue would reset them. */
    for (unsigned i = 0; i < srv->listener_count; i++)
        server_on_accept(srv->loop, &srv->listeners[i].io, EPOLLIN);
    srv->draining = true;
    server_pause_accept(srv, false);
    loop_timer_cancel(srv->loop, &srv->accept_retry);
    for (unsigned i = 0; i < srv->listener_count; i++) {
        close(srv->listeners[i].io.fd);
        srv->listeners[i].io.fd = -1;
    }
    for (struct conn *c = LIST_FIRST(&srv->conns), *next; c; c = next) {
        next = LIST_NEXT(c, link);
        conn_drain(c);
    }
    if (srv->conn_count == 0) {
        loop_stop(srv->loop);
        return;
    }
    log_info("waiting up to %us for %u connections to finish", srv->cfg->drain_timeout_secs,
             srv->conn_count);
    loop_timer_arm(srv->loop, &srv->drain_timer, (uint64_t)srv->cfg->drain_timeout_secs * 1000);
}

static void server_on_shutdown_delay(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct server *srv = container_of(t, struct server, delay_timer);
    log_info("shutdown delay over; no longer accepting connections");
    server_drain(srv);
}

void server_shutdown(struct server *srv)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = true;
    uint64_t delay = srv->cfg->shutdown_delay_secs;
    if (delay == 0) {
        server_drain(srv);
        return;
    }
    log_info("not ready; still serving for %llus (SHUTDOWN_DELAY), then draining",
             (unsigned long long)delay);
    loop_timer_arm(srv->loop, &srv->delay_timer, delay * 1000);
}

void server_stop_now(struct server *srv)
{
    srv->shutting_down = true;
    loop_timer_cancel(srv->loop, &srv->delay_timer);
    loop_timer_cancel(srv->loop, &srv->drain_timer);
    server_log_cut(srv, "second signal, stopping now");
    loop_stop(srv->loop);
}

/* Why the document root cannot serve: most often a directory the user Kiln runs as cannot
   search (no x permission), which only shows when opening a path beneath it. */
static void server_root_error(const char *root, int err_no, char *err, size_t errlen)
{
    if (err_no == ENOMEM) {
        snprintf(err, errlen, "out of memory for the stat cache");
        return;
    }
    uid_t uid = geteuid();
    const struct passwd *pw = getpwuid(uid);
    snprintf(err, errlen,
             "DOCUMENT_ROOT \"%s\": cannot open files in it: %s (Kiln runs as %s, uid %u)", root,
             strerror(err_no), pw ? pw->pw_name : "an unnamed user", (unsigned)uid);
}

/* What every server has: limits, timers, the connection list. */
static void server_init_common(struct server *srv, const struct config *cfg, struct loop *loop)
{
    memset(srv, 0, sizeof(*srv));
    srv->cfg = cfg;
    srv->loop = loop;
    srv->root_fd = -1;
    srv->limits = (struct http1_limits){
        .max_target = cfg->max_uri_size,
        .max_head = cfg->max_header_size,
        .max_headers = cfg->max_header_count,
        .max_body = cfg->max_body_size,
    };
    srv->accept_retry.fn = server_on_accept_retry;
    LIST_INIT(&srv->conns);
    srv->trim.fn = server_on_trim;
    srv->delay_timer.fn = server_on_shutdown_delay;
    srv->drain_timer.fn = server_on_drain_timeout;
}

void server_init_handler(struct server *srv, const struct config *cfg, struct loop *loop,
                         void (*handler)(struct exchange *x))
{
    server_init_common(srv, cfg, loop);
    srv->handler = handler;
}

int server_init(struct server *srv, const struct config *cfg, struct loop *loop,
                struct pool *pool, struct tls_ctx *tls, char *err, size_t errlen)
{
    server_init_common(srv, cfg, loop);
    srv->pool = pool;
    srv->tls = tls;
    srv->root_fd = open(cfg->document_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (srv->root_fd < 0) {
        snprintf(err, errlen, "DOCUMENT_ROOT \"%s\": %s", cfg->document_root, strerror(errno));
        return -1;
    }
    srv->statcache = statcache_create(srv->root_fd);
    if (!srv->statcache) {
        server_root_error(cfg->document_root, errno, err, errlen);
        close(srv->root_fd);
        return -1;
    }
    if (cfg->routing == CONFIG_ROUTING_TRY_FILES)
        router_init_try_files(&srv->router, cfg->index_file, srv->statcache);
    else
        router_init(&srv->router, cfg->index_file, srv->statcache);
    router_set_denylist(&srv->router, &cfg->deny_paths);
    return 0;
}

int server_set_root(struct server *srv, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "DOCUMENT_ROOT \"%s\": %s", path, strerror(errno));
        return -1;
    }
    if (statcache_set_root(srv->statcache, fd) < 0) {
        server_root_error(path, errno, err, errlen);
        close(fd);
        return -1;
    }
    close(srv->root_fd); /* files being sent keep their own descriptors */
    srv->root_fd = fd;
    return 0;
}

int server_listen(struct server *srv, int fd, bool redirect)
{
    struct server_listener *l = &srv->listeners[srv->listener_count];
    l->io.fd = fd;
    l->io.fn = server_on_accept;
    l->srv = srv;
    l->redirect = redirect;
    if (loop_add(srv->loop, &l->io, EPOLLIN) < 0)
        return -1;
    srv->listener_count++;
    return 0;
}

void server_free(struct server *srv)
{
    while (!LIST_EMPTY(&srv->conns))
        conn_close(LIST_FIRST(&srv->conns));
    loop_run_deferred(srv->loop); /* frees them */
    for (unsigned i = 0; i < srv->listener_count; i++)
        if (srv->listeners[i].io.fd >= 0)
            close(srv->listeners[i].io.fd);
    statcache_destroy(srv->statcache);
    peercount_free(&srv->per_ip);
    if (srv->root_fd >= 0)
        close(srv->root_fd);
}
