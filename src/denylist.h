/*
 * DENY_PATHS: URL paths Kiln never serves nor runs, such as DokuWiki's data/ and conf/, which
 * an application keeps under its document root and protects with Apache's .htaccess files (that
 * Kiln, like nginx, does not read). Parsed once by config; matched by the router against the
 * normalised request path, so "/data/../conf/x" and "//conf/x" are "/conf/x".
 * Pure and at the bottom layer (text.h and libc only), so that config can store it parsed.
 */
#ifndef KILN_DENYLIST_H
#define KILN_DENYLIST_H

#include <stdbool.h>
#include <stddef.h>

#define DENYLIST_MAX 16       /* entries */
#define DENYLIST_PATH_MAX 128 /* bytes of one entry, NUL included */

struct denylist {
    unsigned count;
    size_t len[DENYLIST_MAX];
    char path[DENYLIST_MAX][DENYLIST_PATH_MAX]; /* "/data": no trailing slash */
};

/*
 * Parses a comma-separated list of absolute paths ("/data,/conf/,/install.php"); "" is the empty
 * list. An entry starts with '/', is already normal (no "//", "." or ".." segment, no '\\') and
 * is not "/" itself; one trailing '/' is dropped ("/data/" is "/data"). Returns 0, or -1 with
 * `out` unspecified.
 */
int denylist_parse(const char *text, struct denylist *out);

/*
 * True when the normalised path `norm` is an entry or lies below one: "/data" denies "/data",
 * "/data/" and "/data/pages/x.txt", not "/database.php" nor "/lib/data/x". Case-sensitive, as the
 * file system is. A NULL list denies nothing.
 */
bool denylist_match(const struct denylist *list, const char *norm);

#endif
