/* Suite "groups": owned and named groups, waiting, exact counts and first
 * failure, reset, pending, freeing with work pending, and groups whose
 * runtime is gone. */
#include "weft_test.h"

#include <pthread.h>

static atomic_int wt_counter;

static int wt_inc_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_fetch_add(&wt_counter, 1);
    return 0;
}

/* Fails with status arg when arg is nonzero. */
static int wt_status_task(void *arg, void **result)
{
    (void)result;
    atomic_fetch_add(&wt_counter, 1);
    return (int)(intptr_t)arg;
}

static atomic_int wt_gate;
static atomic_int wt_gate_timeouts;

static int wt_gated_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    if (wt_gate_wait(&wt_gate, 30.0) != 0)
        atomic_fetch_add(&wt_gate_timeouts, 1);
    atomic_fetch_add(&wt_counter, 1);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Owned groups                                                        */

START_TEST(test_create_empty_group)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_group_t *g = NULL, *h = NULL;
    uint64_t f = 99;
    int first = 99;
    ck_assert_int_eq(weft_group_create(rt, "alpha", &g), 0);
    ck_assert_ptr_nonnull(g);
    ck_assert_str_eq(weft_group_name(g), "alpha");
    ck_assert_int_eq(weft_group_create(rt, NULL, &h), 0);
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_ne(g, h);
    ck_assert_str_eq(weft_group_name(h), "");
    ck_assert_int_eq(weft_group_pending(g), 0);
    ck_assert_int_eq(weft_group_failures(g, &f, &first), 0);
    ck_assert_uint_eq(f, 0);
    ck_assert_int_eq(first, 0);
    ck_assert_int_eq(weft_group_failures(g, NULL, NULL), 0);
    ck_assert_int_eq(weft_group_wait(g), 0); /* empty: at once */
    ck_assert_int_eq(weft_group_reset(g), 0);
    ck_assert_int_eq(weft_group_free(g), 0);
    ck_assert_int_eq(weft_group_free(h), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_group_name_is_copied)
{
    weft_runtime_t *rt = wt_runtime(1);
    weft_group_t *g = NULL;
    char buf[32];
    strcpy(buf, "pipeline-stage-1");
    ck_assert_int_eq(weft_group_create(rt, buf, &g), 0);
    memset(buf, 'x', sizeof buf - 1);
    buf[sizeof buf - 1] = '\0';
    ck_assert_str_eq(weft_group_name(g), "pipeline-stage-1");
    ck_assert_int_eq(weft_group_free(g), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_group_wait_counts)
{
    enum { N = 10000 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_group_t *g = NULL;
    uint64_t f = 99;
    int first = 99;
    ck_assert_int_eq(weft_group_create(rt, "work", &g), 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(weft_spawn(g, wt_inc_task, NULL), 0);
    ck_assert_int_eq(weft_group_wait(g), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), N);
    ck_assert_int_eq(weft_group_pending(g), 0);
    ck_assert_int_eq(weft_group_failures(g, &f, &first), 0);
    ck_assert_uint_eq(f, 0);
    ck_assert_int_eq(first, 0);
    ck_assert_int_eq(weft_group_free(g), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_group_one_failure)
{
    enum { N = 100 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_group_t *g = NULL;
    uint64_t f = 0;
    int first = 0;
    ck_assert_int_eq(weft_group_create(rt, NULL, &g), 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(weft_spawn(g, wt_status_task, (void *)(intptr_t)(i == 37 ? 7 : 0)), 0);
    WT_ASSERT_RC(weft_group_wait(g), WEFT_ETASK);
    ck_assert_int_eq(wt_ld(&wt_counter), N); /* the others still ran */
    ck_assert_int_eq(weft_group_failures(g, &f, &first), 0);
    ck_assert_uint_eq(f, 1);
    ck_assert_int_eq(first, 7);
    /* The failure sticks until reset. */
    WT_ASSERT_RC(weft_group_wait(g), WEFT_ETASK);
    ck_assert_int_eq(weft_group_free(g), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_group_many_failures)
{
    enum { N = 1000 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_group_t *g = NULL;
    uint64_t f = 0;
    int first = 0;
    ck_assert_int_eq(weft_group_create(rt, NULL, &g), 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(
            weft_spawn(g, wt_status_task, (void *)(intptr_t)(i % 10 == 0 ? 100 + i : 0)), 0);
    WT_ASSERT_RC(weft_group_wait(g), WEFT_ETASK);
    ck_assert_int_eq(weft_group_failures(g, &f, &first), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), N);
    ck_assert_uint_eq(f, N / 10);
    /* Which failure came first depends on timing; it is one of them. */
    ck_assert_int_ge(first, 100);
    ck_assert_int_lt(first, 100 + N);
    ck_assert_int_eq(first % 10, 0);
    ck_assert_int_eq(weft_group_free(g), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_group_reset)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_group_t *g = NULL;
    uint64_t f = 0;
    int first = 0;
    ck_assert_int_eq(weft_group_create(rt, "r", &g), 0);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(weft_spawn(g, wt_status_task, (void *)(intptr_t)(i == 3 ? -5 : 0)), 0);
    WT_ASSERT_RC(weft_group_wait(g), WEFT_ETASK);
    ck_assert_int_eq(weft_group_failures(g, &f, &first), 0);
    ck_assert_uint_eq(f, 1);
    ck_assert_int_eq(first, -5);

    ck_assert_int_eq(weft_group_reset(g), 0);
    ck_assert_int_eq(weft_group_failures(g, &f, &first), 0);
    ck_assert_uint_eq(f, 0);
    ck_assert_int_eq(first, 0);
    ck_assert_int_eq(weft_group_wait(g), 0); /* no failure since the reset */
    ck_assert_str_eq(weft_group_name(g), "r");

    /* Reused: new counts only. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(weft_spawn(g, wt_status_task, (void *)(intptr_t)(i == 4 ? 11 : 0)), 0);
    WT_ASSERT_RC(weft_group_wait(g), WEFT_ETASK);
    ck_assert_int_eq(weft_group_failures(g, &f, &first), 0);
    ck_assert_uint_eq(f, 1);
    ck_assert_int_eq(first, 11);
    ck_assert_int_eq(wt_ld(&wt_counter), 15);
    ck_assert_int_eq(weft_group_free(g), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_group_pending_busy)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_group_t *g = NULL;
    ck_assert_int_eq(weft_group_create(rt, NULL, &g), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(weft_spawn(g, wt_gated_task, NULL), 0);
    /* Held at the gate: all five are pending. */
    ck_assert_int_eq(weft_group_pending(g), 5);
    WT_ASSERT_RC(weft_group_free(g), WEFT_EBUSY);
    WT_ASSERT_RC(weft_group_reset(g), WEFT_EBUSY);
    ck_assert_int_eq(weft_group_pending(g), 5); /* the refused calls changed nothing */
    wt_gate_open(&wt_gate);
    ck_assert_int_eq(weft_group_wait(g), 0);
    ck_assert_int_eq(weft_group_pending(g), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), 5);
    ck_assert_int_eq(wt_ld(&wt_gate_timeouts), 0);
    ck_assert_int_eq(weft_group_reset(g), 0);
    ck_assert_int_eq(weft_group_free(g), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_group_submit_opts)
{
    /* weft_submit with opts.group, a callback and a job handle. */
    weft_runtime_t *rt = wt_runtime(2);
    weft_group_t *g = NULL;
    weft_job_t *job = NULL;
    weft_submit_opts_t opts = {0};
    uint64_t f = 0;
    int first = 0, status = 0;
    ck_assert_int_eq(weft_group_create(rt, NULL, &g), 0);
    opts.group = g;
    ck_assert_int_eq(weft_submit(rt, wt_status_task, (void *)(intptr_t)3, &opts, &job), 0);
    ck_assert_int_eq(weft_submit(rt, wt_status_task, (void *)(intptr_t)0, &opts, NULL), 0);
    WT_ASSERT_RC(weft_job_wait(job, &status, NULL), WEFT_ETASK);
    ck_assert_int_eq(status, 3);
    WT_ASSERT_RC(weft_group_wait(g), WEFT_ETASK);
    ck_assert_int_eq(weft_group_failures(g, &f, &first), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), 2);
    ck_assert_uint_eq(f, 1);
    ck_assert_int_eq(first, 3);
    ck_assert_int_eq(weft_job_free(job), 0);
    ck_assert_int_eq(weft_group_free(g), 0);
    wt_destroy(rt);
}
END_TEST

/* Tasks of a group that spawn more tasks into the same group. */
static int wt_regroup_task(void *arg, void **result)
{
    weft_group_t *g = arg;
    (void)result;
    atomic_fetch_add(&wt_counter, 1);
    for (int i = 0; i < 10; i++)
        if (weft_spawn(g, wt_inc_task, NULL) != 0)
            return 1;
    return 0;
}

START_TEST(test_group_nested_spawns)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_group_t *g = NULL;
    uint64_t f = 0;
    ck_assert_int_eq(weft_group_create(rt, NULL, &g), 0);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(weft_spawn(g, wt_regroup_task, g), 0);
    ck_assert_int_eq(weft_group_wait(g), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), 100 * 11);
    ck_assert_int_eq(weft_group_failures(g, &f, NULL), 0);
    ck_assert_uint_eq(f, 0);
    ck_assert_int_eq(weft_group_pending(g), 0);
    ck_assert_int_eq(weft_group_free(g), 0);
    wt_destroy(rt);
}
END_TEST

struct wt_gwaiter {
    weft_group_t *g;
    int rc;
};

static void *wt_group_waiter_thread(void *arg)
{
    struct wt_gwaiter *w = arg;
    w->rc = weft_group_wait(w->g);
    return NULL;
}

START_TEST(test_group_wait_several_threads)
{
    enum { T = 4 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_group_t *g = NULL;
    struct wt_gwaiter w[T];
    pthread_t th[T];
    ck_assert_int_eq(weft_group_create(rt, NULL, &g), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(weft_spawn(g, wt_gated_task, NULL), 0);
    ck_assert_int_eq(weft_spawn(g, wt_status_task, (void *)(intptr_t)5), 0);
    for (int i = 0; i < T; i++) {
        w[i].g = g;
        w[i].rc = 12345;
        ck_assert_int_eq(pthread_create(&th[i], NULL, wt_group_waiter_thread, &w[i]), 0);
    }
    wt_sleep_s(0.02);
    wt_gate_open(&wt_gate);
    for (int i = 0; i < T; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        WT_ASSERT_RC(w[i].rc, WEFT_ETASK);
    }
    ck_assert_int_eq(wt_ld(&wt_counter), 4);
    ck_assert_int_eq(weft_group_free(g), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_group_of_other_runtime)
{
    weft_runtime_t *rt1 = wt_runtime(1), *rt2 = wt_runtime(1);
    weft_group_t *g1 = NULL;
    weft_submit_opts_t opts = {0};
    int dummy;
    weft_job_t *job = (weft_job_t *)&dummy;
    ck_assert_int_eq(weft_group_create(rt1, NULL, &g1), 0);
    opts.group = g1;
    WT_ASSERT_RC(weft_submit(rt2, wt_inc_task, NULL, &opts, &job), WEFT_EINVAL);
    ck_assert_ptr_null(job);
    ck_assert_int_eq(weft_group_pending(g1), 0);
    ck_assert_int_eq(weft_runtime_wait(rt2), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), 0);
    ck_assert_int_eq(weft_group_free(g1), 0);
    wt_destroy(rt1);
    wt_destroy(rt2);
}
END_TEST

START_TEST(test_group_after_runtime_destroy)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_group_t *g = NULL;
    uint64_t f = 0;
    int first = 0;
    ck_assert_int_eq(weft_group_create(rt, "orphan", &g), 0);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(weft_spawn(g, wt_status_task, (void *)(intptr_t)(i == 9 ? 2 : 0)), 0);
    wt_destroy(rt); /* waits for the ten */
    ck_assert_int_eq(wt_ld(&wt_counter), 10);
    /* The handle stays valid; what needs the runtime says it is gone. */
    WT_ASSERT_RC(weft_spawn(g, wt_inc_task, NULL), WEFT_EDESTROYED);
    WT_ASSERT_RC(weft_group_wait(g), WEFT_EDESTROYED);
    ck_assert_int_eq(weft_group_failures(g, &f, &first), 0);
    ck_assert_uint_eq(f, 1);
    ck_assert_int_eq(first, 2);
    ck_assert_int_eq(weft_group_pending(g), 0);
    ck_assert_str_eq(weft_group_name(g), "orphan");
    ck_assert_int_eq(weft_group_free(g), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), 10);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Named groups                                                        */

START_TEST(test_named_groups)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_group_t *a = NULL, *a2 = NULL, *b = NULL;
    char name[8];
    uint64_t f = 99;
    int first = 99;
    ck_assert_int_eq(weft_group_named(rt, "x", &a), 0);
    ck_assert_ptr_nonnull(a);
    strcpy(name, "x"); /* a different buffer with the same name */
    ck_assert_int_eq(weft_group_named(rt, name, &a2), 0);
    ck_assert_ptr_eq(a, a2);
    ck_assert_int_eq(weft_group_named(rt, "y", &b), 0);
    ck_assert_ptr_ne(a, b);
    ck_assert_str_eq(weft_group_name(a), "x");
    ck_assert_str_eq(weft_group_name(b), "y");
    /* The runtime owns named groups. */
    WT_ASSERT_RC(weft_group_free(a), WEFT_EINVAL);
    WT_ASSERT_RC(weft_group_named(rt, "", &a2), WEFT_EINVAL);
    WT_ASSERT_RC(weft_group_named(rt, NULL, &a2), WEFT_EINVAL);
    /* Still usable after the refused free. */
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(weft_spawn(a, wt_inc_task, NULL), 0);
    ck_assert_int_eq(weft_spawn(a, wt_status_task, (void *)(intptr_t)4), 0);
    WT_ASSERT_RC(weft_group_wait(a), WEFT_ETASK);
    ck_assert_int_eq(wt_ld(&wt_counter), 51);
    ck_assert_int_eq(weft_group_failures(a, &f, &first), 0);
    ck_assert_uint_eq(f, 1);
    ck_assert_int_eq(first, 4);
    ck_assert_int_eq(weft_group_wait(b), 0); /* b is untouched */
    ck_assert_int_eq(weft_group_failures(b, &f, &first), 0);
    ck_assert_uint_eq(f, 0);
    ck_assert_int_eq(first, 0);
    /* Looking it up again finds the same group with its counts. */
    ck_assert_int_eq(weft_group_named(rt, "x", &a2), 0);
    ck_assert_ptr_eq(a, a2);
    ck_assert_int_eq(weft_group_failures(a2, &f, &first), 0);
    ck_assert_uint_eq(f, 1);
    ck_assert_int_eq(first, 4);
    wt_destroy(rt); /* frees the named groups */
}
END_TEST

START_TEST(test_named_groups_per_runtime)
{
    weft_runtime_t *rt1 = wt_runtime(1), *rt2 = wt_runtime(1);
    weft_group_t *a = NULL, *b = NULL, *c = NULL;
    ck_assert_int_eq(weft_group_named(rt1, "shared", &a), 0);
    ck_assert_int_eq(weft_group_named(rt2, "shared", &b), 0);
    ck_assert_ptr_ne(a, b);
    /* An owned group with the same name is a different group. */
    ck_assert_int_eq(weft_group_create(rt1, "shared", &c), 0);
    ck_assert_ptr_ne(a, c);
    ck_assert_int_eq(weft_group_free(c), 0);
    wt_destroy(rt1);
    wt_destroy(rt2);
}
END_TEST

static atomic_int wt_named_ran[64];

static int wt_named_task(void *arg, void **result)
{
    (void)result;
    atomic_fetch_add(&wt_named_ran[(intptr_t)arg], 1);
    atomic_fetch_add(&wt_counter, 1);
    return 0;
}

struct wt_namer {
    weft_runtime_t *rt;
    weft_group_t *got[64];
    int errors;
};

static void *wt_namer_thread(void *arg)
{
    struct wt_namer *n = arg;
    for (int i = 0; i < 64; i++) {
        char name[16];
        snprintf(name, sizeof name, "g%d", i);
        if (weft_group_named(n->rt, name, &n->got[i]) != 0)
            n->errors++;
        else if (weft_spawn(n->got[i], wt_named_task, (void *)(intptr_t)i) != 0)
            n->errors++;
    }
    return NULL;
}

START_TEST(test_named_groups_concurrent)
{
    enum { T = 4 };
    weft_runtime_t *rt = wt_runtime(2);
    static struct wt_namer n[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        n[t].rt = rt;
        ck_assert_int_eq(pthread_create(&th[t], NULL, wt_namer_thread, &n[t]), 0);
    }
    for (int t = 0; t < T; t++) {
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);
        ck_assert_int_eq(n[t].errors, 0);
    }
    for (int i = 0; i < 64; i++) {
        for (int t = 1; t < T; t++)
            ck_assert_ptr_eq(n[t].got[i], n[0].got[i]); /* one group per name */
        for (int j = 0; j < i; j++)
            ck_assert_ptr_ne(n[0].got[i], n[0].got[j]);
        ck_assert_int_eq(weft_group_wait(n[0].got[i]), 0);
        ck_assert_int_eq(wt_ld(&wt_named_ran[i]), T);
        {
            char name[16];
            snprintf(name, sizeof name, "g%d", i);
            ck_assert_str_eq(weft_group_name(n[0].got[i]), name);
        }
    }
    ck_assert_int_eq(wt_ld(&wt_counter), 64 * T);
    wt_destroy(rt);
}
END_TEST

static Suite *groups_suite(void)
{
    Suite *s = suite_create("groups");
    TCase *tc = wt_tcase(s, "owned", WT_TIMEOUT_S);
    tcase_add_test(tc, test_create_empty_group);
    tcase_add_test(tc, test_group_name_is_copied);
    tcase_add_test(tc, test_group_wait_counts);
    tcase_add_test(tc, test_group_one_failure);
    tcase_add_test(tc, test_group_many_failures);
    tcase_add_test(tc, test_group_reset);
    tcase_add_test(tc, test_group_pending_busy);
    tcase_add_test(tc, test_group_submit_opts);
    tcase_add_test(tc, test_group_nested_spawns);
    tcase_add_test(tc, test_group_wait_several_threads);
    tcase_add_test(tc, test_group_of_other_runtime);
    tcase_add_test(tc, test_group_after_runtime_destroy);

    tc = wt_tcase(s, "named", WT_TIMEOUT_S);
    tcase_add_test(tc, test_named_groups);
    tcase_add_test(tc, test_named_groups_per_runtime);
    tcase_add_test(tc, test_named_groups_concurrent);
    return s;
}

int main(void)
{
    return wt_run_suite(groups_suite());
}
