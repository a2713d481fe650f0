/*
 * Routing: maps a request path onto "run this PHP script", "serve this file", a redirect or 404,
 * in the three modes of tokio_php, chosen by INDEX_FILE:
 *
 *   traditional  (INDEX_FILE unset)   direct mapping; a directory is served by its index.php, then
 *                                     index.html; "/a.php/more" runs a.php with PATH_INFO "/more";
 *                                     a directory without its trailing slash -> 301 to "dir/".
 *   framework    (INDEX_FILE=*.php)   existing static files are served; everything else runs the
 *                                     front controller; any "*.php" URL and "/INDEX_FILE[/...]" -> 404.
 *   SPA          (INDEX_FILE=*.html)  existing files are served (PHP files still run); everything
 *                                     else serves the index file; "/INDEX_FILE" -> 404.
 *
 * and a fourth one, chosen by ROUTING=try-files (Kiln's own, not from tokio_php):
 *
 *   try-files    (INDEX_FILE=*.php)   nginx's `try_files $uri $uri/ /index.php`: existing files are
 *                                     served or run (PHP, with PATH_INFO as in traditional mode), a
 *                                     directory runs its index.php (or serves index.html), anything
 *                                     else runs the front controller. What WordPress needs.
 *
 * Hidden files (a segment starting with '.', except /.well-known) -> 404 in every mode, and so
 * are the paths of DENY_PATHS (router_set_denylist).
 * docs/routing.md has the full rules, with examples.
 */
#ifndef KILN_HTTP_ROUTER_H
#define KILN_HTTP_ROUTER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "denylist.h"
#include "http/statcache.h"

enum router_mode {
    ROUTER_TRADITIONAL,
    ROUTER_FRAMEWORK,
    ROUTER_SPA,
    ROUTER_TRY_FILES,
};

enum route_kind {
    ROUTE_NOT_FOUND,      /* 404 */
    ROUTE_BAD_REQUEST,    /* 400: the path was rejected by path_normalize() */
    ROUTE_PHP,            /* run `script` (with `path_info`) */
    ROUTE_STATIC,         /* serve `script` as a file; `info` describes it */
    ROUTE_REDIRECT_SLASH, /* 301 to the request path + "/" (query string kept by the caller) */
    ROUTE_UNAVAILABLE,    /* 503: the file system could not be asked (out of descriptors) */
};

struct route {
    enum route_kind kind;
    char script[PATH_MAX];    /* relative to the root, starts with '/': SCRIPT_NAME or file */
    char path_info[PATH_MAX]; /* PHP only: the part after the script, "" if none */
    struct statcache_info info; /* STATIC: the file served */
};

struct router {
    enum router_mode mode;
    char index_file[NAME_MAX + 1];
    size_t index_len;
    struct statcache *cache;
    const struct denylist *deny; /* NULL = none */
};

/* `index_file` is "" for traditional mode. The router uses but does not own `cache`. */
void router_init(struct router *r, const char *index_file, struct statcache *cache);

/* Try-files mode with `index_file` (a *.php name, checked by the configuration) as the front
   controller. */
void router_init_try_files(struct router *r, const char *index_file, struct statcache *cache);

/* Paths answered 404 in every mode (DENY_PATHS). The router uses but does not own `deny`, which
   must outlive it; NULL (the state after router_init) denies nothing. */
void router_set_denylist(struct router *r, const struct denylist *deny);

/*
 * Resolves `path[0..len)` (the raw, still percent-encoded path part of the request target) into
 * `out`. `now_ms` is passed to the stat cache. Returns out->kind.
 */
enum route_kind router_resolve(struct router *r, const char *path, size_t len, uint64_t now_ms,
                               struct route *out);

#endif
