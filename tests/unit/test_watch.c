/* Unit tests for net/watch: the WORKER_WATCH list, the name filter, the burst deadline, and a
   watch over a scratch directory driven by a real loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/loop.h"
#include "net/watch.h"

static void parses_a_trimmed_comma_list(void **state)
{
    (void)state;
    struct watch_dirs d;
    assert_int_equal(watch_dirs_parse(" src , /srv/app/config,lib/", &d), 0);
    assert_int_equal(d.count, 3);
    assert_string_equal(watch_dirs_at(&d, 0), "src");
    assert_string_equal(watch_dirs_at(&d, 1), "/srv/app/config");
    assert_string_equal(watch_dirs_at(&d, 2), "lib/");
    assert_int_equal(watch_dirs_parse("", &d), 0);
    assert_int_equal(d.count, 0);
    assert_int_equal(watch_dirs_parse("  ", &d), 0);
    assert_int_equal(d.count, 0);
}

static void refuses_empty_entries_controls_and_too_many(void **state)
{
    (void)state;
    struct watch_dirs d;
    const char *bad[] = {"a,,b", "a,", ",a", " , ", "a\nb", "a,b\tc\x01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(watch_dirs_parse(bad[i], &d), -1);
    char many[WATCH_DIRS_MAX * 2 + 4] = "";
    for (int i = 0; i < WATCH_DIRS_MAX; i++)
        strcat(many, i ? ",x" : "x");
    assert_int_equal(watch_dirs_parse(many, &d), 0);
    assert_int_equal(d.count, WATCH_DIRS_MAX);
    strcat(many, ",x");
    assert_int_equal(watch_dirs_parse(many, &d), -1);
    char longest[WATCH_DIRS_TEXT_MAX + 1];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    assert_int_equal(watch_dirs_parse(longest, &d), -1);
    longest[WATCH_DIRS_TEXT_MAX - 1] = '\0'; /* with its NUL, exactly the store */
    assert_int_equal(watch_dirs_parse(longest, &d), 0);
}

static void only_visible_php_files_count(void **state)
{
    (void)state;
    assert_true(watch_name_is_php("index.php"));
    assert_true(watch_name_is_php("Legacy.PHP"));
    assert_true(watch_name_is_php("a.blade.php"));
    const char *not_php[] = {"notes.txt", "php", ".php", "x.php~", "x.php.swp", "x.phps",
                             ".#index.php", ".php-cs-fixer.php", "x.ph", "4913", "session"};
    for (size_t i = 0; i < sizeof not_php / sizeof not_php[0]; i++)
        assert_false(watch_name_is_php(not_php[i]));
    assert_true(watch_name_ignored(".git"));
    assert_true(watch_name_ignored("."));
    assert_true(watch_name_ignored(".."));
    assert_false(watch_name_ignored("src"));
    assert_false(watch_name_ignored("vendor"));
}

static void a_burst_ends_when_quiet_or_at_its_latest(void **state)
{
    (void)state;
    assert_int_equal(watch_fire_at(1000, 1000), 1000 + WATCH_QUIET_MS);
    assert_int_equal(watch_fire_at(1000, 1100), 1100 + WATCH_QUIET_MS);
    /* changes that never stop still fire, WATCH_MAX_DELAY_MS after the first one */
    uint64_t late = 1000 + WATCH_MAX_DELAY_MS - WATCH_QUIET_MS / 2;
    assert_int_equal(watch_fire_at(1000, late), 1000 + WATCH_MAX_DELAY_MS);
    assert_int_equal(watch_fire_at(1000, 1000 + WATCH_MAX_DELAY_MS * 3), 1000 + WATCH_MAX_DELAY_MS * 3);
}

/* ---- a watch on a scratch tree ---------------------------------------------------------------- */

struct scratch {
    char root[64];
    struct loop *loop;
    struct watch *watch;
    unsigned calls;
    char last[4096];
};

static void on_change(void *arg, const char *path)
{
    struct scratch *s = arg;
    s->calls++;
    snprintf(s->last, sizeof s->last, "%s", path);
}

static void make(struct scratch *s, const char *rel, bool dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", s->root, rel);
    if (dir) {
        assert_int_equal(mkdir(path, 0755), 0);
        return;
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("<?php\n", f);
    fclose(f);
}

/* Runs the loop until the watch called back (a generous bound: an event takes milliseconds). */
static void run_until_called(struct scratch *s, unsigned calls)
{
    for (int i = 0; i < 200 && s->calls < calls; i++)
        assert_int_equal(loop_run_once(s->loop, 50), 0);
    assert_int_equal(s->calls, calls);
}

static int scratch_setup(void **state)
{
    struct scratch *s = calloc(1, sizeof *s);
    snprintf(s->root, sizeof s->root, "/tmp/kiln-test-watch-XXXXXX");
    assert_non_null(mkdtemp(s->root));
    s->loop = loop_create();
    assert_non_null(s->loop);
    *state = s;
    return 0;
}

static int scratch_teardown(void **state)
{
    struct scratch *s = *state;
    watch_free(s->watch);
    loop_destroy(s->loop);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->root);
    assert_int_equal(system(cmd), 0);
    free(s);
    return 0;
}

static void watches_the_tree_but_not_hidden_directories(void **state)
{
    struct scratch *s = *state;
    make(s, "app", true);
    make(s, "app/Http", true);
    make(s, ".git", true);
    make(s, ".git/objects", true);
    struct watch_dirs dirs;
    assert_int_equal(watch_dirs_parse(s->root, &dirs), 0);
    char err[512];
    s->watch = watch_start(s->loop, &dirs, on_change, s, err, sizeof err);
    assert_non_null(s->watch);
    assert_int_equal(watch_dir_count(s->watch), 3); /* the root, app, app/Http */
}

static void reports_the_first_php_file_of_a_burst(void **state)
{
    struct scratch *s = *state;
    make(s, "app", true);
    struct watch_dirs dirs;
    assert_int_equal(watch_dirs_parse(s->root, &dirs), 0);
    char err[512], want[256];
    s->watch = watch_start(s->loop, &dirs, on_change, s, err, sizeof err);
    assert_non_null(s->watch);
    make(s, "notes.txt", false);
    make(s, ".#lock.php", false);
    make(s, "app/one.php", false);
    make(s, "two.php", false);
    run_until_called(s, 1);
    snprintf(want, sizeof want, "%s/app/one.php", s->root);
    assert_string_equal(s->last, want);
    /* a directory made after the start is watched, and its PHP files count */
    make(s, "new", true);
    make(s, "new/deeper", true);
    make(s, "new/deeper/three.php", false);
    run_until_called(s, 2);
    snprintf(want, sizeof want, "%s/new/deeper/three.php", s->root);
    assert_string_equal(s->last, want);
    assert_int_equal(watch_dir_count(s->watch), 4);
}

static void a_bad_directory_is_named(void **state)
{
    struct scratch *s = *state;
    struct watch_dirs dirs;
    char list[256], err[512];
    snprintf(list, sizeof list, "%s,%s/missing", s->root, s->root);
    assert_int_equal(watch_dirs_parse(list, &dirs), 0);
    assert_null(watch_start(s->loop, &dirs, on_change, s, err, sizeof err));
    char want[256];
    snprintf(want, sizeof want, "WORKER_WATCH \"%s/missing\": no such directory", s->root);
    assert_string_equal(err, want);
    make(s, "file.php", false);
    snprintf(list, sizeof list, "%s/file.php", s->root);
    assert_int_equal(watch_dirs_parse(list, &dirs), 0);
    assert_null(watch_start(s->loop, &dirs, on_change, s, err, sizeof err));
    assert_non_null(strstr(err, "not a directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_trimmed_comma_list),
        cmocka_unit_test(refuses_empty_entries_controls_and_too_many),
        cmocka_unit_test(only_visible_php_files_count),
        cmocka_unit_test(a_burst_ends_when_quiet_or_at_its_latest),
        cmocka_unit_test_setup_teardown(watches_the_tree_but_not_hidden_directories,
                                        scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(reports_the_first_php_file_of_a_burst, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(a_bad_directory_is_named, scratch_setup,
                                        scratch_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
