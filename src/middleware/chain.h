/*
 * The middleware chain, ordered by priority as in tokio_php: rate limit (-100), access log (-90),
 * static cache (50), error pages (90), compression (100). The request phase runs from low to high
 * and may answer early; the response phase (just before the head goes out) and the end of the
 * exchange run from high to low.
 *
 * A middleware is one file defining a `struct middleware` plus one line in the table in chain.c.
 * docs/middleware.md explains the interface.
 */
#ifndef KILN_MIDDLEWARE_CHAIN_H
#define KILN_MIDDLEWARE_CHAIN_H

#include <stdbool.h>
#include <stddef.h>

struct exchange;
struct server;

struct middleware {
    const char *name;
    int priority;
    /* Start-up: false (with one line in err) stops Kiln. NULL = nothing to set up. */
    bool (*setup)(struct server *srv, char *err, size_t errlen);
    /* Shutdown: release what setup made. */
    void (*teardown)(void);
    /* SIGHUP: reload what is read from files. */
    void (*reload)(void);
    /* Request phase: true when the middleware answered the request itself. */
    bool (*request)(struct exchange *x);
    /* Response phase: may change x->status, x->head and *length (-1 = unknown) before the head
       goes out, and may set the exchange's body override or encoder. */
    void (*response)(struct exchange *x, long long *length);
    /* The response is complete (or was aborted): x->status and x->bytes_sent are final. */
    void (*done)(struct exchange *x);
};

bool chain_setup(struct server *srv, char *err, size_t errlen);
void chain_teardown(void);
void chain_reload(void);
bool chain_request(struct exchange *x);
void chain_response(struct exchange *x, long long *length);
void chain_done(struct exchange *x);

#endif
