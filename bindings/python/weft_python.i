/* weft_python.i: the Python part of weft.i (included under SWIGPYTHON).
 *
 * weft.i binds the plain C API for Python as for Lua (functions on
 * weft_graph_t and weft_run_t pointers, one error rule). What it cannot
 * bind is here, written by hand in C because it holds Python objects:
 *
 * - GraphCore (wpy_graph) and RunCore (wpy_run), SWIG-wrapped with their
 *   ownership stated (%newobject on what returns a fresh object, a
 *   destructor on each): a weft graph plus the Python callables of its
 *   nodes and their inputs in edge order; a run record plus the Python
 *   results of its nodes, waiting with the GIL released, progress
 *   callbacks. Their functions live in wpy_graph.c; graph() and run() hand
 *   the C pointers to weft.i's functions, which weft/__init__.py calls for
 *   everything plain (names, counts, find, check, files, dot, statuses,
 *   counts, times, traces).
 * - The runtime, jobs and groups (wpy_jobs.c): hand-written CPython types
 *   added to the module by %init below, because a tiny Python task must
 *   cost well under a microsecond to submit and collect, and SWIG's
 *   argument conversion (tuple unpacking, pointer look-up through the
 *   proxy's `this`) costs more than that on its own.
 *
 * Errors: the hand-written functions fail by setting a Python exception
 * (through wpy_raise for weft codes, the function weft.i's typemaps call
 * too), and weft.i's one %exception makes every wrapper fail when one is
 * set. */

%init %{
    if (wpy_module_init(m) < 0)
        return NULL;
%}

%rename(GraphCore) wpy_graph;
%rename(RunCore) wpy_run;
%nodefaultctor wpy_run;

struct wpy_graph {};
struct wpy_run {};

%newobject wpy_graph::start;
%newobject wpy_graph::load;
%newobject wpy_graph::subgraph;
%newobject wpy_run::subrun;

%extend wpy_graph {
    wpy_graph(const char *name);
    ~wpy_graph();
    /* the C graph, for weft.i's functions (valid while this object lives) */
    weft_graph_t *graph();
    PyObject *add_call(PyObject *name, PyObject *fn, PyObject *args, int inputs);
    PyObject *add_task(PyObject *name, const char *task, PyObject *arg);
    PyObject *add_subgraph(PyObject *name, struct wpy_graph *sub);
    PyObject *precede(PyObject *before, PyObject *after);
    PyObject *node_kind(PyObject *node);
    static struct wpy_graph *load(const char *path);
    struct wpy_graph *subgraph(PyObject *node);
    PyObject *key();
    struct wpy_run *start(PyObject *rt, int record, int progress_bar, PyObject *progress,
                          double interval_s, int local);
}

%extend wpy_run {
    ~wpy_run();
    /* the C run record, for weft.i's functions (valid while this object lives) */
    weft_run_t *run();
    PyObject *wait(double timeout_s);
    PyObject *done();
    PyObject *code();
    PyObject *result(PyObject *node);
    PyObject *error(PyObject *node);
    PyObject *raw(PyObject *node);
    struct wpy_run *subrun(PyObject *node);
}
