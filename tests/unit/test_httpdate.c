/* Unit tests for http/httpdate: IMF-fixdate output, the three input forms, strict validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/httpdate.h"

/* RFC 9110's example instant: Sun, 06 Nov 1994 08:49:37 GMT. */
#define RFC_EXAMPLE 784111777

/* 0000-01-01T00:00:00 and 9999-12-31T23:59:59, the limits of a 4-digit year. */
#define FIRST_EXPRESSIBLE (-62167219200LL)
#define LAST_EXPRESSIBLE 253402300799LL

static int parse(const char *s, time_t *t)
{
    return httpdate_parse(s, strlen(s), t);
}

static void assert_parses_to(const char *s, long long want)
{
    time_t t = 0;
    if (parse(s, &t) != 0)
        fail_msg("httpdate_parse(\"%s\") failed, want %lld", s, want);
    if ((long long)t != want)
        fail_msg("httpdate_parse(\"%s\") = %lld, want %lld", s, (long long)t, want);
}

static void assert_formats_to(long long t, const char *want)
{
    char out[HTTPDATE_LEN + 1];
    memset(out, 'x', sizeof(out));
    httpdate_format((time_t)t, out);
    assert_int_equal(strlen(out), HTTPDATE_LEN);
    assert_string_equal(out, want);
}

static void test_format_epoch(void **state)
{
    (void)state;
    assert_formats_to(0, "Thu, 01 Jan 1970 00:00:00 GMT");
}

static void test_format_and_parse_known_instants(void **state)
{
    (void)state;
    assert_formats_to(1705322445, "Mon, 15 Jan 2024 12:40:45 GMT");
    assert_parses_to("Mon, 15 Jan 2024 12:40:45 GMT", 1705322445);
    assert_formats_to(RFC_EXAMPLE, "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_formats_to(-2208988800LL, "Mon, 01 Jan 1900 00:00:00 GMT");
    assert_parses_to("Mon, 01 Jan 1900 00:00:00 GMT", -2208988800LL);
}

static void test_rfc9110_example_in_three_forms(void **state)
{
    (void)state;
    assert_parses_to("Sun, 06 Nov 1994 08:49:37 GMT", RFC_EXAMPLE);
    assert_parses_to("Sunday, 06-Nov-94 08:49:37 GMT", RFC_EXAMPLE);
    assert_parses_to("Sun Nov  6 08:49:37 1994", RFC_EXAMPLE);
    assert_parses_to("Sun Nov 06 08:49:37 1994", RFC_EXAMPLE); /* date3 allows 2DIGIT too */
    assert_parses_to("Wed Nov 16 08:49:37 1994", RFC_EXAMPLE + 10 * 86400);
}

static void test_leap_years(void **state)
{
    (void)state;
    assert_parses_to("Thu, 29 Feb 2024 00:00:00 GMT", 1709164800);
    assert_formats_to(1709164800, "Thu, 29 Feb 2024 00:00:00 GMT");
    assert_parses_to("Fri, 01 Mar 2024 00:00:00 GMT", 1709164800 + 86400);
    assert_parses_to("Tue, 29 Feb 2000 00:00:00 GMT", 951782400); /* divisible by 400 */
    assert_parses_to("Sat, 31 Dec 2016 23:59:59 GMT", 1483228799);

    time_t t;
    assert_int_equal(parse("Sat, 29 Feb 2025 00:00:00 GMT", &t), -1);
    assert_int_equal(parse("Thu, 29 Feb 1900 00:00:00 GMT", &t), -1); /* divisible by 100 */
}

static void test_leap_second_folds_into_next_second(void **state)
{
    (void)state;
    assert_parses_to("Sat, 31 Dec 2016 23:59:60 GMT", 1483228800);
}

static void test_range_limits(void **state)
{
    (void)state;
    assert_parses_to("Sat, 01 Jan 0000 00:00:00 GMT", FIRST_EXPRESSIBLE);
    assert_parses_to("Fri, 31 Dec 9999 23:59:59 GMT", LAST_EXPRESSIBLE);
    /* Out-of-range instants are clamped, never written with more or fewer digits. */
    assert_formats_to(LAST_EXPRESSIBLE + 1, "Fri, 31 Dec 9999 23:59:59 GMT");
    assert_formats_to(INT64_MAX, "Fri, 31 Dec 9999 23:59:59 GMT");
    assert_formats_to(FIRST_EXPRESSIBLE - 1, "Sat, 01 Jan 0000 00:00:00 GMT");
    assert_formats_to(INT64_MIN, "Sat, 01 Jan 0000 00:00:00 GMT");

    time_t t;
    assert_int_equal(parse("Sat, 01 Jan 10000 00:00:00 GMT", &t), -1);
    /* A leap second on the very last second would leave the expressible range. */
    assert_int_equal(parse("Fri, 31 Dec 9999 23:59:60 GMT", &t), -1);
}

/* parse(format(t)) == t across the whole expressible range checks days-from-civil against libc. */
static void test_round_trip_sweep(void **state)
{
    (void)state;
    const long long step = 86400LL * 37 + 3671; /* moves through days, hours, minutes, seconds */
    for (long long t = FIRST_EXPRESSIBLE; t <= LAST_EXPRESSIBLE; t += step) {
        char out[HTTPDATE_LEN + 1];
        httpdate_format((time_t)t, out);
        assert_parses_to(out, t);
    }
}

static void test_surrounding_whitespace_is_ignored(void **state)
{
    (void)state;
    assert_parses_to("  Sun, 06 Nov 1994 08:49:37 GMT\t ", RFC_EXAMPLE);
    assert_parses_to("\tSun Nov  6 08:49:37 1994 ", RFC_EXAMPLE);
}

static void test_invalid_inputs(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "   ",
        "Sux, 06 Nov 1994 08:49:37 GMT",      /* bad day name */
        "Mon, 06 Nov 1994 08:49:37 GMT",      /* day name does not fit the date */
        "sun, 06 Nov 1994 08:49:37 GMT",      /* names are case-sensitive */
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "Sun, 06 Noe 1994 08:49:37 GMT",      /* bad month */
        "Fri, 30 Feb 2024 08:49:37 GMT",      /* Feb 30 */
        "Sat, 31 Apr 2024 08:49:37 GMT",      /* Apr 31 */
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",      /* hour 24 */
        "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 1994 08:49:37",          /* missing GMT */
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 GMTx",     /* trailing junk */
        "Sun, 06 Nov 1994 08:49:37 GMT junk",
        "Sun, 06 Nov 1994 08:49:37 GMT,",
        "Sun, 6 Nov 1994 08:49:37 GMT",       /* IMF-fixdate day is 2DIGIT */
        "Sun, 06 Nov 94 08:49:37 GMT",        /* IMF-fixdate year is 4DIGIT */
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        "Sun 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:3a GMT",
        "Sun, +6 Nov 1994 08:49:37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",   /* long day name with IMF-fixdate */
        "Sun, 06-Nov-94 08:49:37 GMT",        /* short day name with RFC 850 */
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37",
        "Sun Nov 6 08:49:37 1994",            /* asctime single-digit day needs SP padding */
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sun Nov  6 08:49:37 94",
        "Sun, Nov  6 08:49:37 1994",
        "Mon Nov  6 08:49:37 1994",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        time_t t = 12345;
        if (parse(bad[i], &t) != -1)
            fail_msg("httpdate_parse(\"%s\") accepted it as %lld", bad[i], (long long)t);
    }
}

static void test_every_proper_prefix_is_invalid(void **state)
{
    (void)state;
    static const char *const forms[] = {
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    };
    for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        for (size_t len = 0; len < strlen(forms[f]); len++) {
            time_t t;
            if (httpdate_parse(forms[f], len, &t) != -1)
                fail_msg("prefix %zu of \"%s\" accepted", len, forms[f]);
        }
    }
}

static void test_length_bounds_the_input(void **state)
{
    (void)state;
    /* Not NUL-terminated after the date: only s[0..len) may be read. */
    char buf[HTTPDATE_LEN + 8];
    memcpy(buf, "Sun, 06 Nov 1994 08:49:37 GMTxxxxxxx", sizeof(buf));
    time_t t = 0;
    assert_int_equal(httpdate_parse(buf, HTTPDATE_LEN, &t), 0);
    assert_int_equal(t, RFC_EXAMPLE);
}

/* The RFC 850 form of midnight `t`, built from httpdate_format's output. */
static void rfc850_of(time_t t, char *out, size_t size)
{
    static const char *const long_days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                            "Thursday", "Friday", "Saturday"};
    char imf[HTTPDATE_LEN + 1];
    httpdate_format(t, imf);
    for (size_t i = 0; i < 7; i++) {
        if (memcmp(imf, long_days[i], 3) == 0) {
            /* "Www, DD Mon YYYY" -> "Weekday, DD-Mon-YY" */
            snprintf(out, size, "%s, %.2s-%.3s-%.2s 00:00:00 GMT", long_days[i], imf + 5,
                     imf + 8, imf + 14);
            return;
        }
    }
    fail_msg("no day name in \"%s\"", imf);
}

static time_t jan_first(int year)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = 0, .tm_mday = 1};
    return timegm(&tm);
}

/* RFC 9110 5.6.7: a two-digit year more than 50 years ahead belongs to the previous century. */
static void test_rfc850_two_digit_year_window(void **state)
{
    (void)state;
    time_t now = time(NULL);
    struct tm tm;
    assert_non_null(gmtime_r(&now, &tm));
    int current = tm.tm_year + 1900;

    const int expected_years[] = {current, current + 50, current - 49, current - 1, current + 1};
    for (size_t i = 0; i < sizeof(expected_years) / sizeof(expected_years[0]); i++) {
        char date[64];
        time_t want = jan_first(expected_years[i]);
        rfc850_of(want, date, sizeof(date));
        assert_parses_to(date, (long long)want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_epoch),
        cmocka_unit_test(test_format_and_parse_known_instants),
        cmocka_unit_test(test_rfc9110_example_in_three_forms),
        cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_leap_second_folds_into_next_second),
        cmocka_unit_test(test_range_limits),
        cmocka_unit_test(test_round_trip_sweep),
        cmocka_unit_test(test_surrounding_whitespace_is_ignored),
        cmocka_unit_test(test_invalid_inputs),
        cmocka_unit_test(test_every_proper_prefix_is_invalid),
        cmocka_unit_test(test_length_bounds_the_input),
        cmocka_unit_test(test_rfc850_two_digit_year_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
