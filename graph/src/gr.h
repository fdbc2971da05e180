/* gr.h: the graph layer's internal types. Never installed. */
#ifndef GR_H
#define GR_H

#include <stdatomic.h>
#include <stdint.h>

#include "wf_alloc.h"
#include "wf_layer.h"
#include "weft/graph.h"

#define GR_MAGIC_GRAPH 0x77666772u /* "wfgr" */
#define GR_MAGIC_RUN 0x77667275u   /* "wfru" */
#define GR_NONE UINT32_MAX

enum { GR_FN = 0, GR_TASK = 1, GR_SUB = 2 };

#define GR_POISON 0x80000000u /* join: a predecessor failed or was skipped */
#define GR_SINGLE 0x40000000u /* join: exactly one predecessor, no RMW needed */
#define GR_COUNT 0x3fffffffu

/* A node: 24 bytes. Anything beyond a function and its argument (a task
 * name, argument bytes, a subgraph) lives in the side table gr_extra. */
typedef struct gr_node {
    weft_node_fn fn; /* GR_TASK: resolved from the registry when a run starts */
    void *arg;
    uint32_t name;   /* offset in the name arena */
    uint32_t extra;  /* index in g->extras, or GR_NONE */
} gr_node;

typedef struct gr_extra {
    int kind;           /* GR_FN (arg bytes only), GR_TASK or GR_SUB */
    uint32_t node;      /* the node it belongs to */
    uint32_t task;      /* GR_TASK: offset of the task name, else GR_NONE */
    void *bytes;        /* argument bytes (owned unless borrowed), or NULL */
    size_t len;
    int borrowed;       /* bytes are the caller's (weft_graph_set_arg_ref) */
    weft_graph_t *sub;  /* GR_SUB */
    int place;          /* GR_TASK: WEFT_PLACE_* (weft_graph_set_place) */
    uint32_t where;     /* WEFT_PLACE_NODE: offset of the address in the name
                           arena, else GR_NONE */
} gr_extra;

/* Growable array of fixed-size items. */
typedef struct gr_vec {
    void *data;
    size_t len, cap;
} gr_vec;

/* The graph's gate (weft_graph.gate): GR_GATE_RUN times the runs in flight
 * (and the holds of weft_graph_run_n, which keeps the graph for all its
 * runs), plus GR_GATE_EXCL while one thread changes the graph or compiles
 * it. A change needs the whole word 0 -> EXCL (else WEFT_EBUSY); the first
 * run start takes 0 -> EXCL, compiles, then stores its count; later starts
 * add to a nonzero count, and wait while EXCL is set. So a change either
 * is refused or happens entirely before the compile of the next run.
 * The home thread's changes skip the locked instruction (graph.c, "fast
 * changes"): `home` and `busy` below. */
#define GR_GATE_EXCL 1u
#define GR_GATE_RUN 2u
#define GR_HOME_SHARED ((const void *)1) /* a run started on another thread */

struct weft_graph {
    uint32_t magic;
    atomic_uint gate;    /* see GR_GATE_EXCL: the graph cannot change while runs go */
    _Atomic(const void *) home; /* the thread whose changes may go fast (graph.c),
                                   or GR_HOME_SHARED: none any more */
    atomic_int busy;     /* home is inside a fast change */
    atomic_int live_runs; /* run records not yet freed */
    int parents;         /* graphs holding this one as a subgraph node */
    weft_graph_t *owner; /* the loaded graph that owns this one, or NULL */
    gr_vec owned;        /* weft_graph_t *: graphs loaded with this one, freed with it */
    _Atomic uint64_t version; /* bumped by every change (relaxed: one changer at
                                 a time; run records read it from any thread) */
    char *name;
    gr_vec nodes;        /* gr_node */
    gr_vec extras;       /* gr_extra */
    gr_vec names;        /* char arena: NUL-terminated names */
    gr_vec esrc, edst;   /* uint32: edges added since the last compile */
    size_t nedges;       /* all edges */
    /* compiled form (CSR), valid when compiled == version */
    uint64_t compiled;
    uint32_t *succ_off, *succ; /* successors of v: succ[succ_off[v] .. succ_off[v+1]) */
    uint32_t *pred_off, *pred; /* predecessors, in insertion order */
    uint32_t *sources;         /* nodes without predecessors */
    uint32_t *join0;           /* each run's initial join counters */
    size_t ntasks;             /* named-task nodes, resolved per run */
    size_t nsources;
    size_t nmissing;           /* named tasks not registered here (resolve_tasks) */
    size_t nmissing_local;     /* ... of them placed WEFT_PLACE_LOCAL */
    uint32_t missing_first;    /* the one a refused start names */
    int checked;               /* compile found no cycle */
    uint32_t cycle_node;
};

typedef struct gr_result {
    size_t len;
    unsigned char data[];
} gr_result;

/* Per-worker counters of a run, each worker's on its own cache line; slot
 * GR_OTHER collects nodes run on threads that are not workers. Summed when
 * read, so no counter is shared between workers while the run goes. */
typedef struct gr_wcount {
    _Alignas(64) atomic_ullong done;
    atomic_ullong failed, skipped, cancelled;
    atomic_ullong busy_ns;
} gr_wcount;
#define GR_OTHER WEFT_MAX_WORKERS
#define GR_NSLOTS (WEFT_MAX_WORKERS + 1)

/* Where a node ran, as its executor reported it (weft_node_async_complete_at).
 * Written once per run by the node's completer, machine last (release), so
 * a reader that sees machine sees the rest. */
/* Origin times are kept up to this many seconds (11.6 days): below 2^50
 * nanoseconds, so that a run file's nanoseconds convert to a double and
 * back exactly. */
#define GR_ORIGIN_MAX_S 1000000.0
typedef struct gr_origin {
    _Atomic(const char *) machine; /* interned (gr_machines), or NULL: none recorded */
    int32_t worker, attempts;
    double lost_s, start_s, end_s;
    uint64_t bytes_sent, bytes_received;
} gr_origin;

/* A run's machine table: each distinct machine string once, never moved
 * nor freed before the record (pointers into it stay valid). "local" is
 * the first entry. Grown under `lock` by completers on any thread. */
typedef struct gr_machines {
    atomic_int lock;
    const char **names;   /* names[0] is gr_local; the others wf_malloc'd */
    size_t n, cap;
} gr_machines;

/* A run's origins, made at the first origin (local runs pay nothing). */
typedef struct gr_origins {
    gr_machines m;
    gr_origin node[]; /* run->n entries */
} gr_origins;

struct weft_run {
    /* read by every node, written only between runs: its own cache lines */
    _Alignas(64) uint32_t magic;
    int record;
    weft_graph_t *g;
    uint64_t version;
    weft_runtime_t *rt;
    size_t n;
    size_t nextras;               /* g->extras.len when allocated */
    atomic_uint *join;            /* predecessors left; GR_POISON, GR_SINGLE */
    _Atomic unsigned char *status;
    int *codes;                   /* return values, valid where status is failed */
    _Atomic(_Atomic(gr_result *) *) results; /* made at the first result */
    int64_t *t_start, *t_end;     /* when recorded */
    int16_t *t_worker;
    _Atomic(weft_run_t *) *subruns; /* per extra: the subgraph's run */
    _Atomic(gr_origins *) origins; /* made at the first origin, else NULL */
    gr_wcount *wcount;            /* GR_NSLOTS entries */
    /* the tree of runs (run.c, "runs inside runs"): set before the run
     * starts, read-only while it goes */
    weft_run_t *top;              /* root of the tree of sub-runs; holds tree_lock */
    weft_run_t *up;               /* the run this one was started inside, or NULL */
    weft_run_t *parent;           /* a child run: the run whose node it finishes */
    uint32_t pnode;               /* ... and that node */
    /* tree walks (cancel, free): under top->tree_lock, or by the owner of
     * a detached tree */
    weft_run_t *walk_up;
    size_t walk_next;
    atomic_int tree_lock;         /* top only: sub-runs attach, detach, cancel */
    _Alignas(64) atomic_int cancel; /* written once, read by every node */
    atomic_uint left;             /* a child run: nodes not yet finished */
    _Alignas(64) atomic_uint first_failed;
    int first_code;
    int64_t t0;                   /* start (ns) */
    _Atomic int64_t t1;           /* end (ns), 0 while running */
    int reported;                 /* final progress report made */
    atomic_int state;             /* 0 idle/loaded, 1 running, 2 complete */
    int rc;                       /* outcome code once complete */
    weft_job_t *job;
    weft_run_opts_t opts;
    int loaded;                   /* made by weft_run_load, never ran */
    uint64_t loaded_counts[4];    /* done, failed, skipped, cancelled (loaded) */
};

/* Sums of a run's per-worker counters (or a loaded run's file counts). */
typedef struct gr_sums {
    uint64_t done, failed, skipped, cancelled, busy_ns;
} gr_sums;
void gr_run_sums(const weft_run_t *run, gr_sums *s);

/* async.c: origins of nodes. gr_origins_get makes the table at the first
 * call (NULL: out of memory); gr_machine_intern gives the table's copy of
 * machine (NULL or "local": the "local" entry), or NULL when out of memory.
 * Both any thread. gr_origins_free frees the table (the record's owner,
 * between runs). gr_origin_of is node v's origin or NULL (any thread, a
 * snapshot). */
extern const char gr_local[]; /* "local": the one pointer for this process */
gr_origins *gr_origins_get(weft_run_t *run);
const char *gr_machine_intern(gr_origins *o, const char *machine);
void gr_origins_free(weft_run_t *run);
const gr_origin *gr_origin_of(const weft_run_t *run, uint32_t v);
/* The machines of a complete run in their fixed order: "local" first,
 * then the others in byte order of their strings (so colours, tracks and
 * tables do not depend on arrival order). *out (wf_malloc, the caller
 * frees it) gets the run's table entries in that order, *n their count;
 * only machines that nodes ran on count, "local" included when a node ran
 * here. 0 or WEFT_ENOMEM; a run without origins gives n 0. */
int gr_machine_order(const weft_run_t *run, const char ***out, size_t *n);
/* Node v's machine: its origin's, else gr_local. Any thread. */
const char *gr_machine_of(const weft_run_t *run, uint32_t v);
/* Did node v run (done or failed)? */
int gr_node_ran(const weft_run_t *run, uint32_t v);
/* Does a node that ran (done or failed) have an origin? The per-machine
 * forms of dot, traces, statistics and run files are written only then. */
int gr_run_has_origins(const weft_run_t *run);
/* The index in order[0..n) of node v's machine ("local" for a node without
 * an origin), or n when it is not there. */
size_t gr_machine_rank(const weft_run_t *run, uint32_t v, const char *const *order, size_t n);

/* graph.c: building and compiling; calls nothing of run.c or subrun.c. */
int gr_vec_reserve(gr_vec *v, size_t item, size_t n);
/* The change side of the gate (GR_GATE_EXCL): 1 (a fast change of the
 * home thread) or 0 (the gate taken), or WEFT_EINVAL (bad g) or WEFT_EBUSY
 * (runs in flight, a compile or another change). Every change runs between
 * a gr_change_begin that returned fast >= 0 and gr_change_end(g, fast).
 * Thread-safety: any thread; the gate makes changes exclusive. */
int gr_change_begin(weft_graph_t *g);
void gr_change_end(weft_graph_t *g, int fast);
/* Called by a compile (a run start, weft_graph_check) once it holds the
 * gate (EXCL or a run count): waits for a fast change of the home thread
 * that did not see it, and ends fast changes when the caller is another
 * thread. Thread-safety: any thread, holding the gate. */
void gr_gate_settle(weft_graph_t *g);
/* Inside the gate only: a node (fn, arg; name NULL for "n<id>"), a
 * side-table entry for node v, and the undoing of the last gr_add_node to
 * names_len and version as they were before it. */
int gr_add_node(weft_graph_t *g, const char *name, weft_node_fn fn, void *arg, weft_node_t *node);
int gr_add_extra(weft_graph_t *g, weft_node_t v, gr_extra **out);
void gr_undo_add(weft_graph_t *g, size_t names_len, uint64_t version);
/* Does g contain target, itself or through subgraphs at any depth? 1, 0 or
 * WEFT_ENOMEM. Iterative: any depth. */
int gr_contains(const weft_graph_t *g, const weft_graph_t *target);
int gr_graph_valid(const weft_graph_t *g);
int gr_compile(weft_graph_t *g);  /* CSR + cycle check; 0 or WEFT_ECYCLE/ENOMEM */
const char *gr_name(const weft_graph_t *g, weft_node_t v);
const gr_extra *gr_extra_of(const weft_graph_t *g, weft_node_t v);
/* Frees top (may be NULL) and gs[0..n), graphs that may hold each other as
 * subgraphs (a loaded graph and the graphs it owns, or a failed load's),
 * whatever their order and parent counts: every subgraph hold is dropped
 * first, then every graph is freed, top last (gs may be its owned list).
 * The caller has made sure nothing else uses them. */
void gr_graphs_destroy(weft_graph_t *top, weft_graph_t **gs, size_t n);
/* Makes top the owner of gs[0..n), freed with it: 0 or WEFT_ENOMEM. */
int gr_graph_adopt(weft_graph_t *top, weft_graph_t **gs, size_t n);
/* Replaces g's name (not empty, at most WEFT_NAME_MAX bytes): 0 or WEFT_ENOMEM. */
int gr_graph_rename(weft_graph_t *g, const char *name);
/* Checks a node address (weft_graph_set_place): 0, or why it is refused
 * (1 missing or empty, 2 a space or control byte, 3 too long), which
 * gr_address_problem words. Also used for machine strings of origins. */
int gr_check_address(const char *where);
const char *gr_address_problem(int why);
static inline gr_node *gr_nodes(const weft_graph_t *g) { return (gr_node *)g->nodes.data; }

/* run.c: runs; calls graph.c, never subrun.c. */
int gr_run_valid(const weft_run_t *run); /* 0 or WEFT_EINVAL / WEFT_ESTALE */
int gr_run_alloc(weft_graph_t *g, int record, weft_run_t **out);

/* Deferred nodes: a node that finishes later than its function returns.
 * A node function calls gr_node_defer(ctx) and returns (its return value
 * is then ignored): the node stays RUNNING, its successors wait, and the
 * run stays in flight until gr_node_finish(run, v, ...) is called for it,
 * exactly once, from a task of the same run (the node's own task or one
 * it spawned, at any depth), so that the run's job is still open.
 * Thread-safety: gr_node_defer on the node's thread; gr_node_finish on a
 * worker running such a task. */
void gr_node_defer(weft_node_ctx_t *ctx);
/* 1 once gr_node_defer was called for ctx. The node's thread. */
int gr_node_deferred(const weft_node_ctx_t *ctx);
/* Stores a copy of node v's result bytes in run (replacing any earlier
 * one), as weft_node_set_result does: 0 or WEFT_ENOMEM. Any thread that
 * owns node v's completion. */
int gr_run_set_result(weft_run_t *run, uint32_t v, const void *data, size_t len);
/* Finishes deferred node v of run with status st (WEFT_NODE_DONE, _FAILED
 * with code, or _CANCELLED): counts it (remote: it ran on another machine,
 * counted in the GR_OTHER slot with no busy time), spawns the successors it makes
 * ready, and, when that was the last node of a child run, finishes the
 * child run and its parent's node in turn (a loop: any depth). */
void gr_node_finish(weft_run_t *run, uint32_t v, int st, int code, int remote);
/* Starts a run of sub as the deferred completion of the running node ctx
 * (call gr_node_defer first): the child run's record goes into slot
 * `slot` of ctx's run's sub-runs; when its last node finishes, the node
 * finishes with the child run's outcome (done, failed with WEFT_ETASK, or
 * cancelled). The child is cancelled with its parent. Returns 0, or an
 * error when it could not start (WEFT_EBUSY, WEFT_ECYCLE, WEFT_ENOENT,
 * WEFT_ENOMEM): the node is then still the caller's to finish.
 * Thread-safety: the node's thread. */
int gr_run_child(weft_node_ctx_t *ctx, weft_graph_t *sub, uint32_t slot);
/* Node v's result bytes in run (NULL, 0 when none). Any thread that has
 * seen v finish. */
const void *gr_result_of(const weft_run_t *run, weft_node_t v, size_t *len);

/* remote.c: named-task nodes of runs with an executor. */
/* 1 when node v of g (which has an extra) goes to the run's executor: a
 * named task not placed WEFT_PLACE_LOCAL. */
int gr_remote_node(const weft_graph_t *g, uint32_t v);
/* Defers the node (ctx) and starts it on the run's executor; returns the
 * value exec_chain treats as the node function's (ignored once deferred;
 * a failure to defer fails the node with WEFT_ENOMEM). The node's
 * thread. */
int gr_remote_start(weft_run_t *run, uint32_t v, weft_node_ctx_t *ctx);

#endif
