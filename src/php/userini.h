/*
 * Per-directory `.user.ini` files, as PHP's CGI and FPM SAPIs read them: from the document root
 * down to the script's directory, the nearer directory winning; only directives PHP allows per
 * directory (PHP_INI_PERDIR, which PHP_INI_ALL includes) take effect, at stage HTACCESS, for the
 * current request only.
 *
 * Each worker keeps the parsed files (and the knowledge that a directory has none) for
 * `user_ini.cache_ttl` seconds; `user_ini.filename` empty turns the feature off. Files are opened
 * with openat2(RESOLVE_BENEATH) from the document root: nothing outside it is read, not even
 * through a symlink.
 */
#ifndef KILN_PHP_USERINI_H
#define KILN_PHP_USERINI_H

#include <stddef.h>

/*
 * Applies the `.user.ini` files for `script` (absolute, beneath `docroot`) to the request in
 * flight. Must run inside php_request_startup() (the changes are undone at request end).
 */
void userini_apply(const char *docroot, size_t docroot_len, const char *script, size_t script_len);

/* Frees the cache; at process exit, before php_module_shutdown(). */
void userini_shutdown(void);

#endif
