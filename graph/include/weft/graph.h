/* weft/graph.h: task graphs (DAGs) on the runtime; named tasks and graph
 * files; dot and trace export; progress and statistics of runs.
 *
 * Lifecycles:
 * - A graph is made by weft_graph_create and freed by weft_graph_free (not
 *   while it runs). Nodes are numbered 0, 1, 2... in the order they are
 *   added (weft_node_t); nodes and edges are never removed.
 * - Running a graph makes a run record (weft_run_t): the status of each
 *   node, its result bytes, optional timings, counts and the first failure.
 *   The caller frees it with weft_run_free. A run record refers to its
 *   graph: free runs before their graph. Once the graph is changed (a node
 *   or an edge added), its earlier run records answer WEFT_ESTALE.
 * - A graph is reusable: run it again, or N times. Runs of one graph may
 *   overlap (started from several threads, or by two subgraph nodes that
 *   share it); each has its own record. While any run goes, changing or
 *   freeing the graph gives WEFT_EBUSY. A graph cannot run inside one of
 *   its own runs (from one of its nodes, from work such a node spawned, or
 *   from a node of one of its subgraphs): that gives WEFT_EBUSY.
 *
 * Semantics of a run:
 * - A node runs after all its predecessors succeeded. A cycle is reported
 *   before anything runs (WEFT_ECYCLE, and weft_graph_cycle_node names a
 *   node on it).
 * - A node fails when its function returns nonzero: its descendants are
 *   skipped (not run), independent branches finish. The run reports the first
 *   failed node with its status, and how many nodes were done, failed,
 *   skipped and cancelled.
 * - weft_run_cancel: nodes not yet started are cancelled (not run); nodes
 *   running finish. It reaches the runs of subgraph nodes at every depth: a
 *   subgraph node whose run was cancelled counts as cancelled, and the
 *   cancelled run returns WEFT_ECANCELED (WEFT_ETASK only if a node failed).
 * - A subgraph node does not hold a worker while its subgraph runs, and
 *   nesting costs memory, not stack: graphs may nest to any depth memory
 *   allows.
 * Thread-safety, for every function below unless its comment says more:
 * - Changing a graph (add, add_task, add_subgraph, precede, succeed,
 *   set_arg): refused with WEFT_EBUSY while the graph runs, that is from
 *   the moment a run of it starts (weft_graph_run, _async, or a subgraph
 *   node's run) until that run completes, and for weft_graph_run_n from its
 *   call until it returns; also while another thread is changing it, or a
 *   run start or weft_graph_check is compiling it. A change that is not
 *   refused happens entirely before the compile of every run that starts
 *   after it: never between a run's start and its compile, so each run
 *   runs exactly the graph as it was when it started. Changes from two
 *   threads at once are not an error to rely on: one graph has one
 *   building thread at a time. weft_graph_free: no other call on g.
 * - Reading a graph (counts, names, find, save, dot): any thread, while no
 *   thread changes it. weft_graph_check compiles (it fills the compiled
 *   form that runs use) under the same exclusion as a run start, so it may
 *   be called from any thread, also while the graph runs.
 * - weft_node_*: only inside the node's function, on the thread running it.
 * - Run records (status, counts, results, cancel, wait): any thread; while
 *   the run goes they give snapshots, and results wait for its end.
 * - The task registry: any thread. weft_graph_error: per thread.
 * - A node may spawn work (weft_submit, weft_spawn, parallel helpers, or a
 *   whole graph run) while it runs. The run completes only when all of that
 *   work has; the node's successors start when its function returns, so a
 *   node that wants its successors to see the work's effects waits for it
 *   (a group, a job, a nested run).
 */
#ifndef WEFT_GRAPH_H
#define WEFT_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "weft/common.h"
#include "weft/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_graph weft_graph_t;
typedef struct weft_run weft_run_t;
typedef struct weft_node_ctx weft_node_ctx_t;
typedef uint32_t weft_node_t;

#define WEFT_NODE_NONE UINT32_MAX
/* Most nodes a graph can hold. */
#define WEFT_GRAPH_MAX_NODES (UINT32_MAX - 1)
/* Longest node, task or graph name, in bytes. */
#define WEFT_NAME_MAX 1024
/* Longest line of a graph or run file, in bytes, not counting its line
 * ending: a longer line is an error ("line 12: line longer than 4194304
 * bytes"), found before it is held in memory, so a loader's memory stays
 * bounded by the longest line it accepts. */
#define WEFT_FILE_LINE_MAX (4 * 1024 * 1024)
/* Most bytes one token of a graph or run file decodes to ("line 12: token
 * longer than 1048576 bytes"): so argument bytes of a node in a graph file
 * are at most this long, and weft_graph_save refuses longer ones. Every
 * line weft writes fits in WEFT_FILE_LINE_MAX. */
#define WEFT_FILE_TOKEN_MAX (1024 * 1024)

/* A node's work. ctx gives the node's argument bytes, lets it store result
 * bytes and read its predecessors' results. arg is the pointer given when
 * the node was added (for named tasks: the pointer given at registration).
 * Returns 0 on success, nonzero to fail the node. */
typedef int (*weft_node_fn)(weft_node_ctx_t *ctx, void *arg);

/* ------------------------------------------------------------------ */
/* Building                                                            */

/* Creates an empty graph. name may be NULL ("graph"). Errors: WEFT_EINVAL,
 * WEFT_ENOMEM, WEFT_ERANGE (name too long). Thread-safety: any thread. */
WEFT_API int weft_graph_create(const char *name, weft_graph_t **g);

/* Frees the graph, and the subgraphs it was loaded with (weft_graph_load).
 * Errors: WEFT_EINVAL, WEFT_EBUSY (it is running, has a live run record, is
 * a subgraph of a graph still alive, was loaded as a subgraph of another
 * graph and goes with that one, or one of its loaded subgraphs is held by
 * another graph). Thread-safety: no other call on g. */
WEFT_API int weft_graph_free(weft_graph_t *g);

/* Adds a node running fn(ctx, arg). name may be NULL: the node is then
 * called "n<id>". Names need not be unique, but weft_graph_find and graph
 * files want them to be. Errors: WEFT_EINVAL (g or fn NULL), WEFT_EBUSY
 * (running), WEFT_ERANGE (name too long, too many nodes), WEFT_ENOMEM.
 * Thread-safety: graphs are not thread-safe: one thread changes a graph. */
WEFT_API int weft_graph_add(weft_graph_t *g, const char *name, weft_node_fn fn, void *arg,
                            weft_node_t *node);

/* Adds a node running the registered task task_name with a copy of the
 * argument bytes (arg may be NULL when len is 0). The task is looked up
 * when the graph runs, so it may be registered later (runs that overlap
 * share the lookup made by the first of them). The remote-capable
 * form: graph files and other machines carry exactly this.
 * Errors: as weft_graph_add, plus WEFT_EINVAL for a NULL or empty task name. */
WEFT_API int weft_graph_add_task(weft_graph_t *g, const char *name, const char *task_name,
                                 const void *arg, size_t len, weft_node_t *node);

/* Adds a node that runs the whole graph sub. When the node starts, it
 * starts a run of sub and its worker goes on with other work (nothing
 * waits inside the node); the node finishes, and its successors may start,
 * when every node of that run has finished: done if the run succeeded,
 * failed with code WEFT_ETASK if a node of sub failed (or with the error
 * that kept sub's run from starting: WEFT_ECYCLE, WEFT_ENOENT, WEFT_EBUSY,
 * WEFT_ENOMEM), cancelled if the run was cancelled. Work that sub's nodes
 * spawned without waiting for it is waited for by the whole run, as for
 * any node. Dot export draws sub as a cluster. sub must outlive g; sub may
 * not contain g. Nesting depth is limited by memory only.
 * Errors: as weft_graph_add, WEFT_EINVAL (sub NULL or sub == g),
 * WEFT_ECYCLE (sub contains g). */
WEFT_API int weft_graph_add_subgraph(weft_graph_t *g, const char *name, weft_graph_t *sub,
                                     weft_node_t *node);

/* The graph that subgraph node `node` of g runs (for a loaded graph file,
 * one of the graphs the file's top graph owns), or NULL when node is not a
 * subgraph node or g or node is bad. Thread-safety: as reading g. */
WEFT_API weft_graph_t *weft_graph_node_subgraph(const weft_graph_t *g, weft_node_t node);

/* Replaces a node's argument bytes with a copy of [arg, arg+len).
 * Errors: WEFT_EINVAL, WEFT_EBUSY, WEFT_ENOMEM. */
WEFT_API int weft_graph_set_arg(weft_graph_t *g, weft_node_t node, const void *arg, size_t len);
/* As weft_graph_set_arg, but without a copy: the node's argument is the
 * caller's bytes [arg, arg+len), which must stay unchanged and alive until
 * the graph is freed or the node's argument is set again (for large
 * arguments that arrive in a buffer of their own, as on a weftd node).
 * Errors: WEFT_EINVAL, WEFT_EBUSY, WEFT_ENOMEM. */
WEFT_API int weft_graph_set_arg_ref(weft_graph_t *g, weft_node_t node, const void *arg,
                                    size_t len);

/* Edge: before precedes after (after succeeds before). Duplicate edges are
 * allowed and harmless. Errors: WEFT_EINVAL (unknown node), WEFT_EBUSY,
 * WEFT_ENOMEM. A self edge is a cycle, reported when the graph runs. */
WEFT_API int weft_graph_precede(weft_graph_t *g, weft_node_t before, weft_node_t after);
/* Same edge, read the other way: after succeeds before. */
WEFT_API int weft_graph_succeed(weft_graph_t *g, weft_node_t after, weft_node_t before);

/* Sizes, names, lookup. Thread-safety: any thread while nobody changes g. */
WEFT_API size_t weft_graph_node_count(const weft_graph_t *g);
WEFT_API size_t weft_graph_edge_count(const weft_graph_t *g);
WEFT_API const char *weft_graph_name(const weft_graph_t *g);
/* Name of a node, or NULL for a bad graph or node. */
WEFT_API const char *weft_graph_node_name(const weft_graph_t *g, weft_node_t node);
/* Edge i (0 <= i < weft_graph_edge_count, in the order edges were added):
 * *before precedes *after. Errors: WEFT_EINVAL (bad graph, i out of range). */
WEFT_API int weft_graph_edge(const weft_graph_t *g, size_t i, weft_node_t *before,
                             weft_node_t *after);
/* Task name of a named-task node, or NULL (function or subgraph node). */
WEFT_API const char *weft_graph_node_task(const weft_graph_t *g, weft_node_t node);
/* The first node called name. Errors: WEFT_EINVAL, WEFT_ENOENT. */
WEFT_API int weft_graph_find(const weft_graph_t *g, const char *name, weft_node_t *node);

/* Checks the graph without running it: 0, or WEFT_ECYCLE with *node (may
 * be NULL) set to a node on a cycle. While a run of g goes, 0 at once (a
 * running graph is compiled and acyclic). Errors: WEFT_EINVAL, WEFT_ENOMEM.
 * Thread-safety: any thread, also while g runs, not while g is changed; it
 * compiles under the exclusion that run starts use (see above). */
WEFT_API int weft_graph_check(weft_graph_t *g, weft_node_t *node);

/* ------------------------------------------------------------------ */
/* Inside a node                                                       */

/* Argument bytes of the running node (NULL and 0 when none). */
WEFT_API const void *weft_node_arg(const weft_node_ctx_t *ctx, size_t *len);
/* Stores a copy of the node's result bytes (replacing any earlier one).
 * Errors: WEFT_EINVAL, WEFT_ENOMEM. */
WEFT_API int weft_node_set_result(weft_node_ctx_t *ctx, const void *data, size_t len);
/* Number of predecessors, and the result bytes of the i-th (in the order
 * the edges were added); NULL with *len 0 when it stored none. */
WEFT_API size_t weft_node_input_count(const weft_node_ctx_t *ctx);
WEFT_API const void *weft_node_input(const weft_node_ctx_t *ctx, size_t i, size_t *len);
/* The running node's id and name, its graph, and the runtime running it. */
WEFT_API weft_node_t weft_node_id(const weft_node_ctx_t *ctx);
WEFT_API const char *weft_node_name(const weft_node_ctx_t *ctx);
WEFT_API weft_graph_t *weft_node_graph(const weft_node_ctx_t *ctx);
WEFT_API weft_runtime_t *weft_node_runtime(const weft_node_ctx_t *ctx);
/* The run record the running node belongs to: for a node of a subgraph,
 * the subgraph's run (see weft_run_subrun). Lets a node function keep
 * per-run state keyed by run. */
WEFT_API weft_run_t *weft_node_run(const weft_node_ctx_t *ctx);
/* 1 once the run has been cancelled: long nodes may poll it and stop. */
WEFT_API int weft_node_cancelled(const weft_node_ctx_t *ctx);

/* ------------------------------------------------------------------ */
/* Asynchronous nodes                                                  */

/* A node can finish later than its function returns (oneTBB's
 * async_node: I/O, remote work, a device): the function calls
 * weft_node_defer and returns (its return value is then ignored), and any
 * thread later calls weft_node_async_complete with the handle. Meanwhile
 * the node is RUNNING, its successors wait, the run is in flight, and no
 * worker is held: 10,000 deferred nodes cost 10,000 small handles, not
 * threads. Completion gives the node exactly an ordinary node's outcome:
 * status 0 makes it done (its result bytes are its successors' input),
 * nonzero fails it with that code (descendants skipped, the run's first
 * failure, WEFT_ETASK), and WEFT_ECANCELED after the run was cancelled
 * counts it cancelled. Timings (start to completion), progress, counts and
 * statistics are those of ordinary nodes. A cancelled run does not cancel
 * deferred nodes: like running nodes they finish (the completer may look at
 * weft_node_async_cancelled and stop early). Every deferred node must be
 * completed exactly once: until then its run, and weft_runtime_destroy,
 * wait for it. */
typedef struct weft_node_async weft_node_async_t;

/* Defers the running node's completion; *h gets the handle that completes
 * it. Errors: WEFT_EINVAL (NULL ctx or h; the node deferred already),
 * WEFT_ENOMEM (the node then finishes as usual, with its function's return
 * value). Thread-safety: only inside the node's function, on its thread. */
WEFT_API int weft_node_defer(weft_node_ctx_t *ctx, weft_node_async_t **h);

/* Completes a deferred node with status (0: done) and a copy of the result
 * bytes [data, data+len) (data NULL: no result, or the one the node's
 * function stored). The handle is consumed: it is invalid once this call
 * returns 0 or WEFT_ENOMEM. Returns 0; WEFT_ENOMEM (no memory to copy the
 * result: the node fails with WEFT_ENOMEM); WEFT_EINVAL (NULL or bad
 * handle, len without data, or the node completed already, where
 * detectable: a handle is freed once its completion has been processed).
 * Thread-safety: any thread, once per handle; also from inside the node's
 * own function. */
WEFT_API int weft_node_async_complete(weft_node_async_t *h, int status, const void *data,
                                      size_t len);

/* 1 once the deferred node's run (or a run above it) was cancelled.
 * The node's id and its run record (for per-run state). Valid until the
 * handle is completed. Thread-safety: any thread. */
WEFT_API int weft_node_async_cancelled(const weft_node_async_t *h);
WEFT_API weft_node_t weft_node_async_id(const weft_node_async_t *h);
WEFT_API weft_run_t *weft_node_async_run(const weft_node_async_t *h);

/* ------------------------------------------------------------------ */
/* Running                                                             */

/* Progress of a run: nodes finished (done, failed, skipped or cancelled)
 * of total, the rate in nodes per second, and the estimated seconds left
 * (negative when unknown). */
typedef struct weft_progress {
    uint64_t finished, total;
    double elapsed_s, rate, eta_s;
} weft_progress_t;
typedef void (*weft_progress_fn)(void *data, const weft_progress_t *p);

/* ------------------------------------------------------------------ */
/* Placement and executors: named-task nodes that run elsewhere        */

/* Where a named-task node may run when its run has an executor (a
 * cluster: weft_cluster_executor in weft/dist.h). Without an executor
 * every node runs locally and placement is ignored. */
typedef enum weft_place {
    WEFT_PLACE_ANY = 0,   /* any machine of the cluster (the default) */
    WEFT_PLACE_LOCAL = 1, /* only on this process's runtime */
    WEFT_PLACE_NODE = 2   /* only on the node named by `where` ("host:port") */
} weft_place_t;

/* Sets named-task node `node`'s placement. where: the node's address for
 * WEFT_PLACE_NODE (1..WEFT_NAME_MAX bytes, no whitespace), NULL otherwise.
 * Saved in graph files (`place` lines, graph/FORMAT.md). Errors:
 * WEFT_EINVAL (bad graph or node, not a named-task node, unknown place,
 * where missing or given wrongly), WEFT_EBUSY (the graph runs),
 * WEFT_ENOMEM. Thread-safety: as any change of the graph. */
WEFT_API int weft_graph_set_place(weft_graph_t *g, weft_node_t node, int place,
                                  const char *where);
/* A node's placement (WEFT_PLACE_*, WEFT_PLACE_ANY for nodes that are not
 * named tasks), or a negative error (WEFT_EINVAL). *where (may be NULL)
 * gets the address for WEFT_PLACE_NODE, else NULL; valid while the graph
 * lives. Thread-safety: as reading the graph. */
WEFT_API int weft_graph_place(const weft_graph_t *g, weft_node_t node, const char **where);

/* What an executor is given to run: one named-task node of a run. The
 * struct and its arrays are valid during start only; the bytes they point
 * to (argument, inputs) and the names stay valid until the node's handle
 * is completed. */
typedef struct weft_remote_node {
    weft_run_t *run;
    weft_node_t node;
    const char *name;              /* the node's name */
    const char *task;              /* its registered task name */
    const void *arg;               /* its argument bytes */
    size_t arg_len;
    size_t ninputs;                /* its predecessors, in weft_node_input order */
    const void *const *inputs;     /* their result bytes (NULL where none) */
    const size_t *input_lens;
    const weft_node_t *input_nodes; /* which node each input came from */
    int place;                     /* WEFT_PLACE_ANY or WEFT_PLACE_NODE */
    const char *where;             /* WEFT_PLACE_NODE: the node's address */
    int64_t run_start_ns;          /* the run's start on the runtime's clock
                                      (CLOCK_MONOTONIC, ns): origin times are
                                      seconds since then */
} weft_remote_node_t;

/* An executor runs a run's named-task nodes (those not placed
 * WEFT_PLACE_LOCAL) somewhere else: start is called on the worker that
 * would have run the node, with the node already deferred (h is its
 * handle, see weft_node_defer); it must not block, and completes h exactly
 * once, from any thread, with weft_node_async_complete_at (or _complete),
 * giving the node the outcome it would have had locally. A nonzero return
 * means start took nothing on: the node fails with that code (h must then
 * not be completed). Named tasks need not be registered locally when the
 * run has an executor, unless placed WEFT_PLACE_LOCAL. */
typedef struct weft_executor {
    int (*start)(void *data, const weft_remote_node_t *node, weft_node_async_t *h);
    /* Called (may be NULL) once weft_run_cancel has flagged run and its
     * sub-runs: the executor stops what it holds of them (their handles
     * are then completed with WEFT_ECANCELED, which makes the nodes
     * cancelled). Must not block; any thread. */
    void (*cancel)(void *data, weft_run_t *run);
    void *data;
} weft_executor_t;

/* Where and how a node ran, as an executor reports it (all optional). */
typedef struct weft_node_origin {
    const char *machine; /* "host:port" of the machine that ran it; NULL or
                            "local": this process */
    int worker;          /* worker index on that machine, -1 unknown */
    int attempts;        /* times it was sent (1 without failures; 0 unknown) */
    double lost_s;       /* seconds lost to failures (attempts that were lost) */
    double start_s, end_s; /* when it ran on that machine, on this process's
                              clock (aligned), in seconds since the run began;
                              both 0: unknown (the node's own times are used) */
    uint64_t bytes_sent;     /* bytes sent to run it (argument, inputs) */
    uint64_t bytes_received; /* bytes received back (its result) */
} weft_node_origin_t;

/* As weft_node_async_complete, also recording where and how the node ran
 * (origin may be NULL). The run record keeps it (weft_run_node_origin),
 * run files save it, traces draw one process track per machine, dot
 * colours nodes by machine, print_stats sums per machine. An origin never
 * makes the completion fail: values out of range are kept in range (an
 * empty or NULL machine is "local", blanks and control bytes in it become
 * '_', it is cut at WEFT_NAME_MAX bytes; a worker outside -1..511 is -1;
 * negative attempts 0; NaN, infinite or negative times 0, times past
 * 10^6 s that, an end before its start the start), and without memory for
 * it the origin is dropped and the node completes all the same. */
WEFT_API int weft_node_async_complete_at(weft_node_async_t *h, int status, const void *data,
                                         size_t len, const weft_node_origin_t *origin);

/* Where node `node` of a run ran: machine "local" for nodes run by this
 * process (worker from the record when recorded, else -1; attempts 1).
 * machine stays valid while the run record lives. Errors: WEFT_EINVAL,
 * WEFT_ESTALE, WEFT_ENOENT (the node did not run: pending, skipped,
 * cancelled). Thread-safety: any thread; a snapshot while the run goes. */
WEFT_API int weft_run_node_origin(const weft_run_t *run, weft_node_t node,
                                  weft_node_origin_t *origin);

typedef struct weft_run_opts {
    int record;                 /* 1: record each node's start, end and worker
                                   (needed for timed dot labels, traces and
                                   per-worker run statistics) */
    int progress_bar;           /* 1: draw a bar on stderr if it is a terminal */
    weft_progress_fn progress;  /* called by the waiting thread, or NULL */
    void *progress_data;
    double progress_interval_s; /* between reports; 0 means 0.1 */
    const weft_executor_t *executor; /* run named-task nodes there, or NULL:
                                        all local (a cluster:
                                        weft_cluster_executor) */
} weft_run_opts_t;

/* Runs g on rt and blocks until the run is complete (workers help; a
 * non-worker thread reports progress meanwhile if asked to). opts may be
 * NULL. When run is not NULL, *run receives the run record (free it with
 * weft_run_free) whenever the run started; it is NULL when nothing ran
 * (WEFT_EINVAL, WEFT_EBUSY, WEFT_ECYCLE, WEFT_ENOENT, WEFT_ENOMEM).
 * Returns 0 if every node succeeded; WEFT_ETASK if a node failed;
 * WEFT_ECANCELED if the run was cancelled; WEFT_ECYCLE; WEFT_EBUSY (the
 * caller is inside a run of g); WEFT_ENOENT (a named task is not registered: nothing ran);
 * WEFT_EINVAL; WEFT_ENOMEM. Thread-safety: any thread; runs of one graph may overlap. */
WEFT_API int weft_graph_run(weft_graph_t *g, weft_runtime_t *rt, const weft_run_opts_t *opts,
                            weft_run_t **run);

/* Starts a run and returns at once; wait with weft_run_wait. *run must be
 * freed with weft_run_free after the wait. Errors: those that
 * weft_graph_run reports before anything runs. */
WEFT_API int weft_graph_run_async(weft_graph_t *g, weft_runtime_t *rt,
                                  const weft_run_opts_t *opts, weft_run_t **run);

/* Runs g n times one after another (stops at the first run that does not
 * return 0, and returns its code). *run, if not NULL, gets the last run:
 * one record serves every run. When a run after the first cannot start
 * (WEFT_ENOMEM), the record holds no run (every node pending, no results)
 * and that code is returned. g counts as running from the call until the
 * return, between its runs too: changes are refused with WEFT_EBUSY all
 * that time. weft_run_cancel on the record (weft_current_run() gives it to
 * a node) stops run_n: the run in flight is cancelled, or, when the cancel
 * comes between two runs, the next one, and WEFT_ECANCELED is returned.
 * Errors: as weft_graph_run. Thread-safety: any thread. */
WEFT_API int weft_graph_run_n(weft_graph_t *g, weft_runtime_t *rt, uint64_t n,
                              const weft_run_opts_t *opts, weft_run_t **run);

/* Waits for an async run; returns what weft_graph_run would have.
 * Thread-safety: any thread; one waiter. */
WEFT_API int weft_run_wait(weft_run_t *run);
/* As weft_run_wait, giving up after timeout_s seconds with WEFT_ETIMEDOUT
 * (0: just look). Any double: NaN or negative is WEFT_EINVAL; INFINITY, and
 * a timeout too long for the clock to count (about 292 years), waits for
 * ever, as weft_job_wait_timeout does. */
WEFT_API int weft_run_wait_timeout(weft_run_t *run, double timeout_s);

/* Asks the run to stop: nodes not yet started are cancelled, in it and in
 * the runs of its subgraph nodes at every depth (also those starting at
 * the same time). Returns 0 (also when the run already finished), or
 * WEFT_EINVAL for a bad record. Thread-safety: any thread, at any time
 * while the record lives (also while weft_graph_run_n moves from one run
 * to the next), also from inside a node. */
WEFT_API int weft_run_cancel(weft_run_t *run);

/* 1 once weft_run_cancel was called on run (or on a run it is a sub-run
 * of, which cancels it too), else 0; 0 for NULL or a bad record. Lets work
 * a node spawned (which has no node context) stop early.
 * Thread-safety: any thread. */
WEFT_API int weft_run_cancelled(const weft_run_t *run);

/* The run the calling thread works for: the innermost run whose node
 * function is running on this thread, or whose node spawned (at any depth,
 * through weft_submit, weft_spawn, groups, parallel helpers) the task this
 * thread runs; for a node of a subgraph, the subgraph's run. NULL outside
 * any run: on a thread that is not a worker, in a job callback, in a task
 * submitted from outside every run. The answer the bindings' cancelled()
 * gives is weft_run_cancelled(weft_current_run()).
 * Thread-safety: any thread, about itself. */
WEFT_API weft_run_t *weft_current_run(void);

/* Frees a run record and the sub-runs in it (any depth). Errors:
 * WEFT_EINVAL (also for a sub-run, which its run frees), WEFT_EBUSY
 * (still running). */
WEFT_API int weft_run_free(weft_run_t *run);

typedef enum weft_node_status {
    WEFT_NODE_PENDING = 0, /* not run (yet) */
    WEFT_NODE_DONE = 1,
    WEFT_NODE_FAILED = 2,
    WEFT_NODE_SKIPPED = 3,   /* a predecessor failed or was skipped */
    WEFT_NODE_CANCELLED = 4, /* the run was cancelled before it started */
    WEFT_NODE_RUNNING = 5
} weft_node_status_t;

/* "pending", "done", "failed", "skipped", "cancelled", "running". */
WEFT_API const char *weft_node_status_name(int status);

/* Status of one node in a run, or a negative error (WEFT_EINVAL,
 * WEFT_ESTALE). Thread-safety: any thread (a snapshot while running). */
WEFT_API int weft_run_node_status(const weft_run_t *run, weft_node_t node);
/* The node function's return value (0 unless it failed). */
WEFT_API int weft_run_node_code(const weft_run_t *run, weft_node_t node, int *code);
/* Result bytes a node stored (NULL, 0 if none). Valid until the run is
 * freed. Errors: WEFT_EINVAL, WEFT_ESTALE, WEFT_EBUSY (still running). */
WEFT_API int weft_run_result(const weft_run_t *run, weft_node_t node, const void **data,
                             size_t *len);
/* Start and end (seconds since the run began) and worker of a node, for
 * runs with opts.record. Errors: WEFT_EINVAL, WEFT_ENOENT (not recorded or
 * the node did not run), WEFT_ESTALE. */
WEFT_API int weft_run_node_time(const weft_run_t *run, weft_node_t node, double *start_s,
                                double *end_s, int *worker);

typedef struct weft_run_counts {
    uint64_t total, done, failed, skipped, cancelled;
    weft_node_t first_failed; /* WEFT_NODE_NONE if none */
    int first_code;           /* its return value */
    double wall_s;            /* start to completion (so far, if running) */
} weft_run_counts_t;

/* Errors: WEFT_EINVAL, WEFT_ESTALE. */
WEFT_API int weft_run_counts(const weft_run_t *run, weft_run_counts_t *counts);
/* The graph a run belongs to. */
WEFT_API weft_graph_t *weft_run_graph(const weft_run_t *run);
/* The run record of the subgraph that subgraph node `node` ran in `run`
 * (its statuses, results, counts; dot draws it inside the cluster). It
 * belongs to run: valid until run is freed or runs again, never freed by
 * the caller (weft_run_free: WEFT_EINVAL). It has no job: it is complete
 * when the node has finished; weft_run_wait on it returns its outcome then
 * (0, WEFT_ETASK, WEFT_ECANCELED) and WEFT_EBUSY before, without waiting.
 * Also answers for a stale run. Errors: WEFT_EINVAL (bad run or node, or
 * not a subgraph node), WEFT_ENOENT (the node has not started the
 * subgraph: pending, skipped, cancelled). */
WEFT_API int weft_run_subrun(const weft_run_t *run, weft_node_t node, weft_run_t **sub);

/* Prints the run's statistics in pp's print_stats style: counts, wall time,
 * per worker the nodes run and busy time (timings need opts.record).
 * Errors: WEFT_EINVAL, WEFT_ESTALE, WEFT_EBUSY, WEFT_EIO. */
WEFT_API int weft_run_print_stats(const weft_run_t *run, FILE *out);
WEFT_API int weft_run_print_stats_buf(const weft_run_t *run, weft_buf_t *out);

/* ------------------------------------------------------------------ */
/* Named tasks                                                         */

/* Registers fn under name, process-wide; arg is passed to every node that
 * names it. Registering a name again replaces it (returns 0). Errors:
 * WEFT_EINVAL (NULL/empty name or NULL fn, or a name with whitespace),
 * WEFT_ERANGE (too long), WEFT_ENOMEM. Thread-safety: any thread. */
WEFT_API int weft_task_register(const char *name, weft_node_fn fn, void *arg);
/* Removes a name. Errors: WEFT_EINVAL, WEFT_ENOENT. */
WEFT_API int weft_task_unregister(const char *name);
/* Looks a name up. fn and arg may be NULL. Errors: WEFT_EINVAL, WEFT_ENOENT. */
WEFT_API int weft_task_lookup(const char *name, weft_node_fn *fn, void **arg);

/* Registers weft's built-in tasks (registering them again is harmless):
 * "weft.echo" (result: the argument bytes, else the first input's),
 * "weft.sum_primes" (the sum of the primes below N, N in ASCII decimal
 * from the argument or else the first input; N above 10^8: WEFT_ERANGE)
 * and "weft.sum" (the sum of the blank-separated decimal numbers of the
 * argument and of every input). Results are ASCII decimal. Bad numbers
 * fail the node with WEFT_EINVAL. Errors: WEFT_ENOMEM.
 * Thread-safety: any thread. */
WEFT_API int weft_tasks_register_builtin(void);

/* Plugins: a shared library of named tasks exports
 *     int weft_plugin_init(void);
 * (the name is WEFT_PLUGIN_INIT) that registers its tasks with
 * weft_task_register and returns 0, or a weft error code. */
#define WEFT_PLUGIN_INIT "weft_plugin_init"
typedef int (*weft_plugin_init_fn)(void);

/* Loads the plugin at path (dlopen: a path with a '/' is used as it is,
 * a bare name is searched as the dynamic loader does) and calls its
 * weft_plugin_init. The library stays loaded for the life of the process:
 * its tasks stay registered. Loading the same library again calls its init
 * again (registering again replaces: harmless). Every tool that takes
 * --load (weftd, weft-run) loads plugins with this.
 * Errors: WEFT_EINVAL (NULL or empty path), WEFT_EIO (the loader refused
 * it: missing file, wrong architecture, unresolved symbol), WEFT_ENOENT (no
 * weft_plugin_init in it), or the code weft_plugin_init returned (a
 * positive one as WEFT_ETASK); weft_error_detail names the plugin and says
 * why. Thread-safety: any thread. */
WEFT_API int weft_plugin_load(const char *path);

/* ------------------------------------------------------------------ */
/* Graph files                                                         */

/* Writes g as a graph file (format: graph/FORMAT.md), with every graph its
 * subgraph nodes run, each once, at any depth (time linear in the file).
 * Every node, at any depth, must be a named-task or subgraph node
 * (function pointers cannot be saved) with at most WEFT_FILE_TOKEN_MAX
 * argument bytes: otherwise WEFT_ENOTSUP and nothing is written;
 * weft_graph_error tells which node of which graph. Out of memory,
 * WEFT_ENOMEM: nothing is written either (the file is planned first).
 * Errors: WEFT_EINVAL, WEFT_ENOTSUP, WEFT_ENOMEM, WEFT_EIO. */
WEFT_API int weft_graph_save(const weft_graph_t *g, FILE *out);
WEFT_API int weft_graph_save_file(const weft_graph_t *g, const char *path);
/* The same text into memory (see weft_buf_t in weft/common.h); so are the
 * other _buf forms below. */
WEFT_API int weft_graph_save_buf(const weft_graph_t *g, weft_buf_t *out);

/* Reads a graph file into a new graph. The graphs of its 'graph' blocks
 * (run by its subgraph nodes) belong to it: weft_graph_free(*g) frees them.
 * Blocks may nest to any depth and come in any order: time is linear in
 * the file.
 * On error nothing is made (*g is NULL) and weft_graph_error() describes it
 * with the line number, e.g.
 * "line 7: edge to unknown node 'merge'". Errors: WEFT_EINVAL, WEFT_EPARSE,
 * WEFT_EIO, WEFT_ENOMEM. Task names need not be registered yet.
 * Thread-safety: any thread. */
WEFT_API int weft_graph_load(FILE *in, weft_graph_t **g);
WEFT_API int weft_graph_load_file(const char *path, weft_graph_t **g);
/* The same from len bytes of memory (text need not be NUL-terminated and
 * may be NULL when len is 0; it is not kept): for graphs that arrive as
 * bytes, e.g. over a network. Every line is at most WEFT_FILE_LINE_MAX
 * bytes and every token at most WEFT_FILE_TOKEN_MAX (else WEFT_EPARSE
 * naming the line), so what a loader holds is bounded by the input's size.
 * The stream forms keep the same limits; they read the stream to its end,
 * in chunks.
 * Errors: WEFT_EINVAL (text NULL with len > 0, g NULL), WEFT_EPARSE,
 * WEFT_ENOMEM. Thread-safety: any thread. */
WEFT_API int weft_graph_load_buf(const char *text, size_t len, weft_graph_t **g);

/* The calling thread's detail message (weft_error_detail, in
 * weft/common.h): kept under this name for the graph layer's callers. */
WEFT_API const char *weft_graph_error(void);

/* ------------------------------------------------------------------ */
/* Seeing a graph                                                      */

/* Writes g in graphviz's dot language: node names, edges, subgraph nodes
 * as clusters (nested at most 1,000 deep: deeper subgraph nodes, and all of
 * them when every use would draw over 100,000 nodes, are boxes). With a run (may be NULL), nodes are coloured by status and,
 * when the run was recorded, labelled with duration and worker.
 * Errors: WEFT_EINVAL, WEFT_ESTALE, WEFT_EBUSY, WEFT_ENOMEM, WEFT_EIO; after
 * WEFT_ENOMEM or WEFT_EIO part of the text may have been written. */
WEFT_API int weft_graph_dot(const weft_graph_t *g, const weft_run_t *run, FILE *out);
WEFT_API int weft_graph_dot_buf(const weft_graph_t *g, const weft_run_t *run, weft_buf_t *out);

/* Writes a recorded run as Chrome trace-event JSON (chrome://tracing,
 * Perfetto): one track per worker, one slice per node.
 * Errors: WEFT_EINVAL, WEFT_ENOENT (not recorded), WEFT_EBUSY, WEFT_EIO. */
WEFT_API int weft_run_trace(const weft_run_t *run, FILE *out);
WEFT_API int weft_run_trace_buf(const weft_run_t *run, weft_buf_t *out);

/* Writes the per-node record of a run (status, code, start, end, worker),
 * and the runs of its subgraph nodes, at any depth, as a run file that
 * weft-dot reads alongside the graph file (graph/FORMAT.md).
 * Errors: WEFT_EINVAL, WEFT_EBUSY, WEFT_EIO. */
WEFT_API int weft_run_save(const weft_run_t *run, FILE *out);
WEFT_API int weft_run_save_buf(const weft_run_t *run, weft_buf_t *out);

/* Reads a run file written by weft_run_save into a run record of g (which
 * must have the same nodes, and subgraphs), for drawing and tracing; the
 * sub-runs it holds become the run's sub-runs, freed with it. On error
 * *run is NULL and nothing is kept. Errors: WEFT_EINVAL, WEFT_EPARSE
 * (weft_graph_error says where), WEFT_EIO, WEFT_ENOMEM. */
WEFT_API int weft_run_load(weft_graph_t *g, FILE *in, weft_run_t **run);
/* The same from len bytes of memory (see weft_graph_load_buf: the same
 * limits). Errors: WEFT_EINVAL, WEFT_EPARSE, WEFT_ENOMEM. */
WEFT_API int weft_run_load_buf(weft_graph_t *g, const char *text, size_t len, weft_run_t **run);

#ifdef __cplusplus
}
#endif
#endif
