/*
 * Unit tests for middleware/ratelimit: the fixed-window table with its eviction policy (the
 * addresses it counts are tested in test_addr.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "middleware/ratelimit.h"

static struct addr_ip ip(const char *text)
{
    struct addr_ip out;
    if (!addr_ip_parse(text, strlen(text), &out))
        fail_msg("addr_ip_parse(\"%s\") failed", text);
    return out;
}

/* ---- the limiter --------------------------------------------------------------------------- */

static struct ratelimit_result check(struct ratelimit *rl, const char *client, uint64_t now_ms)
{
    struct addr_ip a = ip(client);
    struct ratelimit_result r;
    ratelimit_check(rl, &a, now_ms, &r);
    return r;
}

static void test_fixed_window(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_create(3, 60, 1000);
    assert_non_null(rl);
    struct ratelimit_result r = check(rl, "192.0.2.1", 5000);
    assert_true(r.allowed);
    assert_int_equal(r.limit, 3);
    assert_int_equal(r.remaining, 2);
    assert_int_equal(r.reset_secs, 60);

    r = check(rl, "192.0.2.1", 5001);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 1);
    assert_int_equal(r.reset_secs, 60); /* 59.999 s rounds up */
    r = check(rl, "192.0.2.1", 30000);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 0);
    assert_int_equal(r.reset_secs, 35);

    for (int i = 0; i < 5; i++) {
        r = check(rl, "192.0.2.1", 64000);
        assert_false(r.allowed);
        assert_int_equal(r.remaining, 0);
        assert_int_equal(r.reset_secs, 1);
    }
    r = check(rl, "192.0.2.1", 64999);
    assert_false(r.allowed);
    assert_int_equal(r.reset_secs, 1); /* never 0 while refused */

    /* Another client is counted apart. */
    r = check(rl, "192.0.2.2", 64999);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 2);

    /* The window ends at start + 60 s; the next request starts a new one. */
    r = check(rl, "192.0.2.1", 65000);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 2);
    assert_int_equal(r.reset_secs, 60);
    ratelimit_destroy(rl);
}

static void test_ipv6_grouped_by_64(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_create(2, 10, 100);
    assert_true(check(rl, "2001:db8:0:1::1", 0).allowed);
    assert_true(check(rl, "2001:db8:0:1:ffff:ffff:ffff:ffff", 0).allowed);
    assert_false(check(rl, "2001:db8:0:1::abcd", 0).allowed);
    assert_true(check(rl, "2001:db8:0:2::1", 0).allowed); /* the next /64 */
    /* IPv4 addresses are not grouped. */
    assert_true(check(rl, "192.0.2.1", 0).allowed);
    assert_true(check(rl, "192.0.2.1", 0).allowed);
    assert_false(check(rl, "192.0.2.1", 0).allowed);
    assert_true(check(rl, "192.0.2.2", 0).allowed);
    ratelimit_destroy(rl);
}

static void test_eviction_takes_oldest_window(void **state)
{
    (void)state;
    /* 16 slots and a 16-slot neighbourhood: the whole table is one neighbourhood. */
    struct ratelimit *rl = ratelimit_create(1, 60, 16);
    char name[32];
    for (unsigned i = 0; i < 16; i++) {
        snprintf(name, sizeof(name), "198.51.100.%u", i);
        assert_true(check(rl, name, 1000 + i).allowed);
        assert_false(check(rl, name, 1000 + i).allowed);
    }
    /* Full of live windows: a newcomer evicts the oldest, 198.51.100.0. */
    assert_true(check(rl, "203.0.113.1", 2000).allowed);
    assert_false(check(rl, "198.51.100.15", 2000).allowed);
    assert_false(check(rl, "198.51.100.1", 2000).allowed);
    /* The evicted client starts afresh and evicts the next oldest, .1, which then starts afresh
       too: being seen refused does not make a window younger. */
    assert_true(check(rl, "198.51.100.0", 2001).allowed);
    assert_true(check(rl, "198.51.100.1", 2002).allowed);
    assert_false(check(rl, "198.51.100.15", 2003).allowed);
    assert_false(check(rl, "203.0.113.1", 2003).allowed);
    ratelimit_destroy(rl);
}

static void test_expired_slots_reused_first(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_create(1, 1, 16);
    char name[32];
    for (unsigned i = 0; i < 16; i++) {
        snprintf(name, sizeof(name), "198.51.100.%u", i);
        assert_true(check(rl, name, i < 8 ? 0 : 500).allowed);
    }
    /* At 1000 ms the first eight windows are over: newcomers take those slots, so the last
       eight clients keep their counts. */
    for (unsigned i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "203.0.113.%u", i);
        assert_true(check(rl, name, 1000).allowed);
    }
    for (unsigned i = 8; i < 16; i++) {
        snprintf(name, sizeof(name), "198.51.100.%u", i);
        assert_false(check(rl, name, 1000).allowed);
    }
    ratelimit_destroy(rl);
}

/* A flood of distinct addresses leaves memory as it was and the limiter still working. */
static void test_flood_of_addresses(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_create(2, 60, 1024);
    char name[64];
    for (unsigned i = 0; i < 200000; i++) {
        snprintf(name, sizeof(name), "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
        assert_true(check(rl, name, 1000 + i / 100).allowed);
    }
    assert_true(check(rl, "192.0.2.9", 5000).allowed);
    assert_true(check(rl, "192.0.2.9", 5000).allowed);
    assert_false(check(rl, "192.0.2.9", 5000).allowed);
    ratelimit_destroy(rl);
}

static void test_create_arguments(void **state)
{
    (void)state;
    assert_null(ratelimit_create(0, 60, 100));
    assert_null(ratelimit_create(10, 0, 100));
    assert_null(ratelimit_create(10, 60, (size_t)1 << 30));
    struct ratelimit *rl = ratelimit_create(10, 60, 0); /* rounded up to the minimum */
    assert_non_null(rl);
    assert_true(check(rl, "192.0.2.1", 0).allowed);
    ratelimit_destroy(rl);
}

/* ---- the hash ----------------------------------------------------------------------------- */

/* Known answers: the SipHash paper's reference key 00..0f with the 16-byte message 00..0f (entry
   16 of the reference implementation's vectors_sip64), and an IPv4 client as the table hashes it
   (value from OpenSSL's independent SIPHASH). */
static void test_siphash_known_answers(void **state)
{
    (void)state;
    const uint64_t key[2] = {0x0706050403020100u, 0x0f0e0d0c0b0a0908u};
    uint8_t m[16];
    for (unsigned i = 0; i < 16; i++)
        m[i] = (uint8_t)i;
    assert_true(ratelimit_siphash16(key, m) == 0x3f2acc7f57c29bdbu);
    struct addr_ip client = ip("192.0.2.1");
    assert_true(ratelimit_siphash16(key, client.b) == 0x5d3ac230565f3a66u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_window),
        cmocka_unit_test(test_ipv6_grouped_by_64),
        cmocka_unit_test(test_eviction_takes_oldest_window),
        cmocka_unit_test(test_expired_slots_reused_first),
        cmocka_unit_test(test_flood_of_addresses),
        cmocka_unit_test(test_create_arguments),
        cmocka_unit_test(test_siphash_known_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
