/* Suite "origin": placement of named-task nodes (weft_graph_set_place,
 * weft_graph_place) and where nodes ran (weft_node_async_complete_at,
 * weft_run_node_origin): exact values back, errors with their messages,
 * local nodes reported as "local", origins cleared by a rerun, and
 * completions from several threads at once with different machines (one
 * interned string per machine). */
#define _GNU_SOURCE /* posix_openpt, ptsname_r: the progress bar test */
#include "weft_test.h"

#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

    WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_NODE, "g.invalid:740"), 0);
    WT_ASSERT_RC(weft_graph_set_place(g, b, WEFT_PLACE_LOCAL, NULL), 0);
    WT_ASSERT_RC(weft_graph_place(g, a, &where), WEFT_PLACE_NODE);
    ck_assert_str_eq(where, "g.invalid:740");
    WT_ASSERT_RC(weft_graph_place(g, b, &where), WEFT_PLACE_LOCAL);
    ck_assert_ptr_null(where);

    /* the same address again reuses its bytes; another replaces it */
    for (int i = 0; i < 1000; i++)
        WT_ASSERT_RC(weft_graph_set_place(g, a, WEFT_PLACE_NODE, "g.invalid:740"), 0);
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

    weft_node_origin_t a = {.machine = "10.1.0.2:7400", .worker = 3, .attempts = 2,
                            .lost_s = 0.25, .start_s = 0.5, .end_s = 0.75,
                            .bytes_sent = 1234567890123ull, .bytes_received = 42};
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r0], 0, "ok", 2, &a), 0);
    /* the origin's strings need not outlive the call */
    char mach[32];
    snprintf(mach, sizeof mach, "%s", "10.1.0.2:7400");
    weft_node_origin_t b = {.machine = mach, .worker = -1, .start_s = 2.5, .end_s = 1};
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r1], 0, NULL, 0, &b), 0);
    memset(mach, 'x', sizeof mach - 1);
    /* machine "local" and NULL both mean this process */
    weft_node_origin_t c = {.machine = NULL, .worker = 1, .attempts = 1, .start_s = -0.001,
                            .end_s = 0.5};
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r2], 0, NULL, 0, &c), 0);
    weft_node_origin_t d = {.machine = "local", .worker = 0, .attempts = 3, .lost_s = 1.5};
    WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[r3], 77, NULL, 0, &d), 0);
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
    ck_assert(got.start_s == 2.5 && got.end_s == 2.5 && got.lost_s == 0); /* clamped */
    WT_ASSERT_RC(weft_run_node_origin(run, r2, &got), 0);
    ck_assert_str_eq(got.machine, "local");
    ck_assert_int_eq(got.worker, 1);
    ck_assert(got.start_s == 0 && got.end_s == 0.5); /* clamped */
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

/* ---- the run of the views: 5 nodes, 3 of them remote on 2 machines ---- */

/* Runs graph "spread" (a b c d e; edge a->e) recorded, completing a, b, c,
 * d with the given origins (NULL: a plain completion); e is local. */
static weft_run_t *ot_spread_run(weft_runtime_t *rt, weft_graph_t **gp, const weft_node_origin_t *o[4],
                                 int fail_d)
{
    ot_register();
    weft_graph_t *g = wt_graph("spread");
    static const char *names[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        WT_ASSERT_RC(weft_graph_add_task(g, names[i], "ot-remote", NULL, 0, NULL), 0);
    weft_node_t e;
    WT_ASSERT_RC(weft_graph_add_task(g, "e", "ot-local", NULL, 0, &e), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, e), 0);
    weft_run_opts_t opts = {.record = 1};
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run_async(g, rt, &opts, &run), 0);
    ot_wait_deferred(4);
    for (int i = 0; i < 4; i++)
        WT_ASSERT_RC(weft_node_async_complete_at(ot_handle[i], i == 3 && fail_d ? 5 : 0, NULL, 0, o[i]), 0);
    WT_ASSERT_RC(weft_run_wait(run), fail_d ? WEFT_ETASK : 0);
    *gp = g;
    return run;
}

static const weft_node_origin_t ot_oa = {.machine = "b.invalid:740", .worker = 1, .attempts = 1,
                                         .start_s = 0.001, .end_s = 0.002, .bytes_sent = 100,
                                         .bytes_received = 10};
static const weft_node_origin_t ot_ob = {.machine = "c.invalid:740", .worker = 0, .attempts = 3,
                                         .lost_s = 0.5, .start_s = 0.003, .end_s = 0.004,
                                         .bytes_sent = 200, .bytes_received = 20};
static const weft_node_origin_t ot_oc = {.machine = "b.invalid:740", .worker = 0, .attempts = 2,
                                         .lost_s = 0.25, .bytes_sent = 300, .bytes_received = 30};

static char *ot_run_text(const weft_run_t *run)
{
    weft_buf_t b;
    int rc = weft_run_save_buf(run, &b);
    ck_assert_msg(rc == 0, "weft_run_save_buf = %d: %s", rc, weft_error_detail());
    return b.data;
}

/* The lines of text from the first that starts with `from` (NULL: none). */
static const char *ot_from(const char *text, const char *from)
{
    const char *p = strstr(text, from);
    ck_assert_msg(p != NULL, "no '%s' in:\n%s", from, text);
    return p;
}

START_TEST(test_origin_run_file_round_trip)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g;
    const weft_node_origin_t *o[4] = {&ot_oa, &ot_ob, &ot_oc, NULL};
    weft_run_t *run = ot_spread_run(rt, &g, o, 1);
    char *text = ot_run_text(run);
    const char *m = ot_from(text, "machine 1 ");
    ck_assert(strncmp(m, "machine 1 b.invalid:740\nmachine 2 c.invalid:740\n\n# node ID", 57) == 0);
    ck_assert_str_eq(ot_from(text, "\n# origin"),
                     "\n# origin ID NAME MACHINE WORKER ATTEMPTS LOST START END SENT RECEIVED\n"
                     "origin 0 a 1 1 1 0.000000000 0.001000000 0.002000000 100 10\n"
                     "origin 1 b 2 0 3 0.500000000 0.003000000 0.004000000 200 20\n"
                     "origin 2 c 1 0 2 0.250000000 0.000000000 0.000000000 300 30\n");
    /* d completed plainly (failed), e ran here: no origin lines */
    weft_run_t *back = NULL;
    WT_ASSERT_RC(weft_run_load_buf(g, text, strlen(text), &back), 0);
    char *again = ot_run_text(back);
    ck_assert_str_eq(again, text);
    weft_node_origin_t x, y;
    for (weft_node_t v = 0; v < 5; v++) {
        WT_ASSERT_RC(weft_run_node_origin(run, v, &x), 0);
        WT_ASSERT_RC(weft_run_node_origin(back, v, &y), 0);
        ck_assert_str_eq(x.machine, y.machine);
        ck_assert_int_eq(x.worker, y.worker);
        ck_assert_int_eq(x.attempts, y.attempts);
        ck_assert(x.lost_s == y.lost_s && x.start_s == y.start_s && x.end_s == y.end_s);
        ck_assert_uint_eq(x.bytes_sent, y.bytes_sent);
        ck_assert_uint_eq(x.bytes_received, y.bytes_received);
    }
    WT_ASSERT_RC(weft_run_node_origin(back, 3, &y), 0);
    ck_assert_str_eq(y.machine, "local");
    free(again);
    WT_ASSERT_RC(weft_run_free(back), 0);

    /* old run files, without machines and origins, still load: local */
    char *old = strdup(text); /* the text without its machine and origin lines */
    *strstr(old, "machine 1") = 0;
    strcat(old, strstr(text, "\n# node ID"));
    strstr(old, "\n# origin")[0] = 0;
    WT_ASSERT_RC(weft_run_load_buf(g, old, strlen(old), &back), 0);
    WT_ASSERT_RC(weft_run_node_origin(back, 1, &y), 0);
    ck_assert_str_eq(y.machine, "local");
    again = ot_run_text(back);
    ck_assert_str_eq(again, old);
    free(again);
    free(old);
    WT_ASSERT_RC(weft_run_free(back), 0);
    free(text);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_origin_run_file_errors)
{
    weft_graph_t *g = wt_graph("spread");
    WT_ASSERT_RC(weft_graph_add_task(g, "a", "t", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "b", "t", NULL, 0, NULL), 0);
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"weft-run 1\nmachine 0 h:1\n", "line 2: machine 0 is this process ('local'): it has no 'machine' line"},
        {"weft-run 1\nmachine 2 h:1\n", "line 2: machine 2 out of order: the next is machine 1"},
        {"weft-run 1\nmachine 1 h:1\nmachine 1 h:2\n", "line 3: machine 1 out of order: the next is machine 2"},
        {"weft-run 1\nmachine 1 h:1\nmachine 2 h:1\n", "line 3: machine 2 repeats machine 1 'h:1'"},
        {"weft-run 1\nmachine 1 local\n", "line 2: machine 'local' is machine 0: it has no 'machine' line"},
        {"weft-run 1\nmachine 1 \"h 1\"\n",
         "line 2: machine 1: bad address 'h 1': an address holds no spaces or control bytes"},
        {"weft-run 1\nmachine 1\n", "line 2: missing address"},
        {"weft-run 1\nmachine x h:1\n", "line 2: bad machine number 'x' (expected a number)"},
        {"weft-run 1\nmachine 1 h:1 z\n", "line 2: unexpected 'z' after the 'machine' line's last field (trailing garbage)"},
        {"weft-run 1\norigin 0 a 0 0 1 0 0 0 0 0\nnode 0 a done 0\n", "line 2: origin of node 0 before its node line"},
        {"weft-run 1\nnode 0 a skipped 0\norigin 0 a 0 0 1 0 0 0 0 0\n",
         "line 3: node 0 did not run (it is skipped): it has no origin"},
        {"weft-run 1\nnode 0 a done 0\norigin 0 a 0 0 1 0 0 0 0 0\norigin 0 a 0 0 1 0 0 0 0 0\n",
         "line 4: duplicate 'origin' line for node 0"},
        {"weft-run 1\nnode 0 a done 0\norigin 0 b 0 0 1 0 0 0 0 0\n",
         "line 3: node 0 is called 'a' in the graph, not 'b'"},
        {"weft-run 1\nnode 0 a done 0\norigin 0 a 1 0 1 0 0 0 0 0\n",
         "line 3: unknown machine 1 (machine lines above number 1 to 0; 0 is 'local')"},
        {"weft-run 1\nnode 0 a done 0\norigin 0 a 0 -2 1 0 0 0 0 0\n",
         "line 3: origin worker '-2' out of range (-1 to 511)"},
        {"weft-run 1\nnode 0 a done 0\norigin 0 a 0 0 -1 0 0 0 0 0\n",
         "line 3: attempts '-1' out of range (0 to 2147483647)"},
        {"weft-run 1\nnode 0 a done 0\norigin 0 a 0 0 1 0 2 1 0 0\n",
         "line 3: origin end time before origin start time"},
        {"weft-run 1\nnode 0 a done 0\norigin 0 a 0 0 1 0 0 1000000.5 0 0\n",
         "line 3: origin times are at most 1000000 seconds"},
        {"weft-run 1\nnode 0 a done 0\norigin 0 a 0 0 1 0 0 0 0\n", "line 3: missing bytes received"},
        {"weft-run 1\nnode 0 a done 0\norigin 0 a 0 0 1 0 0 0 0 -1\n",
         "line 3: bad bytes received '-1' (expected a number)"},
        {"weft-run 1\nnode 0 a done 0\norigin 0 a 0 0 1 0 0 0 0 0 9\n",
         "line 3: unexpected '9' after the 'origin' line's last field (trailing garbage)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        weft_run_t *run = (weft_run_t *)&ot_deferred;
        int rc = weft_run_load_buf(g, cases[i].text, strlen(cases[i].text), &run);
        ck_assert_msg(rc == WEFT_EPARSE, "case %zu: %d (%s)", i, rc, weft_error_detail());
        ck_assert_ptr_null(run);
        ck_assert_msg(strcmp(weft_error_detail(), cases[i].msg) == 0, "case %zu: \"%s\", expected \"%s\"", i,
                      weft_error_detail(), cases[i].msg);
    }
    wt_graph_free(g);
}
END_TEST

static char *ot_dot(const weft_graph_t *g, const weft_run_t *run)
{
    weft_buf_t b;
    int rc = weft_graph_dot_buf(g, run, &b);
    ck_assert_msg(rc == 0, "weft_graph_dot_buf = %d", rc);
    return b.data;
}

static char *ot_trace(const weft_run_t *run)
{
    weft_buf_t b;
    int rc = weft_run_trace_buf(run, &b);
    ck_assert_msg(rc == 0, "weft_run_trace_buf = %d", rc);
    return b.data;
}

static char *ot_stats(const weft_run_t *run)
{
    weft_buf_t b;
    int rc = weft_run_print_stats_buf(run, &b);
    ck_assert_msg(rc == 0, "weft_run_print_stats_buf = %d", rc);
    return b.data;
}

static void ot_starts(const char *text, const char *want)
{
    ck_assert_msg(strncmp(text, want, strlen(want)) == 0, "'%s' does not start with '%s'", text, want);
}

static void ot_has(const char *text, const char *want)
{
    ck_assert_msg(strstr(text, want) != NULL, "no\n%s\nin:\n%s", want, text);
}

/* The line of text that starts with prefix (after leading spaces). */
static const char *ot_line(const char *text, const char *prefix, char *buf, size_t cap)
{
    for (const char *p = text; *p;) {
        const char *q = p;
        while (*q == ' ') q++;
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (strncmp(q, prefix, strlen(prefix)) == 0) {
            ck_assert_uint_lt(n, cap);
            memcpy(buf, p, n);
            buf[n] = 0;
            return buf;
        }
        p += n + (e != NULL);
    }
    ck_abort_msg("no line starting with '%s' in:\n%s", prefix, text);
    return NULL;
}

START_TEST(test_origin_views)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g;
    const weft_node_origin_t *o[4] = {&ot_oa, &ot_ob, &ot_oc, NULL};
    weft_run_t *run = ot_spread_run(rt, &g, o, 1);
    char line[512];

    /* dot: fills by machine, status borders, "on MACHINE", a legend */
    char *dot = ot_dot(g, run);
    ck_assert_str_eq(ot_line(dot, "n0 ", line, sizeof line),
                     "  n0 [label=\"a\\non b.invalid:740\\n1.0 ms, w1\", tooltip=\"task ot-remote, done\", "
                     "fillcolor=\"#c8e6c9\", color=\"#2e7d32\"];");
    ck_assert_str_eq(ot_line(dot, "n1 ", line, sizeof line),
                     "  n1 [label=\"b\\non c.invalid:740\\n1.0 ms, w0\", tooltip=\"task ot-remote, done\", "
                     "fillcolor=\"#ffe0b2\", color=\"#2e7d32\"];");
    /* c's origin has no times: its time here, its worker there */
    ot_line(dot, "n2 ", line, sizeof line);
    ot_starts(line, "  n2 [label=\"c\\non b.invalid:740\\n");
    ot_has(line, ", w0\", tooltip=\"task ot-remote, done\", fillcolor=\"#c8e6c9\", color=\"#2e7d32\"];");
    /* d failed here: local's fill, the failed border */
    ot_line(dot, "n3 ", line, sizeof line);
    ot_starts(line, "  n3 [label=\"d\\non local\\n");
    ot_has(line, "\\nreturned 5\", tooltip=\"task ot-remote, failed\", fillcolor=\"#bbdefb\", "
                 "color=\"#c62828\", penwidth=2];");
    ot_line(dot, "n4 ", line, sizeof line);
    ot_starts(line, "  n4 [label=\"e\\non local\\n");
    ot_has(dot, "  subgraph \"cluster_machines\" {\n"
                "    label=\"machines\"; style=\"rounded\"; color=\"#9e9e9e\";\n"
                "    machine_0 [label=\"local\\n2 nodes\", fillcolor=\"#bbdefb\"];\n"
                "    machine_1 [label=\"b.invalid:740\\n2 nodes\", fillcolor=\"#c8e6c9\"];\n"
                "    machine_2 [label=\"c.invalid:740\\n1 node\", fillcolor=\"#ffe0b2\"];\n"
                "  }\n}\n");

    /* trace: a process per machine, threads per worker there, remote times */
    char *tr = ot_trace(run);
    ot_has(tr, "{\"traceEvents\":[\n"
               "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"local\"}},\n"
               "{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"sort_index\":0}}");
    ot_has(tr, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":2,\"tid\":0,\"args\":{\"name\":\"b.invalid:740\"}},\n"
               "{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":2,\"tid\":0,\"args\":{\"sort_index\":1}},\n"
               "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":2,\"tid\":0,\"args\":{\"name\":\"worker 0\"}},\n"
               "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":2,\"tid\":0,\"args\":{\"sort_index\":0}},\n"
               "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":2,\"tid\":1,\"args\":{\"name\":\"worker 1\"}},\n"
               "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":2,\"tid\":1,\"args\":{\"sort_index\":1}},\n"
               "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":3,\"tid\":0,\"args\":{\"name\":\"c.invalid:740\"}},\n"
               "{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":3,\"tid\":0,\"args\":{\"sort_index\":2}},\n"
               "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":3,\"tid\":0,\"args\":{\"name\":\"worker 0\"}},\n"
               "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":3,\"tid\":0,\"args\":{\"sort_index\":0}},\n");
    ot_has(tr, "{\"name\":\"a\",\"cat\":\"node\",\"ph\":\"X\",\"ts\":1000.000,\"dur\":1000.000,\"pid\":2,"
               "\"tid\":1,\"args\":{\"node\":0,\"graph\":\"spread\",\"status\":\"done\",\"task\":\"ot-remote\","
               "\"machine\":\"b.invalid:740\",\"attempts\":1,\"lost_s\":0.000000000,\"bytes_sent\":100,"
               "\"bytes_received\":10}}");
    ot_has(tr, "{\"name\":\"b\",\"cat\":\"node\",\"ph\":\"X\",\"ts\":3000.000,\"dur\":1000.000,\"pid\":3,"
               "\"tid\":0,\"args\":{\"node\":1,\"graph\":\"spread\",\"status\":\"done\",\"task\":\"ot-remote\","
               "\"machine\":\"c.invalid:740\",\"attempts\":3,\"lost_s\":0.500000000,\"bytes_sent\":200,"
               "\"bytes_received\":20}}");
    ot_has(tr, "\"pid\":2,\"tid\":0,\"args\":{\"node\":2,"); /* c: its own times, on its machine */
    ot_has(tr, "\"pid\":1,\"tid\":");                      /* d and e here */
    ot_has(tr, "\"args\":{\"node\":3,\"graph\":\"spread\",\"status\":\"failed\",\"code\":5,"
               "\"task\":\"ot-remote\",\"machine\":\"local\"}}");

    /* the trace is JSON: per process, its name and its X events' nodes */
    if (system("python3 -c '' 2>/dev/null") == 0) {
        char path[] = "/tmp/weft-origin-trace-XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, tr, strlen(tr)), (ssize_t)strlen(tr));
        close(fd);
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "python3 -c 'import json,sys\n"
                 "ev=json.load(open(sys.argv[1]))[\"traceEvents\"]\n"
                 "names={e[\"pid\"]:e[\"args\"][\"name\"] for e in ev if e[\"name\"]==\"process_name\"}\n"
                 "print(\" \".join(\"%%s=%%s\" %% (names[p],\",\".join(sorted(e[\"name\"] for e in ev "
                 "if e[\"ph\"]==\"X\" and e[\"pid\"]==p))) for p in sorted(names)))' '%s'",
                 path);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        char got[256] = "";
        ck_assert_ptr_nonnull(fgets(got, sizeof got, p));
        ck_assert_int_eq(pclose(p), 0);
        ck_assert_str_eq(got, "local=d,e b.invalid:740=a,c c.invalid:740=b\n");
        ck_assert_int_eq(remove(path), 0);
    }

    /* print_stats: the per-machine table after the worker table */
    char *st = ot_stats(run);
    ck_assert_str_eq(ot_line(st, "machine ", line, sizeof line),
                     " machine       |   nodes run | % of all |   busy s | retries |   lost s |       bytes sent |"
                     "   bytes received");
    ot_line(st, "local ", line, sizeof line);
    ot_starts(line, " local         |           2 |   40.00% | ");
    ot_has(line, " |       0 |   0.0000 |                0 |                0");
    ot_line(st, "b.invalid:740 ", line, sizeof line);
    ot_starts(line, " b.invalid:740 |           2 |   40.00% | ");
    ot_has(line, " |       1 |   0.2500 |              400 |               40");
    ck_assert_str_eq(ot_line(st, "c.invalid:740 ", line, sizeof line),
                     " c.invalid:740 |           1 |   20.00% |   0.0010 |       2 |   0.5000 |              200 |"
                     "               20");
    ot_line(st, "Total         |", line, sizeof line);
    ot_starts(line, " Total         |           5 |  100.00% | ");
    ot_has(line, " |       3 |   0.7500 |              600 |               60");

    /* a loaded run draws, traces and prints as the run did */
    char *text = ot_run_text(run);
    weft_run_t *back = NULL;
    WT_ASSERT_RC(weft_run_load_buf(g, text, strlen(text), &back), 0);
    char *dot2 = ot_dot(g, back), *tr2 = ot_trace(back), *st2 = ot_stats(back);
    ck_assert_str_eq(dot2, dot);
    ck_assert_str_eq(tr2, tr);
    ck_assert_str_eq(st2, st);
    free(dot2);
    free(tr2);
    free(st2);
    free(text);
    WT_ASSERT_RC(weft_run_free(back), 0);
    free(dot);
    free(tr);
    free(st);
    wt_run_free(run);

    /* without origins: no machines anywhere */
    const weft_node_origin_t *none[4] = {NULL, NULL, NULL, NULL};
    wt_graph_free(g);
    run = ot_spread_run(rt, &g, none, 0);
    dot = ot_dot(g, run);
    tr = ot_trace(run);
    st = ot_stats(run);
    text = ot_run_text(run);
    ck_assert(strstr(dot, "machine") == NULL && strstr(dot, "on local") == NULL);
    ck_assert(strstr(tr, "machine") == NULL && strstr(tr, "\"pid\":2") == NULL);
    ot_has(tr, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"spread\"}}");
    ck_assert(strstr(st, "machine") == NULL);
    ck_assert(strstr(text, "machine") == NULL && strstr(text, "origin") == NULL);
    free(dot);
    free(tr);
    free(st);
    free(text);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* weft-dot draws a cluster run from its files as weft_graph_dot draws the
 * loaded run. */
START_TEST(test_origin_weft_dot)
{
#ifndef WEFT_DOT_PROGRAM
    return;
#else
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g;
    const weft_node_origin_t *o[4] = {&ot_oa, &ot_ob, &ot_oc, NULL};
    weft_run_t *run = ot_spread_run(rt, &g, o, 0);
    char dir[] = "/tmp/weft-origin-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char gpath[64], rpath[64], cmd[512];
    snprintf(gpath, sizeof gpath, "%s/spread.wg", dir);
    snprintf(rpath, sizeof rpath, "%s/spread.run", dir);
    WT_ASSERT_RC(weft_graph_save_file(g, gpath), 0);
    FILE *f = fopen(rpath, "w");
    ck_assert_ptr_nonnull(f);
    WT_ASSERT_RC(weft_run_save(run, f), 0);
    ck_assert_int_eq(fclose(f), 0);
    weft_run_t *back = NULL;
    char *text = ot_run_text(run);
    WT_ASSERT_RC(weft_run_load_buf(g, text, strlen(text), &back), 0);
    char *want = ot_dot(g, back);
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s'", WEFT_DOT_PROGRAM, gpath, rpath);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = strlen(want) + 4096, len = 0;
    char *got = malloc(cap);
    size_t k;
    while ((k = fread(got + len, 1, cap - 1 - len, p)) > 0) len += k;
    got[len] = 0;
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_str_eq(got, want);
    ot_has(got, "machine_2 [label=\"c.invalid:740\\n1 node\", fillcolor=\"#ffe0b2\"];");
    free(got);
    free(want);
    free(text);
    WT_ASSERT_RC(weft_run_free(back), 0);
    ck_assert_int_eq(remove(gpath), 0);
    ck_assert_int_eq(remove(rpath), 0);
    ck_assert_int_eq(rmdir(dir), 0);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
#endif
}
END_TEST

/* The progress bar (written only to a terminal) of a run with origins ends
 * with the nodes per machine: a child process runs with its standard error
 * on a pseudo-terminal that the test reads. */
static int ot_remote_far(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    weft_node_async_t *h = NULL;
    int rc = weft_node_defer(ctx, &h);
    if (rc) return rc;
    weft_node_origin_t o = {.machine = weft_node_id(ctx) == 2 ? "near:2" : "far:1", .worker = 0,
                            .attempts = 1};
    return weft_node_async_complete_at(h, 0, NULL, 0, &o);
}

static void ot_bar_child(const char *slave)
{
    setsid();
    int fd = open(slave, O_RDWR);
    if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(3);
    if (weft_task_register("ot-far", ot_remote_far, NULL) || weft_task_register("ot-local", ot_local, NULL))
        _exit(4);
    weft_runtime_t *rt = NULL;
    weft_graph_t *g = NULL;
    if (weft_runtime_create(2, &rt) || weft_graph_create("bar", &g)) _exit(5);
    for (int i = 0; i < 3; i++) weft_graph_add_task(g, NULL, "ot-far", NULL, 0, NULL);
    weft_graph_add_task(g, NULL, "ot-local", NULL, 0, NULL);
    weft_run_opts_t o = {.progress_bar = 1};
    int rc = weft_graph_run(g, rt, &o, NULL);
    weft_graph_free(g);
    weft_runtime_destroy(rt);
    _exit(rc ? 6 : 0);
}

START_TEST(test_origin_progress_bar)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(m, 0);
    ck_assert_int_eq(grantpt(m), 0);
    ck_assert_int_eq(unlockpt(m), 0);
    char slave[128];
    ck_assert_int_eq(ptsname_r(m, slave, sizeof slave), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) ot_bar_child(slave);
    char out[4096];
    size_t len = 0;
    double deadline = wt_now() + 30.0, drain_until = 0;
    int status = -1, exited = 0;
    for (;;) {
        struct pollfd p = {.fd = m, .events = POLLIN};
        if (len < sizeof out - 1 && poll(&p, 1, 50) > 0 && (p.revents & POLLIN)) {
            ssize_t k = read(m, out + len, sizeof out - 1 - len);
            if (k > 0) len += (size_t)k;
        }
        if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
            exited = 1;
            drain_until = wt_now() + 0.2; /* what is still in the terminal */
        }
        if (exited && wt_now() > drain_until) break;
        if (!exited && wt_now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            ck_abort_msg("the child did not finish in 30 s");
        }
    }
    close(m);
    out[len] = 0;
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d, output %s", status, out);
    ot_has(out, "bar [########################################] 4/4 nodes 100% ");
    ot_has(out, "[local 1, far:1 2, near:2 1] in ");
}
END_TEST

/* An origin never fails a completion: what is out of range is kept as
 * unknown or cut to range. */
START_TEST(test_origin_kept_in_range)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g;
    static char longm[WEFT_NAME_MAX + 100];
    memset(longm, 'x', sizeof longm - 1);
    const weft_node_origin_t oa = {.machine = "", .worker = 9999, .attempts = -3, .lost_s = NAN,
                                   .start_s = NAN, .end_s = 1};
    const weft_node_origin_t ob = {.machine = "a b\tc\x7f:1", .worker = -7, .lost_s = -1,
                                   .start_s = 5e6, .end_s = INFINITY};
    const weft_node_origin_t oc = {.machine = longm, .worker = 511, .attempts = 4, .lost_s = INFINITY,
                                   .start_s = 3, .end_s = 2};
    const weft_node_origin_t *o[4] = {&oa, &ob, &oc, NULL};
    weft_run_t *run = ot_spread_run(rt, &g, o, 0);
    weft_node_origin_t got;
    WT_ASSERT_RC(weft_run_node_origin(run, 0, &got), 0);
    ck_assert_str_eq(got.machine, "local");
    ck_assert_int_eq(got.worker, -1);
    ck_assert_int_eq(got.attempts, 0);
    ck_assert(got.lost_s == 0 && got.start_s == 0 && got.end_s == 1);
    WT_ASSERT_RC(weft_run_node_origin(run, 1, &got), 0);
    ck_assert_str_eq(got.machine, "a_b_c_:1");
    ck_assert_int_eq(got.worker, -1);
    ck_assert(got.lost_s == 0 && got.start_s == 1e6 && got.end_s == 1e6);
    WT_ASSERT_RC(weft_run_node_origin(run, 2, &got), 0);
    ck_assert_uint_eq(strlen(got.machine), WEFT_NAME_MAX);
    ck_assert(strspn(got.machine, "x") == WEFT_NAME_MAX);
    ck_assert_int_eq(got.worker, 511);
    ck_assert_int_eq(got.attempts, 4);
    ck_assert(got.lost_s == 1e6 && got.start_s == 3 && got.end_s == 3);
    /* what is kept, files hold: the run file reads back as it was */
    char *text = ot_run_text(run);
    weft_run_t *back = NULL;
    WT_ASSERT_RC(weft_run_load_buf(g, text, strlen(text), &back), 0);
    char *again = ot_run_text(back);
    ck_assert_str_eq(again, text);
    free(again);
    free(text);
    WT_ASSERT_RC(weft_run_free(back), 0);
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
    tcase_add_test(tc, test_origin_kept_in_range);
    tcase_add_test(tc, test_origin_concurrent_machines);
    tcase_add_test(tc, test_origin_run_file_round_trip);
    tcase_add_test(tc, test_origin_run_file_errors);
    tcase_add_test(tc, test_origin_views);
    tcase_add_test(tc, test_origin_weft_dot);
    tcase_add_test(tc, test_origin_progress_bar);
    return wt_run_suite(s);
}
