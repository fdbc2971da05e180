/* wpy.h: internals of weft's Python binding. Never installed.
 *
 * The binding is one extension module, weft._core: SWIG's wrapper of
 * weft.i (the plain C API, bound for every language there, and
 * weft_python.i's part) plus this C. Its files call each other one way
 * only (module -> jobs, graph, procs, common; graph -> jobs, common;
 * procs -> jobs, common; jobs -> common, and procs' two entry points
 * wpy_remote_cancel and wpy_remote_close):
 *
 * - wpy_common.c: weft codes becoming exceptions (wpy_raise), the GIL on
 *   weft's worker threads, and the module functions of no other part
 *   (_setup, cancelled).
 * - wpy_jobs.c: the runtime type (weft.core.RuntimeBase, the base class of
 *   weft.Runtime), Python jobs and groups. Written against the CPython API
 *   directly rather than through SWIG wrappers: submitting, running and
 *   collecting a tiny Python task must cost a few hundred nanoseconds, and
 *   SWIG's argument conversion alone costs more than that.
 * - wpy_graph.c: what graphs and runs with Python callables as nodes need
 *   beyond the plain C API: the callables and results of the nodes, the
 *   runs' storage, waiting with signals, progress callbacks. SWIG wraps
 *   these functions (weft_python.i: GraphCore, RunCore).
 * - wpy_procs.c: jobs in worker processes and on weftd nodes (the
 *   engine of Runtime(processes=N, nodes=[...]): process pool, clusters,
 *   completion thread) and the worker side's C task "weft.py"; it uses
 *   wpy_jobs.c's remote jobs (below).
 * - wpy_module.c: the module's set-up (from SWIG's %init) and exit.
 * - weft/__init__.py: the Pythonic layer (Runtime, Graph, Node, Run, the
 *   exception classes, built from the codes weft.i generates).
 *
 * Errors: every weft code becomes a Python exception in one place,
 * wpy_raise() (wpy_common.c): the C here calls it, and so does weft.i's
 * out typemap for the plain API (on the status type weft_rc), with the
 * failed call's own detail message. Functions returning PyObject * return
 * NULL with an exception set; functions returning int return -1 with an
 * exception set.
 *
 * GIL: functions named here are called with the GIL held unless they say
 * otherwise. */
#ifndef WPY_H
#define WPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <weft.h>

/* ---- errors (wpy_common.c) ---- */

/* Sets the Python exception for weft error code `code` (negative): the
 * class weft/__init__.py maps the code to (weft.InvalidArgument, a
 * ValueError, for WEFT_EINVAL and WEFT_ERANGE; weft.OutOfMemory, a
 * MemoryError, for WEFT_ENOMEM; weft.Timeout, a TimeoutError, for
 * WEFT_ETIMEDOUT; weft.Error for the others, and for codes weft does not
 * define). Every one is a weft.Error with .code (the number) and .name
 * ("WEFT_EINVAL"); the message is weft_strerror(code), followed by
 * ": detail" when detail is given. Returns NULL. */
PyObject *wpy_raise(int code, const char *detail);

/* Raises weft.TaskError(message, node=name, exception=exc) with exc as its
 * __cause__ (exc may be NULL). Returns NULL. */
PyObject *wpy_raise_task_error(const char *message, PyObject *name, PyObject *exc);

/* weft.TaskError once _setup ran, else NULL (borrowed). */
PyObject *wpy_task_error_class(void);

/* Takes the raised exception (normalized, its traceback attached to it) and
 * clears the error indicator. Never NULL. */
PyObject *wpy_fetch_exception(void);

/* ---- interpreter state (wpy_common.c) ---- */

/* 1 once the interpreter is shutting down (or wpy_gil_shutdown ran):
 * worker threads must not take the GIL any more. Any thread. */
int wpy_finalizing(void);
void wpy_gil_shutdown(void);

/* Takes the GIL on any thread (a weft worker gets a thread state the first
 * time and keeps it until the thread exits, so later calls cost one lock).
 * Pair with wpy_gil_release. Called without the GIL. */
PyGILState_STATE wpy_gil_ensure(void);
void wpy_gil_release(PyGILState_STATE st);

/* ---- runtimes (wpy_jobs.c) ---- */

/* The weft runtime of a weft.Runtime object, or NULL with TypeError (not a
 * Runtime) or weft.Error (closed). */
weft_runtime_t *wpy_runtime_of(PyObject *obj);

/* ---- jobs that run in worker processes or on nodes ---- */

/* wpy_jobs.c. A remote job is a weft.Job like any other (result, job(),
 * callbacks, groups, waits, as_completed) that is never in the queue: it
 * is RUNNING from submit until wpy_rjob_finish, which wpy_procs.c calls
 * when its outcome has arrived. The core keeps the pending ones in a list
 * (one reference each), so that cancel() and Runtime/Group.cancel() reach
 * them. */

/* The runtime's remote engine (wpy_procs.c's), or NULL. */
void *wpy_runtime_remote(PyObject *rt);
/* Sets it (once; NULL clears). 0, or -1 with an exception. */
int wpy_runtime_set_remote(PyObject *rt, void *remote);
/* A new remote job of rt running fn(*args) (args a tuple; kept for
 * job.fn and job.args), in group (None, a name or a Group), with pp's
 * callback and callbackargs (None for none); rdata is the caller's record
 * (wpy_rjob_data). Counted pending. New reference, or NULL. */
PyObject *wpy_rjob_new(PyObject *rt, PyObject *fn, PyObject *args, PyObject *group,
                       PyObject *callback, PyObject *cbargs, void *rdata);
void *wpy_rjob_data(PyObject *job);
/* Borrowed: the job's function; new: its arguments as a tuple. */
PyObject *wpy_rjob_fn(PyObject *job);
PyObject *wpy_rjob_args(PyObject *job);
/* Completes a remote job: with result res, or with exc (a raised
 * exception object), or cancelled; steals res and exc. Runs the callback
 * (for a result), wakes the waiters, calls done callbacks. */
void wpy_rjob_finish(PyObject *job, PyObject *res, PyObject *exc, int cancelled);

/* wpy_procs.c. Cancels a remote job given its record (job.cancel(),
 * Runtime.cancel(), Group.cancel()): the job completes as cancelled at
 * once; the task is cancelled in the cluster (a task that started in a
 * process runs to its end there, its result dropped). */
void wpy_remote_cancel(void *rdata);
/* Stops a runtime's engine once its jobs are complete: the cluster, the
 * worker processes (none left behind), the completion thread. GIL held
 * (released meanwhile). */
void wpy_remote_close(void *remote);
/* 1 on the engine's completion thread (where callbacks of remote jobs
 * run). */
int wpy_remote_is_finisher(void *remote);
/* A wait on the completion thread (a callback waiting for another remote
 * job): waits up to slice_s for completions and processes them, GIL held
 * on entry and exit (released meanwhile); 1. Elsewhere 0 at once. */
int wpy_remote_help(void *remote, double slice_s);
/* Module functions: _procworker_serve, _remote_start, _rsubmit, ... */
int wpy_procs_init(PyObject *m);
/* The cluster a graph run on this engine sends its named-task nodes to
 * (weft_cluster_executor): the nodes' cluster when there are nodes, else
 * the worker processes'. Never NULL for an engine. */
weft_cluster_t *wpy_remote_graph_cluster(void *remote);

/* ---- Python graph nodes in processes and on nodes (wpy_gnode.c) ---- */

/* 1 when [arg, arg+len) is a graph payload (b"WFN1"...). Any thread. */
int wpy_gnode_is_payload(const void *arg, size_t len);
/* Runs a graph payload, or a forwarded one (b"WFI1"...), as the node
 * function of "weft.py": see wpy_gnode.c. Called WITHOUT the GIL. */
int wpy_gnode_run(weft_node_ctx_t *ctx, const void *arg, size_t len);
/* The value of a Python node's result bytes (data NULL: none). New
 * reference, or NULL with an exception. */
PyObject *wpy_gnode_value(const void *data, size_t len);
/* Stores value as a Python node's result bytes. 0, or -1 with an
 * exception. */
int wpy_gnode_publish(weft_node_ctx_t *ctx, PyObject *value);
/* Registers "weft.py" for graph payloads in this process (unless a task
 * of that name is registered already). */
int wpy_gnode_init(PyObject *m);

/* ---- module set-up: 0, or -1 with an exception ---- */

/* wpy_module.c, from SWIG's %init: calls the parts' own, below. */
int wpy_module_init(PyObject *m);
/* wpy_common.c: the thread-state key, _setup, cancelled. */
int wpy_common_init(PyObject *m);
/* Adds the functions of a NULL-terminated table to m (wpy_common.c). */
int wpy_add_functions(PyObject *m, PyMethodDef *defs);
/* wpy_jobs.c: RuntimeBase, Job, Group, MAX_WORKERS; and, at exit, the
 * destruction of the runtimes that had to wait for it. */
int wpy_jobs_init(PyObject *m);
void wpy_jobs_shutdown(void);
/* wpy_graph.c: registers weft's built-in tasks; register_task & co. */
int wpy_graph_init(PyObject *m);

/* ---- graphs and runs (wpy_graph.c), wrapped by SWIG ---- */

typedef struct wpy_graph wpy_graph;
typedef struct wpy_run wpy_run;

/* GraphCore(name): a new empty graph. */
wpy_graph *new_wpy_graph(const char *name);
void delete_wpy_graph(wpy_graph *G);
/* The C graph: what weft.i's functions read (weft/__init__.py). */
weft_graph_t *wpy_graph_graph(wpy_graph *G);
/* Adds a node calling fn(*args, *inputs) (fn(*args) when inputs is 0);
 * returns its id (an int). */
PyObject *wpy_graph_add_call(wpy_graph *G, PyObject *name, PyObject *fn, PyObject *args,
                             int inputs);
/* Adds a node running the registered task with argument bytes (bytes-like
 * or str, or None); returns its id. */
PyObject *wpy_graph_add_task(wpy_graph *G, PyObject *name, const char *task, PyObject *arg);
/* Adds a node running the whole graph sub (weft_graph_add_subgraph); G
 * holds a reference on sub. Returns its id. Refuses sub == G (EINVAL) and
 * a sub that contains G (ECYCLE). */
PyObject *wpy_graph_add_subgraph(wpy_graph *G, PyObject *name, wpy_graph *sub);
/* Edge before -> after, kept in the mirror too (a call node's inputs come
 * in edge order). Returns None. */
PyObject *wpy_graph_precede(wpy_graph *G, PyObject *before, PyObject *after);
/* "call", "task" or "subgraph". */
PyObject *wpy_graph_node_kind(wpy_graph *G, PyObject *node);
/* Loads a graph file: a new graph whose nodes are all named-task nodes. */
wpy_graph *wpy_graph_load(const char *path);
wpy_graph *wpy_graph_subgraph(wpy_graph *G, PyObject *node);
PyObject *wpy_graph_key(wpy_graph *G);
/* Starts a run (see weft_graph_run_async); progress is None or a callable
 * called with (finished, total, elapsed_s, rate, eta_s). */
wpy_run *wpy_graph_start(wpy_graph *G, PyObject *rt, int record, int progress_bar,
                         PyObject *progress, double interval_s, int local);

void delete_wpy_run(wpy_run *R);
/* The C run record: what weft.i's functions read. */
weft_run_t *wpy_run_run(wpy_run *R);
/* Waits up to timeout_s (negative: no limit) in slices with the GIL
 * released, checking for signals between slices. True once complete, False
 * on timeout; raises KeyboardInterrupt (the run goes on: cancel it) or the
 * exception a progress callback raised. */
PyObject *wpy_run_wait(wpy_run *R, double timeout_s);
PyObject *wpy_run_done(wpy_run *R);
/* The outcome code of a complete run (0, WEFT_ETASK, WEFT_ECANCELED). */
PyObject *wpy_run_code(wpy_run *R);
/* A node's result: the Python object a call node returned, the bytes a
 * task node stored, or None; for a subgraph node, a tuple of its
 * subgraph's sink nodes' results. */
PyObject *wpy_run_result(wpy_run *R, PyObject *node);
/* (exception or None, code) for a node. */
PyObject *wpy_run_error(wpy_run *R, PyObject *node);
/* A node's result bytes as stored (also a failed node's), or None. */
PyObject *wpy_run_raw(wpy_run *R, PyObject *node);
/* The run of the subgraph that subgraph node `node` ran, once the run is
 * complete: a RunCore sharing the top run's storage (it keeps the top run
 * alive). */
wpy_run *wpy_run_subrun(wpy_run *R, PyObject *node);

#endif
