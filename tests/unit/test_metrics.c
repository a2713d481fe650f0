/* Unit tests for obs/metrics: exact exposition text, escaping, histograms, registration rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "promtool.h"

#include "obs/metrics.h"

static const double duration_buckets[] = {0.005, 0.5};

/* The rendered registry, NUL-terminated; the caller frees it with buf_free. */
static struct buf render(const struct metrics_registry *r)
{
    struct buf b = {0};
    metrics_render(r, &b);
    buf_append_char(&b, '\0');
    return b;
}

/* A registry with one family of each kind, updated the way the server would. */
static struct metrics_registry *sample_registry(void)
{
    struct metrics_registry *r = metrics_new();
    struct metrics_family *requests = metrics_register(
        r, METRICS_COUNTER,
        &(struct metrics_desc){.name = "kiln_requests_total", .help = "Requests by method.",
                               .labels = {"method"}, .nlabels = 1});
    struct metrics_counter *get = metrics_counter_at(requests, (const char *[]){"GET"});
    struct metrics_counter *post = metrics_counter_at(requests, (const char *[]){"POST"});
    metrics_counter_add(get, 2);
    metrics_counter_inc(get);
    metrics_counter_inc(post);

    struct metrics_family *active = metrics_register(
        r, METRICS_GAUGE,
        &(struct metrics_desc){.name = "kiln_active_connections", .help = "Open connections."});
    struct metrics_gauge *conns = metrics_gauge_at(active, NULL);
    metrics_gauge_add(conns, 3);
    metrics_gauge_add(conns, -1);

    struct metrics_family *duration = metrics_register(
        r, METRICS_HISTOGRAM,
        &(struct metrics_desc){.name = "kiln_request_duration_seconds",
                               .help = "Request duration.", .labels = {"protocol"},
                               .nlabels = 1, .buckets = duration_buckets, .nbuckets = 2});
    struct metrics_histogram *h1 = metrics_histogram_at(duration, (const char *[]){"h1"});
    metrics_histogram_observe(h1, 0.00390625);
    metrics_histogram_observe(h1, 0.5); /* a bound is inclusive: le="0.5" */
    metrics_histogram_observe(h1, 2);
    metrics_histogram_at(duration, (const char *[]){"h2"});
    return r;
}

static void test_exact_output(void **state)
{
    (void)state;
    struct metrics_registry *r = sample_registry();
    struct buf b = render(r);
    assert_string_equal(b.data,
                        "# HELP kiln_requests_total Requests by method.\n"
                        "# TYPE kiln_requests_total counter\n"
                        "kiln_requests_total{method=\"GET\"} 3\n"
                        "kiln_requests_total{method=\"POST\"} 1\n"
                        "\n"
                        "# HELP kiln_active_connections Open connections.\n"
                        "# TYPE kiln_active_connections gauge\n"
                        "kiln_active_connections 2\n"
                        "\n"
                        "# HELP kiln_request_duration_seconds Request duration.\n"
                        "# TYPE kiln_request_duration_seconds histogram\n"
                        "kiln_request_duration_seconds_bucket{protocol=\"h1\",le=\"0.005\"} 1\n"
                        "kiln_request_duration_seconds_bucket{protocol=\"h1\",le=\"0.5\"} 2\n"
                        "kiln_request_duration_seconds_bucket{protocol=\"h1\",le=\"+Inf\"} 3\n"
                        "kiln_request_duration_seconds_sum{protocol=\"h1\"} 2.50390625\n"
                        "kiln_request_duration_seconds_count{protocol=\"h1\"} 3\n"
                        "kiln_request_duration_seconds_bucket{protocol=\"h2\",le=\"0.005\"} 0\n"
                        "kiln_request_duration_seconds_bucket{protocol=\"h2\",le=\"0.5\"} 0\n"
                        "kiln_request_duration_seconds_bucket{protocol=\"h2\",le=\"+Inf\"} 0\n"
                        "kiln_request_duration_seconds_sum{protocol=\"h2\"} 0\n"
                        "kiln_request_duration_seconds_count{protocol=\"h2\"} 0\n");
    buf_free(&b);
    metrics_free(r);
}

static void test_escaping(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_new();
    struct metrics_family *f = metrics_register(
        r, METRICS_COUNTER,
        &(struct metrics_desc){.name = "kiln_odd_total", .help = "Back\\slash, \"quote\"\nnewline.",
                               .labels = {"path", "x"}, .nlabels = 2});
    metrics_counter_inc(metrics_counter_at(f, (const char *[]){"a\\b\"c\nd", "caf\xc3\xa9"}));
    struct buf b = render(r);
    assert_string_equal(b.data, "# HELP kiln_odd_total Back\\\\slash, \"quote\"\\nnewline.\n"
                                "# TYPE kiln_odd_total counter\n"
                                "kiln_odd_total{path=\"a\\\\b\\\"c\\nd\",x=\"caf\xc3\xa9\"} 1\n");
    buf_free(&b);
    metrics_free(r);
}

static void test_histogram_cumulative(void **state)
{
    (void)state;
    static const double bounds[] = {0.001, 0.01, 0.1, 1, 10};
    struct metrics_registry *r = metrics_new();
    struct metrics_family *f = metrics_register(
        r, METRICS_HISTOGRAM,
        &(struct metrics_desc){.name = "kiln_wait_seconds", .help = "Wait.", .buckets = bounds,
                               .nbuckets = 5});
    struct metrics_histogram *h = metrics_histogram_at(f, NULL);
    /* 1 at 0, 2 at 0.5 (<= 1), 3 at exactly 10, 4 above every bound. */
    static const double seen[] = {0, 0.5, 0.5, 10, 10, 10, 11, 100, 1e9, 1e300};
    for (size_t i = 0; i < sizeof(seen) / sizeof(seen[0]); i++)
        metrics_histogram_observe(h, seen[i]);
    struct buf b = render(r);
    assert_non_null(strstr(b.data, "kiln_wait_seconds_bucket{le=\"0.001\"} 1\n"
                                   "kiln_wait_seconds_bucket{le=\"0.01\"} 1\n"
                                   "kiln_wait_seconds_bucket{le=\"0.1\"} 1\n"
                                   "kiln_wait_seconds_bucket{le=\"1\"} 3\n"
                                   "kiln_wait_seconds_bucket{le=\"10\"} 6\n"
                                   "kiln_wait_seconds_bucket{le=\"+Inf\"} 10\n"
                                   "kiln_wait_seconds_sum 1e+300\n"
                                   "kiln_wait_seconds_count 10\n"));
    buf_free(&b);
    metrics_free(r);
}

static void test_sum_and_no_buckets(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_new();
    struct metrics_family *f = metrics_register(
        r, METRICS_HISTOGRAM, &(struct metrics_desc){.name = "kiln_php_seconds", .help = "PHP."});
    struct metrics_histogram *h = metrics_histogram_at(f, NULL);
    for (int i = 0; i < 8; i++)
        metrics_histogram_observe(h, 0.125);
    assert_true(h->sum == 1.0);
    struct buf b = render(r);
    assert_string_equal(b.data, "# HELP kiln_php_seconds PHP.\n"
                                "# TYPE kiln_php_seconds histogram\n"
                                "kiln_php_seconds_bucket{le=\"+Inf\"} 8\n"
                                "kiln_php_seconds_sum 1\n"
                                "kiln_php_seconds_count 8\n");
    buf_free(&b);
    metrics_free(r);
}

static void test_gauge_values(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0, "0"},          {3, "3"},         {-2.5, "-2.5"},         {0.1, "0.1"},
        {1e-9, "1e-09"},   {123.456, "123.456"}, {1.0 / 3, "0.3333333333333333"},
        {1e21, "1e+21"},   {INFINITY, "+Inf"}, {-INFINITY, "-Inf"}, {NAN, "NaN"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct metrics_registry *r = metrics_new();
        struct metrics_family *f = metrics_register(
            r, METRICS_GAUGE, &(struct metrics_desc){.name = "g", .help = "h"});
        metrics_gauge_set(metrics_gauge_at(f, NULL), cases[i].v);
        struct buf b = render(r);
        char want[128];
        snprintf(want, sizeof(want), "# HELP g h\n# TYPE g gauge\ng %s\n", cases[i].text);
        assert_string_equal(b.data, want);
        buf_free(&b);
        metrics_free(r);
    }
}

static void test_series_handles(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_new();
    struct metrics_family *f = metrics_register(
        r, METRICS_COUNTER,
        &(struct metrics_desc){.name = "kiln_responses_total", .help = "By status.",
                               .labels = {"status"}, .nlabels = 1});
    struct metrics_counter *a = metrics_counter_at(f, (const char *[]){"2xx"});
    assert_non_null(a);
    /* Many more series: earlier handles stay valid and the same values give the same handle. */
    char name[16];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        assert_non_null(metrics_counter_at(f, (const char *[]){name}));
    }
    assert_ptr_equal(metrics_counter_at(f, (const char *[]){"2xx"}), a);
    metrics_counter_inc(a);
    assert_int_equal(a->value, 1);
    /* The wrong type, or missing label values, give no handle. */
    assert_null(metrics_gauge_at(f, (const char *[]){"2xx"}));
    assert_null(metrics_histogram_at(f, (const char *[]){"2xx"}));
    assert_null(metrics_counter_at(f, NULL));
    assert_null(metrics_counter_at(f, (const char *[]){NULL}));
    assert_null(metrics_counter_at(NULL, NULL));
    metrics_free(r);
}

static void test_registration_refusals(void **state)
{
    (void)state;
    static const double decreasing[] = {1, 0.5};
    static const double equal[] = {1, 1};
    static const double infinite[] = {1, INFINITY};
    double many[METRICS_MAX_BUCKETS + 1];
    for (size_t i = 0; i < METRICS_MAX_BUCKETS + 1; i++)
        many[i] = (double)i; /* increasing, but one too many */
    struct metrics_registry *r = metrics_new();
    const struct {
        enum metrics_type type;
        struct metrics_desc d;
    } bad[] = {
        {METRICS_COUNTER, {.name = "kiln_requests", .help = "no _total"}},
        {METRICS_GAUGE, {.name = "", .help = "empty"}},
        {METRICS_GAUGE, {.name = "9lives", .help = "digit first"}},
        {METRICS_GAUGE, {.name = "kiln-bad", .help = "dash"}},
        {METRICS_GAUGE, {.name = NULL, .help = "none"}},
        {METRICS_GAUGE, {.name = "kiln_no_help", .help = NULL}},
        {METRICS_GAUGE, {.name = "kiln_g", .help = "h", .labels = {"a:b"}, .nlabels = 1}},
        {METRICS_GAUGE, {.name = "kiln_g", .help = "h", .labels = {"__x"}, .nlabels = 1}},
        {METRICS_GAUGE, {.name = "kiln_g", .help = "h", .labels = {"a", "a"}, .nlabels = 2}},
        {METRICS_GAUGE, {.name = "kiln_g", .help = "h", .labels = {"a"}, .nlabels = 4}},
        {METRICS_GAUGE, {.name = "kiln_g", .help = "h", .buckets = equal, .nbuckets = 2}},
        {METRICS_HISTOGRAM, {.name = "kiln_h", .help = "h", .labels = {"le"}, .nlabels = 1}},
        {METRICS_HISTOGRAM, {.name = "kiln_h", .help = "h", .buckets = decreasing, .nbuckets = 2}},
        {METRICS_HISTOGRAM, {.name = "kiln_h", .help = "h", .buckets = equal, .nbuckets = 2}},
        {METRICS_HISTOGRAM, {.name = "kiln_h", .help = "h", .buckets = infinite, .nbuckets = 2}},
        {METRICS_HISTOGRAM,
         {.name = "kiln_h", .help = "h", .buckets = many, .nbuckets = METRICS_MAX_BUCKETS + 1}},
        {METRICS_HISTOGRAM, {.name = "kiln_h", .help = "h", .buckets = NULL, .nbuckets = 1}},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (metrics_register(r, bad[i].type, &bad[i].d))
            fail_msg("registered bad family %zu (%s)", i, bad[i].d.name ? bad[i].d.name : "NULL");

    const struct metrics_desc ok = {.name = "kiln:ok_total", .help = "", .labels = {"a", "b_2"},
                                    .nlabels = 2};
    assert_non_null(metrics_register(r, METRICS_COUNTER, &ok));
    assert_null(metrics_register(r, METRICS_COUNTER, &ok)); /* a name is registered once */
    assert_null(metrics_register(r, (enum metrics_type)7, &(struct metrics_desc){.name = "x", .help = ""}));
    struct buf b = render(r);
    assert_string_equal(b.data, "# HELP kiln:ok_total \n# TYPE kiln:ok_total counter\n");
    buf_free(&b);
    metrics_free(r);
}

/* `promtool check metrics` on the sample (Debian's prometheus, installed by install-deps.sh). */
static void test_promtool(void **state)
{
    (void)state;
    struct metrics_registry *r = sample_registry();
    struct buf b = {0};
    metrics_render(r, &b);
    int status = promtool_check(&b);
    buf_free(&b);
    metrics_free(r);
    assert_int_equal(status, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_output),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_sum_and_no_buckets),
        cmocka_unit_test(test_gauge_values),
        cmocka_unit_test(test_series_handles),
        cmocka_unit_test(test_registration_refusals),
        cmocka_unit_test(test_promtool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
