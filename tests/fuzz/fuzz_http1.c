/*
 * libFuzzer target for the HTTP/1 request path: the bytes arrive in pieces (sizes taken from
 * the input) into one growing buffer, handled exactly as the connection does (resume after the
 * head, drop decoded body bytes, compact and continue after each request of a pipeline).
 * Every header value also goes through the Host check, whose accepted values must stay within
 * the authority alphabet.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http/field.h"
#include "http/http1.h"

static void check_host(const char *v, size_t len)
{
    if (!http_field_host_valid(v, len))
        return;
    for (size_t i = 0; i < len; i++)
        assert(v[i] != '\0' && strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789-._~!$&'()*+,;=%:[]", v[i]));
}

static void check_request(const struct http1_parser *p, size_t buffered)
{
    assert((size_t)p->target.off + p->target.len <= buffered);
    assert(p->target.len <= p->limits.max_target);
    assert(p->header_count <= p->limits.max_headers);
    for (uint32_t i = 0; i < p->header_count; i++) {
        const struct http1_header *h = &p->headers[i];
        assert((size_t)h->name.off + h->name.len <= buffered);
        assert((size_t)h->value.off + h->value.len <= buffered);
    }
    const char *method = http1_method_name(p);
    assert(method && strlen(method) <= HTTP1_METHOD_MAX);
    assert(p->body_bytes <= p->limits.max_body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = (size_t)(data[0] % 64) + 1;
    data++, size--;

    const struct http1_limits limits = {
        .max_target = 256, .max_head = 1024, .max_headers = 16, .max_body = 4096,
    };
    struct http1_parser p;
    http1_init(&p, &limits, NULL, NULL);
    struct buf in = {0};
    size_t parsed = 0;
    uint32_t head_end = 0;
    size_t offered = 0;

    while (offered < size && p.state != HTTP1_ERROR) {
        size_t n = size - offered < piece ? size - offered : piece;
        buf_append(&in, data + offered, n);
        offered += n;
        for (;;) {
            parsed = http1_feed(&p, in.data, parsed, in.len);
            assert(parsed <= in.len);
            if (p.state == HTTP1_HEAD_DONE) {
                head_end = (uint32_t)parsed;
                check_request(&p, in.len);
                http1_resume(&p);
                continue;
            }
            if (p.state == HTTP1_BODY) {
                size_t rest = in.len - parsed;
                memmove(in.data + head_end, in.data + parsed, rest);
                in.len = head_end + rest;
                parsed = head_end;
                break;
            }
            if (p.state == HTTP1_MESSAGE_DONE) {
                check_request(&p, in.len);
                (void)http1_method_name(&p);
                (void)http1_keep_alive(&p);
                (void)http1_find_header(&p, in.data, "host");
                for (uint32_t i = 0; i < p.header_count; i++)
                    check_host(in.data + p.headers[i].value.off, p.headers[i].value.len);
                size_t rest = in.len - parsed;
                memmove(in.data, in.data + parsed, rest);
                in.len = rest;
                parsed = 0;
                http1_next(&p, 0);
                continue;
            }
            break;
        }
    }
    if (p.state == HTTP1_ERROR)
        assert(p.error_status == 400 || p.error_status == 413 || p.error_status == 414 ||
               p.error_status == 431 || p.error_status == 501 || p.error_status == 505);
    http1_free(&p);
    buf_free(&in);
    return 0;
}
