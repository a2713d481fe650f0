/*
 * The metric catalogue: every family Kiln exports on the internal server's /metrics, registered
 * once at start-up (stats_init) in one `struct metrics_registry`, and the handles the call sites
 * update. docs/observability.md lists the families with their types and labels.
 *
 * The master is single-threaded, so the catalogue is one process-wide object, `stats_global`,
 * like the log queue and the middleware chain. An update is one addition (or one histogram
 * observation) through a handle fixed at start-up; nothing is looked up, formatted or allocated
 * per update. Every inline helper does nothing before stats_init(), so code that runs without the
 * catalogue (unit tests, the fuzzers) needs no set-up.
 *
 * Values the master can read whenever it likes (connections, workers, queue depth, uptime, the
 * host's load and memory) are not counted on the hot path at all: they are set just before a
 * scrape, by stats_render() itself or by its caller (http/internal.c).
 *
 * Where each handle is meant to be updated is written next to it. "scrape" means the value is
 * set at scrape time and has no call site on the request path.
 */
#ifndef KILN_OBS_STATS_H
#define KILN_OBS_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "obs/metrics.h"

/* kiln_requests_total{method}: the seed's eight values; QUERY and the rest count as OTHER. */
enum stats_method {
    STATS_GET,
    STATS_POST,
    STATS_HEAD,
    STATS_PUT,
    STATS_DELETE,
    STATS_OPTIONS,
    STATS_PATCH,
    STATS_OTHER,
    STATS_METHOD_COUNT,
};

/* kiln_responses_total{status}: 2xx, 3xx, 4xx, 5xx; anything outside 200..499 counts as 5xx. */
enum stats_status { STATS_2XX, STATS_3XX, STATS_4XX, STATS_5XX, STATS_STATUS_COUNT };

/* kiln_request_duration_seconds{protocol}: "http1" (1.0 and 1.1) or "http2". */
enum stats_protocol { STATS_HTTP1, STATS_HTTP2, STATS_PROTOCOL_COUNT };

/* kiln_timeouts_total{kind} */
enum stats_timeout {
    STATS_TIMEOUT_HEADER,  /* TLS handshake or head incomplete at HEADER_TIMEOUT_SECS (408) */
    STATS_TIMEOUT_BODY,    /* body stalled for IDLE_TIMEOUT_SECS (408) */
    STATS_TIMEOUT_REQUEST, /* REQUEST_TIMEOUT passed, queued or running (504) */
    STATS_TIMEOUT_SSE,     /* SSE_TIMEOUT passed */
    STATS_TIMEOUT_WRITE,   /* client not reading for IDLE_TIMEOUT_SECS (HTTP/1 and HTTP/2) */
    STATS_TIMEOUT_COUNT,
};

/* kiln_connections_refused_total{reason} */
enum stats_refused {
    STATS_REFUSED_PER_IP, /* the client address had MAX_CONNECTIONS_PER_IP open: closed at accept */
    STATS_REFUSED_COUNT,
};

/* kiln_worker_restarts_total{reason} */
enum stats_restart {
    STATS_RESTART_RECYCLED,  /* WORKER_MAX_REQUESTS reached */
    STATS_RESTART_CRASHED,   /* died on its own (signal, exit, protocol error) */
    STATS_RESTART_TIMED_OUT, /* killed at REQUEST_TIMEOUT */
    STATS_RESTART_KILLED,    /* killed from outside (the OOM killer, an operator) */
    STATS_RESTART_COUNT,
};

/* How a graceful reload (SIGHUP) ended. */
enum stats_reload {
    STATS_RELOAD_OK,     /* the new php-zygote took over */
    STATS_RELOAD_FAILED, /* it did not start: the old workers serve on */
    STATS_RELOAD_COUNT,
};

/* kiln_php_mode{mode}: how PHP runs (WORKER_SCRIPT). */
enum stats_php_mode {
    STATS_PHP_MODE_CLASSIC, /* every request runs its own script */
    STATS_PHP_MODE_WORKER,  /* a worker script serves requests with kiln_handle_request() */
    STATS_PHP_MODE_COUNT,
};

/* kiln_opcache_restarts_total{reason}: OPcache's own counters. */
enum stats_opcache_restart {
    STATS_OPCACHE_OOM,
    STATS_OPCACHE_HASH,
    STATS_OPCACHE_MANUAL,
    STATS_OPCACHE_RESTART_COUNT,
};

/* The host, read at scrape time by the node reader (obs/sysinfo). */
struct stats_node {
    double load[3];         /* 1, 5 and 15 minutes */
    uint64_t mem_total;     /* bytes */
    uint64_t mem_available; /* bytes */
};

/* Fills `out`; false when nothing could be read (the gauges then read 0, as in the seed). */
typedef bool (*stats_node_reader)(struct stats_node *out);

/* OPcache's status, as a worker or the zygote reports it (never read by blocking the master). */
struct stats_opcache {
    uint64_t memory_used;  /* bytes */
    uint64_t memory_free;  /* bytes */
    double hit_ratio;      /* 0..1 */
    uint64_t cached_scripts;
    uint64_t restarts[STATS_OPCACHE_RESTART_COUNT]; /* since the zygote started */
};

struct stats {
    struct metrics_registry *registry;
    uint64_t started_ns; /* CLOCK_MONOTONIC at stats_init() */
    stats_node_reader node_reader;

    /* Requests: http/serve.c serve_request(), the main server's requests after the rate
       limiter (429s are counted only in rate_limited, as in the seed). Requests refused before
       routing (unparsable, bad Host, 408) and the HTTPS redirect listener's are not requests. */
    struct metrics_counter *requests[STATS_METHOD_COUNT];
    /* Responses: the end of an exchange (http/exchange.c, where chain_done runs), every
       response of the main server (429s, 408s and redirects included): status class, duration
       from x->start_ms, and body bytes the client gets (x->bytes_sent after compression; 0 for
       HEAD, 1xx, 204 and 304, whose bodies the protocol drops). */
    struct metrics_counter *responses[STATS_STATUS_COUNT];
    struct metrics_histogram *request_duration[STATS_PROTOCOL_COUNT];
    struct metrics_counter *response_bytes;

    struct metrics_gauge *active_connections; /* scrape: the main server's open connections */
    struct metrics_gauge *pending_requests;   /* scrape: pool_stats() */
    struct metrics_counter *dropped_requests; /* scrape: pool_stats(), the queue was full (503) */
    struct metrics_counter *abandoned_requests; /* scrape: pool_stats(), client gone while queued */
    struct metrics_gauge *uptime;             /* scrape */
    struct metrics_gauge *requests_per_second;  /* scrape: requests / uptime (seed) */
    struct metrics_gauge *response_time_avg;    /* scrape: mean of request_duration (seed) */

    /* SSE (issue 10 item 6): the stream starts, each flushed chunk, the stream ends. */
    struct metrics_gauge *sse_active;
    struct metrics_counter *sse_connections;
    struct metrics_counter *sse_chunks;
    struct metrics_counter *sse_bytes;

    /* The pool */
    struct metrics_gauge *workers;      /* scrape: PHP_WORKERS */
    struct metrics_gauge *workers_busy; /* scrape */
    struct metrics_gauge *workers_idle; /* scrape */
    struct metrics_gauge *php_mode[STATS_PHP_MODE_COUNT]; /* 1 for the mode in use, set once */
    struct metrics_gauge *queue_depth;  /* scrape: jobs waiting for a worker */
    struct metrics_counter *worker_restarts[STATS_RESTART_COUNT]; /* scrape: pool_stats() */
    struct metrics_counter *reloads[STATS_RELOAD_COUNT];          /* scrape: pool_stats() */
    /* Observed by pool/pool.c through pool_set_histograms() (http/internal.c hands them over) */
    struct metrics_histogram *queue_wait;   /* queued -> a worker began it */
    struct metrics_histogram *php_duration; /* began -> complete */

    /* Transport */
    struct metrics_counter *tls_handshakes;         /* net/tls.c (wired) */
    struct metrics_counter *tls_handshake_failures; /* net/tls.c (wired) */
    struct metrics_counter *h2_streams;   /* http/h2.c: a stream's request is dispatched */
    /* header, body, write: http/conn.c's timer; request: pool/pool.c's deadline (504) */
    struct metrics_counter *timeouts[STATS_TIMEOUT_COUNT];
    struct metrics_counter *rate_limited; /* middleware/mw_ratelimit.c: a 429 */
    struct metrics_counter *connections_refused[STATS_REFUSED_COUNT]; /* http/server.c accept */
    /* Per response sent compressed: middleware/compress.c's body filter (streamed bodies) and
       mw_compression.c (static files, compressed once and then served from the cache) */
    struct metrics_counter *compression_in;  /* bytes before compression */
    struct metrics_counter *compression_out; /* bytes after */

    /* OPcache: stats_set_opcache() at scrape (http/internal.c) */
    struct metrics_gauge *opcache_used;
    struct metrics_gauge *opcache_free;
    struct metrics_gauge *opcache_hit_ratio;
    struct metrics_gauge *opcache_scripts;
    struct metrics_counter *opcache_restarts[STATS_OPCACHE_RESTART_COUNT];

    /* The host (node exporter names): scrape, through node_reader */
    struct metrics_gauge *node_load[3];
    struct metrics_gauge *node_mem_total;
    struct metrics_gauge *node_mem_available;
    struct metrics_gauge *node_mem_used;
    struct metrics_gauge *memory_usage_percent;
};

extern struct stats stats_global;

/* Registers every family. 0, or -1 (nothing kept) when out of memory or a family is refused. */
int stats_init(void);
void stats_free(void);

/* The scrape-time reader of the host's load and memory; NULL = none (the gauges read 0). */
void stats_set_node_reader(stats_node_reader reader);

/* Sets the OPcache gauges, and its restart counters to the totals reported. */
void stats_set_opcache(const struct stats_opcache *o);

/* Requests counted so far, all methods (/health's total_requests). */
uint64_t stats_total_requests(void);

/* Sets the scrape-time values computed here (uptime, averages, the host), then appends the
   whole registry in the Prometheus text format 0.0.4 (METRICS_CONTENT_TYPE). */
void stats_render(struct buf *out);

/* "GET" -> STATS_GET ...; anything else (or NULL) -> STATS_OTHER. */
enum stats_method stats_method_of(const char *name);
/* "HTTP/2.0" -> STATS_HTTP2; anything else -> STATS_HTTP1. */
enum stats_protocol stats_protocol_of(const char *protocol);

/* ---- updates: each a no-op before stats_init() ------------------------------------------- */

static inline void stats_inc(struct metrics_counter *c)
{
    if (c)
        metrics_counter_inc(c);
}

static inline void stats_add(struct metrics_counter *c, uint64_t n)
{
    if (c)
        metrics_counter_add(c, n);
}

static inline void stats_gauge_add(struct metrics_gauge *g, double delta)
{
    if (g)
        metrics_gauge_add(g, delta);
}

static inline void stats_gauge_set(struct metrics_gauge *g, double v)
{
    if (g)
        metrics_gauge_set(g, v);
}

/* A duration measured on the loop's millisecond clock, observed in seconds. */
static inline void stats_observe_ms(struct metrics_histogram *h, uint64_t ms)
{
    if (h)
        metrics_histogram_observe(h, (double)ms / 1000.0);
}

static inline enum stats_status stats_status_class(int status)
{
    if (status >= 200 && status < 300)
        return STATS_2XX;
    if (status >= 300 && status < 400)
        return STATS_3XX;
    if (status >= 400 && status < 500)
        return STATS_4XX;
    return STATS_5XX;
}

/* serve_request(): one request. */
static inline void stats_count_request(const char *method_name)
{
    stats_inc(stats_global.requests[stats_method_of(method_name)]);
}

/* One pass of the response compressor: `in` bytes given, `out` produced. */
static inline void stats_count_compression(uint64_t in, uint64_t out)
{
    stats_add(stats_global.compression_in, in);
    stats_add(stats_global.compression_out, out);
}

/* The end of an exchange: its status, protocol, duration and body bytes. */
static inline void stats_count_response(int status, enum stats_protocol protocol,
                                        uint64_t duration_ms, uint64_t body_bytes)
{
    stats_inc(stats_global.responses[stats_status_class(status)]);
    stats_observe_ms(stats_global.request_duration[protocol], duration_ms);
    stats_add(stats_global.response_bytes, body_bytes);
}

static inline void stats_count_timeout(enum stats_timeout kind)
{
    stats_inc(stats_global.timeouts[kind]);
}

static inline void stats_count_tls_handshake(bool ok)
{
    stats_inc(ok ? stats_global.tls_handshakes : stats_global.tls_handshake_failures);
}

#endif
