#include "http/http1.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

static struct http1_parser *parser_of(llhttp_t *h)
{
    return (struct http1_parser *)h->data;
}

static uint32_t offset_of(const struct http1_parser *p, const char *at)
{
    return (uint32_t)(at - p->base);
}

/* Records the error answer and makes llhttp stop (a callback returning -1 is an error). */
static int fail(struct http1_parser *p, int status, const char *reason)
{
    p->state = HTTP1_ERROR;
    p->error_status = status;
    p->error_reason = reason;
    return -1;
}

static int on_message_begin(llhttp_t *h)
{
    struct http1_parser *p = parser_of(h);
    p->target = (struct http1_span){0, 0};
    p->version = (struct http1_span){0, 0};
    p->header_count = 0;
    p->in_value = false;
    p->body_bytes = 0;
    p->trailer_bytes = 0;
    return 0;
}

static int on_url(llhttp_t *h, const char *at, size_t len)
{
    struct http1_parser *p = parser_of(h);
    if (p->target.len == 0)
        p->target.off = offset_of(p, at);
    if (len > p->limits.max_target - p->target.len)
        return fail(p, 414, "request target too long");
    p->target.len += (uint32_t)len;
    return 0;
}

static int on_version(llhttp_t *h, const char *at, size_t len)
{
    struct http1_parser *p = parser_of(h);
    if (p->version.len == 0)
        p->version.off = offset_of(p, at);
    p->version.len += (uint32_t)len;
    return 0;
}

/* llhttp accepts 0.9, 1.0, 1.1 and 2.0 here; only HTTP/1.0 and HTTP/1.1 use this framing. */
static int on_version_complete(llhttp_t *h)
{
    if (h->http_major != 1 || h->http_minor > 1)
        return fail(parser_of(h), 505, "HTTP version not supported");
    return 0;
}

static int start_header(struct http1_parser *p, const char *at, size_t len)
{
    if (p->header_count == p->limits.max_headers)
        return fail(p, 431, "too many header lines");
    if (p->header_count == p->header_cap) {
        uint32_t cap = p->header_cap ? p->header_cap * 2 : 16;
        struct http1_header *h = realloc(p->headers, cap * sizeof(*h));
        if (!h)
            abort();
        p->headers = h;
        p->header_cap = cap;
    }
    p->headers[p->header_count++] = (struct http1_header){
        .name = {offset_of(p, at), (uint32_t)len},
        .value = {0, 0},
    };
    p->in_value = false;
    return 0;
}

/*
 * Chunked trailers come through the header callbacks after the head, while the body bytes
 * around them are being dropped from the buffer: they are not kept (nginx and PHP-FPM do not
 * pass request trailers on either), only counted against the head size limit.
 */
static int skip_trailer(struct http1_parser *p, size_t len)
{
    p->trailer_bytes += len;
    if (p->trailer_bytes > p->limits.max_head)
        return fail(p, 431, "request trailers too large");
    return 0;
}

static int on_header_field(llhttp_t *h, const char *at, size_t len)
{
    struct http1_parser *p = parser_of(h);
    if (p->state == HTTP1_BODY)
        return skip_trailer(p, len);
    if (p->header_count == 0 || p->in_value)
        return start_header(p, at, len);
    p->headers[p->header_count - 1].name.len += (uint32_t)len;
    return 0;
}

static int on_header_value(llhttp_t *h, const char *at, size_t len)
{
    struct http1_parser *p = parser_of(h);
    if (p->state == HTTP1_BODY)
        return skip_trailer(p, len);
    struct http1_header *hd = &p->headers[p->header_count - 1];
    /* llhttp passes an obs-fold ("a\r\n b") through as part of the value; RFC 9112 section 5.2
       lets a server reject it, and a proxy in front of us may have unfolded it differently. */
    if (memchr(at, '\r', len) || memchr(at, '\n', len))
        return fail(p, 400, "obsolete line folding");
    if (!p->in_value) {
        hd->value = (struct http1_span){offset_of(p, at), (uint32_t)len};
        p->in_value = true;
        return 0;
    }
    /* A continuation that does not follow on directly means llhttp skipped a folded line break
       at a read boundary. */
    if (offset_of(p, at) != hd->value.off + hd->value.len)
        return fail(p, 400, "obsolete line folding");
    hd->value.len += (uint32_t)len;
    return 0;
}

/* Trailing whitespace is not part of a field value (RFC 9110 section 5.5). */
static void trim_header_values(struct http1_parser *p)
{
    for (uint32_t i = 0; i < p->header_count; i++) {
        struct http1_span *v = &p->headers[i].value;
        while (v->len > 0 && text_is_ows(p->base[v->off + v->len - 1]))
            v->len--;
    }
}

static int on_headers_complete(llhttp_t *h)
{
    struct http1_parser *p = parser_of(h);
    trim_header_values(p);
    p->chunked = (h->flags & F_CHUNKED) != 0;
    p->has_content_length = (h->flags & F_CONTENT_LENGTH) != 0;
    p->content_length = p->has_content_length ? h->content_length : 0;
    if (p->content_length > p->limits.max_body)
        return fail(p, 413, "body larger than MAX_BODY_SIZE");
    if (!http1_has_body(p))
        return 0; /* straight on to on_message_complete */
    p->state = HTTP1_HEAD_DONE;
    return HPE_PAUSED;
}

static int on_body(llhttp_t *h, const char *at, size_t len)
{
    struct http1_parser *p = parser_of(h);
    if (len > p->limits.max_body - p->body_bytes)
        return fail(p, 413, "body larger than MAX_BODY_SIZE");
    p->body_bytes += len;
    if (p->on_body)
        p->on_body(p->ctx, at, len);
    return 0;
}

/* A chunk is refused when its header arrives, not after waiting for bytes that cannot come. */
static int on_chunk_header(llhttp_t *h)
{
    struct http1_parser *p = parser_of(h);
    if (h->content_length > INT64_MAX)
        return fail(p, 400, "chunk size does not fit in 63 bits");
    if (h->content_length > p->limits.max_body - p->body_bytes)
        return fail(p, 413, "body larger than MAX_BODY_SIZE");
    return 0;
}

static int on_message_complete(llhttp_t *h)
{
    struct http1_parser *p = parser_of(h);
    if (p->state == HTTP1_HEAD)
        trim_header_values(p); /* not done yet when the head had no body */
    p->state = HTTP1_MESSAGE_DONE;
    return HPE_PAUSED;
}

static llhttp_settings_t http1_settings;

static void http1_settings_init(void)
{
    if (http1_settings.on_message_complete)
        return;
    llhttp_settings_init(&http1_settings);
    http1_settings.on_message_begin = on_message_begin;
    http1_settings.on_url = on_url;
    http1_settings.on_version = on_version;
    http1_settings.on_version_complete = on_version_complete;
    http1_settings.on_chunk_header = on_chunk_header;
    http1_settings.on_header_field = on_header_field;
    http1_settings.on_header_value = on_header_value;
    http1_settings.on_headers_complete = on_headers_complete;
    http1_settings.on_body = on_body;
    http1_settings.on_message_complete = on_message_complete;
}

void http1_init(struct http1_parser *p, const struct http1_limits *limits, http1_body_fn on_body_fn,
                void *ctx)
{
    http1_settings_init();
    memset(p, 0, sizeof(*p));
    llhttp_init(&p->llhttp, HTTP_REQUEST, &http1_settings);
    p->llhttp.data = p;
    p->limits = *limits;
    p->on_body = on_body_fn;
    p->ctx = ctx;
    p->state = HTTP1_HEAD;
}

void http1_free(struct http1_parser *p)
{
    free(p->headers);
    p->headers = NULL;
    p->header_cap = p->header_count = 0;
}

/* "D.D": a well-formed version that llhttp refused because it is not one it knows. */
static bool version_is_well_formed(const struct http1_parser *p)
{
    const char *v = p->base + p->version.off;
    return p->version.len == 3 && v[0] >= '0' && v[0] <= '9' && v[1] == '.' && v[2] >= '0' &&
           v[2] <= '9';
}

static void fail_from_llhttp(struct http1_parser *p)
{
    if (p->state == HTTP1_ERROR)
        return; /* one of our callbacks already chose the answer */
    p->state = HTTP1_ERROR;
    p->error_status = 400;
    if (llhttp_get_errno(&p->llhttp) == HPE_INVALID_VERSION && version_is_well_formed(p)) {
        p->error_status = 505;
        p->error_reason = "HTTP version not supported";
        return;
    }
    p->error_reason = llhttp_get_error_reason(&p->llhttp);
    if (!p->error_reason)
        p->error_reason = llhttp_errno_name(llhttp_get_errno(&p->llhttp));
}

static bool method_is_known(const char *name, size_t len)
{
#define KILN_KNOWN_METHOD(num, id, text)                                                          \
    if (len == sizeof(#text) - 1 && memcmp(name, #text, len) == 0)                                \
        return true;
    HTTP_METHOD_MAP(KILN_KNOWN_METHOD)
#undef KILN_KNOWN_METHOD
    return false;
}

/*
 * The start of a request: empty lines before it are skipped (RFC 9112 section 2.2) and the
 * method is looked at before llhttp sees it. A token llhttp does not know is kept by name and
 * llhttp is given "GET" in its place. Advances *pos; returns false to wait for more bytes (or
 * after failing).
 */
static bool start_request(struct http1_parser *p, const char *buf, size_t *pos, size_t end)
{
    size_t i = *pos;
    while (i < end && (buf[i] == '\r' || buf[i] == '\n'))
        i++;
    *pos = i;
    size_t start = i;
    while (i < end && i - start <= HTTP1_METHOD_MAX && text_is_tchar(buf[i]))
        i++;
    size_t len = i - start;
    if (len > HTTP1_METHOD_MAX) {
        fail(p, 501, "method name too long");
        return false;
    }
    if (i == end)
        return false;
    p->method_seen = true;
    if (buf[i] != ' ' || len == 0 || method_is_known(buf + start, len))
        return true; /* llhttp parses it, and refuses what is malformed */
    memcpy(p->other_method, buf + start, len);
    p->other_method[len] = '\0';
    llhttp_execute(&p->llhttp, "GET", 3);
    *pos = i;
    return true;
}

/*
 * An HTTP/0.9 request line ("GET /path" CRLF) ends right after the target. llhttp notices only
 * when the byte after the CRLF arrives, so a client that sends the line and waits would wait for
 * the header timeout: look at the byte after the target ourselves.
 */
static bool request_line_lacks_version(const struct http1_parser *p, size_t parsed)
{
    size_t after = (size_t)p->target.off + p->target.len;
    if (p->target.len == 0 || p->version.len > 0 || after >= parsed)
        return false;
    return p->base[after] == '\r' || p->base[after] == '\n';
}

size_t http1_feed(struct http1_parser *p, const char *buf, size_t pos, size_t len)
{
    if (p->state == HTTP1_ERROR || p->state == HTTP1_HEAD_DONE ||
        p->state == HTTP1_MESSAGE_DONE)
        return pos;
    /* Never parse past the head size limit: a head that has not ended by then is 431. */
    size_t end = len;
    if (p->state == HTTP1_HEAD) {
        size_t limit = (size_t)p->head_start + p->limits.max_head;
        if (end > limit)
            end = limit;
    }
    p->base = buf;
    if (p->state == HTTP1_HEAD && !p->method_seen && !start_request(p, buf, &pos, end)) {
        if (p->state == HTTP1_HEAD && end < len)
            fail(p, 431, "request header section too large");
        return pos;
    }
    if (pos >= end) {
        if (p->state == HTTP1_HEAD && len > pos)
            fail(p, 431, "request header section too large");
        return pos;
    }
    llhttp_errno_t err = llhttp_execute(&p->llhttp, buf + pos, end - pos);
    size_t next = end;
    if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
        next = (size_t)(llhttp_get_error_pos(&p->llhttp) - buf);
    } else if (err != HPE_OK) {
        fail_from_llhttp(p);
        return end;
    }
    if (p->state == HTTP1_HEAD && request_line_lacks_version(p, next))
        fail(p, 400, "request line without HTTP version");
    if (p->state == HTTP1_HEAD && next - p->head_start >= p->limits.max_head)
        fail(p, 431, "request header section too large");
    return next;
}

void http1_resume(struct http1_parser *p)
{
    if (p->state != HTTP1_HEAD_DONE)
        return;
    p->state = HTTP1_BODY;
    llhttp_resume(&p->llhttp);
}

void http1_next(struct http1_parser *p, uint32_t head_start)
{
    /* After an upgrade llhttp stays paused and parses no more HTTP: the position it reports
       would lie outside the buffer (or in the "GET" given for an unknown method). */
    if (p->llhttp.upgrade) {
        fail(p, 400, "request after a protocol upgrade");
        return;
    }
    llhttp_resume(&p->llhttp);
    p->state = HTTP1_HEAD;
    p->head_start = head_start;
    p->header_count = 0;
    p->target = (struct http1_span){0, 0};
    p->version = (struct http1_span){0, 0};
    p->method_seen = false;
    p->other_method[0] = '\0';
}

const char *http1_method_name(const struct http1_parser *p)
{
    if (p->other_method[0])
        return p->other_method;
    return llhttp_method_name((llhttp_method_t)p->llhttp.method);
}

int http1_method(const struct http1_parser *p)
{
    return p->other_method[0] ? HTTP1_METHOD_OTHER : p->llhttp.method;
}

unsigned http1_version_minor(const struct http1_parser *p)
{
    return p->llhttp.http_minor;
}

bool http1_keep_alive(const struct http1_parser *p)
{
    return llhttp_should_keep_alive(&p->llhttp) && !p->llhttp.upgrade;
}

bool http1_has_body(const struct http1_parser *p)
{
    return p->chunked || p->content_length > 0;
}

const struct http1_header *http1_find_header(const struct http1_parser *p, const char *buf,
                                             const char *name)
{
    size_t n = strlen(name);
    for (uint32_t i = 0; i < p->header_count; i++) {
        const struct http1_header *h = &p->headers[i];
        if (h->name.len == n && strncasecmp(buf + h->name.off, name, n) == 0)
            return h;
    }
    return NULL;
}
