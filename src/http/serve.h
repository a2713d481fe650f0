/*
 * Deciding the answer to a request, whatever its protocol: the request target, routing, static
 * files (conditional and range requests), the PHP executor, and Kiln's own error answers.
 */
#ifndef KILN_HTTP_SERVE_H
#define KILN_HTTP_SERVE_H

struct exchange;

/* Called when the whole request has been read: produces the response on the exchange. */
void serve_request(struct exchange *x);

#endif
