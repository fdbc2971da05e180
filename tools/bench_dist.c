/* bench_dist: the distribution layer over loopback, one key=value line per
 * measurement (DESIGN.md "Measuring"):
 *   bench=dist_tiny     tiny tasks (weft.echo of 8 bytes) submitted and
 *                       collected with 1 and 2 weftd nodes; dask.distributed
 *                       and multiprocessing anchors on the same line
 *                       (tools/bench_dist_anchors.py, with as many worker
 *                       processes as the nodes have workers)
 *   bench=dist_latency  round trip of one task at a time: p50, p99
 *   bench=dist_large    1 MiB arguments (echoed back): MB/s of arguments
 *   bench=dist_crypto   the sealing alone: ChaCha20-Poly1305 per 64-byte
 *                       message, per frame of 256 task records, per MiB
 *   bench=dist_graph    graphs on the cluster (weft_cluster_executor):
 *                       graph=wavefront, an N x N wavefront of weft.hash
 *                       (each cell hashes its argument and its two
 *                       predecessors' results), on 1 and 2 machines,
 *                       against the same graph run locally on this
 *                       process's workers, results compared byte for byte;
 *                       dask.distributed's wavefront of tiny tasks over a
 *                       LocalCluster as the anchor (a smaller grid: dask
 *                       pays about a millisecond a task); graph=chain, a
 *                       chain of weft.echo nodes each moving 1 MiB (its
 *                       predecessor's result), with data locality (the
 *                       input stays on the node that made it, only the
 *                       result comes back) and without (every input goes
 *                       out from the client again)
 * Every result is checked; a wrong one exits nonzero. The weftd processes
 * run in their own process groups and are killed at exit. */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "dist_test.h"
#include "ds.h"

static atomic_uint_fast64_t done_count, bad_count;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static atomic_int waiting;

static void tiny_cb(void *data, weft_djob_t *job, int rc) {
    uint64_t want = (uint64_t)(uintptr_t)data, got = ~want;
    const void *d;
    size_t len;
    if (rc == 0 && weft_djob_result(job, &d, &len) == 0 && len == 8) memcpy(&got, d, 8);
    if (got != want) atomic_fetch_add(&bad_count, 1);
    uint64_t n = atomic_fetch_add(&done_count, 1) + 1;
    if (atomic_load(&waiting) && (n & 255) == 0) {
        pthread_mutex_lock(&mu);
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
}

static void wait_below(uint64_t submitted, uint64_t window) {
    while (submitted - atomic_load(&done_count) > window) {
        atomic_store(&waiting, 1);
        pthread_mutex_lock(&mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 1000000;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        if (submitted - atomic_load(&done_count) > window) pthread_cond_timedwait(&cv, &mu, &ts);
        pthread_mutex_unlock(&mu);
    }
    atomic_store(&waiting, 0);
}

static weft_cluster_t *connect_nodes_opts(dt_proc_t *p, int n, const weft_cluster_opts_t *o) {
    const char *names[8];
    for (int i = 0; i < n; i++) names[i] = p[i].addr;
    weft_cluster_t *c;
    if (weft_cluster_create(names, (size_t)n, o, &c) || weft_cluster_wait_nodes(c, (size_t)n, 30)) {
        fprintf(stderr, "bench_dist: error: cannot connect: %s\n", weft_error_detail());
        exit(1);
    }
    return c;
}

static weft_cluster_t *connect_nodes(dt_proc_t *p, int n) { return connect_nodes_opts(p, n, NULL); }

static double run_tiny(weft_cluster_t *c, uint64_t n, uint64_t window) {
    atomic_store(&done_count, 0);
    double t0 = dt_now();
    for (uint64_t i = 0; i < n; i++) {
        weft_dsubmit_opts_t so = {.callback = tiny_cb, .callback_data = (void *)(uintptr_t)i};
        if (weft_cluster_submit(c, "weft.echo", &i, 8, &so, NULL)) {
            fprintf(stderr, "bench_dist: error: submit\n");
            exit(1);
        }
        if ((i & 1023) == 1023) wait_below(i + 1, window);
    }
    wait_below(n, 0);
    return dt_now() - t0;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The Python anchors (tools/bench_dist_anchors.py, run by /usr/bin/python3
 * where Debian's python3-distributed lives): their key=value fields after
 * "nodes=N", e.g. " mp_tasks_per_s=... dask_tasks_per_s=...", into out. */
static void anchor_fields(const char *cmd, char *out, size_t size) {
    out[0] = 0;
    FILE *f = popen(cmd, "r");
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "bench=dist_anchor", 17)) continue;
        char *r = strstr(line, "nodes=");
        r = r ? strchr(r, ' ') : NULL;
        if (!r) continue;
        line[strcspn(line, "\n")] = 0;
        snprintf(out, size, "%s", r);
    }
    pclose(f);
}

static void anchors(int workers, double seconds, const char *which, char *out, size_t size) {
    out[0] = 0;
    if (!which[0]) return;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s --nodes %d --seconds %g --anchors %s",
             ANCHORS_PY, workers, seconds, which);
    anchor_fields(cmd, out, size);
}

static void crypto_bench(void) {
    ds_hs_t c, s;
    static const uint8_t key[32] = "bench-key-bench-key-bench-key-!!";
    ds_hs_init(&c, DS_HS_CLIENT, key, 32);
    ds_hs_init(&s, DS_HS_SERVER, key, 32);
    uint8_t hello[DS_HDR + DS_HELLO_LEN], sh[DS_HDR + DS_SHELLO_LEN], pr[DS_HDR + DS_PROOF_LEN];
    ds_frame_t f;
    int why, refuse;
    double h0 = dt_now();
    ds_hs_client_hello(&c, 1, 1, hello);
    ds_frame_decode(hello, sizeof hello, ~0u, DS_FRAME_MAX, &f, &why);
    ds_hs_server_hello(&s, &f, sh, &refuse);
    ds_frame_decode(sh, sizeof sh, ~0u, DS_FRAME_MAX, &f, &why);
    ds_hs_client_finish(&c, &f, pr);
    ds_frame_decode(pr, sizeof pr, ~0u, DS_FRAME_MAX, &f, &why);
    if (ds_hs_server_finish(&s, &f)) exit(1);
    double hs_us = (dt_now() - h0) * 1e6;
    ds_aead_t tx, rx, stx, srx;
    ds_hs_split(&c, &tx, &rx);
    ds_hs_split(&s, &stx, &srx);
    size_t sizes[3] = {64, 256 * 26, (size_t)1 << 20};
    double ns[3], open_ns[3];
    uint8_t *pt = calloc(1, sizes[2]), *fr = malloc(sizes[2] + 64), *body = malloc(sizes[2] + 64);
    for (int k = 0; k < 3; k++) {
        int reps = k == 0 ? 200000 : k == 1 ? 20000 : 200;
        double t0 = dt_now();
        for (int i = 0; i < reps; i++) ds_seal(&tx, pt, sizes[k], fr);
        ns[k] = (dt_now() - t0) / reps * 1e9;
        /* opening, on frames sealed under the matching counters */
        double o = 0;
        for (int i = 0; i < reps; i++) {
            ds_seal(&stx, pt, sizes[k], fr);
            ds_frame_decode(fr, DS_HDR + sizes[k] + DS_TAG, ~0u, DS_FRAME_MAX, &f, &why);
            double t1 = dt_now();
            if (ds_open(&rx, &f, body)) {
                fprintf(stderr, "bench_dist: error: open\n");
                exit(1);
            }
            o += dt_now() - t1;
        }
        open_ns[k] = o / reps * 1e9;
    }
    printf("bench=dist_crypto handshake_us=%.0f seal64_ns=%.0f open64_ns=%.0f "
           "seal_frame256_ns=%.0f seal_ns_per_task=%.1f seal_mb_per_s=%.0f open_mb_per_s=%.0f\n",
           hs_us, ns[0], open_ns[0], ns[1], ns[1] / 256, (double)sizes[2] / ns[2] * 1e3,
           (double)sizes[2] / open_ns[2] * 1e3);
    free(pt);
    free(fr);
    free(body);
    ds_aead_free(&tx);
    ds_aead_free(&rx);
    ds_aead_free(&stx);
    ds_aead_free(&srx);
}

/* The wavefront n x n of weft.hash: cell (i, j) after (i-1, j), (i, j-1). */
static weft_graph_t *wavefront(int n) {
    weft_graph_t *g;
    if (weft_graph_create("wavefront", &g)) exit(1);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            char arg[24];
            int len = snprintf(arg, sizeof arg, "%d,%d", i, j);
            weft_node_t v;
            if (weft_graph_add_task(g, NULL, "weft.hash", arg, (size_t)len, &v) ||
                (i && weft_graph_precede(g, (weft_node_t)((i - 1) * n + j), v)) ||
                (j && weft_graph_precede(g, (weft_node_t)(i * n + j - 1), v))) {
                fprintf(stderr, "bench_dist: error: building the wavefront: %s\n", weft_error_detail());
                exit(1);
            }
        }
    return g;
}

static double graph_run(weft_graph_t *g, weft_runtime_t *rt, const weft_executor_t *ex,
                        weft_run_t **run) {
    weft_run_opts_t o = {.executor = ex};
    double t0 = dt_now();
    int rc = weft_graph_run(g, rt, &o, run);
    double t = dt_now() - t0;
    if (rc) {
        fprintf(stderr, "bench_dist: error: graph run: %s: %s\n", weft_strerror(rc), weft_error_detail());
        exit(1);
    }
    return t;
}

static void same_results(weft_graph_t *g, weft_run_t *a, weft_run_t *b) {
    size_t n = weft_graph_node_count(g);
    for (size_t v = 0; v < n; v++) {
        const void *x, *y;
        size_t lx, ly;
        if (weft_run_result(a, (weft_node_t)v, &x, &lx) || weft_run_result(b, (weft_node_t)v, &y, &ly) ||
            lx != ly || memcmp(x, y, lx)) {
            fprintf(stderr, "bench_dist: error: graph node %zu differs from the local run\n", v);
            exit(1);
        }
    }
}

static int cmp_d(const void *a, const void *b);

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The dask anchor's wavefront rate: " dask_nodes_per_s=... dask_grid=N". */
static void dask_graph(int grid, char *out, size_t size) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s --nodes 2 --anchors dask_graph --grid %d", ANCHORS_PY,
             grid);
    anchor_fields(cmd, out, size);
}

static void graph_bench(dt_proc_t *p, int nodes_max, int n, int reps, int dask_grid, int chain) {
    weft_runtime_t *rt;
    if (weft_runtime_create(getenv("BENCH_RT_WORKERS") ? atoi(getenv("BENCH_RT_WORKERS")) : 0, &rt) || weft_tasks_register_builtin()) exit(1);
    weft_graph_t *g = wavefront(n);
    double lt[16], local_s;
    weft_run_t *local = NULL;
    for (int r = 0; r < reps; r++) {
        if (local) weft_run_free(local);
        lt[r] = graph_run(g, rt, NULL, &local);
    }
    local_s = median(lt, reps);
    char dask[256] = "";
    if (dask_grid > 0) dask_graph(dask_grid, dask, sizeof dask);
    for (int nn = 1; nn <= nodes_max; nn++) {
        weft_cluster_t *c = connect_nodes(p, nn);
        double t[16];
        for (int r = 0; r < reps; r++) {
            weft_run_t *run;
            t[r] = graph_run(g, rt, weft_cluster_executor(c), &run);
            same_results(g, local, run);
            weft_run_free(run);
        }
        double s = median(t, reps);
        double nodes = (double)n * n;
        printf("bench=dist_graph graph=wavefront nodes=%.0f machines=%d reps=%d weft_s=%.3f "
               "weft_nodes_per_s=%.0f local_s=%.3f local_nodes_per_s=%.0f%s\n",
               nodes, nn, reps, s, nodes / s, local_s, nodes / local_s, nn == nodes_max ? dask : "");
        fflush(stdout);
        weft_cluster_free(c);
    }
    weft_run_free(local);
    weft_graph_free(g);
    if (chain > 0) {
        /* a chain: the source echoes 1 MiB of argument, each next node its
         * predecessor's result; every hop moves 1 MiB to a node and back */
        size_t big = (size_t)1 << 20;
        uint8_t *arg = malloc(big);
        for (size_t i = 0; i < big; i++) arg[i] = (uint8_t)(i * 13 + 1);
        weft_graph_t *ch;
        if (weft_graph_create("chain", &ch)) exit(1);
        weft_node_t prev = WEFT_NODE_NONE;
        for (int i = 0; i < chain; i++) {
            weft_node_t v;
            if (weft_graph_add_task(ch, NULL, "weft.echo", i ? NULL : arg, i ? 0 : big, &v) ||
                (i && weft_graph_precede(ch, prev, v)))
                exit(1);
            prev = v;
        }
        for (int loc = 1; loc >= 0; loc--) {
            weft_cluster_opts_t co;
            weft_cluster_opts_init(&co);
            co.locality = loc;
            weft_cluster_t *c = connect_nodes_opts(p, nodes_max, &co);
            double t[16];
            uint64_t sent = 0, received = 0;
            for (int r = 0; r < reps; r++) {
                weft_run_t *run;
                t[r] = graph_run(ch, rt, weft_cluster_executor(c), &run);
                const void *d;
                size_t len;
                if (weft_run_result(run, prev, &d, &len) || len != big || memcmp(d, arg, big)) {
                    fprintf(stderr, "bench_dist: error: chain result wrong\n");
                    exit(1);
                }
                sent = received = 0;
                for (weft_node_t v = 0; v < (weft_node_t)chain; v++) {
                    weft_node_origin_t o;
                    if (weft_run_node_origin(run, v, &o) == 0) {
                        sent += o.bytes_sent;
                        received += o.bytes_received;
                    }
                }
                weft_run_free(run);
            }
            double s = median(t, reps);
            printf("bench=dist_graph graph=chain nodes=%d bytes_per_node=%zu machines=%d locality=%d "
                   "reps=%d weft_s=%.3f weft_mb_per_s=%.0f sent_mb=%.1f received_mb=%.1f\n",
                   chain, big, nodes_max, loc, reps, s, (double)chain * (double)big / s / 1e6,
                   (double)sent / 1e6, (double)received / 1e6);
            fflush(stdout);
            weft_cluster_free(c);
        }
        weft_graph_free(ch);
        free(arg);
    }
    weft_runtime_destroy(rt);
}

int main(int argc, char **argv) {
    uint64_t tasks = 1000000, window = 65536;
    int latency_n = 10000, large_n = 200, nodes_max = 2, workers = 1;
    double anchor_s = 10;
    int graph_n = 0, graph_reps = 5, dask_grid = 70, chain = 100, graph_only = 0;
    char which[64] = "mp,dask";
    static struct option lo[] = {{"tasks", 1, 0, 't'},   {"latency", 1, 0, 'l'},
                                 {"large", 1, 0, 'g'},   {"nodes", 1, 0, 'n'},
                                 {"anchors", 1, 0, 'a'}, {"anchor-seconds", 1, 0, 's'},
                                 {"window", 1, 0, 'w'},  {"workers", 1, 0, 'k'},
                                 {"graph", 1, 0, 'G'},   {"graph-reps", 1, 0, 'R'},
                                 {"dask-grid", 1, 0, 'D'}, {"chain", 1, 0, 'C'},
                                 {"graph-only", 0, 0, 'O'},
                                 {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 't': tasks = strtoull(optarg, NULL, 10); break;
        case 'l': latency_n = atoi(optarg); break;
        case 'g': large_n = atoi(optarg); break;
        case 'n': nodes_max = atoi(optarg); break;
        case 'a': snprintf(which, sizeof which, "%s", strcmp(optarg, "none") ? optarg : ""); break;
        case 's': anchor_s = atof(optarg); break;
        case 'w': window = strtoull(optarg, NULL, 10); break;
        case 'k': workers = atoi(optarg); break;
        case 'G': graph_n = atoi(optarg); break;
        case 'R': graph_reps = atoi(optarg); break;
        case 'D': dask_grid = atoi(optarg); break;
        case 'C': chain = atoi(optarg); break;
        case 'O': graph_only = 1; break;
        default:
            printf("usage: bench_dist [--tasks N] [--latency N] [--large N] [--nodes MAX] "
                   "[--workers N per node] [--window N] [--anchors dask,mp|none] [--anchor-seconds S]\n"
                   "       [--graph N (wavefront N x N; 0: none, the default)] [--graph-reps R (5)]\n"
                   "       [--dask-grid N (dask's wavefront, 70; 0: none)] [--chain K (1 MiB hops, 100)]\n"
                   "       [--graph-only]\n");
            return ch == 'h' ? 0 : 2;
        }
    }
    if (nodes_max < 1 || nodes_max > 8 || workers < 1 || graph_n < 0 || graph_reps < 1 ||
        graph_reps > 16)
        return 2;
    dt_setup_key();
    if (!graph_only) crypto_bench();
    dt_proc_t p[8];
    char wbuf[16];
    snprintf(wbuf, sizeof wbuf, "%d", workers);
    const char *args[] = {"--workers", wbuf, NULL};
    for (int i = 0; i < nodes_max; i++)
        if (dt_start(&p[i], args)) {
            fprintf(stderr, "bench_dist: error: cannot start weftd\n");
            return 1;
        }
    if (graph_n > 0) graph_bench(p, nodes_max, graph_n, graph_reps, which[0] ? dask_grid : 0, chain);
    if (graph_only) {
        dt_kill_all();
        return 0;
    }
    for (int nn = 1; nn <= nodes_max; nn++) {
        weft_cluster_t *c = connect_nodes(p, nn);
        run_tiny(c, tasks / 20 + 1, window); /* warm up */
        double s = run_tiny(c, tasks, window);
        weft_cluster_free(c);
        char extra[512];
        anchors(nn * workers, anchor_s, which, extra, sizeof extra);
        printf("bench=dist_tiny tasks=%llu nodes=%d workers_per_node=%d weft_s=%.3f weft_tasks_per_s=%.0f%s\n",
               (unsigned long long)tasks, nn, workers, s, (double)tasks / s, extra);
        fflush(stdout);
    }
    if (atomic_load(&bad_count)) {
        fprintf(stderr, "bench_dist: error: %llu wrong results\n", (unsigned long long)atomic_load(&bad_count));
        return 1;
    }
    weft_cluster_t *c = connect_nodes(p, 1);
    double *lat = malloc(sizeof(double) * (size_t)(latency_n > 0 ? latency_n : 1));
    for (int i = -100; i < latency_n; i++) {
        weft_djob_t *j;
        uint64_t v = (uint64_t)i;
        double t0 = dt_now();
        weft_cluster_submit(c, "weft.echo", &v, 8, NULL, &j);
        int rc = weft_djob_wait(j, INFINITY, NULL);
        double t = dt_now() - t0;
        const void *d;
        size_t len;
        uint64_t got = ~v;
        if (!rc && !weft_djob_result(j, &d, &len) && len == 8) memcpy(&got, d, 8);
        weft_djob_free(j);
        if (got != v) {
            fprintf(stderr, "bench_dist: error: wrong latency result\n");
            return 1;
        }
        if (i >= 0) lat[i] = t;
    }
    if (latency_n > 0) {
        qsort(lat, (size_t)latency_n, sizeof *lat, cmp_d);
        printf("bench=dist_latency tasks=%d nodes=1 weft_p50_us=%.1f weft_p99_us=%.1f\n", latency_n,
               lat[latency_n / 2] * 1e6, lat[(int)(latency_n * 0.99)] * 1e6);
    }
    free(lat);
    size_t big = (size_t)1 << 20;
    uint8_t *arg = malloc(big);
    for (size_t i = 0; i < big; i++) arg[i] = (uint8_t)(i * 7 + 3);
    weft_djob_t *jobs[8];
    double t0 = dt_now();
    int inflight = 0, next = 0, finished = 0;
    while (finished < large_n) {
        while (inflight < 8 && next < large_n) {
            weft_cluster_submit(c, "weft.echo", arg, big, NULL, &jobs[next % 8]);
            next++, inflight++;
        }
        weft_djob_t *j = jobs[finished % 8];
        const void *d;
        size_t len;
        if (weft_djob_wait(j, INFINITY, NULL) || weft_djob_result(j, &d, &len) || len != big ||
            memcmp(d, arg, big)) {
            fprintf(stderr, "bench_dist: error: large result wrong\n");
            return 1;
        }
        weft_djob_free(j);
        finished++, inflight--;
    }
    double dt = dt_now() - t0;
    if (large_n > 0)
        printf("bench=dist_large tasks=%d bytes=%zu nodes=1 weft_mb_per_s=%.0f weft_wire_mb_per_s=%.0f\n",
               large_n, big, (double)large_n * (double)big / dt / 1e6,
               2.0 * (double)large_n * (double)big / dt / 1e6);
    free(arg);
    weft_cluster_free(c);
    dt_kill_all();
    return 0;
}
