/*
 * Deciding the answer to a request, whatever its protocol: the request target, routing, static
 * files (conditional and range requests), the PHP executor, and Kiln's own error answers.
 */
#ifndef KILN_HTTP_SERVE_H
#define KILN_HTTP_SERVE_H

struct exchange;

/* Called when the whole request has been read: produces the response on the exchange. */
void serve_request(struct exchange *x);

/*
 * HTTP_REDIRECT_ADDR: 301 to the same path and query on the HTTPS listener (port `https_port`)
 * of the host the client named. 400 when there is no Host or the target is not a clean path.
 */
void serve_https_redirect(struct exchange *x, unsigned https_port);

#endif
