/*
 * HTTP/1.x on a connection: parsing with http1 (llhttp), one exchange at a time, responses in
 * request order (nothing more is parsed while one is produced or written), 100-continue, the
 * Host check, chunked or length-delimited bodies, and keep-alive. It uses the connection's
 * transport (http/conn.h) as http/h2.c does, and drives the READING and RESPONDING states.
 */
#ifndef KILN_HTTP_H1_H
#define KILN_HTTP_H1_H

#include <stdbool.h>

struct conn;

/* Gets a new connection's exchange and parser ready. */
void h1_init(struct conn *c);

/* One step in READING (parse, read more) or RESPONDING (write, then the next request). True if
   the state may have changed and the connection should step again; false to wait for an event. */
bool h1_step(struct conn *c);

/* Answers a request that cannot be parsed or is refused before it was read; always closes. */
void h1_fail(struct conn *c, int status);

/* The connection closed: the request in progress ends now (its source is stopped). */
void h1_close(struct conn *c);

/* Releases the parser and the exchange. */
void h1_free(struct conn *c);

#endif
