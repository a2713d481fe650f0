/*
 * libFuzzer target for path_normalize (and the two predicates that read its output).
 *
 * Checks, for every input: the result's shape (starts with '/', no NUL, no "//", "/./",
 * "/../", no trailing "/." or "/..", never longer than the input), that it equals a slow,
 * obviously-correct reference (decode everything, split on '/', keep a stack of segments), and
 * that normalising it again (after re-encoding '%' as "%25") gives the same string; and that
 * path_encode() of it is a URL path that never names another host and decodes back to it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_path: check failed: %s\n", #cond);                          \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

static int hex_digit(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes the whole input; -1 when a byte or escape must be rejected. */
static ssize_t ref_decode(const uint8_t *in, size_t len, char *dec)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = in[i];
        if (c == '%') {
            if (len - i < 3 || hex_digit(in[i + 1]) < 0 || hex_digit(in[i + 2]) < 0)
                return -1;
            c = hex_digit(in[i + 1]) * 16 + hex_digit(in[i + 2]);
            i += 2;
        }
        if (c == 0 || c == '\\')
            return -1;
        dec[o++] = (char)c;
    }
    return (ssize_t)o;
}

static bool is_dots(const char *s, size_t n, size_t dots)
{
    return n == dots && memcmp(s, "..", dots) == 0;
}

/* The reference normaliser: a stack of segment start offsets into `out`. */
static ssize_t ref_normalize(const uint8_t *in, size_t len, char *out)
{
    if (len == 0 || in[0] != '/')
        return -1;
    char *dec = malloc(len);
    size_t *stack = malloc(sizeof(size_t) * (len + 1));
    CHECK(dec && stack);
    ssize_t dec_len = ref_decode(in, len, dec);
    size_t depth = 0;
    size_t o = 0;
    bool dir = false;
    for (size_t s = 1; dec_len >= 0 && s <= (size_t)dec_len;) {
        const char *seg = dec + s;
        const char *slash = memchr(seg, '/', (size_t)dec_len - s);
        size_t n = slash ? (size_t)(slash - seg) : (size_t)dec_len - s;
        dir = n == 0 || is_dots(seg, n, 1) || is_dots(seg, n, 2);
        if (is_dots(seg, n, 2)) {
            if (depth == 0) {
                dec_len = -1;
                break;
            }
            o = stack[--depth];
        } else if (!dir) {
            stack[depth++] = o;
            out[o++] = '/';
            memcpy(out + o, seg, n);
            o += n;
        }
        s += n + 1;
    }
    if (dec_len >= 0 && (dir || o == 0))
        out[o++] = '/';
    out[o] = '\0';
    free(dec);
    free(stack);
    return dec_len < 0 ? -1 : (ssize_t)o;
}

static void check_shape(const char *out, size_t n, size_t in_len)
{
    CHECK(n >= 1 && n <= in_len);
    CHECK(out[0] == '/');
    CHECK(strlen(out) == n);
    CHECK(!strstr(out, "//"));
    CHECK(!strstr(out, "/./"));
    CHECK(!strstr(out, "/../"));
    CHECK(!strchr(out, '\\'));
    CHECK(!(n >= 2 && strcmp(out + n - 2, "/.") == 0));
    CHECK(!(n >= 3 && strcmp(out + n - 3, "/..") == 0));
}

/* Normalising the output again, with '%' escaped so it is not decoded twice, changes nothing. */
static void check_idempotent(const char *out, size_t n)
{
    char *enc = malloc(3 * n + 1);
    char *again = malloc(3 * n + 1);
    CHECK(enc && again);
    size_t e = 0;
    for (size_t i = 0; i < n; i++) {
        if (out[i] == '%') {
            memcpy(enc + e, "%25", 3);
            e += 3;
        } else {
            enc[e++] = out[i];
        }
    }
    ssize_t m = path_normalize(enc, e, again);
    CHECK(m == (ssize_t)n && memcmp(again, out, n) == 0);
    if (!strchr(out, '%')) {
        m = path_normalize(out, n, again);
        CHECK(m == (ssize_t)n && memcmp(again, out, n) == 0);
    }
    free(enc);
    free(again);
}

static void check_encoded(const char *out, size_t n)
{
    struct buf enc = {0};
    path_encode(out, &enc);
    CHECK(enc.len >= 1 && enc.data[0] == '/');
    CHECK(enc.len < 2 || (enc.data[1] != '/' && enc.data[1] != '\\'));
    for (size_t i = 0; i < enc.len; i++)
        CHECK(enc.data[i] > 0x20 && enc.data[i] < 0x7f && !strchr("?#\\\" <>", enc.data[i]));
    char *back = malloc(enc.len + 1);
    CHECK(back);
    CHECK(path_normalize(enc.data, enc.len, back) == (ssize_t)n && memcmp(back, out, n) == 0);
    free(back);
    buf_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = malloc(size + 1); /* exactly the documented minimum */
    char *want = malloc(size + 2);
    CHECK(out && want);
    ssize_t n = path_normalize((const char *)data, size, out);
    ssize_t ref = ref_normalize(data, size, want);
    CHECK(n == ref);
    if (n >= 0) {
        CHECK(strcmp(out, want) == 0);
        check_shape(out, (size_t)n, size);
        check_idempotent(out, (size_t)n);
        check_encoded(out, (size_t)n);
        (void)path_is_hidden(out);
        (void)path_has_php_ext(out, (size_t)n);
    }
    free(out);
    free(want);
    return 0;
}
