/* lw.h: internals of weft's Lua 5.4 binding (prefix lw_, never exported).
 *
 * The binding is three C files and one Lua file:
 * - lw_codec.c   Lua values <-> bytes: how arguments and results cross
 *                from one lua_State to another (and, later, to another
 *                machine): nil, booleans, integers, floats, strings and
 *                plain tables of these, little-endian, versioned.
 * - lw_worker.c  the worker side: one lua_State per worker thread, made on
 *                the first Lua task the thread runs and closed when the
 *                thread exits (a pthread key destructor); the task runners
 *                for jobs, map chunks, graph nodes (the named task "lua")
 *                and tasks spawned from tasks (weft.spawn, fork-join),
 *                with the nesting that waiting for them brings.
 * - lw_core.c    the script side: runtime, graph and run objects, the
 *                completion queue the script drains, statistics; lw_open
 *                builds the module.
 * - weft.lua     the idiomatic layer (jobs, callbacks, groups, map,
 *                graphs), embedded into the module at build time.
 *
 * Threads: the script's lua_State is touched only by the thread that runs
 * the script (every lw_core.c function runs there). A worker's lua_State is
 * touched only by its worker thread. What crosses between them is bytes in
 * malloc'd records (lw_task), handed over through weft_submit (which
 * publishes the record to the worker) and the completion queue (a mutex).
 * A task's children (weft.spawn) cross between workers the same way, in
 * records private to lw_worker.c: published by weft_submit, their results
 * read by the spawner once weft_job_wait says the child is complete.
 */
#ifndef WEFT_LW_H
#define WEFT_LW_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>
#include <weft.h>

/* Deepest nesting of tables in a copied value. */
#define LW_MAX_DEPTH 100
/* Most values in one sequence (arguments or results of one task). */
#define LW_MAX_VALUES 100000
/* Largest encoded value sequence (bytes). */
#define LW_MAX_BYTES ((size_t)1 << 30)
/* Room for an error message. */
#define LW_ERRMAX 512

/* ------------------------------------------------------------------ */
/* Byte buffers                                                        */

typedef struct lw_buf {
    char *data;
    size_t len, cap;
} lw_buf;

/* Appends n bytes. 0, or -1 when out of memory or past LW_MAX_BYTES. */
int lw_buf_put(lw_buf *b, const void *p, size_t n);
void lw_buf_free(lw_buf *b);

/* ------------------------------------------------------------------ */
/* Codec (lw_codec.c)                                                   */

/* Encoded value sequence, version 1:
 *   "WV" 0x01  varint count  value*
 * value:
 *   0x00 nil | 0x01 false | 0x02 true
 *   0x03 integer: 8 bytes, little-endian two's complement
 *   0x04 float:   8 bytes, little-endian IEEE 754 binary64 bits
 *   0x05 string:  varint length, bytes
 *   0x06 table:   varint n, n values (keys 1..n), varint m, m (key, value)
 * varint: unsigned LEB128, at most 10 bytes. */
#define LW_MAGIC "WV\x01"
#define LW_MAGIC_LEN 3

/* Direction words for messages: "sent to a worker" / "sent back". */
typedef enum { LW_TO_WORKER = 0, LW_FROM_WORKER = 1 } lw_dir;

/* Encodes the n values at stack slots first..first+n-1 of L, appending to
 * out. what and base name them in messages: value i is "<what> <base+i>"
 * (e.g. "argument 2", "result 1"). Returns 0, or -1 with a message in err
 * ("cannot copy argument 2: function values cannot be sent to a worker").
 * Uses one temporary stack slot for the set of tables being visited. Lua
 * errors (out of memory) may be raised: callers on worker threads run it
 * protected. Thread: the thread owning L. */
int lw_encode(lua_State *L, int first, int n, const char *what, int base, lw_dir dir,
              lw_buf *out, char *err, size_t errsz);

/* True when [p, p+len) starts like an encoded value sequence. */
int lw_is_encoded(const char *p, size_t len);

/* Decodes a value sequence and pushes its values onto L. Returns how many
 * were pushed, or -1 with a message in err (nothing left pushed). Checks
 * every length against the bytes left and LW_MAX_DEPTH. Lua errors (out of
 * memory) may be raised. Thread: the thread owning L. */
int lw_decode(lua_State *L, const char *p, size_t len, char *err, size_t errsz);

/* ------------------------------------------------------------------ */
/* Task code (shared by lw_core.c and lw_worker.c)                      */

/* Registry key of the weft module table of a state: the script's module,
 * or a worker's own (the `weft` a task sees). An upvalue holding it is
 * sent as "the weft module" (weft_mask). */
#define LW_MODULE_KEY "weft.module"

/* A task function as bytecode. Three masks mark the upvalues (1..64) that
 * may travel, because the receiving state has its own of each: genv_mask
 * those that held the global table (usually just _ENV), self_mask those
 * that held the function itself (a recursive local function), weft_mask
 * those that held the weft module. After loading, the worker points them
 * at its global table, the loaded function and its weft module. Owned by
 * the thread of the state that made it (the script's thread, or the worker
 * that ran weft.spawn): the reference count changes only there; other
 * workers only read it while a task that holds a reference runs. */
typedef struct lw_code {
    int refs;
    uint64_t genv_mask, self_mask, weft_mask;
    char where[128]; /* "file.lua:12", for messages */
    size_t len;
    char bytes[];
} lw_code;

/* Checks that the function at idx can run in another state and dumps it:
 * a new lw_code with one reference, or NULL with a message in err
 * ("weft: cannot send the task function (f.lua:3): it uses upvalue 'x'
 * ..."). May raise Lua errors (out of memory). Thread: the one owning L. */
lw_code *lw_code_prepare(lua_State *L, int idx, char *err, size_t errsz);
void lw_code_release(lw_code *c);

/* ------------------------------------------------------------------ */
/* Runtimes and tasks                                                   */

typedef enum { LW_JOB = 0, LW_MAP = 1 } lw_kind;

typedef struct lw_rt lw_rt;

/* One submitted task. Made and freed by the script thread; filled in by
 * the worker that runs it, then handed back through rt's queue. */
typedef struct lw_task {
    struct lw_task *next;
    lw_rt *owner;
    lw_code *code;
    int64_t id;
    lw_kind kind;
    char *args; /* encoded arguments */
    size_t args_len;
    char *res; /* encoded results, or encoded (message[, element]) */
    size_t res_len;
    int status; /* 0, or WEFT_ETASK (Lua error), or another WEFT_E* */
    int worker;
    double t0, t1; /* lw_clock() when it started and ended */
} lw_task;

struct lw_rt {
    weft_runtime_t *rt;
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* signalled when a task is queued as done */
    lw_task *head, *tail;  /* done, not yet taken by the script (mu) */
    int64_t inflight;      /* submitted, not yet taken (script thread only) */
    int64_t next_id;       /* script thread only */
};

/* weft task functions (lw_worker.c). lw_task_run runs a task; its
 * callback lw_task_done queues it for the script, once weft has counted it
 * (so statistics read after a delivery include the task). */
int lw_task_run(void *arg, void **result);
void lw_task_done(void *data, int status, void *result);
int lw_node_run(weft_node_ctx_t *ctx, void *arg);

/* Graph node envelope (the argument bytes of a "lua" node):
 *   "WF" 0x01  8 bytes genv mask (LE)  varint len, where
 *   varint len, bytecode  then an encoded value sequence (the arguments)
 * or, for a function with self or weft upvalues (see lw_code):
 *   "WF" 0x02  8 bytes genv mask, 8 bytes self mask, 8 bytes weft mask
 *   (each LE)  then as version 1 from "varint len, where".
 * Version 1 is written whenever it suffices, so files stay readable by
 * older builds; both are read. */
#define LW_NODE_MAGIC "WF\x01"
#define LW_NODE_MAGIC2 "WF\x02"
#define LW_NODE_TASK "lua"

/* Monotonic clock in seconds. Thread: any. */
double lw_clock(void);

/* varints, shared by the codec and the envelope */
int lw_put_varint(lw_buf *b, uint64_t v);
/* Reads a varint from *p (advanced) before end. 0, or -1 if malformed. */
int lw_get_varint(const char **p, const char *end, uint64_t *v);

/* Adds the functions that work inside tasks (weft.spawn, weft.spawn_all,
 * weft.wait_all, weft.cancelled) to the table at index t of L: the
 * script's module gets them too, where they say that they need a task
 * (cancelled: false). lw_worker.c. */
void lw_task_api(lua_State *L, int t);

/* Builds the module table's contents (lw_core.c): called from the SWIG
 * module's init with the module table at index mod. */
int lw_open(lua_State *L, int mod);

#endif
