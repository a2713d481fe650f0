/* A header field as received (name and value point into the protocol's buffers), and checks
 * of field values that do not belong to one protocol. */
#ifndef KILN_HTTP_FIELD_H
#define KILN_HTTP_FIELD_H

#include <stdbool.h>
#include <stddef.h>

struct http_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/*
 * True when `v[0..len)` is a valid Host value (RFC 9110 section 7.2): uri-host [ ":" port ],
 * where uri-host is an IP literal in brackets, an IPv4 address or a reg-name (RFC 3986). The
 * empty value is valid: RFC 9112 section 3.2 has clients send it for targets without authority.
 */
bool http_field_host_valid(const char *v, size_t len);

#endif
