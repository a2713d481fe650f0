/*
 * HTTP/1.x request parsing on top of llhttp (compiled in strict mode), without any I/O.
 *
 * The connection owns one contiguous read buffer and feeds it here; the parser records the
 * request target and headers as offsets into that buffer (so the buffer may be reallocated while
 * a head is still arriving) and stops twice per request: once when the head is complete
 * (HTTP1_HEAD_DONE: the caller decides 413 / 100-continue / routing, then calls http1_resume) and
 * once when the message is complete (HTTP1_MESSAGE_DONE). Body bytes are handed to a callback
 * as they are decoded (chunked framing removed).
 *
 * Limits are enforced here, each with its status: request target too long -> 414, header section
 * too large or too many header lines -> 431, body larger than the maximum -> 413 (a chunk size
 * above what is left is refused as soon as the chunk header arrives), a version other than
 * HTTP/1.0 and HTTP/1.1 -> 505, anything malformed (an HTTP/0.9 request line without a version,
 * smuggling shapes: Content-Length with Transfer-Encoding, duplicate or invalid Content-Length,
 * chunk sizes that do not fit in 63 bits, obsolete line folding) -> 400.
 *
 * Methods: any token is a method (RFC 9110 section 9). llhttp knows a fixed list; a request whose
 * method is a token it does not know is parsed as if it were GET (framing does not depend on the
 * method) and reported as HTTP1_METHOD_OTHER with its name, so that the caller can answer 405 or
 * pass it to PHP, as nginx does, instead of refusing it as malformed.
 */
#ifndef KILN_HTTP_HTTP1_H
#define KILN_HTTP_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

struct http1_span {
    uint32_t off;
    uint32_t len;
};

struct http1_header {
    struct http1_span name;
    struct http1_span value;
};

/* http1_method() of a method llhttp does not know (its name is in http1_method_name()). */
#define HTTP1_METHOD_OTHER (-1)
/* Longest method name kept; a longer token gets 501. */
#define HTTP1_METHOD_MAX 32

struct http1_limits {
    uint32_t max_target;       /* bytes of request target; 414 above */
    uint32_t max_head;         /* bytes of the whole head (request line + headers); 431 above */
    uint32_t max_headers;      /* header lines; 431 above */
    uint64_t max_body;         /* decoded body bytes; 413 above */
};

enum http1_state {
    HTTP1_HEAD,         /* reading the request line and headers */
    HTTP1_HEAD_DONE,    /* head complete, paused: inspect, then http1_resume() */
    HTTP1_BODY,         /* reading the body */
    HTTP1_MESSAGE_DONE, /* whole request read, paused until http1_next() */
    HTTP1_ERROR,        /* error_status says which answer to give; the connection must close */
};

/* Receives decoded body bytes; may be NULL when the body is only counted and dropped. */
typedef void (*http1_body_fn)(void *ctx, const char *data, size_t len);

struct http1_parser {
    llhttp_t llhttp;
    enum http1_state state;
    int error_status;          /* 400, 413, 414, 431, 501, 505 when state == HTTP1_ERROR */
    const char *error_reason;  /* short text for logs */
    struct http1_limits limits;
    http1_body_fn on_body;
    void *ctx;

    /* The request being parsed; offsets are relative to the buffer start passed to http1_feed. */
    uint32_t head_start;       /* offset of the first byte of this request */
    bool method_seen;          /* the method has been looked at (and fed to llhttp) */
    char other_method[HTTP1_METHOD_MAX + 1]; /* a method llhttp does not know, or "" */
    struct http1_span version; /* the text after "HTTP/" on the request line */
    struct http1_span target;
    struct http1_header *headers;
    uint32_t header_count;
    uint32_t header_cap;
    bool in_value;             /* last header callback was a value (a new field starts a header) */
    bool has_content_length;
    bool chunked;
    uint64_t content_length;
    uint64_t body_bytes;
    uint64_t trailer_bytes;    /* chunked trailers, counted and dropped */

    /* Set by the feed that completes the head */
    const char *base;          /* buffer start during the current http1_feed call */
};

void http1_init(struct http1_parser *p, const struct http1_limits *limits, http1_body_fn on_body,
                void *ctx);
/* Releases the header array; the parser stays usable (between requests: an idle connection). */
void http1_free(struct http1_parser *p);

/*
 * Parses buf[pos..len). Returns the new parse position (bytes at and after it are unparsed:
 * the next request of a pipeline, or nothing). Check p->state afterwards.
 */
size_t http1_feed(struct http1_parser *p, const char *buf, size_t pos, size_t len);

/* After HTTP1_HEAD_DONE: continue with the body (or straight to HTTP1_MESSAGE_DONE). */
void http1_resume(struct http1_parser *p);

/* After HTTP1_MESSAGE_DONE: get ready for the next request, which starts at `head_start`.
   No request can follow an upgrade (CONNECT, Upgrade:): the parser is left in HTTP1_ERROR. */
void http1_next(struct http1_parser *p, uint32_t head_start);

/* Accessors for the current request (valid from HTTP1_HEAD_DONE until http1_next). */
const char *http1_method_name(const struct http1_parser *p);
int http1_method(const struct http1_parser *p); /* llhttp_method_t or HTTP1_METHOD_OTHER */
unsigned http1_version_minor(const struct http1_parser *p);
bool http1_keep_alive(const struct http1_parser *p);
bool http1_has_body(const struct http1_parser *p);

/* Finds the first header named `name` (case-insensitive); NULL when absent. */
const struct http1_header *http1_find_header(const struct http1_parser *p, const char *buf,
                                             const char *name);

#endif
