/* wpy.h: internals of weft's Python binding. Never installed.
 *
 * The binding is one extension module, weft._core (SWIG's module weft.core
 * plus this C). It has three parts:
 *
 * - wpy_jobs.c: the runtime type (weft.core.RuntimeBase, the base class of
 *   weft.Runtime), Python jobs and groups. Written against the CPython API
 *   directly rather than through SWIG wrappers: submitting, running and
 *   collecting a tiny Python task must cost a few hundred nanoseconds, and
 *   SWIG's argument conversion alone costs more than that.
 * - wpy_graph.c: task graphs and runs with Python callables as nodes, the
 *   named C tasks this module registers, graph files, dot and traces. SWIG
 *   wraps these functions (weft_python.i: GraphCore, RunCore).
 * - weft/__init__.py: the Pythonic layer (Runtime, Graph, Node, Run, the
 *   exception classes).
 *
 * Errors: every weft code becomes a Python exception in one place,
 * wpy_raise() (wpy_jobs.c), used by the C here and by weft_python.i's
 * typemaps. Functions returning PyObject * return NULL with an exception
 * set; functions returning int return -1 with an exception set.
 *
 * GIL: functions named here are called with the GIL held unless they say
 * otherwise. */
#ifndef WPY_H
#define WPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <weft.h>

/* ---- errors (wpy_jobs.c) ---- */

/* Sets the Python exception for weft error code `code` (negative):
 * WEFT_EINVAL and WEFT_ERANGE raise weft.InvalidArgument (a ValueError),
 * WEFT_ENOMEM weft.OutOfMemory (a MemoryError), WEFT_ETIMEDOUT
 * weft.Timeout (a TimeoutError), anything else weft.Error. Every one is a
 * weft.Error with .code (the number) and .name ("WEFT_EINVAL"); the message
 * is weft_strerror(code), followed by ": detail" when detail is given.
 * Returns NULL. */
PyObject *wpy_raise(int code, const char *detail);

/* Raises weft.TaskError(message, node=name, exception=exc) with exc as its
 * __cause__ (exc may be NULL). Returns NULL. */
PyObject *wpy_raise_task_error(const char *message, PyObject *name, PyObject *exc);

/* Takes the raised exception (normalized, its traceback attached to it) and
 * clears the error indicator. Never NULL. */
PyObject *wpy_fetch_exception(void);

/* ---- interpreter state (wpy_jobs.c) ---- */

/* 1 once the interpreter is shutting down: worker threads must not take
 * the GIL any more. Any thread. */
int wpy_finalizing(void);

/* Takes the GIL on any thread (a weft worker gets a thread state the first
 * time and keeps it until the thread exits, so later calls cost one lock).
 * Pair with wpy_gil_release. Called without the GIL. */
PyGILState_STATE wpy_gil_ensure(void);
void wpy_gil_release(PyGILState_STATE st);

/* ---- runtimes (wpy_jobs.c) ---- */

/* The weft runtime of a weft.Runtime object, or NULL with TypeError (not a
 * Runtime) or weft.Error (closed). */
weft_runtime_t *wpy_runtime_of(PyObject *obj);

/* Module set-up: adds RuntimeBase, Job, Group, the helper functions and
 * registers the module's named C tasks. Called from SWIG's %init. Returns 0
 * or -1 with an exception. */
int wpy_module_init(PyObject *m);
int wpy_graph_module_init(PyObject *m); /* wpy_graph.c's part */

/* ---- graphs and runs (wpy_graph.c), wrapped by SWIG ---- */

typedef struct wpy_graph wpy_graph;
typedef struct wpy_run wpy_run;

/* GraphCore(name): a new empty graph. */
wpy_graph *new_wpy_graph(const char *name);
void delete_wpy_graph(wpy_graph *G);
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
/* Edge before -> after. Returns None. */
PyObject *wpy_graph_precede(wpy_graph *G, PyObject *before, PyObject *after);
PyObject *wpy_graph_name(wpy_graph *G);
PyObject *wpy_graph_node_count(wpy_graph *G);
PyObject *wpy_graph_edge_count(wpy_graph *G);
PyObject *wpy_graph_node_name(wpy_graph *G, PyObject *node);
/* Task name of a named-task node, or None. */
PyObject *wpy_graph_node_task(wpy_graph *G, PyObject *node);
/* "call", "task" or "subgraph". */
PyObject *wpy_graph_node_kind(wpy_graph *G, PyObject *node);
PyObject *wpy_graph_find(wpy_graph *G, const char *name);
/* None, or raises weft.Error(ECYCLE) naming a node on the cycle. */
PyObject *wpy_graph_check(wpy_graph *G);
/* dot text of the graph, coloured by run when run is not None. */
PyObject *wpy_graph_dot(wpy_graph *G, wpy_run *R);
PyObject *wpy_graph_save(wpy_graph *G, const char *path);
/* Loads a graph file: a new graph whose nodes are all named-task nodes. */
wpy_graph *wpy_graph_load(const char *path);
wpy_graph *wpy_graph_subgraph(wpy_graph *G, PyObject *node);
/* Makes ctx the node this thread runs Python code for (NULL: none);
 * returns the previous one, to restore. */
weft_node_ctx_t *wpy_node_swap(weft_node_ctx_t *ctx);
PyObject *wpy_graph_key(wpy_graph *G);
/* Starts a run (see weft_graph_run_async); progress is None or a callable
 * called with (finished, total, elapsed_s, rate, eta_s). */
wpy_run *wpy_graph_start(wpy_graph *G, PyObject *rt, int record, int progress_bar,
                         PyObject *progress, double interval_s);

void delete_wpy_run(wpy_run *R);
/* Waits up to timeout_s (negative: no limit) in slices with the GIL
 * released, checking for signals between slices. True once complete, False
 * on timeout; raises KeyboardInterrupt (the run goes on: cancel it) or the
 * exception a progress callback raised. */
PyObject *wpy_run_wait(wpy_run *R, double timeout_s);
PyObject *wpy_run_cancel(wpy_run *R);
PyObject *wpy_run_done(wpy_run *R);
/* The outcome code of a complete run (0, WEFT_ETASK, WEFT_ECANCELED). */
PyObject *wpy_run_code(wpy_run *R);
PyObject *wpy_run_status(wpy_run *R, PyObject *node);
/* A node's result: the Python object a call node returned, the bytes a
 * task node stored, or None; for a subgraph node, a tuple of its
 * subgraph's sink nodes' results. */
PyObject *wpy_run_result(wpy_run *R, PyObject *node);
/* (exception or None, code) for a node. */
PyObject *wpy_run_error(wpy_run *R, PyObject *node);
/* dict: total, done, failed, skipped, cancelled, first_failed (id or
 * None), first_code, wall_s. */
PyObject *wpy_run_counts(wpy_run *R);
/* The run of the subgraph that subgraph node `node` ran, once the run is
 * complete: a RunCore sharing the top run's storage (it keeps the top run
 * alive). */
wpy_run *wpy_run_subrun(wpy_run *R, PyObject *node);
/* (start_s, end_s, worker) of a node in a recorded run, or None. */
PyObject *wpy_run_node_time(wpy_run *R, PyObject *node);
PyObject *wpy_run_stats_text(wpy_run *R);
PyObject *wpy_run_trace(wpy_run *R);
PyObject *wpy_run_save(wpy_run *R);

#endif
