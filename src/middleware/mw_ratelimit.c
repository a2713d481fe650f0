/*
 * Rate limiting (priority -100, the first to see a request): RATE_LIMIT requests per client
 * per RATE_WINDOW seconds, fixed windows as in tokio_php, clients keyed by IPv4 address or IPv6
 * /64 (ratelimit.c). The client is the peer, or the X-Forwarded-For hop named by a trusted
 * proxy (TRUSTED_PROXIES). Refused requests get 429 with Retry-After; every response carries
 * X-RateLimit-Limit, -Remaining and -Reset (tokio_php's docs promised them, its code only put
 * them on 429s).
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "http/exchange.h"
#include "middleware/chain.h"
#include "middleware/ratelimit.h"
#include "net/loop.h"
#include "obs/stats.h"

/* Clients tracked at once (32 bytes each); beyond it the oldest windows are forgotten first. */
#define RATELIMIT_CLIENTS 65536

struct ratelimit_mw {
    struct ratelimit *limiter;
    const struct addr_cidr_list *proxies; /* TRUSTED_PROXIES */
    struct loop *loop;
};

static bool ratelimit_mw_setup(const struct mw_env *env, void **instance, char *err,
                               size_t errlen)
{
    const struct config *cfg = env->cfg;
    if (cfg->rate_limit == 0)
        return true;
    struct ratelimit_mw *rl = malloc(sizeof(*rl));
    if (rl)
        *rl = (struct ratelimit_mw){
            .limiter = ratelimit_create(cfg->rate_limit, cfg->rate_window_secs, RATELIMIT_CLIENTS),
            .proxies = &cfg->trusted_proxies,
            .loop = env->loop,
        };
    if (!rl || !rl->limiter) {
        free(rl);
        snprintf(err, errlen, "RATE_LIMIT: cannot allocate the table of clients");
        return false;
    }
    *instance = rl;
    return true;
}

static void ratelimit_mw_teardown(void *instance)
{
    struct ratelimit_mw *rl = instance;
    ratelimit_destroy(rl->limiter);
    free(rl);
}

static bool ratelimit_mw_request(void *instance, struct exchange *x)
{
    struct ratelimit_mw *rl = instance;
    struct addr_ip peer, client;
    if (!addr_ip_from_sockaddr(x->peer, &peer))
        return false;
    size_t xff_len;
    const char *xff = exchange_header(x, "X-Forwarded-For", &xff_len);
    addr_client_ip(rl->proxies, &peer, xff, xff_len, &client);
    struct ratelimit_result r;
    ratelimit_check(rl->limiter, &client, loop_now_ms(rl->loop), &r);
    /* These entries reach whatever response follows (only a PHP failure starts over). */
    char limit[12], remaining[12], reset[12];
    snprintf(limit, sizeof(limit), "%u", r.limit);
    snprintf(remaining, sizeof(remaining), "%u", r.remaining);
    snprintf(reset, sizeof(reset), "%u", r.reset_secs);
    headers_add_str(&x->response_headers, "X-RateLimit-Limit", limit);
    headers_add_str(&x->response_headers, "X-RateLimit-Remaining", remaining);
    headers_add_str(&x->response_headers, "X-RateLimit-Reset", reset);
    if (r.allowed)
        return false;
    headers_add_str(&x->response_headers, "Retry-After", reset);
    stats_inc(stats_global.rate_limited);
    exchange_reply_status(x, 429);
    return true;
}

const struct middleware middleware_ratelimit = {
    .name = "rate limit",
    .priority = -100,
    .setup = ratelimit_mw_setup,
    .teardown = ratelimit_mw_teardown,
    .request = ratelimit_mw_request,
};
