/* wpy_common.c: what every part of weft's Python binding shares: weft
 * error codes becoming exceptions, the GIL on weft's worker threads, and
 * the module functions that belong to no part (_setup, cancelled). It calls nothing else of the binding; wpy_jobs.c,
 * wpy_graph.c and wpy_module.c call it. */
#include "wpy.h"

#include <pthread.h>
#include <stdatomic.h>

/* ------------------------------------------------------------------ */
/* exceptions                                                          */

PyObject *wpy_fetch_exception(void) {
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *v = PyErr_GetRaisedException();
#else
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    PyErr_NormalizeException(&t, &v, &tb);
    if (v && tb) PyException_SetTraceback(v, tb);
    Py_XDECREF(t);
    Py_XDECREF(tb);
#endif
    if (!v) v = Py_NewRef(Py_None);
    return v;
}

/* The classes weft/__init__.py made: {code: class} for every weft code
 * (built there from the codes weft.i generates), weft.Error for any other
 * code, and TaskError. NULL until _setup ran. */
static PyObject *cls_by_code, *cls_error, *cls_task;

PyObject *wpy_raise(int code, const char *detail) {
    PyObject *msg = detail && *detail
                        ? PyUnicode_FromFormat("%s: %s", weft_strerror(code), detail)
                        : PyUnicode_FromString(weft_strerror(code));
    if (!msg) return NULL;
    PyObject *cls = NULL;
    if (cls_by_code) {
        PyObject *k = PyLong_FromLong(code);
        if (!k) {
            Py_DECREF(msg);
            return NULL;
        }
        cls = PyDict_GetItemWithError(cls_by_code, k); /* borrowed */
        Py_DECREF(k);
        if (!cls && PyErr_Occurred()) {
            Py_DECREF(msg);
            return NULL;
        }
        if (!cls) cls = cls_error;
    }
    if (!cls) { /* weft/__init__.py has not set the classes up: plain types */
        PyObject *base = code == WEFT_ENOMEM ? PyExc_MemoryError
                         : code == WEFT_EINVAL || code == WEFT_ERANGE ? PyExc_ValueError
                                                                      : PyExc_RuntimeError;
        PyErr_SetObject(base, msg);
        Py_DECREF(msg);
        return NULL;
    }
    PyObject *exc = PyObject_CallFunction(cls, "Oi", msg, code);
    Py_DECREF(msg);
    if (exc) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

PyObject *wpy_task_error_class(void) { return cls_task; }

PyObject *wpy_raise_task_error(const char *message, PyObject *name, PyObject *exc) {
    PyObject *cls = cls_task ? cls_task : PyExc_RuntimeError;
    PyObject *args = Py_BuildValue("(s)", message);
    PyObject *kw = cls_task ? Py_BuildValue("{sOsO}", "node", name ? name : Py_None, "exception",
                                            exc ? exc : Py_None)
                            : NULL;
    if (!args || (cls_task && !kw)) {
        Py_XDECREF(args);
        Py_XDECREF(kw);
        return NULL;
    }
    PyObject *err = PyObject_Call(cls, args, kw);
    Py_DECREF(args);
    Py_XDECREF(kw);
    if (!err) return NULL;
    if (exc && exc != Py_None) PyException_SetCause(err, Py_NewRef(exc));
    PyErr_SetObject((PyObject *)Py_TYPE(err), err);
    Py_DECREF(err);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* the GIL on weft's worker threads                                    */

static pthread_key_t tstate_key;
static int tstate_key_made;
static atomic_int shutting_down;

int wpy_finalizing(void) {
#if PY_VERSION_HEX >= 0x030D0000
    return atomic_load(&shutting_down) || Py_IsFinalizing();
#else
    return atomic_load(&shutting_down) || _Py_IsFinalizing();
#endif
}

void wpy_gil_shutdown(void) { atomic_store(&shutting_down, 1); }

/* A worker thread that took a thread state exits: give it back. */
static void thread_gone(void *unused) {
    (void)unused;
    if (wpy_finalizing()) return; /* the interpreter frees them itself */
    PyThreadState *ts = PyGILState_GetThisThreadState();
    if (!ts) return;
    PyEval_RestoreThread(ts);
    PyGILState_Release(PyGILState_UNLOCKED); /* the first Ensure: deletes ts, drops the GIL */
}

PyGILState_STATE wpy_gil_ensure(void) {
    if (tstate_key_made && PyGILState_GetThisThreadState() == NULL) {
        /* First time on a thread Python did not make: an Ensure that stays
         * until the thread exits keeps the thread state (and its counter
         * above zero), so later Ensure/Release pairs only take and drop the
         * GIL instead of making and freeing a thread state each time. */
        (void)PyGILState_Ensure();
        pthread_setspecific(tstate_key, (void *)1);
        (void)PyEval_SaveThread();
    }
    return PyGILState_Ensure();
}

void wpy_gil_release(PyGILState_STATE st) { PyGILState_Release(st); }

/* ------------------------------------------------------------------ */
/* module functions                                                    */

/* _setup(classes, Error, TaskError): classes maps every weft code to the
 * exception class weft/__init__.py chose for it. */
static PyObject *mod_setup(PyObject *m, PyObject *args) {
    (void)m;
    PyObject *d, *e, *k;
    if (!PyArg_ParseTuple(args, "O!OO:_setup", &PyDict_Type, &d, &e, &k)) return NULL;
    Py_XSETREF(cls_by_code, Py_NewRef(d));
    Py_XSETREF(cls_error, Py_NewRef(e));
    Py_XSETREF(cls_task, Py_NewRef(k));
    Py_RETURN_NONE;
}

/* cancelled(): weft's one answer, the same as Lua's weft.cancelled(). */
static PyObject *mod_cancelled(PyObject *m, PyObject *unused) {
    (void)m;
    (void)unused;
    return PyBool_FromLong(weft_run_cancelled(weft_current_run()) == 1);
}

static PyMethodDef common_methods[] = {
    {"_setup", mod_setup, METH_VARARGS, "registers weft's exception classes"},
    {"cancelled", mod_cancelled, METH_NOARGS,
     "cancelled()\n--\n\n"
     "True once the run the calling thread works for was\n"
     "cancelled: inside a graph node's Python code, in a job that such a node\n"
     "submitted and in the work those spawned, at any depth (for a node of a\n"
     "subgraph, the subgraph's run, which cancelling its parent cancels).\n"
     "False outside every run (the main thread, jobs submitted from outside\n"
     "a run). weft_run_cancelled(weft_current_run()) in C; Lua's\n"
     "weft.cancelled() gives the same answer. A long node polls it and\n"
     "returns early."},
    {NULL, NULL, 0, NULL}};

int wpy_add_functions(PyObject *m, PyMethodDef *defs) {
    for (PyMethodDef *d = defs; d->ml_name; d++) {
        PyObject *f = PyCFunction_New(d, NULL);
        if (!f || PyModule_AddObject(m, d->ml_name, f) < 0) {
            Py_XDECREF(f);
            return -1;
        }
    }
    return 0;
}

int wpy_common_init(PyObject *m) {
    if (!tstate_key_made) {
        if (pthread_key_create(&tstate_key, thread_gone) != 0) {
            PyErr_SetString(PyExc_RuntimeError, "weft: pthread_key_create failed");
            return -1;
        }
        tstate_key_made = 1;
    }
    return wpy_add_functions(m, common_methods);
}
