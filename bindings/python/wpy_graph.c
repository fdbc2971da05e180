/* wpy_graph.c: weft task graphs for Python.
 *
 * A GraphCore (wpy_graph) wraps a weft graph and keeps, beside it, what the
 * C graph cannot hold: for each "call" node (a Python callable), the
 * callable, its arguments and its predecessors in edge order (the order in
 * which weft_node_input numbers a node's inputs, duplicates included).
 * "task" nodes run a registered task (weft_graph_add_task): a C function, or
 * a Python function registered with register_task; they exchange bytes.
 *
 * A call node runs fn(*args, *inputs): inputs are its predecessors'
 * results in edge order: the Python object a call node returned, the bytes
 * a task node stored (None when it stored none). A call node that feeds a
 * task node also stores its result as bytes (for bytes-like and str
 * results) so that the C task can read it.
 *
 * "remote" nodes (Graph.add_remote) are task nodes of task "weft.py"
 * whose argument is an encoded Python call (wpy_gnode.c): they run here,
 * in worker processes or on weftd nodes, and their result bytes hold a
 * Python value (wpy_gnode_publish's rule), decoded for call-node
 * successors and results (wpy_gnode_value); a call node that feeds one
 * stores its own result by that rule too, so that the value travels.
 * A run on a Runtime with processes or nodes has that engine's cluster
 * as its executor (every named-task node not placed "local" goes there).
 *
 * Runs: a RunCore (wpy_run) owns the weft run record plus the Python
 * results and exceptions of the call nodes. Runs of one graph may overlap
 * (weft gives each its own record). Call nodes find their storage by the
 * record weft hands them (weft_node_run): the latest run started (a
 * pointer compare), else through run_map, where every top-level run is
 * entered too. The graph lists its runs not yet seen complete, to refuse
 * changes while any goes. Each run record holds a reference on its graph
 * (a C count, under the GIL), so a graph is freed only after its runs,
 * whatever order Python drops them in.
 *
 * Subgraph nodes (weft_graph_add_subgraph) hold a reference on the
 * subgraph's GraphCore, which lists its parents (to refuse changes while a
 * graph running it runs). A subgraph runs with a run record of its own,
 * owned by the parent's; its Python nodes find their storage by that record
 * (weft_node_run): one made on first use in run_map and freed with the
 * top run (subs_drop). A subgraph node's
 * result is the tuple of its subgraph's sink results (sub_result).
 *
 * A call node takes the GIL (wpy_gil_ensure) for exactly the time it runs
 * Python code; task nodes in C never touch it, and the thread that waits
 * for a run releases it, waking every 50 ms to check for signals. */
#include "wpy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WPY_RUN_SLICE_S 0.05

typedef struct wpy_gnode {
    PyObject *fn;     /* call node: the callable; NULL for a task node */
    PyObject *args;   /* call node: a tuple */
    uint32_t *preds;  /* call node: predecessors in edge order */
    uint32_t npreds, cap;
    int inputs;       /* call node: predecessors' results are passed */
    int feeds_task;   /* has a task-node successor: bytes results are stored */
    int py;           /* a "weft.py" task node (Graph.add_remote, wpy_gnode.c):
                         its result bytes hold a Python value */
    int feeds_py;     /* call node: has such a successor: its result is stored
                         by wpy_gnode_publish's rule */
    wpy_graph *sub;   /* subgraph node: the graph it runs (holds a reference) */
    uint32_t nsuccs;  /* edges out of the node: a sink has none */
} wpy_gnode;

struct wpy_graph {
    weft_graph_t *g;
    Py_ssize_t refs; /* the Python object, plus one per run record */
    wpy_gnode *nodes;
    size_t n, cap;
    wpy_run *active;   /* the latest top-level run started: looked up first */
    wpy_run *inflight; /* top-level runs not yet seen complete */
    wpy_graph *prev, *next; /* every live graph, for register_task errors */
    wpy_graph **parents;    /* graphs with a subgraph node running this one,
                               one entry per such node (not references) */
    size_t nparents, pcap;
    size_t nsubs;           /* subgraph nodes of this graph */
    wpy_graph *owner;       /* an inner graph of a loaded file: the loaded
                               graph whose weft graph owns this one's */
    unsigned long mark;     /* graph walks */
};

struct wpy_run {
    weft_run_t *r;      /* a subgraph's run: owned by its parent run */
    wpy_graph *G;
    wpy_run *root;      /* a subgraph's run: the top run (set once handed out) */
    int is_sub;         /* the storage of a subgraph's run (see sub_storage) */
    int listed;         /* a top-level run in G->inflight */
    wpy_run *iprev, *inext;
    int mapped;         /* a top-level run entered in run_map */
    Py_ssize_t refs;    /* a top run: its Python proxies, its subruns' included */
    size_t n;
    PyObject **results; /* call nodes' results */
    PyObject **excs;    /* exceptions of failed Python nodes */
    PyObject *progress; /* callable or NULL */
    PyObject *progress_exc;
    int complete;       /* a wait saw it complete */
    int rc;             /* then: its outcome */
};

static wpy_graph *live_graphs; /* GIL */

/* Storage of runs by record: {weft_run_t address: capsule of wpy_run}. A
 * subgraph's run gets its entry from its first Python node (weft gives the
 * node its run record, weft_node_run), freed with the top run that owns
 * the record; a top-level run is entered when it starts and leaves with its
 * record. Entries go before their records do: addresses are not reused
 * while an entry lives. */
static PyObject *run_map; /* GIL */

static void run_free(wpy_run *R);

/* ------------------------------------------------------------------ */
/* helpers                                                             */

/* Argument bytes from bytes-like objects or str (UTF-8); None is empty.
 * Fills view (release with PyBuffer_Release when view->obj is set). */
static int get_bytes(PyObject *o, Py_buffer *view, const char *what) {
    memset(view, 0, sizeof *view);
    if (!o || o == Py_None) return 0;
    if (PyUnicode_Check(o)) {
        Py_ssize_t len;
        const char *s = PyUnicode_AsUTF8AndSize(o, &len);
        if (!s) return -1;
        view->buf = (void *)s;
        view->len = len;
        return 0;
    }
    if (PyObject_GetBuffer(o, view, PyBUF_SIMPLE) < 0) {
        PyErr_Format(PyExc_TypeError, "%s must be bytes, a bytes-like object, str or None, not %.100s",
                     what, Py_TYPE(o)->tp_name);
        return -1;
    }
    return 0;
}

static int node_arg(size_t n, PyObject *o, weft_node_t *v) {
    if (!PyLong_Check(o) || PyBool_Check(o)) {
        PyErr_Format(PyExc_TypeError, "a node must be a weft.Node or its id (an int), not %.100s",
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    long long x = PyLong_AsLongLong(o);
    if (x == -1 && PyErr_Occurred()) return -1;
    if (x < 0 || (unsigned long long)x >= n) {
        char msg[96];
        snprintf(msg, sizeof msg, "no node %lld in this graph (it has %zu)", x, n);
        wpy_raise(WEFT_EINVAL, msg);
        return -1;
    }
    *v = (weft_node_t)x;
    return 0;
}

static const char *name_arg(PyObject *name, int *err) {
    *err = 0;
    if (!name || name == Py_None) return NULL;
    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError, "a node name must be a str or None, not %.100s",
                     Py_TYPE(name)->tp_name);
        *err = 1;
        return NULL;
    }
    const char *s = PyUnicode_AsUTF8(name);
    if (!s) *err = 1;
    return s;
}

/* The text a _buf writer (weft_buf_t) made, as str, the buffer freed;
 * rc its return: on failure raises, with detail when given, else weft's
 * detail message. */
/* A result for a task node to read: bytes-like or str; 0 if not stored. */
static void publish_bytes(weft_node_ctx_t *ctx, PyObject *res) {
    Py_buffer view;
    if (res == Py_None || (!PyUnicode_Check(res) && !PyObject_CheckBuffer(res))) return;
    if (get_bytes(res, &view, "a result") < 0) {
        PyErr_Clear();
        return;
    }
    weft_node_set_result(ctx, view.buf, (size_t)view.len);
    if (view.obj) PyBuffer_Release(&view);
}

static PyObject *bytes_or_none(const void *data, size_t len) {
    if (!data) Py_RETURN_NONE;
    return PyBytes_FromStringAndSize(data, (Py_ssize_t)len);
}

/* ------------------------------------------------------------------ */
/* runs' storage, subgraph runs                                        */

static void graph_unref(wpy_graph *G);

/* A reference from outside G's family (a Python object, a run): for the
 * inner graph of a loaded file it holds the file's top graph too, whose
 * weft graph owns this one's. References between the family's graphs
 * (subgraph nodes) are plain counts, so the family has no cycle. */
static void graph_hold(wpy_graph *G) {
    G->refs++;
    if (G->owner) G->owner->refs++;
}

static void graph_release(wpy_graph *G) {
    wpy_graph *owner = G->owner;
    graph_unref(G);
    if (owner) graph_unref(owner);
}

/* A run's storage for graph G (a reference on G). NULL with an exception. */
static wpy_run *run_alloc(wpy_graph *G) {
    wpy_run *R = PyMem_Calloc(1, sizeof *R);
    if (!R) {
        PyErr_NoMemory();
        return NULL;
    }
    R->n = G->n;
    R->results = PyMem_Calloc(R->n ? R->n : 1, sizeof *R->results);
    R->excs = PyMem_Calloc(R->n ? R->n : 1, sizeof *R->excs);
    R->G = G;
    graph_hold(G);
    if (!R->results || !R->excs) {
        run_free(R);
        PyErr_NoMemory();
        return NULL;
    }
    return R;
}

/* The storage of subgraph run wr, or NULL in *out if none was made.
 * Returns -1 with an exception on error. */
static int sub_find(weft_run_t *wr, wpy_run **out) {
    *out = NULL;
    if (!run_map) return 0;
    PyObject *k = PyLong_FromVoidPtr(wr);
    if (!k) return -1;
    PyObject *c = PyDict_GetItemWithError(run_map, k);
    Py_DECREF(k);
    if (!c) return PyErr_Occurred() ? -1 : 0;
    *out = PyCapsule_GetPointer(c, "weft.run");
    return *out ? 0 : -1;
}

/* The storage of run wr of graph G running as a subgraph, made on first
 * use. NULL with an exception. */
static wpy_run *sub_storage(wpy_graph *G, weft_run_t *wr) {
    wpy_run *S;
    if (sub_find(wr, &S) < 0) return NULL;
    if (S) return S;
    if (!run_map && !(run_map = PyDict_New())) return NULL;
    if (!(S = run_alloc(G))) return NULL;
    S->r = wr;
    S->is_sub = 1;
    PyObject *k = PyLong_FromVoidPtr(wr);
    PyObject *c = k ? PyCapsule_New(S, "weft.run", NULL) : NULL;
    int rc = c ? PyDict_SetItem(run_map, k, c) : -1;
    Py_XDECREF(k);
    Py_XDECREF(c);
    if (rc < 0) {
        run_free(S);
        return NULL;
    }
    return S;
}

/* Frees the storage of every subgraph run under run wr of graph G (before
 * the top run record, which owns those records, is freed). Keeps any
 * exception already set. */
static void subs_drop(wpy_graph *G, weft_run_t *wr) {
    if (!G->nsubs || !run_map) return;
    for (size_t u = 0; u < G->n; u++) {
        wpy_graph *sub = G->nodes[u].sub;
        weft_run_t *s;
        if (!sub || weft_run_subrun(wr, (weft_node_t)u, &s) != 0) continue;
        subs_drop(sub, s);
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        wpy_run *S = NULL;
        PyObject *k = PyLong_FromVoidPtr(s);
        if (k && sub_find(s, &S) == 0 && S && PyDict_DelItem(run_map, k) == 0) run_free(S);
        Py_XDECREF(k);
        PyErr_Clear();
        PyErr_Restore(et, ev, tb);
    }
}

static PyObject *sub_result(wpy_graph *G, weft_run_t *wr, weft_node_t p);

/* Node v's result in the complete run wr of G (S: its storage, may be
 * NULL): the object a call node returned, the subgraph's sinks for a
 * subgraph node, the bytes a task node stored (or None). */
static PyObject *node_result(wpy_graph *G, weft_run_t *wr, wpy_run *S, weft_node_t v) {
    if (G->nodes[v].fn) return Py_NewRef(S && v < S->n && S->results[v] ? S->results[v] : Py_None);
    if (G->nodes[v].sub) return sub_result(G, wr, v);
    const void *d;
    size_t len;
    int rc = weft_run_result(wr, v, &d, &len);
    if (rc) return wpy_raise(rc, rc == WEFT_EBUSY    ? "the run is still going: wait for it"
                                 : rc == WEFT_ESTALE ? "the graph changed since this run"
                                                     : NULL);
    if (G->nodes[v].py && weft_run_node_status(wr, v) == WEFT_NODE_DONE)
        return wpy_gnode_value(d, len);
    return bytes_or_none(d, len);
}

/* What subgraph node p of G gives in run wr (to its successors and as its
 * result): a tuple of the results of its subgraph's sink nodes (those
 * without successors), in node order. */
static PyObject *sub_result(wpy_graph *G, weft_run_t *wr, weft_node_t p) {
    weft_run_t *s;
    int rc = weft_run_subrun(wr, p, &s);
    if (rc) return wpy_raise(rc, rc == WEFT_ENOENT ? "the subgraph node did not run" : NULL);
    wpy_graph *sub = G->nodes[p].sub;
    weft_run_counts_t c;
    if ((rc = weft_run_counts(s, &c)))
        return wpy_raise(rc, rc == WEFT_ESTALE ? "the subgraph changed since this run" : NULL);
    wpy_run *S;
    if (sub_find(s, &S) < 0) return NULL;
    size_t n = c.total < sub->n ? (size_t)c.total : sub->n, k = 0;
    for (size_t v = 0; v < n; v++) k += sub->nodes[v].nsuccs == 0;
    PyObject *t = PyTuple_New((Py_ssize_t)k);
    if (!t) return NULL;
    k = 0;
    for (size_t v = 0; v < n; v++) {
        if (sub->nodes[v].nsuccs) continue;
        PyObject *x = node_result(sub, s, S, (weft_node_t)v);
        if (!x) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)k++, x);
    }
    return t;
}

/* ------------------------------------------------------------------ */
/* node functions (worker threads; GIL not held on entry)              */

static int call_node_fn(weft_node_ctx_t *ctx, void *arg) {
    wpy_graph *G = arg;
    weft_node_t v = weft_node_id(ctx);
    if (wpy_finalizing()) return WEFT_ECANCELED;
    PyGILState_STATE st = wpy_gil_ensure();
    weft_run_t *wr = weft_node_run(ctx);
    wpy_run *R = G->active;
    if (!R || R->r != wr) { /* an earlier run, or G runs as a subgraph */
        if (!(R = sub_storage(G, wr))) {
            PyErr_Clear();
            wpy_gil_release(st);
            return WEFT_ENOMEM;
        }
    }
    wpy_gnode *nd = &G->nodes[v]; /* not used once Python code has run */
    PyObject *fn = Py_NewRef(nd->fn), *args = Py_NewRef(nd->args);
    Py_ssize_t na = PyTuple_GET_SIZE(args);
    size_t ni = nd->inputs ? weft_node_input_count(ctx) : 0;
    if (ni > nd->npreds) ni = nd->npreds; /* equal by construction */
    size_t total = (size_t)na + ni;
    PyObject *small[16], **argv = small;
    int code = 0;
    if (total > 16 && !(argv = PyMem_Malloc(total * sizeof *argv))) {
        PyErr_NoMemory();
        goto failed;
    }
    for (Py_ssize_t i = 0; i < na; i++) argv[i] = PyTuple_GET_ITEM(args, i);
    size_t made = 0;
    for (; made < ni; made++) {
        uint32_t p = nd->preds[made];
        PyObject *in;
        if (G->nodes[p].fn) {
            in = R->results[p] ? R->results[p] : Py_None;
            Py_INCREF(in);
        } else if (G->nodes[p].sub) {
            if (!(in = sub_result(G, wr, p))) break;
        } else {
            size_t len;
            const void *data = weft_node_input(ctx, made, &len);
            in = G->nodes[p].py ? wpy_gnode_value(data, len) : bytes_or_none(data, len);
            if (!in) break;
        }
        argv[na + made] = in;
    }
    PyObject *res = made == ni ? PyObject_Vectorcall(fn, argv, total, NULL) : NULL;
    for (size_t i = 0; i < made; i++) Py_DECREF(argv[na + i]);
    if (argv != small) PyMem_Free(argv);
    if (res && G->nodes[v].feeds_py && wpy_gnode_publish(ctx, res) < 0) Py_CLEAR(res);
    else if (res && G->nodes[v].feeds_task) publish_bytes(ctx, res);
    if (res) {
        Py_XSETREF(R->results[v], res);
        goto out;
    }
failed:
    code = WEFT_ETASK;
    Py_XSETREF(R->excs[v], wpy_fetch_exception());
out:
    Py_DECREF(fn);
    Py_DECREF(args);
    wpy_gil_release(st);
    return code;
}

/* A Python function registered as a named task: fn(arg, *inputs) with
 * bytes (None for an input that stored nothing); returns bytes, str or
 * None. */
static int py_task_fn(weft_node_ctx_t *ctx, void *arg) {
    if (wpy_finalizing()) return WEFT_ECANCELED;
    PyGILState_STATE st = wpy_gil_ensure();
    PyObject *fn = arg;
    size_t ni = weft_node_input_count(ctx), alen;
    const void *a = weft_node_arg(ctx, &alen);
    PyObject *argl = PyList_New(0);
    int code = 0;
    PyObject *res = NULL;
    if (argl) {
        PyObject *x = PyBytes_FromStringAndSize(a ? a : "", (Py_ssize_t)alen);
        int ok = x && PyList_Append(argl, x) == 0;
        Py_XDECREF(x);
        for (size_t i = 0; ok && i < ni; i++) {
            size_t len;
            const void *d = weft_node_input(ctx, i, &len);
            x = bytes_or_none(d, len);
            ok = x && PyList_Append(argl, x) == 0;
            Py_XDECREF(x);
        }
        if (ok) {
            PyObject *t = PyList_AsTuple(argl);
            if (t) {
                res = PyObject_Call(fn, t, NULL);
                Py_DECREF(t);
            }
        }
        Py_DECREF(argl);
    }
    if (res && res != Py_None) {
        Py_buffer view;
        if (get_bytes(res, &view, "a registered task's result") == 0) {
            if (weft_node_set_result(ctx, view.buf, (size_t)view.len) != 0)
                PyErr_NoMemory();
            if (view.obj) PyBuffer_Release(&view);
        }
        if (PyErr_Occurred()) Py_CLEAR(res);
    }
    if (!res) {
        code = WEFT_ETASK;
        PyObject *exc = wpy_fetch_exception();
        weft_graph_t *g = weft_node_graph(ctx);
        wpy_graph *G = live_graphs;
        while (G && G->g != g) G = G->next;
        weft_node_t v = weft_node_id(ctx);
        weft_run_t *wr = weft_node_run(ctx);
        wpy_run *R = G ? G->active : NULL;
        if (G && (!R || R->r != wr) && !(R = sub_storage(G, wr))) PyErr_Clear();
        if (R && v < R->n) {
            Py_XSETREF(R->excs[v], exc);
        } else { /* a graph made in C: nowhere to keep it, so show it */
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            PyErr_WriteUnraisable(fn);
            Py_DECREF(exc);
        }
    } else {
        Py_DECREF(res);
    }
    wpy_gil_release(st);
    return code;
}

/* ------------------------------------------------------------------ */
/* graphs                                                              */

static wpy_graph *graph_wrap(weft_graph_t *g) {
    wpy_graph *G = PyMem_Calloc(1, sizeof *G);
    if (!G) {
        PyErr_NoMemory();
        return NULL;
    }
    G->g = g;
    G->refs = 1;
    G->next = live_graphs;
    if (live_graphs) live_graphs->prev = G;
    live_graphs = G;
    return G;
}

/* Room for one more node in the mirror. */
static int graph_reserve(wpy_graph *G) {
    if (G->n < G->cap) return 0;
    size_t cap = G->cap ? G->cap * 2 : 16;
    wpy_gnode *nn = PyMem_Realloc(G->nodes, cap * sizeof *nn);
    if (!nn) {
        PyErr_NoMemory();
        return -1;
    }
    memset(nn + G->cap, 0, (cap - G->cap) * sizeof *nn);
    G->nodes = nn;
    G->cap = cap;
    return 0;
}

static int run_busy(wpy_run *R);

static void inflight_unlink(wpy_run *R) {
    if (!R->listed) return;
    if (R->iprev) R->iprev->inext = R->inext;
    else R->G->inflight = R->inext;
    if (R->inext) R->inext->iprev = R->iprev;
    R->iprev = R->inext = NULL;
    R->listed = 0;
}

/* Is a top-level run of G in flight? Drops the runs found complete, so the
 * list holds only runs that may still go. */
static int graph_running(wpy_graph *G) {
    for (wpy_run *R = G->inflight, *next; R; R = next) {
        next = R->inext;
        if (run_busy(R)) return 1;
        inflight_unlink(R);
    }
    return 0;
}

/* Refuses changes while a run is in flight, before the mirror is touched
 * (weft would refuse them too, but only after the mirror had grown, and
 * running nodes read it). */
/* Is a graph that runs G as a subgraph (at any depth) running? */
static unsigned long walk_mark;
static int parent_running(wpy_graph *G, unsigned long m) {
    for (size_t i = 0; i < G->nparents; i++) {
        wpy_graph *P = G->parents[i];
        if (P->mark == m) continue;
        P->mark = m;
        if (graph_running(P) || parent_running(P, m)) return 1;
    }
    return 0;
}

static int graph_changeable(wpy_graph *G) {
    if (graph_running(G)) {
        wpy_raise(WEFT_EBUSY, "the graph is running");
        return -1;
    }
    if (G->nparents && parent_running(G, ++walk_mark)) {
        wpy_raise(WEFT_EBUSY, "a graph that runs it as a subgraph is running");
        return -1;
    }
    return 0;
}

static void graph_unref(wpy_graph *G) {
    if (--G->refs > 0) return;
    /* no run record is left: it cannot be running; no parent is left: each
     * holds a reference. An inner graph of a file is freed with its owner's
     * weft graph, which is freed first (the owner goes first or with it). */
    if (!G->owner) weft_graph_free(G->g);
    for (size_t i = 0; i < G->n; i++) {
        Py_CLEAR(G->nodes[i].fn);
        Py_CLEAR(G->nodes[i].args);
        PyMem_Free(G->nodes[i].preds);
        wpy_graph *sub = G->nodes[i].sub;
        if (sub) { /* one entry of G goes from sub's parents */
            for (size_t k = 0; k < sub->nparents; k++)
                if (sub->parents[k] == G) {
                    sub->parents[k] = sub->parents[--sub->nparents];
                    break;
                }
            graph_unref(sub);
        }
    }
    PyMem_Free(G->nodes);
    PyMem_Free(G->parents);
    if (G->prev) G->prev->next = G->next;
    else live_graphs = G->next;
    if (G->next) G->next->prev = G->prev;
    PyMem_Free(G);
}

wpy_graph *new_wpy_graph(const char *name) {
    weft_graph_t *g;
    int rc = weft_graph_create(name, &g);
    if (rc) {
        wpy_raise(rc, "cannot create the graph");
        return NULL;
    }
    wpy_graph *G = graph_wrap(g);
    if (!G) weft_graph_free(g);
    return G;
}

void delete_wpy_graph(wpy_graph *G) {
    if (G) graph_release(G);
}

static PyObject *added(wpy_graph *G, int rc, weft_node_t id, PyObject *fn, PyObject *args) {
    if (rc) return wpy_raise(rc, rc == WEFT_EBUSY ? "the graph is running" : "cannot add the node");
    /* ids are consecutive: the mirror's next slot is this node's */
    wpy_gnode *nd = &G->nodes[G->n++];
    memset(nd, 0, sizeof *nd);
    nd->fn = fn ? Py_NewRef(fn) : NULL;
    nd->args = args ? Py_NewRef(args) : NULL;
    return PyLong_FromUnsignedLong(id);
}

PyObject *wpy_graph_add_call(wpy_graph *G, PyObject *name, PyObject *fn, PyObject *args,
                             int inputs) {
    int err;
    const char *cname = name_arg(name, &err);
    if (err) return NULL;
    if (!PyCallable_Check(fn))
        return PyErr_Format(PyExc_TypeError, "a node's function must be callable, not %.100s",
                            Py_TYPE(fn)->tp_name);
    if (!PyTuple_Check(args))
        return PyErr_Format(PyExc_TypeError, "a node's arguments must be a tuple");
    if (graph_changeable(G) < 0 || graph_reserve(G) < 0) return NULL;
    weft_node_t id;
    int rc = weft_graph_add(G->g, cname, call_node_fn, G, &id);
    PyObject *r = added(G, rc, id, fn, args);
    if (r) G->nodes[id].inputs = inputs != 0;
    return r;
}

PyObject *wpy_graph_add_task(wpy_graph *G, PyObject *name, const char *task, PyObject *arg) {
    int err;
    const char *cname = name_arg(name, &err);
    if (err) return NULL;
    if (!task || !*task) return wpy_raise(WEFT_EINVAL, "a task name must not be empty");
    Py_buffer view;
    if (graph_changeable(G) < 0) return NULL;
    if (get_bytes(arg, &view, "a task's argument") < 0) return NULL;
    PyObject *r = NULL;
    if (graph_reserve(G) == 0) {
        weft_node_t id;
        int rc = weft_graph_add_task(G->g, cname, task, view.buf, (size_t)view.len, &id);
        r = added(G, rc, id, NULL, NULL);
        if (r) G->nodes[id].py = strcmp(task, "weft.py") == 0;
    }
    if (view.obj) PyBuffer_Release(&view);
    return r;
}

/* Room for one more parent of sub. -1 with an exception. */
static int parents_reserve(wpy_graph *sub) {
    if (sub->nparents < sub->pcap) return 0;
    size_t cap = sub->pcap ? sub->pcap * 2 : 4;
    wpy_graph **p = PyMem_Realloc(sub->parents, cap * sizeof *p);
    if (!p) {
        PyErr_NoMemory();
        return -1;
    }
    sub->parents = p;
    sub->pcap = cap;
    return 0;
}

/* Node v of G runs sub (room for the parent entry was reserved). */
static void link_sub(wpy_graph *G, weft_node_t v, wpy_graph *sub) {
    G->nodes[v].sub = sub;
    sub->refs++;
    sub->parents[sub->nparents++] = G;
    G->nsubs++;
}

PyObject *wpy_graph_add_subgraph(wpy_graph *G, PyObject *name, wpy_graph *sub) {
    int err;
    const char *cname = name_arg(name, &err);
    if (err) return NULL;
    if (!sub) return PyErr_Format(PyExc_TypeError, "a subgraph must be a weft.Graph");
    if (sub == G) return wpy_raise(WEFT_EINVAL, "a graph cannot be a subgraph of itself");
    if (graph_changeable(G) < 0 || graph_reserve(G) < 0 || parents_reserve(sub) < 0) return NULL;
    weft_node_t id;
    int rc = weft_graph_add_subgraph(G->g, cname, sub->g, &id);
    if (rc == WEFT_ECYCLE) {
        char msg[2 * WEFT_NAME_MAX + 128];
        snprintf(msg, sizeof msg,
                 "graph '%s' already contains graph '%s' (through its subgraphs): "
                 "adding it as a subgraph would make a cycle",
                 weft_graph_name(sub->g), weft_graph_name(G->g));
        return wpy_raise(rc, msg);
    }
    PyObject *r = added(G, rc, id, NULL, NULL);
    if (r) link_sub(G, id, sub);
    return r;
}

PyObject *wpy_graph_precede(wpy_graph *G, PyObject *before, PyObject *after) {
    weft_node_t a, b;
    if (node_arg(G->n, before, &a) < 0 || node_arg(G->n, after, &b) < 0) return NULL;
    if (graph_changeable(G) < 0) return NULL;
    wpy_gnode *nb = &G->nodes[b];
    if (nb->fn && nb->npreds == nb->cap) {
        uint32_t cap = nb->cap ? nb->cap * 2 : 4;
        uint32_t *p = PyMem_Realloc(nb->preds, cap * sizeof *p);
        if (!p) return PyErr_NoMemory();
        nb->preds = p;
        nb->cap = cap;
    }
    int rc = weft_graph_precede(G->g, a, b);
    if (rc) return wpy_raise(rc, rc == WEFT_EBUSY ? "the graph is running" : "cannot add the edge");
    if (nb->fn) nb->preds[nb->npreds++] = a;
    else if (!nb->sub && G->nodes[a].fn) {
        if (nb->py) G->nodes[a].feeds_py = 1;
        else G->nodes[a].feeds_task = 1;
    }
    G->nodes[a].nsuccs++;
    Py_RETURN_NONE;
}

weft_graph_t *wpy_graph_graph(wpy_graph *G) { return G->g; }
PyObject *wpy_graph_node_kind(wpy_graph *G, PyObject *node) {
    weft_node_t v;
    if (node_arg(G->n, node, &v) < 0) return NULL;
    if (G->nodes[v].fn) return PyUnicode_FromString("call");
    if (G->nodes[v].py) return PyUnicode_FromString("remote");
    /* a graph file's subgraph nodes have no task name */
    if (G->nodes[v].sub || !weft_graph_node_task(G->g, v)) return PyUnicode_FromString("subgraph");
    return PyUnicode_FromString("task");
}

/* The mirror of a loaded weft graph: task nodes, and successor counts
 * (for the sinks of subgraphs). -1 with an exception. */
static int mirror_loaded(wpy_graph *G) {
    size_t n = weft_graph_node_count(G->g);
    for (size_t i = 0; i < n; i++) {
        if (graph_reserve(G) < 0) return -1;
        memset(&G->nodes[G->n], 0, sizeof(wpy_gnode));
        const char *task = weft_graph_node_task(G->g, (weft_node_t)i);
        G->nodes[G->n++].py = task && strcmp(task, "weft.py") == 0;
    }
    size_t m = weft_graph_edge_count(G->g);
    for (size_t i = 0; i < m; i++) {
        weft_node_t a, b;
        if (weft_graph_edge(G->g, i, &a, &b) == 0) G->nodes[a].nsuccs++;
    }
    return 0;
}

/* The loaded graphs met so far, each wrapped once (files share them). */
typedef struct wpy_inner {
    wpy_graph **gs;
    size_t n, cap;
} wpy_inner;

/* Wraps the inner graphs that G's subgraph nodes run, at any depth, and
 * links them as add_subgraph does. Each new wrapper gets one reference in
 * `in`, dropped by the caller. -1 with an exception. */
static int wrap_inner(wpy_graph *top, wpy_graph *G, wpy_inner *in) {
    for (size_t v = 0; v < G->n; v++) {
        weft_graph_t *sg = weft_graph_node_subgraph(G->g, (weft_node_t)v);
        if (!sg) continue;
        wpy_graph *S = NULL;
        for (size_t k = 0; k < in->n && !S; k++)
            if (in->gs[k]->g == sg) S = in->gs[k];
        if (!S) {
            if (in->n == in->cap) {
                size_t cap = in->cap ? in->cap * 2 : 8;
                wpy_graph **gs = PyMem_Realloc(in->gs, cap * sizeof *gs);
                if (!gs) {
                    PyErr_NoMemory();
                    return -1;
                }
                in->gs = gs;
                in->cap = cap;
            }
            if (!(S = graph_wrap(sg))) return -1;
            S->owner = top;
            in->gs[in->n++] = S;
            if (mirror_loaded(S) < 0 || wrap_inner(top, S, in) < 0) return -1;
        }
        if (parents_reserve(S) < 0) return -1;
        link_sub(G, (weft_node_t)v, S);
    }
    return 0;
}

wpy_graph *wpy_graph_load(const char *path) {
    weft_graph_t *g;
    int rc = weft_graph_load_file(path, &g);
    if (rc) {
        wpy_raise(rc, *weft_graph_error() ? weft_graph_error() : path);
        return NULL;
    }
    wpy_graph *G = graph_wrap(g);
    if (!G) {
        weft_graph_free(g);
        return NULL;
    }
    wpy_inner in = {0};
    int bad = mirror_loaded(G) < 0 || wrap_inner(G, G, &in) < 0;
    for (size_t k = 0; k < in.n; k++) graph_unref(in.gs[k]); /* linked ones live on */
    PyMem_Free(in.gs);
    if (bad) {
        graph_unref(G);
        return NULL;
    }
    return G;
}

/* The graph subgraph node `node` runs (a new reference), or None. */
wpy_graph *wpy_graph_subgraph(wpy_graph *G, PyObject *node) {
    weft_node_t v;
    if (node_arg(G->n, node, &v) < 0) return NULL;
    wpy_graph *S = G->nodes[v].sub;
    if (S) graph_hold(S);
    return S;
}

PyObject *wpy_graph_key(wpy_graph *G) { return PyLong_FromVoidPtr(G); }

/* ------------------------------------------------------------------ */
/* runs                                                                */

/* Called by the thread that waits (inside weft_run_wait_timeout, GIL
 * released). */
static void progress_fn(void *data, const weft_progress_t *p) {
    wpy_run *R = data;
    PyGILState_STATE st = wpy_gil_ensure();
    if (R->progress && !R->progress_exc) {
        PyObject *r = PyObject_CallFunction(R->progress, "KKddd", (unsigned long long)p->finished,
                                            (unsigned long long)p->total, p->elapsed_s, p->rate,
                                            p->eta_s);
        if (r) Py_DECREF(r);
        else R->progress_exc = wpy_fetch_exception();
    }
    wpy_gil_release(st);
}

/* 1 while the run is in flight. */
static int run_busy(wpy_run *R) {
    if (R->complete) return 0;
    if (R->n > 0) {
        const void *d;
        size_t len;
        return weft_run_result(R->r, 0, &d, &len) == WEFT_EBUSY;
    }
    return 0; /* an empty graph's run: nobody reads its slots */
}

static void run_free(wpy_run *R) {
    if (R->results)
        for (size_t i = 0; i < R->n; i++) Py_CLEAR(R->results[i]);
    if (R->excs)
        for (size_t i = 0; i < R->n; i++) Py_CLEAR(R->excs[i]);
    PyMem_Free(R->results);
    PyMem_Free(R->excs);
    Py_CLEAR(R->progress);
    Py_CLEAR(R->progress_exc);
    if (R->G) {
        if (R->G->active == R) R->G->active = NULL;
        inflight_unlink(R);
        graph_release(R->G);
    }
    PyMem_Free(R);
}

/* Has G, or a graph it runs as a subgraph, a remote Python node? */
static int graph_has_py(wpy_graph *G, unsigned long m) {
    if (G->mark == m) return 0;
    G->mark = m;
    for (size_t v = 0; v < G->n; v++)
        if (G->nodes[v].py || (G->nodes[v].sub && graph_has_py(G->nodes[v].sub, m))) return 1;
    return 0;
}

wpy_run *wpy_graph_start(wpy_graph *G, PyObject *rt, int record, int progress_bar,
                         PyObject *progress, double interval_s, int local) {
    weft_runtime_t *wrt = wpy_runtime_of(rt);
    if (!wrt) return NULL;
    if (progress == Py_None) progress = NULL;
    if (progress && !PyCallable_Check(progress)) {
        PyErr_Format(PyExc_TypeError, "progress must be True, False or a callable, not %.100s",
                     Py_TYPE(progress)->tp_name);
        return NULL;
    }
    if (!(interval_s >= 0)) {
        wpy_raise(WEFT_EINVAL, "the progress interval must be >= 0");
        return NULL;
    }
    if (!run_map && !(run_map = PyDict_New())) return NULL;
    wpy_run *R = run_alloc(G);
    if (!R) return NULL;
    R->refs = 1;
    R->progress = progress ? Py_NewRef(progress) : NULL;
    weft_run_opts_t o = {.record = record != 0,
                         .progress_bar = progress_bar != 0,
                         .progress = progress ? progress_fn : NULL,
                         .progress_data = R,
                         .progress_interval_s = interval_s};
    /* A Runtime with worker processes or nodes, and a graph with remote
     * Python nodes (add_remote's, at any depth): its named-task nodes go
     * to the engine's cluster, unless placed "local"; other graphs run
     * here as they always did; local=1 keeps every node here. */
    void *remote = local || !graph_has_py(G, ++walk_mark) ? NULL : wpy_runtime_remote(rt);
    if (!remote && PyErr_Occurred()) {
        run_free(R);
        return NULL;
    }
    if (remote) o.executor = weft_cluster_executor(wpy_remote_graph_cluster(remote));
    /* No node of this run takes the GIL before the run is entered below:
     * this thread holds it throughout. */
    int rc = weft_graph_run_async(G->g, wrt, &o, &R->r);
    if (rc) {
        R->r = NULL;
        run_free(R);
        const char *e = weft_graph_error();
        wpy_raise(rc, *e ? e : NULL);
        return NULL;
    }
    PyObject *k = PyLong_FromVoidPtr(R->r);
    PyObject *c = k ? PyCapsule_New(R, "weft.run", NULL) : NULL;
    int bad = !c || PyDict_SetItem(run_map, k, c) < 0;
    Py_XDECREF(k);
    Py_XDECREF(c);
    if (bad) { /* its nodes cannot find it: stop it, drop what they made */
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        weft_run_cancel(R->r);
        Py_BEGIN_ALLOW_THREADS
        weft_run_wait(R->r);
        Py_END_ALLOW_THREADS
        wpy_run *S = NULL;
        k = PyLong_FromVoidPtr(R->r);
        if (k && sub_find(R->r, &S) == 0 && S && PyDict_DelItem(run_map, k) == 0) run_free(S);
        Py_XDECREF(k);
        PyErr_Clear();
        subs_drop(G, R->r);
        weft_run_free(R->r);
        run_free(R);
        PyErr_Restore(et, ev, tb);
        return NULL;
    }
    R->mapped = 1;
    G->active = R;
    R->inext = G->inflight;
    if (G->inflight) G->inflight->iprev = R;
    G->inflight = R;
    R->listed = 1;
    return R;
}

void delete_wpy_run(wpy_run *R) {
    if (!R) return;
    if (R->is_sub) R = R->root; /* a subgraph's run: a reference on its top run */
    if (--R->refs > 0) return;
    if (R->r) {
        if (!R->complete) { /* dropped while it runs: stop it and let it finish */
            weft_run_cancel(R->r);
            Py_BEGIN_ALLOW_THREADS
            weft_run_wait(R->r);
            Py_END_ALLOW_THREADS
        }
        subs_drop(R->G, R->r);
        if (R->mapped) { /* keeps any exception already set */
            PyObject *et, *ev, *tb;
            PyErr_Fetch(&et, &ev, &tb);
            PyObject *k = PyLong_FromVoidPtr(R->r);
            if (!k || PyDict_DelItem(run_map, k) < 0) PyErr_Clear();
            Py_XDECREF(k);
            PyErr_Restore(et, ev, tb);
        }
        weft_run_free(R->r);
    }
    run_free(R);
}

wpy_run *wpy_run_subrun(wpy_run *R, PyObject *node) {
    weft_node_t v;
    if (node_arg(R->n, node, &v) < 0) return NULL;
    if (!R->complete) {
        wpy_raise(WEFT_EBUSY, "wait for the run first");
        return NULL;
    }
    wpy_graph *sub = R->G->nodes[v].sub;
    char msg[WEFT_NAME_MAX + 96];
    if (!sub) {
        snprintf(msg, sizeof msg, "node '%s' is not a subgraph node added from Python",
                 weft_graph_node_name(R->G->g, v));
        wpy_raise(WEFT_EINVAL, msg);
        return NULL;
    }
    weft_run_t *s;
    int rc = weft_run_subrun(R->r, v, &s);
    if (rc) {
        int st = weft_run_node_status(R->r, v);
        snprintf(msg, sizeof msg, "subgraph node '%s' did not run its subgraph (it is %s)",
                 weft_graph_node_name(R->G->g, v), st < 0 ? "unknown" : weft_node_status_name(st));
        wpy_raise(rc, msg);
        return NULL;
    }
    wpy_run *S = sub_storage(sub, s);
    if (!S) return NULL;
    if (!S->complete) { /* the top run is complete, and so is this one: its own
                         * outcome (ECANCELED for a cancelled one), at once */
        S->complete = 1;
        S->rc = weft_run_wait(s);
    }
    S->root = R->is_sub ? R->root : R;
    S->root->refs++;
    return S;
}

PyObject *wpy_run_wait(wpy_run *R, double timeout_s) {
    if (!R->complete) {
        double interval = R->progress ? 0.1 : WPY_RUN_SLICE_S;
        double t0 = 0;
        if (timeout_s >= 0) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            t0 = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
        }
        for (;;) {
            double slice = interval;
            if (timeout_s >= 0) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                double left = timeout_s - ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - t0);
                if (left < 0) left = 0;
                if (left < slice) slice = left;
            }
            int rc;
            Py_BEGIN_ALLOW_THREADS
            rc = weft_run_wait_timeout(R->r, slice);
            Py_END_ALLOW_THREADS
            if (rc != WEFT_ETIMEDOUT) {
                if (rc == WEFT_EINVAL || rc == WEFT_EPERM) return wpy_raise(rc, NULL);
                R->complete = 1;
                R->rc = rc;
                break;
            }
            if (PyErr_CheckSignals() < 0) return NULL;
            if (timeout_s >= 0 && slice < interval) Py_RETURN_FALSE;
        }
    }
    if (R->progress_exc) {
        PyObject *e = R->progress_exc;
        R->progress_exc = NULL;
        PyErr_SetObject((PyObject *)Py_TYPE(e), e);
        Py_DECREF(e);
        Py_CLEAR(R->progress); /* reported once */
        return NULL;
    }
    Py_RETURN_TRUE;
}

weft_run_t *wpy_run_run(wpy_run *R) { return R->r; }

PyObject *wpy_run_done(wpy_run *R) { return PyBool_FromLong(!run_busy(R)); }

PyObject *wpy_run_code(wpy_run *R) {
    if (!R->complete) return wpy_raise(WEFT_EBUSY, "wait for the run first");
    return PyLong_FromLong(R->rc);
}

PyObject *wpy_run_result(wpy_run *R, PyObject *node) {
    weft_node_t v;
    if (node_arg(R->n, node, &v) < 0) return NULL;
    const void *d;
    size_t len;
    int rc = weft_run_result(R->r, v, &d, &len);
    if (rc) return wpy_raise(rc, rc == WEFT_EBUSY    ? "the run is still going: wait for it"
                                 : rc == WEFT_ESTALE ? "the graph changed since this run"
                                                     : NULL);
    if (R->G->nodes[v].fn) return Py_NewRef(R->results[v] ? R->results[v] : Py_None);
    if (R->G->nodes[v].sub) return sub_result(R->G, R->r, v);
    if (R->G->nodes[v].py && weft_run_node_status(R->r, v) == WEFT_NODE_DONE)
        return wpy_gnode_value(d, len);
    return bytes_or_none(d, len);
}

PyObject *wpy_run_raw(wpy_run *R, PyObject *node) {
    weft_node_t v;
    if (node_arg(R->n, node, &v) < 0) return NULL;
    const void *d;
    size_t len;
    int rc = weft_run_result(R->r, v, &d, &len);
    if (rc) return wpy_raise(rc, rc == WEFT_EBUSY    ? "the run is still going: wait for it"
                                 : rc == WEFT_ESTALE ? "the graph changed since this run"
                                                     : NULL);
    return bytes_or_none(d, len);
}

PyObject *wpy_run_error(wpy_run *R, PyObject *node) {
    weft_node_t v;
    if (node_arg(R->n, node, &v) < 0) return NULL;
    int code = 0;
    int rc = weft_run_node_code(R->r, v, &code);
    if (rc) return wpy_raise(rc, NULL);
    return Py_BuildValue("(Oi)", R->excs[v] ? R->excs[v] : Py_None, code);
}

/* ------------------------------------------------------------------ */
/* module functions                                                    */

static PyObject *registered_fns; /* list: registered Python tasks, kept for good */

static PyObject *mod_register_task(PyObject *m, PyObject *args) {
    (void)m;
    const char *name;
    PyObject *fn;
    if (!PyArg_ParseTuple(args, "sO:register_task", &name, &fn)) return NULL;
    if (!PyCallable_Check(fn))
        return PyErr_Format(PyExc_TypeError, "register_task: fn must be callable, not %.100s",
                            Py_TYPE(fn)->tp_name);
    /* A graph that is running may still call the function this name had:
     * registered functions are kept for the life of the process. */
    if (PyList_Append(registered_fns, fn) < 0) return NULL;
    int rc = weft_task_register(name, py_task_fn, fn);
    if (rc) return wpy_raise(rc, "names are non-empty, without blanks, at most 1024 bytes");
    Py_RETURN_NONE;
}

static PyObject *mod_task_registered(PyObject *m, PyObject *args) {
    (void)m;
    const char *name;
    if (!PyArg_ParseTuple(args, "s:task_registered", &name)) return NULL;
    return PyBool_FromLong(weft_task_lookup(name, NULL, NULL) == 0);
}

static PyMethodDef graph_mod_methods[] = {
    {"register_task", mod_register_task, METH_VARARGS,
     "register_task(name, fn, /)\n--\n\n"
     "Registers a Python function as the named task\n"
     "`name` (process-wide). Nodes added with Graph.add_task(name, arg) then\n"
     "call fn(arg, *inputs) with bytes and store the bytes (or str) it returns.\n"
     "Such graphs can be saved to graph files and loaded again."},
    {"task_registered", mod_task_registered, METH_VARARGS,
     "task_registered(name, /)\n--\n\n"
     "True if a task of that name is registered."},
    {NULL, NULL, 0, NULL}};

int wpy_graph_init(PyObject *m) {
    if (!registered_fns && !(registered_fns = PyList_New(0))) return -1;
    int rc = weft_tasks_register_builtin();
    if (rc) {
        wpy_raise(rc, "cannot register the module's tasks");
        return -1;
    }
    return wpy_add_functions(m, graph_mod_methods);
}
