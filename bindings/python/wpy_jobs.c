/* wpy_jobs.c: weft's Python runtime, jobs and groups.
 *
 * Design
 * ------
 * A tiny Python task costs well under a microsecond to run; handing the GIL
 * from one thread to another costs tens of microseconds. So Python jobs are
 * not one weft task each. They wait in a FIFO queue of the runtime, and a
 * thread that holds the GIL runs as many of them in a row as it finds:
 *
 * - submit (GIL held) makes a Job object, appends it to the queue and, if
 *   fewer "drain tasks" are in flight than the runtime has workers, submits
 *   one more drain task to the weft runtime.
 * - A drain task (token_fn, on a weft worker, GIL not held) looks at the
 *   queue length (an atomic read, no GIL). If the queue is empty it ends
 *   without ever touching Python. Otherwise it takes the GIL once and runs
 *   queued jobs until the queue is empty, then releases the GIL. The
 *   interpreter's own switching (sys.getswitchinterval) still lets other
 *   Python threads in while it runs Python code.
 * - A thread that waits for a job that has not started yet takes it out of
 *   the queue (a doubly linked list: O(1)) and runs it itself (weft's rule:
 *   a waiting thread helps). A loop that submits and then collects runs
 *   what the workers have not taken without any GIL hand-off at all; a
 *   wait for every job runs any queued job. A job that is already running on a
 *   worker is waited for with the GIL released, in slices, with
 *   PyErr_CheckSignals between slices (Ctrl-C raises KeyboardInterrupt and
 *   leaves the runtime as it was).
 * - Jobs that release the GIL (time.sleep, hashlib, zlib, I/O) run in
 *   parallel: while one drain task sleeps inside a job, the others take the
 *   GIL and run the next jobs.
 *
 * The queue is only touched with the GIL held, so it needs no lock of its
 * own; its length is mirrored in an atomic for the drain tasks' GIL-free
 * look. Drain tasks never hold a pointer to a job, only to the runtime's
 * core (wpy_core), which lives until the weft runtime is destroyed (and that
 * waits for every drain task). Job objects are therefore plain reference-
 * counted Python objects: the queue holds one reference, the caller the
 * other; the job holds its function, arguments, callback, result or
 * exception, runtime and group until it is freed.
 *
 * Jobs submitted from inside a run (a graph node's code, or work such a
 * node spawned: weft_current_run() is not NULL) take another path. Each
 * is a weft task of its own (direct_fn), spawned from the submitting work,
 * so that it works for the same run: weft.cancelled() in it answers for
 * that run, as it does in Lua's tasks, and the run completes only after
 * it, as the graph layer says of work a node spawns. Until it starts it
 * waits in a second list (dhead/dtail), which drain tasks never look at; a
 * thread that waits for it (or for every job) takes it out and runs it
 * itself, and its task, finding it taken, only drops its reference.
 *
 * Jobs are concurrent.futures Futures without being Future objects: a
 * job answers cancel(), running(), add_done_callback() and the three
 * attributes that the module's wait() and as_completed() read and write
 * (_condition, _waiters, _state), all made on first use in the job's
 * optional list (fut), so a plain job pays one NULL test. A completed job
 * with a list calls the Python layer's hook (weft._job_done), which wakes
 * those waiters under the Condition and calls the done callbacks, after
 * the C waiters were woken, as a Future does. cancel() takes a queued job
 * out of its queue (O(1)) and completes it as cancelled.
 *
 * A wait with a timeout never runs a job (see wait_for_in); failures that
 * nobody can retrieve any more are logged, counted and raised by the next
 * wait (see "Lost failures").
 *
 * Lost wake-ups: a drain task leaving decrements the count of drain tasks
 * and re-reads the queue length; submit increments the queue length and
 * reads the count of drain tasks (all seq_cst). One of the two sees the
 * other, so a queued job always has a drain task or its submitter starts
 * one. A waiter increments `waiters` and re-checks its condition under the
 * mutex; a completion stores its state and reads `waiters` (seq_cst), and
 * broadcasts only when someone waits.
 */
#include "wpy.h"
#include "weft_stats.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define WPY_WAIT_SLICE_S 0.05 /* longest sleep between two signal checks */
#define WPY_OTHER WEFT_MAX_WORKERS /* statistics slot of non-worker threads */

typedef struct WpyJob WpyJob;
typedef struct WpyGroup WpyGroup;
typedef struct WpyRuntime WpyRuntime;
typedef struct wpy_core wpy_core;

struct wpy_core {
    weft_runtime_t *rt;
    /* queue of jobs not yet started: changed only with the GIL held */
    WpyJob *head, *tail;
    atomic_long queued;  /* its length, read by drain tasks without the GIL */
    /* jobs submitted from inside a run, not yet started (GIL): each has a
     * weft task of its own (direct_fn); drain tasks never see them */
    WpyJob *dhead, *dtail;
    atomic_int tokens;   /* drain tasks in flight */
    atomic_long pending; /* jobs submitted and not yet complete */
    /* waiting threads sleep on cv; completions broadcast when waiters > 0 */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int waiters;
    atomic_int users;    /* threads inside wait_for: the core outlives them */
    /* statistics: changed only with the GIL held */
    uint64_t submitted, failed, cancelled;
    /* failures nobody can retrieve any more (see "Lost failures"), of jobs
     * without a group (a group keeps its own): GIL */
    uint64_t lost_n, lost_total;
    PyObject *lost; /* (name, exception) of the first of them, or NULL */
    int64_t t0;
    struct {
        uint64_t jobs;
        int64_t busy_ns;
    } ws[WEFT_MAX_WORKERS + 1];
    wpy_core *next_dead; /* list of cores to destroy later (see defer_destroy) */
    /* Jobs that run in worker processes or on nodes (wpy_procs.c): their
     * engine, and the list of those not complete (GIL; the list holds a
     * reference on each). */
    void *remote;
    WpyJob *rhead, *rtail;
};

enum { J_QUEUED = 0, J_RUNNING = 1, J_DONE = 2, J_FAILED = 3, J_CANCELLED = 4 };

struct WpyJob {
    PyObject_VAR_HEAD    /* ob_size: number of arguments */
    WpyJob *prev, *next; /* queue links (the queue holds a reference) */
    WpyRuntime *rt;      /* strong */
    WpyGroup *group;     /* strong, or NULL */
    PyObject *fn;
    PyObject *result;    /* set once done */
    PyObject *exc;       /* set once failed */
    /* What a plain job does not use, made on first use (GIL): a list
     * [Condition, waiters, done callbacks, callback, callbackargs] (see
     * FUT_*), each None until used: what concurrent.futures' as_completed()
     * and wait() use, add_done_callback()'s callables, and submit's
     * callback= and callbackargs= (pp's). NULL for a plain job: the job
     * stays small (a tiny job's cost is partly its memory) and the
     * collector has one field to visit. */
    PyObject *fut;
    int64_t t_submit, t_start, t_end; /* CLOCK_MONOTONIC ns; 0: not yet */
    atomic_int state;
    unsigned char direct; /* submitted from inside a run: a weft task of its own */
    unsigned char seen;   /* its exception was retrieved or reported (GIL) */
    unsigned char raw;    /* made by weft.Executor: result() raises the task's
                           * own exception, as concurrent.futures does */
    unsigned char remote; /* runs in a worker process or on a node (wpy_procs.c):
                           * never in the queue; RUNNING until complete */
    void *rdata;          /* wpy_procs.c's record of a remote job, while pending */
    PyObject *args[1];   /* ob_size arguments */
};

struct WpyGroup {
    PyObject_HEAD
    WpyRuntime *rt; /* strong */
    PyObject *name;
    atomic_long pending;
    uint64_t submitted, failed; /* GIL */
    uint64_t lost_n;            /* lost failures of the group since its last wait (GIL) */
    PyObject *lost;             /* (name, exception) of the first of them, or NULL */
};

struct WpyRuntime {
    PyObject_HEAD
    wpy_core *c;        /* NULL before __init__ and once closed */
    PyObject *groups;   /* dict: name -> Group */
    PyObject *weakreflist;
};

static PyTypeObject JobType, GroupType, RuntimeType;

/* submit's keyword names, interned (wpy_jobs_init) */
static PyObject *str_group, *str_callback, *str_callbackargs;

/* The job the calling thread is running, to refuse waits that would wait
 * for themselves. */
static _Thread_local WpyJob *tl_current;

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

/* 1 on a weft worker thread, the only threads that can work for a run (a
 * thread is a worker for its whole life or never), 0 elsewhere: asked
 * once per thread, so that a submit from the main thread does not walk
 * into libweft to learn that it is outside every run. */
static _Thread_local signed char tl_on_worker = -1;

static int on_worker_thread(void) {
    if (tl_on_worker < 0) tl_on_worker = weft_current_worker() >= 0;
    return tl_on_worker;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU time of the calling thread: what busy time counts, so that a thread
 * that waits for the GIL (or sleeps inside a job) is not busy meanwhile. A
 * system call (some 400 ns, more than a tiny job), so read once per run of
 * jobs, and not for every run: see batch_begin. */
static int64_t cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Busy time of a run of jobs on a worker (a drain task's batch).
 *
 * A batch is timed by the thread's CPU clock when it may contain waits for
 * the GIL: when the thread's previous batch was long (100 us or more: long
 * jobs, where a thread loses the GIL to the switch interval), or when the
 * clock was last read 1 ms ago or more. Other batches, short ones coming
 * in quick succession (tiny jobs), are timed by the wall clock: reading the
 * CPU clock at most once per millisecond there keeps its cost out of the
 * tiny-job figures. Worker threads only; GIL held. */
#define WPY_LONG_BATCH_NS 100000
#define WPY_CPU_READ_NS 1000000
static _Thread_local int64_t tl_cpu_read_at; /* wall time of the last CPU read */
static _Thread_local int tl_prev_long;      /* the previous batch was long */

typedef struct batch_clock {
    int64_t wall0, cpu0; /* cpu0 < 0: timed by the wall clock */
} batch_clock;

static void batch_begin(batch_clock *b) {
    b->wall0 = now_ns();
    b->cpu0 = -1;
    if (tl_prev_long || b->wall0 - tl_cpu_read_at >= WPY_CPU_READ_NS) {
        b->cpu0 = cpu_ns();
        tl_cpu_read_at = b->wall0;
    }
}

/* The batch's busy nanoseconds. */
static int64_t batch_end(const batch_clock *b) {
    int64_t wall1 = now_ns(), wall = wall1 - b->wall0;
    tl_prev_long = wall >= WPY_LONG_BATCH_NS;
    if (b->cpu0 < 0) return wall;
    int64_t cpu = cpu_ns() - b->cpu0;
    tl_cpu_read_at = wall1;
    return cpu < wall ? cpu : wall;
}

/* Set by _setup_jobs (weft/__init__.py), GIL: hook_done(job, condition,
 * waiters, callbacks) wakes concurrent.futures' waiters and calls
 * add_done_callback's callables; hook_lost(name, exception) logs a lost
 * failure; make_condition() is threading.Condition; cancelled_error is
 * concurrent.futures.CancelledError. */
static PyObject *hook_done, *hook_lost, *make_condition, *cancelled_error;

#if PY_VERSION_HEX >= 0x030C0000
#define WPY_SAVE_ERROR(e) PyObject *e = PyErr_GetRaisedException()
#define WPY_RESTORE_ERROR(e) PyErr_SetRaisedException(e)
#else
#define WPY_SAVE_ERROR(e) \
    PyObject *e##_t, *e##_v, *e##_tb; \
    PyErr_Fetch(&e##_t, &e##_v, &e##_tb)
#define WPY_RESTORE_ERROR(e) PyErr_Restore(e##_t, e##_v, e##_tb)
#endif

/* Raises a stored exception object again (its traceback comes with it). */
static void reraise(PyObject *exc) {
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(Py_NewRef(exc));
#else
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
#endif
}

/* A timeout argument: None is no limit (-1); else a number >= 0. */
static int parse_timeout(PyObject *o, double *out) {
    *out = -1;
    if (!o || o == Py_None) return 0;
    double t = PyFloat_AsDouble(o);
    if (t == -1.0 && PyErr_Occurred()) {
        PyErr_Format(PyExc_TypeError, "timeout must be a number or None, not %.100s",
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    if (!(t >= 0)) {
        PyErr_SetString(PyExc_ValueError, "timeout must be >= 0 (or None for no limit)");
        return -1;
    }
    *out = t;
    return 0;
}

/* ------------------------------------------------------------------ */
/* cores: creation and destruction                                     */

static wpy_core *dead_cores; /* GIL: cores whose runtime could not be destroyed yet */

static wpy_core *core_new(int workers, int *rc) {
    wpy_core *c = PyMem_RawCalloc(1, sizeof *c);
    if (!c) {
        *rc = WEFT_ENOMEM;
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->mu, NULL);
    c->t0 = now_ns();
    Py_BEGIN_ALLOW_THREADS
    *rc = weft_runtime_create(workers, &c->rt);
    Py_END_ALLOW_THREADS
    if (*rc) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        PyMem_RawFree(c);
        return NULL;
    }
    return c;
}

/* Destroys the weft runtime (waiting for its drain tasks) and frees the
 * core. GIL held on entry; released meanwhile. Not from one of the
 * runtime's own workers. */
static int core_destroy(wpy_core *c) {
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = weft_runtime_destroy(c->rt);
    /* A thread that waited may still be on its way out of wait_for (it
     * needs the GIL to leave); its target is complete, so that is short. */
    while (rc == 0 && atomic_load(&c->users) > 0) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    Py_END_ALLOW_THREADS
    if (rc) return rc;
    Py_CLEAR(c->lost);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    PyMem_RawFree(c);
    return 0;
}

/* Destroys the cores that were released on a worker thread (where a runtime
 * cannot be destroyed: it would wait for itself). Called from threads that
 * are not weft workers: Runtime() and close(), and at exit. */
static void destroy_dead_cores(void) {
    if (weft_current_worker() >= 0) return;
    while (dead_cores) {
        wpy_core *c = dead_cores;
        dead_cores = c->next_dead;
        if (core_destroy(c) != 0) { /* cannot happen off a worker; keep it */
            c->next_dead = NULL;
            break;
        }
    }
}

/* ------------------------------------------------------------------ */
/* the queue (GIL held) and running jobs                               */

static void queue_push(wpy_core *c, WpyJob *j) {
    Py_INCREF(j); /* the queue's reference */
    WpyJob **head = j->direct ? &c->dhead : &c->head, **tail = j->direct ? &c->dtail : &c->tail;
    j->next = NULL;
    j->prev = *tail;
    if (*tail) (*tail)->next = j;
    else *head = j;
    *tail = j;
    if (!j->direct) atomic_fetch_add(&c->queued, 1); /* seq_cst: see "Lost wake-ups" */
}

/* Takes queued job j out of the queue (the queue's reference passes to the
 * caller) and marks it running. */
static void queue_take(wpy_core *c, WpyJob *j) {
    WpyJob **head = j->direct ? &c->dhead : &c->head, **tail = j->direct ? &c->dtail : &c->tail;
    if (j->prev) j->prev->next = j->next;
    else *head = j->next;
    if (j->next) j->next->prev = j->prev;
    else *tail = j->prev;
    j->prev = j->next = NULL;
    if (!j->direct) atomic_fetch_sub(&c->queued, 1);
    atomic_store_explicit(&j->state, J_RUNNING, memory_order_relaxed);
}

/* Takes the oldest queued job, or NULL. */
static WpyJob *queue_pop(wpy_core *c) {
    WpyJob *j = c->head;
    if (j) queue_take(c, j);
    return j;
}

static void notify(wpy_core *c) {
    if (atomic_load(&c->waiters) > 0) { /* seq_cst: pairs with the waiter's increment */
        pthread_mutex_lock(&c->mu);
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
}

static int stats_slot(const wpy_core *c) {
    if (!on_worker_thread()) return WPY_OTHER;
    int w = weft_current_worker();
    return w >= 0 && weft_current_runtime() == c->rt ? w : WPY_OTHER;
}

static PyObject *job_name(WpyJob *j);

enum { FUT_COND, FUT_WAITERS, FUT_CBS, FUT_CALLBACK, FUT_CBARGS, FUT_N };

/* Slot i of j's protocol list (borrowed; None when unused), or NULL with an
 * exception. Makes the list on first use. */
static PyObject *fut_get(WpyJob *j, int i) {
    if (!j->fut) {
        if (!(j->fut = PyList_New(FUT_N))) return NULL;
        for (int k = 0; k < FUT_N; k++) PyList_SET_ITEM(j->fut, k, Py_NewRef(Py_None));
    }
    return PyList_GET_ITEM(j->fut, i);
}

/* Sets slot i to v (a new reference, stolen). */
static void fut_set(WpyJob *j, int i, PyObject *v) {
    PyObject *old = PyList_GET_ITEM(j->fut, i);
    PyList_SET_ITEM(j->fut, i, v);
    Py_DECREF(old);
}

/* Someone watches the job's completion: concurrent.futures' waiters or
 * done callbacks. */
static int fut_watched(const WpyJob *j) {
    return j->fut && (PyList_GET_ITEM(j->fut, FUT_COND) != Py_None ||
                      PyList_GET_ITEM(j->fut, FUT_CBS) != Py_None);
}

/* Lost failures
 * -------------
 * A job that raised and whose exception nobody retrieved (job(),
 * result(), exception()) is lost once nobody can retrieve it any more:
 * when it completes with no reference left but the runtime's own (a
 * fire-and-forget submit), or when its last handle goes (tp_finalize).
 * Then it is logged once (logger "weft", with its traceback), counted
 * (stats()["jobs_failed_unseen"]), and kept for the next wait() of its
 * group, or of the whole runtime, which raises TaskError for it: each lost
 * failure is raised by one wait. Never raises; GIL held. */
static void lost_record(WpyJob *j) {
    j->seen = 1;
    wpy_core *c = j->rt ? j->rt->c : NULL;
    if (!c) return; /* closed: only logged */
    c->lost_total++;
    uint64_t *n = j->group ? &j->group->lost_n : &c->lost_n;
    PyObject **first = j->group ? &j->group->lost : &c->lost;
    (*n)++;
    if (!*first) {
        PyObject *name = job_name(j);
        *first = name ? PyTuple_Pack(2, name, j->exc) : NULL;
        Py_XDECREF(name);
        if (!*first) PyErr_Clear();
    }
}

static void lost_log(WpyJob *j) {
    if (!hook_lost || wpy_finalizing()) return;
    PyObject *name = job_name(j);
    PyObject *r = name ? PyObject_CallFunctionObjArgs(hook_lost, name, j->exc, NULL) : NULL;
    if (!r) PyErr_WriteUnraisable(hook_lost);
    Py_XDECREF(r);
    Py_XDECREF(name);
}

/* After a job completed (done, failed or cancelled): wakes the waiters of
 * concurrent.futures.wait/as_completed and calls the done callbacks (each
 * once: the list is dropped). Python code: the GIL may be released
 * meanwhile. Never raises. */
static void fire_done(WpyJob *j) {
    if (!fut_watched(j) || !hook_done || wpy_finalizing()) return;
    PyObject *f = Py_NewRef(j->fut); /* the callbacks may drop the job's */
    PyObject *cbs = Py_NewRef(PyList_GET_ITEM(f, FUT_CBS));
    fut_set(j, FUT_CBS, Py_NewRef(Py_None)); /* each called once */
    PyObject *r = PyObject_CallFunctionObjArgs(hook_done, (PyObject *)j,
                                               PyList_GET_ITEM(f, FUT_COND),
                                               PyList_GET_ITEM(f, FUT_WAITERS), cbs, NULL);
    if (!r) PyErr_WriteUnraisable(hook_done);
    Py_XDECREF(r);
    Py_DECREF(cbs);
    Py_DECREF(f);
}

/* Runs a popped job and completes it; consumes the queue's reference.
 * `internal`: the references the binding itself holds on j (the queue's,
 * a runner's, a direct job's task's): more than that means a handle
 * exists. *clock: the time the job starts (ns), set to when it ended.
 * wall_busy: count the job's wall time as busy (a waiting thread's jobs;
 * drain tasks count their thread's CPU time per run of jobs instead).
 * Returns 1 when the job was stopped by KeyboardInterrupt (Ctrl-C reaching
 * a job that the waiting main thread ran itself): that thread passes it on
 * to its caller. GIL held. */
static int run_job(wpy_core *c, WpyJob *j, int slot, Py_ssize_t internal, int64_t *clock,
                   int wall_busy) {
    WpyJob *outer = tl_current;
    tl_current = j;
    j->t_start = *clock;
    PyObject *res = PyObject_Vectorcall(j->fn, j->args, (size_t)Py_SIZE(j), NULL);
    PyObject *cb = j->fut ? PyList_GET_ITEM(j->fut, FUT_CALLBACK) : Py_None;
    if (res && cb != Py_None) {
        /* callback(result, *callbackargs); an exception in it fails the job */
        PyObject *cbargs = PyList_GET_ITEM(j->fut, FUT_CBARGS);
        Py_ssize_t nc = cbargs != Py_None ? PyTuple_GET_SIZE(cbargs) : 0;
        PyObject *small[8], **cargv = small;
        if (nc + 1 > 8) cargv = PyMem_Malloc((size_t)(nc + 1) * sizeof *cargv);
        PyObject *r = NULL;
        if (cargv) {
            cargv[0] = res;
            for (Py_ssize_t i = 0; i < nc; i++) cargv[i + 1] = PyTuple_GET_ITEM(cbargs, i);
            r = PyObject_Vectorcall(cb, cargv, (size_t)nc + 1, NULL);
            if (cargv != small) PyMem_Free(cargv);
        } else {
            PyErr_NoMemory();
        }
        if (r) Py_DECREF(r);
        else Py_CLEAR(res);
    }
    int interrupted = 0, final, lost = 0;
    j->t_end = *clock = now_ns();
    if (res) {
        j->result = res;
        final = J_DONE;
    } else {
        j->exc = wpy_fetch_exception();
        interrupted = PyErr_GivenExceptionMatches(j->exc, PyExc_KeyboardInterrupt);
        c->failed++;
        if (j->group) j->group->failed++;
        final = J_FAILED;
        /* nobody holds the job, and nobody will be handed it: lost now,
         * recorded and logged before waiters can see it complete (so that
         * a wait() that returns has the log record and raises for it) */
        lost = !interrupted && Py_REFCNT(j) <= internal && !fut_watched(j);
        if (lost) {
            lost_record(j);
            lost_log(j);
        }
    }
    c->ws[slot].jobs++;
    if (wall_busy) c->ws[slot].busy_ns += j->t_end - j->t_start;
    tl_current = outer;
    if (j->group) atomic_fetch_sub(&j->group->pending, 1);
    atomic_fetch_sub(&c->pending, 1);
    atomic_store(&j->state, final); /* seq_cst: then read waiters in notify */
    notify(c);
    if (j->fut) fire_done(j);
    if (j->fut || lost) *clock = now_ns(); /* Python code ran: the next job starts now */
    Py_DECREF(j); /* the queue's reference: may free the job */
    return interrupted;
}

/* Cancels queued job j: out of its queue, complete as cancelled, its
 * waiters woken and done callbacks called. GIL held. */
static void cancel_queued(wpy_core *c, WpyJob *j) {
    queue_take(c, j); /* the queue's reference passes to us */
    j->t_end = now_ns();
    c->cancelled++;
    if (j->group) atomic_fetch_sub(&j->group->pending, 1);
    atomic_fetch_sub(&c->pending, 1);
    atomic_store(&j->state, J_CANCELLED); /* seq_cst: then read waiters */
    notify(c);
    fire_done(j);
    Py_DECREF(j);
}

/* A job submitted from inside a run (a graph node, or work a node
 * spawned): a weft task of its own, spawned from that work, so that it
 * works for the same run (weft_current_run, hence weft.cancelled()) and
 * the run completes only after it, as the graph layer promises for work
 * a node spawned. A thread that waits for it first runs it itself (see
 * wait_for_in); the task then only drops its reference. GIL not held. */
static int direct_fn(void *arg, void **result) {
    (void)result;
    WpyJob *j = arg;
    if (wpy_finalizing()) return 0; /* no GIL any more: the job is left as it is */
    PyGILState_STATE st = wpy_gil_ensure();
    if (atomic_load_explicit(&j->state, memory_order_relaxed) == J_QUEUED) {
        wpy_core *c = j->rt->c;
        queue_take(c, j);
        int slot = stats_slot(c);
        batch_clock b;
        batch_begin(&b);
        int64_t t = b.wall0;
        run_job(c, j, slot, 2, &t, 0);
        c->ws[slot].busy_ns += batch_end(&b);
    }
    Py_DECREF(j); /* the task's reference */
    wpy_gil_release(st);
    return 0;
}

/* A drain task: see the design notes. Runs on a weft worker, GIL not held.
 * It only touches the core until it decides to leave. */
static int token_fn(void *arg, void **result) {
    (void)result;
    wpy_core *c = arg;
    for (;;) {
        if (atomic_load(&c->queued) > 0 && !wpy_finalizing()) {
            PyGILState_STATE st = wpy_gil_ensure();
            int slot = stats_slot(c);
            batch_clock b;
            batch_begin(&b);
            int64_t t = b.wall0;
            WpyJob *j;
            while ((j = queue_pop(c)) != NULL) run_job(c, j, slot, 1, &t, 0);
            c->ws[slot].busy_ns += batch_end(&b); /* not the GIL waits */
            wpy_gil_release(st);
            continue;
        }
        atomic_fetch_sub(&c->tokens, 1); /* seq_cst, then re-read queued */
        if (atomic_load(&c->queued) == 0 || wpy_finalizing()) return 0;
        /* a job arrived meanwhile and its submitter may have seen no room
         * for a new drain task: stay, if there still is room */
        int t = atomic_load(&c->tokens), lim = weft_runtime_workers(c->rt);
        for (;;) {
            if (t >= lim) return 0;
            if (atomic_compare_exchange_weak(&c->tokens, &t, t + 1)) break;
        }
    }
}

/* Starts a drain task if fewer than the worker count are in flight. */
static void kick(wpy_core *c) {
    int lim = weft_runtime_workers(c->rt);
    if (lim < 1) lim = 1;
    int t = atomic_load(&c->tokens);
    while (t < lim) {
        if (atomic_compare_exchange_weak(&c->tokens, &t, t + 1)) {
            if (weft_submit(c->rt, token_fn, c, NULL, NULL) != 0)
                atomic_fetch_sub(&c->tokens, 1); /* a waiter will run the job itself */
            return;
        }
    }
}

/* ------------------------------------------------------------------ */
/* waiting                                                             */

typedef struct wait_target {
    WpyJob *job;     /* wait for this job, or */
    WpyGroup *group; /* for every job of this group, or (both NULL) */
} wait_target;       /* for every job of the runtime */

static int target_done(wpy_core *c, const wait_target *w) {
    if (w->job) return atomic_load(&w->job->state) >= J_DONE;
    if (w->group) return atomic_load(&w->group->pending) == 0;
    return atomic_load(&c->pending) == 0;
}

/* Runs queued job h here (taken out of the queue already). Returns -1
 * with the exception set when it was interrupted (KeyboardInterrupt), else
 * 0. */
static int run_here(wpy_core *c, WpyJob *h, int slot) {
    Py_INCREF(h); /* keep it to re-raise its exception */
    int64_t t = now_ns();
    /* internal references: the queue's and ours, and a direct job's task's */
    int interrupted = run_job(c, h, slot, h->direct ? 3 : 2, &t, 1);
    if (interrupted) {
        h->seen = 1;
        reraise(h->exc);
    }
    Py_DECREF(h);
    return interrupted ? -1 : 0;
}

/* Waits (GIL held on entry and exit) until the target is complete: 1; or
 * timeout_s (negative: none) passed: 0; or an exception: -1.
 *
 * Helping: a job that has not started is taken out of the queue and run
 * here, at once (no GIL hand-off, and the latency of job() is the job's
 * own); a wait for every job runs any queued job. A group wait only sleeps:
 * running another group's job could keep it busy far beyond its group. Only
 * the awaited job is ever run by a job waiter, so nesting follows the
 * program's own dependencies and never piles up.
 *
 * A wait with a timeout never helps: a job run here could not be stopped
 * when the time is up (result(0.01) of a queued job that takes 0.5 s would
 * return after 0.5 s). It only sleeps, and the workers run the jobs. */
static int wait_for_in(wpy_core *c, const wait_target *w, double timeout_s);

static int wait_for(wpy_core *c, const wait_target *w, double timeout_s) {
    atomic_fetch_add(&c->users, 1);
    int r = wait_for_in(c, w, timeout_s);
    atomic_fetch_sub(&c->users, 1);
    return r;
}

static int wait_for_in(wpy_core *c, const wait_target *w, double timeout_s) {
    int64_t deadline = timeout_s >= 0 ? now_ns() + (int64_t)(timeout_s * 1e9) : 0;
    int help = timeout_s < 0, slot = stats_slot(c);
    for (;;) {
        if (target_done(c, w)) return 1;
        if (!help) {
            /* only sleeps: see above */
        } else if (w->job) {
            if (atomic_load_explicit(&w->job->state, memory_order_relaxed) == J_QUEUED) {
                queue_take(c, w->job);
                if (run_here(c, w->job, slot) < 0) return -1;
                continue;
            }
        } else if (!w->group) {
            WpyJob *h;
            while ((h = queue_pop(c)) != NULL || (h = c->dhead) != NULL) {
                if (h == c->dhead) queue_take(c, h); /* a direct job: its task lets it go */
                if (run_here(c, h, slot) < 0) return -1;
                if (PyErr_CheckSignals() < 0) return -1;
                if (target_done(c, w)) return 1;
                if (deadline && now_ns() >= deadline) return 0;
            }
        }
        if (PyErr_CheckSignals() < 0) return -1;
        double slice = WPY_WAIT_SLICE_S;
        if (deadline) {
            int64_t left = deadline - now_ns();
            if (left <= 0) return target_done(c, w);
            if ((double)left / 1e9 < slice) slice = (double)left / 1e9;
        }
        /* on the remote jobs' completion thread (a callback that waits):
         * nobody else completes them, so it does, here */
        if (c->remote && wpy_remote_help(c->remote, slice)) continue;
        Py_BEGIN_ALLOW_THREADS
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns = ts.tv_nsec + (int64_t)(slice * 1e9);
        ts.tv_sec += (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        atomic_fetch_add(&c->waiters, 1); /* seq_cst: then re-check under the mutex */
        pthread_mutex_lock(&c->mu);
        if (!target_done(c, w)) pthread_cond_timedwait(&c->cv, &c->mu, &ts);
        pthread_mutex_unlock(&c->mu);
        atomic_fetch_sub(&c->waiters, 1);
        Py_END_ALLOW_THREADS
    }
}

/* ------------------------------------------------------------------ */
/* Job                                                                 */

static int job_traverse(WpyJob *j, visitproc visit, void *arg) {
    Py_VISIT(j->rt);
    Py_VISIT(j->group);
    Py_VISIT(j->fn);
    Py_VISIT(j->result);
    Py_VISIT(j->exc);
    Py_VISIT(j->fut);
    for (Py_ssize_t i = 0; i < Py_SIZE(j); i++) Py_VISIT(j->args[i]);
    return 0;
}

static int job_clear(WpyJob *j) {
    /* The collector only clears jobs that are complete: a queued or running
     * job is held by the queue or its runner, which the collector cannot
     * see, so it never looks unreachable. */
    Py_CLEAR(j->rt);
    Py_CLEAR(j->group);
    Py_CLEAR(j->fn);
    Py_CLEAR(j->result);
    Py_CLEAR(j->exc);
    Py_CLEAR(j->fut);
    for (Py_ssize_t i = 0; i < Py_SIZE(j); i++) Py_CLEAR(j->args[i]);
    return 0;
}

/* The last handle of a failed job went before anyone retrieved its
 * exception: a lost failure (see "Lost failures"). Runs once per job,
 * before tp_clear for garbage cycles. */
static void job_finalize(WpyJob *j) {
    if (j->seen || !j->exc || atomic_load(&j->state) != J_FAILED) return;
    if (wpy_finalizing()) return;
    WPY_SAVE_ERROR(saved);
    lost_record(j);
    lost_log(j);
    WPY_RESTORE_ERROR(saved);
}

static void job_dealloc(WpyJob *j) {
    /* the finalizer only has work for an unseen failure: the test first */
    if (j->exc && !j->seen && PyObject_CallFinalizerFromDealloc((PyObject *)j) < 0)
        return; /* resurrected */
    PyObject_GC_UnTrack(j);
    job_clear(j);
    PyObject_GC_Del(j);
}

static PyObject *job_name(WpyJob *j) {
    if (!j->fn) return PyUnicode_FromString("?");
    PyObject *n = PyObject_GetAttrString(j->fn, "__qualname__");
    if (n && PyUnicode_Check(n)) return n;
    Py_XDECREF(n);
    PyErr_Clear();
    return PyObject_Repr(j->fn);
}

/* The outcome of a complete job: its result, or TaskError. */
static PyObject *job_outcome(WpyJob *j) {
    int st = atomic_load(&j->state);
    if (st == J_DONE) return Py_NewRef(j->result);
    if (st == J_CANCELLED) {
        PyErr_SetNone(cancelled_error ? cancelled_error : PyExc_RuntimeError);
        return NULL;
    }
    j->seen = 1;
    PyObject *te = wpy_task_error_class();
    if (j->remote && te && PyObject_TypeCheck(j->exc, (PyTypeObject *)te)) {
        /* the report of a task that raised in a worker process: already a
         * TaskError naming the job, the node and the worker. For an
         * Executor's job, the task's own exception when it came back */
        PyObject *orig = j->raw ? PyObject_GetAttrString(j->exc, "exception") : NULL;
        if (!orig) PyErr_Clear();
        reraise(orig && orig != Py_None ? orig : j->exc);
        Py_XDECREF(orig);
        return NULL;
    }
    if (j->raw) {
        reraise(j->exc);
        return NULL;
    }
    PyObject *name = job_name(j);
    if (!name) return NULL;
    PyObject *what = PyObject_Str(j->exc);
    if (!what) {
        Py_DECREF(name);
        return NULL;
    }
    PyObject *msg = PyUnicode_FromFormat("job %U raised %s: %U", name, Py_TYPE(j->exc)->tp_name,
                                         what);
    Py_DECREF(what);
    if (!msg) {
        Py_DECREF(name);
        return NULL;
    }
    const char *m = PyUnicode_AsUTF8(msg);
    if (m) wpy_raise_task_error(m, name, j->exc);
    Py_DECREF(msg);
    Py_DECREF(name);
    return NULL;
}

/* Waits for the job; 1 complete, 0 timeout, -1 exception. */
static int job_wait(WpyJob *j, double timeout_s) {
    if (atomic_load(&j->state) >= J_DONE) return 1;
    if (j == tl_current) {
        wpy_raise(WEFT_EPERM, "a job cannot wait for itself");
        return -1;
    }
    wpy_core *c = j->rt->c;
    if (!c) { /* cannot happen: close() waits for every job */
        wpy_raise(WEFT_EDESTROYED, NULL);
        return -1;
    }
    Py_INCREF(j->rt); /* the core lives while its runtime object does */
    wait_target w = {j, NULL};
    int r = wait_for(c, &w, timeout_s);
    Py_DECREF(j->rt);
    return r;
}

static PyObject *job_result(WpyJob *j, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames) {
    PyObject *t = NULL;
    if (nargs > 1 || (kwnames && PyTuple_GET_SIZE(kwnames) > 1)) {
        PyErr_SetString(PyExc_TypeError, "result() takes one argument: timeout");
        return NULL;
    }
    if (nargs == 1) t = args[0];
    else if (kwnames && PyTuple_GET_SIZE(kwnames) == 1) {
        if (PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "timeout") != 0) {
            PyErr_SetString(PyExc_TypeError, "result() takes one argument: timeout");
            return NULL;
        }
        t = args[0];
    }
    double timeout;
    if (parse_timeout(t, &timeout) < 0) return NULL;
    int r = job_wait(j, timeout);
    if (r < 0) return NULL;
    if (r == 0) {
        PyErr_SetString(PyExc_TimeoutError, "the job did not complete in time");
        return NULL;
    }
    return job_outcome(j);
}

/* job(): waits and returns the result (pp's job()). */
static PyObject *job_call(WpyJob *j, PyObject *args, PyObject *kw) {
    if (PyTuple_GET_SIZE(args) || (kw && PyDict_GET_SIZE(kw))) {
        PyErr_SetString(PyExc_TypeError, "a job is called without arguments; "
                                         "use job.result(timeout) for a timeout");
        return NULL;
    }
    if (atomic_load(&j->state) == J_DONE) return Py_NewRef(j->result);
    int r = job_wait(j, -1);
    if (r < 0) return NULL;
    return job_outcome(j);
}

static PyObject *job_exception(WpyJob *j, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"timeout", NULL};
    PyObject *t = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:exception", kwlist, &t)) return NULL;
    double timeout;
    if (parse_timeout(t, &timeout) < 0) return NULL;
    int r = job_wait(j, timeout);
    if (r < 0) return NULL;
    if (r == 0) {
        PyErr_SetString(PyExc_TimeoutError, "the job did not complete in time");
        return NULL;
    }
    if (atomic_load(&j->state) == J_CANCELLED) {
        PyErr_SetNone(cancelled_error ? cancelled_error : PyExc_RuntimeError);
        return NULL;
    }
    j->seen = 1;
    PyObject *te = wpy_task_error_class();
    if (j->remote && j->exc && te && PyObject_TypeCheck(j->exc, (PyTypeObject *)te)) {
        /* a worker's report: the task's own exception when it came back */
        PyObject *orig = PyObject_GetAttrString(j->exc, "exception");
        if (orig && orig != Py_None) return orig;
        Py_XDECREF(orig);
        PyErr_Clear();
    }
    return Py_NewRef(j->exc ? j->exc : Py_None);
}

static PyObject *job_done(WpyJob *j, PyObject *unused) {
    (void)unused;
    return PyBool_FromLong(atomic_load(&j->state) >= J_DONE);
}

static PyObject *job_get_status(WpyJob *j, void *unused) {
    (void)unused;
    static const char *names[] = {"queued", "running", "done", "failed", "cancelled"};
    int st = atomic_load(&j->state);
    return PyUnicode_FromString(names[st >= 0 && st <= J_CANCELLED ? st : 0]);
}

/* cancel(): a queued job is taken out of the queue and completes as
 * cancelled (True); a running or complete one is left alone (False),
 * unless it was cancelled already (True). */
static PyObject *job_cancel(WpyJob *j, PyObject *unused) {
    (void)unused;
    int st = atomic_load(&j->state);
    if (st == J_QUEUED && j->rt && j->rt->c) {
        cancel_queued(j->rt->c, j);
        Py_RETURN_TRUE;
    }
    if (st == J_RUNNING && j->remote && j->rdata) {
        wpy_remote_cancel(j->rdata); /* completes it as cancelled */
        Py_RETURN_TRUE;
    }
    return PyBool_FromLong(st == J_CANCELLED);
}

static PyObject *job_set_raw(WpyJob *j, PyObject *unused) {
    (void)unused;
    j->raw = 1;
    Py_RETURN_NONE;
}

static PyObject *job_cancelled(WpyJob *j, PyObject *unused) {
    (void)unused;
    return PyBool_FromLong(atomic_load(&j->state) == J_CANCELLED);
}

static PyObject *job_running(WpyJob *j, PyObject *unused) {
    (void)unused;
    /* a remote job may still wait in the cluster's queue: not known here */
    return PyBool_FromLong(atomic_load(&j->state) == J_RUNNING && !j->remote);
}

/* add_done_callback(fn): fn(job) once the job is complete (done, failed or
 * cancelled), on the thread that completed it; at once, here, if it is
 * complete already. An exception in fn is logged (logger "weft") and
 * ignored. The job holds fn until it has called it. */
static PyObject *job_add_done_callback(WpyJob *j, PyObject *fn) {
    if (!PyCallable_Check(fn)) {
        PyErr_Format(PyExc_TypeError, "add_done_callback: fn must be callable, not %.100s",
                     Py_TYPE(fn)->tp_name);
        return NULL;
    }
    if (atomic_load(&j->state) >= J_DONE) {
        PyObject *one = PyList_New(1);
        if (!one) return NULL;
        PyList_SET_ITEM(one, 0, Py_NewRef(fn));
        PyObject *r = hook_done ? PyObject_CallFunctionObjArgs(hook_done, (PyObject *)j, Py_None,
                                                               Py_None, one, NULL)
                                : PyObject_CallOneArg(fn, (PyObject *)j);
        Py_DECREF(one);
        if (!r) return NULL;
        Py_DECREF(r);
        Py_RETURN_NONE;
    }
    PyObject *cbs = fut_get(j, FUT_CBS);
    if (!cbs) return NULL;
    if (cbs == Py_None) {
        if (!(cbs = PyList_New(0))) return NULL;
        fut_set(j, FUT_CBS, cbs);
    }
    if (PyList_Append(cbs, fn) < 0) return NULL;
    Py_RETURN_NONE;
}

/* concurrent.futures' protocol, read by its wait() and as_completed():
 * _condition, _waiters, _state. */
static PyObject *job_get_condition(WpyJob *j, void *unused) {
    (void)unused;
    PyObject *cond = fut_get(j, FUT_COND);
    if (!cond) return NULL;
    if (cond == Py_None) {
        if (!make_condition) return wpy_raise(WEFT_EINVAL, "weft is not set up");
        if (!(cond = PyObject_CallNoArgs(make_condition))) return NULL;
        fut_set(j, FUT_COND, cond);
    }
    return Py_NewRef(cond);
}

static PyObject *job_get_waiters(WpyJob *j, void *unused) {
    (void)unused;
    PyObject *w = fut_get(j, FUT_WAITERS);
    if (!w) return NULL;
    if (w == Py_None) {
        if (!(w = PyList_New(0))) return NULL;
        fut_set(j, FUT_WAITERS, w);
    }
    return Py_NewRef(w);
}

static PyObject *job_get_state(WpyJob *j, void *unused) {
    (void)unused;
    switch (atomic_load(&j->state)) {
    case J_QUEUED: return PyUnicode_FromString("PENDING");
    case J_RUNNING: return PyUnicode_FromString("RUNNING");
    case J_CANCELLED: return PyUnicode_FromString("CANCELLED_AND_NOTIFIED");
    default: return PyUnicode_FromString("FINISHED");
    }
}

/* ipyparallel's timings: elapsed (from submit to completion, or to now),
 * serial_time (the time the job ran; 0 before it started). */
static PyObject *job_get_elapsed(WpyJob *j, void *unused) {
    (void)unused;
    int64_t end = atomic_load(&j->state) >= J_DONE ? j->t_end : now_ns();
    return PyFloat_FromDouble((double)(end - j->t_submit) / 1e9);
}

/* (submitted, started, ended) on time.monotonic()'s clock (CLOCK_MONOTONIC
 * on Linux), None for what did not happen yet. */
static PyObject *job_get_times(WpyJob *j, void *unused) {
    (void)unused;
    int st = atomic_load(&j->state);
    PyObject *a = PyFloat_FromDouble((double)j->t_submit / 1e9);
    PyObject *b = st != J_QUEUED && j->t_start ? PyFloat_FromDouble((double)j->t_start / 1e9)
                                               : Py_NewRef(Py_None);
    PyObject *c = st >= J_DONE ? PyFloat_FromDouble((double)j->t_end / 1e9) : Py_NewRef(Py_None);
    if (!a || !b || !c) {
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_XDECREF(c);
        return NULL;
    }
    PyObject *t = PyTuple_Pack(3, a, b, c);
    Py_DECREF(a);
    Py_DECREF(b);
    Py_DECREF(c);
    return t;
}

/* _wait(timeout=None) -> bool: waits like result() without retrieving
 * anything (the failure stays unseen). */
static PyObject *job_wait_m(WpyJob *j, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"timeout", NULL};
    PyObject *t = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:_wait", kwlist, &t)) return NULL;
    double timeout;
    if (parse_timeout(t, &timeout) < 0) return NULL;
    int r = job_wait(j, timeout);
    if (r < 0) return NULL;
    return PyBool_FromLong(r);
}

static PyObject *job_get_serial_time(WpyJob *j, void *unused) {
    (void)unused;
    int st = atomic_load(&j->state);
    if (st == J_QUEUED || !j->t_start) return PyFloat_FromDouble(0.0);
    int64_t end = st >= J_DONE ? j->t_end : now_ns();
    return PyFloat_FromDouble((double)(end - j->t_start) / 1e9);
}

static PyObject *job_get_fn(WpyJob *j, void *unused) {
    (void)unused;
    return Py_NewRef(j->fn ? j->fn : Py_None);
}

static PyObject *job_get_args(WpyJob *j, void *unused) {
    (void)unused;
    PyObject *t = PyTuple_New(Py_SIZE(j));
    if (!t) return NULL;
    for (Py_ssize_t i = 0; i < Py_SIZE(j); i++)
        PyTuple_SET_ITEM(t, i, Py_NewRef(j->args[i] ? j->args[i] : Py_None));
    return t;
}

static PyObject *job_get_group(WpyJob *j, void *unused) {
    (void)unused;
    return Py_NewRef(j->group ? (PyObject *)j->group : Py_None);
}

static PyObject *job_repr(WpyJob *j) {
    PyObject *name = job_name(j), *st = job_get_status(j, NULL);
    PyObject *r = name && st ? PyUnicode_FromFormat("<weft.Job %U %U>", name, st) : NULL;
    Py_XDECREF(name);
    Py_XDECREF(st);
    return r;
}

static PyObject *job_call_m(WpyJob *j, PyObject *unused) {
    (void)unused;
    PyObject *args = PyTuple_New(0);
    if (!args) return NULL;
    PyObject *r = job_call(j, args, NULL);
    Py_DECREF(args);
    return r;
}

static PyMethodDef job_methods[] = {
    /* job() goes through tp_call; this entry gives __call__ its signature
     * (inspect.signature(job)) */
    {"__call__", (PyCFunction)job_call_m, METH_NOARGS | METH_COEXIST,
     "__call__($self, /)\n--\n\n"
     "job(): waits and returns the result (Parallel Python's job())."},
    {"result", (PyCFunction)(void (*)(void))job_result, METH_FASTCALL | METH_KEYWORDS,
     "result($self, /, timeout=None)\n--\n\n"
     "Waits for the job and returns its result, or raises weft.TaskError (its\n"
     "__cause__ is the task's exception); TimeoutError if the timeout passed\n"
     "first; concurrent.futures.CancelledError if it was cancelled. A wait\n"
     "without a timeout runs a job not yet started right here; with one, it\n"
     "only sleeps (the workers run it), so the timeout holds."},
    {"exception", (PyCFunction)(void (*)(void))job_exception, METH_VARARGS | METH_KEYWORDS,
     "exception($self, /, timeout=None)\n--\n\n"
     "Waits; the exception the task raised, or None (CancelledError if the\n"
     "job was cancelled)."},
    {"done", (PyCFunction)job_done, METH_NOARGS,
     "done($self, /)\n--\n\nTrue once the job is complete (done, failed or cancelled)."},
    {"cancel", (PyCFunction)job_cancel, METH_NOARGS,
     "cancel($self, /)\n--\n\n"
     "Cancels the job if it has not started: True (also if it was cancelled\n"
     "before); False if it runs or ran."},
    {"_wait", (PyCFunction)(void (*)(void))job_wait_m, METH_VARARGS | METH_KEYWORDS,
     "_wait($self, /, timeout=None)\n--\n\n"
     "Waits; True once complete, False on timeout (retrieves nothing)."},
    {"_raw_errors", (PyCFunction)job_set_raw, METH_NOARGS,
     "_raw_errors($self, /)\n--\n\n"
     "result() and job() raise the task's own exception (weft.Executor's jobs)."},
    {"cancelled", (PyCFunction)job_cancelled, METH_NOARGS,
     "cancelled($self, /)\n--\n\nTrue if the job was cancelled."},
    {"running", (PyCFunction)job_running, METH_NOARGS,
     "running($self, /)\n--\n\nTrue while the job runs."},
    {"add_done_callback", (PyCFunction)job_add_done_callback, METH_O,
     "add_done_callback($self, fn, /)\n--\n\n"
     "fn(job) once the job is complete (at once if it is), on the thread that\n"
     "completed it; an exception in fn is logged and ignored."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef job_getset[] = {
    {"status", (getter)job_get_status, NULL,
     "'queued', 'running', 'done', 'failed' or 'cancelled'", NULL},
    {"fn", (getter)job_get_fn, NULL, "the function the job runs", NULL},
    {"args", (getter)job_get_args, NULL, "the arguments it runs with (a tuple)", NULL},
    {"group", (getter)job_get_group, NULL, "the job's Group, or None", NULL},
    {"elapsed", (getter)job_get_elapsed, NULL,
     "seconds from submit to completion (to now while not complete)", NULL},
    {"serial_time", (getter)job_get_serial_time, NULL,
     "seconds the job ran (so far; 0 before it started)", NULL},
    {"_condition", (getter)job_get_condition, NULL, "concurrent.futures' protocol", NULL},
    {"_waiters", (getter)job_get_waiters, NULL, "concurrent.futures' protocol", NULL},
    {"_state", (getter)job_get_state, NULL, "concurrent.futures' protocol", NULL},
    {"_times", (getter)job_get_times, NULL,
     "(submitted, started, ended) on time.monotonic()'s clock, None if not yet", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject JobType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "weft.Job",
    .tp_basicsize = offsetof(WpyJob, args),
    .tp_itemsize = sizeof(PyObject *),
    .tp_dealloc = (destructor)job_dealloc,
    .tp_repr = (reprfunc)job_repr,
    .tp_call = (ternaryfunc)job_call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A submitted Python task (made by Runtime.submit). Calling it, job(),\n"
              "waits and returns the task's result, as Parallel Python's job() does;\n"
              "a task that raised makes it raise weft.TaskError.",
    .tp_traverse = (traverseproc)job_traverse,
    .tp_clear = (inquiry)job_clear,
    .tp_finalize = (destructor)job_finalize,
    .tp_methods = job_methods,
    .tp_getset = job_getset,
};

/* ------------------------------------------------------------------ */
/* Group                                                               */

static int group_traverse(WpyGroup *g, visitproc visit, void *arg) {
    Py_VISIT(g->rt);
    Py_VISIT(g->lost);
    return 0;
}

static int group_clear(WpyGroup *g) {
    Py_CLEAR(g->rt);
    Py_CLEAR(g->lost);
    return 0;
}

static void group_dealloc(WpyGroup *g) {
    PyObject_GC_UnTrack(g);
    group_clear(g);
    Py_CLEAR(g->name);
    PyObject_GC_Del(g);
}

static WpyGroup *group_new(WpyRuntime *rt, PyObject *name) {
    WpyGroup *g = PyObject_GC_New(WpyGroup, &GroupType);
    if (!g) return NULL;
    g->rt = (WpyRuntime *)Py_NewRef(rt);
    g->name = Py_NewRef(name);
    atomic_init(&g->pending, 0);
    g->submitted = g->failed = 0;
    g->lost_n = 0;
    g->lost = NULL;
    PyObject_GC_Track(g);
    return g;
}

static int runtime_wait_target(WpyRuntime *self, wait_target *w, double timeout);

/* Cancels every queued job of group g (NULL: of the runtime); returns how
 * many, or -1 with an exception. The jobs are listed first: cancelling
 * calls done callbacks, Python code during which the queue may change. */
static Py_ssize_t cancel_all(wpy_core *c, WpyGroup *g) {
    PyObject *list = PyList_New(0);
    if (!list) return -1;
    WpyJob *heads[3] = {c->head, c->dhead, c->rhead};
    for (int q = 0; q < 3; q++)
        for (WpyJob *j = heads[q]; j; j = j->next)
            if ((!g || j->group == g) && PyList_Append(list, (PyObject *)j) < 0) {
                Py_DECREF(list);
                return -1;
            }
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
        WpyJob *j = (WpyJob *)PyList_GET_ITEM(list, i);
        if (atomic_load(&j->state) == J_QUEUED && j->rt->c == c) {
            cancel_queued(c, j);
            n++;
        } else if (j->remote && j->rdata && atomic_load(&j->state) == J_RUNNING) {
            wpy_remote_cancel(j->rdata);
            n++;
        }
    }
    Py_DECREF(list);
    return n;
}

static PyObject *group_wait(WpyGroup *g, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"timeout", NULL};
    PyObject *t = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:wait", kwlist, &t)) return NULL;
    double timeout;
    if (parse_timeout(t, &timeout) < 0) return NULL;
    wait_target w = {NULL, g};
    int r = runtime_wait_target(g->rt, &w, timeout);
    if (r < 0) return NULL;
    return PyBool_FromLong(r);
}

static wpy_core *live_core(WpyRuntime *self);
static int resolve_group(WpyRuntime *self, PyObject *o, WpyGroup **out);

static PyObject *group_cancel(WpyGroup *g, PyObject *unused) {
    (void)unused;
    wpy_core *c = g->rt ? live_core(g->rt) : NULL;
    if (!c) return g->rt ? NULL : PyLong_FromLong(0);
    Py_ssize_t n = cancel_all(c, g);
    return n < 0 ? NULL : PyLong_FromSsize_t(n);
}

static PyObject *group_get_pending(WpyGroup *g, void *u) {
    (void)u;
    return PyLong_FromLong(atomic_load(&g->pending));
}
static PyObject *group_get_failed(WpyGroup *g, void *u) {
    (void)u;
    return PyLong_FromUnsignedLongLong(g->failed);
}
static PyObject *group_get_submitted(WpyGroup *g, void *u) {
    (void)u;
    return PyLong_FromUnsignedLongLong(g->submitted);
}
static PyObject *group_get_name(WpyGroup *g, void *u) {
    (void)u;
    return Py_NewRef(g->name);
}
static PyObject *group_get_runtime(WpyGroup *g, void *u) {
    (void)u;
    return Py_NewRef(g->rt ? (PyObject *)g->rt : Py_None);
}

static PyObject *group_repr(WpyGroup *g) {
    return PyUnicode_FromFormat("<weft.Group %R: %ld pending>", g->name,
                                (long)atomic_load(&g->pending));
}

static PyMethodDef group_methods[] = {
    {"wait", (PyCFunction)(void (*)(void))group_wait, METH_VARARGS | METH_KEYWORDS,
     "wait($self, /, timeout=None)\n--\n\n"
     "Waits until no job of the group is pending; True, or False if the\n"
     "timeout passed first. Failed jobs whose handles are kept do not make it\n"
     "raise (see .failed and each job); a lost failure (a job that raised and\n"
     "was dropped unretrieved) makes it raise TaskError, once."},
    {"cancel", (PyCFunction)group_cancel, METH_NOARGS,
     "cancel($self, /)\n--\n\n"
     "Cancels every job of the group not yet started; returns how many."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef group_getset[] = {
    {"pending", (getter)group_get_pending, NULL, "jobs of the group not yet complete", NULL},
    {"failed", (getter)group_get_failed, NULL, "jobs of the group that raised", NULL},
    {"submitted", (getter)group_get_submitted, NULL, "jobs submitted into the group", NULL},
    {"name", (getter)group_get_name, NULL, "the group's name", NULL},
    {"runtime", (getter)group_get_runtime, NULL, "the Runtime the group belongs to", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject GroupType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "weft.Group",
    .tp_basicsize = sizeof(WpyGroup),
    .tp_dealloc = (destructor)group_dealloc,
    .tp_repr = (reprfunc)group_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A named set of jobs of one Runtime (pp's group=...), made by\n"
              "Runtime.group(name) or by submit(..., group=name).",
    .tp_traverse = (traverseproc)group_traverse,
    .tp_clear = (inquiry)group_clear,
    .tp_methods = group_methods,
    .tp_getset = group_getset,
};

/* ------------------------------------------------------------------ */
/* remote jobs: the part wpy_procs.c needs of a job (see wpy.h)        */

void *wpy_runtime_remote(PyObject *rt) {
    wpy_core *c = PyObject_TypeCheck(rt, &RuntimeType) ? ((WpyRuntime *)rt)->c : NULL;
    return c ? c->remote : NULL;
}

int wpy_runtime_set_remote(PyObject *rt, void *remote) {
    if (!PyObject_TypeCheck(rt, &RuntimeType)) {
        PyErr_SetString(PyExc_TypeError, "expected a weft.Runtime");
        return -1;
    }
    wpy_core *c = live_core((WpyRuntime *)rt);
    if (!c) return -1;
    if (c->remote && remote) {
        wpy_raise(WEFT_EBUSY, "this Runtime has its processes and nodes already");
        return -1;
    }
    c->remote = remote;
    return 0;
}

PyObject *wpy_rjob_new(PyObject *rto, PyObject *fn, PyObject *args, PyObject *group,
                       PyObject *callback, PyObject *cbargs, void *rdata) {
    WpyRuntime *self = (WpyRuntime *)rto;
    wpy_core *c = live_core(self);
    if (!c) return NULL;
    WpyGroup *g;
    if (resolve_group(self, group, &g) < 0) return NULL;
    if (callback == Py_None) callback = NULL;
    if (callback && !PyCallable_Check(callback)) {
        PyErr_Format(PyExc_TypeError, "submit(): callback must be callable or None, not %.100s",
                     Py_TYPE(callback)->tp_name);
        return NULL;
    }
    if (cbargs == Py_None) cbargs = NULL;
    if (cbargs && !PyTuple_Check(cbargs)) {
        PyErr_Format(PyExc_TypeError, "submit(): callbackargs must be a tuple, not %.100s",
                     Py_TYPE(cbargs)->tp_name);
        return NULL;
    }
    Py_ssize_t na = PyTuple_GET_SIZE(args);
    WpyJob *j = PyObject_GC_NewVar(WpyJob, &JobType, na);
    if (!j) return NULL;
    j->prev = j->next = NULL;
    j->rt = (WpyRuntime *)Py_NewRef(self);
    j->group = g ? (WpyGroup *)Py_NewRef(g) : NULL;
    j->fn = Py_NewRef(fn);
    j->result = j->exc = NULL;
    j->fut = NULL;
    j->t_submit = j->t_start = now_ns();
    j->t_end = 0;
    atomic_init(&j->state, J_RUNNING);
    j->direct = j->seen = j->raw = 0;
    j->remote = 1;
    j->rdata = rdata;
    for (Py_ssize_t i = 0; i < na; i++) j->args[i] = Py_NewRef(PyTuple_GET_ITEM(args, i));
    if (callback) {
        if (!fut_get(j, FUT_CALLBACK)) {
            Py_DECREF(j);
            return NULL;
        }
        fut_set(j, FUT_CALLBACK, Py_NewRef(callback));
        if (cbargs && PyTuple_GET_SIZE(cbargs)) fut_set(j, FUT_CBARGS, Py_NewRef(cbargs));
    }
    PyObject_GC_Track(j);
    c->submitted++;
    atomic_fetch_add_explicit(&c->pending, 1, memory_order_relaxed);
    if (g) {
        g->submitted++;
        atomic_fetch_add_explicit(&g->pending, 1, memory_order_relaxed);
    }
    /* the remote list's reference */
    Py_INCREF(j);
    j->prev = c->rtail;
    if (c->rtail) c->rtail->next = j;
    else c->rhead = j;
    c->rtail = j;
    return (PyObject *)j;
}

void *wpy_rjob_data(PyObject *job) { return ((WpyJob *)job)->rdata; }

PyObject *wpy_rjob_fn(PyObject *job) { return ((WpyJob *)job)->fn; }

PyObject *wpy_rjob_args(PyObject *job) { return job_get_args((WpyJob *)job, NULL); }

void wpy_rjob_finish(PyObject *job, PyObject *res, PyObject *exc, int cancelled) {
    WpyJob *j = (WpyJob *)job;
    wpy_core *c = j->rt->c;
    j->rdata = NULL;
    if (cancelled) {
        Py_XDECREF(res);
        Py_XDECREF(exc);
        res = exc = NULL;
    }
    PyObject *cb = j->fut ? PyList_GET_ITEM(j->fut, FUT_CALLBACK) : Py_None;
    if (res && cb != Py_None) {
        /* callback(result, *callbackargs) here, in this process, as for a
         * job on a thread; an exception in it fails the job */
        PyObject *cbargs = PyList_GET_ITEM(j->fut, FUT_CBARGS);
        PyObject *one = cbargs != Py_None ? PyTuple_Pack(1, res) : NULL;
        PyObject *all = one ? PySequence_Concat(one, cbargs) : NULL;
        Py_XDECREF(one);
        PyObject *r = NULL;
        WpyJob *outer = tl_current;
        tl_current = j; /* waits for itself, its group or runtime: EPERM */
        if (cbargs == Py_None) r = PyObject_CallOneArg(cb, res);
        else if (all) r = PyObject_Call(cb, all, NULL);
        tl_current = outer;
        Py_XDECREF(all);
        if (r) Py_DECREF(r);
        else {
            Py_CLEAR(res);
            exc = wpy_fetch_exception();
        }
    }
    int final, lost = 0;
    j->t_end = now_ns();
    if (cancelled) {
        c->cancelled++;
        final = J_CANCELLED;
    } else if (res) {
        j->result = res;
        final = J_DONE;
    } else {
        j->exc = exc ? exc : Py_NewRef(Py_None);
        c->failed++;
        if (j->group) j->group->failed++;
        final = J_FAILED;
        lost = Py_REFCNT(j) <= 1 && !fut_watched(j); /* only the list holds it */
        if (lost) {
            lost_record(j);
            lost_log(j);
        }
    }
    if (j->prev) j->prev->next = j->next;
    else c->rhead = j->next;
    if (j->next) j->next->prev = j->prev;
    else c->rtail = j->prev;
    j->prev = j->next = NULL;
    if (j->group) atomic_fetch_sub(&j->group->pending, 1);
    atomic_fetch_sub(&c->pending, 1);
    atomic_store(&j->state, final); /* seq_cst: then read waiters in notify */
    notify(c);
    if (j->fut) fire_done(j);
    Py_DECREF(j); /* the list's reference: may free the job */
}

/* ------------------------------------------------------------------ */
/* RuntimeBase                                                         */

static wpy_core *live_core(WpyRuntime *self) {
    if (!self->c) {
        if (!self->groups)
            PyErr_SetString(PyExc_RuntimeError, "Runtime.__init__ was not called");
        else
            wpy_raise(WEFT_EDESTROYED, "this Runtime is closed");
        return NULL;
    }
    return self->c;
}

weft_runtime_t *wpy_runtime_of(PyObject *obj) {
    if (!PyObject_TypeCheck(obj, &RuntimeType)) {
        PyErr_Format(PyExc_TypeError, "expected a weft.Runtime, not %.100s", Py_TYPE(obj)->tp_name);
        return NULL;
    }
    wpy_core *c = live_core((WpyRuntime *)obj);
    return c ? c->rt : NULL;
}

static PyObject *runtime_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    (void)args;
    (void)kw;
    WpyRuntime *self = (WpyRuntime *)type->tp_alloc(type, 0);
    return (PyObject *)self;
}

static int runtime_init(WpyRuntime *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"workers", NULL};
    PyObject *wo = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:Runtime", kwlist, &wo)) return -1;
    if (self->c) {
        PyErr_SetString(PyExc_RuntimeError, "Runtime.__init__ called twice");
        return -1;
    }
    long n = 0;
    if (wo && wo != Py_None) {
        if (!PyLong_Check(wo) || PyBool_Check(wo)) {
            PyErr_Format(PyExc_TypeError, "workers must be an int (0: automatic), not %.100s",
                         Py_TYPE(wo)->tp_name);
            return -1;
        }
        n = PyLong_AsLong(wo);
        if (n == -1 && PyErr_Occurred()) return -1;
        if (n < 0 || n > WEFT_MAX_WORKERS) {
            PyErr_Format(PyExc_ValueError, "workers must be in 0..%d (0: automatic), not %ld",
                         WEFT_MAX_WORKERS, n);
            return -1;
        }
    }
    destroy_dead_cores();
    if (!self->groups && !(self->groups = PyDict_New())) return -1;
    int rc;
    wpy_core *c = core_new((int)n, &rc);
    if (!c) {
        wpy_raise(rc, "cannot start the runtime");
        return -1;
    }
    self->c = c;
    return 0;
}

static int runtime_traverse(WpyRuntime *self, visitproc visit, void *arg) {
    Py_VISIT(self->groups);
    if (self->c) Py_VISIT(self->c->lost); /* its traceback may lead back here */
    return 0;
}

static int runtime_clear(WpyRuntime *self) {
    Py_CLEAR(self->groups);
    if (self->c) Py_CLEAR(self->c->lost);
    return 0;
}

static void runtime_dealloc(WpyRuntime *self) {
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakreflist) PyObject_ClearWeakRefs((PyObject *)self);
    runtime_clear(self);
    wpy_core *c = self->c;
    self->c = NULL;
    if (c) {
        /* Every job holds its runtime, so nothing is queued or running here.
         * On a weft worker (the last reference went with a job that worker
         * ran) the runtime cannot be destroyed: the next Runtime(), close()
         * or the exit handler does it. */
        if (c->remote) {
            void *r = c->remote;
            c->remote = NULL;
            wpy_remote_close(r);
        }
        if (weft_current_worker() >= 0 || core_destroy(c) != 0) {
            c->next_dead = dead_cores;
            dead_cores = c;
        }
    }
    tp->tp_free((PyObject *)self);
}

/* Finds or makes the named group. Returns a borrowed reference. */
static WpyGroup *runtime_group_named(WpyRuntime *self, PyObject *name) {
    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError, "a group name must be a str, not %.100s",
                     Py_TYPE(name)->tp_name);
        return NULL;
    }
    if (!self->groups) {
        live_core(self);
        return NULL;
    }
    PyObject *g = PyDict_GetItemWithError(self->groups, name);
    if (g) return (WpyGroup *)g;
    if (PyErr_Occurred()) return NULL;
    WpyGroup *ng = group_new(self, name);
    if (!ng) return NULL;
    int rc = PyDict_SetItem(self->groups, name, (PyObject *)ng);
    Py_DECREF(ng);
    return rc < 0 ? NULL : ng;
}

static PyObject *runtime_group(WpyRuntime *self, PyObject *name) {
    if (!live_core(self)) return NULL;
    WpyGroup *g = runtime_group_named(self, name);
    return g ? Py_NewRef(g) : NULL;
}

/* Resolves submit's group= argument: a borrowed group or NULL (none). */
static int resolve_group(WpyRuntime *self, PyObject *o, WpyGroup **out) {
    *out = NULL;
    if (!o || o == Py_None) return 0;
    if (PyObject_TypeCheck(o, &GroupType)) {
        if (((WpyGroup *)o)->rt != self) {
            wpy_raise(WEFT_EINVAL, "the group belongs to another Runtime");
            return -1;
        }
        *out = (WpyGroup *)o;
        return 0;
    }
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "group must be a str, a weft.Group or None, not %.100s",
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    *out = runtime_group_named(self, o);
    return *out ? 0 : -1;
}

static PyObject *runtime_submit(WpyRuntime *self, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames) {
    if (nargs < 1) {
        PyErr_SetString(PyExc_TypeError, "submit(fn, *args, callback=None, callbackargs=(), "
                                         "group=None): fn is missing");
        return NULL;
    }
    PyObject *fn = args[0];
    if (!PyCallable_Check(fn)) {
        PyErr_Format(PyExc_TypeError, "submit(): fn must be callable, not %.100s",
                     Py_TYPE(fn)->tp_name);
        return NULL;
    }
    PyObject *callback = NULL, *cbargs = NULL, *group = NULL;
    if (kwnames) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); i++) {
            PyObject *k = PyTuple_GET_ITEM(kwnames, i), *v = args[nargs + i];
            /* keyword names at call sites are interned: the pointer first */
            if (k == str_group || PyUnicode_CompareWithASCIIString(k, "group") == 0) group = v;
            else if (k == str_callback || PyUnicode_CompareWithASCIIString(k, "callback") == 0)
                callback = v;
            else if (k == str_callbackargs ||
                     PyUnicode_CompareWithASCIIString(k, "callbackargs") == 0)
                cbargs = v;
            else {
                PyErr_Format(PyExc_TypeError,
                             "submit() got an unexpected keyword argument '%U' (arguments "
                             "for fn are positional: submit(fn, *args))",
                             k);
                return NULL;
            }
        }
    }
    if (callback == Py_None) callback = NULL;
    if (callback && !PyCallable_Check(callback)) {
        PyErr_Format(PyExc_TypeError, "submit(): callback must be callable or None, not %.100s",
                     Py_TYPE(callback)->tp_name);
        return NULL;
    }
    if (cbargs == Py_None) cbargs = NULL;
    if (cbargs && !PyTuple_Check(cbargs)) {
        PyErr_Format(PyExc_TypeError, "submit(): callbackargs must be a tuple, not %.100s",
                     Py_TYPE(cbargs)->tp_name);
        return NULL;
    }
    wpy_core *c = live_core(self);
    if (!c) return NULL;
    WpyGroup *g;
    if (resolve_group(self, group, &g) < 0) return NULL;

    Py_ssize_t na = nargs - 1;
    WpyJob *j = PyObject_GC_NewVar(WpyJob, &JobType, na);
    if (!j) return NULL;
    j->prev = j->next = NULL;
    j->rt = (WpyRuntime *)Py_NewRef(self);
    j->group = g ? (WpyGroup *)Py_NewRef(g) : NULL;
    j->fn = Py_NewRef(fn);
    j->result = j->exc = NULL;
    j->fut = NULL;
    j->t_submit = now_ns();
    j->t_start = j->t_end = 0;
    atomic_init(&j->state, J_QUEUED);
    j->direct = 0;
    j->seen = 0;
    j->raw = 0;
    j->remote = 0;
    j->rdata = NULL;
    for (Py_ssize_t i = 0; i < na; i++) j->args[i] = Py_NewRef(args[i + 1]);
    if (callback) {
        if (!fut_get(j, FUT_CALLBACK)) {
            Py_DECREF(j); /* complete but untracked: freed as it is */
            return NULL;
        }
        fut_set(j, FUT_CALLBACK, Py_NewRef(callback));
        if (cbargs && PyTuple_GET_SIZE(cbargs)) fut_set(j, FUT_CBARGS, Py_NewRef(cbargs));
    }
    PyObject_GC_Track(j);

    c->submitted++;
    atomic_fetch_add_explicit(&c->pending, 1, memory_order_relaxed);
    if (g) {
        g->submitted++;
        atomic_fetch_add_explicit(&g->pending, 1, memory_order_relaxed);
    }
    if (on_worker_thread() && weft_current_run() != NULL) { /* from inside a run: see direct_fn */
        j->direct = 1;
        Py_INCREF(j); /* the task's reference */
        if (weft_submit(c->rt, direct_fn, j, NULL, NULL) == 0) {
            queue_push(c, j);
            return (PyObject *)j;
        }
        Py_DECREF(j);
        j->direct = 0; /* no room for a task: the queue runs it */
    }
    queue_push(c, j);
    kick(c);
    return (PyObject *)j;
}

/* After a complete wait for group g (NULL: every job): raises TaskError
 * for the lost failures of that scope not raised before (then forgets
 * them) and returns -1; 0 when there are none. */
static int raise_lost(WpyRuntime *self, wpy_core *c, WpyGroup *g) {
    uint64_t n = g ? g->lost_n : c->lost_n;
    PyObject *first = g ? g->lost : c->lost; /* borrowed */
    if (!g) {
        Py_ssize_t pos = 0;
        PyObject *k, *v;
        while (PyDict_Next(self->groups, &pos, &k, &v)) {
            WpyGroup *og = (WpyGroup *)v;
            n += og->lost_n;
            if (!first) first = og->lost;
        }
    }
    if (n == 0) return 0;
    Py_XINCREF(first);
    if (g) {
        g->lost_n = 0;
        Py_CLEAR(g->lost);
    } else {
        c->lost_n = 0;
        Py_CLEAR(c->lost);
        Py_ssize_t pos = 0;
        PyObject *k, *v;
        while (PyDict_Next(self->groups, &pos, &k, &v)) {
            ((WpyGroup *)v)->lost_n = 0;
            Py_CLEAR(((WpyGroup *)v)->lost);
        }
    }
    PyObject *name = first ? PyTuple_GET_ITEM(first, 0) : Py_None;
    PyObject *exc = first ? PyTuple_GET_ITEM(first, 1) : NULL;
    PyObject *what = exc ? PyObject_Str(exc) : PyUnicode_FromString("?");
    PyObject *msg = what ? PyUnicode_FromFormat(
                               "%llu job%s raised and nobody retrieved the exception; the "
                               "first, job %S, raised %s: %U",
                               (unsigned long long)n, n == 1 ? "" : "s", name,
                               exc ? Py_TYPE(exc)->tp_name : "?", what)
                         : NULL;
    const char *m = msg ? PyUnicode_AsUTF8(msg) : NULL;
    if (m) wpy_raise_task_error(m, name, exc);
    Py_XDECREF(what);
    Py_XDECREF(msg);
    Py_XDECREF(first);
    return -1;
}

static int runtime_wait_target(WpyRuntime *self, wait_target *w, double timeout) {
    wpy_core *c = live_core(self);
    if (!c) return -1;
    if (tl_current && tl_current->rt == self &&
        (!w->group || tl_current->group == w->group)) {
        wpy_raise(WEFT_EPERM, "a job cannot wait for its own runtime or group (it would "
                              "wait for itself)");
        return -1;
    }
    Py_INCREF(self);
    int r = wait_for(c, w, timeout);
    Py_DECREF(self);
    if (r == 1 && raise_lost(self, c, w->group) < 0) return -1;
    return r;
}

static PyObject *runtime_wait(WpyRuntime *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"group", "timeout", NULL};
    PyObject *go = NULL, *t = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO:wait", kwlist, &go, &t)) return NULL;
    double timeout;
    if (parse_timeout(t, &timeout) < 0) return NULL;
    if (!live_core(self)) return NULL;
    WpyGroup *g = NULL;
    if (go && go != Py_None) {
        if (PyUnicode_Check(go)) {
            g = (WpyGroup *)PyDict_GetItemWithError(self->groups, go);
            if (!g) {
                if (PyErr_Occurred()) return NULL;
                PyObject *d = PyUnicode_FromFormat("no group named %R in this Runtime", go);
                const char *m = d ? PyUnicode_AsUTF8(d) : NULL;
                if (m) wpy_raise(WEFT_ENOENT, m);
                Py_XDECREF(d);
                return NULL;
            }
        } else if (resolve_group(self, go, &g) < 0) {
            return NULL;
        }
    }
    wait_target w = {NULL, g};
    int r = runtime_wait_target(self, &w, timeout);
    if (r < 0) return NULL;
    return PyBool_FromLong(r);
}

static PyObject *runtime_close(WpyRuntime *self, PyObject *unused) {
    (void)unused;
    destroy_dead_cores();
    wpy_core *c = self->c;
    if (!c) Py_RETURN_NONE;
    if (weft_current_runtime() == c->rt || (tl_current && tl_current->rt == self))
        return wpy_raise(WEFT_EPERM, "a Runtime cannot be closed from one of its own jobs");
    if (c->remote && wpy_remote_is_finisher(c->remote))
        return wpy_raise(WEFT_EPERM, "a Runtime cannot be closed from a callback of its jobs");
    wait_target w = {NULL, NULL};
    Py_INCREF(self);
    int r = wait_for(c, &w, -1);
    if (r < 0) {
        Py_DECREF(self);
        return NULL;
    }
    if (c->remote) { /* every remote job is complete: stop the processes */
        void *eng = c->remote;
        c->remote = NULL;
        wpy_remote_close(eng);
    }
    self->c = NULL;
    int rc = core_destroy(c);
    Py_DECREF(self);
    if (rc) {
        self->c = c;
        return wpy_raise(rc, "cannot close the runtime");
    }
    Py_RETURN_NONE;
}

static PyObject *runtime_get_workers(WpyRuntime *self, void *u) {
    (void)u;
    wpy_core *c = live_core(self);
    return c ? PyLong_FromLong(weft_runtime_workers(c->rt)) : NULL;
}

static int runtime_set_workers(WpyRuntime *self, PyObject *v, void *u) {
    (void)u;
    if (!v) {
        PyErr_SetString(PyExc_AttributeError, "workers cannot be deleted");
        return -1;
    }
    if (!PyLong_Check(v) || PyBool_Check(v)) {
        PyErr_Format(PyExc_TypeError, "workers must be an int (0: automatic), not %.100s",
                     Py_TYPE(v)->tp_name);
        return -1;
    }
    long n = PyLong_AsLong(v);
    if (n == -1 && PyErr_Occurred()) return -1;
    if (n < 0 || n > WEFT_MAX_WORKERS) {
        PyErr_Format(PyExc_ValueError, "workers must be in 0..%d (0: automatic), not %ld",
                     WEFT_MAX_WORKERS, n);
        return -1;
    }
    wpy_core *c = live_core(self);
    if (!c) return -1;
    int rc;
    Py_BEGIN_ALLOW_THREADS /* exiting workers take the GIL to free their thread state */
    rc = weft_runtime_set_workers(c->rt, (int)n);
    Py_END_ALLOW_THREADS
    if (rc) {
        wpy_raise(rc, "cannot change the worker count");
        return -1;
    }
    kick(c); /* more room for drain tasks */
    return 0;
}

static PyObject *runtime_get_closed(WpyRuntime *self, void *u) {
    (void)u;
    return PyBool_FromLong(self->c == NULL);
}

static PyObject *runtime_get_pending(WpyRuntime *self, void *u) {
    (void)u;
    wpy_core *c = live_core(self);
    return c ? PyLong_FromLong(atomic_load(&c->pending)) : NULL;
}

/* Sets d[key] = v and drops v (NULL v: the error it left). */
static int put(PyObject *d, const char *key, PyObject *v) {
    if (!v) return -1;
    int rc = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return rc;
}

#define WPY_U64(v) PyLong_FromUnsignedLongLong((unsigned long long)(v))
#define WPY_DBL(v) PyFloat_FromDouble(v)
#define WPY_BOOL(v) PyBool_FromLong((v) != 0)

/* _stats(): the statistics as a dict: weft_stats_get's, in the schema of
 * weft_stats.h (the same keys as Lua's rt:stats()), and the job queue's
 * own counters, jobs_* and per_worker (weft.Runtime.stats()). */
static PyObject *runtime_stats(WpyRuntime *self, PyObject *unused) {
    (void)unused;
    wpy_core *c = live_core(self);
    if (!c) return NULL;
    weft_stats_t st;
    int rc = weft_stats_get(c->rt, &st);
    if (rc) return wpy_raise(rc, NULL);
    PyObject *d = PyDict_New(), *workers = PyList_New(0), *per = PyList_New(0);
    if (!d || !workers || !per) goto fail;
#define WPY_FIELD(f, kind) \
    if (put(d, #f, WPY_##kind(st.f)) < 0) goto fail;
    WEFT_STATS_FIELDS(WPY_FIELD)
#undef WPY_FIELD
    if (put(d, "nworkers", PyLong_FromLong(st.nworkers)) < 0 ||
        put(d, "active_workers", PyLong_FromLong(weft_runtime_workers(c->rt))) < 0)
        goto fail;
    for (int w = 0; w < st.nworkers; w++) {
        PyObject *e = PyDict_New();
        if (!e) goto fail;
        int bad = put(e, "id", PyLong_FromLong(w)) < 0;
#define WPY_FIELD(f, kind) \
    if (!bad) bad = put(e, #f, WPY_##kind(st.workers[w].f)) < 0;
        WEFT_WORKER_STATS_FIELDS(WPY_FIELD)
#undef WPY_FIELD
        if (!bad) bad = PyList_Append(workers, e) < 0;
        Py_DECREF(e);
        if (bad) goto fail;
    }
    uint64_t run = 0;
    int64_t busy = 0;
    for (int w = 0; w <= WEFT_MAX_WORKERS; w++) {
        int active = w < st.nworkers && st.workers[w].active;
        if (!c->ws[w].jobs && !(w < WPY_OTHER && active)) continue;
        run += c->ws[w].jobs;
        busy += c->ws[w].busy_ns;
        PyObject *who = w == WPY_OTHER ? PyUnicode_FromString("caller") : PyLong_FromLong(w);
        if (!who) goto fail;
        PyObject *e = Py_BuildValue("{sNsKsd}", "worker", who, "jobs",
                                    (unsigned long long)c->ws[w].jobs, "busy_s",
                                    (double)c->ws[w].busy_ns / 1e9);
        if (!e) goto fail;
        int ar = PyList_Append(per, e);
        Py_DECREF(e);
        if (ar < 0) goto fail;
    }
    if (put(d, "jobs_submitted", WPY_U64(c->submitted)) < 0 ||
        put(d, "jobs_run", WPY_U64(run)) < 0 || put(d, "jobs_failed", WPY_U64(c->failed)) < 0 ||
        put(d, "jobs_cancelled", WPY_U64(c->cancelled)) < 0 ||
        put(d, "jobs_failed_unseen", WPY_U64(c->lost_total)) < 0 ||
        put(d, "jobs_pending", WPY_U64(atomic_load(&c->pending))) < 0 ||
        put(d, "jobs_busy_s", WPY_DBL((double)busy / 1e9)) < 0 ||
        put(d, "jobs_wall_s", WPY_DBL((double)(now_ns() - c->t0) / 1e9)) < 0 ||
        PyDict_SetItemString(d, "workers", workers) < 0 ||
        PyDict_SetItemString(d, "per_worker", per) < 0)
        goto fail;
    Py_DECREF(workers);
    Py_DECREF(per);
    weft_stats_release(&st);
    return d;
fail:
    Py_XDECREF(d);
    Py_XDECREF(workers);
    Py_XDECREF(per);
    weft_stats_release(&st);
    return NULL;
}

static PyObject *runtime_reset_stats(WpyRuntime *self, PyObject *unused) {
    (void)unused;
    wpy_core *c = live_core(self);
    if (!c) return NULL;
    int rc = weft_stats_reset(c->rt);
    if (rc) return wpy_raise(rc, NULL);
    memset(c->ws, 0, sizeof c->ws);
    c->submitted = c->failed = c->cancelled = c->lost_total = 0;
    c->t0 = now_ns();
    Py_RETURN_NONE;
}

/* _has_group(name): whether a group of that name was made. */
static PyObject *runtime_has_group(WpyRuntime *self, PyObject *name) {
    if (!live_core(self)) return NULL;
    int r = PyDict_Contains(self->groups, name);
    return r < 0 ? NULL : PyBool_FromLong(r);
}

static PyObject *runtime_cancel(WpyRuntime *self, PyObject *unused) {
    (void)unused;
    wpy_core *c = live_core(self);
    if (!c) return NULL;
    Py_ssize_t n = cancel_all(c, NULL);
    return n < 0 ? NULL : PyLong_FromSsize_t(n);
}

static PyMethodDef runtime_methods[] = {
    {"submit", (PyCFunction)(void (*)(void))runtime_submit, METH_FASTCALL | METH_KEYWORDS,
     "submit($self, fn, /, *args, callback=None, callbackargs=(), group=None)\n--\n\n"
     "Queues fn(*args) and returns its Job at once. callback(result,\n"
     "*callbackargs) runs once fn succeeded, before waiters of the job are\n"
     "released (an exception in it fails the job). group: a name or a Group."},
    {"wait", (PyCFunction)(void (*)(void))runtime_wait, METH_VARARGS | METH_KEYWORDS,
     "wait($self, /, group=None, timeout=None)\n--\n\n"
     "Waits for every job submitted so far (or those of one group: a name or\n"
     "a Group; a name never used is weft.Error ENOENT). True once complete,\n"
     "False if the timeout passed first. Failed jobs whose handles are kept\n"
     "do not make it raise; lost failures (jobs that raised and were dropped\n"
     "unretrieved: logged, counted in jobs_failed_unseen) make it raise\n"
     "TaskError, each once. A wait for every job without a timeout runs\n"
     "queued jobs meanwhile; Ctrl-C raises KeyboardInterrupt and leaves the\n"
     "runtime usable."},
    {"close", (PyCFunction)runtime_close, METH_NOARGS,
     "close($self, /)\n--\n\nWaits for every job, then stops the workers. Idempotent."},
    {"_has_group", (PyCFunction)runtime_has_group, METH_O,
     "_has_group($self, name, /)\n--\n\nWhether a group of that name was made."},
    {"cancel", (PyCFunction)runtime_cancel, METH_NOARGS,
     "cancel($self, /)\n--\n\n"
     "Cancels every job not yet started; returns how many."},
    {"group", (PyCFunction)runtime_group, METH_O,
     "group($self, name, /)\n--\n\n"
     "The runtime's Group of that name, made on first use."},
    {"_stats", (PyCFunction)runtime_stats, METH_NOARGS,
     "_stats($self, /)\n--\n\nstatistics as a dict"},
    {"reset_stats", (PyCFunction)runtime_reset_stats, METH_NOARGS,
     "reset_stats($self, /)\n--\n\nZeroes the counters and restarts the wall clock."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef runtime_getset[] = {
    {"workers", (getter)runtime_get_workers, (setter)runtime_set_workers,
     "the worker count; set it to change it while jobs run (0: automatic)", NULL},
    {"closed", (getter)runtime_get_closed, NULL, "True once close() ran", NULL},
    {"pending", (getter)runtime_get_pending, NULL, "jobs submitted and not yet complete",
     NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject RuntimeType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "weft.core.RuntimeBase",
    .tp_basicsize = sizeof(WpyRuntime),
    .tp_dealloc = (destructor)runtime_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The C part of weft.Runtime: the weft runtime, the job queue, groups.",
    .tp_traverse = (traverseproc)runtime_traverse,
    .tp_clear = (inquiry)runtime_clear,
    .tp_weaklistoffset = offsetof(WpyRuntime, weakreflist),
    .tp_methods = runtime_methods,
    .tp_getset = runtime_getset,
    .tp_init = (initproc)runtime_init,
    .tp_new = runtime_new,
};

/* ------------------------------------------------------------------ */
/* module set-up                                                       */

/* Runs when the module goes: destroys deferred runtimes (see
 * destroy_dead_cores). */
void wpy_jobs_shutdown(void) { destroy_dead_cores(); }

/* _setup_jobs(done_hook, lost_hook, Condition, CancelledError): see
 * hook_done and friends. */
static PyObject *mod_setup_jobs(PyObject *m, PyObject *args) {
    (void)m;
    PyObject *d, *l, *cond, *ce;
    if (!PyArg_ParseTuple(args, "OOOO:_setup_jobs", &d, &l, &cond, &ce)) return NULL;
    if (!PyCallable_Check(d) || !PyCallable_Check(l) || !PyCallable_Check(cond) ||
        !PyExceptionClass_Check(ce)) {
        PyErr_SetString(PyExc_TypeError, "_setup_jobs: three callables and an exception class");
        return NULL;
    }
    Py_XSETREF(hook_done, Py_NewRef(d));
    Py_XSETREF(hook_lost, Py_NewRef(l));
    Py_XSETREF(make_condition, Py_NewRef(cond));
    Py_XSETREF(cancelled_error, Py_NewRef(ce));
    Py_RETURN_NONE;
}

static PyMethodDef jobs_functions[] = {
    {"_setup_jobs", mod_setup_jobs, METH_VARARGS, "registers the Python layer's hooks"},
    {NULL, NULL, 0, NULL}};

int wpy_jobs_init(PyObject *m) {
    if (!str_group && !(str_group = PyUnicode_InternFromString("group"))) return -1;
    if (!str_callback && !(str_callback = PyUnicode_InternFromString("callback"))) return -1;
    if (!str_callbackargs && !(str_callbackargs = PyUnicode_InternFromString("callbackargs")))
        return -1;
    if (PyType_Ready(&JobType) < 0 || PyType_Ready(&GroupType) < 0 ||
        PyType_Ready(&RuntimeType) < 0)
        return -1;
    if (PyModule_AddObject(m, "Job", Py_NewRef(&JobType)) < 0 ||
        PyModule_AddObject(m, "Group", Py_NewRef(&GroupType)) < 0 ||
        PyModule_AddObject(m, "RuntimeBase", Py_NewRef(&RuntimeType)) < 0)
        return -1;
    if (wpy_add_functions(m, jobs_functions) < 0) return -1;
    return PyModule_AddIntConstant(m, "MAX_WORKERS", WEFT_MAX_WORKERS);
}
