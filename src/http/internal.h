/*
 * The internal server (INTERNAL_ADDR, off by default): health, readiness, liveness, metrics and
 * the effective configuration, for load balancers, Kubernetes probes and Prometheus.
 *
 * It is a second `struct server` in the master's event loop, plain HTTP, with its own listener
 * and connections and a handler instead of the document root's router: it never queues behind
 * user requests and never needs a PHP worker, so it answers while every worker is busy or hung.
 * Its requests skip the middleware chain's request phase (no rate limit).
 *
 *   GET /health   200 {"status":"ok","timestamp":<unix s>,"active_connections":N,"total_requests":N}
 *   GET /ready    200 once every PHP worker is up and the main server accepts; 503 while
 *                 starting or draining (SIGTERM)
 *   GET /live     200 while the event loop turns
 *   GET /metrics  Prometheus text format 0.0.4 (obs/stats)
 *   GET /config   the effective configuration as JSON, secrets redacted (config_write_json)
 * Anything else 404; methods other than GET and HEAD 405.
 */
#ifndef KILN_HTTP_INTERNAL_H
#define KILN_HTTP_INTERNAL_H

#include <stddef.h>

#include "config.h"
#include "http/server.h"
#include "net/loop.h"

struct pool;

struct internal {
    struct server srv;         /* its own connections and listener; no document root */
    const struct server *main; /* the user-facing server: its connections, its drain */
    struct pool *pool;         /* NULL with EXECUTOR=stub */
};

/* Listens on cfg->internal. 0, or -1 with one line in `err` ("INTERNAL_ADDR ...: ..."). */
int internal_start(struct internal *in, const struct config *cfg, struct loop *loop,
                   const struct server *main, struct pool *pool, char *err, size_t errlen);
/* Closes its connections and listener. */
void internal_free(struct internal *in);

#endif
