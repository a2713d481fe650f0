/*
 * libFuzzer target for the weighted-list parser and what is built on it: Accept-Encoding
 * negotiation, the "accepts HTML" test of error pages, the event-stream test of SSE requests,
 * content types, and the COMPRESSION_TYPES and COMPRESSION_LEVEL setting parsers.
 *
 * Checks: every list item lies inside the input with a non-empty name and q <= 1000, and the
 * cursor only moves forward; the negotiated coding is one that was offered, and offering only
 * that coding gives it again; an accepted setting is well-formed (types lowercase, levels in
 * range).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/encoding.h"
#include "middleware/compress.h"
#include "middleware/errorpages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_accept_encoding: check failed: %s\n", #cond);               \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

static void check_list(const char *s, size_t len)
{
    const char *end = s + len;
    const char *pos = s;
    struct encoding_item it;
    for (;;) {
        const char *before = pos;
        bool more = encoding_list_next(&pos, end, &it);
        CHECK(pos >= before && pos <= end);
        if (!more) {
            CHECK(pos == end);
            return;
        }
        CHECK(pos > before);
        CHECK(it.name >= s && it.name_len > 0 && it.name + it.name_len <= end);
        CHECK(it.q <= ENCODING_Q_MAX);
    }
}

static void check_negotiate(const char *s, size_t len)
{
    for (unsigned offered = 0; offered <= ENCODING_ALL; offered += ENCODING_BIT(ENCODING_BR)) {
        enum encoding_coding c = encoding_negotiate(s, len, offered);
        if (c == ENCODING_NONE)
            continue;
        CHECK(offered & ENCODING_BIT(c));
        CHECK(encoding_negotiate(s, len, ENCODING_BIT(c)) == c);
    }
}

static void check_types(const char *text)
{
    struct coding_types types;
    if (coding_parse_types(text, &types) != 0)
        return;
    CHECK(types.count <= CODING_MAX_TYPES);
    for (unsigned i = 0; i < types.count; i++) {
        const char *t = types.type[i];
        size_t n = strlen(t);
        CHECK(n > 0 && n < CODING_TYPE_MAX && strchr(t, '/'));
        for (size_t k = 0; k < n; k++)
            CHECK(t[k] < 'A' || t[k] > 'Z');
        /* A listed type is compressible (a wildcard through any subtype), except an event
           stream, which never is. */
        char probe[CODING_TYPE_MAX + 1];
        snprintf(probe, sizeof(probe), "%.*s%s", (int)(t[n - 1] == '*' ? n - 1 : n), t,
                 t[n - 1] == '*' ? "x" : "");
        CHECK(encoding_type_compressible(probe, strlen(probe), &types) ==
              (strcmp(probe, "text/event-stream") != 0));
    }
}

static void check_levels(const char *text)
{
    struct coding_levels levels;
    if (coding_parse_levels(text, &levels) != 0)
        return;
    for (int c = ENCODING_BR; c < ENCODING_COUNT; c++)
        CHECK(coding_level_valid((enum encoding_coding)c, levels.level[c]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly `size` bytes on the heap, so ASan sees any read past the header value. */
    char *value = malloc(size ? size : 1);
    char *text = malloc(size + 1);
    if (!value || !text)
        abort();
    memcpy(value, data, size);
    memcpy(text, data, size);
    text[size] = '\0';

    check_list(value, size);
    check_negotiate(value, size);
    (void)errorpages_accepts_html(value, size);
    (void)encoding_list_names(value, size, "text/event-stream");
    (void)encoding_type_compressible(value, size, NULL);
    (void)encoding_already_encoded(value, size);
    check_types(text);
    check_levels(text);

    free(value);
    free(text);
    return 0;
}
