/*
 * Unit tests for middleware/errorpages: loading a directory of pages (in a temporary directory),
 * all-or-nothing reloads, and the "accepts HTML" test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "middleware/errorpages.h"

struct fixture {
    char dir[64];
    struct errorpages *ep;
};

static void put(const char *dir, const char *name, const char *content)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void rm(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (unlink(path) != 0)
        assert_int_equal(rmdir(path), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/kiln-errorpages-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->ep = errorpages_create();
    *state = f;
    return f->ep ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    errorpages_destroy(f->ep);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Asserts that `status` has exactly `want` (NULL: no page). */
static void expect_page(const struct errorpages *ep, int status, const char *want)
{
    size_t len = 12345;
    const char *body = errorpages_lookup(ep, status, &len);
    if (!want) {
        if (body)
            fail_msg("status %d: page \"%.*s\", want none", status, (int)len, body);
        return;
    }
    if (!body)
        fail_msg("status %d: no page, want \"%s\"", status, want);
    if (len != strlen(want) || memcmp(body, want, len) != 0)
        fail_msg("status %d: page \"%.*s\", want \"%s\"", status, (int)len, body, want);
}

static int load(struct fixture *f)
{
    char err[512] = "";
    int n = errorpages_load(f->ep, f->dir, err, sizeof(err));
    if (n < 0)
        assert_true(strlen(err) > 0);
    return n;
}

static void test_empty_set(void **state)
{
    struct fixture *f = *state;
    expect_page(f->ep, 404, NULL);
    assert_int_equal(load(f), 0); /* an empty directory is fine */
    expect_page(f->ep, 404, NULL);
}

static void test_load_pages_and_ignore_the_rest(void **state)
{
    struct fixture *f = *state;
    alarm(10); /* a FIFO opened without O_NONBLOCK would hang: fail instead */
    put(f->dir, "404.html", "<h1>Not here</h1>\n");
    put(f->dir, "500.html", "<h1>Oops</h1>");
    put(f->dir, "599.html", "last");
    put(f->dir, "400.html", "first");
    put(f->dir, "410.html", ""); /* empty, but present */
    put(f->dir, "399.html", "not an error status");
    put(f->dir, "600.html", "out of range");
    put(f->dir, "404.htm", "wrong suffix");
    put(f->dir, "404.HTML", "wrong case");
    put(f->dir, "4044.html", "too long");
    put(f->dir, "a04.html", "not digits");
    put(f->dir, "readme.txt", "notes");
    char path[128];
    snprintf(path, sizeof(path), "%s/502.html", f->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/504.html", f->dir);
    assert_int_equal(mkfifo(path, 0644), 0); /* must not hang the load */

    assert_int_equal(load(f), 5);
    expect_page(f->ep, 404, "<h1>Not here</h1>\n");
    expect_page(f->ep, 500, "<h1>Oops</h1>");
    expect_page(f->ep, 400, "first");
    expect_page(f->ep, 599, "last");
    expect_page(f->ep, 410, "");
    expect_page(f->ep, 399, NULL);
    expect_page(f->ep, 600, NULL);
    expect_page(f->ep, 502, NULL);
    expect_page(f->ep, 504, NULL);
    expect_page(f->ep, 401, NULL);
    expect_page(f->ep, 200, NULL);
    expect_page(f->ep, -1, NULL);
    alarm(0);
}

static void test_reload_replaces_the_set(void **state)
{
    struct fixture *f = *state;
    put(f->dir, "404.html", "old 404");
    put(f->dir, "503.html", "old 503");
    assert_int_equal(load(f), 2);

    put(f->dir, "404.html", "new 404");
    put(f->dir, "429.html", "slow down");
    rm(f->dir, "503.html");
    assert_int_equal(load(f), 2);
    expect_page(f->ep, 404, "new 404");
    expect_page(f->ep, 429, "slow down");
    expect_page(f->ep, 503, NULL);
}

static void test_failed_reload_keeps_the_set(void **state)
{
    struct fixture *f = *state;
    put(f->dir, "404.html", "kept");
    assert_int_equal(load(f), 1);

    /* A page too large to be one: the whole reload fails, nothing changes. */
    put(f->dir, "500.html", "new 500");
    char *big = malloc(ERRORPAGES_MAX_SIZE + 2);
    memset(big, 'x', ERRORPAGES_MAX_SIZE + 1);
    big[ERRORPAGES_MAX_SIZE + 1] = '\0';
    put(f->dir, "413.html", big);
    free(big);
    put(f->dir, "404.html", "changed");
    char err[512] = "";
    assert_int_equal(errorpages_load(f->ep, f->dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "413.html"));
    expect_page(f->ep, 404, "kept");
    expect_page(f->ep, 500, NULL);

    /* Exactly the maximum is accepted. */
    big = malloc(ERRORPAGES_MAX_SIZE + 1);
    memset(big, 'x', ERRORPAGES_MAX_SIZE);
    big[ERRORPAGES_MAX_SIZE] = '\0';
    put(f->dir, "413.html", big);
    free(big);
    assert_int_equal(load(f), 3);
    size_t len = 0;
    assert_non_null(errorpages_lookup(f->ep, 413, &len));
    assert_int_equal(len, ERRORPAGES_MAX_SIZE);
    expect_page(f->ep, 404, "changed");

    /* The directory vanishes (a deploy in progress): the pages in use stay. */
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(errorpages_load(f->ep, f->dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, f->dir));
    assert_non_null(strstr(err, "No such file"));
    expect_page(f->ep, 404, "changed");
    expect_page(f->ep, 500, "new 500");
    assert_int_equal(mkdir(f->dir, 0700), 0); /* for the teardown */
}

struct accept_case {
    const char *accept; /* NULL: no header */
    bool html;
};

static void test_accepts_html(void **state)
{
    (void)state;
    static const struct accept_case cases[] = {
        {NULL, false},
        {"", false},
        {"   ", false},
        {"*/*", true}, /* curl's default */
        {"text/html", true},
        {"TEXT/HTML", true},
        {"text/html;charset=utf-8", true},
        {"text/*", true},
        {"application/json", false},
        {"application/json, text/plain", false},
        {"application/json, */*;q=0.1", true},
        {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8", true},
        {"application/xhtml+xml", false},
        {"text/html;q=0", false},      /* q=0: not acceptable (the seed ignored q) */
        {"text/html;q=0.000, */*;q=0", false},
        {"text/html;q=0.001", true},
        {"text/html;q=2", false},      /* malformed entry: skipped */
        {"text/htmlx", false},
        {"text/plain;a=\"x,text/html\"", false}, /* inside a quoted string */
        {"image/png ,, text/html ", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *a = cases[i].accept;
        bool got = errorpages_accepts_html(a, a ? strlen(a) : 0);
        if (got != cases[i].html)
            fail_msg("accepts_html(\"%s\") = %d, want %d", a ? a : "(none)", got,
                     cases[i].html);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_pages_and_ignore_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_replaces_the_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_reload_keeps_the_set, setup, teardown),
        cmocka_unit_test(test_accepts_html),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
