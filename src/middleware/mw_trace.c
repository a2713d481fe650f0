/*
 * Trace headers (priority -80, always on): every response of the listener carries
 * `traceparent: 00-<trace id>-<span id>-<flags>` (this request's span, so a caller can link its
 * own span to it) and `X-Request-ID`, from the exchange's trace context (exchange_trace(), the
 * same ids $_SERVER and the access log see). A middleware rather than a line in
 * exchange_send_head(): http/ stays free of header policy, and the internal server, which has no
 * chain, answers probes and scrapes without them.
 *
 * An `X-Request-ID` the script set itself is kept; a `traceparent` it set is replaced, since the
 * header must name Kiln's span for the ids in the access log to match.
 */
#include "http/exchange.h"
#include "middleware/chain.h"

static void trace_response(void *instance, struct exchange *x, long long *length)
{
    (void)instance;
    (void)length;
    const struct trace_request *t = exchange_trace(x);
    char traceparent[TRACE_PARENT_LEN + 1];
    trace_format(&t->ctx, traceparent);
    headers_set(&x->response_headers, "traceparent", traceparent);
    size_t len;
    if (!headers_find(&x->response_headers, "X-Request-ID", &len))
        headers_add_str(&x->response_headers, "X-Request-ID", t->request_id);
}

const struct middleware middleware_trace = {
    .name = "trace",
    .priority = -80,
    .response = trace_response,
};
