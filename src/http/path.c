#include "http/path.h"

#include <string.h>

#include "text.h"

/*
 * One pass over the input: each byte is decoded and appended to `out`, and whenever a segment
 * ends (at a '/' or at the end) it is checked for "", "." and "..". Popping a segment after ".."
 * only walks back over bytes it removes, so the whole thing stays O(n).
 *
 * A decoded "%2F" is a slash like any other, so "/a%2F..%2Fb" becomes "/b": the result names
 * the file the server will open, never a name containing '/'.
 */

/* Decodes the byte at in[*i] (a raw byte or a %XX escape) and advances *i; -1 on a bad escape. */
static int decode_byte(const char *in, size_t len, size_t *i)
{
    unsigned char c = (unsigned char)in[*i];
    if (c != '%') {
        *i += 1;
        return c;
    }
    if (len - *i < 3)
        return -1;
    int hi = text_hex_value(in[*i + 1]);
    int lo = text_hex_value(in[*i + 2]);
    if (hi < 0 || lo < 0)
        return -1;
    *i += 3;
    return hi << 4 | lo;
}

/*
 * Closes the segment out[seg..o), where out[seg - 1] is '/'. Returns the new output length,
 * which always ends just after a '/' unless the segment is an ordinary name and the path ends
 * here (`at_slash` false). -1 when ".." would climb above the root.
 */
static ssize_t close_segment(char *out, size_t o, size_t seg, bool at_slash)
{
    size_t seg_len = o - seg;
    if (seg_len == 0) /* "//" collapses; a trailing '/' stays */
        return (ssize_t)o;
    if (seg_len == 1 && out[seg] == '.')
        return (ssize_t)seg;
    if (seg_len == 2 && out[seg] == '.' && out[seg + 1] == '.') {
        if (seg == 1)
            return -1;
        o = seg - 1; /* the '/' before ".." */
        while (out[o - 1] != '/')
            o--;
        return (ssize_t)o;
    }
    if (at_slash)
        out[o++] = '/';
    return (ssize_t)o;
}

ssize_t path_normalize(const char *in, size_t len, char *out)
{
    if (len == 0 || in[0] != '/')
        return -1;
    out[0] = '/';
    size_t o = 1;
    size_t seg = 1;
    size_t i = 1;
    while (i < len) {
        int c = decode_byte(in, len, &i);
        if (c <= 0 || c == '\\') /* bad escape, NUL (raw or %00), backslash (raw or %5C) */
            return -1;
        if (c != '/') {
            out[o++] = (char)c;
            continue;
        }
        ssize_t n = close_segment(out, o, seg, true);
        if (n < 0)
            return -1;
        o = seg = (size_t)n;
    }
    ssize_t n = close_segment(out, o, seg, false);
    if (n < 0)
        return -1;
    out[n] = '\0';
    return n;
}

/* pchar without pct-encoded, plus '/' (RFC 3986 section 3.3) */
static bool is_path_char(char c)
{
    return text_is_uri_plain(c) || c == ':' || c == '@' || c == '/';
}

void path_encode(const char *norm, struct buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)norm; *p; p++) {
        if (is_path_char((char)*p)) {
            buf_append_char(out, (char)*p);
            continue;
        }
        char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        buf_append(out, esc, sizeof(esc));
    }
}

#define WELL_KNOWN "/.well-known"

static bool is_well_known(const char *norm)
{
    size_t n = sizeof(WELL_KNOWN) - 1;
    return strncmp(norm, WELL_KNOWN, n) == 0 && (norm[n] == '/' || norm[n] == '\0');
}

bool path_is_hidden(const char *norm)
{
    const char *p = norm;
    if (is_well_known(norm))
        p += sizeof(WELL_KNOWN) - 1;
    for (; (p = strchr(p, '/')) != NULL; p++) {
        if (p[1] == '.')
            return true;
    }
    return false;
}

bool path_has_php_ext(const char *name, size_t len)
{
    return text_ends_with_nocase(name, len, ".php");
}
