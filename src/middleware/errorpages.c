#include "middleware/errorpages.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "http/encoding.h"

#define FIRST_STATUS 400
#define LAST_STATUS 599
#define PAGE_COUNT (LAST_STATUS - FIRST_STATUS + 1)

struct page {
    bool present; /* an empty file is a present, empty page */
    struct buf body;
};

struct errorpages {
    struct page pages[PAGE_COUNT];
};

struct errorpages *errorpages_create(void)
{
    return calloc(1, sizeof(struct errorpages));
}

static void free_pages(struct page pages[PAGE_COUNT])
{
    for (int i = 0; i < PAGE_COUNT; i++)
        buf_free(&pages[i].body);
}

/* The status of a page file name: exactly "NNN.html" with NNN in 400..599; 0 otherwise. */
static int page_status(const char *name)
{
    if (strlen(name) != 8 || strcmp(name + 3, ".html") != 0)
        return 0;
    int status = 0;
    for (int i = 0; i < 3; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        status = status * 10 + (name[i] - '0');
    }
    return status >= FIRST_STATUS && status <= LAST_STATUS ? status : 0;
}

/* Reads all of fd into body; -1 with errno set (EFBIG above ERRORPAGES_MAX_SIZE). */
static int read_all(int fd, struct buf *body)
{
    for (;;) {
        ssize_t r = read(fd, buf_reserve(body, 8192), 8192);
        if (r == 0)
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        body->len += (size_t)r;
        if (body->len > ERRORPAGES_MAX_SIZE) {
            errno = EFBIG;
            return -1;
        }
    }
}

/* Loads one page. Returns 1, 0 when the name is not a regular file (ignored), -1 on error. */
static int load_page(int dir_fd, const char *name, struct page *page)
{
    /* O_NONBLOCK: a FIFO named like a page must not hang the open. */
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1; /* ENOENT: removed since readdir() */
    struct stat st;
    int rc = fstat(fd, &st);
    if (rc == 0 && !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    if (rc == 0)
        rc = read_all(fd, &page->body);
    int saved = errno;
    close(fd);
    errno = saved;
    if (rc < 0)
        return -1;
    page->present = true;
    return 1;
}

/* Loads every page of an open directory into pages; -1 with `err` filled. */
static int load_dir(DIR *d, const char *dir, struct page pages[PAGE_COUNT], char *err,
                    size_t errlen)
{
    int loaded = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de)
            break;
        int status = page_status(de->d_name);
        if (status == 0)
            continue;
        int rc = load_page(dirfd(d), de->d_name, &pages[status - FIRST_STATUS]);
        if (rc < 0) {
            snprintf(err, errlen, "cannot read %s/%s: %s", dir, de->d_name, strerror(errno));
            return -1;
        }
        loaded += rc;
    }
    if (errno != 0) {
        snprintf(err, errlen, "cannot list %s: %s", dir, strerror(errno));
        return -1;
    }
    return loaded;
}

int errorpages_load(struct errorpages *ep, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
        return -1;
    }
    struct page fresh[PAGE_COUNT] = {0};
    int loaded = load_dir(d, dir, fresh, err, errlen);
    closedir(d);
    if (loaded < 0) {
        free_pages(fresh);
        return -1;
    }
    free_pages(ep->pages);
    memcpy(ep->pages, fresh, sizeof(ep->pages));
    return loaded;
}

const char *errorpages_lookup(const struct errorpages *ep, int status, size_t *len)
{
    if (status < FIRST_STATUS || status > LAST_STATUS)
        return NULL;
    const struct page *page = &ep->pages[status - FIRST_STATUS];
    if (!page->present)
        return NULL;
    *len = page->body.len;
    return page->body.data ? page->body.data : "";
}

void errorpages_destroy(struct errorpages *ep)
{
    if (!ep)
        return;
    free_pages(ep->pages);
    free(ep);
}

bool errorpages_accepts_html(const char *value, size_t len)
{
    return encoding_list_names(value, len, "text/html") ||
           encoding_list_names(value, len, "text/*") || encoding_list_names(value, len, "*/*");
}
