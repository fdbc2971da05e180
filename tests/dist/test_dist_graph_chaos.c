/* test_dist_graph_chaos: a graph of 10,000 nodes (a random layered DAG of
 * example.sleep_hash, whose result is weft.hash of its argument and its
 * inputs' bytes) runs on 3 weftd processes on loopback while one node
 * after another is killed with kill -9 every 1-2 s and restarted on the
 * same port, or frozen with SIGSTOP for 1.5 s and continued. The run
 * completes and every node's result is byte-identical to a local run of
 * the same graph with weft.hash (the same function, without the sleep).
 * Prints the kills, the graph nodes retried, the resends and the time
 * lost. Scale: WEFT_TEST_SCALE (nodes; each run lasts a few seconds).
 *
 * With arguments it is the client of tests/dist/netns/netns_graph_chaos.sh:
 *   test_dist_graph_chaos --client NODES TOTAL SLEEP_US
 * runs the graph of TOTAL nodes (SLEEP_US per node) on NODES (host:port,...,
 * key from WEFT_SECRET_FILE), compares with the local run and prints
 * "graph chaos client: ..."; exit 0 when every result is identical. */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>

#include "dist_test.h"

#define NODES 3
#define WIDTH 100 /* nodes per layer */

static const char *const plugin_args[] = {"--load", PLUGIN_PATH, "--workers", "2", NULL};

/* The random layered DAG of total nodes (fixed seed) of task: node v has
 * the argument [4 bytes: sleep_us]"v", and, past the first layer, 1-3
 * predecessors in the layer above (duplicates dropped). Both tasks get the
 * same bytes, so example.sleep_hash and weft.hash give the same results. */
static int layered(int total, const char *task, unsigned sleep_us, weft_graph_t **out) {
    weft_graph_t *g;
    int rc = weft_graph_create("chaos", &g);
    if (rc) return rc;
    uint64_t x = 0x5eed5eedull;
    for (int v = 0; v < total && !rc; v++) {
        char arg[32];
        for (int k = 0; k < 4; k++) arg[k] = (char)(sleep_us >> (8 * k));
        int len = snprintf(arg + 4, sizeof arg - 4, "%d", v);
        weft_node_t id;
        char name[24];
        snprintf(name, sizeof name, "n%d", v);
        if ((rc = weft_graph_add_task(g, name, task, arg, 4 + (size_t)len, &id))) break;
        int layer = v / WIDTH;
        if (!layer) continue;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int k = 1 + (int)((x >> 33) % 3), preds[3];
        for (int e = 0; e < k && !rc; e++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            preds[e] = (layer - 1) * WIDTH + (int)((x >> 33) % WIDTH);
            int dup = 0;
            for (int f = 0; f < e; f++) dup |= preds[f] == preds[e];
            if (!dup) rc = weft_graph_precede(g, (weft_node_t)preds[e], id);
        }
    }
    if (rc) {
        weft_graph_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

/* Nodes whose results differ between the two runs (or did not succeed). */
static int differing(const weft_graph_t *g, const weft_run_t *a, const weft_run_t *b) {
    int bad = 0;
    size_t n = weft_graph_node_count(g);
    for (size_t v = 0; v < n; v++) {
        const void *da, *db;
        size_t la, lb;
        if (weft_run_node_status(a, (weft_node_t)v) != WEFT_NODE_DONE ||
            weft_run_node_status(b, (weft_node_t)v) != WEFT_NODE_DONE ||
            weft_run_result(a, (weft_node_t)v, &da, &la) || weft_run_result(b, (weft_node_t)v, &db, &lb) ||
            la != 16 || la != lb || memcmp(da, db, la) != 0)
            bad++;
    }
    return bad;
}

typedef struct cost {
    uint64_t retried, resends, remote;
    double lost_s;
} cost_t;

/* What failures cost the run, from the run record's origins. */
static void cost_of(const weft_graph_t *g, const weft_run_t *run, cost_t *c) {
    memset(c, 0, sizeof *c);
    size_t n = weft_graph_node_count(g);
    for (size_t v = 0; v < n; v++) {
        weft_node_origin_t o;
        if (weft_run_node_origin(run, (weft_node_t)v, &o) != 0) continue;
        if (o.machine && strcmp(o.machine, "local") != 0) c->remote++;
        if (o.attempts > 1) {
            c->retried++;
            c->resends += (uint64_t)(o.attempts - 1);
        }
        c->lost_s += o.lost_s;
    }
}

/* The reference: the weft.hash twin of the graph (the same argument
 * bytes, sleep included: weft.hash does not sleep), run here. */
static weft_run_t *reference(int total, unsigned sleep_us, weft_graph_t **gl, weft_runtime_t *rt,
                             double *wall) {
    ck_assert_int_eq(layered(total, "weft.hash", sleep_us, gl), 0);
    weft_run_t *run = NULL;
    double t0 = dt_now();
    int rc = weft_graph_run(*gl, rt, NULL, &run);
    *wall = dt_now() - t0;
    ck_assert_msg(rc == 0, "local run: %s: %s", weft_strerror(rc), weft_error_detail());
    return run;
}

static void run_chaos(int use_stop) {
    dt_proc_t procs[NODES];
    dt_setup_key();
    for (int i = 0; i < NODES; i++) ck_assert_int_eq(dt_start(&procs[i], plugin_args), 0);
    const char *list[NODES];
    for (int i = 0; i < NODES; i++) list[i] = procs[i].addr;
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    o.max_losses = 50; /* a node holds many queued graph nodes: under a kill
                          every 1-2 s one of them can be lost many times */
    weft_cluster_t *c;
    ck_assert_int_eq(weft_cluster_create(list, NODES, &o, &c), 0);
    ck_assert_int_eq(weft_cluster_wait_nodes(c, NODES, 20), 0);
    weft_runtime_t *rt;
    ck_assert_int_eq(weft_runtime_create(2, &rt), 0);
    ck_assert_int_eq(weft_tasks_register_builtin(), 0);

    /* 10,000 nodes of 4 ms on 3 x 2 workers: about 7 s of work, so that
     * several kills happen; scaled down under sanitizers, never below 2,000
     * nodes (then of 12 ms: still a few seconds) */
    int total = (int)(10000 * dt_scale());
    if (total < 2000) total = 2000;
    unsigned sleep_us = total >= 10000 ? 4000 : 12000;
    weft_graph_t *gl, *g;
    double local_wall;
    weft_run_t *local = reference(total, sleep_us, &gl, rt, &local_wall);
    ck_assert_int_eq(layered(total, "example.sleep_hash", sleep_us, &g), 0);

    weft_run_opts_t ro = {.record = 1, .executor = weft_cluster_executor(c)};
    ck_assert_ptr_nonnull(ro.executor);
    weft_run_t *run;
    double t0 = dt_now();
    ck_assert_int_eq(weft_graph_run_async(g, rt, &ro, &run), 0);
    unsigned seed = (unsigned)getpid();
    int kills = 0, rc = WEFT_ETIMEDOUT;
    while (dt_now() - t0 < 240) {
        double pause = 1.0 + (rand_r(&seed) % 1000) / 1000.0;
        if ((rc = weft_run_wait_timeout(run, pause)) != WEFT_ETIMEDOUT) break;
        int v = rand_r(&seed) % NODES;
        kills++;
        if (use_stop) {
            dt_kill(&procs[v], SIGSTOP);
            usleep(1500000);
            dt_kill(&procs[v], SIGCONT);
        } else {
            dt_kill(&procs[v], SIGKILL);
            ck_assert_int_eq(dt_restart(&procs[v], plugin_args), 0);
        }
    }
    if (rc == WEFT_ETIMEDOUT) rc = weft_run_wait_timeout(run, 60);
    double wall = dt_now() - t0;
    ck_assert_msg(rc == 0, "cluster run: %s: %s", weft_strerror(rc), weft_error_detail());
    weft_run_counts_t counts;
    ck_assert_int_eq(weft_run_counts(run, &counts), 0);
    int bad = differing(g, local, run);
    cost_t cost;
    cost_of(g, run, &cost);
    printf("graph chaos %s: nodes=%d wall_s=%.2f local_wall_s=%.2f kills=%d done=%" PRIu64
           " on_nodes=%" PRIu64 " retried=%" PRIu64 " resends=%" PRIu64 " lost_s=%.3f differing=%d\n",
           use_stop ? "SIGSTOP/SIGCONT" : "kill -9", total, wall, local_wall, kills, counts.done,
           cost.remote, cost.retried, cost.resends, cost.lost_s, bad);
    fflush(stdout);
    ck_assert_uint_eq(counts.done, (uint64_t)total);
    ck_assert_int_eq(bad, 0);
    ck_assert_uint_eq(cost.remote, (uint64_t)total); /* every node ran on a weftd */
    ck_assert_int_ge(kills, 1);
    ck_assert_uint_gt(cost.retried, 0); /* the failures cost something ... */
    ck_assert(cost.lost_s > 0);         /* ... time, never a result */
    weft_run_free(run);
    weft_run_free(local);
    weft_graph_free(g);
    weft_graph_free(gl);
    ck_assert_int_eq(weft_cluster_free(c), 0);
    weft_runtime_destroy(rt);
    dt_kill_all();
}

START_TEST(graph_kill9_every_1_to_2_s) { run_chaos(0); }
END_TEST

START_TEST(graph_sigstop_every_1_to_2_s) { run_chaos(1); }
END_TEST

/* The netns script's client: see the top of the file. */
static int client(const char *nodes, int total, unsigned sleep_us) {
    char *copy = strdup(nodes);
    const char *list[16];
    size_t n = 0;
    for (char *save, *t = strtok_r(copy, ",", &save); t && n < 16; t = strtok_r(NULL, ",", &save))
        list[n++] = t;
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    o.max_losses = 50;
    weft_cluster_t *c;
    weft_runtime_t *rt;
    weft_graph_t *gl, *g;
    weft_run_t *local = NULL, *run = NULL;
    int rc = weft_cluster_create(list, n, &o, &c);
    if (!rc) rc = weft_cluster_wait_nodes(c, n, 20);
    if (rc) {
        fprintf(stderr, "graph chaos client: cluster: %s: %s\n", weft_strerror(rc), weft_error_detail());
        return 1;
    }
    if (weft_runtime_create(2, &rt) || weft_tasks_register_builtin() ||
        layered(total, "weft.hash", sleep_us, &gl) ||
        layered(total, "example.sleep_hash", sleep_us, &g) ||
        weft_graph_run(gl, rt, NULL, &local)) {
        fprintf(stderr, "graph chaos client: local run failed: %s\n", weft_error_detail());
        return 1;
    }
    weft_run_opts_t ro = {.record = 1, .executor = weft_cluster_executor(c)};
    double t0 = dt_now();
    printf("graph chaos client: running %d nodes on %s\n", total, nodes);
    fflush(stdout);
    rc = weft_graph_run(g, rt, &ro, &run);
    double wall = dt_now() - t0;
    int bad = run ? differing(g, local, run) : total;
    cost_t cost = {0};
    if (run) cost_of(g, run, &cost);
    printf("graph chaos client: rc=%d nodes=%d wall_s=%.2f on_nodes=%" PRIu64 " retried=%" PRIu64
           " resends=%" PRIu64 " lost_s=%.3f differing=%d\n",
           rc, total, wall, cost.remote, cost.retried, cost.resends, cost.lost_s, bad);
    if (rc) fprintf(stderr, "graph chaos client: run: %s: %s\n", weft_strerror(rc), weft_error_detail());
    weft_run_free(run);
    weft_run_free(local);
    weft_graph_free(g);
    weft_graph_free(gl);
    weft_cluster_free(c);
    weft_runtime_destroy(rt);
    free(copy);
    return rc || bad || cost.remote != (uint64_t)total ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc > 1) {
        if (argc != 5 || strcmp(argv[1], "--client") != 0) {
            fprintf(stderr, "usage: %s [--client NODES TOTAL SLEEP_US]\n", argv[0]);
            return 2;
        }
        return client(argv[2], atoi(argv[3]), (unsigned)atoi(argv[4]));
    }
    Suite *s = suite_create("dist_graph_chaos");
    TCase *a = tcase_create("kill9");
    tcase_set_timeout(a, 300);
    tcase_add_test(a, graph_kill9_every_1_to_2_s);
    suite_add_tcase(s, a);
    TCase *b = tcase_create("sigstop");
    tcase_set_timeout(b, 300);
    tcase_add_test(b, graph_sigstop_every_1_to_2_s);
    suite_add_tcase(s, b);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
