#include "pool/scoreboard.h"

#include <string.h>
#include <sys/mman.h>

/* Copies a reader makes before giving up on a record a worker keeps rewriting. */
#define READ_TRIES 4

struct scoreboard_slot *scoreboard_map(unsigned count)
{
    void *p = mmap(NULL, count * sizeof(struct scoreboard_slot), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void scoreboard_unmap(struct scoreboard_slot *slots, unsigned count)
{
    if (slots)
        munmap(slots, count * sizeof(struct scoreboard_slot));
}

/*
 * The sequence lock. The record is copied with memcpy while the other process may write it:
 * outside what C11 describes (two processes), as in every seqlock; the counter's fences order
 * the copy, and a torn copy is detected and dropped.
 */
static uint32_t write_begin(_Atomic uint32_t *gen)
{
    uint32_t g = atomic_load_explicit(gen, memory_order_relaxed);
    g += g & 1; /* a writer died mid-write: start from the next even value */
    atomic_store_explicit(gen, g + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    return g;
}

static void write_end(_Atomic uint32_t *gen, uint32_t g)
{
    atomic_store_explicit(gen, g + 2, memory_order_release);
}

static bool read_record(const _Atomic uint32_t *gen, const void *record, void *out, size_t size)
{
    for (int i = 0; i < READ_TRIES; i++) {
        uint32_t before = atomic_load_explicit((_Atomic uint32_t *)gen, memory_order_acquire);
        if (before & 1)
            continue;
        memcpy(out, record, size);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit((_Atomic uint32_t *)gen, memory_order_relaxed) == before)
            return true;
    }
    return false;
}

/* Copies at most cap - 1 bytes and a NUL; true when it all fitted. */
static bool copy_cut(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = len < cap ? len : cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n == len;
}

void scoreboard_publish_request(struct scoreboard_slot *s, uint32_t seq, const char *method,
                                size_t method_len, const char *uri, size_t uri_len,
                                uint64_t begin_usec)
{
    uint32_t g = write_begin(&s->request_gen);
    struct scoreboard_request *r = &s->request;
    r->seq = seq;
    r->begin_usec = begin_usec;
    copy_cut(r->method, sizeof r->method, method, method_len);
    r->uri_truncated = !copy_cut(r->uri, sizeof r->uri, uri, uri_len);
    write_end(&s->request_gen, g);
}

void scoreboard_publish_opcache(struct scoreboard_slot *s, const struct scoreboard_opcache *o)
{
    uint32_t g = write_begin(&s->opcache_gen);
    s->opcache = *o;
    write_end(&s->opcache_gen, g);
}

bool scoreboard_read_request(const struct scoreboard_slot *s, struct scoreboard_request *out)
{
    if (!read_record(&s->request_gen, &s->request, out, sizeof *out) || out->seq == 0)
        return false;
    out->method[sizeof out->method - 1] = '\0';
    out->uri[sizeof out->uri - 1] = '\0';
    return true;
}

bool scoreboard_read_opcache(const struct scoreboard_slot *s, struct scoreboard_opcache *out)
{
    return read_record(&s->opcache_gen, &s->opcache, out, sizeof *out) && out->sampled_usec != 0;
}

bool scoreboard_latest_opcache(const struct scoreboard_slot *slots, unsigned count,
                               struct scoreboard_opcache *out)
{
    bool found = false;
    struct scoreboard_opcache o;
    for (unsigned i = 0; i < count; i++) {
        if (scoreboard_read_opcache(&slots[i], &o) && (!found || o.sampled_usec > out->sampled_usec)) {
            *out = o;
            found = true;
        }
    }
    return found;
}
