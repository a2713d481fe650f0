/* Unit tests for http/range: one table of (header value, file size) -> result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/range.h"

#define HUGE_SIZE ((off_t)INT64_MAX)
#define UNTOUCHED ((off_t)-7) /* start/length must keep this unless the result is RANGE_OK */

struct range_case {
    const char *value;
    off_t size;
    enum range_result result;
    off_t start;
    off_t length;
};

#define OK(v, sz, st, len) {v, sz, RANGE_OK, st, len}
#define UNSAT(v, sz) {v, sz, RANGE_UNSATISFIABLE, UNTOUCHED, UNTOUCHED}
#define NONE(v, sz) {v, sz, RANGE_NONE, UNTOUCHED, UNTOUCHED}

static const char *result_name(enum range_result r)
{
    switch (r) {
    case RANGE_NONE:
        return "NONE";
    case RANGE_OK:
        return "OK";
    case RANGE_UNSATISFIABLE:
        return "UNSATISFIABLE";
    }
    return "?";
}

static void check_cases(const struct range_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct range_case *c = &cases[i];
        off_t start = UNTOUCHED;
        off_t length = UNTOUCHED;
        enum range_result r = range_parse(c->value, strlen(c->value), c->size, &start, &length);
        if (r != c->result || start != c->start || length != c->length)
            fail_msg("range_parse(\"%s\", size %lld) = %s start %lld length %lld; "
                     "want %s start %lld length %lld",
                     c->value, (long long)c->size, result_name(r), (long long)start,
                     (long long)length, result_name(c->result), (long long)c->start,
                     (long long)c->length);
    }
}

static void test_satisfiable_ranges(void **state)
{
    (void)state;
    static const struct range_case cases[] = {
        OK("bytes=0-499", 1000, 0, 500),
        OK("bytes=500-999", 1000, 500, 500),
        OK("bytes=500-", 1000, 500, 500),
        OK("bytes=0-", 1000, 0, 1000),
        OK("bytes=-500", 1000, 500, 500),
        OK("bytes=-1", 1000, 999, 1),
        OK("bytes=-1000", 1000, 0, 1000),
        OK("bytes=-5000", 1000, 0, 1000),          /* suffix longer than the file: all of it */
        OK("bytes=0-0", 1000, 0, 1),                /* the first byte (RFC 9110 14.1.2) */
        OK("bytes=999-999", 1000, 999, 1),
        OK("bytes=0001-0002", 1000, 1, 2),
        OK("bytes=0-0", 1, 0, 1),
        OK("bytes=0-", 1, 0, 1),
        OK("bytes=-1", 1, 0, 1),
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_end_beyond_size_clamps(void **state)
{
    (void)state;
    static const struct range_case cases[] = {
        OK("bytes=0-1000", 1000, 0, 1000),
        OK("bytes=0-5000", 1000, 0, 1000),
        OK("bytes=900-9223372036854775807", 1000, 900, 100),
        OK("bytes=900-99999999999999999999999999", 1000, 900, 100), /* overflows: saturates */
        OK("bytes=-99999999999999999999999999", 1000, 0, 1000),
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_unsatisfiable(void **state)
{
    (void)state;
    static const struct range_case cases[] = {
        UNSAT("bytes=1000-", 1000),
        UNSAT("bytes=1000-2000", 1000),
        UNSAT("bytes=1000-1000", 1000),
        UNSAT("bytes=99999999999999999999-", 1000),
        UNSAT("bytes=-0", 1000),                    /* a zero-length suffix selects nothing */
        UNSAT("bytes=-000", 1000),
        UNSAT("bytes=1-", 1),
        /* An empty file has no satisfiable range at all. */
        UNSAT("bytes=0-0", 0),
        UNSAT("bytes=0-", 0),
        UNSAT("bytes=-1", 0),
        UNSAT("bytes=-0", 0),
        UNSAT("bytes=0-999", 0),
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_invalid_is_ignored(void **state)
{
    (void)state;
    static const struct range_case cases[] = {
        NONE("bytes=5-2", 1000),                    /* last < first: invalid, not 416 */
        NONE("bytes=5-2", 0),
        NONE("", 1000),
        NONE("bytes", 1000),
        NONE("bytes=", 1000),
        NONE("bytes=-", 1000),
        NONE("bytes=--1", 1000),
        NONE("bytes=1--2", 1000),
        NONE("bytes=1-2-3", 1000),
        NONE("bytes=+1-2", 1000),
        NONE("bytes=1-+2", 1000),
        NONE("bytes=0x1-2", 1000),
        NONE("bytes=a-b", 1000),
        NONE("bytes=1", 1000),
        NONE("bytes=1-2x", 1000),
        NONE("bytes=1-2;", 1000),
        NONE("items=0-1", 1000),                    /* another unit */
        NONE("byte=0-1", 1000),
        NONE("bytesx=0-1", 1000),
        NONE("bytes:0-1", 1000),
        NONE("=0-1", 1000),
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_several_ranges_are_ignored(void **state)
{
    (void)state;
    static const struct range_case cases[] = {
        NONE("bytes=0-1,2-3", 1000),
        NONE("bytes=0-1, 2-3", 1000),
        NONE("bytes=0-1,", 1000),
        NONE("bytes=,0-1", 1000),
        NONE("bytes=0-0,-1", 1000),
        NONE("bytes=0-1,2-3", 0),
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_whitespace(void **state)
{
    (void)state;
    static const struct range_case cases[] = {
        OK(" bytes=0-1", 1000, 0, 2),               /* OWS around the whole value */
        OK("bytes=0-1 ", 1000, 0, 2),
        OK("\t bytes=0-1 \t", 1000, 0, 2),
        NONE("bytes =0-1", 1000),                   /* ... but nowhere inside it */
        NONE("bytes= 0-1", 1000),
        NONE("bytes = 0-1", 1000),
        NONE("bytes=0 -1", 1000),
        NONE("bytes=0- 1", 1000),
        NONE("bytes=- 1", 1000),
        NONE("   ", 1000),
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_unit_is_case_insensitive(void **state)
{
    (void)state;
    static const struct range_case cases[] = {
        OK("BYTES=0-1", 1000, 0, 2),
        OK("Bytes=-1", 1000, 999, 1),
        OK("bYtEs=10-", 1000, 10, 990),
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_huge_file(void **state)
{
    (void)state;
    static const struct range_case cases[] = {
        OK("bytes=0-", HUGE_SIZE, 0, HUGE_SIZE),
        OK("bytes=0-9223372036854775807", HUGE_SIZE, 0, HUGE_SIZE),
        OK("bytes=0-99999999999999999999", HUGE_SIZE, 0, HUGE_SIZE),
        OK("bytes=9223372036854775806-", HUGE_SIZE, HUGE_SIZE - 1, 1),
        OK("bytes=-9223372036854775807", HUGE_SIZE, 0, HUGE_SIZE),
        OK("bytes=-99999999999999999999", HUGE_SIZE, 0, HUGE_SIZE),
        OK("bytes=-1", HUGE_SIZE, HUGE_SIZE - 1, 1),
        UNSAT("bytes=9223372036854775807-", HUGE_SIZE),
        UNSAT("bytes=99999999999999999999-", HUGE_SIZE),
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_length_bounds_the_value(void **state)
{
    (void)state;
    /* Only value[0..len) is read: "bytes=0-1999" cut after "bytes=0-1". */
    off_t start = UNTOUCHED;
    off_t length = UNTOUCHED;
    assert_int_equal(range_parse("bytes=0-1999", 9, 1000, &start, &length), RANGE_OK);
    assert_int_equal(start, 0);
    assert_int_equal(length, 2);
    assert_int_equal(range_parse("bytes=0-1999", 5, 1000, &start, &length), RANGE_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_satisfiable_ranges),
        cmocka_unit_test(test_end_beyond_size_clamps),
        cmocka_unit_test(test_unsatisfiable),
        cmocka_unit_test(test_invalid_is_ignored),
        cmocka_unit_test(test_several_ranges_are_ignored),
        cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_unit_is_case_insensitive),
        cmocka_unit_test(test_huge_file),
        cmocka_unit_test(test_length_bounds_the_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
