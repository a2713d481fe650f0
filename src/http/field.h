/* A header field as received: name and value point into the protocol's buffers. */
#ifndef KILN_HTTP_FIELD_H
#define KILN_HTTP_FIELD_H

#include <stddef.h>

struct http_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

#endif
