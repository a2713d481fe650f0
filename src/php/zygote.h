/*
 * The php-zygote: the one process that starts PHP (php.ini, extensions, OPcache's shared
 * memory, preload) and forks the PHP workers, so every worker shares that start-up and the
 * OPcache segment. The master forks it first, before any listener, TLS key or client socket
 * exists, and never loads PHP itself.
 *
 * This is the zygote's side only. The master's side (fork, spawn requests, reports, stop) is
 * pool/zygote_ctl.h, which knows no PHP: main.c hands it zygote_main, the one entry point into
 * this folder the master links (docs/architecture.md, "The PHP boundary").
 *
 * The zygote is in its own process group (a terminal's Ctrl-C reaches the master only), each
 * worker leads one of its own, and all die with their parent (PR_SET_PDEATHSIG). A worker's
 * group goes with it: the zygote kills it when it reaps the worker, and, as a child subreaper,
 * kills any process orphaned by a worker's death (docs/php.md, section 7).
 */
#ifndef KILN_PHP_ZYGOTE_H
#define KILN_PHP_ZYGOTE_H

#include <stdnoreturn.h>
#include <sys/types.h>

#include "config.h"
#include "pool/proto.h"
#include "pool/scoreboard.h"

/*
 * The zygote process (a zygote_ctl_main_fn): starts PHP, reports READY or START_FAILED on
 * `sock`, then forks a worker for every SPAWN request and reports its exits, until the master
 * closes `sock`. Dies with `master`.
 */
noreturn void zygote_main(int sock, const struct config *cfg, pid_t master, proto_slot *board,
                          struct scoreboard_slot *scoreboard, unsigned slots);

#endif
