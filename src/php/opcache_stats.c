#include "php/opcache_stats.h"

#include <string.h>
#include <strings.h>

#include <php.h>
#include <zend_ini.h>

#include "php/sapi.h"

/* A sample builds a few small arrays: leave the script at least this much of memory_limit. */
#define SAMPLE_MEMORY_HEADROOM (1024 * 1024)

static zval *find(HashTable *ht, const char *key)
{
    return ht ? zend_hash_str_find(ht, key, strlen(key)) : NULL;
}

static HashTable *find_array(HashTable *ht, const char *key)
{
    zval *v = find(ht, key);
    return v && Z_TYPE_P(v) == IS_ARRAY ? Z_ARRVAL_P(v) : NULL;
}

/* A count or a size: integers (and the floats OPcache uses for some) that are not negative. */
static uint64_t find_count(HashTable *ht, const char *key)
{
    zval *v = find(ht, key);
    if (v && Z_TYPE_P(v) == IS_LONG && Z_LVAL_P(v) > 0)
        return (uint64_t)Z_LVAL_P(v);
    if (v && Z_TYPE_P(v) == IS_DOUBLE && Z_DVAL_P(v) > 0 && Z_DVAL_P(v) < 1.8e19)
        return (uint64_t)Z_DVAL_P(v);
    return 0;
}

static bool find_bool(HashTable *ht, const char *key)
{
    zval *v = find(ht, key);
    return v && zend_is_true(v);
}

static void fill(struct scoreboard_opcache *out, HashTable *status)
{
    out->enabled = find_bool(status, "opcache_enabled");
    out->cache_full = find_bool(status, "cache_full");
    HashTable *memory = find_array(status, "memory_usage");
    out->memory_used = find_count(memory, "used_memory");
    out->memory_free = find_count(memory, "free_memory");
    out->memory_wasted = find_count(memory, "wasted_memory");
    HashTable *strings = find_array(status, "interned_strings_usage");
    out->interned_strings_used = find_count(strings, "used_memory");
    out->interned_strings_free = find_count(strings, "free_memory");
    HashTable *stats = find_array(status, "opcache_statistics");
    out->cached_scripts = find_count(stats, "num_cached_scripts");
    out->cached_keys = find_count(stats, "num_cached_keys");
    out->max_cached_keys = find_count(stats, "max_cached_keys");
    out->hits = find_count(stats, "hits");
    out->misses = find_count(stats, "misses");
    out->oom_restarts = find_count(stats, "oom_restarts");
    out->hash_restarts = find_count(stats, "hash_restarts");
    out->manual_restarts = find_count(stats, "manual_restarts");
    HashTable *jit = find_array(status, "jit");
    out->jit_enabled = find_bool(jit, "on");
    out->jit_buffer_size = find_count(jit, "buffer_size");
    out->jit_buffer_free = find_count(jit, "buffer_free");
}

static bool ini_set_nonempty(const char *name)
{
    const char *v = zend_ini_string((char *)name, strlen(name), 0);
    return v && v[0];
}

static bool near_memory_limit(void)
{
    zend_long limit = PG(memory_limit);
    return limit > 0 && zend_memory_usage(false) + SAMPLE_MEMORY_HEADROOM > (size_t)limit;
}

bool opcache_stats_sample(struct scoreboard_opcache *out)
{
    memset(out, 0, sizeof *out);
    if (!kiln_sapi_opcache_enabled())
        return true; /* a valid sample: OPcache is off */
    if (CG(unclean_shutdown) || EG(exception) || near_memory_limit() ||
        ini_set_nonempty("opcache.restrict_api"))
        return false;
    zend_function *fn = zend_hash_str_find_ptr(CG(function_table), ZEND_STRL("opcache_get_status"));
    if (!fn)
        return false; /* in disable_functions */
    zval ret, arg;
    ZVAL_UNDEF(&ret);
    ZVAL_FALSE(&arg);
    volatile bool called = false;
    zend_try {
        zend_call_known_function(fn, NULL, NULL, &ret, 1, &arg, NULL);
        called = true;
    } zend_end_try();
    if (!called)
        return false;
    if (Z_TYPE(ret) == IS_ARRAY)
        fill(out, Z_ARRVAL(ret));
    zval_ptr_dtor(&ret);
    return true;
}

bool opcache_stats_jit_configured(void)
{
    if (!kiln_sapi_opcache_enabled())
        return false;
    const char *jit = zend_ini_string("opcache.jit", sizeof("opcache.jit") - 1, 0);
    if (!jit || !jit[0] || strcmp(jit, "0") == 0 || strcasecmp(jit, "off") == 0 ||
        strcasecmp(jit, "disable") == 0)
        return false;
    /* a size such as "64M": its leading number says whether there is a buffer */
    return zend_ini_long("opcache.jit_buffer_size", sizeof("opcache.jit_buffer_size") - 1, 0) > 0;
}
