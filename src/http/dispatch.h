/*
 * PHP routes: builds the job (CGI variables and the buffered body) for the worker pool, and
 * passes the worker's answer on to the exchange.
 *
 * A response that ends before 64 KiB of output and before any flush() is sent whole, with its
 * length. Otherwise it streams as soon as the script flushes or the output passes 64 KiB.
 * When more than 1 MiB waits for a slow client, the worker's output is paused (back-pressure).
 *
 * A PHP request is the exchange's source (http/exchange.h): the protocols stop it when the
 * client goes and resume it when the output has drained, without knowing it is PHP.
 */
#ifndef KILN_HTTP_DISPATCH_H
#define KILN_HTTP_DISPATCH_H

struct exchange;
struct route;

/* Hands the exchange's request (its route resolved to PHP) to the worker pool. */
void dispatch_php(struct exchange *x, const struct route *route);

#endif
