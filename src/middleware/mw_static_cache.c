/*
 * Static cache (priority 50): Cache-Control and Expires on static files, from STATIC_CACHE_TTL.
 * Never on PHP responses (PHP sets its own caching headers). STATIC_CACHE_TTL=off adds nothing;
 * validators and 304 answers stay (they are HTTP, not caching policy).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "config.h"
#include "http/exchange.h"
#include "http/httpdate.h"
#include "middleware/chain.h"
#include "net/loop.h"

struct static_cache {
    uint64_t ttl_secs;
    struct loop *loop;
};

static bool static_cache_setup(const struct mw_env *env, void **instance, char *err,
                               size_t errlen)
{
    if (env->cfg->static_cache_ttl_secs == 0)
        return true; /* off */
    struct static_cache *sc = malloc(sizeof(*sc));
    if (!sc) {
        snprintf(err, errlen, "STATIC_CACHE_TTL: out of memory");
        return false;
    }
    *sc = (struct static_cache){env->cfg->static_cache_ttl_secs, env->loop};
    *instance = sc;
    return true;
}

static void static_cache_response(void *instance, struct exchange *x, long long *length)
{
    (void)length;
    const struct static_cache *sc = instance;
    uint64_t ttl = sc->ttl_secs;
    if (!x->is_static || (x->status != 200 && x->status != 206 && x->status != 304))
        return;
    char value[48];
    snprintf(value, sizeof(value), "public, max-age=%llu", (unsigned long long)ttl);
    headers_add_str(&x->response_headers, "Cache-Control", value);
    char expires[HTTPDATE_LEN + 1];
    httpdate_format(loop_wall_time(sc->loop) + (time_t)ttl, expires);
    headers_add_str(&x->response_headers, "Expires", expires);
}

const struct middleware middleware_static_cache = {
    .name = "static cache",
    .priority = 50,
    .setup = static_cache_setup,
    .teardown = free,
    .response = static_cache_response,
};
