/* Built against an installed weft: runs one job and one tiny graph. */
#include <stdio.h>
#include <weft.h>

static int square(void *arg, void **result) {
    long *v = arg;
    *v *= *v;
    *result = v;
    return 0;
}

static int node(weft_node_ctx_t *ctx, void *arg) {
    (void)ctx;
    ++*(int *)arg;
    return 0;
}

int main(void) {
    weft_runtime_t *rt;
    if (weft_runtime_create(2, &rt)) return 1;
    long v = 12;
    weft_job_t *job;
    void *res = NULL;
    if (weft_submit(rt, square, &v, NULL, &job) || weft_job_wait(job, NULL, &res) || res != &v)
        return 2;
    weft_job_free(job);
    weft_graph_t *g;
    int count = 0;
    weft_node_t a, b;
    weft_graph_create("consumer", &g);
    weft_graph_add(g, "a", node, &count, &a);
    weft_graph_add(g, "b", node, &count, &b);
    weft_graph_precede(g, a, b);
    if (weft_graph_run(g, rt, NULL, NULL) || count != 2) return 3;
    weft_graph_free(g);
    printf("consumer: weft %s, 12 squared is %ld, graph ran %d nodes\n", weft_version(), v, count);
    return weft_runtime_destroy(rt);
}
