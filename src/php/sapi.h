/*
 * Kiln's PHP SAPI: its own sapi_module_struct, so PHP's own code does PHP's job ($_GET, $_POST,
 * $_COOKIE, $_FILES, php://input, header(), output buffering, fatal errors) exactly as under FPM.
 *
 * kiln_sapi_startup() runs once in the php-zygote (php.ini, extensions, OPcache shared memory);
 * workers forked from it run requests with kiln_sapi_execute(). PHP is NTS: one request at a
 * time per process, so the request in flight is reached through SG(server_context).
 *
 * The SAPI is called "kiln" (PHP_SAPI, php_sapi_name()). OPcache only starts for SAPI names on
 * its own list, so while the zend_extensions start (inside php_module_startup, after PHP_SAPI
 * was registered) the module carries the listed name "cli-server", and "kiln" again right after.
 */
#ifndef KILN_PHP_SAPI_H
#define KILN_PHP_SAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

#include "config.h"
#include "pool/proto.h"

struct worker;

/* One request in a worker, from its REQUEST frame to its END frame. */
struct kiln_request {
    struct worker *worker;
    struct proto_request req;  /* points into `payload` */
    uint8_t *payload;          /* our copy of the REQUEST payload; PHP may write into it */
    const char *cookie;        /* HTTP_COOKIE or NULL */
    const char *content_type;  /* CONTENT_TYPE or NULL; PHP sees it after the .user.ini files */
    const char *document_root; /* DOCUMENT_ROOT or NULL */
    const char *request_id;    /* REQUEST_ID, TRACE_ID, SPAN_ID or NULL: for PHP's log lines */
    const char *trace_id;
    const char *span_id;
    uint8_t *body;             /* body received in BODY frames, or NULL */
    uint64_t body_len;         /* bytes of body available (memory or file) */
    int body_fd;               /* body file (PROTO_REQ_BODY_FD), or -1 */
    uint64_t body_read;        /* read_post position */
    uint64_t heartbeat_max;    /* REQUEST_TIMEOUT in seconds; 0 = heartbeats refused */
    uint64_t stream_heartbeat_max; /* SSE_TIMEOUT: the same for an event stream */
    bool abort_received;       /* ABORT frame seen: the client went away */
    bool abort_reported;       /* PHP was told (php_handle_aborted_connection) */
    bool headers_sent;         /* HEADERS frame queued */
    bool finished;             /* FINISH frame queued: output is dropped from now on */
    bool detached;             /* in a fork()ed child: nothing reaches the master (finished
                                  too); PHP's log lines go to stderr */
    void *ini_buffer;          /* php.ini's output_buffering buffer while it is open, or NULL */
    int exit_status;           /* EG(exit_status) after the script */
    uint64_t peak_memory;      /* Zend MM peak of the request */
};

/*
 * Module start-up, once per process: php.ini from cfg->php_ini (or Debian's embed ini), then
 * cfg->php_ini_set as ini_entries; with cfg->php_disable_fork, pcntl_fork() and its friends
 * are removed as disable_functions does. Returns 0, or -1 with a message in `err`.
 */
int kiln_sapi_startup(const struct config *cfg, char *err, size_t errlen);

/* The longest deadline kiln_request_heartbeat() may ask for: SSE_TIMEOUT when the request is an
   event stream (asked for by the client, or the script's Content-Type), else REQUEST_TIMEOUT.
   A stream's head is sent first, so that the master knows it is one before the heartbeat. */
uint64_t kiln_sapi_heartbeat_limit(struct kiln_request *r);

/* True when OPcache survived start-up under this SAPI and opcache.enable is on. */
bool kiln_sapi_opcache_enabled(void);

/*
 * Runs one request through PHP and leaves its HEADERS, BODY and FINISH frames queued on the
 * worker (not the END). Returns false when PHP may be in an inconsistent state (start-up
 * failure, a bailout that escaped the script): the worker must then retire.
 */
bool kiln_sapi_execute(struct kiln_request *r);

/*
 * Ends a PHP process (worker or zygote) with _exit(): first php_module_shutdown() when
 * `shutdown_php` (not after a failure that may have left PHP inconsistent), then, in ASan
 * builds, a LeakSanitizer check, which exits with ASan's non-zero status on a leak.
 */
noreturn void kiln_sapi_exit(int status, bool shutdown_php);

/* For the PHP functions: the request in flight, or NULL outside a request. */
struct kiln_request *kiln_sapi_current(void);

/*
 * For flush(): true when the only output buffer open is the one php.ini's output_buffering
 * opened for the request (not one the script opened with ob_start(), which looks the same).
 */
bool kiln_sapi_in_ini_buffer(void);

/*
 * Worker mode (php/wmode.h) runs requests inside the worker script's own PHP request:
 * kiln_sapi_bind() makes r the request in flight (SG(request_info), SG(server_context)),
 * kiln_sapi_unbind() returns to the script's own context (no request: output to stderr).
 */
void kiln_sapi_bind(struct kiln_request *r);
void kiln_sapi_unbind(const char *script);
/* Marks php.ini's output_buffering buffer, once PHP opened it for r (see flush()). */
void kiln_sapi_mark_ini_buffer(struct kiln_request *r);
/* Answers r 500 (nothing of it ran), exit status 255. */
void kiln_sapi_refuse(struct kiln_request *r);
/* r failed: 500 unless headers were sent, exit status 255. */
void kiln_sapi_fail(struct kiln_request *r);

/* fastcgi_finish_request(): flushes PHP's buffers and headers, then queues FINISH. */
bool kiln_sapi_finish(struct kiln_request *r);

#endif
