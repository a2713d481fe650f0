#include "denylist.h"

#include <string.h>

#include "text.h"

/* An entry is usable when it is an absolute, normal path with at least one segment. */
static bool entry_is_valid(const char *p, size_t len)
{
    if (len < 2 || p[0] != '/' || memchr(p, '\\', len) != NULL)
        return false;
    const char *end = p + len;
    for (const char *seg = p + 1; seg < end;) { /* one trailing '/' ends the loop here */
        const char *slash = memchr(seg, '/', (size_t)(end - seg));
        size_t n = (size_t)((slash ? slash : end) - seg);
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        if (slash == NULL)
            break;
        seg = slash + 1;
    }
    return true;
}

int denylist_parse(const char *text, struct denylist *out)
{
    out->count = 0;
    const char *pos = text, *end = text + strlen(text);
    const char *entry;
    size_t len;
    if (pos == end)
        return 0;
    while (text_list_next(&pos, end, &entry, &len)) {
        if (!entry_is_valid(entry, len) || out->count == DENYLIST_MAX)
            return -1;
        if (entry[len - 1] == '/')
            len--;
        if (len >= DENYLIST_PATH_MAX)
            return -1;
        memcpy(out->path[out->count], entry, len);
        out->path[out->count][len] = '\0';
        out->len[out->count++] = len;
    }
    return 0;
}

bool denylist_match(const struct denylist *list, const char *norm)
{
    if (list == NULL)
        return false;
    for (unsigned i = 0; i < list->count; i++) {
        size_t len = list->len[i];
        if (strncmp(norm, list->path[i], len) == 0 && (norm[len] == '\0' || norm[len] == '/'))
            return true;
    }
    return false;
}
