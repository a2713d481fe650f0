#include "php/functions.h"

#include <string.h>

#include <SAPI.h>
#include <main/php_output.h>

#include "php/sapi.h"
#include "php/wmode.h"
#include "php/worker.h"

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_finish_request, 0, 0, _IS_BOOL, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_request_heartbeat, 0, 0, _IS_BOOL, 0)
    ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, seconds, IS_LONG, 0, "10")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_handle_request, 0, 1, _IS_BOOL, 0)
    ZEND_ARG_TYPE_INFO(0, handler, IS_CALLABLE, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_getallheaders, 0, 0, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

static ZEND_FUNCTION(kiln_finish_request)
{
    ZEND_PARSE_PARAMETERS_NONE();
    struct kiln_request *r = kiln_sapi_current();
    RETURN_BOOL(r && kiln_sapi_finish(r));
}

static ZEND_FUNCTION(kiln_request_heartbeat)
{
    zend_long seconds = 10;
    ZEND_PARSE_PARAMETERS_START(0, 1)
        Z_PARAM_OPTIONAL
        Z_PARAM_LONG(seconds)
    ZEND_PARSE_PARAMETERS_END();
    struct kiln_request *r = kiln_sapi_current();
    if (!r || seconds <= 0 || seconds > UINT32_MAX ||
        (uint64_t)seconds > kiln_sapi_heartbeat_limit(r))
        RETURN_FALSE;
    proto_put_heartbeat(worker_frames(r->worker), (uint32_t)seconds);
    worker_send(r->worker);
    RETURN_TRUE;
}

/* Worker mode: serve the next request with $handler (php/wmode.h). */
static ZEND_FUNCTION(kiln_handle_request)
{
    zval *handler;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_ZVAL(handler)
    ZEND_PARSE_PARAMETERS_END();
    if (!zend_is_callable(handler, 0, NULL)) {
        zend_argument_type_error(1, "must be a valid callback");
        RETURN_THROWS();
    }
    RETURN_BOOL(wmode_handle(handler));
}

/*
 * FPM's header names: HTTP_ACCEPT_LANGUAGE -> Accept-Language, CONTENT_TYPE -> Content-Type.
 * Returns NULL for variables that are not request headers.
 */
static zend_string *header_name(const struct proto_pair *p)
{
    if (strcmp(p->name, "CONTENT_TYPE") == 0 || strcmp(p->name, "CONTENT_LENGTH") == 0) {
        if (p->value_len == 0) /* no such header in the request */
            return NULL;
        return zend_string_init(p->name[8] == 'T' ? "Content-Type" : "Content-Length",
                                p->name[8] == 'T' ? 12 : 14, 0);
    }
    if (p->name_len <= 5 || strncmp(p->name, "HTTP_", 5) != 0)
        return NULL;
    zend_string *name = zend_string_alloc(p->name_len - 5, 0);
    char *out = ZSTR_VAL(name);
    bool word_start = true;
    for (const char *c = p->name + 5; *c; c++) {
        if (*c == '_') {
            *out++ = '-';
            word_start = true;
        } else {
            *out++ = word_start ? *c : (char)zend_tolower_ascii(*c);
            word_start = false;
        }
    }
    *out = '\0';
    return name;
}

static ZEND_FUNCTION(getallheaders)
{
    ZEND_PARSE_PARAMETERS_NONE();
    array_init(return_value);
    struct kiln_request *r = kiln_sapi_current();
    if (!r)
        return;
    struct proto_pair_iter it;
    struct proto_pair p;
    proto_pair_iter_init(&it, r->req.vars, r->req.vars_len);
    while (proto_pair_next(&it, &p)) {
        zend_string *name = header_name(&p);
        if (!name)
            continue;
        zval value;
        ZVAL_STRINGL(&value, p.value, p.value_len);
        zend_symtable_update(Z_ARRVAL_P(return_value), name, &value);
        zend_string_release(name);
    }
}

/*
 * flush(): also empties php.ini's output_buffering buffer (Debian's 4096 bytes would otherwise
 * hold back small streamed output), never a buffer the script opened with ob_start().
 */
static ZEND_FUNCTION(kiln_flush)
{
    ZEND_PARSE_PARAMETERS_NONE();
    (void)return_value; /* flush() returns nothing */
    if (kiln_sapi_in_ini_buffer())
        php_output_flush();
    sapi_flush();
}

/*
 * PHP functions whose calls worker mode must know of, to undo their effect after a request
 * (php/wmode.h): each still runs PHP's own handler.
 */
static struct noted_function {
    const char *name;
    enum wmode_call call;
    zend_function *fn;       /* as called: the entry of the function table */
    zif_handler php;         /* PHP's own handler */
} noted_functions[] = {
    {.name = "putenv", .call = WMODE_CALL_PUTENV},
    {.name = "libxml_set_external_entity_loader", .call = WMODE_CALL_LIBXML_LOADER},
    {.name = "libxml_set_streams_context", .call = WMODE_CALL_LIBXML_STREAMS},
};
#define NOTED_FUNCTIONS (sizeof noted_functions / sizeof noted_functions[0])

static ZEND_FUNCTION(kiln_noted_function)
{
    for (size_t i = 0; i < NOTED_FUNCTIONS; i++) {
        if (noted_functions[i].fn == execute_data->func) {
            wmode_note_call(noted_functions[i].call);
            noted_functions[i].php(execute_data, return_value);
            return;
        }
    }
}

/* An internal function of PHP's by name, or NULL (its extension not loaded). */
static zend_function *internal_function(const char *name)
{
    zend_function *fn = zend_hash_str_find_ptr(CG(function_table), name, strlen(name));
    return fn && fn->type == ZEND_INTERNAL_FUNCTION ? fn : NULL;
}

void kiln_functions_override(void)
{
    zend_function *flush = internal_function("flush");
    if (flush)
        flush->internal_function.handler = zif_kiln_flush;
    for (size_t i = 0; i < NOTED_FUNCTIONS; i++) {
        struct noted_function *n = &noted_functions[i];
        if ((n->fn = internal_function(n->name))) {
            n->php = n->fn->internal_function.handler;
            n->fn->internal_function.handler = zif_kiln_noted_function;
        }
    }
}

const zend_function_entry kiln_functions[] = {
    ZEND_FE(kiln_finish_request, arginfo_finish_request)
    ZEND_FALIAS(fastcgi_finish_request, kiln_finish_request, arginfo_finish_request)
    ZEND_FALIAS(tokio_finish_request, kiln_finish_request, arginfo_finish_request)
    ZEND_FE(kiln_request_heartbeat, arginfo_request_heartbeat)
    ZEND_FALIAS(tokio_request_heartbeat, kiln_request_heartbeat, arginfo_request_heartbeat)
    ZEND_FE(kiln_handle_request, arginfo_handle_request)
    ZEND_FALIAS(frankenphp_handle_request, kiln_handle_request, arginfo_handle_request)
    ZEND_FE(getallheaders, arginfo_getallheaders)
    ZEND_FALIAS(apache_request_headers, getallheaders, arginfo_getallheaders)
    ZEND_FE_END
};
