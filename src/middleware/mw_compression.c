/*
 * Compression (priority 100, the last to touch a response): br, zstd or gzip, chosen from
 * Accept-Encoding with its q-values (br, then zstd, then gzip on ties), for compressible media
 * types above COMPRESSION_MIN_SIZE; never for 206, already-encoded responses or HEAD bodies.
 * Vary: Accept-Encoding goes on every response that could have been compressed. PHP output is
 * compressed as it streams, and a flush() still reaches the client at once (the encoder
 * flushes too). A strong ETag becomes weak: the compressed bytes are another representation.
 * Static files (up to 3 MiB) are compressed whole and kept in memory (STATIC_COMPRESS_CACHE_SIZE),
 * so they go out with a Content-Length and are compressed once, not per request.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "http/encoding.h"
#include "http/exchange.h"
#include "http/statcache.h"
#include "middleware/chain.h"
#include "middleware/compress.h"
#include "middleware/zcache.h"
#include "obs/stats.h"

/* Static files are compressed in the event loop: above this they go out as they are. */
#define STATIC_COMPRESS_MAX (3u * 1024 * 1024)

struct compression {
    const struct coding_levels *levels; /* the configuration's */
    const struct coding_types *extra_types;
    uint64_t min_size;                  /* COMPRESSION_MIN_SIZE */
    struct statcache *statcache;        /* static files are opened through it */
    struct zcache *cache;               /* compressed static files; NULL = off */
    struct buf scratch;                 /* a compressed file when there is no cache */
};

static bool compression_setup(const struct mw_env *env, void **instance, char *err,
                              size_t errlen)
{
    const struct config *cfg = env->cfg;
    if (!cfg->compression)
        return true;
    struct compression *z = malloc(sizeof(*z));
    if (!z) {
        snprintf(err, errlen, "COMPRESSION: out of memory");
        return false;
    }
    *z = (struct compression){
        .levels = &cfg->compression_level,
        .extra_types = &cfg->compression_types,
        .min_size = cfg->compression_min_size,
        .statcache = env->statcache,
        .cache = zcache_create(cfg->static_compress_cache_size),
    };
    *instance = z;
    return true;
}

static void compression_teardown(void *instance)
{
    struct compression *z = instance;
    zcache_destroy(z->cache);
    buf_free(&z->scratch);
    free(z);
}

/* SIGHUP: a deploy may have replaced files with others of the same size and mtime (rsync -a). */
static void compression_reload(void *instance)
{
    struct compression *z = instance;
    zcache_clear(z->cache);
}

/* Reads the whole static file and compresses it into `out`. */
static bool compress_file(const struct compression *z, struct exchange *x,
                          enum encoding_coding coding, struct buf *out)
{
    int fd = statcache_open(z->statcache, x->static_path);
    if (fd < 0)
        return false;
    size_t size = (size_t)x->static_stat.st_size;
    char *data = malloc(size ? size : 1);
    bool ok = data && pread(fd, data, size, 0) == (ssize_t)size;
    close(fd);
    struct compress *c = ok ? compress_create(coding, z->levels->level[coding], size) : NULL;
    ok = c && compress_write(c, data, size, COMPRESS_FINISH, out) == 0;
    compress_destroy(c);
    free(data);
    return ok;
}

/*
 * A static file is compressed whole, once, and kept (the cache), so it goes out with its
 * length; the file body that follows is then dropped in favour of these bytes.
 */
static bool use_compressed_file(struct compression *z, struct exchange *x,
                                enum encoding_coding coding, long long *length)
{
    struct zcache_key key = {x->static_path, (int)coding, x->static_stat.st_size,
                             x->static_stat.st_mtim};
    size_t len;
    const void *data = zcache_get(z->cache, &key, &len);
    if (!data) {
        buf_clear(&z->scratch);
        if (!compress_file(z, x, coding, &z->scratch))
            return false;
        zcache_put(z->cache, &key, z->scratch.data, z->scratch.len);
        data = z->scratch.data;
        len = z->scratch.len;
    }
    x->override_body = data;
    x->override_len = len;
    *length = (long long)len;
    /* Counted per response served, like a streamed body: the cache saves the work, not the
       bytes (a HEAD sends none). */
    if (!exchange_is_head(x))
        stats_count_compression((uint64_t)x->static_stat.st_size, len);
    return true;
}

/* The media type of the response, lower-cased, without parameters; false when there is none. */
static bool media_type(const struct exchange *x, char *out, size_t size)
{
    size_t len;
    const char *v = headers_find(&x->response_headers, "Content-Type", &len);
    if (!v)
        return false;
    size_t n = 0;
    while (n < len && v[n] != ';' && v[n] != ' ' && n + 1 < size) {
        out[n] = (char)tolower((unsigned char)v[n]);
        n++;
    }
    out[n] = '\0';
    return n > 0;
}

static bool already_encoded(const struct exchange *x)
{
    size_t len;
    const char *v = headers_find(&x->response_headers, "Content-Encoding", &len);
    return v && encoding_already_encoded(v, len);
}

static void weaken_etag(struct exchange *x)
{
    size_t len;
    const char *v = headers_find(&x->response_headers, "ETag", &len);
    if (!v || len == 0 || v[0] != '"')
        return;
    char weak[80];
    if (len + 3 > sizeof(weak))
        return;
    weak[0] = 'W';
    weak[1] = '/';
    memcpy(weak + 2, v, len);
    weak[len + 2] = '\0';
    headers_set(&x->response_headers, "ETag", weak);
}

static void compression_response(void *instance, struct exchange *x, long long *length)
{
    struct compression *z = instance;
    char type[128];
    if (x->override_body || x->filter || x->status != 200 ||
        !media_type(x, type, sizeof(type)) ||
        !encoding_type_compressible(type, strlen(type), z->extra_types) || already_encoded(x))
        return;
    size_t vary_len;
    if (!headers_find(&x->response_headers, "Vary", &vary_len))
        headers_add_str(&x->response_headers, "Vary", "Accept-Encoding");
    if (*length >= 0 && (uint64_t)*length < z->min_size)
        return;
    if (x->is_static && *length > (long long)STATIC_COMPRESS_MAX)
        return;
    size_t ae_len;
    const char *ae = exchange_header(x, "Accept-Encoding", &ae_len);
    enum encoding_coding coding = ae ? encoding_negotiate(ae, ae_len, ENCODING_ALL) : ENCODING_NONE;
    if (coding == ENCODING_NONE)
        return;
    if (x->static_path && *length >= 0) {
        if (!use_compressed_file(z, x, coding, length))
            return;
    } else {
        if (!exchange_is_head(x)) {
            struct compress *c = compress_create(coding, z->levels->level[coding],
                                                 *length >= 0 ? (uint64_t)*length
                                                              : COMPRESS_SIZE_UNKNOWN);
            if (!c)
                return;
            exchange_set_filter(x, &compress_filter, c);
        }
        *length = -1;
    }
    headers_add_str(&x->response_headers, "Content-Encoding", encoding_name(coding));
    weaken_etag(x);
}

const struct middleware middleware_compression = {
    .name = "compression",
    .priority = 100,
    .setup = compression_setup,
    .teardown = compression_teardown,
    .reload = compression_reload,
    .response = compression_response,
};
