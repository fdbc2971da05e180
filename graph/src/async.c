/* async.c: asynchronous nodes, and where they ran (origins).
 *
 * Asynchronous nodes. A node function defers its completion
 * (weft_node_defer) and returns; any thread completes it later
 * (weft_node_async_complete). In between the node is RUNNING and holds no
 * worker: the run's completion is held open by a runtime hold (a child
 * task of the node's task, made now and queued at completion), and the
 * queued task finishes the node inside the run's own task tree
 * (gr_node_finish), where its successors are spawned as for any node. */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

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
    int remote;             /* it ran on another machine: no local worker's work */
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
    int st = h->st, code = h->code, remote = h->remote;
    h->magic = 0;
    wf_free(h);
    gr_node_finish(run, v, st, code, remote);
    return 0;
}

/* The machine string of an origin as it is kept: NULL and "" are this
 * process (gr_local); otherwise at most WEFT_NAME_MAX bytes, spaces and
 * control bytes replaced by '_', so that every file and trace can hold it.
 * buf has WEFT_NAME_MAX + 1 bytes. */
static const char *origin_machine(const char *m, char *buf) {
    if (!m || !*m) return gr_local;
    size_t n = 0;
    for (; m[n] && n < WEFT_NAME_MAX; n++) {
        unsigned char c = (unsigned char)m[n];
        buf[n] = c <= ' ' || c == 0x7f ? '_' : (char)c;
    }
    buf[n] = 0;
    return buf;
}

/* Seconds of an origin as they are kept: 0 .. GR_ORIGIN_MAX_S, NaN 0. */
static double origin_s(double s) { return s > 0 ? (s < GR_ORIGIN_MAX_S ? s : GR_ORIGIN_MAX_S) : 0; }

int weft_node_async_complete_at(weft_node_async_t *h, int status, const void *data, size_t len,
                                const weft_node_origin_t *origin) {
    if (!h || h->magic != GR_MAGIC_ASYNC || (len && !data)) return WEFT_EINVAL;
    const char *machine = NULL;
    gr_origins *o = NULL;
    /* An origin never makes a completion fail (an executor that got an
     * error here would leave the node waiting): what is out of range is
     * kept as unknown, and without memory for it the origin is dropped.
     * Interned before the completion is accepted, which is harmless when
     * it is refused: the table only gains a name. */
    if (origin) {
        char buf[WEFT_NAME_MAX + 1];
        if ((o = gr_origins_get(h->run)) &&
            !(machine = gr_machine_intern(o, origin_machine(origin->machine, buf))))
            o = NULL;
    }
    int idle = 0;
    /* acq_rel: exactly one completion is accepted; later ones are refused */
    if (!atomic_compare_exchange_strong_explicit(&h->completing, &idle, 1, memory_order_acq_rel,
                                                 memory_order_relaxed)) {
        wf_set_detail("the asynchronous node was completed already");
        return WEFT_EINVAL;
    }
    if (o) { /* this completer alone writes node v's origin in this run */
        gr_origin *no = &o->node[h->v];
        no->worker = origin->worker >= -1 && origin->worker < WEFT_MAX_WORKERS ? origin->worker : -1;
        no->attempts = origin->attempts > 0 ? origin->attempts : 0;
        /* clocks aligned across machines may be a little off: kept to
         * 0 <= start <= end */
        no->start_s = origin_s(origin->start_s);
        no->end_s = origin_s(origin->end_s);
        if (no->end_s < no->start_s) no->end_s = no->start_s;
        no->lost_s = origin_s(origin->lost_s);
        no->bytes_sent = origin->bytes_sent;
        no->bytes_received = origin->bytes_received;
        /* release: the fields above reach readers that see machine */
        atomic_store_explicit(&no->machine, machine, memory_order_release);
        h->remote = machine != gr_local;
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

int weft_node_async_complete(weft_node_async_t *h, int status, const void *data, size_t len) {
    return weft_node_async_complete_at(h, status, data, len, NULL);
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

/* ---- origins ----
 *
 * A run's origins are one block made at the first origin reported in the
 * run (a CAS publishes it, as the results array is published), so a run
 * with no executor never allocates it. Each node's entry is written by its
 * one accepted completer, machine last with release. The machine table
 * interns the few distinct machine strings under a spin lock (completions
 * come from any thread at once); entries are never moved or freed while
 * the record lives, so the pointers in node entries and those handed out
 * by weft_run_node_origin stay valid. Local nodes carry no entry: they
 * count as machine "local". */

const char gr_local[] = "local";

static void machines_lock(gr_machines *m) {
    /* acquire: pairs with the release in machines_unlock */
    while (atomic_exchange_explicit(&m->lock, 1, memory_order_acquire)) sched_yield();
}

static void machines_unlock(gr_machines *m) {
    atomic_store_explicit(&m->lock, 0, memory_order_release); /* to the next lock */
}

gr_origins *gr_origins_get(weft_run_t *run) {
    /* acquire: pairs with the CAS below, so the table's set-up is seen */
    gr_origins *o = atomic_load_explicit(&run->origins, memory_order_acquire);
    if (o) return o;
    gr_origins *fresh = wf_calloc(1, sizeof *fresh + (run->n ? run->n : 1) * sizeof(gr_origin));
    if (!fresh) return NULL;
    fresh->m.names = wf_malloc(8 * sizeof *fresh->m.names);
    if (!fresh->m.names) {
        wf_free(fresh);
        return NULL;
    }
    fresh->m.names[0] = gr_local;
    fresh->m.n = 1;
    fresh->m.cap = 8;
    /* acq_rel: publishes the set-up (release), or sees the winner's (acquire) */
    if (atomic_compare_exchange_strong_explicit(&run->origins, &o, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    wf_free((void *)fresh->m.names);
    wf_free(fresh);
    return o;
}

const char *gr_machine_intern(gr_origins *o, const char *machine) {
    if (!machine || strcmp(machine, gr_local) == 0) return gr_local;
    gr_machines *m = &o->m;
    const char *found = NULL;
    machines_lock(m);
    for (size_t i = 1; i < m->n && !found; i++)
        if (strcmp(m->names[i], machine) == 0) found = m->names[i];
    if (!found && m->n == m->cap) {
        const char **grown = wf_realloc((void *)m->names, 2 * m->cap * sizeof *grown);
        if (grown) {
            m->names = grown;
            m->cap *= 2;
        }
    }
    if (!found && m->n < m->cap) {
        char *copy = wf_strdup(machine);
        if (copy) found = m->names[m->n++] = copy;
    }
    machines_unlock(m);
    return found;
}

void gr_origins_free(weft_run_t *run) {
    gr_origins *o = atomic_load_explicit(&run->origins, memory_order_relaxed); /* owner only */
    if (!o) return;
    for (size_t i = 1; i < o->m.n; i++) wf_free((void *)o->m.names[i]);
    wf_free((void *)o->m.names);
    wf_free(o);
    atomic_store_explicit(&run->origins, NULL, memory_order_relaxed);
}

const gr_origin *gr_origin_of(const weft_run_t *run, uint32_t v) {
    /* acquire: pairs with gr_origins_get's CAS */
    gr_origins *o = atomic_load_explicit(&((weft_run_t *)run)->origins, memory_order_acquire);
    if (!o) return NULL;
    /* acquire: pairs with the completer's release of machine */
    return atomic_load_explicit(&o->node[v].machine, memory_order_acquire) ? &o->node[v] : NULL;
}

const char *gr_machine_of(const weft_run_t *run, uint32_t v) {
    const gr_origin *no = gr_origin_of(run, v);
    return no ? atomic_load_explicit(&((gr_origin *)no)->machine, memory_order_relaxed) : gr_local;
}

int gr_node_ran(const weft_run_t *run, uint32_t v) {
    int st = atomic_load_explicit(&run->status[v], memory_order_acquire);
    return st == WEFT_NODE_DONE || st == WEFT_NODE_FAILED;
}

static int machine_cmp(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    if (x == gr_local || y == gr_local) return (y == gr_local) - (x == gr_local);
    return strcmp(x, y);
}

int gr_machine_order(const weft_run_t *run, const char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    gr_origins *o = atomic_load_explicit(&((weft_run_t *)run)->origins, memory_order_acquire);
    if (!o) return 0;
    machines_lock(&o->m);
    size_t nm = o->m.n;
    const char **names = wf_malloc(nm * sizeof *names);
    if (names) memcpy((void *)names, (const void *)o->m.names, nm * sizeof *names);
    machines_unlock(&o->m);
    unsigned char *used = wf_calloc(nm, 1);
    if (!names || !used) {
        wf_free((void *)names);
        wf_free(used);
        return WEFT_ENOMEM;
    }
    size_t last = 0; /* nodes come in runs of one machine: look there first */
    for (uint32_t v = 0; v < run->n; v++) {
        if (!gr_node_ran(run, v)) continue;
        const char *mv = gr_machine_of(run, v);
        if (names[last] != mv)
            for (last = 0; last < nm && names[last] != mv; last++) {
            }
        if (last < nm) used[last] = 1;
        else last = 0;
    }
    size_t k = 0;
    for (size_t i = 0; i < nm; i++)
        if (used[i]) names[k++] = names[i];
    wf_free(used);
    qsort((void *)names, k, sizeof *names, machine_cmp);
    *out = names;
    *n = k;
    return 0;
}

int gr_run_has_origins(const weft_run_t *run) {
    if (!atomic_load_explicit(&((weft_run_t *)run)->origins, memory_order_acquire)) return 0;
    for (uint32_t v = 0; v < run->n; v++)
        if (gr_node_ran(run, v) && gr_origin_of(run, v)) return 1;
    return 0;
}

size_t gr_machine_rank(const weft_run_t *run, uint32_t v, const char *const *order, size_t n) {
    const char *mv = gr_machine_of(run, v);
    size_t i = 0;
    while (i < n && order[i] != mv) i++;
    return i;
}

int weft_run_node_origin(const weft_run_t *run, weft_node_t node, weft_node_origin_t *origin) {
    if (origin) memset(origin, 0, sizeof *origin);
    int rc = gr_run_valid(run);
    if (rc) return rc;
    if (node >= run->n || !origin) return WEFT_EINVAL;
    if (!gr_node_ran(run, node)) return WEFT_ENOENT;
    const gr_origin *no = gr_origin_of(run, node);
    if (!no) { /* ran here */
        origin->machine = gr_local;
        origin->worker = run->record && run->t_end[node] ? run->t_worker[node] : -1;
        origin->attempts = 1;
        return 0;
    }
    origin->machine = atomic_load_explicit(&((gr_origin *)no)->machine, memory_order_relaxed);
    origin->worker = no->worker;
    origin->attempts = no->attempts;
    origin->lost_s = no->lost_s;
    origin->start_s = no->start_s;
    origin->end_s = no->end_s;
    origin->bytes_sent = no->bytes_sent;
    origin->bytes_received = no->bytes_received;
    return 0;
}
