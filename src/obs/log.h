/*
 * Application log: one JSON object per line on stdout, in the shape of tokio_php's logs:
 *   {"ts":"2026-11-24T12:00:00.123Z","level":"info","type":"app","msg":"...","ctx":{"service":"kiln"}}
 * A line about one request has its ids in ctx ("request_id", "trace_id", "span_id"); a line
 * may carry a "data" object after ctx. Lines below the configured level are dropped before they
 * are formatted. A PHP worker formats its lines with log_format() and sends them to the master,
 * which queues them with log_line(): every line reaches stdout from the master, whole.
 *
 * Logging never blocks the event loop on a slow stdout: lines go to a bounded queue (64 KiB),
 * written only as far as stdout is writable at once (poll with no timeout, then writes of at
 * most PIPE_BUF bytes). When the queue is full, lines are dropped and counted, and once it has
 * drained a warning "log: N lines dropped (stdout too slow)" says how many. At exit the queue
 * is written out, waiting for stdout at most one second.
 */
#ifndef KILN_OBS_LOG_H
#define KILN_OBS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"

/* LOG_LEVEL; config.c parses it into this enum (obs/ is below config and never includes it). */
enum log_level {
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
};

void log_init(enum log_level min_level, const char *service);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* log_msg() with a "data" object: `data` holds its members, made with log_member_*(). */
void log_data(enum log_level level, const struct buf *data, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The request a line is about; NULL members are left out of ctx. */
struct log_ids {
    const char *request_id;
    const char *trace_id;
    const char *span_id;
};

/*
 * Appends one whole line, with its newline, to `line`: `type` ("app", "php", ...), the message
 * (cut at LOG_MSG_MAX bytes), ctx with the service and `ids` (NULL: none) and, when `data` is
 * not NULL, "data":{<data>}. Does not look at LOG_LEVEL: the caller decides.
 */
#define LOG_MSG_MAX 2047
void log_format(struct buf *line, enum log_level level, const char *type, const char *msg,
                size_t msg_len, const struct log_ids *ids, const struct buf *data);

/*
 * Queues a line formatted by log_format() in another process (a PHP worker's LOG frame), if
 * `level` passes LOG_LEVEL. Text that is not one JSON object on one line is logged as the
 * message of an ordinary line instead, so nothing can break the stream.
 */
void log_line(enum log_level level, const char *text, size_t len);

/* Members of a "data" object: `,"key":value` (no comma before the first). */
void log_member_str(struct buf *data, const char *key, const char *value, size_t len);
void log_member_int(struct buf *data, const char *key, long long value);
void log_member_bool(struct buf *data, const char *key, bool value);

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
