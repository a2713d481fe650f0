/* Unit tests for net/loop: the timer heap (order, re-arming, cancelling) and the deferred items. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base.h"
#include "net/loop.h"

#define MAX_FIRED 600

/* What fired, in order: timers and deferred items record their id here. */
static int fired[MAX_FIRED];
static size_t fired_count;

static void record(int id)
{
    assert_true(fired_count < MAX_FIRED);
    fired[fired_count++] = id;
}

struct item {
    int id;
    struct loop_timer timer;
    struct loop_defer defer;
    struct item *defer_next; /* queued by this item's deferred run, if any */
    bool defer_again;        /* re-queues itself once from its own run */
};

static void on_timer(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    record(container_of(t, struct item, timer)->id);
}

static void on_defer(struct loop *loop, struct loop_defer *d)
{
    struct item *it = container_of(d, struct item, defer);
    record(it->id);
    if (it->defer_next) {
        loop_defer(loop, &it->defer_next->defer);
        it->defer_next = NULL;
    }
    if (it->defer_again) {
        it->defer_again = false;
        loop_defer(loop, d);
    }
}

static void item_init(struct item *it, int id)
{
    memset(it, 0, sizeof(*it));
    it->id = id;
    it->timer.fn = on_timer;
    it->defer.fn = on_defer;
}

static int setup(void **state)
{
    fired_count = 0;
    *state = loop_create();
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    loop_destroy(*state);
    return 0;
}

/* Runs batches until every timer in `items` has fired (deadlines are a few ms away). */
static void run_until_fired(struct loop *loop, size_t want)
{
    for (int i = 0; i < 200 && fired_count < want; i++)
        assert_int_equal(loop_run_once(loop, 5), 0);
    assert_int_equal(fired_count, want);
}

static void test_timers_fire_in_deadline_order(void **state)
{
    struct loop *loop = *state;
    /* Armed out of order, with a tie: the heap must hand them back sorted. */
    static const unsigned delays[] = {30, 10, 50, 20, 40, 10, 0, 25};
    struct item items[8];
    for (size_t i = 0; i < 8; i++) {
        item_init(&items[i], (int)delays[i]);
        loop_timer_arm(loop, &items[i].timer, delays[i]);
        assert_true(loop_timer_armed(&items[i].timer));
    }
    run_until_fired(loop, 8);
    for (size_t i = 1; i < 8; i++)
        assert_true(fired[i - 1] <= fired[i]);
    for (size_t i = 0; i < 8; i++)
        assert_false(loop_timer_armed(&items[i].timer));
}

static void test_timer_cancel_and_rearm(void **state)
{
    struct loop *loop = *state;
    struct item items[6];
    for (size_t i = 0; i < 6; i++) {
        item_init(&items[i], (int)i);
        loop_timer_arm(loop, &items[i].timer, 5 + i);
    }
    /* Cancel one from the middle of the heap and one at its root; cancel twice is harmless. */
    loop_timer_cancel(loop, &items[3].timer);
    loop_timer_cancel(loop, &items[0].timer);
    loop_timer_cancel(loop, &items[0].timer);
    assert_false(loop_timer_armed(&items[3].timer));
    /* Re-arming moves a timer: item 1 now fires last. */
    loop_timer_arm(loop, &items[1].timer, 40);
    run_until_fired(loop, 4);
    assert_int_equal(fired[0], 2);
    assert_int_equal(fired[1], 4);
    assert_int_equal(fired[2], 5);
    assert_int_equal(fired[3], 1);
}

static void test_many_timers(void **state)
{
    struct loop *loop = *state;
    enum { N = 500 };
    struct item *items = calloc(N, sizeof(*items));
    assert_non_null(items);
    /* Deadlines 0..4 ms in a scrambled order (beyond the heap's first growth), half cancelled. */
    for (size_t i = 0; i < N; i++) {
        item_init(&items[i], (int)((i * 7) % 5));
        loop_timer_arm(loop, &items[i].timer, (uint64_t)items[i].id);
    }
    for (size_t i = 0; i < N; i += 2)
        loop_timer_cancel(loop, &items[i].timer);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(loop_run_once(loop, 1), 0);
        size_t armed = 0;
        for (size_t k = 0; k < N; k++)
            armed += loop_timer_armed(&items[k].timer);
        if (armed == 0)
            break;
    }
    for (size_t i = 0; i < N; i++)
        assert_false(loop_timer_armed(&items[i].timer));
    assert_int_equal(fired_count, N / 2);
    for (size_t i = 1; i < fired_count; i++)
        assert_true(fired[i - 1] <= fired[i]);
    free(items);
}

static void test_defer_runs_after_batch_in_order(void **state)
{
    struct loop *loop = *state;
    struct item a, b, c;
    item_init(&a, 1);
    item_init(&b, 2);
    item_init(&c, 3);
    loop_defer(loop, &b.defer);
    loop_defer(loop, &a.defer);
    loop_defer(loop, &b.defer); /* already queued: nothing */
    loop_defer(loop, &c.defer);
    assert_int_equal(fired_count, 0);
    /* A queued item makes the batch not wait (the timeout is far beyond the test's patience). */
    assert_int_equal(loop_run_once(loop, 60000), 0);
    assert_int_equal(fired_count, 3);
    assert_int_equal(fired[0], 2);
    assert_int_equal(fired[1], 1);
    assert_int_equal(fired[2], 3);
    assert_false(a.defer.queued || b.defer.queued || c.defer.queued);
}

static void test_defer_queued_while_running(void **state)
{
    struct loop *loop = *state;
    struct item a, b;
    item_init(&a, 1);
    item_init(&b, 2);
    a.defer_next = &b;
    a.defer_again = true;
    loop_defer(loop, &a.defer);
    loop_run_deferred(loop);
    /* b and a's second run were queued during the pass and ran in it, in order. */
    assert_int_equal(fired_count, 3);
    assert_int_equal(fired[0], 1);
    assert_int_equal(fired[1], 2);
    assert_int_equal(fired[2], 1);
    loop_run_deferred(loop);
    assert_int_equal(fired_count, 3);
}

static void test_defer_after_timers(void **state)
{
    struct loop *loop = *state;
    struct item t, d;
    item_init(&t, 1);
    item_init(&d, 2);
    loop_timer_arm(loop, &t.timer, 0);
    loop_defer(loop, &d.defer);
    assert_int_equal(loop_run_once(loop, 0), 0);
    assert_int_equal(fired_count, 2);
    assert_int_equal(fired[0], 1); /* the due timer is part of the batch */
    assert_int_equal(fired[1], 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_timers_fire_in_deadline_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_cancel_and_rearm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_timers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defer_runs_after_batch_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defer_queued_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defer_after_timers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
