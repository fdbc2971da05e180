/* wf_layer.h: what the runtime offers weft's own upper layers (graph, dist)
 * beyond the public API. This folder (runtime/layer/) is the only part of
 * the runtime's internals that upper layers see: wf_layer.h and the
 * allocator shim wf_alloc.h. Not installed; users never see it. */
#ifndef WF_LAYER_H
#define WF_LAYER_H

#include <stdint.h>
#include <stdio.h>

#include "weft/runtime.h"

/* Like weft_submit(rt, fn, arg, NULL, NULL) -- a fire-and-forget task that
 * is a child of the calling task -- but *result holds seed when fn starts,
 * so a task can carry two words without an allocation. fn must reset
 * *result (to NULL or a real result) before returning.
 * Errors: WEFT_EINVAL, WEFT_ENOMEM. Thread-safety: any thread. */
int wf_submit_seeded(weft_runtime_t *rt, weft_task_fn fn, void *arg, void *seed);

/* A task's completion held open for work that finishes elsewhere (an
 * asynchronous graph node, a remote task): wf_task_hold, called inside a
 * task on a worker, makes a child of that task that is not queued yet, so
 * the task (and its job, group count and every ancestor) stays incomplete;
 * wf_task_release later queues it with fn(arg) to run on a worker as that
 * child: its completion completes the hold. Every hold must be released
 * exactly once (until then runs and weft_runtime_destroy wait for it).
 * wf_task_hold returns NULL outside a task or out of memory.
 * Thread-safety: hold on the task's own thread; release from any thread,
 * also after destroy has begun (the hold is already counted). */
typedef struct wf_hold wf_hold_t;
wf_hold_t *wf_task_hold(void);
void wf_task_release(weft_runtime_t *rt, wf_hold_t *hold, weft_task_fn fn, void *arg);

/* Calls visit(fn, arg, data) for the task the calling worker thread runs
 * and then for each of its ancestors (the tasks it was spawned from,
 * which complete only after it), innermost first, until visit returns
 * nonzero; returns that value, or 0 (also on a thread that is not a worker,
 * or in a callback). fn and arg are the tasks' own: an upper layer
 * recognises its tasks by fn. Thread-safety: any thread, about its own
 * ancestry. */
int wf_task_ancestry(int (*visit)(weft_task_fn fn, void *arg, void *data), void *data);

/* Sets the calling thread's detail message (weft_error_detail), printf
 * style, cut to WEFT_DETAIL_MAX - 1 bytes. Every layer sets it next to the
 * code it returns when a message can say more than the code ("line 7:
 * unknown node 'x'", "node [::1]:7117: authentication failed").
 * Thread-safety: per thread. */
void wf_set_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Empties the calling thread's detail message. */
void wf_clear_detail(void);

/* The writers' memory forms (weft_buf_t). wf_buf_open returns a stream
 * that fills out (NULL with out zeroed when there is no memory for it);
 * wf_buf_close closes it and returns rc, or WEFT_ENOMEM when the stream
 * ran out of memory; out keeps the text only when the result is 0, and is
 * {NULL, 0} otherwise. A _buf form is: f = wf_buf_open(out); if (!f)
 * return WEFT_ENOMEM; return wf_buf_close(f, out, writer(..., f)). */
FILE *wf_buf_open(weft_buf_t *out);
int wf_buf_close(FILE *f, weft_buf_t *out, int rc);

/* Monotonic clock in nanoseconds. */
int64_t wf_now_ns(void);

/* Turns a timeout in seconds into a deadline on wf_now_ns's clock, for
 * every timed wait in weft: any double is handled. 0 with *deadline > 0 a
 * deadline; 0 with *deadline == 0: no deadline (infinity, or a timeout
 * too long to count, waits for ever); WEFT_EINVAL for a negative or NaN
 * timeout. A timeout of 0 gives a deadline already passed ("just look").
 * Thread-safety: any thread. */
int wf_deadline_ns(double timeout_s, int64_t *deadline);

#endif
