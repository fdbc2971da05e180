/* async.c: asynchronous nodes. A node function defers its completion
 * (weft_node_defer) and returns; any thread completes it later
 * (weft_node_async_complete). In between the node is RUNNING and holds no
 * worker: the run's completion is held open by a runtime hold (a child
 * task of the node's task, made now and queued at completion), and the
 * queued task finishes the node inside the run's own task tree
 * (gr_node_finish), where its successors are spawned as for any node. */
#include <stdatomic.h>

#include "gr.h"

#define GR_MAGIC_ASYNC 0x77666173u /* "wfas" */

struct weft_node_async {
    uint32_t magic;
    atomic_int completing;  /* 0 pending, 1 once a completion was accepted */
    weft_run_t *run;
    weft_runtime_t *rt;
    uint32_t v;
    wf_hold_t *hold;
    int st, code;           /* set by the completer, read by finish_task */
};

int weft_node_defer(weft_node_ctx_t *ctx, weft_node_async_t **out) {
    if (out) *out = NULL;
    if (!ctx || !out) return WEFT_EINVAL;
    if (gr_node_deferred(ctx)) {
        wf_set_detail("node '%s' has deferred its completion already", weft_node_name(ctx));
        return WEFT_EINVAL;
    }
    weft_node_async_t *h = wf_malloc(sizeof *h);
    if (!h) return WEFT_ENOMEM;
    h->hold = wf_task_hold(); /* the node's task stays incomplete */
    if (!h->hold) {
        wf_free(h);
        return WEFT_ENOMEM;
    }
    h->magic = GR_MAGIC_ASYNC;
    atomic_init(&h->completing, 0);
    h->run = weft_node_run(ctx);
    h->rt = weft_node_runtime(ctx);
    h->v = weft_node_id(ctx);
    h->st = WEFT_NODE_DONE;
    h->code = 0;
    gr_node_defer(ctx);
    *out = h;
    return 0;
}

/* Runs on a worker as the hold's child task, inside the run. */
static int finish_task(void *arg, void **result) {
    weft_node_async_t *h = arg;
    *result = NULL;
    weft_run_t *run = h->run;
    uint32_t v = h->v;
    int st = h->st, code = h->code;
    h->magic = 0;
    wf_free(h);
    gr_node_finish(run, v, st, code);
    return 0;
}

int weft_node_async_complete(weft_node_async_t *h, int status, const void *data, size_t len) {
    if (!h || h->magic != GR_MAGIC_ASYNC || (len && !data)) return WEFT_EINVAL;
    int idle = 0;
    /* acq_rel: exactly one completion is accepted; later ones are refused */
    if (!atomic_compare_exchange_strong_explicit(&h->completing, &idle, 1, memory_order_acq_rel,
                                                 memory_order_relaxed)) {
        wf_set_detail("the asynchronous node was completed already");
        return WEFT_EINVAL;
    }
    int rc = 0;
    if (data && gr_run_set_result(h->run, h->v, data, len) != 0) {
        rc = WEFT_ENOMEM; /* the node fails for want of its result */
        status = WEFT_ENOMEM;
    }
    if (status == 0) {
        h->st = WEFT_NODE_DONE;
    } else if (status == WEFT_ECANCELED && weft_run_cancelled(h->run)) {
        h->st = WEFT_NODE_CANCELLED; /* stopped for the run's cancellation */
    } else {
        h->st = WEFT_NODE_FAILED;
        h->code = status;
    }
    /* the queue's lock or the deque's release publishes st, code and the
     * result to the worker that runs finish_task */
    wf_task_release(h->rt, h->hold, finish_task, h);
    return rc;
}

int weft_node_async_cancelled(const weft_node_async_t *h) {
    if (!h || h->magic != GR_MAGIC_ASYNC) return 0;
    return weft_run_cancelled(h->run);
}

weft_node_t weft_node_async_id(const weft_node_async_t *h) {
    return h && h->magic == GR_MAGIC_ASYNC ? h->v : WEFT_NODE_NONE;
}

weft_run_t *weft_node_async_run(const weft_node_async_t *h) {
    return h && h->magic == GR_MAGIC_ASYNC ? h->run : NULL;
}
