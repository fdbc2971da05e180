/* Suite "deep_run": graphs nested 100,000 deep (issue 7.4).
 *
 * Level k (0 <= k < L-1) is a graph of two nodes, "s" (a subgraph node
 * running level k+1) -> "up"; the innermost level is "base" -> "up". base
 * stores 0; each up stores one more than the up of the level below (read
 * through the sub-run of its s, or its input at the innermost level), so
 * the top's up holds L exactly when every level ran once, in order. A
 * subgraph node holds no worker and no stack while its subgraph runs, so
 * the depth costs heap only: the run must finish within WT_DEEP_BOUND_S on
 * two workers, and cancelling it at the innermost level must reach the top.
 *
 * L is 100,000 at WEFT_TEST_SCALE 1 (the sanitizer runs scale it down).
 * Memory: every level keeps its sub-run record until the top record is
 * freed, about 33 KiB each (most of it the per-worker counters, one cache
 * line for each of WEFT_MAX_WORKERS workers), so the 100,000-deep run
 * peaks near 4 GiB. */
#include "weft_test.h"

#include "weft/graph.h"
#include "weft_graph_test.h"

#define WT_DEEP_LEVELS 100000
/* Seconds the 100,000-deep run may take, build and free not included
 * (a Release build on a 2-vCPU machine takes well under one). */
#define WT_DEEP_BOUND_S 30.0

static atomic_int wt_deep_bad;

static int wt_base(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    uint64_t zero = 0;
    return weft_node_set_result(ctx, &zero, sizeof zero);
}

/* One more than the level below: its input (innermost level) or the up
 * node of the sub-run of this level's subgraph node. */
static int wt_up(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    size_t len = 0;
    const void *in = weft_node_input(ctx, 0, &len);
    if (!in) {
        weft_run_t *sr = NULL;
        if (weft_run_subrun(weft_node_run(ctx), 0, &sr) != 0 ||
            weft_run_result(sr, 1, &in, &len) != 0) {
            atomic_fetch_add(&wt_deep_bad, 1);
            return 1;
        }
    }
    uint64_t v;
    if (!in || len != sizeof v) {
        atomic_fetch_add(&wt_deep_bad, 1);
        return 1;
    }
    memcpy(&v, in, sizeof v);
    v++;
    return weft_node_set_result(ctx, &v, sizeof v);
}

static uint64_t wt_result(const weft_run_t *run)
{
    const void *d = NULL;
    size_t len = 0;
    uint64_t v = 0;
    WT_ASSERT_RC(weft_run_result(run, 1, &d, &len), 0);
    ck_assert_uint_eq(len, sizeof v);
    memcpy(&v, d, sizeof v);
    return v;
}

/* Builds the L levels top down (so that each subgraph added is still
 * empty: the containment check stays O(1) per level). */
static weft_graph_t **wt_build(size_t L)
{
    weft_graph_t **lv = malloc(L * sizeof *lv);
    ck_assert_ptr_nonnull(lv);
    for (size_t k = 0; k < L; k++)
        lv[k] = wt_graph("level");
    for (size_t k = 0; k < L; k++) {
        int rc = k + 1 < L ? weft_graph_add_subgraph(lv[k], "s", lv[k + 1], NULL)
                           : weft_graph_add(lv[k], "base", wt_base, NULL, NULL);
        if (rc == 0)
            rc = weft_graph_add(lv[k], "up", wt_up, NULL, NULL);
        if (rc == 0)
            rc = weft_graph_precede(lv[k], 0, 1);
        if (rc != 0)
            ck_abort_msg("level %zu: %d (%s)", k, rc, weft_err_name(rc));
    }
    return lv;
}

static void wt_free_levels(weft_graph_t **lv, size_t L)
{
    for (size_t k = 0; k < L; k++) /* top first: each frees its hold on the next */
        wt_graph_free(lv[k]);
    free(lv);
}

START_TEST(test_nested_100000_deep)
{
    size_t L = (size_t)wt_scaled(WT_DEEP_LEVELS, 1000);
    weft_graph_t **lv = wt_build(L);
    weft_runtime_t *rt = wt_runtime(2);
    weft_run_t *run = NULL;
    double t0 = wt_now();
    WT_ASSERT_RC(weft_graph_run(lv[0], rt, NULL, &run), 0);
    double took = wt_now() - t0;
    fprintf(stderr, "deep_run: %zu levels in %.3f s (scale %g)\n", L, took, wt_scale());
    ck_assert_msg(took < WT_DEEP_BOUND_S, "%zu levels took %.1f s", L, took);
    ck_assert_int_eq(wt_ld(&wt_deep_bad), 0);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, 2, 2, 0, 0, 0);
    ck_assert_uint_eq(wt_result(run), L);
    /* down to the middle and to the innermost level: each sub-run ran its
     * two nodes once, and holds its own count */
    weft_run_t *r = run;
    for (size_t k = 1; k < L; k++) {
        WT_ASSERT_RC(weft_run_subrun(r, 0, &r), 0);
        if (k == L / 2 || k == L - 1) {
            c = wt_counts(r);
            WT_ASSERT_COUNTS(c, 2, 2, 0, 0, 0);
            ck_assert_uint_eq(wt_result(r), L - k);
            WT_ASSERT_RC(weft_run_wait(r), 0);
            ck_assert_ptr_eq(weft_run_graph(r), lv[k]);
        }
    }
    wt_run_free(run); /* frees the 100,000 sub-runs too, without recursion */
    /* again, with the same graphs: every level compiled already */
    WT_ASSERT_RC(weft_graph_run(lv[0], rt, NULL, &run), 0);
    ck_assert_uint_eq(wt_result(run), L);
    wt_run_free(run);
    wt_destroy(rt);
    wt_free_levels(lv, L);
}
END_TEST

/* The innermost base waits at a gate; the test cancels the top run: the
 * cancel reaches every level, and every level's up is cancelled. */
static int wt_gated_base(weft_node_ctx_t *ctx, void *arg)
{
    wt_gated(ctx, arg);
    return wt_base(ctx, arg);
}

START_TEST(test_nested_deep_cancel)
{
    size_t L = (size_t)wt_scaled(WT_DEEP_LEVELS / 10, 500);
    weft_graph_t **lv = malloc(L * sizeof *lv);
    ck_assert_ptr_nonnull(lv);
    for (size_t k = 0; k < L; k++)
        lv[k] = wt_graph("level");
    for (size_t k = 0; k < L; k++) {
        if (k + 1 < L)
            WT_ASSERT_RC(weft_graph_add_subgraph(lv[k], "s", lv[k + 1], NULL), 0);
        else
            WT_ASSERT_RC(weft_graph_add(lv[k], "base", wt_gated_base, NULL, NULL), 0);
        WT_ASSERT_RC(weft_graph_add(lv[k], "up", wt_up, NULL, NULL), 0);
        WT_ASSERT_RC(weft_graph_precede(lv[k], 0, 1), 0);
    }
    weft_runtime_t *rt = wt_runtime(2);
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run_async(lv[0], rt, NULL, &run), 0);
    ck_assert_int_eq(wt_gate_wait(&wt_entered, 60.0), 0);
    WT_ASSERT_RC(weft_run_cancel(run), 0);
    wt_gate_open(&wt_gate);
    WT_ASSERT_RC(weft_run_wait(run), WEFT_ECANCELED);
    ck_assert_int_eq(wt_ld(&wt_gate_timeouts), 0);
    weft_run_t *r = run;
    uint64_t bad = 0;
    for (size_t k = 0; k < L; k++) {
        if (k)
            WT_ASSERT_RC(weft_run_subrun(r, 0, &r), 0);
        weft_run_counts_t c = wt_counts(r);
        /* innermost: base ran, up cancelled; above: both cancelled */
        bad += c.total != 2 || c.failed || c.skipped ||
               c.done != (k + 1 == L ? 1u : 0u) || c.cancelled != (k + 1 == L ? 1u : 2u) ||
               weft_run_wait(r) != WEFT_ECANCELED;
    }
    ck_assert_uint_eq(bad, 0);
    wt_run_free(run);
    wt_destroy(rt);
    wt_free_levels(lv, L);
}
END_TEST

static Suite *deep_suite(void)
{
    Suite *s = suite_create("deep_run");
    TCase *tc = wt_tcase(s, "deep", WT_TIMEOUT_S);
    tcase_add_test(tc, test_nested_100000_deep);
    tcase_add_test(tc, test_nested_deep_cancel);
    return s;
}

int main(void)
{
    return wt_run_suite(deep_suite());
}
