/* Suite "jobs": submit and wait, status and result, callbacks, the rule that
 * a task's completion includes its spawned children, nested fork-join
 * (recursive fib, deep chains), several waiters, freeing early, and
 * weft_runtime_wait. */
#include "weft_test.h"

#include <float.h>

#include <math.h>
#include <pthread.h>

/* ------------------------------------------------------------------ */
/* Basic submit / wait / status                                        */

static int wt_echo_task(void *arg, void **result)
{
    *result = arg;
    return 0;
}

/* Stores arg as result, fails with status 42. */
static int wt_fail42_task(void *arg, void **result)
{
    *result = arg;
    return 42;
}

static int wt_result_starts_null_task(void *arg, void **result)
{
    int *seen_null = arg;
    *seen_null = (*result == NULL);
    return 0;
}

START_TEST(test_submit_wait_result)
{
    weft_runtime_t *rt = wt_runtime(2);
    int token;
    weft_job_t *job = NULL;
    int status = -99;
    void *result = NULL;

    ck_assert_int_eq(weft_submit(rt, wt_echo_task, &token, NULL, &job), 0);
    ck_assert_ptr_nonnull(job);
    ck_assert_int_eq(weft_job_wait(job, &status, &result), 0);
    ck_assert_int_eq(status, 0);
    ck_assert_ptr_eq(result, &token);
    ck_assert_int_eq(weft_job_done(job), 1);
    status = -99;
    result = NULL;
    ck_assert_int_eq(weft_job_status(job, &status, &result), 0);
    ck_assert_int_eq(status, 0);
    ck_assert_ptr_eq(result, &token);
    /* Waiting again returns the same; NULL outs are allowed. */
    ck_assert_int_eq(weft_job_wait(job, NULL, NULL), 0);
    ck_assert_int_eq(weft_job_status(job, NULL, NULL), 0);
    ck_assert_int_eq(weft_job_free(job), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_result_starts_null)
{
    weft_runtime_t *rt = wt_runtime(1);
    int seen_null = -1;
    weft_job_t *job = NULL;
    void *result = &seen_null;
    ck_assert_int_eq(weft_submit(rt, wt_result_starts_null_task, &seen_null, NULL, &job), 0);
    ck_assert_int_eq(weft_job_wait(job, NULL, &result), 0);
    ck_assert_int_eq(seen_null, 1);
    ck_assert_ptr_null(result); /* the task did not store one */
    ck_assert_int_eq(weft_job_free(job), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_many_jobs_results)
{
    enum { N = 2000 };
    weft_runtime_t *rt = wt_runtime(2);
    static weft_job_t *jobs[N];
    for (uintptr_t i = 0; i < N; i++)
        ck_assert_int_eq(weft_submit(rt, (i % 3 == 0) ? wt_fail42_task : wt_echo_task,
                                     (void *)(i + 1), NULL, &jobs[i]),
                         0);
    for (uintptr_t i = 0; i < N; i++) {
        int status = -99;
        void *result = NULL;
        int rc = weft_job_wait(jobs[i], &status, &result);
        ck_assert_int_eq(rc, (i % 3 == 0) ? WEFT_ETASK : 0);
        ck_assert_int_eq(status, (i % 3 == 0) ? 42 : 0);
        ck_assert_ptr_eq(result, (void *)(i + 1));
        ck_assert_int_eq(weft_job_free(jobs[i]), 0);
    }
    wt_destroy(rt);
}
END_TEST

START_TEST(test_failing_task_status)
{
    weft_runtime_t *rt = wt_runtime(2);
    int token;
    weft_job_t *job = NULL;
    int status = 0;
    void *result = NULL;
    ck_assert_int_eq(weft_submit(rt, wt_fail42_task, &token, NULL, &job), 0);
    WT_ASSERT_RC(weft_job_wait(job, &status, &result), WEFT_ETASK);
    ck_assert_int_eq(status, 42);
    ck_assert_ptr_eq(result, &token);
    status = 0;
    result = NULL;
    WT_ASSERT_RC(weft_job_status(job, &status, &result), WEFT_ETASK);
    ck_assert_int_eq(status, 42);
    ck_assert_ptr_eq(result, &token);
    ck_assert_int_eq(weft_job_done(job), 1);
    ck_assert_int_eq(weft_job_free(job), 0);
    wt_destroy(rt);
}
END_TEST

static int wt_negative_status_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return WEFT_EINVAL; /* a task may return any nonzero value, weft codes too */
}

START_TEST(test_failing_task_negative_status)
{
    weft_runtime_t *rt = wt_runtime(1);
    weft_job_t *job = NULL;
    int status = 0;
    ck_assert_int_eq(weft_submit(rt, wt_negative_status_task, NULL, NULL, &job), 0);
    WT_ASSERT_RC(weft_job_wait(job, &status, NULL), WEFT_ETASK);
    ck_assert_int_eq(status, WEFT_EINVAL);
    ck_assert_int_eq(weft_job_free(job), 0);
    wt_destroy(rt);
}
END_TEST

/* A task that blocks until its gate opens, then returns gate->status. */
struct wt_gated {
    atomic_int open;
    atomic_int started;
    atomic_int finished;
    int status;
    int timed_out;
};

static int wt_gated_task(void *arg, void **result)
{
    struct wt_gated *g = arg;
    atomic_store(&g->started, 1);
    if (wt_gate_wait(&g->open, 30.0) != 0)
        g->timed_out = 1;
    *result = g;
    atomic_store(&g->finished, 1);
    return g->status;
}

START_TEST(test_job_status_busy_then_done)
{
    weft_runtime_t *rt = wt_runtime(2);
    struct wt_gated g = {0};
    weft_job_t *job = NULL;
    int status = -99;
    void *result = NULL;
    g.status = 7;
    ck_assert_int_eq(weft_submit(rt, wt_gated_task, &g, NULL, &job), 0);
    ck_assert_int_eq(wt_gate_wait(&g.started, 30.0), 0);
    WT_ASSERT_RC(weft_job_status(job, &status, &result), WEFT_EBUSY);
    ck_assert_int_eq(weft_job_done(job), 0);
    wt_sleep_s(0.01);
    WT_ASSERT_RC(weft_job_status(job, NULL, NULL), WEFT_EBUSY);
    ck_assert_int_eq(weft_job_done(job), 0);
    wt_gate_open(&g.open);
    WT_ASSERT_RC(weft_job_wait(job, &status, &result), WEFT_ETASK);
    ck_assert_int_eq(status, 7);
    ck_assert_ptr_eq(result, &g);
    ck_assert_int_eq(weft_job_done(job), 1);
    WT_ASSERT_RC(weft_job_status(job, &status, &result), WEFT_ETASK);
    ck_assert_int_eq(g.timed_out, 0);
    ck_assert_int_eq(weft_job_free(job), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_job_wait_timeout)
{
    weft_runtime_t *rt = wt_runtime(2);
    struct wt_gated g = {0};
    weft_job_t *job = NULL;
    int status = -99;
    void *result = NULL;
    double t0, dt;
    g.status = 6;
    ck_assert_int_eq(weft_submit(rt, wt_gated_task, &g, NULL, &job), 0);
    ck_assert_int_eq(wt_gate_wait(&g.started, 30.0), 0);
    /* 0: just look. */
    t0 = wt_now();
    WT_ASSERT_RC(weft_job_wait_timeout(job, 0.0, &status, &result), WEFT_ETIMEDOUT);
    ck_assert_msg(wt_now() - t0 < 0.5, "a zero timeout blocked for %.3f s", wt_now() - t0);
    /* A real timeout elapses, then gives up; the job is unaffected. */
    t0 = wt_now();
    WT_ASSERT_RC(weft_job_wait_timeout(job, 0.05, &status, &result), WEFT_ETIMEDOUT);
    dt = wt_now() - t0;
    ck_assert_msg(dt >= 0.045 && dt < 2.0, "50 ms timeout took %.3f s", dt);
    ck_assert_int_eq(weft_job_done(job), 0);
    ck_assert_int_eq(wt_ld(&g.finished), 0);
    /* Bad timeouts. */
    WT_ASSERT_RC(weft_job_wait_timeout(job, -1.0, NULL, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_job_wait_timeout(job, NAN, NULL, NULL), WEFT_EINVAL);
    wt_gate_open(&g.open);
    WT_ASSERT_RC(weft_job_wait_timeout(job, 30.0, &status, &result), WEFT_ETASK);
    ck_assert_int_eq(status, 6);
    ck_assert_ptr_eq(result, &g);
    /* Complete: a zero timeout reports the outcome. */
    status = 0;
    WT_ASSERT_RC(weft_job_wait_timeout(job, 0.0, &status, NULL), WEFT_ETASK);
    ck_assert_int_eq(status, 6);
    ck_assert_int_eq(weft_job_free(job), 0);
    wt_destroy(rt);
}
END_TEST

static int sleepy_task(void *arg, void **result)
{
    wt_sleep_s(0.02);
    *result = arg;
    return 3;
}

/* Timeouts too long for the clock (and infinity) wait for ever: no
 * overflow (UBSan), no early ETIMEDOUT; from a thread and from a task. */
static int huge_waits_in_task(void *arg, void **result)
{
    (void)result;
    weft_runtime_t *rt = arg;
    static double huge[] = {INFINITY, 1e300, DBL_MAX, 1e10, 9.3e9};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        weft_job_t *job = NULL;
        if (weft_submit(rt, sleepy_task, &huge[i], NULL, &job)) return 100;
        int status = 0;
        void *res = NULL;
        int rc = weft_job_wait_timeout(job, huge[i], &status, &res);
        weft_job_free(job);
        if (rc != WEFT_ETASK || status != 3 || res != &huge[i]) return 101 + (int)i;
    }
    return 0;
}

START_TEST(test_job_wait_huge_timeouts)
{
    weft_runtime_t *rt = wt_runtime(2);
    const double huge[] = {INFINITY, 1e300, DBL_MAX, 1e10, 9.3e9};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        weft_job_t *job = NULL;
        int status = 0;
        void *result = NULL;
        ck_assert_int_eq(weft_submit(rt, sleepy_task, &rt, NULL, &job), 0);
        WT_ASSERT_RC(weft_job_wait_timeout(job, huge[i], &status, &result), WEFT_ETASK);
        ck_assert_int_eq(status, 3);
        ck_assert_ptr_eq(result, &rt);
        ck_assert_int_eq(weft_job_free(job), 0);
    }
    weft_job_t *job = NULL;
    int status = -1;
    ck_assert_int_eq(weft_submit(rt, huge_waits_in_task, rt, NULL, &job), 0);
    WT_ASSERT_RC(weft_job_wait(job, &status, NULL), 0);
    ck_assert_int_eq(status, 0);
    ck_assert_int_eq(weft_job_free(job), 0);
    ck_assert_int_eq(weft_job_wait_timeout(NULL, -INFINITY, NULL, NULL), WEFT_EINVAL);
    wt_destroy(rt);
}
END_TEST

struct wt_timed_in_task {
    weft_job_t *job;
    int rc_short;
};

static int wt_timed_wait_task(void *arg, void **result)
{
    struct wt_timed_in_task *w = arg;
    (void)result;
    w->rc_short = weft_job_wait_timeout(w->job, 0.02, NULL, NULL);
    return 0;
}

START_TEST(test_job_wait_timeout_in_task)
{
    weft_runtime_t *rt = wt_runtime(3);
    struct wt_gated g = {0};
    struct wt_timed_in_task w = {NULL, 12345};
    weft_job_t *job = NULL, *waiter = NULL;
    ck_assert_int_eq(weft_submit(rt, wt_gated_task, &g, NULL, &job), 0);
    ck_assert_int_eq(wt_gate_wait(&g.started, 30.0), 0);
    w.job = job;
    ck_assert_int_eq(weft_submit(rt, wt_timed_wait_task, &w, NULL, &waiter), 0);
    ck_assert_int_eq(weft_job_wait(waiter, NULL, NULL), 0);
    WT_ASSERT_RC(w.rc_short, WEFT_ETIMEDOUT); /* a worker gives up too */
    wt_gate_open(&g.open);
    ck_assert_int_eq(weft_job_wait(job, NULL, NULL), 0);
    ck_assert_int_eq(weft_job_free(waiter), 0);
    ck_assert_int_eq(weft_job_free(job), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_job_done_polling)
{
    weft_runtime_t *rt = wt_runtime(2);
    struct wt_gated g = {0};
    weft_job_t *job = NULL;
    double deadline;
    ck_assert_int_eq(weft_submit(rt, wt_gated_task, &g, NULL, &job), 0);
    ck_assert_int_eq(weft_job_done(job), 0);
    wt_gate_open(&g.open);
    deadline = wt_now() + 30.0;
    while (weft_job_done(job) == 0 && wt_now() < deadline)
        wt_sleep_s(100e-6);
    ck_assert_int_eq(weft_job_done(job), 1);
    /* done == 1 means the task's effects are visible. */
    ck_assert_int_eq(wt_ld(&g.finished), 1);
    ck_assert_int_eq(weft_job_status(job, NULL, NULL), 0);
    ck_assert_int_eq(weft_job_free(job), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_submit_errors_reset_job)
{
    weft_runtime_t *rt = wt_runtime(1), *rt2 = wt_runtime(1);
    weft_group_t *g2 = NULL;
    weft_submit_opts_t opts = {0};
    int dummy;
    weft_job_t *job = (weft_job_t *)&dummy;

    WT_ASSERT_RC(weft_submit(rt, NULL, NULL, NULL, &job), WEFT_EINVAL);
    ck_assert_ptr_null(job);
    /* A group of another runtime. */
    ck_assert_int_eq(weft_group_create(rt2, "other", &g2), 0);
    opts.group = g2;
    job = (weft_job_t *)&dummy;
    WT_ASSERT_RC(weft_submit(rt, wt_echo_task, NULL, &opts, &job), WEFT_EINVAL);
    ck_assert_ptr_null(job);
    ck_assert_int_eq(weft_group_pending(g2), 0); /* nothing was submitted */
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(weft_group_free(g2), 0);
    wt_destroy(rt);
    wt_destroy(rt2);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Callbacks                                                           */

#define WT_CB_N 4000

struct wt_cb_rec {
    atomic_int calls;
    int status;
    void *result;
    int worker;
    weft_runtime_t *rt;
};

static struct wt_cb_rec wt_cbs[WT_CB_N];

static int wt_cb_task(void *arg, void **result)
{
    uintptr_t i = (uintptr_t)arg;
    *result = &wt_cbs[i];
    return (i % 5 == 0) ? (int)(1000 + i) : 0;
}

static void wt_record_cb(void *data, int status, void *result)
{
    struct wt_cb_rec *r = data;
    r->status = status;
    r->result = result;
    r->worker = weft_current_worker();
    r->rt = weft_current_runtime();
    atomic_fetch_add(&r->calls, 1);
}

START_TEST(test_callbacks_exactly_once)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_group_t *g = NULL;
    weft_submit_opts_t opts = {0};
    ck_assert_int_eq(weft_group_create(rt, "cb", &g), 0);
    opts.group = g;
    opts.callback = wt_record_cb;
    for (uintptr_t i = 0; i < WT_CB_N; i++) {
        opts.callback_data = &wt_cbs[i];
        ck_assert_int_eq(weft_submit(rt, wt_cb_task, (void *)i, &opts, NULL), 0);
    }
    /* Callbacks run before group waiters are released. */
    WT_ASSERT_RC(weft_group_wait(g), WEFT_ETASK);
    for (uintptr_t i = 0; i < WT_CB_N; i++) {
        ck_assert_int_eq(wt_ld(&wt_cbs[i].calls), 1);
        ck_assert_int_eq(wt_cbs[i].status, (i % 5 == 0) ? (int)(1000 + i) : 0);
        ck_assert_ptr_eq(wt_cbs[i].result, &wt_cbs[i]);
        /* Documented: callbacks run on a worker thread of the runtime. */
        ck_assert_int_ge(wt_cbs[i].worker, 0);
        ck_assert_ptr_eq(wt_cbs[i].rt, rt);
    }
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    for (uintptr_t i = 0; i < WT_CB_N; i++)
        ck_assert_int_eq(wt_ld(&wt_cbs[i].calls), 1);
    ck_assert_int_eq(weft_group_free(g), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_callback_before_job_waiter)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_submit_opts_t opts = {NULL, wt_record_cb, &wt_cbs[0]};
    weft_job_t *job = NULL;
    int status = 0;
    ck_assert_int_eq(weft_submit(rt, wt_cb_task, (void *)(uintptr_t)0, &opts, &job), 0);
    WT_ASSERT_RC(weft_job_wait(job, &status, NULL), WEFT_ETASK);
    ck_assert_int_eq(status, 1000);
    ck_assert_int_eq(wt_ld(&wt_cbs[0].calls), 1);
    ck_assert_int_eq(wt_cbs[0].status, 1000);
    ck_assert_ptr_eq(wt_cbs[0].result, &wt_cbs[0]);
    ck_assert_int_ge(wt_cbs[0].worker, 0);
    ck_assert_int_eq(weft_job_free(job), 0);
    wt_destroy(rt);
    ck_assert_int_eq(wt_ld(&wt_cbs[0].calls), 1);
}
END_TEST

static atomic_int wt_counter;

static int wt_inc_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_fetch_add(&wt_counter, 1);
    return 0;
}

static void wt_submitting_cb(void *data, int status, void *result)
{
    (void)status;
    (void)result;
    /* Allowed: a callback may submit (but not wait). */
    if (weft_submit(weft_current_runtime(), wt_inc_task, NULL, NULL, NULL) != 0)
        atomic_fetch_add((atomic_int *)data, 1);
}

START_TEST(test_callback_submits)
{
    weft_runtime_t *rt = wt_runtime(2);
    atomic_int errors;
    weft_submit_opts_t opts = {NULL, wt_submitting_cb, &errors};
    atomic_init(&errors, 0);
    for (int i = 0; i < 500; i++)
        ck_assert_int_eq(weft_submit(rt, wt_inc_task, NULL, &opts, NULL), 0);
    /* runtime_wait covers tasks that callbacks submitted. */
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&errors), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), 1000);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Completion includes spawned children                                */

#define WT_KIDS 64

struct wt_family {
    atomic_int kid_done[WT_KIDS];
    atomic_int grandkid_done[WT_KIDS];
    atomic_int parent_returned;
    atomic_int gate; /* when set_gate: children wait for it */
    int use_gate;
    atomic_int errors;
    atomic_int cb_saw_all; /* parent callback: 1 if every child was done */
    atomic_int cb_calls;
};

struct wt_kid {
    struct wt_family *f;
    int i;
};

static struct wt_kid wt_kids[WT_KIDS];

static int wt_grandkid_task(void *arg, void **result)
{
    struct wt_kid *k = arg;
    (void)result;
    if (k->i % 4 == 0)
        wt_sleep_s(1e-3);
    atomic_store(&k->f->grandkid_done[k->i], 1);
    return 0;
}

static int wt_kid_task(void *arg, void **result)
{
    struct wt_kid *k = arg;
    (void)result;
    if (k->f->use_gate && wt_gate_wait(&k->f->gate, 30.0) != 0)
        atomic_fetch_add(&k->f->errors, 1);
    /* A grandchild, fire and forget, also part of the parent's tree. */
    if (weft_submit(weft_current_runtime(), wt_grandkid_task, k, NULL, NULL) != 0)
        atomic_fetch_add(&k->f->errors, 1);
    if (k->i % 8 == 0)
        wt_sleep_s(2e-3);
    atomic_store(&k->f->kid_done[k->i], 1);
    return 0;
}

static int wt_parent_task(void *arg, void **result)
{
    struct wt_family *f = arg;
    (void)result;
    for (int i = 0; i < WT_KIDS; i++) {
        wt_kids[i].f = f;
        wt_kids[i].i = i;
        if (weft_submit(weft_current_runtime(), wt_kid_task, &wt_kids[i], NULL, NULL) != 0)
            atomic_fetch_add(&f->errors, 1);
    }
    atomic_store(&f->parent_returned, 1);
    return 0; /* returns at once: its children are still running */
}

static void wt_parent_cb(void *data, int status, void *result)
{
    struct wt_family *f = data;
    int all = 1;
    (void)status;
    (void)result;
    for (int i = 0; i < WT_KIDS; i++)
        all &= atomic_load(&f->kid_done[i]) & atomic_load(&f->grandkid_done[i]);
    atomic_store(&f->cb_saw_all, all);
    atomic_fetch_add(&f->cb_calls, 1);
}

START_TEST(test_job_includes_children)
{
    weft_runtime_t *rt = wt_runtime(2);
    static struct wt_family f;
    weft_submit_opts_t opts = {NULL, wt_parent_cb, &f};
    weft_job_t *job = NULL;
    ck_assert_int_eq(weft_submit(rt, wt_parent_task, &f, &opts, &job), 0);
    ck_assert_int_eq(weft_job_wait(job, NULL, NULL), 0);
    ck_assert_int_eq(wt_ld(&f.parent_returned), 1);
    for (int i = 0; i < WT_KIDS; i++) {
        ck_assert_msg(wt_ld(&f.kid_done[i]), "child %d not done after job_wait", i);
        ck_assert_msg(wt_ld(&f.grandkid_done[i]), "grandchild %d not done after job_wait",
                      i);
    }
    ck_assert_int_eq(wt_ld(&f.cb_calls), 1);
    ck_assert_msg(wt_ld(&f.cb_saw_all), "parent callback ran before its children were done");
    ck_assert_int_eq(wt_ld(&f.errors), 0);
    ck_assert_int_eq(weft_job_free(job), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_job_not_done_while_children_run)
{
    weft_runtime_t *rt = wt_runtime(2);
    static struct wt_family f;
    weft_job_t *job = NULL;
    f.use_gate = 1;
    ck_assert_int_eq(weft_submit(rt, wt_parent_task, &f, NULL, &job), 0);
    ck_assert_int_eq(wt_gate_wait(&f.parent_returned, 30.0), 0);
    wt_sleep_s(0.01);
    /* The parent's function has returned; its children are held. */
    ck_assert_int_eq(weft_job_done(job), 0);
    WT_ASSERT_RC(weft_job_status(job, NULL, NULL), WEFT_EBUSY);
    wt_gate_open(&f.gate);
    ck_assert_int_eq(weft_job_wait(job, NULL, NULL), 0);
    for (int i = 0; i < WT_KIDS; i++) {
        ck_assert_int_eq(wt_ld(&f.kid_done[i]), 1);
        ck_assert_int_eq(wt_ld(&f.grandkid_done[i]), 1);
    }
    ck_assert_int_eq(weft_job_done(job), 1);
    ck_assert_int_eq(wt_ld(&f.errors), 0);
    ck_assert_int_eq(weft_job_free(job), 0);
    wt_destroy(rt);
}
END_TEST

/* Children spawned into a group from inside a task also belong to it. */
static int wt_spawn_into_group_task(void *arg, void **result)
{
    weft_group_t *g = arg;
    (void)result;
    for (int i = 0; i < 100; i++)
        if (weft_spawn(g, wt_inc_task, NULL) != 0)
            return 1;
    return 0;
}

START_TEST(test_job_includes_group_spawned_children)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_group_t *g = NULL;
    ck_assert_int_eq(weft_group_create(rt, NULL, &g), 0);
    wt_job_run(rt, wt_spawn_into_group_task, g);
    ck_assert_int_eq(wt_ld(&wt_counter), 100);
    ck_assert_int_eq(weft_group_pending(g), 0);
    ck_assert_int_eq(weft_group_wait(g), 0);
    ck_assert_int_eq(weft_group_free(g), 0);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Nested fork-join                                                    */

static atomic_long wt_fib_calls;
static atomic_int wt_fib_errors;

struct wt_fib {
    int n;
    long r;
};

static int wt_fib_task(void *arg, void **result)
{
    struct wt_fib *f = arg;
    struct wt_fib a, b;
    weft_group_t *g = NULL;
    (void)result;
    atomic_fetch_add_explicit(&wt_fib_calls, 1, memory_order_relaxed);
    if (f->n < 2) {
        f->r = f->n;
        return 0;
    }
    a.n = f->n - 1;
    b.n = f->n - 2;
    a.r = b.r = -1;
    if (weft_group_create(weft_current_runtime(), NULL, &g) != 0 ||
        weft_spawn(g, wt_fib_task, &a) != 0 || weft_spawn(g, wt_fib_task, &b) != 0 ||
        weft_group_wait(g) != 0 || weft_group_free(g) != 0) {
        atomic_fetch_add(&wt_fib_errors, 1);
        return 1;
    }
    f->r = a.r + b.r;
    return 0;
}

START_TEST(test_fib_groups)
{
    weft_runtime_t *rt = wt_runtime(2);
    struct wt_fib f = {25, -1};
    wt_job_run(rt, wt_fib_task, &f);
    ck_assert_int_eq(wt_ld(&wt_fib_errors), 0);
    ck_assert_int_eq(f.r, 75025);
    /* One task per call: 2*fib(26) - 1 calls. */
    ck_assert_int_eq(wt_ldl(&wt_fib_calls), 2L * 121393 - 1);
    wt_destroy(rt);
}
END_TEST

/* Same, with jobs instead of groups for the inner waits. */
static int wt_fib_job_task(void *arg, void **result)
{
    struct wt_fib *f = arg;
    struct wt_fib a;
    weft_job_t *ja = NULL;
    long b;
    (void)result;
    if (f->n < 2) {
        f->r = f->n;
        return 0;
    }
    a.n = f->n - 1;
    a.r = -1;
    if (weft_submit(weft_current_runtime(), wt_fib_job_task, &a, NULL, &ja) != 0)
        return 1;
    {
        struct wt_fib bb = {f->n - 2, -1};
        wt_fib_job_task(&bb, result); /* run one half inline */
        b = bb.r;
    }
    if (weft_job_wait(ja, NULL, NULL) != 0 || weft_job_free(ja) != 0)
        return 1;
    f->r = a.r + b;
    return 0;
}

START_TEST(test_fib_jobs)
{
    weft_runtime_t *rt = wt_runtime(3);
    struct wt_fib f = {22, -1};
    wt_job_run(rt, wt_fib_job_task, &f);
    ck_assert_int_eq(f.r, 17711);
    wt_destroy(rt);
}
END_TEST

/* A chain: each task submits one child and waits for its job. */
static int wt_chain_task(void *arg, void **result)
{
    intptr_t depth = (intptr_t)arg;
    weft_job_t *job = NULL;
    void *child = NULL;
    int status = -1;
    if (depth == 0) {
        *result = (void *)(intptr_t)0;
        return 0;
    }
    if (weft_submit(weft_current_runtime(), wt_chain_task, (void *)(depth - 1), NULL, &job) != 0)
        return 1;
    if (weft_job_wait(job, &status, &child) != 0 || status != 0)
        return 2;
    if (weft_job_free(job) != 0)
        return 3;
    *result = (void *)((intptr_t)child + 1);
    return 0;
}

START_TEST(test_deep_nesting_jobs)
{
    const intptr_t depth = 5000;
    weft_runtime_t *rt = wt_runtime(2);
    void *r = wt_job_run(rt, wt_chain_task, (void *)depth);
    ck_assert_int_eq((intptr_t)r, depth);
    wt_destroy(rt);
}
END_TEST

struct wt_gchain {
    int depth;
    int reached;
};

/* A chain of groups: each level spawns one child in its own group. */
static int wt_group_chain_task(void *arg, void **result)
{
    struct wt_gchain *c = arg;
    struct wt_gchain child;
    weft_group_t *g = NULL;
    (void)result;
    if (c->depth == 0) {
        c->reached = 0;
        return 0;
    }
    child.depth = c->depth - 1;
    child.reached = -1;
    if (weft_group_create(weft_current_runtime(), NULL, &g) != 0)
        return 1;
    if (weft_spawn(g, wt_group_chain_task, &child) != 0 || weft_group_wait(g) != 0)
        return 2;
    if (weft_group_free(g) != 0)
        return 3;
    c->reached = child.reached + 1;
    return 0;
}

START_TEST(test_deep_nesting_groups)
{
    weft_runtime_t *rt = wt_runtime(2);
    struct wt_gchain c = {3000, -1};
    wt_job_run(rt, wt_group_chain_task, &c);
    ck_assert_int_eq(c.reached, 3000);
    wt_destroy(rt);
}
END_TEST

/* A task waiting for its own job gets WEFT_EPERM. */
struct wt_selfwait {
    _Atomic(weft_job_t *) self;
    int rc;
};

static int wt_selfwait_task(void *arg, void **result)
{
    struct wt_selfwait *s = arg;
    double deadline = wt_now() + 30.0;
    weft_job_t *me;
    (void)result;
    while ((me = atomic_load(&s->self)) == NULL && wt_now() < deadline)
        wt_sleep_s(50e-6);
    if (me == NULL)
        return 1;
    s->rc = weft_job_wait(me, NULL, NULL);
    return 0;
}

START_TEST(test_job_wait_self_eperm)
{
    weft_runtime_t *rt = wt_runtime(2);
    struct wt_selfwait s;
    weft_job_t *job = NULL;
    int status = -1;
    atomic_init(&s.self, NULL);
    s.rc = 12345;
    ck_assert_int_eq(weft_submit(rt, wt_selfwait_task, &s, NULL, &job), 0);
    atomic_store(&s.self, job);
    ck_assert_int_eq(weft_job_wait(job, &status, NULL), 0);
    ck_assert_int_eq(status, 0);
    WT_ASSERT_RC(s.rc, WEFT_EPERM);
    ck_assert_int_eq(weft_job_free(job), 0);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Several waiters, early free, runtime_wait                           */

struct wt_waiter {
    weft_job_t *job;
    int rc;
    int status;
    void *result;
};

static void *wt_waiter_thread(void *arg)
{
    struct wt_waiter *w = arg;
    w->rc = weft_job_wait(w->job, &w->status, &w->result);
    return NULL;
}

START_TEST(test_wait_from_several_threads)
{
    enum { T = 4 };
    weft_runtime_t *rt = wt_runtime(2);
    for (int round = 0; round < 2; round++) {
        struct wt_gated g = {0};
        weft_job_t *job = NULL;
        struct wt_waiter w[T];
        pthread_t th[T];
        g.status = round == 0 ? 0 : 9;
        ck_assert_int_eq(weft_submit(rt, wt_gated_task, &g, NULL, &job), 0);
        for (int i = 0; i < T; i++) {
            w[i].job = job;
            w[i].rc = 12345;
            w[i].status = -1;
            w[i].result = NULL;
            ck_assert_int_eq(pthread_create(&th[i], NULL, wt_waiter_thread, &w[i]), 0);
        }
        wt_sleep_s(0.02); /* let the waiters block */
        wt_gate_open(&g.open);
        for (int i = 0; i < T; i++) {
            ck_assert_int_eq(pthread_join(th[i], NULL), 0);
            ck_assert_int_eq(w[i].rc, round == 0 ? 0 : WEFT_ETASK);
            ck_assert_int_eq(w[i].status, g.status);
            ck_assert_ptr_eq(w[i].result, &g);
        }
        ck_assert_int_eq(weft_job_free(job), 0);
    }
    wt_destroy(rt);
}
END_TEST

/* Several workers wait for one job too. */
static int wt_wait_job_task(void *arg, void **result)
{
    struct wt_waiter *w = arg;
    (void)result;
    w->rc = weft_job_wait(w->job, &w->status, &w->result);
    return 0;
}

START_TEST(test_wait_from_several_tasks)
{
    enum { T = 6 };
    weft_runtime_t *rt = wt_runtime(3);
    struct wt_gated g = {0};
    weft_job_t *job = NULL, *wj[T];
    struct wt_waiter w[T];
    g.status = 0;
    ck_assert_int_eq(weft_submit(rt, wt_gated_task, &g, NULL, &job), 0);
    for (int i = 0; i < T; i++) {
        w[i].job = job;
        w[i].rc = 12345;
        w[i].result = NULL;
        ck_assert_int_eq(weft_submit(rt, wt_wait_job_task, &w[i], NULL, &wj[i]), 0);
    }
    wt_sleep_s(0.02);
    wt_gate_open(&g.open);
    for (int i = 0; i < T; i++) {
        ck_assert_int_eq(weft_job_wait(wj[i], NULL, NULL), 0);
        ck_assert_int_eq(w[i].rc, 0);
        ck_assert_ptr_eq(w[i].result, &g);
        ck_assert_int_eq(weft_job_free(wj[i]), 0);
    }
    ck_assert_int_eq(weft_job_free(job), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_job_free_incomplete)
{
    weft_runtime_t *rt = wt_runtime(2);
    static struct wt_gated g;
    weft_group_t *grp = NULL;
    weft_submit_opts_t opts = {0};
    weft_job_t *job = NULL;
    ck_assert_int_eq(weft_group_create(rt, NULL, &grp), 0);
    opts.group = grp;
    opts.callback = wt_record_cb;
    opts.callback_data = &wt_cbs[0];
    g.status = 0;
    ck_assert_int_eq(weft_submit(rt, wt_gated_task, &g, &opts, &job), 0);
    ck_assert_int_eq(weft_job_done(job), 0);
    ck_assert_int_eq(weft_job_free(job), 0); /* still running: allowed */
    wt_gate_open(&g.open);
    ck_assert_int_eq(weft_group_wait(grp), 0);
    ck_assert_int_eq(wt_ld(&g.finished), 1);
    /* The task completed normally and its callback still ran, once. */
    ck_assert_int_eq(wt_ld(&wt_cbs[0].calls), 1);
    ck_assert_int_eq(wt_cbs[0].status, 0);
    ck_assert_ptr_eq(wt_cbs[0].result, &g);
    ck_assert_int_eq(weft_group_free(grp), 0);
    wt_destroy(rt);
    ck_assert_int_eq(wt_ld(&wt_cbs[0].calls), 1);
}
END_TEST

START_TEST(test_job_free_many_incomplete)
{
    enum { N = 5000 };
    weft_runtime_t *rt = wt_runtime(2);
    for (int i = 0; i < N; i++) {
        weft_job_t *job = NULL;
        ck_assert_int_eq(weft_submit(rt, wt_inc_task, NULL, NULL, &job), 0);
        ck_assert_int_eq(weft_job_free(job), 0);
    }
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), N);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_job_after_runtime_destroy)
{
    weft_runtime_t *rt = wt_runtime(2);
    int token;
    weft_job_t *job = NULL;
    int status = -1;
    void *result = NULL;
    ck_assert_int_eq(weft_submit(rt, wt_fail42_task, &token, NULL, &job), 0);
    wt_destroy(rt); /* waits for the task; the handle stays valid */
    ck_assert_int_eq(weft_job_done(job), 1);
    WT_ASSERT_RC(weft_job_status(job, &status, &result), WEFT_ETASK);
    ck_assert_int_eq(status, 42);
    ck_assert_ptr_eq(result, &token);
    ck_assert_int_eq(weft_job_free(job), 0);
}
END_TEST

static int wt_tree_task(void *arg, void **result)
{
    intptr_t depth = (intptr_t)arg;
    (void)result;
    atomic_fetch_add(&wt_counter, 1);
    if (depth > 0)
        for (int i = 0; i < 3; i++)
            if (weft_submit(weft_current_runtime(), wt_tree_task, (void *)(depth - 1), NULL,
                            NULL) != 0)
                atomic_fetch_add(&wt_counter, 1000000); /* makes the count wrong */
    if (depth == 0)
        wt_spin_work(500);
    return 0;
}

START_TEST(test_runtime_wait_everything)
{
    weft_runtime_t *rt = wt_runtime(2);
    int expected = 0;
    ck_assert_int_eq(weft_runtime_wait(rt), 0); /* idle: returns at once */
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(weft_submit(rt, wt_tree_task, (void *)(intptr_t)6, NULL, NULL), 0);
    /* Each tree: 1 + 3 + ... + 3^6 = 1093 tasks. */
    expected = 20 * 1093;
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), expected);
    /* Again, reusing the runtime. */
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(weft_submit(rt, wt_tree_task, (void *)(intptr_t)6, NULL, NULL), 0);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), 2 * expected);
    wt_destroy(rt);
}
END_TEST

struct wt_producer {
    weft_runtime_t *rt;
    int n;
    int errors;
};

static void *wt_producer_thread(void *arg)
{
    struct wt_producer *p = arg;
    for (int i = 0; i < p->n; i++)
        if (weft_submit(p->rt, wt_inc_task, NULL, NULL, NULL) != 0)
            p->errors++;
    return NULL;
}

START_TEST(test_submit_from_many_threads)
{
    enum { T = 4, N = 20000 };
    weft_runtime_t *rt = wt_runtime(2);
    struct wt_producer p[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        p[i].rt = rt;
        p[i].n = N;
        p[i].errors = 0;
        ck_assert_int_eq(pthread_create(&th[i], NULL, wt_producer_thread, &p[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_int_eq(p[i].errors, 0);
    }
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), T * N);
    wt_destroy(rt);
}
END_TEST

static Suite *jobs_suite(void)
{
    Suite *s = suite_create("jobs");
    TCase *tc = wt_tcase(s, "basic", WT_TIMEOUT_S);
    tcase_add_test(tc, test_submit_wait_result);
    tcase_add_test(tc, test_result_starts_null);
    tcase_add_test(tc, test_many_jobs_results);
    tcase_add_test(tc, test_failing_task_status);
    tcase_add_test(tc, test_failing_task_negative_status);
    tcase_add_test(tc, test_job_status_busy_then_done);
    tcase_add_test(tc, test_job_wait_timeout);
    tcase_add_test(tc, test_job_wait_huge_timeouts);
    tcase_add_test(tc, test_job_wait_timeout_in_task);
    tcase_add_test(tc, test_job_done_polling);
    tcase_add_test(tc, test_submit_errors_reset_job);

    tc = wt_tcase(s, "callbacks", WT_TIMEOUT_S);
    tcase_add_test(tc, test_callbacks_exactly_once);
    tcase_add_test(tc, test_callback_before_job_waiter);
    tcase_add_test(tc, test_callback_submits);

    tc = wt_tcase(s, "children", WT_TIMEOUT_S);
    tcase_add_test(tc, test_job_includes_children);
    tcase_add_test(tc, test_job_not_done_while_children_run);
    tcase_add_test(tc, test_job_includes_group_spawned_children);

    tc = wt_tcase(s, "nested", WT_TIMEOUT_S);
    tcase_add_test(tc, test_fib_groups);
    tcase_add_test(tc, test_fib_jobs);
    tcase_add_test(tc, test_deep_nesting_jobs);
    tcase_add_test(tc, test_deep_nesting_groups);
    tcase_add_test(tc, test_job_wait_self_eperm);

    tc = wt_tcase(s, "waiting", WT_TIMEOUT_S);
    tcase_add_test(tc, test_wait_from_several_threads);
    tcase_add_test(tc, test_wait_from_several_tasks);
    tcase_add_test(tc, test_job_free_incomplete);
    tcase_add_test(tc, test_job_free_many_incomplete);
    tcase_add_test(tc, test_job_after_runtime_destroy);
    tcase_add_test(tc, test_runtime_wait_everything);
    tcase_add_test(tc, test_submit_from_many_threads);
    return s;
}

int main(void)
{
    return wt_run_suite(jobs_suite());
}
