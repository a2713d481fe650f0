/* Listening sockets and the process limits that go with them. */
#ifndef KILN_NET_LISTENER_H
#define KILN_NET_LISTENER_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Opens a non-blocking, close-on-exec TCP listener on `sa` (SO_REUSEADDR, backlog 4096).
 * Returns the fd, or -1 with one line in `err` starting with `label`
 * ("LISTEN_ADDR 127.0.0.1:8080: cannot listen: Address already in use").
 */
int listener_open(const struct sockaddr *sa, socklen_t len, const char *label, char *err,
                  size_t errlen);

/* Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the resulting soft limit. */
unsigned long listener_raise_fd_limit(void);

#endif
