#include "net/reloadctl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int reloadctl_request(pid_t pid, unsigned timeout_secs, char *err, size_t errlen)
{
    sigset_t answers;
    sigemptyset(&answers);
    sigaddset(&answers, SIGUSR1);
    sigaddset(&answers, SIGUSR2);
    sigprocmask(SIG_BLOCK, &answers, NULL); /* before asking: the answer may come at once */
    if (pid <= 0 || sigqueue(pid, SIGHUP, (union sigval){.sival_int = RELOADCTL_ASK}) < 0) {
        snprintf(err, errlen, "cannot signal pid %d: %s", (int)pid,
                 pid <= 0 ? "not a process id" : strerror(errno));
        return -1;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_secs;
    for (;;) {
        struct timespec now, left;
        clock_gettime(CLOCK_MONOTONIC, &now);
        left.tv_sec = deadline.tv_sec - now.tv_sec;
        left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
        if (left.tv_nsec < 0) {
            left.tv_sec--;
            left.tv_nsec += 1000000000L;
        }
        if (left.tv_sec < 0)
            break;
        siginfo_t info;
        int signo = sigtimedwait(&answers, &info, &left);
        if (signo < 0 && errno == EINTR)
            continue;
        if (signo < 0)
            break;
        if (info.si_pid == pid) /* another process's SIGUSR1 is not the answer */
            return signo == SIGUSR1 ? 0 : 1;
    }
    snprintf(err, errlen, "no answer from pid %d within %u s (is it kiln?)", (int)pid,
             timeout_secs);
    return -1;
}

bool reloadctl_wants_answer(const struct loop_signal *sig)
{
    return sig->signo == SIGHUP && sig->queued && sig->value == RELOADCTL_ASK && sig->sender > 0;
}

void reloadctl_answer(pid_t asker, bool ok)
{
    sigqueue(asker, ok ? SIGUSR1 : SIGUSR2, (union sigval){.sival_int = RELOADCTL_ASK});
}
