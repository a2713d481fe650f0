/* Unit tests of the compressed static file cache (src/middleware/zcache.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "middleware/zcache.h"

static struct zcache_key key(const char *path, int coding, int64_t size, time_t mtime)
{
    return (struct zcache_key){path, coding, size, {mtime, 0}};
}

static void test_get_after_put_and_key_parts(void **state)
{
    (void)state;
    struct zcache *z = zcache_create(1024);
    struct zcache_key k = key("/a.js", 1, 100, 5);
    zcache_put(z, &k, "abc", 3);
    size_t len;
    const char *v = zcache_get(z, &k, &len);
    assert_non_null(v);
    assert_int_equal(len, 3);
    assert_memory_equal(v, "abc", 3);
    struct zcache_key other_coding = key("/a.js", 2, 100, 5);
    struct zcache_key changed = key("/a.js", 1, 100, 6);
    struct zcache_key resized = key("/a.js", 1, 101, 5);
    struct zcache_key other_path = key("/b.js", 1, 100, 5);
    assert_null(zcache_get(z, &other_coding, &len));
    assert_null(zcache_get(z, &changed, &len));
    assert_null(zcache_get(z, &resized, &len));
    assert_null(zcache_get(z, &other_path, &len));
    zcache_destroy(z);
}

static void test_budget_evicts_least_recently_used(void **state)
{
    (void)state;
    struct zcache *z = zcache_create(10);
    struct zcache_key a = key("/a", 1, 1, 1), b = key("/b", 1, 1, 1), c = key("/c", 1, 1, 1);
    size_t len;
    zcache_put(z, &a, "aaaa", 4);
    zcache_put(z, &b, "bbbb", 4);
    assert_non_null(zcache_get(z, &a, &len)); /* a is now the most recent */
    zcache_put(z, &c, "cccc", 4);             /* 12 > 10: b goes */
    assert_null(zcache_get(z, &b, &len));
    assert_non_null(zcache_get(z, &a, &len));
    assert_non_null(zcache_get(z, &c, &len));
    assert_int_equal(zcache_bytes(z), 8);
    zcache_put(z, &b, "01234567890", 11); /* larger than the whole budget: not kept */
    assert_null(zcache_get(z, &b, &len));
    assert_int_equal(zcache_bytes(z), 8);
    zcache_destroy(z);
}

static void test_zero_budget_means_no_cache(void **state)
{
    (void)state;
    struct zcache *z = zcache_create(0);
    assert_null(z);
    struct zcache_key a = key("/a", 1, 1, 1);
    size_t len;
    zcache_put(z, &a, "x", 1);
    assert_null(zcache_get(z, &a, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_after_put_and_key_parts),
        cmocka_unit_test(test_budget_evicts_least_recently_used),
        cmocka_unit_test(test_zero_budget_means_no_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
