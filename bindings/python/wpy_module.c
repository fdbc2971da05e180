/* wpy_module.c: the module's set-up and exit, above every other part:
 * called from SWIG's %init (weft_python.i), it calls wpy_common.c,
 * wpy_jobs.c, wpy_graph.c and wpy_procs.c; none of them calls it. */
#include "wpy.h"

/* _shutdown(): at exit, after weft/__init__.py closed the live runtimes:
 * destroys deferred runtimes and stops worker threads from taking the GIL. */
static PyObject *mod_shutdown(PyObject *m, PyObject *unused) {
    (void)m;
    (void)unused;
    wpy_jobs_shutdown();
    wpy_gil_shutdown();
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {{"_shutdown", mod_shutdown, METH_NOARGS, "exit handler"},
                                       {NULL, NULL, 0, NULL}};

int wpy_module_init(PyObject *m) {
    if (wpy_common_init(m) < 0 || wpy_jobs_init(m) < 0 || wpy_graph_init(m) < 0 ||
        wpy_procs_init(m) < 0 || wpy_gnode_init(m) < 0)
        return -1;
    return wpy_add_functions(m, module_methods);
}
