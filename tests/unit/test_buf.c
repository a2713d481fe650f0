/*
 * Unit tests for buf: growth, consume, and the fallible reserve the frame encoders use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_append_and_consume(void **state)
{
    (void)state;
    struct buf b = {0};
    buf_append_str(&b, "abcdef");
    buf_append_char(&b, '-');
    buf_append_uint(&b, 1234567890123ULL);
    buf_printf(&b, "/%d", 42);
    assert_int_equal(b.len, strlen("abcdef-1234567890123/42"));
    assert_memory_equal(b.data, "abcdef-1234567890123/42", b.len);
    buf_consume(&b, 7);
    assert_memory_equal(b.data, "1234567890123/42", b.len);
    buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    buf_free(&b);
    assert_null(b.data);
}

static void test_reserve_keeps_contents_while_growing(void **state)
{
    (void)state;
    struct buf b = {0};
    for (int i = 0; i < 1000; i++)
        buf_append(&b, "0123456789", 10);
    assert_int_equal(b.len, 10000);
    assert_true(b.cap >= b.len);
    for (size_t i = 0; i < b.len; i++)
        assert_int_equal(b.data[i], '0' + (int)(i % 10));
    buf_free(&b);
}

static void test_try_reserve_refuses_what_cannot_fit(void **state)
{
    (void)state;
    struct buf b = {0};
    buf_append_str(&b, "kept");
    char *data = b.data;
    size_t cap = b.cap;
    assert_null(buf_try_reserve(&b, SIZE_MAX - 2));
    assert_null(buf_try_reserve(&b, SIZE_MAX / 2));
    /* the buffer is left as it was */
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "kept", 4);
    char *room = buf_try_reserve(&b, 1000);
    assert_non_null(room);
    assert_ptr_equal(room, b.data + 4);
    assert_true(b.cap - b.len >= 1000);
    buf_free(&b);
}

/* Room for nothing in an empty buffer is still a place to write: HTTP/2 asks for the space of
   a response's header names, which is 0 for a response without headers. */
static void test_reserve_nothing_in_an_empty_buffer(void **state)
{
    (void)state;
    struct buf b = {0};
    assert_non_null(buf_try_reserve(&b, 0));
    assert_non_null(buf_reserve(&b, 0));
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_consume),
        cmocka_unit_test(test_reserve_keeps_contents_while_growing),
        cmocka_unit_test(test_try_reserve_refuses_what_cannot_fit),
        cmocka_unit_test(test_reserve_nothing_in_an_empty_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
