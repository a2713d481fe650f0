/*
 * Content negotiation for compression: which content coding to send (Accept-Encoding, RFC 9110
 * 12.5.3), which media types are worth compressing, whether a response is already encoded.
 * Pure functions over header values; no allocation, nothing global.
 *
 * The weighted-list iterator behind Accept-Encoding is exported because Accept (error pages)
 * has the same grammar: "a;q=0.5, b;p=\"x,y\", *;q=0".
 */
#ifndef KILN_HTTP_ENCODING_H
#define KILN_HTTP_ENCODING_H

#include <stdbool.h>
#include <stddef.h>

#include "coding.h"

/* q-values are kept in thousandths: "q=0.5" is 500, no q is 1000. */
#define ENCODING_Q_MAX 1000u

/* One well-formed entry of a weighted list. `name` points into the header value. */
struct encoding_item {
    const char *name; /* token, or type/subtype for Accept; parameters excluded */
    size_t name_len;
    unsigned q;       /* 0..1000 */
};

/*
 * Iterates over a weighted list. `*pos` starts at `value` and is advanced past each entry.
 * Returns true with `item` filled for the next well-formed entry, false at the end. Empty
 * entries are skipped; malformed ones (bad token, bad q, unterminated quoted string) are
 * skipped whole, up to the next comma outside quotes. Parameters other than q are ignored.
 */
bool encoding_list_next(const char **pos, const char *end, struct encoding_item *item);

/* Whether the weighted list `value[0..len)` (Accept, Accept-Encoding; NULL = absent: false)
   names `name` (case-insensitive, exactly: no wildcard matching) with q > 0. */
bool encoding_list_names(const char *value, size_t len, const char *name);

/*
 * The coding to send for a request with Accept-Encoding `value[0..len)` (NULL when the header
 * is absent: no coding), among the codings in `offered` (ENCODING_BIT set). Highest q wins;
 * q=0 forbids; "*" gives its q to every coding not listed; "x-gzip" is "gzip"; ties go to the
 * server's preference br > zstd > gzip. A coding must also weigh at least as much as identity
 * when identity is listed (itself or through "*"): "gzip;q=0.5, identity" sends identity.
 * Returns ENCODING_NONE when nothing qualifies. Identity is sent even when the client forbids
 * it ("identity;q=0"): like nginx, Kiln does not answer 406 for that.
 */
enum encoding_coding encoding_negotiate(const char *value, size_t len, unsigned offered);

/* Content-Encoding token of a coding: coding_name(), under the name http/serve.c calls. */
const char *encoding_name(enum encoding_coding c);

/* File-name suffix of a precompressed sibling (".br", ".zst", ".gz"); NULL for ENCODING_NONE. */
const char *encoding_file_suffix(enum encoding_coding c);

/*
 * Whether a response with Content-Type `type[0..len)` (parameters allowed) is worth compressing:
 * text/\*, JSON, JavaScript, XML, any +json or +xml type (SVG, RSS, Atom, XHTML, manifests),
 * uncompressed fonts (ttf, otf, eot), plus the `extra` types (NULL = none). Images, audio,
 * video, archives, woff/woff2 and wasm are not on the list, and text/event-stream never is (not
 * even through `extra`): Server-Sent Events must reach the client as they are written.
 */
bool encoding_type_compressible(const char *type, size_t len, const struct coding_types *extra);

/* Whether a response carrying Content-Encoding `value[0..len)` (NULL = absent) is already
   encoded, so that it must not be compressed again. "identity" and an empty value are not. */
bool encoding_already_encoded(const char *value, size_t len);

#endif
