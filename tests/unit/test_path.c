#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/path.h"

/* One normalisation case: `want` NULL means the path must be rejected. */
struct norm_case {
    const char *in;
    const char *want;
};

static void check_normalize(const char *in, size_t len, const char *want)
{
    char *out = malloc(len + 1); /* exactly the documented minimum, so ASan sees overruns */
    assert_non_null(out);
    ssize_t n = path_normalize(in, len, out);
    if (!want) {
        if (n != -1)
            print_message("input \"%s\": expected rejection, got \"%.*s\"\n", in, (int)n, out);
        assert_int_equal(n, -1);
    } else {
        if (n < 0 || strcmp(out, want) != 0)
            print_message("input \"%s\": expected \"%s\"\n", in, want);
        assert_true(n >= 0);
        assert_string_equal(out, want);
        assert_int_equal((size_t)n, strlen(want));
    }
    free(out);
}

static void run_cases(const struct norm_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++)
        check_normalize(cases[i].in, strlen(cases[i].in), cases[i].want);
}

#define RUN(cases) run_cases(cases, sizeof(cases) / sizeof(cases[0]))

static void test_plain_paths(void **state)
{
    (void)state;
    static const struct norm_case cases[] = {
        {"/", "/"},
        {"/index.php", "/index.php"},
        {"/a/b/c.txt", "/a/b/c.txt"},
        {"/a/b/", "/a/b/"},
        {"/...", "/..."},
        {"/a..b/..c/c..", "/a..b/..c/c.."},
        {"/.../x", "/.../x"},
        {"/a+b", "/a+b"}, /* '+' is not a space in a path */
        {"/caf\xc3\xa9", "/caf\xc3\xa9"},
    };
    RUN(cases);
}

static void test_dot_segments(void **state)
{
    (void)state;
    static const struct norm_case cases[] = {
        {"/.", "/"},
        {"/./", "/"},
        {"/./a", "/a"},
        {"/a/.", "/a/"},
        {"/a/./b", "/a/b"},
        {"/a/b/..", "/a/"},
        {"/a/b/../", "/a/"},
        {"/a/b/../c", "/a/c"},
        {"/a/..", "/"},
        {"/a/../", "/"},
        {"/a/b/c/../../d", "/a/d"},
        {"/a/./././b/./", "/a/b/"},
        {"/a/b/../../c/./d/..", "/c/"},
        {"/admin/../x.php", "/x.php"},
        {"/a/.b/../c", "/a/c"},
    };
    RUN(cases);
}

static void test_slash_runs(void **state)
{
    (void)state;
    static const struct norm_case cases[] = {
        {"//", "/"},
        {"///", "/"},
        {"//a", "/a"},
        {"/a//b", "/a/b"},
        {"/a///b//", "/a/b/"},
        {"/a//..//b", "/b"},
        {"//./..//", NULL},
        {"/a/.//./b", "/a/b"},
    };
    RUN(cases);
}

static void test_above_root(void **state)
{
    (void)state;
    static const struct norm_case cases[] = {
        {"/..", NULL},
        {"/../", NULL},
        {"/../etc/passwd", NULL},
        {"/a/../..", NULL},
        {"/a/../../b", NULL},
        {"/a/b/../../../etc/passwd", NULL},
        {"/./..", NULL},
        {"/%2e%2e/etc/passwd", NULL},
        {"/%2E%2E", NULL},
        {"/.%2e/x", NULL},
        {"/a/%2e%2e/%2e%2e/x", NULL},
        {"/a%2F..%2F..%2Fetc", NULL},
    };
    RUN(cases);
}

static void test_percent_decoding(void **state)
{
    (void)state;
    static const struct norm_case cases[] = {
        {"/a%20b", "/a b"},
        {"/%41%62c", "/Abc"},
        {"/%7e%7E", "/~~"},
        {"/%2B", "/+"},
        {"/%25", "/%"},
        {"/%2541", "/%41"}, /* decoded once only */
        {"/a%2Fb", "/a/b"},
        {"/a%2F..%2Fb", "/b"}, /* an encoded slash is a slash */
        {"/a%2f%2f%2fb", "/a/b"},
        {"/%2e", "/"},
        {"/a/%2E/b", "/a/b"},
        {"/a/b/%2e%2E", "/a/"},
        {"/%2E%2E%2E", "/..."},
        {"/%C3%A9", "/\xc3\xa9"},
        {"/%ff", "/\xff"},
        {"/%3F%23", "/?#"},
    };
    RUN(cases);
}

static void test_bad_escapes(void **state)
{
    (void)state;
    static const struct norm_case cases[] = {
        {"/%", NULL},
        {"/%4", NULL},
        {"/a%", NULL},
        {"/a%4", NULL},
        {"/%zz", NULL},
        {"/%g0", NULL},
        {"/%0g", NULL},
        {"/%%41", NULL},
        {"/% 41", NULL},
        {"/%-1", NULL},
        {"/%+1", NULL},
    };
    RUN(cases);
}

static void test_nul_and_backslash(void **state)
{
    (void)state;
    static const struct norm_case cases[] = {
        {"/%00", NULL},
        {"/a%00.php", NULL},
        {"/a\\b", NULL},
        {"/..\\..\\etc", NULL},
        {"/a%5Cb", NULL},
        {"/a%5cb", NULL},
        {"\\", NULL},
    };
    RUN(cases);
    check_normalize("/a\0b", 4, NULL); /* raw NUL inside the length */
    check_normalize("/\0", 2, NULL);
}

static void test_must_start_with_slash(void **state)
{
    (void)state;
    static const struct norm_case cases[] = {
        {"", NULL},
        {"a", NULL},
        {"index.php", NULL},
        {".", NULL},
        {"..", NULL},
        {"%2F", NULL},
        {"*", NULL},
        {"http://x/", NULL},
    };
    RUN(cases);
}

static void test_uses_len_not_nul(void **state)
{
    (void)state;
    /* Only the first `len` bytes count: the rest of the buffer is ignored. */
    check_normalize("/a/b/../c-junk", 9, "/a/c");
    check_normalize("/abc%41", 4, "/abc");
    check_normalize("/abc%41", 6, NULL); /* the escape is cut short */
}

static void test_never_longer(void **state)
{
    (void)state;
    /* A long path of dot segments: the output fits in len + 1 and is O(n) to produce. */
    size_t len = 3 * 100000;
    char *in = malloc(len + 3);
    assert_non_null(in);
    for (size_t i = 0; i < len; i += 3)
        memcpy(in + i, "/./", 3);
    char *out = malloc(len + 1);
    assert_non_null(out);
    ssize_t n = path_normalize(in, len, out);
    assert_int_equal(n, 1);
    assert_string_equal(out, "/");
    for (size_t i = 0; i < len; i += 3)
        memcpy(in + i, "/..", 3);
    memcpy(in, "/x/", 3);
    assert_int_equal(path_normalize(in, len, out), -1);
    free(in);
    free(out);
}

static void test_hidden(void **state)
{
    (void)state;
    assert_true(path_is_hidden("/.env"));
    assert_true(path_is_hidden("/.git/config"));
    assert_true(path_is_hidden("/.git/"));
    assert_true(path_is_hidden("/a/.htaccess"));
    assert_true(path_is_hidden("/a/.b/c"));
    assert_true(path_is_hidden("/.well-known/.secret"));
    assert_true(path_is_hidden("/a/.well-known/x"));
    assert_true(path_is_hidden("/.well-knownx"));
    assert_true(path_is_hidden("/.well-known-x/y"));
    assert_true(path_is_hidden("/.well"));

    assert_false(path_is_hidden("/"));
    assert_false(path_is_hidden("/a/b.c"));
    assert_false(path_is_hidden("/a./b"));
    assert_false(path_is_hidden("/index.php"));
    assert_false(path_is_hidden("/.well-known"));
    assert_false(path_is_hidden("/.well-known/"));
    assert_false(path_is_hidden("/.well-known/acme-challenge/tok.en"));
    assert_false(path_is_hidden("/.well-known/security.txt"));
}

static void test_php_ext(void **state)
{
    (void)state;
    static const char *const php[] = {"x.php", "/a/x.php", "x.PHP", "x.Php", ".php", "/a.b.pHp"};
    static const char *const not_php[] = {"x.php5", "x.phps", "x.php.txt", "xphp", "php",
                                          "",      "x.ph",   "/a.php/b",  "x.php "};
    for (size_t i = 0; i < sizeof(php) / sizeof(php[0]); i++)
        assert_true(path_has_php_ext(php[i], strlen(php[i])));
    for (size_t i = 0; i < sizeof(not_php) / sizeof(not_php[0]); i++)
        assert_false(path_has_php_ext(not_php[i], strlen(not_php[i])));
    /* The length decides, not the NUL. */
    assert_true(path_has_php_ext("a.php.txt", 5));
    assert_false(path_has_php_ext("a.php", 4));
}

static void expect_encoded(const char *norm, const char *want)
{
    struct buf b = {0};
    path_encode(norm, &b);
    buf_append_char(&b, '\0');
    assert_string_equal(b.data, want);
    buf_free(&b);
}

static void test_encode(void **state)
{
    (void)state;
    expect_encoded("/", "/");
    expect_encoded("/a/b-c_d.e~f/", "/a/b-c_d.e~f/");
    expect_encoded("/a b/%/?/#", "/a%20b/%25/%3F/%23");
    expect_encoded("/!$&'()*+,;=:@", "/!$&'()*+,;=:@");
    expect_encoded("/\"<>\\^`{|}", "/%22%3C%3E%5C%5E%60%7B%7C%7D");
    expect_encoded("/\xc3\xa9\x01\x7f", "/%C3%A9%01%7F");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_paths),
        cmocka_unit_test(test_dot_segments),
        cmocka_unit_test(test_slash_runs),
        cmocka_unit_test(test_above_root),
        cmocka_unit_test(test_percent_decoding),
        cmocka_unit_test(test_bad_escapes),
        cmocka_unit_test(test_nul_and_backslash),
        cmocka_unit_test(test_must_start_with_slash),
        cmocka_unit_test(test_uses_len_not_nul),
        cmocka_unit_test(test_never_longer),
        cmocka_unit_test(test_hidden),
        cmocka_unit_test(test_php_ext),
        cmocka_unit_test(test_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
