#include "middleware/chain.h"

#include <stdio.h>
#include <stdlib.h>

/* Sorted by priority: the request phase walks it forwards, the response phase backwards. */
static const struct middleware *const main_table[] = {
    &middleware_ratelimit,
    &middleware_accesslog,
    &middleware_trace,
    &middleware_profile,
    &middleware_static_cache,
    &middleware_error_pages,
    &middleware_compression,
};

struct chain_link {
    const struct middleware *mw;
    void *instance;
};

/* Only the middlewares that are on: the phases never look at the others. */
struct chain {
    size_t len;
    struct chain_link links[];
};

struct chain *chain_setup(const struct mw_env *env, char *err, size_t errlen)
{
    return chain_create(env, main_table, sizeof(main_table) / sizeof(main_table[0]), err, errlen);
}

struct chain *chain_create(const struct mw_env *env, const struct middleware *const *table,
                           size_t count, char *err, size_t errlen)
{
    struct chain *c = calloc(1, sizeof(*c) + count * sizeof(c->links[0]));
    if (!c) {
        snprintf(err, errlen, "middleware: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        const struct middleware *mw = table[i];
        if (i > 0 && table[i - 1]->priority > mw->priority) {
            snprintf(err, errlen, "middleware %s is out of priority order", mw->name);
            chain_teardown(c);
            return NULL;
        }
        void *instance = NULL;
        if (mw->setup && !mw->setup(env, &instance, err, errlen)) {
            chain_teardown(c);
            return NULL;
        }
        if (!mw->setup || instance)
            c->links[c->len++] = (struct chain_link){mw, instance};
    }
    return c;
}

void chain_teardown(struct chain *c)
{
    if (!c)
        return;
    for (size_t i = c->len; i-- > 0;)
        if (c->links[i].mw->teardown)
            c->links[i].mw->teardown(c->links[i].instance);
    free(c);
}

void chain_reload(struct chain *c)
{
    for (size_t i = 0; i < c->len; i++)
        if (c->links[i].mw->reload)
            c->links[i].mw->reload(c->links[i].instance);
}

bool chain_request(struct chain *c, struct exchange *x)
{
    for (size_t i = 0; i < c->len; i++)
        if (c->links[i].mw->request && c->links[i].mw->request(c->links[i].instance, x))
            return true;
    return false;
}

void chain_response(struct chain *c, struct exchange *x, long long *length)
{
    for (size_t i = c->len; i-- > 0;)
        if (c->links[i].mw->response)
            c->links[i].mw->response(c->links[i].instance, x, length);
}

void chain_done(struct chain *c, struct exchange *x)
{
    for (size_t i = c->len; i-- > 0;)
        if (c->links[i].mw->done)
            c->links[i].mw->done(c->links[i].instance, x);
}
