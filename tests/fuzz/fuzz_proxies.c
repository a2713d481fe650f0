/*
 * libFuzzer target for the TRUSTED_PROXIES parser, the address parser and the
 * X-Forwarded-For walk. The input is "<proxies>\n<X-Forwarded-For>" (without a newline, all of it
 * is tried as both).
 *
 * Checks: an accepted proxy list has sane prefixes, no host bits, and contains its own networks;
 * a parsed address formats to text that parses back to the same address; the client chosen from
 * X-Forwarded-For is the peer when the peer is not trusted, and otherwise the peer or a hop that
 * is in the header; the limiter's answer stays within its limits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "middleware/ratelimit.h"
#include "net/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_proxies: check failed: %s\n", #cond);                       \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

static bool same(const struct addr_ip *a, const struct addr_ip *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

static void check_round_trip(const struct addr_ip *ip)
{
    char text[ADDR_IP_TEXT_SIZE];
    addr_ip_format(ip, text);
    struct addr_ip again;
    CHECK(addr_ip_parse(text, strlen(text), &again));
    CHECK(same(ip, &again));
}

static void check_proxies(const struct addr_cidr_list *p)
{
    CHECK(p->count <= ADDR_MAX_CIDRS);
    for (unsigned i = 0; i < p->count; i++) {
        const struct addr_cidr *c = &p->cidr[i];
        CHECK(c->prefix <= 128);
        for (unsigned bit = c->prefix; bit < 128; bit++)
            CHECK(!(c->net.b[bit / 8] & (0x80 >> (bit % 8))));
        CHECK(addr_cidr_list_contains(p, &c->net));
        check_round_trip(&c->net);
    }
}

/* Whether `ip` is written somewhere in xff (formatted the way the walk would have read it). */
static bool hop_in_header(const struct addr_ip *ip, const char *xff, size_t len)
{
    for (size_t start = 0; start < len; start++)
        for (size_t n = 1; start + n <= len && n < ADDR_IP_TEXT_SIZE; n++) {
            struct addr_ip hop;
            if (addr_ip_parse(xff + start, n, &hop) && same(&hop, ip))
                return true;
        }
    return false;
}

static void check_client(const struct addr_cidr_list *p, const char *xff, size_t len)
{
    static const char *const peers[] = {"10.0.0.1", "::1", "203.0.113.9"};
    struct addr_ip found; /* a client already seen in the header: the scan is slow */
    bool have_found = false;
    for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]) + p->count; i++) {
        struct addr_ip peer;
        if (i < sizeof(peers) / sizeof(peers[0]))
            CHECK(addr_ip_parse(peers[i], strlen(peers[i]), &peer));
        else
            peer = p->cidr[i - sizeof(peers) / sizeof(peers[0])].net;
        struct addr_ip client;
        addr_client_ip(p, &peer, xff, len, &client);
        if (!addr_cidr_list_contains(p, &peer))
            CHECK(same(&client, &peer));
        else if (!same(&client, &peer) && !(have_found && same(&client, &found))) {
            CHECK(hop_in_header(&client, xff, len));
            found = client;
            have_found = true;
        }
    }
}

static void check_limiter(const struct addr_ip *ip)
{
    static struct ratelimit *rl;
    static uint64_t now;
    if (!rl)
        rl = ratelimit_create(3, 2, 16);
    now += 137;
    struct ratelimit_result r;
    ratelimit_check(rl, ip, now, &r);
    CHECK(r.limit == 3 && r.remaining < 3 && r.reset_secs >= 1 && r.reset_secs <= 2);
    CHECK(r.allowed || r.remaining == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    const char *nl = memchr(text, '\n', size);
    size_t xff_len = nl ? size - (size_t)(nl + 1 - text) : size;
    /* Exactly the header's bytes on the heap, so ASan sees any read past them. */
    char *xff = malloc(xff_len ? xff_len : 1);
    if (!xff)
        abort();
    memcpy(xff, nl ? nl + 1 : text, xff_len);
    if (nl)
        text[nl - text] = '\0';

    struct addr_cidr_list p;
    if (addr_parse_cidr_list(text, &p) == 0)
        check_proxies(&p);
    else
        p.count = 0;
    check_client(&p, xff, xff_len);

    struct addr_ip ip;
    if (addr_ip_parse(xff, xff_len, &ip)) {
        check_round_trip(&ip);
        check_limiter(&ip);
    }

    free(xff);
    free(text);
    return 0;
}
