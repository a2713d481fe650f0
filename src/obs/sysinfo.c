#include "obs/sysinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* /proc/meminfo is about 1.5 KiB; the fields we read come first. */
#define PROC_TEXT_MAX 8192

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void skip_blanks(const char **p, const char *end)
{
    while (*p < end && (**p == ' ' || **p == '\t'))
        (*p)++;
}

/* A plain decimal "123" or "123.45" (no sign, no exponent: the kernel writes none). */
static bool parse_decimal(const char **p, const char *end, double *out)
{
    const char *s = *p;
    double v = 0;
    size_t digits = 0;
    for (; s < end && is_digit(*s); s++, digits++) {
        if (digits >= 15) /* beyond any load average; keeps the value exact enough */
            return false;
        v = v * 10 + (*s - '0');
    }
    if (digits == 0)
        return false;
    if (s < end && *s == '.') {
        s++;
        double scale = 0.1;
        size_t fraction = 0;
        for (; s < end && is_digit(*s); s++, fraction++, scale /= 10)
            v += (*s - '0') * scale;
        if (fraction == 0)
            return false;
    }
    *p = s;
    *out = v;
    return true;
}

int sysinfo_parse_loadavg(const char *text, size_t len, struct sysinfo_load *out)
{
    const char *p = text, *end = text + len;
    double v[3];
    for (int i = 0; i < 3; i++) {
        skip_blanks(&p, end);
        if (!parse_decimal(&p, end, &v[i]) || (p < end && *p != ' ' && *p != '\t' && *p != '\n')) {
            memset(out, 0, sizeof *out);
            return -1;
        }
    }
    out->load1 = v[0];
    out->load5 = v[1];
    out->load15 = v[2];
    return 0;
}

enum meminfo_field { MEM_TOTAL, MEM_AVAILABLE, MEM_FREE, MEM_BUFFERS, MEM_CACHED, MEM_FIELDS };

static const char *const meminfo_keys[MEM_FIELDS] = {"MemTotal", "MemAvailable", "MemFree",
                                                     "Buffers", "Cached"};

/* "<digits>[ kB]" up to the end of the line, in bytes; false when malformed or too large. */
static bool parse_kib(const char *p, const char *eol, uint64_t *bytes)
{
    skip_blanks(&p, eol);
    uint64_t v = 0;
    const char *start = p;
    for (; p < eol && is_digit(*p); p++) {
        if (v > (UINT64_MAX / 1024 - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (p == start)
        return false;
    skip_blanks(&p, eol);
    if (eol - p == 2 && memcmp(p, "kB", 2) == 0)
        v *= 1024;
    else if (p != eol)
        return false;
    *bytes = v;
    return true;
}

int sysinfo_parse_meminfo(const char *text, size_t len, struct sysinfo_memory *out)
{
    uint64_t value[MEM_FIELDS] = {0};
    bool seen[MEM_FIELDS] = {false};
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        for (int i = 0; colon && i < MEM_FIELDS; i++) {
            size_t klen = strlen(meminfo_keys[i]);
            if ((size_t)(colon - p) == klen && memcmp(p, meminfo_keys[i], klen) == 0 &&
                !seen[i] && parse_kib(colon + 1, eol, &value[i]))
                seen[i] = true;
        }
        p = eol + (eol < end);
    }
    memset(out, 0, sizeof *out);
    if (!seen[MEM_TOTAL])
        return -1;
    uint64_t available;
    if (seen[MEM_AVAILABLE])
        available = value[MEM_AVAILABLE];
    else if (seen[MEM_FREE] && seen[MEM_BUFFERS] && seen[MEM_CACHED])
        available = value[MEM_FREE] + value[MEM_BUFFERS] + value[MEM_CACHED]; /* each < 2^54 */
    else
        return -1;
    out->total_bytes = value[MEM_TOTAL];
    out->available_bytes = available < out->total_bytes ? available : out->total_bytes;
    return 0;
}

uint64_t sysinfo_memory_used_bytes(const struct sysinfo_memory *m)
{
    return m->total_bytes - m->available_bytes;
}

double sysinfo_memory_used_percent(const struct sysinfo_memory *m)
{
    if (m->total_bytes == 0)
        return 0;
    return (double)sysinfo_memory_used_bytes(m) * 100.0 / (double)m->total_bytes;
}

/* The start of a procfs file into `buf`; its length, or -1. */
static ssize_t read_small_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0)
                len = 0;
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    return len > 0 ? (ssize_t)len : -1;
}

void sysinfo_read(struct sysinfo_snapshot *out)
{
    char text[PROC_TEXT_MAX];
    memset(out, 0, sizeof *out);
    ssize_t n = read_small_file("/proc/loadavg", text, sizeof text);
    out->load_ok = n > 0 && sysinfo_parse_loadavg(text, (size_t)n, &out->load) == 0;
    n = read_small_file("/proc/meminfo", text, sizeof text);
    out->memory_ok = n > 0 && sysinfo_parse_meminfo(text, (size_t)n, &out->memory) == 0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    out->cpus = cpus > 0 ? (unsigned)cpus : 0;
}

/* A decimal count up to a blank or the end; false when empty or beyond 2^63. */
static bool parse_count(const char **p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    const char *start = *p;
    for (; *p < end && is_digit(**p); (*p)++) {
        if (v > (UINT64_MAX / 2 - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(**p - '0');
    }
    *out = v;
    return *p > start && (*p == end || **p == ' ' || **p == '\n');
}

int sysinfo_parse_statm(const char *text, size_t len, struct sysinfo_statm *out)
{
    const char *p = text, *end = text + len;
    uint64_t size;
    if (!parse_count(&p, end, &size) || p == end || *p != ' ')
        return -1;
    p++;
    if (!parse_count(&p, end, &out->resident) || p == end || *p != ' ')
        return -1;
    p++;
    return parse_count(&p, end, &out->shared) && out->shared <= out->resident ? 0 : -1;
}

/* Reads /proc/<pid>/statm: false when it cannot be read. */
static bool process_statm(int pid, struct sysinfo_statm *out)
{
    char path[48], text[256];
    snprintf(path, sizeof path, "/proc/%d/statm", pid);
    ssize_t n = read_small_file(path, text, sizeof text);
    return n > 0 && sysinfo_parse_statm(text, (size_t)n, out) == 0;
}

static uint64_t page_bytes(uint64_t pages)
{
    long page = sysconf(_SC_PAGESIZE);
    return pages * (uint64_t)(page > 0 ? page : 4096);
}

bool sysinfo_process_memory(int pid, struct sysinfo_process_memory *out)
{
    struct sysinfo_statm m;
    if (!process_statm(pid, &m))
        return false;
    out->rss_bytes = page_bytes(m.resident);
    out->private_bytes = page_bytes(m.resident - m.shared);
    return true;
}
