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
 *
 * Data locality (weft_cluster_opts_t.locality, on by default): a node
 * keeps the large results (DS_KEEP_MIN and up) of graph nodes it ran, and
 * this executor remembers which node holds which (holders, below). A
 * graph node whose inputs include such results goes to the node holding
 * most of those bytes, with references in its frame instead of the bytes;
 * if that node is gone, or dropped them (MISSING), the cluster asks
 * refill() for the frame with every byte and sends it anywhere. So bytes
 * still come back to the client (it holds every result: a node's loss
 * loses none) but do not go out again. Rejected: moving inputs from node
 * to node without the client (as dask and Ray do), which would spare
 * the client's bandwidth on the way back too, but makes results live on
 * nodes only, so a node's loss needs lineage to recompute them. bench_dist
 * graph=chain measures both ways (locality on and off).
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
    weft_node_t node;
    weft_djob_t *job;
    int64_t run_start_ns;
    struct gx_entry *prev, *next;
    /* for refill: the bytes (valid until h completes) */
    const void *arg;
    size_t arg_len, ninputs;
    const void **inputs;
    size_t *input_lens;
} gx_entry_t;

/* Which cluster node holds a large result of a run's graph node. */
typedef struct holder {
    const weft_run_t *run;
    int64_t run_start_ns;
    weft_node_t v;
    int node;
    uint64_t gen, id;
    size_t len;
    struct holder *next; /* FIFO, oldest first */
} holder_t;

#define GX_HOLDERS_MAX 65536

struct ds_gexec {
    weft_executor_t ex;
    weft_cluster_t *c;
    pthread_mutex_t mu;
    gx_entry_t *live; /* jobs in flight */
    gx_entry_t *reap; /* finished: handles to free */
    atomic_int nreap; /* entries on reap: start frees them in batches */
    ds_map_t holders; /* key_of(...) -> holder_t, under mu */
    holder_t *h_head, *h_tail;
    size_t nholders;
};

static uint64_t key_of(const weft_run_t *run, int64_t t0, weft_node_t v) {
    uint64_t k = (uint64_t)(uintptr_t)run * 0x9e3779b97f4a7c15ull ^ (uint64_t)t0 * 0xbf58476d1ce4e5b9ull ^
                 (uint64_t)v * 0x94d049bb133111ebull;
    k ^= k >> 31;
    return k ? k : 1;
}

/* Under mu. */
static holder_t *holder_find(ds_gexec_t *x, const weft_run_t *run, int64_t t0, weft_node_t v) {
    holder_t *h = ds_map_get(&x->holders, key_of(run, t0, v));
    return h && h->run == run && h->run_start_ns == t0 && h->v == v ? h : NULL;
}

static void holder_drop_oldest(ds_gexec_t *x) {
    holder_t *h = x->h_head;
    x->h_head = h->next;
    if (!x->h_head) x->h_tail = NULL;
    if (ds_map_get(&x->holders, key_of(h->run, h->run_start_ns, h->v)) == h)
        ds_map_del(&x->holders, key_of(h->run, h->run_start_ns, h->v));
    x->nholders--;
    free(h);
}

/* Under mu: remembers (best effort) that node holds this result. */
static void holder_add(ds_gexec_t *x, const gx_entry_t *e, int node, uint64_t gen, uint64_t id,
                       size_t len) {
    if (x->nholders >= GX_HOLDERS_MAX) holder_drop_oldest(x);
    holder_t *h = malloc(sizeof *h);
    if (!h) return;
    *h = (holder_t){e->run, e->run_start_ns, e->node, node, gen, id, len, NULL};
    uint64_t k = key_of(e->run, e->run_start_ns, e->node);
    if (ds_map_put(&x->holders, k, h)) { /* replaces any older one of the key */
        free(h);
        return;
    }
    if (x->h_tail) x->h_tail->next = h;
    else x->h_head = h;
    x->h_tail = h;
    x->nholders++;
}

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
        free(list->inputs);
        free(list->input_lens);
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
    int keep = rc == 0 && in.node >= 0 && in.bytes_received >= DS_KEEP_MIN &&
               ds_cluster_locality(x->c);
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
    if (keep) holder_add(x, e, in.node, in.gen, in.id, in.bytes_received);
    unlink_live(x, e);
    e->next = x->reap;
    x->reap = e;
    atomic_fetch_add_explicit(&x->nreap, 1, memory_order_relaxed);
    pthread_mutex_unlock(&x->mu);
    weft_node_async_complete_at(h, status, data_p, len, &o);
}

/* The input frame of a node: refs[i] nonzero puts a reference to that
 * task id in place of input i's bytes. 0 or WEFT_ENOMEM/WEFT_ERANGE. */
static int make_frame(const void *arg, size_t arg_len, size_t n, const void *const *inputs,
                      const size_t *lens, const uint64_t *refs, uint8_t **out, size_t *out_len) {
    size_t total = 12 + 8 * n + arg_len;
    for (size_t i = 0; i < n; i++) {
        if (refs && refs[i]) continue;
        if (lens[i] > SIZE_MAX / 2 - total) return WEFT_ERANGE;
        total += lens[i];
    }
    uint8_t *buf = wf_malloc(total);
    if (!buf) return WEFT_ENOMEM;
    ds_put32(buf, (uint32_t)n);
    ds_put64(buf + 4, arg_len);
    uint8_t *at = buf + 12 + 8 * n;
    if (arg_len) memcpy(at, arg, arg_len);
    at += arg_len;
    for (size_t i = 0; i < n; i++) {
        if (refs && refs[i]) {
            ds_put64(buf + 12 + 8 * i, DS_INPUT_REF | refs[i]);
            continue;
        }
        ds_put64(buf + 12 + 8 * i, lens[i]);
        if (lens[i]) memcpy(at, inputs[i], lens[i]);
        at += lens[i];
    }
    *out = buf;
    *out_len = total;
    return 0;
}

/* The whole frame, for a node other than the preferred one (I/O thread). */
static int refill(void *data, uint8_t **arg, size_t *len) {
    gx_entry_t *e = data;
    return make_frame(e->arg, e->arg_len, e->ninputs, e->inputs, e->input_lens, NULL, arg, len);
}

static int gx_start(void *data, const weft_remote_node_t *rn, weft_node_async_t *h) {
    ds_gexec_t *x = data;
    /* finished handles are freed 256 at a time (one lock for them all) */
    if (atomic_load_explicit(&x->nreap, memory_order_relaxed) >= 256) reap(x);
    if (rn->ninputs > DS_INPUTS_MAX) {
        wf_set_detail("node '%s': %zu predecessors, at most %d travel with a task", rn->name,
                      rn->ninputs, DS_INPUTS_MAX);
        return WEFT_ERANGE;
    }
    size_t n = rn->ninputs;
    /* locality: the node holding most of the large inputs, if any */
    uint64_t ref_stack[16], *refs = NULL;
    ds_prefer_t pref = {.node = -1};
    if (n && ds_cluster_locality(x->c)) {
        int best = -1;
        uint64_t best_bytes = 0, best_gen = 0;
        pthread_mutex_lock(&x->mu);
        if (x->nholders)
            for (size_t i = 0; i < n; i++) {
                if (rn->input_lens[i] < DS_KEEP_MIN) continue;
                holder_t *hd = holder_find(x, rn->run, rn->run_start_ns, rn->input_nodes[i]);
                if (!hd || ds_cluster_node_gen(x->c, hd->node) != hd->gen) continue;
                uint64_t bytes = 0; /* the bytes held on hd->node among all inputs */
                for (size_t k = 0; k < n; k++) {
                    holder_t *o = k == i ? hd
                                         : rn->input_lens[k] >= DS_KEEP_MIN
                                               ? holder_find(x, rn->run, rn->run_start_ns,
                                                             rn->input_nodes[k])
                                               : NULL;
                    if (o && o->node == hd->node && o->gen == hd->gen) bytes += o->len;
                }
                if (bytes > best_bytes) best = hd->node, best_bytes = bytes, best_gen = hd->gen;
            }
        if (best >= 0) {
            refs = n <= 16 ? ref_stack : calloc(n, sizeof *refs);
            if (refs) {
                for (size_t k = 0; k < n; k++) {
                    holder_t *o = rn->input_lens[k] >= DS_KEEP_MIN
                                      ? holder_find(x, rn->run, rn->run_start_ns, rn->input_nodes[k])
                                      : NULL;
                    refs[k] = o && o->node == best && o->gen == best_gen ? o->id : 0;
                }
                pref.node = best;
                pref.gen = best_gen;
            }
        }
        pthread_mutex_unlock(&x->mu);
    }
    uint8_t *buf;
    size_t total;
    int mrc = make_frame(rn->arg, rn->arg_len, n, rn->inputs, rn->input_lens, refs, &buf, &total);
    if (refs && refs != ref_stack) free(refs);
    if (mrc) return mrc;
    uint8_t flags = DS_F_INPUTS;
    gx_entry_t *e = calloc(1, sizeof *e);
    if (!e) {
        wf_free(buf);
        return WEFT_ENOMEM;
    }
    e->x = x;
    e->h = h;
    e->run = rn->run;
    e->node = rn->node;
    e->run_start_ns = rn->run_start_ns;
    if (pref.node >= 0) { /* refill may need the bytes: their addresses */
        e->arg = rn->arg;
        e->arg_len = rn->arg_len;
        e->ninputs = n;
        e->inputs = malloc(sizeof *e->inputs * n);
        e->input_lens = malloc(sizeof *e->input_lens * n);
        if (!e->inputs || !e->input_lens) {
            free(e->inputs);
            free(e->input_lens);
            free(e);
            wf_free(buf);
            return WEFT_ENOMEM;
        }
        memcpy(e->inputs, rn->inputs, sizeof *e->inputs * n);
        memcpy(e->input_lens, rn->input_lens, sizeof *e->input_lens * n);
        pref.refill = refill;
        pref.data = e;
    }
    weft_dsubmit_opts_t so = {.callback = job_done, .callback_data = e};
    if (rn->place == WEFT_PLACE_NODE) so.node = rn->where;
    /* under the mutex: the callback (which takes it) cannot run before
     * the entry is complete and listed */
    pthread_mutex_lock(&x->mu);
    int rc = ds_cluster_submit_local(x->c, rn->task, buf, total, flags, &so, &pref, &e->job);
    if (rc == 0) {
        e->next = x->live;
        if (x->live) x->live->prev = e;
        x->live = e;
    }
    pthread_mutex_unlock(&x->mu);
    if (rc) {
        wf_set_detail("node '%s': %s", rn->name, weft_error_detail());
        free(e->inputs);
        free(e->input_lens);
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
    while (x->h_head) holder_drop_oldest(x);
    ds_map_free(&x->holders);
    pthread_mutex_destroy(&x->mu);
    free(x);
}
