/* wf.h: the runtime's internal types, shared by sched.c, parallel.c and
 * stats.c. Never installed; nothing here is exported. */
#ifndef WF_H
#define WF_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "wf_alloc.h"
#include "weft/runtime.h"
#include "wf_layer.h"

#define WF_CACHE_LINE 64
#define WF_ALIGNED _Alignas(WF_CACHE_LINE)

#define WF_MAGIC_RT 0x77667274u    /* "wfrt" */
#define WF_MAGIC_DEAD 0x64656164u  /* "dead": destroyed runtime */
#define WF_MAGIC_JOB 0x77666a62u   /* "wfjb" */
#define WF_MAGIC_GROUP 0x77666770u /* "wfgp" */

/* ---- tasks ---- */
typedef struct wf_task {
    weft_task_fn fn;
    void *arg;
    void *result;
    struct wf_task *parent;  /* completes only after this task completes */
    weft_group_t *group;     /* counted in this group, or NULL */
    weft_job_t *job;         /* the handle to complete, or NULL */
    weft_callback_fn cb;
    void *cbdata;
    struct wf_task *next;    /* link in the injection queue / free cache */
    atomic_int refs;         /* 1 while running + one per incomplete child */
    int status;
    int stolen;              /* run by a thief: its completion is batched */
} wf_task;

/* ---- a count others can wait for (jobs, groups, the whole runtime) ----
 * One word: the pending count in the upper 48 bits, the number of threads
 * asleep waiting for it in the lower 16. Because both live in one word, the
 * completer learns from its own decrement whether anyone sleeps, and never
 * touches the counter again after it: a waiter that sees zero may free it at
 * once. Sleepers are woken through the runtime (wake_seq, event count). */
#define WF_PEND_ONE (1ull << 16)
#define WF_SLEEP_MASK (WF_PEND_ONE - 1)
typedef struct wf_counter {
    atomic_ullong word;
} wf_counter;

/* ---- Chase–Lev deque (Lê et al. 2013, Figure 1, with the two fixes) ---- */
typedef struct wf_array {
    int64_t mask;            /* size - 1; size is a power of two */
    struct wf_array *retired; /* older arrays, freed at teardown */
    _Atomic(wf_task *) slot[];
} wf_array;

typedef struct wf_deque {
    WF_ALIGNED _Atomic(int64_t) top;    /* thieves take from here */
    WF_ALIGNED _Atomic(int64_t) bottom; /* the owner pushes and takes here */
    _Atomic(wf_array *) array;
    int64_t top_cache;              /* owner only: a past value of top */
} wf_deque;

/* ---- event count: parks idle threads without lost wake-ups ---- */
typedef struct wf_ec {
    WF_ALIGNED atomic_uint epoch; /* futex word, bumped by every notify */
    atomic_int waiters;           /* threads between prepare and wake */
} wf_ec;

enum { WF_SLOT_EMPTY = 0, WF_SLOT_RUNNING = 1, WF_SLOT_EXITED = 2 };

/* Per-worker counters: written by the owner only (relaxed load + store, no
 * locked instruction), read by anyone. */
typedef struct wf_wstats {
    atomic_ullong run, stolen, submitted, failed, busy_ns;
} wf_wstats;

typedef struct wf_worker {
    wf_deque dq;
    WF_ALIGNED struct weft_runtime *rt;
    int index;
    atomic_int slot_state;   /* WF_SLOT_*; changed under rt->ctl */
    pthread_t thread;
    uint64_t rng;            /* victim selection, owner only */
    wf_task *current;        /* task being run, owner only */
    wf_task *cache;          /* free task objects, owner only */
    int ncache;
    struct weft_group *gcache; /* free group objects, owner only */
    int ngcache;
    int64_t handles;         /* jobs/groups made minus freed here, owner only */
    /* Completions of stolen tasks, not yet counted down (owner only): the
     * group and the parent shared by the last few, and how many each. */
    struct weft_group *def_group;
    struct wf_task *def_parent;
    int def_group_n, def_parent_n;
    atomic_llong busy_since; /* ns, 0 outside a busy stretch; owner writes */
    wf_wstats st;
} wf_worker;

struct weft_group {
    uint32_t magic;
    int named;
    struct weft_runtime *rt;
    wf_counter c;
    atomic_ullong failed;
    atomic_int first_status;
    char *name;
    struct weft_group *next_named;
};

struct weft_job {
    uint32_t magic;
    atomic_int refs;     /* the caller's handle + the task */
    atomic_int user_freed;
    wf_counter c;
    int status;
    void *result;
    struct weft_runtime *rt;
};

struct weft_runtime {
    atomic_uint magic;
    atomic_int target;        /* requested worker count */
    atomic_int nslots;        /* worker slots ever started: victim range */
    atomic_int stopping;
    wf_ec ec;
    WF_ALIGNED atomic_uint wake_seq; /* futex word for sleeping non-workers */
    wf_counter all;           /* incomplete root tasks (no parent) */
    WF_ALIGNED pthread_mutex_t inj_lock; /* injection queue from non-workers */
    wf_task *inj_head, *inj_tail;
    atomic_llong inj_count;
    /* Destroy against submitters from other threads (Dekker-style, both
     * seq_cst): a submitter announces itself in ext_entering and then reads
     * closing; destroy sets closing and then waits for ext_entering to drain.
     * Either the submitter sees closing (WEFT_EDESTROYED, nothing queued) or
     * destroy sees it and waits until its task is counted in all. */
    atomic_int ext_entering;
    atomic_int closing;
    WF_ALIGNED pthread_mutex_t ctl;      /* worker slots, named groups */
    weft_group_t *named;
    atomic_llong ext_handles;  /* handles made minus freed off-worker */
    atomic_llong shell_refs;   /* after destroy: handles still alive */
    atomic_ullong ext_submitted, ext_failed;
    atomic_llong t0_ns;        /* stats wall clock start */
    wf_worker *workers[WEFT_MAX_WORKERS];
    wf_wstats *stats_base;     /* counters at the last reset, under ctl */
    unsigned long long base_submitted, base_failed;
};

/* The calling thread's worker, or NULL. */
wf_worker *wf_self(void);
int wf_rt_valid(const weft_runtime_t *rt); /* live runtime? */

#endif
