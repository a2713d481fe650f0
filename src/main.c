/*
 * kiln: start-up and shutdown. Reads the configuration, checks it against the file system,
 * forks the php-zygote (before any socket exists, so workers inherit none), raises the fd
 * limit, opens the listener, starts the worker pool and runs the event loop until
 * SIGTERM/SIGINT, then drains. Every start-up failure is one line on stderr and exit status 2.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "net/listener.h"
#include "net/loop.h"
#include "obs/log.h"
#include "php/zygote.h"
#include "pool/pool.h"
#include "server.h"

extern char **environ;

static struct server the_server;

static void on_signal(struct loop *loop, int signo)
{
    (void)loop;
    log_info("received %s; shutting down gracefully", signo == SIGINT ? "SIGINT" : "SIGTERM");
    server_drain(&the_server);
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

static void log_configuration(const struct config *cfg, unsigned long fd_limit)
{
    log_info("kiln %s listening on http://%s (executor: %s, workers: %u, queue: %u)", KILN_VERSION,
             cfg->listen.text, executor_name(cfg->executor), cfg->php_workers,
             cfg->queue_capacity);
    log_info("document root: %s%s%s", cfg->document_root, cfg->index_file[0] ? ", index file: " : "",
             cfg->index_file);
    log_info("open files limit: %lu, max connections: %u", fd_limit, cfg->max_connections);
}

int main(int argc, char **argv)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    switch (config_load(&cfg, argc, argv, environ, err, sizeof(err))) {
    case CONFIG_OK:
        break;
    case CONFIG_EXIT_OK:
        config_free(&cfg);
        return 0;
    case CONFIG_ERROR:
        config_free(&cfg);
        return startup_error(err);
    }
    if (config_check_paths(&cfg, err, sizeof(err)) < 0) {
        config_free(&cfg);
        return startup_error(err);
    }
    log_init(cfg.log_level, cfg.service_name);
    signal(SIGPIPE, SIG_IGN);
    struct zygote zygote;
    bool use_php = cfg.executor == CONFIG_EXECUTOR_EXT;
    if (use_php && zygote_start(&zygote, &cfg) < 0) {
        config_free(&cfg);
        return startup_error(zygote.err);
    }
    unsigned long fd_limit = listener_raise_fd_limit();
    fit_connections_to_fd_limit(&cfg, fd_limit);

    int listen_fd = listener_open(&cfg.listen, "LISTEN_ADDR", err, sizeof(err));
    if (listen_fd < 0) {
        config_free(&cfg);
        return startup_error(err);
    }
    struct loop *loop = loop_create();
    if (!loop) {
        config_free(&cfg);
        return startup_error("cannot create the event loop");
    }
    struct pool *pool = use_php ? pool_create(loop, &cfg, &zygote) : NULL;
    if (use_php && !pool) {
        config_free(&cfg);
        return startup_error("cannot create the worker pool");
    }
    if (server_init(&the_server, &cfg, loop, listen_fd, pool, err, sizeof(err)) < 0) {
        config_free(&cfg);
        return startup_error(err);
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    loop_handle_signals(loop, &signals, on_signal);

    log_configuration(&cfg, fd_limit);
    int rc = loop_run(loop);
    server_free(&the_server);
    pool_destroy(pool);
    if (use_php)
        zygote_stop(&zygote);
    loop_destroy(loop);
    config_free(&cfg);
    log_info("shutdown complete");
    return rc == 0 ? 0 : 1;
}
