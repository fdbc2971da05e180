/* Suite "origin": placement of named-task nodes (weft_graph_set_place,
 * weft_graph_place) and where nodes ran (weft_node_async_complete_at,
 * weft_run_node_origin): exact values back, errors with their messages,
 * local nodes reported as "local", origins cleared by a rerun, and
 * completions from several threads at once with different machines (one
 * interned string per machine). */
#include "weft_test.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "weft/graph.h"
#include "weft_graph_test.h"

/* ---- deferred nodes whose handles the test completes ---- */

#define OT_MAX 4096
static weft_node_async_t *ot_handle[OT_MAX];
static atomic_int ot_deferred;

/* Task "ot-remote": defers, leaving its handle in ot_handle[node id]. */
static int ot_remote(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    weft_node_async_t *h = NULL;
    int rc = weft_node_defer(ctx, &h);
    if (rc) return rc;
    ot_handle[weft_node_id(ctx)] = h;
    atomic_fetch_add(&ot_deferred, 1);
    return 0;
}

static int ot_local(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}

static int ot_fn(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}

static void ot_register(void)
{
    WT_ASSERT_RC(weft_task_register("ot-remote", ot_remote, NULL), 0);
    WT_ASSERT_RC(weft_task_register("ot-local", ot_local, NULL), 0);
    atomic_store(&ot_deferred, 0);
}

/* Waits (bounded) until n nodes have deferred. */
static void ot_wait_deferred(int n)
{
    double until = wt_now() + 30.0;
    while (atomic_load(&ot_deferred) < n && wt_now() < until) wt_sleep_s(0.0005);
    ck_assert_int_eq(atomic_load(&ot_deferred), n);
}

static void assert_detail(const char *want)
{
    ck_assert_str_eq(weft_error_detail(), want);
}

/* ---- placement ---- */

START_TEST(test_place_set_and_read)
{
    weft_graph_t *g = wt_graph("place");
    weft_node_t a, b, f;
    WT_ASSERT_RC(weft_graph_add_task(g, "a", "ot-local", NULL, 0, &a), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "b", "ot-local", "xy", 2, &b), 0);
    WT_ASSERT_RC(weft_graph_add(g, "f", ot_fn, NULL, &f), 0);
    const char *where = "junk";
    WT_ASSERT_RC(weft_graph_place(g, a, &where), WEFT_PLACE_ANY);
    ck_assert_ptr_null(where);
    WT_ASSERT_RC(weft_graph_place(g, f, &where), WEFT_PLACE_ANY); /* not a named task */
    ck_assert_ptr_null(where);
    WT_ASSERT_RC(weft_graph_place(g, a, NULL), WEFT_PLACE_ANY);

    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_NODE, "10.0.0.7:7400"), 0);
    WT_ASSERT_RC(weft_graph_set_place(g, b, WEFT_PLACE_LOCAL, NULL), 0);
    WT_ASSERT_RC(weft_graph_place(g, a, &where), WEFT_PLACE_NODE);
    ck_assert_str_eq(where, "10.0.0.7:7400");
    WT_ASSERT_RC(weft_graph_place(g, b, &where), WEFT_PLACE_LOCAL);
    ck_assert_ptr_null(where);

    /* the same address again reuses its bytes; another replaces it */
    for (int i = 0; i < 1000; i++)
        WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_NODE, "10.0.0.7:7400"), 0);
    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_NODE, "[::1]:9"), 0);
    WT_ASSERT_RC(weft_graph_place(g, a, &where), WEFT_PLACE_NODE);
    ck_assert_str_eq(where, "[::1]:9");
    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_ANY, NULL), 0);
    WT_ASSERT_RC(weft_graph_place(g, a, &where), WEFT_PLACE_ANY);
    ck_assert_ptr_null(where);

    WT_ASSERT_RC(weft_graph_place(NULL, a, &where), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_place(g, 3, &where), WEFT_EINVAL);
    ck_assert_ptr_null(where);
    wt_graph_free(g);
}
END_TEST

START_TEST(test_place_errors)
{
    weft_graph_t *g = wt_graph("place-errors"), *sub = wt_graph("inner");
    weft_node_t a, f, s;
    WT_ASSERT_RC(weft_graph_add_task(g, "a", "ot-local", NULL, 0, &a), 0);
    WT_ASSERT_RC(weft_graph_add(g, "f", ot_fn, NULL, &f), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "s", sub, &s), 0);
    WT_ASSERT_RC(weft_graph_set_arg(g, f, "z", 1), 0); /* f has an extra, still no task */

    WT_ASSERT_RC(weft_graph_set_place(NULL, a, WEFT_PLACE_LOCAL, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_set_place(g, 9, WEFT_PLACE_LOCAL, NULL), WEFT_EINVAL);
    assert_detail("node 9 is not in graph 'place-errors'");
    WT_ASSERT_RC(weft_graph_set_place(g, f, WEFT_PLACE_LOCAL, NULL), WEFT_EINVAL);
    assert_detail("node 'f' is not a named-task node");
    WT_ASSERT_RC(weft_graph_set_place(g, s, WEFT_PLACE_LOCAL, NULL), WEFT_EINVAL);
    assert_detail("node 's' is not a named-task node");
    WT_ASSERT_RC(weft_graph_set_place(g, a, 3, NULL), WEFT_EINVAL);
    assert_detail("node 'a': unknown place 3");
    WT_ASSERT_RC(weft_graph_set_place(g, a, -1, NULL), WEFT_EINVAL);
    assert_detail("node 'a': unknown place -1");
    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_NODE, NULL), WEFT_EINVAL);
    assert_detail("node 'a': WEFT_PLACE_NODE needs an address (\"host:port\")");
    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_NODE, ""), WEFT_EINVAL);
    assert_detail("node 'a': WEFT_PLACE_NODE needs an address (\"host:port\")");
    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_NODE, "h 1:2"), WEFT_EINVAL);
    assert_detail("node 'a': an address holds no spaces or control bytes");
    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_NODE, "h\t:2"), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_NODE, "h\x7f:2"), WEFT_EINVAL);
    char longw[WEFT_NAME_MAX + 2];
    memset(longw, 'h', sizeof longw - 1);
    longw[sizeof longw - 1] = 0; /* 1025 bytes */
    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_NODE, longw), WEFT_EINVAL);
    assert_detail("node 'a': an address is at most 1024 bytes");
    longw[WEFT_NAME_MAX] = 0; /* 1024: fits */
    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_NODE, longw), 0);
    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_LOCAL, "h:1"), WEFT_EINVAL);
    assert_detail("node 'a': an address is given only with WEFT_PLACE_NODE");
    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_ANY, "h:1"), WEFT_EINVAL);
    /* every refusal left the last good placement */
    const char *where = NULL;
    WT_ASSERT_RC(weft_graph_place(g, a, &where), WEFT_PLACE_NODE);
    ck_assert_uint_eq(strlen(where), WEFT_NAME_MAX);
    wt_graph_free(g);
    wt_graph_free(sub);
}
END_TEST

/* A placement is a change: it makes run records stale, and is refused
 * while the graph runs. */
START_TEST(test_place_is_a_change)
{
    ot_register();
    WT_ASSERT_RC(weft_task_register("ot-gated", wt_gated, NULL), 0);
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("place-change");
    weft_node_t a, b;
    WT_ASSERT_RC(weft_graph_add_task(g, "a", "ot-local", NULL, 0, &a), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "b", "ot-gated", NULL, 0, &b), 0);
    weft_run_t *run = NULL;
    atomic_store(&wt_gate, 1);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    WT_ASSERT_RC(weft_run_node_status(run, a), WEFT_NODE_DONE);
    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_LOCAL, NULL), 0);
    WT_ASSERT_RC(weft_run_node_status(run, a), WEFT_ESTALE);
    wt_run_free(run);

    atomic_store(&wt_gate, 0);
    atomic_store(&wt_entered, 0);
    atomic_store(&wt_gate_timeouts, 0);
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
    ck_assert_int_eq(wt_gate_wait(&wt_entered, 30.0), 0);
    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_ANY, NULL), WEFT_EBUSY);
    wt_gate_open(&wt_gate);
    WT_ASSERT_RC(weft_run_wait(run), 0);
    ck_assert_int_eq(atomic_load(&wt_gate_timeouts), 0);
    WT_ASSERT_RC(weft_graph_place(g, a, NULL), WEFT_PLACE_LOCAL); /* the refusal changed nothing */
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* ---- origins ---- */

START_TEST(test_origin_values)
{
    ot_register();
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("origins");
    weft_node_t r0, r1, r2, r3, l0, after;
    WT_ASSERT_RC(weft_graph_add_task(g, "r0", "ot-remote", NULL, 0, &r0), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "r1", "ot-remote", NULL, 0, &r1), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "r2", "ot-remote", NULL, 0, &r2), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "r3", "ot-remote", NULL, 0, &r3), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "l0", "ot-local", NULL, 0, &l0), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "after", "ot-local", NULL, 0, &after), 0);
    WT_ASSERT_RC(weft_graph_precede(g, r3, after), 0); /* skipped: r3 fails */
    weft_run_opts_t o = {.record = 1};
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run_async(g, rt, &o, &run), 0);
    ot_wait_deferred(4);

    /* bad origins are refused before the completion is taken: the handle
     * stays the caller's */
    weft_node_origin_t bad = {.machine = "a b:1"};
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r0], 0, NULL, 0, &bad), WEFT_EINVAL);
    assert_detail("origin: machine: an address holds no spaces or control bytes");
    bad = (weft_node_origin_t){.machine = "m:1", .attempts = -1};
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r0], 0, NULL, 0, &bad), WEFT_EINVAL);
    assert_detail("origin: attempts -1 is negative");
    bad = (weft_node_origin_t){.machine = "m:1", .worker = -2};
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r0], 0, NULL, 0, &bad), WEFT_EINVAL);
    assert_detail("origin: worker -2 is out of range (-1 .. 32767)");
    bad = (weft_node_origin_t){.machine = "m:1", .start_s = 2, .end_s = 1};
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r0], 0, NULL, 0, &bad), WEFT_EINVAL);
    assert_detail("origin: times must be finite, lost_s >= 0 and 0 <= start_s <= end_s");
    bad = (weft_node_origin_t){.machine = "m:1", .lost_s = NAN};
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r0], 0, NULL, 0, &bad), WEFT_EINVAL);
    bad = (weft_node_origin_t){.machine = "m:1", .end_s = INFINITY};
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r0], 0, NULL, 0, &bad), WEFT_EINVAL);

    weft_node_origin_t a = {.machine = "10.1.0.2:7400", .worker = 3, .attempts = 2,
                            .lost_s = 0.25, .start_s = 0.5, .end_s = 0.75,
                            .bytes_sent = 1234567890123ull, .bytes_received = 42};
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r0], 0, "ok", 2, &a), 0);
    /* the origin's strings need not outlive the call */
    char mach[32];
    snprintf(mach, sizeof mach, "%s", "10.1.0.2:7400");
    weft_node_origin_t b = {.machine = mach, .worker = -1};
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r1], 0, NULL, 0, &b), 0);
    memset(mach, 'x', sizeof mach - 1);
    /* machine "local" and NULL both mean this process */
    weft_node_origin_t c = {.machine = NULL, .worker = 1, .attempts = 1};
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r2], 0, NULL, 0, &c), 0);
    weft_node_origin_t d = {.machine = "local", .worker = 0, .attempts = 3, .lost_s = 1.5};
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r3], 77, NULL, 0, &d), 0);
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r3], 0, NULL, 0, &d), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_wait(run), WEFT_ETASK);
    WT_ASSERT_COUNTS(wt_counts(run), 6, 4, 1, 1, 0);

    weft_node_origin_t got;
    WT_ASSERT_RC(weft_run_node_origin(run, r0, &got), 0);
    ck_assert_str_eq(got.machine, "10.1.0.2:7400");
    ck_assert_int_eq(got.worker, 3);
    ck_assert_int_eq(got.attempts, 2);
    ck_assert(got.lost_s == 0.25 && got.start_s == 0.5 && got.end_s == 0.75);
    ck_assert_uint_eq(got.bytes_sent, 1234567890123ull);
    ck_assert_uint_eq(got.bytes_received, 42);
    const char *m0 = got.machine;
    WT_ASSERT_RC(weft_run_node_origin(run, r1, &got), 0);
    ck_assert_ptr_eq(got.machine, m0); /* one string per machine */
    ck_assert_int_eq(got.worker, -1);
    ck_assert_int_eq(got.attempts, 0);
    ck_assert(got.start_s == 0 && got.end_s == 0 && got.lost_s == 0);
    WT_ASSERT_RC(weft_run_node_origin(run, r2, &got), 0);
    ck_assert_str_eq(got.machine, "local");
    ck_assert_int_eq(got.worker, 1);
    WT_ASSERT_RC(weft_run_node_origin(run, r3, &got), 0); /* failed: it ran */
    ck_assert_str_eq(got.machine, "local");
    ck_assert_int_eq(got.attempts, 3);
    ck_assert(got.lost_s == 1.5);
    /* a node run by a worker here, without an origin */
    int w = -5;
    WT_ASSERT_RC(weft_run_node_time(run, l0, NULL, NULL, &w), 0);
    WT_ASSERT_RC(weft_run_node_origin(run, l0, &got), 0);
    ck_assert_str_eq(got.machine, "local");
    ck_assert_int_eq(got.worker, w);
    ck_assert_int_ge(got.worker, 0);
    ck_assert_int_eq(got.attempts, 1);
    ck_assert(got.start_s == 0 && got.end_s == 0 && got.lost_s == 0);
    ck_assert_uint_eq(got.bytes_sent + got.bytes_received, 0);
    /* a skipped node did not run */
    got.worker = 99;
    WT_ASSERT_RC(weft_run_node_origin(run, after, &got), WEFT_ENOENT);
    ck_assert_ptr_null(got.machine);
    ck_assert_int_eq(got.worker, 0);
    WT_ASSERT_RC(weft_run_node_origin(run, 6, &got), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_node_origin(run, r0, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_node_origin(NULL, r0, &got), WEFT_EINVAL);
    wt_run_free(run);

    /* unrecorded: local nodes have worker -1 */
    atomic_store(&ot_deferred, 0);
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
    ot_wait_deferred(4);
    for (weft_node_t v = r0; v <= r3; v++)
        WT_ASSERT_RC(weft_node_async_complete(ot_handle[v], 0, NULL, 0), 0);
    WT_ASSERT_RC(weft_run_wait(run), 0);
    WT_ASSERT_RC(weft_run_node_origin(run, l0, &got), 0);
    ck_assert_str_eq(got.machine, "local");
    ck_assert_int_eq(got.worker, -1);
    WT_ASSERT_RC(weft_run_node_origin(run, r0, &got), 0); /* plain completion: local */
    ck_assert_str_eq(got.machine, "local");
    ck_assert_int_eq(got.attempts, 1);
    /* a change makes the record stale */
    WT_ASSERT_RC(weft_graph_set_place(g, r0, WEFT_PLACE_LOCAL, NULL), 0);
    WT_ASSERT_RC(weft_run_node_origin(run, r0, &got), WEFT_ESTALE);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* weft_graph_run_n reuses one record: each run starts with no origins. */
static atomic_int ot_rep;

static int ot_remote_once(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    weft_node_async_t *h = NULL;
    int rc = weft_node_defer(ctx, &h);
    if (rc) return rc;
    /* the first run reports a machine; later ones complete plainly */
    weft_node_origin_t o = {.machine = "far:1", .worker = 2, .attempts = 1};
    return atomic_fetch_add(&ot_rep, 1) == 0 ? weft_node_async_complete_at(h, 0, NULL, 0, &o)
                                             : weft_node_async_complete(h, 0, NULL, 0);
}

START_TEST(test_origin_reset_on_rerun)
{
    WT_ASSERT_RC(weft_task_register("ot-once", ot_remote_once, NULL), 0);
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("rerun");
    weft_node_t a;
    WT_ASSERT_RC(weft_graph_add_task(g, "a", "ot-once", NULL, 0, &a), 0);
    weft_run_t *run = NULL;
    atomic_store(&ot_rep, 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    weft_node_origin_t got;
    WT_ASSERT_RC(weft_run_node_origin(run, a, &got), 0);
    ck_assert_str_eq(got.machine, "far:1");
    wt_run_free(run);
    atomic_store(&ot_rep, 0);
    WT_ASSERT_RC(weft_graph_run_n(g, rt, 3, NULL, &run), 0);
    ck_assert_int_eq(atomic_load(&ot_rep), 3);
    WT_ASSERT_RC(weft_run_node_origin(run, a, &got), 0);
    ck_assert_str_eq(got.machine, "local"); /* the last run's, not the first's */
    ck_assert_int_eq(got.worker, -1);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* Completions from 8 threads at once, each its own machine and every one
 * also "shared:1": every node keeps exactly its own origin, and each
 * machine is one string. */
#define OT_THREADS 8

typedef struct ot_worker {
    pthread_t t;
    int k;
    size_t n;
    atomic_int *go;
    int bad;
} ot_worker;

static void *ot_complete_main(void *arg)
{
    ot_worker *w = arg;
    char mine[32];
    snprintf(mine, sizeof mine, "m%d:%d", w->k, 7000 + w->k);
    if (wt_gate_wait(w->go, 30.0) != 0) {
        w->bad = -1;
        return NULL;
    }
    for (size_t v = (size_t)w->k; v < w->n; v += OT_THREADS) {
        weft_node_origin_t o = {.machine = v % 3 == 0 ? "shared:1" : mine,
                                .worker = (int)(v % 5),
                                .attempts = 1 + (int)(v % 2),
                                .bytes_sent = v,
                                .bytes_received = 2 * v};
        char res[16];
        int len = snprintf(res, sizeof res, "%zu", v);
        if (weft_node_async_complete_at(ot_handle[v], 0, res, (size_t)len, &o) != 0) w->bad++;
    }
    return NULL;
}

START_TEST(test_origin_concurrent_machines)
{
    ot_register();
    size_t n = (size_t)wt_scaled(OT_MAX, 256);
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("many");
    for (size_t i = 0; i < n; i++)
        WT_ASSERT_RC(weft_graph_add_task(g, NULL, "ot-remote", NULL, 0, NULL), 0);
    weft_run_t *run = NULL;
    weft_run_opts_t o = {.record = 1};
    WT_ASSERT_RC(weft_graph_run_async(g, rt, &o, &run), 0);
    ot_wait_deferred((int)n);
    atomic_int go = 0;
    ot_worker ws[OT_THREADS];
    for (int k = 0; k < OT_THREADS; k++) {
        ws[k] = (ot_worker){.k = k, .n = n, .go = &go};
        ck_assert_int_eq(pthread_create(&ws[k].t, NULL, ot_complete_main, &ws[k]), 0);
    }
    /* readers take snapshots while completions arrive */
    wt_gate_open(&go);
    weft_node_origin_t got;
    for (size_t v = 0; v < n; v += 7) {
        int rc = weft_run_node_origin(run, (weft_node_t)v, &got);
        ck_assert(rc == 0 || rc == WEFT_ENOENT);
        if (rc == 0) ck_assert_int_eq(got.bytes_received, 2 * v);
    }
    for (int k = 0; k < OT_THREADS; k++) {
        ck_assert_int_eq(pthread_join(ws[k].t, NULL), 0);
        ck_assert_int_eq(ws[k].bad, 0);
    }
    WT_ASSERT_RC(weft_run_wait(run), 0);
    WT_ASSERT_COUNTS(wt_counts(run), n, n, 0, 0, 0);
    const char *first[OT_THREADS + 1] = {0}; /* the string seen first per machine */
    for (size_t v = 0; v < n; v++) {
        WT_ASSERT_RC(weft_run_node_origin(run, (weft_node_t)v, &got), 0);
        int k = (int)(v % OT_THREADS);
        char want[32];
        if (v % 3 == 0) snprintf(want, sizeof want, "shared:1");
        else snprintf(want, sizeof want, "m%d:%d", k, 7000 + k);
        ck_assert_str_eq(got.machine, want);
        int slot = v % 3 == 0 ? OT_THREADS : k;
        if (!first[slot]) first[slot] = got.machine;
        ck_assert_ptr_eq(got.machine, first[slot]);
        ck_assert_int_eq(got.worker, (int)(v % 5));
        ck_assert_int_eq(got.attempts, 1 + (int)(v % 2));
        ck_assert_uint_eq(got.bytes_sent, v);
        ck_assert_uint_eq(got.bytes_received, 2 * v);
        const void *d;
        size_t len;
        WT_ASSERT_RC(weft_run_result(run, (weft_node_t)v, &d, &len), 0);
        char res[16];
        ck_assert_uint_eq(len, (size_t)snprintf(res, sizeof res, "%zu", v));
        ck_assert(memcmp(d, res, len) == 0);
    }
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("origin");
    TCase *tc = wt_tcase(s, "origin", WT_TIMEOUT_S);
    tcase_add_test(tc, test_place_set_and_read);
    tcase_add_test(tc, test_place_errors);
    tcase_add_test(tc, test_place_is_a_change);
    tcase_add_test(tc, test_origin_values);
    tcase_add_test(tc, test_origin_reset_on_rerun);
    tcase_add_test(tc, test_origin_concurrent_machines);
    return wt_run_suite(s);
}
