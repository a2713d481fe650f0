#include "http/h2.h"

#include <ctype.h>
#include <errno.h>
#include <llhttp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "base.h"
#include "http/conn.h"
#include "http/exchange.h"
#include "http/field.h"
#include "http/httpdate.h"
#include "http/response.h"
#include "http/serve.h"
#include "http/server.h"
#include "obs/stats.h"

#define H2_OUT_HIGH (256u * 1024)      /* bytes of frames queued on the socket before we stop */
#define H2_WINDOW (1u << 20)           /* initial stream window we offer: uploads go fast */
#define H2_RESET_BURST 1000            /* rapid reset: streams a client may reset at once ... */
#define H2_RESET_RATE 33               /* ... and per second after that (nghttp2's defaults) */
#define H2_MAX_CONTINUATIONS 8         /* CONTINUATION frames per header block */
#define H2_FIELD_OVERHEAD 32           /* per header field, as SETTINGS_MAX_HEADER_LIST_SIZE counts */

/* A request header as received, stored by offset (the storage grows while they arrive). */
struct h2_field_ref {
    uint32_t name_off, name_len, value_off, value_len;
};

struct h2_stream {
    struct exchange x;
    struct h2_session *s;
    LIST_ENTRY(h2_stream) link; /* the session's open streams */
    int32_t id;
    struct buf store;              /* request header names and values */
    struct h2_field_ref *refs;
    struct http_field *fields;
    size_t count, cap;
    size_t list_size;              /* as SETTINGS_MAX_HEADER_LIST_SIZE counts it */
    int refuse;                    /* status decided while the head arrived (413/414/431), or 0 */
    bool has_authority_host;       /* a "host" field was added from :authority */
    bool dispatched;               /* the request went to serve_request() */
    bool no_body;                  /* the response has no body (HEAD, 204, 304, length 0) */
    bool ended;                    /* finish() was called: the body is complete */
    bool deferred;                 /* nghttp2 waits for us to resume the body */
    uint64_t body_at;              /* receiving a body: loop time (ms) of its last progress; else 0 */
    struct buf out;                /* response body not yet framed, from out_pos */
    size_t out_pos;
    int file_fd;
    off_t file_off, file_left;
};

struct h2_session {
    nghttp2_session *ng;
    struct conn *c;
    LIST_HEAD(, h2_stream) streams;
    unsigned open_streams;
    unsigned receiving;            /* streams whose request body is still arriving (body_at) */
    bool goaway;
    nghttp2_nv *nv;                /* the response head being submitted, */
    size_t nv_cap;
    struct buf names;              /*   and its lower-cased names */
};

static struct h2_stream *stream_of(const struct exchange *x)
{
    return container_of(x, struct h2_stream, x);
}

static void schedule(struct h2_session *s)
{
    conn_schedule(s->c);
}

/* ---- the exchange operations -------------------------------------------------------------- */

static void resume(struct h2_stream *st)
{
    if (st->deferred) {
        st->deferred = false;
        nghttp2_session_resume_data(st->s->ng, st->id);
    }
    schedule(st->s);
}

static ssize_t read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *source, void *user)
{
    (void)ng;
    (void)id;
    (void)user;
    struct h2_stream *st = source->ptr;
    /* Nothing queued: a source paused for back-pressure goes on after the batch (never from
       here); its output resumes the stream then. */
    if (st->out_pos == st->out.len && st->file_left == 0)
        exchange_source_drained(&st->x);
    size_t n = 0;
    if (st->out_pos < st->out.len) {
        n = st->out.len - st->out_pos < length ? st->out.len - st->out_pos : length;
        memcpy(buf, st->out.data + st->out_pos, n);
        st->out_pos += n;
        if (st->out_pos == st->out.len) {
            buf_clear(&st->out);
            st->out_pos = 0;
        }
    } else if (st->file_left > 0) {
        size_t want = (size_t)st->file_left < length ? (size_t)st->file_left : length;
        ssize_t r = pread(st->file_fd, buf, want, st->file_off);
        if (r <= 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* the file shrank: reset the stream */
        n = (size_t)r;
        st->file_off += r;
        st->file_left -= r;
    }
    if (st->ended && st->out_pos == st->out.len && st->file_left == 0) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (n == 0) {
        st->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

static void add_nv(nghttp2_nv *nv, size_t *n, const char *name, size_t name_len,
                   const char *value, size_t value_len)
{
    nv[*n] = (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, name_len, value_len,
                          NGHTTP2_NV_FLAG_NONE};
    (*n)++;
}

/* Room for `count` name/value pairs in the session's array (kept from response to response). */
static nghttp2_nv *nv_reserve(struct h2_session *s, size_t count)
{
    if (count > s->nv_cap) {
        free(s->nv);
        s->nv_cap = count < 32 ? 32 : count;
        s->nv = malloc(s->nv_cap * sizeof(*s->nv));
        if (!s->nv)
            abort();
    }
    return s->nv;
}

/* The response headers into `nv`, names lower-cased (HTTP/2 wants them so) into the session's
   name store, which is sized first so that the pointers stay put. */
static void add_response_headers(struct h2_session *s, const struct headers *h, nghttp2_nv *nv,
                                 size_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < h->count; i++)
        total += h->entries[i].name_len;
    buf_clear(&s->names);
    char *lower = buf_reserve(&s->names, total);
    for (size_t i = 0; i < h->count; i++) {
        struct http_field f = headers_at(h, i);
        for (size_t k = 0; k < f.name_len; k++)
            lower[k] = (char)tolower((unsigned char)f.name[k]);
        add_nv(nv, n, lower, f.name_len, f.value, f.value_len);
        lower += f.name_len;
    }
}

static void h2_send_head(struct exchange *x, long long length)
{
    struct h2_stream *st = stream_of(x);
    struct h2_session *s = st->s;
    char status[4], clen[24];
    char date[HTTPDATE_LEN + 1];
    snprintf(status, sizeof(status), "%03d", x->status);
    httpdate_format(loop_wall_time(x->srv->loop), date);
    st->no_body = !response_status_has_body(x->status) || exchange_is_head(x) || length == 0;

    nghttp2_nv *nv = nv_reserve(s, x->response_headers.count + 4);
    size_t n = 0;
    add_nv(nv, &n, ":status", 7, status, 3);
    add_response_headers(s, &x->response_headers, nv, &n);
    if (length >= 0 && response_status_has_body(x->status)) {
        int len = snprintf(clen, sizeof(clen), "%lld", length);
        add_nv(nv, &n, "content-length", 14, clen, (size_t)len);
    }
    unsigned own = response_own_headers(&x->response_headers);
    if (own & RESPONSE_OWN_SERVER)
        add_nv(nv, &n, "server", 6, RESPONSE_SERVER, sizeof(RESPONSE_SERVER) - 1);
    if (own & RESPONSE_OWN_DATE)
        add_nv(nv, &n, "date", 4, date, HTTPDATE_LEN);

    nghttp2_data_provider body = {.source.ptr = st, .read_callback = read_body};
    if (nghttp2_submit_response(s->ng, st->id, nv, n, st->no_body ? NULL : &body) != 0)
        nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    schedule(s); /* nghttp2 copied the names and values */
}

static void h2_send_data(struct exchange *x, const void *data, size_t len)
{
    struct h2_stream *st = stream_of(x);
    if (st->no_body || len == 0)
        return;
    buf_append(&st->out, data, len);
    resume(st);
}

static void h2_send_file(struct exchange *x, int fd, off_t off, off_t len)
{
    struct h2_stream *st = stream_of(x);
    if (st->no_body) {
        close(fd);
        return;
    }
    st->file_fd = fd;
    st->file_off = off;
    st->file_left = len;
    resume(st);
}

static void h2_finish(struct exchange *x)
{
    struct h2_stream *st = stream_of(x);
    st->ended = true;
    if (!st->no_body)
        resume(st);
}

static void h2_abort(struct exchange *x)
{
    struct h2_stream *st = stream_of(x);
    nghttp2_submit_rst_stream(st->s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    schedule(st->s);
}

static size_t h2_queued(const struct exchange *x)
{
    const struct h2_stream *st = stream_of(x);
    return st->out.len - st->out_pos + (size_t)st->file_left;
}

static const struct exchange_ops h2_ops = {
    .send_head = h2_send_head,
    .send_data = h2_send_data,
    .send_file = h2_send_file,
    .finish = h2_finish,
    .abort = h2_abort,
    .queued = h2_queued,
};

/* ---- streams -------------------------------------------------------------------------------- */

static struct h2_stream *stream_new(struct h2_session *s, int32_t id)
{
    struct h2_stream *st = calloc(1, sizeof(*st));
    if (!st)
        abort();
    st->s = s;
    st->id = id;
    st->file_fd = -1;
    st->x.ops = &h2_ops;
    st->x.srv = s->c->srv;
    st->x.protocol = "HTTP/2.0";
    st->x.peer = (const struct sockaddr *)&s->c->peer;
    st->x.local = (const struct sockaddr *)&s->c->local;
    st->x.tls = s->c->tls != NULL;
    st->x.tls_version = s->c->x.tls_version; /* set at the handshake (conn.c) */
    st->x.method = -1;
    st->x.worker_id = -1;
    body_init(&st->x.body);
    LIST_INSERT_HEAD(&s->streams, st, link);
    s->open_streams++;
    return st;
}

/* The stream's request body is complete, refused or abandoned: no more body timer for it. */
static void stream_stop_receiving(struct h2_stream *st)
{
    if (st->body_at) {
        st->body_at = 0;
        st->s->receiving--;
    }
}

static void stream_free(struct h2_stream *st)
{
    stream_stop_receiving(st);
    exchange_free(&st->x);
    if (st->file_fd >= 0)
        close(st->file_fd);
    buf_free(&st->store);
    buf_free(&st->out);
    free(st->refs);
    free(st->fields);
    struct h2_session *s = st->s;
    LIST_REMOVE(st, link);
    s->open_streams--;
    nghttp2_session_set_stream_user_data(s->ng, st->id, NULL);
    free(st);
}

static int method_of(const char *name, size_t len)
{
    static const struct {
        const char *name;
        int method;
    } methods[] = {
        {"GET", HTTP_GET}, {"HEAD", HTTP_HEAD}, {"POST", HTTP_POST}, {"PUT", HTTP_PUT},
        {"DELETE", HTTP_DELETE}, {"OPTIONS", HTTP_OPTIONS}, {"PATCH", HTTP_PATCH},
        {"CONNECT", HTTP_CONNECT}, {"TRACE", HTTP_TRACE},
    };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strlen(methods[i].name) == len && memcmp(methods[i].name, name, len) == 0)
            return methods[i].method;
    return -1; /* passed on to PHP by name */
}

static void add_field(struct h2_stream *st, const uint8_t *name, size_t name_len,
                      const uint8_t *value, size_t value_len)
{
    if (st->count == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 16;
        st->refs = realloc(st->refs, st->cap * sizeof(*st->refs));
        if (!st->refs)
            abort();
    }
    struct h2_field_ref *r = &st->refs[st->count++];
    r->name_off = (uint32_t)st->store.len;
    r->name_len = (uint32_t)name_len;
    buf_append(&st->store, name, name_len);
    buf_append_char(&st->store, '\0');
    r->value_off = (uint32_t)st->store.len;
    r->value_len = (uint32_t)value_len;
    buf_append(&st->store, value, value_len);
    buf_append_char(&st->store, '\0');
}

/* Points the exchange at the stored fields; pseudo-headers become method and target. */
static void stream_fill_exchange(struct h2_stream *st)
{
    struct exchange *x = &st->x;
    st->fields = calloc(st->count + 1, sizeof(*st->fields));
    if (!st->fields)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < st->count; i++) {
        const struct h2_field_ref *r = &st->refs[i];
        const char *name = st->store.data + r->name_off;
        const char *value = st->store.data + r->value_off;
        if (strcmp(name, ":method") == 0) {
            x->method_name = value;
            x->method = method_of(value, r->value_len);
        } else if (strcmp(name, ":path") == 0) {
            x->target = value;
            x->target_len = r->value_len;
        } else if (strcmp(name, ":authority") == 0) {
            st->fields[n++] = (struct http_field){"host", 4, value, r->value_len};
        } else if (name[0] != ':' && !(strcmp(name, "host") == 0 && st->has_authority_host)) {
            st->fields[n++] = (struct http_field){name, r->name_len, value, r->value_len};
        }
    }
    x->headers = st->fields;
    x->header_count = n;
}

static void stream_dispatch(struct h2_stream *st)
{
    if (st->dispatched)
        return;
    st->dispatched = true;
    stream_stop_receiving(st);
    if (!st->x.srv->handler) /* the main server's streams, not the internal server's */
        stats_inc(stats_global.h2_streams);
    if (st->refuse) {
        exchange_reply_status(&st->x, st->refuse);
        return;
    }
    stream_fill_exchange(st);
    size_t host_len;
    const char *host = exchange_header(&st->x, "host", &host_len);
    if (!st->x.target || !st->x.method_name || (host && !http_field_host_valid(host, host_len))) {
        exchange_reply_status(&st->x, 400);
        return;
    }
    serve_listener_request(&st->x, st->s->c->redirect);
}

/* ---- nghttp2 callbacks ------------------------------------------------------------------------ */

static struct h2_stream *stream_get(nghttp2_session *ng, int32_t id)
{
    return nghttp2_session_get_stream_user_data(ng, id);
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    struct h2_session *s = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct h2_stream *st = stream_new(s, frame->hd.stream_id);
    nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, st);
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                     size_t name_len, const uint8_t *value, size_t value_len, uint8_t flags,
                     void *user)
{
    (void)flags;
    struct h2_session *s = user;
    struct h2_stream *st = stream_get(ng, frame->hd.stream_id);
    if (!st || st->dispatched || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers are not passed on */
    const struct config *cfg = s->c->srv->cfg;
    st->list_size += name_len + value_len + H2_FIELD_OVERHEAD;
    if (st->list_size > cfg->max_header_size || st->count >= cfg->max_header_count + 4) {
        st->refuse = 431;
        return 0;
    }
    if (name_len == 5 && memcmp(name, ":path", 5) == 0 && value_len > cfg->max_uri_size) {
        st->refuse = 414;
        return 0;
    }
    if (name_len == 14 && memcmp(name, "content-length", 14) == 0) {
        char digits[24];
        snprintf(digits, sizeof(digits), "%.*s", (int)(value_len < 23 ? value_len : 23), value);
        if (strtoull(digits, NULL, 10) > cfg->max_body_size)
            st->refuse = 413;
    }
    if (name_len == 10 && memcmp(name, ":authority", 10) == 0)
        st->has_authority_host = true;
    add_field(st, name, name_len, value, value_len);
    return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *user)
{
    (void)flags;
    struct h2_session *s = user;
    struct h2_stream *st = stream_get(ng, id);
    if (!st || st->dispatched)
        return 0;
    if (st->x.body.len + len > s->c->srv->cfg->max_body_size) {
        st->refuse = 413;
        stream_dispatch(st); /* answer now; what else arrives for the stream is dropped */
        return 0;
    }
    body_append(&st->x.body, (const char *)data, len);
    st->x.has_body = true;
    if (!st->body_at)
        return 0;
    st->body_at = loop_now_ms(s->c->srv->loop);
    if (!conn_body_pace_ok(s->c, &st->x.body)) {
        st->refuse = 408;
        stream_dispatch(st);
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    struct h2_session *s = user;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    struct h2_stream *st = stream_get(ng, frame->hd.stream_id);
    if (!st)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && st->refuse) {
        stream_dispatch(st); /* refuse at once, before any body is read */
        return 0;
    }
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        stream_dispatch(st);
    else if (frame->hd.type == NGHTTP2_HEADERS && !st->dispatched && !st->body_at) {
        st->body_at = loop_now_ms(s->c->srv->loop); /* a body follows: its progress is timed */
        body_pace_start(&st->x.body, st->body_at);
        s->receiving++;
    }
    return 0;
}

/* A response answered before its request ended (408, 413): RST_STREAM NO_ERROR tells the client
   to stop sending (RFC 9113, 8.1), and the stream does not stay half-open for ever. */
static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    (void)user;
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        nghttp2_session_get_stream_remote_close(ng, frame->hd.stream_id) == 0)
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t error_code, void *user)
{
    (void)error_code;
    (void)user;
    struct h2_stream *st = stream_get(ng, id);
    if (st)
        stream_free(st); /* stops a source still producing (PHP: connection_aborted()) */
    return 0;
}

/* ---- the session ------------------------------------------------------------------------------ */

static nghttp2_session_callbacks *session_callbacks(void)
{
    static nghttp2_session_callbacks *cb;
    if (!cb && nghttp2_session_callbacks_new(&cb) == 0) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
        nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
        nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
        nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    }
    return cb;
}

int h2_start(struct conn *c)
{
    const struct config *cfg = c->srv->cfg;
    struct h2_session *s = calloc(1, sizeof(*s));
    nghttp2_option *opt;
    nghttp2_session_callbacks *cb = session_callbacks();
    if (!s || !cb || nghttp2_option_new(&opt) != 0) {
        free(s);
        return -1;
    }
    s->c = c;
    nghttp2_option_set_stream_reset_rate_limit(opt, H2_RESET_BURST, H2_RESET_RATE);
    nghttp2_option_set_max_continuations(opt, H2_MAX_CONTINUATIONS);
    int rc = nghttp2_session_server_new2(&s->ng, cb, s, opt);
    nghttp2_option_del(opt);
    if (rc != 0) {
        free(s);
        return -1;
    }
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->h2_max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, cfg->max_header_size},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, settings,
                            sizeof(settings) / sizeof(settings[0]));
    c->h2 = s;
    c->state = CONN_READING;
    if (c->srv->draining)
        h2_goaway(c);
    return 0;
}

void h2_goaway(struct conn *c)
{
    struct h2_session *s = c->h2;
    if (!s || s->goaway)
        return;
    s->goaway = true;
    /* No new streams beyond the last one seen; those open finish, then the connection closes. */
    nghttp2_submit_goaway(s->ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s->ng),
                          NGHTTP2_NO_ERROR, NULL, 0);
    schedule(s);
}

void h2_close_streams(struct conn *c)
{
    if (!c->h2)
        return;
    while (!LIST_EMPTY(&c->h2->streams))
        stream_free(LIST_FIRST(&c->h2->streams));
}

void h2_free(struct conn *c)
{
    if (!c->h2)
        return;
    h2_close_streams(c);
    nghttp2_session_del(c->h2->ng);
    free(c->h2->nv);
    buf_free(&c->h2->names);
    free(c->h2);
    c->h2 = NULL;
}

/* Idle with no stream open; body while a request body is arriving (each stream is timed on its
   own: one busy upload must not keep a stalled one alive); else no timer (responses are timed
   by the write timer when the client stops reading). */
static void arm_timer(struct h2_session *s)
{
    if (s->open_streams == 0)
        conn_set_idle(s->c, true);
    else if (s->receiving == 0)
        conn_set_idle(s->c, false);
    else if (s->c->timer_kind != CONN_TIMER_BODY)
        conn_arm(s->c, CONN_TIMER_BODY);
}

/* Frames nghttp2 has ready go into the connection's output, up to H2_OUT_HIGH. */
static int produce(struct h2_session *s)
{
    struct conn *c = s->c;
    while (c->out.len - c->out_pos < H2_OUT_HIGH) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(s->ng, &data);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        buf_append(&c->out, data, (size_t)n);
    }
    return 1; /* more may be ready */
}

void h2_step(struct conn *c)
{
    struct h2_session *s = c->h2;
    for (;;) {
        if (c->in.len > 0) {
            ssize_t n = nghttp2_session_mem_recv(s->ng, (const uint8_t *)c->in.data, c->in.len);
            buf_clear(&c->in);
            if (n < 0) {
                if (produce(s) >= 0 && conn_flush(c)) /* nghttp2's GOAWAY, best effort */
                    conn_close(c);
                else if (!c->closed)
                    conn_close(c);
                return;
            }
        }
        int more = produce(s);
        if (more < 0) {
            conn_close(c);
            return;
        }
        if (c->out_pos < c->out.len && !conn_flush(c))
            return; /* blocked: EPOLLOUT brings us back; or closed */
        bool done = s->goaway && s->open_streams == 0 && !nghttp2_session_want_write(s->ng);
        if (done || (!nghttp2_session_want_read(s->ng) && !nghttp2_session_want_write(s->ng))) {
            conn_close(c);
            return;
        }
        if (more)
            continue;
        if (c->read_pending && conn_fill(c))
            continue;
        if (!c->closed)
            arm_timer(s);
        return;
    }
}

void h2_body_timeout(struct conn *c)
{
    struct h2_session *s = c->h2;
    uint64_t now = loop_now_ms(c->srv->loop);
    uint64_t limit = (uint64_t)c->srv->cfg->idle_timeout_secs * 1000;
    uint64_t next = limit;
    struct h2_stream *st, *tmp;
    for (st = LIST_FIRST(&s->streams); st; st = tmp) {
        tmp = LIST_NEXT(st, link);
        if (!st->body_at)
            continue;
        uint64_t quiet = now - st->body_at;
        if (quiet < limit) {
            next = limit - quiet < next ? limit - quiet : next;
            continue;
        }
        conn_count_timeout(c, CONN_TIMER_BODY);
        st->refuse = 408; /* no response has started: the request was never dispatched */
        stream_dispatch(st);
    }
    if (s->receiving > 0)
        conn_arm_in(c, CONN_TIMER_BODY, next);
    schedule(s);
}
