/*
 * File metadata cache under the document root.
 *
 * Every lookup is confined to the document root by openat2(RESOLVE_BENEATH): a symlink or ".."
 * that leads outside the root is reported as missing, so nothing outside DOCUMENT_ROOT is ever
 * reachable. Results (including misses) are cached for at most STATCACHE_TTL_MS, so a file created
 * or deleted after start-up is noticed within a second. The cache has a fixed number of slots
 * (no allocation after init); an old entry is overwritten when its slot is needed.
 */
#ifndef KILN_HTTP_STATCACHE_H
#define KILN_HTTP_STATCACHE_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define STATCACHE_TTL_MS 1000
#define STATCACHE_SLOTS 1024

enum statcache_kind {
    STATCACHE_MISSING, /* does not exist, not accessible, or outside the root */
    STATCACHE_FILE,    /* regular file */
    STATCACHE_DIR,     /* directory */
    STATCACHE_OTHER,   /* device, fifo, socket: never served */
};

struct statcache_info {
    enum statcache_kind kind;
    off_t size;
    struct timespec mtime;
    ino_t ino;
};

struct statcache; /* opaque */

/*
 * `root_fd` is an O_PATH or O_DIRECTORY fd of the document root; the cache does not own it.
 * Returns NULL with errno set when memory is short or openat2 cannot open the root (EACCES when
 * it cannot be searched, ENOTDIR, EBADF, ENOSYS before Linux 5.6 or under a seccomp filter):
 * start-up must stop then.
 */
struct statcache *statcache_create(int root_fd);
void statcache_destroy(struct statcache *c);

/* A new root (a reload re-resolved DOCUMENT_ROOT): forgets every entry. 0, or -1 with errno set
   and the old root kept, for the same reasons as statcache_create(). */
int statcache_set_root(struct statcache *c, int root_fd);

/*
 * Looks up `rel` (a normalised path starting with '/', relative to the root; "/" is the root
 * itself). `now_ms` is a monotonic clock in milliseconds (the event loop's cached time).
 */
void statcache_lookup(struct statcache *c, const char *rel, uint64_t now_ms,
                      struct statcache_info *out);

/*
 * Lookups that could not ask the file system (out of descriptors or memory), so far. They
 * report STATCACHE_MISSING and are not cached; callers compare the count around a lookup to tell
 * "missing" from "could not look" (503, not 404).
 */
unsigned long statcache_failures(const struct statcache *c);

/* Opens `rel` read-only under the same confinement (O_RDONLY|O_CLOEXEC|O_NONBLOCK). -1 on error. */
int statcache_open(struct statcache *c, const char *rel);

#endif
