/*
 * Compressed static files kept in memory, so a popular file is compressed once, not on every
 * request. Entries are keyed by path, coding, size and modification time (a changed file is a
 * new key; the old entry ages out), and evicted least recently used first once the cache holds
 * more than its byte budget (STATIC_COMPRESS_CACHE_SIZE).
 */
#ifndef KILN_MIDDLEWARE_ZCACHE_H
#define KILN_MIDDLEWARE_ZCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct zcache;

struct zcache_key {
    const char *path;
    int coding;
    int64_t size;
    struct timespec mtime;
};

/* A cache of at most `max_bytes` of compressed data; NULL when max_bytes is 0 (no cache). */
struct zcache *zcache_create(size_t max_bytes);
void zcache_destroy(struct zcache *z);
/* Forgets every entry (a reload: the files may have been replaced keeping size and mtime). */
void zcache_clear(struct zcache *z);

/* The compressed bytes for `key`, or NULL; *len is set. Valid until the next zcache_put(). */
const void *zcache_get(struct zcache *z, const struct zcache_key *key, size_t *len);

/* Stores a copy of `data` for `key` (nothing when it is larger than the whole budget). */
void zcache_put(struct zcache *z, const struct zcache_key *key, const void *data, size_t len);

/* Bytes held now. */
size_t zcache_bytes(const struct zcache *z);

#endif
