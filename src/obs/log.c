#include "obs/log.h"

#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "obs/json.h"

static enum log_level log_min_level = LOG_LEVEL_INFO;
static char log_service[64] = "kiln";

#define LOG_QUEUE_SIZE (64 * 1024)
#define LOG_EXIT_WAIT_MS 1000

/* Lines not yet written. The fd's blocking mode is left alone: O_NONBLOCK would be shared with
   whoever else holds the terminal or pipe, so writability is asked with poll() instead. */
static char log_queue[LOG_QUEUE_SIZE];
static size_t log_queued;
static unsigned long log_dropped;
static pid_t log_owner; /* a forked child must not write its parent's queued lines again */

static const char *const level_names[] = {
    [LOG_LEVEL_DEBUG] = "debug",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_ERROR] = "error",
};

static void log_flush_at_exit(void);

void log_init(enum log_level min_level, const char *service)
{
    log_min_level = min_level;
    snprintf(log_service, sizeof(log_service), "%s", service);
    static bool registered;
    if (!registered)
        registered = atexit(log_flush_at_exit) == 0;
}

/* Every access-log line has a time stamp: the date and time of the last second seen are kept
   formatted (per process: each one logs from one thread), only the milliseconds change. */
static time_t iso_second = -1;
static char iso_prefix[LOG_ISO_TIME_SIZE]; /* "YYYY-MM-DDTHH:MM:SS" of iso_second */
static size_t iso_prefix_len;

void log_iso_time(time_t t, unsigned ms, char out[LOG_ISO_TIME_SIZE])
{
    if (t != iso_second) {
        struct tm tm;
        gmtime_r(&t, &tm);
        int n = snprintf(iso_prefix, sizeof iso_prefix, "%04d-%02d-%02dT%02d:%02d:%02d",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec);
        iso_prefix_len = n > 0 && (size_t)n < sizeof iso_prefix - 6 ? (size_t)n : 0;
        iso_second = t;
    }
    ms %= 1000;
    memcpy(out, iso_prefix, iso_prefix_len);
    char *p = out + iso_prefix_len;
    *p++ = '.';
    *p++ = (char)('0' + ms / 100);
    *p++ = (char)('0' + ms / 10 % 10);
    *p++ = (char)('0' + ms % 10);
    *p++ = 'Z';
    *p = '\0';
}

/* The queue is this process's: forgets lines queued by the parent before a fork. */
static void own_queue(void)
{
    pid_t pid = getpid();
    if (pid != log_owner) {
        log_owner = pid;
        log_queued = 0;
        log_dropped = 0;
    }
}

/* Writes queued bytes while stdout is writable within `timeout_ms`; false when it is not. */
static bool write_queue(int timeout_ms)
{
    while (log_queued > 0) {
        struct pollfd pfd = {.fd = STDOUT_FILENO, .events = POLLOUT};
        if (poll(&pfd, 1, timeout_ms) != 1 || !(pfd.revents & POLLOUT))
            return false;
        /* POLLOUT promises room for PIPE_BUF bytes on a pipe: a write that size cannot block,
           and whole lines up to that size are atomic, never interleaved with a worker's. */
        size_t n = log_queued < PIPE_BUF ? log_queued : PIPE_BUF;
        const char *nl = memrchr(log_queue, '\n', n);
        ssize_t w = write(STDOUT_FILENO, log_queue, nl ? (size_t)(nl + 1 - log_queue) : n);
        if (w <= 0) {
            log_queued = 0; /* stdout is gone (EPIPE, closed): nothing to wait for */
            return false;
        }
        memmove(log_queue, log_queue + w, log_queued - (size_t)w);
        log_queued -= (size_t)w;
    }
    return true;
}

/* `,"key":`, or `"key":` for the first member. */
static void append_key(struct buf *b, const char *key)
{
    if (b->len > 0)
        buf_append_char(b, ',');
    json_append_string(b, key, strlen(key));
    buf_append_char(b, ':');
}

void log_member_str(struct buf *data, const char *key, const char *value, size_t len)
{
    append_key(data, key);
    json_append_string(data, value, len);
}

void log_member_int(struct buf *data, const char *key, long long value)
{
    append_key(data, key);
    buf_printf(data, "%lld", value);
}

void log_member_bool(struct buf *data, const char *key, bool value)
{
    append_key(data, key);
    buf_append_str(data, value ? "true" : "false");
}

static void append_id(struct buf *line, const char *key, const char *value)
{
    if (!value)
        return;
    buf_printf(line, ",\"%s\":", key);
    json_append_string(line, value, strlen(value));
}

void log_format(struct buf *line, enum log_level level, const char *type, const char *msg,
                size_t msg_len, const struct log_ids *ids, const struct buf *data)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char ts[LOG_ISO_TIME_SIZE];
    log_iso_time(now.tv_sec, (unsigned)(now.tv_nsec / 1000000), ts);

    buf_printf(line, "{\"ts\":\"%s\",\"level\":\"%s\",\"type\":", ts, level_names[level]);
    json_append_string(line, type, strlen(type));
    buf_append_str(line, ",\"msg\":");
    json_append_string(line, msg, msg_len < LOG_MSG_MAX ? msg_len : LOG_MSG_MAX);
    buf_append_str(line, ",\"ctx\":{\"service\":");
    json_append_string(line, log_service, strlen(log_service));
    if (ids) {
        append_id(line, "request_id", ids->request_id);
        append_id(line, "trace_id", ids->trace_id);
        append_id(line, "span_id", ids->span_id);
    }
    buf_append_char(line, '}');
    if (data) {
        buf_append_str(line, ",\"data\":{");
        buf_append(line, data->data, data->len);
        buf_append_char(line, '}');
    }
    buf_append_str(line, "}\n");
}

static void format_line(struct buf *line, enum log_level level, const char *msg, size_t msg_len,
                        const struct buf *data)
{
    log_format(line, level, level == LOG_LEVEL_ERROR ? "error" : "app", msg, msg_len, NULL, data);
}

/* Queues a whole line or none of it: a log line is never cut. */
static void enqueue(const struct buf *line)
{
    if (line->len > LOG_QUEUE_SIZE - log_queued) {
        log_dropped++;
        return;
    }
    memcpy(log_queue + log_queued, line->data, line->len);
    log_queued += line->len;
}

/* Once the queue has drained, says how many lines were lost. */
static void report_dropped(void)
{
    if (log_dropped == 0 || log_queued > 0)
        return;
    char msg[96];
    int n = snprintf(msg, sizeof(msg), "log: %lu lines dropped (stdout too slow)", log_dropped);
    struct buf line = {0};
    format_line(&line, LOG_LEVEL_WARN, msg, (size_t)n, NULL);
    log_dropped = 0;
    enqueue(&line);
    buf_free(&line);
}

static void flush(int timeout_ms)
{
    own_queue();
    if (write_queue(timeout_ms)) {
        report_dropped();
        write_queue(timeout_ms);
    }
}

void log_flush(void)
{
    flush(0);
}

static void log_flush_at_exit(void)
{
    flush(LOG_EXIT_WAIT_MS);
}

static void log_formatted(enum log_level level, const struct buf *data, const char *fmt,
                          va_list ap)
{
    char msg[LOG_MSG_MAX + 1];
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0)
        return;
    size_t msg_len = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;

    struct buf line = {0};
    format_line(&line, level, msg, msg_len, data);
    own_queue();
    enqueue(&line);
    buf_free(&line);
    log_flush();
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < log_min_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_formatted(level, NULL, fmt, ap);
    va_end(ap);
}

void log_data(enum log_level level, const struct buf *data, const char *fmt, ...)
{
    if (level < log_min_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_formatted(level, data, fmt, ap);
    va_end(ap);
}

/* One JSON object on one line, optionally ended by its newline. */
static bool is_one_object_line(const char *text, size_t len)
{
    if (len > 0 && text[len - 1] == '\n')
        len--;
    return len >= 2 && text[0] == '{' && text[len - 1] == '}' && !memchr(text, '\n', len) &&
           !memchr(text, '\r', len) && !memchr(text, '\0', len);
}

void log_line(enum log_level level, const char *text, size_t len)
{
    if (level < log_min_level)
        return;
    if (!is_one_object_line(text, len)) {
        log_msg(level, "%.*s", (int)(len < LOG_MSG_MAX ? len : LOG_MSG_MAX), text);
        return;
    }
    struct buf line = {0};
    buf_append(&line, text, len);
    if (text[len - 1] != '\n')
        buf_append_char(&line, '\n');
    own_queue();
    enqueue(&line);
    buf_free(&line);
    log_flush();
}
