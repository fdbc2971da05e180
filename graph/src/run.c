/* run.c: running graphs.
 *
 * A run is one job on the runtime. Its root task hands out the source nodes
 * by halving their range (so thieves take large pieces), and each node is
 * run by exec_chain: run the node, then count down each successor's join
 * word; the first successor that becomes ready is run next by the same
 * thread without touching any queue (continuation bypass), the others are
 * spawned as tasks. A node whose only predecessor is this one (GR_SINGLE)
 * needs no atomic decrement at all. A node that fails or is skipped sets
 * GR_POISON in its successors' join words before counting them down; a
 * poisoned node is skipped when it becomes ready, so a failure skips exactly
 * its descendants while other branches run on.
 *
 * Every spawned node task is a child of the task that spawned it, so the
 * run's job completes only when every node, and anything the nodes spawned,
 * is complete (the runtime's completion rule). The job's callback then
 * stamps the end time, computes the outcome and releases the graph. Counts
 * are kept per worker, each on its own cache line, and summed when read.
 *
 * Deferred nodes and child runs. A node may finish later than its function
 * returns (gr_node_defer, gr_node_finish): its successors wait, and its
 * worker is free meanwhile. A subgraph node (subrun.c) is such a node: it
 * starts a child run of its subgraph (gr_run_child) and returns; the child
 * run's root task is a child task of the node's task, so the parent run's
 * job stays open. A child run has no job of its own: it counts its nodes
 * down (`left`, once per chain of exec_chain, not per node), and the thread
 * that finishes its last node completes it and finishes the parent's node,
 * which may complete the parent run in turn, and so on up, in a loop. Depth
 * of nesting thus costs heap (a run record and a root task per level; the
 * record is about 33 KiB, most of it the per-worker counters, which the
 * run-file writer reads for all WEFT_MAX_WORKERS workers), never stack,
 * and no worker waits for a subgraph. (A child run completes
 * when its nodes have; work they spawned without waiting for it is waited
 * for by the top run, as for any node.) Rejected: a subgraph node that
 * waits inside for its run (as weft did first): a worker held and a stack
 * nested per level, so 100,000 levels overflowed the stack; and the child
 * run's job callback as the continuation: the runtime makes a callback's
 * submissions roots, outside the parent's job, which could then complete
 * before the parent's successors ran.
 *
 * Runs inside runs. Each record knows the run it was started inside (`up`:
 * the parent run of a child run, or weft_current_run() for a run started
 * from a node or from work a node spawned), which finds a graph that would
 * run inside its own run. Child runs form a tree under their top run;
 * attaching a child record, detaching old ones (a rerun, a free) and
 * cancelling walk it under the top's tree_lock, so a cancel from any thread
 * never meets a freed record and never misses a child that is starting.
 * Walks are iterative (walk_up, walk_next in each record): any depth.
 *
 * The graph's gate (gr.h, GR_GATE_EXCL) orders run starts against changes:
 * the first start compiles under EXCL, later ones add to the count. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gr.h"
#include "wf_layer.h"

_Static_assert(sizeof(uintptr_t) >= 8, "node ranges are packed into a pointer");

struct weft_node_ctx {
    weft_run_t *run;
    weft_node_t v;
    int deferred; /* set by gr_node_defer: the node finishes later */
};

/* ---- the tree lock ---- */

/* A spin lock held for a few pointer moves (attach, detach) or one walk of
 * a tree of child runs (cancel); never while anything waits. Any thread. */
static void tree_lock(weft_run_t *top) {
    /* acquire: pairs with the release in tree_unlock */
    while (atomic_exchange_explicit(&top->tree_lock, 1, memory_order_acquire)) sched_yield();
}

static void tree_unlock(weft_run_t *top) {
    atomic_store_explicit(&top->tree_lock, 0, memory_order_release); /* to the next tree_lock */
}

/* ---- the gate, run side ---- */

/* Counts `holds` runs of g in: the first (gate 0) compiles the graph and
 * resolves its named tasks under GR_GATE_EXCL; later ones find both done,
 * since nothing changes g while the count is nonzero. Waits (yielding)
 * while a change or another start's compile holds EXCL: those never wait
 * for anything. Any thread. */
static int resolve_tasks(weft_graph_t *g);

static int gate_enter(weft_graph_t *g, unsigned holds) {
    for (;;) {
        unsigned w = atomic_load_explicit(&g->gate, memory_order_relaxed);
        if (w & GR_GATE_EXCL) {
            sched_yield();
            continue;
        }
        if (w) {
            /* acquire: pairs with the release store that ended the first
             * start's compile, so the compiled form is seen */
            if (atomic_compare_exchange_weak_explicit(&g->gate, &w, w + holds * GR_GATE_RUN,
                                                      memory_order_acquire, memory_order_relaxed)) {
                gr_gate_settle(g); /* the first start settled it; cheap when so */
                return 0;
            }
            continue;
        }
        /* acquire: pairs with gr_change_end's release (the change is seen) */
        if (atomic_compare_exchange_weak_explicit(&g->gate, &w, GR_GATE_EXCL, memory_order_acquire,
                                                  memory_order_relaxed))
            break;
    }
    gr_gate_settle(g); /* a fast change of the home thread ends before the compile */
    int rc = gr_compile(g);
    if (!rc) rc = resolve_tasks(g);
    if (rc == WEFT_ECYCLE) wf_set_detail("cycle through node '%s'", gr_name(g, g->cycle_node));
    /* release: publishes the compiled form and resolved tasks to later
     * starts (their acquire) and to the next change */
    atomic_store_explicit(&g->gate, rc ? 0 : holds * GR_GATE_RUN, memory_order_release);
    return rc;
}

/* Adds a run to a count that the caller holds above zero (run_n between
 * its runs): no compile can be due. Relaxed: the holder already
 * synchronised with the compile. */
static void gate_add(weft_graph_t *g) {
    atomic_fetch_add_explicit(&g->gate, GR_GATE_RUN, memory_order_relaxed);
}

/* A run (or a hold) of g ends. release: the run's reads of the graph
 * happen before a change that the count reaching 0 lets in. Any thread. */
static void gate_leave(weft_graph_t *g) {
    atomic_fetch_sub_explicit(&g->gate, GR_GATE_RUN, memory_order_release);
}

/* ---- run records ---- */

int gr_run_valid(const weft_run_t *run) {
    if (!run || run->magic != GR_MAGIC_RUN) return WEFT_EINVAL;
    if (run->version != atomic_load_explicit(&run->g->version, memory_order_relaxed))
        return WEFT_ESTALE;
    return 0;
}

static void free_results(weft_run_t *run) {
    _Atomic(gr_result *) *res = atomic_load(&run->results);
    if (res) {
        for (size_t i = 0; i < run->n; i++) wf_free(atomic_load(&res[i]));
        wf_free((void *)res);
        atomic_store(&run->results, NULL);
    }
}

/* Frees one record's own memory (its sub-runs were taken off before). */
static void run_dealloc(weft_run_t *run) {
    if (run->job) weft_job_free(run->job);
    free_results(run);
    gr_origins_free(run);
    wf_free((void *)run->join);
    wf_free((void *)run->status);
    wf_free(run->codes);
    wf_aligned_free(run->wcount);
    wf_free((void *)run->subruns);
    wf_free(run->t_start);
    wf_free(run->t_end);
    wf_free(run->t_worker);
    atomic_fetch_sub(&run->g->live_runs, 1);
    run->magic = 0;
    wf_aligned_free(run);
}

/* Frees root and every sub-run below it, depth first without recursion.
 * The caller owns the tree: no walk under a lock can reach it (a detached
 * tree, or a top record being freed). */
static void tree_free(weft_run_t *root) {
    weft_run_t *cur = root;
    cur->walk_up = NULL;
    cur->walk_next = 0;
    for (;;) {
        weft_run_t *child = NULL;
        while (!child && cur->subruns && cur->walk_next < cur->nextras)
            child = atomic_exchange_explicit(&cur->subruns[cur->walk_next++], NULL,
                                             memory_order_relaxed); /* owned: no one else reads */
        if (child) {
            child->walk_up = cur;
            child->walk_next = 0;
            cur = child;
            continue;
        }
        weft_run_t *up = cur->walk_up;
        int last = cur == root;
        run_dealloc(cur);
        if (last) return;
        cur = up;
    }
}

/* Takes run's sub-runs off it under the tree lock (so that a cancel walking
 * the tree never meets a freed one) and frees them. Any thread that owns
 * run between its runs. */
static void drop_subruns(weft_run_t *run) {
    if (!run->subruns) return;
    weft_run_t *list = NULL;
    tree_lock(run->top);
    for (size_t i = 0; i < run->nextras; i++) {
        weft_run_t *s = atomic_exchange_explicit(&run->subruns[i], NULL, memory_order_relaxed);
        if (s) { /* under the lock: walks see the slot or not, never a freed record */
            s->walk_up = list;
            list = s;
        }
    }
    tree_unlock(run->top);
    while (list) {
        weft_run_t *next = list->walk_up;
        tree_free(list);
        list = next;
    }
}

int gr_run_alloc(weft_graph_t *g, int record, weft_run_t **out) {
    size_t n = g->nodes.len, nn = n ? n : 1;
    weft_run_t *run = wf_aligned_malloc(sizeof *run, 64);
    if (!run) return WEFT_ENOMEM;
    memset(run, 0, sizeof *run);
    run->nextras = g->extras.len;
    run->magic = GR_MAGIC_RUN;
    run->g = g;
    run->version = atomic_load_explicit(&g->version, memory_order_relaxed);
    run->n = n;
    run->record = record;
    run->top = run;
    run->join = wf_malloc(nn * sizeof *run->join);
    run->status = wf_calloc(nn, 1);
    /* made now, so that a failure never lacks room for its code; only a
     * failed node's entry is read, so it is never cleared */
    run->codes = wf_malloc(nn * sizeof *run->codes);
    run->wcount = wf_aligned_malloc(GR_NSLOTS * sizeof(gr_wcount), 64);
    if (g->extras.len) run->subruns = wf_calloc(g->extras.len, sizeof *run->subruns);
    if (record) {
        run->t_start = wf_calloc(nn, sizeof *run->t_start);
        run->t_end = wf_calloc(nn, sizeof *run->t_end);
        run->t_worker = wf_malloc(nn * sizeof *run->t_worker);
    }
    if (!run->join || !run->status || !run->codes || !run->wcount || (g->extras.len && !run->subruns) ||
        (record && (!run->t_start || !run->t_end || !run->t_worker))) {
        atomic_fetch_add(&g->live_runs, 1);
        run_dealloc(run);
        return WEFT_ENOMEM;
    }
    memset(run->wcount, 0, GR_NSLOTS * sizeof(gr_wcount));
    if (record)
        for (size_t i = 0; i < n; i++) run->t_worker[i] = -1;
    atomic_store(&run->first_failed, GR_NONE);
    atomic_fetch_add(&g->live_runs, 1);
    *out = run;
    return 0;
}

/* Clears a run record for another run of the same graph version. The
 * cancel flag stays: a cancel that came between two runs of run_n cancels
 * the next one (and so stops run_n), rather than being lost. */
static void run_reset(weft_run_t *run) {
    weft_graph_t *g = run->g;
    free_results(run);
    gr_origins_free(run); /* this run's executor reports anew */
    drop_subruns(run);
    memcpy((void *)run->join, g->join0, run->n * sizeof(uint32_t));
    memset((void *)run->status, 0, run->n);
    if (run->record) {
        memset(run->t_start, 0, run->n * sizeof *run->t_start);
        memset(run->t_end, 0, run->n * sizeof *run->t_end);
        for (size_t i = 0; i < run->n; i++) run->t_worker[i] = -1;
    }
    memset(run->wcount, 0, GR_NSLOTS * sizeof(gr_wcount));
    atomic_store(&run->first_failed, GR_NONE);
    run->first_code = 0;
    run->rc = 0;
    run->loaded = 0;
    run->reported = 0;
    /* relaxed: published to the run's tasks by their submission */
    atomic_store_explicit(&run->left, (unsigned)run->n, memory_order_relaxed);
}

int weft_run_free(weft_run_t *run) {
    if (!run || run->magic != GR_MAGIC_RUN || run->parent) return WEFT_EINVAL;
    if (atomic_load_explicit(&run->state, memory_order_acquire) == 1) return WEFT_EBUSY;
    tree_free(run);
    return 0;
}

void gr_run_sums(const weft_run_t *run, gr_sums *s) {
    memset(s, 0, sizeof *s);
    for (int w = 0; w < GR_NSLOTS; w++) {
        gr_wcount *c = &run->wcount[w];
        s->done += atomic_load_explicit(&c->done, memory_order_relaxed);
        s->failed += atomic_load_explicit(&c->failed, memory_order_relaxed);
        s->skipped += atomic_load_explicit(&c->skipped, memory_order_relaxed);
        s->cancelled += atomic_load_explicit(&c->cancelled, memory_order_relaxed);
        s->busy_ns += atomic_load_explicit(&c->busy_ns, memory_order_relaxed);
    }
    if (run->loaded) { /* per-worker lines of a run file carry node totals only */
        s->done = run->loaded_counts[0];
        s->failed = run->loaded_counts[1];
        s->skipped = run->loaded_counts[2];
        s->cancelled = run->loaded_counts[3];
    }
}

/* The outcome of a complete run from its counts. */
static int run_outcome(const weft_run_t *run) {
    gr_sums s;
    gr_run_sums(run, &s);
    if (s.failed) return WEFT_ETASK;
    if (s.cancelled) return WEFT_ECANCELED;
    return 0;
}

/* ---- executing ---- */

static void exec_chain(weft_run_t *run, uint32_t v);

static int node_task(void *arg, void **seed) {
    uint32_t v = (uint32_t)(uintptr_t)*seed;
    *seed = NULL;
    exec_chain(arg, v);
    return 0;
}

/* Spawns node s, or runs it here if no task can be made. */
static void spawn_node(weft_run_t *run, uint32_t s) {
    if (wf_submit_seeded(run->rt, node_task, run, (void *)(uintptr_t)s) != 0) exec_chain(run, s);
}

static void record_failure(weft_run_t *run, uint32_t v, int code) {
    run->codes[v] = code; /* published by the release store of status[v] */
    unsigned none = GR_NONE;
    if (atomic_compare_exchange_strong(&run->first_failed, &none, v)) run->first_code = code;
}

/* Adds to a counter of this worker's own slot: one writer, no lock. */
static inline void slot_add(atomic_ullong *c, uint64_t v, int shared) {
    if (shared) /* the GR_OTHER slot: any thread may count there */
        atomic_fetch_add_explicit(c, v, memory_order_relaxed);
    else
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                              memory_order_relaxed);
}

static inline gr_wcount *my_slot(weft_run_t *run, int wid) {
    return &run->wcount[wid >= 0 ? wid : GR_OTHER];
}

/* Completes child run `run`, whose last node has finished (the caller
 * brought `left` to 0 with acq_rel, so every node's counts and effects are
 * seen): stamps it, sets its outcome, releases its graph. Returns the
 * outcome. The record stays in its parent's slot. */
static int child_complete(weft_run_t *run) {
    atomic_store_explicit(&run->t1, wf_now_ns(), memory_order_relaxed);
    run->rc = run_outcome(run);
    weft_graph_t *g = run->g;
    /* release: the record's statuses, results and counts reach readers
     * that see state 2 (weft_run_result, dot, save) */
    atomic_store_explicit(&run->state, 2, memory_order_release);
    gate_leave(g);
    return run->rc;
}

/* How a finished child run finishes its parent's node. */
static void child_outcome(int rc, int *st, int *code) {
    *code = 0;
    if (rc == 0) *st = WEFT_NODE_DONE;
    else if (rc == WEFT_ECANCELED) *st = WEFT_NODE_CANCELLED; /* cancelled at any depth */
    else {
        *st = WEFT_NODE_FAILED;
        *code = rc;
    }
}

/* fin nodes of child run `run` have finished: counts them down, and when
 * they were the last, completes the run and finishes its parent's node. */
static void child_nodes_done(weft_run_t *run, unsigned fin) {
    /* acq_rel: each chain's counts and node effects are released to the
     * chain that brings left to 0, which acquires all of them */
    if (atomic_fetch_sub_explicit(&run->left, fin, memory_order_acq_rel) != fin) return;
    weft_run_t *p = run->parent;
    uint32_t pv = run->pnode;
    int st, code;
    child_outcome(child_complete(run), &st, &code);
    gr_node_finish(p, pv, st, code, 0);
}

void gr_node_defer(weft_node_ctx_t *ctx) { ctx->deferred = 1; }

int gr_node_deferred(const weft_node_ctx_t *ctx) { return ctx->deferred; }

void gr_node_finish(weft_run_t *run, uint32_t v, int st, int code, int remote) {
    while (run) {
        const weft_graph_t *g = run->g;
        int wid = weft_current_worker();
        /* a node another machine ran is no work of this thread's: counted
         * apart (the "other" row), with no busy time here */
        gr_wcount *cnt = remote ? &run->wcount[GR_OTHER] : my_slot(run, wid);
        int shared = cnt == &run->wcount[GR_OTHER];
        if (run->record) {
            int64_t t1 = wf_now_ns();
            run->t_end[v] = t1;
            if (!remote) slot_add(&cnt->busy_ns, (uint64_t)(t1 - run->t_start[v]), shared);
        }
        if (st == WEFT_NODE_FAILED) {
            record_failure(run, v, code);
            slot_add(&cnt->failed, 1, shared);
        } else if (st == WEFT_NODE_CANCELLED) {
            slot_add(&cnt->cancelled, 1, shared);
        } else {
            slot_add(&cnt->done, 1, shared);
        }
        /* release: the node's effects and result reach readers of status */
        atomic_store_explicit(&run->status[v], (unsigned char)st, memory_order_release);
        int bad = st != WEFT_NODE_DONE;
        for (uint32_t i = g->succ_off[v]; i < g->succ_off[v + 1]; i++) {
            uint32_t s = g->succ[i];
            if (bad) atomic_fetch_or_explicit(&run->join[s], GR_POISON, memory_order_relaxed);
            int ready;
            if (atomic_load_explicit(&run->join[s], memory_order_relaxed) & GR_SINGLE) ready = 1;
            else /* acq_rel: as in exec_chain */
                ready = (atomic_fetch_sub_explicit(&run->join[s], 1, memory_order_acq_rel) &
                         GR_COUNT) == 1;
            /* always a task of its own, never run here: this thread runs a
             * task of another run (a child run's), and a node must run in
             * a task of its own run (weft_current_run) on a shallow stack */
            if (ready) spawn_node(run, s);
        }
        if (!run->parent) return; /* a run with a job: the job completes it */
        /* acq_rel: as in child_nodes_done */
        if (atomic_fetch_sub_explicit(&run->left, 1, memory_order_acq_rel) != 1) return;
        weft_run_t *p = run->parent; /* the run is complete: finish its node */
        v = run->pnode;
        child_outcome(child_complete(run), &st, &code);
        remote = 0; /* the subgraph node itself ran here */
        run = p;
    }
}

static void exec_chain(weft_run_t *run, uint32_t v) {
    const weft_graph_t *g = run->g;
    const gr_node *nodes = gr_nodes(g);
    const uint32_t *off = g->succ_off, *succ = g->succ;
    int wid = weft_current_worker();
    /* this worker's own cache line: counted per node, so progress and
     * weft_run_counts see nodes as they finish, with no shared writes */
    gr_wcount *cnt = my_slot(run, wid);
    int shared = cnt == &run->wcount[GR_OTHER];
    unsigned fin = 0; /* nodes of this chain finished: counted down once, for child runs */
    while (v != GR_NONE) {
        uint32_t next = GR_NONE;
        unsigned char st;
        /* acquire: pairs with the release stores of weft_run_cancel's walk,
         * so a node that saw a child run's flag (and what it made ready)
         * sees the flags set before it, up the tree (a plain load on x86) */
        if (atomic_load_explicit(&run->cancel, memory_order_acquire)) {
            st = WEFT_NODE_CANCELLED;
            slot_add(&cnt->cancelled, 1, shared);
        } else if (atomic_load_explicit(&run->join[v], memory_order_relaxed) & GR_POISON) {
            st = WEFT_NODE_SKIPPED;
            slot_add(&cnt->skipped, 1, shared);
        } else {
            atomic_store_explicit(&run->status[v], WEFT_NODE_RUNNING, memory_order_relaxed);
            weft_node_ctx_t ctx = {run, v, 0};
            int64_t t0 = 0;
            if (run->record) { /* before the call: a deferred node may finish inside it */
                t0 = wf_now_ns();
                run->t_start[v] = t0;
                run->t_worker[v] = (int16_t)wid;
            }
            /* a named task of a run with an executor goes there (remote.c) */
            int code = run->opts.executor && nodes[v].extra != GR_NONE && gr_remote_node(g, v)
                           ? gr_remote_start(run, v, &ctx)
                           : nodes[v].fn(&ctx, nodes[v].arg);
            if (ctx.deferred) break; /* finished by gr_node_finish: the chain ends here */
            if (run->record) {
                int64_t t1 = wf_now_ns();
                run->t_end[v] = t1;
                slot_add(&cnt->busy_ns, (uint64_t)(t1 - t0), shared);
            }
            if (code) {
                st = WEFT_NODE_FAILED;
                record_failure(run, v, code);
                slot_add(&cnt->failed, 1, shared);
            } else {
                st = WEFT_NODE_DONE;
                slot_add(&cnt->done, 1, shared);
            }
        }
        /* release: the node's effects and result reach readers of status */
        atomic_store_explicit(&run->status[v], st, memory_order_release);
        fin++;
        int bad = st != WEFT_NODE_DONE;
        for (uint32_t i = off[v]; i < off[v + 1]; i++) {
            uint32_t s = succ[i];
            if (bad) atomic_fetch_or_explicit(&run->join[s], GR_POISON, memory_order_relaxed);
            int ready;
            if (atomic_load_explicit(&run->join[s], memory_order_relaxed) & GR_SINGLE)
                ready = 1; /* this node is its only predecessor */
            else /* acq_rel: the last predecessor to count down sees the others' effects */
                ready = (atomic_fetch_sub_explicit(&run->join[s], 1, memory_order_acq_rel) &
                         GR_COUNT) == 1;
            if (!ready) continue;
            if (next == GR_NONE) next = s;
            else spawn_node(run, s);
        }
        v = next;
    }
    if (fin && run->parent) child_nodes_done(run, fin);
}

/* Sources [lo, hi): hands the upper halves out as tasks, runs the first. */
static void exec_sources(weft_run_t *run, uint32_t lo, uint32_t hi);

static int sources_task(void *arg, void **seed) {
    uint64_t r = (uint64_t)(uintptr_t)*seed;
    *seed = NULL;
    exec_sources(arg, (uint32_t)(r >> 32), (uint32_t)r);
    return 0;
}

static void exec_sources(weft_run_t *run, uint32_t lo, uint32_t hi) {
    const uint32_t *src = run->g->sources;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint64_t r = (uint64_t)mid << 32 | hi;
        if (wf_submit_seeded(run->rt, sources_task, run, (void *)(uintptr_t)r) != 0) break;
        hi = mid;
    }
    for (uint32_t i = lo; i < hi; i++) exec_chain(run, src[i]);
}

static int root_task(void *arg, void **result) {
    weft_run_t *run = arg;
    *result = NULL; /* also started seeded (child runs): clear the seed */
    if (run->g->nsources) exec_sources(run, 0, (uint32_t)run->g->nsources);
    return 0;
}

/* The root job's callback: the run and everything it spawned is complete. */
static void run_finished(void *data, int status, void *result) {
    (void)status;
    (void)result;
    weft_run_t *run = data;
    atomic_store_explicit(&run->t1, wf_now_ns(), memory_order_relaxed);
    run->rc = run_outcome(run);
    weft_graph_t *g = run->g;
    /* release: the record's contents reach waiters that see state 2 */
    atomic_store_explicit(&run->state, 2, memory_order_release);
    gate_leave(g);
}

/* Resolves named-task nodes through the registry: the first start only,
 * under GR_GATE_EXCL. */
/* The function of a named-task node whose task is not registered here:
 * only a run with an executor starts (missing_check), and there such a
 * node never runs locally; it fails if it ever does. */
static int missing_task(weft_node_ctx_t *ctx, void *arg) {
    (void)arg;
    wf_set_detail("node '%s': task '%s' is not registered", weft_node_name(ctx),
                  weft_graph_node_task(weft_node_graph(ctx), weft_node_id(ctx)));
    return WEFT_ENOENT;
}

/* Resolves named-task nodes through the registry: under GR_GATE_EXCL,
 * at every start that finds no run in flight. Tasks not registered here
 * are counted (g->nmissing, and those placed WEFT_PLACE_LOCAL in
 * g->nmissing_local, the first in g->missing_first), not refused: a run
 * with an executor does not need them (missing_check decides). */
static int resolve_tasks(weft_graph_t *g) {
    g->nmissing = g->nmissing_local = 0;
    g->missing_first = GR_NONE;
    if (!g->ntasks) return 0;
    const gr_extra *ex = g->extras.data;
    gr_node *nodes = gr_nodes(g);
    for (size_t i = 0; i < g->extras.len; i++) {
        if (ex[i].kind != GR_TASK) continue;
        const char *task = (const char *)g->names.data + ex[i].task;
        uint32_t v = ex[i].node;
        if (weft_task_lookup(task, &nodes[v].fn, &nodes[v].arg) != 0) {
            nodes[v].fn = missing_task;
            nodes[v].arg = NULL;
            int local = weft_graph_place(g, v, NULL) == WEFT_PLACE_LOCAL;
            if (g->missing_first == GR_NONE || (local && !g->nmissing_local)) g->missing_first = v;
            g->nmissing++;
            if (local) g->nmissing_local++;
        }
    }
    return 0;
}

/* May a run of g with this executor (NULL: none) start, as far as its
 * named tasks go? 0 or WEFT_ENOENT naming the first task missing here. */
static int missing_check(const weft_graph_t *g, const weft_executor_t *ex) {
    if (!g->nmissing || (ex && !g->nmissing_local)) return 0;
    uint32_t v = g->missing_first;
    wf_set_detail("node '%s': task '%s' is not registered%s", gr_name(g, v),
                  weft_graph_node_task(g, v), ex ? " (the node is placed local)" : "");
    return WEFT_ENOENT;
}

/* Is this task part of a run? Stops the walk at the innermost one. */
static int task_run(weft_task_fn fn, void *arg, void *data) {
    if (fn != root_task && fn != sources_task && fn != node_task) return 0;
    *(weft_run_t **)data = arg;
    return 1;
}

weft_run_t *weft_current_run(void) {
    weft_run_t *run = NULL;
    wf_task_ancestry(task_run, &run);
    return run;
}

/* Would a run of g started inside run `up` run inside one of g's own
 * runs? Only a graph with runs in flight can be above us (if one of its
 * runs is an ancestor, its start happened before this thread's task), so
 * the walk up the runs is made only then. */
static int inside_own_run(const weft_graph_t *g, const weft_run_t *up) {
    if (atomic_load_explicit(&((weft_graph_t *)g)->gate, memory_order_relaxed) < GR_GATE_RUN)
        return 0;
    for (const weft_run_t *r = up; r; r = r->up)
        if (r->g == g) return 1;
    return 0;
}

/* Makes a record for a run of g started inside `up`, with the graph's gate
 * entered for `holds` runs (the caller leaves them). Nothing runs yet. */
static int run_make(weft_graph_t *g, int record, weft_run_t *up, unsigned holds,
                    weft_run_t **out) {
    if (inside_own_run(g, up)) {
        wf_set_detail("graph '%s' cannot run inside one of its own runs", g->name);
        return WEFT_EBUSY;
    }
    int rc = gate_enter(g, holds);
    if (rc) return rc;
    /* inside the gate: the record matches the graph that was compiled */
    if ((rc = gr_run_alloc(g, record, out))) {
        for (unsigned i = 0; i < holds; i++) gate_leave(g);
        return rc;
    }
    (*out)->up = up;
    return 0;
}

/* Starts run as a job on rt; the gate is entered for it (run_make, or
 * gate_add between runs of run_n), and left again on failure. */
static int run_start(weft_run_t *run, weft_runtime_t *rt, const weft_run_opts_t *opts) {
    weft_graph_t *g = run->g;
    run_reset(run);
    run->rt = rt;
    if (opts) run->opts = *opts;
    else memset(&run->opts, 0, sizeof run->opts);
    if (run->job) {
        weft_job_free(run->job);
        run->job = NULL;
    }
    run->t0 = wf_now_ns();
    atomic_store(&run->t1, 0);
    atomic_store(&run->state, 1);
    weft_submit_opts_t so = {.callback = run_finished, .callback_data = run};
    int rc = weft_submit(rt, root_task, run, &so, &run->job);
    if (rc) {
        atomic_store(&run->state, 0);
        gate_leave(g);
    }
    return rc;
}

static int run_prepare(weft_graph_t *g, weft_runtime_t *rt, const weft_run_opts_t *opts,
                       unsigned holds, weft_run_t **out) {
    if (out) *out = NULL;
    if (!gr_graph_valid(g) || !rt || !out) return WEFT_EINVAL;
    weft_run_t *run;
    int rc = run_make(g, opts && opts->record, weft_current_run(), holds, &run);
    if (rc) return rc;
    if ((rc = missing_check(g, opts ? opts->executor : NULL))) {
        for (unsigned i = 0; i < holds; i++) gate_leave(g);
        weft_run_free(run);
        return rc;
    }
    if ((rc = run_start(run, rt, opts))) {
        for (unsigned i = 1; i < holds; i++) gate_leave(g); /* run_start left one */
        weft_run_free(run);
        return rc;
    }
    *out = run;
    return 0;
}

int gr_run_child(weft_node_ctx_t *ctx, weft_graph_t *sub, uint32_t slot) {
    weft_run_t *run = ctx->run, *sr;
    int rc = run_make(sub, run->record, run, 1, &sr);
    if (rc) return rc;
    if ((rc = missing_check(sub, run->opts.executor))) {
        gate_leave(sub);
        tree_free(sr);
        return rc;
    }
    /* the named tasks of subgraphs go to the same executor */
    sr->opts.executor = run->opts.executor;
    sr->parent = run;
    sr->pnode = ctx->v;
    sr->top = run->top;
    sr->rt = run->rt;
    run_reset(sr);
    sr->t0 = wf_now_ns();
    atomic_store_explicit(&sr->state, 1, memory_order_relaxed); /* published by the attach */
    /* Attach under the tree lock: a cancel walking the tree either ran
     * before (the parent's flag is set: copy it) or will find sr. */
    tree_lock(run->top);
    if (atomic_load_explicit(&run->cancel, memory_order_relaxed)) /* the lock orders it */
        atomic_store_explicit(&sr->cancel, 1, memory_order_relaxed); /* published by the submit */
    /* release: readers of the slot (weft_run_subrun) see a whole record */
    atomic_store_explicit(&run->subruns[slot], sr, memory_order_release);
    tree_unlock(run->top);
    if (sr->n == 0) { /* nothing to run: complete now, and the node with it */
        int st, code;
        child_outcome(child_complete(sr), &st, &code);
        gr_node_finish(run, ctx->v, st, code, 0);
        return 0;
    }
    /* a child task of the node's task: the parent run's job stays open */
    if ((rc = wf_submit_seeded(sr->rt, root_task, sr, NULL)) != 0) {
        tree_lock(run->top);
        atomic_store_explicit(&run->subruns[slot], NULL, memory_order_relaxed);
        tree_unlock(run->top);
        atomic_store_explicit(&sr->state, 0, memory_order_relaxed);
        gate_leave(sub);
        sr->parent = NULL;
        tree_free(sr);
        return rc;
    }
    return 0;
}

int weft_graph_run_async(weft_graph_t *g, weft_runtime_t *rt, const weft_run_opts_t *opts,
                         weft_run_t **run) {
    if (!run) return WEFT_EINVAL;
    return run_prepare(g, rt, opts, 1, run);
}

/* ---- waiting and progress ---- */

/* The progress bar's per-machine counts (a run with origins): nodes run
 * per machine, in machine order, the first GR_BAR_MACHINES of them. */
#define GR_BAR_MACHINES 4
static void progress_machines(const weft_run_t *run, FILE *out) {
    const char **order;
    size_t nm;
    if (gr_machine_order(run, &order, &nm) || !nm) return;
    uint64_t count[GR_BAR_MACHINES] = {0};
    for (uint32_t v = 0; v < run->n; v++) {
        if (!gr_node_ran(run, v)) continue;
        size_t m = gr_machine_rank(run, v, order, nm);
        if (m < GR_BAR_MACHINES) count[m]++;
    }
    fputs("[", out);
    for (size_t i = 0; i < nm && i < GR_BAR_MACHINES; i++)
        fprintf(out, "%s%.32s %llu", i ? ", " : "", order[i], (unsigned long long)count[i]);
    if (nm > GR_BAR_MACHINES) fprintf(out, ", +%zu more", nm - GR_BAR_MACHINES);
    fputs("] ", out);
    wf_free((void *)order);
}

static void report_progress(weft_run_t *run, int final) {
    weft_progress_t p;
    gr_sums s;
    gr_run_sums(run, &s);
    p.total = run->n;
    p.finished = s.done + s.failed + s.skipped + s.cancelled;
    int64_t t1 = atomic_load_explicit(&run->t1, memory_order_acquire);
    int64_t now = final && t1 ? t1 : wf_now_ns();
    p.elapsed_s = (double)(now - run->t0) / 1e9;
    p.rate = p.elapsed_s > 0 ? (double)p.finished / p.elapsed_s : 0;
    p.eta_s = p.rate > 0 ? (double)(p.total - p.finished) / p.rate : -1;
    if (final) p.eta_s = 0;
    if (run->opts.progress) run->opts.progress(run->opts.progress_data, &p);
    if (run->opts.progress_bar && isatty(STDERR_FILENO)) {
        char bar[41];
        int w = p.total ? (int)(40 * p.finished / p.total) : 40;
        for (int i = 0; i < 40; i++) bar[i] = i < w ? '#' : '.';
        bar[40] = 0;
        fprintf(stderr, "\r%s [%s] %llu/%llu nodes %3.0f%% %.0f/s ", weft_graph_name(run->g), bar,
                (unsigned long long)p.finished, (unsigned long long)p.total,
                p.total ? 100.0 * (double)p.finished / (double)p.total : 100.0, p.rate);
        if (gr_run_has_origins(run)) progress_machines(run, stderr);
        if (final) fprintf(stderr, "in %.2fs\n", p.elapsed_s);
        else if (p.eta_s >= 0) fprintf(stderr, "ETA %.1fs ", p.eta_s);
        fflush(stderr);
    }
}

/* Longest single timed wait handed to the runtime: the loop goes round. */
#define GR_SLICE_MAX_S 3600.0

/* timeout_s: seconds, or a negative value for no limit (NaN never gets
 * here). Any thread; one waiter. */
static int run_wait_until(weft_run_t *run, double timeout_s) {
    if (!run || run->magic != GR_MAGIC_RUN) return WEFT_EINVAL;
    if (run->parent) /* a child run has no job: its outcome once its node finished */
        return atomic_load_explicit(&run->state, memory_order_acquire) == 2 ? run->rc : WEFT_EBUSY;
    if (!run->job) return WEFT_EINVAL;
    if (atomic_load_explicit(&run->state, memory_order_acquire) != 2) {
        int progress = run->opts.progress || run->opts.progress_bar;
        double interval = run->opts.progress_interval_s > 0 ? run->opts.progress_interval_s : 0.1;
        if (interval > GR_SLICE_MAX_S) interval = GR_SLICE_MAX_S; /* also NaN-free: > 0 above */
        int64_t deadline = 0; /* 0: none (no timeout, infinity, or too long to count) */
        if (timeout_s >= 0 && wf_deadline_ns(timeout_s, &deadline) != 0) return WEFT_EINVAL;
        int forever = deadline == 0;
        for (;;) {
            double slice = progress ? interval : -1;
            if (!forever) {
                double left = (double)(deadline - wf_now_ns()) / 1e9;
                if (left < 0) left = 0;
                if (slice < 0 || left < slice) slice = left;
                if (slice > GR_SLICE_MAX_S) slice = GR_SLICE_MAX_S;
            }
            int rc = slice < 0 ? weft_job_wait(run->job, NULL, NULL)
                               : weft_job_wait_timeout(run->job, slice, NULL, NULL);
            if (rc == WEFT_ETIMEDOUT) {
                if (progress) report_progress(run, 0);
                if (!forever && wf_now_ns() >= deadline) return WEFT_ETIMEDOUT;
                continue;
            }
            if (rc == WEFT_EPERM || rc == WEFT_EINVAL) return rc;
            break;
        }
    }
    /* the final report, also for a run that was over before the wait */
    if ((run->opts.progress || run->opts.progress_bar) && !run->reported) {
        run->reported = 1;
        report_progress(run, 1);
    }
    return run->rc;
}

int weft_run_wait(weft_run_t *run) { return run_wait_until(run, -1); }

int weft_run_wait_timeout(weft_run_t *run, double timeout_s) {
    if (isnan(timeout_s) || timeout_s < 0) return WEFT_EINVAL;
    return run_wait_until(run, timeout_s);
}

int weft_graph_run(weft_graph_t *g, weft_runtime_t *rt, const weft_run_opts_t *opts,
                   weft_run_t **out) {
    if (out) *out = NULL;
    weft_run_t *run;
    int rc = run_prepare(g, rt, opts, 1, &run);
    if (rc) return rc;
    rc = weft_run_wait(run);
    if (out) *out = run;
    else weft_run_free(run);
    return rc;
}

/* The graph is held (one count of its gate beyond the runs') from the first
 * start to the return, so no change gets in between two runs and the one
 * record always fits the graph. */
int weft_graph_run_n(weft_graph_t *g, weft_runtime_t *rt, uint64_t n, const weft_run_opts_t *opts,
                     weft_run_t **out) {
    if (out) *out = NULL;
    if (n == 0) return gr_graph_valid(g) && rt ? 0 : WEFT_EINVAL;
    weft_run_t *run;
    int rc = run_prepare(g, rt, opts, 2, &run); /* this run, and the hold */
    if (rc) return rc;
    rc = weft_run_wait(run);
    for (uint64_t i = 1; i < n && rc == 0; i++) {
        gate_add(g);
        rc = run_start(run, rt, opts);
        if (rc == 0) rc = weft_run_wait(run);
    }
    gate_leave(g); /* the hold */
    if (out) *out = run;
    else weft_run_free(run);
    return rc;
}

/* Sets the cancel flag of run and of every child run below it, walking the
 * tree under its top's lock (so no record in it is freed meanwhile, and a
 * child run attaching meanwhile copies the flag). */
int weft_run_cancel(weft_run_t *run) {
    if (!run || run->magic != GR_MAGIC_RUN) return WEFT_EINVAL;
    weft_run_t *top = run->top;
    tree_lock(top);
    weft_run_t *cur = run;
    cur->walk_up = NULL;
    cur->walk_next = 0;
    /* release, here and below: top down, so whoever sees a child's flag
     * (exec_chain's acquire) sees its parents' too, and a subgraph node
     * cancelled below finds its own run cancelled above */
    atomic_store_explicit(&cur->cancel, 1, memory_order_release);
    for (;;) {
        weft_run_t *child = NULL;
        while (!child && cur->subruns && cur->walk_next < cur->nextras)
            child = atomic_load_explicit(&cur->subruns[cur->walk_next++], memory_order_relaxed);
        if (child) { /* slots change only under the lock we hold */
            child->walk_up = cur;
            child->walk_next = 0;
            atomic_store_explicit(&child->cancel, 1, memory_order_release);
            cur = child;
            continue;
        }
        if (cur == run) break;
        cur = cur->walk_up;
    }
    tree_unlock(top);
    /* work an executor holds for the run and its sub-runs (all flagged now) */
    const weft_executor_t *ex = run->opts.executor;
    if (ex && ex->cancel) ex->cancel(ex->data, run);
    return 0;
}

/* ---- inside a node ---- */

const void *weft_node_arg(const weft_node_ctx_t *ctx, size_t *len) {
    if (len) *len = 0;
    if (!ctx) return NULL;
    const gr_extra *e = gr_extra_of(ctx->run->g, ctx->v);
    if (!e || !e->bytes) return NULL;
    if (len) *len = e->len;
    return e->bytes;
}

int weft_node_set_result(weft_node_ctx_t *ctx, const void *data, size_t len) {
    if (!ctx || (len && !data)) return WEFT_EINVAL;
    return gr_run_set_result(ctx->run, ctx->v, data, len);
}

int gr_run_set_result(weft_run_t *run, uint32_t v, const void *data, size_t len) {
    _Atomic(gr_result *) *res = atomic_load_explicit(&run->results, memory_order_acquire);
    if (!res) {
        _Atomic(gr_result *) *fresh = wf_calloc(run->n, sizeof *fresh);
        if (!fresh) return WEFT_ENOMEM;
        if (atomic_compare_exchange_strong(&run->results, &res, fresh)) res = fresh;
        else wf_free((void *)fresh);
    }
    gr_result *r = wf_malloc(sizeof *r + (len ? len : 1));
    if (!r) return WEFT_ENOMEM;
    r->len = len;
    if (len) memcpy(r->data, data, len);
    gr_result *old = atomic_exchange(&res[v], r);
    wf_free(old);
    return 0;
}

const void *gr_result_of(const weft_run_t *run, weft_node_t v, size_t *len) {
    _Atomic(gr_result *) *res = atomic_load_explicit(&((weft_run_t *)run)->results, memory_order_acquire);
    gr_result *r = res ? atomic_load_explicit(&res[v], memory_order_acquire) : NULL;
    if (len) *len = r ? r->len : 0;
    return r ? r->data : NULL;
}

size_t weft_node_input_count(const weft_node_ctx_t *ctx) {
    if (!ctx) return 0;
    const weft_graph_t *g = ctx->run->g;
    return g->pred_off[ctx->v + 1] - g->pred_off[ctx->v];
}

const void *weft_node_input(const weft_node_ctx_t *ctx, size_t i, size_t *len) {
    if (len) *len = 0;
    if (!ctx || i >= weft_node_input_count(ctx)) return NULL;
    const weft_graph_t *g = ctx->run->g;
    return gr_result_of(ctx->run, g->pred[g->pred_off[ctx->v] + i], len);
}

weft_node_t weft_node_id(const weft_node_ctx_t *ctx) { return ctx ? ctx->v : WEFT_NODE_NONE; }
const char *weft_node_name(const weft_node_ctx_t *ctx) { return ctx ? gr_name(ctx->run->g, ctx->v) : NULL; }
weft_graph_t *weft_node_graph(const weft_node_ctx_t *ctx) { return ctx ? ctx->run->g : NULL; }
weft_runtime_t *weft_node_runtime(const weft_node_ctx_t *ctx) { return ctx ? ctx->run->rt : NULL; }
weft_run_t *weft_node_run(const weft_node_ctx_t *ctx) { return ctx ? ctx->run : NULL; }
int weft_run_cancelled(const weft_run_t *run) {
    if (!run || run->magic != GR_MAGIC_RUN) return 0;
    return atomic_load_explicit(&((weft_run_t *)run)->cancel, memory_order_relaxed);
}

int weft_node_cancelled(const weft_node_ctx_t *ctx) {
    return ctx ? atomic_load_explicit(&ctx->run->cancel, memory_order_relaxed) : 0;
}

/* ---- reading a run ---- */

const char *weft_node_status_name(int status) {
    switch (status) {
    case WEFT_NODE_PENDING: return "pending";
    case WEFT_NODE_DONE: return "done";
    case WEFT_NODE_FAILED: return "failed";
    case WEFT_NODE_SKIPPED: return "skipped";
    case WEFT_NODE_CANCELLED: return "cancelled";
    case WEFT_NODE_RUNNING: return "running";
    default: return "unknown";
    }
}

static int node_check(const weft_run_t *run, weft_node_t v) {
    int rc = gr_run_valid(run);
    if (rc) return rc;
    return v < run->n ? 0 : WEFT_EINVAL;
}

static int run_busy(const weft_run_t *run) {
    return atomic_load_explicit(&((weft_run_t *)run)->state, memory_order_acquire) == 1;
}

int weft_run_node_status(const weft_run_t *run, weft_node_t v) {
    int rc = node_check(run, v);
    if (rc) return rc;
    return atomic_load_explicit(&run->status[v], memory_order_acquire);
}

int weft_run_node_code(const weft_run_t *run, weft_node_t v, int *code) {
    int rc = node_check(run, v);
    if (rc) return rc;
    if (!code) return WEFT_EINVAL;
    *code = atomic_load(&run->status[v]) == WEFT_NODE_FAILED ? run->codes[v] : 0;
    return 0;
}

int weft_run_result(const weft_run_t *run, weft_node_t v, const void **data, size_t *len) {
    if (data) *data = NULL;
    if (len) *len = 0;
    int rc = node_check(run, v);
    if (rc) return rc;
    if (!data) return WEFT_EINVAL;
    if (run_busy(run)) return WEFT_EBUSY;
    *data = gr_result_of(run, v, len);
    return 0;
}

int weft_run_node_time(const weft_run_t *run, weft_node_t v, double *start_s, double *end_s,
                       int *worker) {
    int rc = node_check(run, v);
    if (rc) return rc;
    if (!run->record || !run->t_end[v]) return WEFT_ENOENT;
    if (start_s) *start_s = (double)(run->t_start[v] - run->t0) / 1e9;
    if (end_s) *end_s = (double)(run->t_end[v] - run->t0) / 1e9;
    if (worker) *worker = run->t_worker[v];
    return 0;
}

int weft_run_counts(const weft_run_t *run, weft_run_counts_t *c) {
    if (c) memset(c, 0, sizeof *c);
    int rc = gr_run_valid(run);
    if (rc) return rc;
    if (!c) return WEFT_EINVAL;
    weft_run_t *r = (weft_run_t *)run;
    gr_sums s;
    gr_run_sums(run, &s);
    c->total = run->n;
    c->done = s.done;
    c->failed = s.failed;
    c->skipped = s.skipped;
    c->cancelled = s.cancelled;
    c->first_failed = atomic_load(&r->first_failed);
    c->first_code = c->first_failed == GR_NONE ? 0 : run->first_code;
    int64_t t1 = atomic_load_explicit(&r->t1, memory_order_acquire);
    int64_t end = t1 ? t1 : (run_busy(run) ? wf_now_ns() : run->t0);
    c->wall_s = (double)(end - run->t0) / 1e9;
    return 0;
}

weft_graph_t *weft_run_graph(const weft_run_t *run) {
    return run && run->magic == GR_MAGIC_RUN ? run->g : NULL;
}

/* Per machine (runs with origins only): the nodes that ran there, their
 * share of all nodes that ran, their busy time (each node's time on that
 * machine when its origin gives one, else its recorded time here), the
 * retries (attempts beyond the first), the time lost to failed attempts,
 * and the bytes sent and received. 0 or WEFT_ENOMEM. */
typedef struct gr_msum {
    uint64_t nodes, retries, sent, received;
    double busy, lost;
} gr_msum;

static int print_machines(const weft_run_t *run, FILE *out) {
    if (!gr_run_has_origins(run)) return 0;
    const char **order;
    size_t nm;
    int rc = gr_machine_order(run, &order, &nm);
    if (rc) return rc;
    gr_msum *ms = wf_calloc(nm + 1, sizeof *ms); /* + the total */
    if (!ms) {
        wf_free((void *)order);
        return WEFT_ENOMEM;
    }
    for (uint32_t v = 0; v < run->n; v++) {
        if (!gr_node_ran(run, v)) continue;
        size_t m = gr_machine_rank(run, v, order, nm);
        if (m == nm) continue; /* not in the order: cannot be, it holds every machine that ran one */
        const gr_origin *o = gr_origin_of(run, v);
        gr_msum *a = &ms[m];
        a->nodes++;
        if (o && o->end_s > 0) a->busy += o->end_s - o->start_s;
        else if (run->record && run->t_end[v]) a->busy += (double)(run->t_end[v] - run->t_start[v]) / 1e9;
        if (o) {
            a->retries += o->attempts > 1 ? (uint64_t)(o->attempts - 1) : 0;
            a->lost += o->lost_s;
            a->sent += o->bytes_sent;
            a->received += o->bytes_received;
        }
    }
    int width = 7; /* "machine" */
    for (size_t i = 0; i < nm; i++) {
        int len = (int)strlen(order[i]);
        if (len > width) width = len < 48 ? len : 48;
        gr_msum *t = &ms[nm], *a = &ms[i];
        t->nodes += a->nodes;
        t->retries += a->retries;
        t->sent += a->sent;
        t->received += a->received;
        t->busy += a->busy;
        t->lost += a->lost;
    }
    uint64_t all = ms[nm].nodes;
    fprintf(out, " %-*s |   nodes run | %% of all |   busy s | retries |   lost s |       bytes sent |   bytes received\n",
            width, "machine");
    for (size_t i = 0; i <= nm; i++) {
        const gr_msum *a = &ms[i];
        fprintf(out, " %-*.*s | %11llu | %7.2f%% | %8.4f | %7llu | %8.4f | %16llu | %16llu\n", width, width,
                i < nm ? order[i] : "Total", (unsigned long long)a->nodes,
                all ? 100.0 * (double)a->nodes / (double)all : 0.0, a->busy, (unsigned long long)a->retries,
                a->lost, (unsigned long long)a->sent, (unsigned long long)a->received);
    }
    wf_free(ms);
    wf_free((void *)order);
    return 0;
}

int weft_run_print_stats(const weft_run_t *run, FILE *out) {
    weft_run_counts_t c;
    int rc = weft_run_counts(run, &c);
    if (rc) return rc;
    if (run_busy(run)) return WEFT_EBUSY;
    if (!out) out = stdout;
    fprintf(out, "weft run statistics: graph '%s', %llu nodes, %.6f s wall time\n",
            weft_graph_name(run->g), (unsigned long long)c.total, c.wall_s);
    fprintf(out, "  done %llu, failed %llu, skipped %llu, cancelled %llu\n",
            (unsigned long long)c.done, (unsigned long long)c.failed,
            (unsigned long long)c.skipped, (unsigned long long)c.cancelled);
    if (c.first_failed != WEFT_NODE_NONE)
        fprintf(out, "  first failure: node '%s' returned %d (%s)\n",
                gr_name(run->g, c.first_failed), c.first_code, weft_strerror(c.first_code));
    fprintf(out, " worker |   nodes run | %% of all |   busy s | time per node\n");
    uint64_t ran = c.done + c.failed, tn = 0;
    double tb = 0;
    for (int w = 0; w < WEFT_MAX_WORKERS; w++) {
        uint64_t nodes = atomic_load(&run->wcount[w].done) + atomic_load(&run->wcount[w].failed);
        if (!nodes) continue;
        double busy = (double)atomic_load(&run->wcount[w].busy_ns) / 1e9;
        tn += nodes;
        tb += busy;
        if (run->record)
            fprintf(out, " %6d | %11llu | %7.2f%% | %8.4f | %10.3f us\n", w,
                    (unsigned long long)nodes, ran ? 100.0 * (double)nodes / (double)ran : 0.0,
                    busy, 1e6 * busy / (double)nodes);
        else
            fprintf(out, " %6d | %11llu | %7.2f%% |        - |            -\n", w,
                    (unsigned long long)nodes, ran ? 100.0 * (double)nodes / (double)ran : 0.0);
    }
    if (tn != ran) /* nodes run on threads that are not workers, or on other machines */
        fprintf(out, "  other | %11llu | %7.2f%% | (not on this process's workers: other threads%s)\n",
                (unsigned long long)(ran - tn), ran ? 100.0 * (double)(ran - tn) / (double)ran : 0.0,
                gr_run_has_origins(run) ? ", other machines" : "");
    if (run->record)
        fprintf(out, "  Total | %11llu | %7.2f%% | %8.4f | %10.3f us\n", (unsigned long long)ran,
                ran ? 100.0 : 0.0, tb, ran ? 1e6 * tb / (double)ran : 0.0);
    else
        fprintf(out, "  Total | %11llu | %7.2f%% | (run with record=1 for busy times)\n",
                (unsigned long long)ran, ran ? 100.0 : 0.0);
    if ((rc = print_machines(run, out))) return rc;
    return ferror(out) ? WEFT_EIO : 0;
}
