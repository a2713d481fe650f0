#include "middleware/ratelimit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define PROBE 16                 /* slots a client may live in, from its hash position */
#define MIN_CAPACITY PROBE       /* so that a neighbourhood never wraps onto itself */
#define MAX_CAPACITY (1u << 24)  /* 512 MiB of slots: far beyond any sensible setting */

/* ---- the table ----------------------------------------------------------------------------- */

struct slot {
    struct addr_ip key; /* IPv4 address or IPv6 /64 prefix */
    uint64_t start_ms;  /* when the current window began */
    uint32_t count;     /* requests counted in the window; 0 = slot never used */
};
_Static_assert(sizeof(struct slot) == 32, "ratelimit.h promises 32 bytes per slot");

struct ratelimit {
    unsigned limit;
    uint64_t window_ms;
    size_t mask; /* slots - 1 */
    uint64_t hash_key[2];
    struct slot slots[];
};

static uint64_t rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

static void sip_round(uint64_t v[4])
{
    v[0] += v[1], v[1] = rotl(v[1], 13), v[1] ^= v[0], v[0] = rotl(v[0], 32);
    v[2] += v[3], v[3] = rotl(v[3], 16), v[3] ^= v[2];
    v[0] += v[3], v[3] = rotl(v[3], 21), v[3] ^= v[0];
    v[2] += v[1], v[1] = rotl(v[1], 17), v[1] ^= v[2], v[2] = rotl(v[2], 32);
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint64_t ratelimit_siphash16(const uint64_t key[2], const uint8_t m[16])
{
    uint64_t v[4] = {key[0] ^ 0x736f6d6570736575u, key[1] ^ 0x646f72616e646f6du,
                     key[0] ^ 0x6c7967656e657261u, key[1] ^ 0x7465646279746573u};
    uint64_t words[3] = {load_le64(m), load_le64(m + 8), (uint64_t)16 << 56};
    for (int i = 0; i < 3; i++) {
        v[3] ^= words[i];
        sip_round(v);
        sip_round(v);
        v[0] ^= words[i];
    }
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static void random_hash_key(uint64_t key[2])
{
    if (getrandom(key, 2 * sizeof(key[0]), GRND_NONBLOCK) == (ssize_t)(2 * sizeof(key[0])))
        return;
    /* No entropy yet (early boot): a per-process value still defeats precomputed addresses. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    key[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^ (uint64_t)ts.tv_sec;
    key[1] = (uint64_t)(uintptr_t)key ^ ((uint64_t)getpid() << 32);
}

struct ratelimit *ratelimit_create(unsigned limit, unsigned window_secs, size_t capacity)
{
    if (limit == 0 || window_secs == 0 || capacity > MAX_CAPACITY)
        return NULL;
    size_t slots = MIN_CAPACITY;
    while (slots < capacity)
        slots *= 2;
    struct ratelimit *rl = calloc(1, sizeof(*rl) + slots * sizeof(struct slot));
    if (!rl)
        return NULL;
    rl->limit = limit;
    rl->window_ms = (uint64_t)window_secs * 1000;
    rl->mask = slots - 1;
    random_hash_key(rl->hash_key);
    return rl;
}

static bool window_over(const struct ratelimit *rl, const struct slot *s, uint64_t now_ms)
{
    return now_ms >= s->start_ms + rl->window_ms;
}

/*
 * The client's slot, or one claimed for it (count 0): the first never-used slot of the
 * neighbourhood, else the one whose window started first. All windows have the same length, so
 * that is an expired one whenever there is one, and otherwise the one closest to expiring.
 * A client is never stored past a never-used slot (it would have taken it): the scan stops there.
 */
static struct slot *find_slot(struct ratelimit *rl, const struct addr_ip *key)
{
    size_t home = (size_t)ratelimit_siphash16(rl->hash_key, key->b);
    struct slot *victim = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        struct slot *s = &rl->slots[(home + i) & rl->mask];
        if (s->count == 0) {
            victim = s;
            break;
        }
        if (memcmp(&s->key, key, sizeof(*key)) == 0)
            return s;
        if (!victim || s->start_ms < victim->start_ms)
            victim = s;
    }
    victim->key = *key;
    victim->count = 0;
    return victim;
}

void ratelimit_check(struct ratelimit *rl, const struct addr_ip *client, uint64_t now_ms,
                     struct ratelimit_result *out)
{
    struct addr_ip key = *client;
    if (!addr_ip_is_v4(&key))
        memset(key.b + 8, 0, 8); /* IPv6 clients are /64 prefixes */
    struct slot *s = find_slot(rl, &key);
    if (s->count == 0 || window_over(rl, s, now_ms)) {
        s->start_ms = now_ms;
        s->count = 0;
    }
    out->allowed = s->count < rl->limit;
    if (out->allowed)
        s->count++;
    out->limit = rl->limit;
    out->remaining = rl->limit - s->count;
    uint64_t left_ms = s->start_ms + rl->window_ms - now_ms; /* >= 1: the window is running */
    out->reset_secs = (unsigned)((left_ms + 999) / 1000);
}

void ratelimit_destroy(struct ratelimit *rl)
{
    free(rl);
}
