/*
 * libFuzzer target for obs/trace. The input is tried as a traceparent and as an X-Request-ID:
 * parsing never crashes, whatever is accepted re-formats to the same ids, fresh ids always parse,
 * and a request id is always one the rule would keep.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "obs/trace.h"

/* A failed check must crash the fuzzer even in builds where assert() is compiled out. */
#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond))                                                                           \
            abort();                                                                           \
    } while (0)

/* The outgoing header of ctx parses back to the same trace, with ctx's span as the parent. */
static void check_format_parses(const struct trace_context *ctx)
{
    char out[TRACE_PARENT_LEN + 1];
    CHECK(trace_format(ctx, out) == TRACE_PARENT_LEN && strlen(out) == TRACE_PARENT_LEN);
    struct trace_context again;
    CHECK(trace_parse(out, TRACE_PARENT_LEN, &again));
    CHECK(strcmp(again.trace_id, ctx->trace_id) == 0);
    CHECK(strcmp(again.parent_id, ctx->span_id) == 0);
    CHECK(again.flags == ctx->flags);
}

static void check_traceparent(const char *s, size_t len)
{
    struct trace_context parsed;
    bool ok = trace_parse(s, len, &parsed);
    struct trace_context ctx;
    trace_start(&ctx, s, len);
    CHECK(strlen(ctx.trace_id) == TRACE_ID_LEN && strlen(ctx.span_id) == TRACE_SPAN_ID_LEN);
    if (ok) {
        /* The ids are the input's own characters, after the trimmed value's version. */
        const char *p = memchr(s, '-', len);
        CHECK(p && p - s >= 2);
        CHECK(memcmp(p + 1, parsed.trace_id, TRACE_ID_LEN) == 0);
        CHECK(memcmp(p + 2 + TRACE_ID_LEN, parsed.parent_id, TRACE_SPAN_ID_LEN) == 0);
        CHECK(strcmp(ctx.trace_id, parsed.trace_id) == 0);
        CHECK(strcmp(ctx.parent_id, parsed.parent_id) == 0);
        CHECK(ctx.flags == parsed.flags);
    } else {
        CHECK(ctx.parent_id[0] == '\0' && ctx.flags == TRACE_FLAG_SAMPLED);
    }
    check_format_parses(&ctx);
}

static void check_request_id(const char *s, size_t len)
{
    struct trace_context ctx;
    trace_start(&ctx, NULL, 0);
    char out[TRACE_REQUEST_ID_MAX + 1];
    size_t n = trace_request_id(&ctx, s, len, out);
    CHECK(n >= 1 && n <= TRACE_REQUEST_ID_MAX && strlen(out) == n);
    CHECK(trace_request_id_valid(out, n));
    if (!trace_request_id_valid(s, len))
        CHECK(n == TRACE_SHORT_ID_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A heap copy of exactly `size` bytes lets ASan catch any read past the end. */
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    check_traceparent(copy, size);
    check_request_id(copy, size);
    free(copy);
    return 0;
}
