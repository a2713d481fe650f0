/*
 * Writing HTTP/1.1 response heads: status line, the headers every response carries (Date,
 * Server), Content-Length and Connection. Kiln always answers "HTTP/1.1", also to 1.0 clients
 * (RFC 9110 section 2.5), and adds "Connection: keep-alive" for a 1.0 client that keeps the
 * connection.
 */
#ifndef KILN_HTTP_RESPONSE_H
#define KILN_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "http/headers.h"

#define RESPONSE_SERVER "kiln/" KILN_VERSION

/* 1xx, 204 and 304 responses never have a body (RFC 9110 section 6.4.1). */
static inline bool response_status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

/* The reason phrase of `status` ("Not Found"); "Unknown" for codes Kiln does not know. */
const char *response_reason(int status);

/*
 * Which of Kiln's own Server and Date a response gets (RESPONSE_OWN_* bits): those its headers
 * `h` lack. A PHP script's Date or Server replaces Kiln's, as nginx does with a FastCGI answer's,
 * so that a response never carries two; HTTP/1 and HTTP/2 both ask here.
 */
#define RESPONSE_OWN_SERVER 0x1u
#define RESPONSE_OWN_DATE 0x2u
unsigned response_own_headers(const struct headers *h);

/*
 * "HTTP/1.1 <status> <reason>\r\n" followed by Server and Date as response_own_headers() says
 * (`h` is the response's headers, written after). `now` is the loop's wall time.
 */
void response_begin(struct buf *out, int status, time_t now, const struct headers *h);

/* "<name>: <value>\r\n" for every entry of `h`, in order. */
void response_add_headers(struct buf *out, const struct headers *h);
/* "<name>: <value>\r\n" */
void response_header_uint(struct buf *out, const char *name, unsigned long long value);

/*
 * Ends the head: adds "Connection: close" when `close` is set, "Connection: keep-alive" when
 * `keep_alive_10` is set (an HTTP/1.0 client that asked to keep the connection), then the blank line.
 */
void response_end_head(struct buf *out, bool close, bool keep_alive_10);

#endif
