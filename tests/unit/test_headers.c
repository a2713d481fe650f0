/* Unit tests of the response header list (src/http/headers.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/headers.h"
#include "http/response.h"

static void assert_value(const struct headers *h, const char *name, const char *want)
{
    size_t len;
    const char *v = headers_find(h, name, &len);
    if (!want) {
        assert_null(v);
        assert_int_equal(len, 0);
        return;
    }
    assert_non_null(v);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(v, want, len);
    assert_int_equal(v[len], '\0'); /* usable as a C string */
}

/* The list as HTTP/1 sends it. */
static void assert_serialised(const struct headers *h, const char *want)
{
    struct buf out = {0};
    response_add_headers(&out, h);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    buf_free(&out);
}

static void test_add_find_in_order(void **state)
{
    (void)state;
    struct headers h = {0};
    headers_add_str(&h, "Content-Type", "text/html");
    headers_add(&h, "X-Len", 5, "abcdef", 3); /* lengths, not NULs, bound the bytes */
    headers_add_str(&h, "Set-Cookie", "a=1");
    headers_add_str(&h, "Set-Cookie", "b=2");
    headers_add_str(&h, "Empty", "");
    assert_int_equal(h.count, 5);
    assert_value(&h, "content-type", "text/html"); /* any case */
    assert_value(&h, "CONTENT-TYPE", "text/html");
    assert_value(&h, "X-Len", "abc");
    assert_value(&h, "Set-Cookie", "a=1"); /* the first of several */
    assert_value(&h, "Empty", "");
    assert_value(&h, "Content", NULL); /* a prefix is not a match */
    assert_value(&h, "Missing", NULL);
    struct http_field f = headers_at(&h, 3);
    assert_int_equal(f.name_len, 10);
    assert_memory_equal(f.name, "Set-Cookie", 10); /* the case it was given */
    assert_memory_equal(f.value, "b=2", 3);
    assert_serialised(&h, "Content-Type: text/html\r\nX-Len: abc\r\nSet-Cookie: a=1\r\n"
                          "Set-Cookie: b=2\r\nEmpty: \r\n");
    headers_free(&h);
}

static void test_remove_and_set(void **state)
{
    (void)state;
    struct headers h = {0};
    headers_add_str(&h, "ETag", "\"1\"");
    headers_add_str(&h, "Vary", "Accept");
    headers_add_str(&h, "etag", "\"2\"");
    assert_int_equal(headers_remove(&h, "ETAG"), 2);
    assert_int_equal(headers_remove(&h, "ETag"), 0);
    assert_int_equal(h.count, 1);
    assert_value(&h, "ETag", NULL);
    assert_serialised(&h, "Vary: Accept\r\n");

    headers_add_str(&h, "Content-Type", "text/plain");
    headers_add_str(&h, "Content-Type", "text/css");
    headers_set(&h, "content-type", "text/html"); /* every old entry goes, one new one */
    assert_int_equal(h.count, 2);
    assert_value(&h, "Content-Type", "text/html");
    headers_set(&h, "X-New", "1"); /* set adds what was not there */
    assert_serialised(&h, "Vary: Accept\r\ncontent-type: text/html\r\nX-New: 1\r\n");
    headers_free(&h);
}

static void test_clear_keeps_memory(void **state)
{
    (void)state;
    struct headers h = {0};
    for (int i = 0; i < 100; i++) /* grows past the first allocation */
        headers_add_str(&h, "X-Many", "value");
    assert_int_equal(h.count, 100);
    size_t cap = h.cap;
    headers_clear(&h);
    assert_int_equal(h.count, 0);
    assert_int_equal(h.store.len, 0);
    assert_int_equal(h.cap, cap);
    assert_value(&h, "X-Many", NULL);
    headers_add_str(&h, "A", "b");
    assert_serialised(&h, "A: b\r\n");
    headers_free(&h);
    assert_null(h.entries);
    assert_int_equal(h.count, 0);
    headers_free(&h); /* twice is harmless */
}

static bool valid(const char *name, const char *value)
{
    return headers_valid(name, strlen(name), value, strlen(value));
}

static void test_validation(void **state)
{
    (void)state;
    assert_true(valid("X-Test", "yes"));
    assert_true(valid("!#$%&'*+-.^_`|~09azAZ", "v"));
    assert_true(valid("X", "")); /* empty values are allowed */
    assert_true(valid("X", "a\tb \x80\xff")); /* HTAB, SP and obs-text */
    assert_false(valid("", "v"));
    assert_false(valid("X Test", "v"));
    assert_false(valid("X:Test", "v"));
    assert_false(valid("X\r\nEvil", "v"));
    assert_false(valid("X(", "v"));
    assert_false(valid("X\x80", "v"));
    assert_false(valid("X", "a\r\nSet-Cookie: evil=1"));
    assert_false(valid("X", "a\nb"));
    assert_false(valid("X", "a\rb"));
    assert_false(valid("X", "a\x01"));
    assert_false(valid("X", "a\x7f"));
    assert_false(headers_valid("X", 1, "a\0b", 3)); /* a NUL inside the value */
    assert_false(headers_valid("X\0Y", 3, "v", 1));

    struct headers h = {0};
    assert_true(headers_add_checked(&h, "X-Ok", 4, "fine", 4));
    assert_false(headers_add_checked(&h, "X-Bad", 5, "a\r\nb", 4));
    assert_false(headers_add_checked(&h, "Bad Name", 8, "v", 1));
    assert_int_equal(h.count, 1);
    assert_serialised(&h, "X-Ok: fine\r\n");
    headers_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find_in_order),
        cmocka_unit_test(test_remove_and_set),
        cmocka_unit_test(test_clear_keeps_memory),
        cmocka_unit_test(test_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
