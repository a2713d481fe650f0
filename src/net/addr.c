#include "net/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "text.h"

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* ---- addresses ----------------------------------------------------------------------------- */

bool addr_ip_is_v4(const struct addr_ip *ip)
{
    return memcmp(ip->b, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0;
}

bool addr_ip_from_sockaddr(const struct sockaddr *sa, struct addr_ip *out)
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

bool addr_ip_parse(const char *s, size_t len, struct addr_ip *out)
{
    char text[ADDR_IP_TEXT_SIZE];
    if (len == 0 || len >= sizeof(text) || memchr(s, '\0', len))
        return false;
    memcpy(text, s, len);
    text[len] = '\0';
    if (memchr(s, ':', len))
        return inet_pton(AF_INET6, text, out->b) == 1;
    memcpy(out->b, v4_mapped_prefix, sizeof(v4_mapped_prefix));
    return inet_pton(AF_INET, text, out->b + 12) == 1;
}

void addr_ip_format(const struct addr_ip *ip, char out[ADDR_IP_TEXT_SIZE])
{
    if (addr_ip_is_v4(ip))
        inet_ntop(AF_INET, ip->b + 12, out, ADDR_IP_TEXT_SIZE);
    else
        inet_ntop(AF_INET6, ip->b, out, ADDR_IP_TEXT_SIZE);
}

/* ---- CIDR lists and the client address ---------------------------------------------------- */

static bool prefix_matches(const struct addr_ip *ip, const struct addr_cidr *c)
{
    unsigned whole = c->prefix / 8;
    unsigned bits = c->prefix % 8;
    if (memcmp(ip->b, c->net.b, whole) != 0)
        return false;
    uint8_t mask = (uint8_t)(0xff00u >> bits);
    return bits == 0 || (ip->b[whole] & mask) == c->net.b[whole];
}

static void clear_host_bits(struct addr_cidr *c)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = c->prefix > i * 8 ? c->prefix - i * 8 : 0;
        if (keep < 8)
            c->net.b[i] &= (uint8_t)(0xff00u >> keep);
    }
}

/* "addr" or "addr/len", already trimmed. */
static int parse_cidr(const char *s, size_t len, struct addr_cidr *out)
{
    const char *slash = memchr(s, '/', len);
    size_t addr_len = slash ? (size_t)(slash - s) : len;
    if (!addr_ip_parse(s, addr_len, &out->net))
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

int addr_parse_cidr_list(const char *s, struct addr_cidr_list *out)
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
        if (out->count == ADDR_MAX_CIDRS ||
            parse_cidr(entry, entry_len, &out->cidr[out->count]) < 0)
            return -1;
        out->count++;
    }
    return 0;
}

bool addr_cidr_list_contains(const struct addr_cidr_list *p, const struct addr_ip *ip)
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
static bool parse_hop(const char *s, size_t len, struct addr_ip *out)
{
    const char *end = s + len;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        return close && port_suffix_ok(close + 1, end) &&
               addr_ip_parse(s + 1, (size_t)(close - s - 1), out);
    }
    const char *colon = memchr(s, ':', len);
    if (colon && !memchr(colon + 1, ':', (size_t)(end - colon - 1))) {
        /* A single colon: IPv4 with a port (IPv6 has at least two). */
        if (!port_suffix_ok(colon, end))
            return false;
        len = (size_t)(colon - s);
    }
    return addr_ip_parse(s, len, out);
}

void addr_client_ip(const struct addr_cidr_list *p, const struct addr_ip *peer, const char *xff,
                    size_t xff_len, struct addr_ip *client)
{
    *client = *peer;
    if (!xff || !addr_cidr_list_contains(p, peer))
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
        struct addr_ip hop;
        if (!parse_hop(hop_text, len, &hop))
            return;
        *client = hop;
        if (!addr_cidr_list_contains(p, &hop))
            return;
    }
}
