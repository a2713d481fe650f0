/*
 * Error pages (priority 90): for a 4xx/5xx whose body is Kiln's own short answer or empty (PHP
 * sent no body), ERROR_PAGES_DIR/<status>.html replaces the body when the client accepts HTML.
 * Pages are loaded at start-up and again on SIGHUP (a failed reload keeps the pages in use).
 */
#include <stdio.h>

#include "http/exchange.h"
#include "middleware/chain.h"
#include "middleware/errorpages.h"
#include "obs/log.h"
#include "http/server.h"

static struct errorpages *pages;
static const char *pages_dir;

static bool error_pages_setup(struct server *srv, char *err, size_t errlen)
{
    pages_dir = srv->cfg->error_pages_dir;
    if (!pages_dir[0])
        return true;
    pages = errorpages_create();
    if (!pages) {
        snprintf(err, errlen, "ERROR_PAGES_DIR: out of memory");
        return false;
    }
    int n = errorpages_load(pages, pages_dir, err, errlen);
    if (n < 0)
        return false;
    log_info("loaded %d error pages from %s", n, pages_dir);
    return true;
}

static void error_pages_reload(void)
{
    if (!pages)
        return;
    char err[256];
    int n = errorpages_load(pages, pages_dir, err, sizeof(err));
    if (n < 0)
        log_warn("error pages not reloaded, the old ones stay: %s", err);
    else
        log_info("reloaded %d error pages from %s", n, pages_dir);
}

static void error_pages_teardown(void)
{
    errorpages_destroy(pages);
    pages = NULL;
}

static void error_pages_response(struct exchange *x, long long *length)
{
    if (!pages || x->status < 400 || x->status > 599 || (!x->own_body && *length != 0))
        return;
    size_t accept_len;
    const char *accept = exchange_header(x, "Accept", &accept_len);
    if (!errorpages_accepts_html(accept, accept_len))
        return;
    size_t len;
    const char *page = errorpages_lookup(pages, x->status, &len);
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
