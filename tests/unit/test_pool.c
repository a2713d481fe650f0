/*
 * Unit tests for src/pool/pool.c: the worker pool's state machine, without PHP.
 *
 * The test plays the php-zygote and the workers. The pool gets a `struct zygote_ctl` made by
 * hand around a SOCK_SEQPACKET socketpair and a begin board (proto_board_map); the test reads
 * the spawn requests (and the worker's socket) from the other end and answers SPAWNED/EXITED,
 * then reads REQUEST frames from each worker's socket, claims them on the board and answers
 * HEADERS/BODY/END. The real event loop runs step by step in between.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "net/loop.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "pool/pool.h"
#include "pool/proto.h"
#include "pool/scoreboard.h"
#include "pool/zygote_ctl.h"

#define WORKERS 2
/* pool.c's RESPAWN_DELAY_MS: the wait before replacing a worker that died young and idle */
#define RESPAWN_DELAY_MS 1000
/* Above PID_MAX_LIMIT (2^22): kill(-pid) on a fake pid can never reach a real process group. */
#define FAKE_PID_BASE 0x5000000
/* Loop steps of at most 10 ms before a condition counts as never coming true (ASan is slow). */
#define MAX_STEPS 500

/* ---- fixture: the fake zygote and its workers -------------------------------------------- */

struct fake_worker {
    int fd;             /* the worker's end of its socketpair; -1 when it is gone */
    unsigned worker_id; /* as the pool gave it to the zygote: slot and generation */
    pid_t pid;
    uint32_t received;  /* REQUEST frames read: their positions on the board */
    struct proto_decoder in;
};

/* The job's owner, as a client connection would be. */
struct owner {
    int status;         /* from HEADERS */
    char body[64];
    size_t body_len;
    int completes;
    int fails;
    int fail_status;
};

struct fixture {
    struct config cfg;
    struct loop *loop;
    struct zygote_ctl z;
    int zygote_fd;      /* the test's end of the control socket */
    struct pool *pool;
    struct fake_worker w[WORKERS];
    pid_t next_pid;
    pid_t sleeper;      /* a real process to be killed at a deadline, or 0 */
    /* Jobs' owners outlive a failed test: the pool may still call them in teardown. */
    struct owner own[3];
};


static void on_headers(void *o, const struct proto_headers *h)
{
    ((struct owner *)o)->status = (int)h->status;
}

static void on_body(void *o, const uint8_t *data, size_t len, bool flush)
{
    (void)flush;
    struct owner *own = o;
    assert_true(own->body_len + len <= sizeof own->body);
    memcpy(own->body + own->body_len, data, len);
    own->body_len += len;
}

static void on_complete(void *o)
{
    ((struct owner *)o)->completes++;
}

static void on_fail(void *o, int status)
{
    struct owner *own = o;
    own->fails++;
    own->fail_status = status;
}

static const struct pool_job_ops owner_ops = {on_headers, on_body, on_complete, on_fail};

/* Runs the loop until `cond` holds, failing the test if it never does. */
#define RUN_UNTIL(f, cond)                                                                        \
    do {                                                                                          \
        for (int step_ = 0; !(cond); step_++) {                                                   \
            assert_true(step_ < MAX_STEPS);                                                       \
            assert_int_equal(loop_run_once((f)->loop, 10), 0);                                    \
        }                                                                                         \
    } while (0)

/* Lets the pool handle whatever is already readable, without waiting for timers. */
static void settle(struct fixture *f)
{
    for (int i = 0; i < 5; i++)
        assert_int_equal(loop_run_once(f->loop, 0), 0);
}

/* The fake zygote: takes one pending spawn request; returns its slot, or -1 when none. */
static int zygote_take_spawn(struct fixture *f)
{
    struct zygote_ctl_msg m;
    int fd = -1;
    size_t nfds = 1;
    ssize_t n = proto_recv_fds(f->zygote_fd, &m, sizeof m, &fd, &nfds, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return -1;
    assert_int_equal(n, sizeof m);
    assert_int_equal(m.kind, ZYGOTE_CTL_MSG_SPAWN);
    assert_int_equal(nfds, 1);
    unsigned slot = m.worker_id & ZYGOTE_CTL_SLOT_MASK;
    assert_true(slot < WORKERS);
    struct fake_worker *w = &f->w[slot];
    assert_int_equal(w->fd, -1); /* the slot's previous process is gone */
    w->fd = fd;
    w->worker_id = m.worker_id;
    w->pid = 0;
    w->received = 0;
    proto_decoder_free(&w->in);
    proto_decoder_init(&w->in, 0);
    return (int)slot;
}

static void zygote_report(struct fixture *f, enum zygote_ctl_msg_kind kind, unsigned slot,
                          int status)
{
    struct zygote_ctl_msg m = {.kind = kind, .worker_id = f->w[slot].worker_id,
                               .pid = f->w[slot].pid, .status = status};
    assert_int_equal(send(f->zygote_fd, &m, sizeof m, 0), sizeof m);
}

/* Forks the worker asked for: `pid` as its pid (0: a fake one) and SPAWNED. */
static void zygote_spawned(struct fixture *f, unsigned slot, pid_t pid)
{
    f->w[slot].pid = pid ? pid : f->next_pid++;
    zygote_report(f, ZYGOTE_CTL_MSG_SPAWNED, slot, 0);
}

/* The worker ends: its socket closes and the zygote reports the exit. */
static void worker_die(struct fixture *f, unsigned slot, int wait_status)
{
    close(f->w[slot].fd);
    f->w[slot].fd = -1;
    zygote_report(f, ZYGOTE_CTL_MSG_EXITED, slot, wait_status);
}

/* Nothing was sent to the worker (no REQUEST waits in its socket). */
static bool worker_idle_input(struct fixture *f, unsigned slot)
{
    char c;
    ssize_t n = recv(f->w[slot].fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
           proto_decoder_pending(&f->w[slot].in) == 0;
}

/* The worker reads its next REQUEST: returns its seq; *position is its place on the board. */
static uint32_t worker_read_request(struct fixture *f, unsigned slot, uint32_t *position)
{
    struct fake_worker *w = &f->w[slot];
    struct proto_frame fr;
    int rc;
    while ((rc = proto_decoder_next(&w->in, &fr)) == 0) {
        struct pollfd p = {.fd = w->fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 5000), 1);
        size_t avail;
        uint8_t *space = proto_decoder_space(&w->in, &avail);
        assert_non_null(space);
        ssize_t n = read(w->fd, space, avail);
        assert_true(n > 0);
        proto_decoder_commit(&w->in, (size_t)n);
    }
    assert_int_equal(rc, 1);
    assert_int_equal(fr.type, PROTO_REQUEST);
    struct proto_request req;
    assert_int_equal(proto_parse_request(&fr, &req), 0);
    *position = proto_position_next(&w->received);
    return req.head.seq;
}

static bool worker_begin(struct fixture *f, unsigned slot, uint32_t position)
{
    return proto_slot_begin(&f->z.board[slot], position);
}

static void worker_write(struct fixture *f, unsigned slot, struct buf *b)
{
    assert_int_equal(write(f->w[slot].fd, b->data, b->len), (ssize_t)b->len);
    buf_free(b);
}

static void worker_send_headers(struct fixture *f, unsigned slot, uint32_t status)
{
    struct buf b = {0};
    struct proto_builder pb;
    proto_headers_begin(&pb, &b, status, 0);
    proto_builder_add(&pb, "Content-Type", 12, "text/plain", 10);
    assert_int_equal(proto_builder_end(&pb), 0);
    worker_write(f, slot, &b);
}

/* The whole response to the request `seq`: HEADERS 200, BODY `body`, END. */
static void worker_answer(struct fixture *f, unsigned slot, uint32_t seq, const char *body)
{
    worker_send_headers(f, slot, 200);
    struct buf b = {0};
    size_t open = PROTO_NO_FRAME;
    assert_int_equal(proto_put_body(&b, &open, body, strlen(body)), 0);
    struct proto_end end = {.seq = seq};
    assert_int_equal(proto_put_end(&b, &end), 0);
    worker_write(f, slot, &b);
}

/* A new job for `own`, its REQUEST encoded, submitted. */
static struct pool_job *submit(struct fixture *f, struct owner *own)
{
    struct pool_job *job = pool_job_create(f->pool, &owner_ops, own);
    struct proto_request_head head = {.seq = pool_job_seq(job), .script = "/srv/index.php",
                                      .script_len = 14};
    struct proto_builder pb;
    proto_request_begin(&pb, pool_job_frames(job), &head);
    proto_builder_add(&pb, "REQUEST_METHOD", 14, "GET", 3);
    assert_int_equal(proto_builder_end(&pb), 0);
    assert_int_equal(pool_submit(job), 0);
    return job;
}

/* A process in a group of its own, as the zygote makes each worker, that waits to be killed. */
static pid_t fork_sleeper(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        for (;;)
            pause();
    }
    setpgid(pid, pid); /* also here: the pool may kill(-pid) before the child runs */
    return pid;
}

static int setup_with(void **state, uint64_t request_timeout_secs, bool real_pid)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    log_init(LOG_LEVEL_ERROR, "test_pool");
    f->cfg.php_workers = WORKERS;
    f->cfg.queue_capacity = 100;
    f->cfg.request_timeout_secs = request_timeout_secs;
    f->next_pid = FAKE_PID_BASE;
    for (unsigned i = 0; i < WORKERS; i++) {
        f->w[i].fd = -1;
        proto_decoder_init(&f->w[i].in, 0);
    }
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    f->z.pid = -1; /* no process: zygote_ctl_stop() only closes and unmaps */
    f->z.control_fd = sv[0];
    f->z.slots = WORKERS;
    f->z.board = proto_board_map(WORKERS);
    assert_non_null(f->z.board);
    f->z.scoreboard = scoreboard_map(WORKERS);
    assert_non_null(f->z.scoreboard);
    f->zygote_fd = sv[1];
    f->loop = loop_create();
    assert_non_null(f->loop);
    f->pool = pool_create(f->loop, &f->cfg, &f->z);
    assert_non_null(f->pool);
    /* The pool asks for every worker at once; slot 0 may be a real process to kill. */
    for (unsigned i = 0; i < WORKERS; i++) {
        int slot = zygote_take_spawn(f);
        assert_int_equal(slot, (int)i);
        if (i == 0 && real_pid)
            f->sleeper = fork_sleeper();
        zygote_spawned(f, i, i == 0 && real_pid ? f->sleeper : 0);
    }
    assert_int_equal(zygote_take_spawn(f), -1);
    settle(f);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, 0, false);
}

static int setup_timeout(void **state)
{
    return setup_with(state, 1, true);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pool_destroy(f->pool); /* stops the zygote it took over: closes and unmaps */
    loop_destroy(f->loop);
    close(f->zygote_fd);
    for (unsigned i = 0; i < WORKERS; i++) {
        if (f->w[i].fd >= 0)
            close(f->w[i].fd);
        proto_decoder_free(&f->w[i].in);
    }
    if (f->sleeper > 0) { /* not reaped by the test: it failed before the deadline */
        kill(-f->sleeper, SIGKILL);
        waitpid(f->sleeper, NULL, 0);
    }
    free(f);
    return 0;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_job_runs_on_an_idle_worker_and_end_makes_it_idle(void **state)
{
    struct fixture *f = *state;
    struct owner *a = &f->own[0], *b = &f->own[1];
    struct pool_job *job = submit(f, a);
    assert_int_equal(pool_job_worker_id(job), 0);
    uint32_t pos;
    uint32_t seq = worker_read_request(f, 0, &pos);
    assert_int_equal(seq, pool_job_seq(job));
    assert_int_equal(pos, 1);
    assert_true(worker_idle_input(f, 1));
    assert_true(worker_begin(f, 0, pos));
    worker_answer(f, 0, seq, "hello");
    RUN_UNTIL(f, a->completes == 1);
    assert_int_equal(a->status, 200);
    assert_int_equal(a->body_len, 5);
    assert_memory_equal(a->body, "hello", 5);
    assert_int_equal(a->fails, 0);

    /* idle again: the next job goes to worker 0, not to worker 1 */
    job = submit(f, b);
    assert_int_equal(pool_job_worker_id(job), 0);
    seq = worker_read_request(f, 0, &pos);
    assert_int_equal(pos, 2);
    assert_true(worker_idle_input(f, 1));
    assert_true(worker_begin(f, 0, pos));
    worker_answer(f, 0, seq, "again");
    RUN_UNTIL(f, b->completes == 1);
    assert_int_equal(b->body_len, 5);
    assert_int_equal(a->completes, 1);
    assert_int_equal(a->fails + b->fails, 0);
}

/* Its script may have run: running it again could repeat what it did. Respawned at once. */
static void test_worker_dies_after_begin_502_not_requeued(void **state)
{
    struct fixture *f = *state;
    struct owner *a = &f->own[0];
    submit(f, a);
    uint32_t pos;
    worker_read_request(f, 0, &pos);
    assert_true(worker_begin(f, 0, pos));
    worker_die(f, 0, SIGSEGV); /* wait status: killed by SIGSEGV */
    RUN_UNTIL(f, a->fails == 1);
    assert_int_equal(a->fail_status, 502);
    assert_int_equal(a->completes, 0);
    struct pool_stats st;
    pool_stats(f->pool, &st);
    assert_int_equal(st.restarts[POOL_EXIT_CRASHED], 1);
    assert_int_equal(st.restarts[POOL_EXIT_KILLED] + st.restarts[POOL_EXIT_TIMED_OUT] +
                     st.restarts[POOL_EXIT_RECYCLED], 0);
    assert_int_equal(st.pending, 0);
    struct pool_worker_info info[WORKERS];
    assert_int_equal(pool_worker_snapshot(f->pool, info, WORKERS), WORKERS);
    assert_int_equal(info[0].last_exit, POOL_EXIT_CRASHED);
    assert_int_equal(info[0].last_exit_status, SIGSEGV);
    assert_int_equal(info[1].last_exit, POOL_EXIT_NONE);
    /* replaced at once: the spawn request is already there, no timer has to fire */
    assert_int_equal(zygote_take_spawn(f), 0);
    assert_int_equal(f->w[0].worker_id >> ZYGOTE_CTL_SLOT_BITS, 2); /* second generation */
    zygote_spawned(f, 0, 0);
    settle(f);
    /* not requeued: neither the other worker nor the new one gets it */
    assert_true(worker_idle_input(f, 0));
    assert_true(worker_idle_input(f, 1));
    assert_int_equal(a->fails, 1);
    assert_int_equal(a->completes, 0);
}

/* Provably never begun: it runs elsewhere. The worker died young and idle: respawned later. */
static void test_worker_dies_before_begin_job_requeued(void **state)
{
    struct fixture *f = *state;
    struct owner *a = &f->own[0];
    struct pool_job *job = submit(f, a);
    uint32_t seq = pool_job_seq(job);
    uint32_t pos;
    assert_int_equal(worker_read_request(f, 0, &pos), seq);
    worker_die(f, 0, 0); /* read it, never claimed it */
    RUN_UNTIL(f, pool_job_worker_id(job) == 1);
    uint64_t died_ms = loop_now_ms(f->loop);
    assert_int_equal(worker_read_request(f, 1, &pos), seq);
    assert_int_equal(pos, 1);
    assert_int_equal(a->fails, 0);
    /* no replacement yet: it waits for the respawn timer */
    assert_int_equal(zygote_take_spawn(f), -1);

    assert_true(worker_begin(f, 1, pos));
    worker_answer(f, 1, seq, "ok");
    RUN_UNTIL(f, a->completes == 1);
    assert_int_equal(a->status, 200);
    assert_int_equal(a->fails, 0);

    int slot;
    RUN_UNTIL(f, (slot = zygote_take_spawn(f)) >= 0);
    assert_int_equal(slot, 0);
    /* the loop's clock, not wall time: the timer fired RESPAWN_DELAY_MS after the death */
    assert_true(loop_now_ms(f->loop) - died_ms >= RESPAWN_DELAY_MS);
    assert_int_equal(f->w[0].worker_id >> ZYGOTE_CTL_SLOT_BITS, 2);
}

/*
 * A job sent ahead to a busy worker goes to the first worker that becomes idle, unless the busy
 * one has begun it: the board decides, and the busy worker then skips it.
 */
static void test_job_sent_ahead_is_taken_back_by_an_idle_worker(void **state)
{
    struct fixture *f = *state;
    struct owner *a = &f->own[0], *b = &f->own[1], *c = &f->own[2];
    /* No loop step in between: the loop's clock stands still, so worker 0's request is short
       by every measure and the third job is sent ahead to it. */
    struct pool_job *ja = submit(f, a);
    struct pool_job *jb = submit(f, b);
    struct pool_job *jc = submit(f, c);
    assert_int_equal(pool_job_worker_id(ja), 0);
    assert_int_equal(pool_job_worker_id(jb), 1);
    assert_int_equal(pool_job_worker_id(jc), 0);
    uint32_t seq_a = pool_job_seq(ja), seq_b = pool_job_seq(jb), seq_c = pool_job_seq(jc);

    uint32_t pos_a, pos_b, pos_c;
    assert_int_equal(worker_read_request(f, 0, &pos_a), seq_a);
    assert_true(worker_begin(f, 0, pos_a));
    assert_int_equal(worker_read_request(f, 0, &pos_c), seq_c); /* ahead, not begun yet */
    assert_int_equal(pos_c, 2);
    assert_int_equal(worker_read_request(f, 1, &pos_b), seq_b);
    assert_true(worker_begin(f, 1, pos_b));
    worker_answer(f, 1, seq_b, "b");
    RUN_UNTIL(f, b->completes == 1);

    /* worker 1 is idle: the job comes back from worker 0 and runs there */
    assert_int_equal(pool_job_worker_id(jc), 1);
    assert_int_equal(atomic_load(&f->z.board[0]), (uint64_t)pos_c << 32 | pos_a);
    assert_int_equal(worker_read_request(f, 1, &pos_b), seq_c);
    assert_false(worker_begin(f, 0, pos_c)); /* worker 0 must skip it */

    worker_answer(f, 0, seq_a, "a");
    RUN_UNTIL(f, a->completes == 1);
    assert_true(worker_begin(f, 1, pos_b));
    worker_answer(f, 1, seq_c, "c");
    RUN_UNTIL(f, c->completes == 1);
    assert_int_equal(c->body_len, 1);
    assert_memory_equal(c->body, "c", 1);
    settle(f);
    assert_int_equal(a->completes + b->completes + c->completes, 3);
    assert_int_equal(a->fails + b->fails + c->fails, 0);
    assert_true(worker_idle_input(f, 0));
    assert_true(worker_idle_input(f, 1));
}

/* pool_destroy(): the owners of jobs still pending, a job sent ahead included, hear nothing. */
static void test_destroy_tells_no_pending_owner(void **state)
{
    struct fixture *f = *state;
    struct owner *a = &f->own[0], *b = &f->own[1], *c = &f->own[2];
    submit(f, a);
    submit(f, b);
    struct pool_job *jc = submit(f, c);
    assert_int_equal(pool_job_worker_id(jc), 0); /* sent ahead, as in the test above */
    pool_destroy(f->pool);
    f->pool = NULL;
    assert_int_equal(a->fails + b->fails + c->fails, 0);
    assert_int_equal(a->completes + b->completes + c->completes, 0);
}

/* REQUEST_TIMEOUT: 504 to the owner, SIGKILL to the worker's process group, a new worker. */
static void test_deadline_kills_the_worker(void **state)
{
    struct fixture *f = *state;
    struct owner *a = &f->own[0];
    submit(f, a);
    uint32_t pos;
    worker_read_request(f, 0, &pos);
    assert_true(worker_begin(f, 0, pos));
    worker_send_headers(f, 0, 200); /* and then it hangs */
    RUN_UNTIL(f, a->fails == 1);
    assert_int_equal(a->fail_status, 504);
    assert_int_equal(a->status, 200);
    assert_int_equal(a->completes, 0);

    int status;
    RUN_UNTIL(f, waitpid(f->sleeper, &status, WNOHANG) == f->sleeper);
    f->sleeper = 0;
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    struct pool_stats st;
    pool_stats(f->pool, &st);
    assert_int_equal(st.restarts[POOL_EXIT_TIMED_OUT], 1);

    /* it had begun a request: replaced at once; the late EXITED of the old one changes nothing */
    worker_die(f, 0, status);
    assert_int_equal(zygote_take_spawn(f), 0);
    zygote_spawned(f, 0, 0);
    settle(f);
    assert_int_equal(a->fails, 1);
    assert_true(worker_idle_input(f, 0));
    assert_true(worker_idle_input(f, 1));
}

/* Counters and gauges as the pool moves: pending, busy/idle, dropped, queue wait. */
static void test_stats_follow_the_jobs(void **state)
{
    struct fixture *f = *state;
    struct owner *a = &f->own[0], *b = &f->own[1], *c = &f->own[2];
    static const double bounds[] = {0.001, 1};
    struct metrics_registry *reg = metrics_new();
    struct metrics_family *fam = metrics_register(
        reg, METRICS_HISTOGRAM,
        &(struct metrics_desc){.name = "kiln_queue_wait_seconds", .help = "Queue wait.",
                               .buckets = bounds, .nbuckets = 2});
    struct metrics_histogram *h = metrics_histogram_at(fam, NULL);
    struct metrics_family *php_fam = metrics_register(
        reg, METRICS_HISTOGRAM,
        &(struct metrics_desc){.name = "kiln_php_duration_seconds", .help = "PHP time.",
                               .buckets = bounds, .nbuckets = 2});
    struct metrics_histogram *php = metrics_histogram_at(php_fam, NULL);
    pool_set_histograms(f->pool, h, php);

    struct pool_stats st;
    pool_stats(f->pool, &st);
    assert_int_equal(st.workers, WORKERS);
    assert_int_equal(st.by_state[POOL_WORKER_IDLE], WORKERS);
    assert_int_equal(st.pending + st.queued + st.dropped, 0);

    submit(f, a);
    submit(f, b);
    submit(f, c); /* sent ahead to worker 0 */
    pool_stats(f->pool, &st);
    assert_int_equal(st.by_state[POOL_WORKER_BUSY], 2);
    assert_int_equal(st.by_state[POOL_WORKER_IDLE], 0);
    assert_int_equal(st.pending, 3);
    assert_int_equal(st.queued, 0);

    f->cfg.queue_capacity = 0; /* the next one finds the queue full */
    struct pool_job *dropped = pool_job_create(f->pool, &owner_ops, NULL);
    assert_int_equal(pool_submit(dropped), -1);
    f->cfg.queue_capacity = 100;
    pool_stats(f->pool, &st);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.pending, 3);

    uint32_t pos;
    uint32_t seq_a = worker_read_request(f, 0, &pos);
    assert_true(worker_begin(f, 0, pos));
    uint32_t seq_c = worker_read_request(f, 0, &pos);
    worker_answer(f, 0, seq_a, "a");
    RUN_UNTIL(f, a->completes == 1);
    assert_true(worker_begin(f, 0, pos));
    worker_answer(f, 0, seq_c, "c");
    uint32_t seq_b = worker_read_request(f, 1, &pos);
    assert_true(worker_begin(f, 1, pos));
    worker_answer(f, 1, seq_b, "b");
    RUN_UNTIL(f, b->completes == 1 && c->completes == 1);
    pool_stats(f->pool, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.by_state[POOL_WORKER_IDLE], WORKERS);
    /* every job that began was observed once, the dropped one never */
    assert_int_equal(h->counts[0] + h->counts[1] + h->counts[2], 3);
    /* and every answered job's PHP time once */
    assert_int_equal(php->counts[0] + php->counts[1] + php->counts[2], 3);
    pool_destroy(f->pool); /* before the histogram goes */
    f->pool = NULL;
    metrics_free(reg);
}

/* /workers: a busy worker shows the request it published on the scoreboard. */
static void test_snapshot_shows_the_busy_workers_request(void **state)
{
    struct fixture *f = *state;
    struct owner *a = &f->own[0];
    struct pool_job *job = submit(f, a);
    uint32_t pos;
    uint32_t seq = worker_read_request(f, 0, &pos);
    struct pool_worker_info info[WORKERS];
    assert_int_equal(pool_worker_snapshot(f->pool, info, WORKERS), WORKERS);
    assert_int_equal(info[0].state, POOL_WORKER_BUSY);
    assert_int_equal(info[0].pid, FAKE_PID_BASE);
    assert_true(info[0].has_request);
    assert_false(info[0].request_known); /* sent, not yet published */
    assert_int_equal(info[0].request.seq, seq);
    assert_true(info[0].request.begin_usec > 0);
    assert_int_equal(info[0].rss_bytes, 0); /* a fake pid has no /proc entry */
    assert_int_equal(info[1].state, POOL_WORKER_IDLE);
    assert_false(info[1].has_request);

    assert_true(worker_begin(f, 0, pos));
    scoreboard_publish_request(&f->z.scoreboard[0], seq, "PUT", 3, "/x?y=1", 6, 42);
    assert_int_equal(pool_worker_snapshot(f->pool, info, 1), 1);
    assert_true(info[0].request_known);
    assert_string_equal(info[0].request.method, "PUT");
    assert_string_equal(info[0].request.uri, "/x?y=1");
    assert_int_equal(info[0].request.begin_usec, 42);

    /* a record of an earlier request is not shown as the current one */
    scoreboard_publish_request(&f->z.scoreboard[0], seq - 1, "GET", 3, "/old", 4, 41);
    assert_int_equal(pool_worker_snapshot(f->pool, info, 1), 1);
    assert_false(info[0].request_known);

    worker_answer(f, 0, seq, "ok");
    RUN_UNTIL(f, a->completes == 1);
    assert_int_equal(pool_worker_snapshot(f->pool, info, 1), 1);
    assert_int_equal(info[0].state, POOL_WORKER_IDLE);
    assert_false(info[0].has_request);
    assert_int_equal(info[0].served, 1);
    (void)job;
}

/* END with PROTO_END_RETIRING, then the exit: recycled. */
static void test_retiring_worker_counts_as_recycled(void **state)
{
    struct fixture *f = *state;
    struct owner *a = &f->own[0];
    submit(f, a);
    uint32_t pos;
    uint32_t seq = worker_read_request(f, 0, &pos);
    assert_true(worker_begin(f, 0, pos));
    worker_send_headers(f, 0, 200);
    struct buf b = {0};
    struct proto_end end = {.seq = seq, .flags = PROTO_END_RETIRING};
    assert_int_equal(proto_put_end(&b, &end), 0);
    worker_write(f, 0, &b);
    RUN_UNTIL(f, a->completes == 1);
    struct pool_worker_info info;
    pool_worker_snapshot(f->pool, &info, 1);
    assert_int_equal(info.state, POOL_WORKER_EXITING);
    worker_die(f, 0, 0);
    int slot;
    RUN_UNTIL(f, (slot = zygote_take_spawn(f)) >= 0);
    struct pool_stats st;
    pool_stats(f->pool, &st);
    assert_int_equal(st.restarts[POOL_EXIT_RECYCLED], 1);
    assert_int_equal(st.restarts[POOL_EXIT_CRASHED] + st.restarts[POOL_EXIT_KILLED], 0);
    assert_int_equal(st.by_state[POOL_WORKER_STARTING], 1); /* its pid is not reported yet */
    assert_int_equal(st.renewing, 1); /* a routine replacement: /ready stays 200 */
    assert_true(st.started); /* a replacement does not make start-up begin again */
}

/* The socket closes before the zygote's report: the wait status decides when it comes. */
static void test_exit_reason_waits_for_the_wait_status(void **state)
{
    struct fixture *f = *state;
    struct owner *a = &f->own[0];
    submit(f, a);
    uint32_t pos;
    worker_read_request(f, 0, &pos);
    assert_true(worker_begin(f, 0, pos));
    close(f->w[0].fd); /* gone; EXITED not sent yet */
    f->w[0].fd = -1;
    RUN_UNTIL(f, a->fails == 1);
    struct pool_stats st;
    pool_stats(f->pool, &st);
    for (int i = 0; i < POOL_EXIT_REASONS; i++)
        assert_int_equal(st.restarts[i], 0);
    zygote_report(f, ZYGOTE_CTL_MSG_EXITED, 0, SIGKILL); /* e.g. the OOM killer */
    settle(f);
    pool_stats(f->pool, &st);
    assert_int_equal(st.restarts[POOL_EXIT_KILLED], 1);
    assert_int_equal(st.by_state[POOL_WORKER_STARTING], 1);
    assert_int_equal(st.renewing, 0); /* replaced after a failure, not a routine one */
    struct pool_worker_info info;
    pool_worker_snapshot(f->pool, &info, 1);
    assert_int_equal(info.last_exit, POOL_EXIT_KILLED);
    assert_string_equal(pool_exit_reason_name(info.last_exit), "killed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_job_runs_on_an_idle_worker_and_end_makes_it_idle,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_dies_after_begin_502_not_requeued, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_worker_dies_before_begin_job_requeued, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_job_sent_ahead_is_taken_back_by_an_idle_worker,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_tells_no_pending_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_kills_the_worker, setup_timeout, teardown),
        cmocka_unit_test_setup_teardown(test_stats_follow_the_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_shows_the_busy_workers_request, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retiring_worker_counts_as_recycled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_reason_waits_for_the_wait_status, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
