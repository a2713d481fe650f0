/* Listening sockets and the process limits that go with them. */
#ifndef KILN_NET_LISTENER_H
#define KILN_NET_LISTENER_H

#include <stddef.h>

#include "config.h"

/*
 * Opens a non-blocking, close-on-exec TCP listener on `addr` (SO_REUSEADDR, backlog 4096).
 * Returns the fd, or -1 with one line in `err` ("LISTEN_ADDR 127.0.0.1:8080: address already in use").
 */
int listener_open(const struct config_addr *addr, const char *setting, char *err, size_t errlen);

/* Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the resulting soft limit. */
unsigned long listener_raise_fd_limit(void);

#endif
