/* Unit tests for http/static_file: validators, conditional requests, Range and If-Range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/static_file.h"

/* The seed's example: size 1024, mtime 1705322445. */
#define SIZE 1024
#define MTIME 1705322445
#define ETAG "\"400-65a527cd\""
#define LAST_MODIFIED "Mon, 15 Jan 2024 12:40:45 GMT"
#define EARLIER "Mon, 15 Jan 2024 12:40:44 GMT"
#define LATER "Tue, 16 Jan 2024 12:40:45 GMT"

#define HDR(s) ((struct static_hdr){(s), sizeof(s) - 1})

static struct static_plan plan_for(off_t size, const struct static_request *req)
{
    struct static_plan plan;
    memset(&plan, 0xAA, sizeof(plan));
    static_plan(size, MTIME, req, &plan);
    return plan;
}

static void assert_plan(const struct static_request *req, int status, off_t offset,
                        off_t length)
{
    struct static_plan plan = plan_for(SIZE, req);
    assert_int_equal(plan.status, status);
    assert_int_equal(plan.offset, offset);
    assert_int_equal(plan.length, length);
    /* The validators are filled whatever the status. */
    assert_string_equal(plan.etag, ETAG);
    assert_string_equal(plan.last_modified, LAST_MODIFIED);
}

static void assert_full(const struct static_request *req)
{
    assert_plan(req, 200, 0, SIZE);
}

static void assert_not_modified(const struct static_request *req)
{
    assert_plan(req, 304, 0, 0);
}

static void test_etag_format(void **state)
{
    (void)state;
    char etag[STATIC_ETAG_MAX];
    static_etag(1024, 1705322445, etag);
    assert_string_equal(etag, "\"400-65a527cd\"");
    static_etag(0, 0, etag);
    assert_string_equal(etag, "\"0-0\"");
    static_etag((off_t)INT64_MAX, (time_t)INT64_MAX, etag);
    assert_string_equal(etag, "\"7fffffffffffffff-7fffffffffffffff\"");
}

static void test_plain_get(void **state)
{
    (void)state;
    struct static_request req = {0};
    assert_full(&req);

    struct static_plan empty = plan_for(0, &req);
    assert_int_equal(empty.status, 200);
    assert_int_equal(empty.length, 0);
}

static void test_if_none_match(void **state)
{
    (void)state;
    struct static_request req = {0};

    req.if_none_match = HDR(ETAG);
    assert_not_modified(&req);
    req.if_none_match = HDR(" " ETAG "\t");
    assert_not_modified(&req);
    req.if_none_match = HDR("W/" ETAG); /* weak comparison ignores W/ */
    assert_not_modified(&req);
    req.if_none_match = HDR("*");
    assert_not_modified(&req);
    req.if_none_match = HDR(" * ");
    assert_not_modified(&req);

    req.if_none_match = HDR("\"400-65a527ce\"");
    assert_full(&req);
    req.if_none_match = HDR("400-65a527cd"); /* unquoted: not an entity-tag */
    assert_full(&req);
    req.if_none_match = HDR("w/" ETAG);      /* the weak prefix is case-sensitive */
    assert_full(&req);
    req.if_none_match = HDR("\"400-65a527cd");
    assert_full(&req);
    req.if_none_match = HDR("");
    assert_full(&req);
}

static void test_if_none_match_list(void **state)
{
    (void)state;
    struct static_request req = {0};

    req.if_none_match = HDR("\"a\", " ETAG);
    assert_not_modified(&req);
    req.if_none_match = HDR("\"a\"," ETAG ",\"b\"");
    assert_not_modified(&req);
    req.if_none_match = HDR("W/\"a\" , W/" ETAG);
    assert_not_modified(&req);
    req.if_none_match = HDR(", ,\"a\",," ETAG); /* empty list elements are allowed */
    assert_not_modified(&req);

    req.if_none_match = HDR("\"a\", \"b\", W/\"c\"");
    assert_full(&req);
    req.if_none_match = HDR("\"a\", *"); /* "*" only stands alone */
    assert_full(&req);
    req.if_none_match = HDR("\"a\" junk, " ETAG); /* malformed list matches nothing */
    assert_full(&req);
    req.if_none_match = HDR("\"a\"" ETAG); /* tags need a comma between them */
    assert_full(&req);
}

static void test_if_modified_since(void **state)
{
    (void)state;
    struct static_request req = {0};

    req.if_modified_since = HDR(LAST_MODIFIED);
    assert_not_modified(&req);
    req.if_modified_since = HDR(LATER);
    assert_not_modified(&req);
    req.if_modified_since = HDR("Monday, 15-Jan-24 12:40:45 GMT");
    assert_not_modified(&req);

    req.if_modified_since = HDR(EARLIER);
    assert_full(&req);
    req.if_modified_since = HDR("yesterday");
    assert_full(&req);
    req.if_modified_since = HDR("Mon, 15 Jan 2024 12:40:45 GMT; length=1024");
    assert_full(&req);
}

static void test_if_none_match_wins_over_if_modified_since(void **state)
{
    (void)state;
    struct static_request req = {0};

    req.if_none_match = HDR("\"other\"");
    req.if_modified_since = HDR(LATER);
    assert_full(&req);

    req.if_none_match = HDR(ETAG);
    req.if_modified_since = HDR(EARLIER);
    assert_not_modified(&req);
}

static void test_range(void **state)
{
    (void)state;
    struct static_request req = {0};

    req.range = HDR("bytes=0-99");
    assert_plan(&req, 206, 0, 100);
    req.range = HDR("bytes=1000-");
    assert_plan(&req, 206, 1000, 24);
    req.range = HDR("bytes=-24");
    assert_plan(&req, 206, 1000, 24);
    req.range = HDR("bytes=100-5000");
    assert_plan(&req, 206, 100, 924);

    req.range = HDR("bytes=1024-");
    assert_plan(&req, 416, 0, 0);
    req.range = HDR("bytes=-0");
    assert_plan(&req, 416, 0, 0);

    req.range = HDR("bytes=5-2");
    assert_full(&req);
    req.range = HDR("bytes=0-1,5-6");
    assert_full(&req);
}

static void test_range_on_empty_file(void **state)
{
    (void)state;
    struct static_request req = {.range = HDR("bytes=0-")};
    struct static_plan plan = plan_for(0, &req);
    assert_int_equal(plan.status, 416);
    assert_int_equal(plan.length, 0);
}

static void test_not_modified_comes_before_range(void **state)
{
    (void)state;
    struct static_request req = {.if_none_match = HDR(ETAG), .range = HDR("bytes=0-9")};
    assert_not_modified(&req);
    req.range = HDR("bytes=5000-");
    assert_not_modified(&req);
}

static void test_if_range(void **state)
{
    (void)state;
    struct static_request req = {.range = HDR("bytes=0-9")};

    req.if_range = HDR(ETAG);
    assert_plan(&req, 206, 0, 10);
    req.if_range = HDR(" " ETAG " ");
    assert_plan(&req, 206, 0, 10);
    req.if_range = HDR(LAST_MODIFIED);
    assert_plan(&req, 206, 0, 10);

    req.if_range = HDR("\"400-65a527ce\"");
    assert_full(&req);
    req.if_range = HDR("W/" ETAG); /* strong comparison: a weak tag never matches */
    assert_full(&req);
    req.if_range = HDR(ETAG "x");
    assert_full(&req);
    req.if_range = HDR(EARLIER);
    assert_full(&req);
    req.if_range = HDR(LATER); /* If-Range wants equality, not "not modified since" */
    assert_full(&req);
    req.if_range = HDR("garbage");
    assert_full(&req);

    /* A mismatching If-Range also turns a would-be 416 into a full 200. */
    req.range = HDR("bytes=5000-");
    req.if_range = HDR("\"old\"");
    assert_full(&req);

    /* If-Range without Range changes nothing. */
    struct static_request only_if_range = {.if_range = HDR(ETAG)};
    assert_full(&only_if_range);
}

static void test_head_does_not_change_the_plan(void **state)
{
    (void)state;
    const struct static_request variants[] = {
        {0},
        {.if_none_match = HDR(ETAG)},
        {.if_modified_since = HDR(EARLIER)},
        {.range = HDR("bytes=0-9")},
        {.range = HDR("bytes=5000-")},
        {.range = HDR("bytes=0-9"), .if_range = HDR("\"old\"")},
    };
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        struct static_request head = variants[i];
        head.is_head = true;
        struct static_plan get_plan = plan_for(SIZE, &variants[i]);
        struct static_plan head_plan = plan_for(SIZE, &head);
        assert_int_equal(head_plan.status, get_plan.status);
        assert_int_equal(head_plan.offset, get_plan.offset);
        assert_int_equal(head_plan.length, get_plan.length);
        assert_string_equal(head_plan.etag, get_plan.etag);
        assert_string_equal(head_plan.last_modified, get_plan.last_modified);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_etag_format),
        cmocka_unit_test(test_plain_get),
        cmocka_unit_test(test_if_none_match),
        cmocka_unit_test(test_if_none_match_list),
        cmocka_unit_test(test_if_modified_since),
        cmocka_unit_test(test_if_none_match_wins_over_if_modified_since),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_range_on_empty_file),
        cmocka_unit_test(test_not_modified_comes_before_range),
        cmocka_unit_test(test_if_range),
        cmocka_unit_test(test_head_does_not_change_the_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
