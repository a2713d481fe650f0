#include "middleware/chain.h"

#include <stdio.h>

#include "http/exchange.h"

extern const struct middleware middleware_ratelimit;
extern const struct middleware middleware_accesslog;
extern const struct middleware middleware_static_cache;
extern const struct middleware middleware_error_pages;
extern const struct middleware middleware_compression;

/* Sorted by priority: the request phase walks it forwards, the response phase backwards. */
static const struct middleware *const chain[] = {
    &middleware_ratelimit,
    &middleware_accesslog,
    &middleware_static_cache,
    &middleware_error_pages,
    &middleware_compression,
};

#define CHAIN_LEN (sizeof(chain) / sizeof(chain[0]))

bool chain_setup(struct server *srv, char *err, size_t errlen)
{
    for (size_t i = 0; i < CHAIN_LEN; i++) {
        if (i > 0 && chain[i - 1]->priority > chain[i]->priority) {
            snprintf(err, errlen, "middleware %s is out of priority order", chain[i]->name);
            return false;
        }
        if (chain[i]->setup && !chain[i]->setup(srv, err, errlen))
            return false;
    }
    return true;
}

void chain_teardown(void)
{
    for (size_t i = CHAIN_LEN; i-- > 0;)
        if (chain[i]->teardown)
            chain[i]->teardown();
}

void chain_reload(void)
{
    for (size_t i = 0; i < CHAIN_LEN; i++)
        if (chain[i]->reload)
            chain[i]->reload();
}

bool chain_request(struct exchange *x)
{
    for (size_t i = 0; i < CHAIN_LEN; i++)
        if (chain[i]->request && chain[i]->request(x))
            return true;
    return false;
}

void chain_response(struct exchange *x, long long *length)
{
    for (size_t i = CHAIN_LEN; i-- > 0;)
        if (chain[i]->response)
            chain[i]->response(x, length);
}

void chain_done(struct exchange *x)
{
    for (size_t i = CHAIN_LEN; i-- > 0;)
        if (chain[i]->done)
            chain[i]->done(x);
}
