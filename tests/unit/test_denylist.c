#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "denylist.h"

static void parses_entries_and_drops_one_trailing_slash(void **state)
{
    (void)state;
    struct denylist d;
    assert_int_equal(denylist_parse(" /data/ , /conf,/install.php", &d), 0);
    assert_int_equal(d.count, 3);
    assert_string_equal(d.path[0], "/data");
    assert_int_equal(d.len[0], 5);
    assert_string_equal(d.path[1], "/conf");
    assert_string_equal(d.path[2], "/install.php");
    assert_int_equal(denylist_parse("", &d), 0);
    assert_int_equal(d.count, 0);
}

static void refuses_what_no_normalised_path_can_be(void **state)
{
    (void)state;
    struct denylist d;
    const char *bad[] = {"/", "data", "/a//b", "/a/./b", "/a/../b", "/..", "/.", "/a\\b",
                         "/data,", ",/data", "/data//", "/a,,/b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(denylist_parse(bad[i], &d), -1);
    char many[DENYLIST_MAX * 4 + 8] = "";
    for (int i = 0; i <= DENYLIST_MAX; i++)
        strcat(many, i ? ",/x" : "/x");
    assert_int_equal(denylist_parse(many, &d), -1);
    char longest[DENYLIST_PATH_MAX + 2];
    memset(longest, 'a', sizeof longest - 1);
    longest[0] = '/';
    longest[sizeof longest - 1] = '\0';
    assert_int_equal(denylist_parse(longest, &d), -1);
    longest[DENYLIST_PATH_MAX - 1] = '\0';
    assert_int_equal(denylist_parse(longest, &d), 0);
}

static void matches_the_entry_and_below_only(void **state)
{
    (void)state;
    struct denylist d;
    assert_int_equal(denylist_parse("/data,/conf/sub", &d), 0);
    assert_true(denylist_match(&d, "/data"));
    assert_true(denylist_match(&d, "/data/"));
    assert_true(denylist_match(&d, "/data/pages/start.txt"));
    assert_true(denylist_match(&d, "/conf/sub/x.php"));
    assert_false(denylist_match(&d, "/database.php"));
    assert_false(denylist_match(&d, "/Data/x"));
    assert_false(denylist_match(&d, "/lib/data/x"));
    assert_false(denylist_match(&d, "/conf/users.auth.php"));
    assert_false(denylist_match(&d, "/"));
    assert_false(denylist_match(NULL, "/data"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_entries_and_drops_one_trailing_slash),
        cmocka_unit_test(refuses_what_no_normalised_path_can_be),
        cmocka_unit_test(matches_the_entry_and_below_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
