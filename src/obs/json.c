#include "obs/json.h"

static const char hex_digits[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence starting at s, or 0 if it is not one. */
static size_t utf8_sequence_len(const unsigned char *s, size_t avail)
{
    size_t n;
    unsigned min;
    unsigned cp;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2, min = 0x80, cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3, min = 0x800, cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4, min = 0x10000, cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static void append_escaped_byte(struct buf *b, unsigned char c)
{
    switch (c) {
    case '"': buf_append(b, "\\\"", 2); return;
    case '\\': buf_append(b, "\\\\", 2); return;
    case '\n': buf_append(b, "\\n", 2); return;
    case '\r': buf_append(b, "\\r", 2); return;
    case '\t': buf_append(b, "\\t", 2); return;
    default:
        break;
    }
    char esc[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 15]};
    buf_append(b, esc, sizeof(esc));
}

void json_append_string(struct buf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    buf_append_char(b, '"');
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if (c < 0x20 || c == '"' || c == '\\')
                append_escaped_byte(b, c);
            else
                buf_append_char(b, (char)c);
            i++;
            continue;
        }
        size_t n = utf8_sequence_len(p + i, len - i);
        if (n) {
            buf_append(b, p + i, n);
            i += n;
        } else {
            buf_append(b, "\xef\xbf\xbd", 3);
            i++;
        }
    }
    buf_append_char(b, '"');
}
