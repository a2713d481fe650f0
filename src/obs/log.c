#include "obs/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "obs/json.h"

static enum log_level log_min_level = LOG_LEVEL_INFO;
static char log_service[64] = "kiln";

static const char *const level_names[] = {
    [LOG_LEVEL_DEBUG] = "debug",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_ERROR] = "error",
};

void log_init(enum log_level min_level, const char *service)
{
    log_min_level = min_level;
    snprintf(log_service, sizeof(log_service), "%s", service);
}

void log_iso_time(time_t t, unsigned ms, char out[LOG_ISO_TIME_SIZE])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, LOG_ISO_TIME_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

/* Writes the whole line, retrying on partial writes; a log line is never interleaved or cut. */
static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0)
            return;
        p += w;
        n -= (size_t)w;
    }
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

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char ts[LOG_ISO_TIME_SIZE];
    log_iso_time(now.tv_sec, (unsigned)(now.tv_nsec / 1000000), ts);

    struct buf line = {0};
    buf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"type\":\"%s\",\"msg\":", ts,
               level_names[level], level == LOG_LEVEL_ERROR ? "error" : "app");
    json_append_string(&line, msg, msg_len);
    buf_append_str(&line, ",\"ctx\":{\"service\":");
    json_append_string(&line, log_service, strlen(log_service));
    buf_append_str(&line, "}}\n");
    write_all(STDOUT_FILENO, line.data, line.len);
    buf_free(&line);
}
