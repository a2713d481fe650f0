#include "coding.h"

#include <string.h>
#include <strings.h>

#include "text.h"

const char *coding_name(enum encoding_coding c)
{
    static const char *const names[ENCODING_COUNT] = {NULL, "br", "zstd", "gzip"};
    return (unsigned)c < ENCODING_COUNT ? names[c] : NULL;
}

/* ---- levels -------------------------------------------------------------------------------- */

struct level_range {
    int min, max, def;
};

static const struct level_range level_ranges[ENCODING_COUNT] = {
    [ENCODING_BR] = {0, 11, 4},  /* 4: the seed's quality, fast enough for dynamic pages */
    [ENCODING_ZSTD] = {1, 19, 3}, /* above 19 zstd wants windows larger than HTTP allows */
    [ENCODING_GZIP] = {1, 9, 6},  /* zlib's own default */
};

static bool coding_supported(enum encoding_coding coding)
{
    return coding == ENCODING_BR || coding == ENCODING_ZSTD || coding == ENCODING_GZIP;
}

int coding_default_level(enum encoding_coding coding)
{
    return coding_supported(coding) ? level_ranges[coding].def : 0;
}

bool coding_level_valid(enum encoding_coding coding, int level)
{
    return coding_supported(coding) && level >= level_ranges[coding].min &&
           level <= level_ranges[coding].max;
}

static int coding_from_name(const char *s, size_t len)
{
    for (int c = ENCODING_BR; c < ENCODING_COUNT; c++) {
        const char *name = coding_name((enum encoding_coding)c);
        if (strlen(name) == len && strncasecmp(s, name, len) == 0)
            return c;
    }
    return -1;
}

/* One "coding=level" entry; `seen` catches a coding named twice. */
static int parse_level_entry(const char *s, size_t len, unsigned *seen, struct coding_levels *out)
{
    const char *eq = memchr(s, '=', len);
    if (!eq)
        return -1;
    int coding = coding_from_name(s, (size_t)(eq - s));
    size_t digits = len - (size_t)(eq + 1 - s);
    if (coding < 0 || (*seen & ENCODING_BIT(coding)) || digits == 0 || digits > 2)
        return -1;
    int level = 0;
    for (const char *d = eq + 1; d < s + len; d++) {
        if (*d < '0' || *d > '9')
            return -1;
        level = level * 10 + (*d - '0');
    }
    if (!coding_level_valid((enum encoding_coding)coding, level))
        return -1;
    *seen |= ENCODING_BIT(coding);
    out->level[coding] = level;
    return 0;
}

int coding_parse_levels(const char *s, struct coding_levels *out)
{
    for (int c = 0; c < ENCODING_COUNT; c++)
        out->level[c] = coding_default_level((enum encoding_coding)c);
    size_t len = strlen(s);
    const char *end = s + len;
    text_trim(s, &len);
    if (len == 0)
        return 0;
    unsigned seen = 0;
    const char *entry;
    size_t entry_len;
    while (text_list_next(&s, end, &entry, &entry_len))
        if (parse_level_entry(entry, entry_len, &seen, out) < 0)
            return -1;
    return 0;
}

/* ---- media types --------------------------------------------------------------------------- */

bool coding_media_type(const char *s, size_t len, bool wildcard_ok, char lower[CODING_TYPE_MAX])
{
    const char *end = s + len;
    const char *slash = text_skip_token(s, end);
    if (slash == s || slash == end || *slash != '/' || len >= CODING_TYPE_MAX)
        return false;
    const char *sub = slash + 1;
    bool wildcard = wildcard_ok && end - sub == 1 && *sub == '*';
    if (!wildcard && (sub == end || text_skip_token(sub, end) != end))
        return false;
    for (size_t i = 0; i < len; i++)
        lower[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    lower[len] = '\0';
    return true;
}

/* A COMPRESSION_TYPES entry has no '*' (a token character) but in a trailing "type/\*". */
static bool is_type_entry(const char *s, size_t len)
{
    bool wildcard = len >= 2 && s[len - 2] == '/' && s[len - 1] == '*';
    return !memchr(s, '*', wildcard ? len - 1 : len);
}

int coding_parse_types(const char *s, struct coding_types *out)
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
        if (out->count == CODING_MAX_TYPES || !is_type_entry(entry, entry_len) ||
            !coding_media_type(entry, entry_len, true, out->type[out->count]))
            return -1;
        out->count++;
    }
    return 0;
}
