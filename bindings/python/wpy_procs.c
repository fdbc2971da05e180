/* wpy_procs.c: Python jobs in worker processes and on weftd nodes.
 *
 * Two sides of one task, the registered C task "weft.py":
 *
 * Worker side (python -m weft._procworker, _procworker_serve): the process
 * is a weft node (weft_serve, one worker, listening on the Unix socket its
 * parent's process pool gave it). "weft.py"'s node function takes the GIL
 * and calls the Python hook run(payload: memoryview) -> (status, out)
 * (weft._worker.run); the node's result is one status byte, then out.
 * The status travels in the result rather than as the node's status
 * because the cluster keeps no result bytes of a failed task, and a task
 * that raised must bring its report back. Status values: 0 ok (out: the
 * pickled value), 1 the task raised (out: the pickled report), 2 the
 * worker lacks the code (out: its hash), 4 a weft error on the way
 * (weftd's forwarder: out is "CODE MESSAGE", ASCII). The node's own
 * status stays 0 unless the hook could not be called at all. Graph nodes'
 * payloads (b"WFN1", and weftd's wrapped b"WFI1") go to wpy_gnode.c,
 * which fails the node instead (see there).
 *
 * Parent side (weft.Runtime(processes=N, nodes=[...])): an engine per
 * runtime holding a process pool (weft_procpool_*, whose cluster reaches
 * the children over Unix sockets) and/or a cluster over weftd nodes
 * started with --python. _rsubmit makes a weft.Job (wpy_jobs.c's remote
 * kind) and submits the payload to one of the two clusters.
 *
 * Completions. A cluster calls back on its I/O thread, one call per job;
 * taking the GIL there for each would cost a GIL hand-off per task (tens
 * of microseconds), more than a tiny task. So the callback only appends
 * the job's record to the engine's completion list under a mutex and
 * signals a condition variable when the completion thread sleeps. That
 * thread (one per engine) takes the whole list, takes the GIL once, and
 * completes every job in it: decodes the outcome through the Python hook
 * (the encoder's decode), runs pp's callback, wakes the waiters, calls the
 * done callbacks. Under load a batch holds hundreds of jobs per GIL
 * acquisition.
 *
 * Records. A record (rjob_t) lives from _rsubmit until its cluster job's
 * outcome was processed on the completion thread. The Python job points
 * at it (wpy_rjob_data) while pending; the record points back at the job
 * (borrowed: the core's remote list holds the job until it completes).
 * cancel() completes the job at once and clears the back pointer; the
 * record goes when the cluster's answer for it (cancelled, or a result
 * that is dropped) has come through.
 *
 * Retries: a task that raised is sent again up to `retries` times (the
 * status byte says it raised, so this is done here rather than by the
 * cluster's WEFT_DIST_RETRY_FAILED); retries=0 also sets
 * WEFT_DIST_NO_RETRY (a lost worker fails the job at once); otherwise a
 * lost task follows the cluster's max_losses. Status 2 (the worker lacks
 * the code) makes the record ask the Python layer for a payload that
 * carries the code (up to 3 times: a worker may restart meanwhile). */
#include "wpy.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <weft/dist.h>

#define WPY_PY_TASK "weft.py"

enum { ST_OK = 0, ST_RAISED = 1, ST_NEED_CODE = 2, ST_WEFT_ERROR = 4 };

/* ------------------------------------------------------------------ */
/* worker side                                                         */

static PyObject *worker_run; /* run(payload) -> (status, out): GIL */

/* Stores status byte + msg as the result: the hook failed in a way the
 * hook itself could not report. */
static int store_error(weft_node_ctx_t *ctx, const char *what) {
    size_t n = strlen(what);
    char *buf = malloc(n + 1);
    if (!buf) return WEFT_ENOMEM;
    buf[0] = ST_WEFT_ERROR;
    memcpy(buf + 1, what, n);
    int rc = weft_node_set_result(ctx, buf, n + 1);
    free(buf);
    return rc;
}

/* "weft.py" in a worker process. Runs on the server's one worker thread. */
static int pytask_fn(weft_node_ctx_t *ctx, void *unused) {
    (void)unused;
    size_t len = 0;
    const void *arg = weft_node_arg(ctx, &len);
    /* graph nodes (Graph.add_remote), with their inputs: wpy_gnode.c */
    if (wpy_gnode_is_payload(arg, len) || (len >= 4 && memcmp(arg, "WFI1", 4) == 0))
        return wpy_gnode_run(ctx, arg, len);
    if (wpy_finalizing() || !worker_run) return WEFT_ECANCELED;
    PyGILState_STATE st = wpy_gil_ensure();
    int rc = 0;
    PyObject *mv = PyMemoryView_FromMemory((char *)(arg ? arg : ""), (Py_ssize_t)len, PyBUF_READ);
    PyObject *r = mv ? PyObject_CallOneArg(worker_run, mv) : NULL;
    if (mv) {
        /* the bytes belong to the node: no view may outlive the call */
        PyObject *rel = PyObject_CallMethod(mv, "release", NULL);
        if (!rel) PyErr_Clear();
        Py_XDECREF(rel);
        Py_DECREF(mv);
    }
    long status = -1;
    Py_buffer out = {0};
    int have_out = 0;
    if (r && PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 2) {
        status = PyLong_AsLong(PyTuple_GET_ITEM(r, 0));
        if (status == -1 && PyErr_Occurred()) PyErr_Clear();
        else if (PyObject_GetBuffer(PyTuple_GET_ITEM(r, 1), &out, PyBUF_SIMPLE) == 0) have_out = 1;
        else PyErr_Clear();
    }
    if (have_out && status >= 0 && status <= 255) {
        char *buf = malloc((size_t)out.len + 1);
        if (!buf) rc = WEFT_ENOMEM;
        else {
            buf[0] = (char)status;
            memcpy(buf + 1, out.buf, (size_t)out.len);
            rc = weft_node_set_result(ctx, buf, (size_t)out.len + 1);
            free(buf);
        }
    } else {
        char msg[300];
        if (!r) {
            PyObject *e = wpy_fetch_exception(), *s = PyObject_Str(e);
            const char *t = s ? PyUnicode_AsUTF8(s) : NULL;
            snprintf(msg, sizeof msg, "%d the worker's run hook raised %.100s: %.150s",
                     WEFT_ETASK, Py_TYPE(e)->tp_name, t ? t : "?");
            if (!t) PyErr_Clear();
            Py_XDECREF(s);
            Py_DECREF(e);
        } else {
            snprintf(msg, sizeof msg, "%d the worker's run hook returned %.100s, not (status, "
                     "bytes)", WEFT_ETASK, Py_TYPE(r)->tp_name);
        }
        rc = store_error(ctx, msg);
    }
    if (have_out) PyBuffer_Release(&out);
    Py_XDECREF(r);
    wpy_gil_release(st);
    return rc;
}

static pid_t watched_parent;

/* The parent went (it could not be killed cleanly, or PR_SET_PDEATHSIG
 * did not apply): nobody wants the results any more. */
static void *parent_watch(void *unused) {
    (void)unused;
    for (;;) {
        struct timespec ts = {0, 200000000};
        nanosleep(&ts, NULL);
        if (getppid() != watched_parent) _exit(0);
    }
    return NULL;
}

/* _procworker_serve(listen, secret_file, run, parent_pid): serves "weft.py"
 * until the process is stopped. */
static PyObject *mod_procworker_serve(PyObject *m, PyObject *args) {
    (void)m;
    const char *listen, *secret;
    PyObject *run;
    int parent;
    if (!PyArg_ParseTuple(args, "ssOi:_procworker_serve", &listen, &secret, &run, &parent))
        return NULL;
    if (!PyCallable_Check(run)) {
        PyErr_SetString(PyExc_TypeError, "_procworker_serve: run must be callable");
        return NULL;
    }
    Py_XSETREF(worker_run, Py_NewRef(run));
    weft_task_unregister(WPY_PY_TASK); /* a name left by an earlier call */
    int rc = weft_task_register(WPY_PY_TASK, pytask_fn, NULL);
    if (rc) return wpy_raise(rc, weft_error_detail());
    if (parent > 1) {
        watched_parent = (pid_t)parent;
        if (getppid() != watched_parent) _exit(0);
        pthread_t th;
        if (pthread_create(&th, NULL, parent_watch, NULL) == 0) pthread_detach(th);
    }
    weft_server_opts_t o;
    weft_server_opts_init(&o);
    o.listen = listen;
    o.secret_file = secret;
    o.workers = 1;
    o.log_level = WEFT_LOG_WARN;
    char detail[WEFT_DETAIL_MAX] = "";
    Py_BEGIN_ALLOW_THREADS
    rc = weft_serve(&o);
    if (rc) snprintf(detail, sizeof detail, "%s", weft_error_detail());
    Py_END_ALLOW_THREADS
    if (rc) return wpy_raise(rc, detail);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ */
/* parent side: the engine                                             */

typedef struct rjob rjob_t;
typedef struct wpy_remote wpy_remote_t;

struct rjob {
    rjob_t *next;          /* completion list */
    wpy_remote_t *r;
    PyObject *job;         /* borrowed while pending; NULL once it completed (cancel) */
    PyObject *kwargs;      /* for a payload with the code (status 2) */
    PyObject *payload;     /* bytes: sent again for a retry */
    PyObject *code_hash;
    weft_cluster_t *on;    /* the cluster it went to */
    weft_djob_t *dj;
    int retries_left;
    int code_sends;        /* payloads with the code sent after a status 2 */
    unsigned flags;
    int rc;                /* set by the callback */
};

struct wpy_remote {
    PyObject *rt;          /* the Runtime, strong: see wpy_remote_close */
    weft_procpool_t *pool;
    weft_cluster_t *pc;    /* the pool's cluster, or NULL */
    weft_cluster_t *nc;    /* the nodes' cluster, or NULL */
    int nprocs, nnodes;
    long in_pc, in_nc;     /* jobs in flight on each (GIL) */
    PyObject *done_hook;   /* done(status, out, node, code_hash) -> value */
    PyObject *recode_hook; /* recode(fn, args, kwargs, node, code_hash) -> payload with
                              the code */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rjob_t *head, *tail;   /* completions not yet processed (mu) */
    int sleeping, stop;    /* (mu) */
    pthread_t th;
    int th_started;
};

static void rjob_free(rjob_t *x) {
    if (x->dj) weft_djob_free(x->dj);
    Py_XDECREF(x->kwargs);
    Py_XDECREF(x->payload);
    Py_XDECREF(x->code_hash);
    PyMem_RawFree(x);
}

/* The cluster's callback, on its I/O thread (GIL not held). */
static void on_done(void *data, weft_djob_t *dj, int rc) {
    (void)dj;
    rjob_t *x = data;
    wpy_remote_t *r = x->r;
    x->rc = rc;
    x->next = NULL;
    pthread_mutex_lock(&r->mu);
    if (r->tail) r->tail->next = x;
    else r->head = x;
    r->tail = x;
    if (r->sleeping) pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* Sends x's payload (again) to a cluster. GIL held. 0 or a weft code. */
static int rjob_send(rjob_t *x) {
    wpy_remote_t *r = x->r;
    weft_cluster_t *cl;
    if (!r->nc) cl = r->pc;
    else if (!r->pc) cl = r->nc;
    else /* the one with fewer jobs in flight per process or node */
        cl = r->in_pc * r->nnodes <= r->in_nc * r->nprocs ? r->pc : r->nc;
    if (x->dj) { /* sent before: its answer came (rjob_process counted it out) */
        weft_djob_free(x->dj);
        x->dj = NULL;
    }
    weft_dsubmit_opts_t o = {.callback = on_done, .callback_data = x, .flags = x->flags};
    int rc = weft_cluster_submit(cl, WPY_PY_TASK, PyBytes_AS_STRING(x->payload),
                                 (size_t)PyBytes_GET_SIZE(x->payload), &o, &x->dj);
    if (rc == 0) {
        x->on = cl;
        if (cl == r->pc) r->in_pc++;
        else r->in_nc++;
    }
    return rc;
}

/* The exception for a weft code (an instance of weft's class for it). */
static PyObject *weft_exception(int rc, const char *detail) {
    wpy_raise(rc, detail && *detail ? detail : NULL);
    return wpy_fetch_exception();
}

/* Completes the job of one record whose cluster outcome came. GIL held. */
static void rjob_process(rjob_t *x) {
    wpy_remote_t *r = x->r;
    if (x->dj) {
        if (x->on == r->pc) r->in_pc--;
        else r->in_nc--;
    }
    PyObject *job = x->job;
    if (!job) { /* cancelled meanwhile */
        rjob_free(x);
        return;
    }
    int rc = x->rc;
    if (rc == WEFT_ECANCELED) {
        x->job = NULL;
        wpy_rjob_finish(job, NULL, NULL, 1);
        rjob_free(x);
        return;
    }
    if (rc != 0) {
        x->job = NULL;
        wpy_rjob_finish(job, NULL, weft_exception(rc, weft_djob_error(x->dj)), 0);
        rjob_free(x);
        return;
    }
    const void *d = NULL;
    size_t n = 0;
    weft_djob_result(x->dj, &d, &n);
    if (n < 1) {
        x->job = NULL;
        wpy_rjob_finish(job, NULL, weft_exception(WEFT_EPROTO, "a worker's result has no status"),
                        0);
        rjob_free(x);
        return;
    }
    int status = ((const unsigned char *)d)[0];
    if ((status == ST_NEED_CODE && x->code_sends < 3) ||
        (status == ST_RAISED && x->retries_left > 0)) {
        int ok = 1;
        if (status == ST_NEED_CODE) {
            PyObject *args = wpy_rjob_args(job);
            PyObject *node = PyUnicode_FromString(weft_djob_node(x->dj));
            PyObject *p = args && node ? PyObject_CallFunctionObjArgs(
                                             r->recode_hook, wpy_rjob_fn(job), args, x->kwargs,
                                             node, x->code_hash, NULL)
                                       : NULL;
            Py_XDECREF(args);
            Py_XDECREF(node);
            if (p && !PyBytes_Check(p)) {
                Py_DECREF(p);
                p = NULL;
                PyErr_SetString(PyExc_TypeError, "the encoder's payload must be bytes");
            }
            if (p) {
                Py_SETREF(x->payload, p);
                x->code_sends++;
            } else {
                ok = 0;
            }
        } else {
            x->retries_left--;
        }
        if (ok) {
            int src = rjob_send(x);
            if (src == 0) return; /* it comes back through on_done */
            x->job = NULL;
            wpy_rjob_finish(job, NULL, weft_exception(src, weft_error_detail()), 0);
        } else {
            x->job = NULL;
            wpy_rjob_finish(job, NULL, wpy_fetch_exception(), 0);
        }
        rjob_free(x);
        return;
    }
    /* a copy: a decoded value may keep views into it (out-of-band
     * buffers), and the job's bytes go with the record */
    PyObject *mv = PyBytes_FromStringAndSize((const char *)d + 1, (Py_ssize_t)(n - 1));
    PyObject *node = PyUnicode_FromString(weft_djob_node(x->dj));
    PyObject *st = PyLong_FromLong(status);
    PyObject *v = mv && node && st ? PyObject_CallFunctionObjArgs(r->done_hook, st, mv, node,
                                                                  x->code_hash, NULL)
                                   : NULL;
    PyObject *exc = v ? NULL : wpy_fetch_exception();
    Py_XDECREF(mv);
    Py_XDECREF(node);
    Py_XDECREF(st);
    x->job = NULL;
    wpy_rjob_finish(job, v, exc, 0);
    rjob_free(x);
}

/* The engine whose completion thread the calling thread is, or NULL. */
static _Thread_local wpy_remote_t *tl_finisher_of;

int wpy_remote_is_finisher(void *remote) { return remote && tl_finisher_of == remote; }

int wpy_remote_help(void *remote, double slice_s) {
    wpy_remote_t *r = remote;
    if (!r || tl_finisher_of != r) return 0;
    rjob_t *batch;
    Py_BEGIN_ALLOW_THREADS
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + (int64_t)(slice_s * 1e9);
    ts.tv_sec += (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&r->mu);
    if (!r->head && !r->stop) {
        r->sleeping = 1;
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        r->sleeping = 0;
    }
    batch = r->head;
    r->head = r->tail = NULL;
    pthread_mutex_unlock(&r->mu);
    Py_END_ALLOW_THREADS
    while (batch) {
        rjob_t *next = batch->next;
        rjob_process(batch);
        batch = next;
    }
    return 1;
}

/* The completion thread: see the top. A callback it runs may wait for
 * another remote job: that wait processes completions itself
 * (wpy_remote_help), since no other thread would. */
static void *finisher(void *arg) {
    wpy_remote_t *r = arg;
    tl_finisher_of = r;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (!r->head && !r->stop) {
            r->sleeping = 1;
            pthread_cond_wait(&r->cv, &r->mu);
            r->sleeping = 0;
        }
        rjob_t *batch = r->head;
        r->head = r->tail = NULL;
        int stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (!batch) {
            if (stop) break;
            continue;
        }
        if (wpy_finalizing()) break; /* no GIL any more: the records stay */
        PyGILState_STATE st = wpy_gil_ensure();
        while (batch) {
            rjob_t *next = batch->next;
            rjob_process(batch);
            batch = next;
        }
        wpy_gil_release(st);
    }
    return NULL;
}

/* Frees the clusters, the pool and the thread. GIL not held. */
static void remote_stop_nogil(wpy_remote_t *r) {
    if (r->nc) weft_cluster_free(r->nc); /* cancels what is pending: callbacks */
    r->nc = NULL;
    if (r->pool) weft_procpool_free(r->pool); /* its cluster, then the processes */
    r->pool = NULL;
    r->pc = NULL;
    if (r->th_started) {
        pthread_mutex_lock(&r->mu);
        r->stop = 1;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->th, NULL);
        r->th_started = 0;
    }
}

void wpy_remote_close(void *remote) {
    wpy_remote_t *r = remote;
    if (!r) return;
    Py_BEGIN_ALLOW_THREADS
    remote_stop_nogil(r);
    Py_END_ALLOW_THREADS
    /* records whose answers the thread did not take (cancelled jobs) */
    while (r->head) {
        rjob_t *x = r->head;
        r->head = x->next;
        rjob_process(x);
    }
    Py_CLEAR(r->done_hook);
    Py_CLEAR(r->recode_hook);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    PyObject *rt = r->rt;
    PyMem_RawFree(r);
    /* The engine held its Runtime, so that the Runtime's last reference
     * never goes on the completion thread (its deallocation would stop
     * that thread from inside itself): a Runtime with processes or nodes
     * lives until close(), or the exit handler's close. The caller (close)
     * holds another reference. */
    Py_XDECREF(rt);
}

weft_cluster_t *wpy_remote_graph_cluster(void *remote) {
    wpy_remote_t *r = remote;
    return r->nc ? r->nc : r->pc;
}

void wpy_remote_cancel(void *rdata) {
    rjob_t *x = rdata;
    PyObject *job = x->job;
    if (!job) return;
    x->job = NULL;
    if (x->dj) weft_djob_cancel(x->dj); /* its answer frees the record */
    wpy_rjob_finish(job, NULL, NULL, 1);
}

/* A list of str as a NULL-terminated array (strings borrowed from the
 * list, which the caller keeps). NULL with an exception. */
static const char **str_array(PyObject *seq, Py_ssize_t *count, const char *what) {
    PyObject *fast = PySequence_Fast(seq, what);
    if (!fast) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    const char **a = PyMem_Calloc((size_t)n + 1, sizeof *a);
    if (!a) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PySequence_Fast_GET_ITEM(fast, i);
        a[i] = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
        if (!a[i]) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "%s: expected str items, not %.100s", what,
                             Py_TYPE(o)->tp_name);
            PyMem_Free(a);
            Py_DECREF(fast);
            return NULL;
        }
    }
    Py_DECREF(fast); /* the items live in seq, which the caller holds */
    *count = n;
    return a;
}

/* _remote_start(rt, argv, nprocs, nodes, secret_file, done, recode,
 * connect_timeout_s, max_losses[, discover]): starts the pool (argv,
 * nprocs > 0) and/or the cluster over nodes (a list, may be empty) and
 * the nodes discovery finds (discover: "ADDR:PORT" to listen for beacons
 * on, or None; the cluster then waits for one node at least). */
static PyObject *mod_remote_start(PyObject *m, PyObject *args) {
    (void)m;
    PyObject *rt, *argv, *nodes, *secret, *done, *recode, *discover = Py_None;
    int nprocs, max_losses;
    double timeout;
    if (!PyArg_ParseTuple(args, "OOiOOOOdi|O:_remote_start", &rt, &argv, &nprocs, &nodes, &secret,
                          &done, &recode, &timeout, &max_losses, &discover))
        return NULL;
    const char *disc = NULL;
    if (discover != Py_None && !(disc = PyUnicode_AsUTF8(discover))) return NULL;
    if (!PyCallable_Check(done) || !PyCallable_Check(recode)) {
        PyErr_SetString(PyExc_TypeError, "_remote_start: done and recode must be callable");
        return NULL;
    }
    if (wpy_runtime_set_remote(rt, NULL) < 0) return NULL; /* a live Runtime */
    if (wpy_runtime_remote(rt)) return wpy_raise(WEFT_EBUSY, "processes started already");
    Py_ssize_t nargv = 0, nn = 0;
    const char **av = nprocs > 0 ? str_array(argv, &nargv, "argv") : NULL;
    if (nprocs > 0 && !av) return NULL;
    const char **nv = str_array(nodes, &nn, "nodes");
    if (!nv) {
        PyMem_Free(av);
        return NULL;
    }
    const char *sf = NULL;
    if (secret != Py_None && !(sf = PyUnicode_AsUTF8(secret))) {
        PyMem_Free(av);
        PyMem_Free(nv);
        return NULL;
    }
    wpy_remote_t *r = PyMem_RawCalloc(1, sizeof *r);
    if (!r) {
        PyMem_Free(av);
        PyMem_Free(nv);
        return PyErr_NoMemory();
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->done_hook = Py_NewRef(done);
    r->recode_hook = Py_NewRef(recode);
    r->nprocs = nprocs > 0 ? nprocs : 0;
    r->nnodes = (int)nn + (disc ? 1 : 0);
    int rc = 0;
    char detail[WEFT_DETAIL_MAX] = "";
    if (pthread_create(&r->th, NULL, finisher, r) == 0) r->th_started = 1;
    else {
        rc = WEFT_ESYSTEM;
        snprintf(detail, sizeof detail, "cannot start the completion thread");
    }
    Py_BEGIN_ALLOW_THREADS
    if (!rc && nprocs > 0) {
        weft_cluster_opts_t co;
        weft_cluster_opts_init(&co);
        co.backoff_min_s = 0.01;
        co.backoff_max_s = 0.1;
        co.max_losses = max_losses;
        weft_procpool_opts_t po;
        weft_procpool_opts_init(&po);
        po.cluster = &co;
        po.start_timeout_s = timeout;
        rc = weft_procpool_create(av, nprocs, &po, &r->pool);
        if (rc) snprintf(detail, sizeof detail, "%s", weft_error_detail());
        else r->pc = weft_procpool_cluster(r->pool);
    }
    if (!rc && (nn > 0 || disc)) {
        weft_cluster_opts_t co;
        weft_cluster_opts_init(&co);
        co.secret_file = sf;
        co.max_losses = max_losses;
        co.discover = disc;
        rc = weft_cluster_create(nv, (size_t)nn, &co, &r->nc);
        if (!rc && timeout > 0)
            rc = weft_cluster_wait_nodes(r->nc, nn > 0 ? (size_t)nn : 1, timeout);
        if (rc) snprintf(detail, sizeof detail, "%s", weft_error_detail());
    }
    if (rc) remote_stop_nogil(r);
    Py_END_ALLOW_THREADS
    PyMem_Free(av);
    PyMem_Free(nv);
    if (!rc && wpy_runtime_set_remote(rt, r) < 0) {
        wpy_remote_close(r);
        return NULL;
    }
    if (!rc) r->rt = Py_NewRef(rt);
    if (rc) {
        wpy_remote_close(r);
        return wpy_raise(rc, detail);
    }
    Py_RETURN_NONE;
}

/* _rsubmit(rt, fn, args, kwargs, payload, code_hash, callback, callbackargs,
 * group, retries) -> Job. retries: -1 the defaults, 0 none, k > 0 a task
 * that raised is run again up to k times. */
static PyObject *mod_rsubmit(PyObject *m, PyObject *const *a, Py_ssize_t n) {
    (void)m;
    if (n != 10) {
        PyErr_SetString(PyExc_TypeError, "_rsubmit takes 10 arguments");
        return NULL;
    }
    PyObject *rt = a[0], *fn = a[1], *args = a[2], *kwargs = a[3], *payload = a[4];
    if (!PyTuple_Check(args) || !PyBytes_Check(payload)) {
        PyErr_SetString(PyExc_TypeError, "_rsubmit: args must be a tuple, payload bytes");
        return NULL;
    }
    long retries = PyLong_AsLong(a[9]);
    if (retries == -1 && PyErr_Occurred()) return NULL;
    wpy_remote_t *r = wpy_runtime_remote(rt);
    if (!r) {
        if (!PyErr_Occurred())
            wpy_raise(WEFT_EINVAL, "this Runtime has no worker processes or nodes");
        return NULL;
    }
    rjob_t *x = PyMem_RawCalloc(1, sizeof *x);
    if (!x) return PyErr_NoMemory();
    x->r = r;
    PyObject *job = wpy_rjob_new(rt, fn, args, a[8], a[6], a[7], x);
    if (!job) {
        PyMem_RawFree(x);
        return NULL;
    }
    x->job = job;
    x->kwargs = Py_NewRef(kwargs);
    x->payload = Py_NewRef(payload);
    x->code_hash = Py_NewRef(a[5]);
    x->retries_left = retries > 0 ? (int)retries : 0;
    x->flags = retries == 0 ? WEFT_DIST_NO_RETRY : 0;
    int rc = rjob_send(x);
    if (rc) {
        char detail[WEFT_DETAIL_MAX];
        snprintf(detail, sizeof detail, "%s", weft_error_detail());
        x->job = NULL;
        Py_INCREF(job);
        wpy_rjob_finish(job, NULL, NULL, 1); /* out of the pending counts */
        Py_DECREF(job);
        Py_DECREF(job);
        rjob_free(x);
        return wpy_raise(rc, detail);
    }
    return job;
}

/* Appends one dict per node of cluster c (its weft_cluster_stats) to list.
 * 0, or -1 with an exception. */
static int add_node_stats(PyObject *list, weft_cluster_t *c, const char *kind) {
    if (!c) return 0;
    weft_node_stats_t *st = NULL;
    size_t n = 0;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = weft_cluster_stats(c, &st, &n);
    Py_END_ALLOW_THREADS
    if (rc) {
        wpy_raise(rc, weft_error_detail());
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        PyObject *d = Py_BuildValue(
            "{sssssisKsdsdsKsKsKsKsKsd}", "node", st[i].node, "kind", kind, "connected",
            st[i].connected, "jobs", (unsigned long long)st[i].jobs, "share", st[i].share,
            "time_s", st[i].time_s, "bytes_sent", (unsigned long long)st[i].bytes_sent,
            "bytes_received", (unsigned long long)st[i].bytes_received, "retries",
            (unsigned long long)st[i].retries, "losses", (unsigned long long)st[i].losses,
            "connects", (unsigned long long)st[i].connects, "rtt_s", st[i].rtt_s);
        bad = !d || PyList_Append(list, d) < 0;
        Py_XDECREF(d);
    }
    free(st);
    return bad ? -1 : 0;
}

/* _remote_info(rt) -> dict: pids (list, 0 while restarting), restarts,
 * dir, nodes (active nodes of the nodes' cluster), workers (statistics
 * per process and node). For process_info(), stats and tests. */
static PyObject *mod_remote_info(PyObject *m, PyObject *rt) {
    (void)m;
    wpy_remote_t *r = wpy_runtime_remote(rt);
    if (!r) {
        if (PyErr_Occurred()) return NULL;
        Py_RETURN_NONE;
    }
    PyObject *pids = PyList_New(0);
    if (!pids) return NULL;
    for (int i = 0; r->pool && i < r->nprocs; i++) {
        PyObject *p = PyLong_FromLong(weft_procpool_pid(r->pool, i));
        if (!p || PyList_Append(pids, p) < 0) {
            Py_XDECREF(p);
            Py_DECREF(pids);
            return NULL;
        }
        Py_DECREF(p);
    }
    PyObject *nodes = PyList_New(0);
    if (!nodes) {
        Py_DECREF(pids);
        return NULL;
    }
    if (r->nc) {
        char **list = NULL;
        size_t cnt = 0;
        if (weft_cluster_active_nodes(r->nc, &list, &cnt) == 0) {
            for (size_t i = 0; i < cnt; i++) {
                PyObject *s = PyUnicode_FromString(list[i]);
                if (s) PyList_Append(nodes, s);
                Py_XDECREF(s);
            }
            free(list);
        }
    }
    PyObject *workers = PyList_New(0);
    if (!workers || add_node_stats(workers, r->pc, "process") < 0 ||
        add_node_stats(workers, r->nc, "node") < 0) {
        Py_XDECREF(workers);
        Py_DECREF(pids);
        Py_DECREF(nodes);
        return NULL;
    }
    return Py_BuildValue("{sNsKsssNsisisN}", "pids", pids, "restarts",
                         (unsigned long long)(r->pool ? weft_procpool_restarts(r->pool) : 0),
                         "dir", r->pool ? weft_procpool_dir(r->pool) : "", "nodes", nodes,
                         "processes", r->nprocs, "in_flight", (int)(r->in_pc + r->in_nc),
                         "workers", workers);
}

static PyMethodDef procs_functions[] = {
    {"_procworker_serve", mod_procworker_serve, METH_VARARGS,
     "_procworker_serve(listen, secret_file, run, parent_pid): a worker process's node"},
    {"_remote_start", mod_remote_start, METH_VARARGS,
     "_remote_start(rt, argv, nprocs, nodes, secret_file, done, recode, timeout, max_losses"
     "[, discover])"},
    {"_rsubmit", (PyCFunction)(void (*)(void))mod_rsubmit, METH_FASTCALL,
     "_rsubmit(rt, fn, args, kwargs, payload, code_hash, callback, callbackargs, group, "
     "retries) -> Job"},
    {"_remote_info", mod_remote_info, METH_O, "_remote_info(rt) -> dict or None"},
    {NULL, NULL, 0, NULL}};

int wpy_procs_init(PyObject *m) {
    if (PyModule_AddStringConstant(m, "PY_TASK", WPY_PY_TASK) < 0) return -1;
    return wpy_add_functions(m, procs_functions);
}
