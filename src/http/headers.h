/*
 * A response's header fields: an ordered list of name/value entries over one byte store, edited
 * by entry (add, find, set, remove) instead of as text. HTTP/1 serialises the list once
 * (response_add_headers), HTTP/2 builds its name/value array from it directly.
 *
 * Names keep the case they were given (HTTP/1 sends them so; HTTP/2 lower-cases them on the
 * way into nghttp2); lookups ignore case. Every name and value in the store is followed by a
 * NUL, so they can be used as C strings. The pointers headers_find() and headers_at() return
 * stay valid until the list changes. Removed entries leave their bytes in the store until
 * headers_clear(), which keeps the memory for the next response. Allocation failure is fatal
 * (abort), as everywhere `buf` is used.
 *
 * Nothing here checks what it is given: Kiln's own headers are known to be valid. Headers from
 * elsewhere (PHP) go through headers_add_checked(), the one place that validates them.
 */
#ifndef KILN_HTTP_HEADERS_H
#define KILN_HTTP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http/field.h"

struct headers_entry {
    uint32_t name_off, name_len;
    uint32_t value_off, value_len;
};

struct headers {
    struct buf store;               /* "name\0value\0" per entry */
    struct headers_entry *entries;
    size_t count, cap;
};

void headers_add(struct headers *h, const char *name, size_t name_len, const char *value,
                 size_t value_len);
/* headers_add() for a C-string name and value. */
void headers_add_str(struct headers *h, const char *name, const char *value);

/* True when `name` is a token (RFC 9110 section 5.1) and `value` has no CR, LF or NUL (other
   controls but HTAB neither); the one check for header fields Kiln did not write itself. */
bool headers_valid(const char *name, size_t name_len, const char *value, size_t value_len);
/* headers_add() if headers_valid(); false (and nothing added) otherwise. */
bool headers_add_checked(struct headers *h, const char *name, size_t name_len,
                         const char *value, size_t value_len);

/* The value of the first entry named `name` (any case), or NULL; *len is set. */
const char *headers_find(const struct headers *h, const char *name, size_t *len);
/* Removes every entry named `name`; returns how many there were. */
size_t headers_remove(struct headers *h, const char *name);
/* Replaces every entry named `name` by one with `value` (a C string), at the end. */
void headers_set(struct headers *h, const char *name, const char *value);

/* Entry `i` (0 <= i < h->count), in the order they were added. */
struct http_field headers_at(const struct headers *h, size_t i);

/* Empties the list and keeps its memory. */
void headers_clear(struct headers *h);
/* Releases the memory. */
void headers_free(struct headers *h);

#endif
