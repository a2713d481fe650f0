/*
 * Custom error pages: ERROR_PAGES_DIR/NNN.html for statuses 400..599, held in memory.
 *
 * Loaded at start-up and again on demand (SIGHUP). A load is all or nothing: if the directory or
 * any page in it cannot be read, the pages in use stay as they were, so a reload during a deploy
 * that removed or broke the directory never leaves clients with half a set. Other file names
 * (and directories or FIFOs named like pages) are ignored.
 *
 * The chain uses a page for Kiln's own error answers and PHP's empty error responses when the
 * client accepts HTML; otherwise the body is the reason phrase (response_reason()).
 */
#ifndef KILN_MIDDLEWARE_ERRORPAGES_H
#define KILN_MIDDLEWARE_ERRORPAGES_H

#include <stdbool.h>
#include <stddef.h>

/* Largest page accepted: an error page that big is a mistake, not a page. */
#define ERRORPAGES_MAX_SIZE (1u << 20)

struct errorpages;

/* An empty set (every lookup NULL); NULL if out of memory. */
struct errorpages *errorpages_create(void);

/*
 * Replaces the set with the pages of `dir`. Returns the number of pages loaded (0 for a
 * directory without any), or -1 with `err` naming the path and the reason ("cannot open
 * /srv/errors: No such file or directory"); the set is then unchanged.
 */
int errorpages_load(struct errorpages *ep, const char *dir, char *err, size_t errlen);

/* The page for `status` and its length, or NULL. Valid until the next load or destroy: copy it
   into the response before returning to the loop. */
const char *errorpages_lookup(const struct errorpages *ep, int status, size_t *len);

void errorpages_destroy(struct errorpages *ep);

/*
 * Whether a request with Accept `value[0..len)` (NULL = absent) takes an HTML page: a media
 * range text/html, text/\* or \*\/\* (any case, parameters ignored) with q > 0. The seed's rule
 * plus q=0 honoured; an absent or empty Accept does not qualify.
 */
bool errorpages_accepts_html(const char *value, size_t len);

#endif
