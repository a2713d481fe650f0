/* obs/log: a stdout that nobody reads never blocks logging; the lost lines are counted. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_stdout_never_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
