/*
 * The content-coding vocabulary and the two settings written in it: the codings Kiln produces,
 * their compression levels (COMPRESSION_LEVEL) and the extra compressible media types
 * (COMPRESSION_TYPES). Pure and at the bottom layer (it includes only text.h and libc), so that
 * config stores both settings parsed and http/encoding and middleware/compress share one
 * vocabulary.
 *
 * The coding enum keeps its historical `encoding_` / `ENCODING_` names: http/serve.c and the
 * middleware use them everywhere, and renaming them is not worth touching those files.
 */
#ifndef KILN_CODING_H
#define KILN_CODING_H

#include <stdbool.h>
#include <stddef.h>

/* Codings Kiln can produce, in the server's order of preference. */
enum encoding_coding {
    ENCODING_NONE, /* identity: send the representation as it is */
    ENCODING_BR,
    ENCODING_ZSTD,
    ENCODING_GZIP,
};
#define ENCODING_COUNT 4

/* Bit of a coding in an "offered" set: ENCODING_BIT(ENCODING_BR) | ENCODING_BIT(ENCODING_GZIP). */
#define ENCODING_BIT(c) (1u << (c))
#define ENCODING_ALL                                                                           \
    (ENCODING_BIT(ENCODING_BR) | ENCODING_BIT(ENCODING_ZSTD) | ENCODING_BIT(ENCODING_GZIP))

/* Content-Encoding token of a coding ("br", "zstd", "gzip"); NULL for ENCODING_NONE. */
const char *coding_name(enum encoding_coding c);

/* Levels per coding, indexed by enum encoding_coding (ENCODING_NONE unused). */
struct coding_levels {
    int level[ENCODING_COUNT];
};

/* Accepted levels: br 0..11 (default 4), zstd 1..19 (default 3), gzip 1..9 (default 6). */
int coding_default_level(enum encoding_coding coding);
bool coding_level_valid(enum encoding_coding coding, int level);

/*
 * Parses COMPRESSION_LEVEL: comma-separated "coding=level" pairs ("br=5,gzip=9"), spaces around
 * entries allowed; codings not named keep their default; empty = all defaults. Returns 0, or
 * -1 for an unknown coding, a level out of range, a repeated coding or any other syntax error.
 */
int coding_parse_levels(const char *s, struct coding_levels *out);

/* Extra compressible types from the COMPRESSION_TYPES setting. */
#define CODING_MAX_TYPES 32
#define CODING_TYPE_MAX 128 /* bytes of one entry, with its NUL */

struct coding_types {
    unsigned count;
    char type[CODING_MAX_TYPES][CODING_TYPE_MAX]; /* lowercase "type/subtype" or "type/\*" */
};

/*
 * Parses COMPRESSION_TYPES: a comma-separated list of "type/subtype" or "type/\*" (spaces
 * around entries allowed, case-insensitive, at most CODING_MAX_TYPES). Empty = no extra
 * types. Returns 0, or -1 (and `out` unspecified) when the text is not accepted.
 */
int coding_parse_types(const char *s, struct coding_types *out);

/*
 * Whether s[0..len) is a "type/subtype" (tokens on both sides of one slash; "type/\*" too when
 * `wildcard_ok`). When it is and fits, writes it lowercased into `lower` and returns true.
 */
bool coding_media_type(const char *s, size_t len, bool wildcard_ok, char lower[CODING_TYPE_MAX]);

#endif
