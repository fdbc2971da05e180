/* test_dist_graph: graphs run on a cluster of weftd processes on loopback
 * (weft_cluster_executor): the wavefront 100x100 and a random layered
 * graph of 10,000 nodes give byte-identical results to local runs;
 * inputs travel with their nodes; placement hints (a given node, local
 * only) hold and their errors are clear; failures skip descendants as
 * locally; a cancelled run cancels work on the nodes; a node killed in
 * the middle of a run costs time, never a result, and the run record says
 * where each node ran, its attempts and the time lost. */
#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "dist_test.h"

static const char *const plugin_args[] = {"--load", PLUGIN_PATH, NULL};

static weft_cluster_t *cluster_of(dt_proc_t *p, int n, const weft_cluster_opts_t *o) {
    const char *names[8];
    for (int i = 0; i < n; i++) names[i] = p[i].addr;
    weft_cluster_t *c = NULL;
    int rc = weft_cluster_create(names, (size_t)n, o, &c);
    ck_assert_msg(rc == 0, "cluster: %s: %s", weft_strerror(rc), weft_error_detail());
    ck_assert_int_eq(weft_cluster_wait_nodes(c, (size_t)n, 20), 0);
    return c;
}

static void start_nodes(dt_proc_t *p, int n) {
    dt_setup_key();
    for (int i = 0; i < n; i++) ck_assert_int_eq(dt_start(&p[i], plugin_args), 0);
}

/* The wavefront n x n of `task`: cell (i, j) has the argument "i,j" (after
 * a 4-byte sleep prefix for example.sleep_hash) and runs after (i-1, j)
 * and (i, j-1). */
static weft_graph_t *wavefront(int n, const char *task, unsigned sleep_us) {
    weft_graph_t *g;
    ck_assert_int_eq(weft_graph_create("wavefront", &g), 0);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            char name[32], arg[40];
            snprintf(name, sizeof name, "c%d_%d", i, j);
            size_t off = 0;
            if (sleep_us) {
                for (int k = 0; k < 4; k++) arg[k] = (char)(sleep_us >> (8 * k));
                off = 4;
            }
            int len = snprintf(arg + off, sizeof arg - off, "%d,%d", i, j);
            weft_node_t v;
            ck_assert_int_eq(weft_graph_add_task(g, name, task, arg, off + (size_t)len, &v), 0);
            ck_assert_uint_eq(v, (weft_node_t)(i * n + j));
            if (i) ck_assert_int_eq(weft_graph_precede(g, (weft_node_t)((i - 1) * n + j), v), 0);
            if (j) ck_assert_int_eq(weft_graph_precede(g, (weft_node_t)(i * n + j - 1), v), 0);
        }
    return g;
}

/* A random layered DAG of `total` nodes of weft.hash (fixed seed): each
 * node after the first layer has 1-3 predecessors in the layer above. */
static weft_graph_t *layered(int total, int width, uint64_t seed) {
    weft_graph_t *g;
    ck_assert_int_eq(weft_graph_create("layered", &g), 0);
    uint64_t x = seed;
    for (int v = 0; v < total; v++) {
        char arg[24];
        int len = snprintf(arg, sizeof arg, "%d", v);
        weft_node_t id;
        ck_assert_int_eq(weft_graph_add_task(g, NULL, "weft.hash", arg, (size_t)len, &id), 0);
        int layer = v / width;
        if (!layer) continue;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int k = 1 + (int)((x >> 33) % 3);
        for (int e = 0; e < k; e++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            int p = (layer - 1) * width + (int)((x >> 33) % (uint64_t)width);
            int rc = weft_graph_precede(g, (weft_node_t)p, id);
            ck_assert(rc == 0 || rc == WEFT_EEXIST);
        }
    }
    return g;
}

/* Runs g locally and returns the run (all nodes must succeed). */
static weft_run_t *run_local(weft_graph_t *g, weft_runtime_t *rt) {
    weft_run_t *run = NULL;
    int rc = weft_graph_run(g, rt, NULL, &run);
    ck_assert_msg(rc == 0, "local run: %s: %s", weft_strerror(rc), weft_error_detail());
    return run;
}

static weft_run_t *run_cluster(weft_graph_t *g, weft_runtime_t *rt, weft_cluster_t *c, int expect) {
    weft_run_opts_t o = {.record = 1, .executor = weft_cluster_executor(c)};
    ck_assert_ptr_nonnull(o.executor);
    weft_run_t *run = NULL;
    int rc = weft_graph_run(g, rt, &o, &run);
    ck_assert_msg(rc == expect, "cluster run: %s (expected %s): %s", weft_strerror(rc),
                  weft_strerror(expect), weft_error_detail());
    ck_assert_ptr_nonnull(run);
    return run;
}

/* Every node's result is byte-identical in both runs. */
static void same_results(const weft_graph_t *g, const weft_run_t *a, const weft_run_t *b) {
    size_t n = weft_graph_node_count(g);
    for (size_t v = 0; v < n; v++) {
        const void *da, *db;
        size_t la, lb;
        ck_assert_int_eq(weft_run_node_status(a, (weft_node_t)v), WEFT_NODE_DONE);
        ck_assert_int_eq(weft_run_node_status(b, (weft_node_t)v), WEFT_NODE_DONE);
        ck_assert_int_eq(weft_run_result(a, (weft_node_t)v, &da, &la), 0);
        ck_assert_int_eq(weft_run_result(b, (weft_node_t)v, &db, &lb), 0);
        ck_assert_msg(la == lb && la == 16 && memcmp(da, db, la) == 0, "node %zu differs", v);
    }
}

/* Counts nodes per machine of a cluster run; each ran on one of p's. */
static void machines_of(const weft_graph_t *g, const weft_run_t *run, dt_proc_t *p, int np,
                        uint64_t *per, uint64_t *retries, double *lost) {
    size_t n = weft_graph_node_count(g);
    memset(per, 0, sizeof *per * (size_t)np);
    *retries = 0;
    *lost = 0;
    for (size_t v = 0; v < n; v++) {
        weft_node_origin_t o;
        ck_assert_int_eq(weft_run_node_origin(run, (weft_node_t)v, &o), 0);
        int k = -1;
        for (int i = 0; i < np; i++)
            if (o.machine && strcmp(o.machine, p[i].addr) == 0) k = i;
        ck_assert_msg(k >= 0, "node %zu ran on '%s'", v, o.machine ? o.machine : "(null)");
        per[k]++;
        ck_assert_int_ge(o.attempts, 1);
        ck_assert_int_ge(o.worker, 0);
        *retries += (uint64_t)(o.attempts - 1);
        *lost += o.lost_s;
    }
}

START_TEST(wavefront_100_identical) {
    dt_proc_t p[3];
    start_nodes(p, 3);
    weft_cluster_t *c = cluster_of(p, 3, NULL);
    weft_runtime_t *rt;
    ck_assert_int_eq(weft_runtime_create(2, &rt), 0);
    ck_assert_int_eq(weft_tasks_register_builtin(), 0);
    int n = dt_scale() < 0.5 ? 30 : 100;
    weft_graph_t *g = wavefront(n, "weft.hash", 0);
    weft_run_t *local = run_local(g, rt);
    double t0 = dt_now();
    weft_run_t *remote = run_cluster(g, rt, c, 0);
    double dt = dt_now() - t0;
    same_results(g, local, remote);
    uint64_t per[3], retries;
    double lost;
    machines_of(g, remote, p, 3, per, &retries, &lost);
    ck_assert_uint_eq(per[0] + per[1] + per[2], (uint64_t)(n * n));
    ck_assert_uint_eq(retries, 0);
    ck_assert(lost == 0);
    weft_run_counts_t rc;
    ck_assert_int_eq(weft_run_counts(remote, &rc), 0);
    ck_assert_uint_eq(rc.done, (uint64_t)(n * n));
    printf("wavefront %dx%d on 3 nodes: %.3f s (%.0f nodes/s), per node %" PRIu64 " %" PRIu64
           " %" PRIu64 "\n",
           n, n, dt, n * n / dt, per[0], per[1], per[2]);
    /* the corner's result depends on every cell: compare it with a third run */
    weft_run_free(remote);
    remote = run_cluster(g, rt, c, 0);
    same_results(g, local, remote);
    weft_run_free(remote);
    weft_run_free(local);
    weft_graph_free(g);
    ck_assert_int_eq(weft_cluster_free(c), 0);
    weft_runtime_destroy(rt);
    dt_kill_all();
}
END_TEST

START_TEST(layered_10k_identical) {
    dt_proc_t p[3];
    start_nodes(p, 3);
    weft_cluster_t *c = cluster_of(p, 3, NULL);
    weft_runtime_t *rt;
    ck_assert_int_eq(weft_runtime_create(2, &rt), 0);
    ck_assert_int_eq(weft_tasks_register_builtin(), 0);
    int total = dt_scale() < 0.5 ? 1000 : 10000;
    weft_graph_t *g = layered(total, 100, 42);
    weft_run_t *local = run_local(g, rt);
    weft_run_t *remote = run_cluster(g, rt, c, 0);
    same_results(g, local, remote);
    uint64_t per[3], retries;
    double lost;
    machines_of(g, remote, p, 3, per, &retries, &lost);
    ck_assert_uint_eq(per[0] + per[1] + per[2], (uint64_t)total);
    weft_run_free(remote);
    weft_run_free(local);
    weft_graph_free(g);
    ck_assert_int_eq(weft_cluster_free(c), 0);
    weft_runtime_destroy(rt);
    dt_kill_all();
}
END_TEST

/* A task counted in this process: placement "local" runs here. */
static atomic_int here_count;
static int here_task(weft_node_ctx_t *ctx, void *arg) {
    (void)arg;
    atomic_fetch_add(&here_count, 1);
    size_t n = weft_node_input_count(ctx), len;
    const void *d = n ? weft_node_input(ctx, 0, &len) : NULL;
    return d ? weft_node_set_result(ctx, d, len) : 0;
}

START_TEST(placement_hints) {
    dt_proc_t p[2];
    start_nodes(p, 2);
    weft_cluster_t *c = cluster_of(p, 2, NULL);
    weft_runtime_t *rt;
    ck_assert_int_eq(weft_runtime_create(2, &rt), 0);
    ck_assert_int_eq(weft_tasks_register_builtin(), 0);
    ck_assert_int_eq(weft_task_register("test.here", here_task, NULL), 0);
    /* 50 sources pinned to node 1, each feeding a node that runs here */
    weft_graph_t *g;
    ck_assert_int_eq(weft_graph_create("placed", &g), 0);
    for (int i = 0; i < 50; i++) {
        weft_node_t a, b;
        char arg[8];
        int len = snprintf(arg, sizeof arg, "%d", i);
        ck_assert_int_eq(weft_graph_add_task(g, NULL, "weft.hash", arg, (size_t)len, &a), 0);
        ck_assert_int_eq(weft_graph_set_place(g, a, WEFT_PLACE_NODE, p[1].addr), 0);
        ck_assert_int_eq(weft_graph_add_task(g, NULL, "test.here", NULL, 0, &b), 0);
        ck_assert_int_eq(weft_graph_set_place(g, b, WEFT_PLACE_LOCAL, NULL), 0);
        ck_assert_int_eq(weft_graph_precede(g, a, b), 0);
    }
    atomic_store(&here_count, 0);
    weft_run_t *run = run_cluster(g, rt, c, 0);
    ck_assert_int_eq(atomic_load(&here_count), 50);
    for (weft_node_t v = 0; v < 100; v++) {
        weft_node_origin_t o;
        ck_assert_int_eq(weft_run_node_origin(run, v, &o), 0);
        ck_assert_str_eq(o.machine, v % 2 ? "local" : p[1].addr);
        if (v % 2) { /* the local node passed its input through */
            const void *a, *b;
            size_t la, lb;
            ck_assert_int_eq(weft_run_result(run, v - 1, &a, &la), 0);
            ck_assert_int_eq(weft_run_result(run, v, &b, &lb), 0);
            ck_assert_uint_eq(la, 16);
            ck_assert(la == lb && !memcmp(a, b, la));
        }
    }
    weft_run_free(run);
    weft_graph_free(g);

    /* a node placed on an address that is not in the cluster fails */
    ck_assert_int_eq(weft_graph_create("bad-place", &g), 0);
    weft_node_t a, b;
    ck_assert_int_eq(weft_graph_add_task(g, "x", "weft.hash", NULL, 0, &a), 0);
    ck_assert_int_eq(weft_graph_set_place(g, a, WEFT_PLACE_NODE, "127.0.0.1:1"), 0);
    ck_assert_int_eq(weft_graph_add_task(g, "y", "weft.hash", NULL, 0, &b), 0);
    ck_assert_int_eq(weft_graph_precede(g, a, b), 0);
    run = run_cluster(g, rt, c, WEFT_ETASK);
    int code = 0;
    ck_assert_int_eq(weft_run_node_status(run, a), WEFT_NODE_FAILED);
    ck_assert_int_eq(weft_run_node_code(run, a, &code), 0);
    ck_assert_int_eq(code, WEFT_ENOENT);
    ck_assert_int_eq(weft_run_node_status(run, b), WEFT_NODE_SKIPPED);
    weft_run_free(run);
    weft_graph_free(g);

    /* a task registered nowhere here: fine on the cluster (the nodes have
     * it), refused locally, and refused when placed local */
    ck_assert_int_eq(weft_graph_create("remote-only", &g), 0);
    ck_assert_int_eq(weft_graph_add_task(g, "up", "example.upper", "abc", 3, &a), 0);
    run = run_cluster(g, rt, c, 0);
    const void *d;
    size_t len;
    ck_assert_int_eq(weft_run_result(run, a, &d, &len), 0);
    ck_assert_uint_eq(len, 3);
    ck_assert(!memcmp(d, "ABC", 3));
    weft_run_free(run);
    run = NULL;
    ck_assert_int_eq(weft_graph_run(g, rt, NULL, &run), WEFT_ENOENT);
    ck_assert_ptr_null(run);
    ck_assert_str_eq(weft_error_detail(), "node 'up': task 'example.upper' is not registered");
    ck_assert_int_eq(weft_graph_set_place(g, a, WEFT_PLACE_LOCAL, NULL), 0);
    weft_run_opts_t o = {.executor = weft_cluster_executor(c)};
    ck_assert_int_eq(weft_graph_run(g, rt, &o, &run), WEFT_ENOENT);
    ck_assert_str_eq(weft_error_detail(),
                     "node 'up': task 'example.upper' is not registered (the node is placed local)");
    weft_graph_free(g);
    ck_assert_int_eq(weft_cluster_free(c), 0);
    weft_runtime_destroy(rt);
    dt_kill_all();
}
END_TEST

START_TEST(failure_skips_descendants_everywhere) {
    dt_proc_t p[2];
    start_nodes(p, 2);
    weft_cluster_t *c = cluster_of(p, 2, NULL);
    weft_runtime_t *rt;
    ck_assert_int_eq(weft_runtime_create(2, &rt), 0);
    /* a -> fail -> b -> c, and an independent branch d -> e */
    weft_graph_t *g;
    ck_assert_int_eq(weft_graph_create("failing", &g), 0);
    weft_node_t a, f, b, cc, d, e;
    ck_assert_int_eq(weft_graph_add_task(g, "a", "weft.hash", NULL, 0, &a), 0);
    ck_assert_int_eq(weft_graph_add_task(g, "f", "example.fail", "7", 1, &f), 0);
    ck_assert_int_eq(weft_graph_add_task(g, "b", "weft.hash", NULL, 0, &b), 0);
    ck_assert_int_eq(weft_graph_add_task(g, "c", "weft.hash", NULL, 0, &cc), 0);
    ck_assert_int_eq(weft_graph_add_task(g, "d", "weft.hash", NULL, 0, &d), 0);
    ck_assert_int_eq(weft_graph_add_task(g, "e", "weft.hash", NULL, 0, &e), 0);
    ck_assert_int_eq(weft_graph_precede(g, a, f), 0);
    ck_assert_int_eq(weft_graph_precede(g, f, b), 0);
    ck_assert_int_eq(weft_graph_precede(g, b, cc), 0);
    ck_assert_int_eq(weft_graph_precede(g, d, e), 0);
    weft_run_t *run = run_cluster(g, rt, c, WEFT_ETASK);
    weft_run_counts_t k;
    ck_assert_int_eq(weft_run_counts(run, &k), 0);
    ck_assert_uint_eq(k.done, 3);
    ck_assert_uint_eq(k.failed, 1);
    ck_assert_uint_eq(k.skipped, 2);
    ck_assert_uint_eq(k.first_failed, f);
    ck_assert_int_eq(k.first_code, 7);
    ck_assert_int_eq(weft_run_node_status(run, e), WEFT_NODE_DONE);
    weft_run_free(run);
    weft_graph_free(g);
    ck_assert_int_eq(weft_cluster_free(c), 0);
    weft_runtime_destroy(rt);
    dt_kill_all();
}
END_TEST

typedef struct {
    weft_run_t *run;
    double after_s;
} canceller_t;

static void *canceller(void *arg) {
    canceller_t *k = arg;
    usleep((useconds_t)(k->after_s * 1e6));
    weft_run_cancel(k->run);
    return NULL;
}

START_TEST(cancel_reaches_every_node) {
    dt_proc_t p[2];
    start_nodes(p, 2);
    weft_cluster_t *c = cluster_of(p, 2, NULL);
    weft_runtime_t *rt;
    ck_assert_int_eq(weft_runtime_create(2, &rt), 0);
    /* 2,000 independent nodes of 20 ms each: a minute of work on the
     * nodes' workers, cancelled after 0.3 s */
    weft_graph_t *g;
    ck_assert_int_eq(weft_graph_create("long", &g), 0);
    unsigned us = 20000;
    unsigned char arg[4] = {(unsigned char)us, (unsigned char)(us >> 8), (unsigned char)(us >> 16), 0};
    for (int i = 0; i < 2000; i++) {
        weft_node_t v;
        ck_assert_int_eq(weft_graph_add_task(g, NULL, "example.sleep_hash", arg, 4, &v), 0);
    }
    weft_run_opts_t o = {.executor = weft_cluster_executor(c)};
    weft_run_t *run;
    double t0 = dt_now();
    ck_assert_int_eq(weft_graph_run_async(g, rt, &o, &run), 0);
    canceller_t k = {run, 0.3};
    pthread_t th;
    pthread_create(&th, NULL, canceller, &k);
    int rc = weft_run_wait_timeout(run, 30);
    double dt = dt_now() - t0;
    pthread_join(th, NULL);
    ck_assert_int_eq(rc, WEFT_ECANCELED);
    ck_assert_msg(dt < 5, "the cancelled run took %.2f s", dt);
    weft_run_counts_t n;
    ck_assert_int_eq(weft_run_counts(run, &n), 0);
    ck_assert_uint_eq(n.failed, 0);
    ck_assert_uint_eq(n.done + n.cancelled, 2000);
    ck_assert_uint_gt(n.cancelled, 1000);
    printf("cancelled after 0.3 s: %" PRIu64 " done, %" PRIu64 " cancelled, %.2f s\n", n.done,
           n.cancelled, dt);
    weft_run_free(run);
    weft_graph_free(g);
    ck_assert_int_eq(weft_cluster_free(c), 0);
    weft_runtime_destroy(rt);
    dt_kill_all();
}
END_TEST

START_TEST(node_killed_mid_run) {
    dt_proc_t p[3];
    start_nodes(p, 3);
    weft_cluster_opts_t co;
    weft_cluster_opts_init(&co);
    co.max_losses = 5;
    weft_cluster_t *c = cluster_of(p, 3, &co);
    weft_runtime_t *rt;
    ck_assert_int_eq(weft_runtime_create(2, &rt), 0);
    ck_assert_int_eq(weft_tasks_register_builtin(), 0);
    ck_assert_int_eq(weft_plugin_load(PLUGIN_PATH), 0);
    /* wavefront 20x20 of 5 ms tasks: about 0.4 s on the critical path */
    weft_graph_t *g = wavefront(20, "example.sleep_hash", 5000);
    weft_run_t *local = run_local(g, rt);
    weft_run_opts_t o = {.record = 1, .executor = weft_cluster_executor(c)};
    weft_run_t *run;
    ck_assert_int_eq(weft_graph_run_async(g, rt, &o, &run), 0);
    usleep(100000);
    dt_kill(&p[1], SIGKILL); /* in the middle */
    int rc = weft_run_wait_timeout(run, 60);
    ck_assert_msg(rc == 0, "run: %s", weft_strerror(rc));
    same_results(g, local, run);
    uint64_t retries = 0;
    double lost = 0;
    for (weft_node_t v = 0; v < 400; v++) {
        weft_node_origin_t og;
        ck_assert_int_eq(weft_run_node_origin(run, v, &og), 0);
        ck_assert(og.machine && (strcmp(og.machine, p[0].addr) == 0 ||
                                 strcmp(og.machine, p[1].addr) == 0 ||
                                 strcmp(og.machine, p[2].addr) == 0));
        retries += (uint64_t)(og.attempts - 1);
        lost += og.lost_s;
    }
    printf("node killed mid-run: %" PRIu64 " retries, %.3f s lost\n", retries, lost);
    ck_assert_uint_gt(retries, 0);
    ck_assert(lost > 0);
    weft_run_free(run);
    weft_run_free(local);
    weft_graph_free(g);
    ck_assert_int_eq(weft_cluster_free(c), 0);
    weft_runtime_destroy(rt);
    dt_kill_all();
}
END_TEST

/* A chain of weft.echo nodes moving 256 KiB each: with locality the bytes
 * stay on the node that made them (only results come back); without, the
 * client sends every input out again. Results identical either way. */
START_TEST(locality_keeps_inputs_on_their_node) {
    dt_proc_t p[2];
    start_nodes(p, 2);
    weft_runtime_t *rt;
    ck_assert_int_eq(weft_runtime_create(2, &rt), 0);
    size_t big = 256 << 10;
    unsigned char *arg = malloc(big);
    for (size_t i = 0; i < big; i++) arg[i] = (unsigned char)(i * 31 + 7);
    weft_graph_t *g;
    ck_assert_int_eq(weft_graph_create("chain", &g), 0);
    weft_node_t prev = 0;
    for (int i = 0; i < 20; i++) {
        weft_node_t v;
        ck_assert_int_eq(weft_graph_add_task(g, NULL, "weft.echo", i ? NULL : arg, i ? 0 : big, &v), 0);
        if (i) ck_assert_int_eq(weft_graph_precede(g, prev, v), 0);
        prev = v;
    }
    for (int loc = 1; loc >= 0; loc--) {
        weft_cluster_opts_t co;
        weft_cluster_opts_init(&co);
        co.locality = loc;
        weft_cluster_t *c = cluster_of(p, 2, &co);
        weft_run_t *run = run_cluster(g, rt, c, 0);
        uint64_t sent = 0, received = 0;
        const char *first = NULL;
        int same = 1;
        for (weft_node_t v = 0; v < 20; v++) {
            const void *d;
            size_t len;
            ck_assert_int_eq(weft_run_result(run, v, &d, &len), 0);
            ck_assert_uint_eq(len, big);
            ck_assert(!memcmp(d, arg, big));
            weft_node_origin_t o;
            ck_assert_int_eq(weft_run_node_origin(run, v, &o), 0);
            sent += o.bytes_sent;
            received += o.bytes_received;
            if (!first) first = o.machine;
            else if (strcmp(first, o.machine)) same = 0;
        }
        ck_assert_uint_eq(received, 20 * (uint64_t)big);
        if (loc) {
            /* the source's argument, then references only (12 + 8 bytes each) */
            ck_assert_uint_lt(sent, big + 20 * 64);
            ck_assert_msg(same, "with locality the chain stays on one node");
        } else {
            ck_assert_uint_ge(sent, 20 * (uint64_t)big);
        }
        printf("chain of 20 x 256 KiB, locality %d: %llu bytes sent, %llu received\n", loc,
               (unsigned long long)sent, (unsigned long long)received);
        weft_run_free(run);
        ck_assert_int_eq(weft_cluster_free(c), 0);
    }
    free(arg);
    weft_graph_free(g);
    weft_runtime_destroy(rt);
    dt_kill_all();
}
END_TEST

int main(void) {
    Suite *s = suite_create("dist_graph");
    struct {
        const char *name;
        const TTest *t;
    } cases[] = {
        {"wavefront_100_identical", wavefront_100_identical},
        {"layered_10k_identical", layered_10k_identical},
        {"placement_hints", placement_hints},
        {"failure_skips_descendants_everywhere", failure_skips_descendants_everywhere},
        {"cancel_reaches_every_node", cancel_reaches_every_node},
        {"node_killed_mid_run", node_killed_mid_run},
        {"locality_keeps_inputs_on_their_node", locality_keeps_inputs_on_their_node},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, cases[i].t);
        suite_add_tcase(s, tc);
    }
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
