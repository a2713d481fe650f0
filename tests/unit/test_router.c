#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/router.h"
#include "http/statcache.h"

/*
 * One temporary document root shared by every test:
 *
 *   index.php  index.html  app.php  upper.PHP  style.css  .env  .git/config
 *   .well-known/security.txt
 *   docs/index.html  docs/page.html      (a directory with an HTML index only)
 *   blog/index.php   blog/index.html     (a directory with both indexes)
 *   empty/                               (no index)
 *   sub.php/real.php                     (a directory whose name ends in .php)
 *   fifo                                 (neither file nor directory)
 *   link-in -> style.css, linkdir -> docs                       (inside the root)
 *   link-out -> /etc/passwd, link-rel-out -> ../../../../../../etc/passwd,
 *   link-abs-in -> <root>/style.css                              (absolute, back inside)
 *
 * Tests that create or delete files use names of their own, so they do not disturb the others.
 */

#define NOW 1000000 /* a clock value far from 0; each test that needs fresh answers moves it on */
#define STYLE_CSS "body{}\n"
#define INDEX_HTML "<h1>spa</h1>\n"

static char root[64];
static int root_fd = -1; /* O_DIRECTORY, to create files in */
static int path_fd = -1; /* O_PATH, what the cache gets */
static struct statcache *cache;

static void write_file(const char *rel, const char *content)
{
    int fd = openat(root_fd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
}

static void make_dir(const char *rel)
{
    assert_int_equal(mkdirat(root_fd, rel, 0755), 0);
}

static void make_link(const char *target, const char *rel)
{
    assert_int_equal(symlinkat(target, root_fd, rel), 0);
}

static void build_tree(void)
{
    write_file("index.php", "<?php echo 'front';");
    write_file("index.html", INDEX_HTML);
    write_file("app.php", "<?php echo 'app';");
    write_file("upper.PHP", "<?php echo 'upper';");
    write_file("style.css", STYLE_CSS);
    write_file(".env", "SECRET=1\n");
    make_dir(".git");
    write_file(".git/config", "[core]\n");
    make_dir(".well-known");
    write_file(".well-known/security.txt", "Contact: x\n");
    make_dir("docs");
    write_file("docs/index.html", "<h1>docs</h1>\n");
    write_file("docs/page.html", "<p>page</p>\n");
    make_dir("blog");
    write_file("blog/index.php", "<?php echo 'blog';");
    write_file("blog/index.html", "<h1>blog</h1>\n");
    make_dir("empty");
    make_dir("sub.php");
    write_file("sub.php/real.php", "<?php echo 'real';");
    assert_int_equal(mkfifoat(root_fd, "fifo", 0644), 0);
    make_link("style.css", "link-in");
    make_link("docs", "linkdir");
    make_link("/etc/passwd", "link-out");
    make_link("../../../../../../etc/passwd", "link-rel-out");
    char abs_in[sizeof(root) + 16];
    snprintf(abs_in, sizeof(abs_in), "%s/style.css", root);
    make_link(abs_in, "link-abs-in");
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/kiln-router-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    root_fd = open(root, O_DIRECTORY | O_CLOEXEC);
    path_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0 || path_fd < 0)
        return -1;
    build_tree();
    cache = statcache_create(path_fd);
    return cache ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    (void)state;
    statcache_destroy(cache);
    close(root_fd);
    close(path_fd);
    return nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *kind_name(enum route_kind kind)
{
    static const char *const names[] = {"NOT_FOUND", "BAD_REQUEST", "PHP", "STATIC",
                                        "REDIRECT_SLASH"};
    return names[kind];
}

/* Resolves `path`; `script` and `path_info` NULL mean "not checked". */
static void expect_at(struct router *r, const char *path, uint64_t now_ms, enum route_kind kind,
                      const char *script, const char *path_info)
{
    static struct route out; /* two PATH_MAX buffers: keep them off the stack */
    memset(&out, 0x55, sizeof(out));
    enum route_kind got = router_resolve(r, path, strlen(path), now_ms, &out);
    if (got != kind || out.kind != kind || (script && strcmp(out.script, script) != 0) ||
        (path_info && strcmp(out.path_info, path_info) != 0))
        print_message("%s: expected %s \"%s\" \"%s\", got %s \"%s\" \"%s\"\n", path,
                      kind_name(kind), script ? script : "*", path_info ? path_info : "*",
                      kind_name(got), out.script, out.path_info);
    assert_int_equal(got, kind);
    assert_int_equal(out.kind, kind);
    if (script)
        assert_string_equal(out.script, script);
    if (path_info)
        assert_string_equal(out.path_info, path_info);
    if (kind == ROUTE_STATIC)
        assert_int_equal(out.info.kind, STATCACHE_FILE);
    else
        assert_int_equal(out.info.kind, STATCACHE_MISSING);
}

static void expect(struct router *r, const char *path, enum route_kind kind, const char *script,
                   const char *path_info)
{
    expect_at(r, path, NOW, kind, script, path_info);
}

static off_t static_size(struct router *r, const char *path, uint64_t now_ms)
{
    static struct route out;
    assert_int_equal(router_resolve(r, path, strlen(path), now_ms, &out), ROUTE_STATIC);
    return out.info.size;
}

/* ---- router_init -------------------------------------------------------------------- */

static void test_mode_from_index_file(void **state)
{
    (void)state;
    struct router r;
    router_init(&r, "", cache);
    assert_int_equal(r.mode, ROUTER_TRADITIONAL);
    router_init(&r, "index.php", cache);
    assert_int_equal(r.mode, ROUTER_FRAMEWORK);
    assert_string_equal(r.index_file, "index.php");
    assert_int_equal(r.index_len, 9);
    router_init(&r, "app.PHP", cache);
    assert_int_equal(r.mode, ROUTER_FRAMEWORK);
    router_init(&r, "index.html", cache);
    assert_int_equal(r.mode, ROUTER_SPA);
    assert_ptr_equal(r.cache, cache);
}

/* ---- every mode ----------------------------------------------------------------------- */

static void test_common_rejections(void **state)
{
    (void)state;
    static const char *const index_files[] = {"", "index.php", "index.html"};
    for (size_t i = 0; i < 3; i++) {
        struct router r;
        router_init(&r, index_files[i], cache);
        expect(&r, "/%zz", ROUTE_BAD_REQUEST, "", "");
        expect(&r, "/../etc/passwd", ROUTE_BAD_REQUEST, "", "");
        expect(&r, "/%2e%2e/etc/passwd", ROUTE_BAD_REQUEST, "", "");
        expect(&r, "/style.css%00.php", ROUTE_BAD_REQUEST, "", "");
        expect(&r, "/a\\b", ROUTE_BAD_REQUEST, "", "");
        expect(&r, "style.css", ROUTE_BAD_REQUEST, "", "");
        expect(&r, "", ROUTE_BAD_REQUEST, "", "");
        expect(&r, "/.env", ROUTE_NOT_FOUND, "", "");
        expect(&r, "/.git/config", ROUTE_NOT_FOUND, "", "");
        expect(&r, "/docs/../.env", ROUTE_NOT_FOUND, "", "");
        expect(&r, "/%2Eenv", ROUTE_NOT_FOUND, "", "");
        expect(&r, "/fifo", ROUTE_NOT_FOUND, "", "");
        expect(&r, "/.well-known/security.txt", ROUTE_STATIC, "/.well-known/security.txt", "");
        expect(&r, "/docs/./../style.css", ROUTE_STATIC, "/style.css", "");
        expect(&r, "/link-in", ROUTE_STATIC, "/link-in", "");
        expect(&r, "/linkdir/page.html", ROUTE_STATIC, "/linkdir/page.html", "");
    }
}

static void test_too_long_path(void **state)
{
    (void)state;
    static char path[PATH_MAX + 8];
    memset(path, 'a', sizeof(path));
    path[0] = '/';
    struct router r;
    router_init(&r, "index.php", cache);
    static struct route out;
    assert_int_equal(router_resolve(&r, path, sizeof(path), NOW, &out), ROUTE_NOT_FOUND);
    /* Long but within PATH_MAX: simply missing, so the front controller runs. */
    expect_at(&r, "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
              NOW, ROUTE_PHP, "/index.php", "");
}

/* ---- traditional ---------------------------------------------------------------------- */

static void test_traditional(void **state)
{
    (void)state;
    struct router r;
    router_init(&r, "", cache);
    expect(&r, "/", ROUTE_PHP, "/index.php", "");
    expect(&r, "/blog/", ROUTE_PHP, "/blog/index.php", "");
    expect(&r, "/docs/", ROUTE_STATIC, "/docs/index.html", "");
    expect(&r, "/linkdir/", ROUTE_STATIC, "/linkdir/index.html", "");
    expect(&r, "/empty/", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/missing/", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/docs", ROUTE_REDIRECT_SLASH, "/docs", "");
    expect(&r, "/blog", ROUTE_REDIRECT_SLASH, "/blog", "");
    expect(&r, "/app.php", ROUTE_PHP, "/app.php", "");
    expect(&r, "/upper.PHP", ROUTE_PHP, "/upper.PHP", "");
    expect(&r, "/index.php", ROUTE_PHP, "/index.php", "");
    expect(&r, "/index.html", ROUTE_STATIC, "/index.html", "");
    expect(&r, "/style.css", ROUTE_STATIC, "/style.css", "");
    expect(&r, "/docs/page.html", ROUTE_STATIC, "/docs/page.html", "");
    expect(&r, "/missing", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/missing.php", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/style.css/", ROUTE_NOT_FOUND, "", "");
    assert_int_equal(static_size(&r, "/style.css", NOW), (off_t)strlen(STYLE_CSS));
}

static void test_traditional_path_info(void **state)
{
    (void)state;
    struct router r;
    router_init(&r, "", cache);
    expect(&r, "/app.php/extra/path", ROUTE_PHP, "/app.php", "/extra/path");
    expect(&r, "/app.php/", ROUTE_PHP, "/app.php", "/");
    expect(&r, "/app.php/x.php/y", ROUTE_PHP, "/app.php", "/x.php/y");
    expect(&r, "/app.php/a%20b/../c", ROUTE_PHP, "/app.php", "/c");
    expect(&r, "/upper.PHP/x", ROUTE_PHP, "/upper.PHP", "/x");
    expect(&r, "/blog/index.php/post/1", ROUTE_PHP, "/blog/index.php", "/post/1");
    expect(&r, "/sub.php/real.php/x", ROUTE_PHP, "/sub.php/real.php", "/x");
    expect(&r, "/sub.php/", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/sub.php/x", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/sub.php", ROUTE_REDIRECT_SLASH, "/sub.php", "");
    expect(&r, "/APP.PHP/x", ROUTE_NOT_FOUND, "", ""); /* the file name itself is case-sensitive */
    expect(&r, "/missing.php/x", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/style.css/x", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/app.phpx/y", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/app.php/.env", ROUTE_NOT_FOUND, "", ""); /* hidden wins */
}

static void test_traditional_symlinks(void **state)
{
    (void)state;
    struct router r;
    router_init(&r, "", cache);
    expect(&r, "/link-in", ROUTE_STATIC, "/link-in", "");
    assert_int_equal(static_size(&r, "/link-in", NOW), (off_t)strlen(STYLE_CSS));
    expect(&r, "/link-out", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/link-rel-out", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/link-abs-in", ROUTE_STATIC, "/link-abs-in", "");
    expect(&r, "/linkdir", ROUTE_REDIRECT_SLASH, "/linkdir", "");
}

/* ---- framework ------------------------------------------------------------------------ */

static void test_framework(void **state)
{
    (void)state;
    struct router r;
    router_init(&r, "index.php", cache);
    expect(&r, "/", ROUTE_PHP, "/index.php", "");
    expect(&r, "/missing", ROUTE_PHP, "/index.php", "");
    expect(&r, "/users/42/edit", ROUTE_PHP, "/index.php", "");
    expect(&r, "/a/b/", ROUTE_PHP, "/index.php", "");
    expect(&r, "/docs", ROUTE_PHP, "/index.php", "");
    expect(&r, "/docs/", ROUTE_PHP, "/index.php", ""); /* not docs/index.html */
    expect(&r, "/blog/", ROUTE_PHP, "/index.php", ""); /* never blog/index.php */
    expect(&r, "/style.css", ROUTE_STATIC, "/style.css", "");
    expect(&r, "/index.html", ROUTE_STATIC, "/index.html", "");
    expect(&r, "/docs/page.html", ROUTE_STATIC, "/docs/page.html", "");
    expect(&r, "/style.css/", ROUTE_PHP, "/index.php", "");
    expect(&r, "/index.php", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/index.php/", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/index.php/users", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/x/../index.php", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/app.php", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/upper.PHP", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/app.PhP", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/missing.php", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/blog/index.php", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/app.php/x", ROUTE_PHP, "/index.php", ""); /* app.php itself never runs */
    expect(&r, "/index.phpx", ROUTE_PHP, "/index.php", "");
    expect(&r, "/link-in", ROUTE_STATIC, "/link-in", "");
    expect(&r, "/link-out", ROUTE_PHP, "/index.php", "");
    expect(&r, "/link-rel-out", ROUTE_PHP, "/index.php", "");
}

/* ---- try-files ------------------------------------------------------------------------ */

static void test_try_files(void **state)
{
    (void)state;
    struct router r;
    router_init_try_files(&r, "index.php", cache);
    assert_int_equal(r.mode, ROUTER_TRY_FILES);
    assert_string_equal(r.index_file, "index.php");
    /* existing files: served, or run when PHP */
    expect(&r, "/style.css", ROUTE_STATIC, "/style.css", "");
    expect(&r, "/docs/page.html", ROUTE_STATIC, "/docs/page.html", "");
    expect(&r, "/app.php", ROUTE_PHP, "/app.php", "");
    expect(&r, "/upper.PHP", ROUTE_PHP, "/upper.PHP", "");
    expect(&r, "/index.php", ROUTE_PHP, "/index.php", ""); /* a file like any other */
    expect(&r, "/sub.php/real.php", ROUTE_PHP, "/sub.php/real.php", "");
    /* directories: their index, after a 301 when the slash is missing */
    expect(&r, "/", ROUTE_PHP, "/index.php", "");
    expect(&r, "/blog/", ROUTE_PHP, "/blog/index.php", "");
    expect(&r, "/docs/", ROUTE_STATIC, "/docs/index.html", "");
    expect(&r, "/blog", ROUTE_REDIRECT_SLASH, "/blog", "");
    expect(&r, "/docs", ROUTE_REDIRECT_SLASH, "/docs", "");
    expect(&r, "/linkdir", ROUTE_REDIRECT_SLASH, "/linkdir", "");
    /* a directory without an index is no listing: the front controller */
    expect(&r, "/empty/", ROUTE_PHP, "/index.php", "");
    expect(&r, "/empty", ROUTE_PHP, "/index.php", "");
    expect(&r, "/sub.php", ROUTE_PHP, "/index.php", "");
    /* anything else: the front controller, PATH_INFO empty */
    expect(&r, "/missing", ROUTE_PHP, "/index.php", "");
    expect(&r, "/2024/01/hello-world/", ROUTE_PHP, "/index.php", "");
    expect(&r, "/missing.php", ROUTE_PHP, "/index.php", "");
    expect(&r, "/style.css/", ROUTE_PHP, "/index.php", "");
    expect(&r, "/index.phpx", ROUTE_PHP, "/index.php", "");
    expect(&r, "/link-out", ROUTE_PHP, "/index.php", ""); /* never /etc/passwd */
    expect(&r, "/link-abs-in", ROUTE_STATIC, "/link-abs-in", "");
    /* hidden and unsafe paths as in every mode; a fifo is neither file nor missing */
    expect(&r, "/.env", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/blog/.htaccess", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/../index.php", ROUTE_BAD_REQUEST, "", "");
    expect(&r, "/blog/../../x", ROUTE_BAD_REQUEST, "", "");
    expect(&r, "/fifo", ROUTE_NOT_FOUND, "", "");
}

static void test_try_files_path_info(void **state)
{
    (void)state;
    struct router r;
    router_init_try_files(&r, "index.php", cache);
    expect(&r, "/app.php/extra/path", ROUTE_PHP, "/app.php", "/extra/path");
    expect(&r, "/app.php/", ROUTE_PHP, "/app.php", "/");
    expect(&r, "/index.php/wp-json/wp/v2/posts", ROUTE_PHP, "/index.php", "/wp-json/wp/v2/posts");
    expect(&r, "/blog/index.php/post/1", ROUTE_PHP, "/blog/index.php", "/post/1");
    expect(&r, "/sub.php/real.php/x", ROUTE_PHP, "/sub.php/real.php", "/x");
    expect(&r, "/app.php/.env", ROUTE_NOT_FOUND, "", ""); /* hidden wins */
    /* no PHP file on the way: the front controller, without PATH_INFO */
    expect(&r, "/missing.php/x", ROUTE_PHP, "/index.php", "");
    expect(&r, "/sub.php/x", ROUTE_PHP, "/index.php", "");
    expect(&r, "/style.css/x", ROUTE_PHP, "/index.php", "");
}

/* DENY_PATHS: 404 in every mode, before any lookup or front controller; normalised first. */
static void test_denylist_every_mode(void **state)
{
    (void)state;
    struct denylist deny;
    assert_int_equal(denylist_parse("/docs,/app.php", &deny), 0);
    struct router modes[4];
    router_init(&modes[0], "", cache);
    router_init(&modes[1], "index.php", cache);
    router_init(&modes[2], "index.html", cache);
    router_init_try_files(&modes[3], "index.php", cache);
    for (int i = 0; i < 4; i++) {
        struct router *r = &modes[i];
        expect(r, "/docs/page.html", ROUTE_STATIC, "/docs/page.html", "");
        router_set_denylist(r, &deny);
        expect(r, "/docs/page.html", ROUTE_NOT_FOUND, "", "");
        expect(r, "/docs/", ROUTE_NOT_FOUND, "", "");
        expect(r, "/docs", ROUTE_NOT_FOUND, "", "");
        expect(r, "/blog/../docs/index.html", ROUTE_NOT_FOUND, "", "");
        expect(r, "//docs//missing", ROUTE_NOT_FOUND, "", "");
        expect(r, "/app.php/x", ROUTE_NOT_FOUND, "", "");
        expect(r, "/style.css", ROUTE_STATIC, "/style.css", "");
        router_set_denylist(r, NULL);
        expect(r, "/style.css", ROUTE_STATIC, "/style.css", "");
    }
}

/* ---- SPA ------------------------------------------------------------------------------ */

static void test_spa(void **state)
{
    (void)state;
    struct router r;
    router_init(&r, "index.html", cache);
    expect(&r, "/", ROUTE_STATIC, "/index.html", "");
    expect(&r, "/index.html", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/x/../index.html", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/missing", ROUTE_STATIC, "/index.html", "");
    expect(&r, "/deep/client/route", ROUTE_STATIC, "/index.html", "");
    expect(&r, "/missing/", ROUTE_STATIC, "/index.html", "");
    expect(&r, "/missing.php", ROUTE_STATIC, "/index.html", "");
    expect(&r, "/index.html/x", ROUTE_STATIC, "/index.html", "");
    expect(&r, "/app.php", ROUTE_PHP, "/app.php", "");
    expect(&r, "/upper.PHP", ROUTE_PHP, "/upper.PHP", "");
    expect(&r, "/style.css", ROUTE_STATIC, "/style.css", "");
    expect(&r, "/docs/", ROUTE_STATIC, "/docs/index.html", "");
    expect(&r, "/docs/page.html", ROUTE_STATIC, "/docs/page.html", "");
    expect(&r, "/docs/index.html", ROUTE_STATIC, "/docs/index.html", "");
    expect(&r, "/empty/", ROUTE_STATIC, "/index.html", "");
    expect(&r, "/docs", ROUTE_REDIRECT_SLASH, "/docs", "");
    expect(&r, "/empty", ROUTE_REDIRECT_SLASH, "/empty", "");
    expect(&r, "/link-out", ROUTE_STATIC, "/index.html", ""); /* never /etc/passwd */
    expect(&r, "/link-abs-in", ROUTE_STATIC, "/link-abs-in", "");
    assert_int_equal(static_size(&r, "/link-out", NOW), (off_t)strlen(INDEX_HTML));
    assert_int_equal(static_size(&r, "/", NOW), (off_t)strlen(INDEX_HTML));
}

static void test_spa_index_gone(void **state)
{
    (void)state;
    struct router r;
    router_init(&r, "gone.html", cache);
    assert_int_equal(r.mode, ROUTER_SPA);
    expect(&r, "/missing", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/empty/", ROUTE_NOT_FOUND, "", "");
    expect(&r, "/style.css", ROUTE_STATIC, "/style.css", "");
}

/* ---- stat cache ----------------------------------------------------------------------- */

static void test_statcache_kinds(void **state)
{
    (void)state;
    struct statcache_info info;
    statcache_lookup(cache, "/", NOW, &info);
    assert_int_equal(info.kind, STATCACHE_DIR);
    statcache_lookup(cache, "/docs/", NOW, &info);
    assert_int_equal(info.kind, STATCACHE_DIR);
    statcache_lookup(cache, "/style.css", NOW, &info);
    assert_int_equal(info.kind, STATCACHE_FILE);
    assert_int_equal(info.size, (off_t)strlen(STYLE_CSS));
    struct stat st;
    assert_int_equal(fstatat(root_fd, "style.css", &st, 0), 0);
    assert_int_equal(info.ino, st.st_ino);
    assert_int_equal(info.mtime.tv_sec, st.st_mtim.tv_sec);
    assert_int_equal(info.mtime.tv_nsec, st.st_mtim.tv_nsec);
    statcache_lookup(cache, "/fifo", NOW, &info);
    assert_int_equal(info.kind, STATCACHE_OTHER);
    statcache_lookup(cache, "/nope", NOW, &info);
    assert_int_equal(info.kind, STATCACHE_MISSING);
    statcache_lookup(cache, "/style.css/", NOW, &info);
    assert_int_equal(info.kind, STATCACHE_MISSING);
    statcache_lookup(cache, "/link-out", NOW, &info);
    assert_int_equal(info.kind, STATCACHE_MISSING);
    statcache_lookup(cache, "/link-rel-out", NOW, &info);
    assert_int_equal(info.kind, STATCACHE_MISSING);
    statcache_lookup(cache, "/link-abs-in", NOW, &info);
    assert_int_equal(info.kind, STATCACHE_FILE);
    /* Not normalised on purpose: the confinement does not depend on the router. */
    statcache_lookup(cache, "/../../etc/passwd", NOW, &info);
    assert_int_equal(info.kind, STATCACHE_MISSING);
    statcache_lookup(cache, "/docs/../../etc/passwd", NOW, &info);
    assert_int_equal(info.kind, STATCACHE_MISSING);
    statcache_lookup(cache, "/link-in", NOW, &info);
    assert_int_equal(info.kind, STATCACHE_FILE);
    assert_int_equal(info.ino, st.st_ino);
}

static void test_statcache_miss_then_created(void **state)
{
    (void)state;
    struct statcache_info info;
    uint64_t t = NOW + 10000;
    statcache_lookup(cache, "/later.txt", t, &info);
    assert_int_equal(info.kind, STATCACHE_MISSING);
    write_file("later.txt", "now here\n");
    statcache_lookup(cache, "/later.txt", t + STATCACHE_TTL_MS - 1, &info);
    assert_int_equal(info.kind, STATCACHE_MISSING); /* the cached miss is still fresh */
    statcache_lookup(cache, "/later.txt", t + STATCACHE_TTL_MS, &info);
    assert_int_equal(info.kind, STATCACHE_FILE);
    assert_int_equal(info.size, 9);
}

static void test_statcache_hit_then_deleted(void **state)
{
    (void)state;
    struct statcache_info info;
    uint64_t t = NOW + 20000;
    write_file("doomed.txt", "bye\n");
    statcache_lookup(cache, "/doomed.txt", t, &info);
    assert_int_equal(info.kind, STATCACHE_FILE);
    assert_int_equal(unlinkat(root_fd, "doomed.txt", 0), 0);
    statcache_lookup(cache, "/doomed.txt", t + STATCACHE_TTL_MS - 1, &info);
    assert_int_equal(info.kind, STATCACHE_FILE);
    statcache_lookup(cache, "/doomed.txt", t + STATCACHE_TTL_MS, &info);
    assert_int_equal(info.kind, STATCACHE_MISSING);
}

static void test_statcache_clock_backwards(void **state)
{
    (void)state;
    struct statcache_info info;
    uint64_t t = NOW + 30000;
    statcache_lookup(cache, "/back.txt", t, &info);
    assert_int_equal(info.kind, STATCACHE_MISSING);
    write_file("back.txt", "x");
    statcache_lookup(cache, "/back.txt", t - 1, &info); /* older than the fill: re-checked */
    assert_int_equal(info.kind, STATCACHE_FILE);
}

static void test_statcache_long_path_not_cached(void **state)
{
    (void)state;
    char dir[200];
    memset(dir, 'd', sizeof(dir) - 1);
    dir[sizeof(dir) - 1] = '\0';
    make_dir(dir);
    char rel[512];
    snprintf(rel, sizeof(rel), "%s/%s.txt", dir, dir);
    write_file(rel, "long");
    char key[sizeof(rel) + 1];
    snprintf(key, sizeof(key), "/%s", rel);
    assert_true(strlen(key) > 256);
    struct statcache_info info;
    uint64_t t = NOW + 40000;
    statcache_lookup(cache, key, t, &info);
    assert_int_equal(info.kind, STATCACHE_FILE);
    assert_int_equal(unlinkat(root_fd, rel, 0), 0);
    statcache_lookup(cache, key, t, &info);
    assert_int_equal(info.kind, STATCACHE_MISSING);
    assert_int_equal(unlinkat(root_fd, dir, AT_REMOVEDIR), 0);
}

static void test_statcache_many_paths(void **state)
{
    (void)state;
    /* Far more paths than slots: evictions never give a wrong answer. */
    struct statcache_info info;
    uint64_t t = NOW + 50000;
    char key[32];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 4 * STATCACHE_SLOTS; i++) {
            snprintf(key, sizeof(key), "/none-%d", i);
            statcache_lookup(cache, key, t, &info);
            assert_int_equal(info.kind, STATCACHE_MISSING);
            statcache_lookup(cache, i % 2 ? "/style.css" : "/docs", t, &info);
            assert_int_equal(info.kind, i % 2 ? STATCACHE_FILE : STATCACHE_DIR);
        }
    }
}

static void test_router_sees_new_file_after_ttl(void **state)
{
    (void)state;
    struct router r;
    router_init(&r, "index.php", cache);
    uint64_t t = NOW + 60000;
    expect_at(&r, "/fresh.css", t, ROUTE_PHP, "/index.php", "");
    write_file("fresh.css", "a{}");
    expect_at(&r, "/fresh.css", t + STATCACHE_TTL_MS / 2, ROUTE_PHP, "/index.php", "");
    expect_at(&r, "/fresh.css", t + STATCACHE_TTL_MS, ROUTE_STATIC, "/fresh.css", "");
    assert_int_equal(unlinkat(root_fd, "fresh.css", 0), 0);
    expect_at(&r, "/fresh.css", t + 2 * STATCACHE_TTL_MS, ROUTE_PHP, "/index.php", "");
}

static void test_statcache_open(void **state)
{
    (void)state;
    int fd = statcache_open(cache, "/style.css");
    assert_true(fd >= 0);
    char buf[64];
    ssize_t n = read(fd, buf, sizeof(buf));
    assert_int_equal(n, (ssize_t)strlen(STYLE_CSS));
    assert_memory_equal(buf, STYLE_CSS, (size_t)n);
    int flags = fcntl(fd, F_GETFL);
    assert_true(flags & O_NONBLOCK);
    assert_int_equal(flags & O_ACCMODE, O_RDONLY);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);

    fd = statcache_open(cache, "/link-in");
    assert_true(fd >= 0);
    close(fd);
    fd = statcache_open(cache, "/");
    assert_true(fd >= 0);
    close(fd);

    errno = 0;
    assert_int_equal(statcache_open(cache, "/link-out"), -1);
    assert_int_equal(errno, EXDEV);
    assert_int_equal(statcache_open(cache, "/link-rel-out"), -1);
    assert_int_equal(statcache_open(cache, "/../etc/passwd"), -1);
    assert_int_equal(statcache_open(cache, "/nope"), -1);
    assert_int_equal(errno, ENOENT);
    /* The fifo opens without blocking thanks to O_NONBLOCK. */
    fd = statcache_open(cache, "/fifo");
    assert_true(fd >= 0);
    close(fd);
}

static void test_statcache_create_checks_root(void **state)
{
    (void)state;
    assert_null(statcache_create(-1));
    int fd = openat(root_fd, "style.css", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    errno = 0;
    assert_null(statcache_create(fd));
    assert_int_equal(errno, ENOTDIR);
    close(fd);
    struct statcache *c = statcache_create(root_fd); /* an O_DIRECTORY fd works too */
    assert_non_null(c);
    struct statcache_info info;
    statcache_lookup(c, "/app.php", NOW, &info);
    assert_int_equal(info.kind, STATCACHE_FILE);
    statcache_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_from_index_file),
        cmocka_unit_test(test_common_rejections),
        cmocka_unit_test(test_too_long_path),
        cmocka_unit_test(test_traditional),
        cmocka_unit_test(test_traditional_path_info),
        cmocka_unit_test(test_traditional_symlinks),
        cmocka_unit_test(test_framework),
        cmocka_unit_test(test_try_files),
        cmocka_unit_test(test_try_files_path_info),
        cmocka_unit_test(test_spa),
        cmocka_unit_test(test_spa_index_gone),
        cmocka_unit_test(test_statcache_kinds),
        cmocka_unit_test(test_statcache_miss_then_created),
        cmocka_unit_test(test_statcache_hit_then_deleted),
        cmocka_unit_test(test_statcache_clock_backwards),
        cmocka_unit_test(test_statcache_long_path_not_cached),
        cmocka_unit_test(test_statcache_many_paths),
        cmocka_unit_test(test_denylist_every_mode),
        cmocka_unit_test(test_router_sees_new_file_after_ttl),
        cmocka_unit_test(test_statcache_open),
        cmocka_unit_test(test_statcache_create_checks_root),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
