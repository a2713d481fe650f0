/*
 * Unit tests for text: the string view, trimming and the comma-list walker the setting and
 * header parsers share.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

static void test_str_of_a_c_string(void **state)
{
    (void)state;
    struct str s = text_str("kiln");
    assert_int_equal(s.len, 4);
    assert_memory_equal(s.ptr, "kiln", 4);
    s = text_str("");
    assert_non_null(s.ptr);
    assert_int_equal(s.len, 0);
    s = text_str(NULL);
    assert_null(s.ptr);
    assert_int_equal(s.len, 0);
}

static void test_trim_spaces_and_tabs_only(void **state)
{
    (void)state;
    const char *in = " \t a b\t \r";
    size_t len = strlen(in);
    const char *s = text_trim(in, &len);
    assert_int_equal(len, strlen("a b\t \r"));
    assert_memory_equal(s, "a b\t \r", len); /* CR is not OWS */
    len = 3;
    s = text_trim("   ", &len);
    assert_int_equal(len, 0);
}

static void test_list_walks_trimmed_entries(void **state)
{
    (void)state;
    const char *list = " br , ,gzip";
    const char *pos = list, *end = list + strlen(list), *entry;
    size_t len;
    assert_true(text_list_next(&pos, end, &entry, &len));
    assert_int_equal(len, 2);
    assert_memory_equal(entry, "br", 2);
    assert_true(text_list_next(&pos, end, &entry, &len));
    assert_int_equal(len, 0); /* empty entries are returned, for the caller to refuse */
    assert_true(text_list_next(&pos, end, &entry, &len));
    assert_int_equal(len, 4);
    assert_memory_equal(entry, "gzip", 4);
    assert_false(text_list_next(&pos, end, &entry, &len));
}

static void test_control_characters(void **state)
{
    (void)state;
    assert_false(text_has_control("a b\xc3\xa9~", 6)); /* space, UTF-8 and ~ are not */
    assert_true(text_has_control("a\tb", 3));
    assert_true(text_has_control("a\x7f", 2));
    assert_true(text_has_control("ab\0", 3)); /* the length decides, not a NUL */
    assert_false(text_has_control("ab\n", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_of_a_c_string),
        cmocka_unit_test(test_trim_spaces_and_tabs_only),
        cmocka_unit_test(test_list_walks_trimmed_entries),
        cmocka_unit_test(test_control_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
