/*
 * The Range request header (RFC 9110 section 14.2), single byte ranges only: "bytes=a-b",
 * "bytes=a-", "bytes=-n". A list of several ranges, another unit, or bad syntax is ignored
 * (RANGE_NONE: the whole file is sent with 200), as the RFC allows.
 */
#ifndef KILN_HTTP_RANGE_H
#define KILN_HTTP_RANGE_H

#include <stddef.h>
#include <sys/types.h>

enum range_result {
    RANGE_NONE,          /* no usable range: send the whole representation (200) */
    RANGE_OK,            /* *start and *length set: 206 */
    RANGE_UNSATISFIABLE, /* 416 with Content-Range: bytes * /size */
};

enum range_result range_parse(const char *value, size_t len, off_t size, off_t *start,
                              off_t *length);

#endif
