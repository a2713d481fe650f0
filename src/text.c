#include "text.h"

#include <string.h>
#include <strings.h>

bool text_is_tchar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int text_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool text_is_uri_plain(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("-._~!$&'()*+,;=", c) != NULL;
}

const char *text_skip_token(const char *p, const char *end)
{
    while (p < end && text_is_tchar(*p))
        p++;
    return p;
}

bool text_ends_with_nocase(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && strncasecmp(s + len - n, suffix, n) == 0;
}

bool text_has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return true;
    return false;
}

const char *text_skip_ows(const char *p, const char *end)
{
    while (p < end && text_is_ows(*p))
        p++;
    return p;
}

const char *text_trim(const char *s, size_t *len)
{
    while (*len > 0 && text_is_ows(*s))
        s++, (*len)--;
    while (*len > 0 && text_is_ows(s[*len - 1]))
        (*len)--;
    return s;
}

bool text_list_next(const char **pos, const char *end, const char **entry, size_t *len)
{
    const char *s = *pos;
    if (!s)
        return false;
    const char *comma = memchr(s, ',', (size_t)(end - s));
    *len = (size_t)((comma ? comma : end) - s);
    *entry = text_trim(s, len);
    *pos = comma ? comma + 1 : NULL;
    return true;
}

uint64_t text_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
