/*
 * libFuzzer target for the Range header parser. The input is tried as a Range value against
 * several file sizes; any broken invariant aborts. HTTP dates have their own target
 * (fuzz_httpdate.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

    free(copy);
    return 0;
}
