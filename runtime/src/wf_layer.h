/* wf_layer.h: what the runtime offers weft's own upper layers (graph, dist)
 * beyond the public API. Not installed; users never see it. */
#ifndef WF_LAYER_H
#define WF_LAYER_H

#include "weft/runtime.h"

/* Like weft_submit(rt, fn, arg, NULL, NULL) -- a fire-and-forget task that
 * is a child of the calling task -- but *result holds seed when fn starts,
 * so a task can carry two words without an allocation. fn must reset
 * *result (to NULL or a real result) before returning.
 * Errors: WEFT_EINVAL, WEFT_ENOMEM. Thread-safety: any thread. */
int wf_submit_seeded(weft_runtime_t *rt, weft_task_fn fn, void *arg, void *seed);

/* Monotonic clock in nanoseconds. */
int64_t wf_now_ns(void);

#endif
