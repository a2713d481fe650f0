/*
 * A request body, buffered completely before a PHP worker sees it (so a slow client never holds
 * a worker): in memory up to BODY_MEMORY_MAX, then in an unlinked temporary file (O_TMPFILE in
 * $TMPDIR or /tmp, or a memfd when no such file system is writable) that the worker reads
 * through a passed descriptor.
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
};

void body_init(struct body *b);
void body_append(struct body *b, const char *data, size_t len);
/* Releases memory and closes the file. */
void body_reset(struct body *b);

#endif
