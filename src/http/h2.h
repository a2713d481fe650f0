/*
 * HTTP/2 on a connection, with libnghttp2: over TLS when ALPN chose "h2", and cleartext h2c
 * when a plain connection starts with the HTTP/2 preface (prior knowledge).
 *
 * Each stream is an exchange of its own, so two slow PHP requests on one connection run on two
 * workers at once. Flow control is nghttp2's: a response body waits in its stream until the
 * client's window opens, and a PHP worker is paused when more than 1 MiB waits (dispatch.c).
 * Limits are those of HTTP/1.1 with the same statuses: request target (414), header list size
 * and count (431), body size (413); plus SETTINGS_MAX_CONCURRENT_STREAMS
 * (H2_MAX_CONCURRENT_STREAMS), nghttp2's defences against rapid reset and CONTINUATION floods,
 * and GOAWAY on shutdown.
 */
#ifndef KILN_HTTP_H2_H
#define KILN_HTTP_H2_H

#include <stdbool.h>

struct conn;

/* Makes `c` an HTTP/2 connection; bytes already in c->in (the h2c preface) are parsed first. */
int h2_start(struct conn *c);

/* Runs the session: parses what arrived, writes what is ready, reads more; closes `c` at the end. */
void h2_step(struct conn *c);

/* The body timer fired: each stream whose request body made no progress for IDLE_TIMEOUT_SECS
   is answered 408 (counted as a body timeout); the timer is armed again for the others. */
void h2_body_timeout(struct conn *c);

/* Graceful shutdown: GOAWAY, no new streams; the connection closes when the open ones end. */
void h2_goaway(struct conn *c);

/* The connection closed: every stream ends now (PHP requests are cancelled). */
void h2_close_streams(struct conn *c);

/* Releases the session of `c`, if it has one. */
void h2_free(struct conn *c);

#endif
