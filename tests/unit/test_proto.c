/* Unit tests for src/pool/proto.c: encoders, parsers, the incremental decoder, SCM_RIGHTS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool/proto.h"

/*
 * Feeds `b` to a decoder one byte at a time. A frame's payload is only valid until the decoder
 * is fed again, so each one is copied; free them with free_frames().
 */
static int decode_bytewise(const struct buf *b, struct proto_decoder *d,
                           struct proto_frame *frames, int max)
{
    int n = 0;
    for (size_t i = 0; i < b->len; i++) {
        assert_int_equal(proto_decoder_feed(d, b->data + i, 1), 0);
        struct proto_frame f;
        int rc;
        while ((rc = proto_decoder_next(d, &f)) == 1) {
            assert_true(n < max);
            uint8_t *copy = malloc(f.length + 1);
            assert_non_null(copy);
            memcpy(copy, f.payload, f.length);
            f.payload = copy;
            frames[n++] = f;
        }
        assert_int_equal(rc, 0);
    }
    return n;
}

static void free_frames(struct proto_frame *frames, int n)
{
    for (int i = 0; i < n; i++)
        free((void *)frames[i].payload);
}

static void test_small_frames_roundtrip(void **state)
{
    (void)state;
    struct buf b = {0};
    struct proto_end end = {.seq = 7, .exit_status = 255, .flags = PROTO_END_RETIRING,
                            .peak_memory = 123456789012ull};
    assert_int_equal(proto_put_abort(&b, 42), 0);
    assert_int_equal(proto_put_heartbeat(&b, 30), 0);
    assert_int_equal(proto_put_log(&b, PROTO_LOG_WARN, "hello", 5), 0);
    assert_int_equal(proto_put_frame(&b, PROTO_BODY, PROTO_FLAG_FLUSH, "abc", 3), 0);
    assert_int_equal(proto_put_frame(&b, PROTO_FINISH, 0, NULL, 0), 0);
    assert_int_equal(proto_put_end(&b, &end), 0);

    /* Each frame is only handed out once its last byte arrived, so decode one at a time. */
    struct proto_decoder d;
    proto_decoder_init(&d, 0);
    struct proto_frame f;
    size_t at = 0;
    int got = 0;
    uint32_t u;
    struct proto_log log;
    struct proto_end e2;
    while (at < b.len) {
        assert_int_equal(proto_decoder_feed(&d, b.data + at, 1), 0);
        at++;
        if (proto_decoder_next(&d, &f) != 1)
            continue;
        switch (got++) {
        case 0:
            assert_int_equal(f.type, PROTO_ABORT);
            assert_int_equal(proto_parse_abort(&f, &u), 0);
            assert_int_equal(u, 42);
            break;
        case 1:
            assert_int_equal(proto_parse_heartbeat(&f, &u), 0);
            assert_int_equal(u, 30);
            break;
        case 2:
            assert_int_equal(proto_parse_log(&f, &log), 0);
            assert_int_equal(log.level, PROTO_LOG_WARN);
            assert_int_equal(log.len, 5);
            assert_memory_equal(log.text, "hello", 5);
            break;
        case 3:
            assert_int_equal(f.type, PROTO_BODY);
            assert_int_equal(f.flags, PROTO_FLAG_FLUSH);
            assert_int_equal(f.length, 3);
            assert_memory_equal(f.payload, "abc", 3);
            break;
        case 4:
            assert_int_equal(f.type, PROTO_FINISH);
            assert_int_equal(f.length, 0);
            break;
        case 5:
            assert_int_equal(proto_parse_end(&f, &e2), 0);
            assert_int_equal(e2.seq, 7);
            assert_int_equal(e2.exit_status, 255);
            assert_int_equal(e2.flags, PROTO_END_RETIRING);
            assert_true(e2.peak_memory == 123456789012ull);
            break;
        }
    }
    assert_int_equal(got, 6);
    assert_int_equal(proto_decoder_pending(&d), 0);
    proto_decoder_free(&d);
    buf_free(&b);
}

static void test_request_roundtrip(void **state)
{
    (void)state;
    struct buf b = {0};
    struct proto_builder pb;
    struct proto_request_head head = {.seq = 9, .flags = PROTO_REQ_HEAD, .body_length = 5,
                                      .start_usec = 1700000000123456ull,
                                      .script = "/srv/www/index.php", .script_len = 18};
    proto_request_begin(&pb, &b, &head);
    proto_builder_add(&pb, "REQUEST_METHOD", 14, "HEAD", 4);
    proto_builder_add(&pb, "QUERY_STRING", 12, "", 0);
    char *n, *v;
    proto_builder_reserve(&pb, 6, 3, &n, &v);
    assert_non_null(n);
    memcpy(n, "HTTP_X", 6);
    memcpy(v, "a b", 3);
    assert_int_equal(proto_builder_end(&pb), 0);
    assert_int_equal(proto_put_frame(&b, PROTO_BODY, 0, "hello", 5), 0);

    struct proto_decoder d;
    proto_decoder_init(&d, 0);
    struct proto_frame frames[4];
    assert_int_equal(decode_bytewise(&b, &d, frames, 4), 2);

    struct proto_request r;
    assert_int_equal(proto_parse_request(&frames[0], &r), 0);
    assert_int_equal(r.head.seq, 9);
    assert_int_equal(r.head.flags, PROTO_REQ_HEAD);
    assert_true(r.head.body_length == 5);
    assert_true(r.head.start_usec == 1700000000123456ull);
    assert_string_equal(r.head.script, "/srv/www/index.php");
    assert_int_equal(r.var_count, 3);

    struct proto_pair_iter it;
    struct proto_pair p;
    proto_pair_iter_init(&it, r.vars, r.vars_len);
    assert_true(proto_pair_next(&it, &p));
    assert_string_equal(p.name, "REQUEST_METHOD");
    assert_string_equal(p.value, "HEAD");
    assert_true(proto_pair_next(&it, &p));
    assert_string_equal(p.name, "QUERY_STRING");
    assert_int_equal(p.value_len, 0);
    assert_string_equal(p.value, "");
    assert_true(proto_pair_next(&it, &p));
    assert_string_equal(p.name, "HTTP_X");
    assert_string_equal(p.value, "a b");
    assert_false(proto_pair_next(&it, &p));

    assert_int_equal(frames[1].type, PROTO_BODY);
    assert_memory_equal(frames[1].payload, "hello", 5);
    free_frames(frames, 2);
    proto_decoder_free(&d);
    buf_free(&b);
}

static void test_headers_roundtrip(void **state)
{
    (void)state;
    struct buf b = {0};
    struct proto_builder pb;
    proto_headers_begin(&pb, &b, 418, PROTO_FLAG_FLUSH);
    proto_builder_add(&pb, "Set-Cookie", 10, "a=1", 3);
    proto_builder_add(&pb, "Set-Cookie", 10, "b=2", 3);
    assert_int_equal(proto_builder_end(&pb), 0);

    struct proto_decoder d;
    proto_decoder_init(&d, 0);
    assert_int_equal(proto_decoder_feed(&d, b.data, b.len), 0);
    struct proto_frame f;
    assert_int_equal(proto_decoder_next(&d, &f), 1);
    assert_int_equal(f.flags, PROTO_FLAG_FLUSH);
    struct proto_headers h;
    assert_int_equal(proto_parse_headers(&f, &h), 0);
    assert_int_equal(h.status, 418);
    assert_int_equal(h.count, 2);
    struct proto_pair_iter it;
    struct proto_pair p;
    proto_pair_iter_init(&it, h.pairs, h.pairs_len);
    assert_true(proto_pair_next(&it, &p));
    assert_string_equal(p.value, "a=1");
    assert_true(proto_pair_next(&it, &p));
    assert_string_equal(p.value, "b=2");
    assert_false(proto_pair_next(&it, &p));
    assert_int_equal(proto_decoder_next(&d, &f), 0);
    proto_decoder_free(&d);
    buf_free(&b);
}

static void test_builder_too_big_restores_buffer(void **state)
{
    (void)state;
    struct buf b = {0};
    assert_int_equal(proto_put_abort(&b, 1), 0);
    size_t before = b.len;
    struct proto_builder pb;
    proto_headers_begin(&pb, &b, 200, 0);
    size_t big = PROTO_MAX_PAYLOAD / 2;
    char *value = calloc(1, big);
    assert_non_null(value);
    memset(value, 'x', big);
    proto_builder_add(&pb, "A", 1, value, big);
    proto_builder_add(&pb, "B", 1, value, big); /* crosses the limit */
    proto_builder_add(&pb, "C", 1, "c", 1);     /* ignored after the failure */
    assert_int_equal(proto_builder_end(&pb), -1);
    assert_int_equal(b.len, before);
    free(value);
    buf_free(&b);
}

static void test_large_frame_partial_reads(void **state)
{
    (void)state;
    struct buf b = {0};
    size_t len = PROTO_BODY_CHUNK;
    uint8_t *data = malloc(len);
    assert_non_null(data);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 7);
    for (int i = 0; i < 3; i++)
        assert_int_equal(proto_put_frame(&b, PROTO_BODY, 0, data, len), 0);

    /* Simulate short reads of odd sizes through space/commit. */
    struct proto_decoder d;
    proto_decoder_init(&d, 0);
    size_t at = 0, step = 1000;
    int frames = 0;
    while (at < b.len) {
        size_t avail;
        uint8_t *p = proto_decoder_space(&d, &avail);
        assert_non_null(p);
        assert_true(avail > 0);
        size_t n = step < avail ? step : avail;
        if (n > b.len - at)
            n = b.len - at;
        memcpy(p, b.data + at, n);
        proto_decoder_commit(&d, n);
        at += n;
        step = step * 3 % 40000 + 1;
        struct proto_frame f;
        while (proto_decoder_next(&d, &f) == 1) {
            assert_int_equal(f.length, len);
            assert_memory_equal(f.payload, data, len);
            frames++;
        }
    }
    assert_int_equal(frames, 3);
    proto_decoder_free(&d);
    buf_free(&b);
    free(data);
}

/* Decodes `bytes` with a fresh decoder and returns proto_decoder_next()'s result. */
static int decode_raw(const uint8_t *bytes, size_t len, uint32_t max)
{
    struct proto_decoder d;
    proto_decoder_init(&d, max);
    assert_int_equal(proto_decoder_feed(&d, bytes, len), 0);
    struct proto_frame f;
    int rc = proto_decoder_next(&d, &f);
    if (rc < 0) /* sticky */
        assert_int_equal(proto_decoder_next(&d, &f), rc);
    proto_decoder_free(&d);
    return rc;
}

static void test_decoder_rejects_bad_headers(void **state)
{
    (void)state;
    uint8_t h[8 + 24] = {0};
    uint32_t len;

    h[0] = 0;
    assert_int_equal(decode_raw(h, 8, 0), PROTO_ERR_TYPE);
    h[0] = 99;
    assert_int_equal(decode_raw(h, 8, 0), PROTO_ERR_TYPE);

    h[0] = PROTO_FINISH;
    h[2] = 1;
    assert_int_equal(decode_raw(h, 8, 0), PROTO_ERR_RESERVED);
    h[2] = 0;

    h[1] = PROTO_FLAG_FLUSH; /* FINISH takes no flags */
    assert_int_equal(decode_raw(h, 8, 0), PROTO_ERR_FLAGS);
    h[0] = PROTO_BODY;
    h[1] = 0x80;
    assert_int_equal(decode_raw(h, 8, 0), PROTO_ERR_FLAGS);
    h[1] = 0;

    len = 1001;
    memcpy(h + 4, &len, 4);
    assert_int_equal(decode_raw(h, 8, 1000), PROTO_ERR_TOO_BIG);
    len = PROTO_MAX_PAYLOAD + 1;
    memcpy(h + 4, &len, 4);
    assert_int_equal(decode_raw(h, 8, 0), PROTO_ERR_TOO_BIG);

    h[0] = PROTO_ABORT;
    len = 3;
    memcpy(h + 4, &len, 4);
    assert_int_equal(decode_raw(h, 8 + 3, 0), PROTO_ERR_LENGTH);
    h[0] = PROTO_END;
    len = 23;
    memcpy(h + 4, &len, 4);
    assert_int_equal(decode_raw(h, 8 + 23, 0), PROTO_ERR_LENGTH);
    h[0] = PROTO_FINISH;
    len = 1;
    memcpy(h + 4, &len, 4);
    assert_int_equal(decode_raw(h, 9, 0), PROTO_ERR_LENGTH);

    /* A valid but incomplete frame asks for more. */
    h[0] = PROTO_BODY;
    len = 10;
    memcpy(h + 4, &len, 4);
    assert_int_equal(decode_raw(h, 8 + 9, 0), 0);
}

/* Builds a REQUEST frame by hand from a raw payload. */
static struct proto_frame raw_frame(uint8_t type, const void *payload, uint32_t len)
{
    struct proto_frame f = {.type = type, .flags = 0, .length = len, .payload = payload};
    return f;
}

static void test_parse_rejects_malformed_pairs(void **state)
{
    (void)state;
    struct buf b = {0};
    struct proto_builder pb;
    proto_headers_begin(&pb, &b, 200, 0);
    proto_builder_add(&pb, "X", 1, "yz", 2);
    assert_int_equal(proto_builder_end(&pb), 0);
    uint8_t *payload = (uint8_t *)b.data + PROTO_HEADER_SIZE;
    uint32_t len = (uint32_t)(b.len - PROTO_HEADER_SIZE);
    struct proto_headers h;
    struct proto_frame f = raw_frame(PROTO_HEADERS, payload, len);
    assert_int_equal(proto_parse_headers(&f, &h), 0);

    /* payload: status(4) count(4) | 1 0 0 0 'X' 0 | 2 0 0 0 'y' 'z' 0 */
    payload[8 + 5] = 'Q'; /* name's NUL missing */
    assert_int_equal(proto_parse_headers(&f, &h), PROTO_ERR_PAYLOAD);
    payload[8 + 5] = 0;
    payload[8 + 10] = 0; /* NUL inside the value */
    assert_int_equal(proto_parse_headers(&f, &h), PROTO_ERR_PAYLOAD);
    payload[8 + 10] = 'z';
    payload[4] = 2; /* count larger than the pairs present */
    assert_int_equal(proto_parse_headers(&f, &h), PROTO_ERR_PAYLOAD);
    payload[4] = 0; /* count smaller: trailing bytes */
    assert_int_equal(proto_parse_headers(&f, &h), PROTO_ERR_PAYLOAD);
    payload[4] = 1;
    payload[8] = 0xff; /* name length beyond the payload */
    assert_int_equal(proto_parse_headers(&f, &h), PROTO_ERR_PAYLOAD);
    payload[8] = 1;
    payload[0] = 99; /* status out of range */
    payload[1] = 0;
    assert_int_equal(proto_parse_headers(&f, &h), PROTO_ERR_PAYLOAD);
    f.type = PROTO_BODY;
    assert_int_equal(proto_parse_headers(&f, &h), PROTO_ERR_TYPE);
    buf_free(&b);

    /* An empty name is refused. */
    proto_headers_begin(&pb, &b, 200, 0);
    proto_builder_add(&pb, "", 0, "v", 1);
    assert_int_equal(proto_builder_end(&pb), 0);
    f = raw_frame(PROTO_HEADERS, b.data + PROTO_HEADER_SIZE, (uint32_t)(b.len - PROTO_HEADER_SIZE));
    assert_int_equal(proto_parse_headers(&f, &h), PROTO_ERR_PAYLOAD);
    buf_free(&b);
}

static void test_parse_request_rejects_bad_fields(void **state)
{
    (void)state;
    struct buf b = {0};
    struct proto_builder pb;
    struct proto_request_head head = {.seq = 1, .script = "/a.php", .script_len = 6};
    proto_request_begin(&pb, &b, &head);
    assert_int_equal(proto_builder_end(&pb), 0);
    uint8_t *payload = (uint8_t *)b.data + PROTO_HEADER_SIZE;
    struct proto_frame f = raw_frame(PROTO_REQUEST, payload, (uint32_t)(b.len - PROTO_HEADER_SIZE));
    struct proto_request r;
    assert_int_equal(proto_parse_request(&f, &r), 0);
    assert_int_equal(r.var_count, 0);
    payload[4] = 0x80; /* unknown request flag */
    assert_int_equal(proto_parse_request(&f, &r), PROTO_ERR_PAYLOAD);
    buf_free(&b);

    head.script_len = 0; /* a script path is required */
    head.script = "";
    proto_request_begin(&pb, &b, &head);
    assert_int_equal(proto_builder_end(&pb), 0);
    f = raw_frame(PROTO_REQUEST, b.data + PROTO_HEADER_SIZE, (uint32_t)(b.len - PROTO_HEADER_SIZE));
    assert_int_equal(proto_parse_request(&f, &r), PROTO_ERR_PAYLOAD);
    buf_free(&b);
}

static void test_parse_end_and_log_checks(void **state)
{
    (void)state;
    struct buf b = {0};
    struct proto_end e = {.seq = 1};
    assert_int_equal(proto_put_end(&b, &e), 0);
    uint8_t *payload = (uint8_t *)b.data + PROTO_HEADER_SIZE;
    struct proto_frame f = raw_frame(PROTO_END, payload, 24);
    assert_int_equal(proto_parse_end(&f, &e), 0);
    payload[8] = 0x10; /* unknown END flag */
    assert_int_equal(proto_parse_end(&f, &e), PROTO_ERR_PAYLOAD);
    payload[8] = 0;
    payload[12] = 1; /* reserved */
    assert_int_equal(proto_parse_end(&f, &e), PROTO_ERR_PAYLOAD);
    buf_free(&b);

    assert_int_equal(proto_put_log(&b, PROTO_LOG_ERROR, "x", 1), 0);
    payload = (uint8_t *)b.data + PROTO_HEADER_SIZE;
    f = raw_frame(PROTO_LOG, payload, 5);
    struct proto_log log;
    assert_int_equal(proto_parse_log(&f, &log), 0);
    payload[0] = 4; /* no such level */
    assert_int_equal(proto_parse_log(&f, &log), PROTO_ERR_PAYLOAD);
    buf_free(&b);
}

static void test_peek_does_not_consume(void **state)
{
    (void)state;
    struct buf b = {0};
    assert_int_equal(proto_put_frame(&b, PROTO_BODY, 0, "x", 1), 0);
    assert_int_equal(proto_put_abort(&b, 5), 0);
    assert_int_equal(proto_put_abort(&b, 6), 0);
    struct proto_decoder d;
    proto_decoder_init(&d, 0);
    assert_int_equal(proto_decoder_feed(&d, b.data, b.len - 1), 0); /* last frame incomplete */

    size_t cursor = 0;
    struct proto_frame f;
    uint32_t seq;
    assert_int_equal(proto_decoder_peek(&d, &cursor, &f), 1);
    assert_int_equal(f.type, PROTO_BODY);
    assert_int_equal(proto_decoder_peek(&d, &cursor, &f), 1);
    assert_int_equal(proto_parse_abort(&f, &seq), 0);
    assert_int_equal(seq, 5);
    assert_int_equal(proto_decoder_peek(&d, &cursor, &f), 0);

    assert_int_equal(proto_decoder_next(&d, &f), 1);
    assert_int_equal(f.type, PROTO_BODY);
    proto_decoder_free(&d);
    buf_free(&b);
}

static void test_put_body_grows_the_open_frame(void **state)
{
    (void)state;
    struct buf b = {0};
    size_t open = PROTO_NO_FRAME;
    size_t big = PROTO_BODY_CHUNK + 100;
    char *data = malloc(big);
    assert_non_null(data);
    memset(data, 'z', big);
    assert_int_equal(proto_put_body(&b, &open, "ab", 2), 0);
    assert_int_equal(proto_put_body(&b, &open, "cd", 2), 0); /* same frame */
    assert_int_equal(b.len, PROTO_HEADER_SIZE + 4);
    assert_int_equal(proto_put_body(&b, &open, data, big), 0); /* fills it, opens another */
    proto_add_flags(&b, open, PROTO_FLAG_FLUSH);

    struct proto_decoder d;
    proto_decoder_init(&d, 0);
    assert_int_equal(proto_decoder_feed(&d, b.data, b.len), 0);
    struct proto_frame f;
    assert_int_equal(proto_decoder_next(&d, &f), 1);
    assert_int_equal(f.length, PROTO_BODY_CHUNK);
    assert_int_equal(f.flags, 0);
    assert_memory_equal(f.payload, "abcdzz", 6);
    assert_int_equal(proto_decoder_next(&d, &f), 1);
    assert_int_equal(f.length, big + 4 - PROTO_BODY_CHUNK);
    assert_int_equal(f.flags, PROTO_FLAG_FLUSH);
    assert_int_equal(proto_decoder_next(&d, &f), 0);
    proto_decoder_free(&d);
    buf_free(&b);
    free(data);
}

static void test_strerror_and_names(void **state)
{
    (void)state;
    for (int e = PROTO_ERR_PAYLOAD; e <= 0; e++)
        assert_string_not_equal(proto_strerror(e), "unknown protocol error");
    assert_string_equal(proto_type_name(PROTO_HEARTBEAT), "HEARTBEAT");
    assert_string_equal(proto_type_name(200), "UNKNOWN");
}

static void test_fd_passing(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int mfd = memfd_create("body", 0);
    assert_true(mfd >= 0);
    assert_int_equal(write(mfd, "payload", 7), 7);

    struct buf b = {0};
    assert_int_equal(proto_put_abort(&b, 3), 0);
    assert_int_equal(proto_send_fd(sv[0], b.data, b.len, mfd, 0), (ssize_t)b.len);
    close(mfd);

    uint8_t buf[64];
    int fds[1] = {-1};
    size_t nfds = 1;
    assert_int_equal(proto_recv_fds(sv[1], buf, sizeof buf, fds, &nfds, 0), (ssize_t)b.len);
    assert_int_equal(nfds, 1);
    char text[8] = {0};
    assert_int_equal(pread(fds[0], text, 7, 0), 7);
    assert_string_equal(text, "payload");
    close(fds[0]);
    close(sv[0]);
    close(sv[1]);
    buf_free(&b);
}

/* ---- the begin board ------------------------------------------------------------------ */

static void test_board_begin_and_take_back(void **state)
{
    (void)state;
    proto_slot *board = proto_board_map(2);
    assert_non_null(board);
    proto_slot *s = &board[1];
    assert_false(proto_slot_begun_any(s));
    assert_true(proto_slot_begin(s, 1));            /* the current request */
    assert_true(proto_slot_begun(s, 1));
    assert_false(proto_slot_begun(s, 2));
    assert_true(proto_slot_take_back(s, 2));        /* sent ahead, not begun: taken back */
    assert_true(proto_slot_taken_pending(s));
    assert_false(proto_slot_begin(s, 2));           /* the worker skips it */
    assert_true(proto_slot_begin(s, 3));            /* and begins the next one */
    assert_false(proto_slot_taken_pending(s));
    assert_false(proto_slot_take_back(s, 3));       /* begun: stays with the worker */
    assert_true(proto_slot_begun(s, 2) && proto_slot_begun(s, 3));
    proto_slot_reset(s);
    assert_false(proto_slot_begun_any(s));
    assert_false(proto_slot_begun_any(&board[0]));  /* slots are separate */
    proto_board_unmap(board, 2);
}

/* The current request is not begun yet when the one sent after it is taken back. */
static void test_board_take_back_does_not_skip_the_current_request(void **state)
{
    (void)state;
    proto_slot *board = proto_board_map(1);
    assert_true(proto_slot_take_back(board, 2));
    assert_true(proto_slot_begin(board, 1));
    assert_false(proto_slot_begin(board, 2));
    proto_board_unmap(board, 1);
}

static void test_board_positions_wrap(void **state)
{
    (void)state;
    uint32_t counter = UINT32_MAX - 1;
    assert_int_equal(proto_position_next(&counter), UINT32_MAX);
    assert_int_equal(proto_position_next(&counter), 1); /* 0 means "none" */
    proto_slot *board = proto_board_map(1);
    assert_true(proto_slot_begin(board, UINT32_MAX));
    assert_true(proto_slot_begun(board, UINT32_MAX));
    assert_false(proto_slot_begun(board, 1));           /* after UINT32_MAX, modulo 2^32 */
    assert_true(proto_slot_take_back(board, 1));
    assert_false(proto_slot_begin(board, 1));
    assert_true(proto_slot_begin(board, 2));
    assert_true(proto_slot_begun(board, 1));
    proto_board_unmap(board, 1);
}

/* Two processes race for each of 20,000 positions: exactly one wins every time. */
static void test_board_race_between_processes(void **state)
{
    (void)state;
    enum { N = 20000 };
    proto_slot *board = proto_board_map(1);
    uint8_t *won = mmap(NULL, N + 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(board && won != MAP_FAILED);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) { /* the worker */
        for (uint32_t pos = 1; pos <= N; pos++)
            if (proto_slot_begin(board, pos))
                won[pos] |= 1;
        _exit(0);
    }
    for (uint32_t pos = 1; pos <= N; pos++) { /* the master */
        while (proto_slot_taken_pending(board))
            ;
        if (proto_slot_take_back(board, pos))
            won[pos] |= 2;
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    for (uint32_t pos = 1; pos <= N; pos++)
        if (won[pos] == 3)
            fail_msg("position %u both begun and taken back", pos);
    munmap(won, N + 1);
    proto_board_unmap(board, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_frames_roundtrip),
        cmocka_unit_test(test_request_roundtrip),
        cmocka_unit_test(test_headers_roundtrip),
        cmocka_unit_test(test_builder_too_big_restores_buffer),
        cmocka_unit_test(test_large_frame_partial_reads),
        cmocka_unit_test(test_decoder_rejects_bad_headers),
        cmocka_unit_test(test_parse_rejects_malformed_pairs),
        cmocka_unit_test(test_parse_request_rejects_bad_fields),
        cmocka_unit_test(test_parse_end_and_log_checks),
        cmocka_unit_test(test_peek_does_not_consume),
        cmocka_unit_test(test_put_body_grows_the_open_frame),
        cmocka_unit_test(test_strerror_and_names),
        cmocka_unit_test(test_fd_passing),
        cmocka_unit_test(test_board_begin_and_take_back),
        cmocka_unit_test(test_board_take_back_does_not_skip_the_current_request),
        cmocka_unit_test(test_board_positions_wrap),
        cmocka_unit_test(test_board_race_between_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
