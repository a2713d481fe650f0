/*
 * libFuzzer target for the CGI encoder (src/http/cgi.c): a request made from the input becomes a
 * REQUEST frame, which is decoded again with the worker's parser (src/pool/proto.c).
 *
 * Input layout: a fixed binary prefix, then text lines.
 *   byte 0        bit 0 TLS, bit 1 a trace, bit 2 the trace has a parent, bits 3-4 the protocol,
 *                 bits 5-7 the REQUEST flags the master passes (some of them not allowed)
 *   bytes 1..18   remote address: 16 address bytes (the first 4 for IPv4), 2 port bytes;
 *                 IPv6 when the top bit of the first port byte is set
 *   bytes 19..36  local address, the same way
 *   bytes 37..44  content length (int64, host order; negative means no body framing)
 *   then lines    method, script name, path info, document root, target, then one header per
 *                 line as "name:value" (no ':' makes a name with an empty value).
 * Lines end at '\n' only, so every other byte (NUL, CR, ':') can reach the encoder; the
 * method, script name, path info and document root are C strings and end at a NUL. Inputs whose
 * document root does not start with '/' are skipped: configuration makes it absolute.
 *
 * Invariants:
 *  - encoding fails only for a script name not starting with '/', a target holding a NUL or a
 *    script path too long, and then leaves the buffer empty; otherwise the frame decodes, alone, into a REQUEST with the right head;
 *  - every name and value is free of NUL, every name is a CGI variable of ours or HTTP_ followed
 *    by [A-Z0-9_], and no name occurs twice: a header ("Document-Root", "Script_Filename", ...)
 *    can never replace a server variable;
 *  - the variables the request defines hold exactly what it gave, the optional ones are there
 *    exactly when they apply, and each valid header name yields one HTTP_* variable.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/cgi.h"

#define PREFIX_LEN 45
#define MAX_INPUT (64 * 1024) /* keeps the frame far below PROTO_MAX_PAYLOAD */
#define MAX_HEADERS 64
#define SEQ 4242u

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond))                                                                           \
            abort();                                                                           \
    } while (0)

/* Every variable cgi.c writes that is not HTTP_*. */
static const char *const cgi_names[] = {
    "PATH_INFO",       "SCRIPT_FILENAME", "QUERY_STRING",   "REQUEST_METHOD", "CONTENT_TYPE",
    "CONTENT_LENGTH",  "SCRIPT_NAME",     "REQUEST_URI",    "DOCUMENT_URI",   "DOCUMENT_ROOT",
    "SERVER_PROTOCOL", "REQUEST_SCHEME",  "HTTPS",          "GATEWAY_INTERFACE",
    "SERVER_SOFTWARE", "REMOTE_ADDR",     "REMOTE_PORT",    "SERVER_ADDR",    "SERVER_PORT",
    "SERVER_NAME",     "REDIRECT_STATUS", "PATH_TRANSLATED", "REQUEST_ID",    "TRACE_ID",
    "SPAN_ID",         "PARENT_SPAN_ID",  "PHP_SELF",
};
#define CGI_NAMES (sizeof cgi_names / sizeof cgi_names[0])

struct request {
    struct cgi_input in;
    struct sockaddr_storage remote, local;
    struct trace_request trace;
    struct http_field headers[MAX_HEADERS];
    /* Every input line as its own heap block: method, script name, path info, document root,
     * target, then the headers. */
    char *lines[5 + MAX_HEADERS];
    size_t line_count;
    uint32_t flags;
};

/* Address and port from 18 input bytes. */
static void make_addr(const uint8_t *p, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    uint16_t port = (uint16_t)(p[16] << 8 | p[17]);
    if (p[16] & 0x80) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        memcpy(&in6->sin6_addr, p, 16);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        memcpy(&in->sin_addr, p, 4);
    }
}

/*
 * The next line of [*pos, end) as a heap block of just its bytes and a NUL (so that ASan sees a
 * read beyond that NUL), kept in r->lines; *len is the line's length.
 */
static char *take_line(struct request *r, const uint8_t **pos, const uint8_t *end, size_t *len)
{
    const uint8_t *nl = memchr(*pos, '\n', (size_t)(end - *pos));
    size_t n = (size_t)((nl ? nl : end) - *pos);
    char *s = malloc(n + 1);
    CHECK(s);
    memcpy(s, *pos, n);
    s[n] = '\0';
    *pos = nl ? nl + 1 : end;
    *len = n;
    r->lines[r->line_count++] = s;
    return s;
}

static void fill_trace(struct trace_request *t, bool parent)
{
    memset(t, 0, sizeof *t);
    strcpy(t->ctx.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    strcpy(t->ctx.span_id, "00f067aa0ba902b7");
    if (parent)
        strcpy(t->ctx.parent_id, "b7ad6b7169203331");
    strcpy(t->request_id, "4bf92f3577b3-00f0");
    t->ready = true;
}

static void take_headers(struct request *r, const uint8_t *pos, const uint8_t *end)
{
    while (pos < end && r->in.header_count < MAX_HEADERS) {
        size_t len;
        char *line = take_line(r, &pos, end, &len);
        char *colon = memchr(line, ':', len);
        struct http_field *h = &r->headers[r->in.header_count++];
        h->name = line;
        h->name_len = colon ? (size_t)(colon - line) : len;
        h->value = colon ? colon + 1 : line + len;
        h->value_len = colon ? len - h->name_len - 1 : 0;
    }
    r->in.headers = r->headers;
}

static void make_request(const uint8_t *data, size_t size, struct request *r)
{
    static const char *const protocols[] = {"HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "HTTP/1.1"};
    memset(r, 0, sizeof *r);
    uint8_t ctl = data[0];
    make_addr(data + 1, &r->remote);
    make_addr(data + 19, &r->local);
    int64_t content_length;
    memcpy(&content_length, data + 37, sizeof content_length);
    r->flags = ctl >> 5; /* PROTO_REQ_HEAD (0x01) among them: cgi.c must set it from the method */

    const uint8_t *pos = data + PREFIX_LEN, *end = data + size;
    size_t len;
    r->in.method = take_line(r, &pos, end, &len);
    r->in.script_name = take_line(r, &pos, end, &len);
    r->in.path_info = take_line(r, &pos, end, &len);
    r->in.document_root = take_line(r, &pos, end, &len);
    r->in.target = take_line(r, &pos, end, &r->in.target_len);
    take_headers(r, pos, end);

    r->in.protocol = protocols[(ctl >> 3) & 3];
    r->in.remote = (const struct sockaddr *)&r->remote;
    r->in.local = (const struct sockaddr *)&r->local;
    r->in.https = ctl & 1;
    r->in.content_length = content_length < 0 ? -1 : content_length;
    r->in.start_usec = 1700000000000001ull;
    if (ctl & 2) {
        fill_trace(&r->trace, ctl & 4);
        r->in.trace = &r->trace;
    }
}

static void free_request(struct request *r)
{
    for (size_t i = 0; i < r->line_count; i++)
        free(r->lines[i]);
}

/* ---- what the frame must hold ------------------------------------------------------------ */

/* Decodes the frame with the worker's decoder: exactly one frame, a REQUEST that parses. */
static void decode(const struct buf *b, struct proto_decoder *d, struct proto_request *req)
{
    struct proto_frame f;
    proto_decoder_init(d, 0);
    CHECK(proto_decoder_feed(d, b->data, b->len) == 0);
    CHECK(proto_decoder_next(d, &f) == 1);
    CHECK(proto_decoder_pending(d) == 0);
    CHECK(f.type == PROTO_REQUEST);
    CHECK(proto_parse_request(&f, req) == 0);
}

static bool is_cgi_name(const char *name)
{
    for (size_t i = 0; i < CGI_NAMES; i++)
        if (strcmp(name, cgi_names[i]) == 0)
            return true;
    return false;
}

/* HTTP_ then one or more of [A-Z0-9_]: what PHP registers under that exact key. */
static bool is_http_name(const char *name, size_t len)
{
    if (len <= 5 || memcmp(name, "HTTP_", 5) != 0)
        return false;
    for (size_t i = 5; i < len; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/* The value of `name`, or NULL; aborts if the name occurs twice. */
static const char *find_var(const struct proto_request *req, const char *name)
{
    struct proto_pair_iter it;
    struct proto_pair p;
    const char *found = NULL;
    proto_pair_iter_init(&it, req->vars, req->vars_len);
    while (proto_pair_next(&it, &p)) {
        if (strcmp(p.name, name) == 0) {
            CHECK(!found);
            found = p.value;
        }
    }
    return found;
}

/* Checks every pair on its own and that no name repeats; returns the number of HTTP_* pairs. */
static size_t check_pairs(const struct proto_request *req)
{
    struct proto_pair_iter it;
    struct proto_pair p;
    size_t count = 0, http = 0;
    proto_pair_iter_init(&it, req->vars, req->vars_len);
    while (proto_pair_next(&it, &p)) {
        CHECK(p.name_len > 0 && strlen(p.name) == p.name_len);
        CHECK(strlen(p.value) == p.value_len);
        CHECK(is_cgi_name(p.name) || is_http_name(p.name, p.name_len));
        CHECK(find_var(req, p.name) != NULL); /* aborts on a second pair of that name */
        http += is_http_name(p.name, p.name_len);
        count++;
    }
    CHECK(count == req->var_count);
    return http;
}

static void check_equal(const struct proto_request *req, const char *name, const char *want)
{
    const char *value = find_var(req, name);
    CHECK(value && strcmp(value, want) == 0);
}

static void check_present(const struct proto_request *req, const char *name, bool want)
{
    CHECK((find_var(req, name) != NULL) == want);
}

/* Headers that yield an HTTP_* variable: a token of letters, digits and '-', not one of the
 * three cgi.c leaves out, and at least one value of that name without a NUL. */
static bool yields_variable(const struct http_field *h)
{
    static const char *const skipped[] = {"Content-Type", "Content-Length", "Proxy"};
    if (h->name_len == 0 || memchr(h->value, '\0', h->value_len))
        return false;
    for (size_t i = 0; i < h->name_len; i++) {
        char c = h->name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return false;
    }
    for (size_t i = 0; i < sizeof skipped / sizeof skipped[0]; i++)
        if (strlen(skipped[i]) == h->name_len && strncasecmp(h->name, skipped[i], h->name_len) == 0)
            return false;
    return true;
}

/* Distinct (case-insensitive) header names that yield a variable. */
static size_t expected_http_vars(const struct cgi_input *in)
{
    size_t n = 0;
    for (size_t i = 0; i < in->header_count; i++) {
        const struct http_field *h = &in->headers[i];
        if (!yields_variable(h))
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = yields_variable(&in->headers[j]) && in->headers[j].name_len == h->name_len &&
                   strncasecmp(in->headers[j].name, h->name, h->name_len) == 0;
        n += !seen;
    }
    return n;
}

static void check_request(const struct request *r, const struct proto_request *req,
                          const char *script_filename)
{
    const struct cgi_input *in = &r->in;
    CHECK(req->head.seq == SEQ);
    bool head = strcmp(in->method, "HEAD") == 0;
    uint32_t passed = r->flags & (PROTO_REQ_BODY_FD | PROTO_REQ_EVENT_STREAM);
    CHECK(req->head.flags == (passed | (head ? PROTO_REQ_HEAD : 0)));
    CHECK(req->head.body_length == (in->content_length > 0 ? (uint64_t)in->content_length : 0));
    CHECK(req->head.start_usec == in->start_usec);
    CHECK(req->head.script_len == strlen(script_filename));
    CHECK(strcmp(req->head.script, script_filename) == 0);

    CHECK(check_pairs(req) == expected_http_vars(in));
    check_equal(req, "SCRIPT_FILENAME", script_filename);
    check_equal(req, "DOCUMENT_ROOT", in->document_root);
    check_equal(req, "SCRIPT_NAME", in->script_name);
    check_equal(req, "PATH_INFO", in->path_info);
    size_t script_len = strlen(in->script_name);
    char *uri = malloc(script_len + strlen(in->path_info) + 1);
    CHECK(uri);
    memcpy(uri, in->script_name, script_len);
    strcpy(uri + script_len, in->path_info);
    check_equal(req, "DOCUMENT_URI", uri);
    check_equal(req, "PHP_SELF", uri);
    free(uri);
    check_equal(req, "REQUEST_METHOD", in->method);
    check_equal(req, "REQUEST_URI", in->target);
    check_equal(req, "SERVER_PROTOCOL", in->protocol);
    check_equal(req, "REQUEST_SCHEME", in->https ? "https" : "http");
    check_equal(req, "GATEWAY_INTERFACE", "CGI/1.1");
    check_equal(req, "REDIRECT_STATUS", "200");
    const char *query = strchr(in->target, '?');
    check_equal(req, "QUERY_STRING", query ? query + 1 : "");
    check_present(req, "HTTPS", in->https);
    check_present(req, "PATH_TRANSLATED", in->path_info[0] != '\0');
    check_present(req, "REQUEST_ID", in->trace != NULL);
    check_present(req, "PARENT_SPAN_ID", in->trace && in->trace->ctx.parent_id[0]);
    static const char *const always[] = {"CONTENT_TYPE", "CONTENT_LENGTH", "SERVER_SOFTWARE",
                                         "REMOTE_ADDR",  "REMOTE_PORT",    "SERVER_ADDR",
                                         "SERVER_PORT",  "SERVER_NAME"};
    for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
        check_present(req, always[i], true);
}

/* SCRIPT_FILENAME as nginx makes it: the root without trailing slashes, then the script. */
static bool script_filename(const struct cgi_input *in, char *out, size_t cap)
{
    size_t root_len = strlen(in->document_root);
    while (root_len && in->document_root[root_len - 1] == '/')
        root_len--;
    size_t script_len = strlen(in->script_name);
    if (root_len + script_len >= cap)
        return false;
    memcpy(out, in->document_root, root_len);
    memcpy(out + root_len, in->script_name, script_len + 1);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < PREFIX_LEN || size > MAX_INPUT)
        return 0;
    struct request r;
    make_request(data, size, &r);
    /* The configuration's promise: the root is absolute. */
    if (r.in.document_root[0] != '/') {
        free_request(&r);
        return 0;
    }

    char filename[2 * 4096 + 2];
    bool fits = script_filename(&r.in, filename, sizeof filename);
    bool target_nul = memchr(r.in.target, '\0', r.in.target_len) != NULL;
    struct buf b = {0};
    int rc = cgi_encode_request(&b, &r.in, SEQ, r.flags);
    if (r.in.script_name[0] != '/' || !fits || target_nul) {
        CHECK(rc == -1 && b.len == 0);
    } else {
        CHECK(rc == 0);
        struct proto_decoder d;
        struct proto_request req;
        decode(&b, &d, &req);
        check_request(&r, &req, filename);
        proto_decoder_free(&d);
    }
    buf_free(&b);
    free_request(&r);
    return 0;
}
