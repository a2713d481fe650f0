/*
 * Deciding the answer to a parsed request: the request target, Host, routing, static files
 * (conditional and range requests), the PHP executor, and Kiln's own error answers.
 */
#ifndef KILN_HTTP_SERVE_H
#define KILN_HTTP_SERVE_H

struct conn;

/*
 * Called when a head with a body is complete, before the body is read. Returns a status to
 * refuse the request with (417 for an unknown expectation), or 0 to read the body; sends
 * "100 Continue" when the client asked for it.
 */
int serve_head(struct conn *c);

/* Called when the whole request has been read: produces the response on the connection. */
void serve_request(struct conn *c);

#endif
