/*
 * Deciding the answer to a request, whatever its protocol: the request target, routing, static
 * files (conditional and range requests), the PHP executor, and Kiln's own error answers.
 */
#ifndef KILN_HTTP_SERVE_H
#define KILN_HTTP_SERVE_H

#include <stdbool.h>

struct exchange;

/* Called when the whole request has been read: produces the response on the exchange. */
void serve_request(struct exchange *x);

/*
 * A request from a main listener, whatever its protocol (HTTP/1.x, h2c, h2): on HTTP_REDIRECT_ADDR
 * (`redirect`) a 301 to the same path and query on the HTTPS listener of the host the client
 * named (400 when there is no Host or the target is not a clean path); else serve_request().
 */
void serve_listener_request(struct exchange *x, bool redirect);

#endif
