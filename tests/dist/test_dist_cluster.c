/* test_dist_cluster: a client and weftd processes on loopback: exact
 * results of many tasks over 3 nodes, many clients at once, task errors,
 * unknown tasks, cancellation, local workers, large arguments, node loss
 * and rejoin, grace when every node is gone, statistics. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "dist_test.h"

static weft_cluster_t *cluster_of(dt_proc_t *p, int n, weft_cluster_opts_t *o) {
    const char *names[8];
    for (int i = 0; i < n; i++) names[i] = p[i].addr;
    weft_cluster_t *c = NULL;
    int rc = weft_cluster_create(names, (size_t)n, o, &c);
    ck_assert_msg(rc == 0, "cluster: %s: %s", weft_strerror(rc), weft_error_detail());
    return c;
}

/* Submits n weft.echo tasks with 8-byte arguments i, checks every result. */
static void echo_many(weft_cluster_t *c, uint64_t n, unsigned flags) {
    weft_djob_t **jobs = malloc(n * sizeof *jobs);
    ck_assert_ptr_nonnull(jobs);
    weft_dsubmit_opts_t so = {.flags = flags};
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = i * 2654435761u + 7;
        ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", &v, 8, &so, &jobs[i]), 0);
    }
    for (uint64_t i = 0; i < n; i++) {
        int rc = weft_djob_wait(jobs[i], 60, NULL);
        ck_assert_msg(rc == 0, "job %llu: %s: %s", (unsigned long long)i, weft_strerror(rc),
                      weft_djob_error(jobs[i]));
        const void *d;
        size_t len;
        ck_assert_int_eq(weft_djob_result(jobs[i], &d, &len), 0);
        ck_assert_uint_eq(len, 8);
        uint64_t v = i * 2654435761u + 7, got;
        memcpy(&got, d, 8);
        ck_assert_uint_eq(got, v);
        weft_djob_free(jobs[i]);
    }
    free(jobs);
}

START_TEST(three_nodes_100k_exact) {
    dt_setup_key();
    dt_proc_t p[3];
    for (int i = 0; i < 3; i++) ck_assert_int_eq(dt_start(&p[i], NULL), 0);
    weft_cluster_t *c = cluster_of(p, 3, NULL);
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 3, 20), 0);
    uint64_t n = (uint64_t)(100000 * dt_scale());
    double t0 = dt_now();
    echo_many(c, n, 0);
    double dt = dt_now() - t0;
    weft_node_stats_t *st;
    size_t k;
    ck_assert_int_eq(weft_cluster_stats(c, &st, &k), 0);
    ck_assert_uint_eq(k, 3);
    uint64_t total = 0;
    for (size_t i = 0; i < k; i++) {
        total += st[i].jobs;
        ck_assert_int_eq(st[i].connected, 1);
        ck_assert_uint_gt(st[i].bytes_sent, 0);
        ck_assert_uint_gt(st[i].bytes_received, 0);
    }
    ck_assert_uint_eq(total, n);
    free(st);
    weft_buf_t b = {0};
    ck_assert_int_eq(weft_cluster_print_stats_buf(c, &b), 0);
    ck_assert_ptr_nonnull(strstr(b.data, "Job execution statistics"));
    fprintf(stderr, "three_nodes: %llu tasks in %.3f s (%.0f tasks/s)\n%s", (unsigned long long)n,
            dt, (double)n / dt, b.data);
    weft_buf_free(&b);
    char **act;
    size_t na;
    ck_assert_int_eq(weft_cluster_active_nodes(c, &act, &na), 0);
    ck_assert_uint_eq(na, 3);
    ck_assert_str_eq(act[0], p[0].addr);
    free(act);
    ck_assert_int_eq(weft_cluster_free(c), 0);
    dt_kill_all();
}
END_TEST

static void *client_thread(void *arg) {
    dt_proc_t *p = arg;
    weft_cluster_t *c = cluster_of(p, 2, NULL);
    echo_many(c, (uint64_t)(5000 * dt_scale()), 0);
    weft_cluster_free(c);
    return NULL;
}

START_TEST(many_clients_at_once) {
    dt_setup_key();
    dt_proc_t p[2];
    for (int i = 0; i < 2; i++) ck_assert_int_eq(dt_start(&p[i], NULL), 0);
    pthread_t th[8];
    for (int i = 0; i < 8; i++) pthread_create(&th[i], NULL, client_thread, p);
    for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
    dt_kill_all();
}
END_TEST

START_TEST(task_errors_and_unknown_tasks) {
    dt_setup_key();
    dt_proc_t p[1];
    ck_assert_int_eq(dt_start(&p[0], NULL), 0);
    weft_cluster_t *c = cluster_of(p, 1, NULL);
    weft_djob_t *j;
    /* weft.sum_primes with a bad number fails with the task's own status */
    ck_assert_int_eq(weft_cluster_submit(c, "weft.sum_primes", "x1", 2, NULL, &j), 0);
    int status = 0;
    ck_assert_int_eq(weft_djob_wait(j, 30, &status), WEFT_ETASK);
    ck_assert_int_eq(status, WEFT_EINVAL);
    ck_assert_int_eq(weft_djob_attempts(j), 1); /* not retried */
    ck_assert_ptr_nonnull(strstr(weft_djob_error(j), "failed with status"));
    ck_assert_str_eq(weft_djob_node(j), p[0].addr);
    weft_djob_free(j);
    ck_assert_int_eq(weft_cluster_submit(c, "weft.sum_primes", "100", 3, NULL, &j), 0);
    ck_assert_int_eq(weft_djob_wait(j, 30, NULL), 0);
    const void *d;
    size_t len;
    ck_assert_int_eq(weft_djob_result(j, &d, &len), 0);
    ck_assert_uint_eq(len, 4);
    ck_assert_int_eq(memcmp(d, "1060", 4), 0);
    weft_djob_free(j);
    ck_assert_int_eq(weft_cluster_submit(c, "no.such.task", NULL, 0, NULL, &j), 0);
    ck_assert_int_eq(weft_djob_wait(j, 30, NULL), WEFT_ENOENT);
    ck_assert_ptr_nonnull(strstr(weft_djob_error(j), "no task 'no.such.task' registered"));
    ck_assert_ptr_nonnull(strstr(weft_error_detail(), p[0].addr));
    weft_djob_free(j);
    /* bad arguments */
    ck_assert_int_eq(weft_cluster_submit(c, "a b", NULL, 0, NULL, &j), WEFT_EINVAL);
    ck_assert_int_eq(weft_cluster_submit(c, "", NULL, 0, NULL, &j), WEFT_EINVAL);
    ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", NULL, 4, NULL, &j), WEFT_EINVAL);
    weft_dsubmit_opts_t so = {.flags = WEFT_DIST_LOCAL};
    ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", NULL, 0, &so, &j), WEFT_EINVAL);
    ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", "ab", 2, NULL, &j), 0);
    ck_assert_int_eq(weft_djob_wait(j, NAN, NULL), WEFT_EINVAL);
    ck_assert_int_eq(weft_djob_wait(j, -1, NULL), WEFT_EINVAL);
    ck_assert_int_eq(weft_djob_wait(j, INFINITY, NULL), 0);
    weft_djob_free(j);
    ck_assert_int_eq(weft_cluster_free(c), 0);
    dt_kill_all();
}
END_TEST

START_TEST(large_arguments_exact) {
    dt_setup_key();
    dt_proc_t p[2];
    for (int i = 0; i < 2; i++) ck_assert_int_eq(dt_start(&p[i], NULL), 0);
    weft_cluster_t *c = cluster_of(p, 2, NULL);
    size_t sizes[] = {0, 1, 255 << 10, 256 << 10, (256 << 10) + 1, 1 << 20, (3 << 20) + 17};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    weft_djob_t *jobs[NS];
    uint8_t *bufs[NS];
    for (int i = 0; i < NS; i++) {
        bufs[i] = malloc(sizes[i] + 1);
        for (size_t k = 0; k < sizes[i]; k++) bufs[i][k] = (uint8_t)(k * 31 + (size_t)i);
        ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", bufs[i], sizes[i], NULL, &jobs[i]), 0);
    }
    for (int i = 0; i < NS; i++) {
        ck_assert_int_eq(weft_djob_wait(jobs[i], 60, NULL), 0);
        const void *d;
        size_t len;
        ck_assert_int_eq(weft_djob_result(jobs[i], &d, &len), 0);
        ck_assert_uint_eq(len, sizes[i]);
        if (len) ck_assert_int_eq(memcmp(d, bufs[i], len), 0);
        weft_djob_free(jobs[i]);
        free(bufs[i]);
    }
    /* over the client's limit */
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    o.max_bytes = 1000;
    weft_cluster_t *c2 = cluster_of(p, 1, &o);
    weft_djob_t *j;
    static uint8_t big[1001];
    ck_assert_int_eq(weft_cluster_submit(c2, "weft.echo", big, 1001, NULL, &j), WEFT_ERANGE);
    weft_cluster_free(c2);
    weft_cluster_free(c);
    dt_kill_all();
}
END_TEST

static atomic_int cb_count, cb_bad;
static void count_cb(void *data, weft_djob_t *job, int rc) {
    (void)data;
    const void *d;
    size_t len;
    if (rc || weft_djob_result(job, &d, &len) || len != 3 || memcmp(d, "abc", 3)) atomic_fetch_add(&cb_bad, 1);
    atomic_fetch_add(&cb_count, 1);
}

START_TEST(groups_callbacks_local_workers) {
    dt_setup_key();
    dt_proc_t p[1];
    ck_assert_int_eq(dt_start(&p[0], NULL), 0);
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    o.local_workers = 2;
    weft_cluster_t *c = cluster_of(p, 1, &o);
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 1, 20), 0);
    weft_dgroup_t *g;
    ck_assert_int_eq(weft_dgroup_create(c, &g), 0);
    weft_dsubmit_opts_t so = {.group = g, .callback = count_cb};
    int n = 20000;
    for (int i = 0; i < n; i++) ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", "abc", 3, &so, NULL), 0);
    ck_assert_int_eq(weft_dgroup_wait(g, 60), 0);
    ck_assert_int_eq(weft_dgroup_pending(g), 0);
    ck_assert_int_eq(atomic_load(&cb_count), n);
    ck_assert_int_eq(atomic_load(&cb_bad), 0);
    weft_node_stats_t *st;
    size_t k;
    ck_assert_int_eq(weft_cluster_stats(c, &st, &k), 0);
    ck_assert_uint_eq(k, 2);
    ck_assert_str_eq(st[1].node, "local");
    ck_assert_uint_eq(st[0].jobs + st[1].jobs, (uint64_t)n);
    ck_assert_uint_gt(st[0].jobs, 0); /* both took work */
    ck_assert_uint_gt(st[1].jobs, 0);
    free(st);
    /* pinned jobs */
    weft_djob_t *j;
    weft_dsubmit_opts_t lo = {.flags = WEFT_DIST_LOCAL};
    ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", "x", 1, &lo, &j), 0);
    ck_assert_int_eq(weft_djob_wait(j, 30, NULL), 0);
    ck_assert_str_eq(weft_djob_node(j), "local");
    weft_djob_free(j);
    weft_dsubmit_opts_t ro = {.flags = WEFT_DIST_REMOTE};
    ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", "x", 1, &ro, &j), 0);
    ck_assert_int_eq(weft_djob_wait(j, 30, NULL), 0);
    ck_assert_str_eq(weft_djob_node(j), p[0].addr);
    weft_djob_free(j);
    ck_assert_int_eq(weft_dgroup_free(g), 0);
    ck_assert_int_eq(weft_cluster_free(c), 0);
    dt_kill_all();
}
END_TEST

START_TEST(cancel_reaches_the_node) {
    dt_setup_key();
    dt_proc_t p[1];
    const char *args[] = {"--workers", "1", NULL};
    ck_assert_int_eq(dt_start(&p[0], args), 0);
    weft_cluster_t *c = cluster_of(p, 1, NULL);
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 1, 20), 0);
    /* a long task occupies the node's one worker; the ones behind it are
     * cancelled before they start */
    weft_djob_t *slow, *j[50];
    ck_assert_int_eq(weft_cluster_submit(c, "weft.sum_primes", "3000000", 7, NULL, &slow), 0);
    usleep(100000);
    weft_dgroup_t *g;
    weft_dgroup_create(c, &g);
    weft_dsubmit_opts_t so = {.group = g};
    for (int i = 0; i < 50; i++) ck_assert_int_eq(weft_cluster_submit(c, "weft.sum_primes", "2000000", 7, &so, &j[i]), 0);
    usleep(100000);
    ck_assert_int_eq(weft_dgroup_cancel(g), 0);
    ck_assert_int_eq(weft_dgroup_wait(g, 30), WEFT_ETASK);
    uint64_t failed;
    int first;
    weft_dgroup_failures(g, &failed, &first);
    ck_assert_uint_eq(failed, 50);
    ck_assert_int_eq(first, WEFT_ECANCELED);
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(weft_djob_wait(j[i], 0, NULL), WEFT_ECANCELED);
        weft_djob_free(j[i]);
    }
    ck_assert_int_eq(weft_djob_wait(slow, 60, NULL), 0);
    weft_djob_free(slow);
    /* the node did not run the cancelled ones: a fresh task is answered
     * quickly, long before 50 sum_primes(2e6) could have run */
    weft_djob_t *q;
    double t0 = dt_now();
    ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", "q", 1, NULL, &q), 0);
    ck_assert_int_eq(weft_djob_wait(q, 30, NULL), 0);
    ck_assert_double_lt(dt_now() - t0, 2.0);
    weft_djob_free(q);
    weft_dgroup_free(g);
    weft_cluster_free(c);
    dt_kill_all();
}
END_TEST

START_TEST(node_lost_rescheduled_and_rejoins) {
    dt_setup_key();
    dt_proc_t p[2];
    for (int i = 0; i < 2; i++) ck_assert_int_eq(dt_start(&p[i], NULL), 0);
    weft_cluster_t *c = cluster_of(p, 2, NULL);
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 2, 20), 0);
    weft_djob_t *j[40];
    for (int i = 0; i < 40; i++) ck_assert_int_eq(weft_cluster_submit(c, "weft.sum_primes", "200000", 6, NULL, &j[i]), 0);
    usleep(50000);
    dt_kill(&p[0], SIGKILL);
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(weft_djob_wait(j[i], 60, NULL), 0);
        const void *d;
        size_t len;
        weft_djob_result(j[i], &d, &len);
        ck_assert_uint_eq(len, 10);
        ck_assert_int_eq(memcmp(d, "1709600813", 10), 0);
        weft_djob_free(j[i]);
    }
    /* restarted on its port, it rejoins */
    ck_assert_int_eq(dt_restart(&p[0], NULL), 0);
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 2, 20), 0);
    weft_node_stats_t *st;
    size_t k;
    weft_cluster_stats(c, &st, &k);
    ck_assert_uint_eq(st[0].losses, 1);
    ck_assert_uint_eq(st[0].connects, 2);
    free(st);
    weft_dsubmit_opts_t so = {.flags = WEFT_DIST_NO_RETRY};
    weft_djob_t *nr;
    ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", "z", 1, &so, &nr), 0);
    ck_assert_int_eq(weft_djob_wait(nr, 30, NULL), 0);
    weft_djob_free(nr);
    weft_cluster_free(c);
    dt_kill_all();
}
END_TEST

START_TEST(all_nodes_gone_grace) {
    dt_setup_key();
    dt_proc_t p[1];
    ck_assert_int_eq(dt_start(&p[0], NULL), 0);
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    o.grace_s = 0.5;
    weft_cluster_t *c = cluster_of(p, 1, &o);
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 1, 20), 0);
    dt_kill(&p[0], SIGKILL);
    usleep(200000);
    weft_djob_t *j;
    ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", "a", 1, NULL, &j), 0);
    double t0 = dt_now();
    ck_assert_int_eq(weft_djob_wait(j, 20, NULL), WEFT_ENODE);
    ck_assert_double_lt(dt_now() - t0, 5);
    ck_assert_ptr_nonnull(strstr(weft_djob_error(j), "no node reachable"));
    ck_assert_ptr_nonnull(strstr(weft_djob_error(j), p[0].addr));
    weft_djob_free(j);
    weft_cluster_free(c);
    /* a node that never answers: wait_nodes times out naming it */
    const char *none[] = {"127.0.0.1:1"};
    ck_assert_int_eq(weft_cluster_create(none, 1, &o, &c), 0);
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 1, 0.3), WEFT_ETIMEDOUT);
    ck_assert_ptr_nonnull(strstr(weft_error_detail(), "127.0.0.1:1"));
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 2, 0.3), WEFT_EINVAL);
    weft_cluster_free(c);
    dt_kill_all();
}
END_TEST

START_TEST(bad_node_strings) {
    dt_setup_key();
    weft_cluster_t *c;
    const char *bad[][1] = {{"::1:7117"}, {"[::1"}, {"host:99999"}, {"host:"}, {""}, {"a b:1"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(weft_cluster_create(bad[i], 1, NULL, &c), WEFT_EINVAL);
    const char *good[] = {"[::1]:7117", "localhost", "127.0.0.1:9"};
    ck_assert_int_eq(weft_cluster_create(good, 3, NULL, &c), 0);
    weft_node_stats_t *st;
    size_t k;
    weft_cluster_stats(c, &st, &k);
    ck_assert_str_eq(st[0].node, "[::1]:7117");
    ck_assert_str_eq(st[1].node, "localhost:7117");
    free(st);
    weft_cluster_free(c);
    ck_assert_int_eq(weft_cluster_create(NULL, 0, NULL, &c), WEFT_EINVAL);
}
END_TEST

int main(void) {
    Suite *s = suite_create("dist_cluster");
    /* one case per test, so that CK_RUN_CASE=name runs one */
    {
        TCase *tc = tcase_create("three_nodes_100k_exact");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, three_nodes_100k_exact);
        suite_add_tcase(s, tc);
    }
    {
        TCase *tc = tcase_create("many_clients_at_once");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, many_clients_at_once);
        suite_add_tcase(s, tc);
    }
    {
        TCase *tc = tcase_create("task_errors_and_unknown_tasks");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, task_errors_and_unknown_tasks);
        suite_add_tcase(s, tc);
    }
    {
        TCase *tc = tcase_create("large_arguments_exact");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, large_arguments_exact);
        suite_add_tcase(s, tc);
    }
    {
        TCase *tc = tcase_create("groups_callbacks_local_workers");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, groups_callbacks_local_workers);
        suite_add_tcase(s, tc);
    }
    {
        TCase *tc = tcase_create("cancel_reaches_the_node");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, cancel_reaches_the_node);
        suite_add_tcase(s, tc);
    }
    {
        TCase *tc = tcase_create("node_lost_rescheduled_and_rejoins");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, node_lost_rescheduled_and_rejoins);
        suite_add_tcase(s, tc);
    }
    {
        TCase *tc = tcase_create("all_nodes_gone_grace");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, all_nodes_gone_grace);
        suite_add_tcase(s, tc);
    }
    {
        TCase *tc = tcase_create("bad_node_strings");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, bad_node_strings);
        suite_add_tcase(s, tc);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
