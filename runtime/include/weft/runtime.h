/* weft/runtime.h: the work-stealing runtime, jobs, groups, callbacks,
 * data-parallel helpers and statistics.
 *
 * Lifecycles (stated once, kept everywhere):
 * - A runtime is created by weft_runtime_create() and ended by
 *   weft_runtime_destroy(), which first waits for every task submitted to it.
 *   The runtime pointer is invalid after destroy; jobs and groups created from
 *   it stay valid handles until freed, and calls that would need the runtime
 *   return WEFT_EDESTROYED.
 * - A job (weft_job_t) is created by weft_submit() when the caller asks for
 *   a handle. The caller owns it and releases it with weft_job_free(); freeing
 *   a job that has not completed is allowed (the task still runs).
 * - A group (weft_group_t) made by weft_group_create() is owned by the caller
 *   and released with weft_group_free() once nothing is pending in it. Named
 *   groups (weft_group_named()) are owned by the runtime and freed by
 *   weft_runtime_destroy: a named group must not be used after it.
 * - Task completion: a task is complete when its function has returned AND
 *   every task it spawned (with weft_submit or weft_spawn from inside it) is
 *   complete. Only then does its callback run, its job become done and its
 *   group count drop. So waiting for a job waits for its whole spawn tree.
 *
 * Waiting: a worker thread that waits (on a job, a group, the runtime, or in
 * a data-parallel helper) runs other tasks meanwhile, so nested fork-join of
 * any depth never deadlocks. A thread that is not a worker sleeps until the
 * awaited work is complete.
 */
#ifndef WEFT_RUNTIME_H
#define WEFT_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_runtime weft_runtime_t;
typedef struct weft_job weft_job_t;
typedef struct weft_group weft_group_t;

/* Most workers a runtime can have at once. */
#define WEFT_MAX_WORKERS 512

/* A task. Returns 0 on success; any other value marks the task failed and is
 * delivered as its status to whoever waits or to its callback. *result starts
 * as NULL; the task may store a pointer there, readable through the job and
 * passed to the callback. */
typedef int (*weft_task_fn)(void *arg, void **result);

/* Runs exactly once per submitted task that has one, when the task is
 * complete (see above), on the worker thread that completed it (the one that
 * ran the task, or the one that finished its last spawned child), before any
 * waiter of its job or group is released. status and result are the task's.
 * A callback may submit tasks; it must not wait for them or block. */
typedef void (*weft_callback_fn)(void *data, int status, void *result);

/* ------------------------------------------------------------------ */
/* Runtime                                                             */

/* CPUs this process may use: the affinity mask, lowered by a cgroup CPU quota
 * where one is set (cgroup v2 cpu.max or v1 cfs quota). At least 1.
 * Thread-safety: any thread. */
WEFT_API int weft_cpu_count(void);

/* Worker count used for a request of 0: WEFT_NUM_THREADS from the
 * environment when it holds an integer in 1..WEFT_MAX_WORKERS, otherwise
 * weft_cpu_count() (capped at WEFT_MAX_WORKERS). Thread-safety: any thread. */
WEFT_API int weft_default_workers(void);

/* Creates a runtime with nworkers worker threads (0: weft_default_workers()).
 * Errors: WEFT_EINVAL (rt NULL, nworkers < 0 or > WEFT_MAX_WORKERS),
 * WEFT_ENOMEM, WEFT_ESYSTEM (threads could not be started).
 * Thread-safety: any thread. */
WEFT_API int weft_runtime_create(int nworkers, weft_runtime_t **rt);

/* Waits for every task submitted to rt, stops and joins its workers and frees
 * it. Once destroy has begun, submits from threads that are not rt's workers
 * fail with WEFT_EDESTROYED and queue nothing; every task accepted before
 * (and every task those spawn, or their callbacks submit) runs before
 * destroy returns. After it returns, rt is gone: a job or group handle still
 * held keeps a shell on which calls give WEFT_EDESTROYED (submitting through
 * a rt pointer is then valid only while such a handle lives).
 * Errors: WEFT_EINVAL (NULL or not a live runtime, where detectable; a
 * second destroy), WEFT_EPERM (called from one of rt's own workers or
 * callbacks). Thread-safety: once, from a thread that is not one of rt's
 * workers; other threads may still be submitting as described. */
WEFT_API int weft_runtime_destroy(weft_runtime_t *rt);

/* Changes the worker count while work may be in flight (pp's set_ncpus).
 * 0 means weft_default_workers(). Raising starts threads at once; lowering
 * retires the extra workers as soon as each finishes its current task and its
 * deque is empty (queued tasks are never dropped nor run twice).
 * Errors: WEFT_EINVAL (bad rt, n < 0 or > WEFT_MAX_WORKERS), WEFT_ESYSTEM.
 * Thread-safety: any thread, including workers. */
WEFT_API int weft_runtime_set_workers(weft_runtime_t *rt, int n);

/* The worker count last requested (after 0 is resolved), or WEFT_EINVAL.
 * Thread-safety: any thread. */
WEFT_API int weft_runtime_workers(const weft_runtime_t *rt);

/* Blocks until every task submitted to rt so far, and everything they spawn,
 * is complete. Tasks submitted concurrently from other threads may or may
 * not be waited for. Returns 0, or WEFT_EINVAL. A worker calling this from
 * inside a task would wait for itself: WEFT_EPERM.
 * Thread-safety: any thread that is not one of rt's workers. */
WEFT_API int weft_runtime_wait(weft_runtime_t *rt);

/* The runtime the calling thread works for, or NULL on a thread that is not
 * a weft worker. Thread-safety: any thread. */
WEFT_API weft_runtime_t *weft_current_runtime(void);

/* Index of the calling worker (0..WEFT_MAX_WORKERS-1), or -1 on a thread
 * that is not a weft worker. Thread-safety: any thread. */
WEFT_API int weft_current_worker(void);

/* ------------------------------------------------------------------ */
/* Jobs                                                                */

typedef struct weft_submit_opts {
    weft_group_t *group;       /* count the task in this group, or NULL */
    weft_callback_fn callback; /* run once on completion, or NULL */
    void *callback_data;       /* first argument of callback */
} weft_submit_opts_t;

/* Submits fn(arg) to rt. opts may be NULL. When job is not NULL, *job
 * receives a handle the caller must weft_job_free(); when it is NULL no
 * handle is made (fire and forget; the cheapest form). From inside a task
 * the new task is a child of the running one (see "Task completion").
 * Errors: WEFT_EINVAL (rt or fn NULL, group of another runtime),
 * WEFT_EDESTROYED (rt or the group's runtime is being destroyed or gone),
 * WEFT_ENOMEM.
 * On error nothing was submitted and *job is NULL.
 * Thread-safety: any thread, including tasks and callbacks. */
WEFT_API int weft_submit(weft_runtime_t *rt, weft_task_fn fn, void *arg,
                         const weft_submit_opts_t *opts, weft_job_t **job);

/* Shorthand: submits fn(arg) into group g on g's runtime, no handle, no
 * callback. Same errors as weft_submit. Thread-safety: any thread. */
WEFT_API int weft_spawn(weft_group_t *g, weft_task_fn fn, void *arg);

/* Blocks until the job is complete (workers run other tasks meanwhile).
 * status and result may be NULL; otherwise they receive the task's status
 * and result. Returns 0 if the task succeeded, WEFT_ETASK if it returned a
 * nonzero status, WEFT_EINVAL for a NULL or freed handle (where detectable),
 * WEFT_EPERM when a task waits for itself.
 * Thread-safety: any thread; several threads may wait for one job. */
WEFT_API int weft_job_wait(weft_job_t *job, int *status, void **result);

/* As weft_job_wait, but gives up after timeout_s seconds (0: just look)
 * with WEFT_ETIMEDOUT; the job is unaffected. A worker helps meanwhile
 * (and may overrun the timeout by the length of a task it picked up).
 * Any double is a valid timeout: infinity (and a timeout too long for the
 * clock to count) waits for ever, as weft_job_wait does.
 * Errors: as weft_job_wait, plus WEFT_EINVAL for a negative or NaN timeout.
 * Thread-safety: any thread. */
WEFT_API int weft_job_wait_timeout(weft_job_t *job, double timeout_s, int *status,
                                   void **result);

/* 1 if the job is complete, 0 if not, WEFT_EINVAL for a bad handle.
 * Thread-safety: any thread. */
WEFT_API int weft_job_done(const weft_job_t *job);

/* Non-blocking: the task's status and result when complete. Returns 0 or
 * WEFT_ETASK as weft_job_wait does, WEFT_EBUSY if not yet complete,
 * WEFT_EINVAL for a bad handle. Thread-safety: any thread. */
WEFT_API int weft_job_status(const weft_job_t *job, int *status, void **result);

/* Releases the caller's handle. The task, if still running, completes
 * normally (its callback still runs). Errors: WEFT_EINVAL (NULL or already
 * freed, where detectable). Thread-safety: any thread, once per handle, with
 * no wait on the same handle in progress. */
WEFT_API int weft_job_free(weft_job_t *job);

/* ------------------------------------------------------------------ */
/* Groups                                                              */

/* Creates an empty group on rt, owned by the caller. name may be NULL; it
 * is copied and shown by weft_group_name(). Errors: WEFT_EINVAL, WEFT_ENOMEM.
 * Thread-safety: any thread. */
WEFT_API int weft_group_create(weft_runtime_t *rt, const char *name,
                               weft_group_t **g);

/* The runtime-owned group called name, created on first use; every call with
 * the same name returns the same group (pp's group="name"). Freed with the
 * runtime. Errors: WEFT_EINVAL (NULL or empty name), WEFT_ENOMEM.
 * Thread-safety: any thread. */
WEFT_API int weft_group_named(weft_runtime_t *rt, const char *name,
                              weft_group_t **g);

/* Blocks until no task of the group is pending (workers help meanwhile).
 * Returns 0 if no task of the group has failed since it was created or last
 * reset, WEFT_ETASK otherwise (see weft_group_failures), WEFT_EINVAL for a
 * bad handle, WEFT_EDESTROYED if the runtime is gone.
 * Thread-safety: any thread; several threads may wait for one group. */
WEFT_API int weft_group_wait(weft_group_t *g);

/* Failures in the group since creation or the last reset: how many tasks
 * failed, and the status of the first failure (0 if none). Either out
 * pointer may be NULL. (The group keeps no count of submissions: that would
 * cost a second locked instruction on every spawn; the caller knows it.)
 * Errors: WEFT_EINVAL. Thread-safety: any thread. */
WEFT_API int weft_group_failures(const weft_group_t *g, uint64_t *failed,
                                 int *first_status);

/* Number of tasks of the group not yet complete, or WEFT_EINVAL.
 * Thread-safety: any thread (a snapshot). */
WEFT_API int64_t weft_group_pending(const weft_group_t *g);

/* Clears the failure counts. Errors: WEFT_EINVAL, WEFT_EBUSY (tasks pending).
 * Thread-safety: any thread, not concurrently with submissions into g. */
WEFT_API int weft_group_reset(weft_group_t *g);

/* The group's name ("" when created without one), or NULL for a bad handle.
 * Thread-safety: any thread. */
WEFT_API const char *weft_group_name(const weft_group_t *g);

/* Frees a group made by weft_group_create. Errors: WEFT_EINVAL (bad handle,
 * or a named group, which the runtime owns), WEFT_EBUSY (tasks pending; wait
 * first). Thread-safety: any thread, once, with no other use in progress. */
WEFT_API int weft_group_free(weft_group_t *g);

/* ------------------------------------------------------------------ */
/* Data-parallel helpers                                               */

/* Body of a parallel for: handles indices [begin, end). Returns 0, or a
 * nonzero status that makes weft_parallel_for return WEFT_ETASK (the other
 * chunks still run). */
typedef int (*weft_range_fn)(void *ctx, int64_t begin, int64_t end);

/* Runs fn over [begin, end) split into chunks of at most grain indices,
 * recursively halved across the workers (OpenMP's prange). Blocks until all
 * chunks are done; from a worker it helps. begin == end does nothing.
 * Errors: WEFT_EINVAL (rt or fn NULL, grain <= 0, end < begin),
 * WEFT_ETASK (some chunk returned nonzero), WEFT_ENOMEM.
 * Thread-safety: any thread, including tasks. */
WEFT_API int weft_parallel_for(weft_runtime_t *rt, int64_t begin, int64_t end,
                               int64_t grain, weft_range_fn fn, void *ctx);

/* One element of a map: reads *in, writes *out. Nonzero fails the map. */
typedef int (*weft_map_fn)(void *ctx, const void *in, void *out);

/* out[i] = fn(in[i]) for count elements of in_size and out_size bytes, in
 * chunks of grain elements. Errors: as weft_parallel_for, plus WEFT_EINVAL
 * for NULL in/out with count > 0 or a zero element size.
 * Thread-safety: any thread. */
WEFT_API int weft_map(weft_runtime_t *rt, const void *in, size_t in_size,
                      void *out, size_t out_size, size_t count, size_t grain,
                      weft_map_fn fn, void *ctx);

/* Folds value into acc: *acc = *acc (op) *value. Both point to elements of
 * the reduction's elem_size. Must be associative; weft combines partial
 * results of chunks with the same function. */
typedef void (*weft_combine_fn)(void *ctx, void *acc, const void *value);

/* Reduces count elements of elem_size bytes with fn, starting each chunk
 * from *identity, and stores the total in *result (identity when count is
 * 0). The order of combination is a left-to-right tree, deterministic for a
 * given grain. Errors: WEFT_EINVAL (NULLs, zero sizes or grain),
 * WEFT_ERANGE (elem_size over 4096), WEFT_ENOMEM. Thread-safety: any thread. */
WEFT_API int weft_reduce(weft_runtime_t *rt, const void *data, size_t count,
                         size_t elem_size, size_t grain, const void *identity,
                         weft_combine_fn fn, void *ctx, void *result);

typedef enum weft_op { WEFT_OP_SUM = 0, WEFT_OP_MIN = 1, WEFT_OP_MAX = 2 } weft_op_t;

/* Sum, minimum or maximum of an array (MPI Allreduce's common operations).
 * The sum of no elements is 0; min and max of none: WEFT_ERANGE.
 * Errors: WEFT_EINVAL (NULLs, unknown op). Thread-safety: any thread. */
WEFT_API int weft_reduce_double(weft_runtime_t *rt, const double *data,
                                size_t count, weft_op_t op, double *result);
WEFT_API int weft_reduce_int64(weft_runtime_t *rt, const int64_t *data,
                               size_t count, weft_op_t op, int64_t *result);

/* ------------------------------------------------------------------ */
/* Statistics (pp's print_stats)                                       */

typedef struct weft_worker_stats {
    uint64_t tasks_run;    /* tasks this worker ran */
    uint64_t tasks_stolen; /* of those, taken from another worker's deque */
    double busy_s;         /* seconds spent running tasks back to back */
    int active;            /* 1 if the worker is part of the current count */
} weft_worker_stats_t;

typedef struct weft_stats {
    int nworkers;                 /* entries in workers[] (every slot used) */
    weft_worker_stats_t *workers; /* owned by the struct: weft_stats_release */
    uint64_t tasks_submitted;     /* tasks submitted, nested ones included */
    uint64_t tasks_run;           /* sum over workers */
    uint64_t tasks_stolen;        /* sum over workers */
    uint64_t tasks_failed;        /* tasks that returned nonzero */
    double busy_s;                /* sum over workers */
    double wall_s;                /* since creation or the last reset */
} weft_stats_t;

/* Fills *st with a snapshot. Release with weft_stats_release. Counters are
 * read without stopping workers: exact once the runtime is quiet.
 * Errors: WEFT_EINVAL, WEFT_ENOMEM. Thread-safety: any thread. */
WEFT_API int weft_stats_get(weft_runtime_t *rt, weft_stats_t *st);

/* Frees what weft_stats_get allocated; st may be NULL. */
WEFT_API void weft_stats_release(weft_stats_t *st);

/* Zeroes every counter and restarts the wall clock. Errors: WEFT_EINVAL.
 * Thread-safety: any thread; counts of tasks running meanwhile may land on
 * either side. */
WEFT_API int weft_stats_reset(weft_runtime_t *rt);

/* Prints the statistics as a table to out (stdout when NULL), in the manner
 * of pp's print_stats. Errors: WEFT_EINVAL, WEFT_ENOMEM, WEFT_EIO.
 * Thread-safety: any thread. */
WEFT_API int weft_stats_print(weft_runtime_t *rt, FILE *out);
/* The same table into memory (see weft_buf_t). */
WEFT_API int weft_stats_print_buf(weft_runtime_t *rt, weft_buf_t *out);

#ifdef __cplusplus
}
#endif
#endif
