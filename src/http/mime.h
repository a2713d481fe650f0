/*
 * MIME types of static files, from a built-in table keyed by file extension (case-insensitive).
 * Unknown extensions are application/octet-stream. Text types carry no charset, as with nginx.
 */
#ifndef KILN_HTTP_MIME_H
#define KILN_HTTP_MIME_H

#include <stddef.h>

/* The type for the file name or path `name[0..len)`; never NULL. */
const char *mime_lookup(const char *name, size_t len);

#endif
