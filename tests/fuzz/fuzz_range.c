/*
 * libFuzzer target for the Range header and HTTP-date parsers. The same input is tried as a
 * Range value against several file sizes and as an HTTP date; any broken invariant aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/httpdate.h"
#include "http/range.h"

/* A failed check must crash the fuzzer even in builds where assert() is compiled out. */
#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond))                                                                           \
            abort();                                                                           \
    } while (0)

static void check_range(const char *value, size_t len, off_t size)
{
    off_t start = -1;
    off_t length = -1;
    enum range_result r = range_parse(value, len, size, &start, &length);
    if (r == RANGE_OK) {
        CHECK(start >= 0 && start < size);
        CHECK(length >= 1);
        CHECK(length <= size - start); /* start + length <= size, without overflow */
    } else {
        CHECK(r == RANGE_NONE || r == RANGE_UNSATISFIABLE);
        CHECK(start == -1 && length == -1); /* outputs are only written for RANGE_OK */
    }
    /* An empty file has nothing to satisfy. */
    CHECK(size > 0 || r != RANGE_OK);
}

static void check_date(const char *s, size_t len)
{
    time_t t;
    if (httpdate_parse(s, len, &t) != 0)
        return;
    char out[HTTPDATE_LEN + 1];
    httpdate_format(t, out);
    CHECK(strlen(out) == HTTPDATE_LEN);
    time_t again;
    CHECK(httpdate_parse(out, HTTPDATE_LEN, &again) == 0);
    CHECK(again == t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A heap copy of exactly `size` bytes lets ASan catch any read past the end. */
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);

    static const off_t sizes[] = {0, 1, 1000, (off_t)INT64_MAX};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        check_range(copy, size, sizes[i]);
    check_date(copy, size);

    free(copy);
    return 0;
}
