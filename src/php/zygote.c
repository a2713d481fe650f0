#include "php/zygote.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <php_version.h> /* PHP_VERSION only: the zygote itself calls PHP through sapi.h */

#include "base.h"
#include "php/opcache_stats.h"
#include "php/sapi.h"
#include "php/worker.h"
#include "pool/proto.h"
#include "pool/zygote_ctl.h"

#define WORKERS_EXIT_GRACE_MS 3000

struct child {
    pid_t pid;
    unsigned worker_id;
};

struct children {
    struct child *list;
    size_t count;
    size_t cap;
};

static void send_msg(int sock, enum zygote_ctl_msg_kind kind, unsigned worker_id, pid_t pid,
                     int status)
{
    struct zygote_ctl_msg m = {.kind = kind, .worker_id = worker_id, .pid = pid, .status = status};
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

static struct child *children_find(const struct children *c, pid_t pid)
{
    for (size_t i = 0; i < c->count; i++) {
        if (c->list[i].pid == pid)
            return &c->list[i];
    }
    return NULL;
}

static bool children_remove(struct children *c, pid_t pid, unsigned *worker_id)
{
    struct child *found = children_find(c, pid);
    if (!found)
        return false;
    *worker_id = found->worker_id;
    *found = c->list[--c->count];
    return true;
}

struct zygote_state {
    int sock;
    int sigfd;
    sigset_t worker_mask; /* signal mask the workers start with */
    const struct config *cfg;
    struct children children;
    proto_slot *board;
    struct scoreboard_slot *scoreboard;
    unsigned slots;
};

static void spawn_worker(struct zygote_state *st, unsigned worker_id, int fd)
{
    pid_t zygote = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0); /* its own process group: killed as one with what its scripts start */
        become_child_of(zygote, "kiln-worker");
        sigprocmask(SIG_SETMASK, &st->worker_mask, NULL);
        close(st->sock);
        close(st->sigfd);
        unsigned slot = worker_id & ZYGOTE_CTL_SLOT_MASK;
        bool mine = slot < st->slots;
        worker_main(fd, st->cfg, mine ? &st->board[slot] : NULL,
                    mine ? &st->scoreboard[slot] : NULL);
    }
    int err = errno;
    close(fd);
    if (pid < 0) {
        send_msg(st->sock, ZYGOTE_CTL_MSG_SPAWN_FAILED, worker_id, 0, err);
        return;
    }
    setpgid(pid, pid); /* here too: the group exists before the master can kill it */
    children_add(&st->children, pid, worker_id);
    send_msg(st->sock, ZYGOTE_CTL_MSG_SPAWNED, worker_id, pid, 0);
}

/* The parent of `pid` from /proc/<pid>/stat, or -1. */
static pid_t parent_of(const char *pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *end_of_name = strrchr(buf, ')'); /* "pid (comm) state ppid ..." */
    char state;
    int ppid;
    if (!end_of_name || sscanf(end_of_name + 1, " %c %d", &state, &ppid) != 2)
        return -1;
    return ppid;
}

/*
 * The zygote is a child subreaper: a process whose worker died (one that left the worker's
 * process group with setsid(), say) becomes the zygote's child. Every child of the zygote that
 * is not a live worker is such an orphan, and is killed.
 */
static void kill_orphans(const struct children *c)
{
    DIR *proc = opendir("/proc");
    if (!proc)
        return;
    pid_t self = getpid();
    struct dirent *e;
    while ((e = readdir(proc))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9' || parent_of(e->d_name) != self)
            continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        if (!children_find(c, pid))
            kill(pid, SIGKILL);
    }
    closedir(proc);
}

/*
 * Reaps every child that ended. A worker's process group is killed while its zombie still
 * holds the group's id (so the id cannot name another group), and its exit is reported; other
 * children are orphans, reaped silently.
 */
static void reap_children(struct zygote_state *st)
{
    struct signalfd_siginfo sig;
    while (read(st->sigfd, &sig, sizeof sig) == sizeof sig)
        ;
    bool worker_ended = false;
    for (;;) {
        siginfo_t info = {0};
        if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 || info.si_pid == 0)
            break;
        pid_t pid = info.si_pid;
        unsigned worker_id;
        bool worker = children_remove(&st->children, pid, &worker_id);
        if (worker)
            kill(-pid, SIGKILL);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (worker) {
            send_msg(st->sock, ZYGOTE_CTL_MSG_EXITED, worker_id, pid, status);
            worker_ended = true;
        }
    }
    if (worker_ended)
        kill_orphans(&st->children);
}

/* One control message: false when the master closed the socket. */
static bool handle_control(struct zygote_state *st)
{
    struct zygote_ctl_msg m = {0};
    int fd = -1;
    size_t nfds = 1;
    ssize_t n = proto_recv_fds(st->sock, &m, sizeof m, &fd, &nfds, 0);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN;
    if (n == 0)
        return false;
    if (n == sizeof m && m.kind == ZYGOTE_CTL_MSG_SPAWN && nfds == 1) {
        spawn_worker(st, m.worker_id, fd);
    } else {
        if (nfds == 1)
            close(fd);
        send_msg(st->sock, ZYGOTE_CTL_MSG_SPAWN_FAILED, m.worker_id, 0, EINVAL);
    }
    return true;
}

/*
 * The master closed our socket (shutdown, or a reload retired us) after closing the workers'
 * sockets: each worker ends its loop and exits on its own, a worker script after running the
 * code that follows its kiln_handle_request() loop. They get WORKERS_EXIT_GRACE_MS for that
 * (less than the master waits for us, pool/zygote_ctl.c).
 */
static void wait_for_workers(struct zygote_state *st)
{
    uint64_t deadline_ms = clock_usec(CLOCK_MONOTONIC) / 1000 + WORKERS_EXIT_GRACE_MS;
    while (st->children.count > 0) {
        uint64_t now_ms = clock_usec(CLOCK_MONOTONIC) / 1000;
        if (now_ms >= deadline_ms)
            return;
        struct pollfd p = {.fd = st->sigfd, .events = POLLIN};
        if (poll(&p, 1, (int)(deadline_ms - now_ms)) > 0)
            reap_children(st);
    }
}

/* At shutdown: every worker's process group, then orphans until no child is left. */
static void kill_all(struct children *c)
{
    for (size_t i = 0; i < c->count; i++)
        kill(-c->list[i].pid, SIGKILL);
    c->count = 0; /* from now on every child is killed */
    for (;;) {
        kill_orphans(c);
        if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD)
            break;
    }
    free(c->list);
}

static noreturn void serve(int sock, const struct config *cfg, proto_slot *board,
                           struct scoreboard_slot *scoreboard, unsigned slots)
{
    struct zygote_state st = {.sock = sock, .cfg = cfg, .board = board, .scoreboard = scoreboard,
                              .slots = slots};
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
            reap_children(&st);
        if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !handle_control(&st))
            break;
    }
    wait_for_workers(&st);
    kill_all(&st.children);
    close(st.sigfd);
    close(sock);
    kiln_sapi_exit(0, true);
}

noreturn void zygote_main(int sock, const struct config *cfg, pid_t master, proto_slot *board,
                          struct scoreboard_slot *scoreboard, unsigned slots)
{
    become_child_of(master, "kiln-zygote");
    setpgid(0, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    reset_signals();
    sock = isolate_fds(sock);
    struct zygote_ctl_msg m = {.kind = ZYGOTE_CTL_MSG_READY};
    if (kiln_sapi_startup(cfg, m.text, sizeof m.text) < 0) {
        m.kind = ZYGOTE_CTL_MSG_START_FAILED;
        send(sock, &m, sizeof m, MSG_NOSIGNAL);
        _exit(1);
    }
    m.status = (kiln_sapi_opcache_enabled() ? ZYGOTE_CTL_READY_OPCACHE : 0) |
               (opcache_stats_jit_configured() ? ZYGOTE_CTL_READY_JIT : 0);
    snprintf(m.text, sizeof m.text, "%s", PHP_VERSION);
    send(sock, &m, sizeof m, MSG_NOSIGNAL);
    serve(sock, cfg, board, scoreboard, slots);
}
