/* Suite "async": asynchronous nodes (weft_node_defer,
 * weft_node_async_complete). Completions come from foreign threads (a
 * completer thread with a queue), from inside the node, and race with
 * cancellation; outcomes are those of ordinary nodes: results passed on,
 * failures skipping descendants, cancellation counted, timings recorded,
 * and no worker held while nodes wait (10,000 in flight on 2 workers). */
#include "weft_test.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "weft/graph.h"
#include "weft_graph_test.h"

/* ---- a completer thread: completes queued handles, in order ---- */

typedef struct pending {
    weft_node_async_t *h;
    int status;
    char result[32];
    size_t len;
    double at; /* wt_now() when due */
} pending;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pending *q;
    size_t n, cap, head;
    int stop;
    int hold; /* 1: queue completions, complete none until released */
    atomic_int bad_rc;
} cq = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void cq_push(weft_node_async_t *h, int status, const char *result, double delay_s)
{
    pthread_mutex_lock(&cq.mu);
    if (cq.n == cq.cap) {
        cq.cap = cq.cap ? 2 * cq.cap : 1024;
        cq.q = realloc(cq.q, cq.cap * sizeof *cq.q);
    }
    pending *p = &cq.q[cq.n++];
    p->h = h;
    p->status = status;
    p->len = result ? strlen(result) : 0;
    if (result) memcpy(p->result, result, p->len);
    p->at = wt_now() + delay_s;
    pthread_cond_signal(&cq.cv);
    pthread_mutex_unlock(&cq.mu);
}

static void *cq_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cq.mu);
    for (;;) {
        while (!cq.stop && (cq.hold || cq.head == cq.n))
            pthread_cond_wait(&cq.cv, &cq.mu);
        if (cq.head == cq.n && cq.stop) break;
        pending p = cq.q[cq.head++];
        pthread_mutex_unlock(&cq.mu);
        while (wt_now() < p.at) wt_sleep_s(0.001);
        int rc = weft_node_async_complete(p.h, p.status, p.len ? p.result : NULL, p.len);
        if (rc) atomic_store(&cq.bad_rc, rc);
        pthread_mutex_lock(&cq.mu);
    }
    pthread_mutex_unlock(&cq.mu);
    return NULL;
}

static pthread_t cq_thread;

static void cq_start(int hold)
{
    cq.n = cq.head = 0;
    cq.stop = 0;
    cq.hold = hold;
    atomic_store(&cq.bad_rc, 0);
    ck_assert_int_eq(pthread_create(&cq_thread, NULL, cq_main, NULL), 0);
}

static void cq_release(void)
{
    pthread_mutex_lock(&cq.mu);
    cq.hold = 0;
    pthread_cond_broadcast(&cq.cv);
    pthread_mutex_unlock(&cq.mu);
}

static void cq_stop(void)
{
    pthread_mutex_lock(&cq.mu);
    cq.stop = 1;
    cq.hold = 0;
    pthread_cond_broadcast(&cq.cv);
    pthread_mutex_unlock(&cq.mu);
    ck_assert_int_eq(pthread_join(cq_thread, NULL), 0);
    ck_assert_int_eq(atomic_load(&cq.bad_rc), 0);
    free(cq.q);
    cq.q = NULL;
    cq.cap = 0;
}

/* ---- node functions ---- */

/* Defers; the completer finishes it with the argument bytes upper-cased
 * after the delay in ms given by the node's arg pointer (NULL: at once). */
static atomic_int deferred_count;

static int async_upper(weft_node_ctx_t *ctx, void *arg)
{
    size_t len;
    const char *a = weft_node_arg(ctx, &len);
    char buf[32] = {0};
    for (size_t i = 0; i < len && i < sizeof buf - 1; i++)
        buf[i] = (char)(a[i] >= 'a' && a[i] <= 'z' ? a[i] - 32 : a[i]);
    weft_node_async_t *h = NULL;
    int rc = weft_node_defer(ctx, &h);
    if (rc) return 100;
    atomic_fetch_add(&deferred_count, 1);
    cq_push(h, 0, buf, arg ? *(double *)arg : 0);
    return 12345; /* ignored once deferred */
}

/* Defers and fails through the completer with the code in its arg. */
static int async_fail(weft_node_ctx_t *ctx, void *arg)
{
    weft_node_async_t *h = NULL;
    if (weft_node_defer(ctx, &h)) return 100;
    cq_push(h, *(int *)arg, NULL, 0.005);
    return 0;
}

/* Concatenates its inputs (in edge order) as its result. */
static int concat_inputs(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    size_t n = weft_node_input_count(ctx), total = 0, at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        weft_node_input(ctx, i, &len);
        total += len;
    }
    char *buf = malloc(total + 1);
    if (!buf) return 1;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *d = weft_node_input(ctx, i, &len);
        if (len) memcpy(buf + at, d, len);
        at += len;
    }
    int rc = weft_node_set_result(ctx, buf, at);
    free(buf);
    return rc;
}

static void assert_result(const weft_run_t *run, weft_node_t v, const char *want)
{
    const void *d;
    size_t len;
    WT_ASSERT_RC(weft_run_result(run, v, &d, &len), 0);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(d, want, len) == 0);
}

/* ---- tests ---- */

START_TEST(test_async_results_flow_on)
{
    weft_runtime_t *rt = wt_runtime(2);
    cq_start(0);
    static double delay = 0.02;
    weft_graph_t *g = wt_graph("async");
    weft_node_t a, b, c;
    WT_ASSERT_RC(weft_graph_add(g, "a", async_upper, &delay, &a), 0);
    WT_ASSERT_RC(weft_graph_add(g, "b", async_upper, NULL, &b), 0);
    WT_ASSERT_RC(weft_graph_add(g, "c", concat_inputs, NULL, &c), 0);
    WT_ASSERT_RC(weft_graph_set_arg(g, a, "hello ", 6), 0);
    WT_ASSERT_RC(weft_graph_set_arg(g, b, "world", 5), 0);
    WT_ASSERT_RC(weft_graph_precede(g, a, c), 0);
    WT_ASSERT_RC(weft_graph_precede(g, b, c), 0);
    weft_run_opts_t o = {.record = 1};
    weft_run_t *run = NULL;
    for (int rep = 0; rep < 3; rep++) { /* reusable, as any graph */
        WT_ASSERT_RC(weft_graph_run(g, rt, &o, &run), 0);
        WT_ASSERT_COUNTS(wt_counts(run), 3, 3, 0, 0, 0);
        assert_result(run, a, "HELLO ");
        assert_result(run, c, "HELLO WORLD");
        double s0, s1;
        int w;
        WT_ASSERT_RC(weft_run_node_time(run, a, &s0, &s1, &w), 0);
        ck_assert_msg(s1 - s0 >= 0.019, "a took %.4f s, completed after 20 ms", s1 - s0);
        ck_assert_int_ge(w, 0);
        wt_run_free(run);
    }
    cq_stop();
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* 10,000 deferred nodes wait together on 2 workers: the completer holds
 * every completion until the last node has deferred, which only happens if
 * no deferred node holds a worker. */
START_TEST(test_async_holds_no_worker)
{
    enum { N = 10000 };
    weft_runtime_t *rt = wt_runtime(2);
    cq_start(1);
    atomic_store(&deferred_count, 0);
    weft_graph_t *g = wt_graph("many");
    weft_node_t sink;
    WT_ASSERT_RC(weft_graph_add(g, "sink", concat_inputs, NULL, &sink), 0);
    static char names[N][8];
    for (int i = 0; i < N; i++) {
        weft_node_t v;
        snprintf(names[i], sizeof names[i], "%c", 'a' + i % 26);
        WT_ASSERT_RC(weft_graph_add(g, NULL, async_upper, NULL, &v), 0);
        WT_ASSERT_RC(weft_graph_set_arg(g, v, names[i], 1), 0);
        WT_ASSERT_RC(weft_graph_precede(g, v, sink), 0);
    }
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
    double t_end = wt_now() + 60;
    while (atomic_load(&deferred_count) < N && wt_now() < t_end) wt_sleep_s(0.001);
    ck_assert_int_eq(atomic_load(&deferred_count), N);
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.done, 0); /* all N waiting, none finished */
    WT_ASSERT_RC(weft_run_node_status(run, 1), WEFT_NODE_RUNNING);
    WT_ASSERT_RC(weft_run_wait_timeout(run, 0.0), WEFT_ETIMEDOUT);
    cq_release();
    WT_ASSERT_RC(weft_run_wait(run), 0);
    WT_ASSERT_COUNTS(wt_counts(run), N + 1, N + 1, 0, 0, 0);
    const char *d;
    size_t len;
    WT_ASSERT_RC(weft_run_result(run, sink, (const void **)&d, &len), 0);
    ck_assert_uint_eq(len, N);
    for (int i = 0; i < N; i++) ck_assert_int_eq(d[i], 'A' + i % 26);
    wt_run_free(run);
    cq_stop();
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_async_failure_skips_descendants)
{
    weft_runtime_t *rt = wt_runtime(2);
    cq_start(0);
    static int code = 7;
    weft_graph_t *g = wt_graph("fails");
    weft_node_t f, after, other;
    WT_ASSERT_RC(weft_graph_add(g, "f", async_fail, &code, &f), 0);
    WT_ASSERT_RC(weft_graph_add(g, "after", wt_noop, NULL, &after), 0);
    WT_ASSERT_RC(weft_graph_add(g, "other", async_upper, NULL, &other), 0);
    WT_ASSERT_RC(weft_graph_precede(g, f, after), 0);
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), WEFT_ETASK);
    weft_run_counts_t c = wt_counts(run);
    WT_ASSERT_COUNTS(c, 3, 1, 1, 1, 0);
    ck_assert_uint_eq(c.first_failed, f);
    ck_assert_int_eq(c.first_code, 7);
    int nc = 0;
    WT_ASSERT_RC(weft_run_node_code(run, f, &nc), 0);
    ck_assert_int_eq(nc, 7);
    WT_ASSERT_RC(weft_run_node_status(run, after), WEFT_NODE_SKIPPED);
    wt_run_free(run);
    cq_stop();
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* Completed from inside its own function, before it returns. */
static int async_self(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    weft_node_async_t *h = NULL;
    if (weft_node_defer(ctx, &h)) return 100;
    weft_node_async_t *again = (weft_node_async_t *)&wt_bad;
    if (weft_node_defer(ctx, &again) != WEFT_EINVAL || again != NULL) return 101;
    if (weft_node_async_id(h) != weft_node_id(ctx)) return 102;
    if (weft_node_async_run(h) != weft_node_run(ctx)) return 103;
    if (weft_node_async_cancelled(h) != 0) return 104;
    return weft_node_async_complete(h, 0, "self", 4) ? 105 : 0;
}

START_TEST(test_async_complete_inside_and_errors)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("self");
    weft_node_t s, c;
    WT_ASSERT_RC(weft_graph_add(g, "s", async_self, NULL, &s), 0);
    WT_ASSERT_RC(weft_graph_add(g, "c", concat_inputs, NULL, &c), 0);
    WT_ASSERT_RC(weft_graph_precede(g, s, c), 0);
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    assert_result(run, c, "self");
    wt_run_free(run);
    wt_graph_free(g);
    weft_node_async_t *h = (weft_node_async_t *)&wt_bad;
    WT_ASSERT_RC(weft_node_defer(NULL, &h), WEFT_EINVAL);
    ck_assert_ptr_null(h);
    WT_ASSERT_RC(weft_node_async_complete(NULL, 0, NULL, 0), WEFT_EINVAL);
    ck_assert_int_eq(weft_node_async_cancelled(NULL), 0);
    ck_assert_uint_eq(weft_node_async_id(NULL), WEFT_NODE_NONE);
    ck_assert_ptr_null(weft_node_async_run(NULL));
    ck_assert_int_eq(wt_ld(&wt_bad), 0);
    wt_destroy(rt);
}
END_TEST

/* Deferred nodes completed by the completer while cancels arrive from the
 * test's thread: cancels race with completions. */
static int async_watch(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    weft_node_async_t *h = NULL;
    if (weft_node_defer(ctx, &h)) return 100;
    cq_push(h, 0, "x", 0.0005 * (double)(weft_node_id(ctx) % 4));
    return 0;
}

START_TEST(test_async_cancel_races_completion)
{
    weft_runtime_t *rt = wt_runtime(2);
    cq_start(0);
    enum { W = 40 };
    weft_graph_t *g = wt_graph("race");
    weft_node_t first = 0, prev = 0;
    for (int i = 0; i < W; i++) { /* a chain: nodes after a cancel are cancelled */
        weft_node_t v;
        WT_ASSERT_RC(weft_graph_add(g, NULL, async_watch, NULL, &v), 0);
        if (i) WT_ASSERT_RC(weft_graph_precede(g, prev, v), 0);
        else first = v;
        prev = v;
    }
    int rounds = (int)wt_scaled(200, 20), cancelled_runs = 0;
    for (int r = 0; r < rounds; r++) {
        weft_run_t *run = NULL;
        WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
        wt_sleep_s(0.0002 * (r % 17));
        WT_ASSERT_RC(weft_run_cancel(run), 0);
        int rc = weft_run_wait(run);
        weft_run_counts_t c = wt_counts(run);
        /* a prefix of the chain is done, the rest cancelled; nothing else */
        ck_assert_uint_eq(c.done + c.cancelled, W);
        ck_assert_uint_eq(c.failed, 0);
        ck_assert_uint_eq(c.skipped, 0);
        for (uint64_t i = 0; i < W; i++)
            WT_ASSERT_RC(weft_run_node_status(run, first + (weft_node_t)i),
                         i < c.done ? WEFT_NODE_DONE : WEFT_NODE_CANCELLED);
        if (c.cancelled) {
            WT_ASSERT_RC(rc, WEFT_ECANCELED);
            cancelled_runs++;
        } else { /* every node done: the cancel came at the very end, or after it */
            ck_assert_msg(rc == 0 || rc == WEFT_ECANCELED, "rc %d (%s)", rc, weft_err_name(rc));
        }
        wt_run_free(run);
    }
    ck_assert_int_gt(cancelled_runs, 0);
    cq_stop();
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* A deferred node that stops for its run's cancellation: WEFT_ECANCELED
 * after the cancel counts it cancelled; before any cancel it is a failure
 * with that code. */
static weft_node_async_t *_Atomic parked;

static int async_park(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    weft_node_async_t *h = NULL;
    if (weft_node_defer(ctx, &h)) return 100;
    atomic_store(&parked, h);
    return 0;
}

static weft_node_async_t *wait_parked(void)
{
    double t_end = wt_now() + 30;
    weft_node_async_t *h;
    while (!(h = atomic_exchange(&parked, NULL)) && wt_now() < t_end) wt_sleep_s(0.001);
    ck_assert_ptr_nonnull(h);
    return h;
}

START_TEST(test_async_cancelled_status)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("park");
    weft_node_t p, after;
    WT_ASSERT_RC(weft_graph_add(g, "p", async_park, NULL, &p), 0);
    WT_ASSERT_RC(weft_graph_add(g, "after", wt_noop, NULL, &after), 0);
    WT_ASSERT_RC(weft_graph_precede(g, p, after), 0);

    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
    weft_node_async_t *h = wait_parked();
    ck_assert_int_eq(weft_node_async_cancelled(h), 0);
    WT_ASSERT_RC(weft_run_cancel(run), 0);
    ck_assert_int_eq(weft_node_async_cancelled(h), 1);
    WT_ASSERT_RC(weft_run_wait_timeout(run, 0.05), WEFT_ETIMEDOUT); /* still deferred */
    WT_ASSERT_RC(weft_node_async_complete(h, WEFT_ECANCELED, NULL, 0), 0);
    WT_ASSERT_RC(weft_run_wait(run), WEFT_ECANCELED);
    WT_ASSERT_COUNTS(wt_counts(run), 2, 0, 0, 0, 2);
    WT_ASSERT_RC(weft_run_node_status(run, p), WEFT_NODE_CANCELLED);
    wt_run_free(run);

    /* not cancelled: ECANCELED is the node's own failure code */
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
    h = wait_parked();
    WT_ASSERT_RC(weft_node_async_complete(h, WEFT_ECANCELED, NULL, 0), 0);
    WT_ASSERT_RC(weft_run_wait(run), WEFT_ETASK);
    WT_ASSERT_COUNTS(wt_counts(run), 2, 0, 1, 1, 0);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* Inside a subgraph, at depth: the outer run waits for the inner deferred
 * node (its successor starts only after it), whose result stays in its
 * sub-run. */
START_TEST(test_async_in_subgraph)
{
    weft_runtime_t *rt = wt_runtime(2);
    cq_start(0);
    static double delay = 0.01;
    weft_graph_t *inner = wt_graph("inner");
    weft_node_t a;
    WT_ASSERT_RC(weft_graph_add(inner, "a", async_upper, &delay, &a), 0);
    WT_ASSERT_RC(weft_graph_set_arg(inner, a, "deep", 4), 0);
    weft_graph_t *mid = wt_graph("mid");
    weft_node_t s1;
    WT_ASSERT_RC(weft_graph_add_subgraph(mid, "s1", inner, &s1), 0);
    weft_graph_t *top = wt_graph("top");
    weft_node_t s2, c;
    WT_ASSERT_RC(weft_graph_add_subgraph(top, "s2", mid, &s2), 0);
    WT_ASSERT_RC(weft_graph_add(top, "c", concat_inputs, NULL, &c), 0);
    WT_ASSERT_RC(weft_graph_precede(top, s2, c), 0);
    weft_run_t *run = NULL;
    weft_run_opts_t o = {.record = 1};
    WT_ASSERT_RC(weft_graph_run(top, rt, &o, &run), 0);
    WT_ASSERT_COUNTS(wt_counts(run), 2, 2, 0, 0, 0);
    weft_run_t *r1 = NULL, *r2 = NULL;
    WT_ASSERT_RC(weft_run_subrun(run, s2, &r1), 0);
    WT_ASSERT_RC(weft_run_subrun(r1, s1, &r2), 0);
    assert_result(r2, a, "DEEP");
    double a0, a1, c0, c1;
    int w;
    WT_ASSERT_RC(weft_run_node_time(r2, a, &a0, &a1, &w), 0);
    WT_ASSERT_RC(weft_run_node_time(run, c, &c0, &c1, &w), 0);
    ck_assert_msg(a1 - a0 >= 0.009, "a took %.4f s, completed after 10 ms", a1 - a0);
    wt_run_free(run);
    cq_stop();
    wt_graph_free(top);
    wt_graph_free(mid);
    wt_graph_free(inner);
    wt_destroy(rt);
}
END_TEST

/* Destroying the runtime waits for a deferred node's completion. */
static void *late_complete(void *arg)
{
    wt_sleep_s(0.05);
    weft_node_async_complete(wait_parked(), 0, NULL, 0);
    (void)arg;
    return NULL;
}

START_TEST(test_async_destroy_waits)
{
    weft_runtime_t *rt = wt_runtime(1);
    weft_graph_t *g = wt_graph("park");
    WT_ASSERT_RC(weft_graph_add(g, "p", async_park, NULL, NULL), 0);
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, late_complete, NULL), 0);
    double t0 = wt_now();
    WT_ASSERT_RC(weft_run_wait(run), 0);
    ck_assert(wt_now() - t0 >= 0.045);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    WT_ASSERT_COUNTS(wt_counts(run), 1, 1, 0, 0, 0);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("async");
    TCase *tc = wt_tcase(s, "async", WT_TIMEOUT_S);
    tcase_add_test(tc, test_async_results_flow_on);
    tcase_add_test(tc, test_async_holds_no_worker);
    tcase_add_test(tc, test_async_failure_skips_descendants);
    tcase_add_test(tc, test_async_complete_inside_and_errors);
    tcase_add_test(tc, test_async_cancel_races_completion);
    tcase_add_test(tc, test_async_cancelled_status);
    tcase_add_test(tc, test_async_in_subgraph);
    tcase_add_test(tc, test_async_destroy_waits);
    return wt_run_suite(s);
}
