/*
 * OPcache's figures for the master's /metrics, read inside a worker through PHP's own
 * opcache_get_status(false) (OPcache installs no C header to read its shared globals from).
 *
 * The worker calls opcache_stats_sample() after a script, before PHP's request shutdown (the
 * function needs a live request), at most once a second, and publishes the result on its
 * scoreboard slot (pool/scoreboard.h); the master reads the slots at scrape time and never
 * waits for PHP.
 *
 * No PHP header here: the header is also what the worker includes.
 */
#ifndef KILN_PHP_OPCACHE_STATS_H
#define KILN_PHP_OPCACHE_STATS_H

#include <stdbool.h>

#include "pool/scoreboard.h"

/*
 * Fills *out (sampled_usec excepted) from opcache_get_status(false). Inside a request only.
 * Returns false, and takes no sample, when the call could disturb the request: after a fatal
 * error, with an exception pending, within 1 MiB of memory_limit, or when opcache.restrict_api
 * is set (the call would warn into the page) or opcache_get_status() is disabled. Without
 * OPcache the sample says enabled = false.
 */
bool opcache_stats_sample(struct scoreboard_opcache *out);

/*
 * For the start-up line, in the zygote after PHP's start-up: php.ini asks for the JIT
 * (opcache.jit not disabled and a jit_buffer_size). Whether it really runs shows in the samples.
 */
bool opcache_stats_jit_configured(void);

#endif
