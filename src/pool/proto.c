#include "pool/proto.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK (16u * 1024) /* minimum free space proto_decoder_space() offers */

#define REQUEST_FIXED 28u /* seq, flags, body_length, start_usec, var count */
#define HEADERS_FIXED 8u  /* status, count */
#define END_SIZE 24u      /* seq, exit_status, flags, reserved, peak_memory */

/* ---- little helpers ---------------------------------------------------------------------- */

static void put32(void *p, uint32_t v) { memcpy(p, &v, sizeof v); }
static void put64(void *p, uint64_t v) { memcpy(p, &v, sizeof v); }

static uint32_t get32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t get64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void write_header(uint8_t *p, uint8_t type, uint8_t flags, uint32_t len)
{
    p[0] = type;
    p[1] = flags;
    p[2] = 0;
    p[3] = 0;
    put32(p + 4, len);
}

/* ---- growing the output ----------------------------------------------------------------- */

/* Appends room for `n` bytes and returns it, or NULL when memory is short. */
static uint8_t *buf_grow(struct buf *b, size_t n)
{
    uint8_t *p = (uint8_t *)buf_try_reserve(b, n);
    if (p)
        b->len += n;
    return p;
}

/* ---- encoders ---------------------------------------------------------------------------- */

int proto_put_frame(struct buf *b, enum proto_type type, uint8_t flags,
                    const void *payload, size_t len)
{
    if (len > PROTO_MAX_PAYLOAD)
        return -1;
    uint8_t *p = buf_grow(b, PROTO_HEADER_SIZE + len);
    if (!p)
        return -1;
    write_header(p, (uint8_t)type, flags, (uint32_t)len);
    if (len)
        memcpy(p + PROTO_HEADER_SIZE, payload, len);
    return 0;
}

int proto_put_abort(struct buf *b, uint32_t seq)
{
    uint8_t p[4];
    put32(p, seq);
    return proto_put_frame(b, PROTO_ABORT, 0, p, sizeof p);
}

int proto_put_heartbeat(struct buf *b, uint32_t secs)
{
    uint8_t p[4];
    put32(p, secs);
    return proto_put_frame(b, PROTO_HEARTBEAT, 0, p, sizeof p);
}

int proto_put_log(struct buf *b, enum proto_log_level level, const char *text, size_t len)
{
    if (len > PROTO_MAX_PAYLOAD - 4)
        len = PROTO_MAX_PAYLOAD - 4; /* a log line is cut, never refused */
    uint8_t *p = buf_grow(b, PROTO_HEADER_SIZE + 4 + len);
    if (!p)
        return -1;
    write_header(p, PROTO_LOG, 0, (uint32_t)(4 + len));
    put32(p + PROTO_HEADER_SIZE, (uint32_t)level);
    if (len)
        memcpy(p + PROTO_HEADER_SIZE + 4, text, len);
    return 0;
}

int proto_put_end(struct buf *b, const struct proto_end *end)
{
    uint8_t p[END_SIZE];
    put32(p, end->seq);
    put32(p + 4, (uint32_t)end->exit_status);
    put32(p + 8, end->flags);
    put32(p + 12, 0);
    put64(p + 16, end->peak_memory);
    return proto_put_frame(b, PROTO_END, 0, p, sizeof p);
}

int proto_put_body(struct buf *b, size_t *open, const void *data, size_t len)
{
    const uint8_t *bytes = data;
    while (len > 0) {
        if (*open == PROTO_NO_FRAME || get32(b->data + *open + 4) == PROTO_BODY_CHUNK) {
            uint8_t *h = buf_grow(b, PROTO_HEADER_SIZE);
            if (!h)
                return -1;
            write_header(h, PROTO_BODY, 0, 0);
            *open = b->len - PROTO_HEADER_SIZE;
        }
        uint32_t used = get32(b->data + *open + 4);
        size_t n = PROTO_BODY_CHUNK - used < len ? PROTO_BODY_CHUNK - used : len;
        uint8_t *p = buf_grow(b, n);
        if (!p)
            return -1;
        memcpy(p, bytes, n);
        put32(b->data + *open + 4, used + (uint32_t)n);
        bytes += n;
        len -= n;
    }
    return 0;
}

void proto_add_flags(struct buf *b, size_t at, uint8_t flags)
{
    b->data[at + 1] = (char)((uint8_t)b->data[at + 1] | flags);
}

/* ---- pair-list frames ---------------------------------------------------------------------- */

static size_t builder_payload_len(const struct proto_builder *pb)
{
    return pb->buf->len - pb->frame_at - PROTO_HEADER_SIZE;
}

/* Writes the prefix and NUL of a string of `len` bytes at `p`; returns where its bytes go. */
static char *place_string(uint8_t *p, size_t len)
{
    put32(p, (uint32_t)len);
    p[4 + len] = '\0';
    return (char *)p + 4;
}

/* Room for `n` more payload bytes, or NULL with the builder failed. */
static uint8_t *builder_grow(struct proto_builder *pb, size_t n)
{
    if (pb->failed || n > PROTO_MAX_PAYLOAD || builder_payload_len(pb) + n > PROTO_MAX_PAYLOAD) {
        pb->failed = true;
        return NULL;
    }
    uint8_t *p = buf_grow(pb->buf, n);
    if (!p)
        pb->failed = true;
    return p;
}

static void builder_begin(struct proto_builder *pb, struct buf *b, uint8_t type,
                          uint8_t flags, size_t fixed)
{
    pb->buf = b;
    pb->frame_at = b->len;
    pb->count = 0;
    pb->failed = false;
    uint8_t *p = buf_grow(b, PROTO_HEADER_SIZE + fixed);
    if (!p) {
        pb->failed = true;
        return;
    }
    write_header(p, type, flags, 0);
    memset(p + PROTO_HEADER_SIZE, 0, fixed);
}

void proto_request_begin(struct proto_builder *pb, struct buf *b,
                         const struct proto_request_head *head)
{
    builder_begin(pb, b, PROTO_REQUEST, 0, REQUEST_FIXED);
    if (pb->failed)
        return;
    uint8_t *p = (uint8_t *)b->data + pb->frame_at + PROTO_HEADER_SIZE;
    put32(p, head->seq);
    put32(p + 4, head->flags);
    put64(p + 8, head->body_length);
    put64(p + 16, head->start_usec);
    pb->count_at = pb->frame_at + PROTO_HEADER_SIZE + 24;
    uint8_t *at = builder_grow(pb, 5 + (size_t)head->script_len);
    if (at && head->script_len)
        memcpy(place_string(at, head->script_len), head->script, head->script_len);
}

void proto_headers_begin(struct proto_builder *pb, struct buf *b, uint32_t status,
                         uint8_t flags)
{
    builder_begin(pb, b, PROTO_HEADERS, flags & PROTO_FLAG_FLUSH, HEADERS_FIXED);
    if (pb->failed)
        return;
    put32(b->data + pb->frame_at + PROTO_HEADER_SIZE, status);
    pb->count_at = pb->frame_at + PROTO_HEADER_SIZE + 4;
}

void proto_builder_reserve(struct proto_builder *pb, size_t name_len, size_t value_len,
                           char **name, char **value)
{
    *name = *value = NULL;
    if (name_len > PROTO_MAX_PAYLOAD || value_len > PROTO_MAX_PAYLOAD) {
        pb->failed = true;
        return;
    }
    uint8_t *p = builder_grow(pb, 10 + name_len + value_len);
    if (!p)
        return;
    *name = place_string(p, name_len);
    *value = place_string(p + 5 + name_len, value_len);
    pb->count++;
}

void proto_builder_add(struct proto_builder *pb, const char *name, size_t name_len,
                       const char *value, size_t value_len)
{
    char *n, *v;
    proto_builder_reserve(pb, name_len, value_len, &n, &v);
    if (!n)
        return;
    if (name_len)
        memcpy(n, name, name_len);
    if (value_len)
        memcpy(v, value, value_len);
}

int proto_builder_end(struct proto_builder *pb)
{
    if (pb->failed) {
        if (pb->buf->len > pb->frame_at)
            pb->buf->len = pb->frame_at;
        return -1;
    }
    uint8_t *frame = (uint8_t *)pb->buf->data + pb->frame_at;
    put32(frame + 4, (uint32_t)builder_payload_len(pb));
    put32(pb->buf->data + pb->count_at, pb->count);
    return 0;
}

/* ---- parsers ------------------------------------------------------------------------------- */

/*
 * Reads a string at *pos; false when it does not fit before `end` or is malformed. `check`
 * also rejects an inner NUL (pairs walked after parsing were checked once already).
 */
static bool read_string(const uint8_t **pos, const uint8_t *end, const char **s, uint32_t *len,
                        bool check)
{
    if (end - *pos < 5)
        return false;
    uint32_t n = get32(*pos);
    if ((size_t)(end - *pos - 4) < (size_t)n + 1)
        return false;
    const uint8_t *bytes = *pos + 4;
    if (bytes[n] != '\0' || (check && memchr(bytes, '\0', n)))
        return false;
    *s = (const char *)bytes;
    *len = n;
    *pos = bytes + n + 1;
    return true;
}

/* Checks that [pos, end) holds exactly `count` pairs of non-empty names. */
static bool check_pairs(const uint8_t *pos, const uint8_t *end, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        const char *s;
        uint32_t name_len, value_len;
        if (!read_string(&pos, end, &s, &name_len, true) || name_len == 0 ||
            !read_string(&pos, end, &s, &value_len, true))
            return false;
    }
    return pos == end;
}

int proto_parse_request(const struct proto_frame *f, struct proto_request *out)
{
    if (f->type != PROTO_REQUEST)
        return PROTO_ERR_TYPE;
    if (f->length < REQUEST_FIXED + 5)
        return PROTO_ERR_LENGTH;
    const uint8_t *p = f->payload, *end = p + f->length;
    struct proto_request_head *h = &out->head;
    h->seq = get32(p);
    h->flags = get32(p + 4);
    h->body_length = get64(p + 8);
    h->start_usec = get64(p + 16);
    out->var_count = get32(p + 24);
    const uint8_t *pos = p + REQUEST_FIXED;
    if (h->flags & ~PROTO_REQ_FLAGS_ALL)
        return PROTO_ERR_PAYLOAD;
    if (!read_string(&pos, end, &h->script, &h->script_len, true) || h->script_len == 0)
        return PROTO_ERR_PAYLOAD;
    if (!check_pairs(pos, end, out->var_count))
        return PROTO_ERR_PAYLOAD;
    out->vars = pos;
    out->vars_len = (size_t)(end - pos);
    return 0;
}

int proto_parse_headers(const struct proto_frame *f, struct proto_headers *out)
{
    if (f->type != PROTO_HEADERS)
        return PROTO_ERR_TYPE;
    if (f->length < HEADERS_FIXED)
        return PROTO_ERR_LENGTH;
    const uint8_t *p = f->payload, *end = p + f->length;
    out->status = get32(p);
    out->count = get32(p + 4);
    if (out->status < 100 || out->status > 999)
        return PROTO_ERR_PAYLOAD;
    if (!check_pairs(p + HEADERS_FIXED, end, out->count))
        return PROTO_ERR_PAYLOAD;
    out->pairs = p + HEADERS_FIXED;
    out->pairs_len = f->length - HEADERS_FIXED;
    return 0;
}

int proto_parse_abort(const struct proto_frame *f, uint32_t *seq)
{
    if (f->type != PROTO_ABORT)
        return PROTO_ERR_TYPE;
    if (f->length != 4)
        return PROTO_ERR_LENGTH;
    *seq = get32(f->payload);
    return 0;
}

int proto_parse_heartbeat(const struct proto_frame *f, uint32_t *secs)
{
    if (f->type != PROTO_HEARTBEAT)
        return PROTO_ERR_TYPE;
    if (f->length != 4)
        return PROTO_ERR_LENGTH;
    *secs = get32(f->payload);
    return 0;
}

int proto_parse_log(const struct proto_frame *f, struct proto_log *out)
{
    if (f->type != PROTO_LOG)
        return PROTO_ERR_TYPE;
    if (f->length < 4)
        return PROTO_ERR_LENGTH;
    uint32_t level = get32(f->payload);
    if (level > PROTO_LOG_ERROR)
        return PROTO_ERR_PAYLOAD;
    out->level = (enum proto_log_level)level;
    out->text = (const char *)f->payload + 4;
    out->len = f->length - 4;
    return 0;
}

int proto_parse_end(const struct proto_frame *f, struct proto_end *out)
{
    if (f->type != PROTO_END)
        return PROTO_ERR_TYPE;
    if (f->length != END_SIZE)
        return PROTO_ERR_LENGTH;
    const uint8_t *p = f->payload;
    out->seq = get32(p);
    out->exit_status = (int32_t)get32(p + 4);
    out->flags = get32(p + 8);
    out->peak_memory = get64(p + 16);
    if ((out->flags & ~PROTO_END_FLAGS_ALL) || get32(p + 12) != 0)
        return PROTO_ERR_PAYLOAD;
    return 0;
}

void proto_pair_iter_init(struct proto_pair_iter *it, const uint8_t *pairs, size_t len)
{
    it->pos = pairs;
    it->end = pairs + len;
}

bool proto_pair_next(struct proto_pair_iter *it, struct proto_pair *p)
{
    const uint8_t *pos = it->pos;
    if (!read_string(&pos, it->end, &p->name, &p->name_len, false) ||
        !read_string(&pos, it->end, &p->value, &p->value_len, false))
        return false;
    it->pos = pos;
    return true;
}

/* ---- decoder ------------------------------------------------------------------------------- */

/* Checks a frame header against the rules that do not need the payload. */
static int check_header(const uint8_t *h, uint32_t max_payload)
{
    uint8_t type = h[0], flags = h[1];
    uint32_t len = get32(h + 4);
    if (type < PROTO_REQUEST || type > PROTO_END)
        return PROTO_ERR_TYPE;
    if (h[2] || h[3])
        return PROTO_ERR_RESERVED;
    uint8_t allowed = (type == PROTO_BODY || type == PROTO_HEADERS) ? PROTO_FLAG_FLUSH : 0;
    if (flags & ~allowed)
        return PROTO_ERR_FLAGS;
    if (len > max_payload)
        return PROTO_ERR_TOO_BIG;
    switch (type) {
    case PROTO_ABORT:
    case PROTO_HEARTBEAT:
        return len == 4 ? 0 : PROTO_ERR_LENGTH;
    case PROTO_END:
        return len == END_SIZE ? 0 : PROTO_ERR_LENGTH;
    case PROTO_FINISH:
        return len == 0 ? 0 : PROTO_ERR_LENGTH;
    case PROTO_REQUEST:
        return len >= REQUEST_FIXED + 5 ? 0 : PROTO_ERR_LENGTH;
    case PROTO_HEADERS:
        return len >= HEADERS_FIXED ? 0 : PROTO_ERR_LENGTH;
    case PROTO_LOG:
        return len >= 4 ? 0 : PROTO_ERR_LENGTH;
    default:
        return 0;
    }
}

void proto_decoder_init(struct proto_decoder *d, uint32_t max_payload)
{
    memset(d, 0, sizeof *d);
    d->max_payload = (max_payload == 0 || max_payload > PROTO_MAX_PAYLOAD) ? PROTO_MAX_PAYLOAD
                                                                          : max_payload;
}

void proto_decoder_free(struct proto_decoder *d)
{
    free(d->buf);
    memset(d, 0, sizeof *d);
}

/* Bytes still missing for the frame that starts at d->start (at least READ_CHUNK). */
static size_t bytes_wanted(const struct proto_decoder *d)
{
    size_t have = d->end - d->start;
    if (have < PROTO_HEADER_SIZE)
        return READ_CHUNK;
    uint32_t len = get32(d->buf + d->start + 4);
    if (len > d->max_payload)
        return READ_CHUNK; /* proto_decoder_next() reports it */
    size_t frame = PROTO_HEADER_SIZE + (size_t)len;
    return frame > have && frame - have > READ_CHUNK ? frame - have : READ_CHUNK;
}

uint8_t *proto_decoder_space(struct proto_decoder *d, size_t *avail)
{
    if (d->start == d->end)
        d->start = d->end = 0;
    size_t want = bytes_wanted(d);
    if (d->cap - d->end < want && d->start > 0) {
        memmove(d->buf, d->buf + d->start, d->end - d->start);
        d->end -= d->start;
        d->start = 0;
    }
    if (d->cap - d->end < want) {
        uint8_t *buf = realloc(d->buf, d->end + want);
        if (!buf)
            return NULL;
        d->buf = buf;
        d->cap = d->end + want;
    }
    *avail = d->cap - d->end;
    return d->buf + d->end;
}

void proto_decoder_commit(struct proto_decoder *d, size_t n)
{
    d->end += n;
}

int proto_decoder_feed(struct proto_decoder *d, const void *data, size_t len)
{
    while (len > 0) {
        size_t avail;
        uint8_t *p = proto_decoder_space(d, &avail);
        if (!p)
            return -1;
        size_t n = len < avail ? len : avail;
        memcpy(p, data, n);
        proto_decoder_commit(d, n);
        data = (const uint8_t *)data + n;
        len -= n;
    }
    return 0;
}

/* Frame at offset `at`: 1 complete, 0 incomplete, <0 malformed. */
static int frame_at(const struct proto_decoder *d, size_t at, struct proto_frame *f)
{
    if (d->end - at < PROTO_HEADER_SIZE)
        return 0;
    const uint8_t *h = d->buf + at;
    int rc = check_header(h, d->max_payload);
    if (rc < 0)
        return rc;
    uint32_t len = get32(h + 4);
    if (d->end - at - PROTO_HEADER_SIZE < len)
        return 0;
    f->type = h[0];
    f->flags = h[1];
    f->length = len;
    f->payload = h + PROTO_HEADER_SIZE;
    return 1;
}

int proto_decoder_next(struct proto_decoder *d, struct proto_frame *f)
{
    if (d->error)
        return d->error;
    int rc = frame_at(d, d->start, f);
    if (rc < 0) {
        d->error = rc;
        return rc;
    }
    if (rc == 1)
        d->start += PROTO_HEADER_SIZE + f->length;
    return rc;
}

int proto_decoder_peek(const struct proto_decoder *d, size_t *cursor, struct proto_frame *f)
{
    if (d->error || *cursor > d->end - d->start)
        return 0;
    if (frame_at(d, d->start + *cursor, f) != 1)
        return 0;
    *cursor += PROTO_HEADER_SIZE + f->length;
    return 1;
}

size_t proto_decoder_pending(const struct proto_decoder *d)
{
    return d->end - d->start;
}

const char *proto_strerror(int err)
{
    switch (err) {
    case 0:
        return "no error";
    case PROTO_ERR_NOMEM:
        return "out of memory";
    case PROTO_ERR_TYPE:
        return "unknown frame type";
    case PROTO_ERR_FLAGS:
        return "flag not allowed for this frame type";
    case PROTO_ERR_RESERVED:
        return "reserved header field not zero";
    case PROTO_ERR_TOO_BIG:
        return "frame larger than the limit";
    case PROTO_ERR_LENGTH:
        return "payload length invalid for this frame type";
    case PROTO_ERR_PAYLOAD:
        return "malformed payload";
    default:
        return "unknown protocol error";
    }
}

const char *proto_type_name(uint8_t type)
{
    static const char *const names[] = {
        [PROTO_REQUEST] = "REQUEST", [PROTO_ABORT] = "ABORT",       [PROTO_BODY] = "BODY",
        [PROTO_HEADERS] = "HEADERS", [PROTO_FINISH] = "FINISH",     [PROTO_HEARTBEAT] = "HEARTBEAT",
        [PROTO_LOG] = "LOG",         [PROTO_END] = "END",
    };
    if (type < sizeof names / sizeof names[0] && names[type])
        return names[type];
    return "UNKNOWN";
}

/* ---- SCM_RIGHTS ---------------------------------------------------------------------------- */

ssize_t proto_send_fd(int sock, const void *data, size_t len, int fd, int flags)
{
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.bytes,
        .msg_controllen = sizeof control.bytes,
    };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
}

/* Stores or closes each descriptor of one SCM_RIGHTS message. */
static void take_fds(struct cmsghdr *c, int *fds, size_t max, size_t *n)
{
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (*n < max)
            fds[(*n)++] = fd;
        else
            close(fd);
    }
}

ssize_t proto_recv_fds(int sock, void *data, size_t len, int *fds, size_t *nfds, int flags)
{
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(8 * sizeof(int))];
    } control;
    struct iovec iov = {.iov_base = data, .iov_len = len};
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.bytes,
        .msg_controllen = sizeof control.bytes,
    };
    size_t max = *nfds;
    *nfds = 0;
    ssize_t n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
    if (n < 0)
        return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            take_fds(c, fds, max, nfds);
    }
    return n;
}

/* ---- the begin board ----------------------------------------------------------------------- */

#define SLOT_BEGUN(v) ((uint32_t)(v))
#define SLOT_TAKEN(v) ((uint32_t)((v) >> 32))
#define SLOT(taken, begun) ((uint64_t)(taken) << 32 | (begun))

/* a is at or after b, positions being close to each other on a circle of 2^32 */
static bool position_reached(uint32_t a, uint32_t b)
{
    return b != 0 && a != 0 && (int32_t)(a - b) >= 0;
}

proto_slot *proto_board_map(unsigned count)
{
    void *p = mmap(NULL, count * sizeof(proto_slot), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void proto_board_unmap(proto_slot *board, unsigned count)
{
    if (board)
        munmap((void *)board, count * sizeof(proto_slot));
}

uint32_t proto_position_next(uint32_t *counter)
{
    if (++*counter == 0)
        ++*counter;
    return *counter;
}

void proto_slot_reset(proto_slot *s)
{
    atomic_store(s, 0);
}

bool proto_slot_begin(proto_slot *s, uint32_t pos)
{
    uint64_t v = atomic_load(s);
    do {
        if (SLOT_TAKEN(v) == pos)
            return false;
    } while (!atomic_compare_exchange_weak(s, &v, SLOT(SLOT_TAKEN(v), pos)));
    return true;
}

bool proto_slot_take_back(proto_slot *s, uint32_t pos)
{
    uint64_t v = atomic_load(s);
    do {
        if (position_reached(SLOT_BEGUN(v), pos))
            return false;
    } while (!atomic_compare_exchange_weak(s, &v, SLOT(pos, SLOT_BEGUN(v))));
    return true;
}

bool proto_slot_taken_pending(proto_slot *s)
{
    uint64_t v = atomic_load(s);
    return SLOT_TAKEN(v) != 0 && !position_reached(SLOT_BEGUN(v), SLOT_TAKEN(v));
}

bool proto_slot_begun(proto_slot *s, uint32_t pos)
{
    return position_reached(SLOT_BEGUN(atomic_load(s)), pos);
}

bool proto_slot_begun_any(proto_slot *s)
{
    return SLOT_BEGUN(atomic_load(s)) != 0;
}
