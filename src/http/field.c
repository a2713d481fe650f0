#include "http/field.h"

#include <arpa/inet.h>
#include <string.h>

#include "text.h"

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return text_hex_value(c) >= 0;
}

/* reg-name = *( unreserved / pct-encoded / sub-delims ); IPv4 addresses are of this shape too. */
static bool reg_name_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (len - i < 3 || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                return false;
            i += 2;
        } else if (!text_is_uri_plain((char)c)) {
            return false;
        }
    }
    return true;
}

/* IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) */
static bool ipvfuture_valid(const char *s, size_t len)
{
    size_t i = 1;
    if (len < 4 || (s[0] != 'v' && s[0] != 'V'))
        return false;
    while (i < len && is_hex(s[i]))
        i++;
    if (i == 1 || i >= len - 1 || s[i] != '.')
        return false;
    for (i++; i < len; i++)
        if (s[i] != ':' && !text_is_uri_plain(s[i]))
            return false;
    return true;
}

/* The inside of "[...]": an IPv6 address (checked by the C library) or IPvFuture. */
static bool ip_literal_valid(const char *s, size_t len)
{
    char text[INET6_ADDRSTRLEN];
    struct in6_addr addr;
    if (len > 0 && (s[0] == 'v' || s[0] == 'V'))
        return ipvfuture_valid(s, len);
    if (len == 0 || len >= sizeof(text))
        return false;
    memcpy(text, s, len);
    text[len] = '\0';
    return inet_pton(AF_INET6, text, &addr) == 1;
}

/* port = *DIGIT, here at most 5 digits (nothing longer names a TCP port). */
static bool port_valid(const char *s, size_t len)
{
    if (len > 5)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_digit((unsigned char)s[i]))
            return false;
    return true;
}

bool http_field_host_valid(const char *v, size_t len)
{
    size_t host_len = len;
    if (len > 0 && v[0] == '[') {
        const char *close = memchr(v, ']', len);
        if (!close || !ip_literal_valid(v + 1, (size_t)(close - v) - 1))
            return false;
        host_len = (size_t)(close - v) + 1;
    } else {
        const char *colon = memchr(v, ':', len);
        if (colon)
            host_len = (size_t)(colon - v);
        if (!reg_name_valid(v, host_len))
            return false;
    }
    if (host_len == len)
        return true;
    return v[host_len] == ':' && port_valid(v + host_len + 1, len - host_len - 1);
}
