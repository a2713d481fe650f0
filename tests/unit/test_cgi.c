/* Unit tests for src/php/cgi.c: the $_SERVER set nginx + PHP-FPM would give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "http/cgi.h"

struct decoded {
    struct buf buf;
    struct proto_request req;
};

static struct sockaddr_in v4(const char *addr, unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    return sa;
}

static struct sockaddr_in6 v6(const char *addr, unsigned port)
{
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    inet_pton(AF_INET6, addr, &sa.sin6_addr);
    return sa;
}

#define H(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

static struct sockaddr_in remote_sa, local_sa;

/* A plain GET /index.php?a=1&b=2 over HTTP/1.1 from 10.0.0.7:51234 to 127.0.0.1:8080. */
static struct cgi_input base_input(const struct http_field *headers, size_t count)
{
    remote_sa = v4("10.0.0.7", 51234);
    local_sa = v4("127.0.0.1", 8080);
    struct cgi_input in = {
        .method = "GET",
        .target = "/index.php?a=1&b=2",
        .target_len = strlen("/index.php?a=1&b=2"),
        .protocol = "HTTP/1.1",
        .script_name = "/index.php",
        .path_info = "",
        .document_root = "/srv/www",
        .remote = (const struct sockaddr *)&remote_sa,
        .local = (const struct sockaddr *)&local_sa,
        .headers = headers,
        .header_count = count,
        .content_length = -1,
        .start_usec = 1700000000000001ull,
    };
    return in;
}

static void encode(const struct cgi_input *in, uint32_t flags, struct decoded *d)
{
    memset(d, 0, sizeof *d);
    assert_int_equal(cgi_encode_request(&d->buf, in, 77, flags), 0);
    struct proto_frame f = {
        .type = d->buf.data[0],
        .flags = d->buf.data[1],
        .length = (uint32_t)(d->buf.len - PROTO_HEADER_SIZE),
        .payload = (const uint8_t *)d->buf.data + PROTO_HEADER_SIZE,
    };
    assert_int_equal(f.type, PROTO_REQUEST);
    assert_int_equal(proto_parse_request(&f, &d->req), 0);
    assert_int_equal(d->req.head.seq, 77);
}

/* The value of variable `name`, or NULL; fails if it occurs twice. */
static const char *var(const struct decoded *d, const char *name)
{
    struct proto_pair_iter it;
    struct proto_pair p;
    const char *found = NULL;
    proto_pair_iter_init(&it, d->req.vars, d->req.vars_len);
    while (proto_pair_next(&it, &p)) {
        if (strcmp(p.name, name) == 0) {
            assert_null(found);
            found = p.value;
        }
    }
    return found;
}

static void test_plain_get_has_exactly_the_fpm_set(void **state)
{
    (void)state;
    const struct http_field headers[] = {
        H("Host", "example.com:8080"),
        H("User-Agent", "curl/8"),
        H("Accept", "*/*"),
    };
    struct cgi_input in = base_input(headers, 3);
    struct decoded d;
    encode(&in, 0, &d);

    static const char *const expected[][2] = {
        {"PATH_INFO", ""},
        {"SCRIPT_FILENAME", "/srv/www/index.php"},
        {"QUERY_STRING", "a=1&b=2"},
        {"REQUEST_METHOD", "GET"},
        {"CONTENT_TYPE", ""},
        {"CONTENT_LENGTH", ""},
        {"SCRIPT_NAME", "/index.php"},
        {"REQUEST_URI", "/index.php?a=1&b=2"},
        {"DOCUMENT_URI", "/index.php"},
        {"DOCUMENT_ROOT", "/srv/www"},
        {"SERVER_PROTOCOL", "HTTP/1.1"},
        {"REQUEST_SCHEME", "http"},
        {"GATEWAY_INTERFACE", "CGI/1.1"},
        {"SERVER_SOFTWARE", "kiln/" KILN_VERSION},
        {"REMOTE_ADDR", "10.0.0.7"},
        {"REMOTE_PORT", "51234"},
        {"SERVER_ADDR", "127.0.0.1"},
        {"SERVER_PORT", "8080"},
        {"SERVER_NAME", "example.com"},
        {"REDIRECT_STATUS", "200"},
        {"HTTP_HOST", "example.com:8080"},
        {"HTTP_USER_AGENT", "curl/8"},
        {"HTTP_ACCEPT", "*/*"},
        {"PHP_SELF", "/index.php"},
    };
    size_t n = sizeof expected / sizeof expected[0];
    assert_int_equal(d.req.var_count, n);
    struct proto_pair_iter it;
    struct proto_pair p;
    proto_pair_iter_init(&it, d.req.vars, d.req.vars_len);
    for (size_t i = 0; i < n; i++) {
        assert_true(proto_pair_next(&it, &p));
        assert_string_equal(p.name, expected[i][0]);
        assert_string_equal(p.value, expected[i][1]);
    }
    assert_null(var(&d, "HTTPS"));
    assert_null(var(&d, "PATH_TRANSLATED"));
    assert_null(var(&d, "REQUEST_ID"));
    assert_string_equal(d.req.head.script, "/srv/www/index.php");
    assert_int_equal(d.req.head.flags, 0);
    assert_true(d.req.head.body_length == 0);
    assert_true(d.req.head.start_usec == 1700000000000001ull);
    buf_free(&d.buf);
}

static void test_path_info_split(void **state)
{
    (void)state;
    const struct http_field headers[] = {H("Host", "h")};
    struct cgi_input in = base_input(headers, 1);
    in.target = "/app/index.php/users/42?x";
    in.target_len = strlen(in.target);
    in.script_name = "/app/index.php";
    in.path_info = "/users/42";
    in.document_root = "/srv/www/";
    struct decoded d;
    encode(&in, 0, &d);
    assert_string_equal(var(&d, "PATH_INFO"), "/users/42");
    assert_string_equal(var(&d, "PATH_TRANSLATED"), "/srv/www/users/42");
    assert_string_equal(var(&d, "SCRIPT_NAME"), "/app/index.php");
    assert_string_equal(var(&d, "SCRIPT_FILENAME"), "/srv/www/app/index.php");
    assert_string_equal(var(&d, "PHP_SELF"), "/app/index.php/users/42");
    assert_string_equal(var(&d, "DOCUMENT_URI"), "/app/index.php/users/42");
    assert_string_equal(var(&d, "REQUEST_URI"), "/app/index.php/users/42?x");
    assert_string_equal(var(&d, "QUERY_STRING"), "x");
    buf_free(&d.buf);
}

static void test_headers_joined_filtered_and_trimmed(void **state)
{
    (void)state;
    const struct http_field headers[] = {
        H("Host", "h"),
        H("X-Forwarded-For", "1.1.1.1"),
        H("X_Forwarded_For", "6.6.6.6"),  /* spoofing attempt: dropped */
        H("Cookie", "a=1"),
        H("accept", "text/html"),
        H("x-forwarded-for", "2.2.2.2  "),  /* joined, trailing blanks trimmed */
        H("COOKIE", "b=2"),
        H("Content-Type", "application/json"),
        H("Content-Length", "2"),
        H("Proxy", "http://evil"),          /* httpoxy: dropped */
        H("Bad Name", "x"),                 /* invalid token: dropped */
        H("X.Dot", "x"),
        {"X-Nul", 5, "a\0b", 3},            /* never valid HTTP: dropped */
        H("Accept", "application/json"),
        H("Authorization", "Basic dTpw"),
    };
    struct cgi_input in = base_input(headers, sizeof headers / sizeof headers[0]);
    in.method = "POST";
    in.content_length = 2;
    struct decoded d;
    encode(&in, 0, &d);
    assert_string_equal(var(&d, "HTTP_X_FORWARDED_FOR"), "1.1.1.1, 2.2.2.2");
    assert_string_equal(var(&d, "HTTP_COOKIE"), "a=1; b=2");
    assert_string_equal(var(&d, "HTTP_ACCEPT"), "text/html, application/json");
    assert_string_equal(var(&d, "HTTP_AUTHORIZATION"), "Basic dTpw");
    assert_string_equal(var(&d, "CONTENT_TYPE"), "application/json");
    assert_string_equal(var(&d, "CONTENT_LENGTH"), "2");
    assert_null(var(&d, "HTTP_CONTENT_TYPE"));
    assert_null(var(&d, "HTTP_CONTENT_LENGTH"));
    assert_null(var(&d, "HTTP_PROXY"));
    assert_null(var(&d, "HTTP_X_NUL"));
    assert_null(var(&d, "HTTP_X_DOT"));
    assert_null(var(&d, "HTTP_X.DOT"));
    assert_null(var(&d, "HTTP_BAD NAME"));
    assert_true(d.req.head.body_length == 2);

    /* Exactly one HTTP_ variable per distinct valid name. */
    struct proto_pair_iter it;
    struct proto_pair p;
    int http = 0;
    proto_pair_iter_init(&it, d.req.vars, d.req.vars_len);
    while (proto_pair_next(&it, &p))
        http += strncmp(p.name, "HTTP_", 5) == 0;
    assert_int_equal(http, 5); /* HOST, X_FORWARDED_FOR, COOKIE, ACCEPT, AUTHORIZATION */
    buf_free(&d.buf);
}

static void test_server_name_sources(void **state)
{
    (void)state;
    struct decoded d;
    const struct http_field v6host[] = {H("Host", "[::1]:8443")};
    struct cgi_input in = base_input(v6host, 1);
    encode(&in, 0, &d);
    assert_string_equal(var(&d, "SERVER_NAME"), "[::1]");
    buf_free(&d.buf);

    const struct http_field plain[] = {H("host", "Example.org")};
    in = base_input(plain, 1);
    encode(&in, 0, &d);
    assert_string_equal(var(&d, "SERVER_NAME"), "Example.org");
    buf_free(&d.buf);

    in = base_input(NULL, 0); /* HTTP/1.0 without Host */
    in.protocol = "HTTP/1.0";
    encode(&in, 0, &d);
    assert_string_equal(var(&d, "SERVER_NAME"), "127.0.0.1");
    assert_string_equal(var(&d, "SERVER_PROTOCOL"), "HTTP/1.0");
    assert_null(var(&d, "HTTP_HOST"));
    buf_free(&d.buf);
}

static void test_tls_ipv6_and_ids(void **state)
{
    (void)state;
    struct sockaddr_in6 r = v6("2001:db8::5", 40000), l = v6("::1", 443);
    const struct http_field headers[] = {H("Host", "secure.example")};
    struct cgi_input in = base_input(headers, 1);
    in.remote = (const struct sockaddr *)&r;
    in.local = (const struct sockaddr *)&l;
    in.https = true;
    in.protocol = "HTTP/2.0";
    struct trace_request t = {
        .ctx = {.trace_id = "0af7651916cd43dd8448eb211c80319c", .span_id = "b7ad6b7169203331"},
        .request_id = "req-1",
        .ready = true,
    };
    in.trace = &t;
    struct decoded d;
    encode(&in, 0, &d);
    assert_string_equal(var(&d, "HTTPS"), "on");
    assert_string_equal(var(&d, "REQUEST_SCHEME"), "https");
    assert_string_equal(var(&d, "REMOTE_ADDR"), "2001:db8::5");
    assert_string_equal(var(&d, "REMOTE_PORT"), "40000");
    assert_string_equal(var(&d, "SERVER_ADDR"), "::1");
    assert_string_equal(var(&d, "SERVER_PORT"), "443");
    assert_string_equal(var(&d, "SERVER_PROTOCOL"), "HTTP/2.0");
    assert_string_equal(var(&d, "REQUEST_ID"), "req-1");
    assert_string_equal(var(&d, "TRACE_ID"), "0af7651916cd43dd8448eb211c80319c");
    assert_string_equal(var(&d, "SPAN_ID"), "b7ad6b7169203331");
    assert_null(var(&d, "PARENT_SPAN_ID"));
    buf_free(&d.buf);

    memcpy(t.ctx.parent_id, "00f067aa0ba902b7", TRACE_SPAN_ID_LEN + 1);
    encode(&in, 0, &d);
    assert_string_equal(var(&d, "PARENT_SPAN_ID"), "00f067aa0ba902b7");
    buf_free(&d.buf);
}

static void test_request_flags(void **state)
{
    (void)state;
    struct decoded d;
    struct cgi_input in = base_input(NULL, 0);
    in.method = "HEAD";
    in.target = "/";
    in.target_len = 1;
    in.document_root = "/";
    encode(&in, 0, &d);
    assert_int_equal(d.req.head.flags, PROTO_REQ_HEAD);
    assert_string_equal(var(&d, "QUERY_STRING"), "");
    assert_string_equal(var(&d, "SCRIPT_FILENAME"), "/index.php");
    assert_string_equal(var(&d, "DOCUMENT_ROOT"), "/");
    buf_free(&d.buf);

    in.method = "PUT";
    in.content_length = 0;
    encode(&in, PROTO_REQ_BODY_FD | 0x80, &d);
    assert_int_equal(d.req.head.flags, PROTO_REQ_BODY_FD);
    assert_string_equal(var(&d, "CONTENT_LENGTH"), "0");
    buf_free(&d.buf);

    in.method = "GET";
    encode(&in, PROTO_REQ_EVENT_STREAM, &d);
    assert_int_equal(d.req.head.flags, PROTO_REQ_EVENT_STREAM);
    buf_free(&d.buf);
}

static void test_too_big_leaves_buffer_unchanged(void **state)
{
    (void)state;
    size_t big = PROTO_MAX_PAYLOAD / 2 + 1;
    char *value = malloc(big);
    assert_non_null(value);
    memset(value, 'a', big);
    struct http_field headers[] = {
        {"X-A", 3, value, big},
        {"X-B", 3, value, big},
    };
    struct cgi_input in = base_input(headers, 2);
    struct buf b = {0};
    assert_int_equal(proto_put_abort(&b, 1), 0);
    size_t before = b.len;
    assert_int_equal(cgi_encode_request(&b, &in, 1, 0), -1);
    assert_int_equal(b.len, before);
    buf_free(&b);
    free(value);
}

/* The script must be a path under the root: an empty one would make a frame the worker refuses. */
static void test_script_not_starting_with_slash_is_refused(void **state)
{
    (void)state;
    struct cgi_input in = base_input(NULL, 0);
    struct buf b = {0};
    in.script_name = "";
    assert_int_equal(cgi_encode_request(&b, &in, 1, 0), -1);
    in.script_name = "index.php";
    assert_int_equal(cgi_encode_request(&b, &in, 1, 0), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_get_has_exactly_the_fpm_set),
        cmocka_unit_test(test_path_info_split),
        cmocka_unit_test(test_headers_joined_filtered_and_trimmed),
        cmocka_unit_test(test_server_name_sources),
        cmocka_unit_test(test_tls_ipv6_and_ids),
        cmocka_unit_test(test_request_flags),
        cmocka_unit_test(test_too_big_leaves_buffer_unchanged),
        cmocka_unit_test(test_script_not_starting_with_slash_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
