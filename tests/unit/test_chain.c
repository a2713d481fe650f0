/*
 * Unit tests for middleware/chain: middlewares run in isolation, each chain with its own
 * instances (two chains in one process share nothing), and the chain skips what is off.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "http/exchange.h"
#include "http/response.h"
#include "http/server.h"
#include "middleware/chain.h"
#include "net/loop.h"

/* ---- a protocol that only remembers the status ---------------------------------------------- */

static int last_status;

static void fake_send_head(struct exchange *x, long long length)
{
    (void)length;
    last_status = x->status;
}

static void fake_send_data(struct exchange *x, const void *data, size_t len)
{
    (void)x, (void)data, (void)len;
}

static void fake_send_file(struct exchange *x, int fd, off_t off, off_t len)
{
    (void)x, (void)fd, (void)off, (void)len;
}

static void fake_end(struct exchange *x)
{
    (void)x;
}

static size_t fake_queued(const struct exchange *x)
{
    (void)x;
    return 0;
}

static const struct exchange_ops fake_ops = {
    fake_send_head, fake_send_data, fake_send_file, fake_end, fake_end, fake_queued,
};

struct fixture {
    struct loop *loop;
    struct server srv; /* no chain of its own: the tests call the chains directly */
    struct sockaddr_in peer;
    struct exchange x;
};

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof(f));
    f.loop = loop_create();
    assert_non_null(f.loop);
    f.srv.loop = f.loop;
    f.peer.sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.7", &f.peer.sin_addr);
    f.x.ops = &fake_ops;
    f.x.srv = &f.srv;
    f.x.peer = (const struct sockaddr *)&f.peer;
    f.x.worker_id = -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    exchange_free(&f->x);
    loop_destroy(f->loop);
    return 0;
}

static struct chain *one_middleware_chain(struct fixture *f, const struct config *cfg,
                                          const struct middleware *mw)
{
    struct mw_env env = {.cfg = cfg, .loop = f->loop};
    const struct middleware *table[] = {mw};
    char err[128] = "";
    struct chain *c = chain_create(&env, table, 1, err, sizeof(err));
    if (!c)
        fail_msg("chain_create: %s", err);
    return c;
}

/* One request through the chain's request phase: the status it answered, 0 if it let it pass. */
static int request(struct fixture *f, struct chain *c)
{
    exchange_reset(&f->x);
    last_status = 0;
    return chain_request(c, &f->x) ? last_status : 0;
}

static void test_two_rate_limits_keep_their_own_counts(void **state)
{
    struct fixture *f = *state;
    struct config strict = {.rate_limit = 1, .rate_window_secs = 60};
    struct config loose = {.rate_limit = 3, .rate_window_secs = 60};
    struct chain *a = one_middleware_chain(f, &strict, &middleware_ratelimit);
    struct chain *b = one_middleware_chain(f, &loose, &middleware_ratelimit);

    assert_int_equal(request(f, a), 0);
    assert_int_equal(request(f, a), 429);
    /* the same client, counted afresh by the other chain with its own limit */
    assert_int_equal(request(f, b), 0);
    assert_int_equal(request(f, b), 0);
    assert_int_equal(request(f, b), 0);
    assert_int_equal(request(f, b), 429);
    assert_int_equal(request(f, a), 429);

    chain_teardown(a);
    chain_teardown(b);
}

static void test_rate_limit_headers_carry_the_instance_limit(void **state)
{
    struct fixture *f = *state;
    struct config cfg = {.rate_limit = 5, .rate_window_secs = 60};
    struct chain *c = one_middleware_chain(f, &cfg, &middleware_ratelimit);
    assert_int_equal(request(f, c), 0);
    size_t len;
    const char *v = headers_find(&f->x.response_headers, "X-RateLimit-Limit", &len);
    assert_non_null(v);
    assert_int_equal(len, 1);
    assert_memory_equal(v, "5", 1);
    chain_teardown(c);
}

static void test_a_middleware_that_is_off_is_skipped(void **state)
{
    struct fixture *f = *state;
    struct config off = {.rate_limit = 0};
    struct chain *c = one_middleware_chain(f, &off, &middleware_ratelimit);
    for (int i = 0; i < 3; i++)
        assert_int_equal(request(f, c), 0);
    size_t len;
    assert_null(headers_find(&f->x.response_headers, "X-RateLimit-Limit", &len));
    chain_teardown(c);
}

static const char *cache_control_of(struct fixture *f, struct chain *c, size_t *len)
{
    exchange_reset(&f->x);
    f->x.is_static = true;
    f->x.status = 200;
    long long length = 10;
    chain_response(c, &f->x, &length);
    return headers_find(&f->x.response_headers, "Cache-Control", len);
}

static void test_two_static_caches_keep_their_own_ttl(void **state)
{
    struct fixture *f = *state;
    struct config hour = {.static_cache_ttl_secs = 3600};
    struct config day = {.static_cache_ttl_secs = 86400};
    struct chain *a = one_middleware_chain(f, &hour, &middleware_static_cache);
    struct chain *b = one_middleware_chain(f, &day, &middleware_static_cache);
    size_t len;
    const char *v = cache_control_of(f, a, &len);
    assert_non_null(v);
    assert_int_equal(len, strlen("public, max-age=3600"));
    assert_memory_equal(v, "public, max-age=3600", len);
    v = cache_control_of(f, b, &len);
    assert_non_null(v);
    assert_int_equal(len, strlen("public, max-age=86400"));
    assert_memory_equal(v, "public, max-age=86400", len);
    chain_teardown(a);
    chain_teardown(b);
}

static void test_out_of_order_table_is_refused(void **state)
{
    struct fixture *f = *state;
    struct config cfg = {.rate_limit = 1, .rate_window_secs = 60};
    struct mw_env env = {.cfg = &cfg, .loop = f->loop};
    const struct middleware *table[] = {&middleware_compression, &middleware_ratelimit};
    char err[128] = "";
    assert_null(chain_create(&env, table, 2, err, sizeof(err)));
    assert_non_null(strstr(err, "rate limit"));
    chain_teardown(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_rate_limits_keep_their_own_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_headers_carry_the_instance_limit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_middleware_that_is_off_is_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_static_caches_keep_their_own_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_table_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
