/* Unit tests of the HTTP/1 request parser glue (src/http/http1.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "http/http1.h"

static const struct http1_limits limits = {
    .max_target = 64, .max_head = 512, .max_headers = 8, .max_body = 100,
};

struct run {
    struct http1_parser p;
    struct buf in;
    size_t parsed;
    struct buf body;
    unsigned requests;
    char targets[4][80];
};

static void collect_body(void *ctx, const char *data, size_t len)
{
    buf_append(&((struct run *)ctx)->body, data, len);
}

/* Feeds `text` in pieces of `piece` bytes, completing every request; returns the final state. */
static enum http1_state feed(struct run *r, const char *text, size_t piece)
{
    memset(r, 0, sizeof(*r));
    http1_init(&r->p, &limits, collect_body, r);
    size_t len = strlen(text);
    for (size_t off = 0; off < len && r->p.state != HTTP1_ERROR; off += piece) {
        buf_append(&r->in, text + off, len - off < piece ? len - off : piece);
        for (;;) {
            r->parsed = http1_feed(&r->p, r->in.data, r->parsed, r->in.len);
            if (r->p.state == HTTP1_HEAD_DONE) {
                http1_resume(&r->p);
                continue;
            }
            if (r->p.state == HTTP1_MESSAGE_DONE) {
                if (r->requests < 4)
                    snprintf(r->targets[r->requests], sizeof(r->targets[0]), "%s %.*s",
                             http1_method_name(&r->p), (int)r->p.target.len,
                             r->in.data + r->p.target.off);
                r->requests++;
                http1_next(&r->p, (uint32_t)r->parsed);
                continue;
            }
            break;
        }
    }
    return r->p.state;
}

static void done(struct run *r)
{
    http1_free(&r->p);
    buf_free(&r->in);
    buf_free(&r->body);
}

static void test_simple_get_in_any_split(void **state)
{
    (void)state;
    const char *req = "GET /a?b=1 HTTP/1.1\r\nHost: example\r\nX-Pad:  v  \r\n\r\n";
    for (size_t piece = 1; piece <= strlen(req); piece++) {
        struct run r;
        assert_int_equal(feed(&r, req, piece), HTTP1_HEAD);
        assert_int_equal(r.requests, 1);
        assert_string_equal(r.targets[0], "GET /a?b=1");
        done(&r);
    }
}

static void test_headers_are_found_and_trimmed(void **state)
{
    (void)state;
    struct run r = {0};
    http1_init(&r.p, &limits, NULL, NULL);
    const char *req = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad:  v w \t\r\n\r\n";
    buf_append(&r.in, req, strlen(req));
    http1_feed(&r.p, r.in.data, 0, r.in.len);
    assert_int_equal(r.p.state, HTTP1_MESSAGE_DONE);
    const struct http1_header *h = http1_find_header(&r.p, r.in.data, "x-pad");
    assert_non_null(h);
    assert_int_equal(h->value.len, 3);
    assert_memory_equal(r.in.data + h->value.off, "v w", 3);
    assert_null(http1_find_header(&r.p, r.in.data, "missing"));
    assert_true(http1_keep_alive(&r.p));
    done(&r);
}

static void test_pipeline_and_chunked_body(void **state)
{
    (void)state;
    struct run r;
    feed(&r,
         "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
         "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
         "PUT /q HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nfg"
         "GET /r HTTP/1.0\r\n\r\n",
         7);
    assert_int_equal(r.requests, 3);
    assert_string_equal(r.targets[0], "POST /p");
    assert_string_equal(r.targets[1], "PUT /q");
    assert_string_equal(r.targets[2], "GET /r");
    assert_int_equal(r.body.len, 7);
    assert_memory_equal(r.body.data, "abcdefg", 7);
    done(&r);
}

static void expect_error(const char *req, int status)
{
    struct run r;
    assert_int_equal(feed(&r, req, 5), HTTP1_ERROR);
    assert_int_equal(r.p.error_status, status);
    done(&r);
}

static void test_limits(void **state)
{
    (void)state;
    char target[200];
    snprintf(target, sizeof(target), "GET /%070d HTTP/1.1\r\nHost: h\r\n\r\n", 0);
    expect_error(target, 414);
    expect_error("GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\n"
                 "H: 1\r\nI: 1\r\n\r\n", 431);
    char big[700];
    snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: %0600d\r\n\r\n", 0);
    expect_error(big, 431);
    expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n", 413);
    char chunked[300];
    snprintf(chunked, sizeof(chunked),
             "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n%0101d\r\n0\r\n\r\n",
             0);
    expect_error(chunked, 413);
}

static void test_smuggling_shapes_are_rejected(void **state)
{
    (void)state;
    expect_error("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nBad Name: a\r\n\r\n", 400);
}

/* Chunked trailers arrive after the head, while body bytes are being dropped from the buffer:
   they must not become header spans (they once did, pointing at moved bytes). */
static void test_trailers_are_not_headers(void **state)
{
    (void)state;
    struct run r;
    feed(&r,
         "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
         "3\r\nabc\r\n0\r\nX-Trailer: 1\r\nY-Trailer: 2\r\n\r\n",
         4);
    assert_int_equal(r.requests, 1);
    assert_int_equal(r.p.header_count, 0); /* reset for the next request... */
    done(&r);

    struct run one = {0};
    http1_init(&one.p, &limits, NULL, NULL);
    const char *req = "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "1\r\na\r\n0\r\nX-Trailer: 1\r\n\r\n";
    buf_append(&one.in, req, strlen(req));
    size_t pos = http1_feed(&one.p, one.in.data, 0, one.in.len);
    assert_int_equal(one.p.state, HTTP1_HEAD_DONE);
    http1_resume(&one.p);
    http1_feed(&one.p, one.in.data, pos, one.in.len);
    assert_int_equal(one.p.state, HTTP1_MESSAGE_DONE);
    assert_int_equal(one.p.header_count, 2); /* Host and Transfer-Encoding only */
    assert_null(http1_find_header(&one.p, one.in.data, "X-Trailer"));
    done(&one);

    char big[1200];
    int n = snprintf(big, sizeof(big),
                     "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "0\r\nX-Trailer: %0600d\r\n\r\n", 0);
    assert_true(n > 0 && (size_t)n < sizeof(big));
    expect_error(big, 431); /* trailers are bounded like a head */
}

static void test_http10_keep_alive_rules(void **state)
{
    (void)state;
    struct run r = {0};
    http1_init(&r.p, &limits, NULL, NULL);
    const char *req = "GET / HTTP/1.0\r\n\r\n";
    buf_append(&r.in, req, strlen(req));
    http1_feed(&r.p, r.in.data, 0, r.in.len);
    assert_int_equal(r.p.state, HTTP1_MESSAGE_DONE);
    assert_int_equal(http1_version_minor(&r.p), 0);
    assert_false(http1_keep_alive(&r.p));
    done(&r);
}

/* Only HTTP/1.0 and 1.1 use this framing: any other well-formed version is 505, in any split. */
static void test_versions(void **state)
{
    (void)state;
    const char *unsupported[] = {"HTTP/2.0", "HTTP/0.9", "HTTP/9.9", "HTTP/1.2", "HTTP/3.0"};
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
        char req[80];
        snprintf(req, sizeof(req), "GET / %s\r\nHost: h\r\n\r\n", unsupported[i]);
        expect_error(req, 505);
    }
    expect_error("GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400);
    expect_error("GET / HTTPS/1.1\r\nHost: h\r\n\r\n", 400);
}

/* "GET /" CRLF and nothing more: refused now, not when a later byte arrives. */
static void test_http09_request_line(void **state)
{
    (void)state;
    const char *lines[] = {"GET /\r\n", "GET /a/b\n", "GET /x?y\r"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        struct run r;
        assert_int_equal(feed(&r, lines[i], 1), HTTP1_ERROR);
        assert_int_equal(r.p.error_status, 400);
        done(&r);
        assert_int_equal(feed(&r, lines[i], 100), HTTP1_ERROR);
        done(&r);
    }
}

static void test_chunk_sizes(void **state)
{
    (void)state;
    const char *head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    char req[200];
    snprintf(req, sizeof(req), "%s8000000000000000\r\n", head);
    expect_error(req, 400); /* 2^63 */
    snprintf(req, sizeof(req), "%s10000000000000000\r\n", head);
    expect_error(req, 400); /* 2^64: llhttp's own overflow */
    snprintf(req, sizeof(req), "%s65\r\n", head);
    expect_error(req, 413); /* 101 bytes, above the limit of 100, refused before any arrives */
    snprintf(req, sizeof(req), "%s64\r\n", head);
    struct run r;
    assert_int_equal(feed(&r, req, 7), HTTP1_BODY); /* 100 is allowed: waits for the bytes */
    done(&r);
}

/* Any token is a method: unknown ones are parsed with GET's framing and keep their name. */
static void test_unknown_methods(void **state)
{
    (void)state;
    for (size_t piece = 1; piece <= 64; piece *= 4) {
        struct run r;
        feed(&r,
             "\r\nFOOBAR /a HTTP/1.1\r\nHost: h\r\n\r\n"
             "BREW /pot HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
             "PROPFIND /b HTTP/1.1\r\n\r\n"
             "GET /c HTTP/1.1\r\n\r\n",
             piece);
        assert_int_equal(r.requests, 4);
        assert_string_equal(r.targets[0], "FOOBAR /a");
        assert_string_equal(r.targets[1], "BREW /pot");
        assert_string_equal(r.targets[2], "PROPFIND /b");
        assert_string_equal(r.targets[3], "GET /c");
        assert_int_equal(http1_method(&r.p), HTTP_GET); /* the last one's */
        assert_int_equal(r.body.len, 3);
        done(&r);
    }
    struct run one;
    feed(&one, "M-SEARCH * HTTP/1.1\r\n\r\nX.Y /q HTTP/1.1\r\n\r\n", 3);
    assert_int_equal(one.requests, 2);
    assert_string_equal(one.targets[1], "X.Y /q");
    done(&one);

    struct run other = {0};
    http1_init(&other.p, &limits, NULL, NULL);
    buf_append_str(&other.in, "FOOBAR / HTTP/1.1\r\n\r\n");
    http1_feed(&other.p, other.in.data, 0, other.in.len);
    assert_int_equal(other.p.state, HTTP1_MESSAGE_DONE);
    assert_int_equal(http1_method(&other.p), HTTP1_METHOD_OTHER);
    assert_string_equal(http1_method_name(&other.p), "FOOBAR");
    done(&other);

    expect_error("GE(T / HTTP/1.1\r\n\r\n", 400);
    expect_error(" GET / HTTP/1.1\r\n\r\n", 400);
    expect_error("FOO\tBAR / HTTP/1.1\r\n\r\n", 400);
    expect_error("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJ / HTTP/1.1\r\n\r\n", 501);
}

/*
 * A CONNECT head ends the message where llhttp pauses for the upgrade; whatever follows (here a
 * pipelined request with a method llhttp does not know, after a chunked CONNECT) must never move the returned position past the
 * bytes buffered, even when the buffer is compacted between requests as the connection does.
 */
static void test_position_stays_within_buffer_after_upgrade(void **state)
{
    (void)state;
    static const char text[] = "CONNECT a:1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "FOO / HTTP/1.1\r\nHost: a\r\n\r\n";
    for (size_t piece = 1; piece <= sizeof(text); piece++) {
        struct http1_parser p;
        http1_init(&p, &limits, NULL, NULL);
        struct buf in = {0};
        size_t parsed = 0;
        for (size_t off = 0; off < sizeof(text) - 1 && p.state != HTTP1_ERROR; off += piece) {
            size_t n = sizeof(text) - 1 - off < piece ? sizeof(text) - 1 - off : piece;
            buf_append(&in, text + off, n);
            for (;;) {
                parsed = http1_feed(&p, in.data, parsed, in.len);
                assert_true(parsed <= in.len);
                if (p.state == HTTP1_HEAD_DONE) {
                    http1_resume(&p);
                    continue;
                }
                if (p.state != HTTP1_MESSAGE_DONE)
                    break;
                memmove(in.data, in.data + parsed, in.len - parsed);
                in.len -= parsed;
                parsed = 0;
                http1_next(&p, 0);
            }
        }
        http1_free(&p);
        buf_free(&in);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get_in_any_split),
        cmocka_unit_test(test_headers_are_found_and_trimmed),
        cmocka_unit_test(test_pipeline_and_chunked_body),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_smuggling_shapes_are_rejected),
        cmocka_unit_test(test_trailers_are_not_headers),
        cmocka_unit_test(test_http10_keep_alive_rules),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_http09_request_line),
        cmocka_unit_test(test_chunk_sizes),
        cmocka_unit_test(test_unknown_methods),
        cmocka_unit_test(test_position_stays_within_buffer_after_upgrade),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
