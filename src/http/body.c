#include "http/body.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

void body_init(struct body *b)
{
    *b = (struct body){.fd = -1};
}

static int open_spill_file(void)
{
    const char *dir = getenv("TMPDIR");
    int fd = open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        fd = memfd_create("kiln-body", MFD_CLOEXEC);
    return fd;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

void body_append(struct body *b, const char *data, size_t len)
{
    if (b->failed)
        return;
    b->len += len;
    if (b->fd < 0 && b->mem.len + len <= BODY_MEMORY_MAX) {
        buf_append(&b->mem, data, len);
        return;
    }
    if (b->fd < 0) {
        b->fd = open_spill_file();
        if (b->fd < 0 || !write_all(b->fd, b->mem.data, b->mem.len)) {
            b->failed = true;
            return;
        }
        buf_free(&b->mem);
    }
    if (!write_all(b->fd, data, len))
        b->failed = true;
}

void body_pace_start(struct body *b, uint64_t now_ms)
{
    b->window_at = now_ms;
    b->window_len = b->len;
}

bool body_pace_ok(struct body *b, uint64_t now_ms, uint64_t window_ms, uint64_t min_rate)
{
    uint64_t elapsed = now_ms - b->window_at;
    if (min_rate == 0 || elapsed < window_ms)
        return true;
    bool ok = (b->len - b->window_len) * 1000 >= min_rate * elapsed;
    body_pace_start(b, now_ms);
    return ok;
}

void body_reset(struct body *b)
{
    buf_free(&b->mem);
    if (b->fd >= 0)
        close(b->fd);
    body_init(b);
}
