/*
 * The scoreboard: what the PHP workers publish for the master's /workers and /metrics, in memory
 * shared by the master and every worker (MAP_SHARED, mapped by zygote_ctl_start() before the
 * zygote is forked, beside the begin board of pool/proto.h).
 *
 * One slot per worker (PHP_WORKERS slots; a worker writes only its own), holding:
 *   - the request it began last: its seq (the REQUEST frame's), method, URI and the wall-clock
 *     time it began. The master shows them for a busy worker whose current job has that seq, so
 *     a slot left over from an earlier request, or an earlier process in the slot, never shows.
 *   - its last OPcache sample (php/opcache_stats.h), taken after a request at most once a
 *     second. OPcache's memory is shared, so any fresh sample describes the whole cache: the
 *     master takes the most recent of all slots (scoreboard_latest_opcache()).
 *
 * Why not the begin board: its slot is one word changed by compare-and-swap from both sides,
 * and its correctness (a request runs once) must not depend on anything else. The scoreboard is
 * advisory: a reader that sees a torn record discards it.
 *
 * Each record is guarded by a sequence lock with a single writer: the worker makes the counter
 * odd, writes, makes it even; the master copies the record and keeps it only when the counter
 * was even and unchanged across the copy. The worker never waits and the master only retries a
 * few times, so neither can block the other. A worker killed in the middle of a write leaves
 * the counter odd; the next process in the slot repairs it on its first write.
 *
 * Cost per request in a worker: two stores, a clock read (vDSO) and a copy of at most
 * SCOREBOARD_URI_MAX bytes. Nothing at all in the master until a scrape.
 */
#ifndef KILN_POOL_SCOREBOARD_H
#define KILN_POOL_SCOREBOARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCOREBOARD_METHOD_MAX 24 /* bytes kept of the method, NUL included */
#define SCOREBOARD_URI_MAX 256   /* bytes kept of the URI, NUL included; longer ones are cut */

struct scoreboard_request {
    uint32_t seq;                       /* 0: no request published yet */
    bool uri_truncated;                 /* the URI was longer than what `uri` holds */
    uint64_t begin_usec;                /* when the worker began it, microseconds since epoch */
    char method[SCOREBOARD_METHOD_MAX]; /* NUL-terminated (cut if longer) */
    char uri[SCOREBOARD_URI_MAX];       /* REQUEST_URI, NUL-terminated */
};

/* OPcache as opcache_get_status(false) reports it; sizes in bytes. */
struct scoreboard_opcache {
    uint64_t sampled_usec;   /* when, microseconds since the epoch; 0: never sampled */
    bool enabled;            /* OPcache caches scripts (false: every other field is 0) */
    bool jit_enabled;        /* the JIT is on (jit.on) */
    bool cache_full;
    uint64_t memory_used;
    uint64_t memory_free;
    uint64_t memory_wasted;  /* held by scripts that changed or were invalidated */
    uint64_t interned_strings_used;
    uint64_t interned_strings_free;
    uint64_t cached_scripts;
    uint64_t cached_keys;
    uint64_t max_cached_keys;
    uint64_t hits;           /* these four since OPcache's last restart */
    uint64_t misses;
    uint64_t oom_restarts;   /* restarts because the memory was full */
    uint64_t hash_restarts;  /* ... because the key table was full */
    uint64_t manual_restarts; /* ... because of opcache_reset() */
    uint64_t jit_buffer_size;
    uint64_t jit_buffer_free;
};

struct scoreboard_slot {
    _Atomic uint32_t request_gen; /* sequence lock of `request` */
    struct scoreboard_request request;
    _Atomic uint32_t opcache_gen; /* sequence lock of `opcache` */
    struct scoreboard_opcache opcache;
} __attribute__((aligned(64))); /* workers write their own cache lines only */

/* Maps `count` zeroed slots shared with the processes forked afterwards; NULL on failure. */
struct scoreboard_slot *scoreboard_map(unsigned count);
void scoreboard_unmap(struct scoreboard_slot *slots, unsigned count);

/* ---- the worker (the slot's only writer) ---------------------------------------------------- */

/* The request `seq` begins now; `method` and `uri` need not be NUL-terminated. */
void scoreboard_publish_request(struct scoreboard_slot *s, uint32_t seq, const char *method,
                                size_t method_len, const char *uri, size_t uri_len,
                                uint64_t begin_usec);
void scoreboard_publish_opcache(struct scoreboard_slot *s, const struct scoreboard_opcache *o);

/* ---- the master (readers; never block) ------------------------------------------------------ */

/* A consistent copy of the slot's last request; false when none was published or it kept
   changing while read. */
bool scoreboard_read_request(const struct scoreboard_slot *s, struct scoreboard_request *out);
bool scoreboard_read_opcache(const struct scoreboard_slot *s, struct scoreboard_opcache *out);
/* The most recent OPcache sample of `count` slots; false when no slot has one yet. */
bool scoreboard_latest_opcache(const struct scoreboard_slot *slots, unsigned count,
                               struct scoreboard_opcache *out);

#endif
