#include "http/range.h"

#include <stdbool.h>
#include <stdint.h>
#include <strings.h>

#include "text.h"

/* off_t has no standard maximum macro; Kiln builds with a 64-bit one. */
_Static_assert(sizeof(off_t) == sizeof(int64_t), "off_t must be 64 bits");
#define OFF_MAX ((off_t)INT64_MAX)

struct byte_range_spec {
    bool has_first; /* false: suffix range "-n" */
    bool has_last;
    off_t first;
    off_t last; /* the suffix length for a suffix range */
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * 1*DIGIT at *p. A number too large for off_t saturates at its maximum rather than failing: it
 * is still valid syntax, and any position that large lies past the end of every file.
 */
static bool take_number(const char **p, const char *end, off_t *value)
{
    const char *s = *p;
    if (s == end || !is_digit(*s))
        return false;
    off_t v = 0;
    for (; s < end && is_digit(*s); s++) {
        int digit = *s - '0';
        v = v > (OFF_MAX - digit) / 10 ? OFF_MAX : v * 10 + digit;
    }
    *p = s;
    *value = v;
    return true;
}

/* byte-range-spec / suffix-range, and nothing after it (so a list is refused here). */
static bool parse_spec(const char *p, const char *end, struct byte_range_spec *spec)
{
    spec->has_first = take_number(&p, end, &spec->first);
    if (p == end || *p != '-')
        return false;
    p++;
    spec->has_last = take_number(&p, end, &spec->last);
    if (!spec->has_first && !spec->has_last)
        return false;
    return p == end;
}

static enum range_result resolve(const struct byte_range_spec *spec, off_t size, off_t *start,
                                 off_t *length)
{
    if (spec->has_first && spec->has_last && spec->last < spec->first)
        return RANGE_NONE; /* invalid spec: ignored, not unsatisfiable (RFC 9110 14.1.1) */
    if (size <= 0)
        return RANGE_UNSATISFIABLE;

    if (!spec->has_first) {
        off_t suffix = spec->last;
        if (suffix == 0)
            return RANGE_UNSATISFIABLE;
        *start = suffix < size ? size - suffix : 0;
        *length = size - *start;
        return RANGE_OK;
    }
    if (spec->first >= size)
        return RANGE_UNSATISFIABLE;
    off_t last = spec->has_last && spec->last < size ? spec->last : size - 1;
    *start = spec->first;
    *length = last - spec->first + 1;
    return RANGE_OK;
}

enum range_result range_parse(const char *value, size_t len, off_t size, off_t *start,
                              off_t *length)
{
    const char *p = text_trim(value, &len);
    const char *end = p + len;

    static const char unit[] = "bytes=";
    size_t unit_len = sizeof(unit) - 1;
    if ((size_t)(end - p) < unit_len || strncasecmp(p, unit, unit_len) != 0)
        return RANGE_NONE;

    struct byte_range_spec spec = {0};
    if (!parse_spec(p + unit_len, end, &spec))
        return RANGE_NONE;
    return resolve(&spec, size, start, length);
}
