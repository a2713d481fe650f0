/*
 * Conditional and range logic for static files: ETag and Last-Modified validators,
 * If-None-Match / If-Modified-Since (304), If-Range, Range (206 / 416).
 * Pure functions of the file's metadata and the request's header values; the connection code
 * does the I/O.
 */
#ifndef KILN_HTTP_STATIC_FILE_H
#define KILN_HTTP_STATIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "http/httpdate.h"

#define STATIC_ETAG_MAX 48

/* A header value, or {NULL, 0} when the request does not carry the header. */
struct static_hdr {
    const char *p;
    size_t len;
};

struct static_request {
    bool is_head;
    struct static_hdr if_none_match;
    struct static_hdr if_modified_since;
    struct static_hdr range;
    struct static_hdr if_range;
};

struct static_plan {
    int status;                /* 200, 206, 304 or 416 */
    off_t offset;              /* first byte to send */
    off_t length;              /* bytes of body (0 for 304/416; the whole size for 200) */
    char etag[STATIC_ETAG_MAX];              /* "\"<size hex>-<mtime hex>\"" (strong) */
    char last_modified[HTTPDATE_LEN + 1];
};

/* Formats the strong ETag of a file: "\"%llx-%llx\"" of size and mtime seconds (as tokio_php). */
void static_etag(off_t size, time_t mtime, char out[STATIC_ETAG_MAX]);

/*
 * Decides the response for a GET/HEAD of a file with `size` and `mtime`:
 *   If-None-Match present: 304 when it matches the ETag (weak comparison, "*", lists);
 *   else If-Modified-Since: 304 when mtime <= the given date;
 *   then Range (honoured only if If-Range is absent or matches the ETag/date exactly): 206 or 416;
 *   else 200.
 */
void static_plan(off_t size, time_t mtime, const struct static_request *req,
                 struct static_plan *out);

#endif
