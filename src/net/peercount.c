#include "net/peercount.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define PEERCOUNT_MIN_CAP 64

struct peercount_entry {
    uint8_t addr[16]; /* IPv6, or IPv4-mapped */
    uint32_t count;   /* 0: the slot is free */
};

/* The address as 16 bytes; false for families that are not counted. */
static bool peer_key(const struct sockaddr *peer, uint8_t key[16])
{
    if (peer->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
        return true;
    }
    if (peer->sa_family == AF_INET) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(key, mapped, 12);
        memcpy(key + 12, &((const struct sockaddr_in *)peer)->sin_addr, 4);
        return true;
    }
    return false;
}

static uint32_t slot_of(const struct peercount *pc, const uint8_t key[16])
{
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    uint64_t h = (a ^ pc->seed) * 0x9e3779b97f4a7c15u;
    h = (h ^ (h >> 29) ^ b) * 0xbf58476d1ce4e5b9u;
    h ^= h >> 32;
    return (uint32_t)h & (pc->cap - 1);
}

/* The slot holding `key`, or the free slot where it would go. */
static uint32_t find(const struct peercount *pc, const uint8_t key[16])
{
    uint32_t i = slot_of(pc, key);
    while (pc->slots[i].count && memcmp(pc->slots[i].addr, key, 16) != 0)
        i = (i + 1) & (pc->cap - 1);
    return i;
}

/* Keeps the table at most half full (short probes), growing by doubling. */
static void grow(struct peercount *pc)
{
    struct peercount_entry *old = pc->slots;
    uint32_t old_cap = pc->cap;
    if (!old) {
        uint64_t seed = 0;
        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
            seed = (uint64_t)(uintptr_t)pc ^ 0x5bd1e995u;
        pc->seed = seed;
    }
    pc->cap = old_cap ? old_cap * 2 : PEERCOUNT_MIN_CAP;
    pc->slots = calloc(pc->cap, sizeof(*pc->slots));
    if (!pc->slots)
        abort();
    for (uint32_t i = 0; i < old_cap; i++)
        if (old[i].count)
            pc->slots[find(pc, old[i].addr)] = old[i];
    free(old);
}

bool peercount_add(struct peercount *pc, const struct sockaddr *peer, uint32_t limit)
{
    uint8_t key[16];
    if (!peer_key(peer, key))
        return true;
    if ((pc->used + 1) * 2 > pc->cap)
        grow(pc);
    struct peercount_entry *e = &pc->slots[find(pc, key)];
    if (e->count >= limit)
        return false;
    if (e->count == 0) {
        memcpy(e->addr, key, 16);
        pc->used++;
    }
    e->count++;
    return true;
}

/* Frees slot `i`, moving later entries of its probe run back so that no search stops early. */
static void delete_slot(struct peercount *pc, uint32_t i)
{
    uint32_t mask = pc->cap - 1;
    for (uint32_t j = (i + 1) & mask; pc->slots[j].count; j = (j + 1) & mask) {
        uint32_t home = slot_of(pc, pc->slots[j].addr);
        /* j's entry may fill the hole at i unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            pc->slots[i] = pc->slots[j];
            i = j;
        }
    }
    pc->slots[i].count = 0;
    pc->used--;
}

void peercount_remove(struct peercount *pc, const struct sockaddr *peer)
{
    uint8_t key[16];
    if (!pc->slots || !peer_key(peer, key))
        return;
    uint32_t i = find(pc, key);
    if (pc->slots[i].count && --pc->slots[i].count == 0)
        delete_slot(pc, i);
}

uint32_t peercount_get(const struct peercount *pc, const struct sockaddr *peer)
{
    uint8_t key[16];
    if (!pc->slots || !peer_key(peer, key))
        return 0;
    return pc->slots[find(pc, key)].count;
}

void peercount_free(struct peercount *pc)
{
    free(pc->slots);
    *pc = (struct peercount){0};
}
