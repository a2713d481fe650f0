#include "obs/trace.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "text.h"

/* Offsets of the fields in a traceparent value. */
#define TP_TRACE 3
#define TP_PARENT 36
#define TP_FLAGS 53

static const char hex_digits[] = "0123456789abcdef";

/* ---- the id generator: xoshiro256**, seeded from getrandom() ------------------------------ */

static uint64_t rng_state[4];
static bool rng_seeded;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Spreads one 64-bit value over the state when getrandom() is unavailable. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void trace_seed(void)
{
    uint64_t seed[4];
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        x ^= (uint64_t)getpid() << 32;
        for (size_t i = 0; i < 4; i++)
            seed[i] = splitmix64(&x);
    }
    if ((seed[0] | seed[1] | seed[2] | seed[3]) == 0)
        seed[0] = 1; /* the one state xoshiro never leaves */
    memcpy(rng_state, seed, sizeof(rng_state));
    rng_seeded = true;
}

static uint64_t rng_next(void)
{
    if (!rng_seeded)
        trace_seed();
    uint64_t *s = rng_state;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void put_hex64(char *out, uint64_t v)
{
    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = hex_digits[v & 0xf];
}

void trace_new_trace_id(char out[TRACE_ID_LEN + 1])
{
    uint64_t hi;
    uint64_t lo;
    do {
        hi = rng_next();
        lo = rng_next();
    } while ((hi | lo) == 0);
    put_hex64(out, hi);
    put_hex64(out + 16, lo);
    out[TRACE_ID_LEN] = '\0';
}

void trace_new_span_id(char out[TRACE_SPAN_ID_LEN + 1])
{
    uint64_t v;
    do {
        v = rng_next();
    } while (v == 0);
    put_hex64(out, v);
    out[TRACE_SPAN_ID_LEN] = '\0';
}

/* ---- traceparent ---------------------------------------------------------------------- */

static int lower_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static bool is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower_hex_value(s[i]) < 0)
            return false;
    return true;
}

static bool is_all_zero(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0')
            return false;
    return true;
}

/* A lowercase hex id of n digits that is not all zero. */
static bool is_id(const char *s, size_t n)
{
    return is_lower_hex(s, n) && !is_all_zero(s, n);
}

/* Version 00 is exactly 55 characters; a later one is longer only by a "-" extension. */
static bool version_and_length_ok(const char *s, size_t len)
{
    if (len < TRACE_PARENT_LEN || !is_lower_hex(s, 2) || memcmp(s, "ff", 2) == 0)
        return false;
    if (memcmp(s, "00", 2) == 0)
        return len == TRACE_PARENT_LEN;
    return len == TRACE_PARENT_LEN || s[TRACE_PARENT_LEN] == '-';
}

bool trace_parse(const char *value, size_t len, struct trace_context *ctx)
{
    const char *s = text_trim(value, &len);
    if (!version_and_length_ok(s, len))
        return false;
    if (s[TP_TRACE - 1] != '-' || s[TP_PARENT - 1] != '-' || s[TP_FLAGS - 1] != '-')
        return false;
    if (!is_id(s + TP_TRACE, TRACE_ID_LEN) || !is_id(s + TP_PARENT, TRACE_SPAN_ID_LEN) ||
        !is_lower_hex(s + TP_FLAGS, 2))
        return false;
    uint8_t flags = (uint8_t)(lower_hex_value(s[TP_FLAGS]) << 4 | lower_hex_value(s[TP_FLAGS + 1]));
    ctx->flags = memcmp(s, "00", 2) == 0 ? flags : (flags & TRACE_FLAG_SAMPLED);
    memcpy(ctx->trace_id, s + TP_TRACE, TRACE_ID_LEN);
    ctx->trace_id[TRACE_ID_LEN] = '\0';
    memcpy(ctx->parent_id, s + TP_PARENT, TRACE_SPAN_ID_LEN);
    ctx->parent_id[TRACE_SPAN_ID_LEN] = '\0';
    return true;
}

void trace_start(struct trace_context *ctx, const char *value, size_t len)
{
    if (!value || !trace_parse(value, len, ctx)) {
        trace_new_trace_id(ctx->trace_id);
        ctx->parent_id[0] = '\0';
        ctx->flags = TRACE_FLAG_SAMPLED;
    }
    trace_new_span_id(ctx->span_id);
}

size_t trace_format(const struct trace_context *ctx, char out[TRACE_PARENT_LEN + 1])
{
    memcpy(out, "00-", 3);
    memcpy(out + TP_TRACE, ctx->trace_id, TRACE_ID_LEN);
    out[TP_PARENT - 1] = '-';
    memcpy(out + TP_PARENT, ctx->span_id, TRACE_SPAN_ID_LEN);
    out[TP_FLAGS - 1] = '-';
    out[TP_FLAGS] = hex_digits[ctx->flags >> 4];
    out[TP_FLAGS + 1] = hex_digits[ctx->flags & 0xf];
    out[TRACE_PARENT_LEN] = '\0';
    return TRACE_PARENT_LEN;
}

/* ---- request id ----------------------------------------------------------------------- */

size_t trace_short_id(const struct trace_context *ctx, char out[TRACE_SHORT_ID_LEN + 1])
{
    memcpy(out, ctx->trace_id, 12);
    out[12] = '-';
    memcpy(out + 13, ctx->span_id, 4);
    out[TRACE_SHORT_ID_LEN] = '\0';
    return TRACE_SHORT_ID_LEN;
}

static bool is_request_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-_.:+/=@~", c) != NULL);
}

bool trace_request_id_valid(const char *value, size_t len)
{
    const char *s = text_trim(value, &len);
    if (len == 0 || len > TRACE_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_request_id_char(s[i]))
            return false;
    return true;
}

size_t trace_request_id(const struct trace_context *ctx, const char *value, size_t len,
                        char out[TRACE_REQUEST_ID_MAX + 1])
{
    if (!value || !trace_request_id_valid(value, len))
        return trace_short_id(ctx, out);
    const char *s = text_trim(value, &len);
    memcpy(out, s, len);
    out[len] = '\0';
    return len;
}

void trace_request_start(struct trace_request *t, const char *traceparent, size_t tp_len,
                         const char *request_id, size_t id_len)
{
    trace_start(&t->ctx, traceparent, tp_len);
    trace_request_id(&t->ctx, request_id, id_len, t->request_id);
    t->ready = true;
}
