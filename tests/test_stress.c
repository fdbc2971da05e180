/* Suite "stress": millions of tasks with exact counts.
 *
 * - random spawn trees, fire and forget: every node spawns 0..4 children
 *   chosen by a hash of its id, so a serial walk of the same function gives
 *   the exact node count;
 * - random fork-join trees: nodes wait for their children (through groups or
 *   jobs, also chosen by the hash) and return exact subtree sizes;
 * - many groups, with tasks spawning into them from inside tasks;
 * - callbacks exactly once (one flag per task) over millions of tasks;
 * - the worker count changed under load, from a thread and from tasks;
 * - job handles: submit, wait, free.
 *
 * Counts scale with WEFT_TEST_SCALE; at 1.0 the suite runs more than 10
 * million tasks (each test prints how many it ran). */
#include "weft_test.h"

#include <pthread.h>

static void wt_report(const char *what, uint64_t tasks, double t0)
{
    double dt = wt_now() - t0;
    fprintf(stderr, "stress %s: %llu tasks in %.2f s (%.0f ns/task, scale %g)\n", what,
            (unsigned long long)tasks, dt, tasks ? dt * 1e9 / (double)tasks : 0.0, wt_scale());
}

/* Waits until fewer than `window` tasks are in flight, so producers never
 * queue millions of tasks at once. */
static void wt_throttle(uint64_t submitted, atomic_ullong *done, uint64_t window)
{
    while (submitted > atomic_load_explicit(done, memory_order_relaxed) + window)
        wt_sleep_s(20e-6);
}

/* ------------------------------------------------------------------ */
/* Random trees                                                        */

/* A node's argument packs its id and the depth left below it. */
#define WT_DEPTH_BITS 5
#define WT_ID_MASK (UINTPTR_MAX >> WT_DEPTH_BITS)

static unsigned wt_node_kids(uint64_t id, unsigned depth)
{
    return depth == 0 ? 0 : (unsigned)(wt_mix64(id) % 5);
}

static uint64_t wt_node_child(uint64_t id, unsigned i)
{
    return wt_mix64(id * 8 + i + 1) & WT_ID_MASK;
}

/* Serial count of the tree's nodes; stops early once over cap. */
static void wt_tree_count(uint64_t id, unsigned depth, uint64_t cap, uint64_t *acc)
{
    unsigned k = wt_node_kids(id, depth);
    if (++*acc > cap)
        return;
    for (unsigned i = 0; i < k; i++)
        wt_tree_count(wt_node_child(id, i), depth - 1, cap, acc);
}

static atomic_ullong wt_nodes;
static atomic_int wt_errors;

static int wt_ff_node(void *arg, void **result)
{
    uintptr_t a = (uintptr_t)arg;
    uint64_t id = a >> WT_DEPTH_BITS;
    unsigned depth = (unsigned)(a & ((1u << WT_DEPTH_BITS) - 1));
    unsigned k = wt_node_kids(id, depth);
    weft_runtime_t *rt = weft_current_runtime();
    (void)result;
    atomic_fetch_add_explicit(&wt_nodes, 1, memory_order_relaxed);
    for (unsigned i = 0; i < k; i++) {
        uintptr_t c = ((uintptr_t)wt_node_child(id, i) << WT_DEPTH_BITS) | (depth - 1);
        if (weft_submit(rt, wt_ff_node, (void *)c, NULL, NULL) != 0)
            atomic_fetch_add(&wt_errors, 1);
    }
    return 0;
}

START_TEST(test_random_trees_fire_and_forget)
{
    enum { BATCH = 8, DEPTH = 14 };
    const uint64_t target = wt_scaled(4000000, 20000);
    weft_runtime_t *rt = wt_runtime(0);
    uint64_t total = 0, seed = 1, trees = 0;
    double t0 = wt_now();
    while (total < target) {
        weft_job_t *jobs[BATCH];
        uint64_t expect = 0;
        int nb = 0;
        while (nb < BATCH && total + expect < target) {
            uint64_t id = wt_mix64(seed++) & WT_ID_MASK, n = 0;
            wt_tree_count(id, DEPTH, target, &n);
            if (n > target)
                continue; /* a rare giant: skip it */
            expect += n;
            ck_assert_int_eq(weft_submit(rt, wt_ff_node,
                                         (void *)((uintptr_t)(id << WT_DEPTH_BITS) | DEPTH), NULL,
                                         &jobs[nb]),
                             0);
            nb++;
        }
        /* Waiting for each root waits for its whole tree. */
        for (int i = 0; i < nb; i++) {
            ck_assert_int_eq(weft_job_wait(jobs[i], NULL, NULL), 0);
            ck_assert_int_eq(weft_job_free(jobs[i]), 0);
        }
        ck_assert_uint_eq(wt_ldull(&wt_nodes), total + expect);
        total += expect;
        trees += (uint64_t)nb;
    }
    ck_assert_int_eq(wt_ld(&wt_errors), 0);
    ck_assert_uint_ge(total, target);
    ck_assert_uint_gt(trees, 1);
    wt_report("random trees", total, t0);
    wt_destroy(rt);
}
END_TEST

struct wt_fj {
    uint64_t id;
    unsigned depth;
    uint64_t size; /* out: nodes in the subtree */
};

static int wt_fj_node(void *arg, void **result)
{
    struct wt_fj *n = arg;
    struct wt_fj kids[4];
    unsigned k = wt_node_kids(n->id, n->depth);
    weft_runtime_t *rt = weft_current_runtime();
    uint64_t size = 1;
    (void)result;
    atomic_fetch_add_explicit(&wt_nodes, 1, memory_order_relaxed);
    for (unsigned i = 0; i < k; i++) {
        kids[i].id = wt_node_child(n->id, i);
        kids[i].depth = n->depth - 1;
        kids[i].size = 0;
    }
    if (k == 0) {
        /* leaf */
    } else if ((wt_mix64(n->id) >> 32) & 1) {
        weft_group_t *g = NULL;
        if (weft_group_create(rt, NULL, &g) != 0)
            return 1;
        for (unsigned i = 0; i < k; i++)
            if (weft_spawn(g, wt_fj_node, &kids[i]) != 0)
                atomic_fetch_add(&wt_errors, 1);
        if (weft_group_wait(g) != 0 || weft_group_free(g) != 0)
            return 2;
    } else {
        weft_job_t *jobs[4];
        for (unsigned i = 0; i < k; i++)
            if (weft_submit(rt, wt_fj_node, &kids[i], NULL, &jobs[i]) != 0)
                return 3;
        for (unsigned i = 0; i < k; i++) {
            int status = -1;
            if (weft_job_wait(jobs[i], &status, NULL) != 0 || status != 0)
                atomic_fetch_add(&wt_errors, 1);
            if (weft_job_free(jobs[i]) != 0)
                atomic_fetch_add(&wt_errors, 1);
        }
    }
    for (unsigned i = 0; i < k; i++)
        size += kids[i].size;
    n->size = size;
    return 0;
}

START_TEST(test_random_trees_fork_join)
{
    enum { BATCH = 4, DEPTH = 12 };
    const uint64_t target = wt_scaled(1500000, 10000);
    weft_runtime_t *rt = wt_runtime(0);
    uint64_t total = 0, seed = 1000;
    double t0 = wt_now();
    while (total < target) {
        struct wt_fj roots[BATCH];
        uint64_t expect[BATCH];
        weft_job_t *jobs[BATCH];
        uint64_t batch = 0;
        int nb = 0;
        while (nb < BATCH && total + batch < target) {
            uint64_t id = wt_mix64(seed++) & WT_ID_MASK, n = 0;
            wt_tree_count(id, DEPTH, target, &n);
            if (n > target)
                continue;
            roots[nb].id = id;
            roots[nb].depth = DEPTH;
            roots[nb].size = 0;
            expect[nb] = n;
            batch += n;
            ck_assert_int_eq(weft_submit(rt, wt_fj_node, &roots[nb], NULL, &jobs[nb]), 0);
            nb++;
        }
        for (int i = 0; i < nb; i++) {
            int status = -1;
            ck_assert_int_eq(weft_job_wait(jobs[i], &status, NULL), 0);
            ck_assert_int_eq(status, 0);
            ck_assert_uint_eq(roots[i].size, expect[i]);
            ck_assert_int_eq(weft_job_free(jobs[i]), 0);
        }
        total += batch;
        ck_assert_uint_eq(wt_ldull(&wt_nodes), total);
    }
    ck_assert_int_eq(wt_ld(&wt_errors), 0);
    wt_report("fork-join trees", total, t0);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Many groups                                                         */

enum { WT_NGROUPS = 1000, WT_FANOUT = 16 };

struct wt_groups_ctx {
    weft_group_t *groups[WT_NGROUPS];
    atomic_uint ran[WT_NGROUPS];
    uint64_t expect[WT_NGROUPS];
    uint64_t expect_failed[WT_NGROUPS];
};

static struct wt_groups_ctx wt_gc;

static unsigned wt_group_of(uint64_t root, unsigned j)
{
    return (unsigned)(wt_mix64(root * WT_FANOUT + j) % WT_NGROUPS);
}

static int wt_group_leaf(void *arg, void **result)
{
    uintptr_t a = (uintptr_t)arg;
    unsigned g = (unsigned)(a % WT_NGROUPS);
    (void)result;
    atomic_fetch_add_explicit(&wt_gc.ran[g], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&wt_nodes, 1, memory_order_relaxed);
    return (a / WT_NGROUPS) % 97 == 0 ? 5 : 0; /* some fail */
}

/* A root spawns WT_FANOUT leaves into hashed groups. */
static int wt_group_root(void *arg, void **result)
{
    uint64_t root = (uint64_t)(uintptr_t)arg;
    (void)result;
    atomic_fetch_add_explicit(&wt_nodes, 1, memory_order_relaxed);
    for (unsigned j = 0; j < WT_FANOUT; j++) {
        unsigned g = wt_group_of(root, j);
        uintptr_t leaf = (uintptr_t)((root * WT_FANOUT + j) * WT_NGROUPS + g);
        if (weft_spawn(wt_gc.groups[g], wt_group_leaf, (void *)leaf) != 0)
            atomic_fetch_add(&wt_errors, 1);
    }
    return 0;
}

START_TEST(test_many_groups)
{
    const uint64_t target = wt_scaled(1000000, 20000);
    const uint64_t roots = target / (WT_FANOUT + 1) + 1;
    const uint64_t per_round = 4000;
    weft_runtime_t *rt = wt_runtime(0);
    uint64_t done_roots = 0, total = 0;
    double t0 = wt_now();
    while (done_roots < roots) {
        uint64_t r_end = done_roots + per_round < roots ? done_roots + per_round : roots;
        weft_group_t *rootg = NULL;
        uint64_t f = 0;
        /* Fresh groups every round: create, fill, wait, check, free. */
        for (int g = 0; g < WT_NGROUPS; g++) {
            char name[16];
            snprintf(name, sizeof name, "g%d", g);
            ck_assert_int_eq(weft_group_create(rt, name, &wt_gc.groups[g]), 0);
            atomic_store(&wt_gc.ran[g], 0);
            wt_gc.expect[g] = 0;
            wt_gc.expect_failed[g] = 0;
        }
        for (uint64_t r = done_roots; r < r_end; r++)
            for (unsigned j = 0; j < WT_FANOUT; j++) {
                unsigned g = wt_group_of(r, j);
                wt_gc.expect[g]++;
                wt_gc.expect_failed[g] += (r * WT_FANOUT + j) % 97 == 0;
            }
        ck_assert_int_eq(weft_group_create(rt, "roots", &rootg), 0);
        for (uint64_t r = done_roots; r < r_end; r++)
            ck_assert_int_eq(weft_spawn(rootg, wt_group_root, (void *)(uintptr_t)r), 0);
        /* A root is complete only with its leaves, wherever they went. */
        ck_assert_int_eq(weft_group_wait(rootg), 0);
        ck_assert_int_eq(weft_group_failures(rootg, &f, NULL), 0);
        ck_assert_uint_eq(f, 0);
        ck_assert_int_eq(weft_group_pending(rootg), 0);
        for (int g = 0; g < WT_NGROUPS; g++) {
            int first = 0;
            ck_assert_int_eq(weft_group_pending(wt_gc.groups[g]), 0);
            ck_assert_uint_eq(wt_ldu(&wt_gc.ran[g]), wt_gc.expect[g]);
            ck_assert_int_eq(weft_group_wait(wt_gc.groups[g]),
                             wt_gc.expect_failed[g] ? WEFT_ETASK : 0);
            ck_assert_int_eq(weft_group_failures(wt_gc.groups[g], &f, &first), 0);
            ck_assert_uint_eq(f, wt_gc.expect_failed[g]);
            ck_assert_int_eq(first, wt_gc.expect_failed[g] ? 5 : 0);
            ck_assert_int_eq(weft_group_free(wt_gc.groups[g]), 0);
        }
        ck_assert_int_eq(weft_group_free(rootg), 0);
        total += (r_end - done_roots) * (WT_FANOUT + 1);
        done_roots = r_end;
        ck_assert_uint_eq(wt_ldull(&wt_nodes), total);
    }
    ck_assert_int_eq(wt_ld(&wt_errors), 0);
    wt_report("many groups", total, t0);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Callbacks exactly once                                              */

enum { WT_CB_GROUPS = 64 };

static atomic_uchar *wt_flags;
static atomic_ullong wt_done;
static atomic_ullong wt_cb_group_ran[WT_CB_GROUPS];

static int wt_cb_expected_status(uint64_t i)
{
    return i % 11 == 0 ? (int)(i % 1000) + 1 : 0;
}

static int wt_cb_task(void *arg, void **result)
{
    uint64_t i = (uint64_t)(uintptr_t)arg;
    *result = (void *)(uintptr_t)(i + 1);
    return wt_cb_expected_status(i);
}

static void wt_cb_once(void *data, int status, void *result)
{
    uint64_t i = (uint64_t)(uintptr_t)data;
    if (status != wt_cb_expected_status(i) || result != (void *)(uintptr_t)(i + 1) ||
        weft_current_worker() < 0)
        atomic_fetch_add(&wt_errors, 1);
    atomic_fetch_add_explicit(&wt_flags[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&wt_cb_group_ran[i % WT_CB_GROUPS], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&wt_done, 1, memory_order_relaxed);
}

struct wt_cb_producer {
    weft_runtime_t *rt;
    weft_group_t **groups;
    uint64_t begin, end, step;
    int errors;
};

static void *wt_cb_producer_main(void *arg)
{
    struct wt_cb_producer *p = arg;
    weft_submit_opts_t opts = {NULL, wt_cb_once, NULL};
    uint64_t n = 0;
    for (uint64_t i = p->begin; i < p->end; i += p->step) {
        opts.group = p->groups[i % WT_CB_GROUPS];
        opts.callback_data = (void *)(uintptr_t)i;
        if (weft_submit(p->rt, wt_cb_task, (void *)(uintptr_t)i, &opts, NULL) != 0)
            p->errors++;
        if (++n % 1024 == 0)
            wt_throttle(i + 1, &wt_done, 200000); /* both producers count in wt_done */
    }
    return NULL;
}

START_TEST(test_callbacks_exactly_once_millions)
{
    const uint64_t n = wt_scaled(2000000, 20000);
    weft_runtime_t *rt = wt_runtime(0);
    weft_group_t *groups[WT_CB_GROUPS];
    uint64_t exp_sub[WT_CB_GROUPS] = {0}, exp_fail[WT_CB_GROUPS] = {0};
    struct wt_cb_producer p[2];
    pthread_t th;
    double t0 = wt_now();
    wt_flags = calloc(n, sizeof *wt_flags);
    ck_assert_ptr_nonnull(wt_flags);
    for (int g = 0; g < WT_CB_GROUPS; g++)
        ck_assert_int_eq(weft_group_create(rt, NULL, &groups[g]), 0);
    for (uint64_t i = 0; i < n; i++) {
        exp_sub[i % WT_CB_GROUPS]++;
        exp_fail[i % WT_CB_GROUPS] += wt_cb_expected_status(i) != 0;
    }
    for (int k = 0; k < 2; k++) {
        p[k].rt = rt;
        p[k].groups = groups;
        p[k].begin = (uint64_t)k;
        p[k].end = n;
        p[k].step = 2;
        p[k].errors = 0;
    }
    /* Two producers: this thread and one more. */
    ck_assert_int_eq(pthread_create(&th, NULL, wt_cb_producer_main, &p[1]), 0);
    wt_cb_producer_main(&p[0]);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(p[0].errors + p[1].errors, 0);
    for (int g = 0; g < WT_CB_GROUPS; g++) {
        uint64_t f = 0;
        ck_assert_int_eq(weft_group_wait(groups[g]), exp_fail[g] ? WEFT_ETASK : 0);
        /* The group's callbacks have all run once its waiters are released. */
        ck_assert_uint_eq(wt_ldull(&wt_cb_group_ran[g]), exp_sub[g]);
        ck_assert_int_eq(weft_group_failures(groups[g], &f, NULL), 0);
        ck_assert_uint_eq(f, exp_fail[g]);
    }
    /* Every callback ran before its group's waiters were released. */
    ck_assert_uint_eq(wt_ldull(&wt_done), n);
    for (uint64_t i = 0; i < n; i++)
        ck_assert_msg(wt_ldc(&wt_flags[i]) == 1, "callback of task %llu ran %d times",
                      (unsigned long long)i, (int)atomic_load(&wt_flags[i]));
    ck_assert_int_eq(wt_ld(&wt_errors), 0);
    for (int g = 0; g < WT_CB_GROUPS; g++)
        ck_assert_int_eq(weft_group_free(groups[g]), 0);
    wt_report("callbacks", n, t0);
    wt_destroy(rt);
    ck_assert_uint_eq(wt_ldull(&wt_done), n); /* and never again */
    free(wt_flags);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Worker count changed under load                                     */

static atomic_int wt_producing;

static int wt_flag_task(void *arg, void **result)
{
    uint64_t i = (uint64_t)(uintptr_t)arg;
    (void)result;
    if (i % 100000 == 99999) {
        /* From a worker, too (it may retire itself). */
        if (weft_runtime_set_workers(weft_current_runtime(), 1 + (int)(i / 100000) % 4) != 0)
            atomic_fetch_add(&wt_errors, 1);
    }
    if (i % 64 == 0)
        wt_spin_work(2000);
    atomic_fetch_add_explicit(&wt_flags[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&wt_done, 1, memory_order_relaxed);
    return 0;
}

struct wt_flag_producer {
    weft_runtime_t *rt;
    uint64_t begin, end;
    int errors;
};

static void *wt_flag_producer_main(void *arg)
{
    struct wt_flag_producer *p = arg;
    for (uint64_t i = p->begin; i < p->end; i++) {
        if (weft_submit(p->rt, wt_flag_task, (void *)(uintptr_t)i, NULL, NULL) != 0)
            p->errors++;
        if ((i & 1023) == 0)
            wt_throttle(2 * (i - p->begin), &wt_done, 200000);
    }
    atomic_fetch_sub(&wt_producing, 1);
    return NULL;
}

struct wt_changer {
    weft_runtime_t *rt;
    int changes;
    int errors;
};

static void *wt_changer_main(void *arg)
{
    static const int seq[] = {1, 3, 2, 8, 4, 1, 16, 2, 5};
    struct wt_changer *c = arg;
    int k = 0;
    while (atomic_load(&wt_producing) > 0) {
        int n = seq[k++ % (int)(sizeof seq / sizeof seq[0])];
        if (weft_runtime_set_workers(c->rt, n) != 0)
            c->errors++;
        c->changes++;
        wt_sleep_s(2e-3);
    }
    return NULL;
}

START_TEST(test_set_workers_under_load)
{
    const uint64_t n = wt_scaled(2000000, 20000);
    weft_runtime_t *rt = wt_runtime(2);
    struct wt_flag_producer p[2];
    struct wt_changer ch = {rt, 0, 0};
    pthread_t tp[2], tc;
    double t0 = wt_now();
    wt_flags = calloc(n, sizeof *wt_flags);
    ck_assert_ptr_nonnull(wt_flags);
    atomic_store(&wt_producing, 2);
    for (int k = 0; k < 2; k++) {
        p[k].rt = rt;
        p[k].begin = k == 0 ? 0 : n / 2;
        p[k].end = k == 0 ? n / 2 : n;
        p[k].errors = 0;
        ck_assert_int_eq(pthread_create(&tp[k], NULL, wt_flag_producer_main, &p[k]), 0);
    }
    ck_assert_int_eq(pthread_create(&tc, NULL, wt_changer_main, &ch), 0);
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(pthread_join(tp[k], NULL), 0);
        ck_assert_int_eq(p[k].errors, 0);
    }
    ck_assert_int_eq(pthread_join(tc, NULL), 0);
    ck_assert_int_eq(ch.errors, 0);
    ck_assert_int_gt(ch.changes, 0);
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    ck_assert_int_eq(wt_ld(&wt_errors), 0);
    ck_assert_uint_eq(wt_ldull(&wt_done), n);
    for (uint64_t i = 0; i < n; i++)
        ck_assert_msg(wt_ldc(&wt_flags[i]) == 1, "task %llu ran %d times",
                      (unsigned long long)i, (int)atomic_load(&wt_flags[i]));
    ck_assert_int_eq(weft_runtime_set_workers(rt, 3), 0);
    ck_assert_int_eq(weft_runtime_workers(rt), 3);
    wt_report("set_workers under load", n, t0);
    wt_destroy(rt);
    free(wt_flags);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Job handles                                                         */

static int wt_job_task(void *arg, void **result)
{
    uint64_t i = (uint64_t)(uintptr_t)arg;
    *result = (void *)(uintptr_t)(i * 3);
    return i % 13 == 0 ? 13 : 0;
}

START_TEST(test_jobs_many)
{
    enum { WINDOW = 1024 };
    const uint64_t n = wt_scaled(600000, 10000);
    weft_runtime_t *rt = wt_runtime(0);
    weft_job_t *jobs[WINDOW];
    double t0 = wt_now();
    for (uint64_t base = 0; base < n; base += WINDOW) {
        uint64_t m = n - base < WINDOW ? n - base : WINDOW;
        for (uint64_t k = 0; k < m; k++)
            ck_assert_int_eq(
                weft_submit(rt, wt_job_task, (void *)(uintptr_t)(base + k), NULL, &jobs[k]), 0);
        /* Free half of them unwaited, in alternate windows. */
        for (uint64_t k = 0; k < m; k++) {
            uint64_t i = base + k;
            int status = -1;
            void *res = NULL;
            if ((base / WINDOW) % 2 == 1 && k % 2 == 1) {
                ck_assert_int_eq(weft_job_free(jobs[k]), 0);
                continue;
            }
            ck_assert_int_eq(weft_job_wait(jobs[k], &status, &res), i % 13 == 0 ? WEFT_ETASK : 0);
            ck_assert_int_eq(status, i % 13 == 0 ? 13 : 0);
            ck_assert_ptr_eq(res, (void *)(uintptr_t)(i * 3));
            ck_assert_int_eq(weft_job_free(jobs[k]), 0);
        }
    }
    ck_assert_int_eq(weft_runtime_wait(rt), 0);
    wt_report("jobs", n, t0);
    wt_destroy(rt);
}
END_TEST

static Suite *stress_suite(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = wt_tcase(s, "trees", WT_STRESS_TIMEOUT_S);
    tcase_add_test(tc, test_random_trees_fire_and_forget);
    tcase_add_test(tc, test_random_trees_fork_join);

    tc = wt_tcase(s, "groups", WT_STRESS_TIMEOUT_S);
    tcase_add_test(tc, test_many_groups);
    tcase_add_test(tc, test_callbacks_exactly_once_millions);

    tc = wt_tcase(s, "workers", WT_STRESS_TIMEOUT_S);
    tcase_add_test(tc, test_set_workers_under_load);
    tcase_add_test(tc, test_jobs_many);
    return s;
}

int main(void)
{
    return wt_run_suite(stress_suite());
}
