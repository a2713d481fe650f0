/* Unit tests of header field checks (src/http/field.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/field.h"

static bool host_ok(const char *v)
{
    return http_field_host_valid(v, strlen(v));
}

static void test_valid_hosts(void **state)
{
    (void)state;
    const char *valid[] = {
        "", "example.com", "EXAMPLE.com:8080", "a", "127.0.0.1", "127.0.0.1:80", "[::1]",
        "[::1]:443", "[2001:db8::1]:65535", "[::ffff:192.0.2.1]", "xn--bcher-kva.example",
        "a-b.c_d~e", "ex%41mple", "sub!$&'()*+,;=delims", "example.com:", "[v1.fe80::a+en1]",
        "[V7.x:y]:1", "localhost:00080",
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        if (!host_ok(valid[i]))
            fail_msg("refused: \"%s\"", valid[i]);
}

static void test_invalid_hosts(void **state)
{
    (void)state;
    const char *invalid[] = {
        " ", "exa mple", "a:b:c", "example.com:http", "[::1", "::1", "[::1]x",
        "[]", "[::zz]", "[fe80::1%25eth0]", "[v.x]", "[v1.]", "[vz.x]", "ex/ample", "ex\\ample",
        "user@example.com", "example.com:123456", "ex%zz", "ex%4", "a?b", "a#b", "\"q\"", "<a>",
        "a\tb", "caf\xc3\xa9.example", "[::1]:80:80",
    };
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        if (host_ok(invalid[i]))
            fail_msg("accepted: \"%s\"", invalid[i]);
}

/* The length is what counts, not a NUL. */
static void test_uses_len(void **state)
{
    (void)state;
    assert_true(http_field_host_valid("example.com junk", 11));
    assert_false(http_field_host_valid("a\0b", 3));
    assert_true(http_field_host_valid("[::1]:80", 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_hosts),
        cmocka_unit_test(test_invalid_hosts),
        cmocka_unit_test(test_uses_len),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
