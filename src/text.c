#include "text.h"

const char *text_trim(const char *s, size_t *len)
{
    while (*len > 0 && (*s == ' ' || *s == '\t'))
        s++, (*len)--;
    while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
        (*len)--;
    return s;
}
