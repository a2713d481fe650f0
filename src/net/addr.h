/*
 * IP addresses, CIDR lists and the choice of a request's client address.
 *
 * Addresses are 16 bytes in network order (IPv4 as ::ffff:a.b.c.d), so one type and one
 * comparison serve both families. The client address is the TCP peer, unless the peer is a
 * trusted proxy (TRUSTED_PROXIES): then it is the rightmost X-Forwarded-For hop that is not itself
 * a trusted proxy. Pure functions, no allocation; config.c parses TRUSTED_PROXIES with
 * addr_parse_cidr_list() and stores the result, the rate limiter and the access log use it.
 */
#ifndef KILN_NET_ADDR_H
#define KILN_NET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IP address as 16 bytes in network order; IPv4 a.b.c.d is stored as ::ffff:a.b.c.d. */
struct addr_ip {
    uint8_t b[16];
};

/* Room for the text form of any address, with its NUL (INET6_ADDRSTRLEN). */
#define ADDR_IP_TEXT_SIZE 46

/* From an AF_INET or AF_INET6 socket address; false for any other family. */
bool addr_ip_from_sockaddr(const struct sockaddr *sa, struct addr_ip *out);

/* From text "192.0.2.1" or "2001:db8::1" (no brackets, port or zone); false if not one. */
bool addr_ip_parse(const char *s, size_t len, struct addr_ip *out);

/* Whether `ip` is an IPv4 address (stored as ::ffff:a.b.c.d). */
bool addr_ip_is_v4(const struct addr_ip *ip);

/* Text form: dotted quad for IPv4 (also when it came as ::ffff:a.b.c.d), RFC 5952 for IPv6. */
void addr_ip_format(const struct addr_ip *ip, char out[ADDR_IP_TEXT_SIZE]);

/* ---- CIDR lists and the client address ---------------------------------------------------- */

#define ADDR_MAX_CIDRS 64

struct addr_cidr {
    struct addr_ip net; /* host bits cleared */
    unsigned prefix;    /* 0..128, over the 16-byte form (IPv4 /n is 96 + n) */
};

struct addr_cidr_list {
    unsigned count;
    struct addr_cidr cidr[ADDR_MAX_CIDRS];
};

/*
 * Parses TRUSTED_PROXIES: comma-separated addresses or CIDR blocks, "10.0.0.0/8, ::1/128,
 * 192.0.2.7" (a bare address is one host; spaces around entries allowed; host bits set below
 * the prefix are cleared, as nginx does). Empty = no trusted proxy. At most
 * ADDR_MAX_CIDRS entries. Returns 0, or -1 (and `out` unspecified) when the text is not
 * accepted. For config.c, which reports the setting's error line.
 */
int addr_parse_cidr_list(const char *s, struct addr_cidr_list *out);

bool addr_cidr_list_contains(const struct addr_cidr_list *p, const struct addr_ip *ip);

/*
 * The client address of a request from `peer`, with X-Forwarded-For `xff[0..xff_len)` (NULL when
 * absent; several header lines joined with ","). An untrusted peer is the client. For a trusted
 * peer, hops are read right to left: the first one not trusted is the client; if every hop is
 * trusted, the leftmost. A hop that is not an address ("unknown", garbage) stops the walk: the
 * last address read before it is the client, since nothing to its left can be believed.
 * Hops may carry a port: "192.0.2.1:4711", "[2001:db8::1]:4711".
 */
void addr_client_ip(const struct addr_cidr_list *p, const struct addr_ip *peer, const char *xff,
                    size_t xff_len, struct addr_ip *client);

#endif
