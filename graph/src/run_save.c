/* run_save.c: writing run files (weft_run_save, format: graph/FORMAT.md):
 * a run's per-node record, and the runs of its subgraph nodes as nested
 * 'subrun' blocks.
 *
 * The blocks nest as deep as the subgraphs do; the writer walks them with
 * its own stack on the heap, and indents at most RUN_INDENT_MAX levels, so
 * the text of a run nested a hundred thousand deep grows with the number of
 * its lines, not with their depth squared. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gr.h"
#include "gr_text.h"

#define RUN_VERSION 1
/* Deeper blocks are indented as deep as this (two spaces a level). */
#define RUN_INDENT_MAX 32

static void put_ns(FILE *out, int64_t ns) {
    if (ns < 0) ns = 0;
    fprintf(out, "%lld.%09lld", (long long)(ns / 1000000000), (long long)(ns % 1000000000));
}

/* The sub-run of subgraph node extra x that a run file carries: complete
 * and of its graph's current version (as weft_graph_dot draws it), or NULL
 * when the node has none. */
static const weft_run_t *saved_subrun(const weft_run_t *run, uint32_t x) {
    if (!run->subruns || x >= run->nextras) return NULL;
    weft_run_t *s = atomic_load(&((weft_run_t *)run)->subruns[x]);
    if (!s || gr_run_valid(s) != 0) return NULL;
    return atomic_load_explicit(&s->state, memory_order_acquire) == 1 ? NULL : s;
}

static int pad_of(size_t depth) { return 2 * (int)(depth < RUN_INDENT_MAX ? depth : RUN_INDENT_MAX); }

/* Seconds of an origin as nanoseconds (rounded: what the file keeps). */
static int64_t origin_ns(double s) {
    double ns = s * 1e9 + 0.5;
    return ns >= 9.2e18 ? INT64_MAX : (int64_t)ns;
}

/* The 'machine' lines of run, and *order / *n as gr_machine_order gives
 * them (the caller frees *order): machine numbers are their places in
 * order, "local" being 0 whether it is there or not. A run without
 * origins writes nothing and gets n 0. 0 or WEFT_ENOMEM. */
static int write_machines(const weft_run_t *run, int pad, FILE *out, const char ***order, size_t *n) {
    *order = NULL;
    *n = 0;
    if (!gr_run_has_origins(run)) return 0;
    int rc = gr_machine_order(run, order, n);
    if (rc) return rc;
    size_t base = *n && (*order)[0] == gr_local; /* "local" is 0 */
    for (size_t i = base; i < *n; i++) {
        fprintf(out, "%*smachine %zu ", pad, "", i - base + 1);
        gr_put_token(out, (*order)[i], strlen((*order)[i]));
        putc('\n', out);
    }
    return 0;
}

/* The 'origin' lines of run's nodes that ran with an origin. */
static void write_origins(const weft_run_t *run, int pad, FILE *out, const char *const *order, size_t n) {
    size_t base = n && order[0] == gr_local;
    for (size_t v = 0; v < run->n; v++) {
        int st = atomic_load_explicit(&((weft_run_t *)run)->status[v], memory_order_acquire);
        if (st != WEFT_NODE_DONE && st != WEFT_NODE_FAILED) continue;
        const gr_origin *o = gr_origin_of(run, (uint32_t)v);
        if (!o) continue;
        size_t m = gr_machine_rank(run, (uint32_t)v, order, n);
        const char *name = gr_name(run->g, (weft_node_t)v);
        fprintf(out, "%*sorigin %zu ", pad, "", v);
        gr_put_token(out, name, strlen(name));
        fprintf(out, " %zu %d %d ", m + 1 - base, o->worker, o->attempts);
        put_ns(out, origin_ns(o->lost_s));
        putc(' ', out);
        put_ns(out, origin_ns(o->start_s));
        putc(' ', out);
        put_ns(out, origin_ns(o->end_s));
        fprintf(out, " %llu %llu\n", (unsigned long long)o->bytes_sent,
                (unsigned long long)o->bytes_received);
    }
}

/* The lines of run, up to its sub-runs' blocks, indented for depth levels.
 * parent is the enclosing run (NULL at the top), whose start 'start' is
 * relative to. */
static int write_lines(const weft_run_t *run, const weft_run_t *parent, size_t depth, FILE *out) {
    weft_run_t *r = (weft_run_t *)run; /* its atomics are read, never written */
    const weft_graph_t *g = run->g;
    size_t n = run->n;
    int pad = pad_of(depth);
    if (parent) {
        fprintf(out, "%*sstart ", pad, "");
        put_ns(out, run->t0 - parent->t0);
        putc('\n', out);
    }
    fprintf(out, "%*sgraph ", pad, "");
    gr_put_token(out, g->name, strlen(g->name));
    fprintf(out, "\n%*snodes %zu\n%*srecorded %s\n%*swall ", pad, "", n, pad, "",
            run->record ? "yes" : "no", pad, "");
    put_ns(out, atomic_load(&r->t1) ? atomic_load(&r->t1) - run->t0 : 0);
    gr_sums sums;
    gr_run_sums(r, &sums);
    fprintf(out, "\n%*scounts %llu %llu %llu %llu\n", pad, "", (unsigned long long)sums.done,
            (unsigned long long)sums.failed, (unsigned long long)sums.skipped,
            (unsigned long long)sums.cancelled);
    uint32_t ff = atomic_load(&r->first_failed);
    if (ff != GR_NONE && ff < n) {
        fprintf(out, "%*sfirst-failed %u ", pad, "", ff);
        gr_put_token(out, gr_name(g, ff), strlen(gr_name(g, ff)));
        putc('\n', out);
    }
    int workers = 0;
    for (int w = 0; w < WEFT_MAX_WORKERS; w++) {
        unsigned long long nodes = atomic_load(&r->wcount[w].done) + atomic_load(&r->wcount[w].failed);
        unsigned long long busy = atomic_load(&r->wcount[w].busy_ns);
        if (!nodes && !busy) continue;
        fprintf(out, "%*sworker %d %llu ", pad, "", w, nodes);
        put_ns(out, (int64_t)busy);
        putc('\n', out);
        workers++;
    }
    /* Without worker lines a reader works them out from the node lines'
     * times: when those would give workers this run does not have (a run
     * file said so), one empty line says "these are all", and the text
     * reads back as it is. */
    for (size_t v = 0; !workers && run->record && v < n; v++)
        if (run->t_end[v] && run->t_worker[v] >= 0) {
            fprintf(out, "%*sworker 0 0 0.000000000\n", pad, "");
            workers++;
        }
    const char **order;
    size_t nm;
    if (write_machines(run, pad, out, &order, &nm)) return WEFT_ENOMEM;
    if (!parent) fputs("\n# node ID NAME STATUS CODE [START END WORKER]\n", out);
    for (size_t v = 0; v < n; v++) {
        int st = atomic_load_explicit(&r->status[v], memory_order_acquire);
        const char *name = gr_name(g, (weft_node_t)v);
        fprintf(out, "%*snode %zu ", pad, "", v);
        gr_put_token(out, name, strlen(name));
        fprintf(out, " %s %d", weft_node_status_name(st), st == WEFT_NODE_FAILED ? r->codes[v] : 0);
        if (run->record && run->t_end[v]) {
            putc(' ', out);
            put_ns(out, run->t_start[v] - run->t0);
            putc(' ', out);
            put_ns(out, run->t_end[v] - run->t0);
            fprintf(out, " %d", run->t_worker[v]);
        }
        putc('\n', out);
    }
    if (order || nm) {
        if (!parent) fputs("\n# origin ID NAME MACHINE WORKER ATTEMPTS LOST START END SENT RECEIVED\n", out);
        write_origins(run, pad, out, order, nm);
    }
    wf_free((void *)order);
    return 0;
}

/* One run on the writer's stack: the next node whose sub-run may follow. */
typedef struct rs_frame {
    const weft_run_t *run;
    size_t v;
} rs_frame;

/* The run and, after its lines, a 'subrun' block per subgraph node with a
 * sub-run, in node order, nested. 0 or WEFT_ENOMEM (then part of the text
 * may have been written). */
static int write_run(const weft_run_t *top, FILE *out) {
    gr_vec stack = {0};
    if (gr_vec_reserve(&stack, sizeof(rs_frame), 1)) return WEFT_ENOMEM;
    ((rs_frame *)stack.data)[stack.len++] = (rs_frame){top, 0};
    int rc = write_lines(top, NULL, 0, out);
    while (!rc && stack.len) {
        rs_frame *f = (rs_frame *)stack.data + stack.len - 1;
        const weft_run_t *run = f->run, *s = NULL;
        const weft_graph_t *g = run->g;
        size_t depth = stack.len - 1, v;
        for (v = f->v; v < run->n && !s; v++) {
            const gr_extra *e = gr_extra_of(g, (weft_node_t)v);
            if (e && e->kind == GR_SUB) s = saved_subrun(run, gr_nodes(g)[v].extra);
        }
        f->v = v;
        if (!s) { /* the run is written: close its block */
            if (--stack.len) fprintf(out, "%*send\n", pad_of(depth - 1), "");
            continue;
        }
        const char *name = gr_name(g, (weft_node_t)(v - 1));
        fprintf(out, "\n%*ssubrun %zu ", pad_of(depth), "", v - 1);
        gr_put_token(out, name, strlen(name));
        putc('\n', out);
        if ((rc = gr_vec_reserve(&stack, sizeof(rs_frame), stack.len + 1))) break;
        ((rs_frame *)stack.data)[stack.len++] = (rs_frame){s, 0};
        rc = write_lines(s, run, depth + 1, out);
    }
    wf_free(stack.data);
    return rc;
}

int weft_run_save(const weft_run_t *run, FILE *out) {
    wf_set_detail("%s", "");
    int rc = gr_run_valid(run);
    if (rc || !out) {
        wf_set_detail("weft_run_save: %s", rc == WEFT_ESTALE ? "the graph changed since this run"
                                          : rc              ? "the run is NULL or invalid"
                                                            : "the stream is NULL");
        return rc ? rc : WEFT_EINVAL;
    }
    if (atomic_load_explicit(&((weft_run_t *)run)->state, memory_order_acquire) == 1) {
        wf_set_detail("weft_run_save: the run is still running");
        return WEFT_EBUSY;
    }
    errno = 0;
    fputs("# weft run file (format: graph/FORMAT.md)\n", out);
    fprintf(out, "weft-run %d\n", RUN_VERSION);
    if ((rc = write_run(run, out))) {
        wf_set_detail("out of memory");
        fflush(out);
        return rc;
    }
    return gr_finish_write(out);
}
