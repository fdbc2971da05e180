/* remote.c: named-task nodes of a run that has an executor
 * (weft_run_opts_t.executor, such as a cluster's).
 *
 * exec_chain hands such a node here instead of calling its function: the
 * node is deferred (async.c: it stays RUNNING and holds no worker) and
 * described to the executor (weft_remote_node_t: task, argument,
 * predecessors' results), which completes the handle later from any
 * thread with the outcome the node would have had locally. The
 * descriptor and its arrays live on this stack frame only for the call:
 * the executor copies what it keeps. The bytes they point to (the graph's
 * argument bytes, the run's results of the predecessors) stay put until
 * the run is reset or freed, which waits for the node. */
#include <string.h>

#include "gr.h"

#define REMOTE_STACK_INPUTS 16

int gr_remote_node(const weft_graph_t *g, uint32_t v) {
    const gr_extra *e = gr_extra_of(g, v);
    return e && e->kind == GR_TASK && e->place != WEFT_PLACE_LOCAL;
}

int gr_remote_start(weft_run_t *run, uint32_t v, weft_node_ctx_t *ctx) {
    const weft_graph_t *g = run->g;
    const weft_executor_t *ex = run->opts.executor;
    const gr_extra *e = gr_extra_of(g, v);
    weft_remote_node_t rn;
    memset(&rn, 0, sizeof rn);
    rn.run = run;
    rn.node = v;
    rn.name = gr_name(g, v);
    rn.task = (const char *)g->names.data + e->task;
    rn.arg = e->bytes;
    rn.arg_len = e->bytes ? e->len : 0;
    if (e->place == WEFT_PLACE_NODE) {
        rn.place = WEFT_PLACE_NODE;
        rn.where = (const char *)g->names.data + e->where;
    } else {
        rn.place = WEFT_PLACE_ANY;
    }
    rn.run_start_ns = run->t0;
    size_t n = g->pred_off[v + 1] - g->pred_off[v];
    const void *sp[REMOTE_STACK_INPUTS];
    size_t sl[REMOTE_STACK_INPUTS];
    weft_node_t sn[REMOTE_STACK_INPUTS];
    const void **ptrs = sp;
    size_t *lens = sl;
    weft_node_t *from = sn;
    if (n > REMOTE_STACK_INPUTS) {
        ptrs = wf_malloc(n * sizeof *ptrs);
        lens = wf_malloc(n * sizeof *lens);
        from = wf_malloc(n * sizeof *from);
        if (!ptrs || !lens || !from) {
            wf_free(ptrs);
            wf_free(lens);
            wf_free(from);
            wf_set_detail("node '%s': out of memory for its %zu inputs", rn.name, n);
            return WEFT_ENOMEM;
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t p = g->pred[g->pred_off[v] + i];
        from[i] = p;
        ptrs[i] = gr_result_of(run, p, &lens[i]);
    }
    rn.ninputs = n;
    rn.inputs = ptrs;
    rn.input_lens = lens;
    rn.input_nodes = from;
    weft_node_async_t *h;
    int rc = weft_node_defer(ctx, &h);
    if (rc == 0) {
        rc = ex->start(ex->data, &rn, h);
        /* start took nothing on: the node fails with its code */
        if (rc) weft_node_async_complete(h, rc, NULL, 0);
        rc = 0;
    }
    if (ptrs != sp) {
        wf_free(ptrs);
        wf_free(lens);
        wf_free(from);
    }
    return rc;
}
