/*
 * `kiln --reload PID`: a graceful reload that waits for its outcome, for systemd's ExecReload
 * (which should return only once the reload is done) and for deploy scripts.
 *
 * The asker sends SIGHUP with sigqueue() and a value, RELOADCTL_ASK; the server, which reads its
 * signals from a signalfd and so learns the sender's pid, answers that process once the reload
 * has ended: SIGUSR1 when the new PHP workers took over, SIGUSR2 when it failed (the old ones
 * serve on). A plain `kill -HUP` (no value) reloads the same way and gets no answer: a shell
 * that sent it must not receive a SIGUSR1, whose default action would end it.
 */
#ifndef KILN_NET_RELOADCTL_H
#define KILN_NET_RELOADCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "net/loop.h"

#define RELOADCTL_ASK 0x6b696c6e /* "kiln" */

/* The asker: 0 = reloaded, 1 = the reload failed, -1 = no answer (`err` says why). */
int reloadctl_request(pid_t pid, unsigned timeout_secs, char *err, size_t errlen);

/* The server: `sig` is a SIGHUP from a reloadctl_request() that waits for an answer. */
bool reloadctl_wants_answer(const struct loop_signal *sig);

/* The server: tells the asker how the reload ended. */
void reloadctl_answer(pid_t asker, bool ok);

#endif
