/* weft_test.h: helpers shared by weft's Check suites (header only).
 *
 * Conventions of the suites:
 * - Check runs in fork mode: every test is its own process, so a runtime is
 *   created and destroyed inside each test, never in an unchecked fixture.
 *   The tests rely on it: their static counters start at zero in each
 *   test's fresh process. Under CK_FORK=no only the first test run by a
 *   process is meaningful (CK_RUN_CASE narrows the run to one test case).
 * - Check's assertions are made on the test's main thread only. Tasks and
 *   helper threads record what they saw (atomic counters, flags, error
 *   counts) and the main thread asserts on it afterwards.
 * - Tests that need a task to stay incomplete make it wait on a gate (an
 *   atomic flag the main thread opens); such runtimes have >= 2 workers. */
#ifndef WEFT_TEST_H
#define WEFT_TEST_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <check.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weft/runtime.h"

/* Per-test-case timeouts in seconds: generous, since sanitizer builds run
 * 5-20x slower than a release build (the normal cases take well under a
 * second each). Check multiplies them by CK_TIMEOUT_MULTIPLIER. */
#define WT_TIMEOUT_S 120.0
#define WT_STRESS_TIMEOUT_S 600.0

/* WEFT_TEST_SCALE from the environment: a positive factor on stress counts,
 * 1.0 when unset or malformed. */
static inline double wt_scale(void)
{
    const char *s = getenv("WEFT_TEST_SCALE");
    char *end = NULL;
    double v;
    if (s == NULL || *s == '\0')
        return 1.0;
    v = strtod(s, &end);
    if (end == s || !(v > 0.0) || v > 1000.0)
        return 1.0;
    return v;
}

/* n scaled by WEFT_TEST_SCALE, at least min. */
static inline uint64_t wt_scaled(uint64_t n, uint64_t min)
{
    double v = (double)n * wt_scale();
    uint64_t r = v < 1.0 ? 0 : (uint64_t)v;
    return r < min ? min : r;
}

/* Monotonic wall clock in seconds. */
static inline double wt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time consumed by the whole process (every thread), in seconds. */
static inline double wt_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void wt_sleep_s(double s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0) {
        /* interrupted: sleep the rest */
    }
}

/* Busy work that the compiler cannot remove; about n ns-scale steps. */
static inline uint64_t wt_spin_work(uint64_t n)
{
    volatile uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++)
        acc += i ^ (acc >> 3);
    return acc;
}

/* splitmix64's finaliser: a good 64-bit hash, used to derive deterministic
 * pseudo-random choices from node ids. */
static inline uint64_t wt_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Waits (sleeping in short steps) until *flag is nonzero; acquire pairs with
 * the release in wt_gate_open. Returns 0, or -1 after timeout_s seconds so
 * that a broken runtime fails a test instead of hanging it. */
static inline int wt_gate_wait(atomic_int *flag, double timeout_s)
{
    double deadline = wt_now() + timeout_s;
    while (!atomic_load_explicit(flag, memory_order_acquire)) {
        if (wt_now() > deadline)
            return -1;
        wt_sleep_s(50e-6);
    }
    return 0;
}

static inline void wt_gate_open(atomic_int *flag)
{
    atomic_store_explicit(flag, 1, memory_order_release);
}

/* Loads for use inside Check assertions: functions, not macros, so that a
 * failing assertion prints `wt_ld(&counter) == 5` rather than the expansion
 * of atomic_load. Sequentially consistent. */
static inline int wt_ld(atomic_int *p) { return atomic_load(p); }
static inline long wt_ldl(atomic_long *p) { return atomic_load(p); }
static inline unsigned wt_ldu(atomic_uint *p) { return atomic_load(p); }
static inline unsigned wt_ldc(atomic_uchar *p) { return atomic_load(p); }
static inline unsigned long long wt_ldull(atomic_ullong *p) { return atomic_load(p); }

/* Adds a test case with a timeout to s. */
static inline TCase *wt_tcase(Suite *s, const char *name, double timeout_s)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, timeout_s);
    suite_add_tcase(s, tc);
    return tc;
}

/* Runs a suite in Check's default (fork) mode with the verbosity from
 * CK_VERBOSITY (normal by default); the exit status for main. */
static inline int wt_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Creates a runtime, failing the test on error. */
static inline weft_runtime_t *wt_runtime(int nworkers)
{
    weft_runtime_t *rt = NULL;
    int rc = weft_runtime_create(nworkers, &rt);
    ck_assert_msg(rc == 0, "weft_runtime_create(%d) = %d (%s)", nworkers, rc,
                  weft_err_name(rc));
    ck_assert_ptr_nonnull(rt);
    return rt;
}

static inline void wt_destroy(weft_runtime_t *rt)
{
    int rc = weft_runtime_destroy(rt);
    ck_assert_msg(rc == 0, "weft_runtime_destroy = %d (%s)", rc, weft_err_name(rc));
}

/* Submits fn(arg) as one job of rt, waits for it and frees it, asserting
 * that each call succeeds and that the task returned status 0; returns the
 * task's result. */
static inline void *wt_job_run(weft_runtime_t *rt, weft_task_fn fn, void *arg)
{
    weft_job_t *job = NULL;
    int status = -1;
    void *result = NULL;
    ck_assert_int_eq(weft_submit(rt, fn, arg, NULL, &job), 0);
    ck_assert_int_eq(weft_job_wait(job, &status, &result), 0);
    ck_assert_int_eq(status, 0);
    ck_assert_int_eq(weft_job_free(job), 0);
    return result;
}

/* Asserts that a call returned the expected weft code, naming both. */
#define WT_ASSERT_RC(call, expected)                                          \
    do {                                                                      \
        int wt_rc_ = (call);                                                  \
        int wt_ex_ = (expected);                                              \
        ck_assert_msg(wt_rc_ == wt_ex_, "%s returned %d (%s), expected %d (%s)", \
                      #call, wt_rc_, weft_err_name(wt_rc_), wt_ex_,           \
                      weft_err_name(wt_ex_));                                 \
    } while (0)

#endif
