/*
 * Configuration: every setting Kiln has, read once at start-up.
 *
 * Sources, later wins: built-in defaults, the env file (ENV_FILE: NAME=value lines with the
 * variables' names), environment variables (the names of tokio_php, plus Kiln's own),
 * command-line flags. A bad value never falls back silently: config_load() fills
 * `err` with one line naming the setting, the value and what is accepted, and the caller exits
 * with status 2. docs/configuration.md lists every setting with its default.
 *
 * The value parsers are exported for unit tests and the config fuzz target.
 */
#ifndef KILN_CONFIG_H
#define KILN_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "buf.h"
#include "coding.h"
#include "denylist.h"
#include "net/addr.h"
#include "net/watch.h"
#include "obs/log.h"

#define CONFIG_ERR_MAX 512
#define CONFIG_MAX_PHP_INI_SETS 64

enum config_executor {
    CONFIG_EXECUTOR_EXT,  /* PHP through Kiln's SAPI in worker processes (default) */
    CONFIG_EXECUTOR_STUB, /* PHP routes answered by the master with a fixed body, no PHP */
};

enum config_routing {
    CONFIG_ROUTING_AUTO,      /* mode from INDEX_FILE: traditional, framework or SPA (default) */
    CONFIG_ROUTING_TRY_FILES, /* files, then dir/index.php, then the INDEX_FILE front controller */
};

struct config_addr {
    struct sockaddr_storage sa;
    socklen_t len;
    char text[64]; /* as written by the user, e.g. "127.0.0.1:8080" or "[::1]:8080" */
};

struct config {
    /* Listeners */
    struct config_addr listen;   /* LISTEN_ADDR, --listen; default 0.0.0.0:8080 */
    struct config_addr internal; /* INTERNAL_ADDR, --internal-addr; default off (len 0) */
    struct config_addr http_redirect; /* HTTP_REDIRECT_ADDR, --http-redirect-addr: plain HTTP
                                         listener answering 301 to https://; default off */

    /* Document root and routing */
    char document_root[PATH_MAX]; /* DOCUMENT_ROOT, --docroot; default /var/www/html; absolute,
                                     resolved with realpath() by config_check_paths() */
    char document_root_setting[PATH_MAX]; /* DOCUMENT_ROOT as given (maybe through a symlink
                                             such as "current"): SIGHUP resolves it again */
    char index_file[NAME_MAX + 1]; /* INDEX_FILE, --index-file; "" = traditional routing */
    enum config_routing routing;   /* ROUTING, --routing: auto | try-files (INDEX_FILE *.php) */
    struct denylist deny_paths;    /* DENY_PATHS, parsed; default none: 404 for these paths */
    char error_pages_dir[PATH_MAX]; /* ERROR_PAGES_DIR, --error-pages-dir; "" = off */

    /* PHP and the worker pool */
    enum config_executor executor; /* EXECUTOR, --executor: ext | stub */
    unsigned php_workers;          /* PHP_WORKERS, --workers; 0 in the input = CPU count;
                                      always resolved (>= 1) after config_load() */
    unsigned queue_capacity;       /* QUEUE_CAPACITY, --queue-capacity; 0 = workers x 100;
                                      always resolved after config_load() */
    unsigned worker_max_requests;  /* WORKER_MAX_REQUESTS, --worker-max-requests; 0 = off */
    uint64_t worker_max_memory;    /* WORKER_MAX_MEMORY, size; private resident bytes; 0 = off */
    char worker_script[PATH_MAX];  /* WORKER_SCRIPT, --worker-script; "" = classic mode; after
                                      config_check_paths() absolute (relative: DOCUMENT_ROOT) */
    char worker_script_setting[PATH_MAX]; /* WORKER_SCRIPT as given: a relative one is resolved
                                             again under a reload's DOCUMENT_ROOT */
    struct watch_dirs worker_watch; /* WORKER_WATCH, --worker-watch, parsed; default none (off):
                                      a development mode, PHP file changes reload */
    char php_ini[PATH_MAX];        /* PHP_INI, --php-ini; "" = Debian's embed php.ini */
    bool php_disable_fork;         /* PHP_DISABLE_FORK, --php-disable-fork; default on */
    /* PHP_INI_SET ("k=v;k=v") then each -d k=v, in order */
    unsigned php_ini_set_count;
    char *php_ini_set[CONFIG_MAX_PHP_INI_SETS]; /* "key=value", heap copies */

    /* Timeouts, in seconds; 0 = off where the setting allows it */
    uint64_t request_timeout_secs; /* REQUEST_TIMEOUT, duration; default 2m */
    uint64_t sse_timeout_secs;     /* SSE_TIMEOUT, duration; default 30m */
    uint64_t static_cache_ttl_secs; /* STATIC_CACHE_TTL, duration; default 1d; 0 = off */
    unsigned header_timeout_secs;  /* HEADER_TIMEOUT_SECS; default 5; >= 1 */
    unsigned idle_timeout_secs;    /* IDLE_TIMEOUT_SECS; default 60; >= 1 */
    unsigned drain_timeout_secs;   /* DRAIN_TIMEOUT_SECS; default 30 */
    uint64_t shutdown_delay_secs;  /* SHUTDOWN_DELAY, duration; default 0 (off) */
    uint64_t body_min_rate;        /* BODY_MIN_RATE, bytes/s over IDLE_TIMEOUT_SECS; 0 = off */

    /* HTTP limits */
    uint64_t max_body_size;     /* MAX_BODY_SIZE, size (100M); default 100M; 413 above */
    unsigned max_header_size;   /* MAX_HEADER_SIZE, size; default 64K; 431 above */
    unsigned max_header_count;  /* MAX_HEADER_COUNT; default 100; 431 above */
    unsigned max_uri_size;      /* MAX_URI_SIZE, size; default 8K; 414 above */
    unsigned max_connections;   /* MAX_CONNECTIONS; default 65536, capped by the fd limit */
    unsigned max_connections_per_ip; /* MAX_CONNECTIONS_PER_IP; default 0 = off */

    /* Middleware (later issues) */
    bool access_log;            /* ACCESS_LOG; default off */
    bool profile;               /* PROFILE; default off */
    unsigned rate_limit;        /* RATE_LIMIT; default 0 = off */
    unsigned rate_window_secs;  /* RATE_WINDOW; default 60 */

    bool compression;           /* COMPRESSION; default on */
    struct coding_levels compression_level; /* COMPRESSION_LEVEL, parsed; default br=4,zstd=3,gzip=6 */
    uint64_t compression_min_size; /* COMPRESSION_MIN_SIZE; default 256 */
    struct coding_types compression_types; /* COMPRESSION_TYPES, parsed; default none */
    uint64_t static_compress_cache_size; /* STATIC_COMPRESS_CACHE_SIZE; default 64M; 0 = off */
    struct addr_cidr_list trusted_proxies; /* TRUSTED_PROXIES, parsed; default none */

    /* TLS */
    char tls_cert[PATH_MAX];    /* TLS_CERT; both or neither */
    char tls_key[PATH_MAX];     /* TLS_KEY */
    unsigned h2_max_streams;    /* H2_MAX_CONCURRENT_STREAMS; default 100 */

    /* Logging */
    enum log_level log_level; /* LOG_LEVEL: debug|info|warn|error (trace = debug) */
    char service_name[64];           /* SERVICE_NAME; default "kiln" */

    /* The env file: KILN_ENV_FILE, --env-file; "" = none; a leading '-' = optional */
    char env_file[PATH_MAX];

    /* Commands */
    pid_t reload_pid;                /* --reload PID (CONFIG_RELOAD) */
};

/* An optional address (INTERNAL_ADDR, HTTP_REDIRECT_ADDR) is off when unset. */
static inline bool config_addr_is_set(const struct config_addr *a) { return a->len != 0; }

/* The port of an address, in host byte order. */
unsigned config_addr_port(const struct config_addr *a);

/* Outcome of config_load(). */
enum config_result {
    CONFIG_OK,
    CONFIG_EXIT_OK,  /* --help or --version was printed to stdout; exit 0 */
    CONFIG_RELOAD,   /* --reload PID: ask that server for a graceful reload (reload_pid) */
    CONFIG_ERROR,    /* `err` holds one line; exit 2 */
};

/*
 * Fills `cfg` from defaults, then the env file (named by --env-file or KILN_ENV_FILE), then
 * `envp` (NULL-terminated "NAME=value" list), then argv. Reads no other file (see
 * config_check_paths()). An error in the env file names the file and the line.
 */
enum config_result config_load(struct config *cfg, int argc, char **argv, char **envp,
                               char *err, size_t errlen);

/*
 * Start-up checks that need the file system: the document root exists and is a directory
 * (and is replaced by its realpath), INDEX_FILE exists under it, ERROR_PAGES_DIR is a directory,
 * TLS_CERT and TLS_KEY are readable. Returns 0, or -1 with `err` filled.
 */
int config_check_paths(struct config *cfg, char *err, size_t errlen);

/* DOCUMENT_ROOT's check and realpath() on their own, for a reload: 0, or -1 with `err`. */
int config_resolve_document_root(const char *setting, char resolved[PATH_MAX], char *err,
                                 size_t errlen);

/*
 * Appends the effective configuration as a JSON object (the internal server's /config): every
 * setting of the table, keyed by its environment variable, in --help order, each value a
 * string in the syntax the setting accepts (PHP_WORKERS and QUEUE_CAPACITY resolved, "" for an
 * unset optional one). Secrets (TLS_KEY, PHP_INI_SET) show CONFIG_REDACTED when set.
 */
void config_write_json(const struct config *cfg, struct buf *out);
#define CONFIG_REDACTED "[redacted]"

/*
 * Writes the OPTIONS entries of the kiln(8) man page in roff (-man macros), one per row of the
 * table that --help prints: flag and metavariable, environment variable, default, help line.
 * tools/mkman.c puts them into packaging/kiln.8.in, so --help and the page cannot drift.
 */
void config_write_man(FILE *out);

/* ---- reload: the configuration loaded again, compared with the running one ---------------- */

/* One setting whose value differs (config_diff()). */
struct config_change {
    const char *name;       /* the variable, e.g. "LISTEN_ADDR" */
    const char *flag;       /* e.g. "--listen" */
    const char *from, *to;  /* running and new value, in the syntax the setting accepts */
    bool reload;            /* a reload applies it (config_reload_applies()) */
    bool secret;            /* keep the values out of logs (TLS_KEY, PHP_INI_SET) */
};
typedef void config_change_fn(void *arg, const struct config_change *change);

/*
 * Calls `fn` for every setting of the table (in --help order) whose value differs between
 * `running` (checked by config_check_paths()) and `next` (just loaded): DOCUMENT_ROOT is
 * compared as given, before its realpath(). `from` is the running value: as a flag
 * ("--listen=<from>") it makes a new config_load() agree with `running` on that setting.
 */
void config_diff(const struct config *running, const struct config *next, config_change_fn *fn,
                 void *arg);

/*
 * Settings a reload applies: the ones only the php-zygote and its workers read (PHP_INI,
 * PHP_INI_SET, PHP_DISABLE_FORK, WORKER_MAX_REQUESTS), which a new zygote reads itself, and
 * DOCUMENT_ROOT, which the master resolves again. `name` is the variable.
 */
bool config_reload_applies(const char *name);

/*
 * The i-th entry of the settings table: its variable and its flag, either NULL when it has
 * none (--help has no variable). False past the last. For tests and fuzzers that cover every
 * setting without a list of their own.
 */
bool config_setting_names(size_t i, const char **env, const char **flag);

/*
 * Moves the values of the settings a reload applies from `next` into `running`, in place (the
 * master's modules keep their pointers into it). DOCUMENT_ROOT goes into
 * document_root_setting only: resolving it is the caller's (config_resolve_document_root()).
 */
void config_take_reloadable(struct config *running, struct config *next);

/* Frees what config_load() allocated. */
void config_free(struct config *cfg);

/* --- value parsers: 0 on success, -1 when the text is not accepted ------------------------- */

/* "30s", "2m", "1h", "1d", "1w", "1y", plain digits = seconds; "off", "0" = 0. Trimmed,
   case-insensitive. Empty is rejected (callers treat an empty variable as unset). */
int config_parse_duration(const char *s, uint64_t *secs);

/* Non-negative decimal integer fitting `max`. No sign, no spaces inside, no trailing junk. */
int config_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Byte sizes: "1048576", "512K", "64k", "100M", "1G" (powers of 1024; optional trailing "B"). */
int config_parse_size(const char *s, uint64_t *bytes);

/* "1", "true", "yes", "on" -> true; "0", "false", "no", "off" -> false; any case. */
int config_parse_bool(const char *s, bool *out);

/* "ip:port" or "[ipv6]:port"; port 1..65535. Host names are not accepted. */
int config_parse_addr(const char *s, struct config_addr *out);

#endif
