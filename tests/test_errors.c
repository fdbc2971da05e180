/* Suite "errors": error codes, their names and messages, and the contract
 * that every public function given a NULL handle returns WEFT_EINVAL
 * instead of crashing (and submits nothing). */
#include "weft_test.h"

#include <limits.h>

/* ------------------------------------------------------------------ */
/* Codes, names, messages                                              */

struct wt_err_entry {
    int code;
    const char *name;
    const char *msg;
};

static const struct wt_err_entry wt_errs[] = {
#define WT_ERR_ENTRY_(name, val, msg) {WEFT_##name, "WEFT_" #name, msg},
    WEFT_ERRNO_MAP(WT_ERR_ENTRY_)
#undef WT_ERR_ENTRY_
};
#define WT_NERRS (sizeof wt_errs / sizeof wt_errs[0])

START_TEST(test_strerror_every_code)
{
    ck_assert_uint_ge(WT_NERRS, 15);
    for (size_t i = 0; i < WT_NERRS; i++) {
        const char *m = weft_strerror(wt_errs[i].code);
        ck_assert_ptr_nonnull(m);
        ck_assert_str_eq(m, wt_errs[i].msg);
    }
}
END_TEST

START_TEST(test_err_name_every_code)
{
    for (size_t i = 0; i < WT_NERRS; i++) {
        const char *n = weft_err_name(wt_errs[i].code);
        ck_assert_ptr_nonnull(n);
        ck_assert_str_eq(n, wt_errs[i].name);
    }
}
END_TEST

START_TEST(test_codes_negative_and_distinct)
{
    for (size_t i = 0; i < WT_NERRS; i++) {
        ck_assert_int_lt(wt_errs[i].code, 0);
        for (size_t j = i + 1; j < WT_NERRS; j++)
            ck_assert_int_ne(wt_errs[i].code, wt_errs[j].code);
    }
    ck_assert_int_eq(WEFT_OK, 0);
    ck_assert_int_eq(WEFT_EINVAL, -1);
    ck_assert_int_eq(WEFT_ENOTSUP, -15);
}
END_TEST

START_TEST(test_success_code)
{
    ck_assert_str_eq(weft_strerror(0), "success");
    ck_assert_str_eq(weft_err_name(0), "WEFT_OK");
}
END_TEST

START_TEST(test_unknown_codes)
{
    /* Codes weft does not define, such as a task's own status. */
    int lowest = 0;
    int unknown[] = {1, 42, 0 /* one below the lowest code */, -1000, INT_MIN, INT_MAX};
    for (size_t i = 0; i < WT_NERRS; i++)
        if (wt_errs[i].code < lowest)
            lowest = wt_errs[i].code;
    unknown[2] = lowest - 1;
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *m = weft_strerror(unknown[i]);
        const char *n = weft_err_name(unknown[i]);
        ck_assert_ptr_nonnull(m);
        ck_assert_ptr_nonnull(n);
        ck_assert_str_eq(m, "unknown error");
        ck_assert_str_eq(n, "WEFT_UNKNOWN");
    }
}
END_TEST

START_TEST(test_version)
{
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR,
             WEFT_VERSION_PATCH);
    ck_assert_ptr_nonnull(weft_version());
    ck_assert_str_eq(weft_version(), expect);
}
END_TEST

/* ------------------------------------------------------------------ */
/* NULL arguments                                                      */

static atomic_int wt_ran;

static int wt_count_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_fetch_add_explicit(&wt_ran, 1, memory_order_relaxed);
    return 0;
}

static int wt_range_noop(void *ctx, int64_t b, int64_t e)
{
    (void)ctx;
    (void)b;
    (void)e;
    atomic_fetch_add_explicit(&wt_ran, 1, memory_order_relaxed);
    return 0;
}

static int wt_map_noop(void *ctx, const void *in, void *out)
{
    (void)ctx;
    (void)in;
    (void)out;
    return 0;
}

static void wt_combine_noop(void *ctx, void *acc, const void *value)
{
    (void)ctx;
    (void)acc;
    (void)value;
}

START_TEST(test_null_runtime_functions)
{
    weft_runtime_t *rt = NULL;
    WT_ASSERT_RC(weft_runtime_create(1, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_runtime_create(0, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_runtime_destroy(NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_runtime_set_workers(NULL, 2), WEFT_EINVAL);
    WT_ASSERT_RC(weft_runtime_workers(NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_runtime_wait(NULL), WEFT_EINVAL);
    (void)rt;
}
END_TEST

START_TEST(test_null_job_functions)
{
    int status = 12345;
    void *result = &status;
    weft_job_t *job = (weft_job_t *)&status; /* must be reset to NULL */

    WT_ASSERT_RC(weft_submit(NULL, wt_count_task, NULL, NULL, &job), WEFT_EINVAL);
    ck_assert_ptr_null(job);
    WT_ASSERT_RC(weft_submit(NULL, wt_count_task, NULL, NULL, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_job_wait(NULL, &status, &result), WEFT_EINVAL);
    WT_ASSERT_RC(weft_job_wait(NULL, NULL, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_job_wait_timeout(NULL, 1.0, &status, &result), WEFT_EINVAL);
    WT_ASSERT_RC(weft_job_done(NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_job_status(NULL, &status, &result), WEFT_EINVAL);
    WT_ASSERT_RC(weft_job_free(NULL), WEFT_EINVAL);
}
END_TEST

START_TEST(test_submit_null_fn)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_group_t *g = NULL;
    uint64_t failed = 99;
    int first = 99;
    int dummy;
    weft_job_t *job = (weft_job_t *)&dummy; /* must be reset to NULL */
    weft_submit_opts_t opts = {0};

    ck_assert_int_eq(weft_group_create(rt, "g", &g), 0);
    opts.group = g;
    WT_ASSERT_RC(weft_submit(rt, NULL, NULL, &opts, &job), WEFT_EINVAL);
    ck_assert_ptr_null(job);
    WT_ASSERT_RC(weft_submit(rt, NULL, NULL, NULL, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_spawn(g, NULL, NULL), WEFT_EINVAL);
    /* Nothing was submitted. */
    ck_assert_int_eq(weft_group_pending(g), 0);
    ck_assert_int_eq(weft_group_failures(g, &failed, &first), 0);
    ck_assert_uint_eq(failed, 0);
    ck_assert_int_eq(first, 0);
    ck_assert_int_eq(weft_group_wait(g), 0);
    ck_assert_int_eq(weft_group_free(g), 0);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&wt_ran), 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_spawn_null_group)
{
    WT_ASSERT_RC(weft_spawn(NULL, wt_count_task, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_spawn(NULL, NULL, NULL), WEFT_EINVAL);
    ck_assert_int_eq(wt_ld(&wt_ran), 0);
}
END_TEST

START_TEST(test_null_group_functions)
{
    weft_runtime_t *rt = wt_runtime(1);
    weft_group_t *g = NULL;
    uint64_t f = 0;
    int first = 0;

    WT_ASSERT_RC(weft_group_create(NULL, "x", &g), WEFT_EINVAL);
    WT_ASSERT_RC(weft_group_create(rt, "x", NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_group_named(NULL, "x", &g), WEFT_EINVAL);
    WT_ASSERT_RC(weft_group_named(rt, NULL, &g), WEFT_EINVAL);
    WT_ASSERT_RC(weft_group_named(rt, "", &g), WEFT_EINVAL);
    WT_ASSERT_RC(weft_group_named(rt, "x", NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_group_wait(NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_group_failures(NULL, &f, &first), WEFT_EINVAL);
    WT_ASSERT_RC(weft_group_failures(NULL, NULL, NULL), WEFT_EINVAL);
    ck_assert_int_eq(weft_group_pending(NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_group_reset(NULL), WEFT_EINVAL);
    ck_assert_ptr_null(weft_group_name(NULL));
    WT_ASSERT_RC(weft_group_free(NULL), WEFT_EINVAL);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_null_parallel_functions)
{
    weft_runtime_t *rt = wt_runtime(2);
    int64_t in[4] = {1, 2, 3, 4}, out[4] = {0};
    int64_t id = 0, r64 = 0;
    double d[4] = {1, 2, 3, 4}, rd = 0;

    WT_ASSERT_RC(weft_parallel_for(NULL, 0, 10, 1, wt_range_noop, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_parallel_for(rt, 0, 10, 1, NULL, NULL), WEFT_EINVAL);

    WT_ASSERT_RC(weft_map(NULL, in, sizeof in[0], out, sizeof out[0], 4, 1, wt_map_noop, NULL),
                 WEFT_EINVAL);
    WT_ASSERT_RC(weft_map(rt, in, sizeof in[0], out, sizeof out[0], 4, 1, NULL, NULL),
                 WEFT_EINVAL);
    WT_ASSERT_RC(weft_map(rt, NULL, sizeof in[0], out, sizeof out[0], 4, 1, wt_map_noop, NULL),
                 WEFT_EINVAL);
    WT_ASSERT_RC(weft_map(rt, in, sizeof in[0], NULL, sizeof out[0], 4, 1, wt_map_noop, NULL),
                 WEFT_EINVAL);

    WT_ASSERT_RC(weft_reduce(NULL, in, 4, sizeof in[0], 1, &id, wt_combine_noop, NULL, &r64),
                 WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce(rt, NULL, 4, sizeof in[0], 1, &id, wt_combine_noop, NULL, &r64),
                 WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce(rt, in, 4, sizeof in[0], 1, NULL, wt_combine_noop, NULL, &r64),
                 WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce(rt, in, 4, sizeof in[0], 1, &id, NULL, NULL, &r64), WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce(rt, in, 4, sizeof in[0], 1, &id, wt_combine_noop, NULL, NULL),
                 WEFT_EINVAL);

    WT_ASSERT_RC(weft_reduce_double(NULL, d, 4, WEFT_OP_SUM, &rd), WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce_double(rt, NULL, 4, WEFT_OP_SUM, &rd), WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce_double(rt, d, 4, WEFT_OP_SUM, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce_int64(NULL, in, 4, WEFT_OP_MAX, &r64), WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce_int64(rt, NULL, 4, WEFT_OP_MAX, &r64), WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce_int64(rt, in, 4, WEFT_OP_MAX, NULL), WEFT_EINVAL);

    /* None of the failed calls ran anything, and outputs are untouched. */
    ck_assert_int_eq(wt_ld(&wt_ran), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(out[i], 0);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_null_stats_functions)
{
    weft_runtime_t *rt = wt_runtime(1);
    weft_stats_t st;
    memset(&st, 0, sizeof st);
    WT_ASSERT_RC(weft_stats_get(NULL, &st), WEFT_EINVAL);
    WT_ASSERT_RC(weft_stats_get(rt, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_stats_reset(NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_stats_print(NULL, stderr), WEFT_EINVAL);
    weft_stats_release(NULL); /* documented as allowed */
    wt_destroy(rt);
}
END_TEST

static Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = wt_tcase(s, "codes", WT_TIMEOUT_S);
    tcase_add_test(tc, test_strerror_every_code);
    tcase_add_test(tc, test_err_name_every_code);
    tcase_add_test(tc, test_codes_negative_and_distinct);
    tcase_add_test(tc, test_success_code);
    tcase_add_test(tc, test_unknown_codes);
    tcase_add_test(tc, test_version);

    tc = wt_tcase(s, "null_args", WT_TIMEOUT_S);
    tcase_add_test(tc, test_null_runtime_functions);
    tcase_add_test(tc, test_null_job_functions);
    tcase_add_test(tc, test_submit_null_fn);
    tcase_add_test(tc, test_spawn_null_group);
    tcase_add_test(tc, test_null_group_functions);
    tcase_add_test(tc, test_null_parallel_functions);
    tcase_add_test(tc, test_null_stats_functions);
    return s;
}

int main(void)
{
    return wt_run_suite(errors_suite());
}
