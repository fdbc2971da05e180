/* dot.c: seeing graphs and runs: graphviz dot export (weft_graph_dot) and
 * Chrome trace-event JSON (weft_run_trace). Formats and the colour palette
 * are documented in graph/FORMAT.md.
 *
 * Dot: every node gets an id made of its path from the top graph, "n3" for
 * node 3 and "n3_1" for node 1 of the subgraph drawn for node 3, so ids are
 * unique however deep subgraphs nest and however often one graph is used as
 * a subgraph. A subgraph node is drawn as a cluster holding its graph's
 * nodes; an edge into (out of) it is drawn to the first source (from the
 * first sink) inside and clipped at the cluster's border with lhead (ltail)
 * under compound=true.
 *
 * Both writers walk subgraphs with a stack of their own on the heap, never
 * by recursion, so no graph is too deep to draw or trace. Since ids grow
 * with the depth, a drawing's size grows with the square of it: clusters
 * nest at most DOT_MAX_DEPTH levels, deeper subgraph nodes are boxes (as
 * when a drawing would hold more than DOT_MAX_NODES nodes), and lines are
 * indented at most DOT_INDENT_MAX levels. A trace is linear in its events
 * at any depth.
 *
 * Names are user bytes: both writers escape them for their language
 * (gr_escape) and replace bytes that are not valid UTF-8 with U+FFFD, so
 * that graphviz and JSON parsers accept any name. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr.h"
#include "gr_text.h"

/* The inside of a dot double-quoted string (an escString in labels). */
static void dot_esc(FILE *out, const char *str) { gr_escape(out, str, strlen(str), GR_ESC_DOT); }

/* A JSON string, quotes included. */
static void json_str(FILE *out, const char *str) {
    putc('"', out);
    gr_escape(out, str, strlen(str), GR_ESC_JSON);
    putc('"', out);
}

/* A run that may be read: 0, or the error for it. */
static int run_readable(const weft_run_t *run) {
    int rc = gr_run_valid(run);
    if (rc) return rc;
    if (atomic_load_explicit(&((weft_run_t *)run)->state, memory_order_acquire) == 1) return WEFT_EBUSY;
    return 0;
}

/* The run record of the subgraph drawn for extra x, if there is a usable
 * one (it may be missing: the node did not run, or stale). */
static const weft_run_t *subrun_of(const weft_run_t *run, uint32_t x) {
    if (!run || !run->subruns) return NULL;
    const weft_run_t *s = atomic_load(&((weft_run_t *)run)->subruns[x]);
    return s && run_readable(s) == 0 ? s : NULL;
}

/* "12.3 ms" */
static void fmt_duration(char *buf, size_t cap, int64_t ns) {
    if (ns < 1000) snprintf(buf, cap, "%lld ns", (long long)ns);
    else if (ns < 1000000) snprintf(buf, cap, "%.1f us", (double)ns / 1e3);
    else if (ns < 1000000000) snprintf(buf, cap, "%.1f ms", (double)ns / 1e6);
    else snprintf(buf, cap, "%.2f s", (double)ns / 1e9);
}

/* ------------------------------------------------------------------ */
/* Machines: where the nodes of a run and its sub-runs ran              */

/* The machines of a run and of the sub-runs a writer follows, merged (each
 * run interns its own strings, so they are compared as strings), in their
 * fixed order: "local" first, then byte order (gr_machine_order). Empty
 * (n 0) when no node that ran has an origin: the writers then draw as
 * they did before origins existed. */
typedef struct mach_ent {
    const char *name;
    uint64_t nodes; /* nodes that ran there */
} mach_ent;

typedef struct mach_set {
    mach_ent *m;
    size_t n;
} mach_set;

static int mach_cmp(const void *a, const void *b) {
    const char *x = ((const mach_ent *)a)->name, *y = ((const mach_ent *)b)->name;
    int lx = strcmp(x, gr_local) == 0, ly = strcmp(y, gr_local) == 0;
    if (lx || ly) return ly - lx;
    return strcmp(x, y);
}

/* The index of machine name in ms, or ms->n. */
static size_t mach_find(const mach_set *ms, const char *name) {
    mach_ent key = {name, 0};
    const mach_ent *e = ms->n ? bsearch(&key, ms->m, ms->n, sizeof key, mach_cmp) : NULL;
    return e ? (size_t)(e - ms->m) : ms->n;
}

static void mach_free(mach_set *ms) {
    wf_free(ms->m);
    ms->m = NULL;
    ms->n = 0;
}

/* Adds run's machines and node counts to the unsorted list ms. */
static int mach_add_run(mach_set *ms, size_t *cap, const weft_run_t *run) {
    for (uint32_t v = 0; v < run->n; v++) {
        if (!gr_node_ran(run, v)) continue;
        const gr_extra *e = gr_extra_of(run->g, v);
        if (e && e->kind == GR_SUB) continue; /* ran here as a run of its own */
        const char *name = gr_machine_of(run, v);
        size_t i = 0;
        while (i < ms->n && strcmp(ms->m[i].name, name) != 0) i++;
        if (i == ms->n) {
            if (ms->n == *cap) {
                size_t nc = *cap ? 2 * *cap : 8;
                mach_ent *m = wf_realloc(ms->m, nc * sizeof *m);
                if (!m) return WEFT_ENOMEM;
                ms->m = m;
                *cap = nc;
            }
            ms->m[ms->n++] = (mach_ent){name, 0};
        }
        ms->m[i].nodes++;
    }
    return 0;
}

/* ms for top and the sub-runs that follow(run, v) gives (NULL: none), at
 * any depth. 0 or WEFT_ENOMEM. */
static int mach_build(const weft_run_t *top,
                      const weft_run_t *(*follow)(const weft_run_t *run, size_t v), mach_set *ms) {
    ms->m = NULL;
    ms->n = 0;
    size_t cap = 0;
    int any = 0;
    gr_vec stack = {0};
    int rc = gr_vec_reserve(&stack, sizeof(const weft_run_t *), 1);
    if (!rc) ((const weft_run_t **)stack.data)[stack.len++] = top;
    while (!rc && stack.len) {
        const weft_run_t *run = ((const weft_run_t **)stack.data)[--stack.len];
        any |= gr_run_has_origins(run);
        rc = mach_add_run(ms, &cap, run);
        for (size_t v = 0; v < run->n && !rc; v++) {
            const weft_run_t *s = follow(run, v);
            if (s && !(rc = gr_vec_reserve(&stack, sizeof(const weft_run_t *), stack.len + 1)))
                ((const weft_run_t **)stack.data)[stack.len++] = s;
        }
    }
    wf_free(stack.data);
    if (rc || !any) mach_free(ms);
    else qsort(ms->m, ms->n, sizeof *ms->m, mach_cmp);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Dot                                                                 */

/* Per status: node fill, cluster fill, border. */
static const struct {
    const char *fill, *pale, *line;
} palette[] = {
    [WEFT_NODE_PENDING] = {"#ffffff", "#fafafa", "#616161"},
    [WEFT_NODE_DONE] = {"#a5d6a7", "#e8f5e9", "#2e7d32"},
    [WEFT_NODE_FAILED] = {"#ef9a9a", "#ffebee", "#c62828"},
    [WEFT_NODE_SKIPPED] = {"#e0e0e0", "#f5f5f5", "#9e9e9e"},
    [WEFT_NODE_CANCELLED] = {"#ffcc80", "#fff3e0", "#ef6c00"},
    [WEFT_NODE_RUNNING] = {"#90caf9", "#e3f2fd", "#1565c0"},
};

/* Node fills per machine, in machine order (local first when a node ran
 * here), round again after the last. Pale, so that status borders and
 * text stay readable. */
static const char *const machine_fill[] = {
    "#bbdefb", /* blue */   "#c8e6c9", /* green */ "#ffe0b2", /* orange */
    "#e1bee7", /* purple */ "#b2dfdb", /* teal */  "#f8bbd0", /* pink */
    "#fff9c4", /* yellow */ "#d7ccc8", /* brown */
};
#define MACHINE_FILLS (sizeof machine_fill / sizeof machine_fill[0])

/* A growable string for node ids. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static int sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sb_printf(sbuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return WEFT_EIO;
        if (b->s && b->len + (size_t)k < b->cap) {
            b->len += (size_t)k;
            return 0;
        }
        size_t cap = b->cap ? b->cap : 64;
        while (cap <= b->len + (size_t)k) cap *= 2;
        char *s = wf_malloc(cap);
        if (!s) return WEFT_ENOMEM;
        if (b->s) memcpy(s, b->s, b->len + 1);
        else s[0] = 0;
        wf_free(b->s);
        b->s = s;
        b->cap = cap;
    }
}

/* The sub-run drawn for node v of run (a subgraph node with a usable run
 * record), or NULL. */
static const weft_run_t *dot_subrun(const weft_run_t *run, size_t v) {
    const gr_extra *e = gr_extra_of(run->g, (weft_node_t)v);
    return e && e->kind == GR_SUB ? subrun_of(run, gr_nodes(run->g)[v].extra) : NULL;
}

/* *v: the first node without predecessors (want_sink 0) or successors (1),
 * or 0 if every node has one (a cycle). g has at least one node. Returns 0
 * or WEFT_ENOMEM (no other node would draw the same picture). */
static int end_node(const weft_graph_t *g, int want_sink, uint32_t *v) {
    size_t n = g->nodes.len, m = g->esrc.len;
    const uint32_t *from = want_sink ? g->esrc.data : g->edst.data;
    unsigned char *has = wf_calloc(n, 1);
    if (!has) return WEFT_ENOMEM;
    for (size_t i = 0; i < m; i++) has[from[i]] = 1;
    uint32_t k = 0;
    while (k < n && has[k]) k++;
    wf_free(has);
    *v = k < n ? k : 0;
    return 0;
}

/* Most nodes a drawing expands: a subgraph used in many places is drawn
 * once per use, which heavy sharing makes exponential; past this, subgraph
 * nodes are drawn as single boxes instead of clusters. */
#define DOT_MAX_NODES 100000
/* Deepest nesting of clusters: a subgraph node of a graph this deep (the
 * top graph is depth 0) is drawn as a box. Ids are paths, so a drawing of
 * depth d takes O(d) bytes a node: the cap keeps it near linear. */
#define DOT_MAX_DEPTH 1000
/* Lines are indented two spaces a level, up to this many levels. */
#define DOT_INDENT_MAX 32

/* Is subgraph node v of a graph at `depth` drawn as a cluster? */
static int is_cluster(const gr_extra *e, size_t depth, int expand) {
    return expand && e && e->kind == GR_SUB && depth < DOT_MAX_DEPTH;
}

/* The id of the node that stands for node v (with id prefix+v, of a graph
 * at depth) at the end of an edge: v itself, or inside v's cluster the
 * first source (head 1) or first sink (head 0), on down the clusters. */
static int anchor(sbuf *b, const weft_graph_t *g, uint32_t v, const char *prefix, int head, size_t depth,
                  int expand) {
    b->len = 0;
    int rc = sb_printf(b, "%s%u", prefix, v);
    for (const gr_extra *e = gr_extra_of(g, v); !rc && is_cluster(e, depth, expand); e = gr_extra_of(g, v)) {
        g = e->sub;
        depth++;
        if (!g->nodes.len) return sb_printf(b, "_empty");
        if ((rc = end_node(g, !head, &v))) break;
        rc = sb_printf(b, "_%u", v);
    }
    return rc;
}

static void indent(FILE *out, size_t depth) {
    static const char spaces[] = "                                                                  ";
    size_t n = 2 * ((depth < DOT_INDENT_MAX ? depth : DOT_INDENT_MAX) + 1);
    fwrite(spaces, 1, n, out);
}

/* Status, code and timing of node v in run (NULL: none) as label lines and
 * a tooltip. Returns the status, or -1 without a run. */
static int node_state(const weft_run_t *run, uint32_t v, char *timing, size_t cap, int *code) {
    timing[0] = 0;
    *code = 0;
    if (!run) return -1;
    weft_run_t *r = (weft_run_t *)run;
    int st = atomic_load_explicit(&r->status[v], memory_order_acquire);
    if (st < WEFT_NODE_PENDING || st > WEFT_NODE_RUNNING) st = WEFT_NODE_PENDING;
    if (st == WEFT_NODE_FAILED) *code = r->codes[v];
    if (run->record && run->t_end[v]) {
        char d[32];
        fmt_duration(d, sizeof d, run->t_end[v] - run->t_start[v]);
        if (run->t_worker[v] >= 0) snprintf(timing, cap, "%s, w%d", d, run->t_worker[v]);
        else snprintf(timing, cap, "%s, not a worker", d);
    }
    return st;
}

/* Label text (escaped) and the status attributes of a node or cluster. */
static void put_label(FILE *out, const char *name, const char *extra, int st, const char *timing,
                      int code) {
    fputs("label=\"", out);
    dot_esc(out, name);
    if (extra) {
        fputs("\\n", out);
        dot_esc(out, extra);
    }
    if (timing[0]) fprintf(out, "\\n%s", timing);
    if (st == WEFT_NODE_FAILED) fprintf(out, "\\nreturned %d", code);
    putc('"', out);
}

static void put_tooltip(FILE *out, const weft_graph_t *g, uint32_t v, int st) {
    const gr_extra *e = gr_extra_of(g, v);
    fputs(", tooltip=\"", out);
    if (e && e->kind == GR_TASK) {
        fputs("task ", out);
        dot_esc(out, (const char *)g->names.data + e->task);
    } else if (e && e->kind == GR_SUB) {
        fputs("subgraph ", out);
        dot_esc(out, e->sub->name);
    } else {
        fputs("C function", out);
    }
    if (e && e->len) fprintf(out, ", %zu argument bytes", e->len);
    if (st >= 0) fprintf(out, ", %s", weft_node_status_name(st));
    putc('"', out);
}

/* One graph on the drawing's stack. */
typedef struct dot_frame {
    const weft_graph_t *g;
    const weft_run_t *run; /* g's run, or NULL */
    size_t prefix;         /* length of its ids' prefix in the path ("n3_1_") */
    uint32_t v;            /* the next node to draw */
} dot_frame;

/* *out: the nodes the drawing holds when every subgraph use down to
 * DOT_MAX_DEPTH is drawn, saturating above DOT_MAX_NODES (the walk stops
 * there, so heavy sharing costs no more than that); *cut: some subgraph
 * node lies too deep for a cluster. 0 or WEFT_ENOMEM. */
static int expanded_size(const weft_graph_t *top, size_t *out, int *cut) {
    gr_vec stack = {0};
    size_t n = 0;
    int rc = gr_vec_reserve(&stack, sizeof(dot_frame), 1);
    *cut = 0;
    if (!rc) ((dot_frame *)stack.data)[stack.len++] = (dot_frame){.g = top};
    while (!rc && stack.len && n <= DOT_MAX_NODES) {
        dot_frame *f = (dot_frame *)stack.data + stack.len - 1;
        if (f->v == f->g->nodes.len) {
            stack.len--;
            continue;
        }
        const gr_extra *e = gr_extra_of(f->g, f->v++);
        n++;
        if (!e || e->kind != GR_SUB) continue;
        if (stack.len - 1 >= DOT_MAX_DEPTH) {
            *cut = 1;
            continue;
        }
        if (!(rc = gr_vec_reserve(&stack, sizeof(dot_frame), stack.len + 1)))
            ((dot_frame *)stack.data)[stack.len++] = (dot_frame){.g = e->sub};
    }
    wf_free(stack.data);
    *out = n > DOT_MAX_NODES ? DOT_MAX_NODES + 1 : n;
    return rc;
}

/* Where node v of run ran, for its label: "on MACHINE" in *where, and
 * timing replaced by the origin's (its times on that machine when given,
 * its worker there). Returns the machine's index in ms, or ms->n when the
 * node is not drawn by machine (it did not run, or runs a subgraph). */
static size_t node_machine(const mach_set *ms, const weft_run_t *run, uint32_t v, char *where, size_t wcap,
                           char *timing, size_t tcap) {
    if (!ms->n || !run || !gr_node_ran(run, v)) return ms->n;
    const gr_extra *e = gr_extra_of(run->g, v);
    if (e && e->kind == GR_SUB) return ms->n;
    const char *name = gr_machine_of(run, v);
    snprintf(where, wcap, "on %s", name);
    const gr_origin *o = gr_origin_of(run, v);
    if (o) {
        char d[32];
        d[0] = 0;
        if (o->end_s > 0) fmt_duration(d, sizeof d, (int64_t)((o->end_s - o->start_s) * 1e9 + 0.5));
        else if (run->record && run->t_end[v]) fmt_duration(d, sizeof d, run->t_end[v] - run->t_start[v]);
        if (o->worker >= 0) snprintf(timing, tcap, "%s%sw%d", d, d[0] ? ", " : "", o->worker);
        else snprintf(timing, tcap, "%s", d);
    }
    return mach_find(ms, name);
}

/* Node v of g (a graph at depth, ids prefix+v) as a box. */
static void emit_box(FILE *out, const weft_graph_t *g, const weft_run_t *run, uint32_t v, const char *prefix,
                     size_t depth, const mach_set *ms) {
    const gr_extra *e = gr_extra_of(g, v);
    char timing[64], what[WEFT_NAME_MAX + 16];
    int code, st = node_state(run, v, timing, sizeof timing, &code);
    size_t m = node_machine(ms, run, v, what, sizeof what, timing, sizeof timing);
    indent(out, depth);
    if (e && e->kind == GR_SUB) snprintf(what, sizeof what, "(graph %s)", e->sub->name);
    fprintf(out, "%s%u [", prefix, v);
    put_label(out, gr_name(g, v), (e && e->kind == GR_SUB) || m < ms->n ? what : NULL, st, timing, code);
    put_tooltip(out, g, v, st);
    if (st >= 0) {
        const char *fill = m < ms->n ? machine_fill[m % MACHINE_FILLS] : palette[st].fill;
        fprintf(out, ", fillcolor=\"%s\", color=\"%s\"", fill, palette[st].line);
        if (st == WEFT_NODE_FAILED) fputs(", penwidth=2", out);
        if (st == WEFT_NODE_SKIPPED || st == WEFT_NODE_CANCELLED)
            fputs(", style=\"rounded,filled,dashed\", fontcolor=\"#616161\"", out);
    }
    fputs("];\n", out);
}

/* The head of subgraph node v's cluster: its label and style lines. */
static void emit_cluster_head(FILE *out, const weft_graph_t *g, const weft_run_t *run, uint32_t v,
                              const char *prefix, size_t depth) {
    const weft_graph_t *sub = gr_extra_of(g, v)->sub;
    const char *name = gr_name(g, v);
    char timing[64], what[WEFT_NAME_MAX + 16];
    int code, st = node_state(run, v, timing, sizeof timing, &code);
    snprintf(what, sizeof what, "(graph %s)", sub->name);
    indent(out, depth);
    fprintf(out, "subgraph \"cluster_%s%u\" {\n", prefix, v);
    indent(out, depth + 1);
    put_label(out, name, strcmp(sub->name, name) ? what : NULL, st, timing, code);
    fputs(";\n", out);
    indent(out, depth + 1);
    fputs("style=\"rounded,filled\"", out);
    if (st >= 0)
        fprintf(out, "; fillcolor=\"%s\"; color=\"%s\"%s;\n", palette[st].pale, palette[st].line,
                st == WEFT_NODE_FAILED ? "; penwidth=2" : "");
    else fputs("; fillcolor=\"#f7f7f7\"; color=\"#9e9e9e\";\n", out);
}

/* g's edges (g at depth, ids start with prefix). */
static int emit_edges(FILE *out, const weft_graph_t *g, const char *prefix, size_t depth, int expand,
                      sbuf *tail, sbuf *head) {
    const uint32_t *src = g->esrc.data, *dst = g->edst.data;
    int rc = 0;
    for (size_t i = 0; i < g->esrc.len && !rc; i++) {
        uint32_t a = src[i], b = dst[i];
        if ((rc = anchor(tail, g, a, prefix, 0, depth, expand)) ||
            (rc = anchor(head, g, b, prefix, 1, depth, expand)))
            break;
        int ca = a != b && is_cluster(gr_extra_of(g, a), depth, expand);
        int cb = a != b && is_cluster(gr_extra_of(g, b), depth, expand);
        indent(out, depth);
        fprintf(out, "%s -> %s", tail->s, head->s);
        if (ca || cb) {
            fputs(" [", out);
            if (ca) fprintf(out, "ltail=\"cluster_%s%u\"%s", prefix, a, cb ? ", " : "");
            if (cb) fprintf(out, "lhead=\"cluster_%s%u\"", prefix, b);
            putc(']', out);
        }
        fputs(";\n", out);
    }
    return rc;
}

/* Writes g's nodes (clusters for subgraph nodes, their graphs inside) and
 * edges, depth first with a stack of graphs: a graph's edges follow its
 * nodes, and a cluster closes after its graph's edges. */
static int emit_graph(FILE *out, const weft_graph_t *top, const weft_run_t *run, int expand,
                      const mach_set *ms) {
    gr_vec stack = {0};
    sbuf path = {0}, tail = {0}, head = {0};
    int rc = sb_printf(&path, "n");
    if (!rc) rc = gr_vec_reserve(&stack, sizeof(dot_frame), 1);
    if (!rc) ((dot_frame *)stack.data)[stack.len++] = (dot_frame){top, run, path.len, 0};
    while (!rc && stack.len) {
        size_t depth = stack.len - 1;
        dot_frame *f = (dot_frame *)stack.data + depth;
        const weft_graph_t *g = f->g;
        path.len = f->prefix;
        path.s[path.len] = 0;
        if (f->v == g->nodes.len) { /* the nodes are drawn: the edges, then close the cluster */
            rc = emit_edges(out, g, path.s, depth, expand, &tail, &head);
            if (--stack.len) {
                indent(out, depth - 1);
                fputs("}\n", out);
            }
            continue;
        }
        uint32_t v = f->v++;
        const gr_extra *e = gr_extra_of(g, v);
        if (!is_cluster(e, depth, expand)) {
            emit_box(out, g, f->run, v, path.s, depth, ms);
            continue;
        }
        emit_cluster_head(out, g, f->run, v, path.s, depth);
        const weft_graph_t *sub = e->sub;
        const weft_run_t *subrun = subrun_of(f->run, gr_nodes(g)[v].extra);
        if ((rc = sb_printf(&path, "%u_", v))) break;
        if (sub->nodes.len == 0) {
            indent(out, depth + 1);
            fprintf(out, "%sempty [label=\"(empty graph)\", shape=plaintext, style=\"\"];\n", path.s);
            indent(out, depth);
            fputs("}\n", out);
            continue;
        }
        if ((rc = gr_vec_reserve(&stack, sizeof(dot_frame), stack.len + 1))) break;
        ((dot_frame *)stack.data)[stack.len++] = (dot_frame){sub, subrun, path.len, 0};
    }
    wf_free(stack.data);
    wf_free(path.s);
    wf_free(tail.s);
    wf_free(head.s);
    return rc;
}

int weft_graph_dot(const weft_graph_t *g, const weft_run_t *run, FILE *out) {
    if (!gr_graph_valid(g) || !out) return WEFT_EINVAL;
    if (run) {
        int rc = run_readable(run);
        if (rc) return rc;
        if (run->g != g) return WEFT_EINVAL;
    }
    size_t size;
    int cut;
    int rc = expanded_size(g, &size, &cut); /* before anything is written */
    if (rc) return rc;
    mach_set ms = {0};
    if (run && (rc = mach_build(run, dot_subrun, &ms))) return rc;
    int expand = size <= DOT_MAX_NODES;
    errno = 0;
    fputs("digraph \"", out);
    dot_esc(out, g->name);
    fputs("\" {\n", out);
    fputs("  graph [compound=true, fontname=\"Helvetica\", labelloc=t, label=\"", out);
    dot_esc(out, g->name);
    if (run) {
        weft_run_counts_t c;
        weft_run_counts(run, &c);
        char wall[32];
        fmt_duration(wall, sizeof wall, atomic_load(&run->t1) ? atomic_load(&run->t1) - run->t0 : 0);
        fprintf(out, "\\n%llu done", (unsigned long long)c.done);
        if (c.failed) fprintf(out, ", %llu failed", (unsigned long long)c.failed);
        if (c.skipped) fprintf(out, ", %llu skipped", (unsigned long long)c.skipped);
        if (c.cancelled) fprintf(out, ", %llu cancelled", (unsigned long long)c.cancelled);
        fprintf(out, " of %llu in %s", (unsigned long long)c.total, wall);
    }
    fputs("\"];\n", out);
    fputs("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", "
          "fontname=\"Helvetica\"];\n",
          out);
    fputs("  edge [color=\"#424242\"];\n", out);
    if (!expand)
        fprintf(out, "  // over %d nodes with every subgraph use drawn: subgraphs drawn as boxes\n",
                DOT_MAX_NODES);
    else if (cut)
        fprintf(out, "  // subgraphs nested over %d deep drawn as boxes\n", DOT_MAX_DEPTH);
    rc = emit_graph(out, g, run, expand, &ms);
    if (ms.n) { /* the legend: one box per machine, in machine order */
        fputs("  subgraph \"cluster_machines\" {\n    label=\"machines\"; style=\"rounded\"; "
              "color=\"#9e9e9e\";\n", out);
        for (size_t i = 0; i < ms.n; i++) {
            fprintf(out, "    machine_%zu [label=\"", i);
            dot_esc(out, ms.m[i].name);
            fprintf(out, "\\n%llu node%s\", fillcolor=\"%s\"];\n", (unsigned long long)ms.m[i].nodes,
                    ms.m[i].nodes == 1 ? "" : "s", machine_fill[i % MACHINE_FILLS]);
        }
        fputs("  }\n", out);
    }
    mach_free(&ms);
    fputs("}\n", out);
    if (rc) {
        fflush(out);
        return rc;
    }
    return gr_finish_write(out);
}

/* ------------------------------------------------------------------ */
/* Chrome trace events                                                 */

/* Track of worker w: its index; threads that are not workers share one. */
static int track(int w) { return w >= 0 && w < WEFT_MAX_WORKERS ? w : WEFT_MAX_WORKERS; }

/* One run on a trace walk's stack: the next node to look at. */
typedef struct tr_frame {
    const weft_run_t *run;
    size_t v;
} tr_frame;

/* The recorded sub-run of node v of run that a trace follows, or NULL. */
static const weft_run_t *traced_subrun(const weft_run_t *run, size_t v) {
    const gr_extra *e = gr_extra_of(run->g, (weft_node_t)v);
    if (!e || e->kind != GR_SUB) return NULL;
    const weft_run_t *s = subrun_of(run, gr_nodes(run->g)[v].extra);
    return s && s->record ? s : NULL;
}

/* Node v's machine in the trace (an index in ms; 0 without machines) and
 * its track there: the origin's worker for a node with an origin, else
 * the worker of the record. */
static size_t trace_machine(const mach_set *ms, const weft_run_t *run, size_t v, int *tid) {
    const gr_origin *o = ms->n ? gr_origin_of(run, (uint32_t)v) : NULL;
    *tid = track(o ? o->worker : run->t_worker[v]);
    if (!ms->n) return 0;
    size_t m = mach_find(ms, gr_machine_of(run, (uint32_t)v));
    return m < ms->n ? m : 0; /* always found: ms holds every machine a node ran on */
}

/* Marks the tracks of run's nodes and its recorded sub-runs' at any depth:
 * used[m * (WEFT_MAX_WORKERS + 1) + tid] for machine m. 0 or WEFT_ENOMEM. */
static int mark_tracks(const weft_run_t *top, const mach_set *ms, unsigned char *used) {
    gr_vec stack = {0};
    int rc = gr_vec_reserve(&stack, sizeof(tr_frame), 1);
    if (!rc) ((tr_frame *)stack.data)[stack.len++] = (tr_frame){top, 0};
    while (!rc && stack.len) {
        const weft_run_t *run = ((tr_frame *)stack.data)[--stack.len].run;
        for (size_t v = 0; v < run->n && !rc; v++) {
            if (run->t_end[v]) {
                int tid;
                size_t m = trace_machine(ms, run, v, &tid);
                used[m * (WEFT_MAX_WORKERS + 1) + (size_t)tid] = 1;
            }
            const weft_run_t *s = traced_subrun(run, v);
            if (s && !(rc = gr_vec_reserve(&stack, sizeof(tr_frame), stack.len + 1)))
                ((tr_frame *)stack.data)[stack.len++] = (tr_frame){s, 0};
        }
    }
    wf_free(stack.data);
    return rc;
}

static void put_us(FILE *out, int64_t ns) {
    if (ns < 0) ns = 0;
    fprintf(out, "%lld.%03lld", (long long)(ns / 1000), (long long)(ns % 1000));
}

/* One "X" event for node v of run. t0: the top run's start, which every
 * time is taken relative to. */
static void trace_node(FILE *out, const weft_run_t *run, size_t v, int64_t t0, const mach_set *ms) {
    const weft_graph_t *g = run->g;
    weft_run_t *r = (weft_run_t *)run;
    const gr_extra *e = gr_extra_of(g, (weft_node_t)v);
    int st = atomic_load_explicit(&r->status[v], memory_order_acquire);
    int tid;
    size_t m = trace_machine(ms, run, v, &tid);
    const gr_origin *o = ms->n ? gr_origin_of(run, (uint32_t)v) : NULL;
    int64_t start = run->t_start[v], end = run->t_end[v];
    if (o && o->end_s > 0) { /* when it ran there, on this process's clock */
        start = run->t0 + (int64_t)(o->start_s * 1e9 + 0.5);
        end = run->t0 + (int64_t)(o->end_s * 1e9 + 0.5);
    }
    fputs(",\n{\"name\":", out);
    json_str(out, gr_name(g, (weft_node_t)v));
    fputs(",\"cat\":\"node\",\"ph\":\"X\",\"ts\":", out);
    put_us(out, start - t0);
    fputs(",\"dur\":", out);
    put_us(out, end - start);
    fprintf(out, ",\"pid\":%zu,\"tid\":%d,\"args\":{\"node\":%zu,\"graph\":", m + 1, tid, v);
    json_str(out, g->name);
    fprintf(out, ",\"status\":\"%s\"", weft_node_status_name(st));
    if (st == WEFT_NODE_FAILED) fprintf(out, ",\"code\":%d", r->codes[v]);
    if (e && e->kind == GR_TASK) {
        fputs(",\"task\":", out);
        json_str(out, (const char *)g->names.data + e->task);
    }
    if (ms->n) {
        fputs(",\"machine\":", out);
        json_str(out, ms->m[m].name);
    }
    if (o)
        fprintf(out, ",\"attempts\":%d,\"lost_s\":%.9f,\"bytes_sent\":%llu,\"bytes_received\":%llu",
                o->attempts, o->lost_s, (unsigned long long)o->bytes_sent,
                (unsigned long long)o->bytes_received);
    fputs("}}", out);
}

/* The events of every node of run that ran; a subgraph node's recorded
 * sub-run follows its node, at any depth. 0 or WEFT_ENOMEM. */
static int trace_nodes(FILE *out, const weft_run_t *top, const mach_set *ms) {
    gr_vec stack = {0};
    int rc = gr_vec_reserve(&stack, sizeof(tr_frame), 1);
    if (!rc) ((tr_frame *)stack.data)[stack.len++] = (tr_frame){top, 0};
    while (!rc && stack.len) {
        tr_frame *f = (tr_frame *)stack.data + stack.len - 1;
        const weft_run_t *run = f->run;
        if (f->v == run->n) {
            stack.len--;
            continue;
        }
        size_t v = f->v++;
        if (run->t_end[v]) trace_node(out, run, v, top->t0, ms);
        const weft_run_t *s = traced_subrun(run, v);
        if (s && !(rc = gr_vec_reserve(&stack, sizeof(tr_frame), stack.len + 1)))
            ((tr_frame *)stack.data)[stack.len++] = (tr_frame){s, 0};
    }
    wf_free(stack.data);
    return rc;
}

/* The trace's tracks: per machine a process (pid: its index + 1, named by
 * the machine; without machines one process named by the graph), per
 * worker that ran a node there a thread. */
static void trace_tracks(FILE *out, const weft_run_t *run, const mach_set *ms, const unsigned char *used) {
    size_t np = ms->n ? ms->n : 1;
    for (size_t m = 0; m < np; m++) {
        if (m) fputs(",\n", out);
        fprintf(out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%zu,\"tid\":0,\"args\":{\"name\":",
                m + 1);
        json_str(out, ms->n ? ms->m[m].name : run->g->name);
        fputs("}}", out);
        if (ms->n)
            fprintf(out, ",\n{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":%zu,\"tid\":0,"
                         "\"args\":{\"sort_index\":%zu}}", m + 1, m);
        for (int w = 0; w <= WEFT_MAX_WORKERS; w++) {
            if (!used[m * (WEFT_MAX_WORKERS + 1) + (size_t)w]) continue;
            fprintf(out, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%zu,\"tid\":%d,\"args\":{\"name\":",
                    m + 1, w);
            if (w < WEFT_MAX_WORKERS) fprintf(out, "\"worker %d\"}}", w);
            else if (ms->n && strcmp(ms->m[m].name, gr_local) != 0) fputs("\"unknown worker\"}}", out);
            else fputs("\"not a worker\"}}", out);
            fprintf(out, ",\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":%zu,\"tid\":%d,"
                         "\"args\":{\"sort_index\":%d}}", m + 1, w, w);
        }
    }
}

int weft_run_trace(const weft_run_t *run, FILE *out) {
    int rc = run_readable(run);
    if (rc) return rc;
    if (!out) return WEFT_EINVAL;
    if (!run->record) return WEFT_ENOENT;
    mach_set ms;
    if ((rc = mach_build(run, traced_subrun, &ms))) return rc;
    unsigned char *used = wf_calloc((ms.n ? ms.n : 1) * (WEFT_MAX_WORKERS + 1), 1);
    if (!used || (rc = mark_tracks(run, &ms, used))) {
        wf_free(used);
        mach_free(&ms);
        return used ? rc : WEFT_ENOMEM;
    }
    errno = 0;
    fputs("{\"traceEvents\":[\n", out);
    trace_tracks(out, run, &ms, used);
    rc = trace_nodes(out, run, &ms);
    fputs("\n],\"displayTimeUnit\":\"ms\"}\n", out);
    wf_free(used);
    mach_free(&ms);
    if (rc) {
        fflush(out);
        return rc;
    }
    return gr_finish_write(out);
}
