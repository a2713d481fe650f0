/*
 * The access log (ACCESS_LOG=1): one JSON line per request, in the shape of the application log
 * (obs/log.h) and of tokio_php's access log, written without ever blocking the event loop.
 *
 *   {"ts":"2026-01-15T10:50:45.123Z","level":"info","type":"access","msg":"GET /a.php 200",
 *    "ctx":{"service":"kiln","request_id":"…","trace_id":"…","span_id":"…"},
 *    "data":{"method":"GET","path":"/a.php","query":"x=1","http":"HTTP/1.1","status":200,
 *            "bytes":512,"duration_ms":1.234,"ip":"192.0.2.1","ua":"curl/8.0","referer":"…",
 *            "xff":"…","tls":"TLSv1.3","protocol":"http/1.1","worker_id":2,
 *            "queue_wait_ms":0.000,"php_ms":1.000}}
 *
 * Lines go to a bounded in-memory queue; the event loop writes it out when the fd is writable
 * (accesslog_flush(), accesslog_pending_fd()). A reader that cannot keep up costs dropped lines,
 * counted, never a stalled server or unbounded memory. Each write is whole lines of at most
 * PIPE_BUF bytes when lines allow it, so on a pipe it is atomic and never interleaves with the
 * application log lines other processes write to the same stdout.
 */
#ifndef KILN_MIDDLEWARE_ACCESSLOG_H
#define KILN_MIDDLEWARE_ACCESSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "text.h"

/* One request, as the access log sees it. Absent optional fields are left out of the line;
   absent required ones are written as "". */
struct accesslog_entry {
    struct timespec time;          /* wall clock (CLOCK_REALTIME) when the response ended */
    struct str service;  /* SERVICE_NAME */
    struct str request_id, trace_id, span_id;
    struct str method;
    struct str path;     /* raw, not decoded, without the query */
    struct str query;    /* optional: without the '?' */
    struct str http;     /* "HTTP/1.1", "HTTP/2.0" */
    unsigned status;
    uint64_t bytes;                /* body bytes sent */
    uint64_t duration_us;          /* written as milliseconds with 3 decimals */
    struct str ip;       /* the client address (see addr_client_ip()) */
    struct str ua, referer, xff; /* optional: the request headers */
    struct str tls;      /* optional: protocol version, e.g. "TLSv1.3" */
    struct str protocol; /* the wire protocol, ALPN style: "http/1.1", "h2", "h2c" */
    int worker_id;                 /* the PHP worker that answered; < 0 = none (left out) */
    bool php;                      /* a PHP request: queue_wait_us is written */
    bool php_begun;                /* a worker took it: php_us is written */
    uint64_t queue_wait_us, php_us; /* written as milliseconds with 3 decimals */
};

/* Appends the entry's line, with its '\n', to `out`. */
void accesslog_format(struct buf *out, const struct accesslog_entry *e);

/* Bound of the queue the access-log middleware uses (not a setting). */
#define ACCESSLOG_DEFAULT_MAX_QUEUED (4u << 20)

struct accesslog;

/*
 * A writer to `fd`, which must not block: a pipe, tty or file opened with O_NONBLOCK (see
 * accesslog_open_stdout()) or a socket (written with MSG_DONTWAIT). At most `max_queued` bytes
 * wait in memory; lines beyond that are dropped and counted. The fd stays the caller's.
 */
struct accesslog *accesslog_create(int fd, size_t max_queued);

/* Formats the entry and queues the line (or drops it when the queue is full). Writes nothing:
   the loop calls accesslog_flush(), once after each batch of events. */
void accesslog_append(struct accesslog *al, const struct accesslog_entry *e);

/*
 * Writes queued lines until the queue is empty (returns 0) or the fd is full (returns 1: call
 * again when accesslog_pending_fd() is writable). A write error other than "would block"
 * (reader gone, disk full) drops the queue and every later line, counted, and returns -1 once.
 */
int accesslog_flush(struct accesslog *al);

/* The fd while lines are waiting (watch it for writability), -1 when the queue is empty. */
int accesslog_pending_fd(const struct accesslog *al);

/* Lines dropped so far: queue full or fd broken. */
uint64_t accesslog_dropped(const struct accesslog *al);

/* Frees the writer; lines still queued are lost (flush first when draining). */
void accesslog_destroy(struct accesslog *al);

/*
 * An fd for stdout that is safe to write without blocking, or -1 (errno set). A pipe, FIFO or
 * terminal is opened again through /proc/self/fd/1 with O_NONBLOCK: a new open file description,
 * so fd 1 itself, shared with the PHP processes and the shell, stays blocking. A regular file
 * (never "full") or a socket (written with MSG_DONTWAIT) is duplicated as it is.
 */
int accesslog_open_stdout(void);

#endif
