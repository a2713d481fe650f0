/*
 * The master <-> PHP worker protocol: typed frames over one SOCK_STREAM socketpair per worker.
 *
 * A frame is an 8-byte header followed by `length` payload bytes:
 *
 *     u8 type | u8 flags | u16 reserved (0) | u32 length
 *
 * Integers are in host byte order (both ends run on the same machine). Strings inside payloads
 * are "u32 length, bytes, NUL": the NUL lets the worker use them as C strings in place, and no
 * string may contain a NUL of its own.
 *
 * One request, in order (docs/php.md has the full description):
 *
 *   master -> worker   REQUEST(seq, flags, body_length, start time, script, server variables)
 *                      BODY*     exactly body_length bytes in total, unless PROTO_REQ_BODY_FD:
 *                                then the body is in a file (memfd or unlinked temp file) passed
 *                                with SCM_RIGHTS no later than the REQUEST frame's first byte
 *                                (descriptors go to BODY_FD requests in order), read from offset
 *                                0, and no BODY frame follows
 *                      ABORT(seq)  optional, any time after REQUEST: the client went away;
 *                                no BODY frame of that request may follow it
 *   worker -> master   HEADERS(status, name/value list)  once, before any BODY
 *                      BODY*     response bytes; PROTO_FLAG_FLUSH asks the master to send now
 *                      FINISH    optional: the response is complete, the script goes on
 *                      HEARTBEAT(secs)*, LOG(level, text)*  at any time
 *                      END(seq, exit status, flags, peak memory)  the worker is idle again
 *
 * The master may send the next REQUEST before the END of the current one (pipelining); the
 * worker serves requests strictly in order and ignores an ABORT whose seq is not current.
 *
 * Beside the socket, the begin board (end of this file): one word per worker in memory shared
 * by the master and the workers, where a worker claims each request before running any of it
 * and where the master may take back a request sent ahead that was not claimed yet.
 *
 * Encoding appends to a `struct buf` (buf.h), grown with buf_try_reserve(): an encoder reports
 * running out of memory (-1) instead of aborting, so that a worker can retire. Decoding is incremental: bytes read from
 * a non-blocking socket go into a `struct proto_decoder`, which hands out complete, checked
 * frames; the typed parsers then check each payload. Nothing here does I/O except the two
 * SCM_RIGHTS helpers at the end.
 */
#ifndef KILN_POOL_PROTO_H
#define KILN_POOL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

#define PROTO_HEADER_SIZE 8u
#define PROTO_MAX_PAYLOAD (1u << 20) /* default and upper bound of a decoder's frame limit */
#define PROTO_BODY_CHUNK (64u * 1024) /* largest BODY payload either side sends */

enum proto_type {
    /* master -> worker */
    PROTO_REQUEST = 1,
    PROTO_ABORT = 2,
    /* both directions: request body (to the worker) or response body (to the master) */
    PROTO_BODY = 3,
    /* worker -> master */
    PROTO_HEADERS = 4,
    PROTO_FINISH = 5,
    PROTO_HEARTBEAT = 6,
    PROTO_LOG = 7,
    PROTO_END = 8,
};

/* Frame flags. */
#define PROTO_FLAG_FLUSH 0x01u /* HEADERS, BODY: deliver to the client now */

/* REQUEST flags. */
#define PROTO_REQ_HEAD 0x01u    /* HEAD request: the worker sends no BODY frame */
#define PROTO_REQ_BODY_FD 0x02u /* body in a file passed with the frame, not in BODY frames */
#define PROTO_REQ_EVENT_STREAM 0x04u /* the client asks for text/event-stream (SSE): PHP's
                                         default Content-Type is that for this request */
#define PROTO_REQ_FLAGS_ALL (PROTO_REQ_HEAD | PROTO_REQ_BODY_FD | PROTO_REQ_EVENT_STREAM)

/* END flags. */
#define PROTO_END_RETIRING 0x01u /* the worker exits now (WORKER_MAX_REQUESTS or a broken state) */
#define PROTO_END_FLAGS_ALL PROTO_END_RETIRING

enum proto_log_level {
    PROTO_LOG_DEBUG,
    PROTO_LOG_INFO,
    PROTO_LOG_WARN,
    PROTO_LOG_ERROR,
};

/* Errors: negative, returned by proto_decoder_next() and the parsers. */
enum proto_error {
    PROTO_ERR_NOMEM = -1,
    PROTO_ERR_TYPE = -2,     /* unknown frame type */
    PROTO_ERR_FLAGS = -3,    /* flag not defined for this frame type */
    PROTO_ERR_RESERVED = -4, /* reserved header field not zero */
    PROTO_ERR_TOO_BIG = -5,  /* payload longer than the decoder's limit */
    PROTO_ERR_LENGTH = -6,   /* payload length impossible for this frame type */
    PROTO_ERR_PAYLOAD = -7,  /* payload does not parse */
};

/* A frame handed out by the decoder; `payload` stays valid until the decoder is next used. */
struct proto_frame {
    uint8_t type;
    uint8_t flags;
    uint32_t length;
    const uint8_t *payload;
};

/* One name/value pair of a REQUEST or HEADERS frame; both strings are NUL-terminated. */
struct proto_pair {
    const char *name;
    uint32_t name_len;
    const char *value;
    uint32_t value_len;
};

struct proto_pair_iter {
    const uint8_t *pos;
    const uint8_t *end;
};

/* The fixed part of a REQUEST. */
struct proto_request_head {
    uint32_t seq;           /* chosen by the master; echoed by ABORT and END */
    uint32_t flags;         /* PROTO_REQ_* */
    uint64_t body_length;   /* bytes of request body */
    uint64_t start_usec;    /* arrival time, microseconds since the epoch: REQUEST_TIME_FLOAT */
    const char *script;     /* absolute path of the script to run */
    uint32_t script_len;
};

struct proto_request {
    struct proto_request_head head;
    uint32_t var_count;     /* server variables ($_SERVER) */
    const uint8_t *vars;    /* walk with proto_pair_iter_init() */
    size_t vars_len;
};

struct proto_headers {
    uint32_t status;
    uint32_t count;
    const uint8_t *pairs;
    size_t pairs_len;
};

struct proto_end {
    uint32_t seq;
    int32_t exit_status;    /* EG(exit_status): 255 after a fatal error, as in FPM */
    uint32_t flags;         /* PROTO_END_* */
    uint64_t peak_memory;   /* zend_memory_peak_usage(true) of the request, bytes */
};

struct proto_log {
    enum proto_log_level level;
    const char *text;       /* not NUL-terminated */
    uint32_t len;
};

/* Builds a REQUEST or HEADERS frame pair by pair; errors are sticky and reported by _end(). */
struct proto_builder {
    struct buf *buf;
    size_t frame_at;        /* offset of the frame header in buf */
    size_t count_at;        /* offset of the pair count */
    uint32_t count;
    bool failed;
};

/* Incremental decoder. */
struct proto_decoder {
    uint8_t *buf;
    size_t start;           /* first byte not yet handed out */
    size_t end;             /* end of the bytes received */
    size_t cap;
    uint32_t max_payload;
    int error;              /* sticky: 0 or a proto_error */
};

/* ---- encoders: append one frame to `b`; 0, or -1 when out of memory or too long -------- */

int proto_put_frame(struct buf *b, enum proto_type type, uint8_t flags,
                    const void *payload, size_t len);
int proto_put_abort(struct buf *b, uint32_t seq);
int proto_put_heartbeat(struct buf *b, uint32_t secs);
int proto_put_log(struct buf *b, enum proto_log_level level, const char *text, size_t len);
int proto_put_end(struct buf *b, const struct proto_end *end);

#define PROTO_NO_FRAME SIZE_MAX
/*
 * Appends body bytes as BODY frames of at most PROTO_BODY_CHUNK bytes: first into the BODY
 * frame at offset *open of `b` (PROTO_NO_FRAME: none; it must be the last frame in `b`), then
 * into new ones; *open is left at the last. 0, or -1 when out of memory.
 */
int proto_put_body(struct buf *b, size_t *open, const void *data, size_t len);
/* ORs `flags` into the header of the frame at offset `at` of `b`. */
void proto_add_flags(struct buf *b, size_t at, uint8_t flags);

/* REQUEST: begin with the fixed part, add the server variables, end. */
void proto_request_begin(struct proto_builder *pb, struct buf *b,
                         const struct proto_request_head *head);
/* HEADERS: begin with the status, add "Name"/"value" pairs, end. */
void proto_headers_begin(struct proto_builder *pb, struct buf *b, uint32_t status,
                         uint8_t flags);
void proto_builder_add(struct proto_builder *pb, const char *name, size_t name_len,
                       const char *value, size_t value_len);
/*
 * Appends a pair whose bytes the caller writes: on success *name and *value point to
 * name_len and value_len bytes to fill (the NULs are already in place); on failure both are
 * NULL and the builder has failed.
 */
void proto_builder_reserve(struct proto_builder *pb, size_t name_len, size_t value_len,
                           char **name, char **value);
/* Completes the frame. 0; or -1 after any failure, with the buffer cut back to where it was. */
int proto_builder_end(struct proto_builder *pb);

/* ---- parsers: check a frame's payload; 0 or PROTO_ERR_PAYLOAD / PROTO_ERR_LENGTH -------- */

int proto_parse_request(const struct proto_frame *f, struct proto_request *out);
int proto_parse_headers(const struct proto_frame *f, struct proto_headers *out);
int proto_parse_abort(const struct proto_frame *f, uint32_t *seq);
int proto_parse_heartbeat(const struct proto_frame *f, uint32_t *secs);
int proto_parse_log(const struct proto_frame *f, struct proto_log *out);
int proto_parse_end(const struct proto_frame *f, struct proto_end *out);

/* Walks pairs already checked by proto_parse_request()/proto_parse_headers(). */
void proto_pair_iter_init(struct proto_pair_iter *it, const uint8_t *pairs, size_t len);
/* true with *p filled, false at the end. */
bool proto_pair_next(struct proto_pair_iter *it, struct proto_pair *p);

/* ---- decoder ----------------------------------------------------------------------------- */

/* `max_payload` 0 means PROTO_MAX_PAYLOAD; larger values are clamped to it. */
void proto_decoder_init(struct proto_decoder *d, uint32_t max_payload);
void proto_decoder_free(struct proto_decoder *d);
/*
 * Space to read into: returns a pointer and sets *avail (> 0). NULL when out of memory.
 * Invalidates frames handed out before. After reading n bytes there, call _commit(d, n).
 */
uint8_t *proto_decoder_space(struct proto_decoder *d, size_t *avail);
void proto_decoder_commit(struct proto_decoder *d, size_t n);
/* Copies bytes in (space + memcpy + commit). 0, or -1 when out of memory. */
int proto_decoder_feed(struct proto_decoder *d, const void *data, size_t len);
/*
 * Next complete frame: 1 with *f filled (header checked), 0 when more bytes are needed, or a
 * negative proto_error. Errors are sticky: the stream cannot be resynchronised.
 */
int proto_decoder_next(struct proto_decoder *d, struct proto_frame *f);
/*
 * Looks at the complete frames not yet handed out, without consuming them.
 * Start with *cursor = 0; returns 1 with *f filled and the cursor advanced, or 0 when no
 * complete well-formed frame follows.
 */
int proto_decoder_peek(const struct proto_decoder *d, size_t *cursor, struct proto_frame *f);
/* Bytes received and not yet handed out. */
size_t proto_decoder_pending(const struct proto_decoder *d);

const char *proto_strerror(int err);
const char *proto_type_name(uint8_t type);

/* ---- passing a file descriptor with data (SCM_RIGHTS) ------------------------------------- */

/* sendmsg() of `len` bytes with `fd` attached to the first byte. Returns what sendmsg does. */
ssize_t proto_send_fd(int sock, const void *data, size_t len, int fd, int flags);
/*
 * recvmsg() into `data`; received descriptors (O_CLOEXEC) are stored in fds[0..*nfds) up to
 * the count *nfds held on entry, and the rest are closed. *nfds is set to the number stored.
 * Returns what recvmsg does.
 */
ssize_t proto_recv_fds(int sock, void *data, size_t len, int *fds, size_t *nfds, int flags);

/* ---- the begin board ----------------------------------------------------------------------- */

/*
 * One slot per worker, in a MAP_SHARED mapping made before the zygote is forked, so the master
 * and every worker see the same memory. Both ends number the REQUEST frames on a worker's
 * socket 1, 2, 3... (proto_position_next); a slot holds the position of the last request the
 * worker began (low 32 bits) and of the last one the master took back (high 32 bits).
 *
 * The master may take back only the request it sent last, sent ahead of the current one, and
 * sends nothing ahead to a worker while a request it took back is still before the worker
 * (proto_slot_taken_pending), so at most one taken-back position is ever outstanding. A worker
 * begins a request and the master takes one back with a compare-and-swap each, so exactly one
 * of them wins: a request sent ahead either runs on that worker or is taken back, never both.
 * After a worker dies, its slot says whether a request had begun: only one that had not may run
 * again elsewhere. Positions compare modulo 2^32 and skip 0, which means "none".
 */
typedef _Atomic uint64_t proto_slot;

/* Maps `count` zeroed slots shared with the processes forked afterwards; NULL on failure. */
proto_slot *proto_board_map(unsigned count);
void proto_board_unmap(proto_slot *board, unsigned count);

/* The position of the next REQUEST on a socket; `*counter` starts at 0. */
uint32_t proto_position_next(uint32_t *counter);
/* Master, before a new worker process uses the slot. */
void proto_slot_reset(proto_slot *s);
/* Worker, before running the request at `pos`: false when the master took it back (skip it). */
bool proto_slot_begin(proto_slot *s, uint32_t pos);
/* Master: takes back the request at `pos` (the last sent); false when the worker began it. */
bool proto_slot_take_back(proto_slot *s, uint32_t pos);
/* Master: a request taken back is still ahead of the worker (send nothing ahead to it). */
bool proto_slot_taken_pending(proto_slot *s);
/* Master: whether the slot's worker began the request at `pos`, or any request at all. */
bool proto_slot_begun(proto_slot *s, uint32_t pos);
bool proto_slot_begun_any(proto_slot *s);

#endif
