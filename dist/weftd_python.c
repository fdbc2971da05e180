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
 * weft.Error. No thread of weftd waits meanwhile: the node is deferred. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"
#include "weftd_python.h"

static weft_procpool_t *g_pool;
static weft_cluster_t *g_pc;

static void complete_error(weft_node_async_t *h, int rc, const char *why) {
    char buf[600];
    buf[0] = 4;
    int n = snprintf(buf + 1, sizeof buf - 1, "%d %s", rc, why && *why ? why : weft_strerror(rc));
    if (n < 0) n = 0;
    if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
    weft_node_async_complete(h, 0, buf, (size_t)n + 1);
}

/* The pool's callback, on its I/O thread. */
static void forwarded(void *data, weft_djob_t *job, int rc) {
    weft_node_async_t *h = data;
    if (rc != 0) {
        complete_error(h, rc, weft_djob_error(job));
        return;
    }
    const void *d = NULL;
    size_t n = 0;
    weft_djob_result(job, &d, &n);
    if (weft_node_async_complete(h, 0, d ? d : "", n) == WEFT_ENOMEM) {
        /* the node failed with WEFT_ENOMEM: the client sees a failed task */
    }
}

static int forward_fn(weft_node_ctx_t *ctx, void *unused) {
    (void)unused;
    size_t len = 0;
    const void *arg = weft_node_arg(ctx, &len);
    weft_node_async_t *h = NULL;
    int rc = weft_node_defer(ctx, &h);
    if (rc) return rc;
    weft_dsubmit_opts_t o = {.callback = forwarded, .callback_data = h};
    rc = weft_cluster_submit(g_pc, "weft.py", arg, len, &o, NULL);
    if (rc) complete_error(h, rc, weft_error_detail());
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
