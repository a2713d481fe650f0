/*
 * libFuzzer target for a whole plain connection: h2c preface detection, then HTTP/2 frame
 * handling by nghttp2 and our stream code (or HTTP/1 when the preface does not match), routing
 * and the stub executor, over a real socketpair driven by the real event loop.
 *
 * The first input byte chooses whether the HTTP/2 preface is put in front of the rest, so the
 * fuzzer spends its time on frames rather than on rediscovering the preface.
 */
#include <assert.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "http/conn.h"
#include "http/server.h"
#include "net/loop.h"

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static struct config cfg;
static struct loop *loop;
static struct server srv;

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    static char dir[] = "/tmp/kiln-fuzz-h2c-XXXXXX";
    assert(mkdtemp(dir));
    write_file(dir, "index.html", "<h1>home</h1>\n");
    write_file(dir, "a.txt", "0123456789");
    write_file(dir, "x.php", "<?php echo 1;");
    char *argv[] = {"kiln", "--docroot", dir, "--executor", "stub", "--max-body-size", "4K",
                    "--max-header-size", "4K", NULL};
    char *envp[] = {NULL};
    char err[CONFIG_ERR_MAX];
    assert(config_load(&cfg, 9, argv, envp, err, sizeof(err)) == CONFIG_OK);
    assert(config_check_paths(&cfg, err, sizeof(err)) == 0);
    loop = loop_create();
    assert(loop && server_init(&srv, &cfg, loop, NULL, NULL, err, sizeof(err)) == 0);
}

/* Reads and drops what the server wrote; returns false once the server closed its end. */
static bool drain(int fd)
{
    char scratch[65536];
    for (;;) {
        ssize_t n = read(fd, scratch, sizeof(scratch));
        if (n > 0)
            continue;
        return n < 0; /* EAGAIN: still open */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!loop)
        setup();
    if (size == 0)
        return 0;
    bool add_preface = data[0] & 1;
    data++, size--;

    int sv[2];
    assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(40000)};
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    conn_accept(&srv, sv[0], (struct sockaddr *)&peer, sizeof(peer), false);

    if (add_preface)
        assert(write(sv[1], preface, sizeof(preface) - 1) == (ssize_t)sizeof(preface) - 1);
    size_t off = 0;
    bool open = true;
    for (int round = 0; round < 64 && open; round++) {
        if (off < size) {
            ssize_t n = write(sv[1], data + off, size - off);
            if (n > 0)
                off += (size_t)n;
        } else {
            shutdown(sv[1], SHUT_WR);
        }
        loop_run_once(loop, 0);
        open = drain(sv[1]);
    }
    close(sv[1]);
    /* The server sees the close and frees the connection within a few batches. */
    for (int round = 0; round < 16 && srv.conn_count > 0; round++)
        loop_run_once(loop, 0);
    while (!LIST_EMPTY(&srv.conns))
        conn_close(LIST_FIRST(&srv.conns));
    loop_run_once(loop, 0);
    assert(srv.conn_count == 0);
    return 0;
}
