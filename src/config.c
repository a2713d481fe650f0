/*
 * Configuration loading (contract in config.h, user documentation in docs/configuration.md).
 *
 * One table, `settings`, gives every setting its environment variable, flag, default, limits and
 * help line. The same table drives the defaults (parsed like user input), the environment, the
 * flags, --help and the error messages, so a setting cannot be half-added.
 */
#include "config.h"

#include "coding.h"
#include "net/addr.h"
#include "net/watch.h"
#include "obs/json.h"
#include "text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef KILN_VERSION
#error "KILN_VERSION must be defined by the build, e.g. -DKILN_VERSION='\"0.1.0\"'"
#endif

/* Numeric fields are either `unsigned` or `uint64_t`; store_number() tells them apart by size. */
_Static_assert(sizeof(unsigned) < sizeof(uint64_t), "unsigned and uint64_t must differ in size");

#define MAX_WORKERS 1024u
#define MAX_DURATION_SECS (10ull * 365 * 86400) /* 10y: keeps deadlines and Expires in range */
#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define QUOTE_MAX 120 /* bytes of a user value echoed in an error line */

enum setting_kind {
    KIND_ADDR,
    KIND_OPTIONAL_ADDR, /* empty = off (len 0) */
    KIND_PATH,          /* text into a char array; empty allowed when the default is empty */
    KIND_PARSED,        /* text of at most `max` bytes, stored by the owner module's `parse` */
    KIND_NAME,          /* short identifier (SERVICE_NAME) */
    KIND_EXECUTOR,
    KIND_ROUTING,
    KIND_LOG_LEVEL,
    KIND_UINT,
    KIND_DURATION,
    KIND_SIZE,
    KIND_BOOL,    /* flag form: --x alone = on, --x=BOOL */
    KIND_INI_SET, /* env: "k=v;k=v"; flag -d: one "k=v" per use */
    KIND_HELP,
    KIND_VERSION,
    KIND_RELOAD,  /* --reload PID: a command, not a setting */
    KIND_ENV_FILE, /* --env-file: a path, read before the environment; not a line of the file */
};

struct setting {
    const char *env;     /* NULL for --help and --version */
    const char *flag;
    const char *metavar; /* NULL: the flag takes no separate value */
    const char *default_value; /* parsed like user input; "" = off */
    enum setting_kind kind;
    size_t offset;       /* of the field in struct config */
    size_t size;         /* of that field */
    uint64_t min, max;   /* numeric kinds */
    const char *help;
    bool (*parse)(const char *value, void *field); /* KIND_PARSED: the owner module's parser */
    const char *expected; /* KIND_PARSED: what is accepted, for the error line */
    /* KIND_PARSED: writes the stored value back in the syntax `parse` accepts (/config) */
    void (*format)(const void *field, struct buf *out);
    bool secret;          /* /config shows only whether it is set */
    bool reload;          /* a reload applies it (config_reload_applies()) */
};

/* These are stored parsed: their users never parse them again. */
static bool parse_compression_levels(const char *value, void *field)
{
    return coding_parse_levels(value, field) == 0;
}

static bool parse_compression_types(const char *value, void *field)
{
    return coding_parse_types(value, field) == 0;
}

static bool parse_trusted_proxies(const char *value, void *field)
{
    return addr_parse_cidr_list(value, field) == 0;
}

static bool parse_deny_paths(const char *value, void *field)
{
    return denylist_parse(value, field) == 0;
}

static bool parse_worker_watch(const char *value, void *field)
{
    return watch_dirs_parse(value, field) == 0;
}

static void format_worker_watch(const void *field, struct buf *out)
{
    const struct watch_dirs *dirs = field;
    for (unsigned i = 0; i < dirs->count; i++)
        buf_printf(out, "%s%s", i > 0 ? "," : "", watch_dirs_at(dirs, i));
}

static void format_deny_paths(const void *field, struct buf *out)
{
    const struct denylist *list = field;
    for (unsigned i = 0; i < list->count; i++)
        buf_printf(out, "%s%s", i > 0 ? "," : "", list->path[i]);
}

static void format_compression_levels(const void *field, struct buf *out)
{
    const struct coding_levels *levels = field;
    for (int c = ENCODING_BR; c < ENCODING_COUNT; c++)
        buf_printf(out, "%s%s=%d", c == ENCODING_BR ? "" : ",",
                   coding_name((enum encoding_coding)c), levels->level[c]);
}

static void format_compression_types(const void *field, struct buf *out)
{
    const struct coding_types *types = field;
    for (unsigned i = 0; i < types->count; i++) {
        if (i > 0)
            buf_append_char(out, ',');
        buf_append_str(out, types->type[i]);
    }
}

static void format_trusted_proxies(const void *field, struct buf *out)
{
    const struct addr_cidr_list *list = field;
    for (unsigned i = 0; i < list->count; i++) {
        const struct addr_cidr *c = &list->cidr[i];
        char ip[ADDR_IP_TEXT_SIZE];
        addr_ip_format(&c->net, ip);
        /* IPv4 prefixes are stored over the 16-byte form (/8 is 104) */
        buf_printf(out, "%s%s/%u", i > 0 ? "," : "", ip,
                   addr_ip_is_v4(&c->net) ? c->prefix - 96 : c->prefix);
    }
}

#define FIELD(f) .offset = offsetof(struct config, f), .size = sizeof(((struct config *)0)->f)

static const struct setting settings[] = {
    {.env = "LISTEN_ADDR", .flag = "--listen", .metavar = "ADDR", .default_value = "0.0.0.0:8080",
     .kind = KIND_ADDR, FIELD(listen), .help = "Main listener: ip:port or [ipv6]:port."},
    {.env = "INTERNAL_ADDR", .flag = "--internal-addr", .metavar = "ADDR", .default_value = "",
     .kind = KIND_OPTIONAL_ADDR, FIELD(internal),
     .help = "Internal server (/health /ready /live /metrics /config /workers), plain HTTP; "
             "unset = off."},
    {.env = "DOCUMENT_ROOT", .flag = "--docroot", .metavar = "DIR",
     .default_value = "/var/www/html", .kind = KIND_PATH, FIELD(document_root), .reload = true,
     .help = "Directory served; must exist."},
    {.env = "INDEX_FILE", .flag = "--index-file", .metavar = "NAME", .default_value = "",
     .kind = KIND_PATH, FIELD(index_file),
     .help = "Front controller in the root: *.php = framework, else SPA; unset = traditional."},
    {.env = "ROUTING", .flag = "--routing", .metavar = "MODE", .default_value = "auto",
     .kind = KIND_ROUTING,
     .help = "auto = mode from INDEX_FILE; try-files = files, dir/index.php, else INDEX_FILE."},
    {.env = "DENY_PATHS", .flag = "--deny-paths", .metavar = "LIST", .default_value = "",
     .kind = KIND_PARSED, FIELD(deny_paths), .max = 2047,
     .parse = parse_deny_paths, .format = format_deny_paths,
     .expected = "expected absolute paths such as /data,/conf (at most 16, each under 128 bytes)",
     .help = "URL paths answered 404, with everything below them (DokuWiki: /data,/conf)."},
    {.env = "ERROR_PAGES_DIR", .flag = "--error-pages-dir", .metavar = "DIR", .default_value = "",
     .kind = KIND_PATH, FIELD(error_pages_dir),
     .help = "Directory of NNN.html pages sent for empty error responses."},
    {.env = "EXECUTOR", .flag = "--executor", .metavar = "NAME", .default_value = "ext",
     .kind = KIND_EXECUTOR,
     .help = "ext = PHP in worker processes; stub = answer PHP routes without PHP; php = ext."},
    {.env = "PHP_WORKERS", .flag = "--workers", .metavar = "N", .default_value = "0",
     .kind = KIND_UINT, FIELD(php_workers), .min = 0, .max = MAX_WORKERS,
     .help = "PHP worker processes; 0 = one per online CPU."},
    {.env = "QUEUE_CAPACITY", .flag = "--queue-capacity", .metavar = "N", .default_value = "0",
     .kind = KIND_UINT, FIELD(queue_capacity), .min = 0, .max = 1000000,
     .help = "Requests waiting for a worker before 503; 0 = workers x 100."},
    {.env = "WORKER_MAX_REQUESTS", .flag = "--worker-max-requests", .metavar = "N",
     .default_value = "0", .kind = KIND_UINT, FIELD(worker_max_requests), .min = 0, .max = UINT_MAX,
     .reload = true,
     .help = "Replace a worker after N requests; 0 = never."},
    {.env = "WORKER_MAX_MEMORY", .flag = "--worker-max-memory", .metavar = "SIZE",
     .default_value = "0", .kind = KIND_SIZE, FIELD(worker_max_memory), .min = 0,
     .max = 1024 * GIB, .reload = true,
     .help = "Replace a worker after a request that leaves its private memory above SIZE; "
             "0 = never."},
    {.env = "WORKER_SCRIPT", .flag = "--worker-script", .metavar = "PATH", .default_value = "",
     .kind = KIND_PATH, FIELD(worker_script),
     .help = "Worker mode: each PHP worker runs this script once, which serves requests with "
             "kiln_handle_request(); relative to DOCUMENT_ROOT; \"\" = classic mode."},
    {.env = "WORKER_WATCH", .flag = "--worker-watch", .metavar = "DIRS", .default_value = "",
     .kind = KIND_PARSED, FIELD(worker_watch), .max = WATCH_DIRS_TEXT_MAX - 1,
     .parse = parse_worker_watch, .format = format_worker_watch,
     .expected = "expected directories separated by commas, such as src,config (at most 16)",
     .help = "Development only: reload when a .php file below these directories changes "
             "(inotify, recursive); unset = off."},
    {.env = "PHP_INI", .flag = "--php-ini", .metavar = "FILE", .default_value = "",
     .kind = KIND_PATH, FIELD(php_ini), .reload = true, .help = "php.ini to load instead of Debian's default."},
    {.env = "PHP_DISABLE_FORK", .flag = "--php-disable-fork", .default_value = "on",
     .kind = KIND_BOOL, FIELD(php_disable_fork), .reload = true,
     .help = "Remove pcntl_fork, pcntl_exec, pcntl_unshare (exec() and proc_open() stay)."},
    {.env = "PHP_INI_SET", .flag = "-d", .metavar = "KEY=VALUE", .default_value = "",
     .kind = KIND_INI_SET, .secret = true, .reload = true,
     .help = "php.ini setting; the variable takes k=v;k=v, -d repeats."},
    {.env = "REQUEST_TIMEOUT", .flag = "--request-timeout", .metavar = "DURATION",
     .default_value = "2m", .kind = KIND_DURATION, FIELD(request_timeout_secs),
     .max = MAX_DURATION_SECS, .help = "Deadline of a PHP request (504); off = none."},
    {.env = "SSE_TIMEOUT", .flag = "--sse-timeout", .metavar = "DURATION", .default_value = "30m",
     .kind = KIND_DURATION, FIELD(sse_timeout_secs), .max = MAX_DURATION_SECS,
     .help = "Deadline of a server-sent events stream; off = none."},
    {.env = "STATIC_CACHE_TTL", .flag = "--static-cache-ttl", .metavar = "DURATION",
     .default_value = "1d", .kind = KIND_DURATION, FIELD(static_cache_ttl_secs),
     .max = MAX_DURATION_SECS, .help = "max-age of static files; off = no cache headers, no 304."},
    {.env = "HEADER_TIMEOUT_SECS", .flag = "--header-timeout", .metavar = "SECS",
     .default_value = "5", .kind = KIND_UINT, FIELD(header_timeout_secs), .min = 1, .max = 3600,
     .help = "Time allowed to receive a request's headers."},
    {.env = "IDLE_TIMEOUT_SECS", .flag = "--idle-timeout", .metavar = "SECS",
     .default_value = "60", .kind = KIND_UINT, FIELD(idle_timeout_secs), .min = 1, .max = 86400,
     .help = "Idle time before a connection is closed."},
    {.env = "BODY_MIN_RATE", .flag = "--body-min-rate", .metavar = "SIZE", .default_value = "0",
     .kind = KIND_SIZE, FIELD(body_min_rate), .min = 0, .max = 1024 * GIB,
     .help = "Slowest request body, bytes/s over each idle timeout (408 below); 0 = off."},
    {.env = "DRAIN_TIMEOUT_SECS", .flag = "--drain-timeout", .metavar = "SECS",
     .default_value = "30", .kind = KIND_UINT, FIELD(drain_timeout_secs), .min = 0, .max = 86400,
     .help = "Longest wait for requests in flight on SIGTERM or SIGINT."},
    {.env = "SHUTDOWN_DELAY", .flag = "--shutdown-delay", .metavar = "DURATION",
     .default_value = "0", .kind = KIND_DURATION, FIELD(shutdown_delay_secs),
     .max = MAX_DURATION_SECS, .help = "On SIGTERM: /ready 503, keep serving this long, then drain."},
    {.env = "MAX_BODY_SIZE", .flag = "--max-body-size", .metavar = "SIZE", .default_value = "100M",
     .kind = KIND_SIZE, FIELD(max_body_size), .min = 1, .max = 1024 * GIB,
     .help = "Largest request body (413 above)."},
    {.env = "MAX_HEADER_SIZE", .flag = "--max-header-size", .metavar = "SIZE",
     .default_value = "64K", .kind = KIND_SIZE, FIELD(max_header_size), .min = KIB, .max = MIB,
     .help = "Largest request head (431 above)."},
    {.env = "MAX_HEADER_COUNT", .flag = "--max-header-count", .metavar = "N",
     .default_value = "100", .kind = KIND_UINT, FIELD(max_header_count), .min = 1, .max = 10000,
     .help = "Most header fields in a request (431 above)."},
    {.env = "MAX_URI_SIZE", .flag = "--max-uri-size", .metavar = "SIZE", .default_value = "8K",
     .kind = KIND_SIZE, FIELD(max_uri_size), .min = 256, .max = MIB,
     .help = "Longest request target (414 above)."},
    {.env = "MAX_CONNECTIONS", .flag = "--max-connections", .metavar = "N",
     .default_value = "65536", .kind = KIND_UINT, FIELD(max_connections), .min = 1, .max = 1000000,
     .help = "Most open client connections."},
    {.env = "MAX_CONNECTIONS_PER_IP", .flag = "--max-connections-per-ip", .metavar = "N",
     .default_value = "0", .kind = KIND_UINT, FIELD(max_connections_per_ip), .min = 0,
     .max = 1000000, .help = "Open connections one client address may hold (TCP peer); 0 = off."},
    {.env = "ACCESS_LOG", .flag = "--access-log", .default_value = "off", .kind = KIND_BOOL,
     FIELD(access_log), .help = "One JSON access-log line per request on stdout."},
    {.env = "PROFILE", .flag = "--profile", .default_value = "off", .kind = KIND_BOOL,
     FIELD(profile),
     .help = "Timing headers (X-Profile-*, Server-Timing) on every response."},
    {.env = "RATE_LIMIT", .flag = "--rate-limit", .metavar = "N", .default_value = "0",
     .kind = KIND_UINT, FIELD(rate_limit), .min = 0, .max = UINT_MAX,
     .help = "Requests per client IP per window (429 above); 0 = off."},
    {.env = "RATE_WINDOW", .flag = "--rate-window", .metavar = "SECS", .default_value = "60",
     .kind = KIND_UINT, FIELD(rate_window_secs), .min = 1, .max = 86400,
     .help = "Length of the rate-limit window."},
    {.env = "COMPRESSION", .flag = "--compression", .default_value = "on", .kind = KIND_BOOL,
     FIELD(compression), .help = "Compress responses (br, zstd, gzip) for clients that accept it."},
    {.env = "COMPRESSION_LEVEL", .flag = "--compression-level", .metavar = "LIST",
     .default_value = "", .kind = KIND_PARSED, FIELD(compression_level), .max = 127,
     .parse = parse_compression_levels, .format = format_compression_levels,
     .expected = "expected coding=level pairs such as br=4,zstd=3,gzip=6 (br 0-11, zstd 1-19, gzip 1-9)",
     .help = "Levels, e.g. br=4,zstd=3,gzip=6; codings not named keep these defaults."},
    {.env = "COMPRESSION_MIN_SIZE", .flag = "--compression-min-size", .metavar = "SIZE",
     .default_value = "256", .kind = KIND_SIZE, FIELD(compression_min_size), .min = 0,
     .max = 1024 * GIB, .help = "Smaller responses of known length are sent uncompressed."},
    {.env = "COMPRESSION_TYPES", .flag = "--compression-types", .metavar = "LIST",
     .default_value = "", .kind = KIND_PARSED, FIELD(compression_types), .max = 1023,
     .parse = parse_compression_types, .format = format_compression_types,
     .expected = "expected media types such as application/wasm,image/x-icon or type/*",
     .help = "Media types compressed in addition to the built-in text types."},
    {.env = "STATIC_COMPRESS_CACHE_SIZE", .flag = "--static-compress-cache-size",
     .metavar = "SIZE", .default_value = "64M", .kind = KIND_SIZE,
     FIELD(static_compress_cache_size), .min = 0, .max = 64 * GIB,
     .help = "Memory for compressed static files (least recently used out first); 0 = none."},
    {.env = "TRUSTED_PROXIES", .flag = "--trusted-proxies", .metavar = "LIST",
     .default_value = "", .kind = KIND_PARSED, FIELD(trusted_proxies), .max = 2047,
     .parse = parse_trusted_proxies, .format = format_trusted_proxies,
     .expected = "expected addresses or CIDR blocks such as 10.0.0.0/8,::1/128",
     .help = "Peers whose X-Forwarded-For names the client (rate limiting, logs)."},
    {.env = "TLS_CERT", .flag = "--tls-cert", .metavar = "FILE", .default_value = "",
     .kind = KIND_PATH, FIELD(tls_cert),
     .help = "PEM certificate chain; TLS is on when both are set."},
    {.env = "TLS_KEY", .flag = "--tls-key", .metavar = "FILE", .default_value = "",
     .kind = KIND_PATH, FIELD(tls_key), .secret = true,
     .help = "PEM private key; TLS is on when both are set."},
    {.env = "HTTP_REDIRECT_ADDR", .flag = "--http-redirect-addr", .metavar = "ADDR",
     .default_value = "", .kind = KIND_OPTIONAL_ADDR, FIELD(http_redirect),
     .help = "With TLS: a plain HTTP listener that redirects every request to https://."},
    {.env = "H2_MAX_CONCURRENT_STREAMS", .flag = "--h2-max-streams", .metavar = "N",
     .default_value = "100", .kind = KIND_UINT, FIELD(h2_max_streams), .min = 1, .max = 10000,
     .help = "HTTP/2 streams a client may have open at once."},
    {.env = "LOG_LEVEL", .flag = "--log-level", .metavar = "LEVEL", .default_value = "info",
     .kind = KIND_LOG_LEVEL,
     .help = "trace, debug, info, warn or error (trace = debug)."},
    {.env = "SERVICE_NAME", .flag = "--service-name", .metavar = "NAME", .default_value = "kiln",
     .kind = KIND_NAME, FIELD(service_name), .help = "Service name in log lines."},
    {.env = "KILN_ENV_FILE", .flag = "--env-file", .metavar = "FILE", .default_value = "",
     .kind = KIND_ENV_FILE, FIELD(env_file),
     .help = "NAME=value lines read before the environment, again on reload; -FILE = optional."},
    {.flag = "--help", .kind = KIND_HELP, .help = "Print this help and exit."},
    {.flag = "--version", .kind = KIND_VERSION, .help = "Print the version and exit."},
    {.flag = "--reload", .metavar = "PID", .kind = KIND_RELOAD,
     .help = "Gracefully reload the server with this pid (as SIGHUP) and wait: exit 0 when "
             "done, 1 when it failed (the old workers serve on)."},
};

#define SETTING_COUNT (sizeof settings / sizeof settings[0])

bool config_setting_names(size_t i, const char **env, const char **flag)
{
    if (i >= SETTING_COUNT)
        return false;
    *env = settings[i].env;
    *flag = settings[i].flag;
    return true;
}

/* Where a value came from: decides the name in error lines and how PHP_INI_SET is split. */
enum origin {
    ORIGIN_DEFAULT,
    ORIGIN_FILE, /* a line of the env file: named and split like the environment */
    ORIGIN_ENV,
    ORIGIN_FLAG,
};

struct choice {
    const char *name;
    int value;
};

static const struct choice executor_choices[] = {
    {"ext", CONFIG_EXECUTOR_EXT},
    {"stub", CONFIG_EXECUTOR_STUB},
    {"php", CONFIG_EXECUTOR_EXT}, /* tokio_php's eval executor is superseded by the SAPI */
    {NULL, 0},
};

static const struct choice routing_choices[] = {
    {"auto", CONFIG_ROUTING_AUTO},
    {"try-files", CONFIG_ROUTING_TRY_FILES},
    {NULL, 0},
};

static const struct choice log_level_choices[] = {
    {"debug", LOG_LEVEL_DEBUG}, /* first: the name /config shows */
    {"trace", LOG_LEVEL_DEBUG},
    {"info", LOG_LEVEL_INFO},
    {"warn", LOG_LEVEL_WARN},
    {"error", LOG_LEVEL_ERROR},
    {NULL, 0},
};

/* ---- small text helpers ------------------------------------------------------------------ */

struct span {
    const char *p;
    size_t n;
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static struct span trim_span(struct span sp)
{
    while (sp.n > 0 && is_blank(sp.p[sp.n - 1]))
        sp.n--;
    while (sp.n > 0 && is_blank(sp.p[0])) {
        sp.p++;
        sp.n--;
    }
    return sp;
}

static struct span trim(const char *s)
{
    return trim_span((struct span){s, strlen(s)});
}

static bool span_equals_nocase(struct span sp, const char *word)
{
    return strlen(word) == sp.n && strncasecmp(sp.p, word, sp.n) == 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/*
 * Copies a user value for an error line: control bytes, '"' and '\' escaped so the line stays one
 * line and unambiguous, long values cut with "...".
 */
static void quote_value(const char *value, char *out, size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; value[i] != '\0'; i++) {
        unsigned char c = (unsigned char)value[i];
        char piece[5];

        if (i == QUOTE_MAX) {
            snprintf(out + o, outlen - o, "...");
            return;
        }
        if (c < 0x20 || c == 0x7f)
            snprintf(piece, sizeof piece, "\\x%02x", c);
        else if (c == '"' || c == '\\')
            snprintf(piece, sizeof piece, "\\%c", c);
        else
            snprintf(piece, sizeof piece, "%c", c);
        if (o + strlen(piece) + 4 > outlen) /* room for "..." and NUL */
            break;
        memcpy(out + o, piece, strlen(piece));
        o += strlen(piece);
    }
    out[o] = '\0';
}

static void fail_value(char *err, size_t errlen, const char *source, const char *value,
                       const char *expected)
{
    char quoted[4 * QUOTE_MAX + 8];

    quote_value(value, quoted, sizeof quoted);
    set_err(err, errlen, "invalid %s \"%s\": %s", source, quoted, expected);
}

/* "64K" for 65536: the largest 1024-based unit that divides the size exactly. */
static void format_size(uint64_t bytes, char *out, size_t outlen)
{
    static const char units[] = {'G', 'M', 'K'};
    uint64_t unit = GIB;

    for (size_t i = 0; i < sizeof units; i++, unit /= 1024) {
        if (bytes >= unit && bytes % unit == 0) {
            snprintf(out, outlen, "%llu%c", (unsigned long long)(bytes / unit), units[i]);
            return;
        }
    }
    snprintf(out, outlen, "%llu", (unsigned long long)bytes);
}

/* ---- value parsers ----------------------------------------------------------------------- */

/* Decimal digits only, at least one, value <= max. */
static int parse_digits(const char *p, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        unsigned digit = (unsigned)(p[i] - '0');
        if (digit > max || v > (max - digit) / 10)
            return -1;
        v = v * 10 + digit;
    }
    *out = v;
    return 0;
}

/* Seconds per duration unit, or 0 when `c` is not a unit. There is no month: "m" is minutes. */
static uint64_t duration_unit(char c)
{
    switch (c) {
    case 's': case 'S': return 1;
    case 'm': case 'M': return 60;
    case 'h': case 'H': return 3600;
    case 'd': case 'D': return 86400;
    case 'w': case 'W': return 7 * 86400;
    case 'y': case 'Y': return 365 * 86400;
    default: return 0;
    }
}

int config_parse_duration(const char *s, uint64_t *secs)
{
    struct span sp = trim(s);
    uint64_t unit = 1, n;

    if (span_equals_nocase(sp, "off")) {
        *secs = 0;
        return 0;
    }
    if (sp.n > 0 && !(sp.p[sp.n - 1] >= '0' && sp.p[sp.n - 1] <= '9')) {
        unit = duration_unit(sp.p[sp.n - 1]);
        if (unit == 0)
            return -1;
        sp.n--;
    }
    if (parse_digits(sp.p, sp.n, UINT64_MAX / unit, &n) < 0)
        return -1;
    *secs = n * unit;
    return 0;
}

int config_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    struct span sp = trim(s);

    return parse_digits(sp.p, sp.n, max, out);
}

static unsigned size_shift(char c)
{
    switch (c) {
    case 'k': case 'K': return 10;
    case 'm': case 'M': return 20;
    case 'g': case 'G': return 30;
    default: return 0;
    }
}

int config_parse_size(const char *s, uint64_t *bytes)
{
    struct span sp = trim(s);
    unsigned shift = 0;
    uint64_t n;

    if (sp.n > 1 && (sp.p[sp.n - 1] == 'b' || sp.p[sp.n - 1] == 'B'))
        sp.n--;
    if (sp.n > 0) {
        shift = size_shift(sp.p[sp.n - 1]);
        if (shift != 0)
            sp.n--;
    }
    if (parse_digits(sp.p, sp.n, UINT64_MAX >> shift, &n) < 0)
        return -1;
    *bytes = n << shift;
    return 0;
}

int config_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    struct span sp = trim(s);

    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (span_equals_nocase(sp, yes[i])) {
            *out = true;
            return 0;
        }
        if (span_equals_nocase(sp, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Splits "host:port" or "[host]:port" into its parts; the brackets are not part of the host. */
static int split_host_port(struct span sp, struct span *host, struct span *port, int *family)
{
    const char *end = sp.p + sp.n;
    const char *colon;

    if (sp.n > 0 && sp.p[0] == '[') {
        const char *bracket = memchr(sp.p, ']', sp.n);
        if (bracket == NULL || bracket + 1 == end || bracket[1] != ':')
            return -1;
        *host = (struct span){sp.p + 1, (size_t)(bracket - sp.p - 1)};
        colon = bracket + 1;
        *family = AF_INET6;
    } else {
        colon = NULL;
        for (const char *c = sp.p; c < end; c++)
            if (*c == ':')
                colon = c;
        if (colon == NULL)
            return -1;
        *host = (struct span){sp.p, (size_t)(colon - sp.p)};
        *family = AF_INET;
    }
    *port = (struct span){colon + 1, (size_t)(end - colon - 1)};
    return 0;
}

int config_parse_addr(const char *s, struct config_addr *out)
{
    struct span sp = trim(s), host, port;
    struct config_addr addr;
    char host_text[INET6_ADDRSTRLEN];
    uint64_t port_number;
    int family;

    if (sp.n >= sizeof addr.text || split_host_port(sp, &host, &port, &family) < 0)
        return -1;
    if (host.n == 0 || host.n >= sizeof host_text)
        return -1;
    if (parse_digits(port.p, port.n, 65535, &port_number) < 0 || port_number == 0)
        return -1;
    memcpy(host_text, host.p, host.n);
    host_text[host.n] = '\0';

    memset(&addr, 0, sizeof addr);
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&addr.sa;
        if (inet_pton(AF_INET, host_text, &sin->sin_addr) != 1)
            return -1;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port_number);
        addr.len = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&addr.sa;
        if (inet_pton(AF_INET6, host_text, &sin6->sin6_addr) != 1)
            return -1;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port_number);
        addr.len = sizeof *sin6;
    }
    memcpy(addr.text, sp.p, sp.n);
    addr.text[sp.n] = '\0';
    *out = addr;
    return 0;
}

/* ---- applying one value to one setting --------------------------------------------------- */

static void *field_of(struct config *cfg, const struct setting *s)
{
    return (char *)cfg + s->offset;
}

static void store_number(struct config *cfg, const struct setting *s, uint64_t v)
{
    if (s->size == sizeof(uint64_t))
        *(uint64_t *)field_of(cfg, s) = v;
    else
        *(unsigned *)field_of(cfg, s) = (unsigned)v;
}

static const char *source_name(const struct setting *s, enum origin origin)
{
    return origin == ORIGIN_FLAG ? s->flag : s->env;
}

static int lookup_choice(const struct choice *choices, const char *value, int *out)
{
    struct span sp = trim(value);

    for (const struct choice *c = choices; c->name != NULL; c++) {
        if (span_equals_nocase(sp, c->name)) {
            *out = c->value;
            return 0;
        }
    }
    return -1;
}

static int apply_uint(struct config *cfg, const struct setting *s, const char *value,
                      const char *source, char *err, size_t errlen)
{
    uint64_t v;
    char expected[96];

    if (config_parse_uint(value, s->max, &v) < 0 || v < s->min) {
        snprintf(expected, sizeof expected, "expected an integer from %llu to %llu",
                 (unsigned long long)s->min, (unsigned long long)s->max);
        fail_value(err, errlen, source, value, expected);
        return -1;
    }
    store_number(cfg, s, v);
    return 0;
}

static int apply_size(struct config *cfg, const struct setting *s, const char *value,
                      const char *source, char *err, size_t errlen)
{
    uint64_t v;
    char lo[24], hi[24], expected[128];

    if (config_parse_size(value, &v) < 0 || v < s->min || v > s->max) {
        format_size(s->min, lo, sizeof lo);
        format_size(s->max, hi, sizeof hi);
        snprintf(expected, sizeof expected,
                 "expected a size from %s to %s (bytes, or with a K, M or G suffix)", lo, hi);
        fail_value(err, errlen, source, value, expected);
        return -1;
    }
    store_number(cfg, s, v);
    return 0;
}

static int apply_duration(struct config *cfg, const struct setting *s, const char *value,
                          const char *source, char *err, size_t errlen)
{
    uint64_t v;

    if (config_parse_duration(value, &v) < 0) {
        fail_value(err, errlen, source, value,
                   "expected a duration such as 30s, 2m, 1h, 1d or off");
        return -1;
    }
    if (v > s->max) {
        fail_value(err, errlen, source, value, "expected a duration of at most 10y");
        return -1;
    }
    store_number(cfg, s, v);
    return 0;
}

static int apply_path(struct config *cfg, const struct setting *s, const char *value,
                      const char *source, char *err, size_t errlen)
{
    size_t n = strlen(value);
    char expected[64];

    if (n >= s->size || (n == 0 && s->default_value[0] != '\0')) {
        snprintf(expected, sizeof expected, "expected a path of 1 to %zu bytes", s->size - 1);
        fail_value(err, errlen, source, value, expected);
        return -1;
    }
    memcpy(field_of(cfg, s), value, n + 1);
    return 0;
}

static int apply_parsed(struct config *cfg, const struct setting *s, const char *value,
                        const char *source, char *err, size_t errlen)
{
    if (strlen(value) > s->max || !s->parse(value, field_of(cfg, s))) {
        fail_value(err, errlen, source, value, s->expected);
        return -1;
    }
    return 0;
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

static bool is_name(struct span sp)
{
    if (sp.n == 0)
        return false;
    for (size_t i = 0; i < sp.n; i++)
        if (!is_name_char(sp.p[i]))
            return false;
    return true;
}

/* SERVICE_NAME goes into every log line, so it is kept to characters no log format mangles. */
static int apply_name(struct config *cfg, const struct setting *s, const char *value,
                      const char *source, char *err, size_t errlen)
{
    struct span sp = trim(value);
    char expected[96];

    if (sp.n >= s->size || !is_name(sp)) {
        snprintf(expected, sizeof expected,
                 "expected 1 to %zu letters, digits, '.', '_' or '-'", s->size - 1);
        fail_value(err, errlen, source, value, expected);
        return -1;
    }
    memcpy(field_of(cfg, s), sp.p, sp.n);
    ((char *)field_of(cfg, s))[sp.n] = '\0';
    return 0;
}

static int apply_addr(struct config *cfg, const struct setting *s, const char *value,
                      const char *source, char *err, size_t errlen)
{
    if (s->kind == KIND_OPTIONAL_ADDR && value[0] == '\0') {
        memset(field_of(cfg, s), 0, sizeof(struct config_addr));
        return 0;
    }
    if (config_parse_addr(value, field_of(cfg, s)) < 0) {
        fail_value(err, errlen, source, value,
                   "expected ip:port or [ipv6]:port with a port from 1 to 65535 "
                   "(host names are not accepted)");
        return -1;
    }
    return 0;
}

static int apply_bool(struct config *cfg, const struct setting *s, const char *value,
                      const char *source, char *err, size_t errlen)
{
    if (config_parse_bool(value, field_of(cfg, s)) < 0) {
        fail_value(err, errlen, source, value,
                   "expected 1, true, yes, on, 0, false, no or off");
        return -1;
    }
    return 0;
}

static int apply_choice(struct config *cfg, const struct setting *s, const char *value,
                        const char *source, char *err, size_t errlen)
{
    int v;

    if (s->kind == KIND_EXECUTOR) {
        if (lookup_choice(executor_choices, value, &v) < 0) {
            fail_value(err, errlen, source, value, "expected ext, stub or php (= ext)");
            return -1;
        }
        cfg->executor = (enum config_executor)v;
        return 0;
    }
    if (s->kind == KIND_ROUTING) {
        if (lookup_choice(routing_choices, value, &v) < 0) {
            fail_value(err, errlen, source, value, "expected auto or try-files");
            return -1;
        }
        cfg->routing = (enum config_routing)v;
        return 0;
    }
    if (lookup_choice(log_level_choices, value, &v) < 0) {
        fail_value(err, errlen, source, value, "expected trace, debug, info, warn or error");
        return -1;
    }
    cfg->log_level = (enum log_level)v;
    return 0;
}

enum ini_outcome {
    INI_ADDED,
    INI_MALFORMED,
    INI_FULL,
    INI_NO_MEMORY,
};

/*
 * Adds one "key=value" entry. The key must look like an ini directive and nothing may hold a
 * control character: the entries end up as lines of an ini string, where a newline would smuggle
 * in a second directive.
 */
static enum ini_outcome add_ini_entry(struct config *cfg, struct span entry)
{
    const char *eq = memchr(entry.p, '=', entry.n);
    struct span key, val;
    char *copy;

    if (eq == NULL || text_has_control(entry.p, entry.n))
        return INI_MALFORMED;
    key = trim_span((struct span){entry.p, (size_t)(eq - entry.p)});
    val = trim_span((struct span){eq + 1, (size_t)(entry.p + entry.n - eq - 1)});
    if (!is_name(key))
        return INI_MALFORMED;
    if (cfg->php_ini_set_count == CONFIG_MAX_PHP_INI_SETS)
        return INI_FULL;
    copy = malloc(key.n + val.n + 2);
    if (copy == NULL)
        return INI_NO_MEMORY;
    memcpy(copy, key.p, key.n);
    copy[key.n] = '=';
    memcpy(copy + key.n + 1, val.p, val.n);
    copy[key.n + 1 + val.n] = '\0';
    cfg->php_ini_set[cfg->php_ini_set_count++] = copy;
    return INI_ADDED;
}

/* PHP_INI_SET holds several entries separated by ';'; each -d holds exactly one. */
static enum ini_outcome add_ini_entries(struct config *cfg, const char *value, enum origin origin)
{
    enum ini_outcome outcome = INI_ADDED;

    if (origin == ORIGIN_FLAG)
        return add_ini_entry(cfg, (struct span){value, strlen(value)});
    while (outcome == INI_ADDED && *value != '\0') {
        size_t n = strcspn(value, ";");
        struct span entry = trim_span((struct span){value, n});
        if (entry.n > 0) /* tolerate "a=1;;b=2" and a trailing ';' */
            outcome = add_ini_entry(cfg, entry);
        value += n + (value[n] == ';');
    }
    return outcome;
}

static int apply_ini_set(struct config *cfg, const char *value, enum origin origin,
                         const char *source, char *err, size_t errlen)
{
    switch (add_ini_entries(cfg, value, origin)) {
    case INI_ADDED:
        return 0;
    case INI_MALFORMED:
        fail_value(err, errlen, source, value,
                   origin == ORIGIN_FLAG
                       ? "expected key=value (key: letters, digits, '.', '_', '-')"
                       : "expected key=value entries separated by ';' "
                         "(key: letters, digits, '.', '_', '-')");
        break;
    case INI_FULL:
        set_err(err, errlen, "too many php.ini settings in PHP_INI_SET and -d: at most %d",
                CONFIG_MAX_PHP_INI_SETS);
        break;
    case INI_NO_MEMORY:
        set_err(err, errlen, "out of memory while reading %s", source);
        break;
    }
    return -1;
}

static int apply_value(struct config *cfg, const struct setting *s, const char *value,
                       enum origin origin, char *err, size_t errlen)
{
    const char *source = source_name(s, origin);

    switch (s->kind) {
    case KIND_ADDR:
    case KIND_OPTIONAL_ADDR: return apply_addr(cfg, s, value, source, err, errlen);
    case KIND_PATH:
    case KIND_ENV_FILE: return apply_path(cfg, s, value, source, err, errlen);
    case KIND_PARSED: return apply_parsed(cfg, s, value, source, err, errlen);
    case KIND_NAME: return apply_name(cfg, s, value, source, err, errlen);
    case KIND_EXECUTOR:
    case KIND_ROUTING:
    case KIND_LOG_LEVEL: return apply_choice(cfg, s, value, source, err, errlen);
    case KIND_UINT: return apply_uint(cfg, s, value, source, err, errlen);
    case KIND_DURATION: return apply_duration(cfg, s, value, source, err, errlen);
    case KIND_SIZE: return apply_size(cfg, s, value, source, err, errlen);
    case KIND_BOOL: return apply_bool(cfg, s, value, source, err, errlen);
    case KIND_INI_SET: return apply_ini_set(cfg, value, origin, source, err, errlen);
    case KIND_HELP:
    case KIND_VERSION:
    case KIND_RELOAD: break; /* handled while scanning argv */
    }
    return 0;
}

/* ---- sources ----------------------------------------------------------------------------- */

static int apply_defaults(struct config *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings[i];
        if (s->default_value == NULL || s->kind == KIND_INI_SET)
            continue;
        if (apply_value(cfg, s, s->default_value, ORIGIN_DEFAULT, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* Like getenv(), but over the given list so that config_load() has no hidden input. */
static const char *env_lookup(char **envp, const char *name)
{
    size_t n = strlen(name);

    for (; envp != NULL && *envp != NULL; envp++)
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

static int apply_env(struct config *cfg, char **envp, char *err, size_t errlen)
{
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings[i];
        const char *value = s->env != NULL ? env_lookup(envp, s->env) : NULL;
        if (value == NULL || value[0] == '\0') /* empty = unset */
            continue;
        if (apply_value(cfg, s, value, ORIGIN_ENV, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/*
 * The env file: the syntax of systemd's EnvironmentFile= without its escapes, continuation
 * lines and expansion, so that the same file serves both. Each line is blank, a '#' comment, or
 * [export ]NAME=value with blanks around NAME and value ignored; a value in '...' or "..." is
 * taken as written (it may hold blanks and '#'; not its own quote). NAME is a variable of the
 * table; an empty value counts as unset, as in the environment.
 */
#define ENV_FILE_MAX (1024 * 1024) /* bytes: a settings file, not a data file */

/* Splits one line (NUL-terminated, written to in place). 1 with `name` and `value` set, 0 for a
   blank or comment line, -1 with `why`. */
static int split_env_line(char *line, char **name, char **value, const char **why)
{
    struct span sp = trim(line), key, val;
    const char *eq;

    if (sp.n == 0 || sp.p[0] == '#')
        return 0;
    if (sp.n > 7 && strncmp(sp.p, "export", 6) == 0 && is_blank(sp.p[6]))
        sp = trim_span((struct span){sp.p + 7, sp.n - 7});
    eq = memchr(sp.p, '=', sp.n);
    if (eq == NULL) {
        *why = "expected NAME=value";
        return -1;
    }
    key = trim_span((struct span){sp.p, (size_t)(eq - sp.p)});
    val = trim_span((struct span){eq + 1, (size_t)(sp.p + sp.n - eq - 1)});
    if (val.n > 0 && (val.p[0] == '"' || val.p[0] == '\'')) {
        char quote = val.p[0];
        if (val.n < 2 || val.p[val.n - 1] != quote || memchr(val.p + 1, quote, val.n - 2)) {
            *why = "expected one quoted value: no quote inside its own quotes, none after";
            return -1;
        }
        val = (struct span){val.p + 1, val.n - 2};
    }
    *name = (char *)key.p;
    *value = (char *)val.p;
    (*name)[key.n] = '\0'; /* over '=' or a blank */
    (*value)[val.n] = '\0'; /* over a quote, a blank or the line's end */
    return 1;
}

static const struct setting *find_env(const char *name)
{
    for (size_t i = 0; i < SETTING_COUNT; i++)
        if (settings[i].env != NULL && strcmp(settings[i].env, name) == 0)
            return &settings[i];
    return NULL;
}

/* `err` gets "FILE:LINE: " in front: an error of the env file names where it is. */
static void locate_err(char *err, size_t errlen, const char *path, unsigned line)
{
    char what[CONFIG_ERR_MAX], quoted[4 * QUOTE_MAX + 8];

    snprintf(what, sizeof what, "%s", err);
    quote_value(path, quoted, sizeof quoted);
    set_err(err, errlen, "%s:%u: %s", quoted, line, what);
}

static int apply_env_line(struct config *cfg, char *line, char *err, size_t errlen)
{
    const struct setting *s;
    const char *why;
    char *name, *value, quoted[4 * QUOTE_MAX + 8];
    int rc = split_env_line(line, &name, &value, &why);

    if (rc <= 0) {
        if (rc < 0)
            set_err(err, errlen, "%s", why);
        return rc;
    }
    s = find_env(name);
    quote_value(name, quoted, sizeof quoted);
    if (s == NULL) {
        set_err(err, errlen, "unknown setting \"%s\"; run kiln --help for the list", quoted);
        return -1;
    }
    if (s->kind == KIND_ENV_FILE) {
        set_err(err, errlen, "%s names the file itself: set it in the environment or with %s",
                s->env, s->flag);
        return -1;
    }
    return value[0] == '\0' ? 0 : apply_value(cfg, s, value, ORIGIN_FILE, err, errlen);
}

/* Applies every line of `text` (NUL-terminated, `len` bytes; written to in place). */
static int apply_env_text(struct config *cfg, const char *path, char *text, size_t len,
                          char *err, size_t errlen)
{
    unsigned line = 1;

    for (char *p = text, *end = text + len; p <= end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        p[n] = '\0';
        if (memchr(p, '\0', n) != NULL) {
            set_err(err, errlen, "a NUL byte");
            locate_err(err, errlen, path, line);
            return -1;
        }
        if (apply_env_line(cfg, p, err, errlen) < 0) {
            locate_err(err, errlen, path, line);
            return -1;
        }
        p += n + 1;
    }
    return 0;
}

/* The whole file, NUL-terminated; NULL with errno set (EFBIG: over ENV_FILE_MAX, EINVAL: not a
   regular file). O_NONBLOCK: a FIFO given by mistake fails instead of hanging. */
static char *read_env_file(const char *path, size_t *len)
{
    struct stat st;
    char *text = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), saved;
    ssize_t n;

    if (fd < 0)
        return NULL;
    errno = EINVAL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        goto fail;
    errno = EFBIG;
    if (st.st_size > ENV_FILE_MAX || !(text = malloc(ENV_FILE_MAX + 1)))
        goto fail;
    *len = 0;
    while ((n = read(fd, text + *len, ENV_FILE_MAX + 1 - *len)) > 0)
        *len += (size_t)n;
    errno = EFBIG;
    if (n < 0 || *len > ENV_FILE_MAX)
        goto fail;
    text[*len] = '\0';
    close(fd);
    return text;
fail:
    saved = errno;
    free(text);
    close(fd);
    errno = saved;
    return NULL;
}

/* `setting` is the env file as given: "" = none, "-FILE" = FILE if it exists (as systemd's
   EnvironmentFile=-FILE). `source` names it in errors: KILN_ENV_FILE or --env-file. */
static int apply_env_file(struct config *cfg, const char *setting, const char *source,
                          char *err, size_t errlen)
{
    bool optional = setting[0] == '-';
    const char *path = setting + optional;
    char quoted[4 * QUOTE_MAX + 8], *text;
    size_t len;
    int rc;

    if (setting[0] == '\0')
        return 0;
    text = read_env_file(path, &len);
    if (text == NULL) {
        if (optional && errno == ENOENT)
            return 0;
        quote_value(setting, quoted, sizeof quoted);
        set_err(err, errlen, "%s \"%s\": cannot read: %s", source, quoted,
                errno == EINVAL ? "not a regular file"
                : errno == EFBIG ? "larger than 1M" : strerror(errno));
        return -1;
    }
    rc = apply_env_text(cfg, path, text, len, err, errlen);
    free(text);
    return rc;
}

struct arg_cursor {
    int argc;
    char **argv;
    int next;
};

struct flag_use {
    const struct setting *s;
    const char *value;
};

static const struct setting *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < SETTING_COUNT; i++)
        if (strlen(settings[i].flag) == len && strncmp(settings[i].flag, name, len) == 0)
            return &settings[i];
    return NULL;
}

static void report_unknown_arg(const char *arg, size_t name_len, char *err, size_t errlen)
{
    char name[QUOTE_MAX + 1];
    char quoted[4 * QUOTE_MAX + 8];
    bool is_option = arg[0] == '-';

    /* "--bogus=1" is reported as "--bogus": the flag is what is wrong, not its value */
    if (!is_option)
        name_len = strlen(arg);
    if (name_len > QUOTE_MAX)
        name_len = QUOTE_MAX;
    memcpy(name, arg, name_len);
    name[name_len] = '\0';
    quote_value(name, quoted, sizeof quoted);
    set_err(err, errlen, "%s \"%s\"; run kiln --help for the list of options",
            is_option ? "unknown option" : "unexpected argument", quoted);
}

/*
 * Reads the next option from argv: "--flag value", "--flag=value", or a switch ("--access-log",
 * "--access-log=0", "--help"). Returns 1 with `use` filled, 0 at the end, -1 with `err` filled.
 */
static int next_flag(struct arg_cursor *c, struct flag_use *use, char *err, size_t errlen)
{
    const char *arg, *eq;
    size_t name_len;

    if (c->next >= c->argc)
        return 0;
    arg = c->argv[c->next++];
    eq = strchr(arg, '=');
    name_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    use->s = arg[0] == '-' ? find_flag(arg, name_len) : NULL;
    if (use->s == NULL) {
        report_unknown_arg(arg, name_len, err, errlen);
        return -1;
    }
    if (use->s->metavar == NULL) {
        if (eq != NULL && use->s->kind != KIND_BOOL) {
            set_err(err, errlen, "option %s takes no value", use->s->flag);
            return -1;
        }
        use->value = eq != NULL ? eq + 1 : "on";
        return 1;
    }
    if (eq != NULL) {
        use->value = eq + 1;
        return 1;
    }
    if (c->next >= c->argc || strncmp(c->argv[c->next], "--", 2) == 0) {
        set_err(err, errlen, "missing value for %s (%s %s)", use->s->flag, use->s->flag,
                use->s->metavar);
        return -1;
    }
    use->value = c->argv[c->next++];
    return 1;
}

static void print_usage(FILE *out)
{
    fputs("Usage: kiln [OPTION]...\n"
          "Serve a PHP document root over HTTP.\n\n"
          "Every option can also be set by the environment variable shown with it, or by a\n"
          "NAME=value line of the --env-file; options win over the environment, the environment\n"
          "over the file, and an empty value counts as unset.\n"
          "Durations: 30s, 2m, 1h, 1d, 1w, 1y or plain seconds; off or 0 = off.\n"
          "Sizes: bytes, or with a K, M or G suffix (1024-based), e.g. 64K, 100M.\n\n",
          out);
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings[i];
        char left[64];

        if (s->metavar != NULL)
            snprintf(left, sizeof left, "%s %s", s->flag, s->metavar);
        else if (s->kind == KIND_BOOL)
            snprintf(left, sizeof left, "%s[=BOOL]", s->flag);
        else
            snprintf(left, sizeof left, "%s", s->flag);
        if (s->env != NULL)
            fprintf(out, "  %-32s %s, default %s\n", left, s->env,
                    s->default_value[0] != '\0' ? s->default_value : "unset");
        else
            fprintf(out, "  %s\n", left);
        fprintf(out, "      %s\n", s->help);
    }
    fputs("\nExit status: 0 on success, 1 on a failure while running (or a failed --reload),\n"
          "2 on a bad configuration.\n", out);
}

/* --reload's PID: a positive decimal number. */
static bool parse_pid(const char *value, pid_t *pid)
{
    char *end;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno || end == value || *end || n <= 0 || n > INT_MAX)
        return false;
    *pid = (pid_t)n;
    return true;
}

/* First pass over argv: syntax only, the commands (--help, --version, --reload), and which env
   file to read (it comes before the environment). Nothing is applied yet. */
static enum config_result scan_flags(struct config *cfg, int argc, char **argv,
                                     const char **env_file, char *err, size_t errlen)
{
    struct arg_cursor c = {argc, argv, 1};
    struct flag_use use;
    int rc;

    while ((rc = next_flag(&c, &use, err, errlen)) > 0) {
        if (use.s->kind == KIND_HELP) {
            print_usage(stdout);
            return CONFIG_EXIT_OK;
        }
        if (use.s->kind == KIND_VERSION) {
            printf("kiln %s\n", KILN_VERSION);
            return CONFIG_EXIT_OK;
        }
        if (use.s->kind == KIND_RELOAD) {
            if (!parse_pid(use.value, &cfg->reload_pid)) {
                set_err(err, errlen, "--reload \"%s\": expected the server's process id",
                        use.value);
                return CONFIG_ERROR;
            }
            return CONFIG_RELOAD;
        }
        if (use.s->kind == KIND_ENV_FILE)
            *env_file = use.value; /* the last one wins, as for every flag */
    }
    return rc < 0 ? CONFIG_ERROR : CONFIG_OK;
}

static int apply_flags(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    struct arg_cursor c = {argc, argv, 1};
    struct flag_use use;
    int rc;

    while ((rc = next_flag(&c, &use, err, errlen)) > 0)
        if (apply_value(cfg, use.s, use.value, ORIGIN_FLAG, err, errlen) < 0)
            return -1;
    return rc;
}

/* ---- cross-setting rules ----------------------------------------------------------------- */

static int check_tls_pair(const struct config *cfg, char *err, size_t errlen)
{
    bool has_cert = cfg->tls_cert[0] != '\0', has_key = cfg->tls_key[0] != '\0';

    if (has_cert != has_key) {
        set_err(err, errlen,
                "TLS_CERT (--tls-cert) and TLS_KEY (--tls-key) must be set together: %s is missing",
                has_cert ? "TLS_KEY" : "TLS_CERT");
        return -1;
    }
    if (config_addr_is_set(&cfg->http_redirect) && !has_cert) {
        set_err(err, errlen, "HTTP_REDIRECT_ADDR (--http-redirect-addr) needs TLS_CERT and TLS_KEY: "
                             "it redirects to the HTTPS listener");
        return -1;
    }
    return 0;
}

/* Try-files falls back to a PHP front controller, so it needs one (path_has_php_ext's rule). */
static int check_routing(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->routing == CONFIG_ROUTING_TRY_FILES &&
        !text_ends_with_nocase(cfg->index_file, strlen(cfg->index_file), ".php")) {
        set_err(err, errlen, "ROUTING (--routing) try-files needs INDEX_FILE (--index-file) to "
                             "name a PHP front controller such as index.php");
        return -1;
    }
    return 0;
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        return 1;
    return n > (long)MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

static void resolve_pool_sizes(struct config *cfg)
{
    if (cfg->php_workers == 0)
        cfg->php_workers = online_cpus();
    if (cfg->queue_capacity == 0)
        cfg->queue_capacity = cfg->php_workers * 100;
}

enum config_result config_load(struct config *cfg, int argc, char **argv, char **envp,
                               char *err, size_t errlen)
{
    enum config_result result;
    const struct setting *file = find_env("KILN_ENV_FILE");
    const char *env_file = NULL, *env_file_source = file->flag;

    memset(cfg, 0, sizeof *cfg);
    set_err(err, errlen, "%s", "");
    result = scan_flags(cfg, argc, argv, &env_file, err, errlen);
    if (result != CONFIG_OK)
        return result;
    if (env_file == NULL) {
        env_file = env_lookup(envp, file->env);
        env_file_source = file->env;
    }
    if (apply_defaults(cfg, err, errlen) < 0 ||
        apply_env_file(cfg, env_file != NULL ? env_file : "", env_file_source, err, errlen) < 0 ||
        apply_env(cfg, envp, err, errlen) < 0 || apply_flags(cfg, argc, argv, err, errlen) < 0 || check_tls_pair(cfg, err, errlen) < 0 ||
        check_routing(cfg, err, errlen) < 0) {
        config_free(cfg);
        return CONFIG_ERROR;
    }
    resolve_pool_sizes(cfg);
    return CONFIG_OK;
}

void config_free(struct config *cfg)
{
    for (unsigned i = 0; i < cfg->php_ini_set_count; i++) {
        free(cfg->php_ini_set[i]);
        cfg->php_ini_set[i] = NULL;
    }
    cfg->php_ini_set_count = 0;
}

/* ---- file-system checks ------------------------------------------------------------------ */

static int check_directory(const char *name, const char *path, char *err, size_t errlen)
{
    struct stat st;
    char quoted[4 * QUOTE_MAX + 8];

    quote_value(path, quoted, sizeof quoted);
    if (stat(path, &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            set_err(err, errlen, "%s \"%s\": no such directory", name, quoted);
        else
            set_err(err, errlen, "%s \"%s\": %s", name, quoted, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        set_err(err, errlen, "%s \"%s\": not a directory", name, quoted);
        return -1;
    }
    return 0;
}

int config_resolve_document_root(const char *setting, char resolved[PATH_MAX], char *err,
                                 size_t errlen)
{
    char quoted[4 * QUOTE_MAX + 8];

    if (check_directory("DOCUMENT_ROOT", setting, err, errlen) < 0)
        return -1;
    quote_value(setting, quoted, sizeof quoted);
    if (realpath(setting, resolved) == NULL) {
        set_err(err, errlen, "DOCUMENT_ROOT \"%s\": %s", quoted, strerror(errno));
        return -1;
    }
    return 0;
}

static int resolve_document_root(struct config *cfg, char *err, size_t errlen)
{
    memcpy(cfg->document_root_setting, cfg->document_root, sizeof cfg->document_root);
    return config_resolve_document_root(cfg->document_root_setting, cfg->document_root, err,
                                        errlen);
}

static int check_index_file(const struct config *cfg, char *err, size_t errlen)
{
    char path[PATH_MAX];
    char quoted_name[4 * QUOTE_MAX + 8], quoted_path[4 * QUOTE_MAX + 8];
    struct stat st;
    int n;

    if (cfg->index_file[0] == '\0')
        return 0;
    quote_value(cfg->index_file, quoted_name, sizeof quoted_name);
    if (strchr(cfg->index_file, '/') != NULL || strcmp(cfg->index_file, ".") == 0 ||
        strcmp(cfg->index_file, "..") == 0) {
        set_err(err, errlen, "INDEX_FILE \"%s\": expected a file name without '/'", quoted_name);
        return -1;
    }
    n = snprintf(path, sizeof path, "%s/%s", cfg->document_root, cfg->index_file);
    quote_value(path, quoted_path, sizeof quoted_path);
    if (n < 0 || (size_t)n >= sizeof path) {
        set_err(err, errlen, "INDEX_FILE \"%s\": path under the root is too long", quoted_name);
        return -1;
    }
    if (stat(path, &st) < 0) {
        set_err(err, errlen, "INDEX_FILE \"%s\": %s %s", quoted_name, quoted_path,
                errno == ENOENT ? "does not exist" : strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, errlen, "INDEX_FILE \"%s\": %s is not a regular file", quoted_name,
                quoted_path);
        return -1;
    }
    return 0;
}

/* O_NONBLOCK so that a FIFO given by mistake fails the check instead of hanging start-up. */
static int check_readable_file(const char *name, const char *path, char *err, size_t errlen)
{
    char quoted[4 * QUOTE_MAX + 8];
    struct stat st;
    int fd;

    if (path[0] == '\0')
        return 0;
    quote_value(path, quoted, sizeof quoted);
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errlen, "%s \"%s\": cannot read: %s", name, quoted, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        set_err(err, errlen, "%s \"%s\": not a regular file", name, quoted);
        return -1;
    }
    close(fd);
    return 0;
}

/* WORKER_SCRIPT: a relative path is under the (resolved) document root; it must be a file. */
static int resolve_worker_script(struct config *cfg, char *err, size_t errlen)
{
    memcpy(cfg->worker_script_setting, cfg->worker_script, sizeof cfg->worker_script);
    if (cfg->worker_script[0] == '\0' || cfg->worker_script[0] == '/')
        return check_readable_file("WORKER_SCRIPT", cfg->worker_script, err, errlen);
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", cfg->document_root, cfg->worker_script);
    if (n < 0 || (size_t)n >= sizeof path) {
        set_err(err, errlen, "WORKER_SCRIPT: path too long");
        return -1;
    }
    memcpy(cfg->worker_script, path, (size_t)n + 1);
    return check_readable_file("WORKER_SCRIPT", cfg->worker_script, err, errlen);
}

int config_check_paths(struct config *cfg, char *err, size_t errlen)
{
    set_err(err, errlen, "%s", "");
    if (resolve_document_root(cfg, err, errlen) < 0 || check_index_file(cfg, err, errlen) < 0)
        return -1;
    if (cfg->error_pages_dir[0] != '\0' &&
        check_directory("ERROR_PAGES_DIR", cfg->error_pages_dir, err, errlen) < 0)
        return -1;
    if (check_readable_file("TLS_CERT", cfg->tls_cert, err, errlen) < 0 ||
        check_readable_file("TLS_KEY", cfg->tls_key, err, errlen) < 0 ||
        check_readable_file("PHP_INI", cfg->php_ini, err, errlen) < 0 ||
        resolve_worker_script(cfg, err, errlen) < 0)
        return -1;
    return 0;
}

unsigned config_addr_port(const struct config_addr *a)
{
    if (a->sa.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->sa)->sin6_port);
    return ntohs(((const struct sockaddr_in *)&a->sa)->sin_port);
}

/* ---- the effective configuration as JSON (the internal server's /config) ----------------- */

/* The first name of a choice with this value: the canonical one, aliases come after it. */
static const char *choice_name(const struct choice *choices, int value)
{
    for (const struct choice *c = choices; c->name != NULL; c++)
        if (c->value == value)
            return c->name;
    return "";
}

/* "2m" for 120: the largest unit that divides the duration exactly; "off" for 0. */
static void format_duration(uint64_t secs, char *out, size_t outlen)
{
    static const struct {
        char unit;
        uint64_t secs;
    } units[] = {{'y', 365 * 86400}, {'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'m', 60}};

    if (secs == 0) {
        snprintf(out, outlen, "off");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (secs % units[i].secs == 0) {
            snprintf(out, outlen, "%llu%c", (unsigned long long)(secs / units[i].secs),
                     units[i].unit);
            return;
        }
    }
    snprintf(out, outlen, "%llus", (unsigned long long)secs);
}

static uint64_t load_number(const struct config *cfg, const struct setting *s)
{
    const char *field = (const char *)cfg + s->offset;
    if (s->size == sizeof(uint64_t))
        return *(const uint64_t *)field;
    return *(const unsigned *)field;
}

static void append_ini_sets(const struct config *cfg, struct buf *out)
{
    for (unsigned i = 0; i < cfg->php_ini_set_count; i++) {
        if (i > 0)
            buf_append_char(out, ';');
        buf_append_str(out, cfg->php_ini_set[i]);
    }
}

/* Appends the value of one setting, in the syntax the setting accepts. */
static void append_setting_value(const struct config *cfg, const struct setting *s,
                                 struct buf *out)
{
    const void *field = (const char *)cfg + s->offset;
    char text[32];

    switch (s->kind) {
    case KIND_ADDR:
    case KIND_OPTIONAL_ADDR: buf_append_str(out, ((const struct config_addr *)field)->text); return;
    case KIND_PATH:
    case KIND_ENV_FILE:
    case KIND_NAME: buf_append_str(out, field); return;
    case KIND_PARSED: s->format(field, out); return;
    case KIND_EXECUTOR: buf_append_str(out, choice_name(executor_choices, cfg->executor)); return;
    case KIND_ROUTING: buf_append_str(out, choice_name(routing_choices, cfg->routing)); return;
    case KIND_LOG_LEVEL: buf_append_str(out, choice_name(log_level_choices, cfg->log_level)); return;
    case KIND_UINT: buf_append_uint(out, load_number(cfg, s)); return;
    case KIND_DURATION: format_duration(load_number(cfg, s), text, sizeof text); break;
    case KIND_SIZE: format_size(load_number(cfg, s), text, sizeof text); break;
    case KIND_BOOL: buf_append_str(out, *(const bool *)field ? "on" : "off"); return;
    case KIND_INI_SET: append_ini_sets(cfg, out); return;
    case KIND_HELP:
    case KIND_VERSION:
    case KIND_RELOAD: return;
    }
    buf_append_str(out, text);
}

void config_write_json(const struct config *cfg, struct buf *out)
{
    struct buf value = {0};
    bool first = true;

    buf_append_str(out, "{\n");
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings[i];
        if (s->env == NULL)
            continue;
        buf_clear(&value);
        append_setting_value(cfg, s, &value);
        if (s->secret && value.len > 0) {
            buf_clear(&value);
            buf_append_str(&value, CONFIG_REDACTED);
        }
        buf_append_str(out, first ? "  " : ",\n  ");
        first = false;
        json_append_string(out, s->env, strlen(s->env));
        buf_append_str(out, ": ");
        json_append_string(out, value.data ? value.data : "", value.len);
    }
    buf_append_str(out, "\n}\n");
    buf_free(&value);
}

/* ---- reload: what changed, and what a reload takes ------------------------------------- */

static bool is_path(const struct setting *s, size_t offset)
{
    return s->kind == KIND_PATH && s->offset == offset;
}

static bool is_document_root(const struct setting *s)
{
    return is_path(s, offsetof(struct config, document_root));
}

/*
 * The value as given: DOCUMENT_ROOT before config_check_paths() replaced it by its realpath,
 * WORKER_SCRIPT before it was put under DOCUMENT_ROOT. A reload compares these, and hands them
 * to its new zygote, which resolves them again (a `current` symlink swapped by a deploy).
 */
static void append_given_value(const struct config *cfg, const struct setting *s,
                               struct buf *out)
{
    if (is_document_root(s) && cfg->document_root_setting[0] != '\0')
        buf_append_str(out, cfg->document_root_setting);
    else if (is_path(s, offsetof(struct config, worker_script)) &&
             cfg->worker_script_setting[0] != '\0')
        buf_append_str(out, cfg->worker_script_setting);
    else
        append_setting_value(cfg, s, out);
}

void config_diff(const struct config *running, const struct config *next, config_change_fn *fn,
                 void *arg)
{
    struct buf from = {0}, to = {0};

    for (size_t i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings[i];
        if (s->env == NULL || s->kind == KIND_ENV_FILE) /* the same argv and environment */
            continue;
        buf_clear(&from);
        buf_clear(&to);
        append_given_value(running, s, &from);
        append_given_value(next, s, &to);
        buf_append_char(&from, '\0');
        buf_append_char(&to, '\0');
        if (strcmp(from.data, to.data) == 0)
            continue;
        fn(arg, &(struct config_change){.name = s->env, .flag = s->flag, .from = from.data,
                                        .to = to.data, .reload = s->reload,
                                        .secret = s->secret});
    }
    buf_free(&from);
    buf_free(&to);
}

bool config_reload_applies(const char *name)
{
    const struct setting *s = find_env(name);
    return s != NULL && s->reload;
}

void config_take_reloadable(struct config *running, struct config *next)
{
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings[i];
        if (!s->reload)
            continue;
        if (s->kind == KIND_INI_SET) { /* swapped: config_free(next) frees the old entries */
            char *sets[CONFIG_MAX_PHP_INI_SETS];
            unsigned count = running->php_ini_set_count;
            memcpy(sets, running->php_ini_set, sizeof sets);
            memcpy(running->php_ini_set, next->php_ini_set, sizeof sets);
            memcpy(next->php_ini_set, sets, sizeof sets);
            running->php_ini_set_count = next->php_ini_set_count;
            next->php_ini_set_count = count;
        } else if (is_document_root(s)) {
            memcpy(running->document_root_setting, next->document_root,
                   sizeof running->document_root_setting);
        } else {
            memcpy(field_of(running, s), field_of(next, s), s->size);
        }
    }
}

/* ---- the man page's OPTIONS (tools/mkman.c) ---------------------------------------------- */

/* `text` as roff running text: '-' as \- (the minus sign man uses for options), a backslash
   as \e, and \& before a '.' or '\'' that would start a line, so no text becomes a request. */
static void man_text(FILE *out, const char *text)
{
    if (text[0] == '.' || text[0] == '\'')
        fputs("\\&", out);
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '-')
            fputs("\\-", out);
        else if (*p == '\\')
            fputs("\\e", out);
        else
            fputc(*p, out);
    }
}

static void man_font(FILE *out, const char *font, const char *text)
{
    fprintf(out, "\\f%s", font);
    man_text(out, text);
    fputs("\\fR", out);
}

/* The tag line of one entry: "--flag METAVAR" or "--flag[=BOOL]", then ", ENV". */
static void man_tag(FILE *out, const struct setting *s)
{
    man_font(out, "B", s->flag);
    if (s->metavar != NULL) {
        fputc(' ', out);
        man_font(out, "I", s->metavar);
    } else if (s->kind == KIND_BOOL) {
        fputs("[=", out);
        man_font(out, "I", "BOOL");
        fputc(']', out);
    }
    if (s->env != NULL) {
        fputs(", ", out);
        man_font(out, "B", s->env);
    }
    fputc('\n', out);
}

void config_write_man(FILE *out)
{
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings[i];

        fputs(".TP\n", out);
        man_tag(out, s);
        man_text(out, s->help);
        fputc('\n', out);
        if (s->env == NULL)
            continue;
        fputs(".br\nDefault: ", out);
        if (s->default_value[0] != '\0')
            man_font(out, "B", s->default_value);
        else
            fputs("unset", out);
        fputs(".\n", out);
    }
}
