/* parallel.c: parallel for, map and reduce on the work-stealing scheduler.
 *
 * All three run a root task as a job and wait for it (a worker helps while
 * waiting). parallel_for's root halves its range, handing the upper half to
 * a new task each time, until a chunk fits the grain: the halves are the
 * root's children, so the root's job completes when every chunk has.
 * reduce is a fork-join tree: each node forks its right half, reduces its
 * left half itself, joins and combines left then right, so the order of
 * combination depends only on the grain, never on the schedule. */
#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include "wf.h"

#define WF_AUTO_GRAIN 4096 /* the typed reductions: same result on any worker count */
#define WF_MAX_ELEM 4096

/* ---- parallel for ---- */

typedef struct pf_ctx {
    weft_runtime_t *rt;
    weft_range_fn fn;
    void *ctx;
    uint64_t grain;
    atomic_int status; /* first nonzero status of a chunk */
} pf_ctx;

typedef struct pf_arg {
    pf_ctx *c;
    int64_t lo, hi;
} pf_arg;

static void pf_fail(pf_ctx *c, int status) {
    int zero = 0;
    atomic_compare_exchange_strong(&c->status, &zero, status);
}

static void pf_chunks(pf_ctx *c, int64_t lo, int64_t hi) { /* serial fallback */
    while (lo < hi) {
        int64_t n = (uint64_t)hi - (uint64_t)lo > c->grain ? (int64_t)c->grain : hi - lo;
        int s = c->fn(c->ctx, lo, lo + n);
        if (s) pf_fail(c, s);
        lo += n;
    }
}

static int pf_task(void *arg, void **result) {
    (void)result;
    pf_arg *a = arg;
    pf_ctx *c = a->c;
    int64_t lo = a->lo, hi = a->hi;
    wf_free(a);
    while ((uint64_t)hi - (uint64_t)lo > c->grain) {
        int64_t mid = lo + (int64_t)(((uint64_t)hi - (uint64_t)lo) / 2);
        pf_arg *r = wf_malloc(sizeof *r);
        if (!r) break;
        r->c = c;
        r->lo = mid;
        r->hi = hi;
        if (weft_submit(c->rt, pf_task, r, NULL, NULL) != 0) {
            wf_free(r);
            break;
        }
        hi = mid;
    }
    pf_chunks(c, lo, hi);
    return 0;
}

/* Runs fn(arg) as a job on rt and waits for it and its spawn tree. Returns
 * 0, or the submission's error (then nothing ran and arg is untouched). */
static int run_root(weft_runtime_t *rt, weft_task_fn fn, void *arg) {
    weft_job_t *job;
    int rc = weft_submit(rt, fn, arg, NULL, &job);
    if (rc) return rc;
    weft_job_wait(job, NULL, NULL); /* the root tasks always return 0 */
    weft_job_free(job);
    return 0;
}

int weft_parallel_for(weft_runtime_t *rt, int64_t begin, int64_t end, int64_t grain,
                      weft_range_fn fn, void *ctx) {
    if (!wf_rt_valid(rt) || !fn || grain <= 0 || end < begin) return WEFT_EINVAL;
    if (begin == end) return 0;
    pf_ctx c = {.rt = rt, .fn = fn, .ctx = ctx, .grain = (uint64_t)grain};
    atomic_init(&c.status, 0);
    pf_arg *a = wf_malloc(sizeof *a);
    if (!a) return WEFT_ENOMEM;
    a->c = &c;
    a->lo = begin;
    a->hi = end;
    int rc = run_root(rt, pf_task, a);
    if (rc) {
        wf_free(a);
        return rc;
    }
    return atomic_load(&c.status) ? WEFT_ETASK : 0;
}

/* ---- map ---- */

typedef struct map_ctx {
    const char *in;
    char *out;
    size_t in_size, out_size;
    weft_map_fn fn;
    void *ctx;
} map_ctx;

static int map_range(void *ctx, int64_t begin, int64_t end) {
    map_ctx *m = ctx;
    int status = 0;
    for (int64_t i = begin; i < end; i++) {
        int s = m->fn(m->ctx, m->in + (size_t)i * m->in_size, m->out + (size_t)i * m->out_size);
        if (s && !status) status = s;
    }
    return status;
}

int weft_map(weft_runtime_t *rt, const void *in, size_t in_size, void *out, size_t out_size,
             size_t count, size_t grain, weft_map_fn fn, void *ctx) {
    if (!wf_rt_valid(rt) || !fn || !grain || !in_size || !out_size || grain > INT64_MAX ||
        count > INT64_MAX)
        return WEFT_EINVAL;
    if (count && (!in || !out)) return WEFT_EINVAL;
    map_ctx m = {in, out, in_size, out_size, fn, ctx};
    return weft_parallel_for(rt, 0, (int64_t)count, (int64_t)grain, map_range, &m);
}

/* ---- reduce ---- */

typedef struct rd_ctx {
    weft_runtime_t *rt;
    const char *data;
    size_t esz, grain;
    const void *identity;
    weft_combine_fn fn;
    void *ctx;
} rd_ctx;

typedef struct rd_arg {
    rd_ctx *c;
    size_t lo, hi;
    void *out;
} rd_arg;

#define RD_ALIGN alignof(max_align_t)
#define RD_HEAD ((sizeof(rd_arg) + RD_ALIGN - 1) / RD_ALIGN * RD_ALIGN)

static int rd_task(void *arg, void **result);

static void rd_node(rd_ctx *c, size_t lo, size_t hi, void *out) {
    if (hi - lo > c->grain) {
        size_t mid = lo + (hi - lo) / 2;
        rd_arg *r = wf_malloc(RD_HEAD + c->esz);
        weft_job_t *job = NULL;
        if (r) {
            r->c = c;
            r->lo = mid;
            r->hi = hi;
            r->out = (char *)r + RD_HEAD;
            if (weft_submit(c->rt, rd_task, r, NULL, &job) != 0) job = NULL;
        }
        if (job) {
            rd_node(c, lo, mid, out);
            weft_job_wait(job, NULL, NULL);
            weft_job_free(job);
            c->fn(c->ctx, out, r->out);
            wf_free(r);
            return;
        }
        wf_free(r); /* no memory: reduce this range serially */
    }
    memcpy(out, c->identity, c->esz);
    for (size_t i = lo; i < hi; i++) c->fn(c->ctx, out, c->data + i * c->esz);
}

static int rd_task(void *arg, void **result) {
    (void)result;
    rd_arg *a = arg;
    rd_node(a->c, a->lo, a->hi, a->out);
    return 0;
}

int weft_reduce(weft_runtime_t *rt, const void *data, size_t count, size_t elem_size,
                size_t grain, const void *identity, weft_combine_fn fn, void *ctx, void *result) {
    if (!wf_rt_valid(rt) || !fn || !identity || !result || !elem_size || !grain) return WEFT_EINVAL;
    if (count && !data) return WEFT_EINVAL;
    if (elem_size > WF_MAX_ELEM) return WEFT_ERANGE;
    rd_ctx c = {rt, data, elem_size, grain, identity, fn, ctx};
    rd_arg *root = wf_malloc(RD_HEAD + elem_size);
    if (!root) return WEFT_ENOMEM;
    root->c = &c;
    root->lo = 0;
    root->hi = count;
    root->out = (char *)root + RD_HEAD;
    int rc = run_root(rt, rd_task, root);
    if (rc == 0) memcpy(result, root->out, elem_size);
    wf_free(root);
    return rc;
}

/* ---- typed reductions ---- */

static void sum_d(void *ctx, void *acc, const void *v) { (void)ctx; *(double *)acc += *(const double *)v; }
static void min_d(void *ctx, void *acc, const void *v) {
    (void)ctx;
    if (*(const double *)v < *(double *)acc) *(double *)acc = *(const double *)v;
}
static void max_d(void *ctx, void *acc, const void *v) {
    (void)ctx;
    if (*(const double *)v > *(double *)acc) *(double *)acc = *(const double *)v;
}
static void sum_i(void *ctx, void *acc, const void *v) {
    (void)ctx; /* wraps on overflow like unsigned arithmetic instead of UB */
    *(int64_t *)acc = (int64_t)((uint64_t) * (int64_t *)acc + (uint64_t) * (const int64_t *)v);
}
static void min_i(void *ctx, void *acc, const void *v) {
    (void)ctx;
    if (*(const int64_t *)v < *(int64_t *)acc) *(int64_t *)acc = *(const int64_t *)v;
}
static void max_i(void *ctx, void *acc, const void *v) {
    (void)ctx;
    if (*(const int64_t *)v > *(int64_t *)acc) *(int64_t *)acc = *(const int64_t *)v;
}

static int typed_reduce(weft_runtime_t *rt, const void *data, size_t count, size_t esz,
                        weft_op_t op, const void *zero, weft_combine_fn const fns[3],
                        void *result) {
    if (!wf_rt_valid(rt) || !result || (count && !data)) return WEFT_EINVAL;
    if (op != WEFT_OP_SUM && op != WEFT_OP_MIN && op != WEFT_OP_MAX) return WEFT_EINVAL;
    if (op != WEFT_OP_SUM && count == 0) return WEFT_ERANGE;
    /* min and max start from the first element: idempotent, so correct */
    const void *identity = op == WEFT_OP_SUM ? zero : data;
    return weft_reduce(rt, data, count, esz, WF_AUTO_GRAIN, identity, fns[op], NULL, result);
}

int weft_reduce_double(weft_runtime_t *rt, const double *data, size_t count, weft_op_t op,
                       double *result) {
    static weft_combine_fn const fns[3] = {sum_d, min_d, max_d};
    static const double zero = 0.0;
    return typed_reduce(rt, data, count, sizeof(double), op, &zero, fns, result);
}

int weft_reduce_int64(weft_runtime_t *rt, const int64_t *data, size_t count, weft_op_t op,
                      int64_t *result) {
    static weft_combine_fn const fns[3] = {sum_i, min_i, max_i};
    static const int64_t zero = 0;
    return typed_reduce(rt, data, count, sizeof(int64_t), op, &zero, fns, result);
}
