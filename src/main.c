/*
 * kiln: start-up, reload and shutdown. Reads the configuration, checks it against the file
 * system, forks the php-zygote (before any socket exists, so workers inherit none), raises the
 * fd limit, opens the listener, starts the worker pool and runs the event loop until
 * SIGTERM/SIGINT, then drains (after SHUTDOWN_DELAY; a second signal stops at once). SIGHUP is
 * a graceful reload. Every start-up failure is one line on stderr and exit status 2.
 *
 * The same binary is also a reload's php-zygote (started by exec, see pool/zygote_ctl.h) and
 * the `--reload PID` command.
 */
#include <errno.h>
#include <limits.h>
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
#include "net/reloadctl.h"
#include "net/sdnotify.h"
#include "net/tls.h"
#include "net/watch.h"
#include "obs/log.h"
#include "obs/stats.h"
#include "php/zygote.h" /* zygote_main only: the one entry into PHP the master links */
#include "pool/pool.h"
#include "pool/zygote_ctl.h"

extern char **environ;

/*
 * A reload's settings: loaded again as the reload begins (same argv and environment, the env
 * file read again), compared with the running ones, and taken when the reload succeeds.
 */
struct reload_settings {
    struct config next;
    bool loaded;
    char **zygote_argv; /* the master's argv, then --flag=<running value> for each setting that
                           needs a restart and changed: the new php-zygote must not take it */
    int owned_from;     /* zygote_argv[owned_from..] are ours to free */
    bool out_of_memory; /* while adding to zygote_argv */
};

/* Everything start-up creates, so that one function can release it on every path. */
struct kiln {
    struct config cfg;
    bool cfg_loaded;
    unsigned long fd_limit;   /* MAX_CONNECTIONS was fitted to it */
    struct reload_settings reload;
    struct zygote_ctl zygote; /* the first php-zygote; the pool takes it over */
    bool zygote_started;      /* and it is ours to stop (until the pool has it) */
    struct tls_ctx *tls;
    struct loop *loop;
    struct pool *pool;
    struct watch *watch; /* WORKER_WATCH */
    bool server_ready;
    bool internal_ready;
};

static struct kiln the_kiln;
static struct server the_server;
static struct internal the_internal; /* INTERNAL_ADDR */
static struct chain *the_chain; /* the main listener's middleware */
static int the_argc;            /* the master's arguments: a reload loads its settings again */
static char **the_argv;

/* Descriptors kept back from client connections: listeners, files being sent, workers, logs. */
#define FD_RESERVE 64

/* MAX_CONNECTIONS as the open-files limit allows. */
static unsigned connections_fit(unsigned max_connections, unsigned long fd_limit)
{
    if (fd_limit <= FD_RESERVE || max_connections <= fd_limit - FD_RESERVE)
        return max_connections;
    return (unsigned)(fd_limit - FD_RESERVE);
}

/* ---- reload ------------------------------------------------------------------------------- */

/* `kiln --reload` processes waiting for the outcome of the reload under way. */
#define RELOAD_ASKERS_MAX 16
static pid_t reload_askers[RELOAD_ASKERS_MAX];
static unsigned reload_asker_count;

static void reload_tls(struct kiln *k)
{
    char err[CONFIG_ERR_MAX];
    struct tls_ctx *fresh = tls_ctx_create(k->cfg.tls_cert, k->cfg.tls_key, err, sizeof err);
    if (!fresh) {
        log_warn("reload: the TLS certificate stays as it was: %s", err);
        return;
    }
    tls_ctx_free(k->tls); /* open connections keep what they were made with */
    k->tls = fresh;
    the_server.tls = fresh;
}

/* DOCUMENT_ROOT resolved again: a symlink deploy ("current" -> a new release) is taken. */
static void reload_document_root(struct kiln *k)
{
    char root[PATH_MAX], err[CONFIG_ERR_MAX];
    if (config_resolve_document_root(k->cfg.document_root_setting, root, err, sizeof err) < 0) {
        log_warn("reload: %s; the document root stays %s", err, k->cfg.document_root);
        return;
    }
    if (strcmp(root, k->cfg.document_root) == 0)
        return;
    if (server_set_root(&the_server, root, err, sizeof err) < 0) {
        log_warn("reload: %s; the document root stays %s", err, k->cfg.document_root);
        return;
    }
    log_info("reload: the document root is now %s (was %s)", root, k->cfg.document_root);
    memcpy(k->cfg.document_root, root, strlen(root) + 1);
}

static void reload_settings_forget(struct reload_settings *r)
{
    if (r->zygote_argv)
        for (char **a = r->zygote_argv + r->owned_from; *a; a++)
            free(*a);
    free(r->zygote_argv);
    r->zygote_argv = NULL;
    if (r->loaded)
        config_free(&r->next);
    r->loaded = false;
}

static void count_restart_only(void *arg, const struct config_change *change)
{
    *(unsigned *)arg += !change->reload;
}

/* A change the running master cannot take: logged, and kept from the new php-zygote. */
static void keep_restart_only(void *arg, const struct config_change *change)
{
    struct reload_settings *r = arg;
    if (change->reload)
        return;
    if (change->secret)
        log_warn("reload: %s changed: it needs a restart; the running value stays", change->name);
    else
        log_warn("reload: %s changed from %s to %s: it needs a restart; the running value stays",
                 change->name, change->from, change->to);
    size_t n = strlen(change->flag) + strlen(change->from) + 2;
    char **slot = r->zygote_argv + r->owned_from;
    while (*slot)
        slot++;
    if (!(*slot = malloc(n))) {
        r->out_of_memory = true; /* the reload fails: a zygote without the flag would take it */
        return;
    }
    snprintf(*slot, n, "%s=%s", change->flag, change->from);
}

/*
 * The settings loaded again as a reload begins: 0, or -1 with `err` (a bad line in the env
 * file), and the reload fails with nothing started. Changes that need a restart are logged here.
 */
static int reload_load_settings(struct kiln *k, char *err, size_t errlen)
{
    struct reload_settings *r = &k->reload;
    reload_settings_forget(r);
    if (config_load(&r->next, the_argc, the_argv, environ, err, errlen) != CONFIG_OK) {
        config_free(&r->next);
        return -1;
    }
    r->loaded = true;
    /* the running value was fitted at start-up: so is this one, or it would look changed */
    r->next.max_connections = connections_fit(r->next.max_connections, k->fd_limit);
    unsigned restart_only = 0;
    config_diff(&k->cfg, &r->next, count_restart_only, &restart_only);
    if (!(r->zygote_argv = calloc((size_t)the_argc + restart_only + 1, sizeof *r->zygote_argv))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(r->zygote_argv, the_argv, (size_t)the_argc * sizeof *the_argv);
    r->owned_from = the_argc;
    r->out_of_memory = false;
    config_diff(&k->cfg, &r->next, keep_restart_only, r);
    if (r->out_of_memory) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* The pool asks as each reload begins (pool_set_reload()). */
static char *const *reload_zygote_argv(void *arg, char *why, size_t whylen)
{
    struct kiln *k = arg;
    return reload_load_settings(k, why, whylen) < 0 ? NULL : k->reload.zygote_argv;
}

static void log_applied(void *arg, const struct config_change *change)
{
    (void)arg;
    if (!change->reload)
        return;
    if (change->secret)
        log_info("reload: %s changed", change->name);
    else
        log_info("reload: %s changed from %s to %s", change->name, change->from, change->to);
}

/* The reload succeeded: the settings it applies become the running ones (the document root
   is resolved again by reload_master()). */
static void reload_take_settings(struct kiln *k)
{
    config_diff(&k->cfg, &k->reload.next, log_applied, NULL);
    config_take_reloadable(&k->cfg, &k->reload.next);
}

/* What the master reads from files: taken when the new PHP workers take over. */
static void reload_master(struct kiln *k)
{
    reload_document_root(k);
    if (k->tls)
        reload_tls(k);
    chain_reload(the_chain); /* error pages, compressed copies of static files */
}

/* READY=1 for systemd, with the status line `systemctl status` shows. */
static void notify_serving(const struct config *cfg)
{
    char status[sizeof(cfg->listen.text) + 16];
    snprintf(status, sizeof(status), "serving on %s", cfg->listen.text);
    sdnotify_ready(status);
}

static void reload_answer_askers(bool ok)
{
    for (unsigned i = 0; i < reload_asker_count; i++)
        reloadctl_answer(reload_askers[i], ok);
    reload_asker_count = 0;
}

/* A reload has ended: the pool's word on it (pool_reload()), or at once without PHP workers. */
static void on_reloaded(void *arg, bool ok, const char *why)
{
    struct kiln *k = arg;
    if (ok) {
        reload_take_settings(k);
        reload_master(k);
        log_info("reload complete: new requests run the new code");
    } else {
        log_error("reload failed: %s; nothing changed", why);
    }
    reload_settings_forget(&k->reload);
    if (!k->pool || !pool_reload_pending(k->pool)) {
        reload_answer_askers(ok);
        notify_serving(&k->cfg); /* ends systemd's "reloading" either way */
    }
}

/* A reload, asked for by SIGHUP or WORKER_WATCH; on_reloaded() tells how it ended. */
static void reload_start(struct kiln *k)
{
    sdnotify_reloading();
    if (k->pool) {
        pool_reload(k->pool); /* on_reloaded() follows */
        return;
    }
    char err[CONFIG_ERR_MAX]; /* no PHP workers (EXECUTOR=stub): only the settings and files */
    bool ok = reload_load_settings(k, err, sizeof err) == 0;
    on_reloaded(k, ok, err);
}

static void reload(struct kiln *k, const struct loop_signal *sig)
{
    if (reloadctl_wants_answer(sig) && reload_asker_count < RELOAD_ASKERS_MAX)
        reload_askers[reload_asker_count++] = sig->sender;
    if (the_server.shutting_down) {
        log_info("received SIGHUP while shutting down; not reloading");
        reload_answer_askers(false);
        return;
    }
    log_info("received SIGHUP; reloading");
    reload_start(k);
}

/* WORKER_WATCH saw PHP files change (it logged which). */
static void on_watch_change(void *arg, const char *path)
{
    (void)path;
    if (!the_server.shutting_down)
        reload_start(arg);
}

/*
 * SIGTERM/SIGINT: a graceful shutdown (SHUTDOWN_DELAY, then the drain). A second one means
 * "now": everything is cut, yet Kiln still exits 0, because a stop that was asked for twice is
 * still a stop that was asked for, not a failure (systemd would mark the unit failed, and
 * Kubernetes would report the container as Error, for an ordinary deploy).
 */
static void on_signal(struct loop *loop, const struct loop_signal *sig)
{
    (void)loop;
    if (sig->signo == SIGHUP) {
        reload(&the_kiln, sig);
        return;
    }
    const char *name = sig->signo == SIGINT ? "SIGINT" : "SIGTERM";
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

static void fit_connections_to_fd_limit(struct config *cfg, unsigned long fd_limit)
{
    unsigned fit = connections_fit(cfg->max_connections, fd_limit);
    if (fit == cfg->max_connections)
        return;
    log_info("MAX_CONNECTIONS %u lowered to %u: the open-files limit is %lu",
             cfg->max_connections, fit, fd_limit);
    cfg->max_connections = fit;
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

static void kiln_release(struct kiln *k)
{
    if (k->internal_ready)
        internal_free(&the_internal);
    if (k->server_ready) {
        server_free(&the_server);
        chain_teardown(the_chain);
    }
    watch_free(k->watch);
    pool_destroy(k->pool);
    if (k->zygote_started)
        zygote_ctl_stop(&k->zygote);
    loop_destroy(k->loop);
    tls_ctx_free(k->tls);
    if (k->cfg_loaded)
        config_free(&k->cfg);
    reload_settings_forget(&k->reload);
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
    k->fd_limit = listener_raise_fd_limit();
    fit_connections_to_fd_limit(cfg, k->fd_limit);
    if (!(k->loop = loop_create())) {
        snprintf(err, errlen, "cannot create the event loop");
        return -1;
    }
    if (k->zygote_started && !(k->pool = pool_create(k->loop, cfg, &k->zygote))) {
        snprintf(err, errlen, "cannot create the worker pool");
        return -1;
    }
    if (k->pool) {
        k->zygote_started = false; /* the pool's to stop now */
        pool_set_reload(k->pool, reload_zygote_argv, environ, on_reloaded, k);
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
    /* after the zygote: the inotify descriptor is close-on-exec, and no worker forks from here */
    if (cfg->worker_watch.count > 0 &&
        !(k->watch = watch_start(k->loop, &cfg->worker_watch, on_watch_change, k, err, errlen)))
        return -1;
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

/*
 * A reload's php-zygote: the master ran its own binary again with ZYGOTE_CTL_EXEC_FLAG=<spec>
 * first and then its own arguments, in its own environment. The settings are read again the
 * same way (DOCUMENT_ROOT's link resolved again); PHP starts fresh in zygote_main().
 */
static int run_reload_zygote(int argc, char **argv)
{
    struct zygote_ctl_child child;
    if (zygote_ctl_exec_attach(argv[1] + strlen(ZYGOTE_CTL_EXEC_FLAG "="), &child) < 0)
        return startup_error("php-zygote: bad start-up arguments");
    argv[1] = argv[0]; /* the master's own arguments follow */
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    if (config_load(&cfg, argc - 1, argv + 1, environ, err, sizeof err) != CONFIG_OK ||
        config_check_paths(&cfg, err, sizeof err) < 0) {
        zygote_ctl_report_start_failure(child.sock, err);
        config_free(&cfg);
        return 2;
    }
    zygote_main(child.sock, &cfg, child.master, child.board, child.scoreboard, child.slots);
}

/* `kiln --reload PID`: seconds to wait for the answer (a preload script may take a while). */
#define RELOAD_WAIT_SECS 120

static int run_reload_command(pid_t pid)
{
    char err[CONFIG_ERR_MAX];
    int rc = reloadctl_request(pid, RELOAD_WAIT_SECS, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "kiln: --reload: %s\n", err);
        return 1;
    }
    if (rc > 0)
        fprintf(stderr, "kiln: --reload: the reload of pid %d failed (its log says why); the "
                        "running workers serve on\n", (int)pid);
    return rc;
}

int main(int argc, char **argv)
{
    struct kiln *k = &the_kiln;
    char err[CONFIG_ERR_MAX];
    if (argc > 1 && strncmp(argv[1], ZYGOTE_CTL_EXEC_FLAG "=", strlen(ZYGOTE_CTL_EXEC_FLAG) + 1) == 0)
        return run_reload_zygote(argc, argv);
    the_argc = argc;
    the_argv = argv;
    switch (config_load(&k->cfg, argc, argv, environ, err, sizeof(err))) {
    case CONFIG_OK:
        break;
    case CONFIG_EXIT_OK:
        config_free(&k->cfg);
        return 0;
    case CONFIG_RELOAD:
        config_free(&k->cfg);
        return run_reload_command(k->cfg.reload_pid);
    case CONFIG_ERROR:
        config_free(&k->cfg);
        return startup_error(err);
    }
    k->cfg_loaded = true;
    if (kiln_start(k, err, sizeof(err)) < 0) {
        kiln_release(k);
        return startup_error(err);
    }
    log_configuration(&k->cfg, k->tls != NULL, k->pool ? &k->zygote : NULL);
    notify_serving(&k->cfg); /* systemd's Type=notify: the listeners are open */
    int rc = loop_run(k->loop);
    kiln_release(k);
    log_info("shutdown complete");
    return rc == 0 ? 0 : 1;
}
