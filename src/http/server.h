/*
 * The server: what every connection shares. It owns the listener and accepts connections
 * (pausing, never spinning, when the connection limit or the fd limit is reached), the document
 * root and its router, and the drain on shutdown.
 */
#ifndef KILN_HTTP_SERVER_H
#define KILN_HTTP_SERVER_H

#include <stdbool.h>
#include <sys/queue.h>

#include "config.h"
#include "http/http1.h"
#include "http/router.h"
#include "net/loop.h"
#include "net/peercount.h"

struct conn;
struct exchange;
struct pool;
struct tls_ctx;

/*
 * The middleware, as the HTTP layer sees it: three hooks that main.c fills with the chain
 * (middleware/chain.h), which http/ never includes. A hook left NULL does nothing.
 */
struct http_chain {
    void *ctx;
    /* true when the chain answered the request itself */
    bool (*request)(void *ctx, struct exchange *x);
    /* before the head goes out; *length -1 = unknown */
    void (*response)(void *ctx, struct exchange *x, long long *length);
    /* the response is complete or aborted */
    void (*done)(void *ctx, struct exchange *x);
};

#define SERVER_MAX_LISTENERS 2

struct server_listener {
    struct loop_io io;
    struct server *srv;
    bool redirect; /* HTTP_REDIRECT_ADDR: plain HTTP, every request gets a 301 to https:// */
};

struct server {
    const struct config *cfg;
    struct loop *loop;
    int root_fd;
    struct statcache *statcache;
    struct router router;
    struct http1_limits limits;
    struct pool *pool;        /* PHP workers; NULL with EXECUTOR=stub */
    struct tls_ctx *tls;      /* the main listener speaks TLS; NULL for plain HTTP */
    /* Answers every request instead of the router and the chain (the internal server); NULL
       for the document root. */
    void (*handler)(struct exchange *x);
    struct http_chain chain;  /* the middleware; zero = none */

    struct server_listener listeners[SERVER_MAX_LISTENERS];
    unsigned listener_count;
    bool accept_paused;
    struct loop_timer accept_retry;

    unsigned conn_count;
    struct peercount per_ip;  /* open connections per client address (MAX_CONNECTIONS_PER_IP) */
    LIST_HEAD(, conn) conns;  /* every open connection (for the drain) */
    unsigned closed_since_trim; /* connections closed since malloc_trim() last ran */
    struct loop_defer trim;   /* malloc_trim() after the batch, once they are freed */

    bool shutting_down;       /* SIGTERM/SIGINT arrived: not ready (/ready 503) from then on */
    struct loop_timer delay_timer; /* SHUTDOWN_DELAY: still serving, then the drain */
    bool draining;            /* no longer accepting; connections finish and close */
    struct loop_timer drain_timer;
};

/* Sets up the router on cfg->document_root. `pool` and `tls` may be NULL. */
int server_init(struct server *srv, const struct config *cfg, struct loop *loop,
                struct pool *pool, struct tls_ctx *tls, char *err, size_t errlen);
/*
 * A reload's document root (DOCUMENT_ROOT resolved again, a symlink deploy's new target): files
 * are looked up under `path` from now on. 0, or -1 with `err` set and the old root kept. The
 * caller updates cfg->document_root, which PHP requests carry.
 */
int server_set_root(struct server *srv, const char *path, char *err, size_t errlen);
/* A server without a document root whose every request goes to `handler`, plain HTTP. */
void server_init_handler(struct server *srv, const struct config *cfg, struct loop *loop,
                         void (*handler)(struct exchange *x));
/* Starts accepting on `fd` (the server closes it at the end). */
int server_listen(struct server *srv, int fd, bool redirect);
void server_free(struct server *srv);

/*
 * The first SIGTERM/SIGINT: the server stops being ready at once (the internal server's /ready
 * answers 503) but keeps accepting and serving for SHUTDOWN_DELAY, so that load balancers take
 * it out of rotation before it refuses anything; then it drains (server_drain).
 */
void server_shutdown(struct server *srv);
/* Stops accepting, closes idle connections, lets busy ones finish; stops the loop when the last
   one closes or DRAIN_TIMEOUT_SECS passes (what is left is cut, and logged). */
void server_drain(struct server *srv);
/* A second signal means "now": stops the loop at once; what is open is cut, and logged. */
void server_stop_now(struct server *srv);

/* The middleware's phases, for exchange.c and serve.c. */
static inline bool server_chain_request(struct server *srv, struct exchange *x)
{
    return srv->chain.request && srv->chain.request(srv->chain.ctx, x);
}

static inline void server_chain_response(struct server *srv, struct exchange *x,
                                         long long *length)
{
    if (srv->chain.response)
        srv->chain.response(srv->chain.ctx, x, length);
}

static inline void server_chain_done(struct server *srv, struct exchange *x)
{
    if (srv->chain.done)
        srv->chain.done(srv->chain.ctx, x);
}

/* Called by the connection code. */
void server_conn_opened(struct server *srv, struct conn *c);
void server_conn_closed(struct server *srv, struct conn *c);

#endif
