/* test_layer.c: what every layer shares: the per-thread detail message,
 * the writers' memory forms (weft_buf_t) and weft_current_run, the one
 * answer to "which run am I working for?" that both bindings use. */
#include "weft_test.h"

#include <pthread.h>
#include <string.h>

#include "weft/graph.h"
#include "weft_graph_test.h"

/* ---- detail message ---- */

START_TEST(test_detail_set_by_graph_layer)
{
    FILE *f = fmemopen((void *)"weft-graph 1\nedge a b\n", 22, "r");
    ck_assert_ptr_nonnull(f);
    weft_graph_t *g = NULL;
    WT_ASSERT_RC(weft_graph_load(f, &g), WEFT_EPARSE);
    fclose(f);
    ck_assert_ptr_null(g);
    ck_assert_str_eq(weft_error_detail(), "line 2: edge from unknown node 'a'");
    ck_assert_ptr_eq(weft_graph_error(), weft_error_detail());
}
END_TEST

static void *other_thread_detail(void *arg)
{
    (void)arg;
    return (void *)weft_error_detail();
}

START_TEST(test_detail_is_per_thread)
{
    FILE *f = fmemopen((void *)"garbage\n", 8, "r");
    weft_graph_t *g = NULL;
    WT_ASSERT_RC(weft_graph_load(f, &g), WEFT_EPARSE);
    fclose(f);
    ck_assert_str_ne(weft_error_detail(), "");
    pthread_t t;
    void *other = NULL;
    ck_assert_int_eq(pthread_create(&t, NULL, other_thread_detail, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &other), 0);
    ck_assert_str_eq((const char *)other, ""); /* a new thread starts empty */
}
END_TEST

/* ---- memory forms ---- */

/* What the FILE form writes, read back through a temporary file. */
static char *file_text(int (*write)(const void *, FILE *), const void *obj, int *rc)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    *rc = write(obj, f);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    char *s = calloc((size_t)n + 1, 1);
    rewind(f);
    ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return s;
}

static int save_w(const void *g, FILE *f) { return weft_graph_save(g, f); }
static int dot_w(const void *g, FILE *f) { return weft_graph_dot(g, NULL, f); }
static int runsave_w(const void *r, FILE *f) { return weft_run_save(r, f); }
static int trace_w(const void *r, FILE *f) { return weft_run_trace(r, f); }
static int rstats_w(const void *r, FILE *f) { return weft_run_print_stats(r, f); }

static int noop_task(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    return weft_node_set_result(ctx, "ok", 2);
}

static weft_graph_t *named_graph(void)
{
    WT_ASSERT_RC(weft_task_register("layer.noop", noop_task, NULL), 0);
    weft_graph_t *g = wt_graph("sinks");
    weft_node_t a, b, c;
    WT_ASSERT_RC(weft_graph_add_task(g, "a", "layer.noop", "x", 1, &a), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "b", "layer.noop", NULL, 0, &b), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "c \"quoted\"", "layer.noop", NULL, 0, &c), 0);
    WT_ASSERT_RC(weft_graph_precede(g, a, b), 0);
    WT_ASSERT_RC(weft_graph_precede(g, a, c), 0);
    return g;
}

static void assert_same(const char *from_file, int file_rc, const weft_buf_t *buf, int buf_rc)
{
    WT_ASSERT_RC(buf_rc, file_rc);
    ck_assert_ptr_nonnull(buf->data);
    ck_assert_uint_eq(buf->len, strlen(from_file));
    ck_assert_str_eq(buf->data, from_file);
    ck_assert_int_eq(buf->data[buf->len], '\0');
}

START_TEST(test_buf_forms_match_file_forms)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = named_graph();
    weft_run_opts_t o = {.record = 1};
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run(g, rt, &o, &run), 0);

    int rc;
    weft_buf_t b;
    char *s = file_text(save_w, g, &rc);
    assert_same(s, rc, &b, weft_graph_save_buf(g, &b));
    ck_assert_ptr_nonnull(strstr(b.data, "node a layer.noop"));
    weft_buf_free(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    free(s);

    s = file_text(dot_w, g, &rc);
    assert_same(s, rc, &b, weft_graph_dot_buf(g, NULL, &b));
    ck_assert_ptr_nonnull(strstr(b.data, "digraph"));
    weft_buf_free(&b);
    free(s);

    s = file_text(runsave_w, run, &rc);
    assert_same(s, rc, &b, weft_run_save_buf(run, &b));
    weft_buf_free(&b);
    free(s);

    s = file_text(trace_w, run, &rc);
    assert_same(s, rc, &b, weft_run_trace_buf(run, &b));
    ck_assert_ptr_nonnull(strstr(b.data, "traceEvents"));
    weft_buf_free(&b);
    free(s);

    s = file_text(rstats_w, run, &rc);
    assert_same(s, rc, &b, weft_run_print_stats_buf(run, &b));
    weft_buf_free(&b);
    free(s);

    WT_ASSERT_RC(weft_stats_print_buf(rt, &b), 0);
    ck_assert_ptr_nonnull(b.data);
    ck_assert_uint_eq(b.len, strlen(b.data));
    ck_assert_uint_gt(b.len, 0);
    weft_buf_free(&b);

    wt_run_free(run);
    wt_graph_free(g);
    weft_task_unregister("layer.noop");
    wt_destroy(rt);
}
END_TEST

static int fn_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}

START_TEST(test_buf_forms_errors)
{
    weft_buf_t b = {(char *)"stale", 5};
    WT_ASSERT_RC(weft_graph_save_buf(NULL, &b), WEFT_EINVAL);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    WT_ASSERT_RC(weft_graph_save_buf(NULL, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_dot_buf(NULL, NULL, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_save_buf(NULL, &b), WEFT_EINVAL);
    ck_assert_ptr_null(b.data);
    WT_ASSERT_RC(weft_run_trace_buf(NULL, &b), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_print_stats_buf(NULL, &b), WEFT_EINVAL);
    WT_ASSERT_RC(weft_stats_print_buf(NULL, &b), WEFT_EINVAL);
    ck_assert_ptr_null(b.data);

    /* a function node cannot be saved: nothing is handed over */
    weft_graph_t *g = wt_graph("fn");
    WT_ASSERT_RC(weft_graph_add(g, "f", fn_node, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_save_buf(g, &b), WEFT_ENOTSUP);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_ptr_nonnull(strstr(weft_error_detail(), "'f'"));
    wt_graph_free(g);

    weft_buf_free(NULL); /* harmless */
    weft_buf_free(&b);
}
END_TEST

/* ---- weft_current_run ---- */

static _Atomic(weft_run_t *) seen_in_task;

static int spawned_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_store(&seen_in_task, weft_current_run());
    return 0;
}

static int nested_spawner(void *arg, void **result)
{
    (void)result;
    weft_group_t *grp = NULL;
    if (weft_group_create(weft_current_runtime(), NULL, &grp)) return 1;
    weft_spawn(grp, spawned_task, arg);
    weft_group_wait(grp);
    weft_group_free(grp);
    return 0;
}

static _Atomic(weft_run_t *) node_run_seen, node_current_seen;

static int current_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    atomic_store(&node_run_seen, weft_node_run(ctx));
    atomic_store(&node_current_seen, weft_current_run());
    /* a task spawned two levels down still works for this run */
    weft_job_t *job = NULL;
    if (weft_submit(weft_node_runtime(ctx), nested_spawner, NULL, NULL, &job)) return 1;
    weft_job_wait(job, NULL, NULL);
    weft_job_free(job);
    return 0;
}

static int outside_task(void *arg, void **result)
{
    (void)arg;
    *result = weft_current_run();
    return 0;
}

START_TEST(test_current_run)
{
    ck_assert_ptr_null(weft_current_run()); /* not a worker */
    weft_runtime_t *rt = wt_runtime(2);
    ck_assert_ptr_null(wt_job_run(rt, outside_task, NULL)); /* a task of no run */

    weft_graph_t *g = wt_graph("current");
    WT_ASSERT_RC(weft_graph_add(g, "n", current_node, NULL, NULL), 0);
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    ck_assert_ptr_eq(atomic_load(&node_run_seen), run);
    ck_assert_ptr_eq(atomic_load(&node_current_seen), run);
    ck_assert_ptr_eq(atomic_load(&seen_in_task), run);
    wt_run_free(run);

    /* inside a subgraph, the innermost run is the subgraph's */
    weft_graph_t *outer = wt_graph("outer");
    weft_node_t sn;
    WT_ASSERT_RC(weft_graph_add_subgraph(outer, "s", g, &sn), 0);
    WT_ASSERT_RC(weft_graph_run(outer, rt, NULL, &run), 0);
    weft_run_t *sub = NULL;
    WT_ASSERT_RC(weft_run_subrun(run, sn, &sub), 0);
    ck_assert_ptr_eq(atomic_load(&node_current_seen), sub);
    ck_assert_ptr_eq(atomic_load(&seen_in_task), sub);
    wt_run_free(run);
    wt_graph_free(outer);
    wt_graph_free(g);
    ck_assert_ptr_null(wt_job_run(rt, outside_task, NULL));
    ck_assert_int_eq(wt_ld(&wt_bad), 0);
    wt_destroy(rt);
}
END_TEST

/* ---- borrowed argument bytes (weft_graph_set_arg_ref) ---- */

static _Atomic(const void *) arg_seen;

static int arg_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    size_t len;
    const void *a = weft_node_arg(ctx, &len);
    atomic_store(&arg_seen, a);
    return weft_node_set_result(ctx, a, len);
}

START_TEST(test_arg_ref_borrows)
{
    weft_runtime_t *rt = wt_runtime(2);
    char *buf = malloc(1 << 20);
    memset(buf, 'q', 1 << 20);
    weft_graph_t *g = wt_graph("ref");
    weft_node_t v;
    WT_ASSERT_RC(weft_graph_add(g, "v", arg_node, NULL, &v), 0);
    WT_ASSERT_RC(weft_graph_set_arg_ref(g, v, buf, 1 << 20), 0);
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    ck_assert_ptr_eq(atomic_load(&arg_seen), buf); /* the caller's bytes, not a copy */
    const void *d;
    size_t len;
    WT_ASSERT_RC(weft_run_result(run, v, &d, &len), 0);
    ck_assert_uint_eq(len, 1 << 20);
    ck_assert(memcmp(d, buf, len) == 0);
    wt_run_free(run);
    /* replaced by a copied argument, then by an empty borrowed one */
    WT_ASSERT_RC(weft_graph_set_arg(g, v, "abc", 3), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    ck_assert_ptr_ne(atomic_load(&arg_seen), buf);
    WT_ASSERT_RC(weft_run_result(run, v, &d, &len), 0);
    ck_assert_uint_eq(len, 3);
    wt_run_free(run);
    WT_ASSERT_RC(weft_graph_set_arg_ref(g, v, NULL, 0), 0);
    WT_ASSERT_RC(weft_graph_set_arg_ref(g, v, NULL, 5), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_set_arg_ref(g, 7, buf, 5), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_set_arg_ref(g, v, buf, 4), 0);
    wt_graph_free(g); /* does not free buf (ASan: no double free below) */
    free(buf);
    wt_destroy(rt);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("layer");
    TCase *tc = wt_tcase(s, "detail", 30);
    tcase_add_test(tc, test_detail_set_by_graph_layer);
    tcase_add_test(tc, test_detail_is_per_thread);
    tc = wt_tcase(s, "buf", 30);
    tcase_add_test(tc, test_buf_forms_match_file_forms);
    tcase_add_test(tc, test_buf_forms_errors);
    tc = wt_tcase(s, "arg_ref", 30);
    tcase_add_test(tc, test_arg_ref_borrows);
    tc = wt_tcase(s, "current_run", 30);
    tcase_add_test(tc, test_current_run);
    return wt_run_suite(s);
}
