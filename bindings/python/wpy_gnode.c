/* wpy_gnode.c: Python graph nodes that may run in worker processes and on
 * weftd nodes (Graph.add_remote).
 *
 * Such a node is an ordinary named-task node of task "weft.py" whose
 * argument is a *graph payload*:
 *
 *     b"WFN1"  u8 flags (1: pass the inputs)  3 zero bytes
 *     the call's weft._code payload (b"WFT1" ..., always with its code)
 *
 * so a graph file and weft_cluster_executor carry it as they carry any
 * named task, and weft_node_input gives it its predecessors' bytes.
 *
 * Result bytes (one rule for every Python graph node whose bytes another
 * node may read, weft._code.node_value_bytes): a non-empty bytes value
 * that does not begin with b"WFR1" is stored as is (a C successor reads
 * it unchanged); any other value is stored as weft._code's result frame
 * (b"WFR1" ...). node_value decodes that rule back (a frame gives its
 * value, other bytes are bytes, none is None), so Python successors and
 * run.result() get the value the function returned.
 *
 * Where it runs, the node function is this file's gnode_run:
 * - in this process (a Runtime on threads, or a node placed "local"): the
 *   "weft.py" task registered at import runs it;
 * - in a worker process (weft._procworker): wpy_procs.c's "weft.py" hands
 *   graph payloads here;
 * - on weftd --python: weftd's forwarder wraps the payload and the node's
 *   inputs into one job argument, b"WFI1" + an input frame (the layout of
 *   dist/PROTOCOL.md 5.1: u32 n, u64 argument length, n u64 input
 *   lengths, the argument, the inputs), since a job submitted through the
 *   public API carries no inputs; the worker answers it as a job (a status
 *   byte, then the output; node status 0), and the forwarder turns that
 *   into the node's outcome.
 *
 * Outcome of a graph node: status 0 stores the value's bytes; otherwise
 * the node fails (WEFT_ETASK) and its result bytes are the status byte and
 * the report (1: weft._worker's pickled failure report; 4: "CODE MESSAGE"
 * of a weft error), which the cluster brings back with the failure, so
 * that run.result() and raise_for_failure() show the remote exception.
 * Graph payloads always carry their code: a worker never answers status 2
 * (the code is missing) for them. */
#include "wpy.h"

#include <stdlib.h>
#include <string.h>

#define GN_TASK "weft.py"
#define GN_HEAD 8
#define ST_WEFT_ERROR 4

static PyObject *hook_run_node; /* weft._worker.run_node(payload, inputs) -> (status, out) */
static PyObject *hook_value;    /* weft._code.node_value(bytes or None) -> value */
static PyObject *hook_bytes;    /* weft._code.node_value_bytes(value) -> bytes */

/* Imports module.name once into *slot. 0, or -1 with an exception. */
static int hook(PyObject **slot, const char *module, const char *name) {
    if (*slot) return 0;
    PyObject *m = PyImport_ImportModule(module);
    if (!m) return -1;
    *slot = PyObject_GetAttrString(m, name);
    Py_DECREF(m);
    return *slot ? 0 : -1;
}

int wpy_gnode_is_payload(const void *arg, size_t len) {
    return arg && len >= GN_HEAD && memcmp(arg, "WFN1", 4) == 0;
}

static int is_wrapped(const void *arg, size_t len) {
    return arg && len >= 16 && memcmp(arg, "WFI1", 4) == 0;
}

PyObject *wpy_gnode_value(const void *data, size_t len) {
    if (hook(&hook_value, "weft._code", "node_value") < 0) return NULL;
    if (!data) return PyObject_CallOneArg(hook_value, Py_None);
    PyObject *b = PyBytes_FromStringAndSize(data, (Py_ssize_t)len);
    if (!b) return NULL;
    PyObject *v = PyObject_CallOneArg(hook_value, b);
    Py_DECREF(b);
    return v;
}

int wpy_gnode_publish(weft_node_ctx_t *ctx, PyObject *value) {
    if (hook(&hook_bytes, "weft._code", "node_value_bytes") < 0) return -1;
    PyObject *b = PyObject_CallOneArg(hook_bytes, value);
    if (!b) return -1;
    if (!PyBytes_Check(b)) {
        Py_DECREF(b);
        PyErr_SetString(PyExc_TypeError, "node_value_bytes must return bytes");
        return -1;
    }
    int rc = weft_node_set_result(ctx, PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b));
    Py_DECREF(b);
    if (rc) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* The inputs of a wrapped job argument ("WFI1" + an input frame): the
 * graph payload in *arg, the inputs appended to list as bytes (None for
 * an empty one). 0, or -1 with an exception. */
static int unwrap(const unsigned char *w, size_t len, const void **arg, size_t *arg_len,
                  PyObject *list) {
    const unsigned char *f = w + 4;
    size_t flen = len - 4;
    uint32_t n = (uint32_t)f[0] | (uint32_t)f[1] << 8 | (uint32_t)f[2] << 16 | (uint32_t)f[3] << 24;
    if (flen < 12 || n > (flen - 12) / 8) goto bad;
    size_t head = 12 + (size_t)n * 8, left = flen - head;
    uint64_t al = get64(f + 4);
    if (al > left) goto bad;
    left -= (size_t)al;
    const unsigned char *at = f + head + al;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t k = get64(f + 12 + (size_t)i * 8);
        if (k > left) goto bad;
        PyObject *x = k ? PyBytes_FromStringAndSize((const char *)at, (Py_ssize_t)k)
                        : Py_NewRef(Py_None);
        if (!x || PyList_Append(list, x) < 0) {
            Py_XDECREF(x);
            return -1;
        }
        Py_DECREF(x);
        at += k;
        left -= (size_t)k;
    }
    if (left) goto bad;
    *arg = f + head;
    *arg_len = (size_t)al;
    return 0;
bad:
    PyErr_SetString(PyExc_ValueError, "weft: a malformed WFI1 input frame");
    return -1;
}

/* Stores status byte + out (a buffer object) as the result. */
static int store(weft_node_ctx_t *ctx, int status, const void *out, size_t n, int with_status) {
    if (!with_status) return weft_node_set_result(ctx, out, n);
    char *buf = malloc(n + 1);
    if (!buf) return WEFT_ENOMEM;
    buf[0] = (char)status;
    if (n) memcpy(buf + 1, out, n);
    int rc = weft_node_set_result(ctx, buf, n + 1);
    free(buf);
    return rc;
}

/* Runs a graph payload (plain, or wrapped with its inputs). Called
 * without the GIL, on the thread running the node. A plain payload gives
 * the node's outcome (0, or WEFT_ETASK with the report stored); a wrapped
 * one answers as a job (status byte first, always 0). */
int wpy_gnode_run(weft_node_ctx_t *ctx, const void *arg, size_t len) {
    if (wpy_finalizing()) return WEFT_ECANCELED;
    int wrapped = is_wrapped(arg, len);
    PyGILState_STATE st = wpy_gil_ensure();
    int rc = 0, status = -1;
    Py_buffer out = {0};
    int have_out = 0;
    PyObject *r = NULL, *mv = NULL;
    PyObject *inputs = PyList_New(0);
    if (!inputs) goto failed;
    if (wrapped) {
        if (unwrap(arg, len, &arg, &len, inputs) < 0) goto failed;
    } else {
        size_t ni = weft_node_input_count(ctx);
        for (size_t i = 0; i < ni; i++) {
            size_t n = 0;
            const void *d = weft_node_input(ctx, i, &n);
            PyObject *x = d && n ? PyBytes_FromStringAndSize(d, (Py_ssize_t)n) : Py_NewRef(Py_None);
            if (!x || PyList_Append(inputs, x) < 0) {
                Py_XDECREF(x);
                goto failed;
            }
            Py_DECREF(x);
        }
    }
    if (hook(&hook_run_node, "weft._worker", "run_node") < 0) goto failed;
    mv = PyMemoryView_FromMemory((char *)(arg ? arg : ""), (Py_ssize_t)len, PyBUF_READ);
    if (!mv) goto failed;
    r = PyObject_CallFunctionObjArgs(hook_run_node, mv, inputs, NULL);
    {
        /* the bytes belong to the node: no view may outlive the call */
        PyObject *rel = PyObject_CallMethod(mv, "release", NULL);
        if (!rel) PyErr_Clear();
        Py_XDECREF(rel);
    }
    if (r && PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 2) {
        long s = PyLong_AsLong(PyTuple_GET_ITEM(r, 0));
        if (s == -1 && PyErr_Occurred()) PyErr_Clear();
        else if (s >= 0 && s <= 255 &&
                 PyObject_GetBuffer(PyTuple_GET_ITEM(r, 1), &out, PyBUF_SIMPLE) == 0) {
            have_out = 1;
            status = (int)s;
        } else {
            PyErr_Clear();
        }
    }
    if (!have_out) goto failed;
    rc = store(ctx, status, out.buf, (size_t)out.len, wrapped || status != 0);
    if (!rc && status != 0 && !wrapped) rc = WEFT_ETASK;
    goto done;
failed: {
    char msg[400];
    if (PyErr_Occurred()) {
        PyObject *e = wpy_fetch_exception(), *s = PyObject_Str(e);
        const char *t = s ? PyUnicode_AsUTF8(s) : NULL;
        snprintf(msg, sizeof msg, "%d weft.py could not run the graph node: %.100s: %.250s",
                 WEFT_ETASK, Py_TYPE(e)->tp_name, t ? t : "?");
        if (!t) PyErr_Clear();
        Py_XDECREF(s);
        Py_DECREF(e);
    } else {
        snprintf(msg, sizeof msg, "%d weft._worker.run_node returned no (status, bytes)",
                 WEFT_ETASK);
    }
    rc = store(ctx, ST_WEFT_ERROR, msg, strlen(msg), 1);
    if (!rc && !wrapped) rc = WEFT_ETASK;
}
done:
    if (have_out) PyBuffer_Release(&out);
    Py_XDECREF(r);
    Py_XDECREF(mv);
    Py_XDECREF(inputs);
    wpy_gil_release(st);
    return rc;
}

/* "weft.py" in a process that is not a worker: graph payloads only. */
static int local_task_fn(weft_node_ctx_t *ctx, void *unused) {
    (void)unused;
    size_t len = 0;
    const void *arg = weft_node_arg(ctx, &len);
    if (wpy_gnode_is_payload(arg, len)) return wpy_gnode_run(ctx, arg, len);
    char msg[160];
    int n = snprintf(msg, sizeof msg, "%c%d weft.py in this process runs Python graph nodes "
                     "(Graph.add_remote) only: not a graph payload", ST_WEFT_ERROR, WEFT_EINVAL);
    weft_node_set_result(ctx, msg, n > 0 && (size_t)n < sizeof msg ? (size_t)n : 0);
    return WEFT_EINVAL;
}

int wpy_gnode_init(PyObject *m) {
    (void)m;
    /* an earlier registration (a worker process's, or the user's) wins */
    if (weft_task_lookup(GN_TASK, NULL, NULL) == 0) return 0;
    int rc = weft_task_register(GN_TASK, local_task_fn, NULL);
    if (rc && rc != WEFT_EEXIST) {
        wpy_raise(rc, "cannot register the task weft.py");
        return -1;
    }
    return 0;
}
