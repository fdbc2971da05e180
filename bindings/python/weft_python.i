/* weft_python.i: the Python part of weft.i (included under SWIGPYTHON).
 *
 * What SWIG wraps here: the graph layer, as two classes with their
 * ownership stated (%newobject on what returns a fresh object, a
 * destructor on each): GraphCore (a weft graph plus the Python callables of
 * its nodes) and RunCore (a run record plus the Python results of its
 * nodes). The functions behind them live in wpy_graph.c, compiled with the
 * project's warnings; weft/__init__.py builds the Pythonic Graph, Node and
 * Run classes on top.
 *
 * What SWIG does not wrap: the runtime, jobs and groups (wpy_jobs.c) are
 * hand-written CPython types, added to the module by %init below. A tiny
 * Python task must cost well under a microsecond to submit and collect;
 * SWIG's argument conversion (tuple unpacking, pointer look-up through the
 * proxy's `this`) costs more than that on its own.
 *
 * Errors: one rule for every wrapped call (the %exception below): the C
 * functions report failure by setting a Python exception, through
 * wpy_raise() for weft error codes (ValueError for WEFT_EINVAL,
 * MemoryError for WEFT_ENOMEM, weft.Error with .code otherwise, message
 * from weft_strerror), and the wrapper fails whenever one is set. */

%{
#include "wpy.h"
%}

%init %{
    if (wpy_module_init(m) < 0)
        return NULL;
%}

%exception {
    $action
    if (PyErr_Occurred()) SWIG_fail;
}

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
    PyObject *add_call(PyObject *name, PyObject *fn, PyObject *args, int inputs);
    PyObject *add_task(PyObject *name, const char *task, PyObject *arg);
    PyObject *add_subgraph(PyObject *name, struct wpy_graph *sub);
    PyObject *precede(PyObject *before, PyObject *after);
    PyObject *name();
    PyObject *node_count();
    PyObject *edge_count();
    PyObject *node_name(PyObject *node);
    PyObject *node_task(PyObject *node);
    PyObject *node_kind(PyObject *node);
    PyObject *find(const char *name);
    PyObject *check();
    PyObject *dot(struct wpy_run *run);
    PyObject *save(const char *path);
    static struct wpy_graph *load(const char *path);
    struct wpy_graph *subgraph(PyObject *node);
    PyObject *key();
    struct wpy_run *start(PyObject *rt, int record, int progress_bar, PyObject *progress,
                          double interval_s);
}

%extend wpy_run {
    ~wpy_run();
    PyObject *wait(double timeout_s);
    PyObject *cancel();
    PyObject *done();
    PyObject *code();
    PyObject *status(PyObject *node);
    PyObject *result(PyObject *node);
    PyObject *error(PyObject *node);
    PyObject *counts();
    struct wpy_run *subrun(PyObject *node);
    PyObject *node_time(PyObject *node);
    PyObject *stats_text();
    PyObject *trace();
    PyObject *save();
}
