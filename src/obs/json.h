/* Writing JSON text: just the string escaping every JSON writer in Kiln shares. */
#ifndef KILN_OBS_JSON_H
#define KILN_OBS_JSON_H

#include <stddef.h>

#include "buf.h"

/* Appends `s[0..len)` as a quoted JSON string. Bytes that are not valid UTF-8 become U+FFFD. */
void json_append_string(struct buf *b, const char *s, size_t len);

#endif
