#include "http/serve.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/conn.h"
#include "http/dispatch.h"
#include "http/mime.h"
#include "http/response.h"
#include "http/router.h"
#include "http/static_file.h"
#include "server.h"

#define STUB_BODY "<!DOCTYPE html><title>Kiln</title><p>Hello from the Kiln stub executor.</p>\n"

/* The parts of a request target that routing needs. */
struct target {
    const char *path;   /* still percent-encoded */
    size_t path_len;
    const char *query;  /* after '?', or NULL */
    size_t query_len;
};

static bool has_prefix_ci(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && strncasecmp(s, prefix, n) == 0;
}

/*
 * Splits origin-form ("/p?q") and absolute-form ("http://host/p?q", which HTTP/1.1 servers
 * must accept) targets. Returns -1 for anything else.
 */
static int parse_target(const char *t, size_t len, struct target *out)
{
    if (len > 0 && t[0] != '/') {
        size_t skip;
        if (has_prefix_ci(t, len, "http://"))
            skip = 7;
        else if (has_prefix_ci(t, len, "https://"))
            skip = 8;
        else
            return -1;
        const char *slash = memchr(t + skip, '/', len - skip);
        if (!slash)
            return -1;
        len -= (size_t)(slash - t);
        t = slash;
    }
    if (len == 0)
        return -1;
    const char *q = memchr(t, '?', len);
    out->path = t;
    out->path_len = q ? (size_t)(q - t) : len;
    out->query = q ? q + 1 : NULL;
    out->query_len = q ? len - out->path_len - 1 : 0;
    return 0;
}

static void reply_status(struct conn *c, int status)
{
    conn_reply_status(c, status, NULL, false);
}

int serve_head(struct conn *c)
{
    size_t len;
    const char *expect = conn_header(c, "Expect", &len);
    if (!expect)
        return 0;
    if (len != 12 || strncasecmp(expect, "100-continue", 12) != 0)
        return 417;
    if (http1_version_minor(&c->http) >= 1)
        conn_send_continue(c);
    return 0;
}

/* HTTP/1.1 requests carry exactly one Host header (RFC 9112 section 3.2). */
static bool host_is_valid(const struct conn *c)
{
    if (http1_version_minor(&c->http) == 0)
        return true;
    unsigned count = 0;
    for (uint32_t i = 0; i < c->http.header_count; i++) {
        const struct http1_header *h = &c->http.headers[i];
        if (h->name.len == 4 && strncasecmp(c->in.data + h->name.off, "Host", 4) == 0)
            count++;
    }
    return count == 1;
}

static void redirect_with_slash(struct conn *c, const struct target *t)
{
    struct buf location = {0};
    buf_append_str(&location, "Location: ");
    buf_append(&location, t->path, t->path_len);
    buf_append_char(&location, '/');
    if (t->query) {
        buf_append_char(&location, '?');
        buf_append(&location, t->query, t->query_len);
    }
    buf_append(&location, "\r\n", 3); /* with its NUL: passed on as a C string */
    conn_reply_status(c, 301, location.data, false);
    buf_free(&location);
}

static struct static_hdr request_header(const struct conn *c, const char *name)
{
    struct static_hdr h;
    h.p = conn_header(c, name, &h.len);
    return h;
}

static void add_static_headers(struct conn *c, const struct route *r, const struct static_plan *plan,
                               off_t size)
{
    struct buf *out = &c->out;
    if (plan->status != 304) {
        response_header(out, "Content-Type", mime_lookup(r->script, strlen(r->script)));
        response_header_uint(out, "Content-Length", (unsigned long long)plan->length);
    }
    response_header(out, "ETag", plan->etag);
    response_header(out, "Last-Modified", plan->last_modified);
    response_header(out, "Accept-Ranges", "bytes");
    if (plan->status == 206)
        buf_printf(out, "Content-Range: bytes %lld-%lld/%lld\r\n", (long long)plan->offset,
                   (long long)(plan->offset + plan->length - 1), (long long)size);
    else if (plan->status == 416)
        buf_printf(out, "Content-Range: bytes */%lld\r\n", (long long)size);
}

static void serve_static(struct conn *c, const struct route *r)
{
    int method = http1_method(&c->http);
    if (method != HTTP_GET && method != HTTP_HEAD) {
        conn_reply_status(c, 405, "Allow: GET, HEAD\r\n", false);
        return;
    }
    int fd = statcache_open(c->srv->statcache, r->script);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        reply_status(c, 404);
        return;
    }
    struct static_request req = {
        .is_head = method == HTTP_HEAD,
        .if_none_match = request_header(c, "If-None-Match"),
        .if_modified_since = request_header(c, "If-Modified-Since"),
        .range = request_header(c, "Range"),
        .if_range = request_header(c, "If-Range"),
    };
    struct static_plan plan;
    static_plan(st.st_size, st.st_mtim.tv_sec, &req, &plan);

    bool keep = conn_decide_keep_alive(c);
    response_begin(&c->out, plan.status, loop_wall_time(c->srv->loop));
    add_static_headers(c, r, &plan, st.st_size);
    response_end_head(&c->out, !keep, keep && http1_version_minor(&c->http) == 0);
    if (method == HTTP_GET && plan.length > 0) {
        c->file_fd = fd;
        c->file_off = plan.offset;
        c->file_left = plan.length;
    } else {
        close(fd);
    }
    c->response_complete = true;
}

static void serve_php(struct conn *c, const struct route *r)
{
    if (c->srv->cfg->executor == CONFIG_EXECUTOR_STUB)
        conn_reply(c, 200, NULL, "text/html; charset=UTF-8", STUB_BODY, sizeof(STUB_BODY) - 1, false);
    else
        dispatch_php(c, r);
}

void serve_request(struct conn *c)
{
    struct target t;
    const char *raw = c->in.data + c->http.target.off;
    if (!host_is_valid(c) || parse_target(raw, c->http.target.len, &t) < 0) {
        conn_reply_status(c, 400, NULL, true);
        return;
    }
    if (http1_method(&c->http) == HTTP_CONNECT) {
        reply_status(c, 405);
        return;
    }
    struct route route;
    switch (router_resolve(&c->srv->router, t.path, t.path_len, loop_now_ms(c->srv->loop),
                           &route)) {
    case ROUTE_BAD_REQUEST:
        reply_status(c, 400);
        return;
    case ROUTE_NOT_FOUND:
        reply_status(c, 404);
        return;
    case ROUTE_REDIRECT_SLASH:
        redirect_with_slash(c, &t);
        return;
    case ROUTE_STATIC:
        serve_static(c, &route);
        return;
    case ROUTE_PHP:
        serve_php(c, &route);
        return;
    }
}
