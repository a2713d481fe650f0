/*
 * A growable byte buffer: the one place Kiln appends bytes (response heads, log lines, the
 * master-worker frames). A zeroed struct is a valid empty buffer.
 *
 * Out of memory: the appends below abort, because the master cannot answer anything meaningful
 * without memory and checking every append would hide the real logic. Code that can do better
 * (the frame encoders, which a PHP worker uses and which retire it instead) grows the buffer
 * with buf_try_reserve() and reports the failure.
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
/* The same, but NULL when memory is short (the buffer is left as it was). */
char *buf_try_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_append_uint(struct buf *b, unsigned long long v);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first `n` bytes, keeping the rest (for example after a partial write). */
void buf_consume(struct buf *b, size_t n);
/* Empties the buffer but keeps its memory. */
static inline void buf_clear(struct buf *b) { b->len = 0; }
/* Releases the memory. */
void buf_free(struct buf *b);

#endif
