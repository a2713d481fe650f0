/*
 * Unit tests for middleware/accesslog: the exact line, JSON validity whatever the request holds
 * (checked by a small strict JSON parser below), and the non-blocking writer: full pipes drop
 * and count, writes are whole lines and atomic on pipes, broken fds and sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "middleware/accesslog.h"

#define S(lit) ((struct str){lit, sizeof(lit) - 1})

/* ---- a strict JSON checker (RFC 8259) ------------------------------------------------------ */

struct jc {
    const unsigned char *p, *end;
};

static bool jc_value(struct jc *j);

static void jc_ws(struct jc *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool jc_eat(struct jc *j, char c)
{
    jc_ws(j);
    if (j->p < j->end && *j->p == (unsigned char)c) {
        j->p++;
        return true;
    }
    return false;
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* One UTF-8 sequence starting with a byte >= 0x80 (structure only). */
static bool jc_utf8(struct jc *j)
{
    unsigned char c = *j->p;
    size_t n = c >= 0xc2 && c <= 0xdf   ? 2
               : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4
                                        : 0;
    if (n == 0 || (size_t)(j->end - j->p) < n)
        return false;
    for (size_t i = 1; i < n; i++)
        if ((j->p[i] & 0xc0) != 0x80)
            return false;
    j->p += n;
    return true;
}

static bool jc_string(struct jc *j)
{
    if (!jc_eat(j, '"'))
        return false;
    while (j->p < j->end) {
        unsigned char c = *j->p;
        if (c == '"') {
            j->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c >= 0x80) {
            if (!jc_utf8(j))
                return false;
            continue;
        }
        j->p++;
        if (c != '\\')
            continue;
        if (j->p == j->end)
            return false;
        c = *j->p++;
        if (c == 'u') {
            for (int i = 0; i < 4; i++)
                if (j->p == j->end || !is_hex(*j->p++))
                    return false;
        } else if (!strchr("\"\\/bfnrt", c)) {
            return false;
        }
    }
    return false;
}

static bool jc_digits(struct jc *j)
{
    const unsigned char *start = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > start;
}

static bool jc_number(struct jc *j)
{
    jc_ws(j);
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!jc_digits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!jc_digits(j))
            return false;
    }
    return true;
}

static bool jc_object(struct jc *j)
{
    if (!jc_eat(j, '{'))
        return false;
    if (jc_eat(j, '}'))
        return true;
    do {
        if (!jc_string(j) || !jc_eat(j, ':') || !jc_value(j))
            return false;
    } while (jc_eat(j, ','));
    return jc_eat(j, '}');
}

static bool jc_value(struct jc *j)
{
    jc_ws(j);
    if (j->p == j->end)
        return false;
    if (*j->p == '{')
        return jc_object(j);
    if (*j->p == '"')
        return jc_string(j);
    return jc_number(j);
}

/* One JSON object followed by exactly one '\n' and nothing else. */
static bool jc_line_valid(const char *s, size_t len)
{
    struct jc j = {(const unsigned char *)s, (const unsigned char *)s + len};
    if (len == 0 || s[len - 1] != '\n' || memchr(s, '\n', len - 1))
        return false;
    j.end--;
    if (!jc_object(&j))
        return false;
    jc_ws(&j);
    return j.p == j.end;
}

static void test_checker_rejects_bad_json(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"a\":\"x\ny\"}\n", "{\"a\":\"\x01\"}\n",  "{\"a\":\"\\q\"}\n", "{\"a\":1,}\n",
        "{\"a\":\"\xff\"}\n", "{\"a\":\"x\"}",      "{\"a\":01}\n",      "{\"a\":\"x}\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (jc_line_valid(bad[i], strlen(bad[i])))
            fail_msg("checker accepted %s", bad[i]);
    const char *good = "{\"a\":{\"b\":\"\\u00e9\xc3\xa9\"},\"n\":-1.250}\n";
    assert_true(jc_line_valid(good, strlen(good)));
}

/* ---- the line ------------------------------------------------------------------------------ */

static struct accesslog_entry full_entry(void)
{
    return (struct accesslog_entry){
        .time = {.tv_sec = 1705315845, .tv_nsec = 123456789}, /* 2024-01-15T10:50:45.123Z */
        .service = S("kiln"),
        .request_id = S("0af7651916cd-b7ad"),
        .trace_id = S("0af7651916cd43dd8448eb211c80319c"),
        .span_id = S("b7ad6b7169203331"),
        .method = S("GET"),
        .path = S("/index.php"),
        .query = S("a=1&b=2"),
        .http = S("HTTP/1.1"),
        .status = 200,
        .bytes = 5120,
        .duration_us = 1234,
        .ip = S("192.0.2.1"),
        .ua = S("curl/8.0"),
        .referer = S("https://example.com/"),
        .xff = S("192.0.2.1, 10.0.0.1"),
        .tls = S("TLSv1.3"),
        .protocol = S("h2"),
        .worker_id = 3,
        .php = true,
        .php_begun = true,
        .queue_wait_us = 2000,
        .php_us = 12345,
    };
}

static char *format(const struct accesslog_entry *e)
{
    struct buf b = {0};
    accesslog_format(&b, e);
    buf_append_char(&b, '\0');
    return b.data;
}

static void test_full_line(void **state)
{
    (void)state;
    struct accesslog_entry e = full_entry();
    char *line = format(&e);
    assert_string_equal(
        line,
        "{\"ts\":\"2024-01-15T10:50:45.123Z\",\"level\":\"info\",\"type\":\"access\","
        "\"msg\":\"GET /index.php 200\","
        "\"ctx\":{\"service\":\"kiln\",\"request_id\":\"0af7651916cd-b7ad\","
        "\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":\"b7ad6b7169203331\"},"
        "\"data\":{\"method\":\"GET\",\"path\":\"/index.php\",\"query\":\"a=1&b=2\","
        "\"http\":\"HTTP/1.1\",\"status\":200,\"bytes\":5120,\"duration_ms\":1.234,"
        "\"ip\":\"192.0.2.1\",\"ua\":\"curl/8.0\",\"referer\":\"https://example.com/\","
        "\"xff\":\"192.0.2.1, 10.0.0.1\",\"tls\":\"TLSv1.3\",\"protocol\":\"h2\","
        "\"worker_id\":3,\"queue_wait_ms\":2.000,\"php_ms\":12.345}}\n");
    assert_true(jc_line_valid(line, strlen(line)));
    free(line);
}

/* A PHP request that no worker took (504 in the queue): its wait, and no PHP time. */
static void test_php_request_never_begun(void **state)
{
    (void)state;
    struct accesslog_entry e = full_entry();
    e.worker_id = -1;
    e.php_begun = false;
    e.queue_wait_us = 120000000;
    char *line = format(&e);
    assert_non_null(strstr(line, ",\"protocol\":\"h2\",\"queue_wait_ms\":120000.000}}\n"));
    assert_null(strstr(line, "php_ms"));
    free(line);
}

static void test_minimal_line(void **state)
{
    (void)state;
    struct accesslog_entry e = {
        .time = {.tv_sec = 0, .tv_nsec = 999999999},
        .method = S("HEAD"),
        .path = S("/"),
        .http = S("HTTP/1.0"),
        .status = 404,
        .duration_us = 7,
        .ip = S("::1"),
        .protocol = S("http/1.1"),
        .worker_id = -1,
    };
    char *line = format(&e);
    /* Optional fields left out; required ones never missing (service, ids: ""). */
    assert_string_equal(
        line,
        "{\"ts\":\"1970-01-01T00:00:00.999Z\",\"level\":\"info\",\"type\":\"access\","
        "\"msg\":\"HEAD / 404\",\"ctx\":{\"service\":\"\",\"request_id\":\"\",\"trace_id\":\"\","
        "\"span_id\":\"\"},\"data\":{\"method\":\"HEAD\",\"path\":\"/\",\"http\":\"HTTP/1.0\","
        "\"status\":404,\"bytes\":0,\"duration_ms\":0.007,\"ip\":\"::1\","
        "\"protocol\":\"http/1.1\"}}\n");
    free(line);
}

static void test_weird_values_stay_json(void **state)
{
    (void)state;
    struct accesslog_entry e = full_entry();
    e.path = S("/a\"b\\c\n\r\t\x01\x7f/\xff\xfe/\xc3\xa9/\xe2\x80\xa8");
    e.ua = S("Mozilla\0/5.0 \"}\n{\"evil\":1");
    e.referer = S("\xed\xa0\x80 surrogate, \xf4\x90\x80\x80 too big, \xc0\xaf overlong");
    e.query = S("q=%00&x=</script>");
    e.method = S("GET\"");
    char *line = format(&e);
    if (!jc_line_valid(line, strlen(line)))
        fail_msg("not a JSON line: %s", line);
    /* The message is escaped as much as the fields. */
    assert_non_null(strstr(line, "\"msg\":\"GET\\\" /a\\\"b\\\\c\\n\\r\\t\\u0001"));
    assert_non_null(strstr(line, "\"ua\":\"Mozilla\\u0000/5.0 \\\"}\\n{\\\"evil\\\":1\""));
    free(line);

    /* Every single byte value, in every string field. */
    for (unsigned c = 0; c < 256; c++) {
        char byte[3] = {'x', (char)c, 'y'};
        struct str s = {byte, sizeof(byte)};
        e = full_entry();
        e.method = e.path = e.query = e.http = e.ip = e.ua = e.referer = e.xff = e.tls =
            e.protocol = e.service = e.request_id = e.trace_id = e.span_id = s;
        line = format(&e);
        if (!jc_line_valid(line, strlen(line)))
            fail_msg("byte 0x%02x: not a JSON line: %s", c, line);
        free(line);
    }
}

/* ---- the writer ---------------------------------------------------------------------------- */

static void make_pipe(int fds[2])
{
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    assert_int_equal(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
}

/* Writes filler until the pipe is full; returns how many bytes it took. */
static size_t fill(int fd)
{
    static char junk[4096];
    size_t total = 0;
    for (;;) {
        ssize_t w = write(fd, junk, sizeof(junk));
        if (w < 0) {
            assert_true(errno == EAGAIN);
            return total;
        }
        total += (size_t)w;
    }
}

/* Reads everything available into `out` (appended). */
static void drain(int fd, struct buf *out)
{
    for (;;) {
        ssize_t r = read(fd, buf_reserve(out, 65536), 65536);
        if (r <= 0)
            return;
        out->len += (size_t)r;
    }
}

/* Every line of out[skip..] is a valid JSON line; returns how many. */
static size_t check_lines(const struct buf *out, size_t skip)
{
    size_t lines = 0;
    const char *p = out->data + skip;
    const char *end = out->data + out->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl);
        if (!jc_line_valid(p, (size_t)(nl + 1 - p)))
            fail_msg("bad line: %.*s", (int)(nl + 1 - p), p);
        lines++;
        p = nl + 1;
    }
    return lines;
}

static void test_full_pipe_drops_and_counts(void **state)
{
    (void)state;
    int fds[2];
    make_pipe(fds);
    size_t filler = fill(fds[1]);

    struct accesslog_entry e = full_entry();
    struct buf one = {0};
    accesslog_format(&one, &e);
    size_t line_len = one.len;
    buf_free(&one);

    struct accesslog *al = accesslog_create(fds[1], 10 * line_len + line_len / 2);
    assert_non_null(al);
    assert_int_equal(accesslog_pending_fd(al), -1);
    assert_int_equal(accesslog_flush(al), 0);
    for (int i = 0; i < 25; i++) {
        accesslog_append(al, &e);
        assert_int_equal(accesslog_flush(al), 1); /* the pipe is full: would block */
    }
    assert_int_equal(accesslog_pending_fd(al), fds[1]);
    assert_int_equal(accesslog_dropped(al), 15); /* room for 10 lines */

    /* The reader catches up: the queued lines come out whole, the dropped ones never. */
    struct buf out = {0};
    drain(fds[0], &out);
    assert_int_equal(out.len, filler);
    assert_int_equal(accesslog_flush(al), 0);
    assert_int_equal(accesslog_pending_fd(al), -1);
    drain(fds[0], &out);
    assert_int_equal(check_lines(&out, filler), 10);

    /* And the queue takes lines again. */
    accesslog_append(al, &e);
    assert_int_equal(accesslog_flush(al), 0);
    buf_clear(&out);
    drain(fds[0], &out);
    assert_int_equal(check_lines(&out, 0), 1);
    assert_int_equal(accesslog_dropped(al), 15);

    buf_free(&out);
    accesslog_destroy(al);
    close(fds[0]);
    close(fds[1]);
}

/* A pipe with less room than the next batch gets nothing rather than half a line. */
static void test_pipe_writes_are_whole_lines(void **state)
{
    (void)state;
    int fds[2];
    make_pipe(fds);
    assert_int_equal(fcntl(fds[1], F_SETPIPE_SZ, 4096), 4096); /* one page */
    static char junk[3000];
    assert_int_equal(write(fds[1], junk, sizeof(junk)), (ssize_t)sizeof(junk));

    struct accesslog *al = accesslog_create(fds[1], ACCESSLOG_DEFAULT_MAX_QUEUED);
    struct accesslog_entry e = full_entry();
    for (int i = 0; i < 40; i++)
        accesslog_append(al, &e);
    assert_int_equal(accesslog_flush(al), 1);

    struct buf out = {0};
    drain(fds[0], &out);
    assert_int_equal(out.len, sizeof(junk)); /* nothing of ours squeezed into the rest */
    size_t lines = 0;
    while (accesslog_flush(al) == 1) {
        size_t before = out.len;
        drain(fds[0], &out);
        assert_true(out.len > before);
        /* Each read ends at a line end: batches are whole lines. */
        assert_int_equal(out.data[out.len - 1], '\n');
    }
    drain(fds[0], &out);
    lines = check_lines(&out, sizeof(junk));
    assert_int_equal(lines, 40);
    buf_free(&out);
    accesslog_destroy(al);
    close(fds[0]);
    close(fds[1]);
}

/* A line longer than PIPE_BUF still goes out complete. */
static void test_long_line(void **state)
{
    (void)state;
    int fds[2];
    make_pipe(fds);
    static char ua[3 * PIPE_BUF];
    memset(ua, 'u', sizeof(ua));
    struct accesslog_entry e = full_entry();
    e.ua = (struct str){ua, sizeof(ua)};
    struct accesslog *al = accesslog_create(fds[1], ACCESSLOG_DEFAULT_MAX_QUEUED);
    accesslog_append(al, &e);
    accesslog_append(al, &e);
    assert_int_equal(accesslog_flush(al), 0);
    struct buf out = {0};
    drain(fds[0], &out);
    assert_int_equal(check_lines(&out, 0), 2);
    buf_free(&out);
    accesslog_destroy(al);
    close(fds[0]);
    close(fds[1]);
}

/* A blocking socket is still never waited on (the alarm ends the test if it is). */
static void test_socket_does_not_block(void **state)
{
    (void)state;
    alarm(10);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    static char junk[4096];
    while (send(sv[0], junk, sizeof(junk), MSG_DONTWAIT) > 0)
        ;
    struct accesslog *al = accesslog_create(sv[0], ACCESSLOG_DEFAULT_MAX_QUEUED);
    struct accesslog_entry e = full_entry();
    accesslog_append(al, &e);
    assert_int_equal(accesslog_flush(al), 1);
    assert_int_equal(accesslog_pending_fd(al), sv[0]);
    alarm(0);
    accesslog_destroy(al);
    close(sv[0]);
    close(sv[1]);
}

static void test_broken_fd_drops_everything(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    int fds[2];
    make_pipe(fds);
    close(fds[0]);
    struct accesslog *al = accesslog_create(fds[1], ACCESSLOG_DEFAULT_MAX_QUEUED);
    struct accesslog_entry e = full_entry();
    accesslog_append(al, &e);
    accesslog_append(al, &e);
    assert_int_equal(accesslog_flush(al), -1);
    assert_int_equal(accesslog_dropped(al), 2);
    assert_int_equal(accesslog_pending_fd(al), -1);
    accesslog_append(al, &e);
    assert_int_equal(accesslog_dropped(al), 3);
    assert_int_equal(accesslog_flush(al), 0);
    accesslog_destroy(al);
    close(fds[1]);
}

/* stdout as a pipe: a new non-blocking description, fd 1 left blocking. */
static void test_open_stdout(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    int saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fds[1], STDOUT_FILENO), STDOUT_FILENO);
    int fd = accesslog_open_stdout();
    int fd1_flags = fcntl(STDOUT_FILENO, F_GETFL);
    dup2(saved, STDOUT_FILENO);
    close(saved);

    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    assert_false(fd1_flags & O_NONBLOCK);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(write(fd, "x\n", 2), 2);
    char got[2];
    assert_int_equal(read(fds[0], got, 2), 2);
    assert_memory_equal(got, "x\n", 2);
    close(fd);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checker_rejects_bad_json),
        cmocka_unit_test(test_full_line),
        cmocka_unit_test(test_php_request_never_begun),
        cmocka_unit_test(test_minimal_line),
        cmocka_unit_test(test_weird_values_stay_json),
        cmocka_unit_test(test_full_pipe_drops_and_counts),
        cmocka_unit_test(test_pipe_writes_are_whole_lines),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_socket_does_not_block),
        cmocka_unit_test(test_broken_fd_drops_everything),
        cmocka_unit_test(test_open_stdout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
