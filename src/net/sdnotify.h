/*
 * sd_notify(3) without libsystemd: the service manager's readiness protocol, as systemd's
 * Type=notify expects it. The manager puts the address of a datagram socket in NOTIFY_SOCKET
 * (a file-system path, or "@name" for a Linux abstract socket); the service sends it
 * newline-separated KEY=VALUE assignments. Without NOTIFY_SOCKET every call does nothing, so the
 * calls stay in place whether Kiln runs under systemd, in a container or in a terminal.
 *
 * A failed send is logged once as a warning and otherwise ignored: the manager's own timeouts
 * (TimeoutStartSec) decide what a missing READY=1 means. The environment is left as it is; with
 * systemd's default NotifyAccess=main, messages from the zygote or PHP are ignored anyway.
 */
#ifndef KILN_NET_SDNOTIFY_H
#define KILN_NET_SDNOTIFY_H

#include <sys/socket.h>
#include <sys/un.h>

/*
 * Reads NOTIFY_SOCKET. The senders below call it the first time they run; tests call it again
 * after changing the variable. Returns 0 (set and usable, or unset or empty), or -1 when it is
 * set to something else than an absolute path or "@name" (then sends do nothing).
 */
int sdnotify_init(void);

/* Parses a NOTIFY_SOCKET value into an AF_UNIX address. 0, or -1 when it is not usable. */
int sdnotify_parse_address(const char *value, struct sockaddr_un *sa, socklen_t *len);

/*
 * Sends one message (assignments separated by '\n') when NOTIFY_SOCKET is set. Returns 0 when
 * sent or when there is nowhere to send, -1 (errno set) when the send failed.
 */
int sdnotify_send(const char *message);

/* "READY=1\nSTATUS=<status>": start-up or a reload is complete. `status` is one line. */
int sdnotify_ready(const char *status);

/* "RELOADING=1\nMONOTONIC_USEC=<now>": a reload has begun (systemd's Type=notify-reload). */
int sdnotify_reloading(void);

/* "STOPPING=1": a graceful shutdown has begun. */
int sdnotify_stopping(void);

#endif
