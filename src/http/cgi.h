/*
 * CGI/1.1 server variables: turns one routed HTTP request into the REQUEST frame a PHP worker
 * receives, with the $_SERVER set nginx + PHP-FPM give for the same request (Debian's
 * fastcgi_params, SCRIPT_FILENAME = $document_root$fastcgi_script_name, PATH_INFO split at the
 * script). docs/php.md lists every variable with its source.
 *
 * Runs in the master; pure (no I/O, no globals). Strings in `struct cgi_input` are borrowed.
 */
#ifndef KILN_HTTP_CGI_H
#define KILN_HTTP_CGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http/field.h"
#include "obs/trace.h"
#include "pool/proto.h"

struct cgi_input {
    const char *method;        /* "GET" */
    const char *target;        /* raw request target, with the query: REQUEST_URI */
    size_t target_len;
    const char *protocol;      /* "HTTP/1.0", "HTTP/1.1" or "HTTP/2.0" (nginx's spelling) */
    const char *script_name;   /* script relative to the root, starting with '/' */
    const char *path_info;     /* decoded path after the script, "" when none */
    const char *document_root; /* absolute, resolved */
    const struct sockaddr *remote; /* client: AF_INET or AF_INET6 */
    const struct sockaddr *local;  /* local end of the client's connection */
    bool https;                /* the connection is TLS */
    /* Request headers as received; HTTP/2's :authority must be passed as "host". */
    const struct http_field *headers;
    size_t header_count;
    int64_t content_length;    /* body length; -1 when the request has no body framing */
    uint64_t start_usec;       /* arrival time (microseconds since the epoch) */
    /* REQUEST_ID, TRACE_ID, SPAN_ID and PARENT_SPAN_ID (when there is a parent); NULL = none */
    const struct trace_request *trace;
};

/*
 * Appends the REQUEST frame for `in` to `out`, with the master's `seq` and `flags`
 * (PROTO_REQ_BODY_FD, PROTO_REQ_EVENT_STREAM; PROTO_REQ_HEAD is set here from the method).
 * Returns 0, or -1 when the frame would exceed PROTO_MAX_PAYLOAD (answer 431), memory ran out
 * or the script name does not start with '/'; `out` is then unchanged.
 */
int cgi_encode_request(struct buf *out, const struct cgi_input *in, uint32_t seq,
                       uint32_t flags);

#endif
