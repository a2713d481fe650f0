/* Small text helpers the parsers of settings and headers share. */
#ifndef KILN_TEXT_H
#define KILN_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A string view: bytes that need not be NUL-terminated (they usually point into a request).
   ptr NULL = absent. */
struct str {
    const char *ptr;
    size_t len;
};

/* The view of a C string; NULL gives the absent view. */
static inline struct str text_str(const char *s)
{
    return (struct str){s, s ? strlen(s) : 0};
}

/* RFC 9110 5.6.2 token characters. */
bool text_is_tchar(char c);

/* Past the token characters starting at p, up to end. */
const char *text_skip_token(const char *p, const char *end);

/* Whether s[0..len) ends with `suffix`, ASCII case ignored. */
bool text_ends_with_nocase(const char *s, size_t len, const char *suffix);

/* The value of hex digit c (either case), or -1. */
int text_hex_value(char c);

/* unreserved / sub-delims (RFC 3986 section 2): what a URI component carries unescaped. */
bool text_is_uri_plain(char c);

/* OWS (RFC 9110 5.6.3): a space or a tab. */
static inline bool text_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Past the spaces and tabs starting at p, up to end. */
const char *text_skip_ows(const char *p, const char *end);

/* Trims spaces and tabs around s[0..*len): returns the new start and shortens *len. */
const char *text_trim(const char *s, size_t *len);

/*
 * Walks a comma-separated list in [*pos, end): the next entry, trimmed, in *entry and *len, and
 * *pos moves past it (NULL after the last one). Empty entries ("a,,b", "a,") are returned, empty,
 * so that the caller can refuse them. Returns false when the list is done.
 */
bool text_list_next(const char **pos, const char *end, const char **entry, size_t *len);

/* Whether s[0..len) holds a control character (below 0x20, or DEL). */
bool text_has_control(const char *s, size_t len);

/* FNV-1a, 64 bit, of s[0..len): the hash of the caches' keys (stat cache, compressed files). */
uint64_t text_hash(const char *s, size_t len);

#endif
