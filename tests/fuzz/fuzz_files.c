/* fuzz_files: libFuzzer harness for the graph-file and run-file loaders,
 * from memory (weft_graph_load_buf, weft_run_load_buf).
 *
 * An input is a graph file, optionally followed by a NUL byte and a run
 * file for that graph (a NUL cannot appear in a graph file that loads, so
 * the split is never ambiguous). For every input:
 * - the memory and stream loaders agree: the same code and message;
 * - a file that fails to load fails with WEFT_EPARSE and a message that
 *   names its line ("line N: ...");
 * - a graph that loads saves, and the saved text loads and saves again to
 *   the same text; both graphs draw as the same dot text;
 * - a run file that loads saves, reloads into the reloaded graph and saves
 *   to the same text; the two runs draw, trace and print the same.
 * Any difference aborts, which libFuzzer reports as a crash with the input.
 *
 * Build: cmake -DWEFT_BUILD_FUZZ=ON with clang (tests/fuzz/CMakeLists.txt);
 * run: README.md, "Testing". */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                               \
    do {                                                               \
        if (!(cond)) {                                                 \
            fprintf(stderr, "fuzz_files: check failed: %s: ", #cond);  \
            fprintf(stderr, __VA_ARGS__);                              \
            fputc('\n', stderr);                                       \
            abort();                                                   \
        }                                                              \
    } while (0)

static int same(const weft_buf_t *a, const weft_buf_t *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* A failed load: WEFT_EPARSE, the message naming the line. */
static void check_failure(int rc, const char *what) {
    const char *msg = weft_graph_error();
    CHECK(rc == WEFT_EPARSE, "%s: %d (%s): %s", what, rc, weft_err_name(rc), msg);
    CHECK(strncmp(msg, "line ", 5) == 0 && msg[5] >= '1' && msg[5] <= '9', "%s: message \"%s\"", what, msg);
}

/* The stream form must answer as the memory form did (rc, message). */
static void check_stream_graph(const char *text, size_t len, int rc, const char *msg) {
    if (len == 0) return; /* fmemopen wants a buffer */
    FILE *f = fmemopen((void *)text, len, "r");
    CHECK(f != NULL, "fmemopen");
    weft_graph_t *g = NULL;
    int rc2 = weft_graph_load(f, &g);
    fclose(f);
    CHECK(rc2 == rc && strcmp(weft_graph_error(), msg) == 0, "stream load %d \"%s\", memory %d \"%s\"", rc2,
          weft_graph_error(), rc, msg);
    if (g) weft_graph_free(g);
}

static void check_stream_run(weft_graph_t *g, const char *text, size_t len, int rc, const char *msg) {
    if (len == 0) return;
    FILE *f = fmemopen((void *)text, len, "r");
    CHECK(f != NULL, "fmemopen");
    weft_run_t *run = NULL;
    int rc2 = weft_run_load(g, f, &run);
    fclose(f);
    CHECK(rc2 == rc && strcmp(weft_graph_error(), msg) == 0, "stream run load %d \"%s\", memory %d \"%s\"", rc2,
          weft_graph_error(), rc, msg);
    if (run) weft_run_free(run);
}

static void check_runs(weft_graph_t *g, weft_graph_t *h, const char *text, size_t len) {
    weft_run_t *run = NULL, *back = NULL;
    int rc = weft_run_load_buf(g, text, len, &run);
    char msg[WEFT_DETAIL_MAX];
    snprintf(msg, sizeof msg, "%s", weft_graph_error());
    check_stream_run(g, text, len, rc, msg);
    if (rc) {
        CHECK(run == NULL, "a failed run load left a run");
        check_failure(rc, "weft_run_load_buf");
        return;
    }
    weft_buf_t s1, s2, a, b;
    rc = weft_run_save_buf(run, &s1);
    CHECK(rc == 0, "weft_run_save_buf of a loaded run: %d: %s", rc, weft_graph_error());
    rc = weft_run_load_buf(h, s1.data, s1.len, &back);
    CHECK(rc == 0, "reloading the saved run: %d: %s\n%s", rc, weft_graph_error(), s1.data);
    rc = weft_run_save_buf(back, &s2);
    CHECK(rc == 0 && same(&s1, &s2), "the run saved again differs:\n%s\n---\n%s", s1.data, s2.data);
    CHECK(weft_graph_dot_buf(g, run, &a) == 0 && weft_graph_dot_buf(h, back, &b) == 0, "dot of the runs");
    CHECK(same(&a, &b), "the runs draw differently:\n%s\n---\n%s", a.data, b.data);
    weft_buf_free(&a);
    weft_buf_free(&b);
    int ta = weft_run_trace_buf(run, &a), tb = weft_run_trace_buf(back, &b);
    CHECK(ta == tb && (ta != 0 || same(&a, &b)), "the runs trace differently (%d, %d)", ta, tb);
    weft_buf_free(&a);
    weft_buf_free(&b);
    CHECK(weft_run_print_stats_buf(run, &a) == 0 && weft_run_print_stats_buf(back, &b) == 0, "print_stats");
    CHECK(same(&a, &b), "the runs' statistics differ:\n%s\n---\n%s", a.data, b.data);
    weft_buf_free(&a);
    weft_buf_free(&b);
    weft_buf_free(&s1);
    weft_buf_free(&s2);
    CHECK(weft_run_free(back) == 0 && weft_run_free(run) == 0, "weft_run_free");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    const char *nul = memchr(text, 0, size);
    size_t glen = nul ? (size_t)(nul - text) : size;
    weft_graph_t *g = NULL, *h = NULL;
    int rc = weft_graph_load_buf(text, glen, &g);
    char msg[WEFT_DETAIL_MAX];
    snprintf(msg, sizeof msg, "%s", weft_graph_error());
    check_stream_graph(text, glen, rc, msg);
    if (rc) {
        CHECK(g == NULL, "a failed load left a graph");
        check_failure(rc, "weft_graph_load_buf");
        return 0;
    }
    weft_buf_t t1, t2, d1, d2;
    rc = weft_graph_save_buf(g, &t1);
    CHECK(rc == 0, "weft_graph_save_buf of a loaded graph: %d: %s", rc, weft_graph_error());
    rc = weft_graph_load_buf(t1.data, t1.len, &h);
    CHECK(rc == 0, "reloading the saved graph: %d: %s\n%s", rc, weft_graph_error(), t1.data);
    rc = weft_graph_save_buf(h, &t2);
    CHECK(rc == 0 && same(&t1, &t2), "the graph saved again differs:\n%s\n---\n%s", t1.data, t2.data);
    CHECK(weft_graph_dot_buf(g, NULL, &d1) == 0 && weft_graph_dot_buf(h, NULL, &d2) == 0, "dot: %s",
          weft_graph_error());
    CHECK(same(&d1, &d2), "the graphs draw differently:\n%s\n---\n%s", d1.data, d2.data);
    weft_buf_free(&d1);
    weft_buf_free(&d2);
    weft_buf_free(&t1);
    weft_buf_free(&t2);
    if (nul) check_runs(g, h, nul + 1, size - glen - 1);
    CHECK(weft_graph_free(h) == 0 && weft_graph_free(g) == 0, "weft_graph_free");
    return 0;
}
