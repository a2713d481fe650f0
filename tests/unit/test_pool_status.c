/* Unit tests for pool/status: the /workers JSON for fixed snapshots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>

#include <cmocka.h>

#include "pool/status.h"

static void assert_json(const struct pool_worker_info *w, size_t n, const char *expected)
{
    struct buf b = {0};
    pool_status_workers_json(w, n, &b);
    buf_append_char(&b, '\0');
    assert_string_equal(b.data, expected);
    buf_free(&b);
}

static void test_no_workers(void **state)
{
    (void)state;
    assert_json(NULL, 0, "{\"workers\":[]}");
}

static void test_busy_idle_and_starting(void **state)
{
    (void)state;
    struct pool_worker_info w[3] = {
        {.id = 0, .pid = 1234, .state = POOL_WORKER_BUSY, .spawned_usec = 1767225600123456,
         .served = 17, .worker_mode = true, .rss_bytes = 31457280, .private_bytes = 9437184,
         .has_request = true, .request_known = true,
         .request = {.seq = 9, .begin_usec = 1767225601456000, .method = "GET",
                     .uri = "/a?q=\"x\""},
         .last_exit = POOL_EXIT_CRASHED, .last_exit_status = SIGSEGV},
        {.id = 1, .pid = 1235, .state = POOL_WORKER_IDLE, .spawned_usec = 1767225600000000,
         .last_exit = POOL_EXIT_RECYCLED, .last_exit_status = 3 << 8},
        {.id = 2, .state = POOL_WORKER_STARTING, .last_exit = POOL_EXIT_TIMED_OUT,
         .last_exit_status = -1},
    };
    assert_json(w, 3,
                "{\"workers\":["
                "{\"id\":0,\"pid\":1234,\"state\":\"busy\",\"started\":1767225600.123,"
                "\"requests\":17,\"mode\":\"worker\",\"rss_bytes\":31457280,"
                "\"private_bytes\":9437184,"
                "\"request\":{\"method\":\"GET\",\"uri\":\"/a?q=\\\"x\\\"\","
                "\"uri_truncated\":false,\"started\":1767225601.456},"
                "\"last_exit\":{\"reason\":\"crashed\",\"status\":\"signal 11\"}},"
                "{\"id\":1,\"pid\":1235,\"state\":\"idle\",\"started\":1767225600.000,"
                "\"requests\":0,\"mode\":\"classic\",\"rss_bytes\":null,\"private_bytes\":null,"
                "\"request\":null,"
                "\"last_exit\":{\"reason\":\"recycled\",\"status\":\"exit 3\"}},"
                "{\"id\":2,\"pid\":null,\"state\":\"starting\",\"started\":null,"
                "\"requests\":0,\"mode\":\"classic\",\"rss_bytes\":null,\"private_bytes\":null,"
                "\"request\":null,"
                "\"last_exit\":{\"reason\":\"timed_out\",\"status\":null}}]}");
}

/* A job just sent: the worker has not published it, so method and URI are unknown. */
static void test_request_not_yet_published(void **state)
{
    (void)state;
    struct pool_worker_info w = {.id = 3, .pid = 7, .state = POOL_WORKER_BUSY,
                                 .spawned_usec = 1000, .has_request = true,
                                 .request = {.seq = 4, .begin_usec = 2500000},
                                 .last_exit_status = -1};
    assert_json(&w, 1,
                "{\"workers\":[{\"id\":3,\"pid\":7,\"state\":\"busy\",\"started\":0.001,"
                "\"requests\":0,\"mode\":\"classic\",\"rss_bytes\":null,\"private_bytes\":null,"
                "\"request\":{\"method\":null,\"uri\":null,"
                "\"uri_truncated\":false,\"started\":2.500},\"last_exit\":null}]}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_workers),
        cmocka_unit_test(test_busy_idle_and_starting),
        cmocka_unit_test(test_request_not_yet_published),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
