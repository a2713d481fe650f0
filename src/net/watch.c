#include "net/watch.h"

#include "base.h"
#include "buf.h"
#include "obs/log.h"
#include "text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the pure part: the list, the names, the deadline --------------------------------------- */

int watch_dirs_parse(const char *text, struct watch_dirs *out)
{
    out->count = 0;
    size_t used = 0;
    size_t len = strlen(text);
    const char *pos = text, *end = text + len, *entry;
    text_trim(text, &len);
    if (len == 0)
        return 0; /* "" or blanks: off */
    while (text_list_next(&pos, end, &entry, &len)) {
        if (len == 0 || text_has_control(entry, len) || out->count == WATCH_DIRS_MAX ||
            used + len + 1 > sizeof out->text)
            return -1;
        out->at[out->count++] = (unsigned short)used;
        memcpy(out->text + used, entry, len);
        out->text[used + len] = '\0';
        used += len + 1;
    }
    return 0;
}

bool watch_name_ignored(const char *name)
{
    return name[0] == '.';
}

bool watch_name_is_php(const char *name)
{
    size_t len = strlen(name);
    return !watch_name_ignored(name) && len > 4 && text_ends_with_nocase(name, len, ".php");
}

uint64_t watch_fire_at(uint64_t first_ms, uint64_t now_ms)
{
    uint64_t quiet = now_ms + WATCH_QUIET_MS, latest = first_ms + WATCH_MAX_DELAY_MS;
    if (latest < now_ms)
        return now_ms;
    return quiet < latest ? quiet : latest;
}

/* ---- the watch ------------------------------------------------------------------------------ */

/* What a watched directory reports: its entries written, created, deleted, renamed. */
#define WATCH_MASK                                                                          \
    (IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR |     \
     IN_DONT_FOLLOW | IN_EXCL_UNLINK)

struct watched {
    int wd;
    char *path; /* absolute */
};

struct watch {
    struct loop *loop;
    struct loop_io io;       /* the inotify descriptor */
    struct loop_timer timer; /* the end of the current burst */
    watch_change_fn *fn;
    void *arg;
    struct watched *dirs; /* sorted by wd */
    size_t count, cap;
    unsigned changes;         /* in the current burst; 0 = none pending */
    uint64_t first_ms;        /* of the burst */
    char first[PATH_MAX];     /* its first PHP file; "" after a queue overflow */
    char scratch[PATH_MAX];   /* the path being walked by add_tree() */
};

/* The first entry whose wd is >= `wd`. */
static size_t dir_lower_bound(const struct watch *w, int wd)
{
    size_t lo = 0, hi = w->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->dirs[mid].wd < wd)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct watched *dir_find(struct watch *w, int wd)
{
    size_t i = dir_lower_bound(w, wd);
    return i < w->count && w->dirs[i].wd == wd ? &w->dirs[i] : NULL;
}

/* Records `path` under `wd` (inotify gives a directory watched twice the same wd). */
static int dir_put(struct watch *w, int wd, const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    size_t i = dir_lower_bound(w, wd);
    if (i < w->count && w->dirs[i].wd == wd) {
        free(w->dirs[i].path);
        w->dirs[i].path = copy;
        return 0;
    }
    if (w->count == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        struct watched *grown = realloc(w->dirs, cap * sizeof *grown);
        if (!grown) {
            free(copy);
            return -1;
        }
        w->dirs = grown;
        w->cap = cap;
    }
    memmove(&w->dirs[i + 1], &w->dirs[i], (w->count - i) * sizeof *w->dirs);
    w->dirs[i] = (struct watched){wd, copy};
    w->count++;
    return 0;
}

static void dir_drop_at(struct watch *w, size_t i)
{
    free(w->dirs[i].path);
    memmove(&w->dirs[i], &w->dirs[i + 1], (w->count - i - 1) * sizeof *w->dirs);
    w->count--;
}

/* A directory renamed away: it and everything below it are no longer ours to watch. */
static void dir_drop_tree(struct watch *w, const char *path)
{
    size_t len = strlen(path);
    for (size_t i = w->count; i-- > 0;) {
        const char *p = w->dirs[i].path;
        if (strncmp(p, path, len) == 0 && (p[len] == '\0' || p[len] == '/')) {
            inotify_rm_watch(w->io.fd, w->dirs[i].wd);
            dir_drop_at(w, i);
        }
    }
}

static void limit_reason(char *out, size_t outlen)
{
    unsigned long max = 0;
    FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "re");
    if (f) {
        if (fscanf(f, "%lu", &max) != 1)
            max = 0;
        fclose(f);
    }
    snprintf(out, outlen, "the inotify watch limit (fs.inotify.max_user_watches = %lu) is "
             "reached; raise it with sysctl", max);
}

static void add_failed(const char *path, int errnum, char *err, size_t errlen)
{
    char reason[160];
    if (errnum == ENOSPC)
        limit_reason(reason, sizeof reason);
    else if (errnum == ENOENT)
        snprintf(reason, sizeof reason, "no such directory");
    else
        snprintf(reason, sizeof reason, "%s", strerror(errnum));
    snprintf(err, errlen, "cannot watch %s: %s", path, reason);
}

/* An entry of `dir` is a directory of its own (symbolic links are not followed). */
static bool entry_is_dir(DIR *dir, const struct dirent *e)
{
    if (e->d_type != DT_UNKNOWN)
        return e->d_type == DT_DIR;
    struct stat st;
    return fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/*
 * Watches the directory w->scratch[0..len) and those below it. When `php` is given, the first
 * PHP file met goes there (a directory created or moved in may hold files that changed before
 * its watch existed). Returns 0, or -1 with `err`.
 */
static int add_tree(struct watch *w, size_t len, char *php, char *err, size_t errlen)
{
    const char *path = w->scratch;
    int wd = inotify_add_watch(w->io.fd, path, WATCH_MASK);
    if (wd < 0) {
        add_failed(path, errno, err, errlen);
        return -1;
    }
    if (dir_put(w, wd, path) < 0) {
        snprintf(err, errlen, "cannot watch %s: out of memory", path);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = 0;
    const struct dirent *e;
    while (rc == 0 && (e = readdir(dir)) != NULL) {
        if (watch_name_ignored(e->d_name))
            continue;
        size_t name_len = strlen(e->d_name);
        if (len + 1 + name_len >= sizeof w->scratch)
            continue; /* beyond PATH_MAX: inotify could not take it either */
        w->scratch[len] = '/';
        memcpy(w->scratch + len + 1, e->d_name, name_len + 1);
        if (entry_is_dir(dir, e))
            rc = add_tree(w, len + 1 + name_len, php, err, errlen);
        else if (php && !php[0] && watch_name_is_php(e->d_name))
            snprintf(php, PATH_MAX, "%s", w->scratch);
        w->scratch[len] = '\0';
    }
    closedir(dir);
    return rc;
}

static void note_change(struct watch *w, const char *path)
{
    uint64_t now = loop_now_ms(w->loop);
    if (w->changes++ == 0) {
        w->first_ms = now;
        snprintf(w->first, sizeof w->first, "%s", path);
    }
    loop_timer_arm(w->loop, &w->timer, watch_fire_at(w->first_ms, now) - now);
}

/* A directory created or moved in: watched from now on; a PHP file in it is a change. */
static void dir_arrived(struct watch *w, const char *path)
{
    char php[PATH_MAX] = "", err[PATH_MAX + 200];
    size_t len = strlen(path);
    memcpy(w->scratch, path, len + 1);
    if (add_tree(w, len, php, err, sizeof err) < 0 && access(path, F_OK) == 0) /* not gone */
        log_warn("WORKER_WATCH: %s; changes there go unnoticed", err);
    if (php[0])
        note_change(w, php);
}

static void on_event(struct watch *w, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) {
        note_change(w, "");
        return;
    }
    struct watched *dir = dir_find(w, ev->wd);
    if (!dir)
        return; /* dropped already: renamed away */
    if (ev->mask & IN_IGNORED) {
        dir_drop_at(w, (size_t)(dir - w->dirs));
        return;
    }
    if (ev->len == 0 || watch_name_ignored(ev->name))
        return;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir->path, ev->name) >= (int)sizeof path)
        return;
    if (!(ev->mask & IN_ISDIR)) {
        if (watch_name_is_php(ev->name))
            note_change(w, path);
    } else if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
        dir_arrived(w, path);
    } else if (ev->mask & IN_MOVED_FROM) {
        /* it may have held PHP code; where it went, it is not watched */
        dir_drop_tree(w, path);
        note_change(w, path);
    } /* a deleted directory's files reported their own deletion; IN_IGNORED drops it */
}

static void on_readable(struct loop *loop, struct loop_io *io, uint32_t events)
{
    (void)loop;
    (void)events;
    struct watch *w = container_of(io, struct watch, io);
    _Alignas(struct inotify_event) char buf[16384];
    for (;;) {
        ssize_t n = read(io->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN)
                log_warn("WORKER_WATCH: reading inotify events: %s", strerror(errno));
            return;
        }
        for (ssize_t off = 0; off < n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(void *)(buf + off);
            on_event(w, ev);
            off += (ssize_t)(sizeof *ev + ev->len);
        }
    }
}

static void on_quiet(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct watch *w = container_of(t, struct watch, timer);
    if (!w->first[0])
        log_info("WORKER_WATCH: too many changes to tell which (the inotify queue overflowed); "
                 "reloading");
    else if (w->changes > 1)
        log_info("WORKER_WATCH: %s changed (%u changes in all); reloading", w->first, w->changes);
    else
        log_info("WORKER_WATCH: %s changed; reloading", w->first);
    w->changes = 0;
    w->fn(w->arg, w->first);
}

/* One directory of the list, with everything below it; its real path is added to `roots`. */
static int add_root(struct watch *w, const char *entry, struct buf *roots, char *err,
                    size_t errlen)
{
    char why[PATH_MAX + 200];
    struct stat st;
    if (!realpath(entry, w->scratch)) {
        snprintf(why, sizeof why, "%s", errno == ENOENT ? "no such directory" : strerror(errno));
    } else if (stat(w->scratch, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, sizeof why, "not a directory");
    } else if (add_tree(w, strlen(w->scratch), NULL, why, sizeof why) == 0) {
        buf_printf(roots, "%s%s", roots->len ? ", " : "", w->scratch);
        return 0;
    }
    snprintf(err, errlen, "WORKER_WATCH \"%s\": %s", entry, why);
    return -1;
}

struct watch *watch_start(struct loop *loop, const struct watch_dirs *dirs, watch_change_fn *fn,
                          void *arg, char *err, size_t errlen)
{
    struct watch *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "WORKER_WATCH: out of memory");
        return NULL;
    }
    *w = (struct watch){.loop = loop, .io = {.fd = -1, .fn = on_readable},
                        .timer = {.fn = on_quiet}, .fn = fn, .arg = arg};
    w->io.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->io.fd < 0) {
        snprintf(err, errlen, "WORKER_WATCH: inotify_init1: %s%s", strerror(errno),
                 errno == EMFILE ? " (fs.inotify.max_user_instances)" : "");
        watch_free(w);
        return NULL;
    }
    struct buf roots = {0};
    int rc = 0;
    for (unsigned i = 0; rc == 0 && i < dirs->count; i++)
        rc = add_root(w, watch_dirs_at(dirs, i), &roots, err, errlen);
    if (rc == 0 && loop_add(loop, &w->io, EPOLLIN) < 0) {
        snprintf(err, errlen, "WORKER_WATCH: epoll: %s", strerror(errno));
        rc = -1;
    }
    if (rc == 0) /* never in production by accident */
        log_warn("WORKER_WATCH is on, a development setting: a change to a .php file below %.*s "
                 "(%zu directories) reloads the workers", (int)roots.len, roots.data, w->count);
    buf_free(&roots);
    if (rc < 0) {
        watch_free(w);
        return NULL;
    }
    return w;
}

size_t watch_dir_count(const struct watch *w)
{
    return w->count;
}

void watch_free(struct watch *w)
{
    if (!w)
        return;
    if (w->io.fd >= 0) {
        loop_remove(w->loop, &w->io);
        close(w->io.fd);
    }
    loop_timer_cancel(w->loop, &w->timer);
    for (size_t i = 0; i < w->count; i++)
        free(w->dirs[i].path);
    free(w->dirs);
    free(w);
}
