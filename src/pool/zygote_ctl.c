#include "pool/zygote_ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOP_WAIT_MS 5000

static ssize_t recv_msg(int fd, struct zygote_ctl_msg *m, int flags)
{
    ssize_t n;
    do {
        n = recv(fd, m, sizeof *m, flags);
    } while (n < 0 && errno == EINTR);
    return n;
}

int zygote_ctl_start(struct zygote_ctl *z, const struct config *cfg,
                     zygote_ctl_main_fn *zygote_main)
{
    z->pid = -1;
    z->control_fd = -1;
    z->opcache_enabled = z->jit_enabled = false;
    z->php_version[0] = '\0';
    z->err[0] = '\0';
    z->slots = cfg->php_workers;
    z->board = proto_board_map(z->slots);
    if (!z->board) {
        snprintf(z->err, sizeof z->err, "php-zygote: shared memory for %u workers: %s", z->slots,
                 strerror(errno));
        return -1;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(z->err, sizeof z->err, "php-zygote: socketpair: %s", strerror(errno));
        zygote_ctl_stop(z);
        return -1;
    }
    pid_t master = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        zygote_main(sv[1], cfg, master, z->board, z->slots);
        _exit(1); /* the entry point must not return: the master's code never runs here */
    }
    close(sv[1]);
    if (pid < 0) {
        snprintf(z->err, sizeof z->err, "php-zygote: fork: %s", strerror(errno));
        close(sv[0]);
        zygote_ctl_stop(z);
        return -1;
    }
    z->pid = pid;
    z->control_fd = sv[0];
    struct zygote_ctl_msg m;
    ssize_t n = recv_msg(sv[0], &m, 0);
    if (n == sizeof m && m.kind == ZYGOTE_CTL_MSG_READY) {
        z->opcache_enabled = m.status & ZYGOTE_CTL_READY_OPCACHE;
        z->jit_enabled = m.status & ZYGOTE_CTL_READY_JIT;
        snprintf(z->php_version, sizeof z->php_version, "%.31s", m.text);
        fcntl(sv[0], F_SETFL, O_NONBLOCK);
        return 0;
    }
    if (n == sizeof m && m.kind == ZYGOTE_CTL_MSG_START_FAILED) {
        m.text[sizeof m.text - 1] = '\0';
        snprintf(z->err, sizeof z->err, "%s", m.text);
    } else {
        snprintf(z->err, sizeof z->err,
                 "php-zygote ended during PHP start-up (see the messages above)");
    }
    zygote_ctl_stop(z);
    return -1;
}

int zygote_ctl_spawn(struct zygote_ctl *z, unsigned worker_id)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    struct zygote_ctl_msg m = {.kind = ZYGOTE_CTL_MSG_SPAWN, .worker_id = worker_id};
    if (proto_send_fd(z->control_fd, &m, sizeof m, sv[1], MSG_DONTWAIT) != (ssize_t)sizeof m) {
        int err = errno;
        close(sv[0]);
        close(sv[1]);
        errno = err;
        return -1;
    }
    close(sv[1]);
    if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
        close(sv[0]);
        return -1;
    }
    return sv[0];
}

proto_slot *zygote_ctl_slot(const struct zygote_ctl *z, unsigned slot)
{
    return z->board && slot < z->slots ? &z->board[slot] : NULL;
}

int zygote_ctl_fd(const struct zygote_ctl *z)
{
    return z->control_fd;
}

int zygote_ctl_read_event(struct zygote_ctl *z, struct zygote_ctl_event *ev)
{
    struct zygote_ctl_msg m;
    ssize_t n = recv_msg(z->control_fd, &m, MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    if (n != sizeof m)
        return -1;
    switch (m.kind) {
    case ZYGOTE_CTL_MSG_SPAWNED:
        ev->kind = ZYGOTE_CTL_SPAWNED;
        break;
    case ZYGOTE_CTL_MSG_EXITED:
        ev->kind = ZYGOTE_CTL_EXITED;
        break;
    case ZYGOTE_CTL_MSG_SPAWN_FAILED:
        ev->kind = ZYGOTE_CTL_SPAWN_FAILED;
        break;
    default:
        return -1;
    }
    ev->worker_id = m.worker_id;
    ev->pid = m.pid;
    ev->status = m.status;
    return 1;
}

/* Reaps the zygote if it has ended: true when it is gone. */
static bool reaped(pid_t pid)
{
    pid_t r = waitpid(pid, NULL, WNOHANG);
    return r == pid || (r < 0 && errno == ECHILD);
}

void zygote_ctl_stop(struct zygote_ctl *z)
{
    proto_board_unmap(z->board, z->slots);
    z->board = NULL;
    if (z->control_fd >= 0) {
        close(z->control_fd); /* the zygote kills its workers and exits */
        z->control_fd = -1;
    }
    if (z->pid <= 0)
        return;
    struct timespec tick = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
    for (int waited = 0; waited < STOP_WAIT_MS; waited += 10) {
        if (reaped(z->pid)) {
            z->pid = -1;
            return;
        }
        nanosleep(&tick, NULL);
    }
    kill(z->pid, SIGKILL); /* workers follow through PR_SET_PDEATHSIG */
    while (waitpid(z->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    z->pid = -1;
}
