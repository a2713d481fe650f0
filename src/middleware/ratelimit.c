#include "middleware/ratelimit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "text.h"

#define PROBE 16                 /* slots a client may live in, from its hash position */
#define MIN_CAPACITY PROBE       /* so that a neighbourhood never wraps onto itself */
#define MAX_CAPACITY (1u << 24)  /* 512 MiB of slots: far beyond any sensible setting */

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* ---- addresses ----------------------------------------------------------------------------- */

static bool is_v4(const struct ratelimit_ip *ip)
{
    return memcmp(ip->b, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0;
}

bool ratelimit_ip_from_sockaddr(const struct sockaddr *sa, struct ratelimit_ip *out)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        memcpy(out->b, v4_mapped_prefix, sizeof(v4_mapped_prefix));
        memcpy(out->b + 12, &in->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(out->b, &in6->sin6_addr, 16);
        return true;
    }
    return false;
}

bool ratelimit_ip_parse(const char *s, size_t len, struct ratelimit_ip *out)
{
    char text[RATELIMIT_IP_TEXT_SIZE];
    if (len == 0 || len >= sizeof(text) || memchr(s, '\0', len))
        return false;
    memcpy(text, s, len);
    text[len] = '\0';
    if (memchr(s, ':', len))
        return inet_pton(AF_INET6, text, out->b) == 1;
    memcpy(out->b, v4_mapped_prefix, sizeof(v4_mapped_prefix));
    return inet_pton(AF_INET, text, out->b + 12) == 1;
}

void ratelimit_ip_format(const struct ratelimit_ip *ip, char out[RATELIMIT_IP_TEXT_SIZE])
{
    if (is_v4(ip))
        inet_ntop(AF_INET, ip->b + 12, out, RATELIMIT_IP_TEXT_SIZE);
    else
        inet_ntop(AF_INET6, ip->b, out, RATELIMIT_IP_TEXT_SIZE);
}

/* ---- trusted proxies ----------------------------------------------------------------------- */

static bool prefix_matches(const struct ratelimit_ip *ip, const struct ratelimit_cidr *c)
{
    unsigned whole = c->prefix / 8;
    unsigned bits = c->prefix % 8;
    if (memcmp(ip->b, c->net.b, whole) != 0)
        return false;
    uint8_t mask = (uint8_t)(0xff00u >> bits);
    return bits == 0 || (ip->b[whole] & mask) == c->net.b[whole];
}

static void clear_host_bits(struct ratelimit_cidr *c)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = c->prefix > i * 8 ? c->prefix - i * 8 : 0;
        if (keep < 8)
            c->net.b[i] &= (uint8_t)(0xff00u >> keep);
    }
}

/* "addr" or "addr/len", already trimmed. */
static int parse_cidr(const char *s, size_t len, struct ratelimit_cidr *out)
{
    const char *slash = memchr(s, '/', len);
    size_t addr_len = slash ? (size_t)(slash - s) : len;
    if (!ratelimit_ip_parse(s, addr_len, &out->net))
        return -1;
    bool v4 = memchr(s, ':', addr_len) == NULL;
    unsigned max = v4 ? 32 : 128;
    unsigned prefix = max;
    if (slash) {
        size_t digits = len - addr_len - 1;
        if (digits == 0 || digits > 3)
            return -1;
        prefix = 0;
        for (size_t i = 1; i <= digits; i++) {
            if (slash[i] < '0' || slash[i] > '9')
                return -1;
            prefix = prefix * 10 + (unsigned)(slash[i] - '0');
        }
        if (prefix > max)
            return -1;
    }
    out->prefix = v4 ? 96 + prefix : prefix;
    clear_host_bits(out);
    return 0;
}

int ratelimit_parse_proxies(const char *s, struct ratelimit_proxies *out)
{
    out->count = 0;
    size_t len = strlen(s);
    const char *end = s + len;
    text_trim(s, &len);
    if (len == 0)
        return 0;
    const char *entry;
    size_t entry_len;
    while (text_list_next(&s, end, &entry, &entry_len)) {
        if (out->count == RATELIMIT_MAX_PROXIES ||
            parse_cidr(entry, entry_len, &out->cidr[out->count]) < 0)
            return -1;
        out->count++;
    }
    return 0;
}

bool ratelimit_proxies_contain(const struct ratelimit_proxies *p, const struct ratelimit_ip *ip)
{
    for (unsigned i = 0; i < p->count; i++)
        if (prefix_matches(ip, &p->cidr[i]))
            return true;
    return false;
}

/* Nothing, or ":port" with 1 to 5 digits. */
static bool port_suffix_ok(const char *p, const char *end)
{
    if (p == end)
        return true;
    if (*p != ':' || end - p < 2 || end - p > 6)
        return false;
    for (p++; p < end; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* One X-Forwarded-For hop: an address, "[v6]", "[v6]:port" or "v4:port". */
static bool parse_hop(const char *s, size_t len, struct ratelimit_ip *out)
{
    const char *end = s + len;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        return close && port_suffix_ok(close + 1, end) &&
               ratelimit_ip_parse(s + 1, (size_t)(close - s - 1), out);
    }
    const char *colon = memchr(s, ':', len);
    if (colon && !memchr(colon + 1, ':', (size_t)(end - colon - 1))) {
        /* A single colon: IPv4 with a port (IPv6 has at least two). */
        if (!port_suffix_ok(colon, end))
            return false;
        len = (size_t)(colon - s);
    }
    return ratelimit_ip_parse(s, len, out);
}

void ratelimit_client_ip(const struct ratelimit_proxies *p, const struct ratelimit_ip *peer,
                         const char *xff, size_t xff_len, struct ratelimit_ip *client)
{
    *client = *peer;
    if (!xff || !ratelimit_proxies_contain(p, peer))
        return;
    const char *end = xff + xff_len;
    while (end > xff) {
        const char *comma = memrchr(xff, ',', (size_t)(end - xff));
        const char *start = comma ? comma + 1 : xff;
        size_t len = (size_t)(end - start);
        const char *hop_text = text_trim(start, &len);
        end = comma ? comma : xff;
        if (len == 0)
            continue; /* empty list elements are allowed (RFC 9110 5.6.1) */
        struct ratelimit_ip hop;
        if (!parse_hop(hop_text, len, &hop))
            return;
        *client = hop;
        if (!ratelimit_proxies_contain(p, &hop))
            return;
    }
}

/* ---- the table ----------------------------------------------------------------------------- */

struct slot {
    struct ratelimit_ip key; /* IPv4 address or IPv6 /64 prefix */
    uint64_t start_ms;       /* when the current window began */
    uint32_t count;          /* requests counted in the window; 0 = slot never used */
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

/* SipHash-2-4 (Aumasson and Bernstein) of exactly 16 bytes. */
static uint64_t siphash16(const uint64_t key[2], const uint8_t m[16])
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
static struct slot *find_slot(struct ratelimit *rl, const struct ratelimit_ip *key)
{
    size_t home = (size_t)siphash16(rl->hash_key, key->b);
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

void ratelimit_check(struct ratelimit *rl, const struct ratelimit_ip *client, uint64_t now_ms,
                     struct ratelimit_result *out)
{
    struct ratelimit_ip key = *client;
    if (!is_v4(&key))
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
