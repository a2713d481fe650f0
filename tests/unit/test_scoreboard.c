/* Unit tests for pool/scoreboard: publishing and reading records under their sequence locks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "pool/scoreboard.h"

static void test_request_round_trip_and_cut(void **state)
{
    (void)state;
    struct scoreboard_slot *s = scoreboard_map(1);
    assert_non_null(s);
    struct scoreboard_request r;
    assert_false(scoreboard_read_request(s, &r)); /* nothing published yet */
    scoreboard_publish_request(s, 7, "GET", 3, "/a?b=c", 6, 1234);
    assert_true(scoreboard_read_request(s, &r));
    assert_int_equal(r.seq, 7);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.uri, "/a?b=c");
    assert_false(r.uri_truncated);
    assert_int_equal(r.begin_usec, 1234);

    char uri[SCOREBOARD_URI_MAX + 10];
    memset(uri, 'x', sizeof uri);
    char method[40];
    memset(method, 'M', sizeof method);
    scoreboard_publish_request(s, 8, method, sizeof method, uri, sizeof uri, 5);
    assert_true(scoreboard_read_request(s, &r));
    assert_true(r.uri_truncated);
    assert_int_equal(strlen(r.uri), SCOREBOARD_URI_MAX - 1);
    assert_int_equal(strlen(r.method), SCOREBOARD_METHOD_MAX - 1);
    scoreboard_unmap(s, 1);
}

/* A record being written (odd counter) is never returned; the next writer repairs the lock. */
static void test_torn_record_is_refused_and_repaired(void **state)
{
    (void)state;
    struct scoreboard_slot *s = scoreboard_map(1);
    scoreboard_publish_request(s, 1, "GET", 3, "/", 1, 1);
    atomic_fetch_add(&s->request_gen, 1); /* a writer killed mid-write */
    struct scoreboard_request r;
    assert_false(scoreboard_read_request(s, &r));
    scoreboard_publish_request(s, 2, "POST", 4, "/b", 2, 2);
    assert_int_equal(atomic_load(&s->request_gen) % 2, 0);
    assert_true(scoreboard_read_request(s, &r));
    assert_int_equal(r.seq, 2);
    assert_string_equal(r.method, "POST");
    scoreboard_unmap(s, 1);
}

/* The mapping is shared with a child forked afterwards, as the workers are. */
static void test_child_publishes_parent_reads(void **state)
{
    (void)state;
    struct scoreboard_slot *s = scoreboard_map(2);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct scoreboard_opcache o = {.sampled_usec = 10, .enabled = true, .hits = 5};
        scoreboard_publish_opcache(&s[1], &o);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    struct scoreboard_opcache o;
    assert_false(scoreboard_read_opcache(&s[0], &o));
    assert_true(scoreboard_read_opcache(&s[1], &o));
    assert_true(o.enabled);
    assert_int_equal(o.hits, 5);
    scoreboard_unmap(s, 2);
}

static void test_latest_opcache_sample_wins(void **state)
{
    (void)state;
    struct scoreboard_slot *s = scoreboard_map(3);
    struct scoreboard_opcache o;
    assert_false(scoreboard_latest_opcache(s, 3, &o));
    scoreboard_publish_opcache(&s[0], &(struct scoreboard_opcache){.sampled_usec = 20, .hits = 1});
    scoreboard_publish_opcache(&s[2], &(struct scoreboard_opcache){.sampled_usec = 30, .hits = 2});
    scoreboard_publish_opcache(&s[1], &(struct scoreboard_opcache){.sampled_usec = 10, .hits = 3});
    assert_true(scoreboard_latest_opcache(s, 3, &o));
    assert_int_equal(o.hits, 2);
    assert_int_equal(o.sampled_usec, 30);
    scoreboard_unmap(s, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trip_and_cut),
        cmocka_unit_test(test_torn_record_is_refused_and_repaired),
        cmocka_unit_test(test_child_publishes_parent_reads),
        cmocka_unit_test(test_latest_opcache_sample_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
