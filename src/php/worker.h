/*
 * A PHP worker process. The php-zygote forks it and hands it its end of the socketpair; the
 * worker then serves REQUEST frames one at a time through the SAPI and answers with response
 * frames (pool/proto.h). It exits when the master closes its end, after WORKER_MAX_REQUESTS
 * requests (after sending END with PROTO_END_RETIRING), or when PHP's state may be broken.
 *
 * The socket is blocking on this side: a master that stops reading stops the script, which is
 * the back-pressure we want. Response frames are queued in one buffer and written when it
 * holds PROTO_BODY_CHUNK bytes, on flush, on FINISH/LOG/HEARTBEAT and with END, so a small
 * response costs a single write.
 *
 * A child a script forks (pcntl_fork, proc_open) is detached at once by an at-fork handler: it
 * never writes to the master, ends when its script ends, and dies with its parent. The worker
 * reaps children between requests.
 *
 * The functions below are for the SAPI while a request runs; socket errors are remembered
 * rather than returned: output is then dropped and worker_client_gone() turns true.
 */
#ifndef KILN_PHP_WORKER_H
#define KILN_PHP_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

#include "config.h"
#include "pool/proto.h"
#include "pool/scoreboard.h"

struct worker;
struct kiln_request;

/*
 * Serves requests on `sock` until it is time to exit; never returns. Each request is claimed on
 * `slot` (the begin board, pool/proto.h) before any of it runs, and skipped when the master took
 * it back; `slot` NULL runs every request. Each request begun, and an OPcache sample at most once
 * a second, are published on `score` (pool/scoreboard.h), unless it is NULL.
 */
noreturn void worker_main(int sock, const struct config *cfg, proto_slot *slot,
                          struct scoreboard_slot *score);

/* A worker whose WORKER_SCRIPT failed to boot answers 500 until this long after its start. */
#define WORKER_BOOT_BACKOFF_MS 1000

/*
 * Worker mode: waits for the next request this worker is to run (claimed on the begin board,
 * published on the scoreboard): 1 ready, 0 the master closed the socket, -1 error.
 */
int worker_next_request(struct worker *w, struct kiln_request *r);
/*
 * Sends END (PROTO_END_RETIRING when !healthy, `recycle`, the socket failed or
 * WORKER_MAX_REQUESTS is reached) and frees the request. Returns true when the worker retires.
 */
bool worker_end_request(struct worker *w, struct kiln_request *r, bool healthy, bool recycle);
/* True in a child a script forked: it must never talk to the master. */
bool worker_detached(const struct worker *w);
/* Ends the worker: closes its socket, then kiln_sapi_exit(status, clean). */
noreturn void worker_exit(struct worker *w, int status, bool clean);

/*
 * For the SAPI, after the script and before PHP's request shutdown (the request is still
 * live): takes and publishes an OPcache sample when the last one is a second old.
 */
void worker_after_script(struct worker *w);

/* One line on stderr, "kiln-worker[pid]: what: detail" (detail may be NULL), for what cannot
   reach the master's log: the protocol broke, a worker script failed before serving, a worker
   retires over WORKER_MAX_MEMORY. */
void worker_report(const char *what, const char *detail);

/* Queues response bytes (BODY frames of at most PROTO_BODY_CHUNK bytes). */
void worker_put_body(struct worker *w, const char *data, size_t len);
/* The queue, to append one whole frame to (the open BODY frame is closed first). */
struct buf *worker_frames(struct worker *w);
/* Writes everything queued now. */
void worker_send(struct worker *w);
/* Marks the queued body "flush" (PROTO_FLAG_FLUSH) and writes everything now. */
void worker_flush(struct worker *w);
/*
 * True once ABORT(seq) arrived or the socket failed. Looks at the socket without blocking,
 * and only when frames were written since the last look (a disconnect is noticed on output,
 * as in FPM).
 */
bool worker_client_gone(struct worker *w, uint32_t seq);

#endif
