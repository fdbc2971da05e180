/* dist_probe: the client of the network-namespace test (netns_hosts.sh).
 * Connects to the nodes given and/or discovers them, waits for --expect
 * nodes, runs --tasks weft.sum_primes tasks and checks every result
 * against its own computation. Prints, one per line:
 *   up N nodes in MS ms              (when --expect nodes are usable)
 *   progress P                       (after each tenth of the results)
 *   lost NODE at WALL                (a node lost; WALL: CLOCK_REALTIME s)
 *   node NAME jobs J                 (per node, at the end)
 *   results M exact                  (every result checked)
 *   discover received R accepted A added D ignored I
 * Exit: 0 all exact, 1 a wrong or failed result, 2 usage, 3 nodes not up.
 * Every wait is bounded: --timeout seconds in all (default 120). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weft.h"

static double now_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_node(void *data, const char *node, int up, int err, const char *detail) {
    (void)data;
    (void)detail;
    if (!up && err == WEFT_ENODE)
        printf("lost %s at %.6f\n", node, now_s(CLOCK_REALTIME));
    else if (up)
        printf("joined %s at %.6f\n", node, now_s(CLOCK_REALTIME));
    fflush(stdout);
}

static unsigned long long sum_primes(unsigned long long n) {
    unsigned long long s = 0;
    for (unsigned long long x = 2; x < n; x++) {
        int p = 1;
        for (unsigned long long d = 2; d * d <= x; d++)
            if (x % d == 0) {
                p = 0;
                break;
            }
        if (p) s += x;
    }
    return s;
}

int main(int argc, char **argv) {
    const char *nodes[16];
    size_t nn = 0;
    int expect = 1, tasks = 100, base = 20000;
    double timeout = 120;
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    o.on_node = on_node;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "dist_probe: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--node") && nn < 16) nodes[nn++] = v;
        else if (!strcmp(a, "--discover")) o.discover = v;
        else if (!strcmp(a, "--discover-if")) o.discover_if = v;
        else if (!strcmp(a, "--expect")) expect = atoi(v);
        else if (!strcmp(a, "--tasks")) tasks = atoi(v);
        else if (!strcmp(a, "--prime-n")) base = atoi(v);
        else if (!strcmp(a, "--timeout")) timeout = atof(v);
        else if (!strcmp(a, "--dead-after")) o.dead_after_s = atof(v);
        else {
            fprintf(stderr, "dist_probe: unknown option %s\n", a);
            return 2;
        }
    }
    if (tasks < 1 || expect < 1 || base < 2 || !(timeout > 0)) return 2;
    double t0 = now_s(CLOCK_MONOTONIC), end = t0 + timeout;
    weft_cluster_t *c;
    int rc = weft_cluster_create(nodes, nn, &o, &c);
    if (rc) {
        fprintf(stderr, "dist_probe: cluster: %s: %s\n", weft_strerror(rc), weft_error_detail());
        return 2;
    }
    rc = weft_cluster_wait_nodes(c, (size_t)expect, 30);
    if (rc) {
        fprintf(stderr, "dist_probe: %s: %s\n", weft_strerror(rc), weft_error_detail());
        weft_cluster_free(c);
        return 3;
    }
    printf("up %d nodes in %.1f ms\n", expect, (now_s(CLOCK_MONOTONIC) - t0) * 1e3);
    fflush(stdout);
    unsigned long long expected[64];
    for (int k = 0; k < 64; k++) expected[k] = sum_primes((unsigned long long)(base + k));
    weft_djob_t **jobs = calloc((size_t)tasks, sizeof *jobs);
    if (!jobs) return 1;
    for (int i = 0; i < tasks; i++) {
        char arg[24];
        int n = snprintf(arg, sizeof arg, "%d", base + i % 64);
        rc = weft_cluster_submit(c, "weft.sum_primes", arg, (size_t)n, NULL, &jobs[i]);
        if (rc) {
            fprintf(stderr, "dist_probe: submit %d: %s\n", i, weft_strerror(rc));
            return 1;
        }
    }
    int bad = 0, step = tasks / 10 ? tasks / 10 : 1;
    for (int i = 0; i < tasks; i++) {
        double left = end - now_s(CLOCK_MONOTONIC);
        rc = weft_djob_wait(jobs[i], left > 0 ? left : 0, NULL);
        const void *d = NULL;
        size_t len = 0;
        char want[24], got[24] = "";
        snprintf(want, sizeof want, "%llu", expected[i % 64]);
        if (!rc && !weft_djob_result(jobs[i], &d, &len) && len < sizeof got) {
            memcpy(got, d, len);
            got[len] = 0;
        }
        if (rc || strcmp(got, want)) {
            if (bad++ < 5)
                fprintf(stderr, "dist_probe: job %d: %s (%s): got '%s', want '%s'\n", i,
                        weft_strerror(rc), weft_djob_error(jobs[i]), got, want);
        }
        if ((i + 1) % step == 0) {
            printf("progress %d\n", (i + 1) / step * 10);
            fflush(stdout);
        }
    }
    weft_node_stats_t *st;
    size_t k;
    if (!weft_cluster_stats(c, &st, &k)) {
        for (size_t i = 0; i < k; i++)
            printf("node %s jobs %llu losses %llu retries %llu\n", st[i].node,
                   (unsigned long long)st[i].jobs, (unsigned long long)st[i].losses,
                   (unsigned long long)st[i].retries);
        free(st);
    }
    weft_discover_stats_t ds;
    if (!weft_cluster_discover_stats(c, &ds))
        printf("discover received %llu accepted %llu added %llu ignored %llu\n",
               (unsigned long long)ds.received, (unsigned long long)ds.accepted,
               (unsigned long long)ds.added, (unsigned long long)(ds.received - ds.accepted));
    if (!bad) printf("results %d exact\n", tasks);
    else printf("results %d wrong or failed\n", bad);
    fflush(stdout);
    for (int i = 0; i < tasks; i++) weft_djob_free(jobs[i]);
    free(jobs);
    weft_cluster_free(c);
    return bad ? 1 : 0;
}
