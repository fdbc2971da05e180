/* run_load.c: reading run files (weft_run_load, weft_run_load_buf;
 * format: graph/FORMAT.md) into run records that never ran, for drawing,
 * tracing and statistics.
 *
 * Each run being loaded, the file's own and those of the 'subrun' blocks
 * open around the current line, has a run_loader on a stack on the heap,
 * so blocks nest as deep as the subgraphs do. Errors say where: "line N:
 * ..."; on any error nothing of the run, sub-runs included, is kept. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr.h"
#include "gr_lex.h"
#include "gr_text.h"

#define RUN_VERSION 1

/* Loading a run file. Each run being loaded, the file's own and those of
 * the 'subrun' blocks open around the current line, has a run_loader on a
 * stack: a 'subrun' line pushes one (its run record made at once and hung
 * in the enclosing run's subruns[], so that freeing the top run frees every
 * sub-run, however far the load got), 'end' finishes and pops it. Times are
 * read relative to each run's own start; once the whole file is read,
 * rl_place puts every run on the top run's clock, parents before
 * children. */
typedef struct run_loader {
    gr_lx *l;
    weft_graph_t *g;
    weft_run_t *run;
    unsigned char *seen;        /* per node: 1 its node line seen, 2 its origin line */
    gr_vec mach;                /* const char *: machine M is entry M-1 (interned) */
    long *sublines;             /* per extra: line of its 'subrun' block, or 0 */
    int recorded;               /* -1 unknown, 0 no, 1 yes */
    long timing_line;           /* first node line with timings, or 0 */
    int64_t wall;               /* -1: no 'wall' line */
    int64_t start;              /* -1: no 'start' line */
    int have_counts, have_graph, have_nodes;
    long counts_line, first_line;
    long open_line;             /* the block's 'subrun' line; 0 for the file's run */
    uint32_t node;              /* the enclosing run's node it belongs to */
    size_t place;               /* its entry in rl_loading.places */
    uint64_t counts[4];         /* done, failed, skipped, cancelled from 'counts' */
    uint64_t found[4];          /* the same from the node lines */
    uint32_t first;             /* from 'first-failed', or GR_NONE */
    int any_worker;
    unsigned char wseen[WEFT_MAX_WORKERS];
} run_loader;

/* Where a loaded run goes on the top run's clock. */
typedef struct rl_place {
    weft_run_t *run;
    size_t parent;  /* entry of the enclosing run (entry 0, the top, has none) */
    int64_t start;  /* from 'start': after the enclosing run's start */
    int64_t span;   /* its latest time after its own start: wall, node ends */
    int64_t t0;     /* its start on the top run's clock, once placed */
    long line;      /* its 'subrun' line */
} rl_place;

typedef struct rl_loading {
    gr_lx l;
    gr_vec stack;   /* run_loader *: the runs of the open blocks, the file's first */
    gr_vec places;  /* rl_place: every run, in the order their blocks open */
} rl_loading;

static run_loader *rl_top(const rl_loading *ld) {
    return ((run_loader **)ld->stack.data)[ld->stack.len - 1];
}

static void rl_frame_free(run_loader *rl) {
    wf_free(rl->seen);
    wf_free(rl->mach.data);
    wf_free(rl->sublines);
    wf_free(rl);
}

/* Starts loading a run of g: the file's own (parent NULL), or the sub-run of
 * subgraph node `node` (extra x) of parent's run, whose block opens on the
 * current line. *top gets the file's run. */
static int rl_push(rl_loading *ld, weft_graph_t *g, run_loader *parent, uint32_t node, uint32_t x,
                   weft_run_t **top) {
    int rc = gr_vec_reserve(&ld->stack, sizeof(run_loader *), ld->stack.len + 1);
    if (!rc) rc = gr_vec_reserve(&ld->places, sizeof(rl_place), ld->places.len + 1);
    if (rc) return rc;
    run_loader *rl = wf_calloc(1, sizeof *rl);
    if (!rl) return WEFT_ENOMEM;
    if ((rc = gr_run_alloc(g, 1, &rl->run))) {
        wf_free(rl);
        return rc;
    }
    if (parent) { /* hung in at once: freed with the top run whatever happens */
        atomic_store(&parent->run->subruns[x], rl->run);
        parent->sublines[x] = ld->l.line;
    } else {
        *top = rl->run;
    }
    ((run_loader **)ld->stack.data)[ld->stack.len++] = rl;
    rl->l = &ld->l;
    rl->g = g;
    rl->recorded = -1;
    rl->wall = rl->start = -1;
    rl->first = GR_NONE;
    rl->node = node;
    rl->open_line = parent ? ld->l.line : 0;
    rl->place = ld->places.len;
    ((rl_place *)ld->places.data)[ld->places.len++] =
        (rl_place){.run = rl->run, .parent = parent ? parent->place : 0, .line = rl->open_line};
    rl->seen = wf_calloc(rl->run->n ? rl->run->n : 1, 1);
    if (!rl->seen) return WEFT_ENOMEM;
    if (g->extras.len && !(rl->sublines = wf_calloc(g->extras.len, sizeof *rl->sublines)))
        return WEFT_ENOMEM;
    return 0;
}

/* "ID NAME": an existing node of g, called NAME there. */
static int rl_node_ref(run_loader *rl, uint32_t *id) {
    gr_lx *l = rl->l;
    char sb[80], sb2[80];
    uint64_t v = 0;
    int rc = gr_lx_uint(l, "node id", UINT64_MAX, &v);
    if (rc) return rc;
    if (v >= rl->run->n)
        return gr_lx_fail(l, "node %llu does not exist in graph '%s' (it has %zu nodes)",
                       (unsigned long long)v, gr_show(rl->g->name, strlen(rl->g->name), sb, sizeof sb),
                       rl->run->n);
    int k = gr_lx_name(l, "node name", 1);
    if (k < 0) return k;
    const char *name = gr_name(rl->g, (weft_node_t)v);
    if (strlen(name) != l->tlen || memcmp(name, l->tok, l->tlen) != 0)
        return gr_lx_fail(l, "node %llu is called '%s' in the graph, not '%s'", (unsigned long long)v,
                       gr_show(name, strlen(name), sb, sizeof sb), gr_show(l->tok, l->tlen, sb2, sizeof sb2));
    *id = (uint32_t)v;
    return 0;
}

static int rl_node(run_loader *rl) {
    gr_lx *l = rl->l;
    weft_run_t *run = rl->run;
    uint32_t v;
    int rc = rl_node_ref(rl, &v);
    if (rc) return rc;
    if (rl->seen[v] & 1) return gr_lx_fail(l, "duplicate line for node %u", v);
    rl->seen[v] |= 1;
    int k = gr_lx_next(l);
    if (k < 0) return k;
    if (k == GR_TK_END) return gr_lx_fail(l, "missing node status");
    int st = -1;
    for (int s = WEFT_NODE_PENDING; s <= WEFT_NODE_RUNNING; s++)
        if (gr_lx_is(l, k, weft_node_status_name(s))) st = s;
    char sb[80];
    if (st < 0)
        return gr_lx_fail(l, "bad node status '%s' (pending, done, failed, skipped, cancelled or running)",
                       gr_show(l->tok, l->tlen, sb, sizeof sb));
    long long code;
    if ((rc = gr_lx_int(l, "code", INT_MIN, INT_MAX, &code))) return rc;
    if (st == WEFT_NODE_FAILED && code == 0) return gr_lx_fail(l, "a failed node needs a nonzero code");
    if (st != WEFT_NODE_FAILED && code != 0)
        return gr_lx_fail(l, "the code of a %s node must be 0, not %lld", weft_node_status_name(st), code);
    if (gr_lx_more(l)) { /* START END WORKER */
        if (st != WEFT_NODE_DONE && st != WEFT_NODE_FAILED)
            return gr_lx_fail(l, "a %s node did not run: it has no times", weft_node_status_name(st));
        if (rl->recorded == 0) return gr_lx_fail(l, "times given in a run that was not recorded");
        int64_t t0, t1;
        long long w;
        if ((rc = gr_lx_time(l, "start time", &t0)) || (rc = gr_lx_time(l, "end time", &t1)) ||
            (rc = gr_lx_int(l, "worker", -1, WEFT_MAX_WORKERS - 1, &w)))
            return rc;
        if (t1 < t0) return gr_lx_fail(l, "end time before start time");
        if (t1 == 0) return gr_lx_fail(l, "end time must be after the run's start (above 0)");
        run->t_start[v] = t0;
        run->t_end[v] = t1;
        run->t_worker[v] = (int16_t)w;
        if (!rl->timing_line) rl->timing_line = l->line;
        if ((rc = gr_lx_end(l, "node"))) return rc;
    }
    atomic_store(&run->status[v], (unsigned char)st);
    if (st == WEFT_NODE_FAILED) run->codes[v] = (int)code;
    if (st >= WEFT_NODE_DONE && st <= WEFT_NODE_CANCELLED) rl->found[st - WEFT_NODE_DONE]++;
    return 0;
}

/* "machine M ADDRESS": machine M (1, 2, 3... in order) of the run. */
static int rl_machine(run_loader *rl) {
    gr_lx *l = rl->l;
    char sb[80];
    uint64_t m;
    int rc = gr_lx_uint(l, "machine number", UINT64_MAX, &m);
    if (rc) return rc;
    size_t have = rl->mach.len;
    if (m == 0) return gr_lx_fail(l, "machine 0 is this process ('local'): it has no 'machine' line");
    if (m != have + 1)
        return gr_lx_fail(l, "machine %llu out of order: the next is machine %zu", (unsigned long long)m,
                          have + 1);
    int k = gr_lx_name(l, "address", 0);
    if (k < 0) return k;
    int why = gr_check_address((const char *)l->tok);
    if (why)
        return gr_lx_fail(l, "machine %llu: bad address '%s': %s", (unsigned long long)m,
                          gr_show(l->tok, l->tlen, sb, sizeof sb), gr_address_problem(why));
    if (strcmp((const char *)l->tok, gr_local) == 0)
        return gr_lx_fail(l, "machine 'local' is machine 0: it has no 'machine' line");
    const char **mv = rl->mach.data;
    for (size_t i = 0; i < have; i++)
        if (strcmp(mv[i], (const char *)l->tok) == 0)
            return gr_lx_fail(l, "machine %llu repeats machine %zu '%s'", (unsigned long long)m, i + 1,
                              gr_show(l->tok, l->tlen, sb, sizeof sb));
    gr_origins *o = gr_origins_get(rl->run);
    const char *name = o ? gr_machine_intern(o, (const char *)l->tok) : NULL;
    if (!name || gr_vec_reserve(&rl->mach, sizeof(const char *), have + 1)) return WEFT_ENOMEM;
    ((const char **)rl->mach.data)[rl->mach.len++] = name;
    return gr_lx_end(l, "machine");
}

/* "origin ID NAME MACHINE WORKER ATTEMPTS LOST START END SENT RECEIVED":
 * where node ID, which ran (its node line above), ran. */
static int rl_origin(run_loader *rl) {
    gr_lx *l = rl->l;
    uint32_t v;
    int rc = rl_node_ref(rl, &v);
    if (rc) return rc;
    if (!(rl->seen[v] & 1)) return gr_lx_fail(l, "origin of node %u before its node line", v);
    if (rl->seen[v] & 2) return gr_lx_fail(l, "duplicate 'origin' line for node %u", v);
    int st = atomic_load(&rl->run->status[v]);
    if (st != WEFT_NODE_DONE && st != WEFT_NODE_FAILED)
        return gr_lx_fail(l, "node %u did not run (it is %s): it has no origin", v, weft_node_status_name(st));
    uint64_t m, sent, received;
    long long worker, attempts;
    int64_t lost, t0, t1;
    if ((rc = gr_lx_uint(l, "machine number", UINT64_MAX, &m))) return rc;
    if (m > rl->mach.len)
        return gr_lx_fail(l, "unknown machine %llu (machine lines above number 1 to %zu; 0 is 'local')",
                          (unsigned long long)m, rl->mach.len);
    if ((rc = gr_lx_int(l, "origin worker", -1, WEFT_MAX_WORKERS - 1, &worker)) ||
        (rc = gr_lx_int(l, "attempts", 0, INT32_MAX, &attempts)) || (rc = gr_lx_time(l, "lost time", &lost)) ||
        (rc = gr_lx_time(l, "origin start time", &t0)) || (rc = gr_lx_time(l, "origin end time", &t1)))
        return rc;
    const int64_t max_ns = (int64_t)GR_ORIGIN_MAX_S * 1000000000;
    if (lost > max_ns || t0 > max_ns || t1 > max_ns)
        return gr_lx_fail(l, "origin times are at most %.0f seconds", GR_ORIGIN_MAX_S);
    if (t1 < t0) return gr_lx_fail(l, "origin end time before origin start time");
    if ((rc = gr_lx_uint(l, "bytes sent", UINT64_MAX, &sent)) ||
        (rc = gr_lx_uint(l, "bytes received", UINT64_MAX, &received)) || (rc = gr_lx_end(l, "origin")))
        return rc;
    gr_origins *o = gr_origins_get(rl->run);
    if (!o) return WEFT_ENOMEM;
    gr_origin *no = &o->node[v];
    no->worker = (int32_t)worker;
    no->attempts = (int32_t)attempts;
    no->lost_s = (double)lost / 1e9;
    no->start_s = (double)t0 / 1e9;
    no->end_s = (double)t1 / 1e9;
    no->bytes_sent = sent;
    no->bytes_received = received;
    atomic_store(&no->machine, m ? ((const char **)rl->mach.data)[m - 1] : gr_local);
    rl->seen[v] |= 2;
    return 0;
}

/* "subrun ID NAME": opens the block of node ID's sub-run. */
static int rl_open(rl_loading *ld, run_loader *rl) {
    gr_lx *l = rl->l;
    char sb[80];
    uint32_t v;
    int rc = rl_node_ref(rl, &v);
    if (rc) return rc;
    const gr_extra *e = gr_extra_of(rl->g, v);
    const char *name = gr_name(rl->g, v);
    if (!e || e->kind != GR_SUB)
        return gr_lx_fail(l, "node %u '%s' is not a subgraph node: only subgraph nodes have sub-runs", v,
                       gr_show(name, strlen(name), sb, sizeof sb));
    if ((rc = gr_lx_end(l, "subrun"))) return rc;
    uint32_t x = gr_nodes(rl->g)[v].extra;
    if (rl->sublines[x])
        return gr_lx_fail(l, "duplicate 'subrun' block for node %u '%s' (the first is on line %ld)", v,
                       gr_show(name, strlen(name), sb, sizeof sb), rl->sublines[x]);
    weft_run_t *unused;
    return rl_push(ld, e->sub, rl, v, x, &unused);
}

static int rl_finish(rl_loading *ld, run_loader *rl);

/* "end": finishes the sub-run of the innermost open block. */
static int rl_close(rl_loading *ld, run_loader *rl) {
    if (ld->stack.len < 2) return gr_lx_fail(rl->l, "'end' without a 'subrun' block");
    int rc = gr_lx_end(rl->l, "end");
    if (!rc) rc = rl_finish(ld, rl);
    if (rc) return rc;
    ld->stack.len--;
    rl_frame_free(rl);
    return 0;
}

static int rl_directive(rl_loading *ld, int k) {
    run_loader *rl = rl_top(ld);
    gr_lx *l = rl->l;
    weft_run_t *run = rl->run;
    char sb[80], sb2[80];
    int rc;
    if (gr_lx_is(l, k, "node")) return rl_node(rl);
    if (gr_lx_is(l, k, "subrun")) return rl_open(ld, rl);
    if (gr_lx_is(l, k, "origin")) return rl_origin(rl);
    if (gr_lx_is(l, k, "machine")) return rl_machine(rl);
    if (gr_lx_is(l, k, "end")) return rl_close(ld, rl);
    if (gr_lx_is(l, k, "start")) {
        if (!rl->open_line) return gr_lx_fail(l, "'start' belongs in a 'subrun' block");
        if (rl->start >= 0) return gr_lx_fail(l, "duplicate 'start' line");
        if ((rc = gr_lx_time(l, "start time", &rl->start))) return rc;
        return gr_lx_end(l, "start");
    }
    if (gr_lx_is(l, k, "graph")) {
        if (rl->have_graph) return gr_lx_fail(l, "duplicate 'graph' line");
        rl->have_graph = 1;
        if ((k = gr_lx_name(l, "graph name", 0)) < 0) return k;
        if (strcmp((const char *)l->tok, rl->g->name) != 0 || memchr(l->tok, 0, l->tlen))
            return gr_lx_fail(l, "the run file is for graph '%s', not '%s'",
                           gr_show(l->tok, l->tlen, sb, sizeof sb),
                           gr_show(rl->g->name, strlen(rl->g->name), sb2, sizeof sb2));
        return gr_lx_end(l, "graph");
    }
    if (gr_lx_is(l, k, "nodes")) {
        if (rl->have_nodes) return gr_lx_fail(l, "duplicate 'nodes' line");
        rl->have_nodes = 1;
        uint64_t n;
        if ((rc = gr_lx_uint(l, "node count", UINT64_MAX, &n))) return rc;
        if (n != run->n)
            return gr_lx_fail(l, "the run file has %llu nodes, graph '%s' has %zu", (unsigned long long)n,
                           gr_show(rl->g->name, strlen(rl->g->name), sb, sizeof sb), run->n);
        return gr_lx_end(l, "nodes");
    }
    if (gr_lx_is(l, k, "recorded")) {
        if (rl->recorded >= 0) return gr_lx_fail(l, "duplicate 'recorded' line");
        if ((k = gr_lx_next(l)) < 0) return k;
        if (gr_lx_is(l, k, "yes")) rl->recorded = 1;
        else if (gr_lx_is(l, k, "no")) rl->recorded = 0;
        else return gr_lx_fail(l, "'recorded' must be followed by yes or no");
        if (rl->recorded == 0 && rl->timing_line)
            return gr_lx_fail(l, "'recorded no', but line %ld gives times", rl->timing_line);
        return gr_lx_end(l, "recorded");
    }
    if (gr_lx_is(l, k, "wall")) {
        if (rl->wall >= 0) return gr_lx_fail(l, "duplicate 'wall' line");
        if ((rc = gr_lx_time(l, "wall time", &rl->wall))) return rc;
        return gr_lx_end(l, "wall");
    }
    if (gr_lx_is(l, k, "counts")) {
        static const char *what[4] = {"done count", "failed count", "skipped count", "cancelled count"};
        if (rl->have_counts) return gr_lx_fail(l, "duplicate 'counts' line");
        rl->have_counts = 1;
        rl->counts_line = l->line;
        for (int i = 0; i < 4; i++)
            if ((rc = gr_lx_uint(l, what[i], UINT64_MAX, &rl->counts[i]))) return rc;
        return gr_lx_end(l, "counts");
    }
    if (gr_lx_is(l, k, "first-failed")) {
        if (rl->first != GR_NONE) return gr_lx_fail(l, "duplicate 'first-failed' line");
        if ((rc = rl_node_ref(rl, &rl->first))) return rc;
        rl->first_line = l->line;
        return gr_lx_end(l, "first-failed");
    }
    if (gr_lx_is(l, k, "worker")) {
        long long w;
        uint64_t nodes;
        int64_t busy;
        if ((rc = gr_lx_int(l, "worker", 0, WEFT_MAX_WORKERS - 1, &w))) return rc;
        if (rl->wseen[w]) return gr_lx_fail(l, "duplicate line for worker %lld", w);
        rl->wseen[w] = 1;
        rl->any_worker = 1;
        if ((rc = gr_lx_uint(l, "worker's node count", UINT64_MAX, &nodes)) ||
            (rc = gr_lx_time(l, "worker's busy time", &busy)))
            return rc;
        atomic_store(&run->wcount[w].done, nodes);
        atomic_store(&run->wcount[w].busy_ns, (unsigned long long)busy);
        return gr_lx_end(l, "worker");
    }
    if (gr_lx_is(l, k, "weft-run")) return gr_lx_fail(l, "duplicate 'weft-run' header");
    return gr_lx_fail(l, "unknown directive '%s'", gr_show(l->tok, l->tlen, sb, sizeof sb));
}

/* After the run's last line (its block's 'end', or the end of the file):
 * checks what spans lines, fills in the rest. Times stay relative to the
 * run's own start until rl_place. */
static int rl_finish(rl_loading *ld, run_loader *rl) {
    gr_lx *l = rl->l;
    weft_run_t *run = rl->run;
    size_t n = run->n;
    if (rl->have_counts)
        for (int i = 0; i < 4; i++)
            if (rl->counts[i] != rl->found[i]) {
                l->line = rl->counts_line;
                return gr_lx_fail(l,
                               "counts %llu %llu %llu %llu do not match the node lines "
                               "(%llu done, %llu failed, %llu skipped, %llu cancelled)",
                               (unsigned long long)rl->counts[0], (unsigned long long)rl->counts[1],
                               (unsigned long long)rl->counts[2], (unsigned long long)rl->counts[3],
                               (unsigned long long)rl->found[0], (unsigned long long)rl->found[1],
                               (unsigned long long)rl->found[2], (unsigned long long)rl->found[3]);
            }
    uint32_t first = rl->first;
    if (first != GR_NONE && atomic_load(&run->status[first]) != WEFT_NODE_FAILED) {
        l->line = rl->first_line;
        return gr_lx_fail(l, "first-failed names node %u, which did not fail", first);
    }
    int timed = rl->recorded == 1 || (rl->recorded < 0 && rl->timing_line);
    if (first == GR_NONE && rl->found[1]) { /* the failed node that started first */
        for (size_t v = 0; v < n; v++) {
            if (atomic_load(&run->status[v]) != WEFT_NODE_FAILED) continue;
            if (first == GR_NONE || (timed && run->t_end[v] &&
                                     (!run->t_end[first] || run->t_start[v] < run->t_start[first])))
                first = (uint32_t)v;
        }
    }
    const gr_extra *ex = rl->g->extras.data;
    for (size_t x = 0; x < rl->g->extras.len; x++) { /* a sub-run belongs to a node that ran */
        if (!rl->sublines[x]) continue;
        uint32_t v = ex[x].node;
        int st = atomic_load(&run->status[v]);
        if (st == WEFT_NODE_DONE || st == WEFT_NODE_FAILED || st == WEFT_NODE_RUNNING) continue;
        const char *name = gr_name(rl->g, v);
        char sb[80];
        l->line = rl->sublines[x];
        return gr_lx_fail(l, "node %u '%s' has a sub-run but did not run (it is %s)", v,
                       gr_show(name, strlen(name), sb, sizeof sb), weft_node_status_name(st));
    }
    int64_t t1 = rl->wall, span = 0;
    for (size_t v = 0; timed && v < n; v++)
        if (run->t_end[v] > span) span = run->t_end[v];
    if (t1 < 0) t1 = span;
    if (t1 > span) span = t1;
    rl_place *pl = &((rl_place *)ld->places.data)[rl->place];
    pl->start = rl->start > 0 ? rl->start : 0;
    pl->span = span;
    if (!rl->any_worker && timed) /* derive the per-worker counters from the nodes */
        for (size_t v = 0; v < n; v++) {
            int w = run->t_worker[v];
            if (!run->t_end[v] || w < 0) continue;
            atomic_fetch_add(&run->wcount[w].done, 1);
            atomic_fetch_add(&run->wcount[w].busy_ns, (unsigned long long)(run->t_end[v] - run->t_start[v]));
        }
    if (!timed) { /* like a run made without opts.record */
        wf_free(run->t_start);
        wf_free(run->t_end);
        wf_free(run->t_worker);
        run->t_start = run->t_end = NULL;
        run->t_worker = NULL;
        run->record = 0;
    }
    for (int i = 0; i < 4; i++) run->loaded_counts[i] = rl->found[i];
    atomic_store(&run->first_failed, first);
    run->first_code = first != GR_NONE ? run->codes[first] : 0;
    run->t0 = 0; /* times in the file are relative to the run's start */
    atomic_store(&run->t1, t1);
    run->rc = rl->found[1] ? WEFT_ETASK : rl->found[3] ? WEFT_ECANCELED : 0;
    run->loaded = 1;
    atomic_store_explicit(&run->state, 2, memory_order_release); /* complete */
    return 0;
}

/* Puts every loaded run on the top run's clock (which starts at 0): a
 * sub-run starts 'start' after its enclosing run, its node times and end
 * follow. Entries come parents first. */
static int rl_place_all(rl_loading *ld) {
    rl_place *p = ld->places.data;
    for (size_t i = 0; i < ld->places.len; i++) {
        int64_t base = i ? p[p[i].parent].t0 : 0;
        if (p[i].start > INT64_MAX - base || p[i].span > INT64_MAX - base - p[i].start) {
            ld->l.line = p[i].line;
            return gr_lx_fail(&ld->l, "the sub-run starts too late: with the starts of the runs around it, "
                                   "its times are out of range");
        }
        weft_run_t *run = p[i].run;
        int64_t t0 = p[i].t0 = base + p[i].start;
        if (!t0) continue;
        run->t0 = t0;
        atomic_store(&run->t1, atomic_load(&run->t1) + t0);
        for (size_t v = 0; run->record && v < run->n; v++)
            if (run->t_end[v]) {
                run->t_start[v] += t0;
                run->t_end[v] += t0;
            }
    }
    return 0;
}

/* Loads from ld->l, which the caller set up, into a run of g. */
static int rl_load(rl_loading *ld, weft_graph_t *g, weft_run_t **out) {
    gr_lx *l = &ld->l;
    weft_run_t *top = NULL;
    int rc = rl_push(ld, g, NULL, GR_NONE, GR_NONE, &top);
    int header = 0;
    while (!rc && (rc = gr_lx_read_line(l)) == 1) {
        rc = 0;
        int k = gr_lx_next(l);
        if (k < 0) {
            rc = k;
            break;
        }
        if (k == GR_TK_END) continue;
        char sb[80];
        if (k != GR_TK_WORD) rc = gr_lx_fail(l, "expected a directive at the start of the line, found a quoted string");
        else if (header) rc = rl_directive(ld, k);
        else if (gr_lx_is(l, k, "weft-run")) {
            rc = gr_lx_version(l, "weft-run", "run", RUN_VERSION);
            header = 1;
        } else if (gr_lx_is(l, k, "weft-graph"))
            rc = gr_lx_fail(l, "this is a graph file ('weft-graph'), not a run file");
        else
            rc = gr_lx_fail(l, "missing 'weft-run %d' header (found '%s' first)", RUN_VERSION,
                         gr_show(l->tok, l->tlen, sb, sizeof sb));
    }
    if (!rc && !header) {
        l->line++;
        rc = gr_lx_fail(l, "missing 'weft-run %d' header (the file has no directives)", RUN_VERSION);
    }
    if (!rc && ld->stack.len > 1) { /* the innermost open block */
        const run_loader *rl = rl_top(ld);
        const char *name = gr_name(((run_loader **)ld->stack.data)[ld->stack.len - 2]->g, rl->node);
        char sb[80];
        l->line = rl->open_line;
        rc = gr_lx_fail(l, "'subrun' block for node %u '%s' is not closed: 'end' is missing", rl->node,
                     gr_show(name, strlen(name), sb, sizeof sb));
    }
    if (!rc) rc = rl_finish(ld, rl_top(ld));
    if (!rc) rc = rl_place_all(ld);
    if (rc == WEFT_ENOMEM) wf_set_detail("line %ld: out of memory", l->line);
    if (rc && top) weft_run_free(top); /* and every sub-run hung in it: nothing half-loaded survives */
    else if (!rc) *out = top;
    for (size_t i = 0; i < ld->stack.len; i++) rl_frame_free(((run_loader **)ld->stack.data)[i]);
    wf_free(ld->stack.data);
    wf_free(ld->places.data);
    gr_lx_free(l);
    return rc;
}


int weft_run_load(weft_graph_t *g, FILE *in, weft_run_t **out) {
    if (out) *out = NULL;
    wf_set_detail("%s", "");
    if (!gr_graph_valid(g) || !in || !out) {
        wf_set_detail("weft_run_load: %s is NULL or invalid",
                      !gr_graph_valid(g) ? "the graph" : !in ? "the stream" : "the result pointer");
        return WEFT_EINVAL;
    }
    rl_loading ld = {0};
    gr_lx_init_file(&ld.l, in);
    return rl_load(&ld, g, out);
}

int weft_run_load_buf(weft_graph_t *g, const char *text, size_t len, weft_run_t **out) {
    if (out) *out = NULL;
    wf_set_detail("%s", "");
    if (!gr_graph_valid(g) || (!text && len) || !out) {
        wf_set_detail("weft_run_load_buf: %s is NULL or invalid",
                      !gr_graph_valid(g) ? "the graph" : !out ? "the result pointer" : "the text");
        return WEFT_EINVAL;
    }
    rl_loading ld = {0};
    gr_lx_init_mem(&ld.l, text, len);
    return rl_load(&ld, g, out);
}
