/* test_dist_procpool: weft_procpool_* with procpool_child workers on Unix
 * sockets: exact results, a child killed in the middle of a batch (every
 * task still completes once, the child comes back), a task that kills
 * every child it reaches (WEFT_ENODE, the pool usable after), shutdown
 * (every child reaped, the directory removed), a program that cannot
 * start, bad arguments, and no orphans when the pool's process is killed. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1 while pid runs (a zombie counts as gone). */
static int alive(int pid) {
    if (pid <= 0 || kill(pid, 0) != 0) return 0;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

static weft_procpool_t *pool_of(int n) {
    const char *argv[] = {CHILD_PATH, NULL};
    weft_procpool_t *p = NULL;
    int rc = weft_procpool_create(argv, n, NULL, &p);
    ck_assert_msg(rc == 0, "create: %s: %s", weft_strerror(rc), weft_error_detail());
    return p;
}

/* Runs task with arg (a string) and returns its result as a string. */
static int run1(weft_cluster_t *c, const char *task, const char *arg, char *out, size_t size) {
    weft_djob_t *j = NULL;
    int rc = weft_cluster_submit(c, task, arg, strlen(arg), NULL, &j);
    if (rc) return rc;
    rc = weft_djob_wait(j, 60, NULL);
    if (rc == 0 && out) {
        const void *d;
        size_t n;
        weft_djob_result(j, &d, &n);
        if (n >= size) n = size - 1;
        memcpy(out, d, n);
        out[n] = 0;
    } else if (out) {
        snprintf(out, size, "%s", weft_djob_error(j));
    }
    weft_djob_free(j);
    return rc;
}

START_TEST(exact_results) {
    weft_procpool_t *p = pool_of(2);
    ck_assert_int_eq(weft_procpool_size(p), 2);
    int pid0 = weft_procpool_pid(p, 0), pid1 = weft_procpool_pid(p, 1);
    ck_assert_int_gt(pid0, 0);
    ck_assert_int_gt(pid1, 0);
    ck_assert_int_ne(pid0, pid1);
    weft_cluster_t *c = weft_procpool_cluster(p);
    enum { N = 400 };
    weft_djob_t *jobs[N];
    char args[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(args[i], sizeof args[i], "v%d", i * 7919);
        ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", args[i], strlen(args[i]), NULL,
                                             &jobs[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(weft_djob_wait(jobs[i], 60, NULL), 0);
        const void *d;
        size_t n;
        ck_assert_int_eq(weft_djob_result(jobs[i], &d, &n), 0);
        ck_assert_uint_eq(n, strlen(args[i]));
        ck_assert(memcmp(d, args[i], n) == 0);
        ck_assert(strncmp(weft_djob_node(jobs[i]), "unix:", 5) == 0);
        weft_djob_free(jobs[i]);
    }
    /* both children take tasks: the pids they report are the pool's */
    int seen0 = 0, seen1 = 0;
    for (int i = 0; i < 64; i++)
        ck_assert_int_eq(weft_cluster_submit(c, "pp.pid", NULL, 0, NULL, &jobs[i]), 0);
    for (int i = 0; i < 64; i++) {
        ck_assert_int_eq(weft_djob_wait(jobs[i], 60, NULL), 0);
        const void *d;
        size_t n;
        ck_assert_int_eq(weft_djob_result(jobs[i], &d, &n), 0);
        char out[32];
        ck_assert_uint_lt(n, sizeof out);
        memcpy(out, d, n);
        out[n] = 0;
        weft_djob_free(jobs[i]);
        int got = atoi(out);
        ck_assert_msg(got == pid0 || got == pid1, "pid %d is not a child", got);
        seen0 |= got == pid0;
        seen1 |= got == pid1;
    }
    ck_assert_uint_eq(weft_procpool_restarts(p), 0);
    ck_assert_msg(seen0 && seen1, "only one child took tasks");
    ck_assert_int_eq(weft_procpool_free(p), 0);
}
END_TEST

START_TEST(killed_in_a_batch) {
    weft_procpool_t *p = pool_of(2);
    weft_cluster_t *c = weft_procpool_cluster(p);
    int victim = weft_procpool_pid(p, 0);
    enum { N = 200 };
    weft_djob_t *jobs[N];
    char args[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(args[i], sizeof args[i], "%d", 2 + (i % 5)); /* 2..6 ms */
        ck_assert_int_eq(weft_cluster_submit(c, "pp.sleep", args[i], strlen(args[i]), NULL,
                                             &jobs[i]), 0);
    }
    usleep(150000);
    ck_assert_int_eq(kill(victim, SIGKILL), 0);
    int retried = 0;
    for (int i = 0; i < N; i++) {
        int rc = weft_djob_wait(jobs[i], 60, NULL);
        ck_assert_msg(rc == 0, "job %d: %s: %s", i, weft_strerror(rc), weft_djob_error(jobs[i]));
        const void *d;
        size_t n;
        ck_assert_int_eq(weft_djob_result(jobs[i], &d, &n), 0);
        ck_assert_uint_eq(n, strlen(args[i]));
        ck_assert(memcmp(d, args[i], n) == 0);
        if (weft_djob_attempts(jobs[i]) > 1) retried++;
        weft_djob_free(jobs[i]);
    }
    ck_assert_int_gt(retried, 0); /* the victim held some */
    double end = now_s() + 10; /* the cluster may finish before the pool reaps */
    while (now_s() < end && weft_procpool_restarts(p) < 1) usleep(5000);
    ck_assert_uint_eq(weft_procpool_restarts(p), 1);
    while (now_s() < end && weft_procpool_pid(p, 0) <= 0) usleep(10000);
    int again = weft_procpool_pid(p, 0);
    ck_assert_int_gt(again, 0);
    ck_assert_int_ne(again, victim);
    ck_assert(!alive(victim));
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 2, 10), 0);
    char out[32];
    ck_assert_int_eq(run1(c, "weft.echo", "after", out, sizeof out), 0);
    ck_assert_str_eq(out, "after");
    ck_assert_int_eq(weft_procpool_free(p), 0);
}
END_TEST

START_TEST(task_that_kills_its_worker) {
    weft_procpool_t *p = pool_of(2);
    weft_cluster_t *c = weft_procpool_cluster(p);
    char out[512];
    double t0 = now_s();
    ck_assert_int_eq(run1(c, "pp.exit", "3", out, sizeof out), WEFT_ENODE);
    ck_assert_msg(strstr(out, "lost with 3 nodes") != NULL, "message: %s", out);
    ck_assert(now_s() - t0 < 30);
    /* the cluster sees the third death (EOF) before the pool reaps it */
    double end = now_s() + 5;
    while (now_s() < end && weft_procpool_restarts(p) < 3) usleep(5000);
    ck_assert_uint_eq(weft_procpool_restarts(p), 3);
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 2, 10), 0);
    ck_assert_int_eq(run1(c, "weft.echo", "still here", out, sizeof out), 0);
    ck_assert_str_eq(out, "still here");
    ck_assert_int_eq(weft_procpool_free(p), 0);
}
END_TEST

START_TEST(free_reaps_everything) {
    weft_procpool_t *p = pool_of(3);
    int pids[3];
    for (int i = 0; i < 3; i++) pids[i] = weft_procpool_pid(p, i);
    char dir[128];
    snprintf(dir, sizeof dir, "%s", weft_procpool_dir(p));
    struct stat st;
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    char key[160];
    snprintf(key, sizeof key, "%s/key", dir);
    ck_assert_int_eq(stat(key, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(weft_procpool_free(p), 0);
    for (int i = 0; i < 3; i++) {
        errno = 0;
        ck_assert_int_eq(kill(pids[i], 0), -1); /* reaped: no zombie left */
        ck_assert_int_eq(errno, ESRCH);
    }
    ck_assert_int_eq(stat(dir, &st), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(program_that_cannot_start) {
    const char *argv[] = {"/nonexistent/weft-worker", NULL};
    weft_procpool_opts_t o;
    weft_procpool_opts_init(&o);
    o.restart_min_s = 0.01;
    o.restart_max_s = 0.02;
    o.start_timeout_s = 20;
    weft_procpool_t *p = NULL;
    double t0 = now_s();
    int rc = weft_procpool_create(argv, 2, &o, &p);
    ck_assert_int_eq(rc, WEFT_ETIMEDOUT);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(weft_error_detail(), "exited with status 127") != NULL, "detail: %s",
                  weft_error_detail());
    ck_assert(now_s() - t0 < 5); /* gave up early, not at the timeout */
}
END_TEST

START_TEST(bad_arguments) {
    const char *argv[] = {CHILD_PATH, NULL};
    const char *empty[] = {NULL};
    weft_procpool_t *p = NULL;
    ck_assert_int_eq(weft_procpool_create(argv, 0, NULL, &p), WEFT_EINVAL);
    ck_assert_int_eq(weft_procpool_create(argv, 257, NULL, &p), WEFT_EINVAL);
    ck_assert_int_eq(weft_procpool_create(NULL, 1, NULL, &p), WEFT_EINVAL);
    ck_assert_int_eq(weft_procpool_create(empty, 1, NULL, &p), WEFT_EINVAL);
    weft_procpool_opts_t o;
    weft_procpool_opts_init(&o);
    o.restart_min_s = 3;
    o.restart_max_s = 1;
    ck_assert_int_eq(weft_procpool_create(argv, 1, &o, &p), WEFT_EINVAL);
    ck_assert_int_eq(weft_procpool_create(argv, 1, NULL, NULL), WEFT_EINVAL);
    ck_assert_int_eq(weft_procpool_free(NULL), WEFT_EINVAL);
    ck_assert_int_eq(weft_procpool_pid(NULL, 0), WEFT_EINVAL);
}
END_TEST

START_TEST(unix_addresses) {
    /* a cluster refuses malformed unix: strings */
    const char *bad[] = {"unix:", "unix:relative/path", "unix:/\x01"};
    for (int i = 0; i < 3; i++) {
        weft_cluster_t *c = NULL;
        weft_cluster_opts_t o;
        weft_cluster_opts_init(&o);
        o.local_workers = 1;
        ck_assert_int_eq(weft_cluster_create(&bad[i], 1, &o, &c), WEFT_EINVAL);
    }
    char longp[200];
    memset(longp, 'a', sizeof longp);
    memcpy(longp, "unix:/", 6);
    longp[sizeof longp - 1] = 0;
    weft_server_opts_t so;
    weft_server_opts_init(&so);
    so.listen = longp;
    weft_server_t *s = NULL;
    ck_assert_int_eq(weft_server_create(&so, &s), WEFT_EINVAL);
    /* a socket in use is not taken over; a stale one is replaced, and the
     * file goes with the server */
    char dir[] = "/tmp/weft-unix-test-XXXXXX", key[64], path[64], listen[80];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(key, sizeof key, "%s/key", dir);
    snprintf(path, sizeof path, "%s/s.sock", dir);
    snprintf(listen, sizeof listen, "unix:%s", path);
    ck_assert_int_eq(weft_dist_key_create(key), 0);
    so.listen = listen;
    so.secret_file = key;
    so.workers = 1;
    ck_assert_int_eq(weft_server_create(&so, &s), 0);
    ck_assert_str_eq(weft_server_address(s), listen);
    weft_server_t *s2 = NULL;
    ck_assert_int_eq(weft_server_create(&so, &s2), WEFT_EIO);
    ck_assert_msg(strstr(weft_error_detail(), "listening there already") != NULL, "%s",
                  weft_error_detail());
    ck_assert_int_eq(weft_server_free(s), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), -1);
    unlink(key);
    rmdir(dir);
}
END_TEST

START_TEST(no_orphans_when_the_parent_is_killed) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t mid = fork();
    ck_assert_int_ge(mid, 0);
    if (mid == 0) {
        close(fds[0]);
        const char *argv[] = {CHILD_PATH, NULL};
        weft_procpool_t *p = NULL;
        if (weft_procpool_create(argv, 2, NULL, &p)) _exit(3);
        int pids[2] = {weft_procpool_pid(p, 0), weft_procpool_pid(p, 1)};
        if (write(fds[1], pids, sizeof pids) != sizeof pids) _exit(4);
        for (;;) pause();
    }
    close(fds[1]);
    int pids[2] = {0, 0};
    ssize_t got = 0;
    double end = now_s() + 30;
    while (got < (ssize_t)sizeof pids && now_s() < end) {
        ssize_t r = read(fds[0], (char *)pids + got, sizeof pids - (size_t)got);
        if (r <= 0) break;
        got += r;
    }
    close(fds[0]);
    ck_assert_int_eq(got, sizeof pids);
    ck_assert(alive(pids[0]) && alive(pids[1]));
    kill(mid, SIGKILL);
    waitpid(mid, NULL, 0);
    end = now_s() + 5;
    while (now_s() < end && (alive(pids[0]) || alive(pids[1]))) usleep(10000);
    ck_assert_msg(!alive(pids[0]) && !alive(pids[1]), "orphans left: %d %d", pids[0], pids[1]);
}
END_TEST

int main(void) {
    Suite *s = suite_create("dist_procpool");
    struct {
        const char *name;
        const TTest *test;
    } cases[] = {{"exact_results", exact_results},
                 {"killed_in_a_batch", killed_in_a_batch},
                 {"task_that_kills_its_worker", task_that_kills_its_worker},
                 {"free_reaps_everything", free_reaps_everything},
                 {"program_that_cannot_start", program_that_cannot_start},
                 {"bad_arguments", bad_arguments},
                 {"unix_addresses", unix_addresses},
                 {"no_orphans_when_the_parent_is_killed", no_orphans_when_the_parent_is_killed}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
