/*
 * HTTP dates (RFC 9110 section 5.6.7). Kiln writes IMF-fixdate only; it reads IMF-fixdate,
 * RFC 850 and asctime forms, as recipients must.
 */
#ifndef KILN_HTTP_HTTPDATE_H
#define KILN_HTTP_HTTPDATE_H

#include <stddef.h>
#include <time.h>

#define HTTPDATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Writes `t` as IMF-fixdate into `out` (HTTPDATE_LEN + 1 bytes, NUL-terminated). */
void httpdate_format(time_t t, char out[HTTPDATE_LEN + 1]);

/* Parses `s[0..len)`; 0 and *t set on success, -1 if it is not a valid HTTP date. */
int httpdate_parse(const char *s, size_t len, time_t *t);

#endif
