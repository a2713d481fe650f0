/*
 * Application log: one JSON object per line on stdout, in the shape of tokio_php's logs:
 *   {"ts":"2026-11-24T12:00:00.123Z","level":"info","type":"app","msg":"...","ctx":{"service":"kiln"}}
 * Lines below the configured level are dropped before they are formatted.
 *
 * Logging never blocks the event loop on a slow stdout: lines go to a bounded queue (64 KiB),
 * written only as far as stdout is writable at once (poll with no timeout, then writes of at
 * most PIPE_BUF bytes). When the queue is full, lines are dropped and counted, and once it has
 * drained a warning "log: N lines dropped (stdout too slow)" says how many. At exit the queue
 * is written out, waiting for stdout at most one second.
 */
#ifndef KILN_OBS_LOG_H
#define KILN_OBS_LOG_H

#include <time.h>

/* LOG_LEVEL; config.c parses it into this enum (obs/ is below config and never includes it). */
enum log_level {
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
};

void log_init(enum log_level min_level, const char *service);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes what stdout takes now from the queue, without waiting (log_msg does it too). */
void log_flush(void);

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

/* Room for "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 characters) whatever the year. */
#define LOG_ISO_TIME_SIZE 48

/* Formats `t` (Unix seconds) and `ms` as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void log_iso_time(time_t t, unsigned ms, char out[LOG_ISO_TIME_SIZE]);

#endif
