#include "http/exchange.h"

#include <llhttp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/response.h"

void exchange_reset(struct exchange *x)
{
    x->method = 0;
    x->method_name = NULL;
    x->target = NULL;
    x->target_len = 0;
    x->headers = NULL;
    x->header_count = 0;
    x->has_body = false;
    body_reset(&x->body);
    x->status = 0;
    buf_clear(&x->head);
    x->close = false;
}

void exchange_free(struct exchange *x)
{
    dispatch_cancel(x);
    body_reset(&x->body);
    buf_free(&x->head);
}

const char *exchange_header(const struct exchange *x, const char *name, size_t *len)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < x->header_count; i++) {
        const struct http_field *h = &x->headers[i];
        if (h->name_len == n && strncasecmp(h->name, name, n) == 0) {
            *len = h->value_len;
            return h->value;
        }
    }
    *len = 0;
    return NULL;
}

bool exchange_is_head(const struct exchange *x)
{
    return x->method == HTTP_HEAD;
}

void exchange_reply(struct exchange *x, int status, const char *extra_headers,
                    const char *content_type, const char *body, size_t len)
{
    x->status = status;
    if (extra_headers)
        buf_append_str(&x->head, extra_headers);
    if (content_type)
        response_header(&x->head, "Content-Type", content_type);
    x->ops->send_head(x, (long long)len);
    if (len > 0)
        x->ops->send_data(x, body, len);
    x->ops->finish(x);
}

void exchange_reply_status(struct exchange *x, int status, const char *extra_headers)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, response_reason(status));
    exchange_reply(x, status, extra_headers, "text/plain; charset=utf-8", body, (size_t)n);
}
