/* weft_graph_test.h: the graph suites' harness (test_graph.c, test_races.c,
 * test_deep_run.c, test_graph_files.c), on top of weft_test.h (header only):
 * recording nodes (what ran, when, how often), edge lists kept by the test
 * and order checks, random DAGs, count assertions, gated nodes. */
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

/* ------------------------------------------------------------------ */
/* Recording nodes                                                     */

/* What the nodes of one graph did: calls, and the global sequence numbers
 * taken when each node started and when it finished (0: never). */
typedef struct wt_rec {
    size_t n;
    atomic_int *calls;
    atomic_uint *start, *end;
    int *fail;               /* return value per node, set before a run */
    atomic_int *saw_cancel;  /* weft_node_cancelled() at the node's end */
} wt_rec;

static atomic_uint wt_seq; /* 1, 2, 3... across all graphs of a test */

static inline void wt_rec_init(wt_rec *r, size_t n)
{
    size_t nn = n ? n : 1;
    r->n = n;
    r->calls = calloc(nn, sizeof *r->calls);
    r->start = calloc(nn, sizeof *r->start);
    r->end = calloc(nn, sizeof *r->end);
    r->fail = calloc(nn, sizeof *r->fail);
    r->saw_cancel = calloc(nn, sizeof *r->saw_cancel);
    ck_assert(r->calls && r->start && r->end && r->fail && r->saw_cancel);
}

/* Forgets what the last run did (fail codes stay). */
static inline void wt_rec_reset(wt_rec *r)
{
    for (size_t i = 0; i < r->n; i++) {
        atomic_store(&r->calls[i], 0);
        atomic_store(&r->start[i], 0);
        atomic_store(&r->end[i], 0);
        atomic_store(&r->saw_cancel[i], 0);
    }
}

static inline void wt_rec_free(wt_rec *r)
{
    free(r->calls);
    free(r->start);
    free(r->end);
    free(r->fail);
    free(r->saw_cancel);
    memset(r, 0, sizeof *r);
}

static inline unsigned wt_tick(void)
{
    return atomic_fetch_add(&wt_seq, 1) + 1;
}

/* The recording node: arg is its graph's wt_rec, indexed by node id. */
static inline int wt_rec_node(weft_node_ctx_t *ctx, void *arg)
{
    wt_rec *r = arg;
    weft_node_t v = weft_node_id(ctx);
    if (v >= r->n) {
        atomic_fetch_add(&wt_bad, 1);
        return 0;
    }
    atomic_fetch_add(&r->calls[v], 1);
    atomic_store(&r->start[v], wt_tick());
    atomic_store(&r->saw_cancel[v], weft_node_cancelled(ctx));
    atomic_store(&r->end[v], wt_tick());
    return r->fail[v];
}

/* Adds n recording nodes (names NULL: "n<id>"); asserts ids follow on. */
static inline void wt_add_rec_nodes(weft_graph_t *g, wt_rec *r, size_t n)
{
    size_t first = weft_graph_node_count(g);
    for (size_t i = 0; i < n; i++) {
        weft_node_t v = WEFT_NODE_NONE;
        int rc = weft_graph_add(g, NULL, wt_rec_node, r, &v);
        if (rc != 0 || v != first + i)
            ck_abort_msg("weft_graph_add #%zu: rc %d (%s), id %u, expected %zu", i, rc,
                         weft_err_name(rc), v, first + i);
    }
}

/* An edge list kept by the test, to check orders and walk cycles. */
typedef struct wt_edges {
    size_t m, cap;
    uint32_t *src, *dst;
} wt_edges;

static inline void wt_edges_free(wt_edges *e)
{
    free(e->src);
    free(e->dst);
    memset(e, 0, sizeof *e);
}

/* Adds a -> b to g (by precede, or by succeed when `succeed`) and to e. */
static inline void wt_edge_how(weft_graph_t *g, wt_edges *e, uint32_t a, uint32_t b, int succeed)
{
    int rc = succeed ? weft_graph_succeed(g, b, a) : weft_graph_precede(g, a, b);
    if (rc != 0)
        ck_abort_msg("edge %u -> %u: rc %d (%s)", a, b, rc, weft_err_name(rc));
    if (e == NULL)
        return;
    if (e->m == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 64;
        e->src = realloc(e->src, e->cap * sizeof *e->src);
        e->dst = realloc(e->dst, e->cap * sizeof *e->dst);
        ck_assert(e->src && e->dst);
    }
    e->src[e->m] = a;
    e->dst[e->m] = b;
    e->m++;
}

static inline void wt_edge(weft_graph_t *g, wt_edges *e, uint32_t a, uint32_t b)
{
    wt_edge_how(g, e, a, b, 0);
}

/* Every node ran exactly once, every edge's source finished before its
 * target started. */
static inline void wt_assert_ran_once_in_order(const wt_rec *r, const wt_edges *e)
{
    size_t bad_calls = 0, bad_order = 0, first_node = 0, first_edge = 0;
    for (size_t v = 0; v < r->n; v++)
        if (atomic_load(&r->calls[v]) != 1 && bad_calls++ == 0)
            first_node = v;
    for (size_t i = 0; i < e->m; i++) {
        unsigned a_end = atomic_load(&r->end[e->src[i]]);
        unsigned b_start = atomic_load(&r->start[e->dst[i]]);
        if ((a_end == 0 || b_start == 0 || a_end >= b_start) && bad_order++ == 0)
            first_edge = i;
    }
    ck_assert_msg(bad_calls == 0, "%zu nodes did not run exactly once; first: node %zu ran %d times",
                  bad_calls, first_node, bad_calls ? atomic_load(&r->calls[first_node]) : 0);
    ck_assert_msg(bad_order == 0,
                  "%zu edges ran out of order; first: %u -> %u (source ended at %u, target started at %u)",
                  bad_order, bad_order ? e->src[first_edge] : 0, bad_order ? e->dst[first_edge] : 0,
                  bad_order ? atomic_load(&r->end[e->src[first_edge]]) : 0,
                  bad_order ? atomic_load(&r->start[e->dst[first_edge]]) : 0);
}

/* Frees a graph of recording nodes with its record and its edge list. */
static inline void wt_rec_graph_free(weft_graph_t *g, wt_rec *r, wt_edges *e)
{
    wt_edges_free(e);
    wt_rec_free(r);
    wt_graph_free(g);
}

static inline int wt_total_calls(const wt_rec *r)
{
    int t = 0;
    for (size_t v = 0; v < r->n; v++)
        t += atomic_load(&r->calls[v]);
    return t;
}

#define WT_ASSERT_COUNTS(c, tot, dn, fl, sk, cn)                                              \
    do {                                                                                      \
        ck_assert_uint_eq((c).total, (tot));                                                  \
        ck_assert_uint_eq((c).done, (dn));                                                    \
        ck_assert_uint_eq((c).failed, (fl));                                                  \
        ck_assert_uint_eq((c).skipped, (sk));                                                 \
        ck_assert_uint_eq((c).cancelled, (cn));                                               \
    } while (0)

/* A small deterministic PRNG (splitmix64 steps). */
static uint64_t wt_rng_state;
static inline uint64_t wt_rand(void)
{
    wt_rng_state += 0x9e3779b97f4a7c15ull;
    return wt_mix64(wt_rng_state);
}
static inline uint32_t wt_below(uint32_t n)
{
    return (uint32_t)(wt_rand() % n);
}

/* A random DAG of n recording nodes: a random topological rank per node (so
 * ids are not in topological order) and each node gets up to maxin edges
 * from nodes of lower rank, some of them duplicated, some added by succeed. */
static inline void wt_random_dag(weft_graph_t *g, wt_rec *r, wt_edges *e, size_t n, unsigned maxin,
                          uint32_t **rank_out)
{
    uint32_t *perm = malloc(n * sizeof *perm); /* perm[k]: the node of rank k */
    uint32_t *rank = malloc(n * sizeof *rank);
    ck_assert(perm && rank);
    wt_add_rec_nodes(g, r, n);
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    for (uint32_t i = (uint32_t)n - 1; i > 0; i--) {
        uint32_t j = wt_below(i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (uint32_t k = 0; k < n; k++)
        rank[perm[k]] = k;
    for (uint32_t k = 1; k < n; k++) {
        unsigned in = wt_below(maxin + 1);
        for (unsigned i = 0; i < in; i++) {
            uint32_t lo = k > 64 && wt_below(4) ? k - 64 : 0; /* mostly local: long chains */
            uint32_t a = perm[lo + wt_below(k - lo)], b = perm[k];
            wt_edge_how(g, e, a, b, (int)wt_below(2));
            if (wt_below(50) == 0)
                wt_edge(g, e, a, b); /* a duplicate: harmless */
        }
    }
    free(perm);
    if (rank_out)
        *rank_out = rank;
    else
        free(rank);
}

/* A node that does nothing. */
static inline int wt_noop(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}

#endif
