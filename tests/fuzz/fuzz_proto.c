/*
 * libFuzzer target for the master <-> worker frame decoder (src/pool/proto.c).
 *
 * Invariants checked on arbitrary input:
 *  - the decoder never reads out of bounds (ASan) and never hands out a frame above its limit;
 *  - the result does not depend on how the bytes are split into reads;
 *  - peek sees the frame that next() then returns;
 *  - every frame whose payload parses re-encodes to exactly the same bytes;
 *  - errors are sticky.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool/proto.h"

#define LIMIT 4096u /* small frame limit, so the fuzzer reaches PROTO_ERR_TOO_BIG */

static void check(int ok)
{
    if (!ok)
        abort();
}

/* Re-encodes a parsed frame into `b`; false when its payload does not parse. */
static int reencode(const struct proto_frame *f, struct buf *b)
{
    struct proto_builder pb;
    struct proto_pair_iter it;
    struct proto_pair p;
    uint32_t u;
    switch (f->type) {
    case PROTO_REQUEST: {
        struct proto_request r;
        if (proto_parse_request(f, &r) < 0)
            return 0;
        proto_request_begin(&pb, b, &r.head);
        proto_pair_iter_init(&it, r.vars, r.vars_len);
        uint32_t n = 0;
        while (proto_pair_next(&it, &p)) {
            proto_builder_add(&pb, p.name, p.name_len, p.value, p.value_len);
            n++;
        }
        check(n == r.var_count);
        check(proto_builder_end(&pb) == 0);
        return 1;
    }
    case PROTO_HEADERS: {
        struct proto_headers h;
        if (proto_parse_headers(f, &h) < 0)
            return 0;
        proto_headers_begin(&pb, b, h.status, f->flags);
        proto_pair_iter_init(&it, h.pairs, h.pairs_len);
        uint32_t n = 0;
        while (proto_pair_next(&it, &p)) {
            proto_builder_add(&pb, p.name, p.name_len, p.value, p.value_len);
            n++;
        }
        check(n == h.count);
        check(proto_builder_end(&pb) == 0);
        return 1;
    }
    case PROTO_ABORT:
        check(proto_parse_abort(f, &u) == 0);
        return proto_put_abort(b, u) == 0;
    case PROTO_HEARTBEAT:
        check(proto_parse_heartbeat(f, &u) == 0);
        return proto_put_heartbeat(b, u) == 0;
    case PROTO_LOG: {
        struct proto_log log;
        if (proto_parse_log(f, &log) < 0)
            return 0;
        return proto_put_log(b, log.level, log.text, log.len) == 0;
    }
    case PROTO_END: {
        struct proto_end e;
        if (proto_parse_end(f, &e) < 0)
            return 0;
        return proto_put_end(b, &e) == 0;
    }
    default: /* BODY, FINISH */
        return proto_put_frame(b, (enum proto_type)f->type, f->flags, f->payload, f->length) == 0;
    }
}

/* Checks one frame; returns the number of bytes it took in the stream. */
static size_t check_frame(const struct proto_frame *f)
{
    check(f->length <= LIMIT);
    check(strcmp(proto_type_name(f->type), "UNKNOWN") != 0);
    struct buf b = {0};
    if (reencode(f, &b)) {
        check(b.len == PROTO_HEADER_SIZE + f->length);
        check(b.data[0] == f->type && b.data[1] == f->flags);
        check(memcmp(b.data + PROTO_HEADER_SIZE, f->payload, f->length) == 0);
    }
    buf_free(&b);
    return PROTO_HEADER_SIZE + f->length;
}

/* Decodes everything at once; returns the final status and the bytes consumed by frames. */
static int decode_whole(const uint8_t *data, size_t size, size_t *consumed, int *frames)
{
    struct proto_decoder d;
    proto_decoder_init(&d, LIMIT);
    check(proto_decoder_feed(&d, data, size) == 0);
    struct proto_frame f, peeked;
    int rc;
    *consumed = 0;
    *frames = 0;
    for (;;) {
        size_t cursor = 0;
        int have_peek = proto_decoder_peek(&d, &cursor, &peeked);
        rc = proto_decoder_next(&d, &f);
        if (rc != 1) {
            check(!have_peek);
            break;
        }
        check(have_peek && peeked.payload == f.payload && peeked.length == f.length);
        *consumed += check_frame(&f);
        (*frames)++;
    }
    if (rc < 0)
        check(proto_decoder_next(&d, &f) == rc);
    check(rc < 0 || proto_decoder_pending(&d) == size - *consumed);
    proto_decoder_free(&d);
    return rc;
}

/* Decodes through space/commit in reads whose sizes come from the data itself. */
static int decode_split(const uint8_t *data, size_t size, size_t *consumed, int *frames)
{
    struct proto_decoder d;
    proto_decoder_init(&d, LIMIT);
    struct proto_frame f;
    int rc = 0;
    size_t at = 0;
    *consumed = 0;
    *frames = 0;
    while (at < size && rc >= 0) {
        size_t avail;
        uint8_t *p = proto_decoder_space(&d, &avail);
        check(p && avail > 0);
        size_t n = (size_t)data[at] % 13 + 1;
        if (n > avail)
            n = avail;
        if (n > size - at)
            n = size - at;
        memcpy(p, data + at, n);
        proto_decoder_commit(&d, n);
        at += n;
        while ((rc = proto_decoder_next(&d, &f)) == 1) {
            *consumed += PROTO_HEADER_SIZE + f.length;
            (*frames)++;
        }
    }
    proto_decoder_free(&d);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t whole_bytes, split_bytes;
    int whole_frames, split_frames;
    int whole_rc = decode_whole(data, size, &whole_bytes, &whole_frames);
    int split_rc = decode_split(data, size, &split_bytes, &split_frames);
    check(whole_rc == split_rc);
    check(whole_frames == split_frames && whole_bytes == split_bytes);
    return 0;
}
