#include "php/wmode.h"

#include <limits.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <php.h>
#include <SAPI.h>
#include <ext/session/php_session.h>
#include <ext/standard/basic_functions.h>
#include <php_main.h>
#include <php_output.h>
#include <zend_exceptions.h>
#include <zend_ini.h>

#include "php/sapi.h"
#include "php/worker.h"

/* An ini directive the worker script changed while it booted, and its value then. */
struct boot_ini {
    zend_string *name; /* persistent copies: they outlive the script's request */
    zend_string *value;
};

static struct {
    struct worker *worker;
    const char *script;
    bool running;             /* the worker script is executing */
    bool booted;              /* it called kiln_handle_request() */
    bool stop;                /* kiln_handle_request() returned false: it always will */
    bool broken;              /* a fatal error in a handler, or the socket failed */
    unsigned request_calls;   /* enum wmode_call: by the request in flight */
    unsigned script_calls;    /* enum wmode_call: by the worker script itself */
    unsigned boot_putenv;     /* putenv() entries left by the boot */
    struct boot_ini *boot_ini;
    unsigned boot_ini_count;
    zval boot_env;            /* $_ENV as the boot left it; UNDEF while there is none */
    HashTable *script_shutdown; /* the script's shutdown functions, aside during a request */
    zend_function *libxml_clear_errors; /* libxml's functions; NULL without ext/libxml */
    zend_function *libxml_use_internal_errors;
    zend_function *libxml_set_loader;
    bool boot_libxml_internal; /* libxml_use_internal_errors() as the boot left it */
    zend_module_entry *filter; /* ext/filter, or NULL */
    struct kiln_request req;  /* the request in flight (static: a bailout crosses our frame) */
} wm;

static void report(const char *what)
{
    char subject[PATH_MAX + 16];
    snprintf(subject, sizeof subject, "WORKER_SCRIPT %s", wm.script);
    worker_report(subject, what);
}

/* ---- what the boot leaves, and how a request is put back to it --------------------------- */

static zend_function *find_function(const char *name)
{
    return zend_hash_str_find_ptr(CG(function_table), name, strlen(name));
}

/* Calls an internal function with 0 or 1 argument, for its effect. */
static bool call_function(zend_function *fn, zval *arg)
{
    zval ret;
    ZVAL_UNDEF(&ret);
    zend_call_known_function(fn, NULL, NULL, &ret, arg ? 1 : 0, arg, NULL);
    bool result = Z_TYPE(ret) == IS_TRUE;
    zval_ptr_dtor(&ret);
    return result;
}

/* $_ENV, dereferenced; NULL when the script has none (auto_globals_jit builds it on use). */
static zval *env_array(void)
{
    zval *env = zend_hash_str_find(&EG(symbol_table), "_ENV", sizeof("_ENV") - 1);
    if (!env)
        return NULL;
    ZVAL_DEINDIRECT(env);
    ZVAL_DEREF(env);
    return Z_TYPE_P(env) == IS_ARRAY ? env : NULL;
}

static void snapshot_libxml(void)
{
    wm.libxml_clear_errors = find_function("libxml_clear_errors");
    wm.libxml_use_internal_errors = find_function("libxml_use_internal_errors");
    wm.libxml_set_loader = find_function("libxml_set_external_entity_loader");
    if (!wm.libxml_clear_errors || !wm.libxml_use_internal_errors || !wm.libxml_set_loader) {
        wm.libxml_clear_errors = NULL;
        return;
    }
    zval query;
    ZVAL_NULL(&query); /* null asks without changing */
    wm.boot_libxml_internal = call_function(wm.libxml_use_internal_errors, &query);
}

static void snapshot_boot(void)
{
    HashTable *mod = EG(modified_ini_directives);
    unsigned n = mod ? zend_hash_num_elements(mod) : 0;
    wm.boot_ini = n ? calloc(n, sizeof *wm.boot_ini) : NULL;
    zend_ini_entry *e;
    if (wm.boot_ini) {
        ZEND_HASH_FOREACH_PTR(mod, e) {
            struct boot_ini *b = &wm.boot_ini[wm.boot_ini_count++];
            b->name = zend_string_dup(e->name, 1);
            b->value = e->value ? zend_string_dup(e->value, 1) : NULL;
        } ZEND_HASH_FOREACH_END();
    }
    wm.boot_putenv = zend_hash_num_elements(&BG(putenv_ht));
    zval *env = env_array();
    if (env)
        ZVAL_COPY(&wm.boot_env, env);
    snapshot_libxml();
}

static void free_boot_snapshot(void)
{
    for (unsigned i = 0; i < wm.boot_ini_count; i++) {
        zend_string_release(wm.boot_ini[i].name);
        if (wm.boot_ini[i].value)
            zend_string_release(wm.boot_ini[i].value);
    }
    free(wm.boot_ini);
    wm.boot_ini = NULL;
    wm.boot_ini_count = 0;
    zval_ptr_dtor(&wm.boot_env);
    ZVAL_UNDEF(&wm.boot_env);
}

static const struct boot_ini *boot_ini_find(const zend_string *name)
{
    for (unsigned i = 0; i < wm.boot_ini_count; i++)
        if (zend_string_equals(wm.boot_ini[i].name, name))
            return &wm.boot_ini[i];
    return NULL;
}

/*
 * ini_set() and .user.ini values of the request go back to what the boot left (PHP would undo
 * them at request shutdown). Returns false when one could not be put back.
 */
static bool restore_ini(void)
{
    HashTable *mod = EG(modified_ini_directives);
    unsigned n = mod ? zend_hash_num_elements(mod) : 0;
    if (n == 0)
        return true;
    /* restoring removes entries from the table: walk a copy */
    zend_ini_entry **list = emalloc(n * sizeof *list);
    unsigned count = 0;
    zend_ini_entry *e;
    ZEND_HASH_FOREACH_PTR(mod, e) {
        list[count++] = e;
    } ZEND_HASH_FOREACH_END();
    bool ok = true;
    for (unsigned i = 0; i < count; i++) {
        e = list[i];
        const struct boot_ini *b = boot_ini_find(e->name);
        if (!b)
            ok &= zend_restore_ini_entry(e->name, PHP_INI_STAGE_RUNTIME) == SUCCESS;
        else if (!b->value)
            ok &= e->value == NULL;
        else if (!e->value || !zend_string_equals(e->value, b->value))
            ok &= zend_alter_ini_entry_ex(e->name, b->value, PHP_INI_SYSTEM,
                                          PHP_INI_STAGE_RUNTIME, 1) == SUCCESS;
    }
    efree(list);
    return ok;
}

/*
 * putenv(): PHP records each change with the value before it and undoes them all at request
 * shutdown. Done here when the boot called putenv() for nothing; otherwise the boot's own
 * entries would be undone too, and the worker retires instead. Returns false to retire.
 */
static bool restore_env(void)
{
    if (!(wm.request_calls & WMODE_CALL_PUTENV))
        return true;
    if (wm.boot_putenv != 0)
        return false;
    zend_hash_clean(&BG(putenv_ht));
    return true;
}

/*
 * $_ENV: the boot's array again when the request changed it (a write separates it from the
 * copy kept here, so an unchanged $_ENV costs one compare). When the boot had none and the
 * request made one, it is built again from the (restored) environment and kept as the boot's.
 */
static void restore_env_array(void)
{
    zval *env = env_array();
    if (!env || (Z_TYPE(wm.boot_env) == IS_ARRAY && Z_ARR_P(env) == Z_ARR(wm.boot_env)))
        return;
    if (Z_TYPE(wm.boot_env) == IS_ARRAY) {
        zval_ptr_dtor(env);
        ZVAL_COPY(env, &wm.boot_env);
        return;
    }
    zend_auto_global *ag = zend_hash_str_find_ptr(CG(auto_globals), "_ENV", sizeof("_ENV") - 1);
    if (ag && ag->auto_global_callback)
        ag->auto_global_callback(ag->name);
    if ((env = env_array()))
        ZVAL_COPY(&wm.boot_env, env);
}

/*
 * libxml: errors kept by libxml_use_internal_errors(true) (and the last error) are cleared, the
 * internal-errors mode goes back to the boot's, and an external entity loader set by the
 * request is removed. A loader replacing the script's own, or a streams context (PHP cannot
 * unset either), retires the worker: returns false.
 */
static bool reset_libxml(void)
{
    if (!wm.libxml_clear_errors)
        return true;
    call_function(wm.libxml_clear_errors, NULL);
    zval arg;
    ZVAL_BOOL(&arg, wm.boot_libxml_internal);
    call_function(wm.libxml_use_internal_errors, &arg);
    if (wm.request_calls & WMODE_CALL_LIBXML_STREAMS)
        return false;
    if (!(wm.request_calls & WMODE_CALL_LIBXML_LOADER))
        return true;
    if (wm.script_calls & WMODE_CALL_LIBXML_LOADER)
        return false;
    ZVAL_NULL(&arg);
    call_function(wm.libxml_set_loader, &arg);
    return true;
}

/* Shutdown functions the request registered run now, as at PHP's request shutdown; the
   script's own (set aside by wmode_handle()) come back. */
static void run_request_shutdown_functions(void)
{
    php_call_shutdown_functions(); /* catches a bailout; CG(unclean_shutdown) tells */
    php_free_shutdown_functions();
    BG(user_shutdown_function_names) = wm.script_shutdown;
    wm.script_shutdown = NULL;
}

/*
 * The session: written and closed as at request shutdown, then forgotten (id, data, $_SESSION),
 * so that a request which does not call session_start() has no session and sends no cookie.
 * The save handler (session_set_save_handler() at boot) stays. False when it did not close.
 */
static bool reset_session(void)
{
    if (PS(session_status) == php_session_active)
        php_session_flush(1);
    if (!Z_ISUNDEF(PS(http_session_vars))) {
        zval_ptr_dtor(&PS(http_session_vars));
        ZVAL_UNDEF(&PS(http_session_vars));
    }
    if (PS(id)) {
        zend_string_release(PS(id));
        PS(id) = NULL;
    }
    if (PS(session_vars)) {
        zend_string_release(PS(session_vars));
        PS(session_vars) = NULL;
    }
    zend_hash_str_del(&EG(symbol_table), "_SESSION", sizeof("_SESSION") - 1);
    PS(define_sid) = 1;
    return PS(session_status) == php_session_none && PS(mod_data) == NULL;
}

static void clear_last_error(void)
{
    PG(last_error_type) = 0;
    PG(last_error_lineno) = 0;
    if (PG(last_error_message)) {
        zend_string_release(PG(last_error_message));
        PG(last_error_message) = NULL;
    }
    if (PG(last_error_file)) {
        zend_string_release(PG(last_error_file));
        PG(last_error_file) = NULL;
    }
}

/*
 * $_GET, $_POST, $_COOKIE, $_FILES, $_SERVER, $_REQUEST built again from the request bound to
 * the SAPI, as php_hash_environment() does at request start-up. With auto_globals_jit, PHP builds
 * $_SERVER and $_REQUEST when a script using them is compiled, which the handler was long ago:
 * they are built every time. $_ENV (the process's) and $GLOBALS stay.
 */
static void rebuild_superglobals(void)
{
    /* $_REQUEST lives in the symbol table only: its callback replaces it there */
    static const int tracks[] = {TRACK_VARS_GET, TRACK_VARS_POST, TRACK_VARS_COOKIE,
                                 TRACK_VARS_SERVER, TRACK_VARS_FILES};
    for (size_t i = 0; i < sizeof tracks / sizeof tracks[0]; i++) {
        zval_ptr_dtor(&PG(http_globals)[tracks[i]]);
        ZVAL_UNDEF(&PG(http_globals)[tracks[i]]);
    }
    zend_auto_global *ag;
    ZEND_HASH_FOREACH_PTR(CG(auto_globals), ag) {
        if (!ag->auto_global_callback || zend_string_equals_literal(ag->name, "_ENV") ||
            zend_string_equals_literal(ag->name, "GLOBALS"))
            continue;
        ag->armed = ag->auto_global_callback(ag->name);
    } ZEND_HASH_FOREACH_END();
}

/* What php_request_startup() opens: output_handler, else output_buffering, else implicit_flush. */
static void start_output(void)
{
    if (PG(output_handler) && PG(output_handler)[0]) {
        zval handler;
        ZVAL_STRING(&handler, PG(output_handler));
        php_output_start_user(&handler, 0, PHP_OUTPUT_HANDLER_STDFLAGS);
        zval_ptr_dtor(&handler);
    } else if (PG(output_buffering)) {
        php_output_start_user(NULL, PG(output_buffering) > 1 ? PG(output_buffering) : 0,
                              PHP_OUTPUT_HANDLER_STDFLAGS);
    } else if (PG(implicit_flush)) {
        php_output_set_implicit_flush(1);
    }
}

/*
 * ext/filter keeps its own copy of each context's input ($_SERVER, $_GET... for filter_input())
 * and frees it only at its request shutdown; the next sapi_activate() forgets it: freed here.
 */
static void release_filter_input(void)
{
    if (wm.filter && wm.filter->request_shutdown_func)
        wm.filter->request_shutdown_func(wm.filter->type, wm.filter->module_number);
}

/*
 * The request's body as PHP stored it (a temporary stream, a resource) and the php://input
 * streams reading it: PHP closes them with every resource at request shutdown, so they are
 * closed here, or each request with a body would leave them to the script's end. A php://input
 * stream kept in a global is closed too (it would read a freed body).
 */
static void release_request_body(void)
{
    php_stream *body = SG(request_info).request_body;
    if (!body)
        return;
    size_t n = 0, max = zend_hash_num_elements(&EG(regular_list));
    php_stream **inputs = max ? emalloc(max * sizeof *inputs) : NULL;
    zend_resource *res;
    ZEND_HASH_FOREACH_PTR(&EG(regular_list), res) {
        php_stream *s = res->type == php_file_le_stream() ? res->ptr : NULL;
        if (s && s != body && s->orig_path && strcasecmp(s->orig_path, "php://input") == 0)
            inputs[n++] = s;
    } ZEND_HASH_FOREACH_END();
    for (size_t i = 0; i < n; i++) /* collected first: closing changes the list */
        php_stream_close(inputs[i]);
    if (inputs)
        efree(inputs);
    php_stream_close(body);
    SG(request_info).request_body = NULL;
}

/* Closes the SAPI and output state of the context in force (the script's or a request's). */
static void close_context(void)
{
    zend_try {
        php_output_end_all();
    } zend_end_try();
    zend_try {
        php_output_deactivate();
    } zend_end_try();
    SG(post_read) = 1; /* the rest of an unread body needs no draining */
    release_request_body();
    zend_try {
        sapi_deactivate(); /* also removes the uploaded files left in their temporary place */
    } zend_end_try();
    release_filter_input();
}

/* Opens a fresh SAPI and output state for the context bound (kiln_sapi_bind/unbind). */
static void open_context(void)
{
    php_output_activate();
    PG(header_is_being_sent) = 0;
    PG(connection_status) = PHP_CONNECTION_NORMAL;
    sapi_activate(); /* reads a form body: the SAPI's activate hook */
    rebuild_superglobals();
}

/* From the worker script's context into request r's. */
static void enter_request(struct kiln_request *r)
{
    close_context();
    kiln_sapi_bind(r);
    open_context();
    if (PG(expose_php))
        sapi_add_header(SAPI_PHP_VERSION_HEADER, sizeof(SAPI_PHP_VERSION_HEADER) - 1, 1);
    start_output();
    kiln_sapi_mark_ini_buffer(r);
    EG(exit_status) = 0;
    zend_memory_reset_peak_usage();
    zend_set_timeout(EG(timeout_seconds), 0); /* max_execution_time, per request */
}

/*
 * From request r's context back to the script's; false when the worker must retire. After a
 * fatal error (`bailed`) no PHP function is called: the worker retires anyway.
 */
static bool leave_request(struct kiln_request *r, bool bailed)
{
    zend_unset_timeout();
    zend_try {
        php_output_end_all(); /* buffers the handler left open belong to its response */
    } zend_end_try();
    volatile bool clean = true;
    zend_try {
        clean = reset_session();
        clean &= bailed || reset_libxml();
    } zend_catch {
        clean = false;
    } zend_end_try();
    worker_after_script(r->worker);
    close_context();
    r->exit_status = EG(exit_status);
    clear_last_error();
    clean &= restore_ini();
    clean &= restore_env();
    restore_env_array();
    wm.request_calls = 0;
    kiln_sapi_unbind(wm.script);
    open_context();
    return clean;
}

/* ---- the handler ------------------------------------------------------------------------ */

/*
 * An exception that escaped the handler is PHP's "Uncaught ..." fatal error for this request
 * (logged with it, 500 if nothing was sent). exit() in the handler just ends the request.
 * Returns false when the worker must retire.
 */
static bool after_handler(void)
{
    if (!EG(exception))
        return true;
    bool was_exit = zend_is_unwind_exit(EG(exception));
    zend_exception_error(EG(exception), E_ERROR);
    zend_clear_exception();
    return was_exit;
}

static bool call_handler(zval *handler)
{
    zval retval;
    ZVAL_UNDEF(&retval);
    if (call_user_function(NULL, NULL, handler, &retval, 0, NULL) == FAILURE) {
        zend_throw_error(NULL, "kiln_handle_request(): the handler could not be called");
    }
    zval_ptr_dtor(&retval);
    return after_handler();
}

bool wmode_handle(void *handler)
{
    if (!wm.running || wm.stop || SG(server_context))
        return false;
    if (!wm.booted) {
        wm.booted = true;
        zend_unset_timeout(); /* the boot's max_execution_time; each request gets its own */
        snapshot_boot();
    }
    struct kiln_request *r = &wm.req;
    int rc = worker_next_request(wm.worker, r);
    if (rc <= 0) {
        wm.stop = true;
        wm.broken = rc < 0;
        return false;
    }
    volatile bool healthy = true;
    volatile bool bailed = false;
    wm.script_shutdown = BG(user_shutdown_function_names); /* the request gets its own */
    BG(user_shutdown_function_names) = NULL;
    zend_try {
        enter_request(r);
        healthy = call_handler(handler);
    } zend_catch {
        bailed = true; /* a fatal error: PHP logged it and set 500 if nothing was sent */
    } zend_end_try();
    run_request_shutdown_functions();
    /* Some fatal errors (memory_limit) are caught inside the engine, which then returns to
       us; every bailout marks the shutdown unclean. */
    if (CG(unclean_shutdown))
        bailed = true;
    if (worker_detached(wm.worker)) { /* a child forked by the handler: never talk to the master */
        wm.stop = true;
        return false;
    }
    bool clean = leave_request(r, bailed);
    if (bailed)
        r->exit_status = 255;
    bool retiring = worker_end_request(wm.worker, r, !bailed, !healthy || !clean);
    if (retiring)
        wm.stop = true;
    if (bailed) {
        wm.broken = true;
        zend_bailout(); /* the handler's frames are gone: the worker script ends here */
    }
    return !retiring;
}

void wmode_note_call(enum wmode_call call)
{
    if (!wm.running)
        return;
    if (SG(server_context))
        wm.request_calls |= call;
    else
        wm.script_calls |= call;
}

/* ---- the worker script ------------------------------------------------------------------ */

enum wmode_result wmode_run(struct worker *w, const char *script)
{
    wm.worker = w;
    wm.script = script;
    wm.filter = zend_hash_str_find_ptr(&module_registry, "filter", sizeof("filter") - 1);
    kiln_sapi_unbind(script);
    volatile enum wmode_result res = WMODE_FAILED;
    zend_first_try {
        if (php_request_startup() == SUCCESS) {
            zend_file_handle fh;
            zend_stream_init_filename(&fh, script);
            fh.primary_script = 1;
            wm.running = true;
            php_execute_script(&fh);
            wm.running = false;
            zend_destroy_file_handle(&fh);
            php_request_shutdown(NULL);
            res = !wm.booted ? WMODE_BOOT_FAILED : wm.broken ? WMODE_FAILED : WMODE_DONE;
        } else {
            res = WMODE_BOOT_FAILED;
        }
    } zend_end_try();
    wm.running = false;
    free_boot_snapshot();
    if (res == WMODE_BOOT_FAILED)
        report("ended before it served a request (see the messages above); requests get 500");
    return res;
}
