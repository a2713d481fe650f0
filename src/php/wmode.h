/*
 * Worker mode (WORKER_SCRIPT, docs/php.md "Worker mode"): the worker runs the worker script
 * once, as one long PHP request, and the script serves requests itself in a loop on
 * kiln_handle_request($handler) (alias frankenphp_handle_request). Each call waits for the next
 * REQUEST, gives the handler a fresh request (superglobals, php://input, uploads, headers,
 * status, output buffering) and finishes the response; what PHP's own request shutdown would
 * undo is undone after each request (shutdown functions, ini_set(), putenv(), $_ENV, the
 * session, error_get_last(), libxml's errors and loader), and what cannot be undone safely
 * retires the worker after its END.
 */
#ifndef KILN_PHP_WMODE_H
#define KILN_PHP_WMODE_H

#include <stdbool.h>

struct worker;

enum wmode_result {
    WMODE_DONE,        /* the script ended after kiln_handle_request() returned false */
    WMODE_BOOT_FAILED, /* it ended (error, exception, return) before its first request */
    WMODE_FAILED,      /* a fatal error in a handler, or the socket failed: PHP may be unsound */
};

/* Runs the worker script `script` (an absolute path) to its end. */
enum wmode_result wmode_run(struct worker *w, const char *script);

/*
 * kiln_handle_request(): serves one request with `handler` (a callable zval). Returns false
 * when the worker should end: the master closed the socket (reload, shutdown), the worker
 * retires (WORKER_MAX_REQUESTS, an uncaught exception, state that could not be reset), or
 * outside worker mode. A fatal error in the handler ends the script (it bails out).
 */
bool wmode_handle(void *handler);

/* Calls whose effect outlives a request unless worker mode undoes it (php/functions.c). */
enum wmode_call {
    WMODE_CALL_PUTENV = 1 << 0,         /* the environment is restored after the request */
    WMODE_CALL_LIBXML_LOADER = 1 << 1,  /* libxml_set_external_entity_loader() */
    WMODE_CALL_LIBXML_STREAMS = 1 << 2, /* libxml_set_streams_context() */
};

/* One of those functions is being called (by the boot or by a request). */
void wmode_note_call(enum wmode_call call);

#endif
