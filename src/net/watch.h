/*
 * WORKER_WATCH, a development mode: inotify watches over source directories, recursively, and
 * a change to a PHP file asks for a reload (docs/operations.md, "Development: WORKER_WATCH").
 *
 * Runs in the master's loop and never blocks it: the inotify descriptor is non-blocking and
 * close-on-exec (the php-zygote and its workers never hold it). A burst of changes is one call
 * of the callback: it comes once no change has been seen for WATCH_QUIET_MS, and at the latest
 * WATCH_MAX_DELAY_MS after the first change of the burst.
 *
 * The list parser, the name filter and the coalescing deadline are pure, for the unit tests.
 */
#ifndef KILN_NET_WATCH_H
#define KILN_NET_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/loop.h"

#define WATCH_DIRS_MAX 16         /* directories in the list */
#define WATCH_DIRS_TEXT_MAX 2048  /* bytes of the list's entries, each NUL included */
#define WATCH_QUIET_MS 300        /* a burst ends after this long without a change */
#define WATCH_MAX_DELAY_MS 2000   /* ... or this long after its first change */

/* The WORKER_WATCH list, parsed: the directories as written (relative ones are taken from the
   working directory when watch_start() runs). */
struct watch_dirs {
    unsigned count;
    unsigned short at[WATCH_DIRS_MAX];  /* where each entry starts in `text` */
    char text[WATCH_DIRS_TEXT_MAX];     /* the entries, each NUL-terminated */
};

static inline const char *watch_dirs_at(const struct watch_dirs *dirs, unsigned i)
{
    return dirs->text + dirs->at[i];
}

/*
 * Parses a comma-separated list of directories ("src, /srv/app/config"); entries are trimmed
 * and "" is the empty list (off). Refuses empty entries ("a,,b", "a,"), more than
 * WATCH_DIRS_MAX entries and entries holding control characters. Returns 0, or -1 with `out`
 * unspecified.
 */
int watch_dirs_parse(const char *text, struct watch_dirs *out);

/* Names (one path component) the watch never looks at: hidden ones (".git", ".idea", an
   editor's ".#index.php" lock). Not descended into, not reported. */
bool watch_name_ignored(const char *name);

/* A file whose change asks for a reload: not ignored, and named *.php (any case, as the
   router treats it as PHP). */
bool watch_name_is_php(const char *name);

/* When a burst whose first change was at `first_ms` is over, seen from a change at `now_ms`. */
uint64_t watch_fire_at(uint64_t first_ms, uint64_t now_ms);

/* ---- the watch ------------------------------------------------------------------------------ */

/* Called once per burst, after its log line, with the first PHP file it changed. */
typedef void watch_change_fn(void *arg, const char *path);

struct watch;

/*
 * Watches every directory of `dirs` and the directories below them (not hidden ones, not
 * through symbolic links). Returns the watch, or NULL with one line in `err` naming the
 * directory and the reason (missing, not a directory, unreadable, the inotify limits).
 */
struct watch *watch_start(struct loop *loop, const struct watch_dirs *dirs, watch_change_fn *fn,
                          void *arg, char *err, size_t errlen);

/* Directories watched now. */
size_t watch_dir_count(const struct watch *w);

/* Stops watching and frees; NULL is fine. */
void watch_free(struct watch *w);

#endif
