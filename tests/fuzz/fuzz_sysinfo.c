/*
 * libFuzzer target for the /proc/loadavg, /proc/meminfo and /proc/<pid>/statm parsers
 * (obs/sysinfo). The same input goes to all three. Checks: a parse either succeeds with sane
 * values or fails with *out zeroed; available memory never exceeds the total; the usage
 * percentage is within [0, 100].
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "obs/sysinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_sysinfo: check failed: %s\n", #cond);                       \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct sysinfo_load l;
    if (sysinfo_parse_loadavg(text, size, &l) == 0)
        CHECK(l.load1 >= 0 && l.load5 >= 0 && l.load15 >= 0 && l.load1 < 1e16);
    else
        CHECK(l.load1 == 0 && l.load5 == 0 && l.load15 == 0);
    struct sysinfo_memory m;
    if (sysinfo_parse_meminfo(text, size, &m) == 0) {
        CHECK(m.available_bytes <= m.total_bytes);
        double pct = sysinfo_memory_used_percent(&m);
        CHECK(pct >= 0 && pct <= 100);
    } else {
        CHECK(m.total_bytes == 0 && m.available_bytes == 0);
    }
    struct sysinfo_statm statm;
    if (sysinfo_parse_statm(text, size, &statm) == 0)
        CHECK(statm.resident < UINT64_MAX / 2 && statm.shared <= statm.resident);
    return 0;
}
