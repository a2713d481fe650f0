/*
 * Access log (priority -90): with ACCESS_LOG on, one JSON line per finished request on stdout
 * (accesslog.c has the format), written from the event loop without ever blocking it: lines
 * wait in a bounded queue while stdout is full, and are dropped (and counted) beyond it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "http/exchange.h"
#include "middleware/accesslog.h"
#include "middleware/chain.h"
#include "net/addr.h"
#include "net/loop.h"
#include "http/server.h"

static struct accesslog *writer;
static int writer_fd = -1;
static struct loop *writer_loop;
static struct loop_io writer_io;
static bool writer_watched;
static const struct addr_cidr_list *proxies; /* TRUSTED_PROXIES */

static void write_queue(void)
{
    if (accesslog_flush(writer) == 1 && !writer_watched) {
        /* stdout is full: finish when it drains (a regular file never is, and cannot be
           watched; a pipe or a terminal can) */
        writer_watched = loop_add(writer_loop, &writer_io, EPOLLOUT) == 0;
    }
}

static void on_writable(struct loop *loop, struct loop_io *io, uint32_t events)
{
    (void)loop;
    (void)io;
    (void)events;
    write_queue();
}

static bool accesslog_mw_setup(struct server *srv, char *err, size_t errlen)
{
    if (!srv->cfg->access_log)
        return true;
    writer_fd = accesslog_open_stdout();
    writer = writer_fd >= 0 ? accesslog_create(writer_fd, ACCESSLOG_DEFAULT_MAX_QUEUED) : NULL;
    if (!writer) {
        snprintf(err, errlen, "ACCESS_LOG: cannot write to standard output: %s", strerror(errno));
        return false;
    }
    proxies = &srv->cfg->trusted_proxies;
    writer_loop = srv->loop;
    writer_io.fd = writer_fd;
    writer_io.fn = on_writable;
    return true;
}

static void accesslog_mw_teardown(void)
{
    if (!writer)
        return;
    accesslog_flush(writer);
    if (writer_watched)
        loop_remove(writer_loop, &writer_io);
    accesslog_destroy(writer);
    close(writer_fd);
    writer = NULL;
    writer_fd = -1;
    writer_watched = false;
}

static struct accesslog_str header(const struct exchange *x, const char *name)
{
    struct accesslog_str s;
    s.ptr = exchange_header(x, name, &s.len);
    return s;
}

static void accesslog_mw_done(struct exchange *x)
{
    if (!writer || !x->target)
        return; /* off, or a request that never parsed (its 400 is in the app log) */
    struct accesslog_entry e = {.worker_id = x->worker_id};
    clock_gettime(CLOCK_REALTIME, &e.time);
    const struct config *cfg = x->srv->cfg;
    e.service = (struct accesslog_str){cfg->service_name, strlen(cfg->service_name)};
    e.method = (struct accesslog_str){x->method_name, strlen(x->method_name)};
    const char *q = memchr(x->target, '?', x->target_len);
    e.path = (struct accesslog_str){x->target, q ? (size_t)(q - x->target) : x->target_len};
    if (q)
        e.query = (struct accesslog_str){q + 1, x->target_len - (size_t)(q - x->target) - 1};
    e.http = (struct accesslog_str){x->protocol, strlen(x->protocol)};
    e.status = (unsigned)x->status;
    e.bytes = x->bytes_sent;
    e.duration_us = (loop_now_ms(x->srv->loop) - x->start_ms) * 1000;
    struct addr_ip peer, client;
    char ip[ADDR_IP_TEXT_SIZE] = "";
    if (addr_ip_from_sockaddr(x->peer, &peer)) {
        struct accesslog_str xff = header(x, "X-Forwarded-For");
        addr_client_ip(proxies, &peer, xff.ptr, xff.len, &client);
        addr_ip_format(&client, ip);
    }
    e.ip = (struct accesslog_str){ip, strlen(ip)};
    e.ua = header(x, "User-Agent");
    e.referer = header(x, "Referer");
    e.xff = header(x, "X-Forwarded-For");
    const char *proto = x->protocol[5] == '2' ? (x->tls ? "h2" : "h2c") : "http/1.1";
    e.protocol = (struct accesslog_str){proto, strlen(proto)};
    accesslog_append(writer, &e);
    write_queue();
}

const struct middleware middleware_accesslog = {
    .name = "access log",
    .priority = -90,
    .setup = accesslog_mw_setup,
    .teardown = accesslog_mw_teardown,
    .done = accesslog_mw_done,
};
