/*
 * Unit tests for middleware/compress: every coding round-trips through its library's decoder,
 * flushed output decodes before the stream is finished, and the level settings parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <brotli/decode.h>
#define ZLIB_CONST
#include <zlib.h>
#include <zstd.h>

#include "middleware/compress.h"

static const enum encoding_coding codings[] = {ENCODING_BR, ENCODING_ZSTD, ENCODING_GZIP};
#define CODING_COUNT (sizeof(codings) / sizeof(codings[0]))

/* ---- streaming decoders, to check output before the stream ends ----------------------------- */

struct decoder {
    enum encoding_coding coding;
    BrotliDecoderState *br;
    ZSTD_DStream *zstd;
    z_stream gz;
    bool ended; /* the decoder saw the end of the stream */
};

static void decoder_init(struct decoder *d, enum encoding_coding coding)
{
    memset(d, 0, sizeof(*d));
    d->coding = coding;
    if (coding == ENCODING_BR)
        assert_non_null(d->br = BrotliDecoderCreateInstance(NULL, NULL, NULL));
    else if (coding == ENCODING_ZSTD)
        assert_non_null(d->zstd = ZSTD_createDStream());
    else
        assert_int_equal(inflateInit2(&d->gz, 16 + MAX_WBITS), Z_OK);
}

static void decoder_free(struct decoder *d)
{
    if (d->coding == ENCODING_BR)
        BrotliDecoderDestroyInstance(d->br);
    else if (d->coding == ENCODING_ZSTD)
        ZSTD_freeDStream(d->zstd);
    else
        inflateEnd(&d->gz);
}

static void br_feed(struct decoder *d, const uint8_t *in, size_t len, struct buf *out)
{
    for (;;) {
        size_t avail_out = 65536;
        uint8_t *next_out = (uint8_t *)buf_reserve(out, avail_out);
        BrotliDecoderResult r =
            BrotliDecoderDecompressStream(d->br, &len, &in, &avail_out, &next_out, NULL);
        out->len = (size_t)((char *)next_out - out->data);
        if (r == BROTLI_DECODER_RESULT_ERROR)
            fail_msg("brotli decoder error");
        if (r == BROTLI_DECODER_RESULT_SUCCESS)
            d->ended = true;
        if (r != BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT)
            return;
    }
}

static void zstd_feed(struct decoder *d, const uint8_t *in, size_t len, struct buf *out)
{
    ZSTD_inBuffer input = {in, len, 0};
    for (;;) {
        ZSTD_outBuffer output = {buf_reserve(out, 65536), 65536, 0};
        size_t r = ZSTD_decompressStream(d->zstd, &output, &input);
        if (ZSTD_isError(r))
            fail_msg("zstd decoder error: %s", ZSTD_getErrorName(r));
        out->len += output.pos;
        if (r == 0)
            d->ended = true;
        if (input.pos == input.size && output.pos < output.size)
            return;
    }
}

static void gzip_feed(struct decoder *d, const uint8_t *in, size_t len, struct buf *out)
{
    d->gz.next_in = in;
    d->gz.avail_in = (uInt)len;
    for (;;) {
        d->gz.next_out = (Bytef *)buf_reserve(out, 65536);
        d->gz.avail_out = 65536;
        int rc = inflate(&d->gz, Z_SYNC_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
            fail_msg("inflate error %d", rc);
        out->len += 65536 - d->gz.avail_out;
        if (rc == Z_STREAM_END)
            d->ended = true;
        if (rc == Z_STREAM_END || (d->gz.avail_in == 0 && d->gz.avail_out != 0))
            return;
    }
}

/* Decodes in[0..len) as the next part of the stream, appending to out. */
static void decoder_feed(struct decoder *d, const void *in, size_t len, struct buf *out)
{
    if (d->coding == ENCODING_BR)
        br_feed(d, in, len, out);
    else if (d->coding == ENCODING_ZSTD)
        zstd_feed(d, in, len, out);
    else
        gzip_feed(d, in, len, out);
}

/* ---- one-shot decoders, on the complete stream ---------------------------------------------- */

/* Decodes a whole stream whose decoded size is `expect_len`; fails the test on any error. */
static void check_one_shot(enum encoding_coding coding, const struct buf *enc, const void *expect,
                           size_t expect_len)
{
    size_t cap = expect_len + 1;
    uint8_t *dec = malloc(cap);
    assert_non_null(dec);
    size_t dec_len = cap;
    if (coding == ENCODING_BR) {
        assert_int_equal(BrotliDecoderDecompress(enc->len, (const uint8_t *)enc->data, &dec_len,
                                                 dec),
                         BROTLI_DECODER_RESULT_SUCCESS);
    } else if (coding == ENCODING_ZSTD) {
        dec_len = ZSTD_decompress(dec, cap, enc->data, enc->len);
        assert_false(ZSTD_isError(dec_len));
    } else {
        z_stream z = {0};
        assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
        z.next_in = (const Bytef *)enc->data;
        z.avail_in = (uInt)enc->len;
        z.next_out = dec;
        z.avail_out = (uInt)cap;
        assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
        dec_len = z.total_out;
        inflateEnd(&z);
    }
    assert_int_equal(dec_len, expect_len);
    assert_memory_equal(dec, expect, expect_len);
    free(dec);
}

/* Text-like data (words from a small vocabulary): compressible, but not trivially. */
static char *make_text(size_t len)
{
    static const char *const words[] = {"kiln ", "php ", "<div>", "</div>\n", "request ",
                                        "{\"id\":", "42, ", "flush ", "stream ", "zstd "};
    char *p = malloc(len);
    assert_non_null(p);
    uint32_t x = 2463534242u;
    size_t i = 0;
    while (i < len) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        const char *w = words[x % 10];
        for (size_t k = 0; w[k] && i < len; k++)
            p[i++] = w[k];
    }
    return p;
}

static void round_trip(enum encoding_coding coding, const char *data, size_t len, size_t step)
{
    struct compress *c =
        compress_create(coding, coding_default_level(coding), COMPRESS_SIZE_UNKNOWN);
    assert_non_null(c);
    struct buf enc = {0};
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        assert_int_equal(compress_write(c, data + off, n, COMPRESS_NO_FLUSH, &enc), 0);
    }
    assert_int_equal(compress_write(c, NULL, 0, COMPRESS_FINISH, &enc), 0);
    check_one_shot(coding, &enc, data, len);
    if (len >= 4096)
        assert_true(enc.len < len / 2);
    compress_destroy(c);
    buf_free(&enc);
}

static void test_round_trip_small(void **state)
{
    (void)state;
    static const char text[] = "<html><body>Hello, Kiln! Hello, Kiln! Hello, Kiln!</body></html>";
    for (size_t i = 0; i < CODING_COUNT; i++)
        round_trip(codings[i], text, sizeof(text) - 1, sizeof(text));
}

static void test_round_trip_empty(void **state)
{
    (void)state;
    for (size_t i = 0; i < CODING_COUNT; i++) {
        struct compress *c = compress_create(codings[i], coding_default_level(codings[i]),
                                             COMPRESS_SIZE_UNKNOWN);
        assert_non_null(c);
        struct buf enc = {0};
        assert_int_equal(compress_write(c, NULL, 0, COMPRESS_FINISH, &enc), 0);
        assert_true(enc.len > 0); /* a valid empty stream still has a header */
        check_one_shot(codings[i], &enc, "", 0);
        compress_destroy(c);
        buf_free(&enc);
    }
}

static void test_round_trip_5mb(void **state)
{
    (void)state;
    size_t len = 5u * 1024 * 1024;
    char *data = make_text(len);
    for (size_t i = 0; i < CODING_COUNT; i++)
        round_trip(codings[i], data, len, 65536);
    free(data);
}

/* Each flushed part decodes completely before the next is written, and the end is seen last. */
static void test_flush_delivers_each_part(void **state)
{
    (void)state;
    static const char *const parts[] = {"data: first event\n\n", "data: second\n\n",
                                        "data: third, and the last one\n\n"};
    for (size_t i = 0; i < CODING_COUNT; i++) {
        struct compress *c = compress_create(codings[i], coding_default_level(codings[i]),
                                             COMPRESS_SIZE_UNKNOWN);
        assert_non_null(c);
        struct decoder d;
        decoder_init(&d, codings[i]);
        struct buf enc = {0}, dec = {0};
        for (size_t p = 0; p < 3; p++) {
            buf_clear(&enc);
            buf_clear(&dec);
            assert_int_equal(compress_write(c, parts[p], strlen(parts[p]), COMPRESS_FLUSH, &enc),
                             0);
            decoder_feed(&d, enc.data, enc.len, &dec);
            if (dec.len != strlen(parts[p]) || memcmp(dec.data, parts[p], dec.len) != 0)
                fail_msg("%s: flushed part %zu decoded to %zu bytes, want \"%s\"",
                         coding_name(codings[i]), p, dec.len, parts[p]);
            assert_false(d.ended);
        }
        buf_clear(&enc);
        buf_clear(&dec);
        assert_int_equal(compress_write(c, NULL, 0, COMPRESS_FINISH, &enc), 0);
        decoder_feed(&d, enc.data, enc.len, &dec);
        assert_int_equal(dec.len, 0);
        assert_true(d.ended);
        decoder_free(&d);
        compress_destroy(c);
        buf_free(&enc);
        buf_free(&dec);
    }
}

/* Two flushes in a row, and a flush before any data, are harmless. */
static void test_repeated_flush(void **state)
{
    (void)state;
    for (size_t i = 0; i < CODING_COUNT; i++) {
        struct compress *c = compress_create(codings[i], coding_default_level(codings[i]),
                                             COMPRESS_SIZE_UNKNOWN);
        struct buf enc = {0};
        assert_int_equal(compress_write(c, NULL, 0, COMPRESS_FLUSH, &enc), 0);
        assert_int_equal(compress_write(c, "abc", 3, COMPRESS_FLUSH, &enc), 0);
        assert_int_equal(compress_write(c, NULL, 0, COMPRESS_FLUSH, &enc), 0);
        assert_int_equal(compress_write(c, "def", 3, COMPRESS_FINISH, &enc), 0);
        check_one_shot(codings[i], &enc, "abcdef", 6);
        compress_destroy(c);
        buf_free(&enc);
    }
}

static void test_write_after_finish_fails(void **state)
{
    (void)state;
    for (size_t i = 0; i < CODING_COUNT; i++) {
        struct compress *c = compress_create(codings[i], coding_default_level(codings[i]),
                                             COMPRESS_SIZE_UNKNOWN);
        struct buf enc = {0};
        assert_int_equal(compress_write(c, "x", 1, COMPRESS_FINISH, &enc), 0);
        size_t len = enc.len;
        assert_int_equal(compress_write(c, "y", 1, COMPRESS_NO_FLUSH, &enc), -1);
        assert_int_equal(enc.len, len);
        compress_destroy(c);
        buf_free(&enc);
    }
}

/* A known total size is recorded by zstd, and a wrong one makes the end fail. */
static void test_total_size(void **state)
{
    (void)state;
    char *data = make_text(10000);
    for (size_t i = 0; i < CODING_COUNT; i++) {
        struct compress *c = compress_create(codings[i], coding_default_level(codings[i]), 10000);
        struct buf enc = {0};
        assert_int_equal(compress_write(c, data, 4000, COMPRESS_FLUSH, &enc), 0);
        assert_int_equal(compress_write(c, data + 4000, 6000, COMPRESS_FINISH, &enc), 0);
        check_one_shot(codings[i], &enc, data, 10000);
        if (codings[i] == ENCODING_ZSTD)
            assert_int_equal(ZSTD_getFrameContentSize(enc.data, enc.len), 10000);
        compress_destroy(c);
        buf_free(&enc);
    }
    struct compress *c = compress_create(ENCODING_ZSTD, 3, 10000);
    struct buf enc = {0};
    assert_int_equal(compress_write(c, data, 5000, COMPRESS_NO_FLUSH, &enc), 0);
    assert_int_equal(compress_write(c, data + 5000, 4999, COMPRESS_FINISH, &enc), -1);
    compress_destroy(c);
    buf_free(&enc);
    free(data);
}

static void test_every_level_round_trips(void **state)
{
    (void)state;
    char *data = make_text(3000);
    for (size_t i = 0; i < CODING_COUNT; i++)
        for (int level = -1; level <= 20; level++) {
            struct compress *c = compress_create(codings[i], level, COMPRESS_SIZE_UNKNOWN);
            assert_int_equal(c != NULL, coding_level_valid(codings[i], level));
            if (!c)
                continue;
            struct buf enc = {0};
            assert_int_equal(compress_write(c, data, 3000, COMPRESS_FINISH, &enc), 0);
            check_one_shot(codings[i], &enc, data, 3000);
            compress_destroy(c);
            buf_free(&enc);
        }
    assert_null(compress_create(ENCODING_NONE, 1, COMPRESS_SIZE_UNKNOWN));
    free(data);
}

static void test_parse_levels(void **state)
{
    (void)state;
    struct coding_levels lv;
    assert_int_equal(coding_parse_levels("", &lv), 0);
    assert_int_equal(lv.level[ENCODING_BR], 4);
    assert_int_equal(lv.level[ENCODING_ZSTD], 3);
    assert_int_equal(lv.level[ENCODING_GZIP], 6);

    assert_int_equal(coding_parse_levels(" br=11 , GZIP=1", &lv), 0);
    assert_int_equal(lv.level[ENCODING_BR], 11);
    assert_int_equal(lv.level[ENCODING_ZSTD], 3);
    assert_int_equal(lv.level[ENCODING_GZIP], 1);

    assert_int_equal(coding_parse_levels("zstd=19,br=0,gzip=9", &lv), 0);
    assert_int_equal(lv.level[ENCODING_ZSTD], 19);
    assert_int_equal(lv.level[ENCODING_BR], 0);

    static const char *const bad[] = {
        "br",      "br=",     "=4",       "br=12",      "zstd=0",  "zstd=20", "gzip=0",
        "gzip=10", "br=4,",   ",br=4",    "br=4,br=5",  "deflate=6", "br=-1", "br=4x",
        "br = 4",  "br=004",  "identity=1", "br=4;gzip=6",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (coding_parse_levels(bad[i], &lv) == 0)
            fail_msg("coding_parse_levels(\"%s\") accepted", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_small),
        cmocka_unit_test(test_round_trip_empty),
        cmocka_unit_test(test_round_trip_5mb),
        cmocka_unit_test(test_flush_delivers_each_part),
        cmocka_unit_test(test_repeated_flush),
        cmocka_unit_test(test_write_after_finish_fails),
        cmocka_unit_test(test_total_size),
        cmocka_unit_test(test_every_level_round_trips),
        cmocka_unit_test(test_parse_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
