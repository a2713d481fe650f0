#include "pool/status.h"

#include <string.h>
#include <sys/wait.h>

#include "obs/json.h"

static void key(struct buf *b, const char *name)
{
    buf_append_char(b, '"');
    buf_append_str(b, name);
    buf_append_str(b, "\":");
}

/* Unix seconds with milliseconds, or null for 0. */
static void time_value(struct buf *b, uint64_t usec)
{
    if (!usec) {
        buf_append_str(b, "null");
        return;
    }
    buf_printf(b, "%llu.%03u", (unsigned long long)(usec / 1000000),
               (unsigned)(usec % 1000000 / 1000));
}

static void string_or_null(struct buf *b, bool known, const char *s)
{
    if (known)
        json_append_string(b, s, strlen(s));
    else
        buf_append_str(b, "null");
}

/* A size /proc told, or null for 0 (not known). */
static void bytes_or_null(struct buf *b, uint64_t bytes)
{
    if (bytes)
        buf_append_uint(b, bytes);
    else
        buf_append_str(b, "null");
}

static void request_json(struct buf *b, const struct pool_worker_info *w)
{
    if (!w->has_request) {
        buf_append_str(b, "null");
        return;
    }
    buf_append_char(b, '{');
    key(b, "method");
    string_or_null(b, w->request_known, w->request.method);
    buf_append_char(b, ',');
    key(b, "uri");
    string_or_null(b, w->request_known, w->request.uri);
    buf_append_char(b, ',');
    key(b, "uri_truncated");
    buf_append_str(b, w->request_known && w->request.uri_truncated ? "true" : "false");
    buf_append_char(b, ',');
    key(b, "started");
    time_value(b, w->request.begin_usec);
    buf_append_char(b, '}');
}

static void last_exit_json(struct buf *b, const struct pool_worker_info *w)
{
    const char *reason = pool_exit_reason_name(w->last_exit);
    if (!reason) {
        buf_append_str(b, "null");
        return;
    }
    buf_append_char(b, '{');
    key(b, "reason");
    json_append_string(b, reason, strlen(reason));
    buf_append_char(b, ',');
    key(b, "status");
    int st = w->last_exit_status;
    if (st >= 0 && WIFEXITED(st))
        buf_printf(b, "\"exit %d\"", WEXITSTATUS(st));
    else if (st >= 0 && WIFSIGNALED(st))
        buf_printf(b, "\"signal %d\"", WTERMSIG(st));
    else
        buf_append_str(b, "null");
    buf_append_char(b, '}');
}

static void worker_json(struct buf *b, const struct pool_worker_info *w)
{
    buf_append_char(b, '{');
    key(b, "id");
    buf_append_uint(b, w->id);
    buf_append_char(b, ',');
    key(b, "pid");
    if (w->pid > 0)
        buf_append_uint(b, (unsigned long long)w->pid);
    else
        buf_append_str(b, "null");
    buf_append_char(b, ',');
    key(b, "state");
    const char *state = pool_worker_state_name(w->state);
    json_append_string(b, state, strlen(state));
    buf_append_char(b, ',');
    key(b, "started");
    time_value(b, w->spawned_usec);
    buf_append_char(b, ',');
    key(b, "requests");
    buf_append_uint(b, w->served);
    buf_append_char(b, ',');
    key(b, "mode");
    buf_append_str(b, w->worker_mode ? "\"worker\"" : "\"classic\"");
    buf_append_char(b, ',');
    key(b, "rss_bytes");
    bytes_or_null(b, w->rss_bytes);
    buf_append_char(b, ',');
    key(b, "private_bytes");
    bytes_or_null(b, w->private_bytes);
    buf_append_char(b, ',');
    key(b, "request");
    request_json(b, w);
    buf_append_char(b, ',');
    key(b, "last_exit");
    last_exit_json(b, w);
    buf_append_char(b, '}');
}

void pool_status_workers_json(const struct pool_worker_info *workers, size_t count,
                              struct buf *out)
{
    buf_append_str(out, "{\"workers\":[");
    for (size_t i = 0; i < count; i++) {
        if (i)
            buf_append_char(out, ',');
        worker_json(out, &workers[i]);
    }
    buf_append_str(out, "]}");
}
