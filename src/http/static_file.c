#include "http/static_file.h"

#include <stdio.h>
#include <string.h>

#include "http/range.h"
#include "text.h"

void static_etag(off_t size, time_t mtime, char out[STATIC_ETAG_MAX])
{
    snprintf(out, STATIC_ETAG_MAX, "\"%llx-%llx\"", (unsigned long long)size,
             (unsigned long long)mtime);
}

static struct static_hdr trim_ows(struct static_hdr h)
{
    h.p = text_trim(h.p, &h.len);
    return h;
}

static bool hdr_equals(struct static_hdr h, const char *s)
{
    return h.len == strlen(s) && memcmp(h.p, s, h.len) == 0;
}

/*
 * One entity-tag at *p ([W/] DQUOTE *etagc DQUOTE): sets *opaque to the quoted part and *weak,
 * advances *p past it. False if there is no well-formed tag there.
 */
static bool take_entity_tag(const char **p, const char *end, struct static_hdr *opaque, bool *weak)
{
    const char *s = *p;
    *weak = end - s >= 2 && s[0] == 'W' && s[1] == '/';
    if (*weak)
        s += 2;
    if (s == end || *s != '"')
        return false;
    const char *close = memchr(s + 1, '"', (size_t)(end - s - 1));
    if (!close)
        return false;
    *opaque = (struct static_hdr){s, (size_t)(close + 1 - s)};
    *p = close + 1;
    return true;
}

/*
 * If-None-Match: "*" or a list of entity-tags, compared weakly (RFC 9110 8.8.3.2, 13.1.2).
 * A malformed list matches nothing, so the request is answered in full.
 */
static bool if_none_match_matches(struct static_hdr value, const char *etag)
{
    struct static_hdr list = trim_ows(value);
    if (hdr_equals(list, "*"))
        return true;

    const char *p = list.p;
    const char *end = list.p + list.len;
    while (p < end) {
        /* Empty list elements (",,") are allowed by the list syntax (RFC 9110 5.6.1). */
        if (*p == ',' || text_is_ows(*p)) {
            p++;
            continue;
        }
        struct static_hdr opaque;
        bool weak;
        if (!take_entity_tag(&p, end, &opaque, &weak))
            return false;
        if (hdr_equals(opaque, etag))
            return true;
        p = text_skip_ows(p, end);
        if (p < end && *p != ',')
            return false;
    }
    return false;
}

/* If-Modified-Since: true when the file has not changed since the given (valid) date. */
static bool not_modified_since(struct static_hdr value, time_t mtime)
{
    time_t since;
    return httpdate_parse(value.p, value.len, &since) == 0 && mtime <= since;
}

/*
 * If-Range (RFC 9110 13.1.5): an entity-tag compared strongly (a weak tag never matches), or an
 * HTTP-date that must equal Last-Modified exactly.
 */
static bool if_range_matches(struct static_hdr value, const char *etag, time_t mtime)
{
    struct static_hdr v = trim_ows(value);
    const char *p = v.p;
    struct static_hdr opaque;
    bool weak;
    if (take_entity_tag(&p, v.p + v.len, &opaque, &weak))
        return !weak && p == v.p + v.len && hdr_equals(opaque, etag);

    time_t date;
    return httpdate_parse(v.p, v.len, &date) == 0 && date == mtime;
}

/* RFC 9110 13.2.2: If-None-Match, when present, makes If-Modified-Since irrelevant. */
static bool is_not_modified(const struct static_request *req, const char *etag, time_t mtime)
{
    if (req->if_none_match.p)
        return if_none_match_matches(req->if_none_match, etag);
    return req->if_modified_since.p && not_modified_since(req->if_modified_since, mtime);
}

/* Range counts only when If-Range is absent or still describes this file. */
static bool range_applies(const struct static_request *req, const char *etag, time_t mtime)
{
    return req->range.p && (!req->if_range.p || if_range_matches(req->if_range, etag, mtime));
}

static void set_body(struct static_plan *out, int status, off_t offset, off_t length)
{
    out->status = status;
    out->offset = offset;
    out->length = length;
}

/*
 * The plan does not depend on req->is_head: a HEAD answer carries the headers the GET would
 * have (including 206/416 and Content-Range), and the caller leaves the body out.
 */
void static_plan(off_t size, time_t mtime, const struct static_request *req,
                 struct static_plan *out)
{
    static_etag(size, mtime, out->etag);
    httpdate_format(mtime, out->last_modified);

    if (is_not_modified(req, out->etag, mtime)) {
        set_body(out, 304, 0, 0);
        return;
    }

    enum range_result range = RANGE_NONE;
    off_t start = 0;
    off_t length = 0;
    if (range_applies(req, out->etag, mtime))
        range = range_parse(req->range.p, req->range.len, size, &start, &length);

    switch (range) {
    case RANGE_OK:
        set_body(out, 206, start, length);
        break;
    case RANGE_UNSATISFIABLE:
        set_body(out, 416, 0, 0);
        break;
    case RANGE_NONE:
        set_body(out, 200, 0, size);
        break;
    }
}
