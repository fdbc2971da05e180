/* subrun.c: subgraph nodes, the nodes that run a whole graph.
 *
 * Adding one is building (graph.c's gate and helpers); running one is a
 * deferred node whose completion is a child run (run.c): the node function
 * starts the child run and returns at once, and the child run's last node
 * finishes the subgraph node. This file depends on graph.c and run.c;
 * neither depends on it, so the files call each other in no cycle. */
#include "gr.h"

/* The function of every subgraph node: arg is the subgraph. Runs on the
 * node's thread, inside its run. */
static int sub_node(weft_node_ctx_t *ctx, void *arg) {
    weft_graph_t *g = weft_node_graph(ctx), *sub = arg;
    weft_node_t v = weft_node_id(ctx);
    gr_node_defer(ctx);
    int rc = gr_run_child(ctx, sub, gr_nodes(g)[v].extra);
    /* a child run that could not start: the node fails with its code */
    if (rc) gr_node_finish(weft_node_run(ctx), v, WEFT_NODE_FAILED, rc, 0);
    return 0;
}

int weft_graph_add_subgraph(weft_graph_t *g, const char *name, weft_graph_t *sub,
                            weft_node_t *node) {
    if (node) *node = WEFT_NODE_NONE;
    if (!gr_graph_valid(sub) || sub == g) return WEFT_EINVAL;
    int fast = gr_change_begin(g), rc;
    if (fast < 0) return fast;
    int c = gr_contains(sub, g);
    if (c < 0 || c) {
        gr_change_end(g, fast);
        return c < 0 ? c : WEFT_ECYCLE;
    }
    size_t names_len = g->names.len;
    uint64_t version = atomic_load_explicit(&g->version, memory_order_relaxed);
    weft_node_t v;
    gr_extra *e;
    if ((rc = gr_add_node(g, name ? name : sub->name, sub_node, sub, &v))) goto out;
    if ((rc = gr_add_extra(g, v, &e))) {
        gr_undo_add(g, names_len, version);
        goto out;
    }
    e->kind = GR_SUB;
    e->sub = sub;
    sub->parents++;
    if (node) *node = v;
out:
    gr_change_end(g, fast);
    return rc;
}

int weft_run_subrun(const weft_run_t *run, weft_node_t node, weft_run_t **sub) {
    if (sub) *sub = NULL;
    if (!run || run->magic != GR_MAGIC_RUN || !sub || node >= run->n || !run->subruns)
        return WEFT_EINVAL;
    const gr_extra *e = gr_extra_of(run->g, node);
    uint32_t x = gr_nodes(run->g)[node].extra;
    if (!e || e->kind != GR_SUB || x >= run->nextras) return WEFT_EINVAL;
    /* acquire: pairs with the release that attached the record (run.c) */
    weft_run_t *s = atomic_load_explicit(&((weft_run_t *)run)->subruns[x], memory_order_acquire);
    if (!s) return WEFT_ENOENT;
    *sub = s;
    return 0;
}
