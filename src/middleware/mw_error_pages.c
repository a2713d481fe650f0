/*
 * Error pages (priority 90): for a 4xx/5xx whose body is Kiln's own short answer or empty (PHP
 * sent no body), ERROR_PAGES_DIR/<status>.html replaces the body when the client accepts HTML.
 * Pages are loaded at start-up and again on SIGHUP (a failed reload keeps the pages in use).
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "http/exchange.h"
#include "middleware/chain.h"
#include "middleware/errorpages.h"
#include "obs/log.h"

struct error_pages {
    struct errorpages *pages;
    const char *dir; /* ERROR_PAGES_DIR */
};

static void error_pages_teardown(void *instance)
{
    struct error_pages *ep = instance;
    errorpages_destroy(ep->pages);
    free(ep);
}

static bool error_pages_setup(const struct mw_env *env, void **instance, char *err,
                              size_t errlen)
{
    const char *dir = env->cfg->error_pages_dir;
    if (!dir[0])
        return true;
    struct error_pages *ep = malloc(sizeof(*ep));
    if (ep)
        *ep = (struct error_pages){errorpages_create(), dir};
    if (!ep || !ep->pages) {
        free(ep);
        snprintf(err, errlen, "ERROR_PAGES_DIR: out of memory");
        return false;
    }
    int n = errorpages_load(ep->pages, dir, err, errlen);
    if (n < 0) {
        error_pages_teardown(ep);
        return false;
    }
    log_info("loaded %d error pages from %s", n, dir);
    *instance = ep;
    return true;
}

static void error_pages_reload(void *instance)
{
    struct error_pages *ep = instance;
    char err[256];
    int n = errorpages_load(ep->pages, ep->dir, err, sizeof(err));
    if (n < 0)
        log_warn("error pages not reloaded, the old ones stay: %s", err);
    else
        log_info("reloaded %d error pages from %s", n, ep->dir);
}

static void error_pages_response(void *instance, struct exchange *x, long long *length)
{
    struct error_pages *ep = instance;
    if (x->status < 400 || x->status > 599 || (!x->own_body && *length != 0))
        return;
    size_t accept_len;
    const char *accept = exchange_header(x, "Accept", &accept_len);
    if (!errorpages_accepts_html(accept, accept_len))
        return;
    size_t len;
    const char *page = errorpages_lookup(ep->pages, x->status, &len);
    if (!page)
        return;
    headers_set(&x->response_headers, "Content-Type", "text/html; charset=utf-8");
    x->override_body = page;
    x->override_len = len;
    *length = (long long)len;
}

const struct middleware middleware_error_pages = {
    .name = "error pages",
    .priority = 90,
    .setup = error_pages_setup,
    .teardown = error_pages_teardown,
    .reload = error_pages_reload,
    .response = error_pages_response,
};
