/*
 * libFuzzer target for src/config.c.
 *
 * The input is split on '\n' into at most MAX_PIECES strings. Every string goes through each
 * value parser. Then config_load() runs three times: with the strings as environment values,
 * with them as flag values (both "--flag=v" and "--flag v"), with them as raw argv words, and
 * with the whole input as the body of the env file (--env-file, through a memfd).
 * The first byte of a string picks which variable or flag it feeds, so the fuzzer reaches every
 * setting without a dictionary. After each call the result must be coherent (checked below with
 * abort(), so a violation is a crash) and config_free() must leave nothing behind (LeakSanitizer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "config.h"

#define MAX_PIECES 16

/* Every variable and flag of the settings table (config_setting_names()), but --reload, which
   would signal the pid it is given, and the env file's, which would read any path (the env file
   has its own input below). */
static const char *env_names[128];
static const char *flag_names[128];
static size_t env_count, flag_count;

static void collect_names(void)
{
    const char *env, *flag;
    for (size_t i = 0; config_setting_names(i, &env, &flag); i++) {
        if (flag && (strcmp(flag, "--reload") == 0 || strcmp(flag, "--env-file") == 0))
            continue;
        if (env && env_count < sizeof env_names / sizeof env_names[0])
            env_names[env_count++] = env;
        if (flag && flag_count < sizeof flag_names / sizeof flag_names[0])
            flag_names[flag_count++] = flag;
    }
}

static void require(int ok)
{
    if (!ok)
        abort();
}

/* --help and --version print to stdout; keep the fuzzer's output readable. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    require(freopen("/dev/null", "w", stdout) != NULL);
    collect_names();
    require(env_count > 0 && flag_count > 0);
    return 0;
}

static void run_parsers(const char *s)
{
    uint64_t u;
    bool b;
    struct config_addr addr;

    (void)config_parse_duration(s, &u);
    (void)config_parse_size(s, &u);
    if (config_parse_uint(s, 1024, &u) == 0)
        require(u <= 1024);
    (void)config_parse_uint(s, UINT64_MAX, &u);
    (void)config_parse_bool(s, &b);
    if (config_parse_addr(s, &addr) == 0) {
        require(memchr(addr.text, '\0', sizeof addr.text) != NULL);
        require((addr.sa.ss_family == AF_INET && addr.len == sizeof(struct sockaddr_in)) ||
                (addr.sa.ss_family == AF_INET6 && addr.len == sizeof(struct sockaddr_in6)));
    }
}

static void check_ini_entries(const struct config *cfg)
{
    require(cfg->php_ini_set_count <= CONFIG_MAX_PHP_INI_SETS);
    for (unsigned i = 0; i < cfg->php_ini_set_count; i++) {
        const char *entry = cfg->php_ini_set[i];
        require(strchr(entry, '=') != NULL && entry[0] != '=');
        for (const char *p = entry; *p != '\0'; p++)
            require((unsigned char)*p >= 0x20 && *p != 0x7f);
    }
}

static void load_and_check(int argc, char **argv, char **envp)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    enum config_result r = config_load(&cfg, argc, argv, envp, err, sizeof err);

    require(memchr(err, '\0', sizeof err) != NULL);
    require(strchr(err, '\n') == NULL);
    switch (r) {
    case CONFIG_OK:
        require(err[0] == '\0');
        require(cfg.php_workers >= 1 && cfg.php_workers <= 1024);
        require(cfg.queue_capacity >= 1);
        require(cfg.header_timeout_secs >= 1 && cfg.idle_timeout_secs >= 1);
        require(cfg.rate_window_secs >= 1);
        require(cfg.max_header_size >= 1024 && cfg.max_header_size <= 1024 * 1024);
        require(cfg.max_uri_size >= 256 && cfg.max_uri_size <= 1024 * 1024);
        require((cfg.tls_cert[0] == '\0') == (cfg.tls_key[0] == '\0'));
        require(cfg.document_root[0] != '\0');
        check_ini_entries(&cfg);
        break;
    case CONFIG_ERROR:
        require(err[0] != '\0');
        require(cfg.php_ini_set_count == 0); /* freed on error */
        break;
    case CONFIG_EXIT_OK:
        break;
    default:
        abort();
    }
    config_free(&cfg);
    require(cfg.php_ini_set_count == 0);
}

/* "NAME=value" from the piece's first byte (name) and the rest (value). */
static char *env_entry(const char *piece)
{
    const char *name = env_names[(unsigned char)piece[0] % env_count];
    const char *value = piece[0] != '\0' ? piece + 1 : piece;
    size_t len = strlen(name) + strlen(value) + 2;
    char *entry = malloc(len);

    require(entry != NULL);
    snprintf(entry, len, "%s=%s", name, value);
    return entry;
}

/*
 * Appends argv words for one piece: the first byte picks the flag and the form ("--flag=value",
 * "--flag value", or the bare value). Returns the number of words added; `owned` gets a heap
 * word to free later, or NULL.
 */
static int flag_words(char *piece, char **out, char **owned)
{
    unsigned sel = (unsigned char)piece[0];
    const char *flag = flag_names[sel % flag_count];
    char *value = piece[0] != '\0' ? piece + 1 : piece;
    size_t len;

    *owned = NULL;
    switch ((sel / flag_count) % 3) {
    case 0:
        len = strlen(flag) + strlen(value) + 2;
        *owned = malloc(len);
        require(*owned != NULL);
        snprintf(*owned, len, "%s=%s", flag, value);
        out[0] = *owned;
        return 1;
    case 1:
        out[0] = (char *)flag;
        out[1] = value;
        return 2;
    default:
        out[0] = value;
        return 1;
    }
}

static int split_pieces(const uint8_t *data, size_t size, char **pieces)
{
    int n = 0;
    size_t start = 0;

    for (size_t i = 0; i <= size && n < MAX_PIECES; i++) {
        if (i == size || data[i] == '\n') {
            pieces[n] = malloc(i - start + 1);
            require(pieces[n] != NULL);
            memcpy(pieces[n], data + start, i - start);
            pieces[n][i - start] = '\0';
            n++;
            start = i + 1;
        }
    }
    return n;
}

/* The input as an env file: its errors must still be one line. */
static void load_env_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    char path[64], flag[80];

    if (fd < 0)
        fd = memfd_create("fuzz-env-file", 0);
    require(fd >= 0);
    require(ftruncate(fd, 0) == 0);
    require(pwrite(fd, data, size, 0) == (ssize_t)size);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    snprintf(flag, sizeof flag, "--env-file=%s", path);
    char *argv[] = {"kiln", flag, NULL};
    load_and_check(2, argv, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *pieces[MAX_PIECES];
    char *envp[MAX_PIECES + 1];
    char *argv[2 * MAX_PIECES + 2];
    char *owned[MAX_PIECES];
    int n = split_pieces(data, size, pieces);
    int argc;

    for (int i = 0; i < n; i++)
        run_parsers(pieces[i]);

    for (int i = 0; i < n; i++)
        envp[i] = env_entry(pieces[i]);
    envp[n] = NULL;
    argv[0] = "kiln";
    argv[1] = NULL;
    load_and_check(1, argv, envp);

    argc = 1;
    for (int i = 0; i < n; i++)
        argc += flag_words(pieces[i], argv + argc, &owned[i]);
    argv[argc] = NULL;
    load_and_check(argc, argv, envp);

    for (int i = 0; i < n; i++)
        argv[i + 1] = pieces[i];
    argv[n + 1] = NULL;
    load_and_check(n + 1, argv, NULL);

    load_env_file(data, size);

    for (int i = 0; i < n; i++) {
        free(envp[i]);
        free(owned[i]);
        free(pieces[i]);
    }
    return 0;
}
