/* ds_graph.c: the cluster's graph executor (weft_cluster_executor).
 *
 * A graph run with this executor hands each named-task node to start()
 * (graph/src/remote.c has deferred it already): the node's argument and
 * its predecessors' result bytes become one input frame (PROTOCOL.md 5.1,
 * DS_F_INPUTS; a node without predecessors sends its argument alone), the
 * frame is submitted as a job of the node's task (pinned to a node for
 * WEFT_PLACE_NODE), and the job's callback, on the cluster's I/O thread,
 * completes the node with the job's outcome and where it ran. The client
 * keeps every result of the run (the run record holds them), so a node
 * lost during a run costs only its running tasks, which the cluster sends
 * again (at least once, accepted exactly once): no lineage to recompute.
 * Rejected for now: leaving results on the nodes and moving inputs from
 * node to node, which saves the client's bandwidth for large data but
 * makes a node's loss lose results (dask's and Ray's lineage problem);
 * measured in bench_dist (graph mode) as the 1 MiB chain.
 *
 * The executor keeps the jobs it holds in a list (under its mutex), so
 * that a cancelled run can cancel them on every node. A job handle cannot
 * be freed in its own callback: finished entries go to a reap list, freed
 * by the next start or cancel, and by ds_gexec_free when the cluster
 * ends (after its I/O thread stopped, so every callback has run). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ds.h"

typedef struct gx_entry {
    ds_gexec_t *x;
    weft_node_async_t *h;
    weft_run_t *run;
    weft_djob_t *job;
    int64_t run_start_ns;
    struct gx_entry *prev, *next;
} gx_entry_t;

struct ds_gexec {
    weft_executor_t ex;
    weft_cluster_t *c;
    pthread_mutex_t mu;
    gx_entry_t *live; /* jobs in flight */
    gx_entry_t *reap; /* finished: handles to free */
    atomic_int nreap; /* entries on reap: start frees them in batches */
};

static void unlink_live(ds_gexec_t *x, gx_entry_t *e) {
    if (e->prev) e->prev->next = e->next;
    else x->live = e->next;
    if (e->next) e->next->prev = e->prev;
    e->prev = e->next = NULL;
}

/* Frees the finished entries' handles. Not on the I/O thread. */
static void reap(ds_gexec_t *x) {
    pthread_mutex_lock(&x->mu);
    gx_entry_t *list = x->reap;
    x->reap = NULL;
    atomic_store_explicit(&x->nreap, 0, memory_order_relaxed);
    pthread_mutex_unlock(&x->mu);
    while (list) {
        gx_entry_t *next = list->next;
        weft_djob_free(list->job);
        free(list);
        list = next;
    }
}

/* The job's callback: completes the node. */
static void job_done(void *data, weft_djob_t *job, int rc) {
    gx_entry_t *e = data;
    ds_gexec_t *x = e->x;
    ds_djob_info_t in;
    ds_djob_info(job, &in);
    weft_node_origin_t o;
    memset(&o, 0, sizeof o);
    o.machine = in.where;
    o.worker = in.worker;
    o.attempts = in.attempts;
    o.lost_s = (double)in.lost_ns / 1e9;
    if (in.start_ns && in.start_ns >= e->run_start_ns) {
        o.start_s = (double)(in.start_ns - e->run_start_ns) / 1e9;
        o.end_s = o.start_s + (double)in.run_ns / 1e9;
    }
    o.bytes_sent = in.bytes_sent;
    o.bytes_received = rc ? 0 : in.bytes_received;
    const void *data_p = NULL;
    size_t len = 0;
    int status;
    if (rc == 0) {
        status = 0;
        weft_djob_result(job, &data_p, &len);
    } else if (rc == WEFT_ETASK) {
        status = in.status ? in.status : WEFT_ETASK; /* the task's own return value */
    } else {
        status = rc; /* WEFT_ENODE, WEFT_ENOENT, WEFT_ERANGE, WEFT_ECANCELED... */
    }
    /* the entry leaves the live list before its node completes: a cancel
     * of the run, from then on, no longer looks at it */
    weft_node_async_t *h = e->h; /* e may be reaped once listed */
    pthread_mutex_lock(&x->mu);
    unlink_live(x, e);
    e->next = x->reap;
    x->reap = e;
    atomic_fetch_add_explicit(&x->nreap, 1, memory_order_relaxed);
    pthread_mutex_unlock(&x->mu);
    weft_node_async_complete_at(h, status, data_p, len, &o);
}

static int gx_start(void *data, const weft_remote_node_t *rn, weft_node_async_t *h) {
    ds_gexec_t *x = data;
    /* finished handles are freed 256 at a time (one lock for them all) */
    if (atomic_load_explicit(&x->nreap, memory_order_relaxed) >= 256) reap(x);
    size_t total = rn->arg_len;
    uint8_t flags = 0;
    if (rn->ninputs) {
        if (rn->ninputs > DS_INPUTS_MAX) {
            wf_set_detail("node '%s': %zu predecessors, at most %d travel with a task", rn->name,
                          rn->ninputs, DS_INPUTS_MAX);
            return WEFT_ERANGE;
        }
        flags = DS_F_INPUTS;
        total = 12 + 8 * rn->ninputs + rn->arg_len;
        for (size_t i = 0; i < rn->ninputs; i++) {
            if (rn->input_lens[i] > SIZE_MAX / 2 - total) return WEFT_ERANGE;
            total += rn->input_lens[i];
        }
    }
    uint8_t *buf = total ? wf_malloc(total) : NULL;
    if (total && !buf) return WEFT_ENOMEM;
    if (flags) {
        ds_put32(buf, (uint32_t)rn->ninputs);
        ds_put64(buf + 4, rn->arg_len);
        uint8_t *at = buf + 12 + 8 * rn->ninputs;
        if (rn->arg_len) memcpy(at, rn->arg, rn->arg_len);
        at += rn->arg_len;
        for (size_t i = 0; i < rn->ninputs; i++) {
            ds_put64(buf + 12 + 8 * i, rn->input_lens[i]);
            if (rn->input_lens[i]) memcpy(at, rn->inputs[i], rn->input_lens[i]);
            at += rn->input_lens[i];
        }
    } else if (total) {
        memcpy(buf, rn->arg, total);
    }
    gx_entry_t *e = calloc(1, sizeof *e);
    if (!e) {
        wf_free(buf);
        return WEFT_ENOMEM;
    }
    e->x = x;
    e->h = h;
    e->run = rn->run;
    e->run_start_ns = rn->run_start_ns;
    weft_dsubmit_opts_t so = {.callback = job_done, .callback_data = e};
    if (rn->place == WEFT_PLACE_NODE) so.node = rn->where;
    /* under the mutex: the callback (which takes it) cannot run before
     * the entry is complete and listed */
    pthread_mutex_lock(&x->mu);
    int rc = ds_cluster_submit_owned(x->c, rn->task, buf, total, flags, &so, &e->job);
    if (rc == 0) {
        e->next = x->live;
        if (x->live) x->live->prev = e;
        x->live = e;
    }
    pthread_mutex_unlock(&x->mu);
    if (rc) {
        wf_set_detail("node '%s': %s", rn->name, weft_error_detail());
        free(e);
    }
    return rc;
}

static void gx_cancel(void *data, weft_run_t *run) {
    (void)run; /* every run flagged cancelled: run and its sub-runs */
    ds_gexec_t *x = data;
    pthread_mutex_lock(&x->mu);
    for (gx_entry_t *e = x->live; e; e = e->next)
        if (weft_run_cancelled(e->run)) weft_djob_cancel(e->job);
    pthread_mutex_unlock(&x->mu);
    reap(x);
}

int ds_gexec_create(weft_cluster_t *c, ds_gexec_t **out) {
    ds_gexec_t *x = calloc(1, sizeof *x);
    if (!x) return WEFT_ENOMEM;
    x->c = c;
    pthread_mutex_init(&x->mu, NULL);
    x->ex.start = gx_start;
    x->ex.cancel = gx_cancel;
    x->ex.data = x;
    *out = x;
    return 0;
}

const weft_executor_t *ds_gexec_executor(ds_gexec_t *x) { return x ? &x->ex : NULL; }

void ds_gexec_free(ds_gexec_t *x) {
    if (!x) return;
    reap(x); /* the cluster completed every job it held: all are here */
    pthread_mutex_destroy(&x->mu);
    free(x);
}
