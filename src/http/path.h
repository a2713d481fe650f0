/*
 * Request-target path decoding and normalisation.
 *
 * Turns the path part of a request target (before '?', still percent-encoded) into a clean
 * absolute path that can be appended to the document root: percent escapes decoded, "." and ".."
 * segments resolved, runs of '/' collapsed. Anything that cannot be made safe is rejected rather
 * than repaired: a bad escape, an encoded or raw NUL, a backslash, a ".." that would climb above
 * the root, a path that does not start with '/'.
 */
#ifndef KILN_HTTP_PATH_H
#define KILN_HTTP_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/*
 * Normalises `in[0..len)` into `out` (at least len + 1 bytes; the result is never longer than
 * the input) and NUL-terminates it. The result starts with '/', has no "//", "/./" or "/../",
 * and keeps a trailing '/' when the input named a directory ("/a/" , "/a/." and "/a/b/.." all
 * end in '/'). Returns the length written, or -1 if the path is rejected.
 */
ssize_t path_normalize(const char *in, size_t len, char *out);

/*
 * Appends the normalised path `norm` to `out` as the path of a URL: every byte other than
 * unreserved, sub-delims, ':', '@' and '/' is percent-encoded. A normalised path never holds
 * "//" or a backslash, so the result can never be read as another host ("//host", "/\\host").
 */
void path_encode(const char *norm, struct buf *out);

/*
 * True when a segment of the normalised path starts with '.' ("/.env", "/.git/config",
 * "/a/.htaccess"): such files are never served. "/.well-known/..." is allowed (ACME, security.txt).
 */
bool path_is_hidden(const char *norm);

/* True when `name` ends in ".php", compared case-insensitively (so "x.PHP" is never sent as text). */
bool path_has_php_ext(const char *name, size_t len);

#endif
