#include "middleware/accesslog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "obs/json.h"
#include "obs/log.h"

/* ---- the line ------------------------------------------------------------------------------ */

/* A JSON string; an absent value is written as "". */
static void append_str(struct buf *b, struct str s)
{
    json_append_string(b, s.ptr ? s.ptr : "", s.ptr ? s.len : 0);
}

/* `,"name":` (one line per request: no printf on this path) */
static void append_key(struct buf *b, const char *name)
{
    buf_append_str(b, ",\"");
    buf_append_str(b, name);
    buf_append_str(b, "\":");
}

/* `,"name":"value"` */
static void append_field(struct buf *b, const char *name, struct str s)
{
    append_key(b, name);
    append_str(b, s);
}

static void append_optional(struct buf *b, const char *name, struct str s)
{
    if (s.ptr)
        append_field(b, name, s);
}

/* Appends s escaped as JSON string content, without the quotes json_append_string() adds. */
static void append_json_chars(struct buf *b, struct str s)
{
    size_t start = b->len;
    append_str(b, s);
    memmove(b->data + start, b->data + start + 1, b->len - start - 2);
    b->len -= 2;
}

static void append_msg(struct buf *b, const struct accesslog_entry *e)
{
    buf_append_str(b, ",\"msg\":\"");
    append_json_chars(b, e->method);
    buf_append_char(b, ' ');
    append_json_chars(b, e->path);
    buf_append_char(b, ' ');
    buf_append_uint(b, e->status);
    buf_append_char(b, '"');
}

static void append_ctx(struct buf *b, const struct accesslog_entry *e)
{
    buf_append_str(b, ",\"ctx\":{\"service\":");
    append_str(b, e->service);
    append_field(b, "request_id", e->request_id);
    append_field(b, "trace_id", e->trace_id);
    append_field(b, "span_id", e->span_id);
    buf_append_char(b, '}');
}

/* `,"name":1.234`: microseconds as milliseconds with 3 decimals */
static void append_ms(struct buf *b, const char *name, uint64_t us)
{
    unsigned frac = (unsigned)(us % 1000);
    append_key(b, name);
    buf_append_uint(b, us / 1000);
    char digits[4] = {'.', (char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
                      (char)('0' + frac % 10)};
    buf_append(b, digits, sizeof digits);
}

static void append_data(struct buf *b, const struct accesslog_entry *e)
{
    buf_append_str(b, ",\"data\":{\"method\":");
    append_str(b, e->method);
    append_field(b, "path", e->path);
    append_optional(b, "query", e->query);
    append_field(b, "http", e->http);
    append_key(b, "status");
    buf_append_uint(b, e->status);
    append_key(b, "bytes");
    buf_append_uint(b, e->bytes);
    append_ms(b, "duration_ms", e->duration_us);
    append_field(b, "ip", e->ip);
    append_optional(b, "ua", e->ua);
    append_optional(b, "referer", e->referer);
    append_optional(b, "xff", e->xff);
    append_optional(b, "tls", e->tls);
    append_field(b, "protocol", e->protocol);
    if (e->worker_id >= 0) {
        append_key(b, "worker_id");
        buf_append_uint(b, (unsigned)e->worker_id);
    }
    if (e->php)
        append_ms(b, "queue_wait_ms", e->queue_wait_us);
    if (e->php_begun)
        append_ms(b, "php_ms", e->php_us);
    buf_append_char(b, '}');
}

void accesslog_format(struct buf *out, const struct accesslog_entry *e)
{
    char ts[LOG_ISO_TIME_SIZE];
    log_iso_time(e->time.tv_sec, (unsigned)(e->time.tv_nsec / 1000000), ts);
    buf_append_str(out, "{\"ts\":\"");
    buf_append_str(out, ts);
    buf_append_str(out, "\",\"level\":\"info\",\"type\":\"access\"");
    append_msg(out, e);
    append_ctx(out, e);
    append_data(out, e);
    buf_append_str(out, "}\n");
}

/* ---- the writer ---------------------------------------------------------------------------- */

struct accesslog {
    int fd;
    bool is_socket; /* written with send(MSG_DONTWAIT): its flags may be shared */
    bool broken;    /* a write failed for good: every line is dropped */
    size_t max_queued;
    struct buf queue; /* whole lines; queue.data[head..len) still to write */
    size_t head;
    uint64_t dropped;
};

struct accesslog *accesslog_create(int fd, size_t max_queued)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return NULL;
    struct accesslog *al = calloc(1, sizeof(*al));
    if (!al)
        return NULL;
    al->fd = fd;
    al->is_socket = S_ISSOCK(st.st_mode);
    al->max_queued = max_queued;
    return al;
}

static size_t pending(const struct accesslog *al)
{
    return al->queue.len - al->head;
}

void accesslog_append(struct accesslog *al, const struct accesslog_entry *e)
{
    if (al->broken) {
        al->dropped++;
        return;
    }
    /* Reclaim written bytes once they are half the queue: each byte moves at most once. */
    if (al->head > 0 && al->head >= al->queue.len / 2) {
        buf_consume(&al->queue, al->head);
        al->head = 0;
    }
    size_t before = al->queue.len;
    accesslog_format(&al->queue, e);
    if (pending(al) > al->max_queued) {
        al->queue.len = before;
        al->dropped++;
    }
}

/* The next write: whole lines up to PIPE_BUF bytes, or the one line that is longer. */
static size_t batch_len(const struct accesslog *al)
{
    const char *p = al->queue.data + al->head;
    size_t n = pending(al);
    if (n <= PIPE_BUF)
        return n;
    const char *nl = memrchr(p, '\n', PIPE_BUF);
    if (!nl)
        nl = memchr(p, '\n', n);
    return nl ? (size_t)(nl - p) + 1 : n;
}

static ssize_t write_some(const struct accesslog *al, const char *p, size_t n)
{
    if (al->is_socket)
        return send(al->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    return write(al->fd, p, n);
}

static size_t count_lines(const char *p, size_t n)
{
    size_t lines = 0;
    for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        lines++;
    return lines;
}

int accesslog_flush(struct accesslog *al)
{
    while (pending(al) > 0) {
        ssize_t w = write_some(al, al->queue.data + al->head, batch_len(al));
        if (w >= 0) {
            al->head += (size_t)w;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 1;
        al->dropped += count_lines(al->queue.data + al->head, pending(al));
        al->broken = true;
        buf_free(&al->queue);
        al->head = 0;
        return -1;
    }
    buf_clear(&al->queue);
    al->head = 0;
    return 0;
}

int accesslog_pending_fd(const struct accesslog *al)
{
    return pending(al) > 0 ? al->fd : -1;
}

uint64_t accesslog_dropped(const struct accesslog *al)
{
    return al->dropped;
}

void accesslog_destroy(struct accesslog *al)
{
    if (!al)
        return;
    buf_free(&al->queue);
    free(al);
}

int accesslog_open_stdout(void)
{
    struct stat st;
    if (fstat(STDOUT_FILENO, &st) < 0)
        return -1;
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))
        return open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    return fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
}
