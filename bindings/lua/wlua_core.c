/* wlua_core.c: the script side of the Lua binding.
 *
 * Every function here runs on the thread that runs the script, with the
 * script's lua_State. They are the private primitives ("core") that
 * weft.lua builds the idiomatic API from; they check their arguments, but
 * the messages users see come from weft.lua, which checks first.
 *
 * Objects: each C object lives in a malloc'd struct that a small userdata
 * (a "box") points to; closing the object frees the struct and empties the
 * box, so a second close, or a use after close, is detected rather than
 * crashing. __gc closes what the script forgot to close.
 *
 * - runtime (wlua_rt): the weft runtime plus the queue of finished tasks.
 *   Workers append finished wlua_task records under a mutex; the script takes
 *   them one at a time (rt_take) and only then does anything Lua-visible
 *   happen (results decoded, callbacks run by weft.lua). Closing destroys
 *   the weft runtime first, which waits for every task, so no worker can
 *   touch the queue afterwards.
 * - code (wlua_code): a task function dumped to bytecode once, shared by
 *   every task that runs it (a count of references, script thread only).
 * - graph (wlua_graph) and run (wlua_run): weft graphs whose nodes are the
 *   named task "lua"; a run record must be freed before its graph, and a
 *   subgraph after the graphs that contain it, so the structs keep the
 *   links needed to free in that order whatever order Lua collects them. */
#define _GNU_SOURCE /* dladdr, RTLD_NODELETE */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weft_stats.h"
#include "wlua.h"
#include "weft_lua_layer.h" /* generated from weft.lua: wlua_layer[] */

#define RT_MT "weft.core.runtime"
#define CODE_MT "weft.core.code"
#define GRAPH_MT "weft.core.graph"
#define RUN_MT "weft.core.run"

/* Pushes nil and a formatted message: the (nil, message) convention. */
static int fail(lua_State *L, const char *fmt, ...)
{
    char msg[WLUA_ERRMAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lua_pushnil(L);
    lua_pushstring(L, msg);
    return 2;
}

/* nil, "weft: WHAT: message (WEFT_E...)", code */
static int fail_rc(lua_State *L, int rc, const char *what)
{
    lua_pushnil(L);
    lua_pushfstring(L, "weft: %s: %s (%s)", what, weft_strerror(rc), weft_err_name(rc));
    lua_pushinteger(L, rc);
    return 3;
}

static void *box_new(lua_State *L, const char *mt, void *p)
{
    void **box = lua_newuserdatauv(L, sizeof(void *), 0);
    *box = p;
    luaL_setmetatable(L, mt);
    return box;
}

/* The object a box holds; raises when closed. */
static void *box_get(lua_State *L, int i, const char *mt, const char *what)
{
    void **box = luaL_checkudata(L, i, mt);
    if (!*box)
        luaL_error(L, "weft: the %s is closed", what);
    return *box;
}

/* prepare(fn) -> code | nil, message */
static int c_prepare(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    void **box = box_new(L, CODE_MT, NULL); /* first: a raise leaks nothing */
    char err[WLUA_ERRMAX];
    wlua_code *c = wlua_code_prepare(L, 1, err, sizeof err);
    if (!c)
        return fail(L, "%s", err);
    *box = c; /* the box holds the one reference */
    return 1;
}

static int c_code_gc(lua_State *L)
{
    void **box = luaL_checkudata(L, 1, CODE_MT);
    wlua_code_release(*box);
    *box = NULL;
    return 0;
}

static wlua_code *code_check(lua_State *L, int i) { return box_get(L, i, CODE_MT, "task code"); }

/* ------------------------------------------------------------------ */
/* Runtimes                                                            */

static wlua_rt *rt_check(lua_State *L, int i) { return box_get(L, i, RT_MT, "runtime"); }

static void task_free(wlua_task *t)
{
    wlua_code_release(t->code);
    free(t->args);
    free(t->res);
    free(t);
}

/* rt_new(workers) -> runtime | nil, message */
static int c_rt_new(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 0 || n > WEFT_MAX_WORKERS)
        return fail(L, "weft: worker count %lld out of range 0..%d", (long long)n,
                    WEFT_MAX_WORKERS);
    void **box = box_new(L, RT_MT, NULL);
    wlua_rt *r = calloc(1, sizeof *r);
    if (!r)
        return fail_rc(L, WEFT_ENOMEM, "cannot create a runtime");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = weft_runtime_create((int)n, &r->rt);
    if (rc != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return fail_rc(L, rc, "cannot create a runtime");
    }
    *box = r;
    return 1;
}

/* rt_close(runtime): waits for every task, stops the workers (their Lua
 * states close with their threads) and drops results not taken. */
static int c_rt_close(lua_State *L)
{
    void **box = luaL_checkudata(L, 1, RT_MT);
    wlua_rt *r = *box;
    if (!r)
        return 0;
    int rc = weft_runtime_destroy(r->rt);
    if (rc != 0) /* EPERM: a worker of this runtime; cannot happen from the script */
        return luaL_error(L, "weft: cannot close the runtime: %s", weft_strerror(rc));
    *box = NULL;
    for (wlua_task *t = r->head, *next; t; t = next) {
        next = t->next;
        task_free(t);
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
    return 0;
}

static int c_rt_closed(lua_State *L)
{
    void **box = luaL_checkudata(L, 1, RT_MT);
    lua_pushboolean(L, *box == NULL);
    return 1;
}

static int c_rt_workers(lua_State *L)
{
    lua_pushinteger(L, weft_runtime_workers(rt_check(L, 1)->rt));
    return 1;
}

static int c_rt_set_workers(lua_State *L)
{
    wlua_rt *r = rt_check(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    if (n < 0 || n > WEFT_MAX_WORKERS)
        return fail(L, "weft: worker count %lld out of range 0..%d", (long long)n,
                    WEFT_MAX_WORKERS);
    int rc = weft_runtime_set_workers(r->rt, (int)n);
    if (rc != 0)
        return fail_rc(L, rc, "cannot set the worker count");
    lua_pushboolean(L, 1);
    return 1;
}

/* Submits a task with the given encoded arguments (taken over). */
static int submit(lua_State *L, wlua_rt *r, wlua_code *c, wlua_kind kind, wlua_buf *args)
{
    wlua_task *t = calloc(1, sizeof *t);
    if (!t) {
        wlua_buf_free(args);
        return fail_rc(L, WEFT_ENOMEM, "cannot submit");
    }
    t->owner = r;
    t->code = c;
    t->kind = kind;
    t->args = args->data;
    t->args_len = args->len;
    t->id = ++r->next_id;
    t->worker = -1;
    c->refs++;
    weft_submit_opts_t opts = {.callback = wlua_task_done, .callback_data = t};
    int rc = weft_submit(r->rt, wlua_task_run, t, &opts, NULL);
    if (rc != 0) {
        task_free(t);
        return fail_rc(L, rc, "cannot submit");
    }
    r->inflight++;
    lua_pushinteger(L, t->id);
    return 1;
}

/* rt_submit(runtime, code, base, ...) -> id | nil, message
 * base: the number the first argument has in messages. */
static int c_rt_submit(lua_State *L)
{
    wlua_rt *r = rt_check(L, 1);
    wlua_code *c = code_check(L, 2);
    int base = (int)luaL_checkinteger(L, 3);
    int n = lua_gettop(L) - 3;
    wlua_buf args = {0};
    char err[WLUA_ERRMAX];
    if (wlua_encode(L, 4, n, "argument", base, WLUA_TO_WORKER, &args, err, sizeof err)) {
        wlua_buf_free(&args);
        return fail(L, "weft: %s", err);
    }
    return submit(L, r, c, WLUA_JOB, &args);
}

/* rt_submit_map(runtime, code, base, elements...) -> id | nil, message
 * base: the index of the first element in the script's list. */
static int c_rt_submit_map(lua_State *L)
{
    wlua_rt *r = rt_check(L, 1);
    wlua_code *c = code_check(L, 2);
    int base = (int)luaL_checkinteger(L, 3);
    wlua_buf args = {0};
    char err[WLUA_ERRMAX];
    if (wlua_encode(L, 4, lua_gettop(L) - 3, "element", base, WLUA_TO_WORKER, &args, err,
                  sizeof err)) {
        wlua_buf_free(&args);
        return fail(L, "weft: %s", err);
    }
    return submit(L, r, c, WLUA_MAP, &args);
}

static int c_rt_inflight(lua_State *L)
{
    lua_pushinteger(L, rt_check(L, 1)->inflight);
    return 1;
}

/* Pushes the decoded results of t: a table {n = count, ...}, or for a
 * failed task its message and element (0 unless a map element failed). */
static int push_outcome(lua_State *L, wlua_task *t)
{
    char err[WLUA_ERRMAX];
    int top = lua_gettop(L);
    int n = wlua_decode(L, t->res, t->res_len, err, sizeof err);
    if (n < 0) {
        lua_pushfstring(L, "cannot read the task's results: %s", err);
        lua_pushinteger(L, 0);
        return 0;
    }
    if (t->status != 0) {
        if (n == 0)
            lua_pushstring(L, "(no message)");
        if (n < 2)
            lua_pushinteger(L, 0);
        lua_settop(L, top + 2);
        return 0;
    }
    if (t->kind == WLUA_MAP) { /* one value: the table of results */
        lua_settop(L, top + 1);
        return 1;
    }
    lua_createtable(L, n, 1);
    lua_insert(L, top + 1);
    for (int i = n; i >= 1; i--)
        lua_rawseti(L, top + 1, i);
    lua_pushinteger(L, n);
    lua_setfield(L, top + 1, "n");
    return 1;
}

/* rt_take(runtime, timeout) -> nothing, or
 *   id, ok, worker, t0, t1, results-table | message, element
 * Takes one finished task. timeout: 0 only looks, < 0 waits as long as a
 * task is in flight, > 0 waits up to that many seconds. */
static int c_rt_take(lua_State *L)
{
    wlua_rt *r = rt_check(L, 1);
    double timeout = luaL_optnumber(L, 2, 0);
    if (timeout != timeout)
        return luaL_error(L, "weft: the timeout is NaN");
    if (timeout > 1e9) /* about 32 years: as long as it takes (and no time_t overflow) */
        timeout = -1;
    if (r->inflight == 0)
        return 0;
    pthread_mutex_lock(&r->mu);
    if (!r->head && timeout != 0) {
        if (timeout < 0) {
            while (!r->head)
                pthread_cond_wait(&r->cv, &r->mu);
        } else {
            struct timespec dl;
            clock_gettime(CLOCK_MONOTONIC, &dl);
            double s = (double)dl.tv_sec + (double)dl.tv_nsec / 1e9 + timeout;
            dl.tv_sec = (time_t)s;
            dl.tv_nsec = (long)((s - (double)dl.tv_sec) * 1e9);
            while (!r->head)
                if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) == ETIMEDOUT)
                    break;
        }
    }
    wlua_task *t = r->head;
    if (t) {
        r->head = t->next;
        if (!r->head)
            r->tail = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    if (!t)
        return 0;
    r->inflight--;
    lua_pushinteger(L, t->id);
    lua_pushboolean(L, 0); /* replaced below */
    lua_pushinteger(L, t->worker);
    lua_pushnumber(L, t->t0);
    lua_pushnumber(L, t->t1);
    int top = lua_gettop(L);
    int ok = push_outcome(L, t);
    lua_pushboolean(L, ok);
    lua_replace(L, top - 3);
    task_free(t);
    return lua_gettop(L) - top + 5;
}

static void set_num(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

/* rt_stats(runtime) -> table | nil, message */
static int c_rt_stats(lua_State *L)
{
    wlua_rt *r = rt_check(L, 1);
    weft_stats_t st;
    int rc = weft_stats_get(r->rt, &st);
    if (rc != 0)
        return fail_rc(L, rc, "cannot read the statistics");
    /* the schema of weft_stats.h, as Python's rt.stats() */
#define WLUA_U64(k, v) set_int(L, k, (lua_Integer)(v))
#define WLUA_DBL(k, v) set_num(L, k, v)
#define WLUA_BOOL(k, v) (lua_pushboolean(L, (v) != 0), lua_setfield(L, -2, k))
#define WLUA_FIELD(f, kind) WLUA_##kind(#f, st.f);
#define WLUA_WFIELD(f, kind) WLUA_##kind(#f, st.workers[i].f);
    lua_createtable(L, 0, 9);
    set_int(L, "nworkers", st.nworkers);
    set_int(L, "active_workers", weft_runtime_workers(r->rt));
    WEFT_STATS_FIELDS(WLUA_FIELD)
    lua_createtable(L, st.nworkers, 0);
    for (int i = 0; i < st.nworkers; i++) {
        lua_createtable(L, 0, 5);
        set_int(L, "id", i);
        WEFT_WORKER_STATS_FIELDS(WLUA_WFIELD)
        lua_rawseti(L, -2, i + 1);
    }
#undef WLUA_FIELD
#undef WLUA_WFIELD
    lua_setfield(L, -2, "workers");
    weft_stats_release(&st);
    return 1;
}

/* rt_stats_text(runtime) -> the table weft_stats_print prints | nil, message */
static int c_rt_stats_text(lua_State *L)
{
    wlua_rt *r = rt_check(L, 1);
    weft_buf_t b;
    int rc = weft_stats_print_buf(r->rt, &b);
    if (rc != 0)
        return fail_rc(L, rc, "cannot print the statistics");
    lua_pushlstring(L, b.data ? b.data : "", b.len);
    weft_buf_free(&b);
    return 1;
}

static int c_rt_reset_stats(lua_State *L)
{
    int rc = weft_stats_reset(rt_check(L, 1)->rt);
    if (rc != 0)
        return fail_rc(L, rc, "cannot reset the statistics");
    lua_pushboolean(L, 1);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Graphs and runs                                                     */

typedef struct wlua_run wlua_run;

typedef struct wlua_graph {
    weft_graph_t *g;
    int boxed;                /* a Lua box still holds it */
    int parents;              /* graphs that hold it as a subgraph */
    struct wlua_graph **subs; /* its subgraphs (one entry per subgraph node) */
    size_t nsubs;
    wlua_run *runs;           /* run records not yet freed */
} wlua_graph;

struct wlua_run {
    weft_run_t *run;
    wlua_graph *graph; /* NULL once the graph has freed the record */
    wlua_run *prev, *next;
    lua_State *L;       /* the script thread's state while it waits */
    int progress_ref;   /* registry reference to the progress function */
    char progress_err[WLUA_ERRMAX];
};

static wlua_graph *graph_check(lua_State *L, int i) { return box_get(L, i, GRAPH_MT, "graph"); }

static wlua_run *run_check(lua_State *L, int i)
{
    wlua_run *r = box_get(L, i, RUN_MT, "run");
    if (!r->run)
        luaL_error(L, "weft: the run is closed (its graph was closed)");
    return r;
}

/* Frees the weft run record (after it has finished) and unlinks it; the
 * wlua_run itself stays with its box. */
static void run_drop(lua_State *L, wlua_run *r)
{
    if (r->run) {
        r->L = NULL; /* no progress callbacks from here (may be inside __gc) */
        weft_run_wait(r->run);
        weft_run_free(r->run);
        r->run = NULL;
    }
    if (r->graph) {
        if (r->prev)
            r->prev->next = r->next;
        else
            r->graph->runs = r->next;
        if (r->next)
            r->next->prev = r->prev;
        r->graph = NULL;
        r->prev = r->next = NULL;
    }
    if (r->progress_ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, r->progress_ref);
        r->progress_ref = LUA_NOREF;
    }
}

/* Frees a graph once no box and no parent graph holds it: its runs first,
 * then the graph, then its subgraphs' hold on their own. */
static void graph_release(lua_State *L, wlua_graph *gp)
{
    if (gp->boxed || gp->parents)
        return;
    while (gp->runs)
        run_drop(L, gp->runs);
    weft_graph_free(gp->g);
    for (size_t i = 0; i < gp->nsubs; i++) {
        gp->subs[i]->parents--;
        graph_release(L, gp->subs[i]);
    }
    free(gp->subs);
    free(gp);
}

static int c_graph_new(lua_State *L)
{
    const char *name = luaL_optstring(L, 1, NULL);
    void **box = box_new(L, GRAPH_MT, NULL);
    wlua_graph *gp = calloc(1, sizeof *gp);
    if (!gp)
        return fail_rc(L, WEFT_ENOMEM, "cannot create a graph");
    int rc = weft_graph_create(name, &gp->g);
    if (rc != 0) {
        free(gp);
        return fail_rc(L, rc, "cannot create a graph");
    }
    gp->boxed = 1;
    *box = gp;
    return 1;
}

/* graph_close(graph): frees it and its runs, waiting for a run still going. */
static int c_graph_close(lua_State *L)
{
    void **box = luaL_checkudata(L, 1, GRAPH_MT);
    wlua_graph *gp = *box;
    if (!gp)
        return 0;
    for (wlua_run *r = gp->runs; r; r = r->next)
        if (r->L)
            return luaL_error(L, "weft: cannot close a graph from its run's progress callback");
    *box = NULL;
    gp->boxed = 0;
    graph_release(L, gp);
    return 0;
}

static int put_mask(wlua_buf *b, uint64_t m)
{
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(m >> (8 * i));
    return wlua_buf_put(b, le, 8);
}

/* Builds a node envelope (wlua.h) for code and the arguments at first..:
 * version 1 unless the function has self or weft upvalues. */
static int envelope(lua_State *L, wlua_code *c, int first, int n, int base, wlua_buf *b, char *err,
                    size_t errsz)
{
    int v2 = c->self_mask || c->weft_mask;
    size_t wlen = strlen(c->where);
    if (wlua_buf_put(b, v2 ? WLUA_NODE_MAGIC2 : WLUA_NODE_MAGIC, 3) || put_mask(b, c->genv_mask) ||
        (v2 && (put_mask(b, c->self_mask) || put_mask(b, c->weft_mask))) ||
        wlua_put_varint(b, wlen) || wlua_buf_put(b, c->where, wlen) || wlua_put_varint(b, c->len) ||
        wlua_buf_put(b, c->bytes, c->len)) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    return wlua_encode(L, first, n, "argument", base, WLUA_TO_WORKER, b, err, errsz);
}

/* graph_add(graph, name|nil, code, base, ...) -> node id | nil, message */
static int c_graph_add(lua_State *L)
{
    wlua_graph *gp = graph_check(L, 1);
    const char *name = luaL_optstring(L, 2, NULL);
    wlua_code *c = code_check(L, 3);
    int base = (int)luaL_checkinteger(L, 4);
    wlua_buf b = {0};
    char err[WLUA_ERRMAX];
    if (envelope(L, c, 5, lua_gettop(L) - 4, base, &b, err, sizeof err)) {
        wlua_buf_free(&b);
        return fail(L, "weft: %s", err);
    }
    weft_node_t node;
    int rc = weft_graph_add_task(gp->g, name, WLUA_NODE_TASK, b.data, b.len, &node);
    wlua_buf_free(&b);
    /* bytecode never runs on a cluster node: this node stays here when
     * the graph runs on a cluster (placement matters only then) */
    if (rc == 0)
        rc = weft_graph_set_place(gp->g, node, WEFT_PLACE_LOCAL, NULL);
    if (rc != 0)
        return fail_rc(L, rc, "cannot add a node");
    lua_pushinteger(L, node);
    return 1;
}

#ifndef WLUA_NO_REMOTE
/* graph_add_remote(graph, name|nil, chunkname, src, base, ...) -> node id
 * | nil, message: a named-task node "weft.lua" whose argument bytes are a
 * request with the source (wlua.h, "Remote tasks"): it runs on a cluster's
 * nodes when the run has the cluster's executor, and here otherwise (the
 * module registers "weft.lua" too). */
static int c_graph_add_remote(lua_State *L)
{
    wlua_graph *gp = graph_check(L, 1);
    const char *name = luaL_optstring(L, 2, NULL);
    size_t cn_len, src_len;
    const char *cn = luaL_checklstring(L, 3, &cn_len);
    const char *src = luaL_checklstring(L, 4, &src_len);
    int base = (int)luaL_checkinteger(L, 5);
    wlua_buf args = {0}, req = {0};
    char err[WLUA_ERRMAX];
    if (wlua_encode(L, 6, lua_gettop(L) - 5, "argument", base, WLUA_TO_WORKER, &args, err,
                    sizeof err)) {
        wlua_buf_free(&args);
        return fail(L, "weft: %s", err);
    }
    int rc = wlua_request_build(&req, WLUA_REMOTE_F_SOURCE, cn, cn_len, src, src_len, args.data,
                                args.len, NULL);
    wlua_buf_free(&args);
    if (rc) {
        wlua_buf_free(&req);
        return fail(L, "weft: cannot make the node's request (out of memory, or a source over "
                       "%d MiB)",
                    (int)(WLUA_REMOTE_SRC_MAX >> 20));
    }
    weft_node_t node;
    rc = weft_graph_add_task(gp->g, name, WLUA_REMOTE_TASK, req.data, req.len, &node);
    wlua_buf_free(&req);
    if (rc != 0)
        return fail_rc(L, rc, "cannot add a node");
    lua_pushinteger(L, node);
    return 1;
}
#endif

/* graph_add_subgraph(graph, name|nil, sub) -> node id | nil, message */
static int c_graph_add_subgraph(lua_State *L)
{
    wlua_graph *gp = graph_check(L, 1);
    const char *name = luaL_optstring(L, 2, NULL);
    wlua_graph *sub = graph_check(L, 3);
    wlua_graph **subs = realloc(gp->subs, (gp->nsubs + 1) * sizeof *subs);
    if (!subs)
        return fail_rc(L, WEFT_ENOMEM, "cannot add a subgraph");
    gp->subs = subs;
    weft_node_t node;
    int rc = weft_graph_add_subgraph(gp->g, name, sub->g, &node);
    if (rc != 0)
        return fail_rc(L, rc, "cannot add a subgraph");
    gp->subs[gp->nsubs++] = sub;
    sub->parents++;
    lua_pushinteger(L, node);
    return 1;
}

static weft_node_t node_arg(lua_State *L, int i)
{
    lua_Integer v = luaL_checkinteger(L, i);
    return v < 0 || v > (lua_Integer)WEFT_GRAPH_MAX_NODES ? WEFT_NODE_NONE : (weft_node_t)v;
}

static int place_lua_nodes(weft_graph_t *g, int depth);

static int c_graph_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    void **box = box_new(L, GRAPH_MT, NULL);
    wlua_graph *gp = calloc(1, sizeof *gp);
    if (!gp)
        return fail_rc(L, WEFT_ENOMEM, "cannot load a graph");
    int rc = weft_graph_load_file(path, &gp->g);
    if (rc != 0) {
        free(gp);
        const char *why = weft_graph_error();
        lua_pushnil(L);
        lua_pushfstring(L, "weft: cannot load graph file %s: %s%s%s", path, weft_strerror(rc),
                        why[0] ? ": " : "", why);
        return 2;
    }
    /* a graph file's Lua nodes stay here on a cluster, as added ones do */
    if ((rc = place_lua_nodes(gp->g, 0)) != 0) {
        weft_graph_free(gp->g);
        free(gp);
        return fail_rc(L, rc, "cannot load a graph");
    }
    gp->boxed = 1;
    *box = gp;
    return 1;
}

static int c_graph_gc(lua_State *L)
{
    void **box = luaL_checkudata(L, 1, GRAPH_MT);
    wlua_graph *gp = *box;
    if (gp) {
        *box = NULL;
        gp->boxed = 0;
        graph_release(L, gp); /* waits for a run still going */
    }
    return 0;
}

/* The progress callback, called by weft on the waiting (script) thread. */
typedef struct progress_call {
    wlua_run *r;
    const weft_progress_t *p;
} progress_call;

static int progress_body(lua_State *L)
{
    progress_call *pc = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, pc->r->progress_ref);
    lua_createtable(L, 0, 5);
    set_int(L, "finished", (lua_Integer)pc->p->finished);
    set_int(L, "total", (lua_Integer)pc->p->total);
    set_num(L, "elapsed_s", pc->p->elapsed_s);
    set_num(L, "rate", pc->p->rate);
    set_num(L, "eta_s", pc->p->eta_s);
    lua_call(L, 1, 0);
    return 0;
}

static void progress_cb(void *data, const weft_progress_t *p)
{
    wlua_run *r = data;
    lua_State *L = r->L;
    if (!L || r->progress_ref == LUA_NOREF || r->progress_err[0] || !lua_checkstack(L, 4))
        return;
    progress_call pc = {r, p};
    lua_pushcfunction(L, progress_body);
    lua_pushlightuserdata(L, &pc);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        snprintf(r->progress_err, sizeof r->progress_err, "%s",
                 msg ? msg : "(error object is not a string)");
        lua_pop(L, 1);
        weft_run_cancel(r->run);
    }
}

/* Places the local Lua nodes (task "lua": bytecode, which a cluster node
 * never loads) of g and of its subgraphs on this process, for a run with
 * an executor. 0, or a weft code (the graph runs already: EBUSY). */
static int place_lua_nodes(weft_graph_t *g, int depth)
{
    size_t n = weft_graph_node_count(g);
    for (size_t i = 0; i < n; i++) {
        weft_node_t id = (weft_node_t)i;
        const char *task = weft_graph_node_task(g, id);
        weft_graph_t *sub = weft_graph_node_subgraph(g, id);
        if (sub && depth < 1000) {
            int rc = place_lua_nodes(sub, depth + 1);
            if (rc)
                return rc;
        } else if (task && strcmp(task, WLUA_NODE_TASK) == 0 &&
                   weft_graph_place(g, id, NULL) != WEFT_PLACE_LOCAL) {
            int rc = weft_graph_set_place(g, id, WEFT_PLACE_LOCAL, NULL);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* run_start(graph, runtime, record, bar, progress|nil, interval, cluster|nil)
 *   -> run | nil, message, code
 * With a cluster, the run's named-task nodes (remote Lua nodes among them)
 * go to the cluster's nodes through its executor (weft_cluster_executor);
 * the local Lua nodes (g:add) are placed here (WEFT_PLACE_LOCAL) when added
 * or loaded, and here again should one have been placed elsewhere. */
static int c_run_start(lua_State *L)
{
    wlua_graph *gp = graph_check(L, 1);
    wlua_rt *rt = rt_check(L, 2);
    int record = lua_toboolean(L, 3), bar = lua_toboolean(L, 4);
    int has_progress = !lua_isnoneornil(L, 5);
    if (has_progress)
        luaL_checktype(L, 5, LUA_TFUNCTION);
    double interval = luaL_optnumber(L, 6, 0);
    const weft_executor_t *exec = NULL;
    if (!lua_isnoneornil(L, 7)) {
#ifdef WLUA_NO_REMOTE
        return fail(L, "weft: this weft was built without the distribution layer (no clusters)");
#else
        weft_cluster_t *cl = wlua_cluster_of(L, 7);
        if (!(exec = weft_cluster_executor(cl)))
            return fail(L, "weft: the cluster has no executor for graph runs");
        int prc = place_lua_nodes(gp->g, 0);
        if (prc)
            return fail_rc(L, prc, "cannot place the graph's local Lua nodes here");
#endif
    }
    void **box = box_new(L, RUN_MT, NULL);
    wlua_run *r = calloc(1, sizeof *r);
    if (!r)
        return fail_rc(L, WEFT_ENOMEM, "cannot run the graph");
    r->progress_ref = LUA_NOREF;
    weft_run_opts_t opts = {.record = record,
                            .progress_bar = bar,
                            .progress_interval_s = interval,
                            .executor = exec};
    if (has_progress) {
        lua_pushvalue(L, 5);
        r->progress_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        opts.progress = progress_cb;
        opts.progress_data = r;
    }
    int rc = weft_graph_run_async(gp->g, rt->rt, &opts, &r->run);
    if (rc != 0) {
        if (r->progress_ref != LUA_NOREF)
            luaL_unref(L, LUA_REGISTRYINDEX, r->progress_ref);
        free(r);
        if (rc == WEFT_ECYCLE) {
            weft_node_t node = WEFT_NODE_NONE;
            weft_graph_check(gp->g, &node);
            lua_pushnil(L);
            lua_pushfstring(L, "weft: graph '%s' has a cycle through node '%s'",
                            weft_graph_name(gp->g), weft_graph_node_name(gp->g, node));
            lua_pushinteger(L, rc);
            return 3;
        }
        return fail_rc(L, rc, "cannot run the graph");
    }
    r->graph = gp;
    r->next = gp->runs;
    if (gp->runs)
        gp->runs->prev = r;
    gp->runs = r;
    *box = r;
    return 1;
}

/* run_wait(run, timeout|nil) -> code, progress error|nil */
static int c_run_wait(lua_State *L)
{
    wlua_run *r = run_check(L, 1);
    double timeout = luaL_optnumber(L, 2, -1);
    if (timeout > 1e9) /* about 32 years: as long as it takes */
        timeout = -1;
    r->L = L;
    int rc = timeout < 0 ? weft_run_wait(r->run) : weft_run_wait_timeout(r->run, timeout);
    r->L = NULL;
    lua_pushinteger(L, rc);
    if (r->progress_err[0]) {
        lua_pushstring(L, r->progress_err);
        r->progress_err[0] = '\0';
        return 2;
    }
    return 1;
}

static int c_run_close(lua_State *L)
{
    void **box = luaL_checkudata(L, 1, RUN_MT);
    wlua_run *r = *box;
    if (r && r->L) /* its progress callback is running, inside run_wait */
        return luaL_error(L, "weft: cannot close a run from its own progress callback");
    if (r) {
        *box = NULL;
        run_drop(L, r);
        free(r);
    }
    return 0;
}

/* run_result(run, node) -> {n=..., values} | raw string | nil, or
 * nil, message, code */
static int c_run_result(lua_State *L)
{
    wlua_run *r = run_check(L, 1);
    const void *data;
    size_t len;
    int rc = weft_run_result(r->run, node_arg(L, 2), &data, &len);
    if (rc != 0)
        return fail_rc(L, rc, "cannot read the node's result");
    if (!data) {
        lua_pushnil(L);
        return 1;
    }
    if (!wlua_is_encoded(data, len)) {
        lua_pushlstring(L, data, len);
        return 1;
    }
    char err[WLUA_ERRMAX];
    int top = lua_gettop(L);
    int n = wlua_decode(L, data, len, err, sizeof err);
    if (n < 0)
        return fail(L, "weft: cannot read the node's result: %s", err);
    lua_createtable(L, n, 1);
    lua_insert(L, top + 1);
    for (int i = n; i >= 1; i--)
        lua_rawseti(L, top + 1, i);
    set_int(L, "n", n);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Values                                                              */

static int c_clock(lua_State *L)
{
    lua_pushnumber(L, wlua_clock());
    return 1;
}

/* serialize(...) -> bytes | nil, message */
static int c_serialize(lua_State *L)
{
    wlua_buf b = {0};
    char err[WLUA_ERRMAX];
    if (wlua_encode(L, 1, lua_gettop(L), "value", 1, WLUA_TO_WORKER, &b, err, sizeof err)) {
        wlua_buf_free(&b);
        return fail(L, "weft: %s", err);
    }
    lua_pushlstring(L, b.data, b.len);
    wlua_buf_free(&b);
    return 1;
}

/* deserialize(bytes) -> values... (raises on malformed bytes) */
static int c_deserialize(lua_State *L)
{
    size_t len;
    const char *p = luaL_checklstring(L, 1, &len);
    char err[WLUA_ERRMAX];
    int top = lua_gettop(L);
    int n = wlua_decode(L, p, len, err, sizeof err);
    if (n < 0)
        return luaL_error(L, "weft: %s", err);
    return lua_gettop(L) - top;
}

/* ------------------------------------------------------------------ */
/* The module                                                          */

static const luaL_Reg core_fns[] = {
    {"prepare", c_prepare},
    {"rt_new", c_rt_new},
    {"rt_close", c_rt_close},
    {"rt_closed", c_rt_closed},
    {"rt_workers", c_rt_workers},
    {"rt_set_workers", c_rt_set_workers},
    {"rt_submit", c_rt_submit},
    {"rt_submit_map", c_rt_submit_map},
    {"rt_inflight", c_rt_inflight},
    {"rt_take", c_rt_take},
    {"rt_stats", c_rt_stats},
    {"rt_stats_text", c_rt_stats_text},
    {"rt_reset_stats", c_rt_reset_stats},
    {"graph_new", c_graph_new},
    {"graph_close", c_graph_close},
    {"graph_add", c_graph_add},
    {"graph_add_subgraph", c_graph_add_subgraph},
#ifndef WLUA_NO_REMOTE
    {"graph_add_remote", c_graph_add_remote},
#endif
    {"graph_load", c_graph_load},
    {"run_start", c_run_start},
    {"run_wait", c_run_wait},
    {"run_close", c_run_close},
    {"run_result", c_run_result},
    {"clock", c_clock},
    {"serialize", c_serialize},
    {"deserialize", c_deserialize},
    {NULL, NULL},
};

static void new_mt(lua_State *L, const char *name, lua_CFunction gc)
{
    luaL_newmetatable(L, name);
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "weft internal object");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

/* Keeps this module loaded until the process ends, although Lua unloads
 * C modules when the state that loaded them closes: worker threads run its
 * code and its thread-key destructor, and libweft's process-wide task
 * registry now holds a pointer to wlua_node_run. Best effort: if it fails,
 * unloading happens only after every runtime has stopped its threads. */
static void pin_module(void)
{
    Dl_info info;
    if (dladdr((void *)wlua_open, &info) && info.dli_fname)
        dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

weft_graph_t *wlua_graph_of(lua_State *L, int i) { return graph_check(L, i)->g; }

weft_run_t *wlua_run_of(lua_State *L, int i) { return run_check(L, i)->run; }

int wlua_open(lua_State *L, int mod, const luaL_Reg *more)
{
    mod = lua_absindex(L, mod);
    pin_module();
    int rc = weft_task_register(WLUA_NODE_TASK, wlua_node_run, NULL);
    if (rc != 0)
        return luaL_error(L, "weft: cannot register the task '%s': %s", WLUA_NODE_TASK,
                          weft_strerror(rc));
#ifndef WLUA_NO_REMOTE
    /* "weft.lua": remote Lua code, for a cluster's local workers and for
     * remote graph nodes run without a cluster */
    if ((rc = weft_task_register(WLUA_REMOTE_TASK, wlua_remote_run, NULL)) != 0)
        return luaL_error(L, "weft: cannot register the task '%s': %s", WLUA_REMOTE_TASK,
                          weft_strerror(rc));
#endif
    /* weft.echo, weft.sum_primes, weft.sum: the same names as in Python */
    if ((rc = weft_tasks_register_builtin()) != 0)
        return luaL_error(L, "weft: cannot register weft's built-in tasks: %s", weft_strerror(rc));
    new_mt(L, RT_MT, c_rt_close);
    new_mt(L, CODE_MT, c_code_gc);
    new_mt(L, GRAPH_MT, c_graph_gc);
    new_mt(L, RUN_MT, c_run_close);
    lua_pushvalue(L, mod); /* weft_mask upvalues: this table */
    lua_setfield(L, LUA_REGISTRYINDEX, WLUA_MODULE_KEY);
    wlua_task_api(L, mod);
    if (luaL_loadbufferx(L, (const char *)wlua_layer, sizeof wlua_layer, "=weft.lua", "t") != LUA_OK)
        return lua_error(L);
    lua_pushvalue(L, mod);
    luaL_newlib(L, core_fns);
    luaL_setfuncs(L, more, 0);
#ifndef WLUA_NO_REMOTE
    wlua_cluster_open(L, -1);
#endif
    lua_pushinteger(L, WLUA_MAX_DEPTH);
    lua_setfield(L, -2, "MAX_DEPTH");
    lua_call(L, 2, 0);
    return 0;
}
