/* Unit tests for obs/stats: every family registers, handles move the right series, scrape-time
   values, and the whole catalogue passes `promtool check metrics`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "promtool.h"

#include "obs/stats.h"

/* The rendered catalogue, NUL-terminated; the caller frees it with buf_free. */
static struct buf render(void)
{
    struct buf b = {0};
    stats_render(&b);
    buf_append_char(&b, '\0');
    return b;
}

static int setup(void **state)
{
    (void)state;
    return stats_init();
}

static int teardown(void **state)
{
    (void)state;
    stats_free();
    return 0;
}

/* No family is refused: init succeeds and every handle in struct stats is set. */
static void test_every_handle_registered(void **state)
{
    (void)state;
    const char *first = (const char *)&stats_global.requests;
    const char *end = (const char *)(&stats_global.memory_usage_percent + 1);
    for (const char *p = first; p < end; p += sizeof(void *)) {
        void *handle;
        memcpy(&handle, p, sizeof(handle));
        assert_non_null(handle);
    }
}

static void test_updates_before_init_are_ignored(void **state)
{
    (void)state;
    stats_free();
    stats_count_request("GET");
    stats_count_response(200, STATS_HTTP1, 5, 10);
    stats_count_tls_handshake(true);
    assert_int_equal(stats_total_requests(), 0);
    struct buf b = render();
    assert_string_equal(b.data, "");
    buf_free(&b);
    assert_int_equal(stats_init(), 0);
}

static void test_requests_and_responses(void **state)
{
    (void)state;
    stats_count_request("GET");
    stats_count_request("GET");
    stats_count_request("QUERY");
    stats_count_request(NULL);
    stats_count_response(204, STATS_HTTP2, 3, 0);
    stats_count_response(404, STATS_HTTP1, 1, 14);
    stats_count_response(101, STATS_HTTP1, 0, 0); /* outside 200..499: 5xx, as in the seed */
    assert_int_equal(stats_global.requests[STATS_GET]->value, 2);
    assert_int_equal(stats_global.requests[STATS_OTHER]->value, 2);
    assert_int_equal(stats_total_requests(), 4);
    assert_int_equal(stats_global.responses[STATS_2XX]->value, 1);
    assert_int_equal(stats_global.responses[STATS_4XX]->value, 1);
    assert_int_equal(stats_global.responses[STATS_5XX]->value, 1);
    assert_int_equal(stats_global.response_bytes->value, 14);
    struct buf b = render();
    assert_non_null(strstr(b.data, "kiln_requests_total{method=\"GET\"} 2\n"));
    assert_non_null(strstr(b.data, "kiln_request_duration_seconds_bucket{protocol=\"http2\","
                                   "le=\"0.005\"} 1\n"));
    assert_non_null(strstr(b.data, "kiln_request_duration_seconds_count{protocol=\"http1\"} 2\n"));
    buf_free(&b);
}

static void test_method_and_protocol_names(void **state)
{
    (void)state;
    static const char *const names[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_int_equal(stats_method_of(names[i]), (enum stats_method)i);
    assert_int_equal(stats_method_of("get"), STATS_OTHER);
    assert_int_equal(stats_method_of("CONNECT"), STATS_OTHER);
    assert_int_equal(stats_protocol_of("HTTP/2.0"), STATS_HTTP2);
    assert_int_equal(stats_protocol_of("HTTP/1.0"), STATS_HTTP1);
    assert_int_equal(stats_protocol_of("HTTP/1.1"), STATS_HTTP1);
}

static void test_labelled_counters(void **state)
{
    (void)state;
    stats_count_timeout(STATS_TIMEOUT_HEADER);
    stats_count_timeout(STATS_TIMEOUT_WRITE);
    metrics_counter_follow(stats_global.worker_restarts[STATS_RESTART_TIMED_OUT], 1);
    stats_count_tls_handshake(true);
    stats_count_tls_handshake(false);
    stats_count_tls_handshake(false);
    struct buf b = render();
    assert_non_null(strstr(b.data, "kiln_timeouts_total{kind=\"header\"} 1\n"));
    assert_non_null(strstr(b.data, "kiln_timeouts_total{kind=\"write\"} 1\n"));
    assert_non_null(strstr(b.data, "kiln_timeouts_total{kind=\"sse\"} 0\n"));
    assert_non_null(strstr(b.data, "kiln_worker_restarts_total{reason=\"timed_out\"} 1\n"));
    assert_non_null(strstr(b.data, "kiln_tls_handshakes_total 1\n"));
    assert_non_null(strstr(b.data, "kiln_tls_handshake_failures_total 2\n"));
    buf_free(&b);
}

static bool fake_node(struct stats_node *out)
{
    *out = (struct stats_node){.load = {0.5, 1.25, 2}, .mem_total = 1000, .mem_available = 250};
    return true;
}

static bool failing_node(struct stats_node *out)
{
    out->mem_total = 99; /* ignored: the reader failed */
    return false;
}

static void test_node_reader(void **state)
{
    (void)state;
    stats_set_node_reader(fake_node);
    struct buf b = render();
    assert_non_null(strstr(b.data, "\nnode_load5 1.25\n"));
    assert_non_null(strstr(b.data, "\nnode_memory_used_bytes 750\n"));
    assert_non_null(strstr(b.data, "\nkiln_memory_usage_percent 75\n"));
    buf_free(&b);
    stats_set_node_reader(failing_node);
    b = render();
    assert_non_null(strstr(b.data, "\nnode_memory_total_bytes 0\n"));
    assert_non_null(strstr(b.data, "\nkiln_memory_usage_percent 0\n"));
    buf_free(&b);
}

static void test_opcache(void **state)
{
    (void)state;
    struct stats_opcache o = {.memory_used = 4096, .memory_free = 1024, .hit_ratio = 0.5,
                              .cached_scripts = 7, .restarts = {1, 0, 3}};
    stats_set_opcache(&o);
    struct buf b = render();
    assert_non_null(strstr(b.data, "\nkiln_opcache_memory_used_bytes 4096\n"));
    assert_non_null(strstr(b.data, "\nkiln_opcache_hit_ratio 0.5\n"));
    assert_non_null(strstr(b.data, "kiln_opcache_restarts_total{reason=\"manual\"} 3\n"));
    buf_free(&b);
}

static void test_averages(void **state)
{
    (void)state;
    stats_count_response(200, STATS_HTTP1, 10, 0);
    stats_count_response(200, STATS_HTTP2, 30, 0);
    struct buf b = render();
    assert_non_null(strstr(b.data, "\nkiln_response_time_avg_seconds 0.02\n"));
    buf_free(&b);
}

/* The whole catalogue, with values in it, is a valid exposition with counters named as such. */
static void test_promtool(void **state)
{
    (void)state;
    stats_set_node_reader(fake_node);
    stats_count_request("POST");
    stats_count_response(503, STATS_HTTP1, 2500, 100);
    struct buf b = {0};
    stats_render(&b);
    int status = promtool_check(&b);
    buf_free(&b);
    assert_int_equal(status, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_every_handle_registered), T(test_updates_before_init_are_ignored),
        T(test_requests_and_responses),  T(test_method_and_protocol_names),
        T(test_labelled_counters),       T(test_node_reader),
        T(test_opcache),                 T(test_averages),
        T(test_promtool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
