#include "http/cgi.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "text.h"

#define ADDR_TEXT 64

struct endpoint {
    char addr[ADDR_TEXT];
    char port[8];
};

static void add(struct proto_builder *pb, const char *name, const char *value)
{
    proto_builder_add(pb, name, strlen(name), value, strlen(value));
}

/* Adds NAME = a followed by b. */
static void add_concat(struct proto_builder *pb, const char *name, const char *a, size_t a_len,
                       const char *b)
{
    size_t b_len = strlen(b);
    char *n, *v;
    proto_builder_reserve(pb, strlen(name), a_len + b_len, &n, &v);
    if (!n)
        return;
    memcpy(n, name, strlen(name));
    memcpy(v, a, a_len);
    memcpy(v + a_len, b, b_len);
}

/* nginx's $remote_addr/$remote_port style text; "" for families other than IPv4/IPv6. */
static void format_endpoint(const struct sockaddr *sa, struct endpoint *out)
{
    out->addr[0] = out->port[0] = '\0';
    if (!sa)
        return;
    unsigned port;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, out->addr, sizeof out->addr);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, out->addr, sizeof out->addr);
        port = ntohs(in6->sin6_port);
    } else {
        return;
    }
    snprintf(out->port, sizeof out->port, "%u", port);
}

static bool name_is(const struct http_field *h, const char *name)
{
    return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

static bool same_name(const struct http_field *a, const struct http_field *b)
{
    return a->name_len == b->name_len && strncasecmp(a->name, b->name, a->name_len) == 0;
}

/*
 * nginx's ignore_invalid_headers with underscores_in_headers off: only letters, digits and
 * '-' make a name. Dropping '_' keeps "X_Forwarded_For" from spoofing HTTP_X_FORWARDED_FOR.
 */
static bool valid_name(const struct http_field *h)
{
    if (h->name_len == 0)
        return false;
    for (size_t i = 0; i < h->name_len; i++) {
        unsigned char c = (unsigned char)h->name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-')
            return false;
    }
    return true;
}

/* Header value without trailing blanks; NULL when it holds a NUL (never valid HTTP). */
static const char *clean_value(const struct http_field *h, size_t *len)
{
    size_t n = h->value_len;
    if (n && memchr(h->value, '\0', n))
        return NULL;
    while (n && text_is_ows(h->value[n - 1]))
        n--;
    *len = n;
    return h->value;
}

static const struct http_field *find_header(const struct cgi_input *in, const char *name)
{
    for (size_t i = 0; i < in->header_count; i++) {
        if (name_is(&in->headers[i], name))
            return &in->headers[i];
    }
    return NULL;
}

/* Headers that never become HTTP_*: sent as CONTENT_* instead, or dropped (httpoxy). */
static bool skipped_header(const struct http_field *h)
{
    return name_is(h, "Content-Type") || name_is(h, "Content-Length") || name_is(h, "Proxy");
}

/* Length of all values of header i's name joined with `sep_len`-byte separators. */
static size_t joined_length(const struct cgi_input *in, size_t i, size_t sep_len)
{
    size_t total = 0, count = 0, len;
    for (size_t k = i; k < in->header_count; k++) {
        if (same_name(&in->headers[i], &in->headers[k]) && clean_value(&in->headers[k], &len)) {
            total += len;
            count++;
        }
    }
    return total + (count - 1) * sep_len;
}

/* Writes every value of header i's name into `v`, joined with `sep`. */
static void join_values(const struct cgi_input *in, size_t i, const char *sep, char *v)
{
    size_t sep_len = strlen(sep), len;
    bool first = true;
    for (size_t k = i; k < in->header_count; k++) {
        const char *value;
        if (!same_name(&in->headers[i], &in->headers[k]) ||
            !(value = clean_value(&in->headers[k], &len)))
            continue;
        if (!first) {
            memcpy(v, sep, sep_len);
            v += sep_len;
        }
        memcpy(v, value, len);
        v += len;
        first = false;
    }
}

/* HTTP_<NAME> for header i, with all values of that name joined (Cookie with "; "). */
static void add_http_variable(struct proto_builder *pb, const struct cgi_input *in, size_t i)
{
    const struct http_field *h = &in->headers[i];
    const char *sep = name_is(h, "Cookie") ? "; " : ", ";
    char *n, *v;
    proto_builder_reserve(pb, 5 + h->name_len, joined_length(in, i, strlen(sep)), &n, &v);
    if (!n)
        return;
    memcpy(n, "HTTP_", 5);
    for (size_t k = 0; k < h->name_len; k++) {
        char c = h->name[k];
        n[5 + k] = c == '-' ? '_' : (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    join_values(in, i, sep, v);
}

static void add_http_variables(struct proto_builder *pb, const struct cgi_input *in)
{
    for (size_t i = 0; i < in->header_count; i++) {
        const struct http_field *h = &in->headers[i];
        size_t len;
        if (!valid_name(h) || skipped_header(h) || !clean_value(h, &len))
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = same_name(h, &in->headers[j]) && clean_value(&in->headers[j], &len);
        if (!seen)
            add_http_variable(pb, in, i);
    }
}

/* SERVER_NAME: the Host header without its port, else the local address. */
static void add_server_name(struct proto_builder *pb, const struct cgi_input *in,
                            const struct endpoint *local)
{
    const struct http_field *host = find_header(in, "Host");
    size_t len = 0;
    const char *value = host ? clean_value(host, &len) : NULL;
    if (!value || len == 0) {
        add(pb, "SERVER_NAME", local->addr);
        return;
    }
    size_t end = len;
    if (value[0] == '[') {
        const char *close = memchr(value, ']', len);
        end = close ? (size_t)(close - value) + 1 : len;
    } else {
        const char *colon = memchr(value, ':', len);
        if (colon)
            end = (size_t)(colon - value);
    }
    proto_builder_add(pb, "SERVER_NAME", 11, value, end);
}

static void add_content_variables(struct proto_builder *pb, const struct cgi_input *in)
{
    const struct http_field *type = find_header(in, "Content-Type");
    size_t len = 0;
    const char *value = type ? clean_value(type, &len) : NULL;
    proto_builder_add(pb, "CONTENT_TYPE", 12, value ? value : "", value ? len : 0);
    char length[24] = "";
    if (in->content_length >= 0)
        snprintf(length, sizeof length, "%lld", (long long)in->content_length);
    add(pb, "CONTENT_LENGTH", length);
}

/* The request's ids; HTTP_TRACEPARENT and HTTP_X_REQUEST_ID stay as received. */
static void add_trace_variables(struct proto_builder *pb, const struct trace_request *t)
{
    if (!t)
        return;
    add(pb, "REQUEST_ID", t->request_id);
    add(pb, "TRACE_ID", t->ctx.trace_id);
    add(pb, "SPAN_ID", t->ctx.span_id);
    if (t->ctx.parent_id[0])
        add(pb, "PARENT_SPAN_ID", t->ctx.parent_id);
}

/* Adds the variables in the order nginx sends them with Debian's fastcgi-php.conf. */
static void add_variables(struct proto_builder *pb, const struct cgi_input *in,
                          const char *script_filename)
{
    struct endpoint remote, local;
    format_endpoint(in->remote, &remote);
    format_endpoint(in->local, &local);
    const char *query = memchr(in->target, '?', in->target_len);
    size_t script_len = strlen(in->script_name);

    add(pb, "PATH_INFO", in->path_info);
    add(pb, "SCRIPT_FILENAME", script_filename);
    if (query)
        proto_builder_add(pb, "QUERY_STRING", 12, query + 1,
                          in->target_len - (size_t)(query + 1 - in->target));
    else
        add(pb, "QUERY_STRING", "");
    add(pb, "REQUEST_METHOD", in->method);
    add_content_variables(pb, in);
    add(pb, "SCRIPT_NAME", in->script_name);
    proto_builder_add(pb, "REQUEST_URI", 11, in->target, in->target_len);
    add_concat(pb, "DOCUMENT_URI", in->script_name, script_len, in->path_info);
    add(pb, "DOCUMENT_ROOT", in->document_root);
    add(pb, "SERVER_PROTOCOL", in->protocol);
    add(pb, "REQUEST_SCHEME", in->https ? "https" : "http");
    if (in->https)
        add(pb, "HTTPS", "on");
    add(pb, "GATEWAY_INTERFACE", "CGI/1.1");
    add(pb, "SERVER_SOFTWARE", "kiln/" KILN_VERSION);
    add(pb, "REMOTE_ADDR", remote.addr);
    add(pb, "REMOTE_PORT", remote.port);
    add(pb, "SERVER_ADDR", local.addr);
    add(pb, "SERVER_PORT", local.port);
    add_server_name(pb, in, &local);
    add(pb, "REDIRECT_STATUS", "200");
    if (in->path_info[0]) {
        const char *root = in->document_root;
        size_t root_len = strlen(root);
        while (root_len && root[root_len - 1] == '/')
            root_len--;
        add_concat(pb, "PATH_TRANSLATED", root, root_len, in->path_info);
    }
    add_trace_variables(pb, in->trace);
    add_http_variables(pb, in);
    add_concat(pb, "PHP_SELF", in->script_name, script_len, in->path_info);
}

int cgi_encode_request(struct buf *out, const struct cgi_input *in, uint32_t seq,
                       uint32_t flags)
{
    char script_filename[2 * 4096 + 2];
    if (in->script_name[0] != '/') /* a path under the root, or the worker would refuse it */
        return -1;
    size_t root_len = strlen(in->document_root);
    while (root_len && in->document_root[root_len - 1] == '/')
        root_len--;
    int n = snprintf(script_filename, sizeof script_filename, "%.*s%s", (int)root_len,
                     in->document_root, in->script_name);
    if (n < 0 || (size_t)n >= sizeof script_filename || memchr(in->target, '\0', in->target_len))
        return -1;

    struct proto_request_head head = {
        .seq = seq,
        .flags = (flags & (PROTO_REQ_BODY_FD | PROTO_REQ_EVENT_STREAM)) |
                 (strcmp(in->method, "HEAD") == 0 ? PROTO_REQ_HEAD : 0),
        .body_length = in->content_length > 0 ? (uint64_t)in->content_length : 0,
        .start_usec = in->start_usec,
        .script = script_filename,
        .script_len = (uint32_t)n,
    };
    struct proto_builder pb;
    proto_request_begin(&pb, out, &head);
    add_variables(&pb, in, script_filename);
    return proto_builder_end(&pb);
}
