/*
 * Unit tests for src/config.c: every value parser (table-driven), config_load() from the
 * environment, from flags in both forms, precedence, every error line, --help/--version, and
 * config_check_paths() against a temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ----------------------------------------------------------------------------- */

static int count_args(char **argv)
{
    int n = 0;

    while (argv[n] != NULL)
        n++;
    return n;
}

static enum config_result load(struct config *cfg, char **argv, char **envp, char *err)
{
    return config_load(cfg, count_args(argv), argv, envp, err, CONFIG_ERR_MAX);
}

/* Loads with one environment variable and no flags. */
static enum config_result load_env1(struct config *cfg, const char *entry, char *err)
{
    char *argv[] = {"kiln", NULL};
    char *envp[] = {(char *)entry, NULL};

    return load(cfg, argv, envp, err);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static unsigned expected_cpu_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        return 1;
    return n > 1024 ? 1024 : (unsigned)n;
}

/* Runs config_load() with stdout sent to a temporary file and returns what it printed. */
static char *load_capturing_stdout(char **argv, char **envp, enum config_result *result)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    FILE *tmp = tmpfile();
    int saved = dup(STDOUT_FILENO);
    char *text;
    long len;

    assert_non_null(tmp);
    assert_true(saved >= 0);
    fflush(stdout);
    assert_true(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
    *result = load(&cfg, argv, envp, err);
    fflush(stdout);
    assert_true(dup2(saved, STDOUT_FILENO) >= 0);
    close(saved);

    assert_true(fseek(tmp, 0, SEEK_END) == 0);
    len = ftell(tmp);
    rewind(tmp);
    text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, tmp), (size_t)len);
    fclose(tmp);
    config_free(&cfg);
    return text;
}

/* ---- value parsers ----------------------------------------------------------------------- */

struct duration_case {
    const char *in;
    int rc;
    uint64_t secs;
};

static void test_parse_duration(void **state)
{
    static const struct duration_case cases[] = {
        {"30s", 0, 30},
        {"2m", 0, 120},
        {"1h", 0, 3600},
        {"1d", 0, 86400},
        {"1w", 0, 604800},
        {"1y", 0, 31536000},
        {"120", 0, 120},
        {"  30s  ", 0, 30},
        {"\t5m\n", 0, 300},
        {"OFF", 0, 0},
        {"off", 0, 0},
        {"0", 0, 0},
        {"0s", 0, 0},
        {"30S", 0, 30},
        {"2H", 0, 7200},
        {"007", 0, 7},
        {"18446744073709551615", 0, UINT64_MAX},
        {"307445734561825860m", 0, 307445734561825860ull * 60},
        {"s", -1, 0},
        {"m", -1, 0},
        {"5x", -1, 0},
        {"", -1, 0},
        {"   ", -1, 0},
        {"-1", -1, 0},
        {"+1", -1, 0},
        {"1.5h", -1, 0},
        {"30 s", -1, 0},
        {"1mo", -1, 0},
        {"5off", -1, 0},
        {"offs", -1, 0},
        {"18446744073709551616", -1, 0},
        {"307445734561825861m", -1, 0},
        {"99999999999999999999999y", -1, 0},
    };

    (void)state;
    for (size_t i = 0; i < COUNT(cases); i++) {
        uint64_t secs = 12345;
        int rc = config_parse_duration(cases[i].in, &secs);
        if (rc != cases[i].rc)
            fail_msg("config_parse_duration(\"%s\") returned %d", cases[i].in, rc);
        if (rc == 0 && secs != cases[i].secs)
            fail_msg("config_parse_duration(\"%s\") = %llu", cases[i].in,
                     (unsigned long long)secs);
        if (rc != 0 && secs != 12345)
            fail_msg("config_parse_duration(\"%s\") wrote its output on failure", cases[i].in);
    }
}

struct size_case {
    const char *in;
    int rc;
    uint64_t bytes;
};

static void test_parse_size(void **state)
{
    static const struct size_case cases[] = {
        {"1048576", 0, 1048576},
        {"512K", 0, 512 * 1024},
        {"64k", 0, 64 * 1024},
        {"100M", 0, 100ull << 20},
        {"1G", 0, 1ull << 30},
        {"1g", 0, 1ull << 30},
        {"8KB", 0, 8192},
        {"8kb", 0, 8192},
        {"1b", 0, 1},
        {"0", 0, 0},
        {" 2M ", 0, 2ull << 20},
        {"17179869183G", 0, 17179869183ull << 30},
        {"", -1, 0},
        {"K", -1, 0},
        {"B", -1, 0},
        {"KB", -1, 0},
        {"1T", -1, 0},
        {"1.5M", -1, 0},
        {"-1", -1, 0},
        {"+1", -1, 0},
        {"1 M", -1, 0},
        {"M1", -1, 0},
        {"1MM", -1, 0},
        {"17179869184G", -1, 0},
        {"18446744073709551616", -1, 0},
    };

    (void)state;
    for (size_t i = 0; i < COUNT(cases); i++) {
        uint64_t bytes = 777;
        int rc = config_parse_size(cases[i].in, &bytes);
        if (rc != cases[i].rc)
            fail_msg("config_parse_size(\"%s\") returned %d", cases[i].in, rc);
        if (rc == 0 && bytes != cases[i].bytes)
            fail_msg("config_parse_size(\"%s\") = %llu", cases[i].in, (unsigned long long)bytes);
        if (rc != 0 && bytes != 777)
            fail_msg("config_parse_size(\"%s\") wrote its output on failure", cases[i].in);
    }
}

struct uint_case {
    const char *in;
    uint64_t max;
    int rc;
    uint64_t value;
};

static void test_parse_uint(void **state)
{
    static const struct uint_case cases[] = {
        {"0", 10, 0, 0},
        {"10", 10, 0, 10},
        {" 42 ", 100, 0, 42},
        {"0042", 100, 0, 42},
        {"18446744073709551615", UINT64_MAX, 0, UINT64_MAX},
        {"4294967295", 4294967295u, 0, 4294967295u},
        {"11", 10, -1, 0},
        {"4294967296", 4294967295u, -1, 0},
        {"18446744073709551616", UINT64_MAX, -1, 0},
        {"99999999999999999999999", UINT64_MAX, -1, 0},
        {"5", 0, -1, 0},
        {"abc", 100, -1, 0},
        {"12a", 100, -1, 0},
        {"+1", 100, -1, 0},
        {"-1", 100, -1, 0},
        {"1 2", 100, -1, 0},
        {"0x10", 100, -1, 0},
        {"1e3", 10000, -1, 0},
        {"", 100, -1, 0},
        {" ", 100, -1, 0},
    };

    (void)state;
    for (size_t i = 0; i < COUNT(cases); i++) {
        uint64_t v = 99;
        int rc = config_parse_uint(cases[i].in, cases[i].max, &v);
        if (rc != cases[i].rc)
            fail_msg("config_parse_uint(\"%s\", %llu) returned %d", cases[i].in,
                     (unsigned long long)cases[i].max, rc);
        if (rc == 0 && v != cases[i].value)
            fail_msg("config_parse_uint(\"%s\") = %llu", cases[i].in, (unsigned long long)v);
    }
}

struct bool_case {
    const char *in;
    int rc;
    bool value;
};

static void test_parse_bool(void **state)
{
    static const struct bool_case cases[] = {
        {"1", 0, true},      {"true", 0, true},    {"yes", 0, true},    {"on", 0, true},
        {"TRUE", 0, true},   {"Yes", 0, true},     {" ON ", 0, true},   {"0", 0, false},
        {"false", 0, false}, {"no", 0, false},     {"off", 0, false},   {"FALSE", 0, false},
        {"Off", 0, false},   {"", -1, false},      {"2", -1, false},    {"tru", -1, false},
        {"enable", -1, false}, {"yess", -1, false}, {"o", -1, false},   {"-1", -1, false},
    };

    (void)state;
    for (size_t i = 0; i < COUNT(cases); i++) {
        bool v = !cases[i].value;
        int rc = config_parse_bool(cases[i].in, &v);
        if (rc != cases[i].rc)
            fail_msg("config_parse_bool(\"%s\") returned %d", cases[i].in, rc);
        if (rc == 0 && v != cases[i].value)
            fail_msg("config_parse_bool(\"%s\") = %d", cases[i].in, v);
    }
}

struct addr_case {
    const char *in;
    int rc;
    int family;
    unsigned port;
    const char *text;
};

static void test_parse_addr(void **state)
{
    static const struct addr_case cases[] = {
        {"127.0.0.1:8080", 0, AF_INET, 8080, "127.0.0.1:8080"},
        {"0.0.0.0:1", 0, AF_INET, 1, "0.0.0.0:1"},
        {" 10.1.2.3:65535 ", 0, AF_INET, 65535, "10.1.2.3:65535"},
        {"[::1]:8080", 0, AF_INET6, 8080, "[::1]:8080"},
        {"[::]:443", 0, AF_INET6, 443, "[::]:443"},
        {"[2001:db8::42]:9090", 0, AF_INET6, 9090, "[2001:db8::42]:9090"},
        {"127.0.0.1", -1, 0, 0, NULL},
        {"127.0.0.1:", -1, 0, 0, NULL},
        {"127.0.0.1:0", -1, 0, 0, NULL},
        {"127.0.0.1:65536", -1, 0, 0, NULL},
        {"127.0.0.1:99999999999999999999", -1, 0, 0, NULL},
        {"127.0.0.1:+80", -1, 0, 0, NULL},
        {"127.0.0.1:80x", -1, 0, 0, NULL},
        {"localhost:8080", -1, 0, 0, NULL},
        {"example.com:80", -1, 0, 0, NULL},
        {":8080", -1, 0, 0, NULL},
        {"::1:8080", -1, 0, 0, NULL},
        {"[::1]", -1, 0, 0, NULL},
        {"[::1]8080", -1, 0, 0, NULL},
        {"[::1]:", -1, 0, 0, NULL},
        {"[]:80", -1, 0, 0, NULL},
        {"[127.0.0.1]:80", -1, 0, 0, NULL},
        {"[fe80::1%eth0]:80", -1, 0, 0, NULL},
        {"256.0.0.1:80", -1, 0, 0, NULL},
        {"1.2.3:80", -1, 0, 0, NULL},
        {"", -1, 0, 0, NULL},
    };

    (void)state;
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct config_addr a;
        int rc;

        memset(&a, 0xab, sizeof a);
        rc = config_parse_addr(cases[i].in, &a);
        if (rc != cases[i].rc)
            fail_msg("config_parse_addr(\"%s\") returned %d", cases[i].in, rc);
        if (rc != 0)
            continue;
        assert_int_equal(a.sa.ss_family, cases[i].family);
        assert_string_equal(a.text, cases[i].text);
        if (cases[i].family == AF_INET) {
            const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.sa;
            assert_int_equal(a.len, sizeof(struct sockaddr_in));
            assert_int_equal(ntohs(sin->sin_port), cases[i].port);
        } else {
            const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.sa;
            assert_int_equal(a.len, sizeof(struct sockaddr_in6));
            assert_int_equal(ntohs(sin6->sin6_port), cases[i].port);
        }
    }
}

static void test_parse_addr_bytes(void **state)
{
    struct config_addr a;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.sa;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.sa;

    (void)state;
    assert_int_equal(config_parse_addr("192.168.1.20:80", &a), 0);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc0a80114u);
    assert_int_equal(config_parse_addr("[::1]:80", &a), 0);
    assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
}

/* ---- config_load: every setting from the environment and from flags --------------------- */

struct full_setting {
    const char *env;
    const char *flag;
    const char *value;
};

static const struct full_setting full_settings[] = {
    {"LISTEN_ADDR", "--listen", "127.0.0.1:9000"},
    {"INTERNAL_ADDR", "--internal-addr", "[::1]:9090"},
    {"DOCUMENT_ROOT", "--docroot", "/srv/www"},
    {"INDEX_FILE", "--index-file", "index.php"},
    {"ERROR_PAGES_DIR", "--error-pages-dir", "/srv/errors"},
    {"EXECUTOR", "--executor", "STUB"},
    {"PHP_WORKERS", "--workers", "3"},
    {"QUEUE_CAPACITY", "--queue-capacity", "50"},
    {"WORKER_MAX_REQUESTS", "--worker-max-requests", "1000"},
    {"PHP_INI", "--php-ini", "/etc/kiln/php.ini"},
    {"PHP_INI_SET", "-d", "memory_limit=64M"},
    {"REQUEST_TIMEOUT", "--request-timeout", "45s"},
    {"SSE_TIMEOUT", "--sse-timeout", "1h"},
    {"STATIC_CACHE_TTL", "--static-cache-ttl", "off"},
    {"HEADER_TIMEOUT_SECS", "--header-timeout", "7"},
    {"IDLE_TIMEOUT_SECS", "--idle-timeout", "15"},
    {"DRAIN_TIMEOUT_SECS", "--drain-timeout", "0"},
    {"SHUTDOWN_DELAY", "--shutdown-delay", "5s"},
    {"MAX_BODY_SIZE", "--max-body-size", "1G"},
    {"MAX_HEADER_SIZE", "--max-header-size", "16K"},
    {"MAX_HEADER_COUNT", "--max-header-count", "50"},
    {"MAX_URI_SIZE", "--max-uri-size", "2048"},
    {"MAX_CONNECTIONS", "--max-connections", "500"},
    {"ACCESS_LOG", "--access-log", "1"},
    {"PROFILE", "--profile", "on"},
    {"RATE_LIMIT", "--rate-limit", "100"},
    {"RATE_WINDOW", "--rate-window", "10"},
    {"TLS_CERT", "--tls-cert", "/etc/kiln/cert.pem"},
    {"TLS_KEY", "--tls-key", "/etc/kiln/key.pem"},
    {"LOG_LEVEL", "--log-level", "WARN"},
    {"SERVICE_NAME", "--service-name", "shop-api"},
};

#define FULL_COUNT COUNT(full_settings)

static void assert_full_config(const struct config *cfg)
{
    assert_string_equal(cfg->listen.text, "127.0.0.1:9000");
    assert_true(config_addr_is_set(&cfg->internal));
    assert_string_equal(cfg->internal.text, "[::1]:9090");
    assert_int_equal(cfg->internal.sa.ss_family, AF_INET6);
    assert_string_equal(cfg->document_root, "/srv/www");
    assert_string_equal(cfg->index_file, "index.php");
    assert_string_equal(cfg->error_pages_dir, "/srv/errors");
    assert_int_equal(cfg->executor, CONFIG_EXECUTOR_STUB);
    assert_int_equal(cfg->php_workers, 3);
    assert_int_equal(cfg->queue_capacity, 50);
    assert_int_equal(cfg->worker_max_requests, 1000);
    assert_string_equal(cfg->php_ini, "/etc/kiln/php.ini");
    assert_int_equal(cfg->php_ini_set_count, 1);
    assert_string_equal(cfg->php_ini_set[0], "memory_limit=64M");
    assert_int_equal(cfg->request_timeout_secs, 45);
    assert_int_equal(cfg->sse_timeout_secs, 3600);
    assert_int_equal(cfg->static_cache_ttl_secs, 0);
    assert_int_equal(cfg->header_timeout_secs, 7);
    assert_int_equal(cfg->idle_timeout_secs, 15);
    assert_int_equal(cfg->drain_timeout_secs, 0);
    assert_int_equal(cfg->shutdown_delay_secs, 5);
    assert_int_equal(cfg->max_body_size, 1ull << 30);
    assert_int_equal(cfg->max_header_size, 16384);
    assert_int_equal(cfg->max_header_count, 50);
    assert_int_equal(cfg->max_uri_size, 2048);
    assert_int_equal(cfg->max_connections, 500);
    assert_true(cfg->access_log);
    assert_true(cfg->profile);
    assert_int_equal(cfg->rate_limit, 100);
    assert_int_equal(cfg->rate_window_secs, 10);
    assert_string_equal(cfg->tls_cert, "/etc/kiln/cert.pem");
    assert_string_equal(cfg->tls_key, "/etc/kiln/key.pem");
    assert_int_equal(cfg->log_level, LOG_LEVEL_WARN);
    assert_string_equal(cfg->service_name, "shop-api");
}

static void test_load_defaults(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX] = "stale";
    char *argv[] = {"kiln", NULL};

    (void)state;
    assert_int_equal(load(&cfg, argv, NULL, err), CONFIG_OK);
    assert_string_equal(err, "");
    assert_string_equal(cfg.listen.text, "0.0.0.0:8080");
    assert_int_equal(cfg.listen.sa.ss_family, AF_INET);
    assert_false(config_addr_is_set(&cfg.internal));
    assert_string_equal(cfg.document_root, "/var/www/html");
    assert_string_equal(cfg.index_file, "");
    assert_string_equal(cfg.error_pages_dir, "");
    assert_int_equal(cfg.executor, CONFIG_EXECUTOR_EXT);
    assert_int_equal(cfg.php_workers, expected_cpu_workers());
    assert_int_equal(cfg.queue_capacity, cfg.php_workers * 100);
    assert_int_equal(cfg.worker_max_requests, 0);
    assert_string_equal(cfg.php_ini, "");
    assert_true(cfg.php_disable_fork);
    assert_int_equal(cfg.php_ini_set_count, 0);
    assert_int_equal(cfg.request_timeout_secs, 120);
    assert_int_equal(cfg.sse_timeout_secs, 1800);
    assert_int_equal(cfg.static_cache_ttl_secs, 86400);
    assert_int_equal(cfg.header_timeout_secs, 5);
    assert_int_equal(cfg.idle_timeout_secs, 60);
    assert_int_equal(cfg.drain_timeout_secs, 30);
    assert_int_equal(cfg.shutdown_delay_secs, 0);
    assert_int_equal(cfg.max_body_size, 100ull << 20);
    assert_int_equal(cfg.max_header_size, 65536);
    assert_int_equal(cfg.max_header_count, 100);
    assert_int_equal(cfg.max_uri_size, 8192);
    assert_int_equal(cfg.max_connections, 65536);
    assert_false(cfg.access_log);
    assert_false(cfg.profile);
    assert_int_equal(cfg.rate_limit, 0);
    assert_int_equal(cfg.rate_window_secs, 60);
    assert_string_equal(cfg.tls_cert, "");
    assert_string_equal(cfg.tls_key, "");
    assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
    assert_string_equal(cfg.service_name, "kiln");
    config_free(&cfg);
}

static void test_load_env_only(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    char entries[FULL_COUNT][128];
    char *envp[FULL_COUNT + 2];
    char *argv[] = {"kiln", NULL};

    (void)state;
    envp[0] = "UNRELATED=1";
    for (size_t i = 0; i < FULL_COUNT; i++) {
        snprintf(entries[i], sizeof entries[i], "%s=%s", full_settings[i].env,
                 full_settings[i].value);
        envp[i + 1] = entries[i];
    }
    envp[FULL_COUNT + 1] = NULL;
    assert_int_equal(load(&cfg, argv, envp, err), CONFIG_OK);
    assert_full_config(&cfg);
    config_free(&cfg);
}

/* A switch (--access-log, --profile) takes its value only after '='. */
static bool is_switch(const char *flag)
{
    return strcmp(flag, "--access-log") == 0 || strcmp(flag, "--profile") == 0;
}

static void test_load_flags_separate_values(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    char *argv[2 * FULL_COUNT + 2];
    int argc = 0;

    (void)state;
    argv[argc++] = "kiln";
    for (size_t i = 0; i < FULL_COUNT; i++) {
        argv[argc++] = (char *)full_settings[i].flag;
        if (!is_switch(full_settings[i].flag))
            argv[argc++] = (char *)full_settings[i].value;
    }
    argv[argc] = NULL;
    assert_int_equal(load(&cfg, argv, NULL, err), CONFIG_OK);
    assert_full_config(&cfg);
    config_free(&cfg);
}

static void test_load_flags_with_equals(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    char args[FULL_COUNT][128];
    char *argv[FULL_COUNT + 2];

    (void)state;
    argv[0] = "kiln";
    for (size_t i = 0; i < FULL_COUNT; i++) {
        snprintf(args[i], sizeof args[i], "%s=%s", full_settings[i].flag, full_settings[i].value);
        argv[i + 1] = args[i];
    }
    argv[FULL_COUNT + 1] = NULL;
    assert_int_equal(load(&cfg, argv, NULL, err), CONFIG_OK);
    assert_full_config(&cfg);
    config_free(&cfg);
}

static void test_flag_beats_env(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    char *envp[] = {"PHP_WORKERS=2", "LISTEN_ADDR=10.0.0.1:80", "INDEX_FILE=index.php",
                    "ACCESS_LOG=1", "LOG_LEVEL=error", "INTERNAL_ADDR=127.0.0.1:9090", NULL};
    char *argv[] = {"kiln", "--workers", "5", "--listen=[::]:8443", "--index-file=",
                    "--access-log=off", "--log-level", "debug", "--internal-addr=", NULL};

    (void)state;
    assert_int_equal(load(&cfg, argv, envp, err), CONFIG_OK);
    assert_int_equal(cfg.php_workers, 5);
    assert_string_equal(cfg.listen.text, "[::]:8443");
    assert_string_equal(cfg.index_file, ""); /* an empty flag turns an optional setting off */
    assert_false(cfg.access_log);
    assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
    assert_false(config_addr_is_set(&cfg.internal));
    config_free(&cfg);
}

static void test_later_flag_wins(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    char *argv[] = {"kiln", "--workers=2", "--workers", "7", NULL};

    (void)state;
    assert_int_equal(load(&cfg, argv, NULL, err), CONFIG_OK);
    assert_int_equal(cfg.php_workers, 7);
    config_free(&cfg);
}

static void test_empty_env_is_unset(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    char *envp[] = {"PHP_WORKERS=", "LISTEN_ADDR=", "DOCUMENT_ROOT=", "EXECUTOR=",
                    "REQUEST_TIMEOUT=", "PHP_INI_SET=", "TLS_CERT=", NULL};
    char *argv[] = {"kiln", NULL};

    (void)state;
    assert_int_equal(load(&cfg, argv, envp, err), CONFIG_OK);
    assert_int_equal(cfg.php_workers, expected_cpu_workers());
    assert_string_equal(cfg.listen.text, "0.0.0.0:8080");
    assert_string_equal(cfg.document_root, "/var/www/html");
    assert_int_equal(cfg.executor, CONFIG_EXECUTOR_EXT);
    assert_int_equal(cfg.request_timeout_secs, 120);
    assert_int_equal(cfg.php_ini_set_count, 0);
    config_free(&cfg);
}

static void test_access_log_switch(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    char *on[] = {"kiln", "--access-log", NULL};
    char *off[] = {"kiln", "--access-log=0", NULL};
    char *env_on[] = {"ACCESS_LOG=true", NULL};

    (void)state;
    assert_int_equal(load(&cfg, on, NULL, err), CONFIG_OK);
    assert_true(cfg.access_log);
    config_free(&cfg);
    assert_int_equal(load(&cfg, off, env_on, err), CONFIG_OK);
    assert_false(cfg.access_log);
    config_free(&cfg);
    assert_int_equal(load(&cfg, (char *[]){"kiln", NULL}, env_on, err), CONFIG_OK);
    assert_true(cfg.access_log);
    config_free(&cfg);
}

/* On by default; the environment and --php-disable-fork=BOOL turn it off. */
static void test_php_disable_fork(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    char *env_off[] = {"PHP_DISABLE_FORK=off", NULL};

    (void)state;
    assert_int_equal(load(&cfg, (char *[]){"kiln", NULL}, env_off, err), CONFIG_OK);
    assert_false(cfg.php_disable_fork);
    config_free(&cfg);
    assert_int_equal(load(&cfg, (char *[]){"kiln", "--php-disable-fork", NULL}, env_off, err),
                     CONFIG_OK);
    assert_true(cfg.php_disable_fork);
    config_free(&cfg);
    assert_int_equal(load(&cfg, (char *[]){"kiln", "--php-disable-fork=no", NULL}, NULL, err),
                     CONFIG_OK);
    assert_false(cfg.php_disable_fork);
    config_free(&cfg);
    assert_int_not_equal(load(&cfg, (char *[]){"kiln", NULL},
                              (char *[]){"PHP_DISABLE_FORK=maybe", NULL}, err), CONFIG_OK);
    assert_non_null(strstr(err, "PHP_DISABLE_FORK"));
}

struct choice_case {
    const char *value;
    int rc;
    int want;
};

static void test_executor_values(void **state)
{
    static const struct choice_case cases[] = {
        {"ext", CONFIG_OK, CONFIG_EXECUTOR_EXT},   {"EXT", CONFIG_OK, CONFIG_EXECUTOR_EXT},
        {"stub", CONFIG_OK, CONFIG_EXECUTOR_STUB}, {" Stub ", CONFIG_OK, CONFIG_EXECUTOR_STUB},
        {"php", CONFIG_OK, CONFIG_EXECUTOR_EXT},   {"PHP", CONFIG_OK, CONFIG_EXECUTOR_EXT},
        {"sapi", CONFIG_ERROR, 0},                 {"exts", CONFIG_ERROR, 0},
        {"e", CONFIG_ERROR, 0},
    };

    (void)state;
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct config cfg;
        char err[CONFIG_ERR_MAX];
        char entry[64];

        snprintf(entry, sizeof entry, "EXECUTOR=%s", cases[i].value);
        if ((int)load_env1(&cfg, entry, err) != cases[i].rc)
            fail_msg("EXECUTOR=%s: unexpected result (%s)", cases[i].value, err);
        if (cases[i].rc == CONFIG_OK)
            assert_int_equal(cfg.executor, cases[i].want);
        else
            assert_true(starts_with(err, "invalid EXECUTOR \""));
        config_free(&cfg);
    }
}

static void test_routing_values(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];

    (void)state;
    assert_int_equal(load_env1(&cfg, "INDEX_FILE=index.php", err), CONFIG_OK);
    assert_int_equal(cfg.routing, CONFIG_ROUTING_AUTO);
    config_free(&cfg);
    assert_int_equal(load(&cfg, (char *[]){"kiln", "--routing", "Try-Files", NULL},
                          (char *[]){"INDEX_FILE=app.PHP", NULL}, err),
                     CONFIG_OK);
    assert_int_equal(cfg.routing, CONFIG_ROUTING_TRY_FILES);
    config_free(&cfg);
    assert_int_equal(load(&cfg, (char *[]){"kiln", NULL},
                          (char *[]){"INDEX_FILE=index.php", "ROUTING=auto", NULL}, err),
                     CONFIG_OK);
    assert_int_equal(cfg.routing, CONFIG_ROUTING_AUTO);
    config_free(&cfg);
    assert_int_equal(load_env1(&cfg, "ROUTING=try_files", err), CONFIG_ERROR);
    assert_string_equal(err, "invalid ROUTING \"try_files\": expected auto or try-files");
    /* try-files needs a PHP front controller to fall back to */
    assert_int_equal(load_env1(&cfg, "ROUTING=try-files", err), CONFIG_ERROR);
    assert_true(starts_with(err, "ROUTING (--routing) try-files needs INDEX_FILE"));
    assert_int_equal(load(&cfg, (char *[]){"kiln", "--routing=try-files", NULL},
                          (char *[]){"INDEX_FILE=index.html", NULL}, err),
                     CONFIG_ERROR);
    assert_true(starts_with(err, "ROUTING (--routing) try-files needs INDEX_FILE"));
}

static void test_log_levels(void **state)
{
    static const struct choice_case cases[] = {
        {"trace", CONFIG_OK, LOG_LEVEL_DEBUG}, {"debug", CONFIG_OK, LOG_LEVEL_DEBUG},
        {"info", CONFIG_OK, LOG_LEVEL_INFO},   {"WARN", CONFIG_OK, LOG_LEVEL_WARN},
        {"Error", CONFIG_OK, LOG_LEVEL_ERROR}, {"warning", CONFIG_ERROR, 0},
        {"verbose", CONFIG_ERROR, 0},           {"3", CONFIG_ERROR, 0},
    };

    (void)state;
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct config cfg;
        char err[CONFIG_ERR_MAX];
        char entry[64];

        snprintf(entry, sizeof entry, "LOG_LEVEL=%s", cases[i].value);
        if ((int)load_env1(&cfg, entry, err) != cases[i].rc)
            fail_msg("LOG_LEVEL=%s: unexpected result (%s)", cases[i].value, err);
        if (cases[i].rc == CONFIG_OK)
            assert_int_equal(cfg.log_level, cases[i].want);
        config_free(&cfg);
    }
}

/* TRUSTED_PROXIES is stored parsed (net/addr), so its users never parse it again. */
static void test_trusted_proxies_parsed(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];

    (void)state;
    assert_int_equal(load_env1(&cfg, "TRUSTED_PROXIES=10.0.0.0/8, ::1", err), CONFIG_OK);
    assert_int_equal(cfg.trusted_proxies.count, 2);
    assert_int_equal(cfg.trusted_proxies.cidr[0].prefix, 96 + 8);
    assert_int_equal(cfg.trusted_proxies.cidr[1].prefix, 128);
    config_free(&cfg);
    assert_int_equal(load_env1(&cfg, "TRUSTED_PROXIES=", err), CONFIG_OK);
    assert_int_equal(cfg.trusted_proxies.count, 0);
    config_free(&cfg);
    assert_int_equal(load_env1(&cfg, "TRUSTED_PROXIES=10.0.0.0/33", err), CONFIG_ERROR);
    assert_string_equal(err, "invalid TRUSTED_PROXIES \"10.0.0.0/33\": expected addresses or "
                             "CIDR blocks such as 10.0.0.0/8,::1/128");
}

static void test_pool_size_resolution(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];

    (void)state;
    assert_int_equal(load_env1(&cfg, "PHP_WORKERS=0", err), CONFIG_OK);
    assert_int_equal(cfg.php_workers, expected_cpu_workers());
    assert_int_equal(cfg.queue_capacity, expected_cpu_workers() * 100);
    assert_int_equal(load(&cfg, (char *[]){"kiln", "--workers", "4", NULL}, NULL, err), CONFIG_OK);
    assert_int_equal(cfg.queue_capacity, 400);
    assert_int_equal(load(&cfg, (char *[]){"kiln", "--workers=1024", "--queue-capacity=7", NULL},
                          NULL, err),
                     CONFIG_OK);
    assert_int_equal(cfg.php_workers, 1024);
    assert_int_equal(cfg.queue_capacity, 7);
}

/* ---- errors ------------------------------------------------------------------------------ */

static void test_exact_error_lines(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];

    (void)state;
    assert_int_equal(load_env1(&cfg, "REQUEST_TIMEOUT=5x", err), CONFIG_ERROR);
    assert_string_equal(
        err, "invalid REQUEST_TIMEOUT \"5x\": expected a duration such as 30s, 2m, 1h, 1d or off");
    assert_int_equal(load(&cfg, (char *[]){"kiln", "--workers", "abc", NULL}, NULL, err),
                     CONFIG_ERROR);
    assert_string_equal(err, "invalid --workers \"abc\": expected an integer from 0 to 1024");
}

struct bad_value {
    const char *env;
    const char *flag;
    const char *value;
};

/* At least one rejected value for every setting, including each range bound. */
static const struct bad_value bad_values[] = {
    {"LISTEN_ADDR", "--listen", "localhost:8080"},
    {"LISTEN_ADDR", "--listen", "0.0.0.0:0"},
    {"INTERNAL_ADDR", "--internal-addr", "127.0.0.1"},
    {"EXECUTOR", "--executor", "sapi"},
    {"PHP_WORKERS", "--workers", "1025"},
    {"PHP_WORKERS", "--workers", "-1"},
    {"QUEUE_CAPACITY", "--queue-capacity", "1000001"},
    {"WORKER_MAX_REQUESTS", "--worker-max-requests", "4294967296"},
    {"PHP_INI_SET", "-d", "novalue"},
    {"PHP_INI_SET", "-d", "=1"},
    {"PHP_INI_SET", "-d", "bad key=1"},
    {"REQUEST_TIMEOUT", "--request-timeout", "-1"},
    {"REQUEST_TIMEOUT", "--request-timeout", "11y"},
    {"SSE_TIMEOUT", "--sse-timeout", "1x"},
    {"STATIC_CACHE_TTL", "--static-cache-ttl", "1.5d"},
    {"HEADER_TIMEOUT_SECS", "--header-timeout", "0"},
    {"HEADER_TIMEOUT_SECS", "--header-timeout", "5s"},
    {"IDLE_TIMEOUT_SECS", "--idle-timeout", "0"},
    {"DRAIN_TIMEOUT_SECS", "--drain-timeout", "86401"},
    {"SHUTDOWN_DELAY", "--shutdown-delay", "11y"},
    {"MAX_BODY_SIZE", "--max-body-size", "0"},
    {"MAX_BODY_SIZE", "--max-body-size", "2T"},
    {"MAX_HEADER_SIZE", "--max-header-size", "1023"},
    {"MAX_HEADER_SIZE", "--max-header-size", "2M"},
    {"MAX_HEADER_COUNT", "--max-header-count", "0"},
    {"MAX_HEADER_COUNT", "--max-header-count", "10001"},
    {"MAX_URI_SIZE", "--max-uri-size", "255"},
    {"MAX_URI_SIZE", "--max-uri-size", "1025K"},
    {"MAX_CONNECTIONS", "--max-connections", "0"},
    {"MAX_CONNECTIONS", "--max-connections", "1000001"},
    {"ACCESS_LOG", "--access-log", "maybe"},
    {"RATE_LIMIT", "--rate-limit", "-5"},
    {"RATE_WINDOW", "--rate-window", "0"},
    {"LOG_LEVEL", "--log-level", "verbose"},
    {"SERVICE_NAME", "--service-name", "my service"},
    {"SERVICE_NAME", "--service-name",
     "0123456789012345678901234567890123456789012345678901234567890123"}, /* 64 > 63 */
};

static void assert_one_line_naming(const char *err, const char *name, const char *value)
{
    char prefix[256];

    snprintf(prefix, sizeof prefix, "invalid %s \"%s\": expected ", name, value);
    if (!starts_with(err, prefix))
        fail_msg("error line \"%s\" does not start with \"%s\"", err, prefix);
    assert_null(strchr(err, '\n'));
}

static void test_bad_values_name_the_env_var(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(bad_values); i++) {
        struct config cfg;
        char err[CONFIG_ERR_MAX];
        char entry[256];

        snprintf(entry, sizeof entry, "%s=%s", bad_values[i].env, bad_values[i].value);
        if (load_env1(&cfg, entry, err) != CONFIG_ERROR)
            fail_msg("%s was accepted", entry);
        assert_one_line_naming(err, bad_values[i].env, bad_values[i].value);
        assert_int_equal(cfg.php_ini_set_count, 0);
    }
}

static void test_bad_values_name_the_flag(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(bad_values); i++) {
        struct config cfg;
        char err[CONFIG_ERR_MAX];
        char arg[256];
        char *argv[] = {"kiln", arg, NULL};

        snprintf(arg, sizeof arg, "%s=%s", bad_values[i].flag, bad_values[i].value);
        if (load(&cfg, argv, NULL, err) != CONFIG_ERROR)
            fail_msg("%s was accepted", arg);
        assert_one_line_naming(err, bad_values[i].flag, bad_values[i].value);
    }
}

static void test_overlong_paths(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    char *long_value = malloc(PATH_MAX + 2);
    char *entry = malloc(PATH_MAX + 32);

    (void)state;
    assert_non_null(long_value);
    assert_non_null(entry);
    memset(long_value, 'a', PATH_MAX + 1);
    long_value[PATH_MAX + 1] = '\0';
    snprintf(entry, PATH_MAX + 32, "DOCUMENT_ROOT=%s", long_value);
    assert_int_equal(load_env1(&cfg, entry, err), CONFIG_ERROR);
    assert_true(starts_with(err, "invalid DOCUMENT_ROOT \"aaaa"));
    assert_non_null(strstr(err, "...\": expected a path"));
    long_value[NAME_MAX + 1] = '\0';
    assert_int_equal(load(&cfg, (char *[]){"kiln", "--index-file", long_value, NULL}, NULL, err),
                     CONFIG_ERROR);
    assert_true(starts_with(err, "invalid --index-file \""));
    long_value[NAME_MAX] = '\0';
    assert_int_equal(load(&cfg, (char *[]){"kiln", "--index-file", long_value, NULL}, NULL, err),
                     CONFIG_OK);
    free(long_value);
    free(entry);
}

static void test_required_values_reject_empty_flag(void **state)
{
    static const char *const args[] = {"--listen=", "--docroot=", "--workers=", "--executor=",
                                       "--request-timeout=", "--service-name=", "-d="};

    (void)state;
    for (size_t i = 0; i < COUNT(args); i++) {
        struct config cfg;
        char err[CONFIG_ERR_MAX];
        char *argv[] = {"kiln", (char *)args[i], NULL};

        if (load(&cfg, argv, NULL, err) != CONFIG_ERROR)
            fail_msg("%s was accepted", args[i]);
        assert_true(starts_with(err, "invalid "));
    }
}

static void test_control_characters_are_escaped(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];

    (void)state;
    assert_int_equal(load_env1(&cfg, "LISTEN_ADDR=a\nb\"c\\", err), CONFIG_ERROR);
    assert_string_equal(err, "invalid LISTEN_ADDR \"a\\x0ab\\\"c\\\\\": expected ip:port or "
                             "[ipv6]:port with a port from 1 to 65535 (host names are not "
                             "accepted)");
}

struct argv_error {
    const char *args[4];
    const char *want; /* substring of the error line */
};

static void test_argv_errors(void **state)
{
    static const struct argv_error cases[] = {
        {{"--bogus"}, "unknown option \"--bogus\"; run kiln --help"},
        {{"--bogus=1"}, "unknown option \"--bogus\";"},
        {{"-x"}, "unknown option \"-x\""},
        {{"--Listen", "127.0.0.1:80"}, "unknown option \"--Listen\""},
        {{"serve"}, "unexpected argument \"serve\"; run kiln --help"},
        {{"--access-log", "1"}, "unexpected argument \"1\""},
        {{"--listen"}, "missing value for --listen"},
        {{"--listen", "--workers", "2"}, "missing value for --listen"},
        {{"-d"}, "missing value for -d"},
        {{"--help=1"}, "option --help takes no value"},
        {{"--version=yes"}, "option --version takes no value"},
    };

    (void)state;
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct config cfg;
        char err[CONFIG_ERR_MAX];
        char *argv[6] = {"kiln"};
        int argc = 1;

        for (int j = 0; j < 4 && cases[i].args[j] != NULL; j++)
            argv[argc++] = (char *)cases[i].args[j];
        argv[argc] = NULL;
        assert_int_equal(load(&cfg, argv, NULL, err), CONFIG_ERROR);
        if (strstr(err, cases[i].want) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
    }
}

static void test_tls_both_or_neither(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    char *both[] = {"TLS_CERT=/c.pem", "TLS_KEY=/k.pem", NULL};

    (void)state;
    assert_int_equal(load_env1(&cfg, "TLS_CERT=/c.pem", err), CONFIG_ERROR);
    assert_non_null(strstr(err, "TLS_CERT"));
    assert_non_null(strstr(err, "TLS_KEY is missing"));
    assert_int_equal(load(&cfg, (char *[]){"kiln", "--tls-key", "/k.pem", NULL}, NULL, err),
                     CONFIG_ERROR);
    assert_non_null(strstr(err, "TLS_CERT is missing"));
    assert_int_equal(load(&cfg, (char *[]){"kiln", NULL}, both, err), CONFIG_OK);
    assert_string_equal(cfg.tls_cert, "/c.pem");
    assert_int_equal(load(&cfg, (char *[]){"kiln", "--tls-cert=", NULL}, both, err), CONFIG_ERROR);
    assert_non_null(strstr(err, "TLS_CERT is missing"));
}

/* ---- php.ini overrides ------------------------------------------------------------------- */

static void test_php_ini_set_then_d_flags(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    char *envp[] = {"PHP_INI_SET=memory_limit=256M; display_errors = On ;;", NULL};
    char *argv[] = {"kiln",
                    "-d",
                    "opcache.enable=1",
                    "-d=date.timezone=UTC",
                    "-d",
                    "disable_functions=exec;system",
                    "-d",
                    "error_reporting=E_ALL & ~E_NOTICE",
                    "-d",
                    "x=a=b",
                    NULL};
    static const char *const want[] = {
        "memory_limit=256M",   "display_errors=On",
        "opcache.enable=1",    "date.timezone=UTC",
        "disable_functions=exec;system", "error_reporting=E_ALL & ~E_NOTICE",
        "x=a=b",
    };

    (void)state;
    assert_int_equal(load(&cfg, argv, envp, err), CONFIG_OK);
    assert_int_equal(cfg.php_ini_set_count, COUNT(want));
    for (size_t i = 0; i < COUNT(want); i++)
        assert_string_equal(cfg.php_ini_set[i], want[i]);
    config_free(&cfg);
    assert_int_equal(cfg.php_ini_set_count, 0);
    config_free(&cfg); /* freeing twice is harmless */
}

static void test_php_ini_set_malformed(void **state)
{
    static const char *const values[] = {"a=1;b", "a=1;=2", "a=1;x y=2", "a=1\nb=2", "a=\t1",
                                         "key"};

    (void)state;
    for (size_t i = 0; i < COUNT(values); i++) {
        struct config cfg;
        char err[CONFIG_ERR_MAX];
        char entry[64];

        snprintf(entry, sizeof entry, "PHP_INI_SET=%s", values[i]);
        if (load_env1(&cfg, entry, err) != CONFIG_ERROR)
            fail_msg("%s was accepted", entry);
        assert_true(starts_with(err, "invalid PHP_INI_SET \""));
        assert_int_equal(cfg.php_ini_set_count, 0); /* entries added before the error freed */
    }
}

static void test_php_ini_set_limit(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    char env_entry[2048] = "PHP_INI_SET=";
    char *envp[] = {env_entry, NULL};
    char *argv[CONFIG_MAX_PHP_INI_SETS + 4] = {"kiln"};
    int argc = 1;
    const unsigned from_env = 40;

    (void)state;
    for (unsigned i = 0; i < from_env; i++) {
        char piece[32];
        snprintf(piece, sizeof piece, "k%u=%u;", i, i);
        strcat(env_entry, piece);
    }
    for (unsigned i = from_env; i < CONFIG_MAX_PHP_INI_SETS; i++) {
        argv[argc++] = "-d";
        argv[argc++] = "flag.setting=1";
    }
    argv[argc] = NULL;
    assert_int_equal(load(&cfg, argv, envp, err), CONFIG_OK);
    assert_int_equal(cfg.php_ini_set_count, CONFIG_MAX_PHP_INI_SETS);
    assert_string_equal(cfg.php_ini_set[0], "k0=0");
    assert_string_equal(cfg.php_ini_set[CONFIG_MAX_PHP_INI_SETS - 1], "flag.setting=1");
    config_free(&cfg);

    argv[argc++] = "-d=one.too.many=1";
    argv[argc] = NULL;
    assert_int_equal(load(&cfg, argv, envp, err), CONFIG_ERROR);
    assert_non_null(strstr(err, "PHP_INI_SET"));
    assert_non_null(strstr(err, "at most 64"));
    assert_int_equal(cfg.php_ini_set_count, 0);
}

/* ---- --help and --version ---------------------------------------------------------------- */

static void test_help_lists_every_flag_and_variable(void **state)
{
    static const char *const extra[] = {"--help", "--version", "default 0.0.0.0:8080",
                                        "default 2m", "default 100M", "Exit status"};
    char *argv[] = {"kiln", "--help", NULL};
    char *bad_env[] = {"REQUEST_TIMEOUT=5x", NULL};
    enum config_result result;
    char *text;

    (void)state;
    text = load_capturing_stdout(argv, bad_env, &result); /* --help works with a bad env */
    assert_int_equal(result, CONFIG_EXIT_OK);
    for (size_t i = 0; i < FULL_COUNT; i++) {
        if (strstr(text, full_settings[i].env) == NULL)
            fail_msg("--help does not mention %s", full_settings[i].env);
        if (strstr(text, full_settings[i].flag) == NULL)
            fail_msg("--help does not mention %s", full_settings[i].flag);
    }
    for (size_t i = 0; i < COUNT(extra); i++)
        if (strstr(text, extra[i]) == NULL)
            fail_msg("--help does not mention %s", extra[i]);
    free(text);
}

static void test_version(void **state)
{
    char *argv[] = {"kiln", "--workers", "3", "--version", "--bogus", NULL};
    enum config_result result;
    char *text;

    (void)state;
    text = load_capturing_stdout(argv, NULL, &result);
    assert_int_equal(result, CONFIG_EXIT_OK);
    assert_string_equal(text, "kiln " KILN_VERSION "\n");
    free(text);
}

static void test_syntax_error_before_help_wins(void **state)
{
    char *argv[] = {"kiln", "--bogus", "--help", NULL};
    enum config_result result;
    char *text;

    (void)state;
    text = load_capturing_stdout(argv, NULL, &result);
    assert_int_equal(result, CONFIG_ERROR);
    assert_string_equal(text, "");
    free(text);
}

/* ---- config_check_paths ------------------------------------------------------------------ */

struct tmp_tree {
    char root[64];      /* contains index.php, sub/, errors/, cert.pem, key.pem, php.ini */
    char file[128];     /* root/index.php */
};

static void write_file(const char *dir, const char *name)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("x\n", f);
    fclose(f);
}

static int make_tree(void **state)
{
    struct tmp_tree *t = calloc(1, sizeof *t);
    char path[256];

    if (t == NULL)
        return -1;
    snprintf(t->root, sizeof t->root, "/tmp/kiln-config-test-XXXXXX");
    if (mkdtemp(t->root) == NULL)
        return -1;
    write_file(t->root, "index.php");
    write_file(t->root, "cert.pem");
    write_file(t->root, "key.pem");
    write_file(t->root, "php.ini");
    snprintf(path, sizeof path, "%s/sub", t->root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/errors", t->root);
    mkdir(path, 0755);
    snprintf(t->file, sizeof t->file, "%s/index.php", t->root);
    *state = t;
    return 0;
}

static int remove_tree(void **state)
{
    struct tmp_tree *t = *state;
    static const char *const names[] = {"index.php", "cert.pem", "key.pem", "php.ini"};
    char path[256];

    for (size_t i = 0; i < COUNT(names); i++) {
        snprintf(path, sizeof path, "%s/%s", t->root, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/sub", t->root);
    rmdir(path);
    snprintf(path, sizeof path, "%s/errors", t->root);
    rmdir(path);
    rmdir(t->root);
    free(t);
    return 0;
}

/* Loads DOCUMENT_ROOT=`root` plus one more variable (may be NULL), then checks the paths. */
static int check_with(const char *root, const char *extra_env, struct config *cfg, char *err)
{
    char root_entry[256];
    char *envp[] = {root_entry, (char *)extra_env, NULL};
    char *argv[] = {"kiln", NULL};
    int rc;

    snprintf(root_entry, sizeof root_entry, "DOCUMENT_ROOT=%s", root);
    assert_int_equal(load(cfg, argv, envp, err), CONFIG_OK);
    rc = config_check_paths(cfg, err, CONFIG_ERR_MAX);
    config_free(cfg);
    return rc;
}

static void test_check_paths_ok_and_resolved(void **state)
{
    struct tmp_tree *t = *state;
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    char dotted[256], resolved[PATH_MAX];
    char tls[2][256];
    char *envp[5];

    snprintf(dotted, sizeof dotted, "%s/sub/.././/", t->root);
    assert_non_null(realpath(t->root, resolved));
    snprintf(tls[0], sizeof tls[0], "TLS_CERT=%s/cert.pem", t->root);
    snprintf(tls[1], sizeof tls[1], "TLS_KEY=%s/key.pem", t->root);
    envp[0] = "INDEX_FILE=index.php";
    envp[1] = tls[0];
    envp[2] = tls[1];
    envp[3] = NULL;
    assert_int_equal(load(&cfg, (char *[]){"kiln", "--docroot", dotted, NULL}, envp, err),
                     CONFIG_OK);
    assert_int_equal(config_check_paths(&cfg, err, sizeof err), 0);
    assert_string_equal(cfg.document_root, resolved);
    assert_string_equal(err, "");
    config_free(&cfg);
}

static void test_check_paths_missing_root(void **state)
{
    struct tmp_tree *t = *state;
    struct config cfg;
    char err[CONFIG_ERR_MAX], root[256], want[512];

    snprintf(root, sizeof root, "%s/nope", t->root);
    assert_int_equal(check_with(root, NULL, &cfg, err), -1);
    snprintf(want, sizeof want, "DOCUMENT_ROOT \"%s\": no such directory", root);
    assert_string_equal(err, want);

    assert_int_equal(check_with(t->file, NULL, &cfg, err), -1);
    snprintf(want, sizeof want, "DOCUMENT_ROOT \"%s\": not a directory", t->file);
    assert_string_equal(err, want);
}

static void test_check_paths_index_file(void **state)
{
    struct tmp_tree *t = *state;
    struct config cfg;
    char err[CONFIG_ERR_MAX], resolved[PATH_MAX], want[PATH_MAX + 64];

    assert_non_null(realpath(t->root, resolved));
    assert_int_equal(check_with(t->root, "INDEX_FILE=x.php", &cfg, err), -1);
    snprintf(want, sizeof want, "INDEX_FILE \"x.php\": %s/x.php does not exist", resolved);
    assert_string_equal(err, want);

    assert_int_equal(check_with(t->root, "INDEX_FILE=sub/index.php", &cfg, err), -1);
    assert_string_equal(err, "INDEX_FILE \"sub/index.php\": expected a file name without '/'");

    assert_int_equal(check_with(t->root, "INDEX_FILE=..", &cfg, err), -1);
    assert_true(starts_with(err, "INDEX_FILE \"..\":"));

    assert_int_equal(check_with(t->root, "INDEX_FILE=sub", &cfg, err), -1);
    snprintf(want, sizeof want, "INDEX_FILE \"sub\": %s/sub is not a regular file", resolved);
    assert_string_equal(err, want);

    assert_int_equal(check_with(t->root, "INDEX_FILE=index.php", &cfg, err), 0);
}

static void test_check_paths_optional_files(void **state)
{
    struct tmp_tree *t = *state;
    struct config cfg;
    char err[CONFIG_ERR_MAX], entry[256];

    snprintf(entry, sizeof entry, "ERROR_PAGES_DIR=%s/missing", t->root);
    assert_int_equal(check_with(t->root, entry, &cfg, err), -1);
    assert_true(starts_with(err, "ERROR_PAGES_DIR \""));
    assert_non_null(strstr(err, "no such directory"));

    snprintf(entry, sizeof entry, "ERROR_PAGES_DIR=%s/errors", t->root);
    assert_int_equal(check_with(t->root, entry, &cfg, err), 0);

    snprintf(entry, sizeof entry, "PHP_INI=%s/missing.ini", t->root);
    assert_int_equal(check_with(t->root, entry, &cfg, err), -1);
    assert_true(starts_with(err, "PHP_INI \""));
    assert_non_null(strstr(err, "cannot read"));

    snprintf(entry, sizeof entry, "PHP_INI=%s/sub", t->root);
    assert_int_equal(check_with(t->root, entry, &cfg, err), -1);
    assert_non_null(strstr(err, "not a regular file"));

    snprintf(entry, sizeof entry, "PHP_INI=%s/php.ini", t->root);
    assert_int_equal(check_with(t->root, entry, &cfg, err), 0);
}

static void test_check_paths_tls_files(void **state)
{
    struct tmp_tree *t = *state;
    struct config cfg;
    char err[CONFIG_ERR_MAX], cert[256], key[256];
    char *envp[] = {cert, key, NULL};

    snprintf(cert, sizeof cert, "TLS_CERT=%s/cert.pem", t->root);
    snprintf(key, sizeof key, "TLS_KEY=%s/missing.pem", t->root);
    assert_int_equal(load(&cfg, (char *[]){"kiln", "--docroot", t->root, NULL}, envp, err),
                     CONFIG_OK);
    assert_int_equal(config_check_paths(&cfg, err, sizeof err), -1);
    assert_true(starts_with(err, "TLS_KEY \""));
    assert_non_null(strstr(err, "cannot read: No such file or directory"));
    config_free(&cfg);
}

/* ---- config_write_json ------------------------------------------------------------------- */

/* The JSON of a configuration loaded from `envp`, NUL-terminated; freed with buf_free. */
static struct buf config_json(char **envp)
{
    char *argv[] = {"kiln", NULL};
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    struct buf out = {0};

    assert_int_equal(load(&cfg, argv, envp, err), CONFIG_OK);
    config_write_json(&cfg, &out);
    buf_append_char(&out, '\0');
    config_free(&cfg);
    return out;
}

static void test_json_every_setting_in_its_syntax(void **state)
{
    char *envp[] = {"PHP_WORKERS=3", "REQUEST_TIMEOUT=90", "SSE_TIMEOUT=off",
                    "TRUSTED_PROXIES=10.1.2.3/8, ::1", "COMPRESSION_LEVEL=gzip=9",
                    "COMPRESSION_TYPES=Application/WASM", "LOG_LEVEL=trace",
                    "INTERNAL_ADDR=127.0.0.1:9090", "SERVICE_NAME=a\"b", NULL};
    static const char *const lines[] = {
        "{\n  \"LISTEN_ADDR\": \"0.0.0.0:8080\",\n",
        "\n  \"INTERNAL_ADDR\": \"127.0.0.1:9090\",\n",
        "\n  \"HTTP_REDIRECT_ADDR\": \"\",\n",
        "\n  \"PHP_WORKERS\": \"3\",\n",
        "\n  \"QUEUE_CAPACITY\": \"300\",\n", /* resolved */
        "\n  \"REQUEST_TIMEOUT\": \"90s\",\n",
        "\n  \"SSE_TIMEOUT\": \"off\",\n",
        "\n  \"STATIC_CACHE_TTL\": \"1d\",\n",
        "\n  \"MAX_HEADER_SIZE\": \"64K\",\n",
        "\n  \"ACCESS_LOG\": \"off\",\n",
        "\n  \"EXECUTOR\": \"ext\",\n",
        "\n  \"LOG_LEVEL\": \"debug\",\n",
        "\n  \"TRUSTED_PROXIES\": \"10.0.0.0/8,::1/128\",\n",
        "\n  \"COMPRESSION_LEVEL\": \"br=4,zstd=3,gzip=9\",\n",
        "\n  \"COMPRESSION_TYPES\": \"application/wasm\",\n",
        "\n  \"TLS_KEY\": \"\",\n",
    };
    (void)state;
    /* SERVICE_NAME refuses '"', so the JSON escaping is shown by a path instead */
    envp[8] = "DOCUMENT_ROOT=/srv/a\"b";
    struct buf json = config_json(envp);
    for (size_t i = 0; i < COUNT(lines); i++)
        if (strstr(json.data, lines[i]) == NULL)
            fail_msg("missing %s in:\n%s", lines[i], json.data);
    assert_non_null(strstr(json.data, "\n  \"DOCUMENT_ROOT\": \"/srv/a\\\"b\",\n"));
    assert_non_null(strstr(json.data, "\n  \"SERVICE_NAME\": \"kiln\",\n"));
    assert_non_null(strstr(json.data, "\n  \"KILN_ENV_FILE\": \"\"\n}\n"));
    buf_free(&json);
}

/* Every setting with a variable appears once, and nothing else does. */
static void test_json_lists_every_setting(void **state)
{
    char *envp[] = {NULL};
    (void)state;
    struct buf json = config_json(envp);
    FILE *help = tmpfile();
    assert_non_null(help);
    size_t keys = 0;
    for (const char *p = json.data; (p = strstr(p, "\n  \"")) != NULL; p++)
        keys++;
    char *argv[] = {"kiln", "--help", NULL};
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    dup2(fileno(help), STDOUT_FILENO);
    assert_int_equal(load(&cfg, argv, envp, err), CONFIG_EXIT_OK);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    config_free(&cfg);
    rewind(help);
    char line[512];
    size_t variables = 0;
    while (fgets(line, sizeof line, help) != NULL) {
        /* "  --flag METAVAR      NAME, default VALUE" */
        char *comma = strstr(line, ", default ");
        if (comma == NULL)
            continue;
        char *name = comma;
        while (name > line && name[-1] != ' ')
            name--;
        char key[80];
        snprintf(key, sizeof key, "\n  \"%.*s\": ", (int)(comma - name), name);
        if (strstr(json.data, key) == NULL)
            fail_msg("%s is missing from the JSON", key);
        variables++;
    }
    fclose(help);
    assert_int_equal(keys, variables);
    buf_free(&json);
}

static void test_json_redacts_secrets(void **state)
{
    char *envp[] = {"TLS_CERT=/etc/kiln/cert.pem", "TLS_KEY=/etc/kiln/secret-key.pem",
                    "PHP_INI_SET=session.save_path=tcp://db?auth=hunter2", NULL};
    (void)state;
    struct buf json = config_json(envp);
    assert_non_null(strstr(json.data, "\"TLS_CERT\": \"/etc/kiln/cert.pem\""));
    assert_non_null(strstr(json.data, "\"TLS_KEY\": \"" CONFIG_REDACTED "\""));
    assert_non_null(strstr(json.data, "\"PHP_INI_SET\": \"" CONFIG_REDACTED "\""));
    assert_null(strstr(json.data, "secret-key"));
    assert_null(strstr(json.data, "hunter2"));
    buf_free(&json);
}


/* ---- the env file ------------------------------------------------------------------------ */

/* A temporary file holding `len` bytes of `text`; its path goes into `path`. */
static void write_env_file(char path[64], const char *text, size_t len)
{
    snprintf(path, 64, "/tmp/kiln-env-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* Loads with `--env-file PATH` (a file holding `text`), more flags and an environment. */
static enum config_result load_file(struct config *cfg, const char *text, char **flags,
                                    char **envp, char *err, char path[64])
{
    char *argv[16] = {"kiln", "--env-file", path};
    int argc = 3;
    write_env_file(path, text, strlen(text));
    for (; flags != NULL && *flags != NULL; flags++)
        argv[argc++] = *flags;
    argv[argc] = NULL;
    enum config_result r = load(cfg, argv, envp, err);
    unlink(path);
    return r;
}

static void test_env_file_syntax(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX], path[64];
    (void)state;
    assert_int_equal(load_file(&cfg,
                               "# settings\n"
                               "\n"
                               "   # an indented comment\n"
                               "export PHP_WORKERS=3\n"
                               "  LISTEN_ADDR = 127.0.0.1:9000  \r\n"
                               "SERVICE_NAME='shop-1'\n"
                               "DOCUMENT_ROOT=\"/srv/my site # not a comment\"\n"
                               "INDEX_FILE=\n" /* empty = unset, as in the environment */
                               "PHP_INI_SET=a=1;b=2\n"
                               "ACCESS_LOG=yes",  /* no newline at the end */
                               NULL, NULL, err, path),
                     CONFIG_OK);
    assert_int_equal(cfg.php_workers, 3);
    assert_string_equal(cfg.listen.text, "127.0.0.1:9000");
    assert_string_equal(cfg.service_name, "shop-1");
    assert_string_equal(cfg.document_root, "/srv/my site # not a comment");
    assert_string_equal(cfg.index_file, "");
    assert_int_equal(cfg.php_ini_set_count, 2);
    assert_string_equal(cfg.php_ini_set[1], "b=2");
    assert_true(cfg.access_log);
    assert_string_equal(cfg.env_file, path);
    config_free(&cfg);
}

static void test_env_file_errors(void **state)
{
    static const struct {
        const char *text, *err; /* err after "PATH:" */
    } cases[] = {
        {"PHP_WORKERS=2\nNO_SUCH=1\n", "2: unknown setting \"NO_SUCH\"; run kiln --help for the list"},
        {"\n\nPHP_WORKERS 2\n", "3: expected NAME=value"},
        {"=2\n", "1: unknown setting \"\"; run kiln --help for the list"},
        {"php_workers=2\n", "1: unknown setting \"php_workers\"; run kiln --help for the list"},
        {"SERVICE_NAME=\"kiln\n", "1: expected one quoted value: no quote inside its own quotes, none after"},
        {"SERVICE_NAME='a'b'\n", "1: expected one quoted value: no quote inside its own quotes, none after"},
        {"SERVICE_NAME=\"a\" b\n", "1: expected one quoted value: no quote inside its own quotes, none after"},
        {"KILN_ENV_FILE=/etc/other\n",
         "1: KILN_ENV_FILE names the file itself: set it in the environment or with --env-file"},
        {"# ok\nREQUEST_TIMEOUT=5x\n",
         "2: invalid REQUEST_TIMEOUT \"5x\": expected a duration such as 30s, 2m, 1h, 1d or off"},
        {"PHP_INI_SET=a=1;=2\n",
         "1: invalid PHP_INI_SET \"a=1;=2\": expected key=value entries separated by ';' (key: "
         "letters, digits, '.', '_', '-')"},
        {"--help\n", "1: expected NAME=value"},
    };
    (void)state;
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct config cfg;
        char err[CONFIG_ERR_MAX], path[64], want[CONFIG_ERR_MAX];
        assert_int_equal(load_file(&cfg, cases[i].text, NULL, NULL, err, path), CONFIG_ERROR);
        snprintf(want, sizeof want, "%s:%s", path, cases[i].err);
        assert_string_equal(err, want);
        config_free(&cfg);
    }
}

static void test_env_file_nul_byte(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX], path[64], want[CONFIG_ERR_MAX];
    char *argv[] = {"kiln", "--env-file", path, NULL};
    (void)state;
    write_env_file(path, "PHP_WORKERS=2\nSERVICE_NAME=a\0b\n", 31);
    assert_int_equal(load(&cfg, argv, NULL, err), CONFIG_ERROR);
    unlink(path);
    snprintf(want, sizeof want, "%s:2: a NUL byte", path);
    assert_string_equal(err, want);
}

static void test_env_file_precedence(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX], path[64];
    char *flags[] = {"--max-uri-size", "1K", "-d", "c=flag", NULL};
    char *envp[] = {"RATE_LIMIT=7", "MAX_URI_SIZE=2K", "PHP_INI_SET=b=env;c=env", NULL};
    (void)state;
    assert_int_equal(load_file(&cfg, "RATE_WINDOW=11\nRATE_LIMIT=5\nMAX_URI_SIZE=4K\n"
                                     "PHP_INI_SET=a=file;b=file;c=file\n",
                               flags, envp, err, path),
                     CONFIG_OK);
    assert_int_equal(cfg.rate_window_secs, 11);  /* file over default */
    assert_int_equal(cfg.rate_limit, 7);         /* environment over file */
    assert_int_equal(cfg.max_uri_size, 1024);    /* flag over environment */
    /* php.ini directives add up in that order: the last one for a key wins in PHP */
    static const char *const sets[] = {"a=file", "b=file", "c=file", "b=env", "c=env", "c=flag"};
    assert_int_equal(cfg.php_ini_set_count, COUNT(sets));
    for (size_t i = 0; i < COUNT(sets); i++)
        assert_string_equal(cfg.php_ini_set[i], sets[i]);
    config_free(&cfg);
}

static void test_env_file_which_and_whether(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX], path[64];
    (void)state;
    write_env_file(path, "PHP_WORKERS=5\n", 14);
    char env_entry[80];
    snprintf(env_entry, sizeof env_entry, "KILN_ENV_FILE=%s", path);
    char *from_env[] = {env_entry, NULL};
    assert_int_equal(load_env1(&cfg, env_entry, err), CONFIG_OK);
    assert_int_equal(cfg.php_workers, 5);
    config_free(&cfg);
    /* an empty --env-file turns the variable's file off */
    char *off[] = {"kiln", "--env-file=", "--workers", "2", NULL};
    assert_int_equal(load(&cfg, off, from_env, err), CONFIG_OK);
    assert_int_equal(cfg.php_workers, 2);
    config_free(&cfg);
    unlink(path);
    /* missing: an error, unless the name starts with '-' */
    char *missing[] = {"kiln", "--env-file", "/nonexistent/kiln.env", NULL};
    assert_int_equal(load(&cfg, missing, NULL, err), CONFIG_ERROR);
    assert_string_equal(err, "--env-file \"/nonexistent/kiln.env\": cannot read: No such file "
                             "or directory");
    char *optional[] = {"kiln", "--env-file", "-/nonexistent/kiln.env", NULL};
    assert_int_equal(load(&cfg, optional, NULL, err), CONFIG_OK);
    assert_string_equal(cfg.env_file, "-/nonexistent/kiln.env");
    config_free(&cfg);
    assert_int_equal(load_env1(&cfg, "KILN_ENV_FILE=/tmp", err), CONFIG_ERROR);
    assert_string_equal(err, "KILN_ENV_FILE \"/tmp\": cannot read: not a regular file");
    char *optional_dir[] = {"kiln", "--env-file=-/tmp", NULL};
    assert_int_equal(load(&cfg, optional_dir, NULL, err), CONFIG_ERROR); /* only a missing one */
}

/* ---- reload: config_diff(), config_take_reloadable() ------------------------------------- */

struct changes {
    char text[2048];
    char *flags[64]; /* "--flag=from" of each change that needs a restart */
    int flag_count;
};

static void note_change(void *arg, const struct config_change *c)
{
    struct changes *ch = arg;
    size_t n = strlen(ch->text);
    snprintf(ch->text + n, sizeof ch->text - n, "%s%s:%s>%s;", c->reload ? "+" : "", c->name,
             c->secret ? "?" : c->from, c->secret ? "?" : c->to);
    if (!c->reload) {
        size_t len = strlen(c->flag) + strlen(c->from) + 2;
        ch->flags[ch->flag_count] = malloc(len);
        snprintf(ch->flags[ch->flag_count++], len, "%s=%s", c->flag, c->from);
    }
}

static void free_changes(struct changes *ch)
{
    for (int i = 0; i < ch->flag_count; i++)
        free(ch->flags[i]);
}

static void test_diff_names_each_change(void **state)
{
    struct tmp_tree *t = *state;
    struct config running, next;
    char err[CONFIG_ERR_MAX], root[128], sub[128];
    (void)state;
    snprintf(root, sizeof root, "DOCUMENT_ROOT=%s", t->root);
    snprintf(sub, sizeof sub, "DOCUMENT_ROOT=%s/sub/..", t->root);
    char *before[] = {root, "LISTEN_ADDR=127.0.0.1:8080", "PHP_INI_SET=a=1", "TLS_CERT=c",
                      "TLS_KEY=k", "MAX_CONNECTIONS=100", NULL};
    char *after[] = {sub, "LISTEN_ADDR=127.0.0.1:8081", "PHP_INI_SET=a=2",
                     "WORKER_MAX_REQUESTS=5", "TLS_CERT=c", "TLS_KEY=k2", "MAX_CONNECTIONS=100",
                     NULL};
    char *argv[] = {"kiln", NULL};
    assert_int_equal(load(&running, argv, before, err), CONFIG_OK);
    running.tls_cert[0] = running.tls_key[0] = '\0'; /* no such files: only the root's check */
    assert_int_equal(config_check_paths(&running, err, CONFIG_ERR_MAX), 0);
    strcpy(running.tls_cert, "c");
    strcpy(running.tls_key, "k");
    assert_int_equal(load(&next, argv, after, err), CONFIG_OK);
    struct changes ch = {0};
    config_diff(&running, &next, note_change, &ch);
    char want[1024];
    snprintf(want, sizeof want,
             "LISTEN_ADDR:127.0.0.1:8080>127.0.0.1:8081;"
             "+DOCUMENT_ROOT:%s>%s/sub/..;" /* as given, not the realpath */
             "+WORKER_MAX_REQUESTS:0>5;+PHP_INI_SET:?>?;TLS_KEY:?>?;",
             t->root, t->root);
    assert_string_equal(ch.text, want);
    free_changes(&ch);
    config_free(&running);
    config_free(&next);
}

/* The `from` values as flags make a new load agree with the running configuration: what the
   master does so that a reload's php-zygote never takes a setting that needs a restart. */
static void test_diff_values_round_trip_as_flags(void **state)
{
    struct config running, next, kept;
    char err[CONFIG_ERR_MAX];
    char *envp[] = {
        "LISTEN_ADDR=[::1]:8443", "INTERNAL_ADDR=127.0.0.1:9090", "INDEX_FILE=index.php",
        "ROUTING=try-files", "ERROR_PAGES_DIR=/e", "EXECUTOR=stub", "PHP_WORKERS=3",
        "QUEUE_CAPACITY=7", "PHP_DISABLE_FORK=0", "REQUEST_TIMEOUT=90s", "SSE_TIMEOUT=off",
        "STATIC_CACHE_TTL=2w", "HEADER_TIMEOUT_SECS=9", "MAX_BODY_SIZE=1536K",
        "MAX_HEADER_SIZE=2K", "ACCESS_LOG=1", "COMPRESSION=off",
        "COMPRESSION_LEVEL=br=5,gzip=1", "COMPRESSION_TYPES=image/*,application/wasm",
        "TRUSTED_PROXIES=10.0.0.0/8,::1/128", "TLS_CERT=/c", "TLS_KEY=/k",
        "HTTP_REDIRECT_ADDR=0.0.0.0:80", "LOG_LEVEL=warn", "SERVICE_NAME=shop",
        "SHUTDOWN_DELAY=5s", "BODY_MIN_RATE=500", "RATE_LIMIT=9", NULL};
    char *argv[64] = {"kiln", NULL};
    (void)state;
    assert_int_equal(load(&running, argv, envp, err), CONFIG_OK);
    assert_int_equal(load(&next, argv, NULL, err), CONFIG_OK);
    struct changes ch = {0};
    config_diff(&running, &next, note_change, &ch);
    assert_true(ch.flag_count > 20);
    for (int i = 0; i < ch.flag_count; i++)
        argv[i + 1] = ch.flags[i];
    argv[ch.flag_count + 1] = NULL;
    assert_int_equal(load(&kept, argv, NULL, err), CONFIG_OK);
    struct changes left = {0};
    config_diff(&running, &kept, note_change, &left);
    assert_string_equal(left.text, "+PHP_DISABLE_FORK:off>on;"); /* a reload applies that one */
    free_changes(&ch);
    free_changes(&left);
    config_free(&running);
    config_free(&next);
    config_free(&kept);
}

static void test_take_reloadable(void **state)
{
    struct config running, next;
    char err[CONFIG_ERR_MAX];
    char *before[] = {"PHP_INI_SET=a=1;b=1", "LISTEN_ADDR=127.0.0.1:1", NULL};
    char *after[] = {"PHP_INI_SET=c=2", "WORKER_MAX_REQUESTS=9", "PHP_INI=/p.ini",
                     "PHP_DISABLE_FORK=off", "DOCUMENT_ROOT=/srv/new", "LISTEN_ADDR=127.0.0.1:2",
                     NULL};
    char *argv[] = {"kiln", NULL};
    (void)state;
    assert_int_equal(load(&running, argv, before, err), CONFIG_OK);
    strcpy(running.document_root_setting, "/var/www/html");
    assert_int_equal(load(&next, argv, after, err), CONFIG_OK);
    config_take_reloadable(&running, &next);
    assert_int_equal(running.php_ini_set_count, 1);
    assert_string_equal(running.php_ini_set[0], "c=2");
    assert_int_equal(running.worker_max_requests, 9);
    assert_string_equal(running.php_ini, "/p.ini");
    assert_false(running.php_disable_fork);
    assert_string_equal(running.document_root_setting, "/srv/new"); /* resolved by the caller */
    assert_string_equal(running.document_root, "/var/www/html");
    assert_string_equal(running.listen.text, "127.0.0.1:1"); /* needs a restart */
    config_free(&next); /* frees the old entries: LeakSanitizer checks both */
    config_free(&running);
}

/* docs/configuration.md lists the settings a reload applies; the table decides. */
static void test_reload_list_in_the_docs(void **state)
{
    char *envp[] = {NULL};
    (void)state;
    FILE *doc = fopen("docs/configuration.md", "r");
    assert_non_null(doc);
    char line[1024], listed[1024] = "";
    while (fgets(line, sizeof line, doc) != NULL)
        if (strncmp(line, "Settings a reload applies:", 26) == 0)
            snprintf(listed, sizeof listed, "%s", line);
    fclose(doc);
    assert_true(listed[0] != '\0');
    struct buf json = config_json(envp);
    unsigned applied = 0;
    for (const char *p = json.data; (p = strstr(p, "\n  \"")) != NULL; p++) {
        char name[64], quoted[70];
        sscanf(p + 4, "%63[A-Z0-9_]", name);
        snprintf(quoted, sizeof quoted, "`%s`", name);
        if (config_reload_applies(name) != (strstr(listed, quoted) != NULL))
            fail_msg("%s: the table and docs/configuration.md disagree", name);
        applied += config_reload_applies(name);
    }
    assert_int_equal(applied, 6);
    buf_free(&json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_uint),
        cmocka_unit_test(test_parse_bool),
        cmocka_unit_test(test_parse_addr),
        cmocka_unit_test(test_parse_addr_bytes),
        cmocka_unit_test(test_load_defaults),
        cmocka_unit_test(test_load_env_only),
        cmocka_unit_test(test_load_flags_separate_values),
        cmocka_unit_test(test_load_flags_with_equals),
        cmocka_unit_test(test_flag_beats_env),
        cmocka_unit_test(test_later_flag_wins),
        cmocka_unit_test(test_empty_env_is_unset),
        cmocka_unit_test(test_access_log_switch),
        cmocka_unit_test(test_php_disable_fork),
        cmocka_unit_test(test_executor_values),
        cmocka_unit_test(test_routing_values),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_trusted_proxies_parsed),
        cmocka_unit_test(test_pool_size_resolution),
        cmocka_unit_test(test_exact_error_lines),
        cmocka_unit_test(test_bad_values_name_the_env_var),
        cmocka_unit_test(test_bad_values_name_the_flag),
        cmocka_unit_test(test_overlong_paths),
        cmocka_unit_test(test_required_values_reject_empty_flag),
        cmocka_unit_test(test_control_characters_are_escaped),
        cmocka_unit_test(test_argv_errors),
        cmocka_unit_test(test_tls_both_or_neither),
        cmocka_unit_test(test_php_ini_set_then_d_flags),
        cmocka_unit_test(test_php_ini_set_malformed),
        cmocka_unit_test(test_php_ini_set_limit),
        cmocka_unit_test(test_help_lists_every_flag_and_variable),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_syntax_error_before_help_wins),
        cmocka_unit_test_setup_teardown(test_check_paths_ok_and_resolved, make_tree, remove_tree),
        cmocka_unit_test_setup_teardown(test_check_paths_missing_root, make_tree, remove_tree),
        cmocka_unit_test_setup_teardown(test_check_paths_index_file, make_tree, remove_tree),
        cmocka_unit_test_setup_teardown(test_check_paths_optional_files, make_tree, remove_tree),
        cmocka_unit_test_setup_teardown(test_check_paths_tls_files, make_tree, remove_tree),
        cmocka_unit_test(test_json_every_setting_in_its_syntax),
        cmocka_unit_test(test_json_lists_every_setting),
        cmocka_unit_test(test_json_redacts_secrets),
        cmocka_unit_test(test_env_file_syntax),
        cmocka_unit_test(test_env_file_errors),
        cmocka_unit_test(test_env_file_nul_byte),
        cmocka_unit_test(test_env_file_precedence),
        cmocka_unit_test(test_env_file_which_and_whether),
        cmocka_unit_test_setup_teardown(test_diff_names_each_change, make_tree, remove_tree),
        cmocka_unit_test(test_diff_values_round_trip_as_flags),
        cmocka_unit_test(test_take_reloadable),
        cmocka_unit_test(test_reload_list_in_the_docs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
