/*
 * A request body, buffered completely before a PHP worker sees it (so a slow client never holds
 * a worker): in memory up to BODY_MEMORY_MAX, then in an unlinked temporary file (O_TMPFILE in
 * $TMPDIR or /tmp, or a memfd when no such file system is writable) that the worker reads
 * through a passed descriptor.
 *
 * Its pace is measured as it arrives (BODY_MIN_RATE): over windows of at least IDLE_TIMEOUT_SECS,
 * checked when bytes arrive (a body that stops arriving altogether is the idle timer's).
 */
#ifndef KILN_HTTP_BODY_H
#define KILN_HTTP_BODY_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

#define BODY_MEMORY_MAX (256u * 1024)

struct body {
    struct buf mem; /* the body while it is small */
    int fd;         /* the whole body once it outgrew memory, else -1 */
    uint64_t len;
    bool failed;    /* a write to the file failed (disk full): answer 500 */
    uint64_t window_at;  /* loop time (ms) the current pace window began */
    uint64_t window_len; /* `len` then */
};

void body_init(struct body *b);
void body_append(struct body *b, const char *data, size_t len);
/* The body starts to arrive at `now_ms` (the head is complete): its first window begins. */
void body_pace_start(struct body *b, uint64_t now_ms);
/* After bytes arrived at `now_ms`: false when the window that ends now (once at least `window_ms`
   long) brought fewer than `min_rate` bytes/s on average; a new window begins then. Always true
   when `min_rate` is 0. */
bool body_pace_ok(struct body *b, uint64_t now_ms, uint64_t window_ms, uint64_t min_rate);
/* Releases memory and closes the file. */
void body_reset(struct body *b);

#endif
