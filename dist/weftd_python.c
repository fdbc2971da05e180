/* weftd_python.c: weftd --python N. A process pool (weft_procpool_*) of N
 * Python worker processes (`PYTHON -m weft._procworker`, PYTHON from
 * --python-exe, default python3 found in PATH; weft must be importable
 * there, e.g. through PYTHONPATH) on Unix sockets of a private directory,
 * and the task "weft.py" registered in weftd as a forwarder: its node
 * function defers the node (weft_node_defer) and submits the same payload
 * to the pool, whose callback completes the node with the worker's result
 * bytes (a status byte, then the serializer's output: see
 * bindings/python/wpy_procs.c). A pool-level failure (a task that killed
 * max_losses workers: WEFT_ENODE; the pool shutting down) completes the
 * node with status byte 4 and "CODE MESSAGE", which the client raises as
 * weft.Error. No thread of weftd waits meanwhile: the node is deferred.
 *
 * Graph nodes (Python's Graph.add_remote: a payload beginning b"WFN1",
 * see bindings/python/wpy_gnode.c) need their inputs and a failure of
 * their own. The forwarder wraps the payload and the node's inputs into
 * one job argument, b"WFI1" + an input frame (dist/PROTOCOL.md 5.1's
 * layout), which the worker answers as a job (status byte, output); the
 * callback then completes the node with the output (status byte 0) or
 * fails it with WEFT_ETASK and the whole answer as its result bytes (the
 * client reads the report there), and a pool-level failure fails it with
 * that code. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "weft.h"
#include "weftd_python.h"

static weft_procpool_t *g_pool;
static weft_cluster_t *g_pc;

/* graph: a graph node's failure fails the node (with rc), a job's is
 * its answer (status 0). */
static void complete_error(weft_node_async_t *h, int rc, const char *why, int graph) {
    char buf[600];
    buf[0] = 4;
    int n = snprintf(buf + 1, sizeof buf - 1, "%d %s", rc, why && *why ? why : weft_strerror(rc));
    if (n < 0) n = 0;
    if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
    weft_node_async_complete(h, graph ? rc : 0, buf, (size_t)n + 1);
}

/* The callbacks' data: the handle is a pointer whose low bit says "graph
 * node" (handles are aligned). */
#define GRAPH_BIT ((uintptr_t)1)

/* The pool's callback, on its I/O thread. */
static void forwarded(void *data, weft_djob_t *job, int rc) {
    int graph = ((uintptr_t)data & GRAPH_BIT) != 0;
    weft_node_async_t *h = (weft_node_async_t *)((uintptr_t)data & ~GRAPH_BIT);
    if (rc != 0) {
        complete_error(h, rc, weft_djob_error(job), graph);
        return;
    }
    const void *d = NULL;
    size_t n = 0;
    weft_djob_result(job, &d, &n);
    if (graph && n >= 1 && ((const unsigned char *)d)[0] == 0)
        weft_node_async_complete(h, 0, (const char *)d + 1, n - 1);
    else if (graph)
        weft_node_async_complete(h, WEFT_ETASK, d ? d : "", n);
    else if (weft_node_async_complete(h, 0, d ? d : "", n) == WEFT_ENOMEM) {
        /* the node failed with WEFT_ENOMEM: the client sees a failed task */
    }
}

static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* b"WFI1" + the input frame of the running node: its argument and its
 * inputs (malloc'd into *out). 0 or WEFT_ENOMEM / WEFT_ERANGE. */
static int wrap_inputs(weft_node_ctx_t *ctx, const void *arg, size_t len, unsigned char **out,
                       size_t *out_len) {
    size_t n = weft_node_input_count(ctx);
    if (n > 65536) return WEFT_ERANGE;
    size_t total = 4 + 12 + 8 * n + len;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        weft_node_input(ctx, i, &k);
        if (k > SIZE_MAX / 2 - total) return WEFT_ERANGE;
        total += k;
    }
    unsigned char *f = malloc(total);
    if (!f) return WEFT_ENOMEM;
    memcpy(f, "WFI1", 4);
    for (int i = 0; i < 4; i++) f[4 + i] = (unsigned char)((uint32_t)n >> (8 * i));
    put64(f + 8, len);
    unsigned char *at = f + 16 + 8 * n;
    if (len) memcpy(at, arg, len);
    at += len;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        const void *d = weft_node_input(ctx, i, &k);
        put64(f + 16 + 8 * i, d ? k : 0);
        if (d && k) memcpy(at, d, k);
        at += d ? k : 0;
    }
    *out = f;
    *out_len = (size_t)(at - f);
    return 0;
}

static int forward_fn(weft_node_ctx_t *ctx, void *unused) {
    (void)unused;
    size_t len = 0;
    const void *arg = weft_node_arg(ctx, &len);
    int graph = arg && len >= 8 && memcmp(arg, "WFN1", 4) == 0;
    unsigned char *wrapped = NULL;
    if (graph) {
        int wr = wrap_inputs(ctx, arg, len, &wrapped, &len);
        if (wr) return wr;
        arg = wrapped;
    }
    weft_node_async_t *h = NULL;
    int rc = weft_node_defer(ctx, &h);
    if (rc) {
        free(wrapped);
        return rc;
    }
    weft_dsubmit_opts_t o = {.callback = forwarded,
                             .callback_data = (void *)((uintptr_t)h | (graph ? GRAPH_BIT : 0))};
    rc = weft_cluster_submit(g_pc, "weft.py", arg, len, &o, NULL); /* copies arg */
    free(wrapped);
    if (rc) complete_error(h, rc, weft_error_detail(), graph);
    return 0;
}

int weftd_python_start(int n, const char *exe) {
    const char *argv[] = {exe && *exe ? exe : "python3", "-m", "weft._procworker", NULL};
    weft_procpool_opts_t o;
    weft_procpool_opts_init(&o);
    int rc = weft_procpool_create(argv, n, &o, &g_pool);
    if (rc) return rc;
    g_pc = weft_procpool_cluster(g_pool);
    rc = weft_task_register("weft.py", forward_fn, NULL);
    if (rc) {
        weft_procpool_free(g_pool);
        g_pool = NULL;
        g_pc = NULL;
    }
    return rc;
}

void weftd_python_stop(void) {
    if (!g_pool) return;
    weft_task_unregister("weft.py");
    weft_procpool_free(g_pool);
    g_pool = NULL;
    g_pc = NULL;
}
