#include "http/router.h"

#include <string.h>

#include "http/path.h"

/*
 * Every resolver works on the normalised path and builds its candidate files in out->script,
 * so the script of a PHP or STATIC route is the candidate that matched. On NOT_FOUND and
 * BAD_REQUEST script and path_info are ""; on REDIRECT_SLASH script is the normalised
 * directory (without the slash the redirect adds). out->info is zero unless the route is STATIC.
 */

#define DIR_INDEX_PHP "index.php"
#define DIR_INDEX_HTML "index.html"

static void set_index_file(struct router *r, const char *index_file, struct statcache *cache)
{
    r->index_len = strnlen(index_file, NAME_MAX);
    memcpy(r->index_file, index_file, r->index_len);
    r->index_file[r->index_len] = '\0';
    r->cache = cache;
    r->deny = NULL;
}

void router_init(struct router *r, const char *index_file, struct statcache *cache)
{
    set_index_file(r, index_file, cache);
    if (r->index_len == 0)
        r->mode = ROUTER_TRADITIONAL;
    else if (path_has_php_ext(r->index_file, r->index_len))
        r->mode = ROUTER_FRAMEWORK;
    else
        r->mode = ROUTER_SPA;
}

void router_init_try_files(struct router *r, const char *index_file, struct statcache *cache)
{
    set_index_file(r, index_file, cache);
    r->mode = ROUTER_TRY_FILES;
}

void router_set_denylist(struct router *r, const struct denylist *deny)
{
    r->deny = deny;
}

static enum route_kind route_empty(struct route *out, enum route_kind kind)
{
    out->script[0] = '\0';
    out->path_info[0] = '\0';
    memset(&out->info, 0, sizeof(out->info));
    return out->kind = kind;
}

/* out->script is set; `path_info` is a suffix of the normalised path, so it fits. */
static enum route_kind route_php(struct route *out, const char *path_info)
{
    strcpy(out->path_info, path_info);
    memset(&out->info, 0, sizeof(out->info));
    return out->kind = ROUTE_PHP;
}

/* out->script is set. */
static enum route_kind route_static(struct route *out, const struct statcache_info *info)
{
    out->path_info[0] = '\0';
    out->info = *info;
    return out->kind = ROUTE_STATIC;
}

/* out->script is the directory. */
static enum route_kind route_redirect(struct route *out)
{
    out->path_info[0] = '\0';
    memset(&out->info, 0, sizeof(out->info));
    return out->kind = ROUTE_REDIRECT_SLASH;
}

/* Sets out->script to dir + name; false when that does not fit. */
static bool set_script(struct route *out, const char *dir, size_t dir_len, const char *name)
{
    size_t name_len = strlen(name);
    if (dir_len + name_len >= sizeof(out->script))
        return false;
    memcpy(out->script, dir, dir_len);
    memcpy(out->script + dir_len, name, name_len);
    out->script[dir_len + name_len] = '\0';
    return true;
}

/* Sets out->script to dir + name and looks it up; true when it is a regular file. */
static bool find_file(const struct router *r, const char *dir, size_t dir_len, const char *name,
                      uint64_t now_ms, struct route *out, struct statcache_info *info)
{
    if (!set_script(out, dir, dir_len, name)) {
        memset(info, 0, sizeof(*info)); /* too long to exist: STATCACHE_MISSING */
        return false;
    }
    statcache_lookup(r->cache, out->script, now_ms, info);
    return info->kind == STATCACHE_FILE;
}

/* True when `norm` is "/INDEX_FILE", or with `or_below` also "/INDEX_FILE/...". */
static bool is_root_index(const struct router *r, const char *norm, bool or_below)
{
    if (strncmp(norm + 1, r->index_file, r->index_len) != 0)
        return false;
    char next = norm[1 + r->index_len];
    return next == '\0' || (or_below && next == '/');
}

/* A file that exists: runs it when it is PHP (any case of ".php"), serves it otherwise. */
static enum route_kind route_file(const char *norm, size_t len, struct route *out,
                                  const struct statcache_info *info)
{
    set_script(out, norm, len, "");
    if (path_has_php_ext(norm, len))
        return route_php(out, "");
    return route_static(out, info);
}

/*
 * Framework: existing non-PHP files are served, everything else goes to the front controller.
 * PATH_INFO is "" there, as with nginx `try_files $uri /index.php`: the app routes on REQUEST_URI.
 */
static enum route_kind resolve_framework(const struct router *r, const char *norm, size_t len,
                                         uint64_t now_ms, struct route *out)
{
    if (is_root_index(r, norm, true) || path_has_php_ext(norm, len))
        return route_empty(out, ROUTE_NOT_FOUND);
    struct statcache_info info;
    statcache_lookup(r->cache, norm, now_ms, &info);
    if (info.kind == STATCACHE_OTHER)
        return route_empty(out, ROUTE_NOT_FOUND);
    if (info.kind == STATCACHE_FILE)
        return route_file(norm, len, out, &info);
    set_script(out, "/", 1, r->index_file);
    return route_php(out, "");
}

/* SPA: serves the root INDEX_FILE, or 404 if it has gone. */
static enum route_kind spa_root_index(const struct router *r, uint64_t now_ms, struct route *out)
{
    struct statcache_info info;
    if (find_file(r, "/", 1, r->index_file, now_ms, out, &info))
        return route_static(out, &info);
    return route_empty(out, ROUTE_NOT_FOUND);
}

/* SPA: "dir/" serves dir/INDEX_FILE when there is one, the root INDEX_FILE otherwise. */
static enum route_kind spa_dir(const struct router *r, const char *norm, size_t len,
                               uint64_t now_ms, struct route *out)
{
    struct statcache_info info;
    if (norm[len - 1] != '/') {
        set_script(out, norm, len, "");
        return route_redirect(out);
    }
    if (find_file(r, norm, len, r->index_file, now_ms, out, &info))
        return route_static(out, &info);
    return spa_root_index(r, now_ms, out);
}

static enum route_kind resolve_spa(const struct router *r, const char *norm, size_t len,
                                   uint64_t now_ms, struct route *out)
{
    if (is_root_index(r, norm, false))
        return route_empty(out, ROUTE_NOT_FOUND);
    struct statcache_info info;
    statcache_lookup(r->cache, norm, now_ms, &info);
    switch (info.kind) {
    case STATCACHE_FILE:
        return route_file(norm, len, out, &info);
    case STATCACHE_DIR:
        return spa_dir(r, norm, len, now_ms, out);
    case STATCACHE_MISSING:
        return spa_root_index(r, now_ms, out);
    case STATCACHE_OTHER:
        break;
    }
    return route_empty(out, ROUTE_NOT_FOUND);
}

/* Traditional "dir/": index.php runs, else index.html is served. False when neither exists. */
static bool traditional_dir_index(const struct router *r, const char *norm, size_t len,
                                  uint64_t now_ms, struct route *out)
{
    struct statcache_info info;
    if (find_file(r, norm, len, DIR_INDEX_PHP, now_ms, out, &info)) {
        route_php(out, "");
        return true;
    }
    if (find_file(r, norm, len, DIR_INDEX_HTML, now_ms, out, &info)) {
        route_static(out, &info);
        return true;
    }
    return false;
}

/*
 * "/a.php/more": runs the first "*.php" prefix that is a regular file, with PATH_INFO "/more".
 * Walks on only while the prefix is a directory, so the number of lookups is bounded by the
 * depth of real directories, whatever the client sends.
 */
static enum route_kind traditional_path_info(const struct router *r, const char *norm,
                                             uint64_t now_ms, struct route *out)
{
    const size_t ext_len = 4; /* ".php" */
    for (const char *p = norm; (p = strcasestr(p, ".php/")) != NULL; p += ext_len) {
        struct statcache_info info;
        size_t script_len = (size_t)(p - norm) + ext_len;
        if (find_file(r, norm, script_len, "", now_ms, out, &info))
            return route_php(out, norm + script_len);
        if (info.kind != STATCACHE_DIR)
            break;
    }
    return route_empty(out, ROUTE_NOT_FOUND);
}

/* Try-files: runs the front controller, PATH_INFO "" (the app routes on REQUEST_URI). */
static enum route_kind front_controller(const struct router *r, struct route *out)
{
    set_script(out, "/", 1, r->index_file);
    return route_php(out, "");
}

/* Try-files "/dir" (no slash): true when "/dir/" has an index. Fills `out` as a side effect. */
static bool dir_has_index(const struct router *r, const char *norm, size_t len, uint64_t now_ms,
                          struct route *out)
{
    char dir[PATH_MAX];
    if (len + 1 >= sizeof(dir))
        return false;
    memcpy(dir, norm, len);
    dir[len] = '/';
    dir[len + 1] = '\0';
    return traditional_dir_index(r, dir, len + 1, now_ms, out);
}

/*
 * Traditional and try-files modes: what exists is served or run, a directory runs or serves its
 * index (301 first when the slash is missing), "/a.php/more" runs a.php. They differ only in
 * what names nothing: traditional mode answers 404 (and redirects any directory), try-files
 * runs the front controller (and redirects only a directory that has an index: there are no
 * listings).
 */
static enum route_kind resolve_direct(const struct router *r, const char *norm, size_t len,
                                      uint64_t now_ms, struct route *out)
{
    bool try_files = r->mode == ROUTER_TRY_FILES;
    if (norm[len - 1] == '/' && traditional_dir_index(r, norm, len, now_ms, out))
        return out->kind;
    struct statcache_info info = {.kind = STATCACHE_MISSING};
    if (norm[len - 1] != '/')
        statcache_lookup(r->cache, norm, now_ms, &info);
    switch (info.kind) {
    case STATCACHE_FILE:
        return route_file(norm, len, out, &info);
    case STATCACHE_DIR:
        if (!try_files || dir_has_index(r, norm, len, now_ms, out)) {
            set_script(out, norm, len, "");
            return route_redirect(out);
        }
        return front_controller(r, out);
    case STATCACHE_MISSING:
        if (traditional_path_info(r, norm, now_ms, out) == ROUTE_PHP || !try_files)
            return out->kind;
        return front_controller(r, out);
    case STATCACHE_OTHER:
        break;
    }
    return route_empty(out, ROUTE_NOT_FOUND);
}

static enum route_kind resolve_mode(const struct router *r, const char *norm, size_t len,
                                    uint64_t now_ms, struct route *out)
{
    switch (r->mode) {
    case ROUTER_FRAMEWORK:
        return resolve_framework(r, norm, len, now_ms, out);
    case ROUTER_SPA:
        return resolve_spa(r, norm, len, now_ms, out);
    case ROUTER_TRY_FILES:
    case ROUTER_TRADITIONAL:
        break;
    }
    return resolve_direct(r, norm, len, now_ms, out);
}

enum route_kind router_resolve(struct router *r, const char *path, size_t len, uint64_t now_ms,
                               struct route *out)
{
    char norm[PATH_MAX];
    /* path_normalize needs len + 1 bytes; no file with a longer name can be opened anyway. */
    if (len >= sizeof(norm))
        return route_empty(out, ROUTE_NOT_FOUND);
    ssize_t n = path_normalize(path, len, norm);
    if (n < 0)
        return route_empty(out, ROUTE_BAD_REQUEST);
    if (path_is_hidden(norm) || denylist_match(r->deny, norm))
        return route_empty(out, ROUTE_NOT_FOUND);
    unsigned long failures = statcache_failures(r->cache);
    enum route_kind kind = resolve_mode(r, norm, (size_t)n, now_ms, out);
    /* A lookup that could not ask the file system is no proof the file is missing. */
    if (statcache_failures(r->cache) != failures)
        return route_empty(out, ROUTE_UNAVAILABLE);
    return kind;
}
