/*
 * Unit tests for net/addr: addresses, CIDR lists (TRUSTED_PROXIES) and the client address from
 * X-Forwarded-For.
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

#include "net/addr.h"

static struct addr_ip ip(const char *text)
{
    struct addr_ip out;
    if (!addr_ip_parse(text, strlen(text), &out))
        fail_msg("addr_ip_parse(\"%s\") failed", text);
    return out;
}

static void check_format(const char *text, const char *want)
{
    struct addr_ip a = ip(text);
    char out[ADDR_IP_TEXT_SIZE];
    addr_ip_format(&a, out);
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
    struct addr_ip out;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (addr_ip_parse(bad[i], strlen(bad[i]), &out))
            fail_msg("addr_ip_parse(\"%s\") accepted", bad[i]);
    /* An embedded NUL must not cut the text short. */
    assert_false(addr_ip_parse("1.2.3.4\0junk", 12, &out));
    /* Longer than any address. */
    char longer[80];
    memset(longer, '1', sizeof(longer));
    assert_false(addr_ip_parse(longer, sizeof(longer), &out));
}

static void test_ip_from_sockaddr(void **state)
{
    (void)state;
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(80)};
    inet_pton(AF_INET, "192.0.2.1", &in.sin_addr);
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:192.0.2.1", &in6.sin6_addr);

    struct addr_ip a, b;
    assert_true(addr_ip_from_sockaddr((struct sockaddr *)&in, &a));
    assert_true(addr_ip_from_sockaddr((struct sockaddr *)&in6, &b));
    /* A dual-stack listener sees IPv4 clients as mapped addresses: they must be the same key. */
    assert_memory_equal(&a, &b, sizeof(a));
    struct addr_ip want = ip("192.0.2.1");
    assert_memory_equal(&a, &want, sizeof(a));

    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_false(addr_ip_from_sockaddr((struct sockaddr *)&un, &a));
}

static struct addr_cidr_list proxies(const char *text)
{
    struct addr_cidr_list p;
    if (addr_parse_cidr_list(text, &p) != 0)
        fail_msg("addr_parse_cidr_list(\"%s\") failed", text);
    return p;
}

static bool trusted(const struct addr_cidr_list *p, const char *addr)
{
    struct addr_ip a = ip(addr);
    return addr_cidr_list_contains(p, &a);
}

static void test_parse_proxies(void **state)
{
    (void)state;
    struct addr_cidr_list p = proxies("");
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
        if (addr_parse_cidr_list(bad[i], &p) == 0)
            fail_msg("addr_parse_cidr_list(\"%s\") accepted", bad[i]);

    /* At most ADDR_MAX_CIDRS entries. */
    char many[ADDR_MAX_CIDRS * 16 + 32] = "";
    for (unsigned i = 0; i < ADDR_MAX_CIDRS; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s10.0.%u.0/24", i ? "," : "",
                 i);
    assert_int_equal(addr_parse_cidr_list(many, &p), 0);
    assert_int_equal(p.count, ADDR_MAX_CIDRS);
    strcat(many, ",10.1.0.0/16");
    assert_int_equal(addr_parse_cidr_list(many, &p), -1);
}

static void test_proxy_membership(void **state)
{
    (void)state;
    struct addr_cidr_list p = proxies("10.0.0.0/8,192.168.0.0/23,::1/128,2001:db8:ab00::/40");
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
    struct addr_cidr_list p = proxies("10.0.0.0/8,::1/128");
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
        struct addr_ip peer = ip(c->peer), got;
        addr_client_ip(&p, &peer, c->xff, c->xff ? strlen(c->xff) : 0, &got);
        char text[ADDR_IP_TEXT_SIZE];
        addr_ip_format(&got, text);
        if (strcmp(text, c->client) != 0)
            fail_msg("peer %s, X-Forwarded-For \"%s\": client %s, want %s", c->peer,
                     c->xff ? c->xff : "(none)", text, c->client);
    }

    /* No trusted proxies (the default): always the peer. */
    struct addr_cidr_list none = proxies("");
    struct addr_ip peer = ip("10.0.0.1"), got;
    addr_client_ip(&none, &peer, "198.51.100.1", 12, &got);
    assert_memory_equal(&got, &peer, sizeof(peer));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_parse_and_format),
        cmocka_unit_test(test_ip_from_sockaddr),
        cmocka_unit_test(test_parse_proxies),
        cmocka_unit_test(test_proxy_membership),
        cmocka_unit_test(test_client_ip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
