/*
 * Access log (priority -90): with ACCESS_LOG on, one JSON line per finished request on stdout
 * (accesslog.c has the format), written from the event loop without ever blocking it: lines
 * wait in a bounded queue while stdout is full, and are dropped (and counted) beyond it. The
 * queue is written once per event batch (a deferred item), so one write carries the lines of
 * every request the batch finished.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "config.h"
#include "http/exchange.h"
#include "middleware/accesslog.h"
#include "middleware/chain.h"
#include "net/addr.h"
#include "net/loop.h"
#include "obs/log.h"

struct accesslog_mw {
    struct accesslog *writer;
    struct loop *loop;
    struct loop_io io;        /* the writer's fd, watched for EPOLLOUT while it is full */
    bool watched;
    struct loop_defer flush;  /* writes the queue after the batch */
    const struct addr_cidr_list *proxies; /* TRUSTED_PROXIES */
    const char *service;      /* SERVICE_NAME */
};

static void write_queue(struct accesslog_mw *al)
{
    switch (accesslog_flush(al->writer)) {
    case 1:
        /* stdout is full: finish when it drains (a regular file never is, and cannot be
           watched; a pipe or a terminal can) */
        if (!al->watched)
            al->watched = loop_add(al->loop, &al->io, EPOLLOUT) == 0;
        break;
    case -1:
        log_warn("the access log cannot be written (reader gone or disk full): its lines are "
                 "dropped from now on");
        break;
    }
}

static void on_writable(struct loop *loop, struct loop_io *io, uint32_t events)
{
    (void)loop;
    (void)events;
    write_queue(container_of(io, struct accesslog_mw, io));
}

static void on_batch_end(struct loop *loop, struct loop_defer *d)
{
    (void)loop;
    write_queue(container_of(d, struct accesslog_mw, flush));
}

static bool accesslog_mw_setup(const struct mw_env *env, void **instance, char *err,
                               size_t errlen)
{
    if (!env->cfg->access_log)
        return true;
    struct accesslog_mw *al = calloc(1, sizeof(*al));
    int fd = al ? accesslog_open_stdout() : -1;
    if (fd >= 0)
        al->writer = accesslog_create(fd, ACCESSLOG_DEFAULT_MAX_QUEUED);
    if (!al || !al->writer) {
        snprintf(err, errlen, "ACCESS_LOG: cannot write to standard output: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        free(al);
        return false;
    }
    al->loop = env->loop;
    al->io = (struct loop_io){.fd = fd, .fn = on_writable};
    al->flush.fn = on_batch_end;
    al->proxies = &env->cfg->trusted_proxies;
    al->service = env->cfg->service_name;
    *instance = al;
    return true;
}

/* Runs after the loop's deferred items (server_free() runs them): one last flush, as much as
   stdout takes without blocking. */
static void accesslog_mw_teardown(void *instance)
{
    struct accesslog_mw *al = instance;
    accesslog_flush(al->writer);
    if (al->watched)
        loop_remove(al->loop, &al->io);
    accesslog_destroy(al->writer);
    close(al->io.fd);
    free(al);
}

static struct str header(const struct exchange *x, const char *name)
{
    struct str s;
    s.ptr = exchange_header(x, name, &s.len);
    return s;
}

static void accesslog_mw_done(void *instance, struct exchange *x)
{
    struct accesslog_mw *al = instance;
    if (!x->target)
        return; /* a request that never parsed (its 400 is in the app log) */
    struct accesslog_entry e = {
        .worker_id = x->worker_id,
        .php = x->php_queued,
        .php_begun = x->php_begun,
        .queue_wait_us = x->queue_wait_ms * 1000,
        .php_us = x->php_ms * 1000,
    };
    clock_gettime(CLOCK_REALTIME, &e.time);
    e.service = text_str(al->service);
    const struct trace_request *t = exchange_trace(x);
    e.request_id = text_str(t->request_id);
    e.trace_id = text_str(t->ctx.trace_id);
    e.span_id = text_str(t->ctx.span_id);
    e.method = text_str(x->method_name);
    const char *q = memchr(x->target, '?', x->target_len);
    e.path = (struct str){x->target, q ? (size_t)(q - x->target) : x->target_len};
    if (q)
        e.query = (struct str){q + 1, x->target_len - (size_t)(q - x->target) - 1};
    e.http = text_str(x->protocol);
    e.status = (unsigned)x->status;
    e.bytes = x->bytes_sent;
    e.duration_us = (loop_now_ms(al->loop) - x->start_ms) * 1000;
    struct addr_ip peer, client;
    char ip[ADDR_IP_TEXT_SIZE] = "";
    if (addr_ip_from_sockaddr(x->peer, &peer)) {
        struct str xff = header(x, "X-Forwarded-For");
        addr_client_ip(al->proxies, &peer, xff.ptr, xff.len, &client);
        addr_ip_format(&client, ip);
    }
    e.ip = text_str(ip);
    e.ua = header(x, "User-Agent");
    e.referer = header(x, "Referer");
    e.xff = header(x, "X-Forwarded-For");
    e.tls = text_str(x->tls_version);
    bool h2 = strcmp(x->protocol, "HTTP/2.0") == 0;
    const char *proto = h2 ? (x->tls ? "h2" : "h2c") : "http/1.1";
    e.protocol = text_str(proto);
    accesslog_append(al->writer, &e);
    loop_defer(al->loop, &al->flush);
}

const struct middleware middleware_accesslog = {
    .name = "access log",
    .priority = -90,
    .setup = accesslog_mw_setup,
    .teardown = accesslog_mw_teardown,
    .done = accesslog_mw_done,
};
