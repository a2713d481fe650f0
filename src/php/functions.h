/*
 * The PHP functions Kiln adds, registered by the SAPI's "kiln" module:
 *
 *   kiln_finish_request(): bool         send the complete response now, keep running
 *       aliases fastcgi_finish_request(), tokio_finish_request()
 *   kiln_request_heartbeat(int $seconds = 10): bool
 *       move this request's deadline to now + $seconds (0 < $seconds <= REQUEST_TIMEOUT)
 *       alias tokio_request_heartbeat()
 *   kiln_handle_request(callable $handler): bool   worker mode: serve the next request
 *       alias frankenphp_handle_request()
 *   getallheaders(): array              the request headers, as FPM rebuilds them from HTTP_*
 *       alias apache_request_headers()
 */
#ifndef KILN_PHP_FUNCTIONS_H
#define KILN_PHP_FUNCTIONS_H

#include <php.h>

extern const zend_function_entry kiln_functions[];

/*
 * Replaces two of PHP's functions; call once, during module start-up (the standard module must
 * be started).
 * - flush() also pushes out the buffer php.ini's output_buffering puts under every script (4096
 *   bytes in Debian's ini), so what a script flushes reaches the client at once, as tokio_php
 *   promises. Buffers the script opened itself with ob_start() are left alone, as in PHP-FPM.
 * - putenv() is PHP's, and tells worker mode that the environment needs restoring (php/wmode.h).
 */
void kiln_functions_override(void);

#endif
