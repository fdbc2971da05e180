/* Suite "runtime": creation and destruction, worker counts (default,
 * WEFT_NUM_THREADS, set_workers under load), thread identity, parking (idle
 * CPU use and wake-up latency). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "weft_test.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* CPU count and default workers                                       */

START_TEST(test_cpu_count)
{
    cpu_set_t set;
    int n = weft_cpu_count();
    ck_assert_int_ge(n, 1);
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        /* A cgroup quota can only lower it. */
        ck_assert_int_le(n, CPU_COUNT(&set));
    }
    ck_assert_int_eq(weft_cpu_count(), n); /* stable */
}
END_TEST

static int wt_expected_default(void)
{
    int n = weft_cpu_count();
    return n > WEFT_MAX_WORKERS ? WEFT_MAX_WORKERS : n;
}

START_TEST(test_default_workers)
{
    weft_runtime_t *rt;
    ck_assert_int_eq(unsetenv("WEFT_NUM_THREADS"), 0);
    ck_assert_int_eq(weft_default_workers(), wt_expected_default());
    rt = wt_runtime(0);
    ck_assert_int_eq(weft_runtime_workers(rt), wt_expected_default());
    wt_destroy(rt);
}
END_TEST

/* Records which worker indices ran tasks. */
static atomic_int wt_seen[WEFT_MAX_WORKERS];
static atomic_int wt_bad_index;

static int wt_note_worker_task(void *arg, void **result)
{
    int w = weft_current_worker();
    (void)result;
    if (w < 0 || w >= WEFT_MAX_WORKERS)
        atomic_fetch_add(&wt_bad_index, 1);
    else
        atomic_store(&wt_seen[w], 1);
    if (arg != NULL)
        wt_sleep_s(*(double *)arg);
    return 0;
}

static int wt_count_seen(int *max_index)
{
    int n = 0;
    *max_index = -1;
    for (int i = 0; i < WEFT_MAX_WORKERS; i++) {
        if (atomic_load(&wt_seen[i])) {
            n++;
            *max_index = i;
        }
        atomic_store(&wt_seen[i], 0);
    }
    return n;
}

START_TEST(test_env_num_threads)
{
    weft_runtime_t *rt;
    double nap = 200e-6;
    int maxi;
    /* Runs in its own forked process: the environment change stays here. */
    ck_assert_int_eq(setenv("WEFT_NUM_THREADS", "3", 1), 0);
    ck_assert_int_eq(weft_default_workers(), 3);
    rt = wt_runtime(0);
    ck_assert_int_eq(weft_runtime_workers(rt), 3);
    for (int i = 0; i < 300; i++)
        ck_assert_int_eq(weft_submit(rt, wt_note_worker_task, &nap, NULL, NULL), 0);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&wt_bad_index), 0);
    ck_assert_int_le(wt_count_seen(&maxi), 3);
    ck_assert_int_lt(maxi, 3);
    /* An explicit count wins over the environment. */
    ck_assert_int_eq(weft_runtime_set_workers(rt, 2), 0);
    ck_assert_int_eq(weft_runtime_workers(rt), 2);
    /* set_workers(0) resolves through the environment again. */
    ck_assert_int_eq(setenv("WEFT_NUM_THREADS", "5", 1), 0);
    ck_assert_int_eq(weft_runtime_set_workers(rt, 0), 0);
    ck_assert_int_eq(weft_runtime_workers(rt), 5);
    wt_destroy(rt);

    ck_assert_int_eq(setenv("WEFT_NUM_THREADS", "512", 1), 0);
    ck_assert_int_eq(weft_default_workers(), 512);
    ck_assert_int_eq(setenv("WEFT_NUM_THREADS", "1", 1), 0);
    ck_assert_int_eq(weft_default_workers(), 1);
}
END_TEST

START_TEST(test_env_num_threads_invalid)
{
    /* Values outside 1..WEFT_MAX_WORKERS or not integers fall back. */
    const char *bad[] = {"0", "-1", "-4", "513", "100000", "abc", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(setenv("WEFT_NUM_THREADS", bad[i], 1), 0);
        ck_assert_msg(weft_default_workers() == wt_expected_default(),
                      "WEFT_NUM_THREADS=\"%s\": default_workers %d, expected %d", bad[i],
                      weft_default_workers(), wt_expected_default());
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Create and destroy                                                  */

START_TEST(test_create_errors)
{
    weft_runtime_t *rt = NULL;
    WT_ASSERT_RC(weft_runtime_create(1, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_runtime_create(-1, &rt), WEFT_EINVAL);
    WT_ASSERT_RC(weft_runtime_create(-1000, &rt), WEFT_EINVAL);
    WT_ASSERT_RC(weft_runtime_create(WEFT_MAX_WORKERS + 1, &rt), WEFT_EINVAL);
    WT_ASSERT_RC(weft_runtime_create(1 << 30, &rt), WEFT_EINVAL);
    WT_ASSERT_RC(weft_runtime_destroy(NULL), WEFT_EINVAL);
}
END_TEST

START_TEST(test_create_exact_counts)
{
    const int counts[] = {1, 2, 3, 8};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        weft_runtime_t *rt = wt_runtime(counts[i]);
        ck_assert_int_eq(weft_runtime_workers(rt), counts[i]);
        wt_destroy(rt);
    }
}
END_TEST

START_TEST(test_create_max_workers)
{
    weft_runtime_t *rt = wt_runtime(WEFT_MAX_WORKERS);
    int maxi;
    ck_assert_int_eq(weft_runtime_workers(rt), WEFT_MAX_WORKERS);
    for (int i = 0; i < 2000; i++)
        ck_assert_int_eq(weft_submit(rt, wt_note_worker_task, NULL, NULL, NULL), 0);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&wt_bad_index), 0);
    ck_assert_int_ge(wt_count_seen(&maxi), 1);
    ck_assert_int_lt(maxi, WEFT_MAX_WORKERS);
    wt_destroy(rt);
}
END_TEST

static atomic_int wt_counter;

static int wt_inc_task(void *arg, void **result)
{
    (void)result;
    if (arg != NULL)
        wt_sleep_s(*(double *)arg);
    atomic_fetch_add_explicit(&wt_counter, 1, memory_order_relaxed);
    return 0;
}

START_TEST(test_destroy_waits_for_tasks)
{
    weft_runtime_t *rt = wt_runtime(2);
    double nap = 100e-6;
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(weft_submit(rt, wt_inc_task, (i % 10 == 0) ? &nap : NULL, NULL, NULL),
                         0);
    wt_destroy(rt); /* no wait first: destroy must wait itself */
    ck_assert_int_eq(wt_ld(&wt_counter), 1000);
}
END_TEST

/* Destroy against threads that keep submitting (issue 7, item 9): every
 * submit that returned 0 runs before destroy returns, and once destroy has
 * begun submits fail with WEFT_EDESTROYED, also after it returned (a job
 * handle still held keeps the runtime's shell, so the pointer stays safe
 * to pass). Before the fix, hundreds of accepted tasks never ran. */
struct wt_submitter {
    weft_runtime_t *rt;
    atomic_long *ran;
    long accepted;
    long refused;
    int other_rc;
};

static int wt_count_task(void *arg, void **result)
{
    (void)result;
    atomic_fetch_add((atomic_long *)arg, 1);
    return 0;
}

static void *wt_submitter_main(void *arg)
{
    struct wt_submitter *s = arg;
    double t_end = wt_now() + 20.0; /* bound: destroy comes long before */
    while (wt_now() < t_end) {
        int rc = weft_submit(s->rt, wt_count_task, s->ran, NULL, NULL);
        if (rc == 0) {
            s->accepted++;
        } else if (rc == WEFT_EDESTROYED) {
            if (++s->refused >= 100) break; /* refusals are final: stop */
        } else {
            s->other_rc = rc;
            break;
        }
        if (s->refused && rc == 0) s->other_rc = 1; /* accepted after a refusal */
    }
    return NULL;
}

START_TEST(test_destroy_against_submitters)
{
    int rounds = (int)wt_scaled(20, 3);
    for (int r = 0; r < rounds; r++) {
        weft_runtime_t *rt = wt_runtime(2);
        atomic_long ran = 0;
        weft_job_t *keep = NULL; /* keeps the shell alive for late submits */
        ck_assert_int_eq(weft_submit(rt, wt_count_task, &ran, NULL, &keep), 0);
        enum { NT = 3 };
        struct wt_submitter sub[NT];
        pthread_t th[NT];
        for (int i = 0; i < NT; i++) {
            sub[i] = (struct wt_submitter){.rt = rt, .ran = &ran};
            ck_assert_int_eq(pthread_create(&th[i], NULL, wt_submitter_main, &sub[i]), 0);
        }
        wt_sleep_s(0.002 * (r % 5)); /* destroy at varied points */
        wt_destroy(rt);
        long ran_at_destroy = atomic_load(&ran);
        long accepted = 1;
        for (int i = 0; i < NT; i++) {
            ck_assert_int_eq(pthread_join(th[i], NULL), 0);
            ck_assert_int_eq(sub[i].other_rc, 0);
            ck_assert_int_eq(sub[i].refused, 100);
            accepted += sub[i].accepted;
        }
        /* everything accepted ran, and ran before destroy returned */
        ck_assert_int_eq(ran_at_destroy, accepted);
        ck_assert_int_eq(atomic_load(&ran), accepted);
        WT_ASSERT_RC(weft_job_wait(keep, NULL, NULL), 0);
        ck_assert_int_eq(weft_job_free(keep), 0); /* frees the shell */
    }
}
END_TEST

START_TEST(test_create_destroy_cycles)
{
    for (int c = 0; c < 50; c++) {
        weft_runtime_t *rt = wt_runtime(1 + c % 4);
        atomic_store(&wt_counter, 0);
        for (int i = 0; i < 100; i++)
            ck_assert_int_eq(weft_submit(rt, wt_inc_task, NULL, NULL, NULL), 0);
        wt_destroy(rt);
        ck_assert_int_eq(wt_ld(&wt_counter), 100);
    }
}
END_TEST

struct wt_self_calls {
    int destroy_rc;
    int wait_rc;
};

static int wt_self_destroy_task(void *arg, void **result)
{
    struct wt_self_calls *c = arg;
    (void)result;
    c->destroy_rc = weft_runtime_destroy(weft_current_runtime());
    c->wait_rc = weft_runtime_wait(weft_current_runtime());
    return 0;
}

START_TEST(test_destroy_from_task_eperm)
{
    weft_runtime_t *rt = wt_runtime(2);
    struct wt_self_calls c = {12345, 12345};
    weft_job_t *job = NULL;
    int status = -99;
    ck_assert_int_eq(weft_submit(rt, wt_self_destroy_task, &c, NULL, &job), 0);
    ck_assert_int_eq(weft_job_wait(job, &status, NULL), 0);
    ck_assert_int_eq(status, 0);
    WT_ASSERT_RC(c.destroy_rc, WEFT_EPERM);
    WT_ASSERT_RC(c.wait_rc, WEFT_EPERM);
    ck_assert_int_eq(weft_job_free(job), 0);
    /* The runtime is intact. */
    ck_assert_int_eq(weft_submit(rt, wt_inc_task, NULL, NULL, NULL), 0);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), 1);
    wt_destroy(rt);
}
END_TEST

static int wt_noop_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 0;
}

static void wt_self_destroy_cb(void *data, int status, void *result)
{
    struct wt_self_calls *c = data;
    (void)status;
    (void)result;
    c->destroy_rc = weft_runtime_destroy(weft_current_runtime());
}

START_TEST(test_destroy_from_callback_eperm)
{
    weft_runtime_t *rt = wt_runtime(2);
    struct wt_self_calls c = {12345, 0};
    weft_job_t *job = NULL;
    weft_submit_opts_t opts = {NULL, wt_self_destroy_cb, &c};
    ck_assert_int_eq(weft_submit(rt, wt_noop_task, NULL, &opts, &job), 0);
    ck_assert_int_eq(weft_job_wait(job, NULL, NULL), 0); /* callback ran before */
    WT_ASSERT_RC(c.destroy_rc, WEFT_EPERM);
    ck_assert_int_eq(weft_job_free(job), 0);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Parking                                                             */

START_TEST(test_idle_cpu_usage)
{
    for (int n = 2; n <= 4; n += 2) {
        weft_runtime_t *rt = wt_runtime(n);
        double cpu0, cpu1, used;
        /* Give the workers something to do first, so they go from running
         * to spinning to parked. */
        for (int i = 0; i < 10000; i++)
            ck_assert_int_eq(weft_submit(rt, wt_inc_task, NULL, NULL, NULL), 0);
        ck_assert_int_eq(weft_runtime_wait(rt), 0);
        wt_sleep_s(0.1); /* past any bounded spin */
        cpu0 = wt_cpu_now();
        wt_sleep_s(1.0);
        cpu1 = wt_cpu_now();
        used = cpu1 - cpu0;
        ck_assert_msg(used < 0.050, "%d idle workers used %.1f ms of CPU in 1 s", n,
                      used * 1e3);
        wt_destroy(rt);
    }
}
END_TEST

struct wt_stamp {
    double started;
};

static int wt_stamp_task(void *arg, void **result)
{
    (void)result;
    ((struct wt_stamp *)arg)->started = wt_now();
    return 0;
}

static int wt_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

START_TEST(test_wakeup_latency)
{
    enum { SAMPLES = 9 };
    weft_runtime_t *rt = wt_runtime(2);
    double lat[SAMPLES];
    for (int i = 0; i < SAMPLES; i++) {
        struct wt_stamp st = {0};
        weft_job_t *job = NULL;
        double t0;
        wt_sleep_s(0.05); /* every worker parked */
        t0 = wt_now();
        ck_assert_int_eq(weft_submit(rt, wt_stamp_task, &st, NULL, &job), 0);
        ck_assert_int_eq(weft_job_wait(job, NULL, NULL), 0);
        ck_assert_int_eq(weft_job_free(job), 0);
        lat[i] = st.started - t0;
        ck_assert(lat[i] >= 0.0);
    }
    qsort(lat, SAMPLES, sizeof lat[0], wt_cmp_double);
    ck_assert_msg(lat[SAMPLES / 2] < 1e-3, "median wake-up latency %.3f ms (max %.3f ms)",
                  lat[SAMPLES / 2] * 1e3, lat[SAMPLES - 1] * 1e3);
}
END_TEST

/* ------------------------------------------------------------------ */
/* set_workers                                                         */

#define WT_LOAD_TASKS 200000
static atomic_uchar wt_hits[WT_LOAD_TASKS];

static int wt_hit_task(void *arg, void **result)
{
    uintptr_t i = (uintptr_t)arg;
    int w = weft_current_worker();
    (void)result;
    if (w < 0 || w >= WEFT_MAX_WORKERS)
        atomic_fetch_add(&wt_bad_index, 1);
    else
        atomic_store_explicit(&wt_seen[w], 1, memory_order_relaxed);
    wt_spin_work(200);
    atomic_fetch_add_explicit(&wt_hits[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&wt_counter, 1, memory_order_relaxed);
    return 0;
}

START_TEST(test_set_workers_under_load)
{
    static const int seq[] = {1, 2, 4, 8, 16, 1};
    const int nseq = (int)(sizeof seq / sizeof seq[0]);
    weft_runtime_t *rt = wt_runtime(2);
    int k = 0, maxi;
    for (uintptr_t i = 0; i < WT_LOAD_TASKS; i++) {
        if (k < nseq && i == (uintptr_t)(k + 1) * (WT_LOAD_TASKS / (nseq + 1))) {
            ck_assert_int_eq(weft_runtime_set_workers(rt, seq[k]), 0);
            ck_assert_int_eq(weft_runtime_workers(rt), seq[k]);
            k++;
        }
        ck_assert_int_eq(weft_submit(rt, wt_hit_task, (void *)i, NULL, NULL), 0);
    }
    ck_assert_int_eq(k, nseq);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(weft_runtime_workers(rt), 1);
    ck_assert_int_eq(wt_ld(&wt_counter), WT_LOAD_TASKS);
    for (int i = 0; i < WT_LOAD_TASKS; i++)
        ck_assert_msg(wt_ldc(&wt_hits[i]) == 1, "task %d ran %d times", i,
                      (int)atomic_load(&wt_hits[i]));
    ck_assert_int_eq(wt_ld(&wt_bad_index), 0);
    wt_count_seen(&maxi);
    ck_assert_int_lt(maxi, 16);
    wt_destroy(rt);
}
END_TEST

/* Every task waits until `want` tasks are running at once: passes only if
 * that many workers really run in parallel. */
struct wt_barrier {
    atomic_int arrived;
    int want;
    atomic_int timeouts;
};

static int wt_barrier_task(void *arg, void **result)
{
    struct wt_barrier *b = arg;
    double deadline = wt_now() + 20.0;
    (void)result;
    atomic_fetch_add(&b->arrived, 1);
    while (atomic_load(&b->arrived) < b->want) {
        if (wt_now() > deadline) {
            atomic_fetch_add(&b->timeouts, 1);
            break;
        }
        wt_sleep_s(100e-6);
    }
    return 0;
}

START_TEST(test_set_workers_up_starts_threads)
{
    weft_runtime_t *rt = wt_runtime(1);
    struct wt_barrier b;
    atomic_init(&b.arrived, 0);
    atomic_init(&b.timeouts, 0);
    b.want = 4;
    ck_assert_int_eq(weft_runtime_set_workers(rt, 4), 0);
    ck_assert_int_eq(weft_runtime_workers(rt), 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(weft_submit(rt, wt_barrier_task, &b, NULL, NULL), 0);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&b.arrived), 4);
    ck_assert_msg(wt_ld(&b.timeouts) == 0, "4 tasks never ran at once on 4 workers");
    wt_destroy(rt);
}
END_TEST

START_TEST(test_set_workers_down_retires)
{
    weft_runtime_t *rt = wt_runtime(4);
    double nap = 200e-6;
    int maxi;
    for (int i = 0; i < 400; i++)
        ck_assert_int_eq(weft_submit(rt, wt_note_worker_task, &nap, NULL, NULL), 0);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    wt_count_seen(&maxi);
    ck_assert_int_eq(weft_runtime_set_workers(rt, 1), 0);
    ck_assert_int_eq(weft_runtime_workers(rt), 1);
    wt_sleep_s(0.05);
    /* Sleeping tasks would spread over every worker left: one remains. */
    for (int i = 0; i < 400; i++)
        ck_assert_int_eq(weft_submit(rt, wt_note_worker_task, &nap, NULL, NULL), 0);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&wt_bad_index), 0);
    ck_assert_int_eq(wt_count_seen(&maxi), 1);
    wt_destroy(rt);
}
END_TEST

static int wt_set_workers_task(void *arg, void **result)
{
    (void)result;
    return weft_runtime_set_workers(weft_current_runtime(), (int)(intptr_t)arg);
}

START_TEST(test_set_workers_from_task)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_job_t *job = NULL;
    int status = -99;
    ck_assert_int_eq(weft_submit(rt, wt_set_workers_task, (void *)(intptr_t)3, NULL, &job), 0);
    ck_assert_int_eq(weft_job_wait(job, &status, NULL), 0);
    ck_assert_int_eq(status, 0);
    ck_assert_int_eq(weft_job_free(job), 0);
    ck_assert_int_eq(weft_runtime_workers(rt), 3);
    /* Lowering to 1 from a worker that may itself be retired. */
    ck_assert_int_eq(weft_submit(rt, wt_set_workers_task, (void *)(intptr_t)1, NULL, &job), 0);
    ck_assert_int_eq(weft_job_wait(job, &status, NULL), 0);
    ck_assert_int_eq(status, 0);
    ck_assert_int_eq(weft_job_free(job), 0);
    ck_assert_int_eq(weft_runtime_workers(rt), 1);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(weft_submit(rt, wt_inc_task, NULL, NULL, NULL), 0);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), 1000);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_set_workers_errors_and_zero)
{
    weft_runtime_t *rt = wt_runtime(2);
    ck_assert_int_eq(unsetenv("WEFT_NUM_THREADS"), 0);
    WT_ASSERT_RC(weft_runtime_set_workers(rt, -1), WEFT_EINVAL);
    WT_ASSERT_RC(weft_runtime_set_workers(rt, WEFT_MAX_WORKERS + 1), WEFT_EINVAL);
    WT_ASSERT_RC(weft_runtime_set_workers(NULL, 1), WEFT_EINVAL);
    ck_assert_int_eq(weft_runtime_workers(rt), 2); /* unchanged by errors */
    ck_assert_int_eq(weft_runtime_set_workers(rt, 0), 0);
    ck_assert_int_eq(weft_runtime_workers(rt), weft_default_workers());
    ck_assert_int_eq(weft_runtime_set_workers(rt, 2), 0);
    ck_assert_int_eq(weft_runtime_set_workers(rt, 2), 0); /* same count: no-op */
    ck_assert_int_eq(weft_runtime_workers(rt), 2);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(weft_submit(rt, wt_inc_task, NULL, NULL, NULL), 0);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&wt_counter), 100);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Thread identity                                                     */

struct wt_identity {
    weft_runtime_t *rt;
    int worker;
    int cb_worker;
    weft_runtime_t *cb_rt;
};

static int wt_identity_task(void *arg, void **result)
{
    struct wt_identity *id = arg;
    (void)result;
    id->rt = weft_current_runtime();
    id->worker = weft_current_worker();
    return 0;
}

static void wt_identity_cb(void *data, int status, void *result)
{
    struct wt_identity *id = data;
    (void)status;
    (void)result;
    id->cb_rt = weft_current_runtime();
    id->cb_worker = weft_current_worker();
}

static void *wt_identity_thread(void *arg)
{
    struct wt_identity *id = arg;
    id->rt = weft_current_runtime();
    id->worker = weft_current_worker();
    return NULL;
}

START_TEST(test_current_worker_and_runtime)
{
    weft_runtime_t *rt1, *rt2;
    struct wt_identity a = {NULL, -5, -5, NULL}, b = {NULL, -5, -5, NULL};
    struct wt_identity th = {(weft_runtime_t *)&a, -5, -5, NULL};
    weft_submit_opts_t opa = {NULL, wt_identity_cb, &a}, opb = {NULL, wt_identity_cb, &b};
    weft_job_t *ja = NULL, *jb = NULL;
    pthread_t t;

    ck_assert_ptr_null(weft_current_runtime());
    ck_assert_int_eq(weft_current_worker(), -1);
    rt1 = wt_runtime(2);
    rt2 = wt_runtime(3);
    /* Still not a worker after creating runtimes. */
    ck_assert_ptr_null(weft_current_runtime());
    ck_assert_int_eq(weft_current_worker(), -1);

    ck_assert_int_eq(weft_submit(rt1, wt_identity_task, &a, &opa, &ja), 0);
    ck_assert_int_eq(weft_submit(rt2, wt_identity_task, &b, &opb, &jb), 0);
    ck_assert_int_eq(weft_job_wait(ja, NULL, NULL), 0);
    ck_assert_int_eq(weft_job_wait(jb, NULL, NULL), 0);
    ck_assert_ptr_eq(a.rt, rt1);
    ck_assert_ptr_eq(b.rt, rt2);
    ck_assert_int_ge(a.worker, 0);
    ck_assert_int_lt(a.worker, 2);
    ck_assert_int_ge(b.worker, 0);
    ck_assert_int_lt(b.worker, 3);
    /* Callbacks run on a worker of the same runtime. */
    ck_assert_ptr_eq(a.cb_rt, rt1);
    ck_assert_ptr_eq(b.cb_rt, rt2);
    ck_assert_int_ge(a.cb_worker, 0);
    ck_assert_int_ge(b.cb_worker, 0);

    /* A plain thread is not a worker. */
    ck_assert_int_eq(pthread_create(&t, NULL, wt_identity_thread, &th), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_ptr_null(th.rt);
    ck_assert_int_eq(th.worker, -1);

    ck_assert_int_eq(weft_job_free(ja), 0);
    ck_assert_int_eq(weft_job_free(jb), 0);
    wt_destroy(rt1);
    wt_destroy(rt2);
    ck_assert_ptr_null(weft_current_runtime());
    ck_assert_int_eq(weft_current_worker(), -1);
}
END_TEST

START_TEST(test_worker_indices_in_range)
{
    weft_runtime_t *rt = wt_runtime(3);
    double nap = 100e-6;
    int maxi;
    for (int i = 0; i < 600; i++)
        ck_assert_int_eq(weft_submit(rt, wt_note_worker_task, &nap, NULL, NULL), 0);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&wt_bad_index), 0);
    ck_assert_int_ge(wt_count_seen(&maxi), 1);
    ck_assert_int_lt(maxi, 3);
    wt_destroy(rt);
}
END_TEST

static Suite *runtime_suite(void)
{
    Suite *s = suite_create("runtime");
    TCase *tc = wt_tcase(s, "workers", WT_TIMEOUT_S);
    tcase_add_test(tc, test_cpu_count);
    tcase_add_test(tc, test_default_workers);
    tcase_add_test(tc, test_env_num_threads);
    tcase_add_test(tc, test_env_num_threads_invalid);

    tc = wt_tcase(s, "lifecycle", WT_TIMEOUT_S);
    tcase_add_test(tc, test_create_errors);
    tcase_add_test(tc, test_create_exact_counts);
    tcase_add_test(tc, test_create_max_workers);
    tcase_add_test(tc, test_destroy_waits_for_tasks);
    tcase_add_test(tc, test_create_destroy_cycles);
    tcase_add_test(tc, test_destroy_against_submitters);
    tcase_add_test(tc, test_destroy_from_task_eperm);
    tcase_add_test(tc, test_destroy_from_callback_eperm);

    tc = wt_tcase(s, "parking", WT_TIMEOUT_S);
    tcase_add_test(tc, test_idle_cpu_usage);
    tcase_add_test(tc, test_wakeup_latency);

    tc = wt_tcase(s, "set_workers", WT_TIMEOUT_S);
    tcase_add_test(tc, test_set_workers_under_load);
    tcase_add_test(tc, test_set_workers_up_starts_threads);
    tcase_add_test(tc, test_set_workers_down_retires);
    tcase_add_test(tc, test_set_workers_from_task);
    tcase_add_test(tc, test_set_workers_errors_and_zero);

    tc = wt_tcase(s, "identity", WT_TIMEOUT_S);
    tcase_add_test(tc, test_current_worker_and_runtime);
    tcase_add_test(tc, test_worker_indices_in_range);
    return s;
}

int main(void)
{
    return wt_run_suite(runtime_suite());
}
