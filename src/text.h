/* Small text helpers the parsers of settings and headers share. */
#ifndef KILN_TEXT_H
#define KILN_TEXT_H

#include <stddef.h>

/* Trims spaces and tabs around s[0..*len): returns the new start and shortens *len. */
const char *text_trim(const char *s, size_t *len);

#endif
