/* Suite "graph_files": the named-task registry, named-task nodes and their
 * argument bytes, graph files (save, load, every documented load error),
 * dot export (checked by graphviz), trace export (checked by Python's json
 * module) and run files. Formats: graph/FORMAT.md.
 *
 * The registry is process-wide: Check's fork mode gives each test a fresh
 * one. Files go to temporary files that the tests remove. */
#define _GNU_SOURCE /* mkstemps */
#include "weft_test.h"

#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft/graph.h"
#include "weft_graph_test.h"

#ifndef WEFT_TEST_DATA_DIR
#define WEFT_TEST_DATA_DIR "tests/data"
#endif

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* Text in a malloc'd buffer: what a writer wrote (its weft_buf_t form, or
 * a stream for the tests about streams), or what a file or pipe held. */
typedef struct wt_text {
    char *s;
    size_t len;
} wt_text;

static FILE *wt_mem(wt_text *t)
{
    t->s = NULL;
    t->len = 0;
    FILE *f = open_memstream(&t->s, &t->len);
    ck_assert_ptr_nonnull(f);
    return f;
}

/* The text of a weft_buf_t form that returned rc, taken over. */
static wt_text wt_took(int rc, weft_buf_t *b, const char *what)
{
    ck_assert_msg(rc == 0, "%s = %d (%s): %s", what, rc, weft_err_name(rc), weft_graph_error());
    ck_assert_ptr_nonnull(b->data);
    ck_assert_uint_eq(strlen(b->data), b->len); /* NUL-terminated, no NUL inside */
    wt_text t = {b->data, b->len};
    return t;
}

static wt_text wt_save(const weft_graph_t *g)
{
    weft_buf_t b;
    int rc = weft_graph_save_buf(g, &b);
    return wt_took(rc, &b, "weft_graph_save_buf");
}

static wt_text wt_dot(const weft_graph_t *g, const weft_run_t *run)
{
    weft_buf_t b;
    int rc = weft_graph_dot_buf(g, run, &b);
    return wt_took(rc, &b, "weft_graph_dot_buf");
}

/* A stream reading exactly len bytes of data (NUL bytes included). */
static FILE *wt_input(const void *data, size_t len)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    if (len)
        ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    rewind(f);
    return f;
}

/* Loads graph text (len bytes); returns the code, *g as loading left it.
 * It loads twice, from memory (weft_graph_load_buf, from a copy without a
 * NUL after it) and then from a stream (weft_graph_load), and checks that
 * both give the same code, message and graph; *g and weft_graph_error()
 * are the stream's. */
static int wt_load_n(const char *text, size_t len, weft_graph_t **g)
{
    char *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, text, len);
    weft_graph_t *m = (weft_graph_t *)&wt_bad;
    int mrc = weft_graph_load_buf(copy, len, &m);
    free(copy);
    char mmsg[WEFT_DETAIL_MAX];
    snprintf(mmsg, sizeof mmsg, "%s", weft_graph_error());
    wt_text mt = {NULL, 0};
    if (mrc == 0) {
        mt = wt_save(m);
        WT_ASSERT_RC(weft_graph_free(m), 0);
    } else {
        ck_assert_ptr_null(m);
    }
    FILE *f = wt_input(text, len);
    *g = (weft_graph_t *)&wt_bad; /* must be overwritten */
    int rc = weft_graph_load(f, g);
    fclose(f);
    ck_assert_msg(rc == mrc && strcmp(weft_graph_error(), mmsg) == 0,
                  "weft_graph_load = %d (\"%s\"), weft_graph_load_buf = %d (\"%s\")", rc,
                  weft_graph_error(), mrc, mmsg);
    if (rc == 0) {
        wt_text t = wt_save(*g);
        ck_assert_msg(t.len == mt.len && memcmp(t.s, mt.s, t.len) == 0,
                      "the graphs loaded from a stream and from memory differ:\n%s\n---\n%s", t.s, mt.s);
        free(t.s);
    }
    free(mt.s);
    return rc;
}

static int wt_load(const char *text, weft_graph_t **g)
{
    return wt_load_n(text, strlen(text), g);
}

static weft_graph_t *wt_load_ok(const char *text)
{
    weft_graph_t *g;
    int rc = wt_load(text, &g);
    ck_assert_msg(rc == 0, "weft_graph_load = %d (%s): %s", rc, weft_err_name(rc), weft_graph_error());
    ck_assert_ptr_nonnull(g);
    return g;
}

static wt_text wt_run_text(const weft_run_t *run)
{
    weft_buf_t b;
    int rc = weft_run_save_buf(run, &b);
    return wt_took(rc, &b, "weft_run_save_buf");
}

/* Loads run text into a run of g, from memory and then from a stream (as
 * wt_load_n): both must agree; *run and the message are the stream's. */
static int wt_load_run(weft_graph_t *g, const char *text, weft_run_t **run)
{
    size_t len = strlen(text);
    weft_run_t *m = (weft_run_t *)&wt_bad;
    int mrc = weft_run_load_buf(g, text, len, &m);
    char mmsg[WEFT_DETAIL_MAX];
    snprintf(mmsg, sizeof mmsg, "%s", weft_graph_error());
    wt_text mt = {NULL, 0};
    if (mrc == 0) {
        mt = wt_run_text(m);
        WT_ASSERT_RC(weft_run_free(m), 0);
    } else {
        ck_assert_ptr_null(m);
    }
    FILE *f = wt_input(text, len);
    *run = (weft_run_t *)&wt_bad;
    int rc = weft_run_load(g, f, run);
    fclose(f);
    ck_assert_msg(rc == mrc && strcmp(weft_graph_error(), mmsg) == 0,
                  "weft_run_load = %d (\"%s\"), weft_run_load_buf = %d (\"%s\")", rc, weft_graph_error(),
                  mrc, mmsg);
    if (rc == 0) {
        wt_text t = wt_run_text(*run);
        ck_assert_msg(t.len == mt.len && memcmp(t.s, mt.s, t.len) == 0,
                      "the runs loaded from a stream and from memory differ:\n%s\n---\n%s", t.s, mt.s);
        free(t.s);
    }
    free(mt.s);
    return rc;
}

/* A temporary file name (the file exists, empty). */
static void wt_tmpname(char *buf, size_t cap, const char *suffix)
{
    snprintf(buf, cap, "/tmp/weft-test-XXXXXX%s", suffix);
    int fd = mkstemps(buf, (int)strlen(suffix));
    ck_assert_int_ge(fd, 0);
    close(fd);
}

static int wt_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t k = fwrite(data, 1, len, f);
    return fclose(f) == 0 && k == len ? 0 : -1;
}

static char *wt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    wt_text t;
    FILE *m = wt_mem(&t);
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, k, m);
    fclose(f);
    fclose(m);
    if (len)
        *len = t.len;
    return t.s;
}

static int wt_have(const char *program)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", program);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ------------------------------------------------------------------ */
/* Registry                                                            */

static int wt_task_a(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}

static int wt_task_b(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 1;
}

START_TEST(test_register_lookup_replace)
{
    int x = 1, y = 2;
    weft_node_fn fn = NULL;
    void *arg = NULL;
    WT_ASSERT_RC(weft_task_lookup("sum", &fn, &arg), WEFT_ENOENT);
    WT_ASSERT_RC(weft_task_register("sum", wt_task_a, &x), 0);
    WT_ASSERT_RC(weft_task_lookup("sum", &fn, &arg), 0);
    ck_assert_ptr_eq((void *)fn, (void *)wt_task_a);
    ck_assert_ptr_eq(arg, &x);
    WT_ASSERT_RC(weft_task_lookup("sum", NULL, NULL), 0); /* out pointers may be NULL */
    WT_ASSERT_RC(weft_task_lookup("Sum", &fn, &arg), WEFT_ENOENT); /* case-sensitive */
    WT_ASSERT_RC(weft_task_lookup("su", &fn, &arg), WEFT_ENOENT);
    /* Registering again replaces. */
    WT_ASSERT_RC(weft_task_register("sum", wt_task_b, &y), 0);
    WT_ASSERT_RC(weft_task_lookup("sum", &fn, &arg), 0);
    ck_assert_ptr_eq((void *)fn, (void *)wt_task_b);
    ck_assert_ptr_eq(arg, &y);
    WT_ASSERT_RC(weft_task_register("sum", wt_task_b, NULL), 0); /* arg may be NULL */
    WT_ASSERT_RC(weft_task_lookup("sum", &fn, &arg), 0);
    ck_assert_ptr_null(arg);
    /* Unregistering. */
    WT_ASSERT_RC(weft_task_unregister("sum"), 0);
    WT_ASSERT_RC(weft_task_lookup("sum", &fn, &arg), WEFT_ENOENT);
    WT_ASSERT_RC(weft_task_unregister("sum"), WEFT_ENOENT);
    WT_ASSERT_RC(weft_task_unregister("never"), WEFT_ENOENT);
    /* And back. */
    WT_ASSERT_RC(weft_task_register("sum", wt_task_a, &x), 0);
    WT_ASSERT_RC(weft_task_lookup("sum", &fn, &arg), 0);
    ck_assert_ptr_eq((void *)fn, (void *)wt_task_a);
    ck_assert_ptr_eq(arg, &x);
    /* Names are copied. */
    char name[16];
    strcpy(name, "copied");
    WT_ASSERT_RC(weft_task_register(name, wt_task_b, NULL), 0);
    strcpy(name, "changed");
    WT_ASSERT_RC(weft_task_lookup("copied", &fn, NULL), 0);
    WT_ASSERT_RC(weft_task_lookup("changed", &fn, NULL), WEFT_ENOENT);
}
END_TEST

START_TEST(test_register_bad_names)
{
    static const char *bad[] = {"a b", " a", "a ", "a\tb", "a\nb", "a\rb", "a\vb", "a\fb",
                                "\x01", "a\x7f", " "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = weft_task_register(bad[i], wt_task_a, NULL);
        ck_assert_msg(rc == WEFT_EINVAL, "register(bad name #%zu) = %d (%s)", i, rc, weft_err_name(rc));
        rc = weft_task_lookup(bad[i], NULL, NULL);
        ck_assert_msg(rc == WEFT_EINVAL || rc == WEFT_ENOENT, "lookup(bad name #%zu) = %d", i, rc);
    }
    WT_ASSERT_RC(weft_task_register("", wt_task_a, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_task_register(NULL, wt_task_a, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_task_register("ok", NULL, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_task_lookup("ok", NULL, NULL), WEFT_ENOENT); /* nothing was registered */
    WT_ASSERT_RC(weft_task_lookup(NULL, NULL, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_task_lookup("", NULL, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_task_unregister(NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_task_unregister(""), WEFT_EINVAL);
    /* Lengths: WEFT_NAME_MAX bytes are fine, one more is out of range. */
    char *name = malloc(WEFT_NAME_MAX + 2);
    ck_assert_ptr_nonnull(name);
    memset(name, 'k', WEFT_NAME_MAX + 1);
    name[WEFT_NAME_MAX + 1] = 0;
    WT_ASSERT_RC(weft_task_register(name, wt_task_a, NULL), WEFT_ERANGE);
    name[WEFT_NAME_MAX] = 0;
    WT_ASSERT_RC(weft_task_register(name, wt_task_a, NULL), 0);
    WT_ASSERT_RC(weft_task_lookup(name, NULL, NULL), 0);
    free(name);
    /* Punctuation and UTF-8 are not whitespace. */
    WT_ASSERT_RC(weft_task_register("ns::task/v1.2#x\"y", wt_task_a, NULL), 0);
    WT_ASSERT_RC(weft_task_register("z\xc3\xa4hler", wt_task_a, NULL), 0);
    WT_ASSERT_RC(weft_task_lookup("ns::task/v1.2#x\"y", NULL, NULL), 0);
    WT_ASSERT_RC(weft_task_lookup("z\xc3\xa4hler", NULL, NULL), 0);
}
END_TEST

START_TEST(test_registry_many)
{
    enum { N = 3000 };
    char name[32];
    int wrong = 0;
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "task-%d", i);
        wrong += weft_task_register(name, i % 2 ? wt_task_a : wt_task_b, (void *)(intptr_t)(i + 1)) != 0;
    }
    ck_assert_int_eq(wrong, 0);
    for (int i = 0; i < N; i++) {
        weft_node_fn fn = NULL;
        void *arg = NULL;
        snprintf(name, sizeof name, "task-%d", i);
        wrong += weft_task_lookup(name, &fn, &arg) != 0 || fn != (i % 2 ? wt_task_a : wt_task_b) ||
                 arg != (void *)(intptr_t)(i + 1);
    }
    ck_assert_int_eq(wrong, 0);
    /* Remove the even ones; the odd ones stay reachable past the holes. */
    for (int i = 0; i < N; i += 2) {
        snprintf(name, sizeof name, "task-%d", i);
        wrong += weft_task_unregister(name) != 0;
    }
    ck_assert_int_eq(wrong, 0);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "task-%d", i);
        wrong += weft_task_lookup(name, NULL, NULL) != (i % 2 ? 0 : WEFT_ENOENT);
    }
    ck_assert_int_eq(wrong, 0);
    /* Register the even ones again with other arguments; churn a while. */
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < N; i += 2) {
            snprintf(name, sizeof name, "task-%d", i);
            wrong += weft_task_register(name, wt_task_a, (void *)(intptr_t)(-i - round)) != 0;
            if (round < 2)
                wrong += weft_task_unregister(name) != 0;
        }
    ck_assert_int_eq(wrong, 0);
    for (int i = 0; i < N; i++) {
        void *arg = NULL;
        snprintf(name, sizeof name, "task-%d", i);
        wrong += weft_task_lookup(name, NULL, &arg) != 0 ||
                 arg != (void *)(intptr_t)(i % 2 ? i + 1 : -i - 2);
    }
    ck_assert_int_eq(wrong, 0);
}
END_TEST

typedef struct wt_regthread {
    int id;
    int errors;
} wt_regthread;

static void *wt_reg_worker(void *p)
{
    wt_regthread *t = p;
    char name[32];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 200; i++) {
            snprintf(name, sizeof name, "t%d-%d", t->id, i);
            t->errors += weft_task_register(name, wt_task_a, (void *)(intptr_t)(t->id * 1000 + i)) != 0;
        }
        for (int i = 0; i < 200; i++) {
            void *arg = NULL;
            snprintf(name, sizeof name, "t%d-%d", t->id, i);
            t->errors += weft_task_lookup(name, NULL, &arg) != 0 ||
                         arg != (void *)(intptr_t)(t->id * 1000 + i);
            t->errors += weft_task_lookup("shared", NULL, NULL) != 0;
        }
        for (int i = 0; i < 200; i += 2) {
            snprintf(name, sizeof name, "t%d-%d", t->id, i);
            t->errors += weft_task_unregister(name) != 0;
        }
    }
    return NULL;
}

START_TEST(test_registry_threads)
{
    enum { T = 4 };
    pthread_t th[T];
    wt_regthread t[T];
    WT_ASSERT_RC(weft_task_register("shared", wt_task_b, NULL), 0);
    for (int i = 0; i < T; i++) {
        t[i].id = i;
        t[i].errors = 0;
        ck_assert_int_eq(pthread_create(&th[i], NULL, wt_reg_worker, &t[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_int_eq(t[i].errors, 0);
    }
    char name[32];
    int wrong = 0;
    for (int id = 0; id < T; id++)
        for (int i = 0; i < 200; i++) {
            snprintf(name, sizeof name, "t%d-%d", id, i);
            wrong += weft_task_lookup(name, NULL, NULL) != (i % 2 ? 0 : WEFT_ENOENT);
        }
    ck_assert_int_eq(wrong, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Named-task nodes                                                    */

/* Records, per node id, its argument bytes, the registered arg and the ids
 * of its inputs in order (every recording node stores its id as result). */
#define WT_MAXN 2048
#define WT_MAXIN 16
static unsigned char *wt_arg[WT_MAXN];
static size_t wt_arglen[WT_MAXN];
static atomic_int wt_argnull[WT_MAXN];
static void *wt_regarg[WT_MAXN];
static atomic_int wt_calls[WT_MAXN];
static uint32_t wt_inputs[WT_MAXN][WT_MAXIN];
static atomic_int wt_ninputs[WT_MAXN];

static void wt_records_clear(void)
{
    for (int i = 0; i < WT_MAXN; i++) {
        free(wt_arg[i]);
        wt_arg[i] = NULL;
        wt_arglen[i] = 0;
        atomic_store(&wt_argnull[i], 0);
        wt_regarg[i] = NULL;
        atomic_store(&wt_calls[i], 0);
        atomic_store(&wt_ninputs[i], 0);
    }
}

static int wt_rec_task(weft_node_ctx_t *ctx, void *arg)
{
    weft_node_t v = weft_node_id(ctx);
    size_t len = 12345;
    if (v >= WT_MAXN) {
        atomic_fetch_add(&wt_bad, 1);
        return 1;
    }
    atomic_fetch_add(&wt_calls[v], 1);
    const void *p = weft_node_arg(ctx, &len);
    atomic_store(&wt_argnull[v], p == NULL);
    wt_arglen[v] = len;
    if (p && len) {
        wt_arg[v] = malloc(len);
        memcpy(wt_arg[v], p, len);
    }
    wt_regarg[v] = arg;
    size_t n = weft_node_input_count(ctx);
    for (size_t i = 0; i < n && i < WT_MAXIN; i++) {
        size_t l = 0;
        const void *in = weft_node_input(ctx, i, &l);
        uint32_t id = UINT32_MAX;
        if (in && l == sizeof id)
            memcpy(&id, in, sizeof id);
        wt_inputs[v][i] = id;
    }
    atomic_store(&wt_ninputs[v], (int)n);
    return weft_node_set_result(ctx, &v, sizeof v);
}

static int wt_marker; /* the registered argument */

START_TEST(test_task_node_arguments)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("args");
    unsigned char bin[300];
    weft_node_t a, b, c, d;
    for (int i = 0; i < 300; i++)
        bin[i] = (unsigned char)(i * 7 + 3);
    bin[0] = 0;
    bin[1] = 0xff;
    bin[299] = 0;
    WT_ASSERT_RC(weft_graph_add_task(g, "a", "rec", bin, sizeof bin, &a), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "b", "rec", "\0\xff\0", 3, &b), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "c", "rec", NULL, 0, &c), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, NULL, "rec", "x", 1, &d), 0);
    ck_assert_uint_eq(d, 3);
    ck_assert_str_eq(weft_graph_node_name(g, d), "n3");
    ck_assert_str_eq(weft_graph_node_task(g, a), "rec");
    memset(bin, 0x55, sizeof bin); /* the graph holds a copy */
    WT_ASSERT_RC(weft_graph_precede(g, a, c), 0);
    WT_ASSERT_RC(weft_graph_precede(g, b, c), 0);
    WT_ASSERT_RC(weft_task_register("rec", wt_rec_task, &wt_marker), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), 0);
    for (int i = 0; i < 300; i++)
        bin[i] = (unsigned char)(i * 7 + 3);
    bin[0] = 0;
    bin[1] = 0xff;
    bin[299] = 0;
    ck_assert_uint_eq(wt_arglen[a], 300);
    ck_assert_mem_eq(wt_arg[a], bin, 300);
    ck_assert_uint_eq(wt_arglen[b], 3);
    ck_assert_mem_eq(wt_arg[b], "\0\xff\0", 3);
    ck_assert_int_eq(wt_ld(&wt_argnull[c]), 1);
    ck_assert_uint_eq(wt_arglen[c], 0);
    ck_assert_uint_eq(wt_arglen[d], 1);
    ck_assert_mem_eq(wt_arg[d], "x", 1);
    for (weft_node_t v = 0; v < 4; v++) {
        ck_assert_ptr_eq(wt_regarg[v], &wt_marker);
        ck_assert_int_eq(wt_ld(&wt_calls[v]), 1);
    }
    ck_assert_int_eq(wt_ld(&wt_ninputs[c]), 2);
    ck_assert_uint_eq(wt_inputs[c][0], a);
    ck_assert_uint_eq(wt_inputs[c][1], b);
    /* set_arg on a task node replaces its bytes. */
    WT_ASSERT_RC(weft_graph_set_arg(g, b, "\xff\xfe", 2), 0);
    wt_records_clear();
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), 0);
    ck_assert_uint_eq(wt_arglen[b], 2);
    ck_assert_mem_eq(wt_arg[b], "\xff\xfe", 2);
    wt_records_clear();
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_task_not_registered)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("missing");
    weft_node_t f, t1, t2;
    WT_ASSERT_RC(weft_task_register("present", wt_rec_task, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "fn-node", wt_rec_task, NULL, &f), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "first", "present", NULL, 0, &t1), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "second", "absent-task", "z", 1, &t2), 0);
    WT_ASSERT_RC(weft_graph_precede(g, f, t1), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), WEFT_ENOENT);
    const char *msg = weft_graph_error();
    ck_assert_msg(strstr(msg, "'second'") != NULL && strstr(msg, "'absent-task'") != NULL,
                  "weft_graph_error() = \"%s\" does not name node 'second' and task 'absent-task'", msg);
    int ran = 0;
    for (int v = 0; v < 3; v++)
        ran += wt_ld(&wt_calls[v]);
    ck_assert_int_eq(ran, 0); /* nothing ran, not even the function node */
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), WEFT_ENOENT);
    WT_ASSERT_RC(weft_graph_run_n(g, rt, 3, NULL, NULL), WEFT_ENOENT);
    /* Registered later: the graph runs (tasks are looked up per run). */
    WT_ASSERT_RC(weft_task_register("absent-task", wt_rec_task, &wt_marker), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.done, 3);
    ck_assert_ptr_eq(wt_regarg[t2], &wt_marker);
    wt_run_free(run);
    /* Unregistered again: refused again. */
    WT_ASSERT_RC(weft_task_unregister("present"), 0);
    wt_records_clear();
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), WEFT_ENOENT);
    ck_assert_msg(strstr(weft_graph_error(), "'first'") && strstr(weft_graph_error(), "'present'"),
                  "weft_graph_error() = \"%s\"", weft_graph_error());
    ck_assert_int_eq(wt_ld(&wt_calls[f]), 0);
    wt_records_clear();
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* graph.h: "*run receives the run record; it is made whatever the outcome,
 * unless the error is WEFT_EINVAL, WEFT_EBUSY, WEFT_ECYCLE or WEFT_ENOMEM
 * before anything ran" -- WEFT_ENOENT is not among them. */
START_TEST(test_task_not_registered_run_record)
{
    /* Nothing runs when a task is missing, so no run record is made
     * (graph.h: the same as for a cycle), and the graph stays usable. */
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("missing");
    weft_run_t *run = (weft_run_t *)&run; /* must be reset to NULL */
    WT_ASSERT_RC(weft_graph_add_task(g, "only", "nobody-registered-this", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "other", "nobody-registered-this", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), WEFT_ENOENT);
    ck_assert_msg(run == NULL, "weft_graph_run made a run record although nothing ran");
    run = (weft_run_t *)&run;
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), WEFT_ENOENT);
    ck_assert_ptr_null(run);
    WT_ASSERT_RC(weft_task_register("nobody-registered-this", wt_rec_task, NULL), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    ck_assert_ptr_nonnull(run);
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.total, 2);
    ck_assert_uint_eq(c.done, 2);
    wt_run_free(run);
    WT_ASSERT_RC(weft_task_unregister("nobody-registered-this"), 0);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_task_replaced_between_runs)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("swap");
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_add_task(g, "x", "job", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "y", "job", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 1), 0);
    WT_ASSERT_RC(weft_task_register("job", wt_rec_task, NULL), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), 0);
    ck_assert_int_eq(wt_ld(&wt_calls[0]), 1);
    WT_ASSERT_RC(weft_task_register("job", wt_task_b, NULL), 0); /* fails */
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), WEFT_ETASK);
    ck_assert_int_eq(wt_ld(&wt_calls[0]), 1); /* the new function ran */
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.failed, 1);
    ck_assert_uint_eq(c.skipped, 1);
    ck_assert_uint_eq(c.first_failed, 0);
    ck_assert_int_eq(c.first_code, 1);
    wt_run_free(run);
    wt_records_clear();
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Graph files: round trip                                             */

/* The round-trip graph: every kind of name, every byte value as argument,
 * edges in a chosen order (with a duplicate). */
typedef struct wt_spec {
    size_t n;
    char *name[WT_MAXN];
    const char *task[WT_MAXN];
    unsigned char *arg[WT_MAXN];
    size_t len[WT_MAXN];
    size_t m;
    uint32_t src[4 * WT_MAXN], dst[4 * WT_MAXN];
} wt_spec;

static wt_spec wt_S;

static void wt_spec_node(const char *name, size_t nlen, const char *task, const void *arg, size_t len)
{
    size_t v = wt_S.n++;
    wt_S.name[v] = malloc(nlen + 1);
    memcpy(wt_S.name[v], name, nlen);
    wt_S.name[v][nlen] = 0;
    wt_S.task[v] = task;
    wt_S.arg[v] = len ? malloc(len) : NULL;
    if (len)
        memcpy(wt_S.arg[v], arg, len);
    wt_S.len[v] = len;
}

static void wt_spec_edge(uint32_t a, uint32_t b)
{
    wt_S.src[wt_S.m] = a;
    wt_S.dst[wt_S.m] = b;
    wt_S.m++;
}

static void wt_spec_free(void)
{
    for (size_t v = 0; v < wt_S.n; v++) {
        free(wt_S.name[v]);
        free(wt_S.arg[v]);
    }
    memset(&wt_S, 0, sizeof wt_S);
}

static const char *wt_tasks[] = {"rec", "node", "z\xc3\xa4hler", "x\"y", "a#b", "back\\slash"};

static void wt_register_rec_tasks(void)
{
    for (size_t i = 0; i < sizeof wt_tasks / sizeof wt_tasks[0]; i++)
        WT_ASSERT_RC(weft_task_register(wt_tasks[i], wt_rec_task, &wt_marker), 0);
}

static void wt_build_spec(void)
{
    unsigned char all[256], big[20000];
    char longname[WEFT_NAME_MAX];
    memset(&wt_S, 0, sizeof wt_S);
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    uint64_t x = 12345;
    for (size_t i = 0; i < sizeof big; i++) {
        x = wt_mix64(x);
        big[i] = (unsigned char)x;
    }
    memset(longname, 'L', sizeof longname);
#define WT_L(lit) lit, (sizeof(lit) - 1)
    wt_spec_node(WT_L("plain"), "rec", NULL, 0);                                     /* 0 */
    wt_spec_node(WT_L("with space"), "rec", WT_L("hello world\n\t\"q\" \\ end"));     /* 1 */
    wt_spec_node(WT_L(""), "node", NULL, 0);                                         /* 2 */
    wt_spec_node(WT_L("quote\"back\\slash"), "rec", all, 256);                      /* 3 */
    wt_spec_node(WT_L("gr\xc3\xb6\xc3\x9f" "e"), "z\xc3\xa4hler", WT_L("gr\xc3\xb6\xc3\x9f" "e=1")); /* 4 */
    wt_spec_node(WT_L("bad\xff\xfeutf8"), "rec", WT_L("\xff"));                       /* 5 */
    wt_spec_node(WT_L("tab\tnew\nline\rcr"), "x\"y", WT_L("\0"));                      /* 6 */
    wt_spec_node(WT_L("#hash"), "a#b", WT_L("#not a comment"));                      /* 7 */
    wt_spec_node(WT_L("edge"), "back\\slash", WT_L("mostly text\x01\x02 with two"));  /* 8 */
    wt_spec_node(WT_L("x\""), "rec", WT_L("\x01\x02\x03\x04text"));                   /* 9: hex */
    wt_spec_node(longname, sizeof longname, "rec", big, sizeof big);                 /* 10 */
    wt_spec_node(WT_L("ctl\x01\x7f"), "rec", WT_L("\"\""));                             /* 11 */
    wt_spec_node(WT_L("sink"), "rec", NULL, 0);                                      /* 12 */
#undef WT_L
    for (int i = 0; i < 256; i++) { /* 13..268: one node per byte value */
        char nm[16];
        unsigned char b = (unsigned char)i;
        snprintf(nm, sizeof nm, "b%d", i);
        wt_spec_node(nm, strlen(nm), "rec", &b, 1);
    }
    for (int i = 0; i < 256; i += 3) { /* 269..: two-byte arguments mixing values */
        char nm[16];
        unsigned char b[2] = {(unsigned char)i, (unsigned char)(255 - i)};
        snprintf(nm, sizeof nm, "pair%d", i);
        wt_spec_node(nm, strlen(nm), "rec", b, 2);
    }
    /* Edges: the sink's inputs in the order 5, 3, 0, 9, 3 (again), 1, 11. */
    static const uint32_t into_sink[] = {5, 3, 0, 9, 3, 1, 11};
    for (size_t i = 0; i < sizeof into_sink / sizeof into_sink[0]; i++)
        wt_spec_edge(into_sink[i], 12);
    wt_spec_edge(2, 0);
    wt_spec_edge(4, 5);
    wt_spec_edge(6, 7);
    wt_spec_edge(7, 8);
    wt_spec_edge(8, 3);
    wt_spec_edge(10, 3);
    for (uint32_t v = 13; v + 1 < wt_S.n; v += 2)
        wt_spec_edge(v + 1, v); /* backwards in id order */
}

static weft_graph_t *wt_spec_graph(void)
{
    weft_graph_t *g = wt_graph("round \"trip\" gr\xc3\xa4ph\t#1");
    for (size_t v = 0; v < wt_S.n; v++) {
        weft_node_t id;
        int rc = weft_graph_add_task(g, wt_S.name[v], wt_S.task[v], wt_S.arg[v], wt_S.len[v], &id);
        if (rc != 0 || id != v)
            ck_abort_msg("add_task %zu: %d", v, rc);
    }
    for (size_t i = 0; i < wt_S.m; i++)
        WT_ASSERT_RC(weft_graph_precede(g, wt_S.src[i], wt_S.dst[i]), 0);
    return g;
}

/* g has exactly the spec's nodes, names, tasks and edge count; running it
 * shows the spec's argument bytes and the sink's input order. */
static void wt_assert_spec_graph(weft_graph_t *g, weft_runtime_t *rt)
{
    ck_assert_str_eq(weft_graph_name(g), "round \"trip\" gr\xc3\xa4ph\t#1");
    ck_assert_uint_eq(weft_graph_node_count(g), wt_S.n);
    ck_assert_uint_eq(weft_graph_edge_count(g), wt_S.m);
    int bad_names = 0, bad_tasks = 0, bad_args = 0;
    size_t first_bad = 0;
    for (size_t v = 0; v < wt_S.n; v++) {
        const char *nm = weft_graph_node_name(g, (weft_node_t)v);
        const char *tk = weft_graph_node_task(g, (weft_node_t)v);
        if ((!nm || strcmp(nm, wt_S.name[v]) != 0) && bad_names++ == 0)
            first_bad = v;
        bad_tasks += !tk || strcmp(tk, wt_S.task[v]) != 0;
    }
    ck_assert_msg(bad_names == 0, "%d names differ; first: node %zu", bad_names, first_bad);
    ck_assert_int_eq(bad_tasks, 0);
    wt_records_clear();
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    for (size_t v = 0; v < wt_S.n; v++) {
        int ok = wt_ld(&wt_calls[v]) == 1 && wt_arglen[v] == wt_S.len[v] &&
                 (wt_S.len[v] == 0 ? wt_ld(&wt_argnull[v]) == 1
                                   : memcmp(wt_arg[v], wt_S.arg[v], wt_S.len[v]) == 0) &&
                 wt_regarg[v] == &wt_marker;
        if (!ok && bad_args++ == 0)
            first_bad = v;
    }
    ck_assert_msg(bad_args == 0,
                  "%d nodes saw other argument bytes; first: node %zu (%zu bytes, expected %zu)",
                  bad_args, first_bad, wt_arglen[first_bad], wt_S.len[first_bad]);
    static const uint32_t want[] = {5, 3, 0, 9, 3, 1, 11};
    ck_assert_int_eq(wt_ld(&wt_ninputs[12]), 7);
    for (int i = 0; i < 7; i++)
        ck_assert_uint_eq(wt_inputs[12][i], want[i]);
    ck_assert_int_eq(wt_ld(&wt_ninputs[13]), 1); /* b0 <- b1 */
    ck_assert_uint_eq(wt_inputs[13][0], 14);
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.done, wt_S.n);
    wt_run_free(run);
    wt_records_clear();
}

START_TEST(test_save_load_round_trip)
{
    weft_runtime_t *rt = wt_runtime(2);
    wt_register_rec_tasks();
    wt_build_spec();
    weft_graph_t *g = wt_spec_graph();
    wt_assert_spec_graph(g, rt); /* the original, as built */
    wt_text t1 = wt_save(g);
    ck_assert_str_eq(weft_graph_error(), "");
    ck_assert_msg(strncmp(t1.s, "# ", 2) == 0 && strstr(t1.s, "\nweft-graph 1\n") != NULL,
                  "saved text starts: %.80s", t1.s);
    weft_graph_t *h = NULL;
    int rc = wt_load_n(t1.s, t1.len, &h);
    ck_assert_msg(rc == 0, "loading the saved text: %d (%s): %s", rc, weft_err_name(rc), weft_graph_error());
    wt_assert_spec_graph(h, rt);
    /* Saving the loaded graph gives the same text. */
    wt_text t2 = wt_save(h);
    ck_assert_uint_eq(t2.len, t1.len);
    ck_assert_msg(memcmp(t1.s, t2.s, t1.len) == 0, "the second save differs");
    free(t1.s);
    free(t2.s);
    wt_graph_free(h);
    wt_graph_free(g);
    wt_spec_free();
    wt_destroy(rt);
}
END_TEST

START_TEST(test_save_load_files)
{
    weft_runtime_t *rt = wt_runtime(2);
    char path[64];
    wt_register_rec_tasks();
    wt_build_spec();
    weft_graph_t *g = wt_spec_graph(), *h = NULL;
    wt_tmpname(path, sizeof path, ".wg");
    WT_ASSERT_RC(weft_graph_save_file(g, path), 0);
    WT_ASSERT_RC(weft_graph_load_file(path, &h), 0);
    wt_assert_spec_graph(h, rt);
    /* The file holds what weft_graph_save writes. */
    size_t len = 0;
    char *file = wt_read_file(path, &len);
    wt_text t = wt_save(g);
    ck_assert_ptr_nonnull(file);
    ck_assert_uint_eq(len, t.len);
    ck_assert_msg(memcmp(file, t.s, len) == 0, "save_file and save differ");
    free(file);
    free(t.s);
    unlink(path);
    /* A missing file. */
    weft_graph_t *none = g;
    WT_ASSERT_RC(weft_graph_load_file("/nonexistent/dir/x.wg", &none), WEFT_EIO);
    ck_assert_ptr_null(none);
    ck_assert_msg(strstr(weft_graph_error(), "cannot open '/nonexistent/dir/x.wg'") != NULL,
                  "weft_graph_error() = \"%s\"", weft_graph_error());
    WT_ASSERT_RC(weft_graph_save_file(g, "/nonexistent/dir/x.wg"), WEFT_EIO);
    WT_ASSERT_RC(weft_graph_load_file(NULL, &none), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_load_file(path, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_load(NULL, &none), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_save(NULL, stdout), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_save(g, NULL), WEFT_EINVAL);
    wt_graph_free(h);
    wt_graph_free(g);
    wt_spec_free();
    wt_destroy(rt);
}
END_TEST

START_TEST(test_save_function_node_refused)
{
    weft_graph_t *g = wt_graph("mixed"), *sub = wt_graph("inner");
    wt_text t;
    char path[64];
    WT_ASSERT_RC(weft_graph_add_task(g, "t", "rec", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "sum", wt_task_a, NULL, NULL), 0);
    FILE *f = wt_mem(&t);
    WT_ASSERT_RC(weft_graph_save(g, f), WEFT_ENOTSUP);
    fclose(f);
    ck_assert_uint_eq(t.len, 0); /* nothing written */
    free(t.s);
    ck_assert_str_eq(weft_graph_error(),
                     "node 'sum' runs a C function: graph files hold named-task and subgraph nodes only");
    /* save_file leaves no file behind. */
    wt_tmpname(path, sizeof path, ".wg");
    unlink(path);
    WT_ASSERT_RC(weft_graph_save_file(g, path), WEFT_ENOTSUP);
    ck_assert_int_ne(access(path, F_OK), 0);
    wt_graph_free(g);

    /* A subgraph holding a function node, two levels down: refused, naming
     * the node and its graph; nothing written. */
    g = wt_graph("with-sub");
    weft_graph_t *mid = wt_graph("middle");
    WT_ASSERT_RC(weft_graph_add_task(g, "t", "rec", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "nested", mid, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(mid, "deeper", sub, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_task(sub, "ok", "rec", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(sub, "sum", wt_task_a, NULL, NULL), 0);
    f = wt_mem(&t);
    WT_ASSERT_RC(weft_graph_save(g, f), WEFT_ENOTSUP);
    fclose(f);
    ck_assert_uint_eq(t.len, 0);
    free(t.s);
    ck_assert_str_eq(weft_graph_error(), "node 'sum' of subgraph 'inner' runs a C function: "
                                         "graph files hold named-task and subgraph nodes only");
    WT_ASSERT_RC(weft_graph_save_file(g, path), WEFT_ENOTSUP);
    ck_assert_int_ne(access(path, F_OK), 0);
    wt_graph_free(g);
    /* Two nodes of a subgraph with one name. */
    g = wt_graph("with-sub");
    weft_graph_t *twins = wt_graph("twins");
    WT_ASSERT_RC(weft_graph_add_task(twins, "x", "rec", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_task(twins, "x", "rec", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "s", twins, NULL), 0);
    f = wt_mem(&t);
    WT_ASSERT_RC(weft_graph_save(g, f), WEFT_ENOTSUP);
    fclose(f);
    ck_assert_uint_eq(t.len, 0);
    free(t.s);
    ck_assert_str_eq(weft_graph_error(), "nodes 0 and 1 of subgraph 'twins' are both called 'x': "
                                         "names must be unique in a graph file");
    wt_graph_free(g);
    wt_graph_free(twins);
    wt_graph_free(mid);
    g = wt_graph("dups");
    WT_ASSERT_RC(weft_graph_add_task(g, "x", "rec", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "y", "rec", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "x", "rec", NULL, 0, NULL), 0);
    f = wt_mem(&t);
    WT_ASSERT_RC(weft_graph_save(g, f), WEFT_ENOTSUP);
    fclose(f);
    ck_assert_uint_eq(t.len, 0);
    free(t.s);
    ck_assert_str_eq(weft_graph_error(),
                     "nodes 0 and 2 are both called 'x': names must be unique in a graph file");
    wt_graph_free(g);
    wt_graph_free(sub);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Graph files: reading                                                */

START_TEST(test_load_semantics)
{
    /* A byte order mark, CRLF endings, comments, tabs, multi-node edge
     * lines, duplicate edges, hex with spaces and both cases, "" as no
     * argument, escapes, raw tabs and UTF-8 in quotes, 'word#comment', and
     * no newline at the end. */
    static const char text[] =
        "\xef\xbb\xbf# leading comment\r\n"
        "\r\n"
        "   # indented comment\n"
        "weft-graph 1 # trailing comment\r\n"
        "name\tsyntax\n"
        "node a rec\n"
        "node \"b c\" rec x\"00 FF aB\"\n"
        "node d rec \"\"\n"
        "node x\"6e6f6465\" rec \"\\x41\\0\\t\\n\\r\\\\\\\"\"\n"
        "node e rec#a comment\n"
        "node \"\" rec x\"\"\n"
        "node \"\xc3\xa4\" rec \"\xc3\xa4\t raw\"\n"
        "edge a \"b c\" d\n"
        "edge a d\t# a duplicate edge into d\n"
        "edge a d\n"
        "edge node e#comment\n"
        "edge \"\" e";
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = NULL;
    int rc = wt_load(text, &g);
    ck_assert_msg(rc == 0, "load = %d: %s", rc, weft_graph_error());
    ck_assert_str_eq(weft_graph_error(), "");
    ck_assert_str_eq(weft_graph_name(g), "syntax");
    ck_assert_uint_eq(weft_graph_node_count(g), 7);
    ck_assert_uint_eq(weft_graph_edge_count(g), 6);
    static const char *names[7] = {"a", "b c", "d", "node", "e", "", "\xc3\xa4"};
    for (weft_node_t v = 0; v < 7; v++) {
        ck_assert_str_eq(weft_graph_node_name(g, v), names[v]);
        ck_assert_str_eq(weft_graph_node_task(g, v), "rec");
    }
    WT_ASSERT_RC(weft_task_register("rec", wt_rec_task, NULL), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), 0);
    ck_assert_int_eq(wt_ld(&wt_argnull[0]), 1);
    ck_assert_uint_eq(wt_arglen[1], 3);
    ck_assert_mem_eq(wt_arg[1], "\x00\xff\xab", 3);
    ck_assert_int_eq(wt_ld(&wt_argnull[2]), 1); /* "" is no argument */
    ck_assert_uint_eq(wt_arglen[3], 7);
    ck_assert_mem_eq(wt_arg[3], "A\0\t\n\r\\\"", 7);
    ck_assert_int_eq(wt_ld(&wt_argnull[4]), 1);
    ck_assert_int_eq(wt_ld(&wt_argnull[5]), 1);
    ck_assert_uint_eq(wt_arglen[6], 7);
    ck_assert_mem_eq(wt_arg[6], "\xc3\xa4\t raw", 7);
    /* d's inputs in edge order: b c, a, a; e's: node, "" */
    ck_assert_int_eq(wt_ld(&wt_ninputs[2]), 3);
    ck_assert_uint_eq(wt_inputs[2][0], 1);
    ck_assert_uint_eq(wt_inputs[2][1], 0);
    ck_assert_uint_eq(wt_inputs[2][2], 0);
    ck_assert_int_eq(wt_ld(&wt_ninputs[4]), 2);
    ck_assert_uint_eq(wt_inputs[4][0], 3);
    ck_assert_uint_eq(wt_inputs[4][1], 5);
    wt_records_clear();
    wt_graph_free(g);
    /* No 'name' line: the graph is called "graph"; no nodes at all is fine. */
    g = wt_load_ok("weft-graph 1\n");
    ck_assert_str_eq(weft_graph_name(g), "graph");
    ck_assert_uint_eq(weft_graph_node_count(g), 0);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

typedef struct wt_bad_case {
    const char *text;
    size_t len; /* 0: strlen */
    const char *msg; /* the whole weft_graph_error() */
} wt_bad_case;

static void wt_check_bad(const wt_bad_case *c, int i)
{
    weft_graph_t *g;
    size_t len = c->len ? c->len : strlen(c->text);
    int rc = wt_load_n(c->text, len, &g);
    ck_assert_msg(rc == WEFT_EPARSE, "case %d: load = %d (%s), expected WEFT_EPARSE; message \"%s\"",
                  i, rc, weft_err_name(rc), weft_graph_error());
    ck_assert_msg(g == NULL, "case %d: *g is not NULL after an error", i);
    ck_assert_msg(strcmp(weft_graph_error(), c->msg) == 0,
                  "case %d: weft_graph_error() = \"%s\", expected \"%s\"", i, weft_graph_error(), c->msg);
}

START_TEST(test_load_errors)
{
    char *longname = malloc(WEFT_NAME_MAX + 64);
    ck_assert_ptr_nonnull(longname);
    char *toolong = malloc(WEFT_NAME_MAX + 200);
    memset(longname, 'n', WEFT_NAME_MAX + 1);
    longname[WEFT_NAME_MAX + 1] = 0;
    snprintf(toolong, WEFT_NAME_MAX + 200, "weft-graph 1\n\nnode %s t\n", longname);
    char *toolong_task = malloc(WEFT_NAME_MAX + 200);
    snprintf(toolong_task, WEFT_NAME_MAX + 200, "weft-graph 1\nnode a %s\n", longname);
    char *toolong_graph = malloc(WEFT_NAME_MAX + 200);
    snprintf(toolong_graph, WEFT_NAME_MAX + 200, "# c\nweft-graph 1\nname %s\n", longname);
    static const char nul_line[] = "weft-graph 1\nnode a t\nnode b\0c t\n";
    const wt_bad_case cases[] = {
        {"node a t\n", 0, "line 1: missing 'weft-graph 1' header (found 'node' first)"},
        {"# only a comment\n\nnode a t\n", 0,
         "line 3: missing 'weft-graph 1' header (found 'node' first)"},
        {"", 0, "line 1: missing 'weft-graph 1' header (the file has no directives)"},
        {"weft-run 1\n", 0, "line 1: this is a run file ('weft-run'), not a graph file"},
        {"weft-graph 2\n", 0, "line 1: unsupported graph file version 2 (this weft reads version 1)"},
        {"weft-graph one\n", 0, "line 1: bad version 'one' after 'weft-graph'"},
        {"weft-graph\n", 0, "line 1: missing version after 'weft-graph'"},
        {"weft-graph 1\nnode a t\n\n\n\n\n\n\nweft-graph 1\n", 0, "line 9: duplicate 'weft-graph' header"},
        {"weft-graph 1\n# c\n\nnodes a t\n", 0, "line 4: unknown directive 'nodes'"},
        {"weft-graph 1\n\"node\" a t\n", 0,
         "line 2: expected a directive at the start of the line, found a quoted string"},
        {"weft-graph 1\nnode merge t\nnode a t\n\nnode merge u\n", 0,
         "line 5: duplicate node name 'merge'"},
        {"weft-graph 1\nnode a t\nnode b t\n\n\n\nedge a b merge\n", 0,
         "line 7: edge to unknown node 'merge'"},
        {"weft-graph 1\nnode a t\nedge x a\n", 0, "line 3: edge from unknown node 'x'"},
        {"weft-graph 1\nnode a t\nedge b a\nnode b t\n", 0, "line 3: edge from unknown node 'b'"},
        {"weft-graph 1\nnode a t\nedge a\n", 0, "line 3: 'edge' needs at least two node names"},
        {"weft-graph 1\n\nnode\n", 0, "line 3: missing node name"},
        {"weft-graph 1\n\nnode a\n", 0, "line 3: missing task name"},
        {"weft-graph 1\n\nnode a # t\n", 0, "line 3: missing task name"},
        {"weft-graph 1\n\nnode a \"\"\n", 0, "line 3: empty task name"},
        {"weft-graph 1\n\nname \"\"\n", 0, "line 3: empty graph name"},
        {toolong, 0, "line 3: node name too long (1025 bytes, at most 1024)"},
        {toolong_task, 0, "line 2: task name too long (1025 bytes, at most 1024)"},
        {toolong_graph, 0, "line 3: graph name too long (1025 bytes, at most 1024)"},
        {"weft-graph 1\n\nnode \"a\\0b\" t\n", 0, "line 3: node name contains a NUL byte"},
        {"weft-graph 1\n\nnode a t abc\n", 0,
         "line 3: argument bytes must be a quoted or hex string, not the bare word 'abc'"},
        {"weft-graph 1\n\nnode a t \"arg\" x\n", 0,
         "line 3: unexpected 'x' after the 'node' line's last field (trailing garbage)"},
        {"weft-graph 1\nnode a t\nname late\n", 0,
         "line 3: 'name' must come before the first node or edge"},
        {"weft-graph 1\nname one\nname two\n", 0, "line 3: duplicate 'name' line"},
        {"weft-graph 1\n\nnode a t \"\\q\"\n", 0, "line 3: bad escape '\\q'"},
        {"weft-graph 1\n\nnode a t \"\\x4\"\n", 0, "line 3: bad escape '\\x': it needs two hex digits"},
        {"weft-graph 1\n\nnode a t \"abc\n", 0, "line 3: unterminated quoted string"},
        {"weft-graph 1\n\nnode a t x\"00\n", 0, "line 3: unterminated hex string"},
        {"weft-graph 1\n\nnode a t x\"0\"\n", 0, "line 3: odd number of hex digits in a hex string"},
        {"weft-graph 1\n\nnode a t x\"0g\"\n", 0, "line 3: bad hex digit 'g'"},
        {"weft-graph 1\n\nnode a\"b t\n", 0, "line 3: unexpected '\"' in 'a\"' (quote the whole word)"},
        {"weft-graph 1\n\nnode \"a\"b t\n", 0, "line 3: unexpected 'b' right after a closing quote"},
        {"weft-graph 1\n\nnode a\x01 t\n", 0,
         "line 3: control character 0x01 (write it as \\x01 inside quotes)"},
        {nul_line, sizeof nul_line - 1, "line 3: NUL byte in the line"},
        {"weft-graph 1\r\nnode a t\r\nedge a zz\r\n", 0, "line 3: edge to unknown node 'zz'"},
    };
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++)
        wt_check_bad(&cases[i], i);
    /* A good load after a bad one clears the message. */
    weft_graph_t *g = wt_load_ok("weft-graph 1\nnode a t\n");
    ck_assert_str_eq(weft_graph_error(), "");
    wt_graph_free(g);
    free(longname);
    free(toolong);
    free(toolong_task);
    free(toolong_graph);
}
END_TEST

START_TEST(test_load_data_files)
{
    weft_graph_t *g = NULL;
    WT_ASSERT_RC(weft_graph_load_file(WEFT_TEST_DATA_DIR "/pipeline.wg", &g), 0);
    ck_assert_str_eq(weft_graph_name(g), "pipeline");
    ck_assert_uint_eq(weft_graph_node_count(g), 6);
    ck_assert_uint_eq(weft_graph_edge_count(g), 6);
    weft_node_t v;
    WT_ASSERT_RC(weft_graph_find(g, "count bytes", &v), 0);
    ck_assert_uint_eq(v, 3);
    ck_assert_str_eq(weft_graph_node_task(g, v), "count");
    wt_graph_free(g);
    g = (weft_graph_t *)&wt_bad;
    WT_ASSERT_RC(weft_graph_load_file(WEFT_TEST_DATA_DIR "/bad_edge.wg", &g), WEFT_EPARSE);
    ck_assert_ptr_null(g);
    ck_assert_str_eq(weft_graph_error(), "line 6: edge to unknown node 'merge'");
}
END_TEST

/* The pipeline of FORMAT.md, run with real tasks: words and bytes of the
 * argument text, merged and reported. */
static atomic_long wt_report_value = -1;

static long wt_input_long(weft_node_ctx_t *ctx, size_t i)
{
    size_t len = 0;
    const void *p = weft_node_input(ctx, i, &len);
    long x = -1;
    if (p && len == sizeof x)
        memcpy(&x, p, sizeof x);
    return x;
}

static int wt_count_task(weft_node_ctx_t *ctx, void *arg)
{
    size_t len = 0;
    const unsigned char *p = weft_node_arg(ctx, &len);
    long n = 0;
    (void)arg;
    if (len >= 5 && memcmp(p, "words", 5) == 0) {
        n = 100; /* a mode tag: words */
    } else {
        n = (long)len;
    }
    n += wt_input_long(ctx, 0);
    return weft_node_set_result(ctx, &n, sizeof n);
}

static int wt_const_task(weft_node_ctx_t *ctx, void *arg)
{
    long n = (long)(intptr_t)arg;
    return weft_node_set_result(ctx, &n, sizeof n);
}

static int wt_merge_task(weft_node_ctx_t *ctx, void *arg)
{
    long n = 0;
    (void)arg;
    for (size_t i = 0; i < weft_node_input_count(ctx); i++)
        n = n * 1000 + wt_input_long(ctx, i); /* order-sensitive */
    return weft_node_set_result(ctx, &n, sizeof n);
}

static int wt_report_task(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    atomic_store(&wt_report_value, wt_input_long(ctx, 0));
    return 0;
}

START_TEST(test_loaded_graph_runs)
{
    static const char text[] = "weft-graph 1\n"
                               "name pipeline\n"
                               "node read   read-file\n"
                               "node split  split-lines\n"
                               "node words  count \"words\"\n"
                               "node bytes  count x\"00 01 ff\"\n"
                               "node merge  merge\n"
                               "node report print\n"
                               "edge read split\n"
                               "edge split words merge\n"
                               "edge split bytes merge\n"
                               "edge merge report\n";
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_load_ok(text);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), WEFT_ENOENT); /* nothing registered yet */
    WT_ASSERT_RC(weft_task_register("read-file", wt_const_task, (void *)(intptr_t)1), 0);
    WT_ASSERT_RC(weft_task_register("split-lines", wt_const_task, (void *)(intptr_t)2), 0);
    WT_ASSERT_RC(weft_task_register("count", wt_count_task, NULL), 0);
    WT_ASSERT_RC(weft_task_register("merge", wt_merge_task, NULL), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), WEFT_ENOENT); /* "print" is missing */
    ck_assert_int_eq((int)wt_ldl(&wt_report_value), -1);
    WT_ASSERT_RC(weft_task_register("print", wt_report_task, NULL), 0);
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    /* words: 100 + 2, bytes: 3 + 2, merged in edge order: 102 * 1000 + 5 */
    ck_assert_int_eq((int)wt_ldl(&wt_report_value), 102005);
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.done, 6);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Graph files with subgraphs                                          */

/* top: a -> s1 [mid] -> s2 [mid] -> z; mid: m -> in [leaf]; leaf: l1 -> l2.
 * mid is shared by s1 and s2: three levels, one shared subgraph. */
static const char wt_nested_text[] =
    "# weft graph file: 4 nodes, 3 edges, 2 subgraphs defined first\n"
    "weft-graph 1\n"
    "name top\n"
    "\n"
    "graph leaf\n"
    "  node l1 t\n"
    "  node l2 t \"two\"\n"
    "  edge l1 l2\n"
    "end\n"
    "\n"
    "graph mid\n"
    "  node m t x\"0001\"\n"
    "  subgraph in leaf\n"
    "  edge m in\n"
    "end\n"
    "\n"
    "node a t\n"
    "subgraph s1 mid\n"
    "subgraph s2 mid \"sub arg\"\n"
    "node z t\n"
    "\n"
    "edge a s1\n"
    "edge s1 s2\n"
    "edge s2 z\n";

static weft_graph_t *wt_nested_build(weft_graph_t **mid, weft_graph_t **leaf)
{
    weft_graph_t *g = wt_graph("top");
    *mid = wt_graph("mid");
    *leaf = wt_graph("leaf");
    WT_ASSERT_RC(weft_graph_add_task(*leaf, "l1", "t", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_task(*leaf, "l2", "t", "two", 3, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(*leaf, 0, 1), 0);
    WT_ASSERT_RC(weft_graph_add_task(*mid, "m", "t", "\0\1", 2, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(*mid, "in", *leaf, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(*mid, 0, 1), 0);
    weft_node_t s2;
    WT_ASSERT_RC(weft_graph_add_task(g, "a", "t", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "s1", *mid, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "s2", *mid, &s2), 0);
    WT_ASSERT_RC(weft_graph_set_arg(g, s2, "sub arg", 7), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "z", "t", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 1), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 1, 2), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 2, 3), 0);
    return g;
}

START_TEST(test_nested_round_trip)
{
    weft_graph_t *mid, *leaf, *g = wt_nested_build(&mid, &leaf);
    wt_text t = wt_save(g);
    ck_assert_msg(strcmp(t.s, wt_nested_text) == 0, "saved:\n%s\nexpected:\n%s", t.s, wt_nested_text);
    /* Loaded back: the same structure, and the same text when saved again. */
    weft_graph_t *back = wt_load_ok(t.s);
    ck_assert_str_eq(weft_graph_name(back), "top");
    ck_assert_uint_eq(weft_graph_node_count(back), 4);
    ck_assert_uint_eq(weft_graph_edge_count(back), 3);
    ck_assert_str_eq(weft_graph_node_name(back, 1), "s1");
    ck_assert_ptr_null(weft_graph_node_task(back, 1)); /* a subgraph node */
    ck_assert_str_eq(weft_graph_node_task(back, 3), "t");
    wt_text t2 = wt_save(back);
    ck_assert_str_eq(t2.s, t.s);
    free(t2.s);
    /* The loaded subgraphs belong to the loaded graph: the one free frees
     * them all (the sanitizer build checks that nothing leaks). */
    WT_ASSERT_RC(weft_graph_free(back), 0);
    free(t.s);

    /* Distinct subgraphs with one name get distinct block names, and a
     * 'name' line keeps the real one. */
    weft_graph_t *u = wt_graph("u"), *x1 = wt_graph("x"), *x2 = wt_graph("x"), *x3 = wt_graph("x-2");
    WT_ASSERT_RC(weft_graph_add_subgraph(u, "p", x1, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(u, "q", x2, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(u, "r", x3, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(u, "p again", x1, NULL), 0);
    t = wt_save(u);
    static const char want[] = "# weft graph file: 4 nodes, 0 edges, 3 subgraphs defined first\n"
                               "weft-graph 1\n"
                               "name u\n"
                               "\n"
                               "graph x\n"
                               "end\n"
                               "\n"
                               "graph x-2\n"
                               "  name x\n"
                               "end\n"
                               "\n"
                               "graph x-2-2\n"
                               "  name x-2\n"
                               "end\n"
                               "\n"
                               "subgraph p x\n"
                               "subgraph q x-2\n"
                               "subgraph r x-2-2\n"
                               "subgraph \"p again\" x\n";
    ck_assert_msg(strcmp(t.s, want) == 0, "saved:\n%s", t.s);
    back = wt_load_ok(t.s);
    t2 = wt_save(back);
    ck_assert_str_eq(t2.s, t.s);
    free(t.s);
    free(t2.s);
    wt_graph_free(back);
    wt_graph_free(u);
    wt_graph_free(x1);
    wt_graph_free(x2);
    wt_graph_free(x3);
    wt_graph_free(g);
    wt_graph_free(mid);
    wt_graph_free(leaf);
}
END_TEST

/* Calls of the nested graph's task "t", by node name, and the graph each
 * call of "m" and "l1" ran in. */
static atomic_int wt_ncalls[5];
static _Atomic(weft_graph_t *) wt_ngraph[2][2];

static int wt_nested_task(weft_node_ctx_t *ctx, void *arg)
{
    static const char *names[5] = {"a", "z", "m", "l1", "l2"};
    (void)arg;
    for (int i = 0; i < 5; i++) {
        if (strcmp(weft_node_name(ctx), names[i]) != 0)
            continue;
        int k = atomic_fetch_add(&wt_ncalls[i], 1);
        if (i >= 2 && i <= 3 && k < 2)
            atomic_store(&wt_ngraph[i - 2][k], weft_node_graph(ctx));
        size_t len = 0;
        const void *p = weft_node_arg(ctx, &len);
        if (i == 2 && (len != 2 || memcmp(p, "\0\1", 2) != 0))
            return 7; /* m's argument bytes lost */
        if (i == 4 && (len != 3 || memcmp(p, "two", 3) != 0))
            return 8;
    }
    return 0;
}

START_TEST(test_nested_load_runs)
{
    /* The top graph's lines come first here, and 'mid' is used before its
     * block: blocks may come in any order. */
    static const char text[] = "weft-graph 1\n"
                               "name top\n"
                               "node a t\n"
                               "subgraph s1 mid\n"
                               "subgraph s2 mid\n"
                               "node z t\n"
                               "edge a s1 s2 z\n"
                               "graph mid\n"
                               "  name \"the middle\"\n"
                               "  node m t x\"00 01\"\n"
                               "  subgraph in leaf\n"
                               "  edge m in\n"
                               "end\n"
                               "graph leaf\n"
                               "  node l1 t\n"
                               "  node l2 t \"two\"\n"
                               "  edge l1 l2\n"
                               "end\n"
                               "graph unused # defined, never used: kept, freed with the rest\n"
                               "  node q t\n"
                               "end\n";
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_load_ok(text);
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, NULL), WEFT_ENOENT); /* "t" not registered yet */
    WT_ASSERT_RC(weft_task_register("t", wt_nested_task, NULL), 0);
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), 0);
    /* a and z once; mid's m and leaf's l1, l2 once per use of mid */
    ck_assert_int_eq(atomic_load(&wt_ncalls[0]), 1);
    ck_assert_int_eq(atomic_load(&wt_ncalls[1]), 1);
    ck_assert_int_eq(atomic_load(&wt_ncalls[2]), 2);
    ck_assert_int_eq(atomic_load(&wt_ncalls[3]), 2);
    ck_assert_int_eq(atomic_load(&wt_ncalls[4]), 2);
    /* s1 and s2 ran one shared graph 'the middle', which ran one 'leaf' */
    weft_graph_t *m0 = atomic_load(&wt_ngraph[0][0]), *l0 = atomic_load(&wt_ngraph[1][0]);
    ck_assert_ptr_nonnull(m0);
    ck_assert_ptr_eq(atomic_load(&wt_ngraph[0][1]), m0);
    ck_assert_ptr_eq(atomic_load(&wt_ngraph[1][1]), l0);
    ck_assert_ptr_ne(m0, l0);
    ck_assert_str_eq(weft_graph_name(m0), "the middle");
    ck_assert_str_eq(weft_graph_name(l0), "leaf");
    ck_assert_uint_eq(weft_graph_node_count(m0), 2);
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.total, 4);
    ck_assert_uint_eq(c.done, 4);
    ck_assert_int_eq(weft_run_node_status(run, 2), WEFT_NODE_DONE);
    /* Owned subgraphs cannot be freed on their own, nor the top graph while
     * a run record of it lives. */
    WT_ASSERT_RC(weft_graph_free(m0), WEFT_EBUSY);
    WT_ASSERT_RC(weft_graph_free(g), WEFT_EBUSY);
    wt_run_free(run);
    /* A loaded graph can be a subgraph of a user's graph, and hold one: it
     * is freed once the user's graph that holds it is gone. */
    weft_graph_t *outer = wt_graph("outer"), *extra = wt_graph("extra");
    WT_ASSERT_RC(weft_graph_add_subgraph(outer, "loaded", g, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "more", extra, NULL), 0);
    WT_ASSERT_RC(weft_graph_free(g), WEFT_EBUSY);
    WT_ASSERT_RC(weft_graph_free(extra), WEFT_EBUSY);
    wt_graph_free(outer);
    WT_ASSERT_RC(weft_graph_free(g), 0);
    wt_graph_free(extra); /* g let go of it */
    wt_destroy(rt);
}
END_TEST

START_TEST(test_nested_load_errors)
{
    const wt_bad_case cases[] = {
        {"weft-graph 1\ngraph a\nnode x t\n\ngraph b\n", 0,
         "line 5: 'graph' blocks cannot nest: graph 'a' (line 2) is still open"},
        {"weft-graph 1\nnode x t\nend\n", 0, "line 3: 'end' without a 'graph' block"},
        {"weft-graph 1\n\ngraph a\nnode x t\n", 0, "line 3: graph 'a' is not closed: 'end' is missing"},
        {"weft-graph 1\ngraph a\nend\ngraph b\nend\n\ngraph a\nend\n", 0,
         "line 7: duplicate graph 'a' (defined on line 2)"},
        {"weft-graph 1\nnode x t\nsubgraph s nowhere\nnode y t\nsubgraph s2 nowhere\n", 0,
         "line 3: subgraph node 's' uses graph 'nowhere', which the file does not define"},
        {"weft-graph 1\ngraph a\nnode x t\nsubgraph me a\nend\n", 0,
         "line 4: subgraph node 'me' puts graph 'a' inside itself"},
        {"weft-graph 1\ngraph a\n  subgraph to-b b\nend\ngraph b\n  node x t\n  subgraph to-a a\nend\n", 0,
         "line 7: subgraph node 'to-a' makes a cycle: graph 'a' already contains graph 'b'"},
        {"weft-graph 1\ngraph a\nsubgraph s b\nend\ngraph b\nsubgraph s c\nend\ngraph c\nsubgraph s a\nend\n"
         "subgraph top a\n",
         0, "line 9: subgraph node 's' makes a cycle: graph 'a' already contains graph 'c'"},
        {"weft-graph 1\ngraph\n", 0, "line 2: missing graph name"},
        {"weft-graph 1\ngraph \"\"\n", 0, "line 2: empty graph name"},
        {"weft-graph 1\nnode a t\nsubgraph s\n", 0, "line 3: missing graph name"},
        {"weft-graph 1\nsubgraph\n", 0, "line 2: missing node name"},
        {"weft-graph 1\ngraph a b\n", 0,
         "line 2: unexpected 'b' after the 'graph' line's last field (trailing garbage)"},
        {"weft-graph 1\ngraph a\nend x\n", 0,
         "line 3: unexpected 'x' after the 'end' line's last field (trailing garbage)"},
        {"weft-graph 1\ngraph a\nend\nsubgraph s a bare\n", 0,
         "line 4: argument bytes must be a quoted or hex string, not the bare word 'bare'"},
        {"weft-graph 1\ngraph a\nend\nsubgraph s a \"x\" y\n", 0,
         "line 4: unexpected 'y' after the 'subgraph' line's last field (trailing garbage)"},
        {"weft-graph 1\nnode s t\ngraph a\nend\nsubgraph s a\n", 0, "line 5: duplicate node name 's'"},
        {"weft-graph 1\nnode x t\ngraph a\nnode y t\nedge x y\nend\n", 0,
         "line 5: edge from unknown node 'x'"},
        {"weft-graph 1\ngraph a\nnode y t\nname b\nend\n", 0,
         "line 4: 'name' must come before the first node or edge"},
        {"weft-graph 1\ngraph a\nname b\n\nname c\nend\n", 0, "line 5: duplicate 'name' line"},
        {"weft-graph 1\ngraph a\nweft-graph 1\n", 0, "line 3: duplicate 'weft-graph' header"},
        {"weft-graph 1\ngraph a\nnode y t\nend\nnode z t\nname late\n", 0,
         "line 6: 'name' must come before the first node or edge"},
    };
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++)
        wt_check_bad(&cases[i], i);
    /* The top graph's 'name' may follow blocks, and a block's 'name' renames
     * its graph (the block's name stays what 'subgraph' lines refer to). */
    weft_graph_t *g = wt_load_ok("weft-graph 1\ngraph a\n name \"real a\"\n node x t\nend\n"
                                 "name top\nsubgraph s a\n");
    ck_assert_str_eq(weft_graph_name(g), "top");
    wt_text t = wt_save(g);
    ck_assert_msg(strstr(t.s, "\ngraph \"real a\"\n  node x t\nend\n") != NULL, "saved:\n%s", t.s);
    ck_assert_msg(strstr(t.s, "\nsubgraph s \"real a\"\n") != NULL, "saved:\n%s", t.s);
    free(t.s);
    wt_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Dot                                                                 */

/* The line of node `id` ("  <id> [...];"), copied, or NULL. */
static char *wt_dot_node_line(const char *dot, const char *id)
{
    char key[64];
    snprintf(key, sizeof key, " %s [", id);
    const char *p = strstr(dot, key);
    if (!p)
        return NULL;
    const char *e = strstr(p, "];\n");
    if (!e)
        return NULL;
    size_t n = (size_t)(e - p) + 2;
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* Does the dot text hold the edge "a -> b" (ids), as a whole statement? */
static int wt_dot_has_edge(const char *dot, const char *a, const char *b)
{
    char key[80];
    snprintf(key, sizeof key, "%s -> %s", a, b);
    size_t k = strlen(key);
    for (const char *p = strstr(dot, key); p; p = strstr(p + 1, key)) {
        char before = p == dot ? '\n' : p[-1];
        char after = p[k];
        if ((before == ' ' || before == '\n') && (after == ';' || after == ' '))
            return 1;
    }
    return 0;
}

/* Renders dot text with graphviz: 1 if it rendered an SVG, 0 if it failed
 * (*err gets its messages), -1 if graphviz is missing. */
static int wt_graphviz(const char *dot, char **err)
{
    char in[64], out[64], errf[64], cmd[512];
    *err = NULL;
    if (access("/usr/bin/dot", X_OK) != 0 && !wt_have("dot"))
        return -1;
    wt_tmpname(in, sizeof in, ".dot");
    wt_tmpname(out, sizeof out, ".svg");
    wt_tmpname(errf, sizeof errf, ".err");
    ck_assert_int_eq(wt_write_file(in, dot, strlen(dot)), 0);
    snprintf(cmd, sizeof cmd, "dot -Tsvg '%s' -o '%s' 2>'%s'", in, out, errf);
    int st = system(cmd);
    size_t svglen = 0, errlen = 0;
    char *svg = wt_read_file(out, &svglen);
    *err = wt_read_file(errf, &errlen);
    int ok = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && svg && strstr(svg, "<svg") != NULL &&
             errlen == 0;
    free(svg);
    unlink(in);
    unlink(out);
    unlink(errf);
    return ok;
}

#define WT_ASSERT_GRAPHVIZ(dot)                                                                 \
    do {                                                                                        \
        char *wt_err_ = NULL;                                                                   \
        int wt_ok_ = wt_graphviz((dot), &wt_err_);                                              \
        if (wt_ok_ < 0)                                                                         \
            fprintf(stderr, "%s:%d: graphviz's dot is not installed: rendering not checked\n",  \
                    __FILE__, __LINE__);                                                        \
        else                                                                                    \
            ck_assert_msg(wt_ok_ == 1, "graphviz refused the dot text: %s\n--- dot ---\n%.2000s", \
                          wt_err_ ? wt_err_ : "(no message)", (dot));                           \
        free(wt_err_);                                                                          \
    } while (0)

static int wt_fail_42(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 42;
}

START_TEST(test_dot_plain)
{
    weft_graph_t *g = wt_graph("my \"dotty\" graph");
    static const char *names[] = {"load", "parse \"json\"", "back\\slash", "two\nlines",
                                  "gr\xc3\xb6\xc3\x9f" "e", "bad\xff" "byte", "n99", "tab\there"};
    enum { N = sizeof names / sizeof names[0] };
    for (int i = 0; i < N; i++)
        WT_ASSERT_RC(weft_graph_add(g, names[i], wt_task_a, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_task(g, "task-node", "rec", "abc", 3, NULL), 0);
    static const int edges[][2] = {{0, 1}, {1, 2}, {1, 3}, {2, 4}, {3, 4}, {4, 5}, {5, 6},
                                   {0, 7}, {7, 8}, {8, 6}};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        WT_ASSERT_RC(weft_graph_precede(g, (weft_node_t)edges[i][0], (weft_node_t)edges[i][1]), 0);
    wt_text t = wt_dot(g, NULL);
    ck_assert_msg(strncmp(t.s, "digraph", 7) == 0, "dot starts: %.40s", t.s);
    static const char head[] = "digraph \"my \\\"dotty\\\" graph\" {";
    ck_assert_msg(strncmp(t.s, head, sizeof head - 1) == 0, "dot starts: %.60s", t.s);
    /* every node, labelled with its name (escaped for dot) */
    static const char *labels[] = {"load", "parse \\\"json\\\"", "back\\\\slash", "two\\nlines",
                                   "gr\xc3\xb6\xc3\x9f" "e", "bad\xef\xbf\xbd" "byte", "n99",
                                   "tab\\\\x09here", "task-node"};
    for (int v = 0; v <= N; v++) {
        char id[16], want[128];
        snprintf(id, sizeof id, "n%d", v);
        char *line = wt_dot_node_line(t.s, id);
        ck_assert_msg(line != NULL, "no line for node %s in:\n%s", id, t.s);
        snprintf(want, sizeof want, "label=\"%s\"", labels[v]);
        ck_assert_msg(strstr(line, want) != NULL, "node %s: %s lacks %s", id, line, want);
        ck_assert_msg(strstr(line, "fillcolor") == NULL, "no run, no colour: %s", line);
        free(line);
    }
    /* every edge */
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        char a[16], b[16];
        snprintf(a, sizeof a, "n%d", edges[i][0]);
        snprintf(b, sizeof b, "n%d", edges[i][1]);
        ck_assert_msg(wt_dot_has_edge(t.s, a, b), "edge %s -> %s missing in:\n%s", a, b, t.s);
    }
    ck_assert_msg(!wt_dot_has_edge(t.s, "n6", "n5"), "an edge that is not there");
    WT_ASSERT_GRAPHVIZ(t.s);
    free(t.s);
    /* Errors */
    WT_ASSERT_RC(weft_graph_dot(NULL, NULL, stdout), WEFT_EINVAL);
    WT_ASSERT_RC(weft_graph_dot(g, NULL, NULL), WEFT_EINVAL);
    wt_graph_free(g);
}
END_TEST

START_TEST(test_dot_empty_graph)
{
    weft_graph_t *g = wt_graph(NULL);
    wt_text t = wt_dot(g, NULL);
    ck_assert_msg(strncmp(t.s, "digraph \"graph\"", 15) == 0, "dot: %s", t.s);
    WT_ASSERT_GRAPHVIZ(t.s);
    free(t.s);
    wt_graph_free(g);
}
END_TEST

/* Asserts node id's line has the given fill colour (and more). */
static void wt_assert_colour(const char *dot, const char *id, const char *fill, const char *also)
{
    char *line = wt_dot_node_line(dot, id);
    char want[64];
    ck_assert_msg(line != NULL, "no line for %s in:\n%s", id, dot);
    snprintf(want, sizeof want, "fillcolor=\"%s\"", fill);
    ck_assert_msg(strstr(line, want) != NULL, "node %s: %s lacks %s", id, line, want);
    if (also)
        ck_assert_msg(strstr(line, also) != NULL, "node %s: %s lacks %s", id, line, also);
    free(line);
}

START_TEST(test_dot_run_colours)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("coloured");
    weft_run_t *run = NULL;
    /* 0 -> 1 (fails 42) -> 2 -> 3; 0 -> 4 */
    WT_ASSERT_RC(weft_graph_add(g, "start", wt_task_a, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "breaks", wt_fail_42, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "after", wt_task_a, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "later", wt_task_a, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "fine", wt_task_a, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 1), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 1, 2), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 2, 3), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 4), 0);
    weft_run_opts_t o = {.record = 1};
    WT_ASSERT_RC(weft_graph_run(g, rt, &o, &run), WEFT_ETASK);
    wt_text t = wt_dot(g, run);
    /* FORMAT.md's palette */
    wt_assert_colour(t.s, "n1", "#ef9a9a", "color=\"#c62828\"");
    wt_assert_colour(t.s, "n1", "#ef9a9a", "penwidth=2");
    wt_assert_colour(t.s, "n1", "#ef9a9a", "returned 42");
    wt_assert_colour(t.s, "n0", "#a5d6a7", "color=\"#2e7d32\"");
    wt_assert_colour(t.s, "n4", "#a5d6a7", NULL);
    wt_assert_colour(t.s, "n2", "#e0e0e0", "dashed");
    wt_assert_colour(t.s, "n3", "#e0e0e0", "color=\"#9e9e9e\"");
    /* recorded: "duration, wN" in the labels of nodes that ran */
    char *line = wt_dot_node_line(t.s, "n0");
    ck_assert_msg(strstr(line, ", w0") || strstr(line, ", w1"), "no worker in %s", line);
    free(line);
    ck_assert_msg(strstr(t.s, "2 done, 1 failed, 2 skipped of 5 in ") != NULL,
                  "no run summary in:\n%s", t.s);
    WT_ASSERT_GRAPHVIZ(t.s);
    free(t.s);
    /* A run of another graph, a stale run. */
    weft_graph_t *other = wt_graph("other");
    WT_ASSERT_RC(weft_graph_dot(other, run, stdout), WEFT_EINVAL);
    wt_graph_free(other);
    WT_ASSERT_RC(weft_graph_add(g, NULL, wt_task_a, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_dot(g, run, stdout), WEFT_ESTALE);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

/* Cancelled nodes are orange; a running run cannot be drawn. */
START_TEST(test_dot_cancelled_and_busy)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("cancel");
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_add(g, "held", wt_gated, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "never", wt_task_a, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 1), 0);
    WT_ASSERT_RC(weft_graph_run_async(g, rt, NULL, &run), 0);
    ck_assert_int_eq(wt_gate_wait(&wt_entered, 30.0), 0);
    WT_ASSERT_RC(weft_graph_dot(g, run, stdout), WEFT_EBUSY);
    WT_ASSERT_RC(weft_run_trace(run, stdout), WEFT_EBUSY);
    WT_ASSERT_RC(weft_run_save(run, stdout), WEFT_EBUSY);
    WT_ASSERT_RC(weft_run_cancel(run), 0);
    wt_gate_open(&wt_gate);
    WT_ASSERT_RC(weft_run_wait(run), WEFT_ECANCELED);
    wt_text t = wt_dot(g, run);
    wt_assert_colour(t.s, "n0", "#a5d6a7", NULL);
    wt_assert_colour(t.s, "n1", "#ffcc80", "color=\"#ef6c00\"");
    wt_assert_colour(t.s, "n1", "#ffcc80", "dashed");
    WT_ASSERT_GRAPHVIZ(t.s);
    free(t.s);
    ck_assert_int_eq(wt_ld(&wt_gate_timeouts), 0);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_dot_subgraph_clusters)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *inner = wt_graph("inner"), *mid = wt_graph("mid"), *empty = wt_graph("void");
    weft_graph_t *g = wt_graph("top");
    weft_run_t *run = NULL;
    /* inner: i0 -> i1 (fails) */
    WT_ASSERT_RC(weft_graph_add(inner, "i0", wt_task_a, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(inner, "i1", wt_fail_42, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(inner, 0, 1), 0);
    /* mid: m0 -> [inner] */
    WT_ASSERT_RC(weft_graph_add(mid, "m0", wt_task_a, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(mid, "deep", inner, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(mid, 0, 1), 0);
    /* top: a -> [mid] -> b; a -> [void] */
    WT_ASSERT_RC(weft_graph_add(g, "a", wt_task_a, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "stage", mid, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "b", wt_task_a, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "nothing", empty, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 1), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 1, 2), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 3), 0);
    wt_text t = wt_dot(g, NULL);
    ck_assert_msg(strstr(t.s, "subgraph \"cluster_n1\"") != NULL, "no cluster for node 1:\n%s", t.s);
    ck_assert_msg(strstr(t.s, "subgraph \"cluster_n1_1\"") != NULL, "no nested cluster:\n%s", t.s);
    ck_assert_msg(strstr(t.s, "subgraph \"cluster_n3\"") != NULL, "no cluster for the empty one:\n%s", t.s);
    ck_assert_msg(strstr(t.s, "(empty graph)") != NULL, "empty subgraph not shown:\n%s", t.s);
    ck_assert_msg(strstr(t.s, "compound=true") != NULL, "not compound:\n%s", t.s);
    char *line = wt_dot_node_line(t.s, "n1_1_1");
    ck_assert_msg(line && strstr(line, "label=\"i1\""), "inner node i1 missing:\n%s", t.s);
    free(line);
    line = wt_dot_node_line(t.s, "n1_0");
    ck_assert_msg(line && strstr(line, "label=\"m0\""), "mid node m0 missing:\n%s", t.s);
    free(line);
    /* a -> stage enters at stage's first source (m0), clipped at the cluster;
     * stage -> b leaves from its first sink (inside deep: i1) */
    ck_assert_msg(strstr(t.s, "n0 -> n1_0 [lhead=\"cluster_n1\"]") != NULL, "edge into the cluster:\n%s",
                  t.s);
    ck_assert_msg(strstr(t.s, "n1_1_1 -> n2 [ltail=\"cluster_n1\"]") != NULL, "edge out of the cluster:\n%s",
                  t.s);
    ck_assert_msg(wt_dot_has_edge(t.s, "n1_0", "n1_1_0"), "edge inside mid:\n%s", t.s);
    ck_assert_msg(wt_dot_has_edge(t.s, "n1_1_0", "n1_1_1"), "edge inside inner:\n%s", t.s);
    WT_ASSERT_GRAPHVIZ(t.s);
    free(t.s);

    /* After a run: the failure inside colours the clusters and nodes. */
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), WEFT_ETASK);
    t = wt_dot(g, run);
    wt_assert_colour(t.s, "n1_1_1", "#ef9a9a", NULL);
    wt_assert_colour(t.s, "n1_1_0", "#a5d6a7", NULL);
    wt_assert_colour(t.s, "n1_0", "#a5d6a7", NULL);
    wt_assert_colour(t.s, "n2", "#e0e0e0", NULL);
    const char *cl = strstr(t.s, "subgraph \"cluster_n1\"");
    ck_assert_ptr_nonnull(cl);
    cl = strstr(cl, "fillcolor=");
    static const char pale_red[] = "fillcolor=\"#ffebee\"";
    ck_assert_msg(cl && strncmp(cl, pale_red, sizeof pale_red - 1) == 0,
                  "failed cluster not pale red:\n%s", t.s);
    WT_ASSERT_GRAPHVIZ(t.s);
    free(t.s);
    wt_run_free(run);
    wt_graph_free(g);
    wt_graph_free(mid);
    wt_graph_free(inner);
    wt_graph_free(empty);
    wt_destroy(rt);
}
END_TEST

/* A graph shared by two subgraph nodes at each of 20 levels expands to 2^20
 * uses: dot draws its subgraph nodes as boxes instead, at once. */
START_TEST(test_dot_heavily_shared_subgraphs)
{
    weft_graph_t *gs[21];
    gs[0] = wt_graph("g0");
    WT_ASSERT_RC(weft_graph_add(gs[0], "leaf", wt_task_a, NULL, NULL), 0);
    for (int i = 1; i <= 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "g%d", i);
        gs[i] = wt_graph(name);
        WT_ASSERT_RC(weft_graph_add_subgraph(gs[i], "x", gs[i - 1], NULL), 0);
        WT_ASSERT_RC(weft_graph_add_subgraph(gs[i], "y", gs[i - 1], NULL), 0);
        WT_ASSERT_RC(weft_graph_precede(gs[i], 0, 1), 0);
    }
    wt_text t = wt_dot(gs[20], NULL);
    ck_assert_msg(strstr(t.s, "subgraphs drawn as boxes") != NULL, "no note:\n%.400s", t.s);
    ck_assert_msg(strstr(t.s, "cluster_") == NULL, "clusters drawn:\n%.400s", t.s);
    ck_assert_msg(strstr(t.s, "label=\"x\\n(graph g19)\"") != NULL, "box label:\n%.400s", t.s);
    ck_assert_msg(strstr(t.s, "n0 -> n1;") != NULL, "edge:\n%.400s", t.s);
    free(t.s);
    /* a small shared graph is still drawn in full, once per use */
    t = wt_dot(gs[3], NULL);
    ck_assert_msg(strstr(t.s, "subgraph \"cluster_n1_1_1\"") != NULL, "not expanded:\n%s", t.s);
    free(t.s);
    for (int i = 20; i >= 0; i--) WT_ASSERT_RC(weft_graph_free(gs[i]), 0);
}
END_TEST

/* A graph file with nested and shared subgraphs draws as nested clusters. */
START_TEST(test_nested_data_file)
{
    weft_graph_t *g = NULL;
    WT_ASSERT_RC(weft_graph_load_file(WEFT_TEST_DATA_DIR "/nested.wg", &g), 0);
    ck_assert_str_eq(weft_graph_name(g), "release");
    ck_assert_uint_eq(weft_graph_node_count(g), 4);
    /* x86 and arm run one shared graph 'target', which runs 'compile' */
    weft_graph_t *t = weft_graph_node_subgraph(g, 1);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_eq(weft_graph_node_subgraph(g, 2), t);
    ck_assert_ptr_null(weft_graph_node_subgraph(g, 0));
    ck_assert_str_eq(weft_graph_name(t), "target");
    weft_graph_t *c = weft_graph_node_subgraph(t, 0);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(weft_graph_name(c), "compile");
    WT_ASSERT_RC(weft_graph_free(t), WEFT_EBUSY); /* freed with g only */
    wt_text d = wt_dot(g, NULL);
    ck_assert_msg(strstr(d.s, "subgraph \"cluster_n2_0\"") != NULL, "no nested cluster:\n%s", d.s);
    WT_ASSERT_GRAPHVIZ(d.s);
    free(d.s);
    wt_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Trace                                                               */

/* Runs Python on a file: its first output line, or NULL when python3 is
 * missing. The script gets the path as sys.argv[1]. */
static char *wt_python(const char *script, const char *path, int *status)
{
    char cmd[4096];
    if (!wt_have("python3"))
        return NULL;
    snprintf(cmd, sizeof cmd, "python3 -c '%s' '%s' 2>&1", script, path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    wt_text t;
    FILE *m = wt_mem(&t);
    char buf[1024];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, p)) > 0)
        fwrite(buf, 1, k, m);
    fclose(m);
    *status = pclose(p);
    return t.s;
}

/* Prints: number of X events, failed ones, distinct node ids of X events,
 * whether every X event has pid 1, an integer tid, ts >= 0, dur >= 0. */
static const char wt_trace_py[] =
    "import json,sys\n"
    "d=json.load(open(sys.argv[1]))\n"
    "ev=d[\"traceEvents\"]\n"
    "x=[e for e in ev if e.get(\"ph\")==\"X\"]\n"
    "ok=all(e[\"pid\"]==1 and isinstance(e[\"tid\"],int) and e[\"ts\"]>=0 and e[\"dur\"]>=0"
    " and isinstance(e[\"name\"],str) for e in x)\n"
    "f=sum(1 for e in x if e[\"args\"][\"status\"]==\"failed\")\n"
    "print(len(x), f, len(set((e[\"args\"][\"graph\"],e[\"args\"][\"node\"]) for e in x)), int(ok),"
    " sum(1 for e in ev if e.get(\"ph\")==\"M\"))\n";

static void wt_check_trace(const weft_run_t *run, long want_x, long want_failed, long want_distinct)
{
    char path[64];
    wt_tmpname(path, sizeof path, ".json");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    WT_ASSERT_RC(weft_run_trace(run, f), 0);
    fclose(f);
    int st = 0;
    char *out = wt_python(wt_trace_py, path, &st);
    if (out == NULL) {
        fprintf(stderr, "python3 is not installed: trace JSON not checked\n");
        unlink(path);
        return;
    }
    long x = -1, fl = -1, distinct = -1, ok = -1, meta = -1;
    int got = sscanf(out, "%ld %ld %ld %ld %ld", &x, &fl, &distinct, &ok, &meta);
    if (got != 5 || st != 0) {
        size_t len = 0;
        char *json = wt_read_file(path, &len);
        ck_abort_msg("python3 could not read the trace (status %d): %s\n--- trace ---\n%.2000s", st, out,
                     json ? json : "");
    }
    unlink(path);
    free(out);
    ck_assert_int_eq(x, want_x);
    ck_assert_int_eq(fl, want_failed);
    ck_assert_int_eq(distinct, want_distinct);
    ck_assert_int_eq(ok, 1);
    ck_assert_int_ge(meta, 3); /* process name, and a name and sort index per track */
}

START_TEST(test_trace_json)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("trace \"me\" \xff");
    weft_run_t *run = NULL;
    enum { N = 200 };
    /* a chain of failures would skip; a random-ish DAG with one failure */
    static const char *odd[] = {"quote\"", "back\\", "nl\n", "bad\xfe", "ctl\x01", "\xc3\xa4"};
    for (int i = 0; i < N; i++) {
        char nm[32];
        if (i < 6)
            snprintf(nm, sizeof nm, "%s", odd[i]);
        else
            snprintf(nm, sizeof nm, "node-%d", i);
        WT_ASSERT_RC(weft_graph_add(g, nm, i == 50 ? wt_fail_42 : wt_task_a, NULL, NULL), 0);
    }
    WT_ASSERT_RC(weft_graph_add_task(g, "tasked", "rec", NULL, 0, NULL), 0);
    WT_ASSERT_RC(weft_task_register("rec", wt_rec_task, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 50, N - 1), 0); /* something is skipped */
    for (int i = 1; i < N; i++)
        WT_ASSERT_RC(weft_graph_precede(g, (weft_node_t)(wt_mix64((uint64_t)i) % (uint64_t)i),
                                        (weft_node_t)i), 0);
    /* Without record: ENOENT. */
    WT_ASSERT_RC(weft_graph_run(g, rt, NULL, &run), WEFT_ETASK);
    WT_ASSERT_RC(weft_run_trace(run, stdout), WEFT_ENOENT);
    wt_run_free(run);
    weft_run_opts_t o = {.record = 1};
    WT_ASSERT_RC(weft_graph_run(g, rt, &o, &run), WEFT_ETASK);
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.failed, 1);
    ck_assert_uint_gt(c.skipped, 0);
    long ran = (long)(c.done + c.failed);
    wt_check_trace(run, ran, 1, ran);
    WT_ASSERT_RC(weft_run_trace(NULL, stdout), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_trace(run, NULL), WEFT_EINVAL);
    wt_run_free(run);
    wt_records_clear();
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_trace_subgraphs)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *sub = wt_graph("sub"), *g = wt_graph("top");
    weft_run_t *run = NULL;
    for (int i = 0; i < 5; i++)
        WT_ASSERT_RC(weft_graph_add(sub, NULL, wt_task_a, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "a", wt_task_a, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_add_subgraph(g, "s", sub, NULL), 0);
    WT_ASSERT_RC(weft_graph_add(g, "b", wt_task_a, NULL, NULL), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 0, 1), 0);
    WT_ASSERT_RC(weft_graph_precede(g, 1, 2), 0);
    weft_run_opts_t o = {.record = 1};
    WT_ASSERT_RC(weft_graph_run(g, rt, &o, &run), 0);
    wt_check_trace(run, 3 + 5, 0, 3 + 5); /* the subgraph's nodes follow their node */
    wt_run_free(run);
    wt_graph_free(g);
    wt_graph_free(sub);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Run files                                                           */

static void wt_assert_same_run(const weft_run_t *a, const weft_run_t *b)
{
    weft_run_counts_t ca = wt_counts(a), cb = wt_counts(b);
    ck_assert_uint_eq(ca.total, cb.total);
    ck_assert_uint_eq(ca.done, cb.done);
    ck_assert_uint_eq(ca.failed, cb.failed);
    ck_assert_uint_eq(ca.skipped, cb.skipped);
    ck_assert_uint_eq(ca.cancelled, cb.cancelled);
    ck_assert_uint_eq(ca.first_failed, cb.first_failed);
    ck_assert_int_eq(ca.first_code, cb.first_code);
    int wrong_status = 0, wrong_code = 0, wrong_time = 0;
    for (weft_node_t v = 0; v < ca.total; v++) {
        int x = 0, y = 0;
        double s1 = -1, e1 = -1, s2 = -2, e2 = -2;
        int w1 = -5, w2 = -6;
        wrong_status += weft_run_node_status(a, v) != weft_run_node_status(b, v);
        weft_run_node_code(a, v, &x);
        weft_run_node_code(b, v, &y);
        wrong_code += x != y;
        int r1 = weft_run_node_time(a, v, &s1, &e1, &w1);
        int r2 = weft_run_node_time(b, v, &s2, &e2, &w2);
        wrong_time += r1 != r2 || (r1 == 0 && (s1 != s2 || e1 != e2 || w1 != w2));
    }
    ck_assert_int_eq(wrong_status, 0);
    ck_assert_int_eq(wrong_code, 0);
    ck_assert_int_eq(wrong_time, 0);
}

START_TEST(test_run_file_round_trip)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("runs \"file\"");
    enum { N = 300 };
    for (int i = 0; i < N; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, i == 7 ? "odd \"name\" %d" : "v%d", i);
        WT_ASSERT_RC(weft_graph_add(g, nm, i == 40 || i == 41 ? wt_fail_42 : wt_task_a, NULL, NULL), 0);
    }
    for (int i = 1; i < N; i++)
        WT_ASSERT_RC(weft_graph_precede(g, (weft_node_t)(wt_mix64((uint64_t)i + 7) % (uint64_t)i),
                                        (weft_node_t)i), 0);
    for (int record = 0; record < 2; record++) {
        weft_run_opts_t o = {.record = record};
        weft_run_t *run = NULL, *back = NULL;
        WT_ASSERT_RC(weft_graph_run(g, rt, &o, &run), WEFT_ETASK);
        wt_text t = wt_run_text(run);
        ck_assert_msg(strstr(t.s, "\nweft-run 1\n") != NULL || strncmp(t.s, "weft-run 1\n", 11) == 0,
                      "run file: %.100s", t.s);
        int rc = wt_load_run(g, t.s, &back);
        ck_assert_msg(rc == 0, "weft_run_load = %d (%s): %s", rc, weft_err_name(rc), weft_graph_error());
        ck_assert_ptr_nonnull(back);
        ck_assert_ptr_eq(weft_run_graph(back), g);
        wt_assert_same_run(run, back);
        /* Saving the loaded record gives the same text. */
        wt_text t2 = wt_run_text(back);
        ck_assert_uint_eq(t2.len, t.len);
        ck_assert_msg(memcmp(t.s, t2.s, t.len) == 0, "run file differs after a round trip:\n%s\n---\n%s",
                      t.s, t2.s);
        /* A loaded record can be drawn and printed. */
        wt_text d = wt_dot(g, back);
        ck_assert_msg(strstr(d.s, "#ef9a9a") != NULL, "no failed node in the drawing");
        free(d.s);
        FILE *devnull = fopen("/dev/null", "w");
        WT_ASSERT_RC(weft_run_print_stats(back, devnull), 0);
        fclose(devnull);
        free(t.s);
        free(t2.s);
        wt_run_free(back);
        wt_run_free(run);
    }
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_run_file_cancelled)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_graph("cancel");
    weft_run_t *run = NULL, *back = NULL;
    WT_ASSERT_RC(weft_graph_add(g, "held", wt_gated, NULL, NULL), 0);
    for (int i = 0; i < 10; i++) {
        WT_ASSERT_RC(weft_graph_add(g, NULL, wt_task_a, NULL, NULL), 0);
        WT_ASSERT_RC(weft_graph_precede(g, 0, (weft_node_t)i + 1), 0);
    }
    weft_run_opts_t o = {.record = 1};
    WT_ASSERT_RC(weft_graph_run_async(g, rt, &o, &run), 0);
    ck_assert_int_eq(wt_gate_wait(&wt_entered, 30.0), 0);
    WT_ASSERT_RC(weft_run_cancel(run), 0);
    wt_gate_open(&wt_gate);
    WT_ASSERT_RC(weft_run_wait(run), WEFT_ECANCELED);
    wt_text t = wt_run_text(run);
    WT_ASSERT_RC(wt_load_run(g, t.s, &back), 0);
    wt_assert_same_run(run, back);
    weft_run_counts_t c = wt_counts(back);
    ck_assert_uint_eq(c.done, 1);
    ck_assert_uint_eq(c.cancelled, 10);
    free(t.s);
    wt_run_free(back);
    wt_run_free(run);
    wt_graph_free(g);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_run_file_data)
{
    weft_graph_t *g = NULL;
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_load_file(WEFT_TEST_DATA_DIR "/pipeline.wg", &g), 0);
    FILE *f = fopen(WEFT_TEST_DATA_DIR "/pipeline.run", "r");
    ck_assert_ptr_nonnull(f);
    WT_ASSERT_RC(weft_run_load(g, f, &run), 0);
    fclose(f);
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.total, 6);
    ck_assert_uint_eq(c.done, 3);
    ck_assert_uint_eq(c.failed, 1);
    ck_assert_uint_eq(c.skipped, 2);
    ck_assert_uint_eq(c.first_failed, 3);
    ck_assert_int_eq(c.first_code, 3);
    ck_assert(c.wall_s == 0.0125);
    double s, e;
    int w;
    WT_ASSERT_RC(weft_run_node_time(run, 3, &s, &e, &w), 0);
    ck_assert(s == 0.0044 && e == 0.0065);
    ck_assert_int_eq(w, 0);
    ck_assert_int_eq(weft_run_node_status(run, 4), WEFT_NODE_SKIPPED);
    wt_run_free(run);
    f = fopen(WEFT_TEST_DATA_DIR "/bad_node.run", "r");
    ck_assert_ptr_nonnull(f);
    run = (weft_run_t *)&wt_bad;
    WT_ASSERT_RC(weft_run_load(g, f, &run), WEFT_EPARSE);
    fclose(f);
    ck_assert_ptr_null(run);
    ck_assert_str_eq(weft_graph_error(), "line 5: node 1 is called 'split' in the graph, not 'spilt'");
    wt_graph_free(g); /* no run record left behind by the failed load */
}
END_TEST

START_TEST(test_run_file_errors)
{
    weft_graph_t *g = wt_graph("pipe");
    for (int i = 0; i < 4; i++)
        WT_ASSERT_RC(weft_graph_add(g, NULL, wt_task_a, NULL, NULL), 0);
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"weft-run 1\ngraph other\n", "line 2: the run file is for graph 'other', not 'pipe'"},
        {"weft-run 1\n\nnodes 6\n", "line 3: the run file has 6 nodes, graph 'pipe' has 4"},
        {"weft-run 1\nnode 1 n2 done 0\n", "line 2: node 1 is called 'n1' in the graph, not 'n2'"},
        {"weft-run 1\nnode 9 n9 done 0\n", "line 2: node 9 does not exist in graph 'pipe' (it has 4 nodes)"},
        {"weft-run 1\ncounts 3 1 2 0\nnode 0 n0 done 0\n",
         "line 2: counts 3 1 2 0 do not match the node lines (1 done, 0 failed, 0 skipped, 0 cancelled)"},
        {"weft-run 1\nnode 0 n0 done 0\n\n\nnode 1 n1 failed 0\n",
         "line 5: a failed node needs a nonzero code"},
        {"weft-run 1\nrecorded no\nnode 0 n0 done 0 0.1 0.2 0\n",
         "line 3: times given in a run that was not recorded"},
        {"weft-graph 1\n", "line 1: this is a graph file ('weft-graph'), not a run file"},
        {"", "line 1: missing 'weft-run 1' header (the file has no directives)"},
    };
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        weft_run_t *run;
        int rc = wt_load_run(g, cases[i].text, &run);
        ck_assert_msg(rc == WEFT_EPARSE, "case %d: %d (%s)", i, rc, weft_err_name(rc));
        ck_assert_msg(run == NULL, "case %d: *run not NULL", i);
        ck_assert_msg(strcmp(weft_graph_error(), cases[i].msg) == 0,
                      "case %d: weft_graph_error() = \"%s\", expected \"%s\"", i, weft_graph_error(),
                      cases[i].msg);
    }
    /* A minimal file: everything else is optional. */
    weft_run_t *run = NULL;
    WT_ASSERT_RC(wt_load_run(g, "weft-run 1\nnode 2 n2 failed -7\n", &run), 0);
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.failed, 1);
    ck_assert_uint_eq(c.done, 0);
    ck_assert_uint_eq(c.first_failed, 2);
    ck_assert_int_eq(c.first_code, -7);
    ck_assert_int_eq(weft_run_node_status(run, 0), WEFT_NODE_PENDING);
    wt_run_free(run);
    WT_ASSERT_RC(weft_run_load(NULL, stdin, &run), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_load(g, NULL, &run), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_save(NULL, stdout), WEFT_EINVAL);
    wt_graph_free(g); /* the failed loads left no run records behind */
}
END_TEST

/* Runs of subgraph nodes in run files: 'subrun' blocks. */

/* release: fetch -> arm [target] -> x86 [target] -> publish, fetch -> docs
 * [docs] -> publish; target: "compile sources" [compile] -> link -> test
 * [checks]; compile: parse -> codegen; checks: unit, lint. target is shared
 * by arm and x86 (ordered by the edge), and codegen fails on its second
 * call: arm's run of target succeeds, x86's fails two levels down. */
static const char wt_subrun_graph[] = "weft-graph 1\n"
                                      "name release\n"
                                      "graph compile\n"
                                      "  node parse step\n"
                                      "  node codegen step\n"
                                      "  edge parse codegen\n"
                                      "end\n"
                                      "graph checks\n"
                                      "  node unit step\n"
                                      "  node lint step\n"
                                      "end\n"
                                      "graph target\n"
                                      "  subgraph \"compile sources\" compile\n"
                                      "  node link step\n"
                                      "  subgraph test checks\n"
                                      "  edge \"compile sources\" link test\n"
                                      "end\n"
                                      "graph docs\n"
                                      "  node render step\n"
                                      "end\n"
                                      "node fetch step\n"
                                      "subgraph arm target\n"
                                      "subgraph x86 target\n"
                                      "subgraph docs docs\n"
                                      "node publish step\n"
                                      "edge fetch arm x86 publish\n"
                                      "edge fetch docs publish\n";

static atomic_int wt_codegen_calls;

static int wt_step_task(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    if (strcmp(weft_node_name(ctx), "codegen") == 0 && atomic_fetch_add(&wt_codegen_calls, 1) == 1)
        return 5;
    return 0;
}

/* Text written by weft_run_trace. */
static wt_text wt_trace_text(const weft_run_t *run)
{
    weft_buf_t b;
    int rc = weft_run_trace_buf(run, &b);
    return wt_took(rc, &b, "weft_run_trace_buf");
}

/* Loads run text into a run of g, failing the test on error. */
static weft_run_t *wt_load_run_ok(weft_graph_t *g, const char *text)
{
    weft_run_t *run = NULL;
    int rc = wt_load_run(g, text, &run);
    ck_assert_msg(rc == 0, "weft_run_load = %d (%s): %s", rc, weft_err_name(rc), weft_graph_error());
    ck_assert_ptr_nonnull(run);
    return run;
}

static void wt_assert_contains(const char *text, const char *want)
{
    ck_assert_msg(strstr(text, want) != NULL, "no \"%s\" in:\n%s", want, text);
}

START_TEST(test_run_file_subruns)
{
    weft_runtime_t *rt = wt_runtime(2);
    weft_graph_t *g = wt_load_ok(wt_subrun_graph);
    WT_ASSERT_RC(weft_task_register("step", wt_step_task, NULL), 0);
    for (int record = 1; record >= 0; record--) {
        atomic_store(&wt_codegen_calls, 0);
        weft_run_opts_t o = {.record = record};
        weft_run_t *run = NULL;
        WT_ASSERT_RC(weft_graph_run(g, rt, &o, &run), WEFT_ETASK);
        wt_text t = wt_run_text(run);
        /* A block per subgraph node that ran, in node order, nested; x86's
         * 'test' was skipped, so it has none. */
        wt_assert_contains(t.s, "\nnode 1 arm done 0");
        wt_assert_contains(t.s, "\nnode 2 x86 failed -5");
        wt_assert_contains(t.s, "\nnode 4 publish skipped 0\n\nsubrun 1 arm\n  start ");
        wt_assert_contains(t.s, "\n  graph target\n  nodes 3\n");
        wt_assert_contains(t.s, "\n  node 0 \"compile sources\" failed -5");
        wt_assert_contains(t.s, "\n  node 2 test skipped 0\n\n  subrun 0 \"compile sources\"\n    start ");
        wt_assert_contains(t.s, "\n    graph compile\n    nodes 2\n");
        wt_assert_contains(t.s, "\n    counts 1 1 0 0\n    first-failed 1 codegen\n");
        wt_assert_contains(t.s, "\n    node 1 codegen failed 5");
        wt_assert_contains(t.s, "\n  end\nend\n\nsubrun 3 docs\n  start ");
        ck_assert_msg(strstr(t.s, "  subrun 2 test") != NULL && strstr(strstr(t.s, "  subrun 2 test") + 1,
                                                                        "  subrun 2 test") == NULL,
                      "one block for test (arm's):\n%s", t.s);
        /* Loaded back: every level's statuses, codes, counts and times are
         * the run's, so the drawing and the trace are the same text, and
         * saving again gives the same run file. */
        weft_run_t *back = wt_load_run_ok(g, t.s);
        wt_assert_same_run(run, back);
        weft_run_counts_t c = wt_counts(back);
        ck_assert_uint_eq(c.total, 5);
        ck_assert_uint_eq(c.done, 3);
        ck_assert_uint_eq(c.failed, 1);
        ck_assert_uint_eq(c.skipped, 1);
        ck_assert_uint_eq(c.first_failed, 2);
        ck_assert_int_eq(c.first_code, WEFT_ETASK);
        wt_text t2 = wt_run_text(back);
        ck_assert_msg(t2.len == t.len && memcmp(t.s, t2.s, t.len) == 0,
                      "run file differs after a round trip:\n%s\n---\n%s", t.s, t2.s);
        wt_text d = wt_dot(g, run), d2 = wt_dot(g, back);
        ck_assert_msg(strcmp(d.s, d2.s) == 0, "dot differs:\n%s\n---\n%s", d.s, d2.s);
        /* x86 (node 2) > "compile sources" (0) > codegen (1) is red; the
         * same node in arm's run green, x86's skipped test white. */
        wt_assert_colour(d2.s, "n2_0_1", "#ef9a9a", "returned 5");
        wt_assert_colour(d2.s, "n2_0_0", "#a5d6a7", NULL);
        wt_assert_colour(d2.s, "n1_0_1", "#a5d6a7", NULL);
        wt_assert_colour(d2.s, "n1_2_1", "#a5d6a7", NULL);
        wt_assert_colour(d2.s, "n3_0", "#a5d6a7", NULL);
        char *white = wt_dot_node_line(d2.s, "n2_2_1");
        ck_assert_msg(white && !strstr(white, "fillcolor"), "x86's test ran: %s", white);
        free(white);
        wt_assert_contains(d2.s, "subgraph \"cluster_n2_0\" {\n      label=\"compile sources\\n(graph "
                                 "compile)");
        WT_ASSERT_GRAPHVIZ(d2.s);
        if (record) {
            /* One clock: the sub-runs' events are in the loaded run's trace,
             * at the times of the original's. */
            wt_text tr = wt_trace_text(run), tr2 = wt_trace_text(back);
            ck_assert_msg(strcmp(tr.s, tr2.s) == 0, "trace differs:\n%s\n---\n%s", tr.s, tr2.s);
            free(tr.s);
            free(tr2.s);
            /* 5 top nodes less publish; arm: 3 + 2 + 2; x86: 1 + 2; docs: 1 */
            wt_check_trace(back, 4 + 7 + 3 + 1, 3, 4 + 3 + 2 + 2 + 1); /* distinct: per graph */
            double s, e;
            WT_ASSERT_RC(weft_run_node_time(back, 2, &s, &e, NULL), 0);
            ck_assert(e > s);
        } else {
            WT_ASSERT_RC(weft_run_trace(back, stdout), WEFT_ENOENT);
        }
        free(d.s);
        free(d2.s);
        free(t.s);
        free(t2.s);
        wt_run_free(back); /* its sub-runs with it: */
        wt_run_free(run);
    }
    WT_ASSERT_RC(weft_graph_free(g), 0); /* no run record of a subgraph left */
    wt_destroy(rt);
}
END_TEST

/* tests/data/nested.run: a hand-written run of nested.wg with sub-runs. */
START_TEST(test_run_file_subruns_data)
{
    weft_graph_t *g = NULL;
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_load_file(WEFT_TEST_DATA_DIR "/nested.wg", &g), 0);
    FILE *f = fopen(WEFT_TEST_DATA_DIR "/nested.run", "r");
    ck_assert_ptr_nonnull(f);
    int rc = weft_run_load(g, f, &run);
    fclose(f);
    ck_assert_msg(rc == 0, "weft_run_load = %d (%s): %s", rc, weft_err_name(rc), weft_graph_error());
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.done, 1);
    ck_assert_uint_eq(c.failed, 1);
    ck_assert_uint_eq(c.skipped, 2);
    ck_assert_uint_eq(c.first_failed, 1);
    ck_assert_int_eq(c.first_code, WEFT_ETASK);
    wt_text d = wt_dot(g, run);
    wt_assert_colour(d.s, "n1_2_1", "#ef9a9a", "lint\\n3.0 ms, w1\\nreturned 1");
    wt_assert_colour(d.s, "n1_0_1", "#a5d6a7", "codegen\\n10.7 ms, w1");
    free(d.s);
    /* lint starts 0.0001 s into test's sub-run, which starts 0.0202 s into
     * x86's, which starts 0.00215 s into the run: at 22.45 ms. */
    wt_text tr = wt_trace_text(run);
    wt_assert_contains(tr.s, "{\"name\":\"lint\",\"cat\":\"node\",\"ph\":\"X\",\"ts\":22450.000,\"dur\":3000.000,");
    free(tr.s);
    wt_check_trace(run, 2 + 3 + 2 + 2, 3, 9);
    /* Saved and loaded again: the same text. */
    wt_text t = wt_run_text(run);
    weft_run_t *back = wt_load_run_ok(g, t.s);
    wt_text t2 = wt_run_text(back);
    ck_assert_str_eq(t2.s, t.s);
    wt_assert_contains(t.s, "\n    start 0.020200000\n    graph checks\n");
    free(t.s);
    free(t2.s);
    wt_run_free(back);
    wt_run_free(run);
    wt_graph_free(g);
}
END_TEST

START_TEST(test_run_file_subrun_errors)
{
    /* wt_nested_text: top: a, s1 [mid], s2 [mid], z; mid: m, in [leaf];
     * leaf: l1, l2. */
    weft_graph_t *g = wt_load_ok(wt_nested_text);
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  node 0 m done 0\n",
         "line 3: 'subrun' block for node 1 's1' is not closed: 'end' is missing"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  node 1 in done 0\n  subrun 1 in\n  node 0 l1 done 0\n"
         "end\n",
         "line 3: 'subrun' block for node 1 's1' is not closed: 'end' is missing"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  node 1 in done 0\n  subrun 1 in\n    node 0 l1 done 0\n",
         "line 5: 'subrun' block for node 1 'in' is not closed: 'end' is missing"},
        {"weft-run 1\nnode 0 a done 0\n\nsubrun 0 a\nend\n",
         "line 4: node 0 'a' is not a subgraph node: only subgraph nodes have sub-runs"},
        {"weft-run 1\nsubrun 1 s2\nend\n", "line 2: node 1 is called 's1' in the graph, not 's2'"},
        {"weft-run 1\nsubrun 7 s1\nend\n", "line 2: node 7 does not exist in graph 'top' (it has 4 nodes)"},
        {"weft-run 1\nsubrun\n", "line 2: missing node id"},
        {"weft-run 1\nsubrun 1 s1 x\n", "line 2: unexpected 'x' after the 'subrun' line's last field (trailing garbage)"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  node 1 in done 0\n  subrun 1 m\n  end\nend\n",
         "line 5: node 1 is called 'in' in the graph, not 'm'"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  node 0 m done 0\n  subrun 0 m\n  end\nend\n",
         "line 5: node 0 'm' is not a subgraph node: only subgraph nodes have sub-runs"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\nend\n\nsubrun 1 s1\nend\n",
         "line 6: duplicate 'subrun' block for node 1 's1' (the first is on line 3)"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  graph leaf\nend\n",
         "line 4: the run file is for graph 'leaf', not 'mid'"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  nodes 4\nend\n",
         "line 4: the run file has 4 nodes, graph 'mid' has 2"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  node 3 z done 0\nend\n",
         "line 4: node 3 does not exist in graph 'mid' (it has 2 nodes)"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  counts 2 0 0 0\n  node 0 m done 0\nend\n",
         "line 4: counts 2 0 0 0 do not match the node lines (1 done, 0 failed, 0 skipped, 0 cancelled)"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  node 0 m done 0\n  node 0 m done 0\nend\n",
         "line 5: duplicate line for node 0"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  first-failed 0 m\n  node 0 m done 0\nend\n",
         "line 4: first-failed names node 0, which did not fail"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  recorded no\n  node 0 m done 0 0.1 0.2 0\nend\n",
         "line 5: times given in a run that was not recorded"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  weft-run 1\nend\n", "line 4: duplicate 'weft-run' header"},
        {"weft-run 1\nend\n", "line 2: 'end' without a 'subrun' block"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\nend\nend\n", "line 5: 'end' without a 'subrun' block"},
        {"weft-run 1\nsubrun 1 s1\nend x\n",
         "line 3: unexpected 'x' after the 'end' line's last field (trailing garbage)"},
        {"weft-run 1\nstart 0.5\n", "line 2: 'start' belongs in a 'subrun' block"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  start 0.1\n  start 0.2\nend\n",
         "line 5: duplicate 'start' line"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  start -1\nend\n",
         "line 4: bad start time '-1' (expected seconds such as 0.001250000)"},
        {"weft-run 1\nnode 1 s1 skipped 0\nsubrun 1 s1\nend\n",
         "line 3: node 1 's1' has a sub-run but did not run (it is skipped)"},
        {"weft-run 1\n\nsubrun 2 s2\nend\n", "line 3: node 2 's2' has a sub-run but did not run (it is pending)"},
        {"weft-run 1\nnode 1 s1 done 0\nsubrun 1 s1\n  node 1 in cancelled 0\n  subrun 1 in\n  end\nend\n",
         "line 5: node 1 'in' has a sub-run but did not run (it is cancelled)"},
    };
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        weft_run_t *run;
        int rc = wt_load_run(g, cases[i].text, &run);
        ck_assert_msg(rc == WEFT_EPARSE, "case %d: %d (%s)", i, rc, weft_err_name(rc));
        ck_assert_msg(run == NULL, "case %d: *run not NULL", i);
        ck_assert_msg(strcmp(weft_graph_error(), cases[i].msg) == 0,
                      "case %d: weft_graph_error() = \"%s\", expected \"%s\"", i, weft_graph_error(),
                      cases[i].msg);
    }
    /* Minimal blocks: sub-runs need only what they say; lines may come in
     * any order (a block before its node's line, 'start' last). */
    weft_run_t *run = wt_load_run_ok(g, "weft-run 1\n"
                                        "recorded yes\n"
                                        "subrun 2 s2\n"
                                        "  recorded yes\n"
                                        "  subrun 1 in\n"
                                        "    node 1 l2 failed 3 0.5 0.75 0\n"
                                        "    start 0.25\n"
                                        "  end\n"
                                        "  node 1 in failed -5\n"
                                        "  start 1\n"
                                        "end\n"
                                        "node 2 s2 failed -5\n");
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.failed, 1);
    ck_assert_uint_eq(c.first_failed, 2);
    wt_text d = wt_dot(g, run);
    wt_assert_colour(d.s, "n2_1_1", "#ef9a9a", "returned 3");
    free(d.s);
    /* l2 at 1 + 0.25 + 0.5 s on the run's clock */
    wt_text tr = wt_trace_text(run);
    wt_assert_contains(tr.s, "\"name\":\"l2\",\"cat\":\"node\",\"ph\":\"X\",\"ts\":1750000.000,\"dur\":250000.000,");
    free(tr.s);
    wt_text t = wt_run_text(run);
    wt_assert_contains(t.s, "\nnode 3 z pending 0\n\nsubrun 2 s2\n  start 1.000000000\n  graph mid\n"
                            "  nodes 2\n  recorded yes\n  wall 0.000000000\n  counts 0 1 0 0\n"
                            "  first-failed 1 in\n  node 0 m pending 0\n  node 1 in failed -5\n\n"
                            "  subrun 1 in\n    start 0.250000000\n    graph leaf\n    nodes 2\n"
                            "    recorded yes\n    wall 0.750000000\n    counts 0 1 0 0\n"
                            "    first-failed 1 l2\n    worker 0 1 0.250000000\n"
                            "    node 0 l1 pending 0\n    node 1 l2 failed 3 0.500000000 0.750000000 0\n"
                            "  end\nend\n");
    free(t.s);
    wt_run_free(run);
    /* An old file without blocks loads into a nested graph as before. */
    run = wt_load_run_ok(g, "weft-run 1\nnode 0 a done 0\nnode 1 s1 done 0\n");
    t = wt_run_text(run);
    ck_assert_msg(strstr(t.s, "subrun") == NULL, "%s", t.s);
    free(t.s);
    wt_run_free(run);
    wt_graph_free(g); /* the failed loads left no run records of any graph */
}
END_TEST


/* ------------------------------------------------------------------ */
/* Limits and memory forms                                             */

/* text: "PREFIX" + n bytes of c + "SUFFIX", malloc'd; *len its length. */
static char *wt_fill(const char *prefix, char c, size_t n, const char *suffix, size_t *len)
{
    size_t a = strlen(prefix), b = strlen(suffix);
    char *t = malloc(a + n + b + 1);
    ck_assert_ptr_nonnull(t);
    memcpy(t, prefix, a);
    memset(t + a, c, n);
    memcpy(t + a + n, suffix, b + 1);
    *len = a + n + b;
    return t;
}

/* Loads len bytes expecting WEFT_EPARSE with message msg. */
static void wt_load_fails(const char *text, size_t len, const char *msg)
{
    weft_graph_t *g;
    WT_ASSERT_RC(wt_load_n(text, len, &g), WEFT_EPARSE);
    ck_assert_ptr_null(g);
    ck_assert_str_eq(weft_graph_error(), msg);
}

/* Lines are at most WEFT_FILE_LINE_MAX bytes (line ending not counted),
 * tokens at most WEFT_FILE_TOKEN_MAX decoded bytes; from memory and from
 * streams alike (wt_load_n checks both). */
START_TEST(test_file_line_and_token_limits)
{
    enum { L = WEFT_FILE_LINE_MAX, T = WEFT_FILE_TOKEN_MAX };
    ck_assert_int_eq(L, 4194304);
    ck_assert_int_eq(T, 1048576);
    size_t len;
    weft_graph_t *g;
    /* a comment line of exactly L bytes, with "\n", with "\r\n", and last without an ending */
    char *t = wt_fill("weft-graph 1\n#", 'a', L - 1, "\nnode a t\n", &len);
    g = wt_load_ok(t);
    ck_assert_uint_eq(weft_graph_node_count(g), 1);
    wt_graph_free(g);
    free(t);
    t = wt_fill("weft-graph 1\r\n#", 'a', L - 1, "\r\nnode a t\r\n", &len);
    g = wt_load_ok(t);
    wt_graph_free(g);
    free(t);
    t = wt_fill("weft-graph 1\nnode a t\n#", 'a', L - 1, "", &len);
    g = wt_load_ok(t);
    wt_graph_free(g);
    free(t);
    /* one byte more: refused, naming the line */
    t = wt_fill("weft-graph 1\n#", 'a', L, "\nnode a t\n", &len);
    wt_load_fails(t, len, "line 2: line longer than 4194304 bytes");
    free(t);
    t = wt_fill("weft-graph 1\nnode a t\n\n#", 'a', L, "\r\n", &len);
    wt_load_fails(t, len, "line 4: line longer than 4194304 bytes");
    free(t);
    t = wt_fill("weft-graph 1\n#", 'a', L, "", &len); /* no line ending at all */
    wt_load_fails(t, len, "line 2: line longer than 4194304 bytes");
    free(t);
    t = wt_fill("#", 'a', 3 * L, "\nweft-graph 1\n", &len); /* found long before the line's end */
    wt_load_fails(t, len, "line 1: line longer than 4194304 bytes");
    free(t);
    /* argument bytes: T loads and round-trips, T + 1 does not, quoted or hex */
    t = wt_fill("weft-graph 1\nnode a t \"", 'x', T, "\"\n", &len);
    g = wt_load_ok(t);
    wt_text saved = wt_save(g);
    ck_assert_msg(strstr(saved.s, "\nnode a t \"xxxx") != NULL, "saved: %.100s", saved.s);
    ck_assert_uint_eq(saved.len, strlen("# weft graph file: 1 nodes, 0 edges\nweft-graph 1\nname graph\n\n") +
                                     len - strlen("weft-graph 1\n"));
    free(saved.s);
    wt_graph_free(g);
    free(t);
    t = wt_fill("weft-graph 1\nnode a t \"", 'x', T + 1, "\"\n", &len);
    wt_load_fails(t, len, "line 2: token longer than 1048576 bytes");
    free(t);
    t = wt_fill("weft-graph 1\n\nnode a t x\"", 'f', 2 * (T + 1), "\"\n", &len);
    wt_load_fails(t, len, "line 3: token longer than 1048576 bytes");
    free(t);
    /* run files have the same limits */
    g = wt_load_ok("weft-graph 1\nnode a t\n");
    weft_run_t *run;
    t = wt_fill("weft-run 1\n#", 'a', L, "\n", &len);
    WT_ASSERT_RC(wt_load_run(g, t, &run), WEFT_EPARSE);
    ck_assert_ptr_null(run);
    ck_assert_str_eq(weft_graph_error(), "line 2: line longer than 4194304 bytes");
    free(t);
    t = wt_fill("weft-run 1\nnode 0 \"", 'a', T + 1, "\" done 0\n", &len);
    WT_ASSERT_RC(wt_load_run(g, t, &run), WEFT_EPARSE);
    ck_assert_str_eq(weft_graph_error(), "line 2: token longer than 1048576 bytes");
    free(t);
    wt_graph_free(g);
}
END_TEST

/* What weft writes, it reads back: saving refuses argument bytes over
 * WEFT_FILE_TOKEN_MAX, and the longest lines it writes (the longest names
 * and arguments, in the forms that need the most escapes) fit in
 * WEFT_FILE_LINE_MAX. */
START_TEST(test_file_save_limits)
{
    enum { T = WEFT_FILE_TOKEN_MAX };
    weft_graph_t *g = wt_graph("limits");
    unsigned char *big = malloc(T + 1);
    ck_assert_ptr_nonnull(big);
    /* 3 quotes for each byte that needs \xHH: quoted (the quarter rule) at
     * 2.5 bytes a byte */
    for (size_t i = 0; i < T + 1; i++)
        big[i] = i % 4 == 3 ? 0xff : '"';
    char name[WEFT_NAME_MAX + 1];
    memset(name, 0xff, WEFT_NAME_MAX); /* not UTF-8: 4 bytes each when quoted */
    name[WEFT_NAME_MAX] = 0;
    WT_ASSERT_RC(weft_graph_add_task(g, name, name, big, T, NULL), 0);
    wt_text t = wt_save(g);
    ck_assert_uint_gt(t.len, 2 * (size_t)T + T / 2); /* a line of over 2.5 MiB */
    weft_graph_t *back = wt_load_ok(t.s);
    wt_text t2 = wt_save(back);
    ck_assert(t2.len == t.len && memcmp(t.s, t2.s, t.len) == 0);
    free(t.s);
    free(t2.s);
    wt_graph_free(back);
    /* one byte more: refused, nothing written */
    WT_ASSERT_RC(weft_graph_add_task(g, "big", "t", big, T + 1, NULL), 0);
    weft_buf_t b = {(char *)"x", 1};
    WT_ASSERT_RC(weft_graph_save_buf(g, &b), WEFT_ENOTSUP);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(weft_graph_error(),
                     "node 'big' has 1048577 argument bytes: graph files hold at most 1048576 (WEFT_FILE_TOKEN_MAX)");
    wt_text f;
    FILE *s = wt_mem(&f);
    WT_ASSERT_RC(weft_graph_save(g, s), WEFT_ENOTSUP);
    fclose(s);
    ck_assert_uint_eq(f.len, 0);
    free(f.s);
    free(big);
    wt_graph_free(g);
}
END_TEST

/* The memory loaders read exactly len bytes, need no NUL, and check their
 * arguments. */
START_TEST(test_load_buf)
{
    weft_graph_t *g = (weft_graph_t *)&wt_bad;
    WT_ASSERT_RC(weft_graph_load_buf(NULL, 0, &g), WEFT_EPARSE);
    ck_assert_ptr_null(g);
    ck_assert_str_eq(weft_graph_error(), "line 1: missing 'weft-graph 1' header (the file has no directives)");
    g = (weft_graph_t *)&wt_bad;
    WT_ASSERT_RC(weft_graph_load_buf(NULL, 3, &g), WEFT_EINVAL);
    ck_assert_ptr_null(g);
    ck_assert_str_eq(weft_graph_error(), "weft_graph_load_buf: the text is NULL");
    WT_ASSERT_RC(weft_graph_load_buf("weft-graph 1\n", 13, NULL), WEFT_EINVAL);
    ck_assert_str_eq(weft_graph_error(), "weft_graph_load_buf: the result pointer is NULL");
    /* only len bytes count: the rest of the buffer is not read */
    static const char text[] = "weft-graph 1\nnode a t\nnode b tasks\nthis is not read";
    WT_ASSERT_RC(weft_graph_load_buf(text, strlen("weft-graph 1\nnode a t\nnode b task"), &g), 0);
    ck_assert_uint_eq(weft_graph_node_count(g), 2);
    ck_assert_str_eq(weft_graph_node_task(g, 1), "task");
    ck_assert_str_eq(weft_graph_error(), "");
    weft_run_t *run = (weft_run_t *)&wt_bad;
    static const char rtext[] = "weft-run 1\nnode 1 b failed 3\nnode 0 a done 0 garbage";
    WT_ASSERT_RC(weft_run_load_buf(g, rtext, strlen("weft-run 1\nnode 1 b failed 3\nnode 0 a done 0"), &run), 0);
    weft_run_counts_t c = wt_counts(run);
    ck_assert_uint_eq(c.done, 1);
    ck_assert_uint_eq(c.failed, 1);
    wt_run_free(run);
    run = (weft_run_t *)&wt_bad;
    WT_ASSERT_RC(weft_run_load_buf(g, rtext, strlen(rtext), &run), WEFT_EPARSE);
    ck_assert_ptr_null(run);
    ck_assert_str_eq(weft_graph_error(),
                     "line 3: bad start time 'garbage' (expected seconds such as 0.001250000)");
    WT_ASSERT_RC(weft_run_load_buf(NULL, rtext, 3, &run), WEFT_EINVAL);
    ck_assert_ptr_null(run);
    WT_ASSERT_RC(weft_run_load_buf(g, NULL, 3, &run), WEFT_EINVAL);
    ck_assert_str_eq(weft_graph_error(), "weft_run_load_buf: the text is NULL or invalid");
    WT_ASSERT_RC(weft_run_load_buf(g, rtext, 3, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_run_load_buf(g, NULL, 0, &run), WEFT_EPARSE);
    ck_assert_str_eq(weft_graph_error(), "line 1: missing 'weft-run 1' header (the file has no directives)");
    wt_graph_free(g);
}
END_TEST

/* Worker lines round-trip as they are, even when they disagree with the
 * node lines (issue 7.6): a worker that ran no node but was busy is kept,
 * and a file whose worker lines are all empty keeps saying so. */
START_TEST(test_run_file_worker_lines)
{
    weft_graph_t *g = wt_load_ok("weft-graph 1\nnode a t\n");
    static const char head[] = "# weft run file (format: graph/FORMAT.md)\n"
                               "weft-run 1\n"
                               "graph graph\n"
                               "nodes 1\n"
                               "recorded yes\n"
                               "wall 0.200000000\n"
                               "counts 1 0 0 0\n";
    static const char tail[] = "\n# node ID NAME STATUS CODE [START END WORKER]\n"
                               "node 0 a done 0 0.100000000 0.200000000 0\n";
    static const struct {
        const char *in, *workers;
    } cases[] = {
        {"weft-run 1\nrecorded yes\nworker 0 0 0.5\nnode 0 a done 0 0.1 0.2 0\n", "worker 0 0 0.500000000\n"},
        {"weft-run 1\nworker 0 0 0\nnode 0 a done 0 0.1 0.2 0\n", "worker 0 0 0.000000000\n"},
        {"weft-run 1\nworker 7 0 0\nnode 0 a done 0 0.1 0.2 0\n", "worker 0 0 0.000000000\n"},
        {"weft-run 1\nworker 3 2 0.25\nnode 0 a done 0 0.1 0.2 0\n", "worker 3 2 0.250000000\n"},
        {"weft-run 1\nnode 0 a done 0 0.1 0.2 0\n", "worker 0 1 0.100000000\n"}, /* worked out */
    };
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        char want[512];
        snprintf(want, sizeof want, "%s%s%s", head, cases[i].workers, tail);
        weft_run_t *run = wt_load_run_ok(g, cases[i].in);
        wt_text t = wt_run_text(run);
        ck_assert_msg(strcmp(t.s, want) == 0, "case %d: saved\n%s\nexpected\n%s", i, t.s, want);
        weft_run_t *back = wt_load_run_ok(g, t.s);
        wt_text t2 = wt_run_text(back);
        ck_assert_msg(strcmp(t2.s, t.s) == 0, "case %d: saved again\n%s", i, t2.s);
        free(t.s);
        free(t2.s);
        wt_run_free(back);
        wt_run_free(run);
    }
    wt_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* Placement: 'place' lines                                            */

static const char wt_place_text[] =
    "# weft graph file: 4 nodes, 1 edges, 1 subgraph defined first\n"
    "weft-graph 1\n"
    "name placed\n"
    "\n"
    "graph inner\n"
    "  node i0 t\n"
    "  node i1 t\n"
    "  place i1 on [fe80::1]:7400\n"
    "end\n"
    "\n"
    "node a t\n"
    "node b t \"arg\"\n"
    "node c t\n"
    "subgraph s inner\n"
    "place a on 127.0.0.2:7400\n"
    "place b local\n"
    "\n"
    "edge a s\n";

START_TEST(test_place_round_trip)
{
    weft_graph_t *g = wt_load_ok(wt_place_text);
    const char *where = NULL;
    WT_ASSERT_RC(weft_graph_place(g, 0, &where), WEFT_PLACE_NODE);
    ck_assert_str_eq(where, "127.0.0.2:7400");
    WT_ASSERT_RC(weft_graph_place(g, 1, &where), WEFT_PLACE_LOCAL);
    ck_assert_ptr_null(where);
    WT_ASSERT_RC(weft_graph_place(g, 2, &where), WEFT_PLACE_ANY);
    WT_ASSERT_RC(weft_graph_place(g, 3, &where), WEFT_PLACE_ANY); /* a subgraph node */
    weft_graph_t *inner = weft_graph_node_subgraph(g, 3);
    ck_assert_ptr_nonnull(inner);
    WT_ASSERT_RC(weft_graph_place(inner, 1, &where), WEFT_PLACE_NODE);
    ck_assert_str_eq(where, "[fe80::1]:7400");
    wt_text t = wt_save(g);
    ck_assert_str_eq(t.s, wt_place_text); /* saved as it was: the same text */
    free(t.s);
    wt_graph_free(g);

    /* 'any' is the default: accepted, and not written back; 'place' lines
     * may come anywhere after their node, also after edges */
    g = wt_load_ok("weft-graph 1\nnode a t\nnode b t\nedge a b\nplace a any\n"
                   "place b on x\"686f73743a31\"  # host:1\n");
    WT_ASSERT_RC(weft_graph_place(g, 0, &where), WEFT_PLACE_ANY);
    WT_ASSERT_RC(weft_graph_place(g, 1, &where), WEFT_PLACE_NODE);
    ck_assert_str_eq(where, "host:1");
    t = wt_save(g);
    ck_assert_str_eq(t.s, "# weft graph file: 2 nodes, 1 edges\nweft-graph 1\nname graph\n\n"
                          "node a t\nnode b t\nplace b on host:1\n\nedge a b\n");
    free(t.s);
    wt_graph_free(g);

    /* built by the API, names that need quotes */
    g = wt_graph("api");
    weft_node_t v;
    WT_ASSERT_RC(weft_graph_add_task(g, "two words", "t", NULL, 0, &v), 0);
    WT_ASSERT_RC(weft_graph_set_place(g, v, WEFT_PLACE_NODE, "h\"q:1"), 0);
    t = wt_save(g);
    ck_assert_str_eq(t.s, "# weft graph file: 1 nodes, 0 edges\nweft-graph 1\nname api\n\n"
                          "node \"two words\" t\nplace \"two words\" on \"h\\\"q:1\"\n");
    weft_graph_t *back = wt_load_ok(t.s);
    WT_ASSERT_RC(weft_graph_place(back, 0, &where), WEFT_PLACE_NODE);
    ck_assert_str_eq(where, "h\"q:1");
    free(t.s);
    wt_graph_free(back);
    wt_graph_free(g);
}
END_TEST

START_TEST(test_place_load_errors)
{
    char *longaddr = malloc(WEFT_NAME_MAX + 200);
    ck_assert_ptr_nonnull(longaddr);
    int k = snprintf(longaddr, WEFT_NAME_MAX + 200, "weft-graph 1\nnode a t\nplace a on ");
    memset(longaddr + k, 'h', WEFT_NAME_MAX + 1);
    strcpy(longaddr + k + WEFT_NAME_MAX + 1, "\n");
    const wt_bad_case cases[] = {
        {"weft-graph 1\nnode a t\nplace x local\n", 0, "line 3: place: unknown node 'x'"},
        {"weft-graph 1\nplace a local\nnode a t\n", 0, "line 2: place: unknown node 'a'"},
        {"weft-graph 1\ngraph g\n  node a t\nend\nsubgraph s g\nplace a local\n", 0,
         "line 6: place: unknown node 'a'"},
        {"weft-graph 1\ngraph g\n  node i t\nend\nsubgraph s g\nplace s local\n", 0,
         "line 6: place: node 's' is not a named-task node"},
        {"weft-graph 1\nnode a t\nplace a far\n", 0,
         "line 3: place: bad place 'far' (any, local or on ADDRESS)"},
        {"weft-graph 1\nnode a t\nplace a \"local\"\n", 0,
         "line 3: place: bad place 'local' (any, local or on ADDRESS)"},
        {"weft-graph 1\nnode a t\nplace a\n", 0,
         "line 3: place: missing place after node 'a' (any, local or on ADDRESS)"},
        {"weft-graph 1\nnode a t\nplace\n", 0, "line 3: missing node name"},
        {"weft-graph 1\nnode a t\nplace a on\n", 0, "line 3: missing address"},
        {"weft-graph 1\nnode a t\nplace a on \"\"\n", 0, "line 3: empty address"},
        {"weft-graph 1\nnode a t\nplace a on \"h 1:2\"\n", 0,
         "line 3: place: bad address 'h 1:2': an address holds no spaces or control bytes"},
        {"weft-graph 1\nnode a t\nplace a on h:1 h:2\n", 0,
         "line 3: unexpected 'h:2' after the 'place' line's last field (trailing garbage)"},
        {"weft-graph 1\nnode a t\nplace a local x\n", 0,
         "line 3: unexpected 'x' after the 'place' line's last field (trailing garbage)"},
        {"weft-graph 1\nnode a t\nplace a local\nnode b t\nplace a on h:1\n", 0,
         "line 5: duplicate 'place' line for node 'a' (placed on line 3)"},
        {"weft-graph 1\nnode a t\nplace a any\nplace a any\n", 0,
         "line 4: duplicate 'place' line for node 'a' (placed on line 3)"},
        {"weft-graph 1\nnode a t\nplace a local\nname n\n", 0,
         "line 4: 'name' must come before the first node or edge"},
        {longaddr, 0, "line 3: address too long (1025 bytes, at most 1024)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) wt_check_bad(&cases[i], (int)i);
    free(longaddr);
}
END_TEST

static Suite *graph_files_suite(void)
{
    Suite *s = suite_create("graph_files");
    TCase *tc = wt_tcase(s, "registry", WT_TIMEOUT_S);
    tcase_add_test(tc, test_register_lookup_replace);
    tcase_add_test(tc, test_register_bad_names);
    tcase_add_test(tc, test_registry_many);
    tcase_add_test(tc, test_registry_threads);

    tc = wt_tcase(s, "tasks", WT_TIMEOUT_S);
    tcase_add_test(tc, test_task_node_arguments);
    tcase_add_test(tc, test_task_not_registered);
    tcase_add_test(tc, test_task_not_registered_run_record);
    tcase_add_test(tc, test_task_replaced_between_runs);

    tc = wt_tcase(s, "files", WT_TIMEOUT_S);
    tcase_add_test(tc, test_save_load_round_trip);
    tcase_add_test(tc, test_save_load_files);
    tcase_add_test(tc, test_save_function_node_refused);
    tcase_add_test(tc, test_load_semantics);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_load_data_files);
    tcase_add_test(tc, test_loaded_graph_runs);
    tcase_add_test(tc, test_nested_round_trip);
    tcase_add_test(tc, test_nested_load_runs);
    tcase_add_test(tc, test_nested_load_errors);
    tcase_add_test(tc, test_place_round_trip);
    tcase_add_test(tc, test_place_load_errors);

    tc = wt_tcase(s, "dot", WT_TIMEOUT_S);
    tcase_add_test(tc, test_dot_plain);
    tcase_add_test(tc, test_dot_empty_graph);
    tcase_add_test(tc, test_dot_run_colours);
    tcase_add_test(tc, test_dot_cancelled_and_busy);
    tcase_add_test(tc, test_dot_subgraph_clusters);
    tcase_add_test(tc, test_dot_heavily_shared_subgraphs);
    tcase_add_test(tc, test_nested_data_file);

    tc = wt_tcase(s, "trace", WT_TIMEOUT_S);
    tcase_add_test(tc, test_trace_json);
    tcase_add_test(tc, test_trace_subgraphs);

    tc = wt_tcase(s, "runfiles", WT_TIMEOUT_S);
    tcase_add_test(tc, test_run_file_round_trip);
    tcase_add_test(tc, test_run_file_cancelled);
    tcase_add_test(tc, test_run_file_data);
    tcase_add_test(tc, test_run_file_errors);
    tcase_add_test(tc, test_run_file_subruns);
    tcase_add_test(tc, test_run_file_subruns_data);
    tcase_add_test(tc, test_run_file_subrun_errors);
    tcase_add_test(tc, test_run_file_worker_lines);

    tc = wt_tcase(s, "limits", WT_TIMEOUT_S);
    tcase_add_test(tc, test_file_line_and_token_limits);
    tcase_add_test(tc, test_file_save_limits);
    tcase_add_test(tc, test_load_buf);
    return s;
}

int main(void)
{
    return wt_run_suite(graph_files_suite());
}
