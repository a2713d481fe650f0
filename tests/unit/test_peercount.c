/* Unit tests for net/peercount: counts per address, the limit, and removal (the table keeps
   finding every address however entries come and go). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cmocka.h>

#include "net/peercount.h"

static struct sockaddr_in v4(uint32_t host)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1234)};
    a.sin_addr.s_addr = htonl(host);
    return a;
}

#define SA(a) ((const struct sockaddr *)&(a))

static void test_limit_per_address(void **state)
{
    (void)state;
    struct peercount pc = {0};
    struct sockaddr_in a = v4(0x7f000001), b = v4(0x0a000001);
    assert_true(peercount_add(&pc, SA(a), 2));
    assert_true(peercount_add(&pc, SA(a), 2));
    assert_false(peercount_add(&pc, SA(a), 2));
    assert_true(peercount_add(&pc, SA(b), 2));
    assert_int_equal(peercount_get(&pc, SA(a)), 2);
    peercount_remove(&pc, SA(a));
    assert_true(peercount_add(&pc, SA(a), 2));
    peercount_free(&pc);
}

static void test_the_port_does_not_matter_and_v4_mapped_is_the_same_client(void **state)
{
    (void)state;
    struct peercount pc = {0};
    struct sockaddr_in a = v4(0xc0a80001);
    struct sockaddr_in6 m = {.sin6_family = AF_INET6, .sin6_port = htons(99)};
    inet_pton(AF_INET6, "::ffff:192.168.0.1", &m.sin6_addr);
    assert_true(peercount_add(&pc, SA(a), 2));
    assert_true(peercount_add(&pc, SA(m), 2));
    assert_false(peercount_add(&pc, SA(a), 2));
    peercount_free(&pc);
}

static void test_unix_sockets_and_unknown_addresses(void **state)
{
    (void)state;
    struct peercount pc = {0};
    struct sockaddr_un u = {.sun_family = AF_UNIX};
    struct sockaddr_in a = v4(1);
    assert_true(peercount_add(&pc, SA(u), 1));
    assert_true(peercount_add(&pc, SA(u), 1));
    peercount_remove(&pc, SA(a)); /* never added: nothing happens */
    assert_int_equal(peercount_get(&pc, SA(a)), 0);
    peercount_free(&pc);
}

/* Many addresses through growth and removal in a mixed order: every count stays right. */
static void test_many_addresses_come_and_go(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct peercount pc = {0};
    for (uint32_t i = 0; i < N; i++) {
        struct sockaddr_in a = v4(0x0a000000 + i);
        for (uint32_t k = 0; k <= i % 3; k++)
            assert_true(peercount_add(&pc, SA(a), 3));
    }
    for (uint32_t i = 0; i < N; i += 2) {
        struct sockaddr_in a = v4(0x0a000000 + i);
        for (uint32_t k = 0; k <= i % 3; k++)
            peercount_remove(&pc, SA(a));
    }
    for (uint32_t i = 0; i < N; i++) {
        struct sockaddr_in a = v4(0x0a000000 + i);
        assert_int_equal(peercount_get(&pc, SA(a)), i % 2 ? i % 3 + 1 : 0);
    }
    assert_int_equal(pc.used, N / 2);
    peercount_free(&pc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_per_address),
        cmocka_unit_test(test_the_port_does_not_matter_and_v4_mapped_is_the_same_client),
        cmocka_unit_test(test_unix_sockets_and_unknown_addresses),
        cmocka_unit_test(test_many_addresses_come_and_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
