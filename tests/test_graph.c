/* Suite "graph": building task graphs and the semantics of running them.
 *
 * - building: node ids, names (automatic, copied, too long), lookup, counts,
 *   precede and succeed as one edge, bad ids and NULL arguments;
 * - cycles (a self edge, two nodes, a long cycle inside a bigger DAG) are
 *   found before anything runs, and the node reported lies on the cycle;
 * - runs: every node exactly once in a valid topological order (diamond,
 *   random DAGs), results and inputs in edge order, reruns with per-run
 *   counters, stale run records, changes refused while a run is in flight;
 * - failure: exactly the descendants of a failed node are skipped;
 * - cancellation: nodes not started are cancelled, deterministically;
 * - dynamic work inside nodes: fire-and-forget tasks, recursive spawns,
 *   parallel_for, nested runs, subgraph nodes;
 * - scale: a million-node chain and fan-out/fan-in (WEFT_TEST_SCALE);
 * - progress reports, the progress bar, run statistics and node times.
 *
 * Nodes record what they saw (atomic counters, sequence numbers, anomaly
 * counts); the main thread asserts afterwards. Loops over many nodes count
 * violations and assert once (Check's assertions cost a write each). */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname */
#include "weft_test.h"

#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weft/graph.h"
#include "weft_graph_test.h"

/* The harness (recording nodes, edge lists, random DAGs, WT_ASSERT_COUNTS)
 * is in weft_graph_test.h, shared with the other graph suites. */

/* ------------------------------------------------------------------ */
/* Building                                                            */

START_TEST(test_create_and_auto_names)
{
    weft_graph_t *g = wt_graph("pipeline"), *h = wt_graph(NULL);
    ck_assert_str_eq(weft_graph_name(g), "pipeline");
    ck_assert_str_eq(weft_graph_name(h), "graph");
    ck_assert_uint_eq(weft_graph_node_count(g), 0);
    ck_assert_uint_eq(weft_graph_edge_count(g), 0);
    for (weft_node_t i = 0; i < 12; i++) {
        weft_node_t v = 99;
        WT_ASSERT_RC(weft_graph_add(g, NULL, wt_noop, NULL, &v), 0);
        ck_assert_uint_eq(v, i);
    }
    ck_assert_uint_eq(weft_graph_node_count(g), 12);
    ck_assert_str_eq(weft_graph_node_name(g, 0), "n0");
    ck_assert_str_eq(weft_graph_node_name(g, 7), "n7");
    ck_assert_str_eq(weft_graph_node_name(g, 10), "n10");
    ck_assert_str_eq(weft_graph_node_name(g, 11), "n11");
    ck_assert_ptr_null(weft_graph_node_name(g, 12));
    ck_assert_ptr_null(weft_graph_node_name(g, WEFT_NODE_NONE));
    ck_assert_ptr_null(weft_graph_node_task(g, 3)); /* a function node */
    /* A named node mixes in: ids keep counting, names stay "n<id>". */
    weft_node_t v = 0;
    WT_ASSERT_RC(weft_graph_add(g, "load", wt_noop, NULL, &v), 0);
    ck_assert_uint_eq(v, 12);
    WT_ASSERT_RC(weft_graph_add(g, NULL, wt_noop, NULL, &v), 0);
    ck_assert_uint_eq(v, 13);
    ck_assert_str_eq(weft_graph_node_name(g, 12), "load");
    ck_assert_str_eq(weft_graph_node_name(g, 13), "n13");
    /* Graphs are independent: h's first node is 0. */
    WT_ASSERT_RC(weft_graph_add(h, NULL, wt_noop, NULL, &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_uint_eq(weft_graph_node_count(g), 14);
    ck_assert_uint_eq(weft_graph_node_count(h), 1);
    wt_graph_free(g);
    wt_graph_free(h);
}
END_TEST

START_TEST(test_names_are_copied)
{
    char gname[32], nname[32];
    strcpy(gname, "etl");
    weft_graph_t *g = wt_graph(gname);
    memset(gname, 'x', sizeof gname - 1);
    gname[sizeof gname - 1] = 0;
    strcpy(nname, "extract");
    weft_node_t v = 99;
    WT_ASSERT_RC(weft_graph_add(g, nname, wt_noop, NULL, &v), 0);
    ck_assert_uint_eq(v, 0);
    strcpy(nname, "transform");
    WT_ASSERT_RC(weft_graph_add(g, nname, wt_noop, NULL, &v), 0);
    ck_assert_uint_eq(v, 1);
    memset(nname, 'y', sizeof nname - 1);
    nname[sizeof nname - 1] = 0;
    ck_assert_str_eq(weft_graph_name(g), "etl");
    ck_assert_str_eq(weft_graph_node_name(g, 0), "extract");
    ck_assert_str_eq(weft_graph_node_name(g, 1), "transform");
    /* Names need not be unique, and may hold any bytes but NUL. */
    WT_ASSERT_RC(weft_graph_add(g, "extract", wt_noop, NULL, &v), 0);
    ck_assert_uint_eq(v, 2);
    WT_ASSERT_RC(weft_graph_add(g, "a name with spaces \"and quotes\"", wt_noop, NULL, &v), 0);
    ck_assert_str_eq(weft_graph_node_name(g, 3), "a name with spaces \"and quotes\"");
    WT_ASSERT_RC(weft_graph_add(g, "", wt_noop, NULL, &v), 0);
    ck_assert_str_eq(weft_graph_node_name(g, 4), "");
    wt_graph_free(g);
}
END_TEST

START_TEST(test_name_length_limits)
{
    char *name = malloc(WEFT_NAME_MAX + 2);
    weft_graph_t *g = NULL;
    weft_node_t v = 0;
    ck_assert_ptr_nonnull(name);
    memset(name, 'a', WEFT_NAME_MAX + 1);
    name[WEFT_NAME_MAX + 1] = 0; /* one byte too long */
    WT_ASSERT_RC(weft_graph_create(name, &g), WEFT_ERANGE);
    ck_assert_ptr_null(g);
    name[WEFT_NAME_MAX] = 0; /* exactly the longest */
    WT_ASSERT_RC(weft_graph_create(name, &g), 0);
    ck_assert_uint_eq(strlen(weft_graph_name(g)), WEFT_NAME_MAX);

    WT_ASSERT_RC(weft_graph_add(g, name, wt_noop, NULL, &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_uint_eq(strlen(weft_graph_node_name(g, 0)), WEFT_NAME_MAX);
    ck_assert_str_eq(weft_graph_node_name(g, 0), name);
    name[WEFT_NAME_MAX] = 'a';
    WT_ASSERT_RC(weft_graph_add(g, name, wt_noop, NULL, &v), WEFT_ERANGE);
    WT_ASSERT_RC(weft_graph_add_task(g, name, "t", NULL, 0, &v), WEFT_ERANGE);
    WT_ASSERT_RC(weft_graph_add_task(g, "ok", name, NULL, 0, &v), WEFT_ERANGE);
    ck_assert_uint_eq(weft_graph_node_count(g), 1); /* refused adds left nothing */
    /* The next node takes the next id: no gap. */
    WT_ASSERT_RC(weft_graph_add(g, NULL, wt_noop, NULL, &v), 0);
    ck_assert_uint_eq(v, 1);
    ck_assert_str_eq(weft_graph_node_name(g, 1), "n1");
    wt_graph_free(g);
    free(name);
}
END_TEST

START_TEST(test_find)
{
    weft_graph_t *g = wt_graph("f");
    weft_node_t v = 0;
    WT_ASSERT_RC(weft_graph_find(g, "a", &v), WEFT_ENOENT);
    ck_assert_uint_eq(v, WEFT_NODE_NONE);
    WT_ASSERT_RC(weft_graph_add(g, "a", wt_noop, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, NULL, wt_noop, NULL, NULL), 0); /* n1 */
    WT_ASSERT_RC(weft_graph_add(g, "b", wt_noop, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "a", wt_noop, NULL, NULL), 0); /* a duplicate name */
    WT_ASSERT_RC(weft_graph_find(g, "a", &v), 0);
    ck_assert_uint_eq(v, 0); /* the first one */
    WT_ASSERT_RC(weft_graph_find(g, "b", &v), 0);
    ck_assert_uint_eq(v, 2);
    WT_ASSERT_RC(weft_graph_find(g, "n1", &v), 0);
    ck_assert_uint_eq(v, 1);
    WT_ASSERT_RC(weft_graph_find(g, "n3", &v), WEFT_ENOENT); /* node 3 is called "a" */
    WT_ASSERT_RC(weft_graph_find(g, "c", &v), WEFT_ENOENT);
    WT_ASSERT_RC(weft_graph_find(g, "", &v), WEFT_ENOENT);
    WT_ASSERT_RC(weft_graph_find(g, "A", &v), WEFT_ENOENT);
    WT_ASSERT_RC(weft_graph_find(g, NULL, &v), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_find(g, "a", NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_find(NULL, "a", &v), WEFT_EINVAL);
    wt_graph_free(g);
}
END_TEST

static atomic_int wt_order_ab; /* 1 when "b" saw "a"'s result as its input */

static int wt_store_name(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    const char *n = weft_node_name(ctx);
    return weft_node_set_result(ctx, n, strlen(n));
}

static int wt_check_input_a(weft_node_ctx_t *ctx, void *arg)
{
    size_t len = 0;
    const void *in;
    (void)arg;
    if (weft_node_input_count(ctx) != 1)
        return 1;
    in = weft_node_input(ctx, 0, &len);
    if (in && len == 1 && memcmp(in, "a", 1) == 0)
        atomic_store(&wt_order_ab, 1);
    return 0;
}

START_TEST(test_precede_succeed_same_edge)
{
    weft_runtime_t *rt = wt_runtime(2);
    for (int how = 0; how < 2; how++) {
        weft_graph_t *g = wt_graph("edge");
        weft_node_t a, b;
        atomic_store(&wt_order_ab, 0);
        /* b is added first, so ids alone do not give the order */
        WT_ASSERT_RC(weft_graph_add(g, "b", wt_check_input_a, NULL, &b), 0);
        WT_ASSERT_RC(weft_graph_add(g, "a", wt_store_name, NULL, &a), 0);
        if (how == 0)
            WT_ASSERT_RC(weft_graph_precede(g, a, b), 0);
        else
            WT_ASSERT_RC(weft_graph_succeed(g, b, a), 0);
        ck_assert_uint_eq(weft_graph_edge_count(g), 1);
        weft_run_t *run = NULL;
        WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
        ck_assert_int_eq(wt_ld(&wt_order_ab), 1);
        weft_run_counts_t c = wt_counts(run);
        WT_ASSERT_COUNTS(c, 2, 2, 0, 0, 0);
        wt_run_free(run);
        wt_graph_free(g);
    }
    wt_destroy(rt);
}
END_TEST

START_TEST(test_edge_counts)
{
    weft_graph_t *g = wt_graph("e");
    for (int i = 0; i < 5; i++)
        WT_ASSERT_RC(weft_graph_add(g, NULL, wt_noop, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 1), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 2), 0);
    WT_ASSERT_RC(weft_graph_succeed(g, 3, 1), 0);
    WT_ASSERT_RC(weft_graph_succeed(g, 4, 3), 0);
    ck_assert_uint_eq(weft_graph_edge_count(g), 4);
    ck_assert_uint_eq(weft_graph_node_count(g), 5);
    WT_ASSERT_RC(weft_graph_check(g, NULL), 0);
    wt_graph_free(g);
}
END_TEST

START_TEST(test_bad_node_ids)
{
    weft_graph_t *g = wt_graph("bad");
    WT_ASSERT_RC(weft_graph_add(g, NULL, wt_noop, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, NULL, wt_noop, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 2), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_precede(g, 2, 0), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_precede(g, 0, WEFT_NODE_NONE), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_precede(g, WEFT_NODE_NONE, 1), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_succeed(g, 5, 0), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_succeed(g, 1, 77), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_set_arg(g, 2, "x", 1), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_set_arg(g, WEFT_NODE_NONE, "x", 1), WEFT_EINVAL);
    ck_assert_uint_eq(weft_graph_edge_count(g), 0);
    ck_assert_uint_eq(weft_graph_node_count(g), 2);
    /* The graph is unharmed. */
    WT_ASSERT_RC(weft_graph_precede(g, 0, 1), 0);
    ck_assert_uint_eq(weft_graph_edge_count(g), 1);
    WT_ASSERT_RC(weft_graph_check(g, NULL), 0);
    wt_graph_free(g);
}
END_TEST

START_TEST(test_null_arguments)
{
    weft_runtime_t *rt = wt_runtime(1);
    weft_graph_t *g = wt_graph("nulls"), *other = wt_graph("other");
    weft_node_t v = 0;
    weft_run_t *run = (weft_run_t *)&v; /* not NULL: calls must clear it */
    weft_run_counts_t c;
    WT_ASSERT_RC(weft_graph_create("x", NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_free(NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_add(NULL, "x", wt_noop, NULL, &v), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_add(g, "x", NULL, NULL, &v), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_add_task(NULL, "x", "task", NULL, 0, &v), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_add_task(g, "x", NULL, NULL, 0, &v), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_add_task(g, "x", "", NULL, 0, &v), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_add_task(g, "x", "task", NULL, 3, &v), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "x", NULL, &v), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_add_subgraph(NULL, "x", other, &v), WEFT_EINVAL);
    ck_assert_uint_eq(weft_graph_node_count(g), 0);
    WT_ASSERT_RC(weft_graph_add(g, "x", wt_noop, NULL, &v), 0);
    WT_ASSERT_RC(weft_graph_set_arg(NULL, 0, "x", 1), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_set_arg(g, 0, NULL, 1), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_precede(NULL, 0, 0), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_succeed(NULL, 0, 0), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_check(NULL, &v), WEFT_EINVAL);
    ck_assert_ptr_null(weft_graph_name(NULL));
    ck_assert_ptr_null(weft_graph_node_name(NULL, 0));
    ck_assert_ptr_null(weft_graph_node_task(NULL, 0));
    WT_ASSERT_RC(weft_graph_run(NULL, rt, NULL, &run), WEFT_EINVAL);
    ck_assert_ptr_null(run);
    run = (weft_run_t *)&v;
    WT_ASSERT_RC(weft_graph_run(g, NULL, NULL, &run), WEFT_EINVAL);
    ck_assert_ptr_null(run);
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_run_async(NULL, rt, NULL, &run), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_run_n(NULL, rt, 3, NULL, &run), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_wait(NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_wait_timeout(NULL, 1.0), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_cancel(NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_free(NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_counts(NULL, &c), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_node_status(NULL, 0), WEFT_EINVAL);
    ck_assert_ptr_null(weft_run_graph(NULL));
    WT_ASSERT_RC(weft_run_print_stats(NULL, stdout), WEFT_EINVAL);
    /* Running with no run pointer is allowed: the record is dropped. */
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), 0);
    wt_graph_free(g);
    wt_graph_free(other);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_status_names)
{
    ck_assert_str_eq(weft_node_status_name(WEFT_NODE_PENDING), "pending");
    ck_assert_str_eq(weft_node_status_name(WEFT_NODE_DONE), "done");
    ck_assert_str_eq(weft_node_status_name(WEFT_NODE_FAILED), "failed");
    ck_assert_str_eq(weft_node_status_name(WEFT_NODE_SKIPPED), "skipped");
    ck_assert_str_eq(weft_node_status_name(WEFT_NODE_CANCELLED), "cancelled");
    ck_assert_str_eq(weft_node_status_name(WEFT_NODE_RUNNING), "running");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Cycles                                                              */

/* Is v on a cycle of the edge list: can v reach itself by >= 1 edge? */
static int wt_on_cycle(const wt_edges *e, size_t n, uint32_t v)
{
    unsigned char *seen = calloc(n, 1);
    uint32_t *stack = malloc((n + 1) * sizeof *stack);
    size_t top = 0;
    int found = 0;
    ck_assert(seen && stack);
    stack[top++] = v;
    while (top && !found) {
        uint32_t u = stack[--top];
        for (size_t i = 0; i < e->m; i++) {
            if (e->src[i] != u)
                continue;
            uint32_t w = e->dst[i];
            if (w == v) {
                found = 1;
                break;
            }
            if (!seen[w]) {
                seen[w] = 1;
                stack[top++] = w;
            }
        }
    }
    free(seen);
    free(stack);
    return found;
}

/* Asserts that check and run report ECYCLE with a node on a cycle and that
 * nothing ran; *expected_single, when not WEFT_NODE_NONE, is the only node
 * on any cycle. */
static void wt_assert_cycle(weft_graph_t *g, wt_rec *r, const wt_edges *e, weft_runtime_t *rt,
                            weft_node_t only)
{
    weft_node_t v = 12345;
    WT_ASSERT_RC(weft_graph_check(g, &v), WEFT_ECYCLE);
    ck_assert_uint_lt(v, weft_graph_node_count(g));
    ck_assert_msg(wt_on_cycle(e, weft_graph_node_count(g), v), "check reported node %u, not on a cycle", v);
    if (only != WEFT_NODE_NONE)
        ck_assert_uint_eq(v, only);
    WT_ASSERT_RC(weft_graph_check(g, NULL), WEFT_ECYCLE); /* node may be NULL */

    weft_run_t *run = (weft_run_t *)&v;
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), WEFT_ECYCLE);
    ck_assert_ptr_null(run); /* no record for a cycle */
    ck_assert_int_eq(wt_total_calls(r), 0);
    /* The message names a node on the cycle: "... 'name' ...". */
    const char *msg = weft_graph_error();
    const char *q = strchr(msg, '\'');
    ck_assert_msg(q != NULL, "weft_graph_error() = \"%s\" names no node", msg);
    const char *q2 = strchr(q + 1, '\'');
    ck_assert_msg(q2 != NULL, "weft_graph_error() = \"%s\" names no node", msg);
    char name[64];
    size_t len = (size_t)(q2 - q - 1);
    ck_assert_uint_lt(len, sizeof name);
    memcpy(name, q + 1, len);
    name[len] = 0;
    weft_node_t named;
    WT_ASSERT_RC(weft_graph_find(g, name, &named), 0);
    ck_assert_msg(wt_on_cycle(e, weft_graph_node_count(g), named),
                  "weft_graph_error() = \"%s\": node %u is not on a cycle", msg, named);
    if (only != WEFT_NODE_NONE)
        ck_assert_uint_eq(named, only);
    /* Asynchronously too, and again (the graph stays cyclic). */
    run = (weft_run_t *)&v;
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), WEFT_ECYCLE);
    ck_assert_ptr_null(run);
    WT_ASSERT_RC(weft_graph_run_n(g, rt, 5, NULL, NULL), WEFT_ECYCLE);
    ck_assert_int_eq(wt_total_calls(r), 0);
}

START_TEST(test_self_edge_cycle)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("self");
    wt_rec r;
    wt_edges e = {0};
    wt_rec_init(&r, 4);
    wt_add_rec_nodes(g, &r, 4);
    wt_edge(g, &e, 0, 1);
    wt_edge(g, &e, 1, 2);
    wt_edge(g, &e, 2, 2); /* accepted when added, reported when run */
    wt_edge(g, &e, 2, 3);
    ck_assert_uint_eq(weft_graph_edge_count(g), 4);
    wt_assert_cycle(g, &r, &e, rt, 2);
    wt_rec_graph_free(g, &r, &e);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_two_node_cycle)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("two");
    wt_rec r;
    wt_edges e = {0};
    wt_rec_init(&r, 5);
    wt_add_rec_nodes(g, &r, 5);
    wt_edge(g, &e, 0, 1); /* 0 is a source: upstream of the cycle, never runs */
    wt_edge(g, &e, 1, 2);
    wt_edge(g, &e, 2, 1);
    wt_edge(g, &e, 2, 3);
    /* 4 is independent of everything: still nothing runs */
    wt_assert_cycle(g, &r, &e, rt, WEFT_NODE_NONE);
    weft_node_t v;
    WT_ASSERT_RC(weft_graph_check(g, &v), WEFT_ECYCLE);
    ck_assert_msg(v == 1 || v == 2, "cycle node %u", v);
    wt_rec_graph_free(g, &r, &e);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_long_cycle_in_dag)
{
    enum { N = 3000, CYC = 400 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("long");
    wt_rec r;
    wt_edges e = {0};
    wt_rng_state = 7;
    wt_rec_init(&r, N + CYC);
    wt_random_dag(g, &r, &e, N, 3, NULL);
    /* A cycle of CYC new nodes, fed from the DAG and feeding back into it. */
    wt_add_rec_nodes(g, &r, CYC);
    for (uint32_t i = 0; i < CYC; i++)
        wt_edge(g, &e, N + i, N + (i + 1) % CYC);
    for (int i = 0; i < 20; i++) {
        wt_edge(g, &e, wt_below(N), N + wt_below(CYC)); /* upstream */
        wt_edge(g, &e, N + wt_below(CYC), wt_below(N)); /* downstream: not on the cycle unless
                                                           it reaches back */
    }
    wt_assert_cycle(g, &r, &e, rt, WEFT_NODE_NONE);
    wt_rec_graph_free(g, &r, &e);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_cycle_added_after_runs)
{
    enum { N = 50 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("later");
    wt_rec r;
    wt_edges e = {0};
    weft_run_t *run = NULL;
    wt_rec_init(&r, N);
    wt_add_rec_nodes(g, &r, N);
    for (uint32_t i = 0; i + 1 < N; i++)
        wt_edge(g, &e, i, i + 1);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    wt_assert_ran_once_in_order(&r, &e);
    wt_rec_reset(&r);
    /* Closing the chain into a ring: every node is on the cycle. */
    wt_edge(g, &e, N - 1, 0);
    WT_ASSERT_RC(weft_run_counts(run, &(weft_run_counts_t){0}), WEFT_ESTALE);
    wt_assert_cycle(g, &r, &e, rt, WEFT_NODE_NONE);
    wt_run_free(run);
    wt_rec_graph_free(g, &r, &e);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Running                                                             */

START_TEST(test_diamond)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("diamond");
    wt_rec r;
    wt_edges e = {0};
    weft_run_t *run = NULL;
    wt_rec_init(&r, 4);
    wt_add_rec_nodes(g, &r, 4);
    wt_edge(g, &e, 0, 1);
    wt_edge(g, &e, 0, 2);
    wt_edge(g, &e, 1, 3);
    wt_edge(g, &e, 2, 3);
    WT_ASSERT_RC(weft_graph_check(g, NULL), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    wt_assert_ran_once_in_order(&r, &e);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, 4, 4, 0, 0, 0);
    ck_assert_uint_eq(c.first_failed, WEFT_NODE_NONE);
    ck_assert_int_eq(c.first_code, 0);
    ck_assert(c.wall_s >= 0.0);
    for (weft_node_t v = 0; v < 4; v++) {
        int code = 99;
        ck_assert_int_eq(weft_run_node_status(run, v), WEFT_NODE_DONE);
        WT_ASSERT_RC(weft_run_node_code(run, v, &code), 0);
        ck_assert_int_eq(code, 0);
    }
    WT_ASSERT_RC(weft_run_node_status(run, 4), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_node_code(run, 4, &(int){0}), WEFT_EINVAL);
    ck_assert_ptr_eq(weft_run_graph(run), g);
    WT_ASSERT_RC(weft_run_wait(run), 0); /* waiting again: the same outcome */
    ck_assert_int_eq(wt_ld(&wt_bad), 0);
    wt_run_free(run);
    wt_rec_graph_free(g, &r, &e);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_empty_graph)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("empty");
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_check(g, NULL), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, 0, 0, 0, 0, 0);
    ck_assert_uint_eq(c.first_failed, WEFT_NODE_NONE);
    wt_run_free(run);
    WT_ASSERT_RC(weft_graph_run_n(g, rt, 10, NULL, NULL), 0);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_random_dags)
{
    static const size_t sizes[] = {1, 2, 17, 200, 1000, 5000};
    weft_runtime_t *rt = wt_runtime(2);
    for (unsigned seed = 1; seed <= 12; seed++) {
        size_t n = sizes[seed % 6];
        weft_graph_t *g = wt_graph("random");
        wt_rec r;
        wt_edges e = {0};
        weft_run_t *run = NULL;
        wt_rng_state = seed;
        wt_rec_init(&r, n);
        wt_random_dag(g, &r, &e, n, seed % 2 ? 3 : 8, NULL);
        ck_assert_uint_eq(weft_graph_edge_count(g), e.m);
        WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
        wt_assert_ran_once_in_order(&r, &e);
        weft_run_counts_t c = wt_counts(run);
        WT_ASSERT_COUNTS(c, n, n, 0, 0, 0);
        wt_run_free(run);
        /* And once more asynchronously. */
        wt_rec_reset(&r);
        WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
        WT_ASSERT_RC(weft_run_wait(run), 0);
        wt_assert_ran_once_in_order(&r, &e);
        c = wt_counts(run);
        WT_ASSERT_COUNTS(c, n, n, 0, 0, 0);
        wt_run_free(run);
        wt_rec_graph_free(g, &r, &e);
    }
    ck_assert_int_eq(wt_ld(&wt_bad), 0);
    wt_destroy(rt);
}
END_TEST

/* Results: producers store 4 binary bytes {'P', '0'+i, 0, 0xff}; p2 stores
 * none; p4 stores a first result and replaces it. The sink records its
 * inputs and stores their concatenation. */
static unsigned char wt_in[8][16];
static size_t wt_in_len[8];
static atomic_int wt_in_null[8];
static atomic_int wt_in_count = -1;

static int wt_producer(weft_node_ctx_t *ctx, void *arg)
{
    int i = (int)(intptr_t)arg;
    unsigned char b[4] = {'P', (unsigned char)('0' + i), 0, 0xff};
    if (i == 2)
        return 0;
    if (i == 4 && weft_node_set_result(ctx, "first result", 12) != 0)
        return 1;
    return weft_node_set_result(ctx, b, sizeof b);
}

static int wt_sink(weft_node_ctx_t *ctx, void *arg)
{
    unsigned char all[64];
    size_t k = 0, n = weft_node_input_count(ctx);
    (void)arg;
    atomic_store(&wt_in_count, (int)n);
    for (size_t i = 0; i < n && i < 8; i++) {
        size_t len = 99;
        const void *p = weft_node_input(ctx, i, &len);
        atomic_store(&wt_in_null[i], p == NULL);
        wt_in_len[i] = len;
        if (p && len <= sizeof wt_in[i]) {
            memcpy(wt_in[i], p, len);
            memcpy(all + k, p, len);
            k += len;
        }
    }
    /* Out of range: NULL, length 0. */
    size_t len = 99;
    if (weft_node_input(ctx, n, &len) != NULL || len != 0)
        atomic_fetch_add(&wt_bad, 1);
    return weft_node_set_result(ctx, all, k);
}

START_TEST(test_results_and_inputs)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("results");
    weft_node_t p[5], s;
    weft_run_t *run = NULL;
    for (int i = 0; i < 5; i++)
        WT_ASSERT_RC(weft_graph_add(g, NULL, wt_producer, (void *)(intptr_t)i, &p[i]), 0);
    WT_ASSERT_RC(weft_graph_add(g, "sink", wt_sink, NULL, &s), 0);
    /* Edge insertion order: p3, p0, p4, p1, p2 (by precede and succeed). */
    WT_ASSERT_RC(weft_graph_precede(g, p[3], s), 0);
    WT_ASSERT_RC(weft_graph_succeed(g, s, p[0]), 0);
    WT_ASSERT_RC(weft_graph_precede(g, p[4], s), 0);
    WT_ASSERT_RC(weft_graph_succeed(g, s, p[1]), 0);
    WT_ASSERT_RC(weft_graph_precede(g, p[2], s), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    ck_assert_int_eq(wt_ld(&wt_in_count), 5);
    static const int order[5] = {3, 0, 4, 1, 2};
    for (int i = 0; i < 4; i++) {
        unsigned char want[4] = {'P', (unsigned char)('0' + order[i]), 0, 0xff};
        ck_assert_int_eq(wt_ld(&wt_in_null[i]), 0);
        ck_assert_uint_eq(wt_in_len[i], 4);
        ck_assert_mem_eq(wt_in[i], want, 4);
    }
    ck_assert_int_eq(wt_ld(&wt_in_null[4]), 1); /* p2 stored nothing */
    ck_assert_uint_eq(wt_in_len[4], 0);
    ck_assert_int_eq(wt_ld(&wt_bad), 0);

    const void *data = NULL;
    size_t len = 0;
    WT_ASSERT_RC(weft_run_result(run, s, &data, &len), 0);
    ck_assert_uint_eq(len, 16);
    ck_assert_mem_eq(data, "P3\0\xffP0\0\xffP4\0\xffP1\0\xff", 16);
    WT_ASSERT_RC(weft_run_result(run, p[4], &data, &len), 0);
    ck_assert_uint_eq(len, 4);
    ck_assert_mem_eq(data, "P4\0\xff", 4); /* replaced */
    data = "x";
    len = 7;
    WT_ASSERT_RC(weft_run_result(run, p[2], &data, &len), 0);
    ck_assert_ptr_null(data);
    ck_assert_uint_eq(len, 0);
    WT_ASSERT_RC(weft_run_result(run, 6, &data, &len), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_result(run, s, NULL, &len), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_result(NULL, s, &data, &len), WEFT_EINVAL);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* Inputs keep their edge order when edges are added after the graph ran
 * (the compiled form is rebuilt). */
START_TEST(test_inputs_order_after_change)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("recompile");
    weft_node_t p[5], s;
    weft_run_t *run = NULL;
    for (int i = 0; i < 5; i++)
        if (i != 2)
            WT_ASSERT_RC(weft_graph_add(g, NULL, wt_producer, (void *)(intptr_t)i, &p[i]), 0);
    WT_ASSERT_RC(weft_graph_add(g, "sink", wt_sink, NULL, &s), 0);
    WT_ASSERT_RC(weft_graph_precede(g, p[4], s), 0);
    WT_ASSERT_RC(weft_graph_precede(g, p[1], s), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    ck_assert_int_eq(wt_ld(&wt_in_count), 2);
    wt_run_free(run);
    WT_ASSERT_RC(weft_graph_precede(g, p[0], s), 0);
    WT_ASSERT_RC(weft_graph_precede(g, p[3], s), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    ck_assert_int_eq(wt_ld(&wt_in_count), 4);
    const void *data = NULL;
    size_t len = 0;
    WT_ASSERT_RC(weft_run_result(run, s, &data, &len), 0);
    ck_assert_uint_eq(len, 16);
    ck_assert_mem_eq(data, "P4\0\xffP1\0\xffP0\0\xffP3\0\xff", 16);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* Rerun checks: each node's result is the number of the run (its own call
 * count); every input must carry the same number, so every predecessor ran
 * earlier in the same run. Node "odd" stores a result only in odd runs: in
 * even runs its successor must see none (results reset per run). */
static atomic_int *wt_rr_calls;
static weft_node_t wt_rr_odd = WEFT_NODE_NONE;

static int wt_rerun_node(weft_node_ctx_t *ctx, void *arg)
{
    weft_node_t v = weft_node_id(ctx);
    int k = atomic_fetch_add(&wt_rr_calls[v], 1) + 1;
    (void)arg;
    for (size_t i = 0; i < weft_node_input_count(ctx); i++) {
        size_t len = 0;
        const void *p = weft_node_input(ctx, i, &len);
        int got;
        if (p == NULL) {
            /* only the odd node's result may be missing, in even runs */
            if (!(k % 2 == 0 && len == 0))
                atomic_fetch_add(&wt_bad, 1);
            continue;
        }
        if (len != sizeof got) {
            atomic_fetch_add(&wt_bad, 1);
            continue;
        }
        memcpy(&got, p, sizeof got);
        if (got != k)
            atomic_fetch_add(&wt_bad, 1);
    }
    if (v == wt_rr_odd && k % 2 == 0)
        return 0;
    return weft_node_set_result(ctx, &k, sizeof k);
}

static weft_graph_t *wt_rerun_graph(size_t *n_out)
{
    enum { N = 40 };
    weft_graph_t *g = wt_graph("rerun");
    wt_rr_calls = calloc(N + 1, sizeof *wt_rr_calls);
    ck_assert_ptr_nonnull(wt_rr_calls);
    for (int i = 0; i < N; i++)
        WT_ASSERT_RC(weft_graph_add(g, NULL, wt_rerun_node, NULL, NULL), 0);
    wt_rng_state = 99;
    for (uint32_t v = 1; v < N; v++)
        for (int k = 0; k < 3; k++)
            WT_ASSERT_RC(weft_graph_precede(g, wt_below(v), v), 0);
    WT_ASSERT_RC(weft_graph_add(g, "odd", wt_rerun_node, NULL, &wt_rr_odd), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, wt_rr_odd), 0);
    WT_ASSERT_RC(weft_graph_precede(g, wt_rr_odd, N - 1), 0);
    *n_out = N + 1;
    return g;
}

START_TEST(test_rerun_n)
{
    weft_runtime_t *rt = wt_runtime(2);
    size_t n;
    weft_graph_t *g = wt_rerun_graph(&n);
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run_n(g, rt, 100, NULL, &run), 0);
    int wrong = 0;
    for (size_t v = 0; v < n; v++)
        wrong += atomic_load(&wt_rr_calls[v]) != 100;
    ck_assert_int_eq(wrong, 0);
    ck_assert_int_eq(wt_ld(&wt_bad), 0);
    weft_run_counts_t c = wt_counts(run); /* the last run only */
    WT_ASSERT_COUNTS(c, n, n, 0, 0, 0);
    const void *data;
    size_t len;
    int k = 0;
    WT_ASSERT_RC(weft_run_result(run, 0, &data, &len), 0);
    ck_assert_uint_eq(len, sizeof k);
    memcpy(&k, data, sizeof k);
    ck_assert_int_eq(k, 100);
    WT_ASSERT_RC(weft_run_result(run, wt_rr_odd, &data, &len), 0);
    ck_assert_ptr_null(data); /* run 100 is even: no result */
    wt_run_free(run);
    /* n == 0 runs nothing; run_n without a record pointer. */
    WT_ASSERT_RC(weft_graph_run_n(g, rt, 0, NULL, &run), 0);
    ck_assert_ptr_null(run);
    WT_ASSERT_RC(weft_graph_run_n(g, rt, 3, NULL, NULL), 0);
    ck_assert_int_eq(atomic_load(&wt_rr_calls[0]), 103);
    ck_assert_int_eq(wt_ld(&wt_bad), 0);
    wt_graph_free(g);
    free(wt_rr_calls);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_rerun_repeated)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("again");
    wt_rec r;
    wt_edges e = {0};
    wt_rng_state = 4242;
    wt_rec_init(&r, 300);
    wt_random_dag(g, &r, &e, 300, 4, NULL);
    for (int i = 0; i < 100; i++) {
        weft_run_t *run = NULL;
        wt_rec_reset(&r);
        WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
        wt_assert_ran_once_in_order(&r, &e);
        weft_run_counts_t c = wt_counts(run);
        WT_ASSERT_COUNTS(c, 300, 300, 0, 0, 0);
        wt_run_free(run);
    }
    ck_assert_int_eq(wt_ld(&wt_bad), 0);
    wt_rec_graph_free(g, &r, &e);
    wt_destroy(rt);
}
END_TEST

static atomic_int wt_flaky_calls;

/* Fails on its third call, with code 33. */
static int wt_flaky(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return atomic_fetch_add(&wt_flaky_calls, 1) + 1 == 3 ? 33 : 0;
}

START_TEST(test_run_n_stops_at_failure)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("flaky");
    wt_rec r;
    weft_node_t f;
    weft_run_t *run = NULL;
    wt_rec_init(&r, 2);
    wt_add_rec_nodes(g, &r, 2);
    WT_ASSERT_RC(weft_graph_add(g, "flaky", wt_flaky, NULL, &f), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, f), 0);
    WT_ASSERT_RC(weft_graph_precede(g, f, 1), 0);
    WT_ASSERT_RC(weft_graph_run_n(g, rt, 10, NULL, &run), WEFT_ETASK);
    ck_assert_int_eq(wt_ld(&wt_flaky_calls), 3); /* runs 4..10 never started */
    ck_assert_int_eq(wt_ld(&r.calls[0]), 3);
    ck_assert_int_eq(wt_ld(&r.calls[1]), 2);     /* skipped in run 3 */
    weft_run_counts_t c = wt_counts(run);        /* the failing run */
    WT_ASSERT_COUNTS(c, 3, 1, 1, 1, 0);
    ck_assert_uint_eq(c.first_failed, f);
    ck_assert_int_eq(c.first_code, 33);
    wt_run_free(run);
    wt_rec_free(&r);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_stale_run_record)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("stale");
    weft_run_t *r1 = NULL, *r2 = NULL, *r3 = NULL;
    weft_run_counts_t c;
    const void *data;
    size_t len;
    int code;
    WT_ASSERT_RC(weft_graph_add(g, "a", wt_store_name, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "b", wt_store_name, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 1), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &r1), 0);
    c = wt_counts(r1);
    WT_ASSERT_COUNTS(c, 2, 2, 0, 0, 0);

    /* A node added: r1 is stale. */
    WT_ASSERT_RC(weft_graph_add(g, "c", wt_store_name, NULL, NULL), 0);
    WT_ASSERT_RC(weft_run_counts(r1, &c), WEFT_ESTALE);
    WT_ASSERT_RC(weft_run_node_status(r1, 0), WEFT_ESTALE);
    WT_ASSERT_RC(weft_run_node_code(r1, 0, &code), WEFT_ESTALE);
    WT_ASSERT_RC(weft_run_result(r1, 0, &data, &len), WEFT_ESTALE);
    WT_ASSERT_RC(weft_run_node_time(r1, 0, NULL, NULL, NULL), WEFT_ESTALE);
    WT_ASSERT_RC(weft_run_print_stats(r1, stdout), WEFT_ESTALE);
    ck_assert_ptr_eq(weft_run_graph(r1), g);
    /* The graph runs again, with the new node. */
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &r2), 0);
    c = wt_counts(r2);
    WT_ASSERT_COUNTS(c, 3, 3, 0, 0, 0);
    WT_ASSERT_RC(weft_run_result(r2, 2, &data, &len), 0);
    ck_assert_uint_eq(len, 1);
    ck_assert_mem_eq(data, "c", 1);

    /* An edge added: r2 is stale too. */
    WT_ASSERT_RC(weft_graph_precede(g, 1, 2), 0);
    WT_ASSERT_RC(weft_run_counts(r2, &c), WEFT_ESTALE);
    WT_ASSERT_RC(weft_run_node_status(r2, 2), WEFT_ESTALE);
    WT_ASSERT_RC(weft_run_result(r2, 2, &data, &len), WEFT_ESTALE);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &r3), 0);
    c = wt_counts(r3);
    WT_ASSERT_COUNTS(c, 3, 3, 0, 0, 0);
    /* Stale records can still be freed; the graph only once all are. */
    WT_ASSERT_RC(weft_graph_free(g), WEFT_EBUSY);
    wt_run_free(r1);
    wt_run_free(r2);
    WT_ASSERT_RC(weft_graph_free(g), WEFT_EBUSY);
    wt_run_free(r3);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* Counts and statuses are snapshots while a run is in flight (graph.h:
 * wall_s is "start to completion (so far, if running)"): the main thread
 * polls them until each run completes. */
START_TEST(test_counts_while_running)
{
    enum { N = 3000 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("polled");
    wt_rec r;
    wt_edges e = {0};
    int wrong = 0, polls = 0, wall_zero = 0;
    double wall_at = 0;
    wt_rng_state = 77;
    wt_rec_init(&r, N);
    wt_random_dag(g, &r, &e, N, 3, NULL);
    for (int round = 0; round < 20; round++) {
        weft_run_t *run = NULL;
        uint64_t last = 0;
        double last_wall = 0;
        wt_rec_reset(&r);
        WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
        for (;;) {
            weft_run_counts_t c;
            int rc = weft_run_wait_timeout(run, 0.0); /* before the snapshot */
            polls++;
            wrong += weft_run_counts(run, &c) != 0;
            wrong += c.total != N || c.done < last || c.done > N || c.failed + c.skipped + c.cancelled != 0;
            /* A snapshot is taken at some moment after the run began, so
             * its wall time is positive (0 would be a torn read of the end
             * time while the run completes). */
            if (!(c.wall_s > 0.0) && wall_zero++ == 0)
                wall_at = last_wall;
            int st = weft_run_node_status(run, N - 1);
            wrong += st < WEFT_NODE_PENDING || st > WEFT_NODE_RUNNING;
            last = c.done;
            last_wall = c.wall_s;
            if (rc != WEFT_ETIMEDOUT) {
                wrong += rc != 0 || c.done != N;
                break;
            }
        }
        wt_assert_ran_once_in_order(&r, &e);
        wt_run_free(run);
    }
    ck_assert_msg(wrong == 0, "%d inconsistent snapshots in %d polls", wrong, polls);
    ck_assert_msg(wall_zero == 0, "wall_s was 0 in %d of %d polls; first after a poll with %.9f s", wall_zero,
                  polls, wall_at);
    wt_rec_graph_free(g, &r, &e);
    wt_destroy(rt);
}
END_TEST

/* g: a -> gated -> b, a run of it in flight with the gate closed. */
static weft_graph_t *wt_gated_graph(weft_runtime_t *rt, weft_run_t **run)
{
    weft_graph_t *g = wt_graph("gated");
    weft_node_t a, m, b;
    WT_ASSERT_RC(weft_graph_add(g, "a", wt_noop, NULL, &a), 0);
    WT_ASSERT_RC(weft_graph_add(g, "gated", wt_gated, NULL, &m), 0);
    WT_ASSERT_RC(weft_graph_add(g, "b", wt_store_name, NULL, &b), 0);
    WT_ASSERT_RC(weft_graph_precede(g, a, m), 0);
    WT_ASSERT_RC(weft_graph_precede(g, m, b), 0);
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, run), 0);
    ck_assert_ptr_nonnull(*run);
    ck_assert_int_eq(wt_gate_wait(&wt_entered, 30.0), 0);
    return g;
}

static void wt_finish_gated(weft_graph_t *g, weft_run_t *run)
{
    wt_gate_open(&wt_gate);
    WT_ASSERT_RC(weft_run_wait(run), 0);
    ck_assert_int_eq(wt_ld(&wt_gate_timeouts), 0);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, 3, 3, 0, 0, 0);
    ck_assert_uint_eq(weft_graph_node_count(g), 3); /* the refused calls changed nothing */
    ck_assert_uint_eq(weft_graph_edge_count(g), 2);
    wt_run_free(run);
    /* After the run the graph can be changed and freed again. */
    WT_ASSERT_RC(weft_graph_add(g, NULL, wt_noop, NULL, NULL), 0);
    wt_graph_free(g);
}

START_TEST(test_busy_while_running)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_run_t *run = NULL, *other = NULL;
    weft_graph_t *g = wt_gated_graph(rt, &run);
    weft_graph_t *sub = wt_graph("sub");
    weft_node_t v = 0;
    const void *data;
    size_t len;
    WT_ASSERT_RC(weft_graph_add(g, NULL, wt_noop, NULL, &v), WEFT_EBUSY);
    WT_ASSERT_RC(weft_graph_add_task(g, NULL, "task", NULL, 0, &v), WEFT_EBUSY);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, NULL, sub, &v), WEFT_EBUSY);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 2), WEFT_EBUSY);
    WT_ASSERT_RC(weft_graph_succeed(g, 2, 0), WEFT_EBUSY);
    WT_ASSERT_RC(weft_graph_set_arg(g, 0, "x", 1), WEFT_EBUSY);
    WT_ASSERT_RC(weft_graph_free(g), WEFT_EBUSY);
    /* A second run of the same graph goes at the same time, with its own
     * record: the gated node blocks in both until the gate opens. */
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &other), 0);
    ck_assert_ptr_nonnull(other);
    ck_assert_ptr_ne(other, run);
    /* The record of a running run. */
    WT_ASSERT_RC(weft_run_free(run), WEFT_EBUSY);
    WT_ASSERT_RC(weft_run_result(run, 0, &data, &len), WEFT_EBUSY);
    WT_ASSERT_RC(weft_run_wait_timeout(run, 0.05), WEFT_ETIMEDOUT);
    WT_ASSERT_RC(weft_run_wait_timeout(run, 0.0), WEFT_ETIMEDOUT);
    ck_assert_int_eq(weft_run_node_status(run, 0), WEFT_NODE_DONE);
    ck_assert_int_eq(weft_run_node_status(run, 1), WEFT_NODE_RUNNING);
    ck_assert_int_eq(weft_run_node_status(run, 2), WEFT_NODE_PENDING);
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.total, 3);
    ck_assert_uint_le(c.done, 1);
    ck_assert_uint_eq(c.failed + c.skipped + c.cancelled, 0);
    WT_ASSERT_RC(weft_graph_add(g, NULL, wt_noop, NULL, &v), WEFT_EBUSY);
    wt_gate_open(&wt_gate);
    WT_ASSERT_RC(weft_run_wait(other), 0);
    c = wt_counts(other);
    WT_ASSERT_COUNTS(c, 3, 3, 0, 0, 0);
    wt_run_free(other);
    wt_finish_gated(g, run);
    wt_graph_free(sub);
    wt_destroy(rt);
}
END_TEST

/* Timed waits take any double (issue 7.7): NaN and negatives are
 * WEFT_EINVAL, and infinity or a timeout too long for a nanosecond deadline
 * waits for ever (here: until another thread opens the gate). */
static void *wt_open_gate_later(void *arg)
{
    (void)arg;
    wt_sleep_s(0.05);
    wt_gate_open(&wt_gate);
    return NULL;
}

START_TEST(test_wait_timeout_any_double)
{
    weft_runtime_t *rt = wt_runtime(2);
    const double forever[] = {1e10, 1e300, INFINITY, DBL_MAX, 9.3e9};
    for (size_t i = 0; i < sizeof forever / sizeof forever[0]; i++) {
        weft_run_t *run = NULL;
        atomic_store(&wt_gate, 0);
        atomic_store(&wt_entered, 0);
        weft_graph_t *g = wt_gated_graph(rt, &run);
        WT_ASSERT_RC(weft_run_wait_timeout(run, NAN), WEFT_EINVAL);
        WT_ASSERT_RC(weft_run_wait_timeout(run, -NAN), WEFT_EINVAL);
        WT_ASSERT_RC(weft_run_wait_timeout(run, -1.0), WEFT_EINVAL);
        WT_ASSERT_RC(weft_run_wait_timeout(run, -INFINITY), WEFT_EINVAL);
        WT_ASSERT_RC(weft_run_wait_timeout(run, 0.0), WEFT_ETIMEDOUT);
        WT_ASSERT_RC(weft_run_wait_timeout(run, 1e-12), WEFT_ETIMEDOUT);
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, wt_open_gate_later, NULL), 0);
        double t0 = wt_now();
        WT_ASSERT_RC(weft_run_wait_timeout(run, forever[i]), 0);
        ck_assert_double_ge(wt_now() - t0, 0.04); /* it waited for the gate */
        ck_assert_int_eq(pthread_join(th, NULL), 0);
        WT_ASSERT_RC(weft_run_wait_timeout(run, forever[i]), 0); /* complete: at once */
        wt_finish_gated(g, run);
    }
    wt_destroy(rt);
}
END_TEST

/* weft_graph_check is a read that compiles under the gate: while the graph
 * runs it answers 0 (never WEFT_EBUSY), from any thread (issue 7.8). */
typedef struct wt_check_arg {
    weft_graph_t *g;
    int rc;
    weft_node_t v;
} wt_check_arg;

static void *wt_check_thread(void *arg)
{
    wt_check_arg *a = arg;
    a->rc = weft_graph_check(a->g, &a->v);
    return NULL;
}

START_TEST(test_check_while_running)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_run_t *run = NULL;
    weft_graph_t *g = wt_gated_graph(rt, &run);
    weft_node_t v = 0;
    WT_ASSERT_RC(weft_graph_check(g, &v), 0);
    ck_assert_uint_eq(v, WEFT_NODE_NONE);
    wt_check_arg a = {g, -1, 0};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, wt_check_thread, &a), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    WT_ASSERT_RC(a.rc, 0);
    ck_assert_uint_eq(a.v, WEFT_NODE_NONE);
    WT_ASSERT_RC(weft_graph_add(g, NULL, wt_noop, NULL, NULL), WEFT_EBUSY); /* still running */
    wt_finish_gated(g, run);
    /* a cyclic graph, checked from another thread: the cycle and its node */
    weft_graph_t *c = wt_graph("cyclic");
    WT_ASSERT_RC(weft_graph_add(c, NULL, wt_noop, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(c, 0, 0), 0);
    a = (wt_check_arg){c, -1, 7};
    ck_assert_int_eq(pthread_create(&th, NULL, wt_check_thread, &a), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    WT_ASSERT_RC(a.rc, WEFT_ECYCLE);
    ck_assert_uint_eq(a.v, 0);
    wt_graph_free(c);
    wt_destroy(rt);
}
END_TEST

/* Another thread tries to change and run the graph while it runs. */
typedef struct wt_intruder {
    weft_graph_t *g;
    weft_runtime_t *rt;
    int add, precede, run, free_rc;
    weft_run_t *got;
} wt_intruder;

static void *wt_intrude(void *arg)
{
    wt_intruder *t = arg;
    t->add = weft_graph_add(t->g, "late", wt_noop, NULL, NULL);
    t->precede = weft_graph_precede(t->g, 0, 2);
    t->got = (weft_run_t *)t;
    t->run = weft_graph_run_async(t->g, t->rt, NULL, &t->got);
    t->free_rc = weft_graph_free(t->g);
    return NULL;
}

START_TEST(test_busy_from_other_thread)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_run_t *run = NULL;
    weft_graph_t *g = wt_gated_graph(rt, &run);
    wt_intruder t = {.g = g, .rt = rt};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, wt_intrude, &t), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    WT_ASSERT_RC(t.add, WEFT_EBUSY);
    WT_ASSERT_RC(t.precede, WEFT_EBUSY);
    WT_ASSERT_RC(t.run, 0); /* runs of one graph may overlap */
    ck_assert_ptr_nonnull(t.got);
    ck_assert_ptr_ne(t.got, run);
    WT_ASSERT_RC(t.free_rc, WEFT_EBUSY);
    wt_gate_open(&wt_gate);
    WT_ASSERT_RC(weft_run_wait(t.got), 0);
    weft_run_counts_t c = wt_counts(t.got);
    WT_ASSERT_COUNTS(c, 3, 3, 0, 0, 0);
    wt_run_free(t.got);
    wt_finish_gated(g, run);
    wt_destroy(rt);
}
END_TEST

/* A node of the running graph tries to change it, run it and free it. */
static atomic_int wt_in_add = 1, wt_in_precede = 1, wt_in_run = 1, wt_in_free = 1,
                  wt_in_setarg = 1, wt_in_got_null;

static int wt_meddler(weft_node_ctx_t *ctx, void *arg)
{
    weft_graph_t *g = weft_node_graph(ctx);
    weft_run_t *r = (weft_run_t *)&wt_in_add; /* must be cleared */
    (void)arg;
    atomic_store(&wt_in_add, weft_graph_add(g, "late", wt_noop, NULL, NULL));
    atomic_store(&wt_in_precede, weft_graph_precede(g, 0, 1));
    atomic_store(&wt_in_setarg, weft_graph_set_arg(g, 0, "x", 1));
    atomic_store(&wt_in_run, weft_graph_run(g, weft_node_runtime(ctx), NULL, &r));
    atomic_store(&wt_in_got_null, r == NULL);
    atomic_store(&wt_in_free, weft_graph_free(g));
    return 0;
}

START_TEST(test_busy_from_inside_node)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("inside");
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_add(g, "a", wt_noop, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "meddler", wt_meddler, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "b", wt_noop, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 1), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 1, 2), 0);
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
    WT_ASSERT_RC(weft_run_wait(run), 0);
    WT_ASSERT_RC(wt_ld(&wt_in_add), WEFT_EBUSY);
    WT_ASSERT_RC(wt_ld(&wt_in_precede), WEFT_EBUSY);
    WT_ASSERT_RC(wt_ld(&wt_in_setarg), WEFT_EBUSY);
    WT_ASSERT_RC(wt_ld(&wt_in_run), WEFT_EBUSY);
    ck_assert_int_eq(wt_ld(&wt_in_got_null), 1);
    WT_ASSERT_RC(wt_ld(&wt_in_free), WEFT_EBUSY);
    weft_run_counts_t c = wt_counts(run); /* not stale: nothing changed */
    WT_ASSERT_COUNTS(c, 3, 3, 0, 0, 0);
    ck_assert_uint_eq(weft_graph_node_count(g), 3);
    ck_assert_uint_eq(weft_graph_edge_count(g), 2);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_free_with_live_run)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("live");
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_add(g, NULL, wt_noop, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    WT_ASSERT_RC(weft_graph_free(g), WEFT_EBUSY);
    /* still usable after the refused free */
    ck_assert_uint_eq(weft_graph_node_count(g), 1);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, 1, 1, 0, 0, 0);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* The context inside a node. */
static atomic_int wt_ctx_ok;
static weft_graph_t *wt_ctx_graph;
static weft_runtime_t *wt_ctx_rt;

static int wt_ctx_node(weft_node_ctx_t *ctx, void *arg)
{
    int ok = weft_node_id(ctx) == 1 && strcmp(weft_node_name(ctx), "middle") == 0 &&
             weft_node_graph(ctx) == wt_ctx_graph && weft_node_runtime(ctx) == wt_ctx_rt &&
             arg == (void *)&wt_ctx_ok && weft_node_cancelled(ctx) == 0 &&
             weft_current_runtime() == wt_ctx_rt && weft_node_input_count(ctx) == 1;
    size_t len = 5;
    if (weft_node_arg(ctx, &len) != NULL || len != 0) /* no argument bytes */
        ok = 0;
    atomic_store(&wt_ctx_ok, ok ? 1 : -1);
    return 0;
}

START_TEST(test_node_context)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("ctx");
    wt_ctx_graph = g;
    wt_ctx_rt = rt;
    WT_ASSERT_RC(weft_graph_add(g, "first", wt_noop, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "middle", wt_ctx_node, &wt_ctx_ok, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 1), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), 0);
    ck_assert_int_eq(wt_ld(&wt_ctx_ok), 1);
    ck_assert_ptr_null(weft_node_arg(NULL, NULL));
    ck_assert_uint_eq(weft_node_input_count(NULL), 0);
    ck_assert_uint_eq(weft_node_id(NULL), WEFT_NODE_NONE);
    WT_ASSERT_RC(weft_node_set_result(NULL, "x", 1), WEFT_EINVAL);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* Argument bytes of function nodes (weft_graph_set_arg). */
static unsigned char wt_arg_seen[300];
static atomic_long wt_arg_len = -1;

static int wt_arg_node(weft_node_ctx_t *ctx, void *arg)
{
    size_t len = 0;
    const void *p = weft_node_arg(ctx, &len);
    (void)arg;
    if (p && len <= sizeof wt_arg_seen)
        memcpy(wt_arg_seen, p, len);
    atomic_store(&wt_arg_len, p ? (long)len : -2);
    return 0;
}

START_TEST(test_set_arg)
{
    weft_runtime_t *rt = wt_runtime(1);
    weft_graph_t *g = wt_graph("args");
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)(255 - i);
    WT_ASSERT_RC(weft_graph_add(g, NULL, wt_arg_node, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_set_arg(g, 0, "first", 5), 0);
    WT_ASSERT_RC(weft_graph_set_arg(g, 0, bytes, sizeof bytes), 0); /* replaces */
    memset(bytes, 0, sizeof bytes); /* copied */
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), 0);
    ck_assert_int_eq(wt_ldl(&wt_arg_len), 256);
    int wrong = 0;
    for (int i = 0; i < 256; i++)
        wrong += wt_arg_seen[i] != (unsigned char)(255 - i);
    ck_assert_int_eq(wrong, 0);
    WT_ASSERT_RC(weft_graph_set_arg(g, 0, NULL, 0), 0); /* clears */
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), 0);
    ck_assert_int_eq(wt_ldl(&wt_arg_len), -2);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Failure                                                             */

START_TEST(test_failure_skips_descendants)
{
    enum { S0, F1, K1, K2, OK1, OK2, M, K3, K4, IND1, IND2, N };
    static const char *names[N] = {"s0", "f1", "k1", "k2", "ok1", "ok2",
                                   "m",  "k3", "k4", "ind1", "ind2"};
    static const int want[N] = {WEFT_NODE_DONE,    WEFT_NODE_FAILED,  WEFT_NODE_SKIPPED,
                                WEFT_NODE_SKIPPED, WEFT_NODE_DONE,    WEFT_NODE_DONE,
                                WEFT_NODE_SKIPPED, WEFT_NODE_SKIPPED, WEFT_NODE_SKIPPED,
                                WEFT_NODE_DONE,    WEFT_NODE_DONE};
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("failing");
    wt_rec r;
    wt_edges e = {0};
    weft_run_t *run = NULL;
    wt_rec_init(&r, N);
    for (int i = 0; i < N; i++) {
        weft_node_t v;
        WT_ASSERT_RC(weft_graph_add(g, names[i], wt_rec_node, &r, &v), 0);
        ck_assert_uint_eq(v, (unsigned)i);
    }
    r.fail[F1] = 42;
    wt_edge(g, &e, S0, F1);
    wt_edge(g, &e, F1, K1);
    wt_edge(g, &e, K1, K2);
    wt_edge(g, &e, S0, OK1);
    wt_edge(g, &e, OK1, OK2);
    wt_edge(g, &e, F1, M);
    wt_edge(g, &e, OK1, M);
    wt_edge(g, &e, K1, K3);
    wt_edge(g, &e, OK2, K3);
    wt_edge(g, &e, K3, K4);
    wt_edge(g, &e, IND1, IND2);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), WEFT_ETASK);
    ck_assert_ptr_nonnull(run);
    for (int i = 0; i < N; i++) {
        int code = 99;
        ck_assert_msg(weft_run_node_status(run, (weft_node_t)i) == want[i],
                      "node %s: status %s, expected %s", names[i],
                      weft_node_status_name(weft_run_node_status(run, (weft_node_t)i)),
                      weft_node_status_name(want[i]));
        ck_assert_int_eq(wt_ld(&r.calls[i]), want[i] == WEFT_NODE_SKIPPED ? 0 : 1);
        WT_ASSERT_RC(weft_run_node_code(run, (weft_node_t)i, &code), 0);
        ck_assert_int_eq(code, i == F1 ? 42 : 0);
    }
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, N, 5, 1, 5, 0);
    ck_assert_uint_eq(c.first_failed, F1);
    ck_assert_int_eq(c.first_code, 42);
    WT_ASSERT_RC(weft_run_wait(run), WEFT_ETASK);
    wt_run_free(run);

    /* Fixed, the graph runs clean (counts reset). */
    r.fail[F1] = 0;
    wt_rec_reset(&r);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    wt_assert_ran_once_in_order(&r, &e);
    c = wt_counts(run);
    WT_ASSERT_COUNTS(c, N, N, 0, 0, 0);
    ck_assert_uint_eq(c.first_failed, WEFT_NODE_NONE);
    ck_assert_int_eq(c.first_code, 0);
    wt_run_free(run);
    wt_rec_graph_free(g, &r, &e);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_failure_chain_first_only)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("two-failures");
    wt_rec r;
    wt_edges e = {0};
    weft_run_t *run = NULL;
    int code;
    wt_rec_init(&r, 4);
    wt_add_rec_nodes(g, &r, 4); /* 0 -> 1 (fails 7) -> 2 (would fail 9) -> 3 */
    r.fail[1] = 7;
    r.fail[2] = 9;
    wt_edge(g, &e, 0, 1);
    wt_edge(g, &e, 1, 2);
    wt_edge(g, &e, 2, 3);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), WEFT_ETASK);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, 4, 1, 1, 2, 0);
    ck_assert_uint_eq(c.first_failed, 1);
    ck_assert_int_eq(c.first_code, 7);
    ck_assert_int_eq(weft_run_node_status(run, 1), WEFT_NODE_FAILED);
    ck_assert_int_eq(weft_run_node_status(run, 2), WEFT_NODE_SKIPPED);
    ck_assert_int_eq(weft_run_node_status(run, 3), WEFT_NODE_SKIPPED);
    ck_assert_int_eq(wt_ld(&r.calls[2]), 0);
    WT_ASSERT_RC(weft_run_node_code(run, 2, &code), 0);
    ck_assert_int_eq(code, 0);
    wt_run_free(run);
    /* A negative code is a failure too, and is reported as is. */
    r.fail[1] = WEFT_ENOENT;
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), WEFT_ETASK);
    c = wt_counts(run);
    ck_assert_int_eq(c.first_code, WEFT_ENOENT);
    wt_run_free(run);
    wt_rec_graph_free(g, &r, &e);
    wt_destroy(rt);
}
END_TEST

/* Random DAGs with a few failing nodes: the exact outcome per node. */
START_TEST(test_failure_random_dags)
{
    enum { N = 3000 };
    weft_runtime_t *rt = wt_runtime(2);
    for (unsigned seed = 1; seed <= 6; seed++) {
        weft_graph_t *g = wt_graph("random-failures");
        wt_rec r;
        wt_edges e = {0};
        uint32_t *rank = NULL;
        weft_run_t *run = NULL;
        wt_rng_state = 1000 + seed;
        wt_rec_init(&r, N);
        wt_random_dag(g, &r, &e, N, 3, &rank);
        for (unsigned i = 0; i < seed; i++) {
            uint32_t v = wt_below(N);
            r.fail[v] = 100 + (int)v;
        }
        /* Expected: in topological order, skipped if a predecessor failed or
         * was skipped, else failed if it fails, else done. */
        uint32_t *by_rank = malloc(N * sizeof *by_rank);
        int *want = calloc(N, sizeof *want);
        ck_assert(by_rank && want);
        for (uint32_t v = 0; v < N; v++)
            by_rank[rank[v]] = v;
        for (uint32_t k = 0; k < N; k++) {
            uint32_t v = by_rank[k];
            int st = r.fail[v] ? WEFT_NODE_FAILED : WEFT_NODE_DONE;
            for (size_t i = 0; i < e.m; i++)
                if (e.dst[i] == v &&
                    (want[e.src[i]] == WEFT_NODE_FAILED || want[e.src[i]] == WEFT_NODE_SKIPPED))
                    st = WEFT_NODE_SKIPPED;
            want[v] = st;
        }
        uint64_t nd = 0, nf = 0, ns = 0;
        for (uint32_t v = 0; v < N; v++) {
            nd += want[v] == WEFT_NODE_DONE;
            nf += want[v] == WEFT_NODE_FAILED;
            ns += want[v] == WEFT_NODE_SKIPPED;
        }
        WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), nf ? WEFT_ETASK : 0);
        int wrong_status = 0, wrong_calls = 0, wrong_code = 0;
        uint32_t first_wrong = 0;
        for (uint32_t v = 0; v < N; v++) {
            int code = 0;
            if (weft_run_node_status(run, v) != want[v] && wrong_status++ == 0)
                first_wrong = v;
            wrong_calls += wt_ld(&r.calls[v]) != (want[v] == WEFT_NODE_SKIPPED ? 0 : 1);
            weft_run_node_code(run, v, &code);
            wrong_code += code != (want[v] == WEFT_NODE_FAILED ? 100 + (int)v : 0);
        }
        ck_assert_msg(wrong_status == 0, "seed %u: %d nodes with a wrong status; first %u: %s, expected %s",
                      seed, wrong_status, first_wrong,
                      weft_node_status_name(weft_run_node_status(run, first_wrong)),
                      weft_node_status_name(want[first_wrong]));
        ck_assert_int_eq(wrong_calls, 0);
        ck_assert_int_eq(wrong_code, 0);
        weft_run_counts_t c = wt_counts(run);
        WT_ASSERT_COUNTS(c, N, nd, nf, ns, 0);
        if (nf) {
            ck_assert_uint_lt(c.first_failed, N);
            ck_assert_int_eq(want[c.first_failed], WEFT_NODE_FAILED);
            ck_assert_int_eq(c.first_code, 100 + (int)c.first_failed);
        } else {
            ck_assert_uint_eq(c.first_failed, WEFT_NODE_NONE);
        }
        wt_run_free(run);
        free(by_rank);
        free(want);
        free(rank);
        wt_rec_graph_free(g, &r, &e);
    }
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Cancellation                                                        */

static _Atomic(weft_run_t *) wt_the_run;
static atomic_int wt_cancel_at = -1;
static atomic_int wt_cancel_seen_before = -1, wt_cancel_seen_after = -1;
static atomic_int wt_max_ran = -1;
static atomic_int wt_ran_count;

/* A chain node: waits for the run pointer (node 0), cancels the run when it
 * is node wt_cancel_at. */
static int wt_cancel_node(weft_node_ctx_t *ctx, void *arg)
{
    int v = (int)weft_node_id(ctx);
    (void)arg;
    if (v == 0) {
        double deadline = wt_now() + 30.0;
        while (atomic_load(&wt_the_run) == NULL && wt_now() < deadline)
            wt_sleep_s(50e-6);
    }
    atomic_fetch_add(&wt_ran_count, 1);
    int m = atomic_load(&wt_max_ran);
    while (v > m && !atomic_compare_exchange_weak(&wt_max_ran, &m, v)) {
    }
    if (v == atomic_load(&wt_cancel_at)) {
        atomic_store(&wt_cancel_seen_before, weft_node_cancelled(ctx));
        if (weft_run_cancel(atomic_load(&wt_the_run)) != 0)
            atomic_fetch_add(&wt_bad, 1);
        atomic_store(&wt_cancel_seen_after, weft_node_cancelled(ctx));
    }
    return 0;
}

START_TEST(test_cancel_chain_from_node)
{
    enum { N = 1000, K = 137 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("chain");
    weft_run_t *run = NULL;
    for (int i = 0; i < N; i++)
        WT_ASSERT_RC(weft_graph_add(g, NULL, wt_cancel_node, NULL, NULL), 0);
    for (int i = 0; i + 1 < N; i++)
        WT_ASSERT_RC(weft_graph_precede(g, (weft_node_t)i, (weft_node_t)i + 1), 0);
    atomic_store(&wt_cancel_at, K);
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
    atomic_store(&wt_the_run, run);
    WT_ASSERT_RC(weft_run_wait(run), WEFT_ECANCELED);
    ck_assert_int_eq(wt_ld(&wt_bad), 0);
    ck_assert_int_eq(wt_ld(&wt_cancel_seen_before), 0);
    ck_assert_int_eq(wt_ld(&wt_cancel_seen_after), 1);
    ck_assert_int_eq(weft_run_cancelled(run), 1);
    ck_assert_int_eq(weft_run_cancelled(NULL), 0);
    ck_assert_int_eq(wt_ld(&wt_max_ran), K); /* nothing after the cancelling node */
    ck_assert_int_eq(wt_ld(&wt_ran_count), K + 1);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, N, K + 1, 0, 0, N - K - 1);
    ck_assert_uint_eq(c.done + c.cancelled, c.total);
    ck_assert_uint_eq(c.first_failed, WEFT_NODE_NONE);
    int wrong = 0;
    for (int i = 0; i < N; i++)
        wrong += weft_run_node_status(run, (weft_node_t)i) !=
                 (i <= K ? WEFT_NODE_DONE : WEFT_NODE_CANCELLED);
    ck_assert_int_eq(wrong, 0);
    wt_run_free(run);

    /* The graph runs again in full: the cancellation does not stick. */
    atomic_store(&wt_cancel_at, -1);
    atomic_store(&wt_ran_count, 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    ck_assert_int_eq(wt_ld(&wt_ran_count), N);
    ck_assert_int_eq(weft_run_cancelled(run), 0);
    weft_run_counts_t c2 = wt_counts(run);
    WT_ASSERT_COUNTS(c2, N, N, 0, 0, 0);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* Chain node M announces itself and waits until the main thread has
 * cancelled; then it checks weft_node_cancelled and finishes. */
static atomic_int wt_reached, wt_go, wt_poll_saw;

static int wt_hold_node(weft_node_ctx_t *ctx, void *arg)
{
    int v = (int)weft_node_id(ctx), m = (int)(intptr_t)arg;
    atomic_fetch_add(&wt_ran_count, 1);
    int mx = atomic_load(&wt_max_ran);
    while (v > mx && !atomic_compare_exchange_weak(&wt_max_ran, &mx, v)) {
    }
    if (v == m) {
        wt_gate_open(&wt_reached);
        if (wt_gate_wait(&wt_go, 30.0) != 0)
            atomic_fetch_add(&wt_gate_timeouts, 1);
        atomic_store(&wt_poll_saw, weft_node_cancelled(ctx));
    }
    return 0;
}

START_TEST(test_cancel_chain_from_main)
{
    enum { N = 500, M = 42 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("chain");
    weft_run_t *run = NULL;
    for (int i = 0; i < N; i++)
        WT_ASSERT_RC(weft_graph_add(g, NULL, wt_hold_node, (void *)(intptr_t)M, NULL), 0);
    for (int i = 0; i + 1 < N; i++)
        WT_ASSERT_RC(weft_graph_precede(g, (weft_node_t)i, (weft_node_t)i + 1), 0);
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
    ck_assert_int_eq(wt_gate_wait(&wt_reached, 30.0), 0);
    ck_assert_int_eq(weft_run_node_status(run, M), WEFT_NODE_RUNNING);
    ck_assert_int_eq(weft_run_node_status(run, M - 1), WEFT_NODE_DONE);
    ck_assert_int_eq(weft_run_node_status(run, M + 1), WEFT_NODE_PENDING);
    WT_ASSERT_RC(weft_run_cancel(run), 0);
    WT_ASSERT_RC(weft_run_cancel(run), 0); /* twice is fine */
    wt_gate_open(&wt_go);
    WT_ASSERT_RC(weft_run_wait(run), WEFT_ECANCELED);
    ck_assert_int_eq(wt_ld(&wt_gate_timeouts), 0);
    ck_assert_int_eq(wt_ld(&wt_poll_saw), 1);
    ck_assert_int_eq(wt_ld(&wt_max_ran), M);
    ck_assert_int_eq(wt_ld(&wt_ran_count), M + 1);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, N, M + 1, 0, 0, N - M - 1);
    ck_assert_int_eq(weft_run_node_status(run, M), WEFT_NODE_DONE); /* running nodes finish */
    ck_assert_int_eq(weft_run_node_status(run, M + 1), WEFT_NODE_CANCELLED);
    ck_assert_int_eq(weft_run_node_status(run, N - 1), WEFT_NODE_CANCELLED);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* Wide graph: source -> W leaves -> sink; node wt_cancel_at cancels. */
static weft_graph_t *wt_wide_cancel_graph(int w)
{
    weft_graph_t *g = wt_graph("wide");
    for (int i = 0; i < w + 2; i++)
        WT_ASSERT_RC(weft_graph_add(g, NULL, wt_cancel_node, NULL, NULL), 0);
    for (int i = 1; i <= w; i++) {
        WT_ASSERT_RC(weft_graph_precede(g, 0, (weft_node_t)i), 0);
        WT_ASSERT_RC(weft_graph_precede(g, (weft_node_t)i, (weft_node_t)w + 1), 0);
    }
    return g;
}

START_TEST(test_cancel_wide_from_source)
{
    enum { W = 2000 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_wide_cancel_graph(W);
    weft_run_t *run = NULL;
    atomic_store(&wt_cancel_at, 0);
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
    atomic_store(&wt_the_run, run);
    WT_ASSERT_RC(weft_run_wait(run), WEFT_ECANCELED);
    ck_assert_int_eq(wt_ld(&wt_ran_count), 1);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, W + 2, 1, 0, 0, W + 1);
    ck_assert_int_eq(weft_run_node_status(run, 0), WEFT_NODE_DONE);
    ck_assert_int_eq(weft_run_node_status(run, W + 1), WEFT_NODE_CANCELLED);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_cancel_wide_from_leaf)
{
    enum { W = 2000, K = 1234 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_wide_cancel_graph(W);
    weft_run_t *run = NULL;
    atomic_store(&wt_cancel_at, K);
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
    atomic_store(&wt_the_run, run);
    WT_ASSERT_RC(weft_run_wait(run), WEFT_ECANCELED);
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.total, W + 2);
    ck_assert_uint_eq(c.done + c.cancelled, c.total);
    ck_assert_uint_eq(c.failed + c.skipped, 0);
    ck_assert_uint_ge(c.done, 2);
    ck_assert_uint_ge(c.cancelled, 1);
    ck_assert_uint_eq(c.done, (uint64_t)wt_ld(&wt_ran_count));
    ck_assert_int_eq(weft_run_node_status(run, 0), WEFT_NODE_DONE);
    ck_assert_int_eq(weft_run_node_status(run, K), WEFT_NODE_DONE);
    ck_assert_int_eq(weft_run_node_status(run, W + 1), WEFT_NODE_CANCELLED);
    int other = 0;
    for (int i = 0; i < W + 2; i++) {
        int st = weft_run_node_status(run, (weft_node_t)i);
        other += st != WEFT_NODE_DONE && st != WEFT_NODE_CANCELLED;
    }
    ck_assert_int_eq(other, 0);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_cancel_finished_run)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("done");
    wt_rec r;
    weft_run_t *run = NULL;
    wt_rec_init(&r, 10);
    wt_add_rec_nodes(g, &r, 10);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    WT_ASSERT_RC(weft_run_cancel(run), 0); /* already finished: nothing changes */
    WT_ASSERT_RC(weft_run_wait(run), 0);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, 10, 10, 0, 0, 0);
    int cancelled_seen = 0;
    for (int i = 0; i < 10; i++)
        cancelled_seen += wt_ld(&r.saw_cancel[i]);
    ck_assert_int_eq(cancelled_seen, 0);
    wt_run_free(run);
    wt_rec_free(&r);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Dynamic work inside nodes                                           */

static atomic_int wt_spawned_done;
static atomic_int wt_spawn_flags[16];

static int wt_slow_flag_task(void *arg, void **result)
{
    (void)result;
    wt_sleep_s(0.01);
    atomic_store(&wt_spawn_flags[(intptr_t)arg], 1);
    atomic_fetch_add(&wt_spawned_done, 1);
    return 0;
}

static int wt_spawner(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    for (intptr_t i = 0; i < 16; i++)
        if (weft_submit(weft_node_runtime(ctx), wt_slow_flag_task, (void *)i, NULL, NULL) != 0)
            atomic_fetch_add(&wt_bad, 1);
    return 0; /* returns at once: the tasks are still running */
}

START_TEST(test_node_spawns_tasks)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("spawn");
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_add(g, "spawner", wt_spawner, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "after", wt_noop, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 1), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    ck_assert_int_eq(wt_ld(&wt_spawned_done), 16);
    int missing = 0;
    for (int i = 0; i < 16; i++)
        missing += !atomic_load(&wt_spawn_flags[i]);
    ck_assert_int_eq(missing, 0);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, 2, 2, 0, 0, 0);
    wt_run_free(run);
    /* Asynchronously: weft_run_wait waits for the spawned tasks too. */
    atomic_store(&wt_spawned_done, 0);
    for (int i = 0; i < 16; i++)
        atomic_store(&wt_spawn_flags[i], 0);
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
    WT_ASSERT_RC(weft_run_wait(run), 0);
    ck_assert_int_eq(wt_ld(&wt_spawned_done), 16);
    ck_assert_int_eq(wt_ld(&wt_bad), 0);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

static atomic_int wt_tree_tasks;

static int wt_tree_task(void *arg, void **result)
{
    intptr_t depth = (intptr_t)arg;
    (void)result;
    atomic_fetch_add(&wt_tree_tasks, 1);
    if (depth > 0)
        for (int i = 0; i < 2; i++)
            if (weft_submit(weft_current_runtime(), wt_tree_task, (void *)(depth - 1), NULL, NULL) != 0)
                atomic_fetch_add(&wt_bad, 1);
    return 0;
}

static int wt_tree_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    return weft_submit(weft_node_runtime(ctx), wt_tree_task, (void *)(intptr_t)11, NULL, NULL);
}

START_TEST(test_node_recursive_spawn)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("tree");
    for (int i = 0; i < 4; i++)
        WT_ASSERT_RC(weft_graph_add(g, NULL, wt_tree_node, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 3), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), 0);
    ck_assert_int_eq(wt_ld(&wt_tree_tasks), 4 * 4095); /* 2^12 - 1 tasks per node */
    ck_assert_int_eq(wt_ld(&wt_bad), 0);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

static int wt_pfor_body(void *ctx, int64_t begin, int64_t end)
{
    uint64_t s = 0;
    for (int64_t i = begin; i < end; i++)
        s += (uint64_t)i;
    atomic_fetch_add((atomic_ullong *)ctx, s);
    return 0;
}

static int wt_pfor_node(weft_node_ctx_t *ctx, void *arg)
{
    atomic_ullong sum = 0;
    int64_t n = (int64_t)(intptr_t)arg;
    int rc = weft_parallel_for(weft_node_runtime(ctx), 0, n, 997, wt_pfor_body, &sum);
    if (rc)
        return rc;
    uint64_t s = atomic_load(&sum);
    return weft_node_set_result(ctx, &s, sizeof s);
}

static int wt_sum_inputs(weft_node_ctx_t *ctx, void *arg)
{
    uint64_t total = 0;
    (void)arg;
    for (size_t i = 0; i < weft_node_input_count(ctx); i++) {
        size_t len = 0;
        const void *p = weft_node_input(ctx, i, &len);
        uint64_t x;
        if (!p || len != sizeof x)
            return 1;
        memcpy(&x, p, sizeof x);
        total += x;
    }
    return weft_node_set_result(ctx, &total, sizeof total);
}

START_TEST(test_node_parallel_for)
{
    enum { K = 6, N = 200000 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("pfor");
    weft_node_t sink;
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_add(g, "sum", wt_sum_inputs, NULL, &sink), 0);
    for (int i = 0; i < K; i++) {
        weft_node_t v;
        WT_ASSERT_RC(weft_graph_add(g, NULL, wt_pfor_node, (void *)(intptr_t)(N + i), &v), 0);
        WT_ASSERT_RC(weft_graph_precede(g, v, sink), 0);
    }
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    uint64_t want = 0;
    for (uint64_t i = 0; i < K; i++)
        want += (uint64_t)(N + i) * (N + i - 1) / 2;
    const void *data;
    size_t len;
    uint64_t got = 0;
    WT_ASSERT_RC(weft_run_result(run, sink, &data, &len), 0);
    ck_assert_uint_eq(len, sizeof got);
    memcpy(&got, data, sizeof got);
    ck_assert_uint_eq(got, want);
    WT_ASSERT_RC(weft_run_result(run, 1, &data, &len), 0);
    memcpy(&got, data, sizeof got);
    ck_assert_uint_eq(got, (uint64_t)N * (N - 1) / 2);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* A node runs a whole other graph and waits for it. */
static atomic_int wt_nested_rc = 1;
static atomic_ullong wt_nested_done;

static int wt_nested_node(weft_node_ctx_t *ctx, void *arg)
{
    weft_graph_t *inner = arg;
    weft_run_t *run = NULL;
    int rc = weft_graph_run(inner, weft_node_runtime(ctx), NULL, &run);
    atomic_store(&wt_nested_rc, rc);
    if (run) {
        weft_run_counts_t c;
        if (weft_run_counts(run, &c) == 0)
            atomic_store(&wt_nested_done, c.done);
        weft_run_free(run);
    }
    return rc;
}

START_TEST(test_node_nested_graph_run)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *inner = wt_graph("inner"), *outer = wt_graph("outer");
    wt_rec ri, ro;
    wt_edges ei = {0};
    wt_rng_state = 5;
    wt_rec_init(&ri, 500);
    wt_random_dag(inner, &ri, &ei, 500, 3, NULL);
    wt_rec_init(&ro, 2);
    wt_add_rec_nodes(outer, &ro, 2);
    weft_node_t mid;
    WT_ASSERT_RC(weft_graph_add(outer, "nested", wt_nested_node, inner, &mid), 0);
    WT_ASSERT_RC(weft_graph_precede(outer, 0, mid), 0);
    WT_ASSERT_RC(weft_graph_precede(outer, mid, 1), 0);
    WT_ASSERT_RC(weft_graph_run(outer, rt, NULL, NULL), 0);
    WT_ASSERT_RC(wt_ld(&wt_nested_rc), 0);
    ck_assert_uint_eq(wt_ldull(&wt_nested_done), 500);
    wt_assert_ran_once_in_order(&ri, &ei);
    /* the inner run sat between outer's 0 and 1 */
    unsigned lo = UINT32_MAX, hi = 0;
    for (size_t v = 0; v < 500; v++) {
        unsigned s = atomic_load(&ri.start[v]), t = atomic_load(&ri.end[v]);
        lo = s < lo ? s : lo;
        hi = t > hi ? t : hi;
    }
    ck_assert_uint_lt(atomic_load(&ro.end[0]), lo);
    ck_assert_uint_lt(hi, atomic_load(&ro.start[1]));
    wt_edges_free(&ei);
    wt_rec_free(&ri);
    wt_rec_free(&ro);
    wt_graph_free(outer);
    wt_graph_free(inner);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_subgraph_node)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *sub = wt_graph("sub"), *g = wt_graph("main");
    wt_rec rs, rm;
    wt_edges es = {0};
    weft_node_t a, s, b;
    weft_run_t *run = NULL;
    wt_rec_init(&rs, 4);
    wt_add_rec_nodes(sub, &rs, 4); /* a diamond */
    wt_edge(sub, &es, 0, 1);
    wt_edge(sub, &es, 0, 2);
    wt_edge(sub, &es, 1, 3);
    wt_edge(sub, &es, 2, 3);
    wt_rec_init(&rm, 3);
    WT_ASSERT_RC(weft_graph_add(g, "a", wt_rec_node, &rm, &a), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "inner", sub, &s), 0);
    WT_ASSERT_RC(weft_graph_add(g, "b", wt_rec_node, &rm, &b), 0);
    ck_assert_uint_eq(s, 1);
    ck_assert_str_eq(weft_graph_node_name(g, s), "inner");
    ck_assert_ptr_null(weft_graph_node_task(g, s));
    WT_ASSERT_RC(weft_graph_precede(g, a, s), 0);
    WT_ASSERT_RC(weft_graph_precede(g, s, b), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    wt_assert_ran_once_in_order(&rs, &es);
    ck_assert_int_eq(wt_ld(&rm.calls[a]), 1);
    ck_assert_int_eq(wt_ld(&rm.calls[b]), 1);
    for (int v = 0; v < 4; v++) {
        ck_assert_uint_lt(atomic_load(&rm.end[a]), atomic_load(&rs.start[v]));
        ck_assert_uint_lt(atomic_load(&rs.end[v]), atomic_load(&rm.start[b]));
    }
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, 3, 3, 0, 0, 0);
    ck_assert_int_eq(weft_run_node_status(run, s), WEFT_NODE_DONE);
    wt_run_free(run);
    /* Again: the subgraph runs again. */
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), 0);
    for (int v = 0; v < 4; v++)
        ck_assert_int_eq(wt_ld(&rs.calls[v]), 2);
    /* The subgraph cannot go while its parent lives. */
    WT_ASSERT_RC(weft_graph_free(sub), WEFT_EBUSY);
    wt_graph_free(g);
    wt_graph_free(sub);
    wt_edges_free(&es);
    wt_rec_free(&rs);
    wt_rec_free(&rm);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_subgraph_twice_in_sequence)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *sub = wt_graph("sub"), *g = wt_graph("main");
    wt_rec rs;
    weft_node_t s1, s2;
    wt_rec_init(&rs, 3);
    wt_add_rec_nodes(sub, &rs, 3);
    WT_ASSERT_RC(weft_graph_precede(sub, 0, 1), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "first", sub, &s1), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "second", sub, &s2), 0);
    WT_ASSERT_RC(weft_graph_precede(g, s1, s2), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), 0);
    for (int v = 0; v < 3; v++)
        ck_assert_int_eq(wt_ld(&rs.calls[v]), 2);
    wt_graph_free(g);
    wt_graph_free(sub);
    wt_rec_free(&rs);
    wt_destroy(rt);
}
END_TEST

/* Two subgraph nodes of one graph, not ordered by any edge, run it at the
 * same time: the node inside waits until both runs are in it at once, so
 * the test fails (by timeout) unless the runs truly overlap. */
static atomic_int wt_meet_in, wt_meet_timeouts;

static int wt_meet(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    int k = atomic_fetch_add(&wt_meet_in, 1) + 1;
    double deadline = wt_now() + 30.0;
    while (k % 2 == 1 && atomic_load(&wt_meet_in) == k) { /* the first waits for the second */
        if (wt_now() > deadline) {
            atomic_fetch_add(&wt_meet_timeouts, 1);
            break;
        }
        wt_sleep_s(50e-6);
    }
    return weft_node_set_result(ctx, &k, sizeof k);
}

START_TEST(test_subgraph_shared_overlapping)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *sub = wt_graph("shared"), *g = wt_graph("main");
    weft_node_t m, s1, s2, z;
    WT_ASSERT_RC(weft_graph_add(sub, "meet", wt_meet, NULL, &m), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "left", sub, &s1), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "right", sub, &s2), 0);
    WT_ASSERT_RC(weft_graph_add(g, "join", wt_noop, NULL, &z), 0);
    WT_ASSERT_RC(weft_graph_precede(g, s1, z), 0);
    WT_ASSERT_RC(weft_graph_precede(g, s2, z), 0);
    for (int round = 0; round < 3; round++) {
        weft_run_t *run = NULL, *r1 = NULL, *r2 = NULL;
        WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
        weft_run_counts_t c = wt_counts(run);
        WT_ASSERT_COUNTS(c, 3, 3, 0, 0, 0);
        WT_ASSERT_RC(weft_run_subrun(run, s1, &r1), 0);
        WT_ASSERT_RC(weft_run_subrun(run, s2, &r2), 0);
        ck_assert_ptr_ne(r1, r2);
        /* each record has its own result: one run came first, one second */
        const void *d1, *d2;
        size_t l1, l2;
        int k1, k2;
        WT_ASSERT_RC(weft_run_result(r1, m, &d1, &l1), 0);
        WT_ASSERT_RC(weft_run_result(r2, m, &d2, &l2), 0);
        ck_assert_uint_eq(l1, sizeof k1);
        ck_assert_uint_eq(l2, sizeof k2);
        memcpy(&k1, d1, sizeof k1);
        memcpy(&k2, d2, sizeof k2);
        ck_assert_int_eq(k1 + k2, 4 * round + 3); /* 1+2, 3+4, 5+6 */
        wt_run_free(run);
    }
    ck_assert_int_eq(wt_ld(&wt_meet_timeouts), 0);
    /* free to change again once no run is left */
    WT_ASSERT_RC(weft_graph_add(sub, "late", wt_noop, NULL, NULL), 0);
    wt_graph_free(g);
    wt_graph_free(sub);
    wt_destroy(rt);
}
END_TEST

/* A graph cannot run inside one of its own runs, however the call gets
 * there: from a node, from a task a node spawned, or from a node of a
 * subgraph. Other graphs run there fine. */
static atomic_int wt_rec_direct = 1, wt_rec_job = 1, wt_rec_sub = 1, wt_rec_subself = 1,
                  wt_rec_other = 1, wt_rec_msg;
static weft_graph_t *wt_rec_top, *wt_rec_inner, *wt_rec_free_graph;

static int wt_rec_run_top(void *arg, void **result)
{
    (void)result;
    weft_run_t *r = (weft_run_t *)&wt_rec_job;
    int rc = weft_graph_run(wt_rec_top, arg, NULL, &r);
    return rc ? rc : r == NULL ? 0 : -1000;
}

static int wt_self_run_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    weft_runtime_t *rt = weft_node_runtime(ctx);
    atomic_store(&wt_rec_direct, weft_graph_run(wt_rec_top, rt, NULL, NULL));
    atomic_store(&wt_rec_msg, strstr(weft_graph_error(), "'top' cannot run inside") != NULL);
    weft_job_t *j = NULL;
    int st = 1;
    WT_ASSERT_RC(weft_submit(rt, wt_rec_run_top, rt, NULL, &j), 0);
    WT_ASSERT_RC(weft_job_wait(j, &st, NULL), WEFT_ETASK); /* the task's status: */
    weft_job_free(j);
    atomic_store(&wt_rec_job, st);
    atomic_store(&wt_rec_other, weft_graph_run(wt_rec_free_graph, rt, NULL, NULL));
    return 0;
}

static int wt_rec_inner_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    weft_runtime_t *rt = weft_node_runtime(ctx);
    atomic_store(&wt_rec_sub, weft_graph_run(wt_rec_top, rt, NULL, NULL));
    atomic_store(&wt_rec_subself, weft_graph_run(wt_rec_inner, rt, NULL, NULL));
    return 0;
}

START_TEST(test_run_inside_own_run_refused)
{
    weft_runtime_t *rt = wt_runtime(2);
    wt_rec_top = wt_graph("top");
    wt_rec_inner = wt_graph("inner");
    wt_rec_free_graph = wt_graph("free");
    WT_ASSERT_RC(weft_graph_add(wt_rec_free_graph, "x", wt_noop, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(wt_rec_inner, "in", wt_rec_inner_node, NULL, NULL), 0);
    weft_node_t a, s;
    WT_ASSERT_RC(weft_graph_add(wt_rec_top, "a", wt_self_run_node, NULL, &a), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(wt_rec_top, "s", wt_rec_inner, &s), 0);
    WT_ASSERT_RC(weft_graph_precede(wt_rec_top, a, s), 0);
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run(wt_rec_top, rt, NULL, &run), 0);
    WT_ASSERT_RC(wt_ld(&wt_rec_direct), WEFT_EBUSY);
    ck_assert_int_eq(wt_ld(&wt_rec_msg), 1);
    WT_ASSERT_RC(wt_ld(&wt_rec_job), WEFT_EBUSY);
    WT_ASSERT_RC(wt_ld(&wt_rec_sub), WEFT_EBUSY);
    WT_ASSERT_RC(wt_ld(&wt_rec_subself), WEFT_EBUSY);
    WT_ASSERT_RC(wt_ld(&wt_rec_other), 0);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, 2, 2, 0, 0, 0);
    wt_run_free(run);
    /* outside any run, all three run */
    WT_ASSERT_RC(weft_graph_run(wt_rec_inner, rt, NULL, NULL), 0);
    wt_graph_free(wt_rec_top);
    wt_graph_free(wt_rec_inner);
    wt_graph_free(wt_rec_free_graph);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_subgraph_node_fails)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *sub = wt_graph("sub"), *g = wt_graph("main");
    wt_rec rs, rm;
    weft_node_t a, s, b, c0;
    weft_run_t *run = NULL;
    wt_rec_init(&rs, 3);
    wt_add_rec_nodes(sub, &rs, 3);
    WT_ASSERT_RC(weft_graph_precede(sub, 0, 1), 0);
    WT_ASSERT_RC(weft_graph_precede(sub, 1, 2), 0);
    rs.fail[1] = 5;
    wt_rec_init(&rm, 4);
    WT_ASSERT_RC(weft_graph_add(g, "a", wt_rec_node, &rm, &a), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "inner", sub, &s), 0);
    WT_ASSERT_RC(weft_graph_add(g, "b", wt_rec_node, &rm, &b), 0);
    WT_ASSERT_RC(weft_graph_add(g, "c", wt_rec_node, &rm, &c0), 0);
    WT_ASSERT_RC(weft_graph_precede(g, a, s), 0);
    WT_ASSERT_RC(weft_graph_precede(g, s, b), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), WEFT_ETASK);
    ck_assert_int_eq(wt_ld(&rs.calls[0]), 1);
    ck_assert_int_eq(wt_ld(&rs.calls[1]), 1);
    ck_assert_int_eq(wt_ld(&rs.calls[2]), 0); /* skipped inside the subgraph */
    ck_assert_int_eq(wt_ld(&rm.calls[b]), 0);
    ck_assert_int_eq(wt_ld(&rm.calls[c0]), 1);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, 4, 2, 1, 1, 0);
    ck_assert_uint_eq(c.first_failed, s);
    /* the subgraph node's code: what running the subgraph returned */
    ck_assert_int_eq(c.first_code, WEFT_ETASK);
    ck_assert_int_eq(weft_run_node_status(run, s), WEFT_NODE_FAILED);
    ck_assert_int_eq(weft_run_node_status(run, b), WEFT_NODE_SKIPPED);
    wt_run_free(run);
    wt_graph_free(g);
    wt_graph_free(sub);
    wt_rec_free(&rs);
    wt_rec_free(&rm);
    wt_destroy(rt);
}
END_TEST

/* Stores the address of the run record it runs in as its result. */
static int wt_store_run(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    weft_run_t *r = weft_node_run(ctx);
    return weft_node_set_result(ctx, &r, sizeof r);
}

static int wt_fails(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 7;
}

START_TEST(test_subrun_records)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *sub = wt_graph("sub"), *g = wt_graph("main");
    weft_node_t a, s, t, x, y;
    weft_run_t *run = NULL, *sr = NULL, *sr2 = NULL;
    ck_assert_ptr_null(weft_node_run(NULL));
    WT_ASSERT_RC(weft_graph_add(sub, "in", wt_store_run, NULL, &x), 0);
    WT_ASSERT_RC(weft_graph_add(sub, "in2", wt_noop, NULL, &y), 0);
    WT_ASSERT_RC(weft_graph_precede(sub, x, y), 0);
    WT_ASSERT_RC(weft_graph_add(g, "a", wt_store_run, NULL, &a), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "s", sub, &s), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "t", sub, &t), 0);
    WT_ASSERT_RC(weft_graph_precede(g, a, s), 0);
    WT_ASSERT_RC(weft_graph_precede(g, s, t), 0);
    /* edges in the order they were added */
    weft_node_t e0, e1;
    ck_assert_uint_eq(weft_graph_edge_count(g), 2);
    WT_ASSERT_RC(weft_graph_edge(g, 1, &e0, &e1), 0);
    ck_assert_uint_eq(e0, s);
    ck_assert_uint_eq(e1, t);
    WT_ASSERT_RC(weft_graph_edge(g, 2, &e0, &e1), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_edge(NULL, 0, &e0, &e1), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    const void *d;
    size_t len;
    weft_run_t *seen;
    /* a top node sees the top run */
    WT_ASSERT_RC(weft_run_result(run, a, &d, &len), 0);
    ck_assert_uint_eq(len, sizeof seen);
    memcpy(&seen, d, sizeof seen);
    ck_assert_ptr_eq(seen, run);
    /* each subgraph node has its own record; a node inside sees it */
    WT_ASSERT_RC(weft_run_subrun(run, s, &sr), 0);
    WT_ASSERT_RC(weft_run_subrun(run, t, &sr2), 0);
    ck_assert_ptr_nonnull(sr);
    ck_assert_ptr_ne(sr, sr2);
    ck_assert_ptr_eq(weft_run_graph(sr), sub);
    WT_ASSERT_RC(weft_run_result(sr, x, &d, &len), 0);
    memcpy(&seen, d, sizeof seen);
    ck_assert_ptr_eq(seen, sr);
    ck_assert_int_eq(weft_run_node_status(sr, y), WEFT_NODE_DONE);
    /* not subgraph nodes, bad arguments */
    WT_ASSERT_RC(weft_run_subrun(run, a, &sr), WEFT_EINVAL);
    ck_assert_ptr_null(sr);
    WT_ASSERT_RC(weft_run_subrun(run, 99, &sr), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_subrun(NULL, s, &sr), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_subrun(run, s, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_subrun(sr2, x, &sr), WEFT_EINVAL); /* a graph without subgraphs */
    wt_run_free(run);
    /* a subgraph node that did not run has no record */
    weft_graph_t *f = wt_graph("f");
    weft_node_t fa, fs;
    WT_ASSERT_RC(weft_graph_add(f, "fail", wt_fails, NULL, &fa), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(f, "s", sub, &fs), 0);
    WT_ASSERT_RC(weft_graph_precede(f, fa, fs), 0);
    WT_ASSERT_RC(weft_graph_run(f, rt, NULL, &run), WEFT_ETASK);
    WT_ASSERT_RC(weft_run_subrun(run, fs, &sr), WEFT_ENOENT);
    wt_run_free(run);
    wt_graph_free(f);
    wt_graph_free(g);
    wt_graph_free(sub);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_subgraph_refusals)
{
    weft_graph_t *a = wt_graph("A"), *b = wt_graph("B"), *c = wt_graph("C");
    weft_node_t v = 0;
    WT_ASSERT_RC(weft_graph_add(a, NULL, wt_noop, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(a, "self", a, &v), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_add_subgraph(a, "b", b, &v), 0); /* A contains B */
    ck_assert_uint_eq(v, 1);
    WT_ASSERT_RC(weft_graph_add_subgraph(b, "a", a, &v), WEFT_ECYCLE);
    WT_ASSERT_RC(weft_graph_add_subgraph(b, "c", c, &v), 0); /* B contains C */
    ck_assert_uint_eq(v, 0);
    /* which graph a node runs */
    ck_assert_ptr_eq(weft_graph_node_subgraph(a, 1), b);
    ck_assert_ptr_eq(weft_graph_node_subgraph(b, 0), c);
    ck_assert_ptr_null(weft_graph_node_subgraph(a, 0)); /* a plain node */
    ck_assert_ptr_null(weft_graph_node_subgraph(a, 2)); /* no such node */
    ck_assert_ptr_null(weft_graph_node_subgraph(NULL, 0));
    WT_ASSERT_RC(weft_graph_add_subgraph(c, "a", a, &v), WEFT_ECYCLE); /* through B */
    WT_ASSERT_RC(weft_graph_add_subgraph(c, "b", b, &v), WEFT_ECYCLE);
    WT_ASSERT_RC(weft_graph_add_subgraph(c, "c", c, &v), WEFT_EINVAL);
    ck_assert_uint_eq(weft_graph_node_count(a), 2);
    ck_assert_uint_eq(weft_graph_node_count(b), 1);
    ck_assert_uint_eq(weft_graph_node_count(c), 0);
    /* A may hold C directly too (no cycle: a DAG of containment). */
    WT_ASSERT_RC(weft_graph_add_subgraph(a, "c", c, &v), 0);
    ck_assert_uint_eq(v, 2);
    WT_ASSERT_RC(weft_graph_free(c), WEFT_EBUSY);
    WT_ASSERT_RC(weft_graph_free(b), WEFT_EBUSY);
    wt_graph_free(a);
    WT_ASSERT_RC(weft_graph_free(c), WEFT_EBUSY); /* B still holds it */
    wt_graph_free(b);
    wt_graph_free(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Scale                                                               */

static atomic_ullong wt_chain_next;
static atomic_ullong wt_chain_wrong;

static int wt_chain_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    unsigned long long k = atomic_fetch_add_explicit(&wt_chain_next, 1, memory_order_relaxed);
    if (k != weft_node_id(ctx))
        atomic_fetch_add_explicit(&wt_chain_wrong, 1, memory_order_relaxed);
    return 0;
}

static atomic_ullong wt_fan_calls;
static atomic_ullong wt_fan_inputs;

static int wt_fan_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    atomic_fetch_add_explicit(&wt_fan_calls, 1, memory_order_relaxed);
    if (weft_node_id(ctx) == 1) /* the sink */
        atomic_store(&wt_fan_inputs, weft_node_input_count(ctx));
    return 0;
}

START_TEST(test_million_chain)
{
    uint64_t n = wt_scaled(1000000, 1000);
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("chain");
    weft_run_t *run = NULL;
    double t0 = wt_now();
    int bad = 0;
    for (uint64_t i = 0; i < n; i++) {
        weft_node_t v;
        bad += weft_graph_add(g, NULL, wt_chain_node, NULL, &v) != 0 || v != i;
        if (i)
            bad += weft_graph_precede(g, (weft_node_t)(i - 1), (weft_node_t)i) != 0;
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_uint_eq(weft_graph_node_count(g), n);
    ck_assert_uint_eq(weft_graph_edge_count(g), n - 1);
    double t1 = wt_now();
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    double t2 = wt_now();
    ck_assert_uint_eq(wt_ldull(&wt_chain_next), n);
    ck_assert_uint_eq(wt_ldull(&wt_chain_wrong), 0);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, n, n, 0, 0, 0);
    char last[32];
    snprintf(last, sizeof last, "n%llu", (unsigned long long)(n - 1));
    ck_assert_str_eq(weft_graph_node_name(g, (weft_node_t)(n - 1)), last);
    ck_assert_int_eq(weft_run_node_status(run, (weft_node_t)(n - 1)), WEFT_NODE_DONE);
    wt_run_free(run);
    fprintf(stderr, "graph chain: %llu nodes, build %.3f s, run %.3f s (scale %g)\n",
            (unsigned long long)n, t1 - t0, t2 - t1, wt_scale());
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_million_fan)
{
    uint64_t w = wt_scaled(1000000, 1000);
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("fan");
    weft_run_t *run = NULL;
    int bad = 0;
    double t0 = wt_now();
    WT_ASSERT_RC(weft_graph_add(g, "source", wt_fan_node, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "sink", wt_fan_node, NULL, NULL), 0);
    for (uint64_t i = 0; i < w; i++) {
        weft_node_t v;
        bad += weft_graph_add(g, NULL, wt_fan_node, NULL, &v) != 0;
        bad += weft_graph_precede(g, 0, v) != 0;
        bad += weft_graph_succeed(g, 1, v) != 0;
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_uint_eq(weft_graph_edge_count(g), 2 * w);
    double t1 = wt_now();
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    double t2 = wt_now();
    ck_assert_uint_eq(wt_ldull(&wt_fan_calls), w + 2);
    ck_assert_uint_eq(wt_ldull(&wt_fan_inputs), w);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, w + 2, w + 2, 0, 0, 0);
    wt_run_free(run);
    /* Rerun: the compiled form is reused. */
    atomic_store(&wt_fan_calls, 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    ck_assert_uint_eq(wt_ldull(&wt_fan_calls), w + 2);
    wt_run_free(run);
    fprintf(stderr, "graph fan: %llu leaves, build %.3f s, run %.3f s (scale %g)\n",
            (unsigned long long)w, t1 - t0, t2 - t1, wt_scale());
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Progress, statistics, node times                                    */

#define WT_MAX_REPORTS 4096
static weft_progress_t wt_reports[WT_MAX_REPORTS];
static atomic_int wt_nreports;
static atomic_int wt_report_wrong_thread;
static pthread_t wt_main_thread;

static void wt_progress_cb(void *data, const weft_progress_t *p)
{
    int i = atomic_fetch_add(&wt_nreports, 1);
    if (data != (void *)&wt_nreports)
        atomic_fetch_add(&wt_bad, 1);
    if (!pthread_equal(pthread_self(), wt_main_thread))
        atomic_fetch_add(&wt_report_wrong_thread, 1);
    if (i < WT_MAX_REPORTS)
        wt_reports[i] = *p;
}

static int wt_nap_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    wt_sleep_s(0.002);
    return 0;
}

static weft_graph_t *wt_nap_chain(int n)
{
    weft_graph_t *g = wt_graph("naps");
    for (int i = 0; i < n; i++)
        WT_ASSERT_RC(weft_graph_add(g, NULL, wt_nap_node, NULL, NULL), 0);
    for (int i = 0; i + 1 < n; i++)
        WT_ASSERT_RC(weft_graph_precede(g, (weft_node_t)i, (weft_node_t)i + 1), 0);
    return g;
}

START_TEST(test_progress_callback)
{
    enum { N = 100 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_nap_chain(N); /* >= 0.2 s */
    weft_run_opts_t o = {.progress = wt_progress_cb,
                         .progress_data = &wt_nreports,
                         .progress_interval_s = 0.01};
    wt_main_thread = pthread_self();
    WT_ASSERT_RC(weft_graph_run(g, rt, &o, NULL), 0);
    int n = wt_ld(&wt_nreports);
    ck_assert_int_ge(n, 3);
    ck_assert_int_le(n, WT_MAX_REPORTS);
    ck_assert_int_eq(wt_ld(&wt_report_wrong_thread), 0);
    ck_assert_int_eq(wt_ld(&wt_bad), 0);
    int wrong = 0;
    for (int i = 0; i < n; i++) {
        wrong += wt_reports[i].total != N || wt_reports[i].finished > N;
        if (i)
            wrong += wt_reports[i].finished < wt_reports[i - 1].finished ||
                     wt_reports[i].elapsed_s < wt_reports[i - 1].elapsed_s;
    }
    ck_assert_int_eq(wrong, 0);
    ck_assert_uint_lt(wt_reports[0].finished, N); /* reported while running */
    ck_assert_uint_eq(wt_reports[n - 1].finished, N); /* the final report */
    ck_assert_uint_eq(wt_reports[n - 1].total, N);
    ck_assert(wt_reports[n - 1].elapsed_s >= 0.19);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* Progress counts nodes, not chains: a pipeline of slow nodes (one chain of
 * successors) reports nodes as they finish, so some report falls strictly
 * between 0 and the total. */
START_TEST(test_progress_advances_in_chain)
{
    enum { N = 60 };
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_nap_chain(N); /* >= 0.12 s, one node every 2 ms */
    weft_run_opts_t o = {.progress = wt_progress_cb,
                         .progress_data = &wt_nreports,
                         .progress_interval_s = 0.005};
    wt_main_thread = pthread_self();
    WT_ASSERT_RC(weft_graph_run(g, rt, &o, NULL), 0);
    int n = wt_ld(&wt_nreports), between = 0;
    ck_assert_int_ge(n, 3);
    for (int i = 0; i < n && i < WT_MAX_REPORTS; i++)
        between += wt_reports[i].finished > 0 && wt_reports[i].finished < N;
    ck_assert_msg(between > 0, "none of %d reports during a %d-node chain showed 0 < finished < %d "
                               "(the report before the final one: %llu)",
                  n, N, N, (unsigned long long)wt_reports[n >= 2 ? n - 2 : 0].finished);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* A run that is already complete when it is waited for still gets its final
 * report from the waiting thread. */
START_TEST(test_progress_final_report_after_quick_run)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("quick");
    weft_run_t *run = NULL;
    weft_run_opts_t o = {.progress = wt_progress_cb, .progress_data = &wt_nreports};
    wt_main_thread = pthread_self();
    for (int i = 0; i < 3; i++)
        WT_ASSERT_RC(weft_graph_add(g, NULL, wt_noop, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_run_async(g, rt, &o, &run), 0);
    /* let it complete before anyone waits */
    double deadline = wt_now() + 10.0;
    while (wt_counts(run).done < 3 && wt_now() < deadline)
        wt_sleep_s(0.001);
    wt_sleep_s(0.05);
    WT_ASSERT_RC(weft_run_wait(run), 0);
    int n = wt_ld(&wt_nreports);
    ck_assert_msg(n >= 1, "no progress report at all for a run that finished before the wait");
    ck_assert_uint_eq(wt_reports[n - 1].finished, 3);
    ck_assert_uint_eq(wt_reports[n - 1].total, 3);
    wt_run_free(run);
    /* Synchronous runs of a tiny graph: each ends with a final report. */
    int missing = 0;
    for (int i = 0; i < 200; i++) {
        atomic_store(&wt_nreports, 0);
        WT_ASSERT_RC(weft_graph_run(g, rt, &o, NULL), 0);
        n = wt_ld(&wt_nreports);
        missing += n < 1 || wt_reports[n - 1].finished != 3;
    }
    ck_assert_msg(missing == 0, "%d of 200 quick synchronous runs got no final report", missing);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_progress_bar_not_a_terminal)
{
    /* Check runs this test in its own process; stderr goes to a file. */
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_nap_chain(50);
    char path[] = "/tmp/weft-test-stderr-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
    weft_run_opts_t o = {.progress_bar = 1, .progress_interval_s = 0.01};
    int rc = weft_graph_run(g, rt, &o, NULL);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    close(fd);
    unlink(path);
    WT_ASSERT_RC(rc, 0);
    ck_assert_int_eq((int)st.st_size, 0);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_progress_bar_terminal)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 || ptsname(master) == NULL) {
        fprintf(stderr, "test_progress_bar_terminal: no pseudo-terminal here, skipped\n");
        if (master >= 0)
            close(master);
        return;
    }
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    ck_assert_int_ge(slave, 0);
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_nap_chain(50);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    ck_assert_int_ge(dup2(slave, STDERR_FILENO), 0);
    weft_run_opts_t o = {.progress_bar = 1, .progress_interval_s = 0.01};
    int rc = weft_graph_run(g, rt, &o, NULL);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    WT_ASSERT_RC(rc, 0);
    char buf[65536];
    size_t got = 0;
    struct pollfd pfd = {.fd = master, .events = POLLIN};
    while (got < sizeof buf - 1 && poll(&pfd, 1, 200) > 0) {
        ssize_t k = read(master, buf + got, sizeof buf - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    buf[got] = 0;
    close(slave);
    close(master);
    ck_assert_msg(got > 0, "no progress bar on a terminal");
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* The number printed after `word ` in text, or -1. */
static long wt_count_after(const char *text, const char *word)
{
    char key[64];
    snprintf(key, sizeof key, "%s ", word);
    const char *p = strstr(text, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

START_TEST(test_print_stats)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("statsgraph");
    wt_rec r;
    weft_run_t *run = NULL;
    char *buf = NULL;
    size_t len = 0;
    wt_rec_init(&r, 6);
    static const char *names[6] = {"a", "bad_node", "c", "d", "e", "f"};
    for (int i = 0; i < 6; i++)
        WT_ASSERT_RC(weft_graph_add(g, names[i], wt_rec_node, &r, NULL), 0);
    r.fail[1] = 42;
    WT_ASSERT_RC(weft_graph_precede(g, 0, 1), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 1, 2), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 2, 3), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), WEFT_ETASK);
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    WT_ASSERT_RC(weft_run_print_stats(run, f), 0);
    fclose(f);
    ck_assert_msg(strstr(buf, "statsgraph") != NULL, "stats: %s", buf);
    ck_assert_msg(wt_count_after(buf, "done") == 3, "stats: %s", buf);
    ck_assert_msg(wt_count_after(buf, "failed") == 1, "stats: %s", buf);
    ck_assert_msg(wt_count_after(buf, "skipped") == 2, "stats: %s", buf);
    ck_assert_msg(wt_count_after(buf, "cancelled") == 0, "stats: %s", buf);
    ck_assert_msg(strstr(buf, "6 nodes") != NULL, "stats: %s", buf);
    ck_assert_msg(strstr(buf, "bad_node") != NULL && strstr(buf, "42") != NULL, "stats: %s", buf);
    free(buf);
    wt_run_free(run);

    /* Recorded: per-worker busy times. */
    r.fail[1] = 0;
    weft_run_opts_t o = {.record = 1};
    WT_ASSERT_RC(weft_graph_run(g, rt, &o, &run), 0);
    buf = NULL;
    f = open_memstream(&buf, &len);
    WT_ASSERT_RC(weft_run_print_stats(run, f), 0);
    fclose(f);
    ck_assert_msg(wt_count_after(buf, "done") == 6, "stats: %s", buf);
    ck_assert_msg(wt_count_after(buf, "failed") == 0, "stats: %s", buf);
    ck_assert_msg(strstr(buf, "bad_node") == NULL, "no failure to report: %s", buf);
    free(buf);
    wt_run_free(run);
    wt_rec_free(&r);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_node_times)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("times");
    wt_rec r;
    wt_edges e = {0};
    weft_run_t *run = NULL;
    double s, t;
    int w;
    wt_rec_init(&r, 5);
    wt_add_rec_nodes(g, &r, 5);
    wt_edge(g, &e, 0, 1);
    wt_edge(g, &e, 0, 2);
    wt_edge(g, &e, 1, 3);
    wt_edge(g, &e, 2, 3);
    wt_edge(g, &e, 2, 4);
    r.fail[2] = 3; /* 3 and 4 are skipped */
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), WEFT_ETASK);
    WT_ASSERT_RC(weft_run_node_time(run, 0, &s, &t, &w), WEFT_ENOENT); /* not recorded */
    wt_run_free(run);

    weft_run_opts_t o = {.record = 1};
    WT_ASSERT_RC(weft_graph_run(g, rt, &o, &run), WEFT_ETASK);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, 5, 2, 1, 2, 0);
    double end0 = 0;
    for (weft_node_t v = 0; v < 3; v++) {
        WT_ASSERT_RC(weft_run_node_time(run, v, &s, &t, &w), 0);
        ck_assert(s >= 0.0);
        ck_assert(t >= s);
        ck_assert(t <= c.wall_s);
        ck_assert_int_ge(w, 0);
        ck_assert_int_lt(w, 2);
        if (v == 0)
            end0 = t;
        else
            ck_assert(s >= end0); /* after its predecessor */
    }
    WT_ASSERT_RC(weft_run_node_time(run, 3, &s, &t, &w), WEFT_ENOENT); /* skipped */
    WT_ASSERT_RC(weft_run_node_time(run, 4, &s, &t, &w), WEFT_ENOENT);
    WT_ASSERT_RC(weft_run_node_time(run, 5, &s, &t, &w), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_node_time(run, 1, NULL, NULL, NULL), 0);
    wt_run_free(run);
    wt_rec_graph_free(g, &r, &e);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *graph_suite(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = wt_tcase(s, "build", WT_TIMEOUT_S);
    tcase_add_test(tc, test_create_and_auto_names);
    tcase_add_test(tc, test_names_are_copied);
    tcase_add_test(tc, test_name_length_limits);
    tcase_add_test(tc, test_find);
    tcase_add_test(tc, test_precede_succeed_same_edge);
    tcase_add_test(tc, test_edge_counts);
    tcase_add_test(tc, test_bad_node_ids);
    tcase_add_test(tc, test_null_arguments);
    tcase_add_test(tc, test_status_names);

    tc = wt_tcase(s, "cycles", WT_TIMEOUT_S);
    tcase_add_test(tc, test_self_edge_cycle);
    tcase_add_test(tc, test_two_node_cycle);
    tcase_add_test(tc, test_long_cycle_in_dag);
    tcase_add_test(tc, test_cycle_added_after_runs);

    tc = wt_tcase(s, "run", WT_TIMEOUT_S);
    tcase_add_test(tc, test_diamond);
    tcase_add_test(tc, test_empty_graph);
    tcase_add_test(tc, test_random_dags);
    tcase_add_test(tc, test_results_and_inputs);
    tcase_add_test(tc, test_inputs_order_after_change);
    tcase_add_test(tc, test_rerun_n);
    tcase_add_test(tc, test_rerun_repeated);
    tcase_add_test(tc, test_run_n_stops_at_failure);
    tcase_add_test(tc, test_stale_run_record);
    tcase_add_test(tc, test_counts_while_running);
    tcase_add_test(tc, test_busy_while_running);
    tcase_add_test(tc, test_busy_from_other_thread);
    tcase_add_test(tc, test_wait_timeout_any_double);
    tcase_add_test(tc, test_check_while_running);
    tcase_add_test(tc, test_busy_from_inside_node);
    tcase_add_test(tc, test_free_with_live_run);
    tcase_add_test(tc, test_node_context);
    tcase_add_test(tc, test_set_arg);

    tc = wt_tcase(s, "failure", WT_TIMEOUT_S);
    tcase_add_test(tc, test_failure_skips_descendants);
    tcase_add_test(tc, test_failure_chain_first_only);
    tcase_add_test(tc, test_failure_random_dags);

    tc = wt_tcase(s, "cancel", WT_TIMEOUT_S);
    tcase_add_test(tc, test_cancel_chain_from_node);
    tcase_add_test(tc, test_cancel_chain_from_main);
    tcase_add_test(tc, test_cancel_wide_from_source);
    tcase_add_test(tc, test_cancel_wide_from_leaf);
    tcase_add_test(tc, test_cancel_finished_run);

    tc = wt_tcase(s, "dynamic", WT_TIMEOUT_S);
    tcase_add_test(tc, test_node_spawns_tasks);
    tcase_add_test(tc, test_node_recursive_spawn);
    tcase_add_test(tc, test_node_parallel_for);
    tcase_add_test(tc, test_node_nested_graph_run);
    tcase_add_test(tc, test_subgraph_node);
    tcase_add_test(tc, test_subgraph_twice_in_sequence);
    tcase_add_test(tc, test_subgraph_shared_overlapping);
    tcase_add_test(tc, test_run_inside_own_run_refused);
    tcase_add_test(tc, test_subgraph_node_fails);
    tcase_add_test(tc, test_subgraph_refusals);
    tcase_add_test(tc, test_subrun_records);

    tc = wt_tcase(s, "scale", WT_STRESS_TIMEOUT_S);
    tcase_add_test(tc, test_million_chain);
    tcase_add_test(tc, test_million_fan);

    tc = wt_tcase(s, "progress", WT_TIMEOUT_S);
    tcase_add_test(tc, test_progress_callback);
    tcase_add_test(tc, test_progress_advances_in_chain);
    tcase_add_test(tc, test_progress_final_report_after_quick_run);
    tcase_add_test(tc, test_progress_bar_not_a_terminal);
    tcase_add_test(tc, test_progress_bar_terminal);
    tcase_add_test(tc, test_print_stats);
    tcase_add_test(tc, test_node_times);
    return s;
}

int main(void)
{
    return wt_run_suite(graph_suite());
}
