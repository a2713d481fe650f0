/*
 * Rate limiting by client address, and the choice of that address.
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
 * The client address is the TCP peer, unless the peer is a trusted proxy (TRUSTED_PROXIES):
 * then it is the rightmost X-Forwarded-For hop that is not itself a trusted proxy.
 */
#ifndef KILN_MIDDLEWARE_RATELIMIT_H
#define KILN_MIDDLEWARE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IP address as 16 bytes in network order; IPv4 a.b.c.d is stored as ::ffff:a.b.c.d. */
struct ratelimit_ip {
    uint8_t b[16];
};

/* Room for the text form of any address, with its NUL (INET6_ADDRSTRLEN). */
#define RATELIMIT_IP_TEXT_SIZE 46

/* From an AF_INET or AF_INET6 socket address; false for any other family. */
bool ratelimit_ip_from_sockaddr(const struct sockaddr *sa, struct ratelimit_ip *out);

/* From text "192.0.2.1" or "2001:db8::1" (no brackets, port or zone); false if not one. */
bool ratelimit_ip_parse(const char *s, size_t len, struct ratelimit_ip *out);

/* Text form: dotted quad for IPv4 (also when it came as ::ffff:a.b.c.d), RFC 5952 for IPv6. */
void ratelimit_ip_format(const struct ratelimit_ip *ip, char out[RATELIMIT_IP_TEXT_SIZE]);

/* ---- trusted proxies ----------------------------------------------------------------------- */

#define RATELIMIT_MAX_PROXIES 64

struct ratelimit_cidr {
    struct ratelimit_ip net; /* host bits cleared */
    unsigned prefix;         /* 0..128, over the 16-byte form (IPv4 /n is 96 + n) */
};

struct ratelimit_proxies {
    unsigned count;
    struct ratelimit_cidr cidr[RATELIMIT_MAX_PROXIES];
};

/*
 * Parses TRUSTED_PROXIES: comma-separated addresses or CIDR blocks, "10.0.0.0/8, ::1/128,
 * 192.0.2.7" (a bare address is one host; spaces around entries allowed; host bits set below
 * the prefix are cleared, as nginx does). Empty = no trusted proxy. At most
 * RATELIMIT_MAX_PROXIES entries. Returns 0, or -1 (and `out` unspecified) when the text is not
 * accepted. For config.c, which reports the setting's error line.
 */
int ratelimit_parse_proxies(const char *s, struct ratelimit_proxies *out);

bool ratelimit_proxies_contain(const struct ratelimit_proxies *p, const struct ratelimit_ip *ip);

/*
 * The client address of a request from `peer`, with X-Forwarded-For `xff[0..xff_len)` (NULL when
 * absent; several header lines joined with ","). An untrusted peer is the client. For a trusted
 * peer, hops are read right to left: the first one not trusted is the client; if every hop is
 * trusted, the leftmost. A hop that is not an address ("unknown", garbage) stops the walk: the
 * last address read before it is the client, since nothing to its left can be believed.
 * Hops may carry a port: "192.0.2.1:4711", "[2001:db8::1]:4711".
 */
void ratelimit_client_ip(const struct ratelimit_proxies *p, const struct ratelimit_ip *peer,
                         const char *xff, size_t xff_len, struct ratelimit_ip *client);

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
void ratelimit_check(struct ratelimit *rl, const struct ratelimit_ip *client, uint64_t now_ms,
                     struct ratelimit_result *out);

void ratelimit_destroy(struct ratelimit *rl);

#endif
