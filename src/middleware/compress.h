/*
 * Streaming compression of a response body into Brotli, zstd or gzip.
 *
 * One `struct compress` per response: bytes go in as PHP produces them, compressed bytes are
 * appended to a caller's buffer. A flush makes everything written so far decodable by the client
 * at once (so PHP's flush() and server-sent events still stream through compression); finish
 * ends the stream. Windows are capped at 1 MiB (Brotli lgwin 20, zstd windowLog 20, gzip 32 KiB)
 * to bound memory per response; RFC 9659 asks zstd encoders for HTTP to stay under 8 MiB anyway.
 */
#ifndef KILN_MIDDLEWARE_COMPRESS_H
#define KILN_MIDDLEWARE_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "coding.h"

enum compress_flush {
    COMPRESS_NO_FLUSH, /* the encoder may hold the bytes back for a better ratio */
    COMPRESS_FLUSH,    /* emit everything written so far in a decodable form */
    COMPRESS_FINISH,   /* end the stream; nothing may be written after it */
};

/* The whole input size is unknown in advance (a streamed PHP response). */
#define COMPRESS_SIZE_UNKNOWN UINT64_MAX

struct compress;

/*
 * A compressor for `coding` (not ENCODING_NONE) at a level coding_level_valid() accepts.
 * `total_size` is the exact number of bytes that will be written when the caller knows it (a
 * buffered body, a static file): small inputs then get small tables and zstd records the size
 * in the frame. Writing a different total is an error (zstd fails the last write). NULL on bad
 * arguments or when the library cannot allocate its state.
 */
struct compress *compress_create(enum encoding_coding coding, int level, uint64_t total_size);

/*
 * Compresses data[0..len) and appends whatever output the encoder releases to `out` (all of it
 * for COMPRESS_FLUSH and COMPRESS_FINISH). `len` may be 0, e.g. to flush or finish. Returns 0,
 * or -1 when the encoder fails or the stream was already finished; `out` may then hold part of
 * the output and the stream must be abandoned.
 */
int compress_write(struct compress *c, const void *data, size_t len, enum compress_flush mode,
                   struct buf *out);

void compress_destroy(struct compress *c);

/* A compressor as the exchange's body filter (http/exchange.h); its argument is a `struct
   compress *`, destroyed with the response. */
struct exchange_filter_ops;
extern const struct exchange_filter_ops compress_filter;

#endif
