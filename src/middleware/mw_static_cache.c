/*
 * Static cache (priority 50): Cache-Control and Expires on static files, from STATIC_CACHE_TTL.
 * Never on PHP responses (PHP sets its own caching headers). STATIC_CACHE_TTL=off adds nothing;
 * validators and 304 answers stay (they are HTTP, not caching policy).
 */
#include <stdio.h>
#include <time.h>

#include "http/exchange.h"
#include "http/httpdate.h"
#include "middleware/chain.h"
#include "http/server.h"

static void static_cache_response(struct exchange *x, long long *length)
{
    (void)length;
    uint64_t ttl = x->srv->cfg->static_cache_ttl_secs;
    if (!x->is_static || ttl == 0 || (x->status != 200 && x->status != 206 && x->status != 304))
        return;
    char value[48];
    snprintf(value, sizeof(value), "public, max-age=%llu", (unsigned long long)ttl);
    headers_add_str(&x->response_headers, "Cache-Control", value);
    char expires[HTTPDATE_LEN + 1];
    httpdate_format(loop_wall_time(x->srv->loop) + (time_t)ttl, expires);
    headers_add_str(&x->response_headers, "Expires", expires);
}

const struct middleware middleware_static_cache = {
    .name = "static cache",
    .priority = 50,
    .response = static_cache_response,
};
