/* Suite "races": runs against changes, waits and cancels from other
 * threads, each with the exact outcome the contracts in weft/graph.h give.
 *
 * - run_n against changes: the graph counts as running from run_n's call
 *   to its return, so every change meanwhile is refused and every run of
 *   one run_n ran the same graph (issue 7.1);
 * - runs against changes (and weft_graph_check from a third thread): every
 *   change either returned WEFT_EBUSY or happened before a run compiled,
 *   and each run ran exactly the graph it compiled (issue 7.2, 7.8); the
 *   same for a graph's home thread, whose changes take no locked
 *   instruction, against the first run from another thread;
 * - cancels from another thread against run_n of a graph with subgraph
 *   nodes: every run_n returns 0 or WEFT_ECANCELED, never WEFT_ETASK, with
 *   counts that add up, in the top run and in every sub-run (issue 7.3, 7.5);
 * - cancels at every depth of nested subgraphs, deterministically: exact
 *   statuses and counts at every level (issue 7.5).
 *
 * Bounded in time: counts scale with WEFT_TEST_SCALE (CI runs this suite
 * under ThreadSanitizer at 0.05), and every loop also stops at a deadline.
 * Helper threads record what they saw; the main thread asserts. */
#include "weft_test.h"

#include <pthread.h>

#include "weft/graph.h"
#include "weft_graph_test.h"

/* Seconds any one loop of this suite may take before it stops early. */
#define WT_RACE_DEADLINE_S 20.0

/* ------------------------------------------------------------------ */
/* A changer thread                                                    */

/* Adds nodes to g, each after the last one (a growing chain), until stop
 * is set or it has made max changes; counts what the calls returned. */
typedef struct wt_changer {
    weft_graph_t *g;
    atomic_int stop;
    atomic_int paused; /* 1: wait (the main thread is between two run_n calls) */
    uint64_t max;
    uint64_t accepted, busy, other; /* changes made, refused, anything else */
    int other_rc;
    weft_node_fn fn;
} wt_changer;

static void *wt_change_loop(void *arg)
{
    wt_changer *c = arg;
    double deadline = wt_now() + WT_RACE_DEADLINE_S;
    while (!atomic_load(&c->stop) && c->accepted < c->max && wt_now() < deadline) {
        if (atomic_load(&c->paused)) {
            wt_sleep_s(10e-6);
            continue;
        }
        weft_node_t v = WEFT_NODE_NONE;
        int rc = weft_graph_add(c->g, NULL, c->fn, NULL, &v);
        if (rc == 0) {
            c->accepted++;
            /* the edge may be refused on its own: a run may start between */
            for (;;) {
                int erc = weft_graph_precede(c->g, v - 1, v);
                if (erc == 0) {
                    c->accepted++;
                    break;
                }
                if (erc != WEFT_EBUSY) {
                    c->other++;
                    c->other_rc = erc;
                    break;
                }
                c->busy++;
                if (atomic_load(&c->stop))
                    break;
            }
        } else if (rc == WEFT_EBUSY) {
            c->busy++;
        } else {
            c->other++;
            c->other_rc = rc;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* run_n against changes                                               */

#define WT_MAX_RUNS 4096
static atomic_ullong wt_calls;      /* node calls, every run */
static atomic_int wt_nruns;         /* runs seen by their source node */
static size_t wt_seen_nodes[WT_MAX_RUNS], wt_seen_edges[WT_MAX_RUNS];

/* Node 0 (the only source until the changer adds edges... and always the
 * first of the chain) notes the graph it runs: while a run goes the graph
 * cannot change, so these are the counts the run compiled. */
static int wt_count_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    atomic_fetch_add(&wt_calls, 1);
    if (weft_node_id(ctx) == 0) {
        int k = atomic_fetch_add(&wt_nruns, 1);
        weft_graph_t *g = weft_node_graph(ctx);
        if (k < WT_MAX_RUNS) {
            wt_seen_nodes[k] = weft_graph_node_count(g);
            wt_seen_edges[k] = weft_graph_edge_count(g);
        }
    }
    return 0;
}

START_TEST(test_run_n_refuses_changes)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("run_n");
    WT_ASSERT_RC(weft_graph_add(g, "first", wt_count_node, NULL, NULL), 0);
    /* The changer hammers the graph only while run_n goes (and just
     * before): changes between two of its runs are what must not happen. */
    wt_changer c = {.g = g, .max = wt_scaled(4000, 200), .fn = wt_count_node, .paused = 1};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, wt_change_loop, &c), 0);
    uint64_t rounds = wt_scaled(300, 20), per = 16, bad_n = 0, bad_calls = 0, bad_counts = 0;
    double deadline = wt_now() + WT_RACE_DEADLINE_S;
    uint64_t r;
    for (r = 0; r < rounds && wt_now() < deadline; r++) {
        atomic_store(&wt_nruns, 0);
        unsigned long long calls0 = atomic_load(&wt_calls);
        weft_run_t *run = NULL;
        atomic_store(&c.paused, 0);
        int rc = weft_graph_run_n(g, rt, per, NULL, &run);
        atomic_store(&c.paused, 1);
        WT_ASSERT_RC(rc, 0);
        ck_assert_int_eq(wt_ld(&wt_nruns), (int)per);
        /* every run of one run_n ran one graph: no change got in between */
        for (uint64_t k = 1; k < per; k++)
            bad_n += wt_seen_nodes[k] != wt_seen_nodes[0] || wt_seen_edges[k] != wt_seen_edges[0];
        bad_calls += atomic_load(&wt_calls) - calls0 != per * wt_seen_nodes[0];
        weft_run_counts_t cn;
        rc = weft_run_counts(run, &cn); /* stale once the changer got in after */
        if (rc == 0)
            bad_counts += cn.total != wt_seen_nodes[0] || cn.done != wt_seen_nodes[0];
        else if (rc != WEFT_ESTALE)
            bad_counts++;
        wt_run_free(run);
    }
    atomic_store(&c.stop, 1);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_msg(bad_n == 0, "%llu runs of a run_n saw another graph than its first run",
                  (unsigned long long)bad_n);
    ck_assert_uint_eq(bad_calls, 0);
    ck_assert_uint_eq(bad_counts, 0);
    ck_assert_msg(c.other == 0, "a change returned %d (%s)", c.other_rc, weft_err_name(c.other_rc));
    /* every accepted change is in the graph: a node and its edge each */
    ck_assert_uint_eq(weft_graph_node_count(g) + weft_graph_edge_count(g), 1 + c.accepted);
    ck_assert_uint_gt(r, 0);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* runs against changes, and check from a third thread                 */

typedef struct wt_checker {
    weft_graph_t *g;
    atomic_int stop;
    uint64_t ok, other;
    int other_rc;
} wt_checker;

static void *wt_check_loop(void *arg)
{
    wt_checker *k = arg;
    double deadline = wt_now() + WT_RACE_DEADLINE_S;
    while (!atomic_load(&k->stop) && wt_now() < deadline) {
        weft_node_t v = 0;
        int rc = weft_graph_check(k->g, &v);
        if (rc == 0 && v == WEFT_NODE_NONE) {
            k->ok++;
        } else {
            k->other++;
            k->other_rc = rc;
        }
    }
    return NULL;
}

START_TEST(test_runs_against_changes)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("grow");
    WT_ASSERT_RC(weft_graph_add(g, "first", wt_count_node, NULL, NULL), 0);
    wt_changer c = {.g = g, .max = wt_scaled(6000, 300), .fn = wt_count_node};
    wt_checker k = {.g = g};
    pthread_t th, tk;
    ck_assert_int_eq(pthread_create(&th, NULL, wt_change_loop, &c), 0);
    ck_assert_int_eq(pthread_create(&tk, NULL, wt_check_loop, &k), 0);
    uint64_t runs = wt_scaled(3000, 100), bad_calls = 0, bad_counts = 0, stale = 0;
    double deadline = wt_now() + WT_RACE_DEADLINE_S;
    uint64_t r;
    for (r = 0; r < runs && wt_now() < deadline; r++) {
        atomic_store(&wt_nruns, 0);
        unsigned long long calls0 = atomic_load(&wt_calls);
        weft_run_t *run = NULL;
        int rc = weft_graph_run(g, rt, NULL, &run);
        if (rc != 0)
            ck_abort_msg("run %llu returned %d (%s)", (unsigned long long)r, rc, weft_err_name(rc));
        ck_assert_int_eq(wt_ld(&wt_nruns), 1);
        /* the run ran exactly the graph it compiled, each node once */
        bad_calls += atomic_load(&wt_calls) - calls0 != wt_seen_nodes[0];
        weft_run_counts_t cn;
        rc = weft_run_counts(run, &cn);
        if (rc == 0)
            bad_counts += cn.total != wt_seen_nodes[0] || cn.done != wt_seen_nodes[0];
        else if (rc == WEFT_ESTALE)
            stale++;
        else
            bad_counts++;
        wt_run_free(run);
    }
    atomic_store(&c.stop, 1);
    atomic_store(&k.stop, 1);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(pthread_join(tk, NULL), 0);
    ck_assert_uint_eq(bad_calls, 0);
    ck_assert_uint_eq(bad_counts, 0);
    ck_assert_msg(c.other == 0, "a change returned %d (%s)", c.other_rc, weft_err_name(c.other_rc));
    ck_assert_msg(k.other == 0, "weft_graph_check returned %d (%s)", k.other_rc,
                  weft_err_name(k.other_rc));
    ck_assert_uint_eq(weft_graph_node_count(g) + weft_graph_edge_count(g), 1 + c.accepted);
    ck_assert_uint_le(stale, r);
    /* after everything: one last run runs the whole chain */
    atomic_store(&wt_nruns, 0);
    unsigned long long calls0 = atomic_load(&wt_calls);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), 0);
    ck_assert_uint_eq(atomic_load(&wt_calls) - calls0, weft_graph_node_count(g));
    ck_assert_uint_eq(wt_seen_nodes[0], weft_graph_node_count(g));
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the home thread's fast changes against a first run elsewhere        */

/* A graph made by a thread of its own changes without a locked
 * instruction until another thread first runs it (graph.c, "fast
 * changes"): each round gives a fresh graph to a changer thread, which
 * makes it and keeps growing it, while the main thread runs it once, in
 * the middle of those fast changes. */
typedef struct wt_homer {
    _Atomic(weft_graph_t *) g;
    atomic_int stop;
    uint64_t accepted, busy, other;
    int other_rc;
} wt_homer;

static void *wt_home_loop(void *arg)
{
    wt_homer *h = arg;
    weft_graph_t *g = NULL;
    if (weft_graph_create("home", &g) != 0 || weft_graph_add(g, "first", wt_count_node, NULL, NULL) != 0) {
        h->other++;
        return NULL;
    }
    atomic_store(&h->g, g);
    double deadline = wt_now() + WT_RACE_DEADLINE_S;
    weft_node_t last = 0;
    while (!atomic_load(&h->stop) && wt_now() < deadline && h->accepted < 20000) {
        weft_node_t v = WEFT_NODE_NONE;
        int rc = weft_graph_add(g, NULL, wt_count_node, NULL, &v);
        if (rc == 0) {
            h->accepted++;
            rc = weft_graph_precede(g, last, v);
            last = v;
            if (rc == 0)
                h->accepted++;
        }
        if (rc == WEFT_EBUSY)
            h->busy++;
        else if (rc != 0) {
            h->other++;
            h->other_rc = rc;
        }
    }
    return NULL;
}

START_TEST(test_fast_changes_against_first_run)
{
    weft_runtime_t *rt = wt_runtime(2);
    uint64_t rounds = wt_scaled(300, 20), bad_calls = 0, other = 0;
    double deadline = wt_now() + WT_RACE_DEADLINE_S;
    uint64_t r;
    for (r = 0; r < rounds && wt_now() < deadline; r++) {
        wt_homer h = {0};
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, wt_home_loop, &h), 0);
        weft_graph_t *g;
        while (!(g = atomic_load(&h.g)) && !h.other)
            wt_sleep_s(1e-6);
        ck_assert_ptr_nonnull(g);
        wt_spin_work(wt_mix64(r) % 20000); /* somewhere in the middle of the changes */
        atomic_store(&wt_nruns, 0);
        unsigned long long calls0 = atomic_load(&wt_calls);
        WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), 0);
        ck_assert_int_eq(wt_ld(&wt_nruns), 1);
        /* the run ran the graph as it was when it compiled: each node once */
        bad_calls += atomic_load(&wt_calls) - calls0 != wt_seen_nodes[0];
        atomic_store(&h.stop, 1);
        ck_assert_int_eq(pthread_join(th, NULL), 0);
        other += h.other;
        ck_assert_uint_eq(weft_graph_node_count(g) + weft_graph_edge_count(g), 1 + h.accepted);
        ck_assert_uint_le(wt_seen_nodes[0], weft_graph_node_count(g));
        wt_graph_free(g);
    }
    ck_assert_uint_eq(bad_calls, 0);
    ck_assert_uint_eq(other, 0);
    ck_assert_uint_gt(r, 0);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* cancels against run_n, with subgraph nodes                          */

static _Atomic(weft_run_t *) wt_cur;  /* the record of the run_n in flight */
static atomic_int wt_armed, wt_in_cancel;

/* The top graph's source: makes its run record known to the canceller. */
static int wt_publish(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    atomic_store(&wt_cur, weft_node_run(ctx));
    wt_spin_work(200);
    return 0;
}

static int wt_work(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    wt_spin_work(300);
    return 0;
}

typedef struct wt_canceller {
    atomic_int stop;
    uint64_t cancels, other;
} wt_canceller;

/* Cancels the published record whenever the main thread has armed it; the
 * main thread disarms and waits for wt_in_cancel to drop before it frees
 * the record (seq_cst on both sides: one sees the other). */
static void *wt_cancel_loop(void *arg)
{
    wt_canceller *k = arg;
    double deadline = wt_now() + WT_RACE_DEADLINE_S;
    uint64_t spin = 0;
    while (!atomic_load(&k->stop) && wt_now() < deadline) {
        atomic_store(&wt_in_cancel, 1);
        weft_run_t *r = atomic_load(&wt_armed) ? atomic_load(&wt_cur) : NULL;
        if (r) {
            int rc = weft_run_cancel(r);
            if (rc == 0)
                k->cancels++;
            else
                k->other++;
        }
        atomic_store(&wt_in_cancel, 0);
        wt_spin_work(50 + (wt_mix64(spin++) % 2000)); /* cancels at random times */
    }
    return NULL;
}

/* Every subgraph node of a finished run either never started its run
 * (cancelled before: no sub-run) or has a sub-run whose counts add up and
 * agree with the node's status. Returns the number of disagreements. */
static uint64_t wt_check_subruns(const weft_run_t *run, const weft_node_t *subs, int nsubs,
                                 uint64_t sub_total)
{
    uint64_t bad = 0;
    for (int i = 0; i < nsubs; i++) {
        int st = weft_run_node_status(run, subs[i]);
        weft_run_t *sr = NULL;
        int rc = weft_run_subrun(run, subs[i], &sr);
        if (rc == WEFT_ENOENT) {
            bad += st != WEFT_NODE_CANCELLED;
            continue;
        }
        if (rc != 0) {
            bad++;
            continue;
        }
        weft_run_counts_t c;
        if (weft_run_counts(sr, &c) != 0) {
            bad++;
            continue;
        }
        bad += c.total != sub_total || c.failed || c.skipped ||
               c.done + c.cancelled != sub_total;
        if (st == WEFT_NODE_DONE)
            bad += c.cancelled != 0 || weft_run_wait(sr) != 0;
        else if (st == WEFT_NODE_CANCELLED)
            bad += c.cancelled == 0 || weft_run_wait(sr) != WEFT_ECANCELED;
        else
            bad++;
    }
    return bad;
}

START_TEST(test_cancel_against_run_n)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *sub = wt_graph("sub"), *g = wt_graph("top");
    /* sub: a -> b -> c, a -> d */
    weft_node_t a, b, cc, d;
    WT_ASSERT_RC(weft_graph_add(sub, "a", wt_work, NULL, &a), 0);
    WT_ASSERT_RC(weft_graph_add(sub, "b", wt_work, NULL, &b), 0);
    WT_ASSERT_RC(weft_graph_add(sub, "c", wt_work, NULL, &cc), 0);
    WT_ASSERT_RC(weft_graph_add(sub, "d", wt_work, NULL, &d), 0);
    WT_ASSERT_RC(weft_graph_precede(sub, a, b), 0);
    WT_ASSERT_RC(weft_graph_precede(sub, b, cc), 0);
    WT_ASSERT_RC(weft_graph_precede(sub, a, d), 0);
    /* top: p -> s1, p -> s2, s1 -> s3, s2 -> z, s3 -> z */
    weft_node_t p, s[3], z;
    WT_ASSERT_RC(weft_graph_add(g, "p", wt_publish, NULL, &p), 0);
    for (int i = 0; i < 3; i++)
        WT_ASSERT_RC(weft_graph_add_subgraph(g, NULL, sub, &s[i]), 0);
    WT_ASSERT_RC(weft_graph_add(g, "z", wt_work, NULL, &z), 0);
    WT_ASSERT_RC(weft_graph_precede(g, p, s[0]), 0);
    WT_ASSERT_RC(weft_graph_precede(g, p, s[1]), 0);
    WT_ASSERT_RC(weft_graph_precede(g, s[0], s[2]), 0);
    WT_ASSERT_RC(weft_graph_precede(g, s[1], z), 0);
    WT_ASSERT_RC(weft_graph_precede(g, s[2], z), 0);

    wt_canceller k = {0};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, wt_cancel_loop, &k), 0);
    uint64_t rounds = wt_scaled(1500, 60), cancelled = 0, ok = 0, bad = 0, bad_sub = 0;
    int bad_rc = 0;
    double deadline = wt_now() + WT_RACE_DEADLINE_S;
    uint64_t r;
    for (r = 0; r < rounds && wt_now() < deadline; r++) {
        weft_run_t *run = NULL;
        atomic_store(&wt_cur, NULL);
        atomic_store(&wt_armed, 1);
        int rc = weft_graph_run_n(g, rt, 4, NULL, &run);
        atomic_store(&wt_armed, 0);
        while (atomic_load(&wt_in_cancel))
            wt_sleep_s(1e-6);
        if (rc == 0) {
            ok++;
        } else if (rc == WEFT_ECANCELED) {
            cancelled++;
        } else {
            bad++;
            bad_rc = rc;
        }
        weft_run_counts_t c = wt_counts(run);
        /* nothing fails or is skipped for a cancel: a cancelled subgraph
         * node counts as cancelled, and its successors are cancelled too
         * or skipped */
        ck_assert_uint_eq(c.total, 5);
        ck_assert_uint_eq(c.failed, 0);
        ck_assert_uint_eq(c.done + c.cancelled + c.skipped, 5);
        ck_assert_int_eq(rc == WEFT_ECANCELED, c.cancelled > 0);
        ck_assert_uint_eq(c.first_failed, WEFT_NODE_NONE);
        bad_sub += wt_check_subruns(run, s, 3, 4);
        wt_run_free(run);
    }
    atomic_store(&k.stop, 1);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_msg(bad == 0, "%llu run_n calls returned another code, e.g. %d (%s)",
                  (unsigned long long)bad, bad_rc, weft_err_name(bad_rc));
    ck_assert_uint_eq(bad_sub, 0);
    ck_assert_uint_eq(k.other, 0);
    ck_assert_uint_eq(ok + cancelled, r);
    wt_graph_free(g);
    wt_graph_free(sub);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* cancels at every depth                                              */

#define WT_DEPTH 6

/* Level k < WT_DEPTH: s (subgraph node of level k+1) -> t. The innermost
 * level: the gated node -> t. Cancelling the run at depth d while the gated
 * node runs: at levels >= d both nodes of each level are cancelled (the
 * gated one, which was running, finishes done); at levels < d the subgraph
 * node is cancelled (its run was) and t is skipped. Every level's run
 * returns WEFT_ECANCELED. */
START_TEST(test_cancel_at_every_depth)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *lv[WT_DEPTH + 1];
    for (int k = 0; k <= WT_DEPTH; k++)
        lv[k] = wt_graph(NULL);
    for (int k = 0; k <= WT_DEPTH; k++) {
        if (k < WT_DEPTH)
            WT_ASSERT_RC(weft_graph_add_subgraph(lv[k], "s", lv[k + 1], NULL), 0);
        else
            WT_ASSERT_RC(weft_graph_add(lv[k], "gate", wt_gated, NULL, NULL), 0);
        WT_ASSERT_RC(weft_graph_add(lv[k], "t", wt_noop, NULL, NULL), 0);
        WT_ASSERT_RC(weft_graph_precede(lv[k], 0, 1), 0);
    }
    for (int d = 0; d <= WT_DEPTH; d++) {
        atomic_store(&wt_gate, 0);
        atomic_store(&wt_entered, 0);
        weft_run_t *top = NULL, *at[WT_DEPTH + 1];
        WT_ASSERT_RC(weft_graph_run_async(lv[0], rt, NULL, &top), 0);
        ck_assert_int_eq(wt_gate_wait(&wt_entered, 30.0), 0);
        /* while the gate holds, every level's run is in flight */
        at[0] = top;
        for (int k = 1; k <= WT_DEPTH; k++)
            WT_ASSERT_RC(weft_run_subrun(at[k - 1], 0, &at[k]), 0);
        WT_ASSERT_RC(weft_run_cancel(at[d]), 0);
        for (int k = 0; k <= WT_DEPTH; k++)
            ck_assert_int_eq(weft_run_cancelled(at[k]), k >= d);
        wt_gate_open(&wt_gate);
        WT_ASSERT_RC(weft_run_wait(top), WEFT_ECANCELED);
        for (int k = 0; k <= WT_DEPTH; k++) {
            weft_run_counts_t c = wt_counts(at[k]);
            if (k == WT_DEPTH) /* the gated node ran; t did not */
                WT_ASSERT_COUNTS(c, 2, 1, 0, 0, 1);
            else if (k >= d)
                WT_ASSERT_COUNTS(c, 2, 0, 0, 0, 2);
            else
                WT_ASSERT_COUNTS(c, 2, 0, 0, 1, 1);
            if (k < WT_DEPTH)
                ck_assert_int_eq(weft_run_node_status(at[k], 0), WEFT_NODE_CANCELLED);
            ck_assert_int_eq(weft_run_node_status(at[k], 1),
                             k >= d ? WEFT_NODE_CANCELLED : WEFT_NODE_SKIPPED);
            WT_ASSERT_RC(weft_run_wait(at[k]), WEFT_ECANCELED);
        }
        wt_run_free(top);
    }
    ck_assert_int_eq(wt_ld(&wt_gate_timeouts), 0);
    for (int k = 0; k <= WT_DEPTH; k++)
        wt_graph_free(lv[k]);
    wt_destroy(rt);
}
END_TEST

static Suite *races_suite(void)
{
    Suite *s = suite_create("races");
    TCase *tc = wt_tcase(s, "races", WT_TIMEOUT_S);
    tcase_add_test(tc, test_run_n_refuses_changes);
    tcase_add_test(tc, test_runs_against_changes);
    tcase_add_test(tc, test_fast_changes_against_first_run);
    tcase_add_test(tc, test_cancel_against_run_n);
    tcase_add_test(tc, test_cancel_at_every_depth);
    return s;
}

int main(void)
{
    return wt_run_suite(races_suite());
}
