/* wlua_worker.c: running Lua tasks on weft's worker threads, and tasks that
 * spawn and wait for tasks (fork-join from Lua).
 *
 * States. A lua_State belongs to one thread, so each worker thread owns
 * one: made (standard libraries open, plus a `weft` table of the calls that
 * work inside tasks) on the first Lua task the worker runs, kept for the
 * next ones, and closed when the thread exits, by the destructor of a
 * pthread key (weft_runtime_destroy joins its workers, and set_workers
 * retires threads the same way). No other thread ever sees it.
 *
 * A task arrives as bytes: the function's bytecode (string.dump's form,
 * with debug information, so error messages keep file and line) and its
 * encoded arguments. The worker keeps the functions it loaded in a cache
 * keyed by their bytecode (pp's function caching): a function submitted
 * many times is loaded once per worker. Upvalues that held the sender's
 * global table, the function itself or the weft module are pointed at the
 * worker's own (wlua.h, wlua_code). Everything that touches the state runs
 * under lua_pcall, so no Lua error unwinds through weft's frames; an error
 * becomes the task's result, the message encoded as a value.
 *
 * Spawning. weft.spawn(fn, ...) in a task prepares fn exactly as rt:submit
 * does (same upvalue rules, same messages; the code is cached per function
 * in the worker's state), encodes the arguments and submits a child task
 * with weft_submit from inside the running task, so weft's completion rule
 * makes the child part of the parent's spawn tree. The child's record
 * (wlua_child) is held by the Lua handle and, until it is settled (waited
 * for), by the spawning task's frame. h:wait() calls weft_job_wait, which
 * runs other tasks while the child is not complete; a frame that returns
 * first waits for its children that nobody waited for (an implicit sync,
 * as at the end of a Cilk function), so every child is complete, its
 * failure reported and its record released before its parent's results
 * are final.
 *
 * Nesting on one thread. A worker that waits runs other tasks meanwhile,
 * Lua tasks included, in the same Lua universe (same globals, same caches)
 * while the waiting task's Lua frame is suspended inside the C call of
 * h:wait(). Each nesting level therefore runs on a Lua thread of its own
 * (lua_newthread, one per depth, made on first use and anchored in the
 * registry; depth 0 uses the main thread): the suspended frame's stack is
 * never written by the nested task, and Lua's per-thread count of C calls
 * does not grow with the depth. The "current task" of the thread is a
 * chain of wlua_frame structs on the C stack (w->frame): pushed when a task
 * starts, popped when it ends, so a nested task never sees its waiter's
 * node context, children or identity, and the waiter gets its own back.
 * The C stack does grow with the depth (weft's workers have 16 MiB): a
 * nested Lua task is refused with a clear error, rather than overflowing
 * the stack, when less than WLUA_STACK_RESERVE is left.
 *
 * Who may wait for a child: only the frame that spawned it, while the
 * child is not settled. A handle reached from another task (through a
 * worker global) cannot wait for a running child: that task might be
 * running above the spawner on this very thread, and the child's spawn
 * tree might need the frames below to return. A settled child's results
 * can be read by anyone on this worker. */
#define _GNU_SOURCE /* pthread_getattr_np */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lualib.h>

#include "wlua.h"

/* Most functions kept per worker before the cache starts over. */
#define WLUA_CACHE_MAX 256
#define WLUA_CACHE_KEY "weft.fncache"
#define WLUA_CACHE_COUNT "weft.fncount"
#define WLUA_THREADS_KEY "weft.threads" /* depth -> the Lua thread of that depth */
#define WLUA_CODES_KEY "weft.codes"     /* function -> code box (weak keys) */
#define WLUA_SRC_FNS "weft.srcfns"     /* remote code key -> function */
#define WLUA_SRC_USE "weft.srcuse"     /* remote code key -> its last use (a tick) */
#define WLUA_SRC_TICK "weft.srctick"   /* uses so far */
#define WLUA_SRC_COUNT "weft.srccount" /* entries of WLUA_SRC_FNS */
#define HANDLE_MT "weft.handle"
#define WCODE_MT "weft.worker.code"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WLUA_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WLUA_SANITIZED 1
#endif
#endif

/* C stack kept free below a nested task: enough for Lua code that recurses
 * through C functions to Lua's own limit (LUAI_MAXCCALLS levels) and for
 * weft's frames. Sanitizers make frames several times larger. */
#ifdef WLUA_SANITIZED
#define WLUA_STACK_RESERVE ((size_t)4 << 20)
#else
#define WLUA_STACK_RESERVE ((size_t)1 << 20)
#endif
/* Deepest nesting when the stack's bounds are unknown. */
#define WLUA_MAX_NEST 100

double wlua_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Frames, children, the worker                                        */

typedef struct wlua_child wlua_child;

/* A Lua task running on this thread: one per nesting level, on the C
 * stack of run_protected. Owner thread only. */
typedef struct wlua_frame {
    struct wlua_frame *prev; /* the task waiting below this one, or NULL */
    int depth;               /* 0: the main thread; d: threads[d] */
    uint64_t id;             /* unique on this worker: who spawned a child */
    weft_node_ctx_t *node;   /* a graph node's context, or NULL */
    wlua_child *head, *tail; /* children not yet settled, in spawn order */
} wlua_frame;

/* A spawned child. Made, settled and freed by the spawning thread (all
 * fields but res, res_len and status); the worker that runs it writes
 * those, and the spawner reads them only after weft says the job is
 * complete (which orders the writes before). */
struct wlua_child {
    wlua_child *prev, *next; /* in frame's list while not settled */
    wlua_frame *frame;       /* the spawner's frame while listed, else NULL */
    uint64_t spawner;        /* the spawner frame's id */
    int refs;                /* the handle's, and the frame's while listed */
    int seen;                /* its failure reached Lua code (a wait raised it) */
    weft_job_t *job;         /* NULL once settled (complete, and the job freed) */
    wlua_code *code;
    char *args;
    size_t args_len;
    char *res; /* encoded results, or the encoded message */
    size_t res_len;
    int status; /* 0 or WEFT_ETASK */
};

typedef struct wlua_worker {
    lua_State *L;
    wlua_frame *frame;   /* the innermost task running, or NULL */
    uint64_t next_id;    /* frame ids */
    lua_State **threads; /* threads[d] for depth d >= 1 (anchored in the registry) */
    int nthreads;        /* entries of threads */
    uintptr_t stack_lo;  /* this thread's stack: [stack_lo, stack_hi), 0 if unknown */
    uintptr_t stack_hi;
} wlua_worker;

static pthread_key_t worker_key;
static pthread_once_t worker_once = PTHREAD_ONCE_INIT;
static int worker_key_ok;

/* Thread exit: the worker's state goes with its thread. No task runs on
 * the thread any more, so every child is settled: closing the state only
 * drops the handles' references. */
static void worker_free(void *p)
{
    wlua_worker *w = p;
    if (w->L)
        lua_close(w->L);
    free(w->threads);
    free(w);
}

static void make_key(void) { worker_key_ok = pthread_key_create(&worker_key, worker_free) == 0; }

static void child_free(wlua_child *c)
{
    if (c->job)
        weft_job_free(c->job); /* only on a failed submit or teardown: complete */
    wlua_code_release(c->code);
    free(c->args);
    free(c->res);
    free(c);
}

static void child_unref(wlua_child *c)
{
    if (--c->refs == 0)
        child_free(c);
}

/* Once the child's job is complete: frees the job and takes the child off
 * its frame's list (dropping the frame's reference). Spawner only; the
 * caller holds a reference of its own. */
static void child_settle(wlua_child *c)
{
    if (c->job) {
        weft_job_free(c->job);
        c->job = NULL;
    }
    wlua_frame *f = c->frame;
    if (f) {
        if (c->prev)
            c->prev->next = c->next;
        else
            f->head = c->next;
        if (c->next)
            c->next->prev = c->prev;
        else
            f->tail = c->prev;
        c->prev = c->next = NULL;
        c->frame = NULL;
        c->refs--;
    }
}

/* ------------------------------------------------------------------ */
/* The worker's state                                                  */

typedef struct hbox {
    wlua_child *c; /* NULL until spawned */
    wlua_buf args; /* the encoded arguments, until they move into the child */
} hbox;

static int h_gc(lua_State *L)
{
    hbox *hb = luaL_checkudata(L, 1, HANDLE_MT);
    wlua_buf_free(&hb->args);
    if (hb->c)
        child_unref(hb->c);
    hb->c = NULL;
    return 0;
}

static int wcode_gc(lua_State *L)
{
    wlua_code **box = luaL_checkudata(L, 1, WCODE_MT);
    wlua_code_release(*box);
    *box = NULL;
    return 0;
}

static int h_wait(lua_State *L);
static int h_done(lua_State *L);
static int h_tostring(lua_State *L);

static int w_clock(lua_State *L)
{
    lua_pushnumber(L, wlua_clock());
    return 1;
}

#ifdef WLUA_TEXT_ONLY
/* The states of a node that runs code from the network (the weftd plugin)
 * load Lua code in text mode only, also when the task's own code calls
 * load, loadfile or dofile: bytecode is not checked by Lua's loader, and
 * malformed bytecode can crash the node. load(chunk, name, mode, env) and
 * loadfile(name, mode, env) get mode "t" whatever is asked; the number of
 * arguments is kept, since an absent env differs from a nil one. */
static int text_load(lua_State *L)
{
    int n = lua_gettop(L);
    if (n < 3)
        lua_settop(L, n = 3);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

static int text_loadfile(lua_State *L)
{
    int n = lua_gettop(L);
    if (n < 2)
        lua_settop(L, n = 2);
    lua_pushliteral(L, "t");
    lua_replace(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

static int text_dofile(lua_State *L)
{
    const char *name = luaL_optstring(L, 1, NULL);
    lua_settop(L, 1);
    if (luaL_loadfilex(L, name, "t") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, LUA_MULTRET);
    return lua_gettop(L) - 1;
}

static void text_only(lua_State *L)
{
    lua_getglobal(L, "load");
    lua_pushcclosure(L, text_load, 1);
    lua_setglobal(L, "load");
    lua_getglobal(L, "loadfile");
    lua_pushcclosure(L, text_loadfile, 1);
    lua_setglobal(L, "loadfile");
    lua_pushcfunction(L, text_dofile);
    lua_setglobal(L, "dofile");
}
#endif

static int open_state(lua_State *L)
{
    luaL_openlibs(L);
#ifdef WLUA_TEXT_ONLY
    text_only(L);
#endif
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, WLUA_CACHE_KEY);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, WLUA_THREADS_KEY);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, WLUA_SRC_FNS);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, WLUA_SRC_USE);
    lua_newtable(L); /* function -> code box, forgotten with the function */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, WLUA_CODES_KEY);
    luaL_newmetatable(L, WCODE_MT);
    lua_pushcfunction(L, wcode_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, HANDLE_MT);
    static const luaL_Reg methods[] = {{"wait", h_wait}, {"done", h_done}, {NULL, NULL}};
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, h_wait);
    lua_setfield(L, -2, "__call");
    lua_pushcfunction(L, h_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, h_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "weft internal object");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    /* the worker's weft: global, require "weft", and weft-module upvalues */
    lua_createtable(L, 0, 6);
    int t = lua_gettop(L);
    wlua_task_api(L, t);
    lua_pushcfunction(L, w_clock);
    lua_setfield(L, t, "clock");
    lua_pushvalue(L, t);
    lua_setfield(L, LUA_REGISTRYINDEX, WLUA_MODULE_KEY);
    lua_pushvalue(L, t);
    lua_setglobal(L, "weft");
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, t);
    lua_setfield(L, -2, "weft");
    lua_settop(L, 0);
    return 0;
}

static lua_State *new_state(void)
{
    lua_State *L = luaL_newstate();
    if (!L)
        return NULL;
    lua_pushcfunction(L, open_state);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        lua_close(L);
        return NULL;
    }
    return L;
}

/* The calling thread's worker record and state, made on first use; NULL
 * when out of memory. */
static wlua_worker *worker_get(void)
{
    pthread_once(&worker_once, make_key);
    if (!worker_key_ok)
        return NULL;
    wlua_worker *w = pthread_getspecific(worker_key);
    if (w)
        return w;
    if (!(w = calloc(1, sizeof *w)))
        return NULL;
    if (!(w->L = new_state()) || pthread_setspecific(worker_key, w) != 0) {
        worker_free(w);
        return NULL;
    }
    pthread_attr_t a;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        void *lo;
        size_t size;
        if (pthread_attr_getstack(&a, &lo, &size) == 0) {
            w->stack_lo = (uintptr_t)lo;
            w->stack_hi = (uintptr_t)lo + size;
        }
        pthread_attr_destroy(&a);
    }
    return w;
}

/* Whether a task at this depth would leave too little C stack. */
static int too_deep(const wlua_worker *w, int depth)
{
    if (depth == 0)
        return 0;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (here <= w->stack_lo || here >= w->stack_hi) /* bounds unknown */
        return depth > WLUA_MAX_NEST;
    return here - w->stack_lo < WLUA_STACK_RESERVE;
}

/* The innermost task running on this thread, when L is a thread of this
 * worker's state; NULL elsewhere (the script's thread, another state). */
static wlua_frame *task_frame(lua_State *L)
{
    pthread_once(&worker_once, make_key);
    wlua_worker *w = worker_key_ok ? pthread_getspecific(worker_key) : NULL;
    if (!w || !w->frame)
        return NULL;
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    int mine = lua_tothread(L, -1) == w->L;
    lua_pop(L, 1);
    return mine ? w->frame : NULL;
}

static wlua_frame *need_task(lua_State *L, const char *fname)
{
    wlua_frame *f = task_frame(L);
    if (!f)
        luaL_error(L, "weft.%s works only inside a task or graph node running on a worker "
                      "(on the script's thread, use rt:submit)",
                   fname);
    return f;
}

/* ------------------------------------------------------------------ */
/* Inside the state (all under lua_pcall)                              */

/* Pushes the function whose bytecode is [code, code+len): from the cache,
 * or loaded, its global-table, self and weft upvalues set to this state's
 * globals, the function and this state's weft table. */
static void push_function(lua_State *L, const char *code, size_t len, uint64_t genv,
                          uint64_t self, uint64_t mod, const char *where)
{
    lua_getfield(L, LUA_REGISTRYINDEX, WLUA_CACHE_KEY);
    int cache = lua_gettop(L);
    /* the key: the bytecode, prefixed by the masks when they are more than
     * genv's (one proto may be sent with different upvalue kinds) */
    if (self || mod) {
        char pre[24];
        for (int i = 0; i < 8; i++) {
            pre[i] = (char)(genv >> (8 * i));
            pre[8 + i] = (char)(self >> (8 * i));
            pre[16 + i] = (char)(mod >> (8 * i));
        }
        luaL_Buffer kb;
        luaL_buffinit(L, &kb);
        luaL_addlstring(&kb, pre, sizeof pre);
        luaL_addlstring(&kb, code, len);
        luaL_pushresult(&kb);
    } else {
        lua_pushlstring(L, code, len);
    }
    int key = lua_gettop(L);
    lua_pushvalue(L, key);
    if (lua_rawget(L, cache) == LUA_TFUNCTION) {
        lua_replace(L, cache);
        lua_settop(L, cache);
        return;
    }
    lua_pop(L, 1);
    if (luaL_loadbufferx(L, code, len, where, "b") != LUA_OK)
        luaL_error(L, "cannot load the task function (%s): %s", where, lua_tostring(L, -1));
    int fn = lua_gettop(L);
    for (int i = 0; i < 64; i++) {
        uint64_t bit = (uint64_t)1 << i;
        if (genv & bit)
            lua_pushglobaltable(L);
        else if (self & bit)
            lua_pushvalue(L, fn);
        else if (mod & bit)
            lua_getfield(L, LUA_REGISTRYINDEX, WLUA_MODULE_KEY);
        else
            continue;
        if (!lua_setupvalue(L, fn, i + 1))
            lua_pop(L, 1);
    }
    /* cache it; start over when full, so that a script making many
     * different functions does not grow every worker without bound */
    lua_getfield(L, LUA_REGISTRYINDEX, WLUA_CACHE_COUNT);
    lua_Integer count = lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (count >= WLUA_CACHE_MAX) {
        lua_newtable(L);
        lua_replace(L, cache);
        lua_pushvalue(L, cache);
        lua_setfield(L, LUA_REGISTRYINDEX, WLUA_CACHE_KEY);
        count = 0;
    }
    lua_pushinteger(L, count + 1);
    lua_setfield(L, LUA_REGISTRYINDEX, WLUA_CACHE_COUNT);
    lua_pushvalue(L, key);
    lua_pushvalue(L, fn);
    lua_rawset(L, cache); /* cache[key] = fn */
    lua_replace(L, cache);
    lua_settop(L, cache);
}

/* The chunk name as messages show it: without Lua's "=" or "@". */
static const char *shown_name(const char *name)
{
    return name[0] == '=' || name[0] == '@' ? name + 1 : name;
}

/* Pushes the function of remote code s (wlua.h, "Remote tasks"): from
 * this state's cache, keyed by the code's SHA-256, or made by loading the
 * source in text mode and running the chunk once. The cache keeps the
 * WLUA_FN_CACHE_MAX functions used last: when it is full, the one whose
 * last use is oldest goes (a scan, only when a new function comes in). */
static void push_source_function(lua_State *L, const wlua_source *s)
{
    luaL_checkstack(L, 8, "remote code");
    lua_getfield(L, LUA_REGISTRYINDEX, WLUA_SRC_FNS);
    int fns = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, WLUA_SRC_USE);
    int use = fns + 1;
    lua_pushlstring(L, (const char *)s->key, WLUA_REMOTE_KEY);
    int key = fns + 2;
    lua_getfield(L, LUA_REGISTRYINDEX, WLUA_SRC_TICK);
    lua_Integer tick = lua_tointeger(L, -1) + 1;
    lua_pop(L, 1);
    lua_pushinteger(L, tick);
    lua_setfield(L, LUA_REGISTRYINDEX, WLUA_SRC_TICK);
    lua_pushvalue(L, key);
    if (lua_rawget(L, fns) == LUA_TFUNCTION) {
        lua_pushvalue(L, key);
        lua_pushinteger(L, tick);
        lua_rawset(L, use);
        lua_replace(L, fns);
        lua_settop(L, fns);
        return;
    }
    lua_pop(L, 1);
    const char *name = shown_name(s->name);
    /* text mode refuses binary chunks anyway; this says so plainly */
    if (s->len > 0 && s->text[0] == LUA_SIGNATURE[0])
        luaL_error(L, "weft.lua: refused the code of %s: it is a binary (precompiled) chunk; "
                      "remote code travels as source text and is loaded in text mode only",
                   name);
    if (luaL_loadbufferx(L, s->text, s->len, s->name, "t") != LUA_OK)
        luaL_error(L, "weft.lua: cannot load the code of %s: %s", name, lua_tostring(L, -1));
    lua_call(L, 0, 1);
    if (lua_type(L, -1) != LUA_TFUNCTION)
        luaL_error(L, "weft.lua: the chunk %s returned %s, not a function (send the source of a "
                      "chunk that returns one: \"return function(...) ... end\")",
                   name, luaL_typename(L, -1));
    int fn = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, WLUA_SRC_COUNT);
    lua_Integer count = lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (count >= WLUA_FN_CACHE_MAX) {
        /* drop the least recently used */
        lua_pushnil(L);
        int old = lua_gettop(L);
        lua_Integer oldest = 0;
        lua_pushnil(L);
        while (lua_next(L, use)) {
            lua_Integer t = lua_tointeger(L, -1);
            lua_pop(L, 1);
            if (lua_isnil(L, old) || t < oldest) {
                oldest = t;
                lua_pushvalue(L, -1);
                lua_replace(L, old);
            }
        }
        if (!lua_isnil(L, old)) {
            lua_pushvalue(L, old);
            lua_pushnil(L);
            lua_rawset(L, fns);
            lua_pushvalue(L, old);
            lua_pushnil(L);
            lua_rawset(L, use);
            count--;
        }
        lua_settop(L, fn);
    }
    lua_pushinteger(L, count + 1);
    lua_setfield(L, LUA_REGISTRYINDEX, WLUA_SRC_COUNT);
    lua_pushvalue(L, key);
    lua_pushvalue(L, fn);
    lua_rawset(L, fns);
    lua_pushvalue(L, key);
    lua_pushinteger(L, tick);
    lua_rawset(L, use);
    lua_replace(L, fns);
    lua_settop(L, fns);
}

/* Message handler: any error value becomes a string. */
static int msgh(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TSTRING)
        return 1;
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
        return 1;
    if (lua_type(L, 1) == LUA_TNUMBER) {
        lua_pushstring(L, lua_tostring(L, 1));
        return 1;
    }
    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    return 1;
}

/* Message handler of remote tasks: the message and a traceback, which
 * the client cannot make itself. */
static int msgh_traceback(lua_State *L)
{
    msgh(L);
    luaL_traceback(L, L, lua_tostring(L, -1), 1);
    return 1;
}

/* What a protected body needs and leaves. */
typedef struct body {
    const char *code;
    size_t code_len;
    uint64_t genv, self, mod; /* upvalue masks (wlua_code) */
    const char *where;
    const char *args;
    size_t args_len;
    wlua_kind kind;
    weft_node_ctx_t *node; /* graph nodes: inputs come from here */
    const wlua_source *src; /* remote code (instead of code) */
    int traceback;          /* errors carry a traceback */
    wlua_worker *w;        /* set by run_protected */
    int depth;
    wlua_buf out;     /* encoded results (freed by the caller on error) */
    lua_Integer elem; /* map: the element running, for messages */
} body;

static void decode_or_fail(lua_State *L, const char *p, size_t len, const char *what, int *n)
{
    char err[WLUA_ERRMAX];
    *n = wlua_decode(L, p, len, err, sizeof err);
    if (*n < 0)
        luaL_error(L, "cannot read the %s: %s", what, err);
}

static void encode_or_fail(lua_State *L, body *b, int first, int n)
{
    char err[WLUA_ERRMAX];
    if (wlua_encode(L, first, n, "result", 1, WLUA_FROM_WORKER, &b->out, err, sizeof err))
        luaL_error(L, "%s", err);
}

/* Makes sure the Lua thread for the next depth exists, so that a task
 * nested inside a wait of this one has a stack of its own: made here,
 * where a memory error is an ordinary error of this task. */
static void ensure_next_thread(lua_State *L, wlua_worker *w, int depth)
{
    int d = depth + 1;
    if (d < w->nthreads && w->threads[d])
        return;
    if (d >= w->nthreads) {
        int n = w->nthreads ? 2 * w->nthreads : 16;
        while (n <= d)
            n *= 2;
        lua_State **t = realloc(w->threads, (size_t)n * sizeof *t);
        if (!t)
            luaL_error(L, "not enough memory");
        memset(t + w->nthreads, 0, (size_t)(n - w->nthreads) * sizeof *t);
        w->threads = t;
        w->nthreads = n;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, WLUA_THREADS_KEY);
    lua_State *T = lua_newthread(L);
    lua_rawseti(L, -2, d); /* anchored: registry.threads[d] */
    lua_pop(L, 1);
    w->threads[d] = T;
}

static int run_body(lua_State *L)
{
    body *b = lua_touserdata(L, 1);
    lua_settop(L, 0);
    ensure_next_thread(L, b->w, b->depth);
    if (b->src)
        push_source_function(L, b->src);
    else
        push_function(L, b->code, b->code_len, b->genv, b->self, b->mod, b->where);
    int n;
    decode_or_fail(L, b->args, b->args_len, "arguments", &n);
    if (b->node) {
        /* each predecessor's first result, in edge order: the bytes a
         * node of another kind stored come as a string */
        size_t nin = weft_node_input_count(b->node);
        luaL_checkstack(L, (int)(nin > 1000000 ? 1000000 : nin) + 4, "too many inputs");
        for (size_t i = 0; i < nin; i++) {
            size_t len;
            const char *p = weft_node_input(b->node, i, &len);
            if (wlua_is_encoded(p, len)) {
                int top = lua_gettop(L), k;
                decode_or_fail(L, p, len, "input", &k);
                if (k == 0)
                    lua_pushnil(L);
                else
                    lua_settop(L, top + 1);
            } else if (p)
                lua_pushlstring(L, p, len);
            else
                lua_pushnil(L);
            n++;
        }
    }
    if (b->kind == WLUA_MAP) {
        /* the arguments are the elements: results[i] = fn(element i) */
        luaL_checkstack(L, 4, "map");
        lua_createtable(L, n, 0);
        int res = lua_gettop(L);
        for (int i = 1; i <= n; i++) {
            b->elem = i;
            lua_pushvalue(L, 1);
            lua_pushvalue(L, 1 + i);
            lua_call(L, 1, 1);
            lua_rawseti(L, res, i);
        }
        b->elem = 0;
        encode_or_fail(L, b, res, 1);
        return 0;
    }
    lua_call(L, n, LUA_MULTRET);
    encode_or_fail(L, b, 1, lua_gettop(L));
    return 0;
}

/* Encodes an error result: the message and, for a map, the element. Uses
 * no Lua call, so it cannot raise. */
static void encode_error(wlua_buf *out, const char *msg, size_t len, lua_Integer elem)
{
    unsigned char tag_str = 5, tag_int = 3, le[8];
    wlua_buf_free(out);
    if (len > 4096)
        len = 4096;
    wlua_buf_put(out, WLUA_MAGIC, WLUA_MAGIC_LEN);
    wlua_put_varint(out, elem ? 2 : 1);
    wlua_buf_put(out, &tag_str, 1);
    wlua_put_varint(out, len);
    wlua_buf_put(out, msg, len);
    if (elem) {
        for (int i = 0; i < 8; i++)
            le[i] = (unsigned char)((uint64_t)elem >> (8 * i));
        wlua_buf_put(out, &tag_int, 1);
        wlua_buf_put(out, le, 8);
    }
}

/* The message of an error result made by encode_error. 0, or -1. */
static int error_text(const char *p, size_t len, const char **msg, size_t *mlen)
{
    const char *end = p + len;
    uint64_t n, slen;
    if (!wlua_is_encoded(p, len))
        return -1;
    p += WLUA_MAGIC_LEN;
    if (wlua_get_varint(&p, end, &n) || n < 1 || p >= end || *p != 5)
        return -1;
    p++;
    if (wlua_get_varint(&p, end, &slen) || slen > (uint64_t)(end - p))
        return -1;
    *msg = p;
    *mlen = (size_t)slen;
    return 0;
}

static const char spawned_prefix[] = "weft: spawned task (";

/* The failure message of child c: "weft: spawned task (f.lua:3) failed:
 * <its message>", or its message alone when that already names a spawned
 * task (a failure passed up a chain of waits keeps one prefix and the
 * root cause). Written into buf; returns the length. */
static size_t child_message(const wlua_child *c, const char *how, char *buf, size_t size)
{
    const char *msg;
    size_t len;
    if (error_text(c->res, c->res_len, &msg, &len) != 0) {
        msg = "(no message)";
        len = strlen(msg);
    }
    size_t n = 0;
    if (len < sizeof spawned_prefix - 1 || memcmp(msg, spawned_prefix, sizeof spawned_prefix - 1))
        n = (size_t)snprintf(buf, size, "%s%s) failed%s: ", spawned_prefix, c->code->where, how);
    if (n >= size)
        n = size - 1;
    if (len > size - 1 - n)
        len = size - 1 - n;
    memcpy(buf + n, msg, len);
    buf[n + len] = '\0';
    return n + len;
}

/* The implicit sync at the end of frame f: waits for every child not yet
 * settled (helping meanwhile), settles it, and fails the task (status,
 * out) with the first failure that no wait reported, unless the task
 * failed by itself. */
static void frame_sync(wlua_frame *f, int *status, wlua_buf *out)
{
    while (f->head) {
        wlua_child *c = f->head;
        c->refs++; /* ours, across the wait and the settling */
        weft_job_wait(c->job, NULL, NULL); /* 0 or ETASK: c->status says which */
        child_settle(c);
        if (c->status != 0 && !c->seen && *status == 0) {
            char msg[4200];
            size_t len = child_message(c, " (never waited for)", msg, sizeof msg);
            encode_error(out, msg, len, 0);
            *status = WEFT_ETASK;
        }
        child_unref(c);
    }
}

/* Runs b on this thread; 0 with b->out holding the results, or WEFT_ETASK
 * with b->out holding the encoded error. A task nested inside a wait runs
 * on the Lua thread of its depth, under a frame of its own. */
static int run_protected(body *b)
{
    wlua_worker *w = worker_get();
    if (!w) {
        static const char oom[] = "cannot create a Lua state for the worker (out of memory)";
        encode_error(&b->out, oom, sizeof oom - 1, 0);
        return WEFT_ETASK;
    }
    wlua_frame *up = w->frame;
    int depth = up ? up->depth + 1 : 0;
    if (too_deep(w, depth)) {
        char msg[WLUA_ERRMAX];
        int n = snprintf(msg, sizeof msg,
                         "weft: cannot start this Lua task: %d Lua tasks already wait below it on "
                         "this worker thread and its stack is nearly full (spawned tasks nested "
                         "too deep)",
                         depth);
        encode_error(&b->out, msg, (size_t)n, 0);
        return WEFT_ETASK;
    }
    /* the task below made the thread of this depth before it could wait */
    lua_State *L = depth == 0 ? w->L : depth < w->nthreads ? w->threads[depth] : NULL;
    if (!L) {
        static const char msg[] = "weft: no Lua thread for a nested task (internal error)";
        encode_error(&b->out, msg, sizeof msg - 1, 0);
        return WEFT_ETASK;
    }
    wlua_frame f = {.prev = up, .depth = depth, .id = ++w->next_id, .node = b->node};
    b->w = w;
    b->depth = depth;
    w->frame = &f;
    lua_settop(L, 0);
    lua_pushcfunction(L, b->traceback ? msgh_traceback : msgh);
    lua_pushcfunction(L, run_body);
    lua_pushlightuserdata(L, b);
    int rc = lua_pcall(L, 1, 0, 1);
    if (rc != LUA_OK) {
        size_t len = 0;
        const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        if (!msg) {
            msg = rc == LUA_ERRMEM ? "not enough memory" : "error in the error handler";
            len = strlen(msg);
        }
        encode_error(&b->out, msg, len, b->elem);
    }
    lua_settop(L, 0);
    int status = rc == LUA_OK ? 0 : WEFT_ETASK;
    frame_sync(&f, &status, &b->out);
    w->frame = up;
    return status;
}

/* ------------------------------------------------------------------ */
/* weft task functions                                                 */

/* The body that runs code with encoded arguments args. */
static body code_body(const wlua_code *code, const char *args, size_t args_len, wlua_kind kind)
{
    return (body){.code = code->bytes,
                  .code_len = code->len,
                  .genv = code->genv_mask,
                  .self = code->self_mask,
                  .mod = code->weft_mask,
                  .where = code->where,
                  .args = args,
                  .args_len = args_len,
                  .kind = kind};
}

int wlua_task_run(void *arg, void **result)
{
    (void)result;
    wlua_task *t = arg;
    t->worker = weft_current_worker();
    t->t0 = wlua_clock();
    body b = code_body(t->code, t->args, t->args_len, t->kind);
    int status = run_protected(&b);
    t->res = b.out.data;
    t->res_len = b.out.len;
    t->status = status;
    t->t1 = wlua_clock();
    return status;
}

void wlua_task_done(void *data, int status, void *result)
{
    (void)status;
    (void)result;
    wlua_task *t = data;
    /* hand the record back; from here on it belongs to the script */
    wlua_rt *rt = t->owner;
    pthread_mutex_lock(&rt->mu);
    if (rt->tail)
        rt->tail->next = t;
    else
        rt->head = t;
    rt->tail = t;
    pthread_cond_signal(&rt->cv); /* the script may be waiting in rt_take */
    pthread_mutex_unlock(&rt->mu);
}

/* A spawned child, on whichever worker took it. */
static int wlua_child_run(void *arg, void **result)
{
    (void)result;
    wlua_child *c = arg;
    body b = code_body(c->code, c->args, c->args_len, WLUA_JOB);
    int status = run_protected(&b);
    c->res = b.out.data;
    c->res_len = b.out.len;
    c->status = status;
    return status;
}

int wlua_run_source(const wlua_source *s, const char *args, size_t args_len,
                    weft_node_ctx_t *ctx, wlua_buf *out)
{
    body b = {.src = s,
              .where = s->name,
              .args = args,
              .args_len = args_len,
              .kind = WLUA_JOB,
              .node = ctx,
              .traceback = 1};
    int status = run_protected(&b);
    *out = b.out;
    return status;
}

static uint64_t get_mask(const char *p)
{
    uint64_t m = 0;
    for (int i = 0; i < 8; i++)
        m |= (uint64_t)(unsigned char)p[i] << (8 * i);
    return m;
}

/* Parses a node envelope (wlua.h, version 1 or 2) into b; 0 or -1. */
static int parse_envelope(const char *p, size_t len, body *b, char *where, size_t wsz)
{
    const char *end = p + len;
    uint64_t n;
    int v2 = len >= 3 && memcmp(p, WLUA_NODE_MAGIC2, 3) == 0;
    if (len < (v2 ? 3 + 24 : 3 + 8) || (!v2 && memcmp(p, WLUA_NODE_MAGIC, 3) != 0))
        return -1;
    p += 3;
    b->genv = get_mask(p);
    p += 8;
    b->self = b->mod = 0;
    if (v2) {
        b->self = get_mask(p);
        b->mod = get_mask(p + 8);
        p += 16;
    }
    if (wlua_get_varint(&p, end, &n) || n > (uint64_t)(end - p))
        return -1;
    snprintf(where, wsz, "%.*s", (int)(n < wsz - 1 ? n : wsz - 1), p);
    p += n;
    if (wlua_get_varint(&p, end, &n) || n > (uint64_t)(end - p))
        return -1;
    b->code = p;
    b->code_len = (size_t)n;
    p += n;
    b->args = p;
    b->args_len = (size_t)(end - p);
    return 0;
}

int wlua_node_run(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    size_t len;
    const char *p = weft_node_arg(ctx, &len);
    char where[160];
    body b = {.kind = WLUA_JOB, .node = ctx};
    int status;
    if (parse_envelope(p, len, &b, where, sizeof where) != 0) {
        static const char msg[] = "not a Lua node: its argument bytes are not a weft Lua task";
        encode_error(&b.out, msg, sizeof msg - 1, 0);
        status = WEFT_ETASK;
    } else {
        b.where = where;
        status = run_protected(&b);
    }
    int rc = weft_node_set_result(ctx, b.out.data, b.out.len);
    wlua_buf_free(&b.out);
    if (rc != 0 && status == 0)
        status = rc;
    return status;
}

/* ------------------------------------------------------------------ */
/* Calls inside tasks: weft.spawn, spawn_all, wait_all, cancelled       */

/* The code of the function at idx, prepared once per function (a weak
 * cache in the registry); raises the message of rt:submit when it cannot
 * be sent. The cache keeps it while the function lives. */
static wlua_code *code_for(lua_State *L, int idx)
{
    lua_getfield(L, LUA_REGISTRYINDEX, WLUA_CODES_KEY);
    lua_pushvalue(L, idx);
    if (lua_rawget(L, -2) == LUA_TUSERDATA) {
        wlua_code *c = *(wlua_code **)lua_touserdata(L, -1);
        lua_pop(L, 2);
        return c;
    }
    lua_pop(L, 1);
    wlua_code **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, WCODE_MT);
    char err[WLUA_ERRMAX];
    wlua_code *c = wlua_code_prepare(L, idx, err, sizeof err);
    if (!c)
        luaL_error(L, "%s", err);
    *box = c;
    lua_pushvalue(L, idx);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4); /* codes[fn] = box */
    lua_pop(L, 2);
    return c;
}

/* Pushes a handle not yet spawned: its arguments are encoded into it, so
 * that a raise before the spawn frees them with the handle. */
static hbox *new_handle(lua_State *L)
{
    hbox *hb = lua_newuserdatauv(L, sizeof *hb, 0);
    hb->c = NULL;
    hb->args = (wlua_buf){0};
    luaL_setmetatable(L, HANDLE_MT);
    return hb;
}

/* Spawns the child of handle hb (its arguments already in hb->args) from
 * frame f, running code. Raises if weft refuses. */
static void spawn_handle(lua_State *L, wlua_frame *f, wlua_code *code, hbox *hb)
{
    wlua_child *c = calloc(1, sizeof *c);
    if (!c)
        luaL_error(L, "weft: cannot spawn a task: out of memory");
    c->code = code;
    code->refs++;
    c->args = hb->args.data;
    c->args_len = hb->args.len;
    hb->args = (wlua_buf){0};
    c->spawner = f->id;
    /* from inside a task: the child joins the running task's spawn tree */
    int rc = weft_submit(weft_current_runtime(), wlua_child_run, c, NULL, &c->job);
    if (rc != 0) {
        c->job = NULL;
        child_free(c);
        luaL_error(L, "weft: cannot spawn a task: %s (%s)", weft_strerror(rc), weft_err_name(rc));
    }
    c->refs = 2; /* the handle's and the frame's */
    c->frame = f;
    c->prev = f->tail;
    if (f->tail)
        f->tail->next = c;
    else
        f->head = c;
    f->tail = c;
    hb->c = c;
}

/* weft.spawn(fn, ...) -> handle */
static int w_spawn(lua_State *L)
{
    wlua_frame *f = need_task(L, "spawn");
    luaL_checktype(L, 1, LUA_TFUNCTION);
    int n = lua_gettop(L) - 1;
    wlua_code *code = code_for(L, 1);
    hbox *hb = new_handle(L);
    char err[WLUA_ERRMAX];
    if (wlua_encode(L, 2, n, "argument", 2, WLUA_TO_WORKER, &hb->args, err, sizeof err))
        return luaL_error(L, "weft: %s", err);
    spawn_handle(L, f, code, hb);
    return 1;
}

/* weft.spawn_all(fn, list) -> {handle, ...}: fn(list[i]) for each i. Every
 * element is encoded before any child is spawned, so an element that
 * cannot be copied spawns nothing. */
static int w_spawn_all(lua_State *L)
{
    wlua_frame *f = need_task(L, "spawn_all");
    luaL_checktype(L, 1, LUA_TFUNCTION);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_Integer n = luaL_len(L, 2);
    luaL_argcheck(L, n <= WLUA_MAX_VALUES, 2, "more than 100000 elements at once");
    wlua_code *code = code_for(L, 1);
    lua_createtable(L, (int)(n > 0 ? n : 0), 0);
    char err[WLUA_ERRMAX];
    for (lua_Integer i = 1; i <= n; i++) {
        hbox *hb = new_handle(L);
        lua_geti(L, 2, i);
        if (wlua_encode(L, -1, 1, "element", (int)i, WLUA_TO_WORKER, &hb->args, err, sizeof err))
            return luaL_error(L, "weft: %s", err);
        lua_pop(L, 1);
        lua_rawseti(L, 3, i);
    }
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 3, i);
        spawn_handle(L, f, code, lua_touserdata(L, -1));
        lua_pop(L, 1);
    }
    return 1;
}

static wlua_child *handle_child(lua_State *L, int i)
{
    hbox *hb = luaL_checkudata(L, i, HANDLE_MT);
    if (!hb->c)
        luaL_argerror(L, i, "this weft.handle was never spawned");
    return hb->c;
}

/* Raises unless the calling task may wait for c now. */
static void check_waiter(lua_State *L, wlua_child *c)
{
    if (!c->job)
        return; /* settled: its results are there for anyone */
    wlua_frame *f = task_frame(L);
    if (!f || f->id != c->spawner)
        luaL_error(L, "weft: cannot wait for spawned task (%s) here: only the task that spawned "
                      "it can wait for it, until that task has finished",
                   c->code->where);
}

/* Waits for c (helping) and settles it; 0, or WEFT_ETIMEDOUT. */
static int child_wait(lua_State *L, wlua_child *c, double timeout)
{
    if (!c->job)
        return 0;
    int rc = timeout < 0 ? weft_job_wait(c->job, NULL, NULL)
                         : weft_job_wait_timeout(c->job, timeout, NULL, NULL);
    if (rc == WEFT_ETIMEDOUT)
        return rc;
    if (rc != 0 && rc != WEFT_ETASK)
        luaL_error(L, "weft: cannot wait for spawned task (%s): %s (%s)", c->code->where,
                   weft_strerror(rc), weft_err_name(rc));
    child_settle(c);
    return 0;
}

/* Raises c's failure; more: how many other failures it stands for. */
static int raise_child(lua_State *L, wlua_child *c, int more)
{
    char msg[4200];
    size_t len = child_message(c, "", msg, sizeof msg);
    lua_pushlstring(L, msg, len);
    if (more > 0) {
        lua_pushfstring(L, " (and %d more spawned task%s failed)", more, more > 1 ? "s" : "");
        lua_concat(L, 2);
    }
    return lua_error(L);
}

/* Pushes c's first result (nil if none) or, with all, every result;
 * returns how many were pushed. */
static int push_results(lua_State *L, wlua_child *c, int all)
{
    char err[WLUA_ERRMAX];
    int top = lua_gettop(L);
    int n = wlua_decode(L, c->res, c->res_len, err, sizeof err);
    if (n < 0)
        return luaL_error(L, "weft: cannot read the results of spawned task (%s): %s",
                          c->code->where, err);
    if (all)
        return n;
    lua_settop(L, top + 1);
    return 1;
}

/* The optional timeout at index i, in seconds; -1 when absent or too large
 * to matter (over 10^9 s). */
static double opt_timeout(lua_State *L, int i)
{
    if (lua_isnoneornil(L, i))
        return -1;
    if (lua_type(L, i) != LUA_TNUMBER)
        luaL_typeerror(L, i, "number");
    double t = (double)lua_tonumber(L, i);
    if (t != t)
        luaL_argerror(L, i, "timeout must not be NaN");
    if (t < 0)
        luaL_argerror(L, i, "timeout must not be negative");
    return t > 1e9 ? -1 : t;
}

/* h:wait([timeout]) / h([timeout]) -> the child's results; with a timeout:
 * true, results... or false when it has not finished in time. Raises the
 * child's failure. */
static int h_wait(lua_State *L)
{
    wlua_child *c = handle_child(L, 1);
    int timed = !lua_isnoneornil(L, 2);
    double timeout = opt_timeout(L, 2);
    lua_settop(L, 1);
    check_waiter(L, c);
    if (child_wait(L, c, timeout) == WEFT_ETIMEDOUT) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (c->status != 0) {
        c->seen = 1;
        return raise_child(L, c, 0);
    }
    if (timed)
        lua_pushboolean(L, 1);
    return push_results(L, c, 1) + timed;
}

/* h:done() -> whether the child has finished (never blocks) */
static int h_done(lua_State *L)
{
    wlua_child *c = handle_child(L, 1);
    lua_pushboolean(L, !c->job || weft_job_done(c->job) == 1);
    return 1;
}

static int h_tostring(lua_State *L)
{
    hbox *hb = luaL_checkudata(L, 1, HANDLE_MT);
    wlua_child *c = hb->c;
    if (!c) {
        lua_pushliteral(L, "weft.handle (not spawned)");
        return 1;
    }
    const char *state;
    if (c->job) /* not settled: its status is not ours to read yet */
        state = weft_job_done(c->job) == 1 ? "finished" : "running";
    else
        state = c->status ? "failed" : "done";
    lua_pushfstring(L, "weft.handle (%s, %s)", c->code->where, state);
    return 1;
}

/* weft.wait_all(h1, h2, ...) -> the first result of each;
 * weft.wait_all{h1, h2, ...} -> {first result of each}. Waits for every
 * one, then raises the first failure (in order) if any failed. The handles
 * stay on the stack throughout, so none is collected while waited for. */
static int w_wait_all(lua_State *L)
{
    need_task(L, "wait_all");
    int list = lua_gettop(L) == 1 && lua_type(L, 1) == LUA_TTABLE;
    int base = 1, n = lua_gettop(L);
    if (list) {
        lua_Integer len = luaL_len(L, 1);
        luaL_argcheck(L, len <= WLUA_MAX_VALUES, 1, "more than 100000 handles at once");
        n = len > 0 ? (int)len : 0;
        base = 2;
    }
    luaL_checkstack(L, n + 8, "too many handles");
    if (list) {
        for (int i = 1; i <= n; i++) {
            lua_geti(L, 1, i);
            if (!luaL_testudata(L, -1, HANDLE_MT)) {
                lua_pushfstring(L, "element %d is a %s, not a weft.handle", i,
                                luaL_typename(L, -1));
                luaL_argerror(L, 1, lua_tostring(L, -1));
            }
        }
    }
    /* check every one before waiting for any */
    for (int i = 0; i < n; i++)
        check_waiter(L, handle_child(L, base + i));
    wlua_child *first = NULL;
    int failed = 0;
    for (int i = 0; i < n; i++) {
        wlua_child *c = handle_child(L, base + i);
        child_wait(L, c, -1);
        if (c->status != 0) {
            c->seen = 1;
            failed++;
            first = first ? first : c;
        }
    }
    if (first)
        return raise_child(L, first, failed - 1);
    if (list) {
        lua_createtable(L, n, 0);
        int out = lua_gettop(L);
        for (int i = 0; i < n; i++) {
            push_results(L, handle_child(L, base + i), 0);
            lua_rawseti(L, out, i + 1);
        }
        return 1;
    }
    for (int i = 0; i < n; i++)
        push_results(L, handle_child(L, base + i), 0);
    return n;
}

/* weft.cancelled() -> weft_run_cancelled(weft_current_run()): true once
 * the run the calling thread works for was cancelled: inside a graph node,
 * and in the tasks such a node spawned (at any depth); false anywhere
 * else (the script, a job submitted from the script). The same C answer
 * as Python's weft.cancelled(). */
static int w_cancelled(lua_State *L)
{
    lua_pushboolean(L, weft_run_cancelled(weft_current_run()) == 1);
    return 1;
}

void wlua_task_api(lua_State *L, int t)
{
    static const luaL_Reg fns[] = {{"spawn", w_spawn},
                                   {"spawn_all", w_spawn_all},
                                   {"wait_all", w_wait_all},
                                   {"cancelled", w_cancelled},
                                   {NULL, NULL}};
    t = lua_absindex(L, t);
    for (const luaL_Reg *r = fns; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, t, r->name);
    }
}
