#include "http/internal.h"

#include <errno.h>
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "http/exchange.h"
#include "net/listener.h"
#include "obs/stats.h"
#include "obs/sysinfo.h"
#include "pool/pool.h"
#include "pool/scoreboard.h"
#include "pool/status.h"

#define JSON_TYPE "application/json"
#define TEXT_TYPE "text/plain; charset=utf-8"
static struct internal *internal_of(const struct exchange *x)
{
    return container_of(x->srv, struct internal, srv);
}

/* Every answer: probes and scrapes must see the state of now, never a cached copy. */
static void reply(struct exchange *x, int status, const char *content_type, const char *body,
                  size_t len)
{
    headers_add_str(&x->response_headers, "Cache-Control", "no-store");
    exchange_reply(x, status, content_type, body, len);
}

static void reply_text(struct exchange *x, int status, const char *text)
{
    reply(x, status, TEXT_TYPE, text, strlen(text));
}

static void reply_buf(struct exchange *x, const char *content_type, struct buf *body)
{
    reply(x, 200, content_type, body->data, body->len);
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

/*
 * NULL when ready, else why not. At start-up every worker must be up; after that a worker being
 * replaced (recycled, crashed) is routine and must not take Kiln out of rotation: only having no
 * worker up at all, none of them the routine replacement of a retired one, does ("no workers"). A
 * reload retires every idle worker at once, and their replacements come from a zygote that is up.
 */
static const char *not_ready_reason(const struct internal *in)
{
    if (in->main->shutting_down) /* from the signal on, also during SHUTDOWN_DELAY */
        return "draining";
    if (in->main->listener_count == 0)
        return "starting";
    if (!in->pool)
        return NULL;
    struct pool_stats ps;
    pool_stats(in->pool, &ps);
    if (!ps.started)
        return "starting";
    bool none_up = ps.by_state[POOL_WORKER_STARTING] == ps.workers;
    return none_up && ps.renewing == 0 ? "no workers" : NULL;
}

static void serve_ready(struct exchange *x)
{
    const char *why = not_ready_reason(internal_of(x));
    if (!why) {
        reply_text(x, 200, "ready\n");
        return;
    }
    char text[32];
    snprintf(text, sizeof(text), "%s\n", why);
    headers_add_str(&x->response_headers, "Retry-After", "1");
    reply_text(x, 503, text);
}

/* OPcache as the workers last sampled it (pool/scoreboard.h); nothing before the first sample. */
static void set_opcache(const struct pool *pool)
{
    struct scoreboard_opcache o;
    if (!pool_opcache_stats(pool, &o) || !o.enabled)
        return;
    uint64_t lookups = o.hits + o.misses;
    struct stats_opcache so = {
        .memory_used = o.memory_used,
        .memory_free = o.memory_free,
        .hit_ratio = lookups ? (double)o.hits / (double)lookups : 0,
        .cached_scripts = o.cached_scripts,
        .restarts = {[STATS_OPCACHE_OOM] = o.oom_restarts,
                     [STATS_OPCACHE_HASH] = o.hash_restarts,
                     [STATS_OPCACHE_MANUAL] = o.manual_restarts},
    };
    stats_set_opcache(&so);
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
    metrics_gauge_set(s->php_mode[STATS_PHP_MODE_CLASSIC], !ps.worker_mode);
    metrics_gauge_set(s->php_mode[STATS_PHP_MODE_WORKER], ps.worker_mode);
    metrics_gauge_set(s->workers_busy, ps.by_state[POOL_WORKER_BUSY]);
    metrics_gauge_set(s->workers_idle, ps.by_state[POOL_WORKER_IDLE]);
    metrics_gauge_set(s->queue_depth, ps.queued);
    metrics_gauge_set(s->pending_requests, ps.pending);
    metrics_counter_follow(s->dropped_requests, ps.dropped);
    metrics_counter_follow(s->abandoned_requests, ps.abandoned);
    metrics_counter_follow(s->worker_restarts[STATS_RESTART_RECYCLED], ps.restarts[POOL_EXIT_RECYCLED]);
    metrics_counter_follow(s->worker_restarts[STATS_RESTART_CRASHED], ps.restarts[POOL_EXIT_CRASHED]);
    metrics_counter_follow(s->worker_restarts[STATS_RESTART_TIMED_OUT], ps.restarts[POOL_EXIT_TIMED_OUT]);
    metrics_counter_follow(s->worker_restarts[STATS_RESTART_KILLED], ps.restarts[POOL_EXIT_KILLED]);
    metrics_counter_follow(s->reloads[STATS_RELOAD_OK], ps.reloads_ok);
    metrics_counter_follow(s->reloads[STATS_RELOAD_FAILED], ps.reloads_failed);
    set_opcache(in->pool);
}

static void serve_metrics(struct exchange *x)
{
    struct buf body = {0};
    set_scrape_gauges(internal_of(x));
    stats_render(&body);
    reply_buf(x, METRICS_CONTENT_TYPE, &body);
}

static void serve_workers(struct exchange *x)
{
    struct internal *in = internal_of(x);
    struct buf body = {0};
    if (in->pool) {
        unsigned count = pool_worker_count(in->pool);
        struct pool_worker_info *workers = calloc(count, sizeof(*workers));
        if (!workers)
            abort(); /* as every allocation of the master (buf.h) */
        size_t n = pool_worker_snapshot(in->pool, workers, count);
        pool_status_workers_json(workers, n, &body);
        free(workers);
    } else {
        buf_append_str(&body, "{\"workers\":[]}");
    }
    reply_buf(x, JSON_TYPE, &body);
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
    {"/workers", serve_workers},
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
        {
            headers_add_str(&x->response_headers, "Allow", "GET, HEAD");
            reply_text(x, 405, "405 Method Not Allowed\n");
        } else if (endpoints[i].serve) {
            endpoints[i].serve(x);
        } else {
            reply_text(x, 200, "ok\n");
        }
        return;
    }
    reply_text(x, 404, "404 Not Found\n");
}

/* The host's load and memory for the node_* gauges, read at scrape time. */
static bool read_host(struct stats_node *out)
{
    struct sysinfo_snapshot snap;
    sysinfo_read(&snap);
    out->load[0] = snap.load.load1;
    out->load[1] = snap.load.load5;
    out->load[2] = snap.load.load15;
    out->mem_total = snap.memory.total_bytes;
    out->mem_available = snap.memory.available_bytes;
    return snap.load_ok || snap.memory_ok;
}

int internal_start(struct internal *in, const struct config *cfg, struct loop *loop,
                   const struct server *main, struct pool *pool, char *err, size_t errlen)
{
    in->main = main;
    in->pool = pool;
    stats_set_node_reader(read_host);
    if (pool)
        pool_set_histograms(pool, stats_global.queue_wait, stats_global.php_duration);
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
