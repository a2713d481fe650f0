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

void log_iso_time(time_t t, unsigned ms, char out[LOG_ISO_TIME_SIZE])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, LOG_ISO_TIME_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
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

static void format_line(struct buf *line, enum log_level level, const char *msg, size_t msg_len)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char ts[LOG_ISO_TIME_SIZE];
    log_iso_time(now.tv_sec, (unsigned)(now.tv_nsec / 1000000), ts);

    buf_printf(line, "{\"ts\":\"%s\",\"level\":\"%s\",\"type\":\"%s\",\"msg\":", ts,
               level_names[level], level == LOG_LEVEL_ERROR ? "error" : "app");
    json_append_string(line, msg, msg_len);
    buf_append_str(line, ",\"ctx\":{\"service\":");
    json_append_string(line, log_service, strlen(log_service));
    buf_append_str(line, "}}\n");
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
    format_line(&line, LOG_LEVEL_WARN, msg, (size_t)n);
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

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < log_min_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t msg_len = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;

    struct buf line = {0};
    format_line(&line, level, msg, msg_len);
    own_queue();
    enqueue(&line);
    buf_free(&line);
    log_flush();
}
