/* Suite "deep": graphs nested 100,000 deep (FORMAT.md: graphs "may nest to
 * any depth"), in every graph-file path: loading (children first, as
 * weft_graph_save writes, and parents first), saving, dot, run files and
 * their traces, and the weft-dot program. Each step checks its exact
 * output and a time bound.
 *
 * Before the loaders and writers walked subgraphs with stacks of their own,
 * dot overflowed the stack from depth 6,000, weft-dot died of SIGSEGV at
 * 8,000 and saving at 100,000; loading the children-first order took time
 * cubic in the depth (27 s at 8,000).
 *
 * Time bounds: every step took under 1 s in a Release build on the 2-vCPU
 * build VM, and ASan+UBSan builds run about 5x slower; the bound is 30 s a
 * step, far below what the old quadratic or cubic paths take at this
 * depth. */
#define _GNU_SOURCE /* mkstemps */
#include "weft_test.h"

#include <sys/wait.h>
#include <unistd.h>

#include "weft/graph.h"
#include "weft_graph_test.h"

#define WT_DEPTH 100000
/* Run files nest as deep as this here: a run record costs about 33 KiB
 * (per-worker counters, graph/src/run.c), so 100,000 nested sub-runs would
 * need 3.3 GiB. */
#define WT_RUN_DEPTH 10000
#define WT_BOUND_S 30.0
/* dot.c: clusters nest at most this deep. */
#define WT_DOT_MAX_DEPTH 1000

/* A growing text. */
typedef struct wt_str {
    char *s;
    size_t len;
    FILE *f;
} wt_str;

static void wt_str_open(wt_str *t)
{
    t->s = NULL;
    t->len = 0;
    t->f = open_memstream(&t->s, &t->len);
    ck_assert_ptr_nonnull(t->f);
}

static void wt_str_close(wt_str *t)
{
    ck_assert_int_eq(fclose(t->f), 0);
    t->f = NULL;
}

/* Runs stmt, prints its time and fails the test past the bound. */
#define WT_TIMED_AT(what, depth, stmt)                                                        \
    do {                                                                                      \
        double wt_t0_ = wt_now();                                                             \
        stmt;                                                                                 \
        double wt_dt_ = wt_now() - wt_t0_;                                                    \
        fprintf(stderr, "deep: %s at depth %d: %.3f s\n", (what), (depth), wt_dt_);           \
        ck_assert_msg(wt_dt_ < WT_BOUND_S, "%s took %.1f s (bound %.0f s)", (what), wt_dt_, \
                      WT_BOUND_S);                                                            \
    } while (0)
#define WT_TIMED(what, stmt) WT_TIMED_AT(what, WT_DEPTH, stmt)

/* The chain: top runs node a, then subgraph node s running g1; each g<i>
 * the same with g<i+1>, and g<D> only a. Built parents first (each
 * weft_graph_add_subgraph then takes an empty graph). gs[0] is top. */
static weft_graph_t **wt_chain(void)
{
    weft_graph_t **gs = malloc((WT_DEPTH + 1) * sizeof *gs);
    ck_assert_ptr_nonnull(gs);
    gs[0] = wt_graph("top");
    for (int i = 0; i <= WT_DEPTH; i++) {
        WT_ASSERT_RC(weft_graph_add_task(gs[i], "a", "t", NULL, 0, NULL), 0);
        if (i == WT_DEPTH)
            break;
        char name[16];
        snprintf(name, sizeof name, "g%d", i + 1);
        gs[i + 1] = wt_graph(name);
        WT_ASSERT_RC(weft_graph_add_subgraph(gs[i], "s", gs[i + 1], NULL), 0);
        WT_ASSERT_RC(weft_graph_precede(gs[i], 0, 1), 0);
    }
    return gs;
}

static void wt_chain_free(weft_graph_t **gs)
{
    for (int i = 0; i <= WT_DEPTH; i++) /* parents before the graphs they hold */
        WT_ASSERT_RC(weft_graph_free(gs[i]), 0);
    free(gs);
}

/* The chain's file as weft_graph_save writes it: the deepest graph first. */
static wt_str wt_children_first(void)
{
    wt_str t;
    wt_str_open(&t);
    fprintf(t.f, "# weft graph file: 2 nodes, 1 edges, %d subgraphs defined first\n"
                 "weft-graph 1\nname top\n", WT_DEPTH);
    for (int i = WT_DEPTH; i >= 1; i--) {
        fprintf(t.f, "\ngraph g%d\n  node a t\n", i);
        if (i < WT_DEPTH)
            fprintf(t.f, "  subgraph s g%d\n  edge a s\n", i + 1);
        fputs("end\n", t.f);
    }
    fputs("\nnode a t\nsubgraph s g1\n\nedge a s\n", t.f);
    wt_str_close(&t);
    return t;
}

/* The same graph written parents first, by hand, unindented. */
static wt_str wt_parents_first(void)
{
    wt_str t;
    wt_str_open(&t);
    fputs("weft-graph 1\nname top\nnode a t\nsubgraph s g1\nedge a s\n", t.f);
    for (int i = 1; i <= WT_DEPTH; i++) {
        fprintf(t.f, "graph g%d\nnode a t\n", i);
        if (i < WT_DEPTH)
            fprintf(t.f, "subgraph s g%d\nedge a s\n", i + 1);
        fputs("end\n", t.f);
    }
    wt_str_close(&t);
    return t;
}

static wt_str wt_saved(const weft_graph_t *g)
{
    weft_buf_t b;
    int rc = weft_graph_save_buf(g, &b);
    ck_assert_msg(rc == 0, "weft_graph_save_buf = %d (%s): %s", rc, weft_err_name(rc), weft_graph_error());
    return (wt_str){b.data, b.len, NULL};
}

static void wt_assert_same(const wt_str *got, const wt_str *want, const char *what)
{
    size_t i = 0;
    while (i < got->len && i < want->len && got->s[i] == want->s[i])
        i++;
    ck_assert_msg(got->len == want->len && i == got->len,
                  "%s differs at byte %zu (of %zu, expected %zu): \"%.60s\" instead of \"%.60s\"", what, i,
                  got->len, want->len, got->s + i, want->s + i);
}

/* Walks the loaded chain: depth D, every graph called as it should be. */
static void wt_assert_chain(weft_graph_t *g)
{
    ck_assert_str_eq(weft_graph_name(g), "top");
    int bad = 0;
    for (int i = 1; i <= WT_DEPTH; i++) {
        ck_assert_uint_eq(weft_graph_node_count(g), 2);
        g = weft_graph_node_subgraph(g, 1);
        char name[16];
        snprintf(name, sizeof name, "g%d", i);
        bad += !g || strcmp(weft_graph_name(g), name) != 0 || weft_graph_edge_count(g) != (i < WT_DEPTH);
        ck_assert_ptr_nonnull(g);
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_uint_eq(weft_graph_node_count(g), 1);
}

START_TEST(test_deep_save)
{
    weft_graph_t **gs = wt_chain();
    wt_str want = wt_children_first(), got;
    WT_TIMED("save", got = wt_saved(gs[0]));
    wt_assert_same(&got, &want, "the saved file");
    free(got.s);
    free(want.s);
    wt_chain_free(gs);
}
END_TEST

static void wt_check_load(const wt_str *text, const char *what)
{
    weft_graph_t *g = NULL;
    int rc;
    WT_TIMED(what, rc = weft_graph_load_buf(text->s, text->len, &g));
    ck_assert_msg(rc == 0, "%s = %d: %s", what, rc, weft_graph_error());
    wt_assert_chain(g);
    wt_str want = wt_children_first(), got = wt_saved(g);
    wt_assert_same(&got, &want, "the file saved after loading");
    free(got.s);
    free(want.s);
    WT_ASSERT_RC(weft_graph_free(g), 0); /* and the 100,000 graphs it owns */
}

START_TEST(test_deep_load_children_first)
{
    wt_str t = wt_children_first();
    wt_check_load(&t, "load (children first)");
    /* the stream loader too */
    FILE *f = fmemopen(t.s, t.len, "r");
    ck_assert_ptr_nonnull(f);
    weft_graph_t *g = NULL;
    int rc;
    WT_TIMED("load from a stream (children first)", rc = weft_graph_load(f, &g));
    fclose(f);
    WT_ASSERT_RC(rc, 0);
    wt_assert_chain(g);
    WT_ASSERT_RC(weft_graph_free(g), 0);
    free(t.s);
}
END_TEST

START_TEST(test_deep_load_parents_first)
{
    wt_str t = wt_parents_first();
    wt_check_load(&t, "load (parents first)");
    free(t.s);
}
END_TEST

/* A cycle closed at the bottom of the chain is found, naming its line. */
START_TEST(test_deep_load_cycle)
{
    wt_str t = wt_children_first();
    /* g100000, the first block, gets a node running g1, which holds it */
    static const char at[] = "graph g100000\n  node a t\n";
    char *p = strstr(t.s, at);
    ck_assert_ptr_nonnull(p);
    size_t off = (size_t)(p - t.s) + strlen(at), len = t.len + 32;
    char *s = malloc(len + 1);
    memcpy(s, t.s, off);
    int k = snprintf(s + off, 32, "  subgraph back g1\n");
    memcpy(s + off + k, t.s + off, t.len - off + 1);
    len = t.len + (size_t)k;
    weft_graph_t *g = (weft_graph_t *)&wt_bad;
    int rc;
    WT_TIMED("load (a cycle)", rc = weft_graph_load_buf(s, len, &g));
    WT_ASSERT_RC(rc, WEFT_EPARSE);
    ck_assert_ptr_null(g);
    /* the cycle closes where g1's block names g2, which holds g100000 by then */
    char want[128];
    long line = 3 + 5; /* comment, header, name; blank, graph, node, back, end */
    line += 6L * (WT_DEPTH - 2) + 4; /* blocks g99999 to g2; then g1's blank, graph, node, subgraph */
    snprintf(want, sizeof want, "line %ld: subgraph node 's' makes a cycle: graph 'g2' already contains graph 'g1'",
             line);
    ck_assert_str_eq(weft_graph_error(), want);
    free(s);
    free(t.s);
}
END_TEST

static size_t wt_count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

START_TEST(test_deep_dot)
{
    weft_graph_t **gs = wt_chain();
    weft_buf_t b;
    int rc;
    WT_TIMED("dot", rc = weft_graph_dot_buf(gs[0], NULL, &b));
    WT_ASSERT_RC(rc, 0);
    /* clusters nest 1,000 deep; the subgraph node of g1000 is a box */
    ck_assert_uint_eq(wt_count(b.data, "subgraph \"cluster_"), WT_DOT_MAX_DEPTH);
    ck_assert_uint_eq(wt_count(b.data, " -> "), WT_DOT_MAX_DEPTH + 1);
    ck_assert_msg(strstr(b.data, "\n  // subgraphs nested over 1000 deep drawn as boxes\n") != NULL, "no note");
    char id[2 * WT_DOT_MAX_DEPTH + 8], *p = id;
    *p++ = 'n';
    for (int i = 0; i < WT_DOT_MAX_DEPTH; i++)
        *p++ = '1', *p++ = '_';
    *p = 0;
    char *want = malloc(3 * sizeof id + 256);
    snprintf(want, 3 * sizeof id + 256, "%s1 [label=\"s\\n(graph g1001)\", tooltip=\"subgraph g1001\"];\n", id);
    ck_assert_msg(strstr(b.data, want) != NULL, "no box for g1000's node s");
    snprintf(want, 3 * sizeof id + 256, "%s0 -> %s1;\n", id, id); /* an edge to a box: no lhead */
    ck_assert_msg(strstr(b.data, want) != NULL, "no edge to the box");
    static const char end[] = "    n1_0 -> n1_1_0 [lhead=\"cluster_n1_1\"];\n  }\n  n0 -> n1_0 [lhead=\"cluster_n1\"];\n}\n";
    ck_assert_str_eq(b.data + b.len - strlen(end), end);
    free(want);
    weft_buf_free(&b);
    wt_chain_free(gs);
}
END_TEST

/* A run file of the chain with WT_RUN_DEPTH nested 'subrun' blocks: every
 * graph's a and s done, a from 1 to 2 us after its run's start, s from 2
 * us to the end of its sub-run; each sub-run starts 2 us after its
 * parent's. The innermost is g<R>'s run, whose s has no block. */
static wt_str wt_run_file(int indent_max)
{
    enum { R = WT_RUN_DEPTH };
    wt_str t;
    wt_str_open(&t);
    fputs("# weft run file (format: graph/FORMAT.md)\nweft-run 1\n", t.f);
    for (int d = 0; d <= R; d++) {
        int pad = 2 * (d < indent_max ? d : indent_max);
        char name[16];
        snprintf(name, sizeof name, d ? "g%d" : "top", d);
        /* the run at depth d lasts from its start to 2 us + 2 us per level below */
        long wall_us = 2 + 2L * (R - d) + 1;
        if (d)
            fprintf(t.f, "%*sstart 0.000002000\n", pad, "");
        fprintf(t.f, "%*sgraph %s\n%*snodes 2\n%*srecorded yes\n%*swall %ld.%06ld000\n%*scounts 2 0 0 0\n",
                pad, "", name, pad, "", pad, "", pad, "", wall_us / 1000000, wall_us % 1000000, pad, "");
        fprintf(t.f, "%*sworker 0 2 0.%06ld000\n", pad, "", wall_us - 1);
        if (!d)
            fputs("\n# node ID NAME STATUS CODE [START END WORKER]\n", t.f);
        fprintf(t.f, "%*snode 0 a done 0 0.000001000 0.000002000 0\n", pad, "");
        fprintf(t.f, "%*snode 1 s done 0 0.000002000 0.%06ld000 0\n", pad, "", wall_us);
        if (d < R)
            fprintf(t.f, "\n%*ssubrun 1 s\n", pad, "");
    }
    for (int d = R - 1; d >= 0; d--)
        fprintf(t.f, "%*send\n", 2 * (d < indent_max ? d : indent_max), "");
    wt_str_close(&t);
    return t;
}

START_TEST(test_deep_run_file)
{
    wt_str text = wt_run_file(0), want = wt_run_file(32); /* written by hand unindented; weft indents */
    wt_str parents = wt_parents_first();
    weft_graph_t *g = NULL;
    WT_ASSERT_RC(weft_graph_load_buf(parents.s, parents.len, &g), 0);
    weft_run_t *run = NULL, *back = NULL;
    int rc;
    WT_TIMED_AT("run file load", WT_RUN_DEPTH, rc = weft_run_load_buf(g, text.s, text.len, &run));
    ck_assert_msg(rc == 0, "weft_run_load_buf = %d: %s", rc, weft_graph_error());
    weft_buf_t b;
    WT_TIMED_AT("run file save", WT_RUN_DEPTH, rc = weft_run_save_buf(run, &b));
    WT_ASSERT_RC(rc, 0);
    wt_str got = {b.data, b.len, NULL};
    wt_assert_same(&got, &want, "the saved run file");
    WT_ASSERT_RC(weft_run_load_buf(g, b.data, b.len, &back), 0);
    weft_buf_t b2;
    WT_ASSERT_RC(weft_run_save_buf(back, &b2), 0);
    wt_str got2 = {b2.data, b2.len, NULL};
    wt_assert_same(&got2, &want, "the run file saved again");
    /* the trace holds every node of every level, on one clock */
    weft_buf_t tr;
    WT_TIMED_AT("trace", WT_RUN_DEPTH, rc = weft_run_trace_buf(run, &tr));
    WT_ASSERT_RC(rc, 0);
    ck_assert_uint_eq(wt_count(tr.data, "\"ph\":\"X\""), 2 * (WT_RUN_DEPTH + 1));
    char last[160];
    snprintf(last, sizeof last, "{\"name\":\"s\",\"cat\":\"node\",\"ph\":\"X\",\"ts\":%d.000,\"dur\":1.000,",
             2 * WT_RUN_DEPTH + 2);
    ck_assert_msg(strstr(tr.data, last) != NULL, "no event for the innermost s");
    /* drawn: the 1,000 clusters green, the box below them too */
    weft_buf_t d;
    WT_TIMED_AT("dot with the run", WT_RUN_DEPTH, rc = weft_graph_dot_buf(g, back, &d));
    WT_ASSERT_RC(rc, 0);
    ck_assert_uint_eq(wt_count(d.data, "fillcolor=\"#e8f5e9\""), WT_DOT_MAX_DEPTH);
    ck_assert_uint_eq(wt_count(d.data, "fillcolor=\"#a5d6a7\""), WT_DOT_MAX_DEPTH + 2);
    weft_buf_free(&d);
    weft_buf_free(&tr);
    weft_buf_free(&b);
    weft_buf_free(&b2);
    WT_ASSERT_RC(weft_run_free(back), 0);
    WT_ASSERT_RC(weft_run_free(run), 0);
    WT_ASSERT_RC(weft_graph_free(g), 0);
    free(text.s);
    free(want.s);
    free(parents.s);
}
END_TEST

#ifdef WEFT_DOT_PROGRAM
/* weft-dot on the 100,000-deep file (and a deep run file): exit 0, the same
 * dot text as weft_graph_dot. */
static void wt_weft_dot(const char *args, const char *want, size_t want_len)
{
    char cmd[512], out[64];
    snprintf(out, sizeof out, "/tmp/weft-deep-XXXXXX.dot");
    int fd = mkstemps(out, 4);
    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(cmd, sizeof cmd, "'%s' -o '%s' %s", WEFT_DOT_PROGRAM, out, args);
    int st;
    WT_TIMED("weft-dot", st = system(cmd)); /* the graph 100,000 deep, its run 10,000 */
    ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "weft-dot: status %d (%s)", st, cmd);
    FILE *f = fopen(out, "rb");
    ck_assert_ptr_nonnull(f);
    char *s = malloc(want_len + 2);
    size_t n = fread(s, 1, want_len + 1, f);
    fclose(f);
    unlink(out);
    wt_str got = {s, n, NULL}, w = {(char *)want, want_len, NULL};
    wt_assert_same(&got, &w, "weft-dot's output");
    free(s);
}

static void wt_write(const char *path, const wt_str *t)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(t->s, 1, t->len, f), t->len);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_deep_weft_dot)
{
    char wg[64] = "/tmp/weft-deep-XXXXXX.wg", rn[64] = "/tmp/weft-deep-XXXXXX.run", args[160];
    int fd = mkstemps(wg, 3);
    ck_assert_int_ge(fd, 0);
    close(fd);
    fd = mkstemps(rn, 4);
    ck_assert_int_ge(fd, 0);
    close(fd);
    wt_str t = wt_children_first(), r = wt_run_file(32);
    wt_write(wg, &t);
    wt_write(rn, &r);
    weft_graph_t *g = NULL;
    weft_run_t *run = NULL;
    WT_ASSERT_RC(weft_graph_load_buf(t.s, t.len, &g), 0);
    WT_ASSERT_RC(weft_run_load_buf(g, r.s, r.len, &run), 0);
    weft_buf_t d;
    WT_ASSERT_RC(weft_graph_dot_buf(g, NULL, &d), 0);
    snprintf(args, sizeof args, "'%s'", wg);
    wt_weft_dot(args, d.data, d.len);
    weft_buf_free(&d);
    WT_ASSERT_RC(weft_graph_dot_buf(g, run, &d), 0);
    snprintf(args, sizeof args, "'%s' '%s'", wg, rn);
    wt_weft_dot(args, d.data, d.len);
    weft_buf_free(&d);
    WT_ASSERT_RC(weft_run_free(run), 0);
    WT_ASSERT_RC(weft_graph_free(g), 0);
    unlink(wg);
    unlink(rn);
    free(t.s);
    free(r.s);
}
END_TEST
#endif

static Suite *deep_suite(void)
{
    Suite *s = suite_create("deep");
    TCase *tc = wt_tcase(s, "files", 4 * WT_BOUND_S);
    tcase_add_test(tc, test_deep_save);
    tcase_add_test(tc, test_deep_load_children_first);
    tcase_add_test(tc, test_deep_load_parents_first);
    tcase_add_test(tc, test_deep_load_cycle);
    tcase_add_test(tc, test_deep_dot);
    tcase_add_test(tc, test_deep_run_file);
#ifdef WEFT_DOT_PROGRAM
    tcase_add_test(tc, test_deep_weft_dot);
#endif
    return s;
}

int main(void)
{
    return wt_run_suite(deep_suite());
}
