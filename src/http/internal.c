#include "http/internal.h"

#include <errno.h>
#include <llhttp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "http/exchange.h"
#include "net/listener.h"
#include "obs/stats.h"
#include "pool/pool.h"

#define JSON_TYPE "application/json"
#define TEXT_TYPE "text/plain; charset=utf-8"
/* Probes and scrapes must see the state of now, never a cached copy. */
#define NO_STORE "Cache-Control: no-store\r\n"

static struct internal *internal_of(const struct exchange *x)
{
    return container_of(x->srv, struct internal, srv);
}

static void reply_text(struct exchange *x, int status, const char *extra, const char *text)
{
    exchange_reply(x, status, extra, TEXT_TYPE, text, strlen(text));
}

static void reply_buf(struct exchange *x, const char *content_type, struct buf *body)
{
    exchange_reply(x, 200, NO_STORE, content_type, body->data, body->len);
    buf_free(body);
}

static void serve_health(struct exchange *x)
{
    struct buf body = {0};
    buf_printf(&body, "{\"status\":\"ok\",\"timestamp\":%lld,\"active_connections\":%u,"
                      "\"total_requests\":%llu}",
               (long long)time(NULL), internal_of(x)->main->conn_count,
               (unsigned long long)stats_total_requests());
    reply_buf(x, JSON_TYPE, &body);
}

/* NULL when ready, else why not. */
static const char *not_ready_reason(const struct internal *in)
{
    if (in->main->draining)
        return "draining";
    if (in->main->listener_count == 0)
        return "starting";
    if (in->pool) {
        struct pool_stats ps;
        pool_stats(in->pool, &ps);
        if (ps.by_state[POOL_WORKER_STARTING] > 0)
            return "starting";
    }
    return NULL;
}

static void serve_ready(struct exchange *x)
{
    const char *why = not_ready_reason(internal_of(x));
    if (!why) {
        reply_text(x, 200, NO_STORE, "ready\n");
        return;
    }
    char text[32];
    snprintf(text, sizeof(text), "%s\n", why);
    reply_text(x, 503, NO_STORE "Retry-After: 1\r\n", text);
}

/* The values the master knows at any time, set just before they are written. */
static void set_scrape_gauges(const struct internal *in)
{
    struct stats *s = &stats_global;
    metrics_gauge_set(s->active_connections, in->main->conn_count);
    if (!in->pool)
        return;
    struct pool_stats ps;
    pool_stats(in->pool, &ps);
    metrics_gauge_set(s->workers, ps.workers);
    metrics_gauge_set(s->workers_busy, ps.by_state[POOL_WORKER_BUSY]);
    metrics_gauge_set(s->workers_idle, ps.by_state[POOL_WORKER_IDLE]);
    metrics_gauge_set(s->queue_depth, ps.queued);
}

static void serve_metrics(struct exchange *x)
{
    struct buf body = {0};
    set_scrape_gauges(internal_of(x));
    stats_render(&body);
    reply_buf(x, METRICS_CONTENT_TYPE, &body);
}

static void serve_config(struct exchange *x)
{
    struct buf body = {0};
    config_write_json(internal_of(x)->srv.cfg, &body);
    reply_buf(x, JSON_TYPE, &body);
}

static const struct {
    const char *path;
    void (*serve)(struct exchange *x);
} endpoints[] = {
    {"/health", serve_health},
    {"/ready", serve_ready},
    {"/live", NULL}, /* answering at all is the proof */
    {"/metrics", serve_metrics},
    {"/config", serve_config},
};

static void internal_handle(struct exchange *x)
{
    size_t len = x->target_len;
    const char *q = memchr(x->target, '?', len);
    if (q)
        len = (size_t)(q - x->target);
    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
        if (strlen(endpoints[i].path) != len || memcmp(endpoints[i].path, x->target, len) != 0)
            continue;
        if (x->method != HTTP_GET && x->method != HTTP_HEAD)
            reply_text(x, 405, "Allow: GET, HEAD\r\n", "405 Method Not Allowed\n");
        else if (endpoints[i].serve)
            endpoints[i].serve(x);
        else
            reply_text(x, 200, NO_STORE, "ok\n");
        return;
    }
    reply_text(x, 404, NULL, "404 Not Found\n");
}

int internal_start(struct internal *in, const struct config *cfg, struct loop *loop,
                   const struct server *main, struct pool *pool, char *err, size_t errlen)
{
    in->main = main;
    in->pool = pool;
    server_init_handler(&in->srv, cfg, loop, internal_handle);
    char label[sizeof(cfg->internal.text) + 16];
    snprintf(label, sizeof(label), "INTERNAL_ADDR %s", cfg->internal.text);
    int fd = listener_open((const struct sockaddr *)&cfg->internal.sa, cfg->internal.len, label,
                           err, errlen);
    if (fd < 0)
        return -1;
    if (server_listen(&in->srv, fd, false) < 0) {
        snprintf(err, errlen, "%s: epoll: %s", label, strerror(errno));
        close(fd);
        return -1;
    }
    return 0;
}

void internal_free(struct internal *in)
{
    server_free(&in->srv);
}
