/* Unit tests for obs/trace: traceparent vectors, id generation, round trips, request ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "obs/trace.h"

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT "00f067aa0ba902b7"
#define VALID "00-" TRACE "-" PARENT "-01"

static bool parse(const char *s, struct trace_context *ctx)
{
    return trace_parse(s, strlen(s), ctx);
}

static void check_lower_hex(const char *s, size_t n)
{
    assert_int_equal(strlen(s), n);
    bool nonzero = false;
    for (size_t i = 0; i < n; i++) {
        assert_true((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'));
        nonzero |= s[i] != '0';
    }
    assert_true(nonzero);
}

static void test_valid_version_00(void **state)
{
    (void)state;
    struct trace_context ctx;
    assert_true(parse(VALID, &ctx));
    assert_string_equal(ctx.trace_id, TRACE);
    assert_string_equal(ctx.parent_id, PARENT);
    assert_int_equal(ctx.flags, 0x01);

    assert_true(parse("00-" TRACE "-" PARENT "-00", &ctx));
    assert_int_equal(ctx.flags, 0x00);
    /* Version 00 keeps every flag bit it received. */
    assert_true(parse("00-" TRACE "-" PARENT "-ff", &ctx));
    assert_int_equal(ctx.flags, 0xff);
    /* Surrounding spaces and tabs are not part of a field value. */
    assert_true(parse(" \t" VALID "\t ", &ctx));
    assert_string_equal(ctx.trace_id, TRACE);
}

static void test_invalid_vectors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "00",
        "00-" TRACE "-" PARENT "-0",                            /* 54 characters */
        "00-" TRACE "-" PARENT "-01-",                          /* version 00 is exactly 55 */
        "00-" TRACE "-" PARENT "-01-extra",
        "00-" TRACE "-" PARENT "-010",
        "00-" TRACE "0-" PARENT "-1",                           /* separators misplaced */
        "00_" TRACE "-" PARENT "-01",
        "00-" TRACE "_" PARENT "-01",
        "00-" TRACE "-" PARENT "_01",
        "0-0" TRACE "-" PARENT "-01",
        "00-00000000000000000000000000000000-" PARENT "-01", /* all-zero trace id */
        "00-" TRACE "-0000000000000000-01",                     /* all-zero parent id */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" PARENT "-01",    /* uppercase */
        "00-4bf92f3577b34da6a3ce929d0e0e473A-" PARENT "-01",
        "00-" TRACE "-00F067AA0BA902B7-01",
        "00-" TRACE "-" PARENT "-0A",
        "0A-" TRACE "-" PARENT "-01",
        "ff-" TRACE "-" PARENT "-01",                           /* version ff is invalid */
        "ff-" TRACE "-" PARENT "-01-extra",
        "0g-" TRACE "-" PARENT "-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-" PARENT "-01",    /* not hex */
        "00-" TRACE "-00f067aa0ba902bx-01",
        "00-" TRACE "-" PARENT "-0x",
        "00-" TRACE "-" PARENT "- 1",
        "00-4bf92f3577b34da6a3ce929d0e0e47-36" PARENT "-01",
        "01-" TRACE "-" PARENT "-01extra",                      /* a later version: '-' or end */
        "01-" TRACE "-" PARENT "-01.",
        "01-" TRACE "-" PARENT "-1",
        "cc-" TRACE "-" PARENT "-01x-",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct trace_context ctx;
        memset(&ctx, 'u', sizeof(ctx));
        if (parse(bad[i], &ctx))
            fail_msg("accepted \"%s\"", bad[i]);
        for (size_t j = 0; j < sizeof(ctx); j++)
            assert_int_equal(((const char *)&ctx)[j], 'u'); /* untouched on failure */
    }
}

static void test_embedded_nul_refused(void **state)
{
    (void)state;
    char value[] = VALID;
    value[40] = '\0';
    struct trace_context ctx;
    assert_false(trace_parse(value, sizeof(value) - 1, &ctx));
}

static void test_future_versions(void **state)
{
    (void)state;
    struct trace_context ctx;
    assert_true(parse("01-" TRACE "-" PARENT "-01", &ctx));
    assert_string_equal(ctx.trace_id, TRACE);
    assert_string_equal(ctx.parent_id, PARENT);
    assert_int_equal(ctx.flags, 0x01);

    assert_true(parse("cc-" TRACE "-" PARENT "-01-what-the-future-will-be-like", &ctx));
    assert_string_equal(ctx.trace_id, TRACE);
    assert_int_equal(ctx.flags, 0x01);
    assert_true(parse("fe-" TRACE "-" PARENT "-01-", &ctx));

    /* Only the sampled bit of a later version's flags is understood. */
    assert_true(parse("02-" TRACE "-" PARENT "-fe", &ctx));
    assert_int_equal(ctx.flags, 0x00);
    assert_true(parse("02-" TRACE "-" PARENT "-03-x", &ctx));
    assert_int_equal(ctx.flags, 0x01);
}

static void test_start_continues_valid_trace(void **state)
{
    (void)state;
    struct trace_context ctx;
    trace_start(&ctx, VALID, strlen(VALID));
    assert_string_equal(ctx.trace_id, TRACE);
    assert_string_equal(ctx.parent_id, PARENT);
    assert_int_equal(ctx.flags, 0x01);
    check_lower_hex(ctx.span_id, TRACE_SPAN_ID_LEN);
    assert_string_not_equal(ctx.span_id, PARENT);

    char out[TRACE_PARENT_LEN + 1];
    assert_int_equal(trace_format(&ctx, out), TRACE_PARENT_LEN);
    assert_int_equal(strlen(out), TRACE_PARENT_LEN);
    char want[TRACE_PARENT_LEN + 1];
    memcpy(want, "00-" TRACE "-", 36);
    memcpy(want + 36, ctx.span_id, 16);
    memcpy(want + 52, "-01", 4);
    assert_string_equal(out, want);

    /* A later version goes out as version 00. */
    trace_start(&ctx, "7f-" TRACE "-" PARENT "-01-x", strlen("7f-" TRACE "-" PARENT "-01-x"));
    trace_format(&ctx, out);
    assert_memory_equal(out, "00-" TRACE "-", 36);
}

static void test_start_new_trace(void **state)
{
    (void)state;
    static const char *const values[] = {NULL, "", "garbage", "ff-" TRACE "-" PARENT "-01"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct trace_context ctx;
        trace_start(&ctx, values[i], values[i] ? strlen(values[i]) : 0);
        check_lower_hex(ctx.trace_id, TRACE_ID_LEN);
        check_lower_hex(ctx.span_id, TRACE_SPAN_ID_LEN);
        assert_string_equal(ctx.parent_id, "");
        assert_int_equal(ctx.flags, TRACE_FLAG_SAMPLED);
        assert_string_not_equal(ctx.trace_id, TRACE);
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    struct trace_context first;
    trace_start(&first, NULL, 0);
    char header[TRACE_PARENT_LEN + 1];
    trace_format(&first, header);

    /* The next hop continues the same trace, with our span as its parent. */
    struct trace_context next;
    trace_start(&next, header, strlen(header));
    assert_string_equal(next.trace_id, first.trace_id);
    assert_string_equal(next.parent_id, first.span_id);
    assert_int_equal(next.flags, first.flags);
    assert_string_not_equal(next.span_id, first.span_id);
}

static void test_generated_ids(void **state)
{
    (void)state;
    char trace[2][TRACE_ID_LEN + 1];
    char span[2][TRACE_SPAN_ID_LEN + 1];
    for (int i = 0; i < 1000; i++) {
        trace_new_trace_id(trace[i & 1]);
        trace_new_span_id(span[i & 1]);
        check_lower_hex(trace[i & 1], TRACE_ID_LEN);
        check_lower_hex(span[i & 1], TRACE_SPAN_ID_LEN);
        if (i > 0) {
            assert_string_not_equal(trace[0], trace[1]);
            assert_string_not_equal(span[0], span[1]);
        }
    }
    /* Reseeding (as after fork) keeps producing valid ids. */
    trace_seed();
    trace_new_trace_id(trace[0]);
    check_lower_hex(trace[0], TRACE_ID_LEN);
}

static void test_short_id(void **state)
{
    (void)state;
    struct trace_context ctx;
    assert_true(parse("00-0af7651916cd43dd8448eb211c80319c-" PARENT "-01", &ctx));
    memcpy(ctx.span_id, "b7ad6b7169203331", TRACE_SPAN_ID_LEN + 1);
    char out[TRACE_SHORT_ID_LEN + 1];
    assert_int_equal(trace_short_id(&ctx, out), TRACE_SHORT_ID_LEN);
    assert_string_equal(out, "0af7651916cd-b7ad");
}

static void test_request_id_valid(void **state)
{
    (void)state;
    static const char *const good[] = {
        "a", "req-1", "f47ac10b-58cc-4372-a567-0e02b2c3d479", "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "dGVzdA+/==", "svc:host.example_1@2~x", " padded\t",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!trace_request_id_valid(good[i], strlen(good[i])))
            fail_msg("refused \"%s\"", good[i]);

    static const char *const bad[] = {
        "", "  ", "a b", "a\"b", "a\\b", "a,b", "a;b", "a\nb", "a\rb", "<script>", "a%20b",
        "caf\xc3\xa9", "a\x7f",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (trace_request_id_valid(bad[i], strlen(bad[i])))
            fail_msg("accepted \"%s\"", bad[i]);
    assert_false(trace_request_id_valid("a\0b", 3));

    char longest[TRACE_REQUEST_ID_MAX + 2];
    memset(longest, 'x', sizeof(longest));
    assert_true(trace_request_id_valid(longest, TRACE_REQUEST_ID_MAX));
    assert_false(trace_request_id_valid(longest, TRACE_REQUEST_ID_MAX + 1));
}

static void test_request_id(void **state)
{
    (void)state;
    struct trace_context ctx;
    trace_start(&ctx, NULL, 0);
    char short_id[TRACE_SHORT_ID_LEN + 1];
    trace_short_id(&ctx, short_id);
    char out[TRACE_REQUEST_ID_MAX + 1];

    assert_int_equal(trace_request_id(&ctx, "abc-123", 7, out), 7);
    assert_string_equal(out, "abc-123");
    assert_int_equal(trace_request_id(&ctx, " abc ", 5, out), 3);
    assert_string_equal(out, "abc");
    assert_int_equal(trace_request_id(&ctx, NULL, 0, out), TRACE_SHORT_ID_LEN);
    assert_string_equal(out, short_id);
    assert_int_equal(trace_request_id(&ctx, "bad id", 6, out), TRACE_SHORT_ID_LEN);
    assert_string_equal(out, short_id);

    char longest[TRACE_REQUEST_ID_MAX];
    memset(longest, 'z', sizeof(longest));
    assert_int_equal(trace_request_id(&ctx, longest, sizeof(longest), out), TRACE_REQUEST_ID_MAX);
    assert_memory_equal(out, longest, sizeof(longest));
    assert_int_equal(out[TRACE_REQUEST_ID_MAX], '\0');
}

static void test_request_start(void **state)
{
    (void)state;
    struct trace_request t = {0};
    assert_false(t.ready);
    trace_request_start(&t, VALID, strlen(VALID), "abc-123", 7);
    assert_true(t.ready);
    assert_string_equal(t.ctx.trace_id, TRACE);
    assert_string_equal(t.ctx.parent_id, PARENT);
    check_lower_hex(t.ctx.span_id, TRACE_SPAN_ID_LEN);
    assert_string_equal(t.request_id, "abc-123");

    /* Neither header: a new trace without a parent, the short id as the request id. */
    struct trace_request fresh = {0};
    trace_request_start(&fresh, NULL, 0, NULL, 0);
    assert_true(fresh.ready);
    check_lower_hex(fresh.ctx.trace_id, TRACE_ID_LEN);
    assert_string_equal(fresh.ctx.parent_id, "");
    assert_int_equal(fresh.ctx.flags, TRACE_FLAG_SAMPLED);
    char short_id[TRACE_SHORT_ID_LEN + 1];
    trace_short_id(&fresh.ctx, short_id);
    assert_string_equal(fresh.request_id, short_id);
    assert_string_not_equal(fresh.ctx.trace_id, t.ctx.trace_id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_version_00),
        cmocka_unit_test(test_invalid_vectors),
        cmocka_unit_test(test_embedded_nul_refused),
        cmocka_unit_test(test_future_versions),
        cmocka_unit_test(test_start_continues_valid_trace),
        cmocka_unit_test(test_start_new_trace),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_generated_ids),
        cmocka_unit_test(test_short_id),
        cmocka_unit_test(test_request_id_valid),
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_request_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
