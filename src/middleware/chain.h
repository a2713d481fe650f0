/*
 * The middleware chain, ordered by priority as in tokio_php: rate limit (-100), access log (-90),
 * static cache (50), error pages (90), compression (100); and Kiln's trace headers (-80) and
 * profiling headers (-70). The request phase runs from low to high and may answer early; the
 * response phase (just before the head goes out) and the end of the exchange run from high to
 * low.
 *
 * A middleware is one file defining a `struct middleware` plus one line in the table in chain.c.
 * Its state lives in an instance that setup() creates from a `struct mw_env`, never in file
 * statics, so that one process can run several chains (one per listener). docs/middleware.md
 * explains the interface.
 */
#ifndef KILN_MIDDLEWARE_CHAIN_H
#define KILN_MIDDLEWARE_CHAIN_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct exchange;
struct loop;
struct statcache;

/* What a middleware may use: nothing else of the server reaches it. */
struct mw_env {
    const struct config *cfg;
    struct loop *loop;
    struct statcache *statcache; /* static files: opened through it, confined to the root */
};

struct middleware {
    const char *name;
    int priority;
    /* Start-up: sets *instance (NULL = the middleware is off, and the chain skips it), or returns
       false with one line in err, which stops Kiln. NULL = always on, without an instance. */
    bool (*setup)(const struct mw_env *env, void **instance, char *err, size_t errlen);
    /* Shutdown: release the instance. */
    void (*teardown)(void *instance);
    /* SIGHUP: reload what is read from files. */
    void (*reload)(void *instance);
    /* Request phase: true when the middleware answered the request itself. */
    bool (*request)(void *instance, struct exchange *x);
    /* Response phase: may change x->status, x->response_headers and *length (-1 = unknown) before the head
       goes out, and may set the exchange's body override or install a filter. */
    void (*response)(void *instance, struct exchange *x, long long *length);
    /* The response is complete (or was aborted): x->status and x->bytes_sent are final. */
    void (*done)(void *instance, struct exchange *x);
};

/* The seven middlewares (mw_*.c). */
extern const struct middleware middleware_ratelimit;
extern const struct middleware middleware_accesslog;
extern const struct middleware middleware_trace;
extern const struct middleware middleware_profile;
extern const struct middleware middleware_static_cache;
extern const struct middleware middleware_error_pages;
extern const struct middleware middleware_compression;

struct chain;

/* The main listener's chain: the seven middlewares above, each set up from `env`. NULL with one
   line in err when a setup fails (what was set up before is released). */
struct chain *chain_setup(const struct mw_env *env, char *err, size_t errlen);
/* A chain of `count` middlewares, which must be sorted by priority (another listener's chain,
   or a test's). */
struct chain *chain_create(const struct mw_env *env, const struct middleware *const *table,
                           size_t count, char *err, size_t errlen);
/* Tears every middleware down and frees the chain; NULL is fine. */
void chain_teardown(struct chain *c);
void chain_reload(struct chain *c);

bool chain_request(struct chain *c, struct exchange *x);
void chain_response(struct chain *c, struct exchange *x, long long *length);
void chain_done(struct chain *c, struct exchange *x);

#endif
