/*
 * PHP routes on an HTTP/1.x connection: builds the job (CGI variables and the buffered body)
 * for the worker pool, and turns the worker's answer into an HTTP/1.1 response.
 *
 * A response that ends before 64 KiB of output and before any flush() is sent whole with a
 * Content-Length. Otherwise it streams as soon as the script flushes or the output passes
 * 64 KiB: chunked for HTTP/1.1 clients, delimited by closing the connection for HTTP/1.0.
 * When more than 1 MiB waits for a slow client, the worker's output is paused (back-pressure).
 */
#ifndef KILN_HTTP_DISPATCH_H
#define KILN_HTTP_DISPATCH_H

#include <stdbool.h>

#include "buf.h"

struct conn;
struct route;
struct pool_job;

struct php_reply {
    struct pool_job *job;  /* the request at the pool, NULL when none is in progress */
    int status;            /* from the worker's HEADERS; 0 before */
    bool streaming;        /* the head has been sent; the body follows as it comes */
    bool chunked;          /* streaming with chunked transfer coding */
    struct buf head;       /* headers from PHP, already formatted, until the head is sent */
    struct buf pending;    /* output held back until the response is complete or streams */
};

/* Hands the current request (its route resolved to PHP) to the worker pool. */
void dispatch_php(struct conn *c, const struct route *route);

/* The connection closes: the worker is told (connection_aborted()) and its answer dropped. */
void dispatch_cancel(struct conn *c);

/* The connection wrote out what it had: resume a worker paused for back-pressure. */
void dispatch_output_drained(struct conn *c);

#endif
