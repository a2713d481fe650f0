/*
 * Rate limiting by client address.
 *
 * The limiter is the seed's fixed window: a client's first request starts a window of
 * `window_secs`; up to `limit` requests pass in it; later ones are refused until the window
 * ends, and the next request after that starts a new one. Clients are IPv4 addresses or IPv6
 * /64 prefixes (one host usually owns a whole /64, so counting single IPv6 addresses would let
 * it rotate through them).
 *
 * Memory is fixed at creation: an open-addressing table of `capacity` slots (32 bytes each),
 * never resized. A client lives within 16 slots of its hash position (a keyed SipHash, so nobody
 * can aim addresses at one neighbourhood). A new client takes, in that neighbourhood, a
 * never-used slot, else the slot whose window started first: an expired one whenever there is
 * one (all windows have the same length), otherwise the live one closest to expiring, which is
 * evicted. Under a flood of distinct addresses larger than the table, an evicted client starts a
 * fresh window: the flood costs bounded memory and constant time per request, and at worst
 * resets other clients' counters.
 *
 * Who the client is (peer or X-Forwarded-For hop) is decided by net/addr.
 */
#ifndef KILN_MIDDLEWARE_RATELIMIT_H
#define KILN_MIDDLEWARE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"

/* ---- the limiter --------------------------------------------------------------------------- */

/* What a request learns: whether it passes, and the values of the X-RateLimit-* headers. */
struct ratelimit_result {
    bool allowed;
    unsigned limit;      /* X-RateLimit-Limit */
    unsigned remaining;  /* X-RateLimit-Remaining: requests left in the window, 0 when refused */
    unsigned reset_secs; /* X-RateLimit-Reset and Retry-After: seconds until the window ends,
                            rounded up, at least 1 */
};

struct ratelimit;

/* A limiter of `limit` (>= 1) requests per `window_secs` (>= 1) for up to `capacity` clients
   (rounded up to a power of two, at least 16, at most 2^24). NULL on bad arguments or allocation
   failure. */
struct ratelimit *ratelimit_create(unsigned limit, unsigned window_secs, size_t capacity);

/* Counts one request from `client` at monotonic time `now_ms` (never decreasing). */
void ratelimit_check(struct ratelimit *rl, const struct addr_ip *client, uint64_t now_ms,
                     struct ratelimit_result *out);

void ratelimit_destroy(struct ratelimit *rl);

/* SipHash-2-4 (Aumasson and Bernstein) of exactly 16 bytes, the table's hash; exported for its
   known-answer test. */
uint64_t ratelimit_siphash16(const uint64_t key[2], const uint8_t m[16]);

#endif
