#include "text.h"

#include <string.h>

const char *text_trim(const char *s, size_t *len)
{
    while (*len > 0 && (*s == ' ' || *s == '\t'))
        s++, (*len)--;
    while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
        (*len)--;
    return s;
}

bool text_list_next(const char **pos, const char *end, const char **entry, size_t *len)
{
    const char *s = *pos;
    if (!s)
        return false;
    const char *comma = memchr(s, ',', (size_t)(end - s));
    *len = (size_t)((comma ? comma : end) - s);
    *entry = text_trim(s, len);
    *pos = comma ? comma + 1 : NULL;
    return true;
}
