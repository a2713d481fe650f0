/*
 * PHP routes: builds the job (CGI variables and the buffered body) for the worker pool, and
 * passes the worker's answer on to the exchange.
 *
 * A response that ends before 64 KiB of output and before any flush() is sent whole, with its
 * length. Otherwise it streams as soon as the script flushes or the output passes 64 KiB.
 * When more than 1 MiB waits for a slow client, the worker's output is paused (back-pressure).
 */
#ifndef KILN_HTTP_DISPATCH_H
#define KILN_HTTP_DISPATCH_H

#include <stdbool.h>

#include "buf.h"

struct exchange;
struct route;
struct pool_job;

struct php_reply {
    struct pool_job *job;  /* the request at the pool, NULL when none is in progress */
    bool streaming;        /* the head has been sent; the body follows as it comes */
    struct buf pending;    /* output held back until the response is complete or streams */
    long long head_length; /* HEAD: the Content-Length the script set, or -1 */
};

/* Hands the exchange's request (its route resolved to PHP) to the worker pool. */
void dispatch_php(struct exchange *x, const struct route *route);

/* The client is gone: the worker is told (connection_aborted()) and its answer dropped. */
void dispatch_cancel(struct exchange *x);

/* The protocol wrote out what was queued: resume a worker paused for back-pressure. */
void dispatch_output_drained(struct exchange *x);

#endif
