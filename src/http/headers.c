#include "http/headers.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static uint32_t store_string(struct buf *store, const char *s, size_t len)
{
    uint32_t off = (uint32_t)store->len;
    char *to = buf_reserve(store, len + 1);
    memcpy(to, s, len);
    to[len] = '\0';
    store->len += len + 1;
    return off;
}

void headers_add(struct headers *h, const char *name, size_t name_len, const char *value,
                 size_t value_len)
{
    if (h->count == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->entries = realloc(h->entries, h->cap * sizeof(*h->entries));
        if (!h->entries)
            abort();
    }
    struct headers_entry *e = &h->entries[h->count++];
    e->name_len = (uint32_t)name_len;
    e->name_off = store_string(&h->store, name, name_len);
    e->value_len = (uint32_t)value_len;
    e->value_off = store_string(&h->store, value, value_len);
}

void headers_add_str(struct headers *h, const char *name, const char *value)
{
    headers_add(h, name, strlen(name), value, strlen(value));
}

/* tchar (RFC 9110 section 5.6.2) */
static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

bool headers_valid(const char *name, size_t name_len, const char *value, size_t value_len)
{
    if (name_len == 0)
        return false;
    for (size_t i = 0; i < name_len; i++)
        if (!is_tchar((unsigned char)name[i]))
            return false;
    for (size_t i = 0; i < value_len; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

bool headers_add_checked(struct headers *h, const char *name, size_t name_len,
                         const char *value, size_t value_len)
{
    if (!headers_valid(name, name_len, value, value_len))
        return false;
    headers_add(h, name, name_len, value, value_len);
    return true;
}

static bool entry_named(const struct headers *h, const struct headers_entry *e, const char *name,
                        size_t len)
{
    return e->name_len == len && strncasecmp(h->store.data + e->name_off, name, len) == 0;
}

const char *headers_find(const struct headers *h, const char *name, size_t *len)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < h->count; i++) {
        const struct headers_entry *e = &h->entries[i];
        if (entry_named(h, e, name, n)) {
            *len = e->value_len;
            return h->store.data + e->value_off;
        }
    }
    *len = 0;
    return NULL;
}

size_t headers_remove(struct headers *h, const char *name)
{
    size_t n = strlen(name);
    size_t kept = 0;
    for (size_t i = 0; i < h->count; i++)
        if (!entry_named(h, &h->entries[i], name, n))
            h->entries[kept++] = h->entries[i];
    size_t removed = h->count - kept;
    h->count = kept;
    return removed;
}

void headers_set(struct headers *h, const char *name, const char *value)
{
    headers_remove(h, name);
    headers_add_str(h, name, value);
}

struct http_field headers_at(const struct headers *h, size_t i)
{
    const struct headers_entry *e = &h->entries[i];
    return (struct http_field){h->store.data + e->name_off, e->name_len,
                               h->store.data + e->value_off, e->value_len};
}

void headers_clear(struct headers *h)
{
    buf_clear(&h->store);
    h->count = 0;
}

void headers_free(struct headers *h)
{
    buf_free(&h->store);
    free(h->entries);
    h->entries = NULL;
    h->count = 0;
    h->cap = 0;
}
