/* graph.c: building graphs, compiling them to CSR form, finding cycles.
 *
 * Building is appending: a node is 24 bytes pushed onto an array, its name
 * is copied into one arena, an edge is two 32-bit ids pushed onto two
 * arrays. Nothing is linked or sorted until the graph runs; then
 * gr_compile turns the edge list into successor and predecessor arrays
 * (compressed sparse rows, by a stable counting sort, so predecessors keep
 * the order their edges were added in) and runs Kahn's algorithm once to
 * find cycles. The compiled form is kept until the graph changes, and new
 * edges are merged into it, so a graph that is run again costs nothing to
 * prepare. */
#define _GNU_SOURCE /* syscall */
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gr.h"

static int fast_mode(void);

/* The calling thread's identity for a graph's `home` (see "fast changes"
 * below): its thread pointer (one instruction), else the address of a
 * per-thread byte. A dead thread's identity may be reused by a new one; a
 * dead thread is in no change, so that is harmless. Any thread. */
#if defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer)
#define GR_HAVE_THREAD_POINTER 1
#endif
#endif
#ifdef GR_HAVE_THREAD_POINTER
static inline const void *self_id(void) { return __builtin_thread_pointer(); }
#else
static _Thread_local char thread_token __attribute__((tls_model("initial-exec")));
static inline const void *self_id(void) { return &thread_token; }
#endif

int gr_vec_reserve(gr_vec *v, size_t item, size_t n) {
    if (n <= v->cap) return 0;
    size_t cap = v->cap ? v->cap : 16;
    while (cap < n) cap *= 2;
    void *d = wf_realloc(v->data, cap * item); /* big arrays grow without a copy */
    if (!d) return WEFT_ENOMEM;
    v->data = d;
    v->cap = cap;
    return 0;
}

static void vec_free(gr_vec *v) {
    wf_free(v->data);
    v->data = NULL;
    v->len = v->cap = 0;
}

int gr_graph_valid(const weft_graph_t *g) { return g && g->magic == GR_MAGIC_GRAPH; }

/* Appends a NUL-terminated copy of s (len bytes) to the arena. */
static int arena_add(weft_graph_t *g, const char *s, size_t len, uint32_t *off) {
    if (g->names.len + len + 1 > UINT32_MAX) return WEFT_ERANGE;
    int rc = gr_vec_reserve(&g->names, 1, g->names.len + len + 1);
    if (rc) return rc;
    char *d = (char *)g->names.data + g->names.len;
    memcpy(d, s, len);
    d[len] = 0;
    *off = (uint32_t)g->names.len;
    g->names.len += len + 1;
    return 0;
}

/* "n<id>" without snprintf (node creation is on the hot path). */
static size_t auto_name(char *buf, uint32_t id) {
    char tmp[16];
    size_t k = 0;
    do {
        tmp[k++] = (char)('0' + id % 10);
        id /= 10;
    } while (id);
    buf[0] = 'n';
    for (size_t i = 0; i < k; i++) buf[1 + i] = tmp[k - 1 - i];
    return k + 1;
}

const char *gr_name(const weft_graph_t *g, weft_node_t v) {
    return (const char *)g->names.data + gr_nodes(g)[v].name;
}

const gr_extra *gr_extra_of(const weft_graph_t *g, weft_node_t v) {
    uint32_t e = gr_nodes(g)[v].extra;
    return e == GR_NONE ? NULL : (const gr_extra *)g->extras.data + e;
}

int weft_graph_create(const char *name, weft_graph_t **out) {
    if (out) *out = NULL;
    if (!out) return WEFT_EINVAL;
    if (name && strlen(name) > WEFT_NAME_MAX) return WEFT_ERANGE;
    weft_graph_t *g = wf_calloc(1, sizeof *g);
    if (!g) return WEFT_ENOMEM;
    g->name = wf_strdup(name && *name ? name : "graph");
    if (!g->name) {
        wf_free(g);
        return WEFT_ENOMEM;
    }
    g->magic = GR_MAGIC_GRAPH;
    atomic_store_explicit(&g->version, 1, memory_order_relaxed); /* published with *out */
    /* likewise: without membarrier, no fast changes from the start */
    atomic_store_explicit(&g->home, fast_mode() ? self_id() : GR_HOME_SHARED,
                          memory_order_relaxed);
    *out = g;
    return 0;
}

static void drop_compiled(weft_graph_t *g) {
    wf_free(g->succ_off);
    wf_free(g->succ);
    wf_free(g->pred_off);
    wf_free(g->pred);
    wf_free(g->sources);
    wf_free(g->join0);
    g->succ_off = g->succ = g->pred_off = g->pred = g->sources = g->join0 = NULL;
    g->nsources = 0;
    g->compiled = 0;
}

/* Frees g's own memory; subgraph holds were dropped before. */
static void graph_dealloc(weft_graph_t *g) {
    vec_free(&g->nodes);
    vec_free(&g->extras);
    vec_free(&g->names);
    vec_free(&g->esrc);
    vec_free(&g->edst);
    vec_free(&g->owned);
    drop_compiled(g);
    wf_free(g->name);
    g->magic = 0;
    wf_free(g);
}

/* Drops every subgraph hold of g (and frees its argument bytes). */
static void drop_holds(weft_graph_t *g) {
    gr_extra *ex = g->extras.data;
    for (size_t i = 0; i < g->extras.len; i++) {
        if (!ex[i].borrowed) wf_free(ex[i].bytes);
        ex[i].bytes = NULL;
        if (ex[i].sub) ex[i].sub->parents--;
        ex[i].sub = NULL;
    }
}

void gr_graphs_destroy(weft_graph_t *top, weft_graph_t **gs, size_t n) {
    if (top) drop_holds(top); /* first every hold, while all are alive */
    for (size_t k = 0; k < n; k++) drop_holds(gs[k]);
    for (size_t k = 0; k < n; k++) graph_dealloc(gs[k]);
    if (top) graph_dealloc(top); /* last: gs may be its list of owned graphs */
}

int gr_graph_adopt(weft_graph_t *top, weft_graph_t **gs, size_t n) {
    size_t have = top->owned.len;
    int rc = gr_vec_reserve(&top->owned, sizeof(weft_graph_t *), have + n);
    if (rc) return rc;
    weft_graph_t **own = top->owned.data;
    for (size_t k = 0; k < n; k++) {
        own[have + k] = gs[k];
        gs[k]->owner = top;
    }
    top->owned.len = have + n;
    return 0;
}

int gr_graph_rename(weft_graph_t *g, const char *name) {
    char *s = wf_strdup(name);
    if (!s) return WEFT_ENOMEM;
    wf_free(g->name);
    g->name = s;
    return 0;
}

/* Number of subgraph holds on g's owned graphs that come from g and its
 * owned graphs themselves. */
static size_t owned_holds(const weft_graph_t *g) {
    weft_graph_t *const *own = g->owned.data;
    size_t holds = 0;
    for (size_t k = 0; k <= g->owned.len; k++) {
        const weft_graph_t *h = k ? own[k - 1] : g;
        const gr_extra *ex = h->extras.data;
        for (size_t i = 0; i < h->extras.len; i++)
            holds += ex[i].sub && ex[i].sub->owner == g;
    }
    return holds;
}

int weft_graph_free(weft_graph_t *g) {
    if (!gr_graph_valid(g)) return WEFT_EINVAL;
    if (g->owner) return WEFT_EBUSY; /* freed with the graph it was loaded with */
    /* acquire: pairs with the release of the last run's gate_leave */
    if (atomic_load_explicit(&g->gate, memory_order_acquire) || atomic_load(&g->live_runs) ||
        g->parents)
        return WEFT_EBUSY;
    if (g->owned.len) {
        /* The owned graphs go too: none may be in use, nor held by a graph
         * outside the family (their parents are all accounted for). */
        weft_graph_t **own = g->owned.data;
        size_t parents = 0;
        for (size_t k = 0; k < g->owned.len; k++) {
            if (atomic_load_explicit(&own[k]->gate, memory_order_acquire) ||
                atomic_load(&own[k]->live_runs))
                return WEFT_EBUSY;
            parents += (size_t)own[k]->parents;
        }
        if (parents != owned_holds(g)) return WEFT_EBUSY;
    }
    gr_graphs_destroy(g, g->owned.data, g->owned.len);
    return 0;
}

/* ---- the gate: changes against run starts ----
 *
 * A change takes the whole gate word from 0 to GR_GATE_EXCL for the time it
 * takes, so it is refused (WEFT_EBUSY) while any run is in flight or held
 * (run_n), while a run start compiles, and while another thread changes the
 * graph (which the rules forbid anyway). A run start waits while EXCL is
 * set (run.c, gate_enter), so a change it meets finishes before the compile.
 *
 * Fast changes. Ordering a change against a start on another thread needs
 * each side to publish itself before it looks at the other (a store-load
 * fence, a locked instruction: about 9 ns, as much as a whole edge costs).
 * Graphs are mostly built and run by one thread, so the fence is made
 * asymmetric: the graph's home thread (its creator, or the last thread
 * that changed it the locked way) changes it with plain stores: busy = 1,
 * then a look at the gate; and a compile on any other thread, once it
 * holds the gate, first ends fast changes (home = GR_HOME_SHARED) and
 * calls membarrier(2), which runs a full fence on every thread of the
 * process, then waits for busy == 0. Either the home thread's look comes
 * after the fence and sees the gate and goes the locked way, or its
 * busy = 1 is seen and the compile waits for the change to end. That
 * stays so: after the first run from another thread, every change of the
 * graph takes the lock (one membarrier per graph, about a microsecond).
 * Where membarrier is missing (old kernels, seccomp), every change takes
 * the lock. */

/* 1 when membarrier's private expedited command is registered for the
 * process (fast changes allowed), 0 when it cannot be. Any thread; racing
 * first callers both register, which is harmless. */
static atomic_int fast_mode_state = -1;

static __attribute__((noinline)) int fast_mode_init(void) {
    int m;
    long q = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    m = q >= 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    atomic_store_explicit(&fast_mode_state, m, memory_order_release);
    return m;
}

/* Registering with membarrier waits for the process's other threads (tens
 * of milliseconds once a runtime's workers run): done when libweft loads,
 * while a program has one thread, not in its first weft_graph_create. */
__attribute__((constructor)) static void fast_mode_at_load(void) { (void)fast_mode_init(); }

static int fast_mode(void) {
    /* acquire: pairs with the release in fast_mode_init (registered) */
    int m = atomic_load_explicit(&fast_mode_state, memory_order_acquire);
    return m >= 0 ? m : fast_mode_init();
}

/* The locked way (see above). */
static __attribute__((noinline)) int change_begin_locked(weft_graph_t *g) {
    if (!gr_graph_valid(g)) return WEFT_EINVAL;
    unsigned z = 0;
    /* acquire: pairs with the release in gate_leave (run.c) and
     * gr_change_end, so the runs' reads of the graph, and earlier changes
     * and compiles, happen before this change */
    if (!atomic_compare_exchange_strong_explicit(&g->gate, &z, GR_GATE_EXCL, memory_order_acquire,
                                                 memory_order_relaxed))
        return WEFT_EBUSY;
    /* this thread becomes home, unless fast changes have ended (published
     * by the release of gr_change_end) */
    if (atomic_load_explicit(&g->home, memory_order_relaxed) != GR_HOME_SHARED)
        atomic_store_explicit(&g->home, self_id(), memory_order_relaxed);
    return 0;
}

/* The fast way, inlined into every change of this file. Returns 1 (a fast
 * change: end it with change_end(g, 1)), 0 (the locked way) or an error. */
static inline int change_begin(weft_graph_t *g) {
    /* relaxed: home is set under EXCL (by this thread, if it is home) or
     * to GR_HOME_SHARED by gr_gate_settle */
    if (gr_graph_valid(g) && atomic_load_explicit(&g->home, memory_order_relaxed) == self_id()) {
        atomic_store_explicit(&g->busy, 1, memory_order_relaxed);
        /* the store-load fence of this side is the compile's membarrier */
        atomic_signal_fence(memory_order_seq_cst);
        /* acquire: pairs with gate_leave's release (the runs' reads of the
         * graph happen before this change). A compile that starts now holds
         * the gate before it settles, so a nonzero gate is all there is to
         * see after the store (home was looked at before it). */
        if (atomic_load_explicit(&g->gate, memory_order_acquire) == 0) return 1;
        /* release: to gr_gate_settle's acquire, nothing changed */
        atomic_store_explicit(&g->busy, 0, memory_order_release);
    }
    return change_begin_locked(g);
}

int gr_change_begin(weft_graph_t *g) { return change_begin(g); }

static inline void change_end(weft_graph_t *g, int fast) {
    if (fast) {
        /* release: the change reaches gr_gate_settle's acquire */
        atomic_store_explicit(&g->busy, 0, memory_order_release);
        return;
    }
    /* release: publishes the change to the next gate_enter's acquire, which
     * compiles it. Nobody else writes the word while EXCL is set. */
    atomic_store_explicit(&g->gate, 0, memory_order_release);
}

void gr_change_end(weft_graph_t *g, int fast) { change_end(g, fast); }

void gr_gate_settle(weft_graph_t *g) {
    /* relaxed: home changes under EXCL only (the caller synchronised with
     * that through the gate), or here, under the gate too */
    const void *h = atomic_load_explicit(&g->home, memory_order_relaxed);
    if (h == GR_HOME_SHARED || h == self_id()) return; /* settled before, or ours */
    atomic_store_explicit(&g->home, GR_HOME_SHARED, memory_order_seq_cst);
    /* a full fence on every thread: the home thread either sees that (and
     * the gate) from now on, or its busy = 1 is visible below */
    syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    /* acquire: pairs with the release of gr_change_end's busy = 0, so the
     * fast change is seen by the compile */
    while (atomic_load_explicit(&g->busy, memory_order_acquire)) sched_yield();
}

/* Bumps the version: the change thread only, inside the gate. Relaxed:
 * readers of run records compare it from any thread; the gate orders it
 * against compiles. */
static void bump_version(weft_graph_t *g) {
    atomic_store_explicit(&g->version, atomic_load_explicit(&g->version, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static inline int add_node(weft_graph_t *g, const char *name, weft_node_fn fn, void *arg,
                           weft_node_t *node) {
    int rc;
    if (node) *node = WEFT_NODE_NONE;
    if (g->nodes.len >= WEFT_GRAPH_MAX_NODES) return WEFT_ERANGE;
    uint32_t id = (uint32_t)g->nodes.len;
    size_t len;
    char buf[16];
    if (name) {
        len = strlen(name);
        if (len > WEFT_NAME_MAX) return WEFT_ERANGE;
    } else {
        len = auto_name(buf, id);
        name = buf;
    }
    if ((rc = gr_vec_reserve(&g->nodes, sizeof(gr_node), g->nodes.len + 1))) return rc;
    uint32_t off;
    if ((rc = arena_add(g, name, len, &off))) return rc;
    gr_node *n = gr_nodes(g) + id;
    n->fn = fn;
    n->arg = arg;
    n->name = off;
    n->extra = GR_NONE;
    g->nodes.len++;
    bump_version(g);
    if (node) *node = id;
    return 0;
}

int gr_add_node(weft_graph_t *g, const char *name, weft_node_fn fn, void *arg,
                weft_node_t *node) {
    return add_node(g, name, fn, arg, node);
}

int weft_graph_add(weft_graph_t *g, const char *name, weft_node_fn fn, void *arg,
                   weft_node_t *node) {
    if (!fn) {
        if (node) *node = WEFT_NODE_NONE;
        return WEFT_EINVAL;
    }
    int fast = change_begin(g);
    if (fast < 0) {
        if (node) *node = WEFT_NODE_NONE;
        return fast;
    }
    int rc = add_node(g, name, fn, arg, node);
    change_end(g, fast);
    return rc;
}

int gr_add_extra(weft_graph_t *g, weft_node_t v, gr_extra **out) {
    int rc = gr_vec_reserve(&g->extras, sizeof(gr_extra), g->extras.len + 1);
    if (rc) return rc;
    gr_extra *e = (gr_extra *)g->extras.data + g->extras.len;
    memset(e, 0, sizeof *e);
    e->task = GR_NONE;
    e->where = GR_NONE;
    e->node = v;
    gr_nodes(g)[v].extra = (uint32_t)g->extras.len++;
    *out = e;
    return 0;
}

/* Takes back the node that the failing call added last, and the names it
 * put in the arena: the graph is as it was before the call, version
 * included, so its run records stay valid. */
void gr_undo_add(weft_graph_t *g, size_t names_len, uint64_t version) {
    g->nodes.len--;
    g->names.len = names_len;
    atomic_store_explicit(&g->version, version, memory_order_relaxed); /* inside the gate */
}

static int copy_bytes(const void *src, size_t len, void **dst) {
    *dst = NULL;
    if (!len) return 0;
    *dst = wf_malloc(len);
    if (!*dst) return WEFT_ENOMEM;
    memcpy(*dst, src, len);
    return 0;
}

/* The function of named-task nodes until the registry resolves them. */
static int unresolved_task(weft_node_ctx_t *ctx, void *arg) {
    (void)ctx;
    (void)arg;
    return WEFT_ENOENT;
}

int weft_graph_add_task(weft_graph_t *g, const char *name, const char *task_name,
                        const void *arg, size_t len, weft_node_t *node) {
    if (node) *node = WEFT_NODE_NONE;
    if (!task_name || !*task_name || (len && !arg)) return WEFT_EINVAL;
    size_t tlen = strlen(task_name);
    if (tlen > WEFT_NAME_MAX) return WEFT_ERANGE;
    int fast = change_begin(g), rc;
    if (fast < 0) return fast;
    size_t names_len = g->names.len;
    uint64_t version = atomic_load_explicit(&g->version, memory_order_relaxed);
    weft_node_t v;
    if ((rc = add_node(g, name, unresolved_task, NULL, &v))) goto out;
    gr_extra *e;
    uint32_t toff;
    void *bytes;
    if ((rc = copy_bytes(arg, len, &bytes))) goto undo;
    if ((rc = arena_add(g, task_name, tlen, &toff)) || (rc = gr_add_extra(g, v, &e))) {
        wf_free(bytes);
        goto undo;
    }
    e->kind = GR_TASK;
    g->ntasks++;
    e->task = toff;
    e->bytes = bytes;
    e->len = len;
    if (node) *node = v;
    goto out;
undo:
    gr_undo_add(g, names_len, version);
out:
    change_end(g, fast);
    return rc;
}

/* ---- placement ---- */

static int set_place(weft_graph_t *g, weft_node_t v, int place, const char *where) {
    if (v >= g->nodes.len) {
        wf_set_detail("node %u is not in graph '%s'", (unsigned)v, g->name);
        return WEFT_EINVAL;
    }
    gr_extra *e = (gr_extra *)gr_extra_of(g, v);
    if (!e || e->kind != GR_TASK) {
        wf_set_detail("node '%s' is not a named-task node", gr_name(g, v));
        return WEFT_EINVAL;
    }
    if (place != WEFT_PLACE_ANY && place != WEFT_PLACE_LOCAL && place != WEFT_PLACE_NODE) {
        wf_set_detail("node '%s': unknown place %d", gr_name(g, v), place);
        return WEFT_EINVAL;
    }
    if (place != WEFT_PLACE_NODE) {
        if (where) {
            wf_set_detail("node '%s': an address is given only with WEFT_PLACE_NODE",
                          gr_name(g, v));
            return WEFT_EINVAL;
        }
        e->place = place;
        e->where = GR_NONE;
        bump_version(g);
        return 0;
    }
    int rc = gr_check_address(where);
    if (rc) {
        wf_set_detail("node '%s': %s", gr_name(g, v), gr_address_problem(rc));
        return WEFT_EINVAL;
    }
    uint32_t off = e->where;
    /* the same address again keeps its bytes: set_place in a loop does not
     * grow the arena */
    if (off == GR_NONE || strcmp((const char *)g->names.data + off, where) != 0) {
        if ((rc = arena_add(g, where, strlen(where), &off))) return rc;
    }
    e->place = place;
    e->where = off;
    bump_version(g);
    return 0;
}

int gr_check_address(const char *where) {
    if (!where || !*where) return 1;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)where; *p; p++, n++)
        if (*p <= ' ' || *p == 0x7f) return 2;
    return n > WEFT_NAME_MAX ? 3 : 0;
}

const char *gr_address_problem(int why) {
    switch (why) {
    case 1: return "WEFT_PLACE_NODE needs an address (\"host:port\")";
    case 2: return "an address holds no spaces or control bytes";
    default: return "an address is at most 1024 bytes";
    }
}

int weft_graph_set_place(weft_graph_t *g, weft_node_t node, int place, const char *where) {
    int fast = change_begin(g);
    if (fast < 0) return fast;
    int rc = set_place(g, node, place, where);
    change_end(g, fast);
    return rc;
}

int weft_graph_place(const weft_graph_t *g, weft_node_t node, const char **where) {
    if (where) *where = NULL;
    if (!gr_graph_valid(g) || node >= g->nodes.len) return WEFT_EINVAL;
    const gr_extra *e = gr_extra_of(g, node);
    if (!e || e->kind != GR_TASK) return WEFT_PLACE_ANY;
    if (where && e->place == WEFT_PLACE_NODE) *where = (const char *)g->names.data + e->where;
    return e->place;
}

/* Does graph g contain graph target, directly or through subgraphs? An
 * explicit depth-first walk that visits each graph once (a graph shared by
 * many subgraph nodes is not walked again), so neither deep nesting nor
 * heavy sharing costs more than the number of distinct graphs and nodes.
 * Returns 1, 0, or WEFT_ENOMEM. */
int gr_contains(const weft_graph_t *g, const weft_graph_t *target) {
    gr_vec seen = {0}, stack = {0};
    int found = 0, rc = 0;
    const weft_graph_t *cur = g;
    for (;;) {
        if (cur == target) {
            found = 1;
            break;
        }
        const weft_graph_t **sv = seen.data;
        size_t k = 0;
        while (k < seen.len && sv[k] != cur) k++;
        if (k == seen.len) { /* first visit: remember it, push its subgraphs */
            if ((rc = gr_vec_reserve(&seen, sizeof cur, seen.len + 1))) break;
            ((const weft_graph_t **)seen.data)[seen.len++] = cur;
            const gr_extra *ex = cur->extras.data;
            for (size_t i = 0; i < cur->extras.len; i++) {
                if (ex[i].kind != GR_SUB) continue;
                if ((rc = gr_vec_reserve(&stack, sizeof cur, stack.len + 1))) break;
                ((const weft_graph_t **)stack.data)[stack.len++] = ex[i].sub;
            }
            if (rc) break;
        }
        if (!stack.len) break;
        cur = ((const weft_graph_t **)stack.data)[--stack.len];
    }
    vec_free(&seen);
    vec_free(&stack);
    return rc ? rc : found;
}

/* borrow: keep the caller's bytes instead of a copy. */
static int set_arg(weft_graph_t *g, weft_node_t v, const void *arg, size_t len, int borrow) {
    int rc;
    if (v >= g->nodes.len || (len && !arg)) return WEFT_EINVAL;
    void *bytes = (void *)arg;
    if (!borrow && (rc = copy_bytes(arg, len, &bytes))) return rc;
    if (borrow && !len) bytes = NULL;
    gr_extra *e = (gr_extra *)gr_extra_of(g, v);
    if (!e && (rc = gr_add_extra(g, v, &e))) {
        if (!borrow) wf_free(bytes);
        return rc;
    }
    if (!e->borrowed) wf_free(e->bytes);
    e->bytes = bytes;
    e->len = len;
    e->borrowed = borrow && bytes;
    bump_version(g);
    return 0;
}

int weft_graph_set_arg(weft_graph_t *g, weft_node_t v, const void *arg, size_t len) {
    int fast = change_begin(g);
    if (fast < 0) return fast;
    int rc = set_arg(g, v, arg, len, 0);
    change_end(g, fast);
    return rc;
}

int weft_graph_set_arg_ref(weft_graph_t *g, weft_node_t v, const void *arg, size_t len) {
    int fast = change_begin(g);
    if (fast < 0) return fast;
    int rc = set_arg(g, v, arg, len, 1);
    change_end(g, fast);
    return rc;
}

static int precede(weft_graph_t *g, weft_node_t before, weft_node_t after) {
    int rc = 0;
    if (before >= g->nodes.len || after >= g->nodes.len) return WEFT_EINVAL;
    if (g->nedges >= UINT32_MAX - 1) return WEFT_ERANGE;
    size_t n = g->esrc.len;
    if ((n == g->esrc.cap && (rc = gr_vec_reserve(&g->esrc, sizeof(uint32_t), n + 1))) ||
        (n == g->edst.cap && (rc = gr_vec_reserve(&g->edst, sizeof(uint32_t), n + 1))))
        return rc;
    ((uint32_t *)g->esrc.data)[n] = before;
    ((uint32_t *)g->edst.data)[n] = after;
    g->esrc.len = g->edst.len = n + 1;
    g->nedges++;
    bump_version(g);
    return 0;
}

int weft_graph_precede(weft_graph_t *g, weft_node_t before, weft_node_t after) {
    int fast = change_begin(g);
    if (fast < 0) return fast;
    int rc = precede(g, before, after);
    change_end(g, fast);
    return rc;
}

int weft_graph_succeed(weft_graph_t *g, weft_node_t after, weft_node_t before) {
    return weft_graph_precede(g, before, after);
}

size_t weft_graph_node_count(const weft_graph_t *g) { return gr_graph_valid(g) ? g->nodes.len : 0; }
size_t weft_graph_edge_count(const weft_graph_t *g) { return gr_graph_valid(g) ? g->nedges : 0; }
const char *weft_graph_name(const weft_graph_t *g) { return gr_graph_valid(g) ? g->name : NULL; }

const char *weft_graph_error(void) { return weft_error_detail(); }

int weft_graph_edge(const weft_graph_t *g, size_t i, weft_node_t *before, weft_node_t *after) {
    if (!gr_graph_valid(g) || i >= g->esrc.len || !before || !after) return WEFT_EINVAL;
    *before = ((const uint32_t *)g->esrc.data)[i];
    *after = ((const uint32_t *)g->edst.data)[i];
    return 0;
}

const char *weft_graph_node_name(const weft_graph_t *g, weft_node_t v) {
    if (!gr_graph_valid(g) || v >= g->nodes.len) return NULL;
    return gr_name(g, v);
}

weft_graph_t *weft_graph_node_subgraph(const weft_graph_t *g, weft_node_t node) {
    if (!gr_graph_valid(g) || node >= g->nodes.len) return NULL;
    const gr_extra *e = gr_extra_of(g, node);
    return e && e->kind == GR_SUB ? e->sub : NULL;
}

const char *weft_graph_node_task(const weft_graph_t *g, weft_node_t v) {
    if (!gr_graph_valid(g) || v >= g->nodes.len) return NULL;
    const gr_extra *e = gr_extra_of(g, v);
    return e && e->kind == GR_TASK ? (const char *)g->names.data + e->task : NULL;
}

int weft_graph_find(const weft_graph_t *g, const char *name, weft_node_t *node) {
    if (node) *node = WEFT_NODE_NONE;
    if (!gr_graph_valid(g) || !name || !node) return WEFT_EINVAL;
    for (size_t v = 0; v < g->nodes.len; v++)
        if (strcmp(gr_name(g, (weft_node_t)v), name) == 0) {
            *node = (weft_node_t)v;
            return 0;
        }
    return WEFT_ENOENT;
}

/* ---- compiling ---- */

/* Stable counting sort of the edges by key into CSR rows: off has n+1
 * entries, row v is val[off[v] .. off[v+1]) in the order edges were added. */
static int build_csr(size_t n, size_t m, const uint32_t *key, const uint32_t *other,
                     uint32_t **off_out, uint32_t **val_out) {
    uint32_t *off = wf_calloc(n + 1, sizeof *off);
    uint32_t *val = wf_malloc((m ? m : 1) * sizeof *val);
    if (!off || !val) {
        wf_free(off);
        wf_free(val);
        return WEFT_ENOMEM;
    }
    for (size_t i = 0; i < m; i++) off[key[i] + 1]++;
    for (size_t v = 0; v < n; v++) off[v + 1] += off[v];
    for (size_t i = 0; i < m; i++) val[off[key[i]]++] = other[i]; /* off[v] ends at row end */
    for (size_t v = n; v > 0; v--) off[v] = off[v - 1];           /* shift back to starts */
    off[0] = 0;
    *off_out = off;
    *val_out = val;
    return 0;
}

/* Kahn's algorithm: 0 if acyclic, else WEFT_ECYCLE with g->cycle_node set
 * to a node on a cycle. */
static int find_cycle(weft_graph_t *g) {
    size_t n = g->nodes.len;
    uint32_t *left = wf_malloc((n ? n : 1) * sizeof *left); /* unprocessed predecessors */
    uint32_t *queue = wf_malloc((n ? n : 1) * sizeof *queue);
    if (!left || !queue) {
        wf_free(left);
        wf_free(queue);
        return WEFT_ENOMEM;
    }
    size_t head = 0, tail = 0;
    for (size_t v = 0; v < n; v++) {
        left[v] = g->pred_off[v + 1] - g->pred_off[v];
        if (!left[v]) queue[tail++] = (uint32_t)v;
    }
    while (head < tail) {
        uint32_t v = queue[head++];
        for (uint32_t i = g->succ_off[v]; i < g->succ_off[v + 1]; i++)
            if (--left[g->succ[i]] == 0) queue[tail++] = g->succ[i];
    }
    int rc = 0;
    if (tail < n) {
        /* Every unprocessed node has an unprocessed predecessor: walking
         * backwards through them must come round to a node twice, and that
         * node lies on a cycle. queue is reused to mark the step of each
         * visit (0: not visited). */
        memset(queue, 0, n * sizeof *queue);
        uint32_t v = 0;
        while (left[v] == 0) v++;
        for (uint32_t step = 1; !queue[v]; step++) {
            queue[v] = step;
            uint32_t next = v;
            for (uint32_t i = g->pred_off[v]; i < g->pred_off[v + 1]; i++)
                if (left[g->pred[i]]) {
                    next = g->pred[i];
                    break;
                }
            v = next;
        }
        g->cycle_node = v;
        rc = WEFT_ECYCLE;
    }
    wf_free(left);
    wf_free(queue);
    return rc;
}

int gr_compile(weft_graph_t *g) {
    uint64_t version = atomic_load_explicit(&g->version, memory_order_relaxed);
    if (g->compiled == version) return g->checked ? 0 : WEFT_ECYCLE;
    drop_compiled(g);
    size_t n = g->nodes.len, m = g->esrc.len;
    const uint32_t *src = g->esrc.data, *dst = g->edst.data;
    int rc = build_csr(n, m, src, dst, &g->succ_off, &g->succ);
    if (!rc) rc = build_csr(n, m, dst, src, &g->pred_off, &g->pred);
    if (rc) {
        drop_compiled(g);
        return rc;
    }
    size_t ns = 0;
    for (size_t v = 0; v < n; v++) ns += g->pred_off[v + 1] == g->pred_off[v];
    g->sources = wf_malloc((ns ? ns : 1) * sizeof(uint32_t));
    if (!g->sources) {
        drop_compiled(g);
        return WEFT_ENOMEM;
    }
    for (size_t v = 0, k = 0; v < n; v++)
        if (g->pred_off[v + 1] == g->pred_off[v]) g->sources[k++] = (uint32_t)v;
    g->nsources = ns;
    g->join0 = wf_malloc((n ? n : 1) * sizeof(uint32_t));
    if (!g->join0) {
        drop_compiled(g);
        return WEFT_ENOMEM;
    }
    for (size_t v = 0; v < n; v++) {
        uint32_t d = g->pred_off[v + 1] - g->pred_off[v];
        if (d > GR_COUNT) { /* over 2^30 predecessors: the join word cannot count them */
            drop_compiled(g);
            return WEFT_ERANGE;
        }
        g->join0[v] = d | (d == 1 ? GR_SINGLE : 0);
    }
    g->cycle_node = GR_NONE;
    rc = find_cycle(g);
    if (rc == WEFT_ENOMEM) {
        drop_compiled(g);
        return rc;
    }
    g->checked = rc == 0;
    g->compiled = version;
    return rc;
}

/* Compiles under the gate, as the first run start does (run.c), so that
 * check fills the compiled form while no change and no other compile can
 * go. While runs go the graph is compiled and acyclic (a run only starts
 * on such a graph, and it cannot change meanwhile): check answers 0 at
 * once. */
int weft_graph_check(weft_graph_t *g, weft_node_t *node) {
    if (node) *node = WEFT_NODE_NONE;
    if (!gr_graph_valid(g)) return WEFT_EINVAL;
    for (;;) {
        /* acquire: pairs with the release of gr_change_end and of the
         * store that ends a compile, so their writes are seen */
        unsigned w = atomic_load_explicit(&g->gate, memory_order_acquire);
        if (w & GR_GATE_EXCL) { /* a change or a compile: brief, never waits */
            sched_yield();
            continue;
        }
        if (w) return 0;
        if (atomic_compare_exchange_weak_explicit(&g->gate, &w, GR_GATE_EXCL, memory_order_acquire,
                                                  memory_order_relaxed))
            break;
    }
    gr_gate_settle(g); /* a fast change of the home thread ends first */
    int rc = gr_compile(g);
    if (rc == WEFT_ECYCLE && node) *node = g->cycle_node;
    /* release: the compiled form, to the next gate user */
    atomic_store_explicit(&g->gate, 0, memory_order_release);
    return rc;
}
