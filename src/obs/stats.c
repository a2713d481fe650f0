#include "obs/stats.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct stats stats_global;

/* Seconds: from a static file's millisecond answer up to REQUEST_TIMEOUT's default (2m).
   The loop clock counts milliseconds, so nothing finer than 1 ms is worth a bucket. */
static const double duration_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                          0.5,   1,      2.5,   5,    10,    30,    60,  120};
#define DURATION_BUCKETS (sizeof(duration_buckets) / sizeof(duration_buckets[0]))

static const char *const method_values[STATS_METHOD_COUNT] = {
    "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "OTHER"};
static const char *const status_values[STATS_STATUS_COUNT] = {"2xx", "3xx", "4xx", "5xx"};
static const char *const protocol_values[STATS_PROTOCOL_COUNT] = {"http1", "http2"};
static const char *const timeout_values[STATS_TIMEOUT_COUNT] = {"header", "body", "request",
                                                                "sse", "write"};
static const char *const refused_values[STATS_REFUSED_COUNT] = {"per_ip"};
static const char *const reload_values[STATS_RELOAD_COUNT] = {"ok", "failed"};
static const char *const restart_values[STATS_RESTART_COUNT] = {"recycled", "crashed",
                                                                "timed_out", "killed"};
static const char *const php_mode_values[STATS_PHP_MODE_COUNT] = {"classic", "worker"};
static const char *const opcache_values[STATS_OPCACHE_RESTART_COUNT] = {"oom", "hash", "manual"};

/* One family: where its handle(s) go in struct stats, and its series (one per label value). */
struct family {
    enum metrics_type type;
    const char *name;
    const char *help;
    size_t offset;               /* of the handle, or of the first of `nvalues` handles */
    const char *label;           /* NULL: one series without labels */
    const char *const *values;
    size_t nvalues;
    bool durations;              /* histogram with duration_buckets */
};

#define FAMILY(t, n, h, field)                                                                 \
    .type = (t), .name = (n), .help = (h), .offset = offsetof(struct stats, field)
#define LABELLED(l, v) .label = (l), .values = (v), .nvalues = sizeof(v) / sizeof((v)[0])
#define C METRICS_COUNTER
#define G METRICS_GAUGE
#define H METRICS_HISTOGRAM

static const struct family families[] = {
    {FAMILY(G, "kiln_uptime_seconds", "Seconds since Kiln started.", uptime)},
    {FAMILY(G, "kiln_requests_per_second", "Requests per second, averaged over the uptime.",
     requests_per_second)},
    {FAMILY(G, "kiln_response_time_avg_seconds",
            "Mean time to answer a request, over the uptime.", response_time_avg)},
    {FAMILY(G, "kiln_active_connections", "Open client connections on the main listeners.",
     active_connections)},
    {FAMILY(G, "kiln_pending_requests", "PHP requests submitted and not yet answered.",
     pending_requests)},
    {FAMILY(C, "kiln_dropped_requests_total",
            "Requests refused with 503 because the queue was full.", dropped_requests)},
    {FAMILY(C, "kiln_abandoned_requests_total",
            "PHP requests whose client went away before a worker began them; they never ran.",
            abandoned_requests)},
    {FAMILY(C, "kiln_requests_total", "Requests by method.", requests),
     LABELLED("method", method_values)},
    {FAMILY(C, "kiln_responses_total", "Responses by status class.", responses),
     LABELLED("status", status_values)},
    {FAMILY(H, "kiln_request_duration_seconds",
     "Time from a complete request to the end of its response, by protocol.",
     request_duration), LABELLED("protocol", protocol_values), .durations = true},
    {FAMILY(C, "kiln_response_bytes_total", "Response body bytes sent (after compression).",
     response_bytes)},
    {FAMILY(G, "kiln_sse_active_connections", "Server-sent event streams open.", sse_active)},
    {FAMILY(C, "kiln_sse_connections_total", "Server-sent event streams opened.", sse_connections)},
    {FAMILY(C, "kiln_sse_chunks_total", "Server-sent event chunks sent.", sse_chunks)},
    {FAMILY(C, "kiln_sse_bytes_total", "Server-sent event bytes sent.", sse_bytes)},
    {FAMILY(G, "kiln_workers", "PHP workers configured (PHP_WORKERS).", workers)},
    {FAMILY(G, "kiln_workers_busy", "PHP workers running a request.", workers_busy)},
    {FAMILY(G, "kiln_workers_idle", "PHP workers up and waiting for a request.", workers_idle)},
    {FAMILY(G, "kiln_php_mode", "PHP's mode: 1 for the one in use (worker = WORKER_SCRIPT).",
            php_mode), LABELLED("mode", php_mode_values)},
    {FAMILY(C, "kiln_worker_restarts_total", "PHP workers replaced, by reason.", worker_restarts),
     LABELLED("reason", restart_values)},
    {FAMILY(C, "kiln_reloads_total", "Graceful reloads (SIGHUP), by result.", reloads),
     LABELLED("result", reload_values)},
    {FAMILY(G, "kiln_queue_depth", "PHP requests waiting for a worker.", queue_depth)},
    {FAMILY(H, "kiln_queue_wait_seconds", "Time a PHP request waited for a worker.", queue_wait),
     .durations = true},
    {FAMILY(H, "kiln_php_duration_seconds", "Time a worker spent on a PHP request.", php_duration),
     .durations = true},
    {FAMILY(C, "kiln_tls_handshakes_total", "TLS handshakes completed.", tls_handshakes)},
    {FAMILY(C, "kiln_tls_handshake_failures_total", "TLS handshakes that failed.",
     tls_handshake_failures)},
    {FAMILY(C, "kiln_http2_streams_total", "HTTP/2 streams that carried a request.", h2_streams)},
    {FAMILY(C, "kiln_timeouts_total", "Timeouts, by kind.", timeouts),
     LABELLED("kind", timeout_values)},
    {FAMILY(C, "kiln_rate_limited_total", "Requests refused with 429 by the rate limiter.",
     rate_limited)},
    {FAMILY(C, "kiln_connections_refused_total", "Connections closed at accept, by reason.",
     connections_refused), LABELLED("reason", refused_values)},
    {FAMILY(C, "kiln_compression_in_bytes_total", "Bytes given to the response compressor.",
     compression_in)},
    {FAMILY(C, "kiln_compression_out_bytes_total", "Bytes the response compressor produced.",
     compression_out)},
    {FAMILY(G, "kiln_opcache_memory_used_bytes", "OPcache shared memory in use.", opcache_used)},
    {FAMILY(G, "kiln_opcache_memory_free_bytes", "OPcache shared memory free.", opcache_free)},
    {FAMILY(G, "kiln_opcache_hit_ratio", "OPcache hits per lookup, 0 to 1.", opcache_hit_ratio)},
    {FAMILY(G, "kiln_opcache_cached_scripts", "Scripts in OPcache.", opcache_scripts)},
    {FAMILY(C, "kiln_opcache_restarts_total", "OPcache restarts, by reason.", opcache_restarts),
     LABELLED("reason", opcache_values)},
    {FAMILY(G, "node_load1", "1-minute load average.", node_load[0])},
    {FAMILY(G, "node_load5", "5-minute load average.", node_load[1])},
    {FAMILY(G, "node_load15", "15-minute load average.", node_load[2])},
    {FAMILY(G, "node_memory_total_bytes", "Memory of the host.", node_mem_total)},
    {FAMILY(G, "node_memory_available_bytes", "Memory available for new work.",
     node_mem_available)},
    {FAMILY(G, "node_memory_used_bytes", "Memory in use: total minus available.", node_mem_used)},
    {FAMILY(G, "kiln_memory_usage_percent", "Memory of the host in use, in per cent.",
     memory_usage_percent)},
};

#undef C
#undef G
#undef H

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The series for `values` (NULL: the unlabelled one), as the typed handle the family wants. */
static void *series_at(struct metrics_family *mf, enum metrics_type type,
                       const char *const *values)
{
    switch (type) {
    case METRICS_COUNTER: return metrics_counter_at(mf, values);
    case METRICS_GAUGE: return metrics_gauge_at(mf, values);
    case METRICS_HISTOGRAM: return metrics_histogram_at(mf, values);
    }
    return NULL;
}

/* Every handle field is a pointer to a struct, and those share one representation. */
static void store_handle(struct stats *s, size_t offset, size_t i, void *handle)
{
    memcpy((char *)s + offset + i * sizeof(handle), &handle, sizeof(handle));
}

static int register_family(struct stats *s, const struct family *f)
{
    struct metrics_desc desc = {.name = f->name, .help = f->help};
    if (f->label) {
        desc.labels[0] = f->label;
        desc.nlabels = 1;
    }
    if (f->durations) {
        desc.buckets = duration_buckets;
        desc.nbuckets = DURATION_BUCKETS;
    }
    struct metrics_family *mf = metrics_register(s->registry, f->type, &desc);
    if (!mf)
        return -1;
    size_t n = f->label ? f->nvalues : 1;
    for (size_t i = 0; i < n; i++) {
        void *h = series_at(mf, f->type, f->label ? &f->values[i] : NULL);
        if (!h)
            return -1;
        store_handle(s, f->offset, i, h);
    }
    return 0;
}

int stats_init(void)
{
    struct stats s = {.registry = metrics_new(), .started_ns = monotonic_ns()};
    if (!s.registry)
        return -1;
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        if (register_family(&s, &families[i]) < 0) {
            metrics_free(s.registry);
            return -1;
        }
    }
    stats_global = s;
    return 0;
}

void stats_free(void)
{
    metrics_free(stats_global.registry);
    memset(&stats_global, 0, sizeof(stats_global));
}

void stats_set_node_reader(stats_node_reader reader)
{
    stats_global.node_reader = reader;
}

void stats_set_opcache(const struct stats_opcache *o)
{
    struct stats *s = &stats_global;
    if (!s->registry)
        return;
    metrics_gauge_set(s->opcache_used, (double)o->memory_used);
    metrics_gauge_set(s->opcache_free, (double)o->memory_free);
    metrics_gauge_set(s->opcache_hit_ratio, o->hit_ratio);
    metrics_gauge_set(s->opcache_scripts, (double)o->cached_scripts);
    /* OPcache counts its restarts itself: the counters follow its totals. */
    for (size_t i = 0; i < STATS_OPCACHE_RESTART_COUNT; i++)
        metrics_counter_follow(s->opcache_restarts[i], o->restarts[i]);
}

uint64_t stats_total_requests(void)
{
    uint64_t total = 0;
    for (size_t i = 0; i < STATS_METHOD_COUNT && stats_global.requests[i]; i++)
        total += stats_global.requests[i]->value;
    return total;
}

static void set_node_gauges(struct stats *s)
{
    struct stats_node node = {0};
    if (!s->node_reader || !s->node_reader(&node))
        memset(&node, 0, sizeof(node));
    for (size_t i = 0; i < 3; i++)
        metrics_gauge_set(s->node_load[i], node.load[i]);
    uint64_t used = node.mem_total > node.mem_available ? node.mem_total - node.mem_available : 0;
    metrics_gauge_set(s->node_mem_total, (double)node.mem_total);
    metrics_gauge_set(s->node_mem_available, (double)node.mem_available);
    metrics_gauge_set(s->node_mem_used, (double)used);
    metrics_gauge_set(s->memory_usage_percent,
                      node.mem_total ? 100.0 * (double)used / (double)node.mem_total : 0);
}

static void set_averages(struct stats *s, double uptime)
{
    double sum = 0;
    uint64_t count = 0;
    for (size_t p = 0; p < STATS_PROTOCOL_COUNT; p++) {
        const struct metrics_histogram *h = s->request_duration[p];
        sum += h->sum;
        for (size_t i = 0; i <= h->nbounds; i++)
            count += h->counts[i];
    }
    metrics_gauge_set(s->response_time_avg, count ? sum / (double)count : 0);
    metrics_gauge_set(s->requests_per_second,
                      uptime > 0 ? (double)stats_total_requests() / uptime : 0);
}

void stats_render(struct buf *out)
{
    struct stats *s = &stats_global;
    if (!s->registry)
        return;
    double uptime = (double)(monotonic_ns() - s->started_ns) / 1e9;
    metrics_gauge_set(s->uptime, uptime);
    set_averages(s, uptime);
    set_node_gauges(s);
    metrics_render(s->registry, out);
}

enum stats_method stats_method_of(const char *name)
{
    if (!name)
        return STATS_OTHER;
    for (size_t i = 0; i < STATS_OTHER; i++)
        if (strcmp(name, method_values[i]) == 0)
            return (enum stats_method)i;
    return STATS_OTHER;
}

enum stats_protocol stats_protocol_of(const char *protocol)
{
    return protocol && strcmp(protocol, "HTTP/2.0") == 0 ? STATS_HTTP2 : STATS_HTTP1;
}
