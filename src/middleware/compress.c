#include "middleware/compress.h"

#include "http/exchange.h"
#include "obs/stats.h"

#include <brotli/encode.h>
#include <stdlib.h>
#include <string.h>
#define ZLIB_CONST
#include <zlib.h>
#include <zstd.h>

#define WINDOW_LOG 20          /* 1 MiB windows for Brotli and zstd; see compress.h */
#define OUT_CHUNK 16384        /* output space offered to the encoder per call */
#define MAX_PIECE (1u << 30)   /* input per library call: zlib counts in 32-bit uInt */
#define GZIP_WINDOW_BITS (16 + MAX_WBITS) /* +16: gzip header and trailer instead of zlib's */
#define GZIP_MEM_LEVEL 8       /* zlib's default */

struct compress {
    enum encoding_coding coding;
    bool done; /* finished, or failed: no more writes */
    union {
        BrotliEncoderState *br;
        ZSTD_CStream *zstd;
        z_stream gz;
    } u;
};

/* ---- Brotli -------------------------------------------------------------------------------- */

static int br_init(struct compress *c, int level, uint64_t total_size)
{
    c->u.br = BrotliEncoderCreateInstance(NULL, NULL, NULL);
    if (!c->u.br)
        return -1;
    BrotliEncoderSetParameter(c->u.br, BROTLI_PARAM_QUALITY, (uint32_t)level);
    BrotliEncoderSetParameter(c->u.br, BROTLI_PARAM_LGWIN, WINDOW_LOG);
    if (total_size != COMPRESS_SIZE_UNKNOWN)
        BrotliEncoderSetParameter(c->u.br, BROTLI_PARAM_SIZE_HINT,
                                  total_size < MAX_PIECE ? (uint32_t)total_size : MAX_PIECE);
    return 0;
}

static int br_write(struct compress *c, const uint8_t *in, size_t len, enum compress_flush mode,
                    struct buf *out)
{
    BrotliEncoderOperation op = mode == COMPRESS_FINISH  ? BROTLI_OPERATION_FINISH
                                : mode == COMPRESS_FLUSH ? BROTLI_OPERATION_FLUSH
                                                         : BROTLI_OPERATION_PROCESS;
    size_t avail_in = len;
    for (;;) {
        uint8_t *next_out = (uint8_t *)buf_reserve(out, OUT_CHUNK);
        size_t avail_out = OUT_CHUNK;
        if (!BrotliEncoderCompressStream(c->u.br, op, &avail_in, &in, &avail_out, &next_out,
                                         NULL))
            return -1;
        out->len += OUT_CHUNK - avail_out;
        if (avail_in == 0 && !BrotliEncoderHasMoreOutput(c->u.br))
            return 0;
    }
}

/* ---- zstd ---------------------------------------------------------------------------------- */

static int zstd_init(struct compress *c, int level, uint64_t total_size)
{
    c->u.zstd = ZSTD_createCStream();
    if (!c->u.zstd)
        return -1;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(c->u.zstd, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(c->u.zstd, ZSTD_c_windowLog, WINDOW_LOG)))
        return -1;
    if (total_size != COMPRESS_SIZE_UNKNOWN &&
        ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(c->u.zstd, total_size)))
        return -1;
    return 0;
}

static int zstd_write(struct compress *c, const uint8_t *in, size_t len,
                      enum compress_flush mode, struct buf *out)
{
    ZSTD_EndDirective op = mode == COMPRESS_FINISH  ? ZSTD_e_end
                           : mode == COMPRESS_FLUSH ? ZSTD_e_flush
                                                    : ZSTD_e_continue;
    ZSTD_inBuffer input = {in, len, 0};
    for (;;) {
        ZSTD_outBuffer output = {buf_reserve(out, OUT_CHUNK), OUT_CHUNK, 0};
        size_t left = ZSTD_compressStream2(c->u.zstd, &output, &input, op);
        if (ZSTD_isError(left))
            return -1;
        out->len += output.pos;
        /* continue: done once the input is taken; flush and end: once nothing is left. */
        if (op == ZSTD_e_continue ? input.pos == input.size : left == 0)
            return 0;
    }
}

/* ---- gzip ---------------------------------------------------------------------------------- */

static int gzip_init(struct compress *c, int level)
{
    memset(&c->u.gz, 0, sizeof(c->u.gz));
    if (deflateInit2(&c->u.gz, level, Z_DEFLATED, GZIP_WINDOW_BITS, GZIP_MEM_LEVEL,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    return 0;
}

static int gzip_write(struct compress *c, const uint8_t *in, size_t len,
                      enum compress_flush mode, struct buf *out)
{
    int flush = mode == COMPRESS_FINISH ? Z_FINISH : mode == COMPRESS_FLUSH ? Z_SYNC_FLUSH
                                                                             : Z_NO_FLUSH;
    z_stream *z = &c->u.gz;
    z->next_in = in;
    z->avail_in = (uInt)len;
    for (;;) {
        z->next_out = (Bytef *)buf_reserve(out, OUT_CHUNK);
        z->avail_out = OUT_CHUNK;
        /* Z_BUF_ERROR only means "no progress possible", e.g. a second flush in a row. */
        int rc = deflate(z, flush);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
            return -1;
        out->len += OUT_CHUNK - z->avail_out;
        if (flush == Z_FINISH ? rc == Z_STREAM_END : (z->avail_in == 0 && z->avail_out != 0))
            return 0;
    }
}

/* ---- the compressor ------------------------------------------------------------------------ */

struct compress *compress_create(enum encoding_coding coding, int level, uint64_t total_size)
{
    if (!coding_level_valid(coding, level))
        return NULL;
    struct compress *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->coding = coding;
    int rc = coding == ENCODING_BR     ? br_init(c, level, total_size)
             : coding == ENCODING_ZSTD ? zstd_init(c, level, total_size)
                                       : gzip_init(c, level);
    if (rc < 0) {
        compress_destroy(c);
        return NULL;
    }
    return c;
}

static int write_piece(struct compress *c, const uint8_t *in, size_t len,
                       enum compress_flush mode, struct buf *out)
{
    switch (c->coding) {
    case ENCODING_BR:
        return br_write(c, in, len, mode, out);
    case ENCODING_ZSTD:
        return zstd_write(c, in, len, mode, out);
    case ENCODING_GZIP:
        return gzip_write(c, in, len, mode, out);
    case ENCODING_NONE:
        break;
    }
    return -1;
}

int compress_write(struct compress *c, const void *data, size_t len, enum compress_flush mode,
                   struct buf *out)
{
    if (c->done)
        return -1;
    const uint8_t *p = data;
    for (;;) {
        size_t piece = len < MAX_PIECE ? len : MAX_PIECE;
        bool last = piece == len;
        /* The flush applies after the last piece only. */
        if (write_piece(c, p, piece, last ? mode : COMPRESS_NO_FLUSH, out) < 0) {
            c->done = true;
            return -1;
        }
        if (last)
            break;
        p += piece;
        len -= piece;
    }
    if (mode == COMPRESS_FINISH)
        c->done = true;
    return 0;
}

void compress_destroy(struct compress *c)
{
    if (!c)
        return;
    switch (c->coding) {
    case ENCODING_BR:
        BrotliEncoderDestroyInstance(c->u.br);
        break;
    case ENCODING_ZSTD:
        ZSTD_freeCStream(c->u.zstd);
        break;
    case ENCODING_GZIP:
        deflateEnd(&c->u.gz);
        break;
    case ENCODING_NONE:
        break;
    }
    free(c);
}

/* ---- the exchange's body filter ------------------------------------------------------------ */

/* Compresses and counts what went in and came out (kiln_compression_*_bytes_total). */
static int filter_pass(struct compress *c, const void *data, size_t len,
                       enum compress_flush mode, struct buf *out)
{
    size_t before = out->len;
    int rc = compress_write(c, data, len, mode, out);
    if (rc == 0)
        stats_count_compression(len, out->len - before);
    return rc;
}

static int filter_write(void *filter, const void *data, size_t len, bool flush, struct buf *out)
{
    return filter_pass(filter, data, len, flush ? COMPRESS_FLUSH : COMPRESS_NO_FLUSH, out);
}

static int filter_finish(void *filter, struct buf *out)
{
    return filter_pass(filter, NULL, 0, COMPRESS_FINISH, out);
}

static void filter_destroy(void *filter)
{
    compress_destroy(filter);
}

const struct exchange_filter_ops compress_filter = {
    .write = filter_write,
    .finish = filter_finish,
    .destroy = filter_destroy,
};
