#include "http/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/dispatch.h"
#include "http/encoding.h"
#include "http/exchange.h"
#include "http/mime.h"
#include "http/path.h"
#include "http/response.h"
#include "http/router.h"
#include "http/server.h"
#include "http/static_file.h"
#include "obs/stats.h"

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


/*
 * Answers 301 with Location: `origin` + the normalised path as a URL + `suffix` + "?query". Only
 * the normalised path goes in, never the raw target: a redirect cannot be turned into one to
 * another site ("//evil/..", "/%2F/evil").
 */
static void redirect(struct exchange *x, const char *origin, size_t origin_len, const char *norm,
                     const char *suffix, const struct target *t)
{
    struct buf location = {0};
    buf_append(&location, origin, origin_len);
    path_encode(norm, &location);
    buf_append_str(&location, suffix);
    if (t->query) {
        buf_append_char(&location, '?');
        buf_append(&location, t->query, t->query_len);
    }
    headers_add(&x->response_headers, "Location", 8, location.data, location.len);
    buf_free(&location);
    exchange_reply_status(x, 301);
}

/* A directory named without its trailing slash: `dir` is its normalised path. */
static void redirect_with_slash(struct exchange *x, const char *dir, const struct target *t)
{
    redirect(x, "", 0, dir, "/", t);
}

/* A 503 that tells the client to come back in a second. */
static void reply_unavailable(struct exchange *x)
{
    headers_add_str(&x->response_headers, "Retry-After", "1");
    exchange_reply_status(x, 503);
}

static void https_redirect(struct exchange *x)
{
    unsigned https_port = config_addr_port(&x->srv->cfg->listen);
    size_t host_len;
    const char *host = exchange_header(x, "Host", &host_len);
    const char *colon = host ? memrchr(host, ':', host_len) : NULL;
    if (colon && !memchr(colon, ']', host_len - (size_t)(colon - host)))
        host_len = (size_t)(colon - host); /* drop the plain listener's port, keep [v6] */
    struct target t;
    char norm[PATH_MAX];
    if (!host || host_len == 0 || parse_target(x->target, x->target_len, &t) < 0 ||
        t.path_len >= sizeof(norm) || path_normalize(t.path, t.path_len, norm) < 0) {
        exchange_reply_status(x, 400);
        return;
    }
    struct buf origin = {0};
    buf_printf(&origin, "https://%.*s", (int)host_len, host);
    if (https_port != 443)
        buf_printf(&origin, ":%u", https_port);
    redirect(x, origin.data, origin.len, norm, "", &t);
    buf_free(&origin);
}

static struct static_hdr request_header(const struct exchange *x, const char *name)
{
    struct static_hdr h;
    h.p = exchange_header(x, name, &h.len);
    return h;
}

static void add_static_headers(struct exchange *x, const struct route *r,
                               const struct static_plan *plan, off_t size)
{
    struct headers *h = &x->response_headers;
    if (plan->status != 304)
        headers_add_str(h, "Content-Type", mime_lookup(r->script, strlen(r->script)));
    headers_add_str(h, "ETag", plan->etag);
    headers_add_str(h, "Last-Modified", plan->last_modified);
    headers_add_str(h, "Accept-Ranges", "bytes");
    char range[80];
    if (plan->status == 206) {
        snprintf(range, sizeof(range), "bytes %lld-%lld/%lld", (long long)plan->offset,
                 (long long)(plan->offset + plan->length - 1), (long long)size);
        headers_add_str(h, "Content-Range", range);
    } else if (plan->status == 416) {
        snprintf(range, sizeof(range), "bytes */%lld", (long long)size);
        headers_add_str(h, "Content-Range", range);
    }
}

/*
 * Precompressed siblings: "app.js.br", "app.js.zst" or "app.js.gz" next to "app.js" is sent
 * (with Content-Encoding) to a client that accepts it, instead of compressing on the fly. Not
 * for range requests, which address the original bytes. Returns the sibling's fd and sets
 * *coding, or -1; *offered tells whether any sibling exists (the response then varies).
 */
static int open_precompressed(struct exchange *x, const struct route *r,
                              enum encoding_coding *coding, bool *offered)
{
    static const enum encoding_coding codings[] = {ENCODING_BR, ENCODING_ZSTD, ENCODING_GZIP};
    *offered = false;
    size_t len = strlen(r->script);
    char sibling[PATH_MAX];
    size_t ae_len, range_len;
    const char *ae = exchange_header(x, "Accept-Encoding", &ae_len);
    if (!x->srv->cfg->compression || exchange_header(x, "Range", &range_len))
        return -1;
    unsigned present = 0;
    for (size_t i = 0; i < sizeof(codings) / sizeof(codings[0]); i++) {
        const char *suffix = encoding_file_suffix(codings[i]);
        if (len + strlen(suffix) >= sizeof(sibling))
            continue;
        snprintf(sibling, sizeof(sibling), "%s%s", r->script, suffix);
        struct statcache_info info;
        statcache_lookup(x->srv->statcache, sibling, loop_now_ms(x->srv->loop), &info);
        if (info.kind == STATCACHE_FILE)
            present |= ENCODING_BIT(codings[i]);
    }
    *offered = present != 0;
    *coding = present && ae ? encoding_negotiate(ae, ae_len, present) : ENCODING_NONE;
    if (*coding == ENCODING_NONE)
        return -1;
    snprintf(sibling, sizeof(sibling), "%s%s", r->script, encoding_file_suffix(*coding));
    return statcache_open(x->srv->statcache, sibling);
}

static void serve_static(struct exchange *x, const struct route *r)
{
    if (x->method != HTTP_GET && x->method != HTTP_HEAD) {
        headers_add_str(&x->response_headers, "Allow", "GET, HEAD");
        exchange_reply_status(x, 405);
        return;
    }
    enum encoding_coding coding = ENCODING_NONE;
    bool varies;
    int fd = open_precompressed(x, r, &coding, &varies);
    if (fd < 0) {
        coding = ENCODING_NONE;
        fd = statcache_open(x->srv->statcache, r->script);
    }
    struct stat st;
    if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOMEM)) {
        reply_unavailable(x);
        return;
    }
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        exchange_reply_status(x, 404);
        return;
    }
    struct static_request req = {
        .is_head = exchange_is_head(x),
        .if_none_match = request_header(x, "If-None-Match"),
        .if_modified_since = request_header(x, "If-Modified-Since"),
        .range = request_header(x, "Range"),
        .if_range = request_header(x, "If-Range"),
    };
    struct static_plan plan;
    static_plan(st.st_size, st.st_mtim.tv_sec, &req, &plan);
    x->status = plan.status;
    add_static_headers(x, r, &plan, st.st_size);
    if (coding != ENCODING_NONE)
        headers_add_str(&x->response_headers, "Content-Encoding", encoding_name(coding));
    if (varies)
        headers_add_str(&x->response_headers, "Vary", "Accept-Encoding");
    x->is_static = true;
    x->static_path = r->script;
    x->static_stat = st;
    exchange_send_head(x, plan.status == 304 ? -1 : (long long)plan.length);
    if (plan.length > 0 && !exchange_is_head(x))
        exchange_send_file(x, fd, plan.offset, plan.length);
    else
        close(fd);
    exchange_finish(x);
}

static void serve_php(struct exchange *x, const struct route *r)
{
    if (x->srv->cfg->executor == CONFIG_EXECUTOR_STUB)
        exchange_reply(x, 200, "text/html; charset=UTF-8", STUB_BODY, sizeof(STUB_BODY) - 1);
    else
        dispatch_php(x, r);
}

void serve_request(struct exchange *x)
{
    if (x->srv->handler) { /* the internal server: no router, no request phase */
        x->srv->handler(x);
        return;
    }
    x->start_ms = loop_now_ms(x->srv->loop);
    if (server_chain_request(x->srv, x))
        return; /* a 429: counted by the rate limiter, not as a request (as in the seed) */
    stats_count_request(x->method_name);
    struct target t;
    if (parse_target(x->target, x->target_len, &t) < 0) {
        x->close = true;
        exchange_reply_status(x, 400);
        return;
    }
    if (x->method == HTTP_CONNECT) {
        exchange_reply_status(x, 405);
        return;
    }
    struct route route;
    switch (router_resolve(&x->srv->router, t.path, t.path_len, loop_now_ms(x->srv->loop),
                           &route)) {
    case ROUTE_BAD_REQUEST:
        exchange_reply_status(x, 400);
        return;
    case ROUTE_NOT_FOUND:
        exchange_reply_status(x, 404);
        return;
    case ROUTE_REDIRECT_SLASH:
        redirect_with_slash(x, route.script, &t);
        return;
    case ROUTE_UNAVAILABLE:
        reply_unavailable(x);
        return;
    case ROUTE_STATIC:
        serve_static(x, &route);
        return;
    case ROUTE_PHP:
        serve_php(x, &route);
        return;
    }
}

void serve_listener_request(struct exchange *x, bool redirect)
{
    if (redirect)
        https_redirect(x);
    else
        serve_request(x);
}
