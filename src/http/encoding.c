#include "http/encoding.h"

#include <string.h>
#include <strings.h>

#include "text.h"

/* ---- weighted lists ------------------------------------------------------------------------ */

/* Past the closing quote of the quoted string opening at p, or NULL if it is unterminated. */
static const char *skip_quoted(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\' && p + 1 < end)
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Past the next comma outside quoted strings, or end: where the entry after a bad one starts. */
static const char *skip_entry(const char *p, const char *end)
{
    while (p < end) {
        if (*p == ',')
            return p + 1;
        if (*p == '"') {
            p = skip_quoted(p, end);
            if (!p)
                return end;
        } else {
            p++;
        }
    }
    return end;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths. */
static bool parse_qvalue(const char *p, size_t n, unsigned *q)
{
    if (n == 0 || n > 5 || (p[0] != '0' && p[0] != '1'))
        return false;
    unsigned v = (unsigned)(p[0] - '0') * 1000;
    if (n > 1 && p[1] != '.')
        return false;
    unsigned scale = 100;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v += (unsigned)(p[i] - '0') * scale;
    }
    if (v > ENCODING_Q_MAX)
        return false;
    *q = v;
    return true;
}

/* Parses one `;name=value` parameter at p (just past the ';'). Returns the end, or NULL. */
static const char *parse_param(const char *p, const char *end, unsigned *q)
{
    p = text_skip_ows(p, end);
    const char *name = p;
    p = text_skip_token(p, end);
    size_t name_len = (size_t)(p - name);
    if (name_len == 0 || p == end || *p != '=')
        return NULL;
    p++;
    const char *value = p;
    p = (p < end && *p == '"') ? skip_quoted(p, end) : text_skip_token(p, end);
    if (!p || p == value)
        return NULL;
    if (name_len == 1 && (name[0] == 'q' || name[0] == 'Q') &&
        !parse_qvalue(value, (size_t)(p - value), q))
        return NULL;
    return p;
}

/* Parses the entry at p. Returns where the next entry starts, or NULL if this one is bad. */
static const char *parse_entry(const char *p, const char *end, struct encoding_item *item)
{
    const char *name = p;
    while (p < end && (text_is_tchar(*p) || *p == '/'))
        p++;
    item->name = name;
    item->name_len = (size_t)(p - name);
    item->q = ENCODING_Q_MAX;
    if (item->name_len == 0)
        return NULL;
    for (;;) {
        p = text_skip_ows(p, end);
        if (p == end)
            return end;
        if (*p == ',')
            return p + 1;
        if (*p != ';')
            return NULL;
        p = parse_param(p + 1, end, &item->q);
        if (!p)
            return NULL;
    }
}

bool encoding_list_next(const char **pos, const char *end, struct encoding_item *item)
{
    const char *p = *pos;
    while (p < end) {
        p = text_skip_ows(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p == end)
            break;
        const char *next = parse_entry(p, end, item);
        if (next) {
            *pos = next;
            return true;
        }
        p = skip_entry(p, end);
    }
    *pos = end;
    return false;
}

bool encoding_list_names(const char *value, size_t len, const char *name)
{
    if (!value)
        return false;
    size_t n = strlen(name);
    const char *pos = value;
    struct encoding_item it;
    while (encoding_list_next(&pos, value + len, &it))
        if (it.q > 0 && it.name_len == n && strncasecmp(it.name, name, n) == 0)
            return true;
    return false;
}

/* ---- Accept-Encoding ----------------------------------------------------------------------- */

static bool name_is(const struct encoding_item *it, const char *name)
{
    size_t n = strlen(name);
    return it->name_len == n && strncasecmp(it->name, name, n) == 0;
}

/* The coding an entry names; -1 for "*" (STAR), -2 for codings Kiln cannot produce. */
#define CODING_STAR (-1)
#define CODING_OTHER (-2)

static int coding_of(const struct encoding_item *it)
{
    if (name_is(it, "*"))
        return CODING_STAR;
    if (name_is(it, "identity"))
        return ENCODING_NONE;
    if (name_is(it, "br"))
        return ENCODING_BR;
    if (name_is(it, "zstd"))
        return ENCODING_ZSTD;
    if (name_is(it, "gzip") || name_is(it, "x-gzip"))
        return ENCODING_GZIP;
    return CODING_OTHER;
}

enum encoding_coding encoding_negotiate(const char *value, size_t len, unsigned offered)
{
    if (!value)
        return ENCODING_NONE;
    /* q of each coding, -1 while unlisted; the first mention of a coding counts. */
    int q[ENCODING_COUNT] = {-1, -1, -1, -1};
    int star = -1;
    const char *pos = value;
    struct encoding_item it;
    while (encoding_list_next(&pos, value + len, &it)) {
        int c = coding_of(&it);
        if (c == CODING_STAR && star < 0)
            star = (int)it.q;
        else if (c >= 0 && q[c] < 0)
            q[c] = (int)it.q;
    }
    for (int c = 0; c < ENCODING_COUNT; c++)
        if (q[c] < 0)
            q[c] = star;

    /* A coding must beat identity's q - 1 (ties with identity go to compression) and 0. */
    int best_q = q[ENCODING_NONE] > 0 ? q[ENCODING_NONE] - 1 : 0;
    enum encoding_coding best = ENCODING_NONE;
    static const enum encoding_coding preference[] = {ENCODING_BR, ENCODING_ZSTD, ENCODING_GZIP};
    for (size_t i = 0; i < sizeof(preference) / sizeof(preference[0]); i++) {
        enum encoding_coding c = preference[i];
        if ((offered & ENCODING_BIT(c)) && q[c] > best_q) {
            best = c;
            best_q = q[c];
        }
    }
    return best;
}

const char *encoding_name(enum encoding_coding c)
{
    return coding_name(c);
}

const char *encoding_file_suffix(enum encoding_coding c)
{
    static const char *const suffixes[ENCODING_COUNT] = {NULL, ".br", ".zst", ".gz"};
    return (unsigned)c < ENCODING_COUNT ? suffixes[c] : NULL;
}

/* ---- compressible types -------------------------------------------------------------------- */

static bool ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static bool builtin_compressible(const char *type, size_t len)
{
    static const char *const exact[] = {
        "application/json",         "application/javascript",  "application/x-javascript",
        "application/ecmascript",   "application/xml",         "font/ttf",
        "font/otf",                 "application/x-font-ttf",  "application/x-font-opentype",
        "application/vnd.ms-fontobject",
    };
    if ((len >= 5 && memcmp(type, "text/", 5) == 0) || ends_with(type, len, "+json") ||
        ends_with(type, len, "+xml"))
        return true;
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strcmp(type, exact[i]) == 0)
            return true;
    return false;
}

static bool extra_compressible(const char *type, size_t len, const struct coding_types *extra)
{
    for (unsigned i = 0; extra && i < extra->count; i++) {
        const char *t = extra->type[i];
        size_t n = strlen(t);
        if (t[n - 1] == '*' ? strncmp(type, t, n - 1) == 0 : (n == len && strcmp(type, t) == 0))
            return true;
    }
    return false;
}

bool encoding_type_compressible(const char *type, size_t len, const struct coding_types *extra)
{
    if (!type)
        return false;
    const char *semi = memchr(type, ';', len);
    if (semi)
        len = (size_t)(semi - type);
    type = text_trim(type, &len);
    char lower[CODING_TYPE_MAX];
    if (!coding_media_type(type, len, false, lower))
        return false;
    /* An event stream's events must leave as they come; a compressor holds bytes back. */
    if (len == 17 && memcmp(lower, "text/event-stream", 17) == 0)
        return false;
    return builtin_compressible(lower, len) || extra_compressible(lower, len, extra);
}

bool encoding_already_encoded(const char *value, size_t len)
{
    if (!value)
        return false;
    value = text_trim(value, &len);
    return len != 0 && !(len == 8 && strncasecmp(value, "identity", 8) == 0);
}
