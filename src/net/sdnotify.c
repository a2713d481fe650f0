/*
 * sd_notify(3) over a datagram socket (contract in sdnotify.h). One socket per message: the
 * messages are few (start-up, reloads, shutdown), and no descriptor stays open for the zygote,
 * the workers or PHP to inherit.
 */
#include "net/sdnotify.h"

#include "base.h"
#include "obs/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MESSAGE_MAX 512 /* READY=1 with a one-line status; longer statuses are cut */

static struct {
    bool initialised;
    bool enabled;
    bool warned; /* a failed send is logged once */
    struct sockaddr_un sa;
    socklen_t len;
} target;

int sdnotify_parse_address(const char *value, struct sockaddr_un *sa, socklen_t *len)
{
    size_t n = strlen(value);

    /* sun_path need not end with a NUL, but the kernel then takes the whole array */
    if ((value[0] != '/' && value[0] != '@') || n < 2 || n > sizeof sa->sun_path - 1)
        return -1;
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, value, n);
    if (value[0] == '@') {
        sa->sun_path[0] = '\0'; /* an abstract name is exactly its n bytes, no NUL after */
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

int sdnotify_init(void)
{
    const char *value = getenv("NOTIFY_SOCKET");

    target.initialised = true;
    target.enabled = false;
    target.warned = false;
    if (value == NULL || value[0] == '\0')
        return 0;
    if (sdnotify_parse_address(value, &target.sa, &target.len) < 0) {
        log_warn("NOTIFY_SOCKET \"%.*s\" is not an absolute path or @name: no notifications",
                 100, value);
        return -1;
    }
    target.enabled = true;
    return 0;
}

int sdnotify_send(const char *message)
{
    if (!target.initialised)
        sdnotify_init();
    if (!target.enabled)
        return 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ssize_t sent = -1;
    if (fd >= 0) {
        sent = sendto(fd, message, strlen(message), MSG_NOSIGNAL,
                      (const struct sockaddr *)&target.sa, target.len);
        int saved = errno;
        close(fd);
        errno = saved;
    }
    if (sent < 0) {
        int saved = errno;
        if (!target.warned)
            log_warn("NOTIFY_SOCKET: cannot notify the service manager: %s", strerror(saved));
        target.warned = true;
        errno = saved;
        return -1;
    }
    return 0;
}

int sdnotify_ready(const char *status)
{
    char message[MESSAGE_MAX];
    int line = (int)strcspn(status, "\n"); /* STATUS is one line: the rest would be a key */

    snprintf(message, sizeof message, "READY=1\nSTATUS=%.*s", line, status);
    return sdnotify_send(message);
}

int sdnotify_reloading(void)
{
    char message[64];

    snprintf(message, sizeof message, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)clock_usec(CLOCK_MONOTONIC));
    return sdnotify_send(message);
}

int sdnotify_stopping(void)
{
    return sdnotify_send("STOPPING=1");
}
