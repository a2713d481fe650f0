/*
 * The PHP side end to end, without the master: starts a php-zygote on a temporary document
 * root, spawns workers, sends REQUEST frames built by cgi.c and checks the response frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http/cgi.h"
#include "php/zygote.h"
#include "pool/proto.h"
#include "pool/scoreboard.h"
#include "pool/zygote_ctl.h"

#define TIMEOUT_MS 30000 /* generous: ASan and a cold OPcache are slow */

/* ---- fixture ---------------------------------------------------------------------------- */

struct conn {
    int sock;
    pid_t pid;
    unsigned worker_id;
    struct proto_decoder dec;
};

struct fixture {
    char root[64];
    struct config cfg;
    struct zygote_ctl z;
    struct conn main; /* the worker most tests use */
    uint32_t seq;
};

static struct fixture fx;

static const struct {
    const char *name;
    const char *code;
} scripts[] = {
    {"hello.php", "<?php echo 'Hello, world!';"},
    {"get.php", "<?php echo json_encode($_GET, JSON_UNESCAPED_UNICODE);"},
    {"post.php", "<?php echo json_encode($_POST);"},
    {"input.php", "<?php echo file_get_contents('php://input');"},
    {"teapot.php", "<?php header('X-Test: yes'); header('X-Multi: 1');"
                   " header('X-Multi: 2', false); http_response_code(418); echo 'teapot';"},
    {"cookies.php", "<?php setcookie('a', '1'); setcookie('b', 'x y');"
                    " echo json_encode($_COOKIE);"},
    {"fatal.php", "<?php echo 'partial'; undefined_function();"},
    {"exit.php", "<?php echo 'before|'; exit(3); echo 'after';"},
    {"status.php", "<?php $s = opcache_get_status(false);"
                   " echo json_encode(['sapi' => PHP_SAPI, 'name' => php_sapi_name(),"
                   " 'opcache' => is_array($s) && $s['opcache_enabled'],"
                   " 'jit' => is_array($s) && $s['jit']['on'],"
                   " 'memory_limit' => ini_get('memory_limit')]);"},
    {"finish.php", "<?php echo 'done'; $r = fastcgi_finish_request(); echo 'dropped';"
                   " header('X-Late: 1');"
                   " error_log('finish=' . var_export($r, true) . ' again='"
                   " . var_export(kiln_finish_request(), true));"},
    {"heartbeat.php", "<?php echo json_encode([kiln_request_heartbeat(30),"
                      " tokio_request_heartbeat(), kiln_request_heartbeat(0),"
                      " kiln_request_heartbeat(100000)]);"},
    {"segv.php", "<?php posix_kill(posix_getpid(), 11); sleep(5);"},
    {"shutdown_exit.php", "<?php register_shutdown_function(function () {"
                          " echo '|shutdown'; exit(1); }); echo getmypid();"},
    {"pid.php", "<?php echo getmypid();"},
    {"server.php", "<?php echo json_encode(['server' => $_SERVER,"
                   " 'env_host' => getenv('HTTP_HOST'), 'headers' => getallheaders()],"
                   " JSON_UNESCAPED_SLASHES);"},
    {"flush.php", "<?php echo 'first'; ob_flush(); flush(); usleep(300000); echo 'second';"},
    {"abort.php", "<?php ignore_user_abort(true); echo 'x'; ob_flush(); flush(); $n = 0;"
                  " while (!connection_aborted() && $n++ < 1000) { usleep(10000); echo '.';"
                  " ob_flush(); flush(); }"
                  " error_log('aborted=' . (int)connection_aborted());"},
    {"redirect.php", "<?php header('Location: /elsewhere');"},
    {"upload.php", "<?php $f = $_FILES['file'];"
                   " $d = sys_get_temp_dir() . '/kiln-upload-' . getmypid();"
                   " $ok = move_uploaded_file($f['tmp_name'], $d);"
                   " echo json_encode(['name' => $f['name'], 'size' => $f['size'], 'moved' => $ok,"
                   " 'content' => file_get_contents($d), 'field' => $_POST['field']]);"
                   " unlink($d);"},
    {"cached.php", "<?php var_export(opcache_is_script_cached(__DIR__ . '/' . $_GET['f']));"},
    {"status_header.php", "<?php header('Status: 404 Not Found'); echo 'gone';"},
    {"not_modified.php", "<?php http_response_code(304);"},
    {"session.php", "<?php session_save_path(sys_get_temp_dir()); session_start();"
                    " $_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1; echo $_SESSION['n'];"
                    " if ($_SESSION['n'] > 1) session_destroy();"},
    {"sleep.php", "<?php echo 'working'; ob_flush(); flush(); sleep(30);"},
    {"big.php", "<?php echo str_repeat('0123456789abcdef', 65536);"},
    {"fork.php", "<?php echo 'par'; $p = pcntl_fork(); if ($p === 0) { header('X-Child: 1');"
                 " echo 'CHILD'; error_log('child'); exit(7); }"
                 " pcntl_waitpid($p, $s); echo 'ent', pcntl_wexitstatus($s);"},
};

static void write_scripts(const char *root)
{
    for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", root, scripts[i].name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(scripts[i].code, f);
        fclose(f);
    }
}

static void remove_scripts(const char *root)
{
    for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", root, scripts[i].name);
        unlink(path);
    }
    rmdir(root);
}

static char *ini_sets[] = {
    "opcache.jit=tracing",
    "opcache.jit_buffer_size=16M",
    "opcache.file_update_protection=0", /* cache the scripts written just now */
    "memory_limit=64M",
};

static void init_config(struct config *cfg, unsigned max_requests)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->document_root, sizeof cfg->document_root, "%s", fx.root);
    cfg->php_workers = 1;
    cfg->worker_max_requests = max_requests;
    cfg->request_timeout_secs = 120;
    cfg->php_ini_set_count = sizeof ini_sets / sizeof ini_sets[0];
    for (unsigned i = 0; i < cfg->php_ini_set_count; i++)
        cfg->php_ini_set[i] = ini_sets[i];
}

/* Waits for the next zygote event. */
static void wait_event(struct zygote_ctl *z, struct zygote_ctl_event *ev)
{
    for (;;) {
        int rc = zygote_ctl_read_event(z, ev);
        assert_int_not_equal(rc, -1);
        if (rc == 1)
            return;
        struct pollfd p = {.fd = zygote_ctl_fd(z), .events = POLLIN};
        assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
    }
}

static void spawn(struct zygote_ctl *z, unsigned worker_id, struct conn *c)
{
    c->worker_id = worker_id;
    c->sock = zygote_ctl_spawn(z, worker_id);
    assert_true(c->sock >= 0);
    assert_true(fcntl(c->sock, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(c->sock, F_GETFD) & FD_CLOEXEC);
    struct zygote_ctl_event ev;
    wait_event(z, &ev);
    assert_int_equal(ev.kind, ZYGOTE_CTL_SPAWNED);
    assert_int_equal(ev.worker_id, worker_id);
    assert_true(ev.pid > 0);
    c->pid = ev.pid;
    proto_decoder_init(&c->dec, 0);
}

static void conn_close(struct conn *c)
{
    close(c->sock);
    proto_decoder_free(&c->dec);
}

static int setup(void **state)
{
    (void)state;
    setenv("USE_ZEND_ALLOC", "0", 1); /* emalloc through malloc: ASan sees PHP's heap too */
    snprintf(fx.root, sizeof fx.root, "/tmp/kiln-test-XXXXXX");
    if (!mkdtemp(fx.root))
        return -1;
    write_scripts(fx.root);
    init_config(&fx.cfg, 0);
    if (zygote_ctl_start(&fx.z, &fx.cfg, zygote_main) < 0) {
        fprintf(stderr, "zygote_ctl_start: %s\n", fx.z.err);
        return -1;
    }
    spawn(&fx.z, 1, &fx.main);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    conn_close(&fx.main);
    zygote_ctl_stop(&fx.z);
    remove_scripts(fx.root);
    return 0;
}

/* ---- talking to a worker ---------------------------------------------------------------- */

struct request {
    const char *method;
    const char *target;
    const char *script;
    const char *path_info;
    const struct http_field *headers;
    size_t header_count;
    const char *body;
    size_t body_len;
    bool body_in_file; /* PROTO_REQ_BODY_FD instead of BODY frames */
};

struct response {
    uint32_t status;
    char headers[4096];  /* "Name: value\n" lines */
    char *body;
    size_t body_len;
    char frames[256];    /* one letter per frame: H B b(flushed body) F T L E */
    size_t nframes;
    uint32_t heartbeats[4];
    size_t nheartbeats;
    char logs[4096];
    struct proto_end end;
    bool ended;
    bool eof;
};

static void write_all(int sock, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(sock, p, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd pfd = {.fd = sock, .events = POLLOUT};
            assert_int_equal(poll(&pfd, 1, TIMEOUT_MS), 1);
            continue;
        }
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

static uint64_t now_usec(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static uint32_t send_request(struct conn *c, const struct request *rq)
{
    struct http_field headers[16] = {{"Host", 4, "localhost:8080", 14}};
    size_t count = 1;
    for (size_t i = 0; i < rq->header_count; i++)
        headers[count++] = rq->headers[i];
    struct sockaddr_in remote = {.sin_family = AF_INET, .sin_port = htons(40000)};
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(8080)};
    inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
    struct trace_request trace = {0};
    uint32_t seq = ++fx.seq;
    trace_request_start(&trace, NULL, 0, NULL, 0);
    snprintf(trace.request_id, sizeof trace.request_id, "test-%u", seq);
    struct cgi_input in = {
        .method = rq->method ? rq->method : "GET",
        .target = rq->target,
        .target_len = strlen(rq->target),
        .protocol = "HTTP/1.1",
        .script_name = rq->script,
        .path_info = rq->path_info ? rq->path_info : "",
        .document_root = fx.root,
        .remote = (struct sockaddr *)&remote,
        .local = (struct sockaddr *)&local,
        .headers = headers,
        .header_count = count,
        .content_length = rq->body ? (int64_t)rq->body_len : -1,
        .start_usec = now_usec(),
        .trace = &trace,
    };
    struct buf b = {0};
    assert_int_equal(cgi_encode_request(&b, &in, seq, rq->body_in_file ? PROTO_REQ_BODY_FD : 0), 0);
    if (rq->body_in_file) {
        int fd = memfd_create("body", MFD_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, rq->body, rq->body_len), (ssize_t)rq->body_len);
        assert_true(proto_send_fd(c->sock, b.data, b.len, fd, 0) > 0);
        close(fd);
        b.len = 0; /* a socketpair takes a small first write whole; the rest follows */
    } else {
        for (size_t at = 0; rq->body && at < rq->body_len; at += 7000) { /* several frames */
            size_t n = rq->body_len - at < 7000 ? rq->body_len - at : 7000;
            assert_int_equal(proto_put_frame(&b, PROTO_BODY, 0, rq->body + at, n), 0);
        }
    }
    write_all(c->sock, b.data, b.len);
    buf_free(&b);
    return seq;
}

static void add_frame(struct response *r, char letter)
{
    assert_true(r->nframes + 1 < sizeof r->frames);
    r->frames[r->nframes++] = letter;
}

static void on_frame(struct response *r, const struct proto_frame *f)
{
    switch (f->type) {
    case PROTO_HEADERS: {
        struct proto_headers h;
        assert_int_equal(proto_parse_headers(f, &h), 0);
        r->status = h.status;
        struct proto_pair_iter it;
        struct proto_pair p;
        proto_pair_iter_init(&it, h.pairs, h.pairs_len);
        while (proto_pair_next(&it, &p)) {
            size_t used = strlen(r->headers);
            snprintf(r->headers + used, sizeof r->headers - used, "%s: %s\n", p.name, p.value);
        }
        add_frame(r, 'H');
        break;
    }
    case PROTO_BODY:
        r->body = realloc(r->body, r->body_len + f->length + 1);
        assert_non_null(r->body);
        memcpy(r->body + r->body_len, f->payload, f->length);
        r->body_len += f->length;
        r->body[r->body_len] = '\0';
        add_frame(r, (f->flags & PROTO_FLAG_FLUSH) ? 'b' : 'B');
        break;
    case PROTO_FINISH:
        add_frame(r, 'F');
        break;
    case PROTO_HEARTBEAT:
        assert_true(r->nheartbeats < 4);
        assert_int_equal(proto_parse_heartbeat(f, &r->heartbeats[r->nheartbeats++]), 0);
        add_frame(r, 'T');
        break;
    case PROTO_LOG: {
        struct proto_log log;
        assert_int_equal(proto_parse_log(f, &log), 0);
        size_t used = strlen(r->logs);
        snprintf(r->logs + used, sizeof r->logs - used, "%.*s\n", (int)log.len, log.text);
        add_frame(r, 'L');
        break;
    }
    case PROTO_END:
        assert_int_equal(proto_parse_end(f, &r->end), 0);
        r->ended = true;
        add_frame(r, 'E');
        break;
    default:
        fail_msg("unexpected frame type %u from a worker", f->type);
    }
}

/* Reads frames until one of type `until` (or END, or EOF) has been handled. */
static void read_until(struct conn *c, struct response *r, uint8_t until)
{
    for (;;) {
        struct proto_frame f;
        int rc;
        while ((rc = proto_decoder_next(&c->dec, &f)) == 1) {
            on_frame(r, &f);
            if (f.type == until || f.type == PROTO_END)
                return;
        }
        assert_int_equal(rc, 0);
        struct pollfd p = {.fd = c->sock, .events = POLLIN};
        assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
        size_t avail;
        uint8_t *space = proto_decoder_space(&c->dec, &avail);
        assert_non_null(space);
        ssize_t n = read(c->sock, space, avail);
        if (n == 0) {
            r->eof = true;
            return;
        }
        assert_true(n > 0);
        proto_decoder_commit(&c->dec, (size_t)n);
    }
}

static void response_free(struct response *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* One request on the main worker, read to its END. */
static void roundtrip(const struct request *rq, struct response *r)
{
    memset(r, 0, sizeof *r);
    uint32_t seq = send_request(&fx.main, rq);
    read_until(&fx.main, r, PROTO_END);
    assert_true(r->ended);
    assert_int_equal(r->end.seq, seq);
}

static void get(const char *script, struct response *r)
{
    struct request rq = {.target = script, .script = script};
    roundtrip(&rq, r);
}

static void assert_header(const struct response *r, const char *line)
{
    if (!strstr(r->headers, line))
        fail_msg("header \"%s\" missing in:\n%s", line, r->headers);
}

static void assert_body(const struct response *r, const char *body)
{
    assert_non_null(r->body);
    assert_string_equal(r->body, body);
}

static void assert_body_has(const struct response *r, const char *part)
{
    assert_non_null(r->body);
    if (!strstr(r->body, part))
        fail_msg("\"%s\" missing in body:\n%s", part, r->body);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_hello_world(void **state)
{
    (void)state;
    struct response r;
    get("/hello.php", &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type: text/html; charset=UTF-8\n");
    assert_body(&r, "Hello, world!");
    assert_string_equal(r.frames, "HBE"); /* one write: headers, body, end */
    assert_int_equal(r.end.exit_status, 0);
    assert_int_equal(r.end.flags, 0);
    response_free(&r);
}

static void test_get_arrays(void **state)
{
    (void)state;
    struct request rq = {.target = "/get.php?a[]=1&a[]=2&b[x][y]=3&s=h%C3%A9llo+w%26rld",
                         .script = "/get.php"};
    struct response r;
    roundtrip(&rq, &r);
    assert_body(&r, "{\"a\":[\"1\",\"2\"],\"b\":{\"x\":{\"y\":\"3\"}},"
                    "\"s\":\"h\xc3\xa9llo w&rld\"}");
    response_free(&r);
}

static void test_post_urlencoded(void **state)
{
    (void)state;
    const struct http_field h[] = {{"Content-Type", 12, "application/x-www-form-urlencoded", 33}};
    const char *body = "a=1&b[]=x&b[]=y&c=%E2%82%AC";
    struct request rq = {.method = "POST", .target = "/post.php", .script = "/post.php",
                         .headers = h, .header_count = 1, .body = body, .body_len = strlen(body)};
    struct response r;
    roundtrip(&rq, &r);
    assert_body(&r, "{\"a\":\"1\",\"b\":[\"x\",\"y\"],\"c\":\"\\u20ac\"}");
    response_free(&r);
}

static void test_raw_input_in_frames_and_in_a_file(void **state)
{
    (void)state;
    /* 20000 bytes: several BODY frames; binary bytes survive */
    size_t len = 20000;
    char *body = malloc(len + 1);
    assert_non_null(body);
    for (size_t i = 0; i < len; i++)
        body[i] = (char)('a' + i % 26);
    body[len] = '\0';
    const struct http_field h[] = {{"Content-Type", 12, "application/json", 16}};
    struct request rq = {.method = "POST", .target = "/input.php", .script = "/input.php",
                         .headers = h, .header_count = 1, .body = body, .body_len = len};
    struct response r;
    roundtrip(&rq, &r);
    assert_int_equal(r.body_len, len);
    assert_memory_equal(r.body, body, len);
    response_free(&r);

    rq.method = "PUT";
    rq.body_in_file = true;
    roundtrip(&rq, &r);
    assert_int_equal(r.body_len, len);
    assert_memory_equal(r.body, body, len);
    response_free(&r);
    free(body);
}

static void test_multipart_upload(void **state)
{
    (void)state;
    const char *body = "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"field\"\r\n\r\n"
                       "value\r\n"
                       "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
                       "Content-Type: text/plain\r\n\r\n"
                       "file content\r\n"
                       "--XyZ--\r\n";
    const struct http_field h[] = {{"Content-Type", 12, "multipart/form-data; boundary=XyZ", 33}};
    struct request rq = {.method = "POST", .target = "/upload.php", .script = "/upload.php",
                         .headers = h, .header_count = 1, .body = body, .body_len = strlen(body),
                         .body_in_file = true};
    struct response r;
    roundtrip(&rq, &r);
    assert_body(&r, "{\"name\":\"a.txt\",\"size\":12,\"moved\":true,\"content\":\"file content\","
                    "\"field\":\"value\"}");
    response_free(&r);
}

static void test_header_and_status(void **state)
{
    (void)state;
    struct response r;
    get("/teapot.php", &r);
    assert_int_equal(r.status, 418);
    assert_header(&r, "X-Test: yes\n");
    assert_header(&r, "X-Multi: 1\nX-Multi: 2\n");
    assert_body(&r, "teapot");
    response_free(&r);
}

static void test_two_cookies_in_and_out(void **state)
{
    (void)state;
    const struct http_field h[] = {{"Cookie", 6, "x=1", 3}, {"Cookie", 6, "y=a%20b", 7}};
    struct request rq = {.target = "/cookies.php", .script = "/cookies.php", .headers = h,
                         .header_count = 2};
    struct response r;
    roundtrip(&rq, &r);
    assert_header(&r, "Set-Cookie: a=1\n");
    assert_header(&r, "Set-Cookie: b=x%20y\n");
    assert_body(&r, "{\"x\":\"1\",\"y\":\"a b\"}");
    response_free(&r);
}

static void test_fatal_error_gives_500(void **state)
{
    (void)state;
    struct response r;
    get("/fatal.php", &r);
    assert_int_equal(r.status, 500);
    assert_body(&r, "partial"); /* display_errors is off: no message in the body */
    assert_int_equal(r.end.exit_status, 255);
    /* a JSON line of type php, with the request's id and the error's parts */
    assert_non_null(
        strstr(r.logs, "\"type\":\"php\",\"msg\":\"Uncaught Error: Call to undefined function"));
    assert_non_null(strstr(r.logs, "\"request_id\":\"test-"));
    assert_non_null(strstr(r.logs, "\"php_level\":\"E_ERROR\""));
    assert_int_equal(r.end.flags, 0); /* the worker carries on */
    response_free(&r);
    get("/hello.php", &r);
    assert_body(&r, "Hello, world!");
    response_free(&r);
}

static void test_exit_keeps_output(void **state)
{
    (void)state;
    struct response r;
    get("/exit.php", &r);
    assert_int_equal(r.status, 200);
    assert_body(&r, "before|");
    assert_int_equal(r.end.exit_status, 3);
    response_free(&r);
}

/* The child's output, header, log line and END never reach the master; it exits cleanly. */
static void test_forked_child_never_writes_to_the_master(void **state)
{
    (void)state;
    struct response r;
    get("/fork.php", &r);
    assert_int_equal(r.status, 200);
    assert_body(&r, "parent7");
    assert_null(strstr(r.headers, "X-Child"));
    assert_string_equal(r.logs, "");
    response_free(&r);
    get("/pid.php", &r); /* nothing stray arrives before the next response */
    assert_string_equal(r.frames, "HBE");
    response_free(&r);
}

static void test_opcache_jit_and_sapi_name(void **state)
{
    (void)state;
    assert_true(fx.z.opcache_enabled);
    struct response r;
    get("/status.php", &r);
    assert_body(&r, "{\"sapi\":\"kiln\",\"name\":\"kiln\",\"opcache\":true,\"jit\":true,"
                    "\"memory_limit\":\"64M\"}");
    response_free(&r);
}

static void test_opcache_is_shared_by_workers(void **state)
{
    (void)state;
    struct response r;
    get("/hello.php", &r); /* compiled by the main worker */
    response_free(&r);
    struct conn c;
    spawn(&fx.z, 4, &c);
    struct request rq = {.target = "/cached.php?f=hello.php", .script = "/cached.php"};
    send_request(&c, &rq);
    read_until(&c, &r, PROTO_END);
    assert_body(&r, "true"); /* seen in the shared memory the zygote set up */
    response_free(&r);
    conn_close(&c);
    struct zygote_ctl_event ev;
    wait_event(&fx.z, &ev);
    assert_int_equal(ev.kind, ZYGOTE_CTL_EXITED);
    assert_int_equal(ev.worker_id, 4);
}

/* READY carries what the start-up line shows. */
static void test_zygote_reports_php_version_and_jit(void **state)
{
    (void)state;
    assert_true(fx.z.opcache_enabled);
    assert_true(fx.z.jit_enabled); /* opcache.jit=tracing with a jit_buffer_size (ini_sets) */
    assert_true(strncmp(fx.z.php_version, "8.", 2) == 0);
}

/* A worker in a scoreboard slot publishes the request it began and an OPcache sample. */
static void test_scoreboard_shows_the_request_and_opcache(void **state)
{
    (void)state;
    struct conn c;
    spawn(&fx.z, 0, &c); /* slot 0: the only one PHP_WORKERS=1 maps */
    char target[400];
    snprintf(target, sizeof target, "/hello.php?%0300d", 7);
    struct request rq = {.method = "DELETE", .target = target, .script = "/hello.php"};
    uint64_t before = now_usec();
    uint32_t seq = send_request(&c, &rq);
    struct response r = {0};
    read_until(&c, &r, PROTO_END);
    assert_body(&r, "Hello, world!");
    response_free(&r);
    uint64_t after = now_usec();

    const struct scoreboard_slot *slot = zygote_ctl_scoreboard_slot(&fx.z, 0);
    assert_non_null(slot);
    struct scoreboard_request req;
    assert_true(scoreboard_read_request(slot, &req));
    assert_int_equal(req.seq, seq);
    assert_string_equal(req.method, "DELETE");
    assert_true(req.uri_truncated);
    assert_int_equal(strlen(req.uri), SCOREBOARD_URI_MAX - 1);
    assert_memory_equal(req.uri, target, SCOREBOARD_URI_MAX - 1);
    assert_true(req.begin_usec >= before && req.begin_usec <= after);

    /* the first request of a worker always samples */
    struct scoreboard_opcache o;
    assert_true(scoreboard_latest_opcache(slot, 1, &o));
    assert_true(o.sampled_usec >= before && o.sampled_usec <= after);
    assert_true(o.enabled);
    assert_true(o.jit_enabled);
    assert_true(o.memory_used > 0);
    assert_true(o.memory_free > 0);
    assert_true(o.cached_scripts >= 1); /* hello.php, cached before the sample */
    assert_true(o.max_cached_keys >= o.cached_keys);
    assert_true(o.jit_buffer_size > 0 && o.jit_buffer_size <= 16u << 20);

    conn_close(&c);
    struct zygote_ctl_event ev;
    wait_event(&fx.z, &ev);
    assert_int_equal(ev.kind, ZYGOTE_CTL_EXITED);
    assert_int_equal(ev.worker_id, 0);
}

static void test_finish_request(void **state)
{
    (void)state;
    struct response r;
    get("/finish.php", &r);
    assert_body(&r, "done");
    /* FINISH before END; after it only LOG: the warning for header() and our error_log() */
    assert_string_equal(r.frames, "HBFLLE");
    assert_non_null(strstr(r.logs, "Cannot modify header information - headers already sent"));
    assert_non_null(strstr(r.logs, "finish=true again=false"));
    assert_null(strstr(r.headers, "X-Late"));
    response_free(&r);
}

static void test_heartbeat(void **state)
{
    (void)state;
    struct response r;
    get("/heartbeat.php", &r);
    assert_body(&r, "[true,true,false,false]");
    assert_int_equal(r.nheartbeats, 2);
    assert_int_equal(r.heartbeats[0], 30);
    assert_int_equal(r.heartbeats[1], 10);
    assert_true(strchr(r.frames, 'T') < strchr(r.frames, 'H')); /* sent at once, not queued */
    response_free(&r);
}

static void test_server_variables_and_headers(void **state)
{
    (void)state;
    const struct http_field h[] = {
        {"X-Custom", 8, "v1", 2},
        {"X_Custom", 8, "spoof", 5},
        {"Authorization", 13, "Basic dXNlcjpwYXNz", 18},
    };
    struct request rq = {.target = "/server.php/extra?q=1", .script = "/server.php",
                         .path_info = "/extra", .headers = h, .header_count = 3};
    struct response r;
    roundtrip(&rq, &r);
    assert_body_has(&r, "\"REQUEST_URI\":\"/server.php/extra?q=1\"");
    assert_body_has(&r, "\"SCRIPT_NAME\":\"/server.php\"");
    assert_body_has(&r, "\"PATH_INFO\":\"/extra\"");
    assert_body_has(&r, "\"PHP_SELF\":\"/server.php/extra\"");
    assert_body_has(&r, "\"QUERY_STRING\":\"q=1\"");
    assert_body_has(&r, "\"REMOTE_ADDR\":\"127.0.0.1\"");
    assert_body_has(&r, "\"SERVER_PORT\":\"8080\"");
    assert_body_has(&r, "\"SERVER_NAME\":\"localhost\"");
    assert_body_has(&r, "\"HTTP_X_CUSTOM\":\"v1\"");
    assert_body_has(&r, "\"PHP_AUTH_USER\":\"user\",\"PHP_AUTH_PW\":\"pass\"");
    assert_body_has(&r, "\"REQUEST_ID\":\"test-");
    assert_body_has(&r, "\"REQUEST_TIME_FLOAT\":");
    assert_body_has(&r, "\"env_host\":\"localhost:8080\"");
    assert_body_has(&r, "\"headers\":{\"Host\":\"localhost:8080\",\"X-Custom\":\"v1\","
                        "\"Authorization\":\"Basic dXNlcjpwYXNz\"}");
    assert_null(strstr(r.body, "spoof"));
    response_free(&r);
}

static void test_cgi_status_header_and_304(void **state)
{
    (void)state;
    struct response r;
    get("/status_header.php", &r);
    assert_int_equal(r.status, 404);
    assert_null(strstr(r.headers, "Status"));
    assert_body(&r, "gone");
    response_free(&r);
    get("/not_modified.php", &r);
    assert_int_equal(r.status, 304);
    assert_null(strcasestr(r.headers, "Content-Type"));
    response_free(&r);
}

static void test_session_across_two_requests(void **state)
{
    (void)state;
    struct response r;
    get("/session.php", &r);
    assert_body(&r, "1");
    const char *set = strstr(r.headers, "Set-Cookie: PHPSESSID=");
    assert_non_null(set);
    char cookie[128];
    size_t len = strcspn(set + 12, ";\n");
    assert_true(len < sizeof cookie);
    memcpy(cookie, set + 12, len);
    cookie[len] = '\0';
    response_free(&r);
    const struct http_field h[] = {{"Cookie", 6, cookie, len}};
    struct request rq = {.target = "/session.php", .script = "/session.php", .headers = h,
                         .header_count = 1};
    roundtrip(&rq, &r);
    assert_body(&r, "2");
    response_free(&r);
}

static void test_pipelined_requests_are_served_in_order(void **state)
{
    (void)state;
    struct request hello = {.target = "/hello.php", .script = "/hello.php"};
    struct request teapot = {.target = "/teapot.php", .script = "/teapot.php"};
    uint32_t first = send_request(&fx.main, &hello);
    uint32_t second = send_request(&fx.main, &teapot);
    struct response r = {0};
    read_until(&fx.main, &r, PROTO_END);
    assert_int_equal(r.end.seq, first);
    assert_body(&r, "Hello, world!");
    response_free(&r);
    read_until(&fx.main, &r, PROTO_END);
    assert_int_equal(r.end.seq, second);
    assert_int_equal(r.status, 418);
    response_free(&r);
}

static void test_head_request_has_no_body(void **state)
{
    (void)state;
    struct request rq = {.method = "HEAD", .target = "/hello.php", .script = "/hello.php"};
    struct response r;
    roundtrip(&rq, &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type: text/html; charset=UTF-8\n");
    assert_string_equal(r.frames, "HE"); /* no BODY frame at all */
    response_free(&r);
}

static void test_location_gives_302(void **state)
{
    (void)state;
    struct request rq = {.method = "POST", .target = "/redirect.php", .script = "/redirect.php",
                         .body = "", .body_len = 0};
    struct response r;
    roundtrip(&rq, &r);
    assert_int_equal(r.status, 302); /* as FPM, not 303 */
    assert_header(&r, "Location: /elsewhere\n");
    response_free(&r);
}

static void test_flush_arrives_before_the_script_ends(void **state)
{
    (void)state;
    struct request rq = {.target = "/flush.php", .script = "/flush.php"};
    struct response r = {0};
    send_request(&fx.main, &rq);
    uint64_t start = now_usec();
    read_until(&fx.main, &r, PROTO_BODY);
    uint64_t first = now_usec() - start;
    assert_string_equal(r.frames, "Hb");
    assert_body(&r, "first");
    read_until(&fx.main, &r, PROTO_END);
    uint64_t total = now_usec() - start;
    assert_body(&r, "firstsecond");
    assert_true(total - first >= 250000); /* the script slept 300 ms after flush() */
    response_free(&r);
}

static void test_abort_makes_connection_aborted_true(void **state)
{
    (void)state;
    struct request rq = {.target = "/abort.php", .script = "/abort.php"};
    struct response r = {0};
    uint32_t seq = send_request(&fx.main, &rq);
    read_until(&fx.main, &r, PROTO_BODY);
    struct buf b = {0};
    assert_int_equal(proto_put_abort(&b, seq + 1000), 0); /* someone else's: ignored */
    assert_int_equal(proto_put_abort(&b, seq), 0);
    write_all(fx.main.sock, b.data, b.len);
    buf_free(&b);
    read_until(&fx.main, &r, PROTO_END);
    assert_true(r.ended);
    assert_non_null(strstr(r.logs, "aborted=1"));
    response_free(&r);
    get("/hello.php", &r); /* the worker is fine afterwards */
    assert_body(&r, "Hello, world!");
    response_free(&r);
}

static void test_large_output_is_chunked(void **state)
{
    (void)state;
    struct response r;
    get("/big.php", &r);
    assert_int_equal(r.body_len, 16u * 65536);
    for (size_t i = 0; i < r.body_len; i += 16)
        assert_memory_equal(r.body + i, "0123456789abcdef", 16);
    assert_true(r.nframes > 16); /* BODY frames of at most PROTO_BODY_CHUNK bytes */
    response_free(&r);
}

static void test_exit_in_shutdown_function_keeps_the_worker(void **state)
{
    (void)state;
    struct response r;
    get("/shutdown_exit.php", &r);
    char expected[64];
    snprintf(expected, sizeof expected, "%d|shutdown", (int)fx.main.pid);
    assert_body(&r, expected);
    assert_int_equal(r.end.exit_status, 1);
    assert_int_equal(r.end.flags, 0);
    response_free(&r);
    get("/pid.php", &r);
    snprintf(expected, sizeof expected, "%d", (int)fx.main.pid);
    assert_body(&r, expected);
    response_free(&r);
}

static void test_crashing_worker_is_reported(void **state)
{
    (void)state;
    struct conn c;
    spawn(&fx.z, 2, &c);
    struct request rq = {.target = "/segv.php", .script = "/segv.php"};
    struct response r = {0};
    send_request(&c, &rq);
    read_until(&c, &r, PROTO_END);
    assert_true(r.eof);
    assert_false(r.ended);
    struct zygote_ctl_event ev;
    wait_event(&fx.z, &ev);
    assert_int_equal(ev.kind, ZYGOTE_CTL_EXITED);
    assert_int_equal(ev.worker_id, 2);
    assert_int_equal(ev.pid, c.pid);
    /* SIGSEGV, or ASan's report and exit(1) when the worker is built with ASan */
    assert_false(WIFEXITED(ev.status) && WEXITSTATUS(ev.status) == 0);
    response_free(&r);
    conn_close(&c);
}

static void test_killed_worker_is_reported(void **state)
{
    (void)state;
    struct conn c;
    spawn(&fx.z, 5, &c);
    struct request rq = {.target = "/sleep.php", .script = "/sleep.php"};
    struct response r = {0};
    send_request(&c, &rq);
    read_until(&c, &r, PROTO_BODY); /* the script is running */
    assert_body(&r, "working");
    assert_int_equal(kill(c.pid, SIGKILL), 0); /* what the master does past a deadline */
    struct zygote_ctl_event ev;
    wait_event(&fx.z, &ev);
    assert_int_equal(ev.kind, ZYGOTE_CTL_EXITED);
    assert_int_equal(ev.worker_id, 5);
    assert_true(WIFSIGNALED(ev.status));
    assert_int_equal(WTERMSIG(ev.status), SIGKILL);
    read_until(&c, &r, PROTO_END);
    assert_true(r.eof);
    response_free(&r);
    conn_close(&c);
}

static void test_max_requests_recycles_the_worker(void **state)
{
    (void)state;
    struct config cfg;
    init_config(&cfg, 2);
    struct zygote_ctl z;
    assert_int_equal(zygote_ctl_start(&z, &cfg, zygote_main), 0);
    struct conn c;
    spawn(&z, 7, &c);
    struct request rq = {.target = "/hello.php", .script = "/hello.php"};
    for (int i = 0; i < 2; i++) {
        struct response r = {0};
        send_request(&c, &rq);
        read_until(&c, &r, PROTO_END);
        assert_true(r.ended);
        assert_body(&r, "Hello, world!");
        assert_int_equal(r.end.flags, i == 1 ? PROTO_END_RETIRING : 0);
        response_free(&r);
    }
    struct response r = {0};
    read_until(&c, &r, PROTO_END);
    assert_true(r.eof);
    struct zygote_ctl_event ev;
    wait_event(&z, &ev);
    assert_int_equal(ev.kind, ZYGOTE_CTL_EXITED);
    assert_int_equal(ev.worker_id, 7);
    assert_true(WIFEXITED(ev.status));
    assert_int_equal(WEXITSTATUS(ev.status), 0); /* clean, and no leak reported under ASan */
    conn_close(&c);

    spawn(&z, 8, &c); /* the replacement */
    send_request(&c, &rq);
    read_until(&c, &r, PROTO_END);
    assert_body(&r, "Hello, world!");
    response_free(&r);
    conn_close(&c);
    zygote_ctl_stop(&z);
}

static void test_closing_the_socket_stops_an_idle_worker(void **state)
{
    (void)state;
    struct conn c;
    spawn(&fx.z, 3, &c);
    conn_close(&c);
    struct zygote_ctl_event ev;
    wait_event(&fx.z, &ev);
    assert_int_equal(ev.kind, ZYGOTE_CTL_EXITED);
    assert_int_equal(ev.worker_id, 3);
    assert_true(WIFEXITED(ev.status));
    assert_int_equal(WEXITSTATUS(ev.status), 0);
}

static void test_bad_php_ini_is_reported(void **state)
{
    (void)state;
    struct config cfg;
    init_config(&cfg, 0);
    snprintf(cfg.php_ini, sizeof cfg.php_ini, "%s/missing.ini", fx.root);
    struct zygote_ctl z;
    assert_int_equal(zygote_ctl_start(&z, &cfg, zygote_main), -1);
    assert_non_null(strstr(z.err, "PHP_INI"));
    assert_int_equal(z.pid, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_world),
        cmocka_unit_test(test_get_arrays),
        cmocka_unit_test(test_post_urlencoded),
        cmocka_unit_test(test_raw_input_in_frames_and_in_a_file),
        cmocka_unit_test(test_multipart_upload),
        cmocka_unit_test(test_header_and_status),
        cmocka_unit_test(test_two_cookies_in_and_out),
        cmocka_unit_test(test_fatal_error_gives_500),
        cmocka_unit_test(test_exit_keeps_output),
        cmocka_unit_test(test_forked_child_never_writes_to_the_master),
        cmocka_unit_test(test_opcache_jit_and_sapi_name),
        cmocka_unit_test(test_opcache_is_shared_by_workers),
        cmocka_unit_test(test_zygote_reports_php_version_and_jit),
        cmocka_unit_test(test_scoreboard_shows_the_request_and_opcache),
        cmocka_unit_test(test_finish_request),
        cmocka_unit_test(test_heartbeat),
        cmocka_unit_test(test_server_variables_and_headers),
        cmocka_unit_test(test_cgi_status_header_and_304),
        cmocka_unit_test(test_session_across_two_requests),
        cmocka_unit_test(test_pipelined_requests_are_served_in_order),
        cmocka_unit_test(test_head_request_has_no_body),
        cmocka_unit_test(test_location_gives_302),
        cmocka_unit_test(test_flush_arrives_before_the_script_ends),
        cmocka_unit_test(test_abort_makes_connection_aborted_true),
        cmocka_unit_test(test_large_output_is_chunked),
        cmocka_unit_test(test_exit_in_shutdown_function_keeps_the_worker),
        cmocka_unit_test(test_crashing_worker_is_reported),
        cmocka_unit_test(test_killed_worker_is_reported),
        cmocka_unit_test(test_max_requests_recycles_the_worker),
        cmocka_unit_test(test_closing_the_socket_stops_an_idle_worker),
        cmocka_unit_test(test_bad_php_ini_is_reported),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
