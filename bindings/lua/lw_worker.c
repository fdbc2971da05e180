/* lw_worker.c: running Lua tasks on weft's worker threads.
 *
 * A lua_State belongs to one thread, so each worker thread owns one: it is
 * made (with the standard libraries open) on the first Lua task the worker
 * runs, kept for the next ones, and closed when the thread exits, by the
 * destructor of a pthread key (weft_runtime_destroy joins its workers, and
 * set_workers retires threads the same way). Nothing else ever sees it.
 *
 * A task arrives as bytes: the function's bytecode (string.dump's form,
 * with debug information, so error messages keep file and line) and its
 * encoded arguments. The worker keeps the functions it loaded in a cache
 * keyed by their bytecode (pp's function caching): a function submitted
 * many times is loaded once per worker. Upvalues that held the script's
 * global table (usually just _ENV) are pointed at the worker's own.
 * Everything that touches the state runs under lua_pcall, so no Lua error
 * unwinds through weft's frames; an error becomes the task's result, the
 * message encoded as a value.
 *
 * A worker runs one Lua task at a time. If a task ever re-entered this code
 * on the same thread (a task that waits and so helps run another), the
 * inner task gets a fresh temporary state rather than sharing a state in
 * the middle of a call. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lualib.h>

#include "lw.h"

/* Most functions kept per worker before the cache starts over. */
#define LW_CACHE_MAX 256
#define LW_CACHE_KEY "weft.fncache"
#define LW_CACHE_COUNT "weft.fncount"

double lw_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* The worker's state                                                  */

typedef struct lw_worker {
    lua_State *L;
    int busy; /* a task is running in L */
} lw_worker;

static pthread_key_t worker_key;
static pthread_once_t worker_once = PTHREAD_ONCE_INIT;
static int worker_key_ok;

/* Thread exit: the worker's state goes with its thread. */
static void worker_free(void *p)
{
    lw_worker *w = p;
    if (w->L)
        lua_close(w->L);
    free(w);
}

static void make_key(void) { worker_key_ok = pthread_key_create(&worker_key, worker_free) == 0; }

static int open_state(lua_State *L)
{
    luaL_openlibs(L);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LW_CACHE_KEY);
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

/* The calling thread's state, made on first use; *temp is set when the
 * state is a temporary one (re-entry, or no thread key) to close after. */
static lua_State *acquire(lw_worker **wp, int *temp)
{
    pthread_once(&worker_once, make_key);
    lw_worker *w = worker_key_ok ? pthread_getspecific(worker_key) : NULL;
    if (!w && worker_key_ok && (w = calloc(1, sizeof *w)) != NULL) {
        if (!(w->L = new_state()) || pthread_setspecific(worker_key, w) != 0) {
            worker_free(w);
            w = NULL;
        }
    }
    if (w && !w->busy) {
        w->busy = 1;
        *wp = w;
        *temp = 0;
        return w->L;
    }
    *wp = NULL;
    *temp = 1;
    return new_state();
}

static void release(lw_worker *w, lua_State *L, int temp)
{
    if (temp) {
        lua_close(L);
        return;
    }
    lua_settop(L, 0);
    w->busy = 0;
}

/* ------------------------------------------------------------------ */
/* Inside the state (all under lua_pcall)                              */

/* Pushes the function whose bytecode is [code, code+len): from the cache,
 * or loaded, its global-table upvalues set to this state's globals. */
static void push_function(lua_State *L, const char *code, size_t len, uint64_t mask,
                          const char *where)
{
    lua_getfield(L, LUA_REGISTRYINDEX, LW_CACHE_KEY);
    lua_pushlstring(L, code, len);
    if (lua_rawget(L, -2) == LUA_TFUNCTION) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    if (luaL_loadbufferx(L, code, len, where, "b") != LUA_OK)
        luaL_error(L, "cannot load the task function (%s): %s", where, lua_tostring(L, -1));
    for (int i = 0; i < 64; i++) {
        if (!(mask & ((uint64_t)1 << i)))
            continue;
        lua_pushglobaltable(L);
        if (!lua_setupvalue(L, -2, i + 1))
            lua_pop(L, 1);
    }
    /* cache it; start over when full, so that a script making many
     * different functions does not grow every worker without bound */
    lua_getfield(L, LUA_REGISTRYINDEX, LW_CACHE_COUNT);
    lua_Integer count = lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (count >= LW_CACHE_MAX) {
        lua_newtable(L);
        lua_replace(L, -3);
        lua_pushvalue(L, -2);
        lua_setfield(L, LUA_REGISTRYINDEX, LW_CACHE_KEY);
        count = 0;
    }
    lua_pushinteger(L, count + 1);
    lua_setfield(L, LUA_REGISTRYINDEX, LW_CACHE_COUNT);
    lua_pushlstring(L, code, len);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4); /* cache[code] = fn */
    lua_remove(L, -2);
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

/* What a protected body needs and leaves. */
typedef struct body {
    const char *code;
    size_t code_len;
    uint64_t mask;
    const char *where;
    const char *args;
    size_t args_len;
    lw_kind kind;
    weft_node_ctx_t *node; /* graph nodes: inputs come from here */
    lw_buf out;            /* encoded results (freed by the caller on error) */
    lua_Integer elem;      /* map: the element running, for messages */
} body;

static void decode_or_fail(lua_State *L, const char *p, size_t len, const char *what, int *n)
{
    char err[LW_ERRMAX];
    *n = lw_decode(L, p, len, err, sizeof err);
    if (*n < 0)
        luaL_error(L, "cannot read the %s: %s", what, err);
}

static void encode_or_fail(lua_State *L, body *b, int first, int n)
{
    char err[LW_ERRMAX];
    if (lw_encode(L, first, n, "result", 1, LW_FROM_WORKER, &b->out, err, sizeof err))
        luaL_error(L, "%s", err);
}

static int run_body(lua_State *L)
{
    body *b = lua_touserdata(L, 1);
    lua_settop(L, 0);
    push_function(L, b->code, b->code_len, b->mask, b->where);
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
            if (lw_is_encoded(p, len)) {
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
    if (b->kind == LW_MAP) {
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
static void encode_error(lw_buf *out, const char *msg, size_t len, lua_Integer elem)
{
    unsigned char tag_str = 5, tag_int = 3, le[8];
    lw_buf_free(out);
    if (len > 4096)
        len = 4096;
    lw_buf_put(out, LW_MAGIC, LW_MAGIC_LEN);
    lw_put_varint(out, elem ? 2 : 1);
    lw_buf_put(out, &tag_str, 1);
    lw_put_varint(out, len);
    lw_buf_put(out, msg, len);
    if (elem) {
        for (int i = 0; i < 8; i++)
            le[i] = (unsigned char)((uint64_t)elem >> (8 * i));
        lw_buf_put(out, &tag_int, 1);
        lw_buf_put(out, le, 8);
    }
}

/* Runs b in this thread's state; 0 with b->out holding the results, or
 * WEFT_ETASK with b->out holding the encoded error. */
static int run_protected(body *b)
{
    lw_worker *w;
    int temp;
    lua_State *L = acquire(&w, &temp);
    if (!L) {
        static const char oom[] = "cannot create a Lua state for the worker (out of memory)";
        encode_error(&b->out, oom, sizeof oom - 1, 0);
        return WEFT_ETASK;
    }
    lua_settop(L, 0);
    lua_pushcfunction(L, msgh);
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
    release(w, L, temp);
    return rc == LUA_OK ? 0 : WEFT_ETASK;
}

/* ------------------------------------------------------------------ */
/* weft task functions                                                 */

int lw_task_run(void *arg, void **result)
{
    (void)result;
    lw_task *t = arg;
    t->worker = weft_current_worker();
    t->t0 = lw_clock();
    body b = {.code = t->code->bytes,
              .code_len = t->code->len,
              .mask = t->code->genv_mask,
              .where = t->code->where,
              .args = t->args,
              .args_len = t->args_len,
              .kind = t->kind};
    int status = run_protected(&b);
    t->res = b.out.data;
    t->res_len = b.out.len;
    t->status = status;
    t->t1 = lw_clock();
    return status;
}

void lw_task_done(void *data, int status, void *result)
{
    (void)status;
    (void)result;
    lw_task *t = data;
    /* hand the record back; from here on it belongs to the script */
    lw_rt *rt = t->owner;
    pthread_mutex_lock(&rt->mu);
    if (rt->tail)
        rt->tail->next = t;
    else
        rt->head = t;
    rt->tail = t;
    pthread_cond_signal(&rt->cv); /* the script may be waiting in rt_take */
    pthread_mutex_unlock(&rt->mu);
}

/* Parses a node envelope (lw.h) into b; 0 or -1. */
static int parse_envelope(const char *p, size_t len, body *b, char *where, size_t wsz)
{
    const char *end = p + len;
    uint64_t n;
    if (len < 3 + 8 || memcmp(p, LW_NODE_MAGIC, 3) != 0)
        return -1;
    p += 3;
    b->mask = 0;
    for (int i = 0; i < 8; i++)
        b->mask |= (uint64_t)(unsigned char)p[i] << (8 * i);
    p += 8;
    if (lw_get_varint(&p, end, &n) || n > (uint64_t)(end - p))
        return -1;
    snprintf(where, wsz, "%.*s", (int)(n < wsz - 1 ? n : wsz - 1), p);
    p += n;
    if (lw_get_varint(&p, end, &n) || n > (uint64_t)(end - p))
        return -1;
    b->code = p;
    b->code_len = (size_t)n;
    p += n;
    b->args = p;
    b->args_len = (size_t)(end - p);
    return 0;
}

int lw_node_run(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    size_t len;
    const char *p = weft_node_arg(ctx, &len);
    char where[160];
    body b = {.kind = LW_JOB, .node = ctx};
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
    lw_buf_free(&b.out);
    if (rc != 0 && status == 0)
        status = rc;
    return status;
}
