/*
 * The host's figures behind the `node_*` gauges of /metrics (node-exporter names): load average
 * from /proc/loadavg, memory from /proc/meminfo, and the number of online CPUs; and a process's
 * resident memory from /proc/<pid>/statm (the RSS of each PHP worker on /workers).
 *
 * Read at scrape time, never on the request path: sysinfo_read() opens two small procfs files.
 * The parsers take the files' text (not NUL-terminated) and are pure, so they are unit-tested
 * on sample text and fuzzed (tests/fuzz/fuzz_sysinfo.c).
 */
#ifndef KILN_OBS_SYSINFO_H
#define KILN_OBS_SYSINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sysinfo_load {
    double load1, load5, load15; /* runnable + uninterruptible tasks, 1/5/15-minute averages */
};

struct sysinfo_memory {
    uint64_t total_bytes;     /* MemTotal */
    uint64_t available_bytes; /* MemAvailable (kernels before 3.14: MemFree + Buffers + Cached) */
};

struct sysinfo_snapshot {
    bool load_ok;             /* false: /proc/loadavg unreadable; `load` is zero */
    struct sysinfo_load load;
    bool memory_ok;           /* false: /proc/meminfo unreadable; `memory` is zero */
    struct sysinfo_memory memory;
    unsigned cpus;            /* online CPUs (sysconf), 0 when unknown */
};

/*
 * "0.52 0.58 0.59 1/389 12345": the first three fields, plain decimals. 0, or -1 when they are
 * missing or malformed (*out is then zeroed).
 */
int sysinfo_parse_loadavg(const char *text, size_t len, struct sysinfo_load *out);

/*
 * "Key:   value kB" lines. Needs MemTotal and either MemAvailable or all of MemFree, Buffers
 * and Cached; available never exceeds total. 0, or -1 (*out then zeroed).
 */
int sysinfo_parse_meminfo(const char *text, size_t len, struct sysinfo_memory *out);

/* total - available, in bytes. */
uint64_t sysinfo_memory_used_bytes(const struct sysinfo_memory *m);
/* used / total x 100, 0 when total is 0. */
double sysinfo_memory_used_percent(const struct sysinfo_memory *m);

/* Reads /proc/loadavg, /proc/meminfo and the CPU count now. Never fails: see the _ok flags. */
void sysinfo_read(struct sysinfo_snapshot *out);

/* A process's memory, from /proc/<pid>/statm, in pages. */
struct sysinfo_statm {
    uint64_t resident; /* all resident pages */
    uint64_t shared;   /* of them, backed by a file or shared memory (libraries, OPcache) */
};

/*
 * /proc/<pid>/statm, "size resident shared text lib data dt" in pages: the second and third
 * fields. 0, or -1 when one is missing or malformed.
 */
int sysinfo_parse_statm(const char *text, size_t len, struct sysinfo_statm *out);

struct sysinfo_process_memory {
    uint64_t rss_bytes;     /* resident */
    uint64_t private_bytes; /* resident and not shared: what ending the process gives back */
};

/* A process's memory (/proc/<pid>/statm); false, and `out` untouched, when it cannot be read
   (gone, not ours). */
bool sysinfo_process_memory(int pid, struct sysinfo_process_memory *out);

#endif
