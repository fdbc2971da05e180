/* Suite "stats": exact task counts after plain submits (the data-parallel
 * helpers may run internal tasks, so they are not used here), per-worker
 * sums, busy and wall time, reset, and the printed table. */
#include "weft_test.h"

static int wt_stats_task(void *arg, void **result)
{
    (void)result;
    return (int)(intptr_t)arg;
}

static int wt_busy_task(void *arg, void **result)
{
    double until = wt_now() + *(double *)arg;
    (void)result;
    while (wt_now() < until)
        wt_spin_work(100);
    return 0;
}

/* Submits n tasks, the ones with i % fail_every == 0 failing (none when
 * fail_every is 0), waits, and returns how many failed. */
static uint64_t wt_run_plain(weft_runtime_t *rt, int n, int fail_every)
{
    uint64_t failed = 0;
    for (int i = 0; i < n; i++) {
        int st = (fail_every > 0 && i % fail_every == 0) ? 9 : 0;
        failed += st != 0;
        ck_assert_int_eq(weft_submit(rt, wt_stats_task, (void *)(intptr_t)st, NULL, NULL), 0);
    }
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    return failed;
}

static void wt_check_sums(const weft_stats_t *st)
{
    uint64_t run = 0, stolen = 0;
    double busy = 0;
    ck_assert_int_ge(st->nworkers, 1);
    ck_assert_ptr_nonnull(st->workers);
    for (int i = 0; i < st->nworkers; i++) {
        const weft_worker_stats_t *w = &st->workers[i];
        run += w->tasks_run;
        stolen += w->tasks_stolen;
        busy += w->busy_s;
        ck_assert_uint_le(w->tasks_stolen, w->tasks_run);
        ck_assert(w->busy_s >= 0.0);
        ck_assert(w->active == 0 || w->active == 1);
    }
    ck_assert_uint_eq(run, st->tasks_run);
    ck_assert_uint_eq(stolen, st->tasks_stolen);
    ck_assert_msg(busy <= st->busy_s * (1 + 1e-9) + 1e-9 && busy >= st->busy_s * (1 - 1e-9) - 1e-9,
                  "sum of busy_s %.9f != busy_s %.9f", busy, st->busy_s);
    ck_assert(st->busy_s >= 0.0);
    ck_assert(st->wall_s > 0.0);
}

static int wt_active_count(const weft_stats_t *st)
{
    int n = 0;
    for (int i = 0; i < st->nworkers; i++)
        n += st->workers[i].active;
    return n;
}

START_TEST(test_stats_exact_counts)
{
    enum { N = 20000 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_stats_t st;
    uint64_t failed;
    ck_assert_int_eq(weft_stats_reset(rt), 0);
    failed = wt_run_plain(rt, N, 37);
    ck_assert_uint_eq(failed, (N + 36) / 37);
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(weft_stats_get(rt, &st), 0);
    ck_assert_uint_eq(st.tasks_submitted, N);
    ck_assert_uint_eq(st.tasks_run, N);
    ck_assert_uint_eq(st.tasks_failed, failed);
    ck_assert_uint_le(st.tasks_stolen, st.tasks_run);
    ck_assert_int_ge(st.nworkers, weft_runtime_workers(rt));
    ck_assert_int_eq(wt_active_count(&st), 2);
    wt_check_sums(&st);
    weft_stats_release(&st);
    wt_destroy(rt);
}
END_TEST

static int wt_parent_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (int i = 0; i < 10; i++)
        if (weft_submit(weft_current_runtime(), wt_stats_task, (void *)(intptr_t)(i == 0), NULL,
                        NULL) != 0)
            return 1;
    return 0;
}

START_TEST(test_stats_nested_submits)
{
    enum { N = 1000 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_stats_t st;
    ck_assert_int_eq(weft_stats_reset(rt), 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(weft_submit(rt, wt_parent_task, NULL, NULL, NULL), 0);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(weft_stats_get(rt, &st), 0);
    ck_assert_uint_eq(st.tasks_submitted, N * 11); /* nested ones included */
    ck_assert_uint_eq(st.tasks_run, N * 11);
    ck_assert_uint_eq(st.tasks_failed, N); /* child 0 of each fails */
    wt_check_sums(&st);
    weft_stats_release(&st);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_stats_without_reset)
{
    /* A fresh runtime starts from zero: no reset needed. */
    weft_runtime_t *rt = wt_runtime(3);
    weft_stats_t st;
    wt_run_plain(rt, 5000, 0);
    ck_assert_int_eq(weft_stats_get(rt, &st), 0);
    ck_assert_uint_eq(st.tasks_submitted, 5000);
    ck_assert_uint_eq(st.tasks_run, 5000);
    ck_assert_uint_eq(st.tasks_failed, 0);
    ck_assert_int_ge(st.nworkers, 3);
    wt_check_sums(&st);
    weft_stats_release(&st);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_stats_busy_time)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_stats_t st;
    double each = 0.01, t0, wall;
    ck_assert_int_eq(weft_stats_reset(rt), 0);
    t0 = wt_now();
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(weft_submit(rt, wt_busy_task, &each, NULL, NULL), 0);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    wall = wt_now() - t0;
    ck_assert_int_eq(weft_stats_get(rt, &st), 0);
    ck_assert_uint_eq(st.tasks_run, 20);
    /* 20 tasks of 10 ms each: about 0.2 s of busy time in all. */
    ck_assert_msg(st.busy_s >= 0.19, "busy_s %.3f for 0.2 s of task time", st.busy_s);
    ck_assert_msg(st.busy_s <= st.nworkers * (wall + 0.05) + 0.05, "busy_s %.3f > workers * wall",
                  st.busy_s);
    ck_assert(st.wall_s >= wall * 0.9);
    wt_check_sums(&st);
    weft_stats_release(&st);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_stats_reset_zeroes)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_stats_t st;
    wt_run_plain(rt, 3000, 3);
    wt_sleep_s(0.02);
    ck_assert_int_eq(weft_stats_reset(rt), 0);
    ck_assert_int_eq(weft_stats_get(rt, &st), 0);
    ck_assert_uint_eq(st.tasks_submitted, 0);
    ck_assert_uint_eq(st.tasks_run, 0);
    ck_assert_uint_eq(st.tasks_stolen, 0);
    ck_assert_uint_eq(st.tasks_failed, 0);
    ck_assert(st.busy_s < 1e-3);
    ck_assert(st.wall_s >= 0.0 && st.wall_s < 0.5); /* the clock restarted */
    for (int i = 0; i < st.nworkers; i++) {
        ck_assert_uint_eq(st.workers[i].tasks_run, 0);
        ck_assert_uint_eq(st.workers[i].tasks_stolen, 0);
        ck_assert(st.workers[i].busy_s < 1e-3);
    }
    weft_stats_release(&st);
    /* Counting resumes from zero. */
    wt_run_plain(rt, 700, 7);
    ck_assert_int_eq(weft_stats_get(rt, &st), 0);
    ck_assert_uint_eq(st.tasks_submitted, 700);
    ck_assert_uint_eq(st.tasks_run, 700);
    ck_assert_uint_eq(st.tasks_failed, 100);
    wt_check_sums(&st);
    weft_stats_release(&st);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_stats_after_set_workers)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_stats_t st;
    ck_assert_int_eq(weft_runtime_set_workers(rt, 5), 0);
    wt_run_plain(rt, 4000, 0);
    ck_assert_int_eq(weft_runtime_set_workers(rt, 3), 0);
    wt_run_plain(rt, 4000, 0);
    ck_assert_int_eq(weft_stats_get(rt, &st), 0);
    ck_assert_int_ge(st.nworkers, 5); /* every slot used */
    ck_assert_int_eq(wt_active_count(&st), 3);
    ck_assert_uint_eq(st.tasks_submitted, 8000);
    ck_assert_uint_eq(st.tasks_run, 8000);
    wt_check_sums(&st);
    weft_stats_release(&st);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_stats_snapshots_independent)
{
    weft_runtime_t *rt = wt_runtime(1);
    weft_stats_t a, b;
    ck_assert_int_eq(weft_stats_get(rt, &a), 0);
    ck_assert_int_eq(weft_stats_get(rt, &b), 0);
    /* Two snapshots own separate arrays. */
    ck_assert_ptr_ne(a.workers, b.workers);
    ck_assert_int_eq(a.nworkers, b.nworkers);
    weft_stats_release(&a);
    weft_stats_release(&b);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Printing                                                            */

static char *wt_print_to_string(weft_runtime_t *rt, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    *rc = weft_stats_print(rt, f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_ptr_nonnull(buf);
    return buf;
}

START_TEST(test_stats_print_table)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_stats_t st;
    char *text, line[128];
    int rc;
    ck_assert_int_eq(weft_stats_reset(rt), 0);
    wt_run_plain(rt, 12345, 5);
    ck_assert_int_eq(weft_stats_get(rt, &st), 0);
    text = wt_print_to_string(rt, &rc);
    ck_assert_int_eq(rc, 0);
    /* The layout of runtime/src/stats.c: a title line, a header, one row per
     * worker (" index | tasks run | ..."), a Total row and a submitted line. */
    ck_assert_msg(strstr(text, "weft execution statistics") != NULL, "no title in:\n%s", text);
    ck_assert_msg(strstr(text, "2 active workers") != NULL, "no active count in:\n%s", text);
    for (int i = 0; i < st.nworkers; i++) {
        snprintf(line, sizeof line, "\n %6d | %12llu |", i,
                 (unsigned long long)st.workers[i].tasks_run);
        ck_assert_msg(strstr(text, line) != NULL, "no row \"%s\" in:\n%s", line + 1, text);
    }
    snprintf(line, sizeof line, "Total | %12llu |", (unsigned long long)st.tasks_run);
    ck_assert_msg(strstr(text, line) != NULL, "no \"%s\" in:\n%s", line, text);
    ck_assert_msg(strstr(text, "       12345 |") != NULL, "total 12345 missing:\n%s", text);
    ck_assert_msg(strstr(text, "tasks submitted: 12345, failed: 2469") != NULL,
                  "no submitted/failed line in:\n%s", text);
    weft_stats_release(&st);
    free(text);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_stats_print_retired)
{
    weft_runtime_t *rt = wt_runtime(3);
    char *text;
    int rc, rows = 0;
    wt_run_plain(rt, 3000, 0);
    ck_assert_int_eq(weft_runtime_set_workers(rt, 1), 0);
    text = wt_print_to_string(rt, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(strstr(text, "1 active workers") != NULL, "no active count in:\n%s", text);
    /* Three rows still: every slot used is listed. */
    for (char *p = text; (p = strstr(p, "\n ")) != NULL; p++) {
        int idx;
        if (sscanf(p + 1, " %d |", &idx) == 1)
            rows++;
    }
    ck_assert_int_ge(rows, 3);
    free(text);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_stats_print_write_error)
{
    weft_runtime_t *rt = wt_runtime(1);
    FILE *ro = fopen("/dev/null", "r"); /* writes to it fail */
    ck_assert_ptr_nonnull(ro);
    WT_ASSERT_RC(weft_stats_print(rt, ro), WEFT_EIO);
    fclose(ro);
    WT_ASSERT_RC(weft_stats_print(NULL, stderr), WEFT_EINVAL);
    wt_destroy(rt);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = wt_tcase(s, "counts", WT_TIMEOUT_S);
    tcase_add_test(tc, test_stats_exact_counts);
    tcase_add_test(tc, test_stats_nested_submits);
    tcase_add_test(tc, test_stats_without_reset);
    tcase_add_test(tc, test_stats_busy_time);
    tcase_add_test(tc, test_stats_reset_zeroes);
    tcase_add_test(tc, test_stats_after_set_workers);
    tcase_add_test(tc, test_stats_snapshots_independent);

    tc = wt_tcase(s, "print", WT_TIMEOUT_S);
    tcase_add_test(tc, test_stats_print_table);
    tcase_add_test(tc, test_stats_print_retired);
    tcase_add_test(tc, test_stats_print_write_error);
    return s;
}

int main(void)
{
    return wt_run_suite(stats_suite());
}
