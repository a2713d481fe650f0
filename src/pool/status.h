/*
 * The /workers document: pool_worker_snapshot()'s array as JSON. The internal server calls
 * pool_worker_snapshot() and hands the result here; nothing here reads the pool itself, so the
 * shape is tested on fixed input.
 *
 *   {"workers":[{"id":0,"pid":1234,"state":"busy","started":1767225600.123,"requests":17,
 *     "mode":"classic","rss_bytes":31457280,"private_bytes":9437184,
 *     "request":{"method":"GET","uri":"/index.php?p=1","uri_truncated":false,
 *                "started":1767225601.456},
 *     "last_exit":{"reason":"crashed","status":"signal 11"}}, ...]}
 *
 * Times are Unix seconds with milliseconds. `pid` and `started` are null while not known,
 * `mode` "worker" when it runs WORKER_SCRIPT; `rss_bytes` (resident) and `private_bytes` (of
 * it, not shared with other processes: what WORKER_MAX_MEMORY limits) null when /proc could not
 * tell; `request` is null unless the worker is busy, and
 * its method and uri are null until the worker has published them (a job just sent); `last_exit`
 * is null until a process in the slot has ended, its `status` ("exit N" or "signal N") null
 * when the master ended the process before its status was known.
 */
#ifndef KILN_POOL_STATUS_H
#define KILN_POOL_STATUS_H

#include <stddef.h>

#include "buf.h"
#include "pool/pool.h"

void pool_status_workers_json(const struct pool_worker_info *workers, size_t count,
                              struct buf *out);

#endif
