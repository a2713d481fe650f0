/*
 * Open connections per client IP address (MAX_CONNECTIONS_PER_IP): a hash table of addresses
 * with a count each, kept only for addresses that have a connection open. IPv4 and IPv6 (IPv4
 * as IPv4-mapped IPv6); other families (Unix sockets) are not counted. Memory is taken when the
 * first address is added: an unused table costs nothing.
 */
#ifndef KILN_NET_PEERCOUNT_H
#define KILN_NET_PEERCOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct peercount_entry;

struct peercount {
    struct peercount_entry *slots; /* open addressing, linear probing; NULL until first used */
    uint32_t cap;                  /* a power of two, or 0 */
    uint32_t used;
    uint64_t seed;                 /* hashing: chosen at random so clients cannot aim collisions */
};

/* One more connection from `peer`: false (and nothing counted) if it already has `limit`. */
bool peercount_add(struct peercount *pc, const struct sockaddr *peer, uint32_t limit);
/* A connection from `peer` closed; nothing happens for an address not counted. */
void peercount_remove(struct peercount *pc, const struct sockaddr *peer);
/* Connections counted for `peer` (0 when none). */
uint32_t peercount_get(const struct peercount *pc, const struct sockaddr *peer);
void peercount_free(struct peercount *pc);

#endif
