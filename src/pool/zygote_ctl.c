#include "pool/zygote_ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <sys/mman.h>
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

/* Clears what zygote_ctl_stop() and the READY handshake look at. */
static void zygote_ctl_reset(struct zygote_ctl *z, unsigned slots)
{
    z->pid = -1;
    z->control_fd = -1;
    z->opcache_enabled = false;
    z->jit_enabled = false;
    z->php_version[0] = '\0';
    z->err[0] = '\0';
    z->slots = slots;
    z->board = NULL;
    z->scoreboard = NULL;
}

/* The first message: READY (1, flags and version kept), or why PHP did not start (-1). */
static int take_ready(struct zygote_ctl *z, const struct zygote_ctl_msg *msg, ssize_t n)
{
    struct zygote_ctl_msg m = *msg;
    m.text[sizeof m.text - 1] = '\0';
    if (n == sizeof m && m.kind == ZYGOTE_CTL_MSG_READY) {
        z->opcache_enabled = m.status & ZYGOTE_CTL_READY_OPCACHE;
        z->jit_enabled = m.status & ZYGOTE_CTL_READY_JIT;
        snprintf(z->php_version, sizeof z->php_version, "%.*s", (int)sizeof z->php_version - 1,
                 m.text);
        return 1;
    }
    if (n == sizeof m && m.kind == ZYGOTE_CTL_MSG_START_FAILED)
        snprintf(z->err, sizeof z->err, "%s", m.text);
    else
        snprintf(z->err, sizeof z->err,
                 "php-zygote ended during PHP start-up (see the messages above)");
    return -1;
}

int zygote_ctl_start(struct zygote_ctl *z, const struct config *cfg,
                     zygote_ctl_main_fn *zygote_main)
{
    zygote_ctl_reset(z, cfg->php_workers);
    z->board = proto_board_map(z->slots);
    z->scoreboard = scoreboard_map(z->slots);
    if (!z->board || !z->scoreboard) {
        snprintf(z->err, sizeof z->err, "php-zygote: shared memory for %u workers: %s", z->slots,
                 strerror(errno));
        zygote_ctl_stop(z); /* unmaps what was mapped */
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
        zygote_main(sv[1], cfg, master, z->board, z->scoreboard, z->slots);
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
    if (take_ready(z, &m, recv_msg(sv[0], &m, 0)) < 0) {
        zygote_ctl_stop(z);
        return -1;
    }
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    return 0;
}

/* ---- a zygote started by exec (graceful reload) --------------------------------------------- */

/* Shared memory the exec'd zygote maps again from the descriptor it inherits. */
static void *map_shared(int fd, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int create_shared(const char *name, size_t size, void **map)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, (off_t)size) < 0 || !(*map = map_shared(fd, size))) {
        close(fd);
        return -1;
    }
    return fd;
}

static size_t board_size(unsigned slots)
{
    return slots * sizeof(proto_slot);
}

static size_t scoreboard_size(unsigned slots)
{
    return slots * sizeof(struct scoreboard_slot);
}

/* In the child between fork and exec: the descriptors it passes on lose close-on-exec. */
static noreturn void exec_zygote(char *const argv[], char *const envp[], const int fds[3],
                                 unsigned slots)
{
    char spec[96];
    snprintf(spec, sizeof spec, "%s=%d,%d,%d,%u,%d", ZYGOTE_CTL_EXEC_FLAG, fds[0], fds[1],
             fds[2], slots, (int)getppid());
    for (int i = 0; i < 3; i++)
        fcntl(fds[i], F_SETFD, 0);
    size_t argc = 0;
    while (argv[argc])
        argc++;
    char **args = calloc(argc + 2, sizeof *args);
    if (!args)
        _exit(1);
    args[0] = argv[0];
    args[1] = spec;
    for (size_t i = 1; i < argc; i++)
        args[i + 1] = argv[i];
    execve("/proc/self/exe", args, envp);
    _exit(1);
}

int zygote_ctl_launch(struct zygote_ctl *z, unsigned slots, char *const argv[],
                      char *const envp[])
{
    zygote_ctl_reset(z, slots);
    int fds[3] = {-1, -1, -1}; /* control socket (the zygote's end), board, scoreboard */
    int sv[2] = {-1, -1};
    void *board = NULL, *scoreboard = NULL;
    fds[1] = create_shared("kiln-board", board_size(slots), &board);
    fds[2] = create_shared("kiln-scoreboard", scoreboard_size(slots), &scoreboard);
    z->board = board;
    z->scoreboard = scoreboard;
    if (fds[1] < 0 || fds[2] < 0 ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(z->err, sizeof z->err, "php-zygote: %s", strerror(errno));
        goto fail;
    }
    fds[0] = sv[1];
    pid_t pid = fork();
    if (pid == 0)
        exec_zygote(argv, envp, fds, slots);
    if (pid < 0) {
        snprintf(z->err, sizeof z->err, "php-zygote: fork: %s", strerror(errno));
        goto fail;
    }
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    z->pid = pid;
    z->control_fd = sv[0];
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    return 0;
fail:
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (sv[0] >= 0)
        close(sv[0]);
    zygote_ctl_stop(z);
    return -1;
}

int zygote_ctl_read_ready(struct zygote_ctl *z)
{
    struct zygote_ctl_msg m;
    ssize_t n = recv_msg(z->control_fd, &m, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    return take_ready(z, &m, n);
}

int zygote_ctl_exec_attach(const char *spec, struct zygote_ctl_child *out)
{
    int sock, board_fd, score_fd, master;
    unsigned slots;
    char end;
    if (sscanf(spec, "%d,%d,%d,%u,%d%c", &sock, &board_fd, &score_fd, &slots, &master, &end) != 5 ||
        sock < 0 || board_fd < 0 || score_fd < 0 || slots == 0 || master <= 0)
        return -1;
    out->sock = sock;
    out->master = master;
    out->slots = slots;
    out->board = map_shared(board_fd, board_size(slots));
    out->scoreboard = map_shared(score_fd, scoreboard_size(slots));
    close(board_fd);
    close(score_fd);
    fcntl(sock, F_SETFD, FD_CLOEXEC);
    return out->board && out->scoreboard ? 0 : -1;
}

void zygote_ctl_report_start_failure(int sock, const char *why)
{
    struct zygote_ctl_msg m = {.kind = ZYGOTE_CTL_MSG_START_FAILED};
    snprintf(m.text, sizeof m.text, "%s", why);
    send(sock, &m, sizeof m, MSG_NOSIGNAL);
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

struct scoreboard_slot *zygote_ctl_scoreboard_slot(const struct zygote_ctl *z, unsigned slot)
{
    return z->scoreboard && slot < z->slots ? &z->scoreboard[slot] : NULL;
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

void zygote_ctl_release(struct zygote_ctl *z)
{
    proto_board_unmap(z->board, z->slots);
    z->board = NULL;
    scoreboard_unmap(z->scoreboard, z->slots);
    z->scoreboard = NULL;
    if (z->control_fd >= 0) {
        close(z->control_fd); /* the zygote kills its workers and exits */
        z->control_fd = -1;
    }
}

bool zygote_ctl_reap(struct zygote_ctl *z, bool force)
{
    if (z->pid <= 0)
        return true;
    if (!force && !reaped(z->pid))
        return false;
    if (force) {
        kill(z->pid, SIGKILL); /* workers follow through PR_SET_PDEATHSIG */
        while (waitpid(z->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    z->pid = -1;
    return true;
}

void zygote_ctl_stop(struct zygote_ctl *z)
{
    zygote_ctl_release(z);
    struct timespec tick = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
    for (int waited = 0; waited < STOP_WAIT_MS; waited += 10) {
        if (zygote_ctl_reap(z, false))
            return;
        nanosleep(&tick, NULL);
    }
    zygote_ctl_reap(z, true);
}
