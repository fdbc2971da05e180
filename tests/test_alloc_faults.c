/* Suite "alloc_faults": what every public call of the graph layer (and the
 * runtime it runs on) does when an allocation fails.
 *
 * libweft allocates only through runtime/src/alloc.c, which calls oneTBB's
 * scalable_malloc family. This program defines those functions itself: the
 * dynamic linker binds libweft's calls (through its PLT) to the definitions
 * in the executable, which forward to tbbmalloc's (dlsym(RTLD_NEXT)) unless
 * the injector says "fail this one". Nothing in the library knows. Sanitizer
 * builds (WEFT_ALLOC_SYSTEM: plain malloc, owned by ASan/TSan) do not build
 * this suite.
 *
 * The pattern of every test: for n = 0, 1, 2..., run an operation with the
 * allocation after n successful ones failing (mode "once"), and again with
 * that one and every later one failing until the call returns (mode
 * "sticky": a failure path that itself allocates fails too), until the
 * operation makes no more than n allocations and succeeds untouched. At
 * each n: the code is 0 or WEFT_ENOMEM (or the operation's documented
 * code), outputs are NULL (nodes WEFT_NODE_NONE) on failure, a call that
 * failed made nothing that survives, and, with injection off, the objects
 * still work and give the results of a run without faults. A call that
 * absorbed a failure and returned 0 must give exactly those results too.
 *
 * The interposer counts the blocks libweft holds (allocations minus frees),
 * so a leak anywhere on a failure path fails the test that took it: a call
 * that makes an object must leave the count as it was when it fails; a
 * call that changes one (adding to a graph, registering a task) may leave
 * an array with more room, so there the count is checked once the objects
 * are freed. A runtime keeps blocks for reuse until it is destroyed, so
 * the tests that run things make a runtime per fault. */
#define _GNU_SOURCE /* dlsym(RTLD_NEXT), dladdr, open_memstream, fmemopen */
#include "weft_test.h"

#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>

#include <tbb/scalable_allocator.h>

#include "weft/graph.h"
#include "weft_graph_test.h"

#ifndef WEFT_TEST_DATA_DIR
#define WEFT_TEST_DATA_DIR "tests/data"
#endif

/* No operation here makes this many allocations: a loop that gets this far
 * means the injector stopped working. */
#define FA_MAX_STEPS 5000

/* ------------------------------------------------------------------ */
/* The interposer                                                      */

enum { FA_MALLOC, FA_CALLOC, FA_REALLOC, FA_ALIGNED_MALLOC, FA_FREE, FA_ALIGNED_FREE, FA_NFUNCS };
static const char *const fa_names[FA_NFUNCS] = {
    "scalable_malloc",         "scalable_calloc", "scalable_realloc",
    "scalable_aligned_malloc", "scalable_free",   "scalable_aligned_free",
};

static void *fa_real[FA_NFUNCS]; /* tbbmalloc's functions */
static pthread_once_t fa_once = PTHREAD_ONCE_INIT;

static atomic_long fa_calls[FA_NFUNCS]; /* calls libweft made, per function */
static atomic_long fa_live;             /* blocks allocated and not yet freed */
static atomic_long fa_countdown = -1;   /* allocations left before the failure; < 0: off */
static atomic_int fa_sticky;            /* 1: once failing, keep failing */
static atomic_int fa_failing;           /* a sticky failure is under way */
static atomic_long fa_injected;         /* failures injected since fa_arm */

static void fa_resolve(void)
{
    for (int i = 0; i < FA_NFUNCS; i++) {
        fa_real[i] = dlsym(RTLD_NEXT, fa_names[i]);
        if (!fa_real[i]) {
            fprintf(stderr, "test_alloc_faults: %s not found after the executable: %s\n", fa_names[i],
                    dlerror());
            abort();
        }
    }
}

static void *fa_fn(int i)
{
    pthread_once(&fa_once, fa_resolve);
    atomic_fetch_add_explicit(&fa_calls[i], 1, memory_order_relaxed);
    return fa_real[i];
}

/* Should the allocation being made fail? Any thread. */
static int fa_fail_now(void)
{
    if (atomic_load(&fa_failing)) {
        atomic_fetch_add(&fa_injected, 1);
        return 1;
    }
    if (atomic_load(&fa_countdown) < 0)
        return 0;
    if (atomic_fetch_sub(&fa_countdown, 1) != 0)
        return 0; /* not this one (or another thread took the failure) */
    if (atomic_load(&fa_sticky))
        atomic_store(&fa_failing, 1);
    atomic_fetch_add(&fa_injected, 1);
    return 1;
}

static void *fa_counted(void *p)
{
    if (p)
        atomic_fetch_add(&fa_live, 1);
    return p;
}

void *scalable_malloc(size_t size)
{
    void *(*real)(size_t) = (void *(*)(size_t))fa_fn(FA_MALLOC);
    return fa_fail_now() ? NULL : fa_counted(real(size));
}

void *scalable_calloc(size_t n, size_t size)
{
    void *(*real)(size_t, size_t) = (void *(*)(size_t, size_t))fa_fn(FA_CALLOC);
    return fa_fail_now() ? NULL : fa_counted(real(n, size));
}

void *scalable_realloc(void *p, size_t size)
{
    void *(*real)(void *, size_t) = (void *(*)(void *, size_t))fa_fn(FA_REALLOC);
    if (fa_fail_now())
        return NULL; /* p stays allocated, as after a real failure */
    void *q = real(p, size);
    if (!p)
        fa_counted(q);
    else if (q == NULL && size == 0)
        atomic_fetch_sub(&fa_live, 1); /* realloc(p, 0) frees (libweft never asks for it) */
    return q;
}

void *scalable_aligned_malloc(size_t size, size_t align)
{
    void *(*real)(size_t, size_t) = (void *(*)(size_t, size_t))fa_fn(FA_ALIGNED_MALLOC);
    return fa_fail_now() ? NULL : fa_counted(real(size, align));
}

void scalable_free(void *p)
{
    void (*real)(void *) = (void (*)(void *))fa_fn(FA_FREE);
    if (p)
        atomic_fetch_sub(&fa_live, 1);
    real(p);
}

void scalable_aligned_free(void *p)
{
    void (*real)(void *) = (void (*)(void *))fa_fn(FA_ALIGNED_FREE);
    if (p)
        atomic_fetch_sub(&fa_live, 1);
    real(p);
}

/* Arms the injector: the allocation after n successful ones fails, and with
 * sticky every one after it too, until fa_disarm. */
static void fa_arm(long n, int sticky)
{
    atomic_store(&fa_injected, 0);
    atomic_store(&fa_failing, 0);
    atomic_store(&fa_sticky, sticky);
    atomic_store(&fa_countdown, n);
}

/* Turns injection off; returns how many allocations failed since fa_arm. */
static long fa_disarm(void)
{
    atomic_store(&fa_countdown, -1);
    atomic_store(&fa_failing, 0);
    return atomic_load(&fa_injected);
}

static long fa_live_now(void) { return atomic_load(&fa_live); }

static const char *fa_mode(int sticky) { return sticky ? "sticky" : "once"; }

/* The end of an operation's loop: at least min runs had a fault injected
 * (both modes counted). With CK_VERBOSITY=verbose, says how many. */
static void fa_done(const char *what, long faults, long min)
{
    const char *v = getenv("CK_VERBOSITY");
    if (v && strcmp(v, "verbose") == 0)
        fprintf(stderr, "test_alloc_faults: %s: %ld runs with faults injected\n", what, faults);
    ck_assert_msg(faults >= min, "%s: only %ld runs had a fault injected", what, faults);
}

/* Asserts that rc is 0 or one of the codes an operation may give. */
#define FA_ASSERT_ONE_OF(rc, what, n, sticky, ...)                                                \
    do {                                                                                          \
        const int fa_ok_[] = {0, __VA_ARGS__};                                                    \
        int fa_hit_ = 0;                                                                          \
        for (size_t fa_i_ = 0; fa_i_ < sizeof fa_ok_ / sizeof fa_ok_[0]; fa_i_++)                 \
            fa_hit_ |= (rc) == fa_ok_[fa_i_];                                                     \
        ck_assert_msg(fa_hit_, "%s, fault %ld (%s): returned %d (%s)", what, (long)(n),           \
                      fa_mode(sticky), (rc), weft_err_name(rc));                                  \
    } while (0)

/* ck_assert_msg for loops over many nodes: Check reports every assertion
 * made to its parent process, so these assert only when they fail. */
#define FA_CHECK(cond, ...)                                                                       \
    do {                                                                                          \
        if (!(cond))                                                                              \
            ck_abort_msg(__VA_ARGS__);                                                            \
    } while (0)

/* A run's counts, asserting only on failure. */
static weft_run_counts_t fa_counts(const weft_run_t *run)
{
    weft_run_counts_t c;
    int rc = weft_run_counts(run, &c);
    FA_CHECK(rc == 0, "weft_run_counts = %d (%s)", rc, weft_err_name(rc));
    return c;
}

/* Asserts the live-block count is back to before, naming the fault. */
#define FA_ASSERT_NO_LEAK(live0, what, n, sticky)                                                 \
    ck_assert_msg(fa_live_now() == (live0), "%s, fault %ld (%s): %ld blocks leaked", what,        \
                  (long)(n), fa_mode(sticky), fa_live_now() - (live0))

/* ------------------------------------------------------------------ */
/* Text helpers (the test's own memory is glibc's, never counted)      */

typedef struct fa_text {
    char *s;
    size_t len;
} fa_text;

static FILE *fa_mem(fa_text *t)
{
    t->s = NULL;
    t->len = 0;
    FILE *f = open_memstream(&t->s, &t->len);
    ck_assert_ptr_nonnull(f);
    return f;
}

static void fa_text_free(fa_text *t)
{
    free(t->s);
    t->s = NULL;
    t->len = 0;
}

static int fa_text_eq(const fa_text *a, const fa_text *b)
{
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

static fa_text fa_read(const char *path)
{
    fa_text t;
    FILE *out = fa_mem(&t), *in = fopen(path, "rb");
    ck_assert_msg(in != NULL, "cannot open %s", path);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
    return t;
}

static FILE *fa_input(const fa_text *t)
{
    FILE *f = fmemopen(t->s, t->len, "r");
    ck_assert_ptr_nonnull(f);
    return f;
}

/* Writes obj with one of the writers into a text; returns the code. */
typedef int (*fa_writer)(const void *obj, const void *extra, FILE *out);

static int fa_write_save(const void *g, const void *extra, FILE *out)
{
    (void)extra;
    return weft_graph_save(g, out);
}

static int fa_write_dot(const void *g, const void *run, FILE *out)
{
    return weft_graph_dot(g, run, out);
}

static int fa_write_trace(const void *run, const void *extra, FILE *out)
{
    (void)extra;
    return weft_run_trace(run, out);
}

static int fa_write_run(const void *run, const void *extra, FILE *out)
{
    (void)extra;
    return weft_run_save(run, out);
}

static fa_text fa_written(fa_writer w, const void *obj, const void *extra)
{
    fa_text t;
    FILE *f = fa_mem(&t);
    int rc = w(obj, extra, f);
    fclose(f);
    ck_assert_msg(rc == 0, "writer returned %d (%s): %s", rc, weft_err_name(rc), weft_graph_error());
    return t;
}

/* ------------------------------------------------------------------ */
/* Named tasks                                                         */

/* Stores the node's name, NUL included, as its result; each input a
 * predecessor stored must be such a name (never half a result). */
static int fa_task(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    size_t n = weft_node_input_count(ctx);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *in = weft_node_input(ctx, i, &len);
        if (in && (len == 0 || in[len - 1] != 0))
            atomic_fetch_add(&wt_bad, 1);
    }
    const char *name = weft_node_name(ctx);
    return weft_node_set_result(ctx, name, strlen(name) + 1);
}

/* Fails with code 7. */
static int fa_fail7(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 7;
}

/* The tasks of the graph files in tests/data and of the graphs built here. */
static void fa_register_tasks(void)
{
    static const char *const names[] = {"parse",     "codegen",     "link",  "run-tests", "lint",
                                        "fetch",     "publish",     "count", "merge",     "print",
                                        "read-file", "split-lines", "work"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        WT_ASSERT_RC(weft_task_register(names[i], fa_task, NULL), 0);
    WT_ASSERT_RC(weft_task_register("fail7", fa_fail7, NULL), 0);
}

static weft_graph_t *fa_load_text(const fa_text *t)
{
    weft_graph_t *g = NULL;
    FILE *f = fa_input(t);
    int rc = weft_graph_load(f, &g);
    fclose(f);
    ck_assert_msg(rc == 0, "weft_graph_load = %d (%s): %s", rc, weft_err_name(rc), weft_graph_error());
    return g;
}

static weft_run_t *fa_load_run_text(weft_graph_t *g, const fa_text *t)
{
    weft_run_t *run = NULL;
    FILE *f = fa_input(t);
    int rc = weft_run_load(g, f, &run);
    fclose(f);
    ck_assert_msg(rc == 0, "weft_run_load = %d (%s): %s", rc, weft_err_name(rc), weft_graph_error());
    return run;
}

/* ------------------------------------------------------------------ */
/* The interposer itself                                               */

START_TEST(test_interposer_works)
{
    long live0 = fa_live_now();
    weft_graph_t *g = (weft_graph_t *)&wt_bad;
    fa_arm(0, 0);
    int rc = weft_graph_create("x", &g);
    long hits = fa_disarm();
    ck_assert_msg(rc == WEFT_ENOMEM, "weft_graph_create with its first allocation failing = %d (%s): "
                  "the allocator is not interposed", rc, weft_err_name(rc));
    ck_assert_int_eq(hits, 1);
    ck_assert_ptr_null(g);
    ck_assert_int_eq(fa_live_now(), live0);

    /* Every function libweft imports from tbbmalloc reaches the interposer:
     * building (calloc, malloc, realloc), running (aligned), freeing. */
    long before[FA_NFUNCS];
    for (int i = 0; i < FA_NFUNCS; i++)
        before[i] = atomic_load(&fa_calls[i]);
    fa_register_tasks();
    weft_runtime_t *rt = wt_runtime(2);
    g = wt_graph("g");
    weft_node_t a, b;
    WT_ASSERT_RC(weft_graph_add_task(g, "a", "work", "arg", 3, &a), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "b", "work", NULL, 0, &b), 0);
    WT_ASSERT_RC(weft_graph_precede(g, a, b), 0);
    weft_run_t *run;
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
    for (int i = 0; i < FA_NFUNCS; i++)
        ck_assert_msg(atomic_load(&fa_calls[i]) > before[i], "%s was never called through the interposer",
                      fa_names[i]);

    /* countdown 1: the first allocation succeeds, the second fails, and
     * the first block is freed again */
    long live1 = fa_live_now();
    fa_arm(1, 0);
    rc = weft_graph_create("x", &g);
    ck_assert_int_eq(fa_disarm(), 1);
    ck_assert_int_eq(rc, WEFT_ENOMEM);
    ck_assert_ptr_null(g);
    ck_assert_int_eq(fa_live_now(), live1);
}
END_TEST

/* The allocator functions libweft imports are exactly those interposed
 * here: a new one would bypass the injector (checked with nm when it is
 * installed). */
START_TEST(test_interposer_covers_imports)
{
    Dl_info info;
    ck_assert(dladdr((void *)weft_graph_create, &info) != 0 && info.dli_fname);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "nm -D --undefined-only '%s' 2>/dev/null", info.dli_fname);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char line[512];
    int found[FA_NFUNCS] = {0}, lines = 0;
    while (fgets(line, sizeof line, p)) {
        lines++;
        char *s = strstr(line, "scalable_");
        if (!s)
            continue;
        s[strcspn(s, "@ \n")] = 0;
        int known = 0;
        for (int i = 0; i < FA_NFUNCS; i++)
            if (strcmp(s, fa_names[i]) == 0)
                known = found[i] = 1;
        ck_assert_msg(known, "libweft imports %s, which this test does not interpose", s);
    }
    int st = pclose(p);
    if (lines == 0 || st != 0) {
        fprintf(stderr, "test_alloc_faults: nm not usable (%d): import list not checked\n", st);
        return;
    }
    for (int i = 0; i < FA_NFUNCS; i++)
        ck_assert_msg(found[i], "libweft no longer imports %s", fa_names[i]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Runtime                                                             */

static int fa_job(void *arg, void **result)
{
    (void)arg;
    *result = (void *)(intptr_t)42;
    return 0;
}

START_TEST(test_runtime_create_faults)
{
    long live0 = fa_live_now(), faults = 0;
    for (long n = 0;; n++) {
        int clean = 0;
        for (int sticky = 0; sticky < 2; sticky++) {
            weft_runtime_t *rt = (weft_runtime_t *)&wt_bad;
            fa_arm(n, sticky);
            int rc = weft_runtime_create(2, &rt);
            long hits = fa_disarm();
            clean |= hits == 0;
            FA_ASSERT_ONE_OF(rc, "weft_runtime_create", n, sticky, WEFT_ENOMEM);
            if (rc) {
                ck_assert_ptr_null(rt);
                FA_ASSERT_NO_LEAK(live0, "weft_runtime_create", n, sticky);
                rt = wt_runtime(2);
            }
            weft_job_t *job;
            void *result = NULL;
            WT_ASSERT_RC(weft_submit(rt, fa_job, NULL, NULL, &job), 0);
            WT_ASSERT_RC(weft_job_wait(job, NULL, &result), 0);
            ck_assert_ptr_eq(result, (void *)(intptr_t)42);
            WT_ASSERT_RC(weft_job_free(job), 0);
            wt_destroy(rt);
            FA_ASSERT_NO_LEAK(live0, "weft_runtime_create", n, sticky);
            faults += hits > 0;
        }
        if (clean)
            break;
        ck_assert_int_lt(n, FA_MAX_STEPS);
    }
    fa_done("weft_runtime_create", faults, 3);
}
END_TEST

/* The runtime's helpers on a runtime of their own per fault: a job, a
 * parallel loop, a reduction, groups and statistics give exactly their
 * results or WEFT_ENOMEM (loops and reductions that cannot fork run the
 * rest of their range serially), and the runtime works on. */
enum { FA_RANGE = 20000 };

static int fa_range(void *ctx, int64_t begin, int64_t end)
{
    atomic_int *seen = ctx;
    for (int64_t i = begin; i < end; i++)
        atomic_fetch_add(&seen[i], 1);
    return 0;
}

static int fa_count(void *arg, void **result)
{
    (void)result;
    atomic_fetch_add((atomic_int *)arg, 1);
    return 0;
}

START_TEST(test_runtime_helpers_faults)
{
    enum { SUBMIT, PARALLEL_FOR, REDUCE, GROUP, NAMED_GROUP, STATS, NOPS };
    static const char *const what[NOPS] = {"weft_submit", "weft_parallel_for", "weft_reduce_int64",
                                           "weft_group_create and weft_spawn", "weft_group_named",
                                           "weft_stats_get"};
    static atomic_int seen[FA_RANGE];
    static int64_t data[FA_RANGE];
    for (int i = 0; i < FA_RANGE; i++)
        data[i] = i * 3 - 7;
    const int64_t sum = (int64_t)FA_RANGE * (FA_RANGE - 1) / 2 * 3 - 7 * (int64_t)FA_RANGE;
    long live0 = fa_live_now();
    for (int op = 0; op < NOPS; op++) {
        long faults = 0;
        for (long n = 0;; n++) {
            int clean = 0;
            for (int sticky = 0; sticky < 2; sticky++) {
                weft_runtime_t *rt = wt_runtime(2);
                long hits = 0;
                int rc = 0;
                switch (op) {
                case SUBMIT: {
                    weft_job_t *job = (weft_job_t *)&wt_bad;
                    fa_arm(n, sticky);
                    rc = weft_submit(rt, fa_job, NULL, NULL, &job);
                    hits = fa_disarm();
                    if (rc) {
                        ck_assert_ptr_null(job);
                        break;
                    }
                    void *result = NULL;
                    WT_ASSERT_RC(weft_job_wait(job, NULL, &result), 0);
                    ck_assert_ptr_eq(result, (void *)(intptr_t)42);
                    WT_ASSERT_RC(weft_job_free(job), 0);
                    break;
                }
                case PARALLEL_FOR: {
                    for (int i = 0; i < FA_RANGE; i++)
                        atomic_store(&seen[i], 0);
                    fa_arm(n, sticky);
                    rc = weft_parallel_for(rt, 0, FA_RANGE, 64, fa_range, seen);
                    hits = fa_disarm();
                    int wrong = 0;
                    for (int i = 0; i < FA_RANGE; i++)
                        wrong += wt_ld(&seen[i]) != (rc ? 0 : 1);
                    ck_assert_msg(wrong == 0, "fault %ld (%s): %d indices ran not %s", n, fa_mode(sticky),
                                  wrong, rc ? "never" : "once");
                    break;
                }
                case REDUCE: {
                    int64_t r = 12345;
                    fa_arm(n, sticky);
                    rc = weft_reduce_int64(rt, data, FA_RANGE, WEFT_OP_SUM, &r);
                    hits = fa_disarm();
                    ck_assert_int_eq(r, rc ? 12345 : sum);
                    break;
                }
                case GROUP: {
                    weft_group_t *grp = (weft_group_t *)&wt_bad;
                    atomic_int ran = 0;
                    int spawned = 0;
                    fa_arm(n, sticky);
                    rc = weft_group_create(rt, "grp", &grp);
                    if (rc == 0)
                        for (int i = 0; i < 50; i++) {
                            int src = weft_spawn(grp, fa_count, &ran);
                            FA_CHECK(src == 0 || src == WEFT_ENOMEM, "weft_spawn, fault %ld (%s): %d",
                                     n, fa_mode(sticky), src);
                            spawned += src == 0;
                        }
                    hits = fa_disarm();
                    if (rc) {
                        ck_assert_ptr_null(grp);
                        break;
                    }
                    WT_ASSERT_RC(weft_group_wait(grp), 0);
                    ck_assert_int_eq(wt_ld(&ran), spawned);
                    ck_assert_str_eq(weft_group_name(grp), "grp");
                    WT_ASSERT_RC(weft_group_free(grp), 0);
                    break;
                }
                case NAMED_GROUP: {
                    weft_group_t *grp = (weft_group_t *)&wt_bad;
                    fa_arm(n, sticky);
                    rc = weft_group_named(rt, "named", &grp);
                    hits = fa_disarm();
                    if (rc) {
                        ck_assert_ptr_null(grp);
                        WT_ASSERT_RC(weft_group_named(rt, "named", &grp), 0);
                    }
                    atomic_int ran = 0;
                    WT_ASSERT_RC(weft_spawn(grp, fa_count, &ran), 0);
                    WT_ASSERT_RC(weft_group_wait(grp), 0);
                    ck_assert_int_eq(wt_ld(&ran), 1);
                    break;
                }
                case STATS: {
                    weft_stats_t st;
                    fa_arm(n, sticky);
                    rc = weft_stats_get(rt, &st);
                    hits = fa_disarm();
                    if (rc) {
                        ck_assert_ptr_null(st.workers);
                        break;
                    }
                    ck_assert_int_eq(st.nworkers, 2);
                    weft_stats_release(&st);
                    break;
                }
                }
                FA_ASSERT_ONE_OF(rc, what[op], n, sticky, WEFT_ENOMEM);
                clean |= hits == 0;
                faults += hits > 0;
                /* the runtime works on */
                void *result = NULL;
                weft_job_t *job;
                WT_ASSERT_RC(weft_submit(rt, fa_job, NULL, NULL, &job), 0);
                WT_ASSERT_RC(weft_job_wait(job, NULL, &result), 0);
                ck_assert_ptr_eq(result, (void *)(intptr_t)42);
                WT_ASSERT_RC(weft_job_free(job), 0);
                wt_destroy(rt);
                FA_ASSERT_NO_LEAK(live0, what[op], n, sticky);
            }
            if (clean)
                break;
            ck_assert_int_lt(n, FA_MAX_STEPS);
        }
        fa_done(what[op], faults, 1);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Task registry                                                       */

START_TEST(test_registry_faults)
{
    enum { K = 40 }; /* past the first table's load limit: the table grows */
    long faults = 0;
    for (long n = 0;; n++) {
        int clean = 0;
        for (int sticky = 0; sticky < 2; sticky++) {
            long hits = 0;
            char name[64];
            fa_arm(n, sticky);
            for (int i = 0; i < K; i++) {
                snprintf(name, sizeof name, "task-%ld-%d-%d", n, sticky, i);
                int rc = weft_task_register(name, fa_task, (void *)(intptr_t)i);
                FA_ASSERT_ONE_OF(rc, "weft_task_register", n, sticky, WEFT_ENOMEM);
                if (rc) { /* not registered: register it without faults */
                    hits += fa_disarm();
                    WT_ASSERT_RC(weft_task_lookup(name, NULL, NULL), WEFT_ENOENT);
                    WT_ASSERT_RC(weft_task_register(name, fa_task, (void *)(intptr_t)i), 0);
                }
            }
            hits += fa_disarm();
            clean |= hits == 0;
            faults += hits > 0;
            /* every name of this round and of all earlier rounds is there */
            int wrong = 0;
            for (long m = 0; m <= n; m++)
                for (int s = 0; s <= (m == n ? sticky : 1); s++)
                    for (int i = 0; i < K; i++) {
                        weft_node_fn fn = NULL;
                        void *arg = NULL;
                        snprintf(name, sizeof name, "task-%ld-%d-%d", m, s, i);
                        wrong += weft_task_lookup(name, &fn, &arg) != 0 || fn != fa_task ||
                                 arg != (void *)(intptr_t)i;
                    }
            ck_assert_msg(wrong == 0, "fault %ld (%s): %d names lost or wrong", n, fa_mode(sticky), wrong);
            /* replacing allocates nothing and still works */
            snprintf(name, sizeof name, "task-%ld-%d-0", n, sticky);
            for (int k = 0; k < 2; k++) {
                fa_arm(0, 1);
                int rc = weft_task_register(name, k ? fa_task : fa_fail7, NULL);
                ck_assert_int_eq(fa_disarm(), 0);
                ck_assert_int_eq(rc, 0);
                weft_node_fn fn = NULL;
                WT_ASSERT_RC(weft_task_lookup(name, &fn, NULL), 0);
                ck_assert(fn == (k ? fa_task : fa_fail7));
            }
        }
        if (clean)
            break;
        ck_assert_int_lt(n, FA_MAX_STEPS);
    }
    fa_done("weft_task_register", faults, K);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Building graphs                                                     */

/* Each building call of the script, under injection: a call that fails
 * must fail with WEFT_ENOMEM, leave the node and edge counts as they were
 * and its node output WEFT_NODE_NONE; it is then made again with injection
 * off. (A failed call may leave an array of the graph with more room than
 * before, so leaks are counted once the graphs are freed.) */
typedef struct fa_build {
    long n;
    int sticky;
    long hits;
    weft_node_t v; /* the last node added */
} fa_build;

static void fa_step_check(fa_build *b, int rc, weft_graph_t *g, size_t nodes, size_t edges,
                          const char *call)
{
    FA_ASSERT_ONE_OF(rc, call, b->n, b->sticky, WEFT_ENOMEM);
    if (rc == 0)
        return;
    b->hits += fa_disarm();
    ck_assert_uint_eq(weft_graph_node_count(g), nodes);
    ck_assert_uint_eq(weft_graph_edge_count(g), edges);
}

#define FA_STEP(b, g, call, sets_node)                                                            \
    do {                                                                                          \
        size_t fa_n0_ = weft_graph_node_count(g), fa_e0_ = weft_graph_edge_count(g);              \
        (b)->v = 12345;                                                                           \
        int fa_rc_ = (call);                                                                      \
        fa_step_check(b, fa_rc_, g, fa_n0_, fa_e0_, #call);                                       \
        if (fa_rc_) {                                                                             \
            if (sets_node)                                                                        \
                ck_assert_uint_eq((b)->v, WEFT_NODE_NONE);                                        \
            WT_ASSERT_RC((call), 0);                                                              \
        }                                                                                         \
    } while (0)

static weft_graph_t *fa_create(fa_build *b, const char *name)
{
    weft_graph_t *g = (weft_graph_t *)&wt_bad;
    long live0 = fa_live_now();
    int rc = weft_graph_create(name, &g);
    FA_ASSERT_ONE_OF(rc, "weft_graph_create", b->n, b->sticky, WEFT_ENOMEM);
    if (rc) {
        b->hits += fa_disarm();
        ck_assert_ptr_null(g);
        FA_ASSERT_NO_LEAK(live0, "weft_graph_create", b->n, b->sticky);
        g = wt_graph(name);
    }
    return g;
}

/* Builds a graph 'top' of 40 named-task nodes, two subgraph nodes sharing
 * 'inner' (30 nodes, long names and argument bytes, so that every array
 * and the name arena grow several times) and 130 edges; *inner gets the
 * subgraph. */
static weft_graph_t *fa_build_graphs(fa_build *b, weft_graph_t **inner)
{
    char name[400], arg[64];
    weft_graph_t *in = fa_create(b, "inner");
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof name, "inner node %d %0*d", i, 20 * (i % 10), i); /* up to 200 bytes */
        snprintf(arg, sizeof arg, "arg\n%d", i);
        FA_STEP(b, in, weft_graph_add_task(in, name, i % 3 ? "work" : "parse", arg, strlen(arg), &b->v), 1);
        ck_assert_uint_eq(b->v, (weft_node_t)i);
    }
    for (int i = 0; i + 1 < 30; i++)
        FA_STEP(b, in, weft_graph_precede(in, (weft_node_t)i, (weft_node_t)(i + 1)), 0);
    for (int i = 0; i + 5 < 30; i += 3)
        FA_STEP(b, in, weft_graph_succeed(in, (weft_node_t)(i + 5), (weft_node_t)i), 0);

    weft_graph_t *g = fa_create(b, "top");
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "t%d", i);
        FA_STEP(b, g, weft_graph_add_task(g, name, "work", NULL, 0, &b->v), 1);
    }
    FA_STEP(b, g, weft_graph_add_subgraph(g, "sub one", in, &b->v), 1);
    weft_node_t s1 = b->v;
    FA_STEP(b, g, weft_graph_add_subgraph(g, NULL, in, &b->v), 1); /* called after its graph */
    weft_node_t s2 = b->v;
    FA_STEP(b, g, weft_graph_set_arg(g, s1, "sub-arg", 7), 0);
    FA_STEP(b, g, weft_graph_set_arg(g, 3, "\x00\x01\x02\xff", 4), 0); /* replaces none */
    FA_STEP(b, g, weft_graph_set_arg(g, 3, "again", 5), 0);            /* replaces bytes */
    for (int i = 0; i + 1 < 40; i++) {
        FA_STEP(b, g, weft_graph_precede(g, (weft_node_t)i, (weft_node_t)(i + 1)), 0);
        FA_STEP(b, g, weft_graph_precede(g, (weft_node_t)i, (weft_node_t)(i + 1)), 0); /* duplicate */
    }
    FA_STEP(b, g, weft_graph_precede(g, 39, s1), 0);
    FA_STEP(b, g, weft_graph_precede(g, s1, s2), 0);
    *inner = in;
    return g;
}

START_TEST(test_build_faults)
{
    fa_register_tasks();
    long live0 = fa_live_now();
    fa_build b0 = {.n = -1};
    weft_graph_t *inner, *g = fa_build_graphs(&b0, &inner);
    fa_text want = fa_written(fa_write_save, g, NULL);
    wt_graph_free(g);
    wt_graph_free(inner);
    ck_assert_int_eq(fa_live_now(), live0);

    long faults = 0;
    for (long n = 0;; n++) {
        int clean = 0;
        for (int sticky = 0; sticky < 2; sticky++) {
            fa_build b = {.n = n, .sticky = sticky};
            fa_arm(n, sticky);
            g = fa_build_graphs(&b, &inner);
            b.hits += fa_disarm();
            clean |= b.hits == 0;
            faults += b.hits > 0;
            fa_text got = fa_written(fa_write_save, g, NULL);
            ck_assert_msg(fa_text_eq(&got, &want), "fault %ld (%s): the graph built differs:\n%s", n,
                          fa_mode(sticky), got.s);
            fa_text_free(&got);
            /* it runs, and so does its subgraph on its own (on a runtime
             * of its own: a runtime keeps blocks for reuse until it goes) */
            weft_runtime_t *rt = wt_runtime(2);
            weft_run_t *run;
            WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
            ck_assert_uint_eq(wt_counts(run).done, 42);
            wt_run_free(run);
            WT_ASSERT_RC(weft_graph_run(inner, rt, NULL, NULL), 0);
            wt_destroy(rt);
            wt_graph_free(g);
            wt_graph_free(inner);
            FA_ASSERT_NO_LEAK(live0, "building", n, sticky);
        }
        if (clean)
            break;
        ck_assert_int_lt(n, FA_MAX_STEPS);
    }
    fa_done("building graphs", faults, 100);
    ck_assert_int_eq(wt_ld(&wt_bad), 0);
    fa_text_free(&want);
}
END_TEST

/* A change that fails leaves the graph as it was: run records made before
 * it are not stale, and the graph runs as before. */
START_TEST(test_failed_change_keeps_runs)
{
    fa_register_tasks();
    long live_start = fa_live_now();
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("g"), *sub = wt_graph("sub");
    WT_ASSERT_RC(weft_graph_add_task(sub, "s", "work", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "a", "work", NULL, 0, NULL), 0);
    enum { ADD, ADD_TASK, ADD_SUBGRAPH, SET_ARG, PRECEDE, NOPS };
    static const char *const what[NOPS] = {"weft_graph_add", "weft_graph_add_task",
                                           "weft_graph_add_subgraph", "weft_graph_set_arg",
                                           "weft_graph_precede"};
    for (int op = 0; op < NOPS; op++) {
        long faults = 0;
        for (long n = 0;; n++) {
            int clean = 0;
            for (int sticky = 0; sticky < 2; sticky++) {
                weft_run_t *run;
                WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
                size_t nodes = weft_graph_node_count(g), edges = weft_graph_edge_count(g);
                weft_node_t v = 12345;
                char name[32];
                snprintf(name, sizeof name, "op%d-%ld-%d", op, n, sticky);
                fa_arm(n, sticky);
                int rc = 0;
                switch (op) {
                case ADD: rc = weft_graph_add(g, name, fa_task, NULL, &v); break;
                case ADD_TASK: rc = weft_graph_add_task(g, name, "work", "xy", 2, &v); break;
                case ADD_SUBGRAPH: rc = weft_graph_add_subgraph(g, name, sub, &v); break;
                case SET_ARG: rc = weft_graph_set_arg(g, (weft_node_t)(n % nodes), name, strlen(name)); break;
                case PRECEDE: rc = weft_graph_precede(g, 0, (weft_node_t)(nodes - 1)); break;
                }
                long hits = fa_disarm();
                clean |= hits == 0;
                faults += hits > 0;
                FA_ASSERT_ONE_OF(rc, what[op], n, sticky, WEFT_ENOMEM);
                if (rc) {
                    ck_assert_msg(weft_run_counts(run, &(weft_run_counts_t){0}) == 0,
                                  "%s, fault %ld (%s): failed, yet the graph's run records went stale",
                                  what[op], n, fa_mode(sticky));
                    ck_assert_uint_eq(weft_graph_node_count(g), nodes);
                    ck_assert_uint_eq(weft_graph_edge_count(g), edges);
                    if (op <= ADD_SUBGRAPH) {
                        ck_assert_uint_eq(v, WEFT_NODE_NONE);
                        WT_ASSERT_RC(weft_graph_find(g, name, &v), WEFT_ENOENT);
                    }
                } else {
                    WT_ASSERT_RC(weft_run_counts(run, &(weft_run_counts_t){0}), WEFT_ESTALE);
                }
                wt_run_free(run);
                WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
                ck_assert_uint_eq(wt_counts(run).done, weft_graph_node_count(g));
                wt_run_free(run);
            }
            if (clean)
                break;
            ck_assert_int_lt(n, FA_MAX_STEPS);
        }
        fa_done(what[op], faults, 1);
    }
    wt_graph_free(g);
    wt_graph_free(sub);
    wt_destroy(rt);
    ck_assert_int_eq(fa_live_now(), live_start);
}
END_TEST

/* Checking (compiling) a graph: 0 or WEFT_ECYCLE as without faults. */
START_TEST(test_check_faults)
{
    long live0 = fa_live_now();
    for (int cyclic = 0; cyclic < 2; cyclic++) {
        long faults = 0;
        for (long n = 0;; n++) {
            int clean = 0;
            for (int sticky = 0; sticky < 2; sticky++) {
                weft_graph_t *g = wt_graph("g");
                for (int i = 0; i < 50; i++)
                    WT_ASSERT_RC(weft_graph_add(g, NULL, fa_task, NULL, NULL), 0);
                for (int i = 0; i + 1 < 50; i++)
                    WT_ASSERT_RC(weft_graph_precede(g, (weft_node_t)i, (weft_node_t)(i + 1)), 0);
                if (cyclic)
                    WT_ASSERT_RC(weft_graph_precede(g, 49, 20), 0);
                weft_node_t v = 12345;
                fa_arm(n, sticky);
                int rc = weft_graph_check(g, &v);
                long hits = fa_disarm();
                clean |= hits == 0;
                faults += hits > 0;
                int want = cyclic ? WEFT_ECYCLE : 0;
                if (!hits)
                    WT_ASSERT_RC(rc, want);
                FA_ASSERT_ONE_OF(rc, "weft_graph_check", n, sticky, want, WEFT_ENOMEM);
                if (rc == WEFT_ENOMEM)
                    ck_assert_uint_eq(v, WEFT_NODE_NONE);
                WT_ASSERT_RC(weft_graph_check(g, &v), want);
                if (cyclic)
                    ck_assert(v >= 20 && v < 50);
                wt_graph_free(g);
                FA_ASSERT_NO_LEAK(live0, "weft_graph_check", n, sticky);
            }
            if (clean)
                break;
            ck_assert_int_lt(n, FA_MAX_STEPS);
        }
        fa_done(cyclic ? "weft_graph_check (cycle)" : "weft_graph_check", faults, 4);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Graph files                                                         */

/* A graph file that makes every loader and saver structure grow: 23
 * blocks (one used before its definition, one shared, one unused, twenty
 * nested in a chain and all called 'same', so that saving must number
 * their blocks), 40 nodes per graph, long names and arguments, edge lines
 * naming 20 nodes. */
static fa_text fa_big_graph_file(void)
{
    fa_text t;
    FILE *f = fa_mem(&t);
    fputs("weft-graph 1\nname big\n", f);
    fputs("graph leaf\n  name \"leaf graph\"\n", f);
    for (int i = 0; i < 40; i++)
        fprintf(f, "  node \"leaf %d %0*d\" work x\"%02x%02x\"\n", i, 10 * (i % 40), i, i, 255 - i);
    fputs("  edge", f);
    for (int i = 0; i < 20; i++)
        fprintf(f, " \"leaf %d %0*d\"", i, 10 * (i % 40), i);
    fputs("\nend\n", f);
    for (int i = 0; i < 40; i++)
        fprintf(f, "%s %c%d %s\n", i % 10 == 3 ? "subgraph" : "node", 'n', i,
                i % 10 == 3 ? (i % 20 == 3 ? "leaf" : "mid") : "count \"w\"");
    fputs("edge", f);
    for (int i = 0; i < 40; i += 2)
        fprintf(f, " n%d", i);
    fputs("\ngraph mid\n  subgraph a leaf\n  node b merge\n  subgraph c leaf \"c-arg\"\n  edge a b c\nend\n", f);
    fputs("graph unused\n  node x print\nend\n", f);
    for (int i = 0; i < 20; i++) {
        fprintf(f, "graph b%d\n  name same\n  node x%d work\n", i, i);
        if (i < 19)
            fprintf(f, "  subgraph inner b%d\n  edge x%d inner\n", i + 1, i);
        fputs("end\n", f);
    }
    fputs("subgraph deep b0\nedge n38 deep\n", f);
    fclose(f);
    return t;
}

static void fa_check_graph_load(const fa_text *file, int want, const char *what)
{
    long live0 = fa_live_now(), faults = 0;
    fa_text saved = {0};
    if (want == 0) {
        weft_graph_t *g = fa_load_text(file);
        saved = fa_written(fa_write_save, g, NULL);
        wt_graph_free(g);
    }
    /* both forms: from a stream, and from memory (weft_graph_load_buf) */
    for (int mem = 0; mem < 2; mem++)
    for (long n = 0;; n++) {
        int clean = 0;
        for (int sticky = 0; sticky < 2; sticky++) {
            weft_graph_t *g = (weft_graph_t *)&wt_bad;
            FILE *f = mem ? NULL : fa_input(file);
            fa_arm(n, sticky);
            int rc = mem ? weft_graph_load_buf(file->s, file->len, &g) : weft_graph_load(f, &g);
            long hits = fa_disarm();
            if (f) fclose(f);
            clean |= hits == 0;
            faults += hits > 0;
            if (!hits)
                ck_assert_msg(rc == want, "%s: %d (%s): %s", what, rc, weft_err_name(rc), weft_graph_error());
            FA_ASSERT_ONE_OF(rc, what, n, sticky, want, WEFT_ENOMEM);
            if (rc) {
                ck_assert_ptr_null(g);
                FA_ASSERT_NO_LEAK(live0, what, n, sticky);
                if (rc == WEFT_ENOMEM)
                    ck_assert_msg(strstr(weft_graph_error(), ": out of memory") != NULL,
                                  "%s, fault %ld: message '%s'", what, n, weft_graph_error());
                continue;
            }
            fa_text got = fa_written(fa_write_save, g, NULL);
            ck_assert_msg(fa_text_eq(&got, &saved), "%s, fault %ld (%s): loaded a different graph:\n%s",
                          what, n, fa_mode(sticky), got.s);
            fa_text_free(&got);
            wt_graph_free(g);
            FA_ASSERT_NO_LEAK(live0, what, n, sticky);
        }
        if (clean)
            break;
        ck_assert_int_lt(n, FA_MAX_STEPS);
    }
    fa_done(what, faults, 4);
    fa_text_free(&saved);
}

START_TEST(test_graph_load_faults)
{
    static const struct {
        const char *file;
        int want;
    } files[] = {{"nested.wg", 0}, {"pipeline.wg", 0}, {"bad_edge.wg", WEFT_EPARSE}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", WEFT_TEST_DATA_DIR, files[i].file);
        fa_text t = fa_read(path);
        fa_check_graph_load(&t, files[i].want, files[i].file);
        fa_text_free(&t);
    }
    fa_text big = fa_big_graph_file();
    fa_check_graph_load(&big, 0, "generated graph file");
    fa_text_free(&big);
    /* parse errors found after blocks were made: every block graph goes */
    static const char *const bad[] = {
        "weft-graph 1\ngraph a\n node x work\nend\nsubgraph s a\nsubgraph t b\n",
        "weft-graph 1\ngraph a\n subgraph s b\nend\ngraph b\n subgraph t a\nend\n",
        "weft-graph 1\nsubgraph s a\ngraph a\n node x work\n edge x y\nend\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fa_text t = {(char *)bad[i], strlen(bad[i])};
        char what[32];
        snprintf(what, sizeof what, "malformed graph file %zu", i);
        fa_check_graph_load(&t, WEFT_EPARSE, what);
    }
}
END_TEST

START_TEST(test_graph_load_file_faults)
{
    long live0 = fa_live_now(), faults = 0;
    for (long n = 0;; n++) {
        int clean = 0;
        for (int sticky = 0; sticky < 2; sticky++) {
            weft_graph_t *g = (weft_graph_t *)&wt_bad;
            fa_arm(n, sticky);
            int rc = weft_graph_load_file(WEFT_TEST_DATA_DIR "/nested.wg", &g);
            long hits = fa_disarm();
            clean |= hits == 0;
            faults += hits > 0;
            FA_ASSERT_ONE_OF(rc, "weft_graph_load_file", n, sticky, WEFT_ENOMEM);
            if (rc) {
                ck_assert_ptr_null(g);
            } else {
                ck_assert_uint_eq(weft_graph_node_count(g), 4);
                wt_graph_free(g);
            }
            FA_ASSERT_NO_LEAK(live0, "weft_graph_load_file", n, sticky);
        }
        if (clean)
            break;
        ck_assert_int_lt(n, FA_MAX_STEPS);
    }
    fa_done("weft_graph_load_file", faults, 4);
}
END_TEST

START_TEST(test_graph_save_faults)
{
    fa_text big = fa_big_graph_file();
    weft_graph_t *graphs[2] = {NULL, NULL};
    WT_ASSERT_RC(weft_graph_load_file(WEFT_TEST_DATA_DIR "/nested.wg", &graphs[0]), 0);
    graphs[1] = fa_load_text(&big);
    char path[] = "/tmp/weft-alloc-faults-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    for (int k = 0; k < 2; k++) {
        weft_graph_t *g = graphs[k];
        fa_text want = fa_written(fa_write_save, g, NULL);
        long live0 = fa_live_now(), faults = 0;
        for (long n = 0;; n++) {
            int clean = 0;
            for (int sticky = 0; sticky < 2; sticky++) {
                fa_text got;
                FILE *f = fa_mem(&got);
                fa_arm(n, sticky);
                int rc = weft_graph_save(g, f);
                long hits = fa_disarm();
                fclose(f);
                clean |= hits == 0;
                faults += hits > 0;
                FA_ASSERT_ONE_OF(rc, "weft_graph_save", n, sticky, WEFT_ENOMEM);
                FA_ASSERT_NO_LEAK(live0, "weft_graph_save", n, sticky);
                if (rc) { /* planned before writing: nothing written */
                    ck_assert_uint_eq(got.len, 0);
                    ck_assert_str_eq(weft_graph_error(), "out of memory");
                } else {
                    ck_assert_msg(fa_text_eq(&got, &want), "fault %ld (%s): saved differently", n,
                                  fa_mode(sticky));
                }
                fa_text_free(&got);

                /* to a file: on failure the file is not touched */
                unlink(path);
                fa_arm(n, sticky);
                rc = weft_graph_save_file(g, path);
                fa_disarm();
                FA_ASSERT_ONE_OF(rc, "weft_graph_save_file", n, sticky, WEFT_ENOMEM);
                FA_ASSERT_NO_LEAK(live0, "weft_graph_save_file", n, sticky);
                if (rc) {
                    ck_assert_int_ne(access(path, F_OK), 0);
                } else {
                    fa_text file = fa_read(path);
                    ck_assert(fa_text_eq(&file, &want));
                    fa_text_free(&file);
                }
            }
            if (clean)
                break;
            ck_assert_int_lt(n, FA_MAX_STEPS);
        }
        fa_done(k ? "weft_graph_save (generated graph)" : "weft_graph_save (nested.wg)", faults, 4);
        fa_text_free(&want);
    }
    unlink(path);
    wt_graph_free(graphs[0]);
    wt_graph_free(graphs[1]);
    fa_text_free(&big);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Run files                                                           */

/* weft_run_load of file (a run file of g) under every fault; runfile names
 * it in messages. */
static void fa_check_run_load(weft_graph_t *g, const fa_text *text, const char *runfile, int want)
{
    const fa_text file = *text;
    fa_text saved = {0}, dot = {0}, trace = {0};
    if (want == 0) {
        weft_run_t *run = fa_load_run_text(g, &file);
        saved = fa_written(fa_write_run, run, NULL);
        dot = fa_written(fa_write_dot, g, run);
        trace = fa_written(fa_write_trace, run, NULL);
        wt_run_free(run);
    }
    long live0 = fa_live_now(), faults = 0;
    /* both forms: from a stream, and from memory (weft_run_load_buf) */
    for (int mem = 0; mem < 2; mem++)
    for (long n = 0;; n++) {
        int clean = 0;
        for (int sticky = 0; sticky < 2; sticky++) {
            weft_run_t *run = (weft_run_t *)&wt_bad;
            FILE *f = mem ? NULL : fa_input(&file);
            fa_arm(n, sticky);
            int rc = mem ? weft_run_load_buf(g, file.s, file.len, &run) : weft_run_load(g, f, &run);
            long hits = fa_disarm();
            if (f) fclose(f);
            clean |= hits == 0;
            faults += hits > 0;
            if (!hits)
                ck_assert_msg(rc == want, "%s: %d (%s): %s", runfile, rc, weft_err_name(rc), weft_graph_error());
            FA_ASSERT_ONE_OF(rc, runfile, n, sticky, want, WEFT_ENOMEM);
            if (rc) {
                ck_assert_ptr_null(run);
                FA_ASSERT_NO_LEAK(live0, runfile, n, sticky);
                if (rc == WEFT_ENOMEM)
                    ck_assert_msg(strstr(weft_graph_error(), ": out of memory") != NULL,
                                  "%s, fault %ld: message '%s'", runfile, n, weft_graph_error());
                continue;
            }
            fa_text got = fa_written(fa_write_run, run, NULL);
            ck_assert_msg(fa_text_eq(&got, &saved), "%s, fault %ld (%s): loaded a different run:\n%s",
                          runfile, n, fa_mode(sticky), got.s);
            fa_text_free(&got);
            got = fa_written(fa_write_dot, g, run);
            ck_assert(fa_text_eq(&got, &dot));
            fa_text_free(&got);
            got = fa_written(fa_write_trace, run, NULL);
            ck_assert(fa_text_eq(&got, &trace));
            fa_text_free(&got);
            wt_run_free(run);
            FA_ASSERT_NO_LEAK(live0, runfile, n, sticky);
        }
        if (clean)
            break;
        ck_assert_int_lt(n, FA_MAX_STEPS);
    }
    fa_done(runfile, faults, 4);
    fa_text_free(&saved);
    fa_text_free(&dot);
    fa_text_free(&trace);
}

START_TEST(test_run_load_faults)
{
    static const struct {
        const char *wg, *run;
        int want;
    } files[] = {{"nested.wg", "nested.run", 0},
                 {"pipeline.wg", "pipeline.run", 0},
                 {"cluster.wg", "cluster.run", 0}, /* machines and origins */
                 {"pipeline.wg", "bad_node.run", WEFT_EPARSE}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        weft_graph_t *g;
        snprintf(path, sizeof path, "%s/%s", WEFT_TEST_DATA_DIR, files[i].wg);
        WT_ASSERT_RC(weft_graph_load_file(path, &g), 0);
        snprintf(path, sizeof path, "%s/%s", WEFT_TEST_DATA_DIR, files[i].run);
        fa_text file = fa_read(path);
        fa_check_run_load(g, &file, files[i].run, files[i].want);
        wt_graph_free(g); /* no run record was left behind: the graph can be freed */
        fa_text_free(&file);
    }

    /* a recorded run of the generated graph: 40 node lines per run, sub-runs
     * nested 21 deep (the loader's stack grows) */
    fa_register_tasks();
    fa_text big = fa_big_graph_file();
    weft_graph_t *g = fa_load_text(&big);
    weft_runtime_t *rt = wt_runtime(2);
    weft_run_t *run;
    WT_ASSERT_RC(weft_graph_run(g, rt, &(weft_run_opts_t){.record = 1}, &run), 0);
    wt_destroy(rt);
    fa_text file = fa_written(fa_write_run, run, NULL);
    wt_run_free(run);
    fa_check_run_load(g, &file, "run file of the generated graph", 0);
    wt_graph_free(g);
    fa_text_free(&file);
    fa_text_free(&big);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Dot and trace                                                       */

/* A writer under every fault: 0 with exactly the text written without
 * faults, or WEFT_ENOMEM. */
static void fa_check_writer(fa_writer w, const void *obj, const void *extra, const char *what)
{
    fa_text want = fa_written(w, obj, extra);
    long live0 = fa_live_now(), faults = 0;
    for (long n = 0;; n++) {
        int clean = 0;
        for (int sticky = 0; sticky < 2; sticky++) {
            fa_text got;
            FILE *f = fa_mem(&got);
            fa_arm(n, sticky);
            int rc = w(obj, extra, f);
            long hits = fa_disarm();
            fclose(f);
            clean |= hits == 0;
            faults += hits > 0;
            FA_ASSERT_ONE_OF(rc, what, n, sticky, WEFT_ENOMEM);
            FA_ASSERT_NO_LEAK(live0, what, n, sticky);
            if (rc == 0)
                ck_assert_msg(fa_text_eq(&got, &want), "%s, fault %ld (%s): wrote a different text:\n%s",
                              what, n, fa_mode(sticky), got.s);
            fa_text_free(&got);
        }
        if (clean)
            break;
        ck_assert_int_lt(n, FA_MAX_STEPS);
    }
    fa_done(what, faults, 0); /* traces and run files allocate nothing */
    fa_text_free(&want);
}

START_TEST(test_dot_trace_faults)
{
    weft_graph_t *g;
    WT_ASSERT_RC(weft_graph_load_file(WEFT_TEST_DATA_DIR "/nested.wg", &g), 0);
    fa_text file = fa_read(WEFT_TEST_DATA_DIR "/nested.run");
    weft_run_t *run = fa_load_run_text(g, &file);
    fa_check_writer(fa_write_dot, g, NULL, "weft_graph_dot");
    fa_check_writer(fa_write_dot, g, run, "weft_graph_dot with a run");
    fa_check_writer(fa_write_trace, run, NULL, "weft_run_trace");
    fa_check_writer(fa_write_run, run, NULL, "weft_run_save");
    wt_run_free(run);
    wt_graph_free(g);
    fa_text_free(&file);

    /* a run on several machines: the writers gather its machines */
    WT_ASSERT_RC(weft_graph_load_file(WEFT_TEST_DATA_DIR "/cluster.wg", &g), 0);
    file = fa_read(WEFT_TEST_DATA_DIR "/cluster.run");
    run = fa_load_run_text(g, &file);
    fa_check_writer(fa_write_dot, g, run, "weft_graph_dot of a cluster run");
    fa_check_writer(fa_write_trace, run, NULL, "weft_run_trace of a cluster run");
    fa_check_writer(fa_write_run, run, NULL, "weft_run_save of a cluster run");
    wt_run_free(run);
    wt_graph_free(g);
    fa_text_free(&file);

    fa_text big = fa_big_graph_file();
    g = fa_load_text(&big);
    fa_check_writer(fa_write_dot, g, NULL, "weft_graph_dot of the generated graph");
    wt_graph_free(g);
    fa_text_free(&big);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Running                                                             */

/* The code of failed node v, which should be want: asserted. Returns the
 * code read. */
static int fa_failed_code(const weft_run_t *run, weft_node_t v, int want, long n, int sticky)
{
    weft_graph_t *g = weft_run_graph(run);
    int code = -12345, rc = weft_run_node_code(run, v, &code);
    FA_CHECK(rc == 0, "weft_run_node_code = %d", rc);
    FA_CHECK(code == want, "fault %ld (%s): node '%s' of '%s' failed with %d (%s), not %d (%s)", n,
                  fa_mode(sticky), weft_graph_node_name(g, v), weft_graph_name(g), code,
                  weft_err_name(code), want, weft_err_name(want));
    return code;
}

/* The failures of a run (and of its sub-runs) that faults caused: a task
 * node failed with WEFT_ENOMEM (its result could not be stored); a
 * subgraph node with WEFT_ENOMEM (its sub-run could not start) or with
 * WEFT_ETASK from a sub-run that failed in the same way. Returns the
 * number of failed nodes. */
static uint64_t fa_check_failures(const weft_run_t *run, long n, int sticky)
{
    weft_run_counts_t c = fa_counts(run);
    weft_graph_t *g = weft_run_graph(run);
    uint64_t failed = 0;
    for (weft_node_t v = 0; v < c.total; v++) {
        int st = weft_run_node_status(run, v), code = 0;
        FA_CHECK(st == WEFT_NODE_DONE || st == WEFT_NODE_FAILED || st == WEFT_NODE_SKIPPED,
                      "fault %ld (%s): node '%s' is %s", n, fa_mode(sticky), weft_graph_node_name(g, v),
                      weft_node_status_name(st));
        if (st != WEFT_NODE_FAILED)
            continue;
        failed++;
        weft_run_t *sub = NULL;
        int src = weft_run_subrun(run, v, &sub);
        /* a sub-run that failed fails its node with WEFT_ETASK */
        int want = src == 0 && fa_counts(sub).failed ? WEFT_ETASK : WEFT_ENOMEM;
        if (want == WEFT_ETASK)
            fa_check_failures(sub, n, sticky);
        code = fa_failed_code(run, v, want, n, sticky);
        FA_CHECK(v != c.first_failed || !code || c.first_code == code, "first_code %d, its code %d",
                 c.first_code, code);
    }
    FA_CHECK(c.failed == failed, "counts say %llu failed, the nodes %llu", (unsigned long long)c.failed,
             (unsigned long long)failed);
    FA_CHECK(!failed || (c.first_failed != WEFT_NODE_NONE &&
                         weft_run_node_status(run, c.first_failed) == WEFT_NODE_FAILED &&
                         (c.first_code == WEFT_ENOMEM || c.first_code == WEFT_ETASK)),
             "fault %ld (%s): first failure %u with code %d", n, fa_mode(sticky), c.first_failed,
             c.first_code);
    return failed;
}

/* Results of a run in which every node succeeded: each named-task node's
 * result is its name, at any depth. */
static void fa_check_results(const weft_run_t *run)
{
    weft_graph_t *g = weft_run_graph(run);
    weft_run_counts_t c = fa_counts(run);
    FA_CHECK(c.done == c.total, "%llu of %llu nodes done", (unsigned long long)c.done,
             (unsigned long long)c.total);
    for (weft_node_t v = 0; v < c.total; v++) {
        const void *data;
        size_t len;
        int rc = weft_run_result(run, v, &data, &len);
        FA_CHECK(rc == 0, "weft_run_result = %d", rc);
        weft_run_t *sub;
        if (weft_run_subrun(run, v, &sub) == 0) {
            fa_check_results(sub);
            continue;
        }
        const char *name = weft_graph_node_name(g, v);
        FA_CHECK(data && len == strlen(name) + 1 && memcmp(data, name, len) == 0,
                      "node '%s': wrong result", name);
    }
}

/* The documents of a run that failed for lack of memory still come out,
 * and its run file loads back into the same run. */
static void fa_check_run_documents(weft_graph_t *g, const weft_run_t *run, long n, int sticky)
{
    fa_text dot = fa_written(fa_write_dot, g, run), trace = fa_written(fa_write_trace, run, NULL);
    fa_text saved = fa_written(fa_write_run, run, NULL);
    weft_run_t *back = NULL;
    FILE *f = fa_input(&saved);
    int rc = weft_run_load(g, f, &back);
    fclose(f);
    ck_assert_msg(rc == 0, "fault %ld (%s): its run file does not load back: %s\n%s", n, fa_mode(sticky),
                  weft_graph_error(), saved.s);
    fa_text again = fa_written(fa_write_run, back, NULL);
    ck_assert(fa_text_eq(&again, &saved));
    wt_run_free(back);
    fa_text_free(&again);
    fa_text_free(&saved);
    fa_text_free(&dot);
    fa_text_free(&trace);
}

/* weft_graph_run of nested.wg (recorded: subgraphs, a shared subgraph, a
 * result per node) with a fresh runtime per fault, so that the blocks the
 * runtime keeps for reuse are counted too. */
static void fa_check_graph_run(const fa_text *file, const char *wg, int extra_failing_node,
                               int documents)
{
    long live0 = fa_live_now(), faults = 0, failed_runs = 0;
    weft_run_opts_t opts = {.record = 1};
    for (long n = 0;; n++) {
        int clean = 0;
        for (int sticky = 0; sticky < 2; sticky++) {
            weft_runtime_t *rt = wt_runtime(2);
            weft_graph_t *g = fa_load_text(file);
            weft_node_t bad = WEFT_NODE_NONE;
            if (extra_failing_node)
                WT_ASSERT_RC(weft_graph_add_task(g, "bad", "fail7", NULL, 0, &bad), 0);
            weft_run_t *run = (weft_run_t *)&wt_bad;
            fa_arm(n, sticky);
            int rc = weft_graph_run(g, rt, &opts, &run);
            long hits = fa_disarm();
            clean |= hits == 0;
            faults += hits > 0;
            int want = extra_failing_node ? WEFT_ETASK : 0;
            if (!hits)
                WT_ASSERT_RC(rc, want);
            FA_ASSERT_ONE_OF(rc, "weft_graph_run", n, sticky, WEFT_ENOMEM, WEFT_ETASK);
            if (rc == WEFT_ENOMEM) {
                ck_assert_ptr_null(run);
            } else if (extra_failing_node) {
                ck_assert_int_eq(rc, WEFT_ETASK);
                fa_failed_code(run, bad, 7, n, sticky);
                fa_check_run_documents(g, run, n, sticky);
                wt_run_free(run);
            } else {
                failed_runs += rc == WEFT_ETASK;
                if (rc == WEFT_ETASK)
                    ck_assert_uint_gt(fa_check_failures(run, n, sticky), 0);
                else
                    fa_check_results(run);
                if (documents)
                    fa_check_run_documents(g, run, n, sticky);
                wt_run_free(run);
            }
            /* the graph and the runtime work on */
            run = NULL;
            WT_ASSERT_RC(weft_graph_run(g, rt, &opts, &run), want);
            if (!extra_failing_node)
                fa_check_results(run);
            wt_run_free(run);
            wt_graph_free(g);
            wt_destroy(rt);
            FA_ASSERT_NO_LEAK(live0, "weft_graph_run", n, sticky);
        }
        if (clean)
            break;
        ck_assert_int_lt(n, FA_MAX_STEPS);
    }
    fa_done(extra_failing_node ? "weft_graph_run with a failing node" : wg, faults, 10);
    if (!extra_failing_node)
        ck_assert_int_gt(failed_runs, 0);
    ck_assert_int_eq(wt_ld(&wt_bad), 0);
}

/* weft_graph_run_async and weft_graph_run_n (three runs in a row) of
 * pipeline.wg, each on a runtime of its own per fault. */
START_TEST(test_run_async_and_n_faults)
{
    fa_register_tasks();
    long live0 = fa_live_now();
    weft_run_opts_t opts = {.record = 1};
    for (int variant = 0; variant < 2; variant++) {
        const char *what = variant ? "weft_graph_run_n" : "weft_graph_run_async";
        long faults = 0;
        for (long n = 0;; n++) {
            int clean = 0;
            for (int sticky = 0; sticky < 2; sticky++) {
                weft_runtime_t *rt = wt_runtime(2);
                weft_graph_t *g;
                WT_ASSERT_RC(weft_graph_load_file(WEFT_TEST_DATA_DIR "/pipeline.wg", &g), 0);
                weft_run_t *run = (weft_run_t *)&wt_bad;
                fa_arm(n, sticky);
                int rc = variant ? weft_graph_run_n(g, rt, 3, &opts, &run)
                                 : weft_graph_run_async(g, rt, &opts, &run);
                if (!variant && rc == 0)
                    rc = weft_run_wait(run);
                long hits = fa_disarm();
                clean |= hits == 0;
                faults += hits > 0;
                if (!hits)
                    WT_ASSERT_RC(rc, 0);
                FA_ASSERT_ONE_OF(rc, what, n, sticky, WEFT_ENOMEM, WEFT_ETASK);
                if (rc == WEFT_ENOMEM && !variant)
                    ck_assert_ptr_null(run);
                if (run && rc == WEFT_ENOMEM) { /* run_n: a later run could not start, */
                    weft_run_counts_t c = wt_counts(run); /* so the record holds no run */
                    ck_assert_uint_eq(c.done + c.failed + c.skipped + c.cancelled, 0);
                    for (weft_node_t v = 0; v < c.total; v++)
                        ck_assert_int_eq(weft_run_node_status(run, v), WEFT_NODE_PENDING);
                }
                if (rc == WEFT_ETASK)
                    ck_assert_uint_gt(fa_check_failures(run, n, sticky), 0);
                else if (rc == 0)
                    fa_check_results(run);
                if (run)
                    wt_run_free(run);
                WT_ASSERT_RC(weft_graph_run_n(g, rt, 3, &opts, &run), 0);
                fa_check_results(run);
                wt_run_free(run);
                wt_graph_free(g);
                wt_destroy(rt);
                FA_ASSERT_NO_LEAK(live0, what, n, sticky);
            }
            if (clean)
                break;
            ck_assert_int_lt(n, FA_MAX_STEPS);
        }
        fa_done(what, faults, 10);
    }
}
END_TEST

START_TEST(test_run_faults)
{
    fa_register_tasks();
    static const char *const files[] = {"nested.wg", "pipeline.wg"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", WEFT_TEST_DATA_DIR, files[i]);
        fa_text file = fa_read(path);
        fa_check_graph_run(&file, files[i], 0, 1);
        fa_text_free(&file);
    }
    /* shared subgraphs running at the same time, sub-runs 21 deep (its
     * documents, hundreds of kilobytes, are written for the files above) */
    fa_text big = fa_big_graph_file();
    fa_check_graph_run(&big, "generated graph", 0, 0);
    fa_text_free(&big);
}
END_TEST

/* A node that fails by itself in a run where allocations fail: its code is
 * kept, and the run's file loads back. */
START_TEST(test_run_failing_node_faults)
{
    fa_register_tasks();
    fa_text file = fa_read(WEFT_TEST_DATA_DIR "/pipeline.wg");
    fa_check_graph_run(&file, "pipeline.wg", 1, 1);
    fa_text_free(&file);
}
END_TEST


/* Completes at once, as an executor would, with an origin (machine "m0:1"
 * or "m1:1" by the node's id, 2 attempts) and its name as its result. */
static int fa_at_task(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    weft_node_async_t *h = NULL;
    int rc = weft_node_defer(ctx, &h);
    if (rc)
        return rc;
    weft_node_origin_t o = {.machine = weft_node_id(ctx) % 2 ? "m1:1" : "m0:1", .worker = 0,
                            .attempts = 2, .bytes_sent = 5};
    const char *name = weft_node_name(ctx);
    (void)weft_node_async_complete_at(h, 0, name, strlen(name) + 1, &o);
    return 0;
}

/* Node v's origin: the one fa_at_task gave, or "local" when there was no
 * memory for it (counted in *dropped). */
static void fa_check_origin(const weft_run_t *run, weft_node_t v, long *dropped)
{
    weft_node_origin_t o;
    WT_ASSERT_RC(weft_run_node_origin(run, v, &o), 0);
    if (strcmp(o.machine, "local") == 0) {
        ++*dropped;
        return;
    }
    ck_assert_str_eq(o.machine, v % 2 ? "m1:1" : "m0:1");
    ck_assert_int_eq(o.attempts, 2);
    ck_assert_uint_eq(o.bytes_sent, 5);
}

/* Runs whose nodes report origins while allocations fail: a completion
 * never fails for its origin (the origin is dropped instead), so the run
 * comes out as without faults, or with nodes failed for want of their
 * results; its documents come out and its run file loads back. */
START_TEST(test_run_origin_faults)
{
    WT_ASSERT_RC(weft_task_register("at", fa_at_task, NULL), 0);
    static const char text[] = "weft-graph 1\nname origins\nnode a at\nnode b at\nnode c at\n"
                               "node d at\nnode e at\nedge a b c\nedge a d e\n";
    fa_text file = {(char *)text, sizeof text - 1};
    long live0 = fa_live_now(), faults = 0, dropped = 0;
    weft_run_opts_t opts = {.record = 1};
    for (long n = 0;; n++) {
        int clean = 0;
        for (int sticky = 0; sticky < 2; sticky++) {
            weft_runtime_t *rt = wt_runtime(2);
            weft_graph_t *g = fa_load_text(&file);
            weft_run_t *run = (weft_run_t *)&wt_bad;
            fa_arm(n, sticky);
            int rc = weft_graph_run(g, rt, &opts, &run);
            long hits = fa_disarm();
            clean |= hits == 0;
            faults += hits > 0;
            if (!hits)
                WT_ASSERT_RC(rc, 0);
            FA_ASSERT_ONE_OF(rc, "a run with origins", n, sticky, WEFT_ENOMEM, WEFT_ETASK);
            if (rc == WEFT_ENOMEM) {
                ck_assert_ptr_null(run);
            } else {
                if (rc == WEFT_ETASK)
                    ck_assert_uint_gt(fa_check_failures(run, n, sticky), 0);
                else
                    fa_check_results(run);
                for (weft_node_t v = 0; v < 5; v++)
                    if (weft_run_node_status(run, v) == WEFT_NODE_DONE)
                        fa_check_origin(run, v, &dropped);
                fa_check_run_documents(g, run, n, sticky);
                wt_run_free(run);
            }
            run = NULL; /* the graph and the runtime work on, origins and all */
            WT_ASSERT_RC(weft_graph_run(g, rt, &opts, &run), 0);
            long none = 0;
            for (weft_node_t v = 0; v < 5; v++)
                fa_check_origin(run, v, &none);
            ck_assert_int_eq(none, 0);
            wt_run_free(run);
            wt_graph_free(g);
            wt_destroy(rt);
            FA_ASSERT_NO_LEAK(live0, "a run with origins", n, sticky);
        }
        if (clean)
            break;
        ck_assert_int_lt(n, FA_MAX_STEPS);
    }
    fa_done("a run with origins", faults, 10);
    ck_assert_int_gt(dropped, 0); /* the path that drops an origin was taken */
    WT_ASSERT_RC(weft_task_unregister("at"), 0);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *alloc_faults_suite(void)
{
    Suite *s = suite_create("alloc_faults");
    TCase *tc = wt_tcase(s, "interposer", WT_TIMEOUT_S);
    tcase_add_test(tc, test_interposer_works);
    tcase_add_test(tc, test_interposer_covers_imports);

    tc = wt_tcase(s, "runtime", WT_TIMEOUT_S);
    tcase_add_test(tc, test_runtime_create_faults);
    tcase_add_test(tc, test_runtime_helpers_faults);

    tc = wt_tcase(s, "registry", WT_TIMEOUT_S);
    tcase_add_test(tc, test_registry_faults);

    tc = wt_tcase(s, "building", WT_TIMEOUT_S);
    tcase_add_test(tc, test_build_faults);
    tcase_add_test(tc, test_failed_change_keeps_runs);
    tcase_add_test(tc, test_check_faults);

    tc = wt_tcase(s, "files", WT_TIMEOUT_S);
    tcase_add_test(tc, test_graph_load_faults);
    tcase_add_test(tc, test_graph_load_file_faults);
    tcase_add_test(tc, test_graph_save_faults);
    tcase_add_test(tc, test_run_load_faults);
    tcase_add_test(tc, test_dot_trace_faults);

    tc = wt_tcase(s, "running", WT_TIMEOUT_S);
    tcase_add_test(tc, test_run_faults);
    tcase_add_test(tc, test_run_failing_node_faults);
    tcase_add_test(tc, test_run_origin_faults);
    tcase_add_test(tc, test_run_async_and_n_faults);
    return s;
}

int main(void)
{
    return wt_run_suite(alloc_faults_suite());
}
