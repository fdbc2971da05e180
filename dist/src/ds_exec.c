/* ds_exec.c: running a batch of named tasks on a runtime, for a node and
 * for a client's local workers.
 *
 * A registered task is a graph node function (weft_node_fn): it reads its
 * argument and stores its result through a node context, which only a
 * graph run makes. So a batch becomes one graph of independent nodes (one
 * per task; no edges), run from a weft task: the worker that runs it
 * helps with the nodes, the others steal them. One graph per batch rather
 * than per task keeps the graph bookkeeping off the per-task cost.
 *
 * Each node runs ds_exec_node, which skips a task that was cancelled (or
 * whose connection is gone) before it starts, and times the task. The
 * graph borrows the argument bytes where they arrived
 * (weft_graph_set_arg_ref): their owner (the session's task record, or the
 * local job) frees them with the task, after the graph stopped using them.
 * The results stay in the run record until the I/O thread has sealed them
 * into frames (ds_exec_release). So neither argument nor result bytes are
 * ever copied on the node: each is held once. */
#include "ds.h"

/* An input of a graph node sent with its task (DS_F_INPUTS): a node of
 * its own, before the task's node, whose result is the input's bytes, so
 * that the task reads it with weft_node_input as it would locally. */
typedef struct ds_input {
    const uint8_t *p;
    size_t n;
} ds_input_t;

static int ds_input_node(weft_node_ctx_t *ctx, void *arg) {
    ds_input_t *in = arg;
    return in->n ? weft_node_set_result(ctx, in->p, in->n) : 0;
}

/* Adds task t's node to g with its argument (and its inputs' nodes, for
 * an input frame). 0, or a weft code (nothing of t runs). */
static int add_task_node(weft_graph_t *g, ds_exec_task_t *t, ds_input_t **keep,
                         weft_node_t *id);

static int ds_exec_node(weft_node_ctx_t *ctx, void *arg) {
    ds_exec_task_t *t = arg;
    if (atomic_load_explicit(&t->cancel, memory_order_relaxed) ||
        (t->dead && atomic_load_explicit(t->dead, memory_order_relaxed))) {
        t->outcome = DS_OUT_CANCELLED;
        return WEFT_ECANCELED;
    }
    int64_t t0 = wf_now_ns();
    t->start_ns = (uint64_t)t0;
    t->worker = weft_current_worker();
    int rc = t->fn(ctx, t->fn_arg);
    t->run_ns = (uint64_t)(wf_now_ns() - t0);
    t->outcome = rc ? DS_OUT_FAILED : DS_OUT_OK;
    t->code = rc;
    return rc;
}

/* Runs on a worker: builds the graph, runs it, collects outcomes. */
static int batch_task(void *arg, void **result) {
    ds_exec_batch_t *b = arg;
    *result = NULL;
    weft_graph_t *g = NULL;
    int rc = weft_graph_create("dist", &g);
    const char *last_name = NULL;
    weft_node_fn last_fn = NULL;
    void *last_arg = NULL;
    size_t added = 0;
    weft_node_t *ids = NULL;
    ds_input_t **inputs = NULL;
    if (!rc && !(ids = wf_malloc(sizeof *ids * (b->count ? b->count : 1)))) rc = WEFT_ENOMEM;
    if (!rc && !(inputs = wf_calloc(b->count ? b->count : 1, sizeof *inputs))) rc = WEFT_ENOMEM;
    for (size_t i = 0; i < b->count; i++) {
        ds_exec_task_t *t = b->tasks[i];
        t->result = NULL;
        t->result_len = 0;
        t->run_ns = 0;
        t->code = 0;
        if (rc) {
            t->outcome = DS_OUT_NODE_ERROR;
            t->code = rc;
            continue;
        }
        if (!last_name || strcmp(last_name, t->name) != 0) {
            if (weft_task_lookup(t->name, &last_fn, &last_arg)) {
                last_name = NULL;
                t->outcome = DS_OUT_NOTASK;
                t->code = WEFT_ENOENT;
                ids[i] = WEFT_NODE_NONE;
                wf_free(t->arg);
                t->arg = NULL;
                continue;
            }
            last_name = t->name;
        }
        t->fn = last_fn;
        t->fn_arg = last_arg;
        t->outcome = DS_OUT_CANCELLED; /* until the node runs */
        int r = add_task_node(g, t, &inputs[i], &ids[i]);
        if (r) {
            wf_free(t->arg);
            t->arg = NULL;
            /* a node added without its argument is told to skip itself */
            atomic_store_explicit(&t->cancel, 1, memory_order_relaxed);
            t->outcome = DS_OUT_NODE_ERROR;
            t->code = r;
            ids[i] = WEFT_NODE_NONE;
            continue;
        }
        added++;
    }
    weft_run_t *run = NULL;
    if (g && added) {
        int r = weft_graph_run(g, weft_current_runtime(), NULL, &run);
        if (r == WEFT_ENOMEM && !run) {
            for (size_t i = 0; i < b->count; i++)
                if (ids[i] != WEFT_NODE_NONE) {
                    b->tasks[i]->outcome = DS_OUT_NODE_ERROR;
                    b->tasks[i]->code = WEFT_ENOMEM;
                }
        }
    }
    if (run) {
        for (size_t i = 0; i < b->count; i++) {
            ds_exec_task_t *t = b->tasks[i];
            if (ids[i] == WEFT_NODE_NONE) {
                if (t->outcome == DS_OUT_CANCELLED && t->code) t->outcome = DS_OUT_NODE_ERROR;
                continue;
            }
            if (t->outcome == DS_OUT_OK &&
                weft_run_node_status(run, ids[i]) == WEFT_NODE_FAILED) {
                /* a deferred node (weft_node_defer: weftd's forwarders)
                 * fails when it is completed, after its function returned 0 */
                int code = 0;
                weft_run_node_code(run, ids[i], &code);
                t->outcome = DS_OUT_FAILED;
                t->code = code ? code : WEFT_ETASK;
            } else if (t->outcome == DS_OUT_OK &&
                       weft_run_node_status(run, ids[i]) == WEFT_NODE_CANCELLED) {
                t->outcome = DS_OUT_CANCELLED; /* a deferred node completed as cancelled */
            }
            if (t->outcome == DS_OUT_OK || t->outcome == DS_OUT_FAILED) { /* a failure's bytes too */
                const void *d = NULL;
                size_t n = 0;
                if (weft_run_result(run, ids[i], &d, &n) == 0) {
                    t->result = d;
                    t->result_len = n;
                }
            }
        }
    }
    wf_free(ids);
    b->inputs = inputs;
    b->graph = g;
    b->run = run;
    b->done(b);
    return 0;
}

int ds_exec_submit(weft_runtime_t *rt, ds_exec_batch_t *b) {
    b->graph = NULL;
    b->run = NULL;
    return weft_submit(rt, batch_task, b, NULL, NULL);
}

static int add_task_node(weft_graph_t *g, ds_exec_task_t *t, ds_input_t **keep,
                         weft_node_t *id) {
    if (!t->inputs) {
        int r = weft_graph_add(g, NULL, ds_exec_node, t, id);
        if (!r && t->arg_len) r = weft_graph_set_arg_ref(g, *id, t->arg, t->arg_len);
        return r;
    }
    const uint8_t *arg, **ptrs;
    size_t arg_len, n, *lens;
    int r = ds_inputs_decode(t->arg, t->arg_len, &arg, &arg_len, &n, &ptrs, &lens);
    if (r) return r == DS_ERROR ? WEFT_EPROTO : r;
    ds_input_t *in = wf_malloc(sizeof *in * (n ? n : 1));
    weft_node_t *pn = wf_malloc(sizeof *pn * (n ? n : 1));
    if (!in || !pn) r = WEFT_ENOMEM;
    for (size_t i = 0; !r && i < n; i++) {
        in[i].p = ptrs[i];
        in[i].n = lens[i];
        r = weft_graph_add(g, NULL, ds_input_node, &in[i], &pn[i]);
    }
    if (!r) r = weft_graph_add(g, NULL, ds_exec_node, t, id);
    if (!r && arg_len) r = weft_graph_set_arg_ref(g, *id, arg, arg_len);
    /* in insertion order: input i is the task's weft_node_input(i) */
    for (size_t i = 0; !r && i < n; i++) r = weft_graph_precede(g, pn[i], *id);
    wf_free(ptrs);
    wf_free(lens);
    wf_free(pn);
    if (r && in) /* input nodes added stay in the graph: they copy nothing now */
        for (size_t i = 0; i < n; i++) in[i].n = 0;
    *keep = in;
    return r;
}

void ds_exec_release(ds_exec_batch_t *b) {
    if (b->inputs) {
        ds_input_t **in = b->inputs;
        for (size_t i = 0; i < b->count; i++) wf_free(in[i]);
        wf_free(in);
        b->inputs = NULL;
    }
    if (b->run) weft_run_free(b->run);
    if (b->graph) weft_graph_free(b->graph);
    b->run = NULL;
    b->graph = NULL;
}
