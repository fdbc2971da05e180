/* weft_graph_test.h: helpers shared by the graph suites (test_graph.c,
 * test_graph_files.c), on top of weft_test.h (header only). */
#ifndef WEFT_GRAPH_TEST_H
#define WEFT_GRAPH_TEST_H

#include "weft_test.h"

#include "weft/graph.h"

static atomic_int wt_bad; /* anomalies seen inside nodes */

/* Creates a graph, failing the test on error. */
static inline weft_graph_t *wt_graph(const char *name)
{
    weft_graph_t *g = NULL;
    int rc = weft_graph_create(name, &g);
    ck_assert_msg(rc == 0, "weft_graph_create = %d (%s)", rc, weft_err_name(rc));
    ck_assert_ptr_nonnull(g);
    return g;
}

static inline void wt_graph_free(weft_graph_t *g)
{
    WT_ASSERT_RC(weft_graph_free(g), 0);
}

static inline void wt_run_free(weft_run_t *run)
{
    WT_ASSERT_RC(weft_run_free(run), 0);
}

/* A run's counts, failing the test on error. */
static inline weft_run_counts_t wt_counts(const weft_run_t *run)
{
    weft_run_counts_t c;
    WT_ASSERT_RC(weft_run_counts(run, &c), 0);
    return c;
}

/* A node held at a gate keeps a run in flight: it opens wt_entered, then
 * waits until the test opens wt_gate (counting a wait that timed out in
 * wt_gate_timeouts, which the test asserts is 0). */
static atomic_int wt_gate;
static atomic_int wt_entered;
static atomic_int wt_gate_timeouts;

static inline int wt_gated(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    wt_gate_open(&wt_entered);
    if (wt_gate_wait(&wt_gate, 30.0) != 0)
        atomic_fetch_add(&wt_gate_timeouts, 1);
    return 0;
}

#endif
