/*
 * Unit tests for http/encoding: the weighted-list parser, Accept-Encoding negotiation
 * (RFC 9110 12.5.3), compressible types and COMPRESSION_TYPES, already-encoded responses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/encoding.h"

#define BR ENCODING_BIT(ENCODING_BR)
#define ZSTD ENCODING_BIT(ENCODING_ZSTD)
#define GZIP ENCODING_BIT(ENCODING_GZIP)

static const char *coding_text(enum encoding_coding c)
{
    return c == ENCODING_NONE ? "identity" : encoding_name(c);
}

struct negotiate_case {
    const char *value; /* NULL: no header */
    unsigned offered;
    enum encoding_coding want;
};

static void check_negotiate(const struct negotiate_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct negotiate_case *c = &cases[i];
        enum encoding_coding got =
            encoding_negotiate(c->value, c->value ? strlen(c->value) : 0, c->offered);
        if (got != c->want)
            fail_msg("negotiate(\"%s\", offered %#x) = %s, want %s",
                     c->value ? c->value : "(none)", c->offered, coding_text(got),
                     coding_text(c->want));
    }
}

static void test_negotiate_basics(void **state)
{
    (void)state;
    static const struct negotiate_case cases[] = {
        {NULL, ENCODING_ALL, ENCODING_NONE}, /* no header: no coding (RFC allows any) */
        {"", ENCODING_ALL, ENCODING_NONE},   /* empty: the client wants none */
        {"gzip", ENCODING_ALL, ENCODING_GZIP},
        {"br", ENCODING_ALL, ENCODING_BR},
        {"zstd", ENCODING_ALL, ENCODING_ZSTD},
        {"GZip", ENCODING_ALL, ENCODING_GZIP},
        {"x-gzip", ENCODING_ALL, ENCODING_GZIP},
        {"deflate", ENCODING_ALL, ENCODING_NONE},
        {"compress, deflate, identity", ENCODING_ALL, ENCODING_NONE},
        {"gzip, deflate, br, zstd", ENCODING_ALL, ENCODING_BR}, /* Chrome: server preference */
        {"gzip, zstd", ENCODING_ALL, ENCODING_ZSTD},
        {"gzip, deflate", ENCODING_ALL, ENCODING_GZIP},
        {",,, gzip ,,", ENCODING_ALL, ENCODING_GZIP},
        {" \t gzip \t ; \t q=0.5 \t", ENCODING_ALL, ENCODING_GZIP},
    };
    check_negotiate(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_negotiate_qvalues(void **state)
{
    (void)state;
    static const struct negotiate_case cases[] = {
        {"br;q=0", ENCODING_ALL, ENCODING_NONE}, /* the seed sent br here */
        {"br;q=0, gzip", ENCODING_ALL, ENCODING_GZIP},
        {"br;Q=0, gzip", ENCODING_ALL, ENCODING_GZIP},
        {"gzip;q=1, br;q=0.9", ENCODING_ALL, ENCODING_GZIP},
        {"gzip;q=0.8, br;q=0.8, zstd;q=0.9", ENCODING_ALL, ENCODING_ZSTD},
        {"br;q=0.001", ENCODING_ALL, ENCODING_BR},
        {"br;q=0.5, gzip;q=0.501", ENCODING_ALL, ENCODING_GZIP},
        {"br;q=1.000, gzip", ENCODING_ALL, ENCODING_BR},
        {"br;q=1., gzip;q=0.", ENCODING_ALL, ENCODING_BR},
        {"br;q=0.000", ENCODING_ALL, ENCODING_NONE},
        {"br;q=0, br", ENCODING_ALL, ENCODING_NONE}, /* the first mention counts */
        /* "*" covers codings not listed. */
        {"*", ENCODING_ALL, ENCODING_BR},
        {"*;q=0", ENCODING_ALL, ENCODING_NONE},
        {"*, br;q=0", ENCODING_ALL, ENCODING_ZSTD},
        {"*;q=0, gzip", ENCODING_ALL, ENCODING_GZIP},
        {"*;q=0.5, gzip;q=0.4", ENCODING_ALL, ENCODING_BR},
        {"gzip;q=0.4, *;q=0.5", ENCODING_ALL, ENCODING_BR},
        /* Identity competes when the client weighs it; a tie goes to compression. */
        {"gzip;q=0.5, identity", ENCODING_ALL, ENCODING_NONE},
        {"gzip, identity;q=0.5", ENCODING_ALL, ENCODING_GZIP},
        {"gzip;q=0.5, identity;q=0.5", ENCODING_ALL, ENCODING_GZIP},
        {"gzip;q=0.5, *;q=0.9", ENCODING_ALL, ENCODING_BR},
        {"gzip;q=0.5, *;q=0.9", GZIP, ENCODING_NONE}, /* identity gets *'s 0.9 */
        {"identity;q=0", ENCODING_ALL, ENCODING_NONE},
        {"identity;q=0, gzip;q=0.1", ENCODING_ALL, ENCODING_GZIP},
    };
    check_negotiate(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_negotiate_malformed_entries_ignored(void **state)
{
    (void)state;
    static const struct negotiate_case cases[] = {
        {"br;q=1.5, gzip", ENCODING_ALL, ENCODING_GZIP},
        {"br;q=, gzip", ENCODING_ALL, ENCODING_GZIP},
        {"br;q=abc", ENCODING_ALL, ENCODING_NONE},
        {"br;q=0.0001, gzip", ENCODING_ALL, ENCODING_GZIP},
        {"br;q=1.001, gzip", ENCODING_ALL, ENCODING_GZIP},
        {"br;q=-1, gzip", ENCODING_ALL, ENCODING_GZIP},
        {"br;q=.5, gzip", ENCODING_ALL, ENCODING_GZIP},
        {"br;q = 0.5, gzip", ENCODING_ALL, ENCODING_GZIP},
        {"br q=0.5, gzip", ENCODING_ALL, ENCODING_GZIP},
        {"br;, gzip", ENCODING_ALL, ENCODING_GZIP},
        {"b\x01r, gzip", ENCODING_ALL, ENCODING_GZIP},
        {"br;q=0.5;level=1", ENCODING_ALL, ENCODING_BR}, /* other parameters ignored */
        {"br;x=\"a,b;q=0\", gzip", ENCODING_ALL, ENCODING_BR},
        {"gzip;x=\"y,br\"", ENCODING_ALL, ENCODING_GZIP}, /* br is inside quotes */
        {"gzip;x=\"\\\"br\\\"\", zstd", ENCODING_ALL, ENCODING_ZSTD},
        {"br;x=\"unterminated, gzip", ENCODING_ALL, ENCODING_NONE},
        {";q=1, gzip", ENCODING_ALL, ENCODING_GZIP},
        {"=, gzip", ENCODING_ALL, ENCODING_GZIP},
    };
    check_negotiate(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_negotiate_offered_subset(void **state)
{
    (void)state;
    static const struct negotiate_case cases[] = {
        {"br, gzip", GZIP, ENCODING_GZIP}, /* e.g. only app.js.gz exists */
        {"br", GZIP, ENCODING_NONE},
        {"br, gzip", 0, ENCODING_NONE},
        {"br;q=0.9, zstd;q=0.5, gzip;q=0.1", ZSTD | GZIP, ENCODING_ZSTD},
        {"*", GZIP | ZSTD, ENCODING_ZSTD},
    };
    check_negotiate(cases, sizeof(cases) / sizeof(cases[0]));
}

/* The header length is respected: nothing past it is read. */
static void test_negotiate_uses_length(void **state)
{
    (void)state;
    const char *v = "gzip, br";
    assert_int_equal(encoding_negotiate(v, 4, ENCODING_ALL), ENCODING_GZIP);
    assert_int_equal(encoding_negotiate(v, 0, ENCODING_ALL), ENCODING_NONE);
}

static void test_list_next(void **state)
{
    (void)state;
    const char *v = "text/html;level=1;q=0.5, , bad entry , */*;q=0.1,image/webp";
    const char *pos = v;
    struct encoding_item it;
    assert_true(encoding_list_next(&pos, v + strlen(v), &it));
    assert_int_equal(it.name_len, 9);
    assert_memory_equal(it.name, "text/html", 9);
    assert_int_equal(it.q, 500);
    assert_true(encoding_list_next(&pos, v + strlen(v), &it));
    assert_int_equal(it.name_len, 3);
    assert_memory_equal(it.name, "*/*", 3);
    assert_int_equal(it.q, 100);
    assert_true(encoding_list_next(&pos, v + strlen(v), &it));
    assert_int_equal(it.name_len, 10);
    assert_memory_equal(it.name, "image/webp", 10);
    assert_int_equal(it.q, 1000);
    assert_false(encoding_list_next(&pos, v + strlen(v), &it));
    assert_ptr_equal(pos, v + strlen(v));
    assert_false(encoding_list_next(&pos, v + strlen(v), &it));
}

static void test_names_and_suffixes(void **state)
{
    (void)state;
    assert_null(encoding_name(ENCODING_NONE));
    assert_string_equal(encoding_name(ENCODING_BR), "br");
    assert_string_equal(encoding_name(ENCODING_ZSTD), "zstd");
    assert_string_equal(encoding_name(ENCODING_GZIP), "gzip");
    assert_null(encoding_file_suffix(ENCODING_NONE));
    assert_string_equal(encoding_file_suffix(ENCODING_BR), ".br");
    assert_string_equal(encoding_file_suffix(ENCODING_ZSTD), ".zst");
    assert_string_equal(encoding_file_suffix(ENCODING_GZIP), ".gz");
}

static bool compressible(const char *type, const struct coding_types *extra)
{
    return encoding_type_compressible(type, type ? strlen(type) : 0, extra);
}

static void test_compressible_types(void **state)
{
    (void)state;
    static const char *const yes[] = {
        "text/html", "text/html; charset=utf-8", "TEXT/CSS", " text/plain ", "text/csv",
        "text/javascript", "application/json",
        "application/json;charset=UTF-8", "application/javascript", "application/x-javascript",
        "application/xml", "application/xhtml+xml", "application/rss+xml",
        "application/atom+xml", "application/ld+json", "application/manifest+json",
        "application/problem+json", "image/svg+xml", "font/ttf", "font/otf",
        "application/x-font-ttf", "application/x-font-opentype", "application/vnd.ms-fontobject",
    };
    static const char *const no[] = {
        NULL, "", "text", "text/", "/html", "image/png", "image/jpeg", "application/wasm",
        "font/woff", "font/woff2", "application/octet-stream", "application/zip",
        "application/gzip", "video/mp4", "application/jsonx", "application/x-json+zip",
        "application/epub+zip", "texts/html", "text/html/x", "text/event-stream",
        "Text/Event-Stream; charset=utf-8",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (!compressible(yes[i], NULL))
            fail_msg("\"%s\" should be compressible", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (compressible(no[i], NULL))
            fail_msg("\"%s\" should not be compressible", no[i] ? no[i] : "(null)");
}

static void test_extra_types(void **state)
{
    (void)state;
    struct coding_types extra;
    assert_int_equal(coding_parse_types(" application/wasm , IMAGE/*,font/woff", &extra), 0);
    assert_int_equal(extra.count, 3);
    assert_string_equal(extra.type[1], "image/*");
    assert_true(compressible("application/wasm", &extra));
    assert_true(compressible("image/x-icon; foo=bar", &extra));
    assert_true(compressible("Image/BMP", &extra));
    assert_true(compressible("font/woff", &extra));
    assert_false(compressible("font/woff2", &extra));
    assert_false(compressible("imagex/png", &extra));
    assert_false(compressible("application/wasm2", &extra));
    assert_true(compressible("text/html", &extra)); /* extra adds, never replaces */

    assert_int_equal(coding_parse_types("", &extra), 0);
    assert_int_equal(extra.count, 0);
    assert_int_equal(coding_parse_types("  ", &extra), 0);
    assert_int_equal(extra.count, 0);

    static const char *const bad[] = {
        "a",   "a/",     "/b",       "a/b/c",   "a/b,",  ",a/b",     "a/b,,c/d", "a/*x",
        "*/*", "*/json", "a/x*", "a/**", "a b/c",    "a/b;q=1", "a/b c", "text/h\x01",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (coding_parse_types(bad[i], &extra) == 0)
            fail_msg("coding_parse_types(\"%s\") accepted", bad[i]);

    char many[CODING_MAX_TYPES * 8 + 16] = "";
    for (int i = 0; i < CODING_MAX_TYPES; i++)
        strcat(many, i ? ",a/b" : "a/b");
    assert_int_equal(coding_parse_types(many, &extra), 0);
    assert_int_equal(extra.count, CODING_MAX_TYPES);
    strcat(many, ",a/c");
    assert_int_equal(coding_parse_types(many, &extra), -1);

    char longest[CODING_TYPE_MAX + 1];
    memset(longest, 'x', sizeof(longest) - 1);
    longest[1] = '/';
    longest[CODING_TYPE_MAX - 1] = '\0';
    assert_int_equal(coding_parse_types(longest, &extra), 0);
    longest[CODING_TYPE_MAX - 1] = 'x';
    longest[CODING_TYPE_MAX] = '\0';
    assert_int_equal(coding_parse_types(longest, &extra), -1);
}

static void test_already_encoded(void **state)
{
    (void)state;
    assert_false(encoding_already_encoded(NULL, 0));
    assert_false(encoding_already_encoded("", 0));
    assert_false(encoding_already_encoded("  ", 2));
    assert_false(encoding_already_encoded("identity", 8));
    assert_false(encoding_already_encoded(" Identity ", 10));
    assert_true(encoding_already_encoded("gzip", 4));
    assert_true(encoding_already_encoded("br", 2));
    assert_true(encoding_already_encoded("identityx", 9));
    assert_true(encoding_already_encoded("gzip, identity", 14));
}

/* The Accept test behind SSE requests and error pages: exact names, q > 0, malformed skipped. */
static void test_list_names(void **state)
{
    (void)state;
#define NAMES(v, n) encoding_list_names(v, strlen(v), n)
    assert_true(NAMES("text/event-stream", "text/event-stream"));
    assert_true(NAMES("text/html, Text/Event-Stream;q=0.5", "text/event-stream"));
    assert_true(NAMES("a/b;x=\"q=0\", text/event-stream", "text/event-stream"));
    assert_false(NAMES("text/event-stream;q=0", "text/event-stream"));
    assert_false(NAMES("text/*", "text/event-stream"));           /* no wildcard matching */
    assert_false(NAMES("text/event-streams", "text/event-stream"));
    assert_false(NAMES("text/event-stream;q=2", "text/event-stream")); /* malformed: skipped */
    assert_false(NAMES("", "text/event-stream"));
    assert_false(encoding_list_names(NULL, 0, "text/event-stream"));
#undef NAMES
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negotiate_basics),
        cmocka_unit_test(test_negotiate_qvalues),
        cmocka_unit_test(test_negotiate_malformed_entries_ignored),
        cmocka_unit_test(test_negotiate_offered_subset),
        cmocka_unit_test(test_negotiate_uses_length),
        cmocka_unit_test(test_list_next),
        cmocka_unit_test(test_names_and_suffixes),
        cmocka_unit_test(test_compressible_types),
        cmocka_unit_test(test_extra_types),
        cmocka_unit_test(test_already_encoded),
        cmocka_unit_test(test_list_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
