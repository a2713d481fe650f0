/*
 * The PHP worker pool as the master sees it.
 *
 * PHP_WORKERS workers, each a process forked by the php-zygote and reached through its own
 * socketpair; a bounded FIFO of jobs (QUEUE_CAPACITY); dispatch of the next job to any idle
 * worker; the request deadline (REQUEST_TIMEOUT from the moment a job is queued, moved by
 * kiln_request_heartbeat()); replacement of workers that exit, crash or are killed.
 *
 * A job is one PHP request. Its owner (the client connection) encodes the REQUEST frame into
 * the job, submits it, and hears back through `struct pool_job_ops` until the response is
 * complete or has failed; after either of those the pool forgets the owner and frees the job
 * itself once the worker is done with it. An owner that goes away first calls pool_job_cancel().
 */
#ifndef KILN_POOL_POOL_H
#define KILN_POOL_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "net/loop.h"
#include "pool/proto.h"

struct pool;
struct pool_job;
struct zygote_ctl;

struct pool_job_ops {
    /* The worker's HEADERS frame (status and header pairs, checked). */
    void (*on_headers)(void *owner, const struct proto_headers *headers);
    /* Response bytes; `flush` when the script asked for them to reach the client now. */
    void (*on_body)(void *owner, const uint8_t *data, size_t len, bool flush);
    /* The response is complete (FINISH or END). No callback follows. */
    void (*on_complete)(void *owner);
    /* The response cannot be completed: 502 (the worker died) or 504 (deadline passed).
       No callback follows. */
    void (*on_fail)(void *owner, int status);
};

/*
 * Creates the pool and asks the zygote for its workers. `zygote` is already started; the pool
 * watches its control socket for spawn and exit reports.
 */
struct pool *pool_create(struct loop *loop, const struct config *cfg, struct zygote_ctl *zygote);
/* Kills the workers (through the zygote) and frees everything; pending owners hear nothing. */
void pool_destroy(struct pool *pool);

/* A new job for `owner`; encode the REQUEST (and BODY frames) into pool_job_frames(). */
struct pool_job *pool_job_create(struct pool *pool, const struct pool_job_ops *ops, void *owner);
struct buf *pool_job_frames(struct pool_job *job);
/* The sequence number to put in the job's REQUEST frame. */
uint32_t pool_job_seq(const struct pool_job *job);
/* The id (0..PHP_WORKERS-1) of the worker running the job, or -1 while it waits. */
int pool_job_worker_id(const struct pool_job *job);
/* Hands a request body file to the job (sent with the REQUEST frame); the job owns it. */
void pool_job_set_body_fd(struct pool_job *job, int fd);

/* Queues the job. Returns 0, or -1 when the queue is full (503): the job is freed then. */
int pool_submit(struct pool_job *job);

/* The owner is gone: a job not yet running is freed, a running one is aborted (ABORT frame). */
void pool_job_cancel(struct pool_job *job);

/* Stops (or restarts) reading the job's response: back-pressure from a slow client. */
void pool_job_pause(struct pool_job *job, bool paused);

#endif
