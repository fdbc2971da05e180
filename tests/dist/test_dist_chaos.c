/* test_dist_chaos: 10,000 tasks on 3 weftd processes while one node after
 * another is killed with kill -9 every 1-2 s and restarted (or stopped
 * with SIGSTOP and continued): 0 lost, 0 wrong, every job completes. Prints
 * the kills, retries and detection times. Scale: WEFT_TEST_SCALE. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>

#include "dist_test.h"

#define NODES 3

static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static double lost_at[NODES][256];
static int nlost[NODES];
static dt_proc_t procs[NODES];

static void on_node(void *data, const char *node, int up, int err, const char *detail) {
    (void)data;
    (void)err;
    (void)detail;
    if (up) return;
    double now = dt_now();
    pthread_mutex_lock(&ev_mu);
    for (int i = 0; i < NODES; i++)
        if (!strcmp(node, procs[i].addr) && nlost[i] < 256) lost_at[i][nlost[i]++] = now;
    pthread_mutex_unlock(&ev_mu);
}

static const char *plugin_args[] = {"--load", PLUGIN_PATH, "--workers", "2", NULL};

static void run_chaos(int use_stop) {
    dt_setup_key();
    for (int i = 0; i < NODES; i++) ck_assert_int_eq(dt_start(&procs[i], plugin_args), 0);
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    o.on_node = on_node;
    o.max_losses = 50; /* a node holds up to its credit of queued tasks: under
                          a kill every 1-2 s one task can be lost many times */
    const char *names[NODES] = {procs[0].addr, procs[1].addr, procs[2].addr};
    weft_cluster_t *c;
    ck_assert_int_eq(weft_cluster_create(names, NODES, &o, &c), 0);
    ck_assert_int_eq(weft_cluster_wait_nodes(c, NODES, 20), 0);
    int n = (int)(10000 * dt_scale());
    weft_djob_t **jobs = malloc((size_t)n * sizeof *jobs);
    for (int i = 0; i < n; i++) {
        unsigned char arg[12];
        unsigned us = 6000;
        arg[0] = (unsigned char)us;
        arg[1] = (unsigned char)(us >> 8);
        arg[2] = arg[3] = 0;
        uint64_t v = (uint64_t)i * 0x9E3779B97F4A7C15ull;
        memcpy(arg + 4, &v, 8);
        ck_assert_int_eq(weft_cluster_submit(c, "example.sleep_echo", arg, sizeof arg, NULL, &jobs[i]), 0);
    }
    double t0 = dt_now(), kill_at[256];
    int kills = 0, victim_of[256];
    unsigned seed = (unsigned)getpid();
    int done = 0;
    while (!done && dt_now() - t0 < 300) {
        double pause = 1.0 + (rand_r(&seed) % 1000) / 1000.0;
        double until = dt_now() + pause;
        while (dt_now() < until) {
            usleep(20000);
            done = weft_djob_wait(jobs[n - 1], 0, NULL) != WEFT_ETIMEDOUT;
            for (int k = n - 1; done && k >= 0; k -= 97) done = weft_djob_wait(jobs[k], 0, NULL) != WEFT_ETIMEDOUT;
            if (done) break;
        }
        if (done || kills >= 256) break;
        int v = rand_r(&seed) % NODES;
        kill_at[kills] = dt_now();
        victim_of[kills] = v;
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
    int wrong = 0, lost = 0, retried = 0, max_att = 0;
    for (int i = 0; i < n; i++) {
        int rc = weft_djob_wait(jobs[i], 120, NULL);
        if (rc) {
            lost++;
            fprintf(stderr, "job %d: %s: %s\n", i, weft_strerror(rc), weft_djob_error(jobs[i]));
        } else {
            const void *d;
            size_t len;
            weft_djob_result(jobs[i], &d, &len);
            uint64_t v = (uint64_t)i * 0x9E3779B97F4A7C15ull, got = 0;
            if (len == 12) memcpy(&got, (const char *)d + 4, 8);
            if (len != 12 || got != v) wrong++;
        }
        int a = weft_djob_attempts(jobs[i]);
        if (a > 1) retried++;
        if (a > max_att) max_att = a;
        weft_djob_free(jobs[i]);
    }
    double wall = dt_now() - t0;
    /* detection: the first loss event of the victim after each kill */
    double det_sum = 0, det_max = 0;
    int det_n = 0;
    pthread_mutex_lock(&ev_mu);
    for (int k = 0; k < kills; k++) {
        int v = victim_of[k];
        for (int e = 0; e < nlost[v]; e++)
            if (lost_at[v][e] >= kill_at[k] && (k + 1 == kills || lost_at[v][e] < kill_at[k + 1] + 5)) {
                double d = lost_at[v][e] - kill_at[k];
                det_sum += d;
                if (d > det_max) det_max = d;
                det_n++;
                break;
            }
    }
    pthread_mutex_unlock(&ev_mu);
    weft_node_stats_t *st;
    size_t k;
    weft_cluster_stats(c, &st, &k);
    uint64_t retries = 0;
    for (size_t i = 0; i < k; i++) retries += st[i].retries;
    free(st);
    fprintf(stderr,
            "chaos %s: tasks=%d wall_s=%.2f kills=%d detected=%d detect_mean_ms=%.1f "
            "detect_max_ms=%.1f tasks_retried=%d retries=%llu max_attempts=%d lost=%d wrong=%d\n",
            use_stop ? "SIGSTOP/SIGCONT" : "kill -9", n, wall, kills, det_n,
            det_n ? det_sum / det_n * 1e3 : 0, det_max * 1e3, retried,
            (unsigned long long)retries, max_att, lost, wrong);
    ck_assert_int_eq(lost, 0);
    ck_assert_int_eq(wrong, 0);
    ck_assert_int_ge(kills, 1);
    ck_assert_int_eq(det_n, kills);
    if (use_stop) ck_assert_double_lt(det_max, 1.6); /* 1 s silence, plus a timer tick */
    else ck_assert_double_lt(det_max, 0.5);          /* EOF: at once */
    free(jobs);
    weft_cluster_free(c);
    dt_kill_all();
}

START_TEST(kill9_every_1_to_2_s) { run_chaos(0); }
END_TEST

START_TEST(sigstop_every_1_to_2_s) { run_chaos(1); }
END_TEST

int main(void) {
    Suite *s = suite_create("dist_chaos");
    TCase *a = tcase_create("kill9");
    tcase_set_timeout(a, 400);
    tcase_add_test(a, kill9_every_1_to_2_s);
    suite_add_tcase(s, a);
    TCase *b = tcase_create("sigstop");
    tcase_set_timeout(b, 400);
    tcase_add_test(b, sigstop_every_1_to_2_s);
    suite_add_tcase(s, b);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
