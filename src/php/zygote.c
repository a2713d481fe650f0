#include "php/zygote.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "php/sapi.h"
#include "php/worker.h"
#include "pool/proto.h"

#define STOP_WAIT_MS 5000

/* Control messages, one per SOCK_SEQPACKET packet. */
enum msg_kind {
    MSG_READY = 1,    /* zygote -> master: PHP started; status = OPcache enabled */
    MSG_START_FAILED, /* zygote -> master: text says why */
    MSG_SPAWN,        /* master -> zygote, with the worker's socket (SCM_RIGHTS) */
    MSG_SPAWNED,
    MSG_EXITED,
    MSG_SPAWN_FAILED,
};

struct msg {
    uint32_t kind;
    uint32_t worker_id;
    int32_t pid;
    int32_t status;
    char text[200];
};

struct child {
    pid_t pid;
    unsigned worker_id;
};

struct children {
    struct child *list;
    size_t count;
    size_t cap;
};

/* ---- zygote process --------------------------------------------------------------------- */

static void send_msg(int sock, enum msg_kind kind, unsigned worker_id, pid_t pid, int status)
{
    struct msg m = {.kind = kind, .worker_id = worker_id, .pid = pid, .status = status};
    while (send(sock, &m, sizeof m, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

/* Dies with `parent` (the check closes the race with a parent that died before prctl). */
static void become_child_of(pid_t parent, const char *name)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    prctl(PR_SET_NAME, name);
}

/*
 * Undoes what the master (or a test harness) set up for itself: every handler back to the
 * default, nothing blocked. SIGPIPE is ignored by the SAPI.
 */
static void reset_signals(void)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < SIGRTMIN; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * Keeps stderr and the control socket; stdin becomes /dev/null and stdout a copy of stderr:
 * stdout is the master's JSON log, and nothing PHP writes there by itself (a preload script's
 * output, php://stdout, an extension's printf) may break its lines. Returns the socket.
 */
static int isolate_fds(int sock)
{
    if (sock <= STDERR_FILENO)
        sock = fcntl(sock, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0 && null != STDIN_FILENO) {
        dup2(null, STDIN_FILENO);
        close(null);
    }
    dup2(STDERR_FILENO, STDOUT_FILENO);
    if (sock > STDERR_FILENO + 1)
        close_range(STDERR_FILENO + 1, (unsigned)sock - 1, 0);
    close_range((unsigned)sock + 1, ~0u, 0);
    return sock;
}

static void children_add(struct children *c, pid_t pid, unsigned worker_id)
{
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct child *list = realloc(c->list, cap * sizeof *list);
        if (!list)
            return; /* its exit will not be reported; PR_SET_PDEATHSIG still holds */
        c->list = list;
        c->cap = cap;
    }
    c->list[c->count++] = (struct child){.pid = pid, .worker_id = worker_id};
}

static bool children_remove(struct children *c, pid_t pid, unsigned *worker_id)
{
    for (size_t i = 0; i < c->count; i++) {
        if (c->list[i].pid == pid) {
            *worker_id = c->list[i].worker_id;
            c->list[i] = c->list[--c->count];
            return true;
        }
    }
    return false;
}

struct zygote_state {
    int sock;
    int sigfd;
    sigset_t worker_mask; /* signal mask the workers start with */
    const struct config *cfg;
    struct children children;
    proto_slot *board;
    unsigned slots;
};

static void spawn_worker(struct zygote_state *st, unsigned worker_id, int fd)
{
    pid_t zygote = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        become_child_of(zygote, "kiln-worker");
        sigprocmask(SIG_SETMASK, &st->worker_mask, NULL);
        close(st->sock);
        close(st->sigfd);
        unsigned slot = worker_id & ZYGOTE_SLOT_MASK;
        worker_main(fd, st->cfg, slot < st->slots ? &st->board[slot] : NULL);
    }
    int err = errno;
    close(fd);
    if (pid < 0) {
        send_msg(st->sock, MSG_SPAWN_FAILED, worker_id, 0, err);
        return;
    }
    children_add(&st->children, pid, worker_id);
    send_msg(st->sock, MSG_SPAWNED, worker_id, pid, 0);
}

static void reap_workers(struct zygote_state *st)
{
    struct signalfd_siginfo info;
    while (read(st->sigfd, &info, sizeof info) == sizeof info)
        ;
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        unsigned worker_id;
        if (children_remove(&st->children, pid, &worker_id))
            send_msg(st->sock, MSG_EXITED, worker_id, pid, status);
    }
}

/* One control message: false when the master closed the socket. */
static bool handle_control(struct zygote_state *st)
{
    struct msg m = {0};
    int fd = -1;
    size_t nfds = 1;
    ssize_t n = proto_recv_fds(st->sock, &m, sizeof m, &fd, &nfds, 0);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN;
    if (n == 0)
        return false;
    if (n == sizeof m && m.kind == MSG_SPAWN && nfds == 1) {
        spawn_worker(st, m.worker_id, fd);
    } else {
        if (nfds == 1)
            close(fd);
        send_msg(st->sock, MSG_SPAWN_FAILED, m.worker_id, 0, EINVAL);
    }
    return true;
}

static void kill_workers(struct children *c)
{
    for (size_t i = 0; i < c->count; i++)
        kill(c->list[i].pid, SIGKILL);
    for (size_t i = 0; i < c->count; i++)
        while (waitpid(c->list[i].pid, NULL, 0) < 0 && errno == EINTR)
            ;
    free(c->list);
}

static noreturn void serve(int sock, const struct config *cfg, proto_slot *board, unsigned slots)
{
    struct zygote_state st = {.sock = sock, .cfg = cfg, .board = board, .slots = slots};
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &st.worker_mask);
    st.sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    for (;;) {
        struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = st.sigfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            reap_workers(&st);
        if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !handle_control(&st))
            break;
    }
    kill_workers(&st.children);
    close(st.sigfd);
    close(sock);
    kiln_sapi_exit(0, true);
}

static noreturn void zygote_main(int sock, const struct config *cfg, pid_t master,
                                 proto_slot *board, unsigned slots)
{
    become_child_of(master, "kiln-zygote");
    setpgid(0, 0);
    reset_signals();
    sock = isolate_fds(sock);
    struct msg m = {.kind = MSG_READY};
    if (kiln_sapi_startup(cfg, m.text, sizeof m.text) < 0) {
        m.kind = MSG_START_FAILED;
        send(sock, &m, sizeof m, MSG_NOSIGNAL);
        _exit(1);
    }
    m.status = kiln_sapi_opcache_enabled();
    send(sock, &m, sizeof m, MSG_NOSIGNAL);
    serve(sock, cfg, board, slots);
}

/* ---- master side ------------------------------------------------------------------------ */

static ssize_t recv_msg(int fd, struct msg *m, int flags)
{
    ssize_t n;
    do {
        n = recv(fd, m, sizeof *m, flags);
    } while (n < 0 && errno == EINTR);
    return n;
}

int zygote_start(struct zygote *z, const struct config *cfg)
{
    z->pid = -1;
    z->control_fd = -1;
    z->opcache_enabled = false;
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
        zygote_stop(z);
        return -1;
    }
    pid_t master = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        zygote_main(sv[1], cfg, master, z->board, z->slots);
    }
    close(sv[1]);
    if (pid < 0) {
        snprintf(z->err, sizeof z->err, "php-zygote: fork: %s", strerror(errno));
        close(sv[0]);
        zygote_stop(z);
        return -1;
    }
    z->pid = pid;
    z->control_fd = sv[0];
    struct msg m;
    ssize_t n = recv_msg(sv[0], &m, 0);
    if (n == sizeof m && m.kind == MSG_READY) {
        z->opcache_enabled = m.status != 0;
        fcntl(sv[0], F_SETFL, O_NONBLOCK);
        return 0;
    }
    if (n == sizeof m && m.kind == MSG_START_FAILED) {
        m.text[sizeof m.text - 1] = '\0';
        snprintf(z->err, sizeof z->err, "%s", m.text);
    } else {
        snprintf(z->err, sizeof z->err,
                 "php-zygote ended during PHP start-up (see the messages above)");
    }
    zygote_stop(z);
    return -1;
}

int zygote_spawn(struct zygote *z, unsigned worker_id)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    struct msg m = {.kind = MSG_SPAWN, .worker_id = worker_id};
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

proto_slot *zygote_slot(const struct zygote *z, unsigned slot)
{
    return z->board && slot < z->slots ? &z->board[slot] : NULL;
}

int zygote_control_fd(const struct zygote *z)
{
    return z->control_fd;
}

int zygote_read_event(struct zygote *z, struct zygote_event *ev)
{
    struct msg m;
    ssize_t n = recv_msg(z->control_fd, &m, MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    if (n != sizeof m)
        return -1;
    switch (m.kind) {
    case MSG_SPAWNED:
        ev->kind = ZYGOTE_SPAWNED;
        break;
    case MSG_EXITED:
        ev->kind = ZYGOTE_EXITED;
        break;
    case MSG_SPAWN_FAILED:
        ev->kind = ZYGOTE_SPAWN_FAILED;
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
static bool zygote_reaped(pid_t pid)
{
    pid_t r = waitpid(pid, NULL, WNOHANG);
    return r == pid || (r < 0 && errno == ECHILD);
}

void zygote_stop(struct zygote *z)
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
        if (zygote_reaped(z->pid)) {
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
