/*
 * W3C Trace Context (traceparent) and request ids: pure functions over (pointer, length) inputs,
 * no I/O except the getrandom() seed of the id generator.
 *
 * Incoming `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header), strictly:
 *   version "-" trace-id "-" parent-id "-" trace-flags, every field lowercase hex;
 *   version: 2 hex digits, "ff" is invalid;
 *   trace-id: 32 hex digits, not all zero; parent-id: 16 hex digits, not all zero; flags: 2 hex.
 *   Version 00 is exactly 55 characters. A higher version (01..fe) is read as far as version 00
 *   goes: its first 55 characters must parse and the character after them, if any, must be '-';
 *   only the sampled bit of its flags is kept, since the other bits may mean something else there.
 * The value is trimmed of spaces and tabs first (an HTTP field value has no surrounding OWS).
 * A request keeps the trace id and flags of a valid incoming header, gets a fresh span id, and
 * the incoming parent-id becomes its parent span; anything else starts a new trace, flags 01.
 * The outgoing header is always version 00: `00-<trace id>-<new span id>-<flags>`.
 *
 * Request id (X-Request-ID): an incoming value is kept when it is valid, that is 1 to
 * TRACE_REQUEST_ID_MAX characters of ALPHA / DIGIT / "-" / "_" / "." / ":" / "+" / "/" / "=" /
 * "@" / "~" (UUIDs, base64, hex and ULIDs fit; nothing that could break a header, a log line or
 * JSON does). Otherwise it is the short id `<trace id[0..12]>-<span id[0..4]>` (17 characters).
 *
 * Ids come from a xoshiro256** generator per process, seeded from getrandom(): fast, never all
 * zero, not cryptographic (trace ids are correlation handles, not secrets). A forked child that
 * makes ids must call trace_seed() again, or it repeats its parent's sequence.
 */
#ifndef KILN_OBS_TRACE_H
#define KILN_OBS_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACE_ID_LEN 32          /* hex characters of a trace id */
#define TRACE_SPAN_ID_LEN 16     /* hex characters of a span (parent) id */
#define TRACE_PARENT_LEN 55      /* a version 00 traceparent */
#define TRACE_SHORT_ID_LEN 17    /* <12 hex>-<4 hex> */
#define TRACE_REQUEST_ID_MAX 128 /* longest incoming X-Request-ID kept */

#define TRACE_FLAG_SAMPLED 0x01

/* One request's trace context; every id is lowercase hex and NUL-terminated. */
struct trace_context {
    char trace_id[TRACE_ID_LEN + 1];
    char span_id[TRACE_SPAN_ID_LEN + 1];   /* this request's span, always new */
    char parent_id[TRACE_SPAN_ID_LEN + 1]; /* the caller's span; "" when the trace starts here */
    uint8_t flags;
};

/* (Re)seeds this process's id generator from getrandom(). Call at start-up and after fork(). */
void trace_seed(void);

/*
 * Parses an incoming traceparent value by the rules above. On success fills trace_id,
 * parent_id and flags of *ctx (span_id is left alone) and returns true; on failure *ctx is
 * untouched.
 */
bool trace_parse(const char *value, size_t len, struct trace_context *ctx);

/*
 * The context of a new request: the incoming traceparent `value` (NULL when absent) continues
 * its trace when valid, otherwise a new trace starts. The span id is always fresh.
 */
void trace_start(struct trace_context *ctx, const char *value, size_t len);

/* Writes the outgoing `00-<trace id>-<span id>-<flags>` and its NUL; returns TRACE_PARENT_LEN. */
size_t trace_format(const struct trace_context *ctx, char out[TRACE_PARENT_LEN + 1]);

/* Fresh ids, lowercase hex, never all zero, NUL-terminated. */
void trace_new_trace_id(char out[TRACE_ID_LEN + 1]);
void trace_new_span_id(char out[TRACE_SPAN_ID_LEN + 1]);

/* Writes `<trace id[0..12]>-<span id[0..4]>` and its NUL; returns TRACE_SHORT_ID_LEN. */
size_t trace_short_id(const struct trace_context *ctx, char out[TRACE_SHORT_ID_LEN + 1]);

/* Whether an incoming X-Request-ID is kept (see above). */
bool trace_request_id_valid(const char *value, size_t len);

/*
 * The request id: the incoming X-Request-ID `value` (NULL when absent) if valid, otherwise the
 * short id of ctx. Writes it with its NUL; returns its length.
 */
size_t trace_request_id(const struct trace_context *ctx, const char *value, size_t len,
                        char out[TRACE_REQUEST_ID_MAX + 1]);

/* What one request carries: its trace context and its request id, made once when first needed. */
struct trace_request {
    struct trace_context ctx;
    char request_id[TRACE_REQUEST_ID_MAX + 1];
    bool ready; /* false: not made yet (a zeroed struct is a valid "not yet") */
};

/*
 * Makes *t from the request's incoming `traceparent` and `X-Request-ID` values (NULL when
 * absent) by trace_start() and trace_request_id(), and sets t->ready. No system call: the ids
 * come from the per-process generator.
 */
void trace_request_start(struct trace_request *t, const char *traceparent, size_t tp_len,
                         const char *request_id, size_t id_len);

#endif
