/*
 * libFuzzer target for HTTP dates (src/http/httpdate.c).
 *
 * Invariants checked on arbitrary input:
 *  - parsing never reads past the input (ASan: it gets a heap copy of exactly `size` bytes);
 *  - a date that parses lies within what IMF-fixdate can write (years 0000..9999), and
 *    formatting it then parsing the text again gives the same time;
 *  - an IMF-fixdate that parses, with any surrounding blanks removed and no leap second, is
 *    exactly what httpdate_format() writes for its time (one canonical spelling);
 *  - any 64-bit time (the first 8 input bytes) formats to HTTPDATE_LEN bytes that parse back to
 *    that time, clamped to the range above.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/httpdate.h"
#include "text.h"

#define TIME_MIN (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define TIME_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

/* A failed check must crash the fuzzer even in builds where assert() is compiled out. */
#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond))                                                                           \
            abort();                                                                           \
    } while (0)

/* Formats t and checks the text parses back to t; leaves the text in `out`. */
static void check_round_trip(time_t t, char out[HTTPDATE_LEN + 1])
{
    httpdate_format(t, out);
    CHECK(strlen(out) == HTTPDATE_LEN);
    time_t again;
    CHECK(httpdate_parse(out, HTTPDATE_LEN, &again) == 0);
    CHECK(again == t);
}

static void check_parse(const char *s, size_t len)
{
    time_t t;
    if (httpdate_parse(s, len, &t) != 0)
        return;
    CHECK((long long)t >= TIME_MIN && (long long)t <= TIME_MAX);
    char out[HTTPDATE_LEN + 1];
    check_round_trip(t, out);

    const char *trimmed = text_trim(s, &len);
    bool imf = len == HTTPDATE_LEN && trimmed[3] == ',';
    if (imf && memcmp(trimmed + 23, "60", 2) != 0) /* second 60 reads as :00 of the next minute */
        CHECK(memcmp(out, trimmed, HTTPDATE_LEN) == 0);
}

static void check_time(const uint8_t *data, size_t size)
{
    int64_t raw;
    if (size < sizeof raw)
        return;
    memcpy(&raw, data, sizeof raw);
    long long want = raw < TIME_MIN ? TIME_MIN : raw > TIME_MAX ? TIME_MAX : raw;
    char out[HTTPDATE_LEN + 1];
    httpdate_format((time_t)raw, out);
    time_t t;
    CHECK(httpdate_parse(out, strlen(out), &t) == 0);
    CHECK((long long)t == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    check_parse(copy, size);
    free(copy);
    check_time(data, size);
    return 0;
}
