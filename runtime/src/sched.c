/* sched.c: weft's work-stealing scheduler, jobs and groups.
 *
 * Design
 * ------
 * Each worker owns a Chase–Lev deque (Lê, Pop, Cohen, Zappa Nardelli, PPoPP
 * 2013, Figure 1). The owner pushes and takes at the bottom (LIFO, so a
 * fork-join program runs depth-first and its working set stays in cache);
 * thieves take from the top (FIFO, so they get the oldest, usually largest,
 * piece of work). Two fixes to the paper's figure are applied: the owner
 * re-loads the array pointer after a resize, and the new array is published
 * with a release store and read by thieves with an acquire load. Old arrays
 * may still be read by a thief, so they are retired onto a list and freed
 * at teardown (arrays only double, so the retired ones together are smaller
 * than the live one). Indices are 64-bit: no ABA.
 *
 * Why not a bounded ring with overflow: a resizable deque never makes the
 * owner take a lock, and in fib-style recursion the deque depth is the
 * recursion depth, far below the initial 256 slots; growth is rare and cheap.
 *
 * Threads that are not workers submit into one injection queue (a mutex and
 * a linked list); workers look at it after their own deque and before
 * stealing. Victims are picked at random (xorshift per worker).
 *
 * Worker states: RUNNING (executing a task), SEARCHING (own deque empty:
 * injection queue, then up to 2*n random steal attempts, then a short spin),
 * PARKED (asleep on the event count). Parking uses an event count: the
 * worker announces itself (prepare), re-scans every queue, and only then
 * sleeps on a futex keyed by the epoch it read (commit) or backs out
 * (cancel). A producer publishes its task, issues a seq_cst fence, and bumps
 * the epoch and wakes one sleeper only when someone is announced. Either the
 * re-scan sees the task or the producer sees the announcement: no lost
 * wake-up. A woken worker that finds work wakes one more sleeper when more
 * work is visible, so wake-ups spread.
 *
 * Completion: a task is complete when its function has returned and every
 * task it spawned is complete (refs counts itself plus incomplete children).
 * Completing runs the callback, completes the job, counts down the group and
 * then the parent, walking up iteratively. Root tasks (submitted outside any
 * task) count in rt->all, which weft_runtime_wait and destroy wait on. A
 * thief batches the group and parent count-downs of the tasks it stole (see
 * flush_deferred), so one producer's counters do not bounce between caches.
 *
 * Waiting: a worker waiting on a count keeps taking tasks (own deque,
 * injection queue, steals) and runs them on its own stack; when there is
 * nothing to do it parks on the event count, and completing a count that has
 * sleeping waiters notifies all parked workers. A thread that is not a
 * worker registers as a sleeper in the count's word and sleeps on the
 * runtime's futex word wake_seq, which every such completion bumps.
 *
 * Start-up and shut-down atomics (the hot path's are annotated where used):
 * - wake_seq: bumped (seq_cst RMW) by a completer that saw sleepers in the
 *   count's word; read (seq_cst) by a sleeper before it registers, so a
 *   bump after its registration changes the value the futex compares.
 * - inj_count: the injection queue's length, changed (relaxed) under
 *   inj_lock, whose unlock/lock carry the tasks themselves; read without the
 *   lock (seq_cst) as a hint to skip it. The seq_cst read pairs with the
 *   producer's seq_cst fence in ec_notify: a parking worker's re-scan either
 *   sees the count or the producer sees the worker announced (ec_prepare).
 * - stopping: set once by destroy (seq_cst) before it notifies every parked
 *   worker; read (seq_cst) by workers after ec_prepare, the same pairing as
 *   inj_count, so no worker parks through the stop.
 * - closing / ext_entering: destroy against other threads' submits
 *   (Dekker-style, all seq_cst; see submit_enter).
 * - shell_refs: handles alive after destroy; stored (relaxed) before the
 *   release store of magic = DEAD that publishes it to rt_unref's acquire
 *   load; decremented acq_rel so the last handle, which frees the shell,
 *   sees every other handle's last access.
 *
 * Changing the worker count: the target is an atomic; a worker whose index
 * is at or above it stops stealing, drains its own deque, and exits at top
 * level after re-checking under rt->ctl, so a task is never dropped nor run
 * twice. Raising the count starts threads for the missing slots (joining an
 * exited thread first).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wf.h"

#if defined(__x86_64__) || defined(__i386__)
#define wf_relax() __builtin_ia32_pause()
#else
#define wf_relax() ((void)0)
#endif

#define WF_DEQUE_INIT 256
#define WF_TASK_CACHE 256
#define WF_SPIN_SEARCH 64   /* rounds of search before parking */
#define WF_SPIN_WAIT 2000   /* polls before an external waiter sleeps */
#define WF_PARK_NS 50000    /* a searching worker parks after this long */

/* initial-exec: one load instead of a __tls_get_addr call on every submit;
 * a single pointer fits in the static TLS that glibc keeps for dlopen. */
static _Thread_local wf_worker *tls_worker __attribute__((tls_model("initial-exec")));

/* A full (seq_cst) fence. ThreadSanitizer does not model fences, so under
 * it a seq_cst read-modify-write of a private word stands in: it orders
 * the same way on every real machine and TSan understands it. */
#if defined(__SANITIZE_THREAD__)
static atomic_int wf_fence_word;
#define wf_fence() atomic_fetch_add_explicit(&wf_fence_word, 0, memory_order_seq_cst)
#else
#define wf_fence() atomic_thread_fence(memory_order_seq_cst)
#endif

wf_worker *wf_self(void) { return tls_worker; }

int64_t wf_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int wf_deadline_ns(double timeout_s, int64_t *deadline) {
    *deadline = 0;
    if (!(timeout_s >= 0)) return WEFT_EINVAL; /* negative, or NaN */
    int64_t now = wf_now_ns();
    /* past what the clock can count (about 292 years from boot): for ever;
     * the comparison is in double, so no value overflows */
    if (timeout_s * 1e9 >= (double)(INT64_MAX - now) - 1e9) return 0;
    *deadline = now + (int64_t)(timeout_s * 1e9) + 1; /* + 1: never 0 */
    return 0;
}

/* Owner-only increment of a stats counter: no locked instruction. */
static inline void stat_add(atomic_ullong *c, unsigned long long v) {
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* futex                                                               */

static void futex_wait_timed(atomic_uint *addr, unsigned val, const struct timespec *rel) {
    syscall(SYS_futex, (unsigned *)addr, FUTEX_WAIT_PRIVATE, val, rel, NULL, 0);
}


static void futex_wake(atomic_uint *addr, int n) {
    syscall(SYS_futex, (unsigned *)addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* event count (any thread)                                            */

static unsigned ec_prepare(wf_ec *ec) {
    atomic_fetch_add_explicit(&ec->waiters, 1, memory_order_seq_cst);
    /* seq_cst: ordered after the announcement, before the caller's re-scan */
    return atomic_load_explicit(&ec->epoch, memory_order_seq_cst);
}

static void ec_cancel(wf_ec *ec) {
    atomic_fetch_sub_explicit(&ec->waiters, 1, memory_order_relaxed);
}

/* Sleeps until notified (or for at most rel, when not NULL). */
static void ec_commit_timed(wf_ec *ec, unsigned key, const struct timespec *rel) {
    if (atomic_load_explicit(&ec->epoch, memory_order_acquire) == key)
        futex_wait_timed(&ec->epoch, key, rel);
    atomic_fetch_sub_explicit(&ec->waiters, 1, memory_order_relaxed);
}

static void ec_commit(wf_ec *ec, unsigned key) { ec_commit_timed(ec, key, NULL); }

/* Wakes up to n sleepers if any thread is announced. The caller has just
 * published work (or completed a count) with a store or RMW. */
static void ec_notify(wf_ec *ec, int n) {
    /* seq_cst: pairs with ec_prepare; the publication above is ordered
     * before reading waiters, the announcement before the re-scan */
    wf_fence();
    if (atomic_load_explicit(&ec->waiters, memory_order_relaxed) > 0) {
        atomic_fetch_add_explicit(&ec->epoch, 1, memory_order_release);
        futex_wake(&ec->epoch, n);
    }
}

/* ------------------------------------------------------------------ */
/* deque                                                               */

static wf_array *array_new(int64_t size) {
    wf_array *a = wf_aligned_malloc(sizeof *a + (size_t)size * sizeof(wf_task *), WF_CACHE_LINE);
    if (!a) return NULL;
    a->mask = size - 1;
    a->retired = NULL;
    return a;
}

static int deque_init(wf_deque *d) {
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    wf_array *a = array_new(WF_DEQUE_INIT);
    if (!a) return WEFT_ENOMEM;
    atomic_init(&d->array, a);
    return 0;
}

static void deque_fini(wf_deque *d) {
    wf_array *a = atomic_load_explicit(&d->array, memory_order_relaxed);
    while (a) {
        wf_array *r = a->retired;
        wf_aligned_free(a);
        a = r;
    }
}

/* Owner only. Returns 0 or WEFT_ENOMEM (the deque is unchanged then). */
static int deque_push(wf_deque *d, wf_task *t) {
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    wf_array *a = atomic_load_explicit(&d->array, memory_order_relaxed);
    /* top only grows, so a stale copy overstates the size: read the real
     * top (a line thieves keep writing) only when the copy says full */
    int64_t top = d->top_cache;
    if (b - top > a->mask) top = d->top_cache = atomic_load_explicit(&d->top, memory_order_acquire);
    if (b - top > a->mask) { /* full: double */
        wf_array *na = array_new(2 * (a->mask + 1));
        if (!na) return WEFT_ENOMEM;
        for (int64_t i = top; i < b; i++)
            atomic_store_explicit(&na->slot[i & na->mask],
                                  atomic_load_explicit(&a->slot[i & a->mask], memory_order_relaxed),
                                  memory_order_relaxed);
        na->retired = a; /* thieves may still read a: free at teardown */
        /* release: publishes the copied slots to thieves' acquire load */
        atomic_store_explicit(&d->array, na, memory_order_release);
        a = na; /* fix 1: use the new array, not the stale pointer */
    }
    atomic_store_explicit(&a->slot[b & a->mask], t, memory_order_relaxed);
    /* release: publishes the slot and the task's fields to thieves */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return 0;
}

/* Owner only. */
static wf_task *deque_take(wf_deque *d) {
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    wf_array *a = atomic_load_explicit(&d->array, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
    /* seq_cst: the bottom store is ordered before reading top (pairs with
     * the fence in deque_steal) */
    wf_fence();
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    if (t > b) { /* empty */
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
        return NULL;
    }
    wf_task *x = atomic_load_explicit(&a->slot[b & a->mask], memory_order_relaxed);
    if (t == b) { /* last element: race the thieves for it */
        if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                     memory_order_relaxed))
            x = NULL;
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    }
    return x;
}

/* Any thread. Returns a task, or NULL when empty or when a race with the
 * owner or another thief was lost (the caller simply tries elsewhere). */
static wf_task *deque_steal(wf_deque *d) {
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    /* seq_cst: reading top is ordered before reading bottom */
    wf_fence();
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    if (t >= b) return NULL;
    /* acquire (fix 2, not consume): pairs with the release in deque_push */
    wf_array *a = atomic_load_explicit(&d->array, memory_order_acquire);
    wf_task *x = atomic_load_explicit(&a->slot[t & a->mask], memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return NULL;
    return x;
}

static int64_t deque_size(wf_deque *d) {
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    return b > t ? b - t : 0;
}

/* ------------------------------------------------------------------ */
/* task objects                                                        */

static wf_task *task_alloc(wf_worker *w) {
    if (w && w->cache) {
        wf_task *t = w->cache;
        w->cache = t->next;
        w->ncache--;
        return t;
    }
    return wf_malloc(sizeof(wf_task));
}

/* A task's fields before it is queued (parent and counts are the
 * caller's). Owner of t. */
static inline void task_init(wf_task *t, weft_task_fn fn, void *arg, void *seed, weft_group_t *g,
                             weft_job_t *job, weft_callback_fn cb, void *cbdata) {
    t->fn = fn;
    t->arg = arg;
    t->result = seed;
    t->group = g;
    t->job = job;
    t->cb = cb;
    t->cbdata = cbdata;
    t->status = 0;
    t->stolen = 0;
    atomic_init(&t->refs, 1);
}

static void task_release(wf_worker *w, wf_task *t) {
    if (w && w->ncache < WF_TASK_CACHE) {
        t->next = w->cache;
        w->cache = t;
        w->ncache++;
        return;
    }
    wf_free(t);
}

/* ------------------------------------------------------------------ */
/* counters                                                            */

static void counter_init(wf_counter *c, unsigned long long pending) {
    atomic_init(&c->word, pending * WF_PEND_ONE);
}

static inline unsigned long long counter_pending(const wf_counter *c) {
    /* acquire: pairs with the completer's release, so the finished work is
     * visible to whoever sees zero */
    return atomic_load_explicit(&((wf_counter *)c)->word, memory_order_acquire) >> 16;
}

/* Any thread. Returns the pending count before adding n. */
static inline unsigned long long counter_add(wf_counter *c, unsigned long long n) {
    return atomic_fetch_add_explicit(&c->word, n * WF_PEND_ONE, memory_order_relaxed) >> 16;
}

/* Wakes every thread asleep on some counter of rt (they re-check theirs). */
static void wake_sleepers(weft_runtime_t *rt) {
    /* seq_cst: pairs with the sleeper's seq_cst read of the key, taken
     * before it registered in the count's word */
    atomic_fetch_add_explicit(&rt->wake_seq, 1, memory_order_seq_cst);
    futex_wake(&rt->wake_seq, INT_MAX); /* non-workers */
    ec_notify(&rt->ec, INT_MAX);        /* workers parked inside a wait */
}

/* Any thread. Counts n units of work done. The decrement is the last
 * access to *c (see wf_counter). */
static void counter_done_n(weft_runtime_t *rt, wf_counter *c, unsigned long long n) {
    /* acq_rel: publishes the completed work to whoever sees zero */
    unsigned long long old = atomic_fetch_sub_explicit(&c->word, n * WF_PEND_ONE, memory_order_acq_rel);
    if ((old >> 16) == n && (old & WF_SLEEP_MASK)) wake_sleepers(rt);
}

static void counter_done(weft_runtime_t *rt, wf_counter *c) { counter_done_n(rt, c, 1); }

/* Registers the caller as a sleeper. Returns 0 if the count was already
 * zero (then not registered). */
static int counter_sleep_begin(wf_counter *c) {
    unsigned long long old = atomic_fetch_add_explicit(&c->word, 1, memory_order_seq_cst);
    if ((old >> 16) != 0) return 1;
    atomic_fetch_sub_explicit(&c->word, 1, memory_order_relaxed);
    return 0;
}

static void counter_sleep_end(wf_counter *c) {
    atomic_fetch_sub_explicit(&c->word, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* runtime handle references                                           */

int wf_rt_valid(const weft_runtime_t *rt) {
    return rt && atomic_load_explicit(&((weft_runtime_t *)rt)->magic, memory_order_acquire) == WF_MAGIC_RT;
}

/* A destroyed runtime whose shell lives on because handles of it do. */
static int rt_dead(const weft_runtime_t *rt) {
    return rt && atomic_load_explicit(&((weft_runtime_t *)rt)->magic, memory_order_acquire) == WF_MAGIC_DEAD;
}

static void rt_shell_free(weft_runtime_t *rt) {
    wf_free(rt->stats_base);
    pthread_mutex_destroy(&rt->inj_lock);
    pthread_mutex_destroy(&rt->ctl);
    wf_aligned_free(rt);
}

/* A job or group made from rt: counted so that a destroyed runtime's shell
 * outlives its handles (they can then report WEFT_EDESTROYED). */
static void rt_ref(weft_runtime_t *rt) {
    wf_worker *w = tls_worker;
    if (w && w->rt == rt) w->handles++;
    else atomic_fetch_add_explicit(&rt->ext_handles, 1, memory_order_relaxed);
}

static void rt_unref(weft_runtime_t *rt) {
    if (atomic_load_explicit(&rt->magic, memory_order_acquire) == WF_MAGIC_DEAD) {
        /* acq_rel: the last handle frees the shell after every other's use;
         * the count was published by destroy's release store of magic,
         * which the acquire load above read */
        if (atomic_fetch_sub_explicit(&rt->shell_refs, 1, memory_order_acq_rel) == 1)
            rt_shell_free(rt);
        return;
    }
    wf_worker *w = tls_worker;
    if (w && w->rt == rt) w->handles--;
    else atomic_fetch_sub_explicit(&rt->ext_handles, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* jobs                                                                */

static void job_unref(weft_job_t *j) {
    if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) == 1) {
        weft_runtime_t *rt = j->rt;
        j->magic = 0;
        wf_free(j);
        rt_unref(rt);
    }
}

/* ------------------------------------------------------------------ */
/* completion                                                          */

static void record_failure(wf_worker *w, weft_runtime_t *rt, wf_task *t) {
    if (w) stat_add(&w->st.failed, 1);
    else atomic_fetch_add_explicit(&rt->ext_failed, 1, memory_order_relaxed);
    if (t->group) {
        weft_group_t *g = t->group;
        int zero = 0;
        atomic_compare_exchange_strong_explicit(&g->first_status, &zero, t->status,
                                                memory_order_relaxed, memory_order_relaxed);
        atomic_fetch_add_explicit(&g->failed, 1, memory_order_relaxed);
    }
}

/* Batched completion. A thief that runs many children of one task (one
 * producer spawning into one group, say) would otherwise bounce the
 * parent's and the group's counts between its cache and the producer's on
 * every task. Instead it counts them down locally and applies the sum when
 * the target changes, after WF_DEFER_MAX tasks, and always before it looks
 * for work, waits or parks: so a deferred count can delay a waiter by at
 * most the length of the thief's current task, and never strand it. */
#define WF_DEFER_MAX 64

static void task_complete(wf_worker *w, weft_runtime_t *rt, wf_task *t);

static void flush_group(wf_worker *w) {
    if (w->def_group_n) counter_done_n(w->rt, &w->def_group->c, (unsigned long long)w->def_group_n);
    w->def_group = NULL;
    w->def_group_n = 0;
}

static void flush_parent(wf_worker *w) {
    wf_task *p = w->def_parent;
    int n = w->def_parent_n;
    w->def_parent = NULL;
    w->def_parent_n = 0;
    /* acq_rel: the children's effects reach whoever completes the parent */
    if (n && atomic_fetch_sub_explicit(&p->refs, n, memory_order_acq_rel) == n)
        task_complete(w, w->rt, p);
}

static void flush_deferred(wf_worker *w) {
    if (w->def_group_n) flush_group(w);
    while (w->def_parent_n) flush_parent(w); /* completing may defer the next */
    if (w->def_group_n) flush_group(w);
}

/* Called on the thread that brought t's refs to zero: t and its spawn tree
 * are done. Walks up to parents whose last child this was. */
static void task_complete(wf_worker *w, weft_runtime_t *rt, wf_task *t) {
    for (;;) {
        if (t->status != 0) record_failure(w, rt, t);
        if (t->cb) {
            wf_task *saved = w ? w->current : NULL;
            if (w) w->current = NULL; /* submissions from a callback are roots */
            t->cb(t->cbdata, t->status, t->result);
            if (w) w->current = saved;
        }
        if (t->job) {
            weft_job_t *j = t->job;
            j->status = t->status;
            j->result = t->result;
            counter_done(rt, &j->c);
            job_unref(j);
        }
        wf_task *parent = t->parent;
        int batch = t->stolen && w;
        if (t->group) {
            if (!batch) {
                counter_done(rt, &t->group->c);
            } else {
                if (w->def_group != t->group) {
                    flush_group(w);
                    w->def_group = t->group;
                }
                if (++w->def_group_n >= WF_DEFER_MAX) flush_group(w);
            }
        }
        task_release(w, t);
        if (!parent) {
            counter_done(rt, &rt->all);
            return;
        }
        if (batch) {
            /* flushing completes the old parent, which may defer its own
             * parent in turn: repeat until the slot is free or ours */
            while (w->def_parent_n && w->def_parent != parent) flush_parent(w);
            w->def_parent = parent;
            if (++w->def_parent_n >= WF_DEFER_MAX) flush_parent(w);
            return;
        }
        /* acq_rel: the child's effects reach whoever completes the parent */
        if (atomic_fetch_sub_explicit(&parent->refs, 1, memory_order_acq_rel) != 1) return;
        t = parent;
    }
}

static void run_task(wf_worker *w, wf_task *t) {
    wf_task *prev = w->current;
    w->current = t;
    t->status = t->fn(t->arg, &t->result);
    w->current = prev;
    stat_add(&w->st.run, 1);
    /* A task that spawned nothing has refs == 1 and nobody else can add a
     * child now: skip the locked decrement. */
    if (atomic_load_explicit(&t->refs, memory_order_acquire) == 1 ||
        atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        task_complete(w, w->rt, t);
}

/* ------------------------------------------------------------------ */
/* finding work                                                        */

static wf_task *inject_pop(weft_runtime_t *rt) {
    /* seq_cst: a hint read without the lock; in a parking worker's re-scan
     * it pairs with the producer's fence in ec_notify (no lost wake-up) */
    if (atomic_load_explicit(&rt->inj_count, memory_order_seq_cst) == 0) return NULL;
    pthread_mutex_lock(&rt->inj_lock);
    wf_task *t = rt->inj_head;
    if (t) {
        rt->inj_head = t->next;
        if (!rt->inj_head) rt->inj_tail = NULL;
        atomic_fetch_sub_explicit(&rt->inj_count, 1, memory_order_relaxed); /* under inj_lock */
    }
    pthread_mutex_unlock(&rt->inj_lock);
    return t;
}

static void inject_push(weft_runtime_t *rt, wf_task *t) {
    t->next = NULL;
    pthread_mutex_lock(&rt->inj_lock);
    if (rt->inj_tail) rt->inj_tail->next = t;
    else rt->inj_head = t;
    rt->inj_tail = t;
    /* relaxed: under inj_lock, whose unlock publishes the task to the
     * popper's lock; ec_notify's seq_cst fence orders it before the read of
     * the sleepers' announcements */
    atomic_fetch_add_explicit(&rt->inj_count, 1, memory_order_relaxed);
    pthread_mutex_unlock(&rt->inj_lock);
    ec_notify(&rt->ec, 1);
}

static uint64_t rng_next(wf_worker *w) {
    uint64_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return w->rng = x;
}

static wf_task *steal_some(wf_worker *w) {
    weft_runtime_t *rt = w->rt;
    int n = atomic_load_explicit(&rt->nslots, memory_order_acquire);
    if (n <= 1) return NULL;
    for (int attempt = 0; attempt < 2 * n; attempt++) {
        int v = (int)(rng_next(w) % (uint64_t)n);
        if (v == w->index) continue;
        wf_worker *victim = rt->workers[v];
        if (!victim) continue;
        wf_task *t = deque_steal(&victim->dq);
        if (t) {
            t->stolen = 1;
            stat_add(&w->st.stolen, 1);
            /* more left there: let another sleeper help */
            if (deque_size(&victim->dq) > 0) ec_notify(&rt->ec, 1);
            return t;
        }
    }
    return NULL;
}

static int retiring(wf_worker *w) {
    return w->index >= atomic_load_explicit(&w->rt->target, memory_order_relaxed);
}

/* Owner: one pass over own deque, the injection queue and victims. A
 * retiring worker only drains its own deque. */
static wf_task *find_work(wf_worker *w) {
    wf_task *t = deque_take(&w->dq);
    if (t || retiring(w)) return t;
    t = inject_pop(w->rt);
    if (t) {
        if (atomic_load_explicit(&w->rt->inj_count, memory_order_seq_cst) > 0) /* hint, as in inject_pop */
            ec_notify(&w->rt->ec, 1);
        return t;
    }
    return steal_some(w);
}

static void busy_begin(wf_worker *w) {
    if (!atomic_load_explicit(&w->busy_since, memory_order_relaxed))
        atomic_store_explicit(&w->busy_since, wf_now_ns(), memory_order_relaxed);
}

static void busy_end(wf_worker *w) {
    long long since = atomic_load_explicit(&w->busy_since, memory_order_relaxed);
    if (since) {
        stat_add(&w->st.busy_ns, (unsigned long long)(wf_now_ns() - since));
        atomic_store_explicit(&w->busy_since, 0, memory_order_relaxed);
    }
}

/* ------------------------------------------------------------------ */
/* waiting                                                             */

/* Would the calling task wait for itself (its own job or an ancestor's)? */
static int waits_for_self(weft_runtime_t *rt, const weft_job_t *j, const weft_group_t *g) {
    wf_worker *w = tls_worker;
    if (!w || w->rt != rt) return 0;
    for (wf_task *t = w->current; t; t = t->parent)
        if ((j && t->job == j) || (g && t->group == g)) return 1;
    return 0;
}

int wf_task_ancestry(int (*visit)(weft_task_fn fn, void *arg, void *data), void *data) {
    wf_worker *w = tls_worker;
    for (wf_task *t = w ? w->current : NULL; t; t = t->parent) {
        int r = visit(t->fn, t->arg, data);
        if (r) return r;
    }
    return 0;
}

/* Blocks until the count is 0 and returns 0. Workers of rt help: they run
 * other tasks, search for ~WF_PARK_NS, then park on the event count. A task
 * that waits for its own job or group (or an ancestor's) would never wake:
 * that is detected when the wait first runs out of work, and gives
 * WEFT_EPERM (checking then keeps the ancestor walk off the fast path). */
static int counter_wait_until(weft_runtime_t *rt, wf_counter *c, const weft_job_t *j,
                              const weft_group_t *g, int64_t deadline) {
    wf_worker *w = tls_worker;
    if (w && w->rt != rt) w = NULL; /* a worker of another runtime sleeps */
    if (w) {
        int idle = 0, checked = 0;
        int64_t idle_since = 0;
        flush_deferred(w); /* we may hold counts of the very thing awaited */
        while (counter_pending(c) != 0) {
            wf_task *t = deque_take(&w->dq);
            if (!t) t = inject_pop(rt);
            if (!t) t = steal_some(w);
            if (t) {
                run_task(w, t);
                idle = 0;
                idle_since = 0;
                continue;
            }
            if (w->def_group_n || w->def_parent_n) {
                flush_deferred(w);
                continue;
            }
            if (++idle < WF_SPIN_SEARCH) {
                wf_relax();
                continue;
            }
            idle = 0;
            if (!checked && (j || g)) {
                if (waits_for_self(rt, j, g)) return WEFT_EPERM;
                checked = 1;
            }
            int64_t now = wf_now_ns();
            if (deadline && now >= deadline) return WEFT_ETIMEDOUT;
            if (!idle_since) idle_since = now;
            if (now - idle_since < WF_PARK_NS) continue;
            if (!counter_sleep_begin(c)) break;
            unsigned key = ec_prepare(&rt->ec);
            if (counter_pending(c) == 0) {
                ec_cancel(&rt->ec);
            } else if ((t = deque_take(&w->dq)) || (t = inject_pop(rt)) || (t = steal_some(w))) {
                ec_cancel(&rt->ec);
                run_task(w, t);
            } else {
                struct timespec ts;
                if (deadline) {
                    int64_t left = deadline - wf_now_ns();
                    if (left < 0) left = 0;
                    ts.tv_sec = left / 1000000000;
                    ts.tv_nsec = left % 1000000000;
                }
                busy_end(w);
                ec_commit_timed(&rt->ec, key, deadline ? &ts : NULL);
                busy_begin(w);
            }
            counter_sleep_end(c);
            idle_since = 0;
        }
        return 0;
    }
    for (int i = 0; i < WF_SPIN_WAIT; i++) {
        if (counter_pending(c) == 0) return 0;
        wf_relax();
    }
    for (;;) {
        struct timespec ts, *tsp = NULL;
        if (deadline) {
            int64_t left = deadline - wf_now_ns();
            if (left <= 0) return WEFT_ETIMEDOUT;
            ts.tv_sec = left / 1000000000;
            ts.tv_nsec = left % 1000000000;
            tsp = &ts;
        }
        /* seq_cst: the key is read before registering, so a wake-up that
         * follows our registration changes it */
        unsigned key = atomic_load_explicit(&rt->wake_seq, memory_order_seq_cst);
        if (!counter_sleep_begin(c)) return 0;
        futex_wait_timed(&rt->wake_seq, key, tsp);
        counter_sleep_end(c);
        if (counter_pending(c) == 0) return 0;
    }
}

static int counter_wait(weft_runtime_t *rt, wf_counter *c, const weft_job_t *j,
                        const weft_group_t *g) {
    return counter_wait_until(rt, c, j, g, 0);
}

/* ------------------------------------------------------------------ */
/* workers                                                             */

static void worker_exit_check(wf_worker *w, int *exit_now) {
    weft_runtime_t *rt = w->rt;
    pthread_mutex_lock(&rt->ctl);
    if ((retiring(w) || atomic_load_explicit(&rt->stopping, memory_order_seq_cst)) &&
        deque_size(&w->dq) == 0) {
        atomic_store(&w->slot_state, WF_SLOT_EXITED);
        *exit_now = 1;
    }
    pthread_mutex_unlock(&rt->ctl);
}

static void *worker_main(void *arg) {
    wf_worker *w = arg;
    weft_runtime_t *rt = w->rt;
    tls_worker = w;
    int64_t idle_since = 0;
    for (;;) {
        wf_task *t = find_work(w);
        if (t) {
            busy_begin(w);
            run_task(w, t);
            idle_since = 0;
            continue;
        }
        if (w->def_group_n || w->def_parent_n) { /* may make work or wake waiters */
            flush_deferred(w);
            continue;
        }
        busy_end(w);
        /* seq_cst: pairs with destroy's seq_cst store and the fence of its
         * ec_notify, as inj_count does (see the essay) */
        if (retiring(w) || atomic_load_explicit(&rt->stopping, memory_order_seq_cst)) {
            int exit_now = 0;
            worker_exit_check(w, &exit_now);
            if (exit_now) break;
        }
        /* searching: keep looking for WF_PARK_NS before parking, so that a
         * burst of spawns finds a running thief instead of a futex wake */
        int64_t now = wf_now_ns();
        if (!idle_since) idle_since = now;
        if (now - idle_since < WF_PARK_NS) {
            for (int i = 0; i < 16; i++) wf_relax();
            continue;
        }
        idle_since = 0;
        unsigned key = ec_prepare(&rt->ec);
        t = find_work(w);
        if (t) {
            ec_cancel(&rt->ec);
            busy_begin(w);
            run_task(w, t);
            continue;
        }
        /* seq_cst: pairs with destroy's seq_cst store and the fence of its
         * ec_notify, as inj_count does (see the essay) */
        if (retiring(w) || atomic_load_explicit(&rt->stopping, memory_order_seq_cst)) {
            ec_cancel(&rt->ec);
            continue;
        }
        ec_commit(&rt->ec, key); /* parked */
    }
    tls_worker = NULL;
    return NULL;
}

/* Under rt->ctl. Starts a thread for slot i. */
static int worker_start(weft_runtime_t *rt, int i) {
    wf_worker *w = rt->workers[i];
    if (w && atomic_load(&w->slot_state) == WF_SLOT_RUNNING) return 0;
    if (w && atomic_load(&w->slot_state) == WF_SLOT_EXITED) {
        pthread_join(w->thread, NULL);
        atomic_store(&w->slot_state, WF_SLOT_EMPTY);
    }
    if (!w) {
        w = wf_aligned_malloc(sizeof *w, WF_CACHE_LINE);
        if (!w) return WEFT_ENOMEM;
        memset(w, 0, sizeof *w);
        if (deque_init(&w->dq) != 0) {
            wf_aligned_free(w);
            return WEFT_ENOMEM;
        }
        w->rt = rt;
        w->index = i;
        w->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) | 1;
        rt->workers[i] = w;
        if (atomic_load(&rt->nslots) < i + 1)
            atomic_store_explicit(&rt->nslots, i + 1, memory_order_release);
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 16u << 20); /* deep nested waits */
    int rc = pthread_create(&w->thread, &attr, worker_main, w);
    pthread_attr_destroy(&attr);
    if (rc != 0) return WEFT_ESYSTEM;
    atomic_store(&w->slot_state, WF_SLOT_RUNNING);
    return 0;
}

static int set_workers_locked(weft_runtime_t *rt, int n) {
    int rc = 0;
    atomic_store_explicit(&rt->target, n, memory_order_seq_cst);
    for (int i = 0; i < n && rc == 0; i++) rc = worker_start(rt, i);
    ec_notify(&rt->ec, INT_MAX); /* retiring workers must see the new target */
    return rc;
}

/* ------------------------------------------------------------------ */
/* runtime API                                                         */

int weft_runtime_create(int nworkers, weft_runtime_t **out) {
    if (out) *out = NULL;
    if (!out || nworkers < 0 || nworkers > WEFT_MAX_WORKERS) return WEFT_EINVAL;
    if (nworkers == 0) nworkers = weft_default_workers();
    weft_runtime_t *rt = wf_aligned_malloc(sizeof *rt, WF_CACHE_LINE);
    if (!rt) return WEFT_ENOMEM;
    memset(rt, 0, sizeof *rt);
    atomic_init(&rt->magic, WF_MAGIC_RT);
    counter_init(&rt->all, 0);
    pthread_mutex_init(&rt->inj_lock, NULL);
    pthread_mutex_init(&rt->ctl, NULL);
    atomic_init(&rt->t0_ns, wf_now_ns());
    rt->stats_base = wf_calloc(WEFT_MAX_WORKERS, sizeof(wf_wstats));
    if (!rt->stats_base) {
        wf_aligned_free(rt);
        return WEFT_ENOMEM;
    }
    pthread_mutex_lock(&rt->ctl);
    int rc = set_workers_locked(rt, nworkers);
    pthread_mutex_unlock(&rt->ctl);
    if (rc != 0) {
        weft_runtime_destroy(rt);
        return rc;
    }
    *out = rt;
    return 0;
}

int weft_runtime_destroy(weft_runtime_t *rt) {
    if (!wf_rt_valid(rt)) return WEFT_EINVAL;
    if (tls_worker && tls_worker->rt == rt) return WEFT_EPERM;
    /* seq_cst: pairs with submit_enter; from here on other threads' submits
     * fail with WEFT_EDESTROYED, and those already past the check finish
     * queueing (counted in all) before the wait below starts */
    if (atomic_exchange_explicit(&rt->closing, 1, memory_order_seq_cst)) return WEFT_EINVAL;
    while (atomic_load_explicit(&rt->ext_entering, memory_order_seq_cst) != 0) sched_yield();
    counter_wait(rt, &rt->all, NULL, NULL);
    /* seq_cst: workers read it after announcing themselves (ec_prepare);
     * the notify below wakes those already parked */
    atomic_store_explicit(&rt->stopping, 1, memory_order_seq_cst);
    pthread_mutex_lock(&rt->ctl);
    ec_notify(&rt->ec, INT_MAX);
    pthread_mutex_unlock(&rt->ctl);
    long long live = atomic_load(&rt->ext_handles);
    /* join every thread before freeing any worker: thieves read them all */
    for (int i = 0; i < WEFT_MAX_WORKERS; i++) {
        wf_worker *w = rt->workers[i];
        if (w && atomic_load(&w->slot_state) != WF_SLOT_EMPTY) pthread_join(w->thread, NULL);
    }
    for (int i = 0; i < WEFT_MAX_WORKERS; i++) {
        wf_worker *w = rt->workers[i];
        if (!w) continue;
        live += w->handles;
        while (w->cache) {
            wf_task *t = w->cache;
            w->cache = t->next;
            wf_free(t);
        }
        while (w->gcache) {
            weft_group_t *g = w->gcache;
            w->gcache = g->next_named;
            wf_free(g);
        }
        deque_fini(&w->dq);
        wf_aligned_free(w);
        rt->workers[i] = NULL;
    }
    for (weft_group_t *g = rt->named, *next; g; g = next) {
        next = g->next_named;
        live--; /* named groups were counted as handles */
        g->magic = 0;
        wf_free(g->name);
        wf_free(g);
    }
    /* relaxed: published by the release store of magic just below */
    atomic_store_explicit(&rt->shell_refs, live, memory_order_relaxed);
    atomic_store_explicit(&rt->magic, WF_MAGIC_DEAD, memory_order_release);
    if (live <= 0) rt_shell_free(rt);
    return 0;
}

int weft_runtime_set_workers(weft_runtime_t *rt, int n) {
    if (!wf_rt_valid(rt) || n < 0 || n > WEFT_MAX_WORKERS) return WEFT_EINVAL;
    if (n == 0) n = weft_default_workers();
    pthread_mutex_lock(&rt->ctl);
    int rc = set_workers_locked(rt, n);
    pthread_mutex_unlock(&rt->ctl);
    return rc;
}

int weft_runtime_workers(const weft_runtime_t *rt) {
    if (!wf_rt_valid(rt)) return WEFT_EINVAL;
    return atomic_load(&((weft_runtime_t *)rt)->target);
}

int weft_runtime_wait(weft_runtime_t *rt) {
    if (!wf_rt_valid(rt)) return WEFT_EINVAL;
    if (tls_worker && tls_worker->rt == rt) return WEFT_EPERM;
    counter_wait(rt, &rt->all, NULL, NULL);
    return 0;
}

weft_runtime_t *weft_current_runtime(void) { return tls_worker ? tls_worker->rt : NULL; }

int weft_current_worker(void) { return tls_worker ? tls_worker->index : -1; }

/* ------------------------------------------------------------------ */
/* submit                                                              */

static int group_check(const weft_group_t *g) {
    if (!g || g->magic != WF_MAGIC_GROUP) return WEFT_EINVAL;
    if (!wf_rt_valid(g->rt)) return WEFT_EDESTROYED;
    return 0;
}

/* A thread that is not one of rt's workers enters submit: 0, or
 * WEFT_EDESTROYED once destroy has begun (then nothing is queued).
 * Callers leave with submit_leave. Any thread. */
static int submit_enter(weft_runtime_t *rt) {
    /* seq_cst: the announcement is ordered before the read of closing, as
     * destroy's store of closing is before its read of ext_entering */
    atomic_fetch_add_explicit(&rt->ext_entering, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&rt->closing, memory_order_seq_cst)) {
        atomic_fetch_sub_explicit(&rt->ext_entering, 1, memory_order_seq_cst);
        return WEFT_EDESTROYED;
    }
    return 0;
}

static void submit_leave(weft_runtime_t *rt) {
    /* seq_cst: the task is queued and counted before destroy sees us gone */
    atomic_fetch_sub_explicit(&rt->ext_entering, 1, memory_order_seq_cst);
}

static inline __attribute__((always_inline)) int
submit_task(weft_runtime_t *rt, wf_worker *w, weft_task_fn fn, void *arg, weft_group_t *g,
            weft_callback_fn cb, void *cbdata, weft_job_t **jobp, void *seed);

/* A submit from rt's own workers needs no check against destroy: a task or
 * callback runs only while rt->all counts its root, so destroy is still
 * waiting and the new task joins what it waits for. Other threads go
 * through submit_enter. */
static int submit(weft_runtime_t *rt, weft_task_fn fn, void *arg, weft_group_t *g,
                  weft_callback_fn cb, void *cbdata, weft_job_t **jobp, void *seed) {
    wf_worker *w = tls_worker;
    if (w && w->rt == rt) return submit_task(rt, w, fn, arg, g, cb, cbdata, jobp, seed);
    int rc = submit_enter(rt);
    if (rc) return rc;
    rc = submit_task(rt, NULL, fn, arg, g, cb, cbdata, jobp, seed);
    submit_leave(rt);
    return rc;
}

/* Queues the task: on w's deque when w (one of rt's workers) is given,
 * else on the injection queue. */
static inline __attribute__((always_inline)) int
submit_task(weft_runtime_t *rt, wf_worker *w, weft_task_fn fn, void *arg, weft_group_t *g,
            weft_callback_fn cb, void *cbdata, weft_job_t **jobp, void *seed) {
    weft_job_t *job = NULL;
    if (jobp) {
        job = wf_malloc(sizeof *job);
        if (!job) return WEFT_ENOMEM;
        job->magic = WF_MAGIC_JOB;
        atomic_init(&job->refs, 2);
        atomic_init(&job->user_freed, 0);
        counter_init(&job->c, 1);
        job->status = 0;
        job->result = NULL;
        job->rt = rt;
        rt_ref(rt);
    }
    wf_task *t = task_alloc(w);
    if (!t) {
        if (job) {
            atomic_store(&job->refs, 1);
            job_unref(job);
        }
        return WEFT_ENOMEM;
    }
    task_init(t, fn, arg, seed, g, job, cb, cbdata);
    wf_task *parent = w ? w->current : NULL;
    t->parent = parent;
    if (g) {
        counter_add(&g->c, 1);
    }
    if (parent) atomic_fetch_add_explicit(&parent->refs, 1, memory_order_relaxed);
    else counter_add(&rt->all, 1);
    if (w) {
        stat_add(&w->st.submitted, 1);
        if (deque_push(&w->dq, t) != 0) { /* no memory to grow: queue it */
            inject_push(rt, t);
        } else {
            ec_notify(&rt->ec, 1);
        }
    } else {
        atomic_fetch_add_explicit(&rt->ext_submitted, 1, memory_order_relaxed);
        inject_push(rt, t);
    }
    if (jobp) *jobp = job;
    return 0;
}

int weft_submit(weft_runtime_t *rt, weft_task_fn fn, void *arg, const weft_submit_opts_t *opts,
                weft_job_t **job) {
    if (job) *job = NULL;
    if (!fn) return WEFT_EINVAL;
    weft_group_t *g = opts ? opts->group : NULL;
    if (g) {
        int rc = group_check(g);
        if (rc) return rc;
        if (g->rt != rt) return WEFT_EINVAL;
    }
    if (!wf_rt_valid(rt)) return rt_dead(rt) ? WEFT_EDESTROYED : WEFT_EINVAL;
    return submit(rt, fn, arg, g, opts ? opts->callback : NULL, opts ? opts->callback_data : NULL,
                  job, NULL);
}

int weft_spawn(weft_group_t *g, weft_task_fn fn, void *arg) {
    int rc = group_check(g);
    if (rc) return rc;
    if (!fn) return WEFT_EINVAL;
    return submit(g->rt, fn, arg, g, NULL, NULL, NULL, NULL);
}

int wf_submit_seeded(weft_runtime_t *rt, weft_task_fn fn, void *arg, void *seed) {
    if (!fn || !wf_rt_valid(rt)) return WEFT_EINVAL;
    return submit(rt, fn, arg, NULL, NULL, NULL, NULL, seed);
}

/* A hold is a child task of the calling task that is made now and queued
 * later: until then its parent, and every ancestor and job above it,
 * cannot complete, exactly as with a child still running. Queueing it
 * (wf_task_release) goes through the normal path, so its completion is an
 * ordinary child's. Owner: the calling worker. */
wf_hold_t *wf_task_hold(void) {
    wf_worker *w = tls_worker;
    if (!w || !w->current) return NULL; /* only inside a task */
    wf_task *t = task_alloc(w);
    if (!t) return NULL;
    task_init(t, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    t->parent = w->current;
    /* relaxed: as a submit's; the parent runs on this thread now */
    atomic_fetch_add_explicit(&w->current->refs, 1, memory_order_relaxed);
    stat_add(&w->st.submitted, 1);
    return (wf_hold_t *)t;
}

void wf_task_release(weft_runtime_t *rt, wf_hold_t *hold, weft_task_fn fn, void *arg) {
    wf_task *t = (wf_task *)hold;
    t->fn = fn;
    t->arg = arg;
    wf_worker *w = tls_worker;
    /* No destroy check: the hold's root is counted in rt->all, so destroy
     * still waits for it. */
    if (w && w->rt == rt && deque_push(&w->dq, t) == 0) {
        ec_notify(&rt->ec, 1);
        return;
    }
    inject_push(rt, t); /* any other thread; notifies */
}

/* ------------------------------------------------------------------ */
/* jobs API                                                            */

static int job_check(const weft_job_t *j) {
    if (!j || j->magic != WF_MAGIC_JOB || atomic_load(&((weft_job_t *)j)->user_freed))
        return WEFT_EINVAL;
    return 0;
}

static int job_outcome(const weft_job_t *j, int *status, void **result) {
    if (status) *status = j->status;
    if (result) *result = j->result;
    return j->status == 0 ? 0 : WEFT_ETASK;
}

int weft_job_wait(weft_job_t *job, int *status, void **result) {
    int rc = job_check(job);
    if (rc) return rc;
    if (counter_pending(&job->c) != 0) {
        rc = counter_wait(job->rt, &job->c, job, NULL);
        if (rc) return rc;
    }
    return job_outcome(job, status, result);
}

int weft_job_wait_timeout(weft_job_t *job, double timeout_s, int *status, void **result) {
    int rc = job_check(job);
    if (rc) return rc;
    int64_t deadline;
    rc = wf_deadline_ns(timeout_s, &deadline);
    if (rc) return rc;
    if (counter_pending(&job->c) != 0) {
        rc = counter_wait_until(job->rt, &job->c, job, NULL, deadline);
        if (rc) return rc;
    }
    return job_outcome(job, status, result);
}

int weft_job_done(const weft_job_t *job) {
    int rc = job_check(job);
    if (rc) return rc;
    return counter_pending(&job->c) == 0;
}

int weft_job_status(const weft_job_t *job, int *status, void **result) {
    int rc = job_check(job);
    if (rc) return rc;
    if (counter_pending(&job->c) != 0)
        return WEFT_EBUSY;
    return job_outcome(job, status, result);
}

int weft_job_free(weft_job_t *job) {
    if (!job || job->magic != WF_MAGIC_JOB) return WEFT_EINVAL;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&job->user_freed, &expected, 1)) return WEFT_EINVAL;
    job_unref(job);
    return 0;
}

/* ------------------------------------------------------------------ */
/* groups API                                                          */

/* Group objects are recycled through a small per-worker cache, like tasks:
 * fork-join code makes and frees one per spawning call. */
static weft_group_t *group_alloc(weft_runtime_t *rt) {
    wf_worker *w = tls_worker;
    if (w && w->rt == rt && w->gcache) {
        weft_group_t *g = w->gcache;
        w->gcache = g->next_named;
        w->ngcache--;
        return g;
    }
    return wf_malloc(sizeof(weft_group_t));
}

static void group_release(weft_runtime_t *rt, weft_group_t *g) {
    wf_worker *w = tls_worker;
    g->magic = 0;
    if (w && w->rt == rt && w->ngcache < WF_TASK_CACHE) {
        g->next_named = w->gcache;
        w->gcache = g;
        w->ngcache++;
        return;
    }
    wf_free(g);
}

static weft_group_t *group_new(weft_runtime_t *rt, const char *name, int named) {
    weft_group_t *g = group_alloc(rt);
    if (!g) return NULL;
    g->name = NULL;
    if (name && *name && !(g->name = wf_strdup(name))) {
        group_release(rt, g);
        return NULL;
    }
    g->magic = WF_MAGIC_GROUP;
    g->named = named;
    g->rt = rt;
    counter_init(&g->c, 0);
    atomic_init(&g->failed, 0);
    atomic_init(&g->first_status, 0);
    g->next_named = NULL;
    rt_ref(rt);
    return g;
}

int weft_group_create(weft_runtime_t *rt, const char *name, weft_group_t **g) {
    if (g) *g = NULL;
    if (!g || !wf_rt_valid(rt)) return WEFT_EINVAL;
    *g = group_new(rt, name, 0);
    return *g ? 0 : WEFT_ENOMEM;
}

int weft_group_named(weft_runtime_t *rt, const char *name, weft_group_t **g) {
    if (g) *g = NULL;
    if (!g || !wf_rt_valid(rt) || !name || !*name) return WEFT_EINVAL;
    pthread_mutex_lock(&rt->ctl);
    weft_group_t *it = rt->named;
    while (it && strcmp(it->name, name) != 0) it = it->next_named;
    if (!it) {
        it = group_new(rt, name, 1);
        if (it) {
            it->next_named = rt->named;
            rt->named = it;
        }
    }
    pthread_mutex_unlock(&rt->ctl);
    *g = it;
    return it ? 0 : WEFT_ENOMEM;
}

int weft_group_wait(weft_group_t *g) {
    int rc = group_check(g);
    if (rc) return rc;
    if (counter_pending(&g->c) != 0) {
        rc = counter_wait(g->rt, &g->c, NULL, g);
        if (rc) return rc;
    }
    return atomic_load_explicit(&g->failed, memory_order_relaxed) ? WEFT_ETASK : 0;
}

int weft_group_failures(const weft_group_t *g, uint64_t *failed, int *first_status) {
    if (!g || g->magic != WF_MAGIC_GROUP) return WEFT_EINVAL;
    weft_group_t *m = (weft_group_t *)g;
    if (failed) *failed = atomic_load(&m->failed);
    if (first_status) *first_status = atomic_load(&m->first_status);
    return 0;
}

int64_t weft_group_pending(const weft_group_t *g) {
    if (!g || g->magic != WF_MAGIC_GROUP) return WEFT_EINVAL;
    return (int64_t)counter_pending(&g->c);
}

int weft_group_reset(weft_group_t *g) {
    if (!g || g->magic != WF_MAGIC_GROUP) return WEFT_EINVAL;
    if (counter_pending(&g->c) != 0) return WEFT_EBUSY;
    atomic_store(&g->failed, 0);
    atomic_store(&g->first_status, 0);
    return 0;
}

const char *weft_group_name(const weft_group_t *g) {
    if (!g || g->magic != WF_MAGIC_GROUP) return NULL;
    return g->name ? g->name : "";
}

int weft_group_free(weft_group_t *g) {
    if (!g || g->magic != WF_MAGIC_GROUP || g->named) return WEFT_EINVAL;
    if (counter_pending(&g->c) != 0) return WEFT_EBUSY;
    weft_runtime_t *rt = g->rt;
    wf_free(g->name);
    g->name = NULL;
    group_release(rt, g);
    rt_unref(rt);
    return 0;
}
