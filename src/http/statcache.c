#include "http/statcache.h"

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
#include <unistd.h>

#include "text.h"

/* Paths this long or longer are looked up every time instead of being cached. */
#define STATCACHE_PATH_MAX 256

/* openat2 may fail with EAGAIN when a concurrent rename races a ".." in a symlink; retry a bit. */
#define OPEN_RETRIES 3

_Static_assert((STATCACHE_SLOTS & (STATCACHE_SLOTS - 1)) == 0, "STATCACHE_SLOTS: power of two");

struct statcache_entry {
    uint64_t filled_ms;
    size_t len; /* 0 = empty slot (a real key is at least "/") */
    struct statcache_info info;
    char path[STATCACHE_PATH_MAX];
};

/* Direct-mapped: a colliding path simply replaces the entry, which only costs a later syscall. */
struct statcache {
    int root_fd;
    unsigned long failures;   /* lookups that hit a transient error */
    char root_path[PATH_MAX]; /* where root_fd really is, without a trailing '/' ("" for "/") */
    size_t root_len;
    struct statcache_entry slots[STATCACHE_SLOTS];
};

static int openat2_retrying(int root_fd, const char *rel, uint64_t flags, uint64_t resolve)
{
    struct open_how how = {.flags = flags, .resolve = resolve};
    for (int attempt = 0;; attempt++) {
        long fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof(how));
        if (fd >= 0 || (errno != EAGAIN && errno != EINTR) || attempt == OPEN_RETRIES)
            return (int)fd;
    }
}

/* The real path of an open fd, from /proc (which the kernel keeps exact). -1 if unavailable. */
static ssize_t fd_real_path(int fd, char *out, size_t size)
{
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, size - 1);
    if (n < 0 || (size_t)n >= size - 1)
        return -1;
    out[n] = '\0';
    return n;
}

/*
 * RESOLVE_BENEATH refuses every absolute symlink, also one that points back inside the root.
 * For those, open with symlinks followed and keep the result only if the file really is under
 * the root: the check is on the opened file itself, so no rename race can slip past it.
 */
static int open_followed_inside(const struct statcache *c, const char *rel, uint64_t flags)
{
    int fd = openat2_retrying(c->root_fd, rel, flags, RESOLVE_NO_MAGICLINKS);
    if (fd < 0)
        return -1;
    char real[PATH_MAX];
    ssize_t n = fd_real_path(fd, real, sizeof(real));
    if (n > (ssize_t)c->root_len && memcmp(real, c->root_path, c->root_len) == 0 &&
        real[c->root_len] == '/')
        return fd;
    close(fd);
    errno = EXDEV;
    return -1;
}

/* Opens `rel` confined to the root: no escape by "..", by symlinks, or by /proc links. */
static int open_beneath(const struct statcache *c, const char *rel, uint64_t flags)
{
    while (*rel == '/')
        rel++;
    if (*rel == '\0')
        rel = ".";
    int fd = openat2_retrying(c->root_fd, rel, flags, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    if (fd < 0 && errno == EXDEV)
        return open_followed_inside(c, rel, flags);
    return fd;
}

static enum statcache_kind kind_of(mode_t mode)
{
    if (S_ISREG(mode))
        return STATCACHE_FILE;
    if (S_ISDIR(mode))
        return STATCACHE_DIR;
    return STATCACHE_OTHER;
}

/* Errors that say nothing about the file: reported as missing but not remembered. */
static bool is_transient(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOMEM || err == EAGAIN || err == EINTR;
}

/* Fills `out` from the file system; returns false when the answer must not be cached. */
static bool probe(const struct statcache *c, const char *rel, struct statcache_info *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = STATCACHE_MISSING;
    int fd = open_beneath(c, rel, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return !is_transient(errno);
    struct stat st;
    int rc = fstat(fd, &st);
    int err = errno;
    close(fd);
    if (rc != 0)
        return !is_transient(err);
    out->kind = kind_of(st.st_mode);
    out->size = st.st_size;
    out->mtime = st.st_mtim;
    out->ino = st.st_ino;
    return true;
}

static bool is_fresh(const struct statcache_entry *e, const char *rel, size_t len,
                     uint64_t now_ms)
{
    /* Unsigned: a `now_ms` earlier than the fill wraps to a huge age, i.e. stale. */
    return e->len == len && memcmp(e->path, rel, len) == 0 &&
           now_ms - e->filled_ms < STATCACHE_TTL_MS;
}

/* Makes `root_fd` the root, checking that openat2 works here (Linux >= 5.6, allowed by seccomp)
   and that it is a directory; -1 with errno set, and nothing changed, otherwise. */
static int attach_root(struct statcache *c, int root_fd)
{
    char path[PATH_MAX];
    ssize_t n = fd_real_path(root_fd, path, sizeof(path));
    if (n < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int old_fd = c->root_fd;
    c->root_fd = root_fd;
    int fd = open_beneath(c, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        c->root_fd = old_fd;
        return -1;
    }
    close(fd);
    memcpy(c->root_path, path, (size_t)n + 1);
    c->root_len = (n == 1) ? 0 : (size_t)n; /* the root "/" itself: every path is inside */
    return 0;
}

struct statcache *statcache_create(int root_fd)
{
    struct statcache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (attach_root(c, root_fd) < 0) {
        int saved = errno;
        free(c);
        errno = saved;
        return NULL;
    }
    return c;
}

int statcache_set_root(struct statcache *c, int root_fd)
{
    if (attach_root(c, root_fd) < 0)
        return -1;
    memset(c->slots, 0, sizeof(c->slots)); /* every entry describes the old root */
    return 0;
}

void statcache_destroy(struct statcache *c)
{
    free(c);
}

unsigned long statcache_failures(const struct statcache *c)
{
    return c->failures;
}

void statcache_lookup(struct statcache *c, const char *rel, uint64_t now_ms,
                      struct statcache_info *out)
{
    size_t len = strlen(rel);
    if (len == 0 || len >= STATCACHE_PATH_MAX) {
        if (!probe(c, rel, out))
            c->failures++;
        return;
    }
    struct statcache_entry *e = &c->slots[text_hash(rel, len) & (STATCACHE_SLOTS - 1)];
    if (is_fresh(e, rel, len, now_ms)) {
        *out = e->info;
        return;
    }
    if (!probe(c, rel, out)) {
        c->failures++;
        return;
    }
    memcpy(e->path, rel, len);
    e->len = len;
    e->filled_ms = now_ms;
    e->info = *out;
}

int statcache_open(struct statcache *c, const char *rel)
{
    return open_beneath(c, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
}
