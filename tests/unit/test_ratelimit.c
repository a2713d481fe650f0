/*
 * Unit tests for middleware/ratelimit: addresses, TRUSTED_PROXIES, X-Forwarded-For and the
 * fixed-window table with its eviction policy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "middleware/ratelimit.h"

static struct ratelimit_ip ip(const char *text)
{
    struct ratelimit_ip out;
    if (!ratelimit_ip_parse(text, strlen(text), &out))
        fail_msg("ratelimit_ip_parse(\"%s\") failed", text);
    return out;
}

static void check_format(const char *text, const char *want)
{
    struct ratelimit_ip a = ip(text);
    char out[RATELIMIT_IP_TEXT_SIZE];
    ratelimit_ip_format(&a, out);
    if (strcmp(out, want) != 0)
        fail_msg("format(parse(\"%s\")) = \"%s\", want \"%s\"", text, out, want);
}

static void test_ip_parse_and_format(void **state)
{
    (void)state;
    check_format("192.0.2.1", "192.0.2.1");
    check_format("::ffff:192.0.2.1", "192.0.2.1"); /* the same client as plain IPv4 */
    check_format("2001:DB8:0:0::1", "2001:db8::1");
    check_format("::1", "::1");
    check_format("0.0.0.0", "0.0.0.0");
    check_format("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
                 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

    static const char *const bad[] = {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ",
                                      " 1.2.3.4", "[::1]", "::1%eth0", "1.2.3.4:80", "::g",
                                      "localhost", "1:2:3:4:5:6:7:8:9"};
    struct ratelimit_ip out;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ratelimit_ip_parse(bad[i], strlen(bad[i]), &out))
            fail_msg("ratelimit_ip_parse(\"%s\") accepted", bad[i]);
    /* An embedded NUL must not cut the text short. */
    assert_false(ratelimit_ip_parse("1.2.3.4\0junk", 12, &out));
    /* Longer than any address. */
    char longer[80];
    memset(longer, '1', sizeof(longer));
    assert_false(ratelimit_ip_parse(longer, sizeof(longer), &out));
}

static void test_ip_from_sockaddr(void **state)
{
    (void)state;
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(80)};
    inet_pton(AF_INET, "192.0.2.1", &in.sin_addr);
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:192.0.2.1", &in6.sin6_addr);

    struct ratelimit_ip a, b;
    assert_true(ratelimit_ip_from_sockaddr((struct sockaddr *)&in, &a));
    assert_true(ratelimit_ip_from_sockaddr((struct sockaddr *)&in6, &b));
    /* A dual-stack listener sees IPv4 clients as mapped addresses: they must be the same key. */
    assert_memory_equal(&a, &b, sizeof(a));
    struct ratelimit_ip want = ip("192.0.2.1");
    assert_memory_equal(&a, &want, sizeof(a));

    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_false(ratelimit_ip_from_sockaddr((struct sockaddr *)&un, &a));
}

static struct ratelimit_proxies proxies(const char *text)
{
    struct ratelimit_proxies p;
    if (ratelimit_parse_proxies(text, &p) != 0)
        fail_msg("ratelimit_parse_proxies(\"%s\") failed", text);
    return p;
}

static bool trusted(const struct ratelimit_proxies *p, const char *addr)
{
    struct ratelimit_ip a = ip(addr);
    return ratelimit_proxies_contain(p, &a);
}

static void test_parse_proxies(void **state)
{
    (void)state;
    struct ratelimit_proxies p = proxies("");
    assert_int_equal(p.count, 0);
    assert_false(trusted(&p, "127.0.0.1"));
    p = proxies("   ");
    assert_int_equal(p.count, 0);

    p = proxies("10.0.0.0/8, ::1/128 ,192.0.2.7,2001:db8::/32");
    assert_int_equal(p.count, 4);
    assert_int_equal(p.cidr[0].prefix, 96 + 8);
    assert_int_equal(p.cidr[1].prefix, 128);
    assert_int_equal(p.cidr[2].prefix, 128); /* a bare IPv4 address is a /32 */
    assert_int_equal(p.cidr[3].prefix, 32);

    static const char *const bad[] = {
        ",",          "10.0.0.0/8,",  ",10.0.0.0/8", "10.0.0.0/33", "::1/129",  "10.0.0.0/",
        "10.0.0.0/8/9", "10.0.0.0/-1", "10.0.0.0/ 8", "10.0.0.0 /8", "foo",    "10.0.0.0/0008",
        "10.0.0.0/8;192.0.2.1", "[::1]/128", "10.0.0.0/8,,::1", "*",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ratelimit_parse_proxies(bad[i], &p) == 0)
            fail_msg("ratelimit_parse_proxies(\"%s\") accepted", bad[i]);

    /* At most RATELIMIT_MAX_PROXIES entries. */
    char many[RATELIMIT_MAX_PROXIES * 16 + 32] = "";
    for (unsigned i = 0; i < RATELIMIT_MAX_PROXIES; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s10.0.%u.0/24", i ? "," : "",
                 i);
    assert_int_equal(ratelimit_parse_proxies(many, &p), 0);
    assert_int_equal(p.count, RATELIMIT_MAX_PROXIES);
    strcat(many, ",10.1.0.0/16");
    assert_int_equal(ratelimit_parse_proxies(many, &p), -1);
}

static void test_proxy_membership(void **state)
{
    (void)state;
    struct ratelimit_proxies p = proxies("10.0.0.0/8,192.168.0.0/23,::1/128,2001:db8:ab00::/40");
    assert_true(trusted(&p, "10.0.0.0"));
    assert_true(trusted(&p, "10.255.255.255"));
    assert_false(trusted(&p, "11.0.0.0"));
    assert_false(trusted(&p, "9.255.255.255"));
    assert_true(trusted(&p, "192.168.1.255"));
    assert_false(trusted(&p, "192.168.2.0"));
    assert_true(trusted(&p, "::ffff:10.1.2.3")); /* mapped IPv4 is IPv4 */
    assert_true(trusted(&p, "::1"));
    assert_false(trusted(&p, "::2"));
    assert_true(trusted(&p, "2001:db8:abff:ffff::1"));
    assert_false(trusted(&p, "2001:db8:ac00::1"));

    /* Host bits below the prefix are cleared, as nginx does. */
    p = proxies("10.1.2.3/8");
    assert_true(trusted(&p, "10.200.0.1"));

    /* An IPv4 /0 is every IPv4 address and no IPv6 one; ::/0 is everything. */
    p = proxies("0.0.0.0/0");
    assert_true(trusted(&p, "203.0.113.9"));
    assert_false(trusted(&p, "2001:db8::1"));
    p = proxies("::/0");
    assert_true(trusted(&p, "2001:db8::1"));
    assert_true(trusted(&p, "203.0.113.9"));
}

struct xff_case {
    const char *peer;
    const char *xff; /* NULL: no header */
    const char *client;
};

static void test_client_ip(void **state)
{
    (void)state;
    struct ratelimit_proxies p = proxies("10.0.0.0/8,::1/128");
    static const struct xff_case cases[] = {
        {"203.0.113.5", "198.51.100.1", "203.0.113.5"},        /* untrusted peer: XFF ignored */
        {"10.0.0.1", NULL, "10.0.0.1"},                        /* trusted peer, no header */
        {"10.0.0.1", "", "10.0.0.1"},
        {"10.0.0.1", "198.51.100.1", "198.51.100.1"},
        {"10.0.0.1", "1.1.1.1, 198.51.100.1", "198.51.100.1"}, /* spoofed left part ignored */
        {"10.0.0.1", "198.51.100.1, 10.0.0.2, 10.0.0.3", "198.51.100.1"},
        {"10.0.0.1", "10.0.0.9,10.0.0.2", "10.0.0.9"},        /* all trusted: the leftmost */
        {"10.0.0.1", "198.51.100.1, unknown", "10.0.0.1"},    /* garbage stops the walk */
        {"10.0.0.1", "198.51.100.1, unknown, 10.0.0.5", "10.0.0.5"},
        {"10.0.0.1", "198.51.100.1,,  ,", "198.51.100.1"},     /* empty elements skipped */
        {"10.0.0.1", "198.51.100.1:4711", "198.51.100.1"},
        {"10.0.0.1", "[2001:db8::7]:4711, 10.0.0.2", "2001:db8::7"},
        {"10.0.0.1", "[2001:db8::7]", "2001:db8::7"},
        {"10.0.0.1", "2001:db8::7", "2001:db8::7"},
        {"10.0.0.1", "198.51.100.1:", "10.0.0.1"},
        {"10.0.0.1", "198.51.100.1:123456", "10.0.0.1"},
        {"10.0.0.1", "[2001:db8::7", "10.0.0.1"},
        {"10.0.0.1", "[2001:db8::7]x", "10.0.0.1"},
        {"::1", "198.51.100.1", "198.51.100.1"},
        {"::ffff:10.0.0.1", "198.51.100.1", "198.51.100.1"},   /* mapped peer is trusted too */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct xff_case *c = &cases[i];
        struct ratelimit_ip peer = ip(c->peer), got;
        ratelimit_client_ip(&p, &peer, c->xff, c->xff ? strlen(c->xff) : 0, &got);
        char text[RATELIMIT_IP_TEXT_SIZE];
        ratelimit_ip_format(&got, text);
        if (strcmp(text, c->client) != 0)
            fail_msg("peer %s, X-Forwarded-For \"%s\": client %s, want %s", c->peer,
                     c->xff ? c->xff : "(none)", text, c->client);
    }

    /* No trusted proxies (the default): always the peer. */
    struct ratelimit_proxies none = proxies("");
    struct ratelimit_ip peer = ip("10.0.0.1"), got;
    ratelimit_client_ip(&none, &peer, "198.51.100.1", 12, &got);
    assert_memory_equal(&got, &peer, sizeof(peer));
}

/* ---- the limiter --------------------------------------------------------------------------- */

static struct ratelimit_result check(struct ratelimit *rl, const char *client, uint64_t now_ms)
{
    struct ratelimit_ip a = ip(client);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_parse_and_format),
        cmocka_unit_test(test_ip_from_sockaddr),
        cmocka_unit_test(test_parse_proxies),
        cmocka_unit_test(test_proxy_membership),
        cmocka_unit_test(test_client_ip),
        cmocka_unit_test(test_fixed_window),
        cmocka_unit_test(test_ipv6_grouped_by_64),
        cmocka_unit_test(test_eviction_takes_oldest_window),
        cmocka_unit_test(test_expired_slots_reused_first),
        cmocka_unit_test(test_flood_of_addresses),
        cmocka_unit_test(test_create_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
