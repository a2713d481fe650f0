/*
 * A growable byte buffer: the one place Kiln appends bytes (response heads, log lines, frames).
 * Allocation failure is fatal (abort): the server cannot answer anything meaningful without memory,
 * and checking every append would hide the real logic.
 */
#ifndef KILN_BUF_H
#define KILN_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

/* Makes room for `extra` more bytes; returns a pointer to the free space at data + len. */
char *buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_append_uint(struct buf *b, unsigned long long v);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first `n` bytes, keeping the rest. */
void buf_consume(struct buf *b, size_t n);
/* Empties the buffer but keeps its memory. */
static inline void buf_clear(struct buf *b) { b->len = 0; }
/* Releases the memory. */
void buf_free(struct buf *b);

#endif
