#include "php/userini.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <php.h>
#include <zend_ini.h>
#include <zend_ini_scanner.h>
#include <zend_stream.h>

/* One directory's file as last read: its directives in file order, or none. */
struct userini_dir {
    bool loaded;          /* read at least once (a missing file counts) */
    uint64_t loaded_ms;   /* CLOCK_MONOTONIC_COARSE at that read */
    size_t count;         /* directives */
    size_t cap;
    zend_string **pairs;  /* name, value, name, value, ... (persistent) */
};

/* Absolute directory path -> struct userini_dir; persistent, one per worker. */
static HashTable cache;
static bool cache_ready;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void dir_clear(struct userini_dir *d)
{
    for (size_t i = 0; i < 2 * d->count; i++)
        zend_string_release_ex(d->pairs[i], 1);
    d->count = 0;
}

static void dir_dtor(zval *zv)
{
    struct userini_dir *d = Z_PTR_P(zv);
    dir_clear(d);
    free(d->pairs);
    free(d);
}

static struct userini_dir *dir_get(const char *path, size_t len)
{
    if (!cache_ready) {
        zend_hash_init(&cache, 8, NULL, dir_dtor, 1);
        cache_ready = true;
    }
    struct userini_dir *d = zend_hash_str_find_ptr(&cache, path, len);
    if (d)
        return d;
    if (!(d = calloc(1, sizeof *d)))
        return NULL;
    return zend_hash_str_add_new_ptr(&cache, path, len, d);
}

static bool dir_is_fresh(const struct userini_dir *d, uint64_t now, zend_long ttl)
{
    return d->loaded && ttl > 0 && (now - d->loaded_ms) / 1000u < (uint64_t)ttl;
}

/*
 * The ini parser's callback: keeps plain `name = value` entries. Sections and `name[] = value`
 * arrays name no directive.
 */
static void collect(zval *name, zval *value, zval *unused, int type, void *arg)
{
    (void)unused;
    struct userini_dir *d = arg;
    if (type != ZEND_INI_PARSER_ENTRY || !value || Z_TYPE_P(name) != IS_STRING ||
        Z_TYPE_P(value) != IS_STRING)
        return;
    if (d->count == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 8;
        zend_string **pairs = realloc(d->pairs, 2 * cap * sizeof *pairs);
        if (!pairs)
            return;
        d->pairs = pairs;
        d->cap = cap;
    }
    d->pairs[2 * d->count] = zend_string_init(Z_STRVAL_P(name), Z_STRLEN_P(name), 1);
    d->pairs[2 * d->count + 1] = zend_string_init(Z_STRVAL_P(value), Z_STRLEN_P(value), 1);
    d->count++;
}

/* Errors that say nothing about the file: the last answer is kept and the file read again later. */
static bool is_transient(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOMEM || err == EAGAIN || err == EINTR;
}

/*
 * Opens `rel` for reading without leaving the root: "..", absolute symlinks and symlinks that
 * lead out are refused by the kernel. O_NONBLOCK: a FIFO in the tree must not hang the worker.
 */
static int open_beneath(int root_fd, const char *rel)
{
    struct open_how how = {
        .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    return (int)syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
}

/*
 * Reads `rel` (relative to root_fd) into `d`; `shown` names it in PHP's syntax warnings.
 * Anything but a readable regular file beneath the root means "no file". Returns false, with
 * `d` untouched, after a transient error.
 */
static bool dir_load(struct userini_dir *d, int root_fd, const char *rel, const char *shown)
{
    int fd = root_fd < 0 ? -1 : open_beneath(root_fd, rel);
    if (fd < 0 && (root_fd < 0 || is_transient(errno)))
        return false;
    dir_clear(d);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        FILE *fp = fdopen(fd, "r");
        if (fp) {
            zend_file_handle fh;
            zend_stream_init_fp(&fh, fp, shown);
            /* buffered errors: a syntax error becomes an E_WARNING in PHP's log */
            zend_parse_ini_file(&fh, false, ZEND_INI_SCANNER_NORMAL, collect, d);
            zend_destroy_file_handle(&fh); /* closes fp, and so fd */
            fd = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    return true;
}

/*
 * The nearest directory is applied last and wins. PHP itself refuses, silently, a directive
 * that is unknown or not PHP_INI_PERDIR (disable_functions, ...), and undoes the others when
 * the request ends.
 */
static void dir_apply(const struct userini_dir *d)
{
    for (size_t i = 0; i < d->count; i++) {
        const zend_string *value = d->pairs[2 * i + 1];
        zend_alter_ini_entry_chars_ex(d->pairs[2 * i], ZSTR_VAL(value), ZSTR_LEN(value),
                                      ZEND_INI_PERDIR, ZEND_INI_STAGE_HTACCESS, 0);
    }
}

/* Where the walk reads files from: the root, opened once per request that needs a read. */
struct walk {
    const char *docroot;
    size_t root_len;  /* without trailing '/' */
    const char *script;
    const char *filename;
    int root_fd;      /* -1 until needed */
    bool root_tried;
};

/* (Re)reads the file of the directory script[0, end). */
static void refresh(struct walk *w, struct userini_dir *d, size_t end, uint64_t now)
{
    if (!w->root_tried) {
        w->root_tried = true;
        w->root_fd = open(w->docroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    size_t dir_len = end > w->root_len ? end - w->root_len - 1 : 0;
    char rel[PATH_MAX], shown[PATH_MAX];
    int n = snprintf(rel, sizeof rel, "%.*s%s%s", (int)dir_len, w->script + w->root_len + 1,
                     dir_len ? "/" : "", w->filename);
    int m = snprintf(shown, sizeof shown, "%.*s/%s", (int)end, w->script, w->filename);
    if (n < 0 || (size_t)n >= sizeof rel || m < 0 || (size_t)m >= sizeof shown)
        return;
    if (dir_load(d, w->root_fd, rel, shown)) {
        d->loaded = true;
        d->loaded_ms = now;
    }
}

void userini_apply(const char *docroot, size_t docroot_len, const char *script, size_t script_len)
{
    const char *filename = PG(user_ini_filename);
    if (!filename || !filename[0] || strchr(filename, '/'))
        return;
    struct walk w = {.docroot = docroot, .root_len = docroot_len, .script = script,
                     .filename = filename, .root_fd = -1};
    while (w.root_len && docroot[w.root_len - 1] == '/')
        w.root_len--;
    if (script_len <= w.root_len + 1 || memcmp(script, docroot, w.root_len) != 0 ||
        script[w.root_len] != '/')
        return;
    uint64_t now = now_ms();
    zend_long ttl = PG(user_ini_cache_ttl);
    /* each directory from the root down: script[0, end) with script[end] == '/' */
    for (size_t end = w.root_len;;) {
        struct userini_dir *d = dir_get(script, end);
        if (d && !dir_is_fresh(d, now, ttl))
            refresh(&w, d, end, now);
        if (d)
            dir_apply(d);
        const char *next = memchr(script + end + 1, '/', script_len - end - 1);
        if (!next)
            break;
        end = (size_t)(next - script);
    }
    if (w.root_fd >= 0)
        close(w.root_fd);
}

void userini_shutdown(void)
{
    if (cache_ready)
        zend_hash_destroy(&cache);
    cache_ready = false;
}
