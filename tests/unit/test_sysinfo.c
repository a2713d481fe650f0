/* Unit tests for obs/sysinfo: the /proc/loadavg and /proc/meminfo parsers on sample text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "obs/sysinfo.h"

#define TEXT(s) s, sizeof(s) - 1

static void test_loadavg(void **state)
{
    (void)state;
    struct sysinfo_load l;
    assert_int_equal(sysinfo_parse_loadavg(TEXT("0.52 1.58 12.09 1/389 12345\n"), &l), 0);
    assert_float_equal(l.load1, 0.52, 1e-9);
    assert_float_equal(l.load5, 1.58, 1e-9);
    assert_float_equal(l.load15, 12.09, 1e-9);
    assert_int_equal(sysinfo_parse_loadavg(TEXT("3 4 5"), &l), 0); /* no fraction, no rest */
    assert_float_equal(l.load15, 5, 1e-9);
}

static void test_loadavg_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "0.52 0.58", "0.52 -0.58 0.59 1/2 3", "0.52 0.58 x",
                                      "1. 2 3", ".5 1 2", "0.52,0.58,0.59", "1e3 1 1",
                                      "1 2 3x 1/2 3", "12345678901234567 1 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sysinfo_load l = {1, 1, 1};
        assert_int_equal(sysinfo_parse_loadavg(bad[i], strlen(bad[i]), &l), -1);
        assert_true(l.load1 == 0 && l.load5 == 0 && l.load15 == 0);
    }
}

static const char meminfo[] = "MemTotal:       16316412 kB\n"
                              "MemFree:         1032004 kB\n"
                              "MemAvailable:    8158206 kB\n"
                              "Buffers:          412220 kB\n"
                              "Cached:          6543210 kB\n"
                              "SwapCached:            0 kB\n"
                              "HugePages_Total:       0\n";

static void test_meminfo(void **state)
{
    (void)state;
    struct sysinfo_memory m;
    assert_int_equal(sysinfo_parse_meminfo(TEXT(meminfo), &m), 0);
    assert_int_equal(m.total_bytes, 16316412ull * 1024);
    assert_int_equal(m.available_bytes, 8158206ull * 1024);
    assert_int_equal(sysinfo_memory_used_bytes(&m), (16316412ull - 8158206ull) * 1024);
    assert_float_equal(sysinfo_memory_used_percent(&m), 50.0, 1e-9);
}

/* Kernels before 3.14 have no MemAvailable: free + buffers + page cache instead. */
static void test_meminfo_without_memavailable(void **state)
{
    (void)state;
    struct sysinfo_memory m;
    assert_int_equal(sysinfo_parse_meminfo(TEXT("MemTotal: 1000 kB\nMemFree: 100 kB\n"
                                                "Buffers: 20 kB\nCached: 300 kB"), &m), 0);
    assert_int_equal(m.available_bytes, 420 * 1024);
    /* and never more than the total */
    assert_int_equal(sysinfo_parse_meminfo(TEXT("MemTotal: 10 kB\nMemAvailable: 11 kB\n"), &m), 0);
    assert_int_equal(m.available_bytes, 10 * 1024);
    assert_float_equal(sysinfo_memory_used_percent(&m), 0, 1e-9);
}

static void test_meminfo_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "MemAvailable: 10 kB\n",                         /* no total */
        "MemTotal: 10 kB\nMemFree: 1 kB\n",              /* nothing to compute available from */
        "MemTotal: x kB\nMemAvailable: 1 kB\n",
        "MemTotal: 10 MB\nMemAvailable: 1 kB\n",         /* unknown unit */
        "MemTotal: 99999999999999999999 kB\nMemAvailable: 1 kB\n",
        "MemTotal 10 kB\nMemAvailable: 1 kB\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sysinfo_memory m = {1, 1};
        assert_int_equal(sysinfo_parse_meminfo(bad[i], strlen(bad[i]), &m), -1);
        assert_true(m.total_bytes == 0 && m.available_bytes == 0);
    }
    struct sysinfo_memory m = {0};
    assert_float_equal(sysinfo_memory_used_percent(&m), 0, 1e-9);
}

static void test_statm(void **state)
{
    (void)state;
    struct sysinfo_statm m;
    assert_int_equal(sysinfo_parse_statm(TEXT("5731 1389 1067 263 0 478 0\n"), &m), 0);
    assert_int_equal(m.resident, 1389);
    assert_int_equal(m.shared, 1067);
    assert_int_equal(sysinfo_parse_statm(TEXT("5731 1389 1067"), &m), 0); /* the rest unread */
    static const char *const bad[] = {"", "5731", "5731 ", "5731 x 1", "-1 2 3", "5731  1389",
                                      "1 99999999999999999999 1", "5731 1389", "5731 1389 ",
                                      "5731 1389 x", "5731 10 11 0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sysinfo_parse_statm(bad[i], strlen(bad[i]), &m), -1);
}

/* This machine's own files parse (Linux only, which Kiln is). */
static void test_read_this_host(void **state)
{
    (void)state;
    struct sysinfo_snapshot s;
    sysinfo_read(&s);
    assert_true(s.load_ok);
    assert_true(s.memory_ok);
    assert_true(s.memory.total_bytes > 0);
    assert_true(s.memory.available_bytes <= s.memory.total_bytes);
    assert_true(s.cpus >= 1);
    struct sysinfo_process_memory mem = {0};
    assert_true(sysinfo_process_memory(getpid(), &mem));
    assert_true(mem.rss_bytes > 0 && mem.private_bytes > 0 && mem.private_bytes <= mem.rss_bytes);
    assert_false(sysinfo_process_memory(0x5000000, &mem)); /* above PID_MAX_LIMIT: no process */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loadavg),
        cmocka_unit_test(test_loadavg_malformed),
        cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_meminfo_without_memavailable),
        cmocka_unit_test(test_meminfo_malformed),
        cmocka_unit_test(test_statm),
        cmocka_unit_test(test_read_this_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
