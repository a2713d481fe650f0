/*
 * Profiling headers (priority -70, PROFILE=on): how long a request took, on the response itself
 * and as `Server-Timing` (https://www.w3.org/TR/server-timing/), which browsers' devtools show:
 *
 *   X-Profile-Queue-Us, X-Profile-PHP-Us   PHP requests only (the pool's times, dispatch.c)
 *   X-Profile-Total-Us                     every response
 *   Server-Timing: queue;dur=0.000, php;dur=12.000, total;dur=13.000   (milliseconds)
 *
 * Every value is taken when the head goes out. Total runs from the moment the request was
 * complete (x->start_ms); queue from the submission to the pool until a worker took the job; PHP
 * from then on. A buffered PHP response sends its head when the script has ended, so the values
 * are final; a streamed one sends it at the first flush() (or beyond 64 KiB of output), so its
 * PHP and total times are "so far" (the access log has the final ones). Times come from the
 * event loop's clock: whole milliseconds, the microsecond headers are multiples of 1000.
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "http/exchange.h"
#include "middleware/chain.h"
#include "net/loop.h"

struct profile {
    struct loop *loop;
};

static bool profile_setup(const struct mw_env *env, void **instance, char *err, size_t errlen)
{
    if (!env->cfg->profile)
        return true; /* off */
    struct profile *p = malloc(sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "PROFILE: out of memory");
        return false;
    }
    p->loop = env->loop;
    *instance = p;
    return true;
}

static void add_us(struct exchange *x, const char *name, uint64_t ms)
{
    char value[24];
    snprintf(value, sizeof(value), "%llu", (unsigned long long)ms * 1000);
    headers_set(&x->response_headers, name, value);
}

static void profile_response(void *instance, struct exchange *x, long long *length)
{
    (void)length;
    const struct profile *p = instance;
    uint64_t total_ms = loop_now_ms(p->loop) - x->start_ms;
    char timing[96];
    if (x->php_queued) {
        add_us(x, "X-Profile-Queue-Us", x->queue_wait_ms);
        add_us(x, "X-Profile-PHP-Us", x->php_ms);
        snprintf(timing, sizeof(timing), "queue;dur=%llu.000, php;dur=%llu.000, total;dur=%llu.000",
                 (unsigned long long)x->queue_wait_ms, (unsigned long long)x->php_ms,
                 (unsigned long long)total_ms);
    } else {
        snprintf(timing, sizeof(timing), "total;dur=%llu.000", (unsigned long long)total_ms);
    }
    add_us(x, "X-Profile-Total-Us", total_ms);
    /* added, not set: a script's own Server-Timing metrics stay beside Kiln's */
    headers_add_str(&x->response_headers, "Server-Timing", timing);
}

const struct middleware middleware_profile = {
    .name = "profile",
    .priority = -70,
    .setup = profile_setup,
    .teardown = free,
    .response = profile_response,
};
