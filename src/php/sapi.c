#include "php/sapi.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include <php.h>
#include <SAPI.h>
#include <ext/standard/head.h>
#include <php_ini_builder.h>
#include <php_main.h>
#include <php_output.h>
#include <php_variables.h>
#include <zend_extensions.h>
#include <zend_ini.h>

#include "obs/log.h"
#include "php/functions.h"
#include "php/userini.h"
#include "php/worker.h"
#include "text.h"

#if defined(__SANITIZE_ADDRESS__)
#define KILN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KILN_ASAN 1
#endif
#endif
#ifdef KILN_ASAN
#include <dlfcn.h>
#include <sanitizer/lsan_interface.h>
#endif

#if PHP_VERSION_ID < 80200 || PHP_VERSION_ID >= 80300
#error "Kiln's SAPI is written against the PHP 8.2 API (see docs/php.md)"
#endif

#ifdef KILN_ASAN
/*
 * libphp loads extensions (php.ini's extension= and zend_extension=, OPcache among them) with
 * dlopen(RTLD_DEEPBIND), which ASan refuses outright. In ASan builds this definition, which
 * takes precedence over libc's for libphp's calls, drops the flag.
 */
void *dlopen(const char *file, int mode)
{
    static void *(*next_dlopen)(const char *, int);
    if (!next_dlopen)
        next_dlopen = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
    return next_dlopen(file, mode & ~RTLD_DEEPBIND);
}

/*
 * PHP may end the process with exit() while it starts: OPcache's fatal errors do (a missing
 * opcache.preload_user, no shared memory), and with opcache.preload and euid 0, OPcache forks a
 * child during start-up that runs the preload script as opcache.preload_user and ends with
 * exit(0 or 1). LeakSanitizer's exit-time check would report PHP's start-up allocations there,
 * none of them freed since PHP never shut down, and replace the exit status; OPcache then reads
 * the preload child's status as a failed preload, and start-up fails. So a process (the zygote,
 * or a child forked during start-up) that leaves while PHP starts does so through _exit() with
 * the status it chose. Handlers registered later run first: this one runs before LSan's.
 * Workers inherit it with in_module_startup false, and keep their leak check.
 */
static bool in_module_startup;

static void exit_during_startup(int status, void *arg)
{
    (void)arg;
    if (in_module_startup)
        _exit(status);
}

static void asan_startup_begin(void)
{
    static bool registered;
    if (!registered)
        registered = on_exit(exit_during_startup, NULL) == 0;
    in_module_startup = true;
}

static void asan_startup_end(void)
{
    in_module_startup = false;
}
#else
static void asan_startup_begin(void)
{
}

static void asan_startup_end(void)
{
}
#endif

#define KILN_SAPI_NAME "kiln"
#define OPCACHE_SAPI_NAME "cli-server" /* on OPcache's list of SAPIs it starts for */

static char *ini_entries; /* cfg->php_ini_set as "key=value\n" lines; malloc'd by PHP's builder */
static bool disable_fork;  /* cfg->php_disable_fork */

/* What PHP_DISABLE_FORK removes: the functions that fork or replace the worker itself. */
#define FORK_FUNCTIONS "pcntl_fork,pcntl_rfork,pcntl_exec,pcntl_unshare"

/* ---- module start-up ------------------------------------------------------------------- */

/* Runs between PHP_SAPI's registration and the zend_extensions' start-up (OPcache's). */
static zend_result kiln_minit(INIT_FUNC_ARGS)
{
    (void)type;
    (void)module_number;
    sapi_module.name = OPCACHE_SAPI_NAME;
    kiln_functions_override();
    /* every module's functions are registered by now, pcntl's too, even as a shared extension */
    if (disable_fork)
        zend_disable_functions(FORK_FUNCTIONS);
    return SUCCESS;
}

static zend_module_entry kiln_module_entry = {
    .size = sizeof(zend_module_entry),
    .zend_api = ZEND_MODULE_API_NO,
    .zend_debug = ZEND_DEBUG,
    .zts = USING_ZTS,
    .name = "kiln",
    .functions = kiln_functions,
    .module_startup_func = kiln_minit,
    .version = KILN_VERSION,
    .build_id = ZEND_MODULE_BUILD_ID,
};

static int kiln_startup(sapi_module_struct *module)
{
    return php_module_startup(module, &kiln_module_entry);
}

/* ---- output ----------------------------------------------------------------------------- */

static void write_stderr(const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, s, len);
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

/*
 * Tells PHP once that the client went away, as FPM does on a failed write: connection_aborted()
 * turns true, output is disabled, and the script is stopped unless ignore_user_abort is set.
 * Our bookkeeping is done before: php_handle_aborted_connection() may longjmp.
 */
static void check_client(struct kiln_request *r)
{
    if (!r->abort_received && worker_client_gone(r->worker, r->req.head.seq))
        r->abort_received = true;
    if (r->abort_received && !r->abort_reported) {
        r->abort_reported = true;
        php_handle_aborted_connection();
    }
}

static bool is_head(const struct kiln_request *r)
{
    return r->req.head.flags & PROTO_REQ_HEAD;
}

#define EVENT_STREAM "text/event-stream"

static bool is_event_stream(const struct kiln_request *r)
{
    if (r->req.head.flags & PROTO_REQ_EVENT_STREAM)
        return true;
    const char *type = SG(sapi_headers).mimetype;
    return type && strncasecmp(type, EVENT_STREAM, sizeof(EVENT_STREAM) - 1) == 0;
}

uint64_t kiln_sapi_heartbeat_limit(struct kiln_request *r)
{
    if (!is_event_stream(r))
        return r->heartbeat_max;
    if (!SG(headers_sent))
        php_header();
    return r->stream_heartbeat_max;
}

static size_t kiln_ub_write(const char *str, size_t len)
{
    struct kiln_request *r = SG(server_context);
    if (!r) { /* start-up messages, outside any request */
        write_stderr(str, len);
        return len;
    }
    /* after fastcgi_finish_request() output is dropped silently; HEAD never has a body */
    if (r->finished || r->abort_reported || is_head(r))
        return len;
    worker_put_body(r->worker, str, len);
    check_client(r);
    return len;
}

static void kiln_flush(void *server_context)
{
    struct kiln_request *r = server_context;
    if (!r || r->finished || r->abort_reported)
        return;
    if (!SG(headers_sent))
        sapi_send_headers();
    if (is_head(r))
        worker_send(r->worker);
    else
        worker_flush(r->worker);
    check_client(r);
}

/* ---- headers ---------------------------------------------------------------------------- */

struct header_line {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* Splits "Name: value"; false for lines PHP should never have produced. */
static bool split_header(const sapi_header_struct *h, struct header_line *out)
{
    const char *colon = memchr(h->header, ':', h->header_len);
    if (!colon || memchr(h->header, '\0', h->header_len))
        return false;
    const char *end = h->header + h->header_len;
    out->name = h->header;
    out->name_len = (size_t)(colon - h->header);
    while (out->name_len && text_is_ows(out->name[out->name_len - 1]))
        out->name_len--;
    out->value = colon + 1;
    while (out->value < end && text_is_ows(*out->value))
        out->value++;
    out->value_len = (size_t)(end - out->value);
    return out->name_len > 0;
}

static bool line_is(const struct header_line *l, const char *name)
{
    return l->name_len == strlen(name) && strncasecmp(l->name, name, l->name_len) == 0;
}

static void send_log(struct kiln_request *r, enum log_level level, const char *type,
                     const char *msg, size_t len, const struct buf *data);

/*
 * A warning for Kiln's log. Not php_error_docref(): with display_errors on, its text would be
 * output while the HEADERS frame is being built.
 */
static void log_warning(struct kiln_request *r, const char *text)
{
    send_log(r, LOG_LEVEL_WARN, "app", text, strlen(text), NULL);
}

/* As FPM: a CGI "Status: 404 ..." header wins over http_response_code(). */
static int response_status(struct kiln_request *r, sapi_headers_struct *headers)
{
    int status = headers->http_response_code ? headers->http_response_code : 200;
    zend_llist_position pos;
    for (sapi_header_struct *h = zend_llist_get_first_ex(&headers->headers, &pos); h;
         h = zend_llist_get_next_ex(&headers->headers, &pos)) {
        struct header_line l;
        if (split_header(h, &l) && line_is(&l, "Status")) {
            int code = atoi(l.value);
            if (code > 0)
                status = code;
            break;
        }
    }
    if (status < 100 || status > 999) {
        log_warning(r, "PHP set an HTTP status outside 100-999; sending 500");
        status = 500;
    }
    return status;
}

static void queue_status_only(struct kiln_request *r, int status)
{
    struct proto_builder pb;
    proto_headers_begin(&pb, worker_frames(r->worker), (uint32_t)status, 0);
    proto_builder_end(&pb);
    r->headers_sent = true;
}

static int kiln_send_headers(sapi_headers_struct *headers)
{
    struct kiln_request *r = SG(server_context);
    if (!r || r->finished)
        return SAPI_HEADER_SENT_SUCCESSFULLY;
    int status = response_status(r, headers);
    struct proto_builder pb;
    proto_headers_begin(&pb, worker_frames(r->worker), (uint32_t)status, 0);
    zend_llist_position pos;
    for (sapi_header_struct *h = zend_llist_get_first_ex(&headers->headers, &pos); h;
         h = zend_llist_get_next_ex(&headers->headers, &pos)) {
        struct header_line l;
        if (!split_header(h, &l) || line_is(&l, "Status") ||
            (status == 304 && line_is(&l, "Content-Type")))
            continue;
        /* PHP's engine writes every Content-Type it sets (its default, header()) as
           "Content-type"; send the canonical casing, as nginx does. */
        if (line_is(&l, "Content-Type"))
            l.name = "Content-Type";
        proto_builder_add(&pb, l.name, l.name_len, l.value, l.value_len);
    }
    if (proto_builder_end(&pb) < 0) {
        log_warning(r, "response headers too large; sending 500");
        queue_status_only(r, 500);
    }
    r->headers_sent = true;
    return SAPI_HEADER_SENT_SUCCESSFULLY;
}

/* ---- input ------------------------------------------------------------------------------ */

static size_t kiln_read_post(char *buf, size_t count)
{
    struct kiln_request *r = SG(server_context);
    if (!r || r->body_read >= r->body_len)
        return 0;
    uint64_t left = r->body_len - r->body_read;
    size_t n = count < left ? count : (size_t)left;
    if (r->body) {
        memcpy(buf, r->body + r->body_read, n);
    } else {
        ssize_t got = pread(r->body_fd, buf, n, (off_t)r->body_read);
        if (got <= 0) {
            r->body_len = r->body_read; /* a short file ends the body */
            return 0;
        }
        n = (size_t)got;
    }
    r->body_read += n;
    return n;
}

static char *kiln_read_cookies(void)
{
    struct kiln_request *r = SG(server_context);
    return r ? (char *)r->cookie : NULL;
}

static void kiln_register_variables(zval *track_vars)
{
    struct kiln_request *r = SG(server_context);
    if (!r)
        return;
    struct proto_pair_iter it;
    struct proto_pair p;
    proto_pair_iter_init(&it, r->req.vars, r->req.vars_len);
    while (proto_pair_next(&it, &p)) {
        char *value = (char *)p.value;
        size_t len = p.value_len;
        /* ext/filter's hook (filter.default, filter_input(INPUT_SERVER)) sees every value */
        if (sapi_module.input_filter(PARSE_SERVER, p.name, &value, len, &len))
            php_register_variable_safe(p.name, value, len, track_vars);
    }
}

/* getenv() answers from the request's CGI variables first, as under FPM. */
static char *kiln_getenv(const char *name, size_t name_len)
{
    struct kiln_request *r = SG(server_context);
    if (!r)
        return NULL;
    struct proto_pair_iter it;
    struct proto_pair p;
    proto_pair_iter_init(&it, r->req.vars, r->req.vars_len);
    while (proto_pair_next(&it, &p)) {
        if (p.name_len == name_len && memcmp(p.name, name, name_len) == 0)
            return (char *)p.value;
    }
    return NULL;
}

static zend_result kiln_get_request_time(double *request_time)
{
    struct kiln_request *r = SG(server_context);
    if (!r || r->req.head.start_usec == 0)
        return FAILURE;
    *request_time = (double)r->req.head.start_usec / 1e6;
    return SUCCESS;
}

/* ---- logging and request end ------------------------------------------------------------- */

/*
 * PHP's messages become JSON lines (obs/log.h) of type "php", formatted here and sent to the
 * master in LOG frames: the master writes every line to stdout whole, so a worker's line is
 * never cut or mixed with another. php_error_cb() reports an error through log_message as the
 * text "PHP Warning:  <message> in <file> on line <n>"; kiln_error_cb() keeps the parts while
 * it runs, so the line carries them as fields. Anything else (error_log()) has the file and
 * line being executed.
 */
static struct {
    int type;               /* the error php_error_cb() is reporting; 0 = none */
    zend_string *file;
    uint32_t line;
    zend_string *message;
} reporting;

static void (*next_error_cb)(int type, zend_string *file, const uint32_t line,
                             zend_string *message);

static void kiln_error_cb(int type, zend_string *file, const uint32_t line, zend_string *message)
{
    reporting.type = type & E_ALL;
    reporting.file = file;
    reporting.line = line;
    reporting.message = message;
    zend_try {
        next_error_cb(type, file, line, message);
    } zend_catch {
        reporting.type = 0; /* a fatal error bails out after logging */
        zend_bailout();
    } zend_end_try();
    reporting.type = 0;
}

static const char *error_type_name(int type)
{
    switch (type) {
    case E_ERROR: return "E_ERROR";
    case E_WARNING: return "E_WARNING";
    case E_PARSE: return "E_PARSE";
    case E_NOTICE: return "E_NOTICE";
    case E_CORE_ERROR: return "E_CORE_ERROR";
    case E_CORE_WARNING: return "E_CORE_WARNING";
    case E_COMPILE_ERROR: return "E_COMPILE_ERROR";
    case E_COMPILE_WARNING: return "E_COMPILE_WARNING";
    case E_USER_ERROR: return "E_USER_ERROR";
    case E_USER_WARNING: return "E_USER_WARNING";
    case E_USER_NOTICE: return "E_USER_NOTICE";
    case E_STRICT: return "E_STRICT";
    case E_RECOVERABLE_ERROR: return "E_RECOVERABLE_ERROR";
    case E_DEPRECATED: return "E_DEPRECATED";
    case E_USER_DEPRECATED: return "E_USER_DEPRECATED";
    }
    return "E_UNKNOWN";
}

static enum log_level syslog_level(int syslog_type)
{
    if (syslog_type <= LOG_ERR)
        return LOG_LEVEL_ERROR;
    if (syslog_type == LOG_WARNING)
        return LOG_LEVEL_WARN;
    if (syslog_type == LOG_DEBUG)
        return LOG_LEVEL_DEBUG;
    return LOG_LEVEL_INFO;
}

static enum proto_log_level proto_level(enum log_level level)
{
    switch (level) {
    case LOG_LEVEL_DEBUG: return PROTO_LOG_DEBUG;
    case LOG_LEVEL_INFO: return PROTO_LOG_INFO;
    case LOG_LEVEL_WARN: return PROTO_LOG_WARN;
    case LOG_LEVEL_ERROR: return PROTO_LOG_ERROR;
    }
    return PROTO_LOG_ERROR;
}

/* Queues one line about request r as a LOG frame; `data`: its data members, or NULL. */
static void send_log(struct kiln_request *r, enum log_level level, const char *type,
                     const char *msg, size_t len, const struct buf *data)
{
    struct log_ids ids = {r->request_id, r->trace_id, r->span_id};
    struct buf line = {0};
    log_format(&line, level, type, msg, len, &ids, data);
    proto_put_log(worker_frames(r->worker), proto_level(level), line.data, line.len);
    buf_free(&line);
}

/* data: the script, and the error's level, file and line (or where error_log() was called). */
static void php_log_data(const struct kiln_request *r, struct buf *data)
{
    log_member_str(data, "script", r->req.head.script, r->req.head.script_len);
    if (reporting.type) {
        log_member_str(data, "php_level", error_type_name(reporting.type),
                       strlen(error_type_name(reporting.type)));
        if (reporting.file)
            log_member_str(data, "file", ZSTR_VAL(reporting.file), ZSTR_LEN(reporting.file));
        log_member_int(data, "line", reporting.line);
    } else if (zend_is_executing()) {
        const char *file = zend_get_executed_filename();
        log_member_str(data, "file", file, strlen(file));
        log_member_int(data, "line", zend_get_executed_lineno());
    }
}

static void kiln_log_message(const char *message, int syslog_type)
{
    struct kiln_request *r = SG(server_context);
    if (!r || r->detached) {
        write_stderr(message, strlen(message));
        write_stderr("\n", 1);
        return;
    }
    struct buf data = {0};
    php_log_data(r, &data);
    if (reporting.type)
        send_log(r, syslog_level(syslog_type), "php", ZSTR_VAL(reporting.message),
                 ZSTR_LEN(reporting.message), &data);
    else
        send_log(r, syslog_level(syslog_type), "php", message, strlen(message), &data);
    buf_free(&data);
    worker_send(r->worker);
}

/*
 * sapi_activate() reads a form body (and checks post_max_size) before it calls this hook; the
 * .user.ini files must come first, so set_request_info() keeps CONTENT_TYPE from PHP until
 * now, and the body is read here, under the same condition sapi_activate() uses.
 */
static int kiln_activate(void)
{
    struct kiln_request *r = SG(server_context);
    if (!r)
        return SUCCESS;
    if (r->document_root)
        userini_apply(r->document_root, strlen(r->document_root), r->req.head.script,
                      r->req.head.script_len);
    /* An EventSource's request: a script that sets no Content-Type answers an event stream. */
    if (r->req.head.flags & PROTO_REQ_EVENT_STREAM) {
        zend_string *name = zend_string_init("default_mimetype", sizeof("default_mimetype") - 1, 0);
        zend_alter_ini_entry_chars(name, EVENT_STREAM, sizeof(EVENT_STREAM) - 1, PHP_INI_USER,
                                   PHP_INI_STAGE_RUNTIME);
        zend_string_release(name);
    }
    sapi_request_info *ri = &SG(request_info);
    ri->content_type = r->content_type;
    if (PG(enable_post_data_reading) && ri->content_type && ri->request_method &&
        strcmp(ri->request_method, "POST") == 0)
        sapi_read_post_data();
    return SUCCESS;
}

/* Runs inside php_request_shutdown(), before the request's memory is released. */
static int kiln_deactivate(void)
{
    struct kiln_request *r = SG(server_context);
    if (r)
        r->peak_memory = zend_memory_peak_usage(true);
    return SUCCESS;
}

static sapi_module_struct kiln_sapi_module = {
    .name = KILN_SAPI_NAME,
    .pretty_name = "Kiln",
    .startup = kiln_startup,
    .activate = kiln_activate,
    .deactivate = kiln_deactivate,
    .ub_write = kiln_ub_write,
    .flush = kiln_flush,
    .getenv = kiln_getenv,
    .sapi_error = php_error,
    .send_headers = kiln_send_headers,
    .read_post = kiln_read_post,
    .read_cookies = kiln_read_cookies,
    .register_server_variables = kiln_register_variables,
    .log_message = kiln_log_message,
    .get_request_time = kiln_get_request_time,
    .php_ini_ignore_cwd = 1,
};

/* ---- public ----------------------------------------------------------------------------- */

static char *build_ini_entries(const struct config *cfg)
{
    struct php_ini_builder b;
    php_ini_builder_init(&b);
    for (unsigned i = 0; i < cfg->php_ini_set_count; i++)
        php_ini_builder_define(&b, cfg->php_ini_set[i]);
    return php_ini_builder_finish(&b);
}

int kiln_sapi_startup(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->php_ini[0] && access(cfg->php_ini, R_OK) != 0) {
        snprintf(err, errlen, "PHP_INI: cannot read %s", cfg->php_ini);
        return -1;
    }
    signal(SIGPIPE, SIG_IGN); /* before Zend records the "original" handlers */
    zend_signal_startup();
    sapi_startup(&kiln_sapi_module);
    /* sapi_startup() cleared ini_entries; php_module_startup() copies the struct again */
    ini_entries = build_ini_entries(cfg);
    kiln_sapi_module.ini_entries = ini_entries;
    kiln_sapi_module.php_ini_path_override = cfg->php_ini[0] ? (char *)cfg->php_ini : NULL;
    disable_fork = cfg->php_disable_fork;
    asan_startup_begin();
    int rc = kiln_sapi_module.startup(&kiln_sapi_module);
    asan_startup_end();
    if (rc == FAILURE) {
        snprintf(err, errlen, "PHP module start-up failed (see the messages above)");
        return -1;
    }
    sapi_module.name = KILN_SAPI_NAME;
    next_error_cb = zend_error_cb;
    zend_error_cb = kiln_error_cb;
    return 0;
}

/* OPcache refusing a SAPI keeps its zend_extension listed but clears its startup hook. */
bool kiln_sapi_opcache_enabled(void)
{
    zend_extension *opcache = zend_get_extension("Zend OPcache");
    return opcache && opcache->startup &&
           zend_ini_long("opcache.enable", sizeof("opcache.enable") - 1, 0) != 0;
}

struct kiln_request *kiln_sapi_current(void)
{
    return SG(server_context);
}

/* The variables the SAPI itself needs; pointers into the request's payload. */
struct known_vars {
    const char *method;
    const char *query;
    const char *uri;
    const char *content_type;
    const char *cookie;
    const char *authorization;
    const char *document_root;
    const char *request_id;
    const char *trace_id;
    const char *span_id;
};

static void find_known_vars(const struct kiln_request *r, struct known_vars *k)
{
#define KNOWN(name, field) {name, sizeof(name) - 1, offsetof(struct known_vars, field)}
    static const struct {
        const char *name;
        uint32_t len;
        size_t offset;
    } wanted[] = {
        KNOWN("REQUEST_METHOD", method),   KNOWN("QUERY_STRING", query),
        KNOWN("REQUEST_URI", uri),         KNOWN("CONTENT_TYPE", content_type),
        KNOWN("HTTP_COOKIE", cookie),      KNOWN("HTTP_AUTHORIZATION", authorization),
        KNOWN("DOCUMENT_ROOT", document_root), KNOWN("REQUEST_ID", request_id),
        KNOWN("TRACE_ID", trace_id),           KNOWN("SPAN_ID", span_id),
    };
#undef KNOWN
    memset(k, 0, sizeof *k);
    struct proto_pair_iter it;
    struct proto_pair p;
    proto_pair_iter_init(&it, r->req.vars, r->req.vars_len);
    while (proto_pair_next(&it, &p)) {
        for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
            if (p.name_len == wanted[i].len && memcmp(p.name, wanted[i].name, p.name_len) == 0)
                memcpy((char *)k + wanted[i].offset, &p.value, sizeof p.value);
        }
    }
}

/* PHP keeps SG(request_info) across requests: every field is set, every time. */
void kiln_sapi_bind(struct kiln_request *r)
{
    struct known_vars k;
    find_known_vars(r, &k);
    sapi_request_info *ri = &SG(request_info);
    ri->request_method = k.method;
    ri->query_string = (char *)k.query;
    ri->request_uri = (char *)k.uri;
    ri->path_translated = (char *)r->req.head.script;
    ri->content_type = NULL; /* until kiln_activate() */
    ri->content_length = (zend_long)r->req.head.body_length;
    ri->no_headers = 0;
    ri->auth_user = ri->auth_password = ri->auth_digest = NULL;
    php_handle_auth_data(k.authorization); /* PHP_AUTH_USER, PHP_AUTH_PW, PHP_AUTH_DIGEST */
    SG(sapi_headers).http_response_code = 200;
    SG(server_context) = r;
    r->cookie = k.cookie;
    r->content_type = k.content_type && k.content_type[0] ? k.content_type : NULL;
    r->document_root = k.document_root;
    r->request_id = k.request_id;
    r->trace_id = k.trace_id;
    r->span_id = k.span_id;
}

#define DEFAULT_OUTPUT_HANDLER "default output handler"

static void ini_buffer_closed(void *opaq)
{
    struct kiln_request *r = opaq;
    r->ini_buffer = NULL;
}

/*
 * php_request_startup() opened php.ini's output_buffering buffer, if any: the only handler. An
 * ob_start() without callback creates a handler of the same name, so this one is marked (its
 * context, unused by the default handler) and forgotten when PHP closes it.
 */
void kiln_sapi_mark_ini_buffer(struct kiln_request *r)
{
    r->ini_buffer = NULL;
    if (php_output_get_level() != 1)
        return;
    php_output_handler *h = php_output_get_active_handler();
    if (h && !h->opaq && zend_string_equals_literal(h->name, DEFAULT_OUTPUT_HANDLER)) {
        php_output_handler_set_context(h, r, ini_buffer_closed);
        r->ini_buffer = h;
    }
}

bool kiln_sapi_in_ini_buffer(void)
{
    struct kiln_request *r = SG(server_context);
    return r && r->ini_buffer && php_output_get_level() == 1 &&
           php_output_get_active_handler() == r->ini_buffer;
}

/* The request itself; a fatal error inside the script is caught by php_execute_script(). */
static bool run_request(struct kiln_request *r)
{
    kiln_sapi_bind(r);
    if (php_request_startup() == FAILURE)
        return false;
    kiln_sapi_mark_ini_buffer(r);
    zend_file_handle fh;
    zend_stream_init_filename(&fh, r->req.head.script);
    fh.primary_script = 1;
    EG(exit_status) = 0;
    php_execute_script(&fh);
    zend_destroy_file_handle(&fh);
    worker_after_script(r->worker); /* OPcache sample for /metrics, while the request lives */
    SG(post_read) = 1; /* the rest of an unread body needs no draining */
    php_request_shutdown(NULL);
    r->exit_status = EG(exit_status);
    return true;
}

void kiln_sapi_unbind(const char *script)
{
    sapi_request_info *ri = &SG(request_info);
    ri->request_method = NULL;
    ri->query_string = NULL;
    ri->request_uri = NULL;
    ri->path_translated = (char *)script;
    ri->content_type = NULL;
    ri->content_length = 0;
    ri->no_headers = 1; /* nothing to send: the worker script's own output goes to stderr */
    ri->auth_user = ri->auth_password = ri->auth_digest = NULL;
    /* sapi_deactivate() freed these without forgetting them, and sapi_activate() sets them
       only with a request bound: the script's next deactivation would free them again */
    ri->content_type_dup = NULL;
    ri->current_user = NULL;
    SG(sapi_headers).http_response_code = 200;
    SG(server_context) = NULL;
}

void kiln_sapi_refuse(struct kiln_request *r)
{
    r->exit_status = 255;
    queue_status_only(r, 500);
}

void kiln_sapi_fail(struct kiln_request *r)
{
    r->exit_status = 255;
    if (!r->headers_sent && !r->finished)
        queue_status_only(r, 500);
}

bool kiln_sapi_execute(struct kiln_request *r)
{
    volatile bool ok = false;
    zend_first_try {
        ok = run_request(r);
    } zend_end_try();
    SG(server_context) = NULL;
    if (!ok)
        kiln_sapi_fail(r);
    return ok;
}

bool kiln_sapi_finish(struct kiln_request *r)
{
    if (r->finished)
        return false;
    php_output_end_all();
    php_header();
    proto_put_frame(worker_frames(r->worker), PROTO_FINISH, 0, NULL, 0);
    worker_send(r->worker);
    r->finished = true;
    return true;
}

noreturn void kiln_sapi_exit(int status, bool shutdown_php)
{
    if (shutdown_php) {
        userini_shutdown();
        php_module_shutdown();
        sapi_shutdown();
        free(ini_entries);
    }
#ifdef KILN_ASAN
    __lsan_do_leak_check();
#endif
    _exit(status);
}
