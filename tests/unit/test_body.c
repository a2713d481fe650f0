/* Unit tests for http/body's pace (BODY_MIN_RATE): the windows and the average over each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/body.h"

#define WINDOW_MS 1000

static void arrive(struct body *b, size_t n)
{
    char bytes[64] = {0};
    body_append(b, bytes, n);
}

static void test_off_never_fails(void **state)
{
    (void)state;
    struct body b;
    body_init(&b);
    body_pace_start(&b, 5000);
    assert_true(body_pace_ok(&b, 900000, WINDOW_MS, 0));
    body_reset(&b);
}

static void test_nothing_is_judged_before_a_window_is_over(void **state)
{
    (void)state;
    struct body b;
    body_init(&b);
    body_pace_start(&b, 5000);
    arrive(&b, 1);
    assert_true(body_pace_ok(&b, 5999, WINDOW_MS, 100));
    body_reset(&b);
}

static void test_the_average_over_the_window_is_judged(void **state)
{
    (void)state;
    struct body b;
    body_init(&b);
    body_pace_start(&b, 5000);
    arrive(&b, 60);
    arrive(&b, 40); /* 100 bytes in 1 s: exactly the rate */
    assert_true(body_pace_ok(&b, 6000, WINDOW_MS, 100));
    arrive(&b, 50); /* 50 bytes in the next 0.5 s: not judged yet */
    assert_true(body_pace_ok(&b, 6500, WINDOW_MS, 100));
    arrive(&b, 49); /* 99 bytes in the window of 1 s that ends now */
    assert_false(body_pace_ok(&b, 7000, WINDOW_MS, 100));
    body_reset(&b);
}

static void test_a_long_window_is_averaged_over_its_length(void **state)
{
    (void)state;
    struct body b;
    body_init(&b);
    body_pace_start(&b, 0);
    arrive(&b, 64); /* 64 bytes over 3 s: 21 bytes/s */
    assert_true(body_pace_ok(&b, 3000, WINDOW_MS, 20));
    arrive(&b, 64);
    assert_false(body_pace_ok(&b, 6000, WINDOW_MS, 22));
    body_reset(&b);
}

static void test_bytes_before_the_start_do_not_count(void **state)
{
    (void)state;
    struct body b;
    body_init(&b);
    arrive(&b, 64);
    body_pace_start(&b, 0);
    arrive(&b, 1);
    assert_false(body_pace_ok(&b, 1000, WINDOW_MS, 2));
    body_reset(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_never_fails),
        cmocka_unit_test(test_nothing_is_judged_before_a_window_is_over),
        cmocka_unit_test(test_the_average_over_the_window_is_judged),
        cmocka_unit_test(test_a_long_window_is_averaged_over_its_length),
        cmocka_unit_test(test_bytes_before_the_start_do_not_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
