/* Unit tests for net/sdnotify: NOTIFY_SOCKET parsing, and messages arriving on a real AF_UNIX
   datagram socket bound by the test, at a path and at an abstract name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/sdnotify.h"

/* A datagram socket bound at `name` (a path, or "@name"), as the service manager has it. */
static int bind_receiver(const char *name)
{
    struct sockaddr_un sa;
    socklen_t len;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(sdnotify_parse_address(name, &sa, &len), 0);
    if (name[0] == '/')
        unlink(name);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    return fd;
}

/* The next datagram, or "" when none is waiting. */
static const char *receive(int fd)
{
    static char msg[1024];
    ssize_t n = recv(fd, msg, sizeof msg - 1, MSG_DONTWAIT);
    msg[n > 0 ? n : 0] = '\0';
    return msg;
}

static void notify_to(const char *name)
{
    assert_int_equal(setenv("NOTIFY_SOCKET", name, 1), 0);
    assert_int_equal(sdnotify_init(), 0);
}

static void test_parse_address(void **state)
{
    (void)state;
    struct sockaddr_un sa;
    socklen_t len;
    char long_path[200];

    assert_int_equal(sdnotify_parse_address("/run/systemd/notify", &sa, &len), 0);
    assert_int_equal(sa.sun_family, AF_UNIX);
    assert_string_equal(sa.sun_path, "/run/systemd/notify");
    assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + strlen("/run/systemd/notify") + 1);

    assert_int_equal(sdnotify_parse_address("@kiln/notify", &sa, &len), 0);
    assert_int_equal(sa.sun_path[0], '\0');
    assert_memory_equal(sa.sun_path + 1, "kiln/notify", 11);
    assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 12); /* no NUL counted */

    assert_int_equal(sdnotify_parse_address("relative/notify", &sa, &len), -1);
    assert_int_equal(sdnotify_parse_address("@", &sa, &len), -1);
    assert_int_equal(sdnotify_parse_address("/", &sa, &len), -1);
    assert_int_equal(sdnotify_parse_address("vsock:2:1234", &sa, &len), -1);
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    assert_int_equal(sdnotify_parse_address(long_path, &sa, &len), -1);
}

static void test_messages_reach_a_path_socket(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/kiln-test-sdnotify-%d", (int)getpid());
    int fd = bind_receiver(path);
    notify_to(path);

    assert_int_equal(sdnotify_ready("serving http://127.0.0.1:8080"), 0);
    assert_string_equal(receive(fd), "READY=1\nSTATUS=serving http://127.0.0.1:8080");
    assert_int_equal(sdnotify_stopping(), 0);
    assert_string_equal(receive(fd), "STOPPING=1");
    assert_string_equal(receive(fd), "");
    close(fd);
    unlink(path);
}

static void test_messages_reach_an_abstract_socket(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "@kiln-test-sdnotify-%d", (int)getpid());
    int fd = bind_receiver(name);
    notify_to(name);

    assert_int_equal(sdnotify_reloading(), 0);
    const char *msg = receive(fd);
    assert_true(strncmp(msg, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
    assert_true(strtoull(msg + 27, NULL, 10) > 0);
    assert_int_equal(sdnotify_ready("reloaded"), 0);
    assert_string_equal(receive(fd), "READY=1\nSTATUS=reloaded");
    close(fd);
}

/* STATUS is one line: a newline in it would start another assignment. */
static void test_status_is_cut_at_a_newline(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "@kiln-test-sdnotify-nl-%d", (int)getpid());
    int fd = bind_receiver(name);
    notify_to(name);
    assert_int_equal(sdnotify_ready("ok\nMAINPID=1"), 0);
    assert_string_equal(receive(fd), "READY=1\nSTATUS=ok");
    close(fd);
}

static void test_unset_or_empty_does_nothing(void **state)
{
    (void)state;
    assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
    assert_int_equal(sdnotify_init(), 0);
    assert_int_equal(sdnotify_ready("x"), 0);
    assert_int_equal(sdnotify_stopping(), 0);
    notify_to("");
    assert_int_equal(sdnotify_reloading(), 0);
}

static void test_unusable_value_does_nothing(void **state)
{
    (void)state;
    assert_int_equal(setenv("NOTIFY_SOCKET", "notify", 1), 0);
    assert_int_equal(sdnotify_init(), -1);
    assert_int_equal(sdnotify_ready("x"), 0);
}

/* Nobody listening: the send fails and says so, and the caller goes on. */
static void test_a_missing_receiver_is_an_error(void **state)
{
    (void)state;
    notify_to("@kiln-test-sdnotify-nobody-listens");
    assert_int_equal(sdnotify_stopping(), -1);
    assert_int_equal(errno, ECONNREFUSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_address),
        cmocka_unit_test(test_messages_reach_a_path_socket),
        cmocka_unit_test(test_messages_reach_an_abstract_socket),
        cmocka_unit_test(test_status_is_cut_at_a_newline),
        cmocka_unit_test(test_unset_or_empty_does_nothing),
        cmocka_unit_test(test_unusable_value_does_nothing),
        cmocka_unit_test(test_a_missing_receiver_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
