/* For unit tests: `promtool check metrics` on an exposition (Debian's prometheus package). */
#ifndef KILN_TEST_PROMTOOL_H
#define KILN_TEST_PROMTOOL_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"

/* Fails the test when promtool is missing; returns promtool's wait status on `text`. */
static int promtool_check(const struct buf *text)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0)
        fail_msg("promtool not found: scripts/install-deps.sh installs Debian's prometheus");
    char path[] = "/tmp/kiln-metrics-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text->data, text->len), (ssize_t)text->len);
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
    int status = system(cmd);
    unlink(path);
    return status;
}

#endif
