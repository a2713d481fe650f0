/*
 * kiln: start-up and shutdown. Reads the configuration, checks it against the file system,
 * forks the php-zygote (before any socket exists, so workers inherit none), raises the fd
 * limit, opens the listener, starts the worker pool and runs the event loop until
 * SIGTERM/SIGINT, then drains (after SHUTDOWN_DELAY; a second signal stops at once). Every
 * start-up failure is one line on stderr and exit status 2.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "http/internal.h"
#include "http/server.h"
#include "middleware/chain.h"
#include "net/listener.h"
#include "net/loop.h"
#include "net/sdnotify.h"
#include "net/tls.h"
#include "obs/log.h"
#include "obs/stats.h"
#include "php/zygote.h" /* zygote_main only: the one entry into PHP the master links */
#include "pool/pool.h"
#include "pool/zygote_ctl.h"

extern char **environ;

static struct server the_server;
static struct internal the_internal; /* INTERNAL_ADDR */
static struct chain *the_chain; /* the main listener's middleware */

/*
 * SIGTERM/SIGINT: a graceful shutdown (SHUTDOWN_DELAY, then the drain). A second one means
 * "now": everything is cut, yet Kiln still exits 0, because a stop that was asked for twice is
 * still a stop that was asked for, not a failure (systemd would mark the unit failed, and
 * Kubernetes would report the container as Error, for an ordinary deploy).
 */
static void on_signal(struct loop *loop, int signo)
{
    (void)loop;
    if (signo == SIGHUP) {
        chain_reload(the_chain);
        return;
    }
    const char *name = signo == SIGINT ? "SIGINT" : "SIGTERM";
    if (the_server.shutting_down) {
        log_info("received %s again; stopping now", name);
        server_stop_now(&the_server);
        return;
    }
    log_info("received %s; shutting down gracefully", name);
    sdnotify_stopping();
    server_shutdown(&the_server);
}

static int startup_error(const char *msg)
{
    fprintf(stderr, "kiln: %s\n", msg);
    return 2;
}

/* Descriptors kept back from client connections: listeners, files being sent, workers, logs. */
#define FD_RESERVE 64

static void fit_connections_to_fd_limit(struct config *cfg, unsigned long fd_limit)
{
    if (fd_limit <= FD_RESERVE || cfg->max_connections <= fd_limit - FD_RESERVE)
        return;
    log_info("MAX_CONNECTIONS %u lowered to %lu: the open-files limit is %lu",
             cfg->max_connections, fd_limit - FD_RESERVE, fd_limit);
    cfg->max_connections = (unsigned)(fd_limit - FD_RESERVE);
}

static const char *executor_name(enum config_executor e)
{
    return e == CONFIG_EXECUTOR_STUB ? "stub" : "ext";
}

/* The start-up line: its data fields say what runs (docs/observability.md); php: NULL for stub. */
static void log_startup(const struct config *cfg, bool tls, const struct zygote_ctl *php)
{
    const char *executor = executor_name(cfg->executor);
    struct buf d = {0};
    log_member_str(&d, "version", KILN_VERSION, strlen(KILN_VERSION));
    log_member_str(&d, "listen", cfg->listen.text, strlen(cfg->listen.text));
    log_member_bool(&d, "tls", tls);
    if (config_addr_is_set(&cfg->http_redirect))
        log_member_str(&d, "redirect", cfg->http_redirect.text, strlen(cfg->http_redirect.text));
    if (config_addr_is_set(&cfg->internal))
        log_member_str(&d, "internal", cfg->internal.text, strlen(cfg->internal.text));
    log_member_str(&d, "executor", executor, strlen(executor));
    log_member_int(&d, "workers", cfg->php_workers);
    log_member_int(&d, "queue", cfg->queue_capacity);
    if (php) {
        log_member_str(&d, "php_version", php->php_version, strlen(php->php_version));
        log_member_bool(&d, "opcache", php->opcache_enabled);
        log_member_bool(&d, "jit", php->jit_enabled);
    }
    log_data(LOG_LEVEL_INFO, &d, "kiln %s listening on %s://%s (executor: %s, workers: %u, queue: %u)",
             KILN_VERSION, tls ? "https" : "http", cfg->listen.text, executor, cfg->php_workers,
             cfg->queue_capacity);
    buf_free(&d);
}

static void log_configuration(const struct config *cfg, bool tls, const struct zygote_ctl *php)
{
    log_startup(cfg, tls, php);
    if (config_addr_is_set(&cfg->http_redirect))
        log_info("redirecting http://%s to https://", cfg->http_redirect.text);
    log_info("document root: %s%s%s", cfg->document_root, cfg->index_file[0] ? ", index file: " : "",
             cfg->index_file);
    log_info("max connections: %u", cfg->max_connections);
    if (config_addr_is_set(&cfg->internal))
        log_info("internal server listening on http://%s", cfg->internal.text);
}

/* Everything start-up creates, so that one function can release it on every path. */
struct kiln {
    struct config cfg;
    bool cfg_loaded;
    struct zygote_ctl zygote;
    bool zygote_started;
    struct tls_ctx *tls;
    struct loop *loop;
    struct pool *pool;
    bool server_ready;
    bool internal_ready;
};

static void kiln_release(struct kiln *k)
{
    if (k->internal_ready)
        internal_free(&the_internal);
    if (k->server_ready) {
        server_free(&the_server);
        chain_teardown(the_chain);
    }
    pool_destroy(k->pool);
    if (k->zygote_started)
        zygote_ctl_stop(&k->zygote);
    loop_destroy(k->loop);
    tls_ctx_free(k->tls);
    if (k->cfg_loaded)
        config_free(&k->cfg);
    stats_free();
}

static int open_listener(const struct config_addr *addr, const char *setting, bool redirect,
                         char *err, size_t errlen)
{
    char label[sizeof(addr->text) + 32];
    snprintf(label, sizeof(label), "%s %s", setting, addr->text);
    int fd = listener_open((const struct sockaddr *)&addr->sa, addr->len, label, err, errlen);
    if (fd < 0)
        return -1;
    if (server_listen(&the_server, fd, redirect) < 0) {
        close(fd);
        snprintf(err, errlen, "%s: epoll: %s", label, strerror(errno));
        return -1;
    }
    return 0;
}

/* The HTTP layer's middleware hooks, run by the chain. */
static bool hook_request(void *chain, struct exchange *x)
{
    return chain_request(chain, x);
}

static void hook_response(void *chain, struct exchange *x, long long *length)
{
    chain_response(chain, x, length);
}

static void hook_done(void *chain, struct exchange *x)
{
    chain_done(chain, x);
}

static int setup_middleware(struct server *srv, char *err, size_t errlen)
{
    struct mw_env env = {.cfg = srv->cfg, .loop = srv->loop, .statcache = srv->statcache};
    if (!(the_chain = chain_setup(&env, err, errlen)))
        return -1;
    srv->chain = (struct http_chain){the_chain, hook_request, hook_response, hook_done};
    return 0;
}

/* Start-up after the configuration is known; 0, or -1 with one line in `err`. */
static int kiln_start(struct kiln *k, char *err, size_t errlen)
{
    struct config *cfg = &k->cfg;
    if (config_check_paths(cfg, err, errlen) < 0)
        return -1;
    log_init(cfg->log_level, cfg->service_name);
    if (stats_init() < 0) {
        snprintf(err, errlen, "cannot register the metrics");
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (cfg->executor == CONFIG_EXECUTOR_EXT) {
        if (zygote_ctl_start(&k->zygote, cfg, zygote_main) < 0) {
            snprintf(err, errlen, "%s", k->zygote.err);
            return -1;
        }
        k->zygote_started = true;
        if (!k->zygote.opcache_enabled)
            log_warn("OPcache is not enabled under the kiln SAPI: PHP runs uncached");
    }
    /* Only now, after the zygote exists, do keys and sockets appear in this process. */
    if (cfg->tls_cert[0] && !(k->tls = tls_ctx_create(cfg->tls_cert, cfg->tls_key, err, errlen)))
        return -1;
    fit_connections_to_fd_limit(cfg, listener_raise_fd_limit());
    if (!(k->loop = loop_create())) {
        snprintf(err, errlen, "cannot create the event loop");
        return -1;
    }
    if (k->zygote_started && !(k->pool = pool_create(k->loop, cfg, &k->zygote))) {
        snprintf(err, errlen, "cannot create the worker pool");
        return -1;
    }
    if (server_init(&the_server, cfg, k->loop, k->pool, k->tls, err, errlen) < 0)
        return -1;
    k->server_ready = true;
    if (setup_middleware(&the_server, err, errlen) < 0)
        return -1;
    if (open_listener(&cfg->listen, "LISTEN_ADDR", false, err, errlen) < 0)
        return -1;
    if (config_addr_is_set(&cfg->http_redirect) &&
        open_listener(&cfg->http_redirect, "HTTP_REDIRECT_ADDR", true, err, errlen) < 0)
        return -1;
    if (config_addr_is_set(&cfg->internal)) {
        k->internal_ready = true; /* internal_free() is safe after a failed start */
        if (internal_start(&the_internal, cfg, k->loop, &the_server, k->pool, err, errlen) < 0)
            return -1;
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    if (loop_handle_signals(k->loop, &signals, on_signal) < 0) {
        snprintf(err, errlen, "signalfd: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct kiln k = {0};
    char err[CONFIG_ERR_MAX];
    switch (config_load(&k.cfg, argc, argv, environ, err, sizeof(err))) {
    case CONFIG_OK:
        break;
    case CONFIG_EXIT_OK:
        config_free(&k.cfg);
        return 0;
    case CONFIG_ERROR:
        config_free(&k.cfg);
        return startup_error(err);
    }
    k.cfg_loaded = true;
    if (kiln_start(&k, err, sizeof(err)) < 0) {
        kiln_release(&k);
        return startup_error(err);
    }
    log_configuration(&k.cfg, k.tls != NULL, k.zygote_started ? &k.zygote : NULL);
    char status[sizeof(k.cfg.listen.text) + 16];
    snprintf(status, sizeof(status), "serving on %s", k.cfg.listen.text);
    sdnotify_ready(status); /* systemd's Type=notify: the listeners are open */
    int rc = loop_run(k.loop);
    kiln_release(&k);
    log_info("shutdown complete");
    return rc == 0 ? 0 : 1;
}
