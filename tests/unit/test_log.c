/* obs/log: a stdout that nobody reads never blocks logging; the lost lines are counted. Lines
   about a request, data members, and lines made in a worker and queued by the master. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "obs/log.h"

/* Reads whatever the pipe holds now into out (appending); returns the bytes read. */
static size_t drain(int fd, char *out, size_t *used, size_t cap)
{
    size_t total = 0;
    ssize_t r;
    char tmp[65536];
    while ((r = read(fd, tmp, sizeof(tmp))) > 0) {
        size_t keep = *used + (size_t)r < cap ? (size_t)r : cap - *used;
        memcpy(out + *used, tmp, keep);
        *used += keep;
        total += (size_t)r;
    }
    return total;
}

static void test_slow_stdout_never_blocks(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe2(p, O_NONBLOCK), 0);
    int saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    /* The write end stays blocking, like a real stdout: only the reader is non-blocking. */
    assert_int_equal(fcntl(p[1], F_SETFL, 0), 0);
    assert_int_equal(dup2(p[1], STDOUT_FILENO), STDOUT_FILENO);
    log_init(LOG_LEVEL_INFO, "test");

    alarm(10); /* a blocking write would hang the test: fail it instead */
    for (int i = 0; i < 20000; i++)
        log_info("line %d of a burst that no one reads, padded to be long enough", i);
    alarm(0);

    /* The reader catches up: the queue drains and the drop count is reported. */
    static char got[8 << 20];
    size_t used = 0;
    for (int i = 0; i < 100; i++) {
        drain(p[0], got, &used, sizeof(got) - 1);
        log_flush();
    }
    drain(p[0], got, &used, sizeof(got) - 1);
    got[used] = '\0';

    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(p[0]);
    close(p[1]);

    assert_non_null(strstr(got, "line 0 of a burst"));
    assert_null(strstr(got, "line 19999 of a burst")); /* dropped: the queue was full */
    const char *report = strstr(got, "lines dropped (stdout too slow)");
    assert_non_null(report);
    assert_non_null(strstr(got, "\"level\":\"warn\",\"type\":\"app\",\"msg\":\"log: "));
    /* Every line that arrived is whole. */
    for (const char *line = got; *line; line = strchr(line, '\n') + 1) {
        assert_memory_equal(line, "{\"ts\":", 6);
        assert_non_null(strchr(line, '\n'));
    }
}

/* Runs fn with stdout on a pipe and returns what it wrote (static storage). */
static const char *capture(void (*fn)(void))
{
    int p[2];
    assert_int_equal(pipe2(p, O_NONBLOCK), 0);
    int saved = dup(STDOUT_FILENO);
    assert_int_equal(dup2(p[1], STDOUT_FILENO), STDOUT_FILENO);
    fn();
    log_flush();
    static char got[65536];
    size_t used = 0;
    drain(p[0], got, &used, sizeof(got) - 1);
    got[used] = '\0';
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(p[0]);
    close(p[1]);
    return got;
}

static void test_format_with_ids_and_data(void **state)
{
    (void)state;
    log_init(LOG_LEVEL_INFO, "svc");
    struct buf data = {0};
    log_member_str(&data, "script", "/www/a.php", 10);
    log_member_int(&data, "line", 7);
    log_member_bool(&data, "ok", false);
    assert_int_equal(data.len, strlen("\"script\":\"/www/a.php\",\"line\":7,\"ok\":false"));

    struct log_ids ids = {"req-1", "0af7651916cd43dd8448eb211c80319c", NULL};
    struct buf line = {0};
    log_format(&line, LOG_LEVEL_WARN, "php", "a \"quoted\"\nmessage", 18, &ids, &data);
    buf_append_char(&line, '\0');
    const char *l = (const char *)line.data;
    assert_memory_equal(l, "{\"ts\":\"", 7);
    const char *rest = strstr(l, "\",\"level\"");
    assert_non_null(rest);
    assert_string_equal(rest,
                        "\",\"level\":\"warn\",\"type\":\"php\",\"msg\":\"a \\\"quoted\\\"\\nmessage\","
                        "\"ctx\":{\"service\":\"svc\",\"request_id\":\"req-1\","
                        "\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\"},"
                        "\"data\":{\"script\":\"/www/a.php\",\"line\":7,\"ok\":false}}\n");
    buf_free(&line);
    buf_free(&data);
}

static void forward_lines(void)
{
    log_init(LOG_LEVEL_INFO, "svc");
    struct buf line = {0};
    log_format(&line, LOG_LEVEL_WARN, "php", "from a worker", 13, NULL, NULL);
    log_line(LOG_LEVEL_WARN, (const char *)line.data, line.len);
    log_line(LOG_LEVEL_WARN, (const char *)line.data, line.len - 1); /* without its newline */
    log_line(LOG_LEVEL_DEBUG, (const char *)line.data, line.len);    /* below LOG_LEVEL */
    log_line(LOG_LEVEL_ERROR, "not json\n{\"a\":1}", 17);          /* would break the stream */
    buf_free(&line);
}

static void test_lines_from_a_worker(void **state)
{
    (void)state;
    const char *got = capture(forward_lines);
    size_t forwarded = 0; /* twice: the debug line is below LOG_LEVEL */
    for (const char *m = got; (m = strstr(m, "\"msg\":\"from a worker\"")); m++)
        forwarded++;
    assert_int_equal(forwarded, 2);
    /* The bad text became the message of a line of Kiln's own. */
    assert_non_null(strstr(got, "\"level\":\"error\",\"type\":\"error\",\"msg\":\"not json\\n{\\\"a\\\":1}\""));
    size_t lines = 0;
    for (const char *l = got; *l; l = strchr(l, '\n') + 1, lines++)
        assert_memory_equal(l, "{\"ts\":", 6);
    assert_int_equal(lines, 3);
}

static void start_up_line(void)
{
    log_init(LOG_LEVEL_INFO, "svc");
    struct buf data = {0};
    log_member_str(&data, "php_version", "8.2.0", 5);
    log_data(LOG_LEVEL_INFO, &data, "kiln %s", "1.0");
    log_data(LOG_LEVEL_DEBUG, &data, "dropped");
    buf_free(&data);
}

static void test_log_data(void **state)
{
    (void)state;
    const char *got = capture(start_up_line);
    assert_non_null(strstr(got, "\"msg\":\"kiln 1.0\",\"ctx\":{\"service\":\"svc\"},"
                                "\"data\":{\"php_version\":\"8.2.0\"}}\n"));
    assert_null(strstr(got, "dropped"));
}

/* The formatted second is reused: changing seconds, milliseconds and years all come out right. */
static void test_iso_time(void **state)
{
    (void)state;
    char out[LOG_ISO_TIME_SIZE];
    log_iso_time(1796032800, 5, out); /* 2026-11-30T10:00:00 */
    assert_string_equal(out, "2026-11-30T10:00:00.005Z");
    log_iso_time(1796032800, 999, out);
    assert_string_equal(out, "2026-11-30T10:00:00.999Z");
    log_iso_time(1796032801, 1234, out); /* ms beyond a second: taken modulo 1000 */
    assert_string_equal(out, "2026-11-30T10:00:01.234Z");
    log_iso_time(0, 0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    log_iso_time(1796032800, 70, out); /* back again */
    assert_string_equal(out, "2026-11-30T10:00:00.070Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_stdout_never_blocks),
        cmocka_unit_test(test_format_with_ids_and_data),
        cmocka_unit_test(test_lines_from_a_worker),
        cmocka_unit_test(test_log_data),
        cmocka_unit_test(test_iso_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
