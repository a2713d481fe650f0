#include "middleware/zcache.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define ZCACHE_BUCKETS 1024u

struct zcache_entry {
    struct zcache_entry *chain;       /* same bucket */
    struct zcache_entry *prev, *next; /* recency: head = most recent */
    uint64_t hash;
    int coding;
    int64_t size;
    struct timespec mtime;
    size_t len;
    char *path;
    unsigned char *data;
};

struct zcache {
    size_t max_bytes;
    size_t bytes;
    struct zcache_entry *buckets[ZCACHE_BUCKETS];
    struct zcache_entry *head, *tail;
};

static uint64_t key_hash(const struct zcache_key *k)
{
    return text_hash(k->path, strlen(k->path)) ^ (uint64_t)k->coding;
}

static bool key_matches(const struct zcache_entry *e, const struct zcache_key *k, uint64_t h)
{
    return e->hash == h && e->coding == k->coding && e->size == k->size &&
           e->mtime.tv_sec == k->mtime.tv_sec && e->mtime.tv_nsec == k->mtime.tv_nsec &&
           strcmp(e->path, k->path) == 0;
}

struct zcache *zcache_create(size_t max_bytes)
{
    if (max_bytes == 0)
        return NULL;
    struct zcache *z = calloc(1, sizeof(*z));
    if (z)
        z->max_bytes = max_bytes;
    return z;
}

static void unlink_recency(struct zcache *z, struct zcache_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        z->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        z->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(struct zcache *z, struct zcache_entry *e)
{
    e->next = z->head;
    if (z->head)
        z->head->prev = e;
    z->head = e;
    if (!z->tail)
        z->tail = e;
}

static void entry_free(struct zcache_entry *e)
{
    free(e->path);
    free(e->data);
    free(e);
}

static void evict(struct zcache *z, struct zcache_entry *e)
{
    struct zcache_entry **p = &z->buckets[e->hash % ZCACHE_BUCKETS];
    while (*p != e)
        p = &(*p)->chain;
    *p = e->chain;
    unlink_recency(z, e);
    z->bytes -= e->len;
    entry_free(e);
}

void zcache_clear(struct zcache *z)
{
    if (!z)
        return;
    while (z->head)
        evict(z, z->head);
}

void zcache_destroy(struct zcache *z)
{
    zcache_clear(z);
    free(z);
}

const void *zcache_get(struct zcache *z, const struct zcache_key *key, size_t *len)
{
    if (!z)
        return NULL;
    uint64_t h = key_hash(key);
    for (struct zcache_entry *e = z->buckets[h % ZCACHE_BUCKETS]; e; e = e->chain) {
        if (key_matches(e, key, h)) {
            unlink_recency(z, e);
            push_front(z, e);
            *len = e->len;
            return e->data;
        }
    }
    return NULL;
}

void zcache_put(struct zcache *z, const struct zcache_key *key, const void *data, size_t len)
{
    if (!z || len > z->max_bytes)
        return;
    struct zcache_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return;
    e->path = strdup(key->path);
    e->data = malloc(len ? len : 1);
    if (!e->path || !e->data) {
        entry_free(e);
        return;
    }
    memcpy(e->data, data, len);
    e->hash = key_hash(key);
    e->coding = key->coding;
    e->size = key->size;
    e->mtime = key->mtime;
    e->len = len;
    while (z->tail && z->bytes + len > z->max_bytes)
        evict(z, z->tail);
    struct zcache_entry **bucket = &z->buckets[e->hash % ZCACHE_BUCKETS];
    e->chain = *bucket;
    *bucket = e;
    push_front(z, e);
    z->bytes += len;
}

size_t zcache_bytes(const struct zcache *z)
{
    return z ? z->bytes : 0;
}
