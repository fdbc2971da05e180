/* wlua.h: internals of weft's Lua 5.4 binding (prefix wlua_, never exported).
 *
 * The binding is six C files, its part of weft.i and one Lua file; the
 * calls between the C files go one way (core -> cluster -> remote ->
 * worker -> code -> codec, and core or cluster straight to any file below
 * them), so none of them depends on another that depends back on it:
 * - wlua_codec.c   Lua values <-> bytes: how arguments and results cross
 *                  from one lua_State to another (and, later, to another
 *                  machine): nil, booleans, integers, floats, strings and
 *                  plain tables of these, little-endian, versioned.
 * - wlua_code.c    task code: a Lua function checked for what it may take
 *                  along and dumped to bytecode once (wlua_code).
 * - wlua_worker.c  the worker side: one lua_State per worker thread, made on
 *                  the first Lua task the thread runs and closed when the
 *                  thread exits (a pthread key destructor); the task runners
 *                  for jobs, map chunks, graph nodes (the named task "lua")
 *                  and tasks spawned from tasks (weft.spawn, fork-join),
 *                  with the nesting that waiting for them brings.
 * - wlua_remote.c  the named task "weft.lua": Lua code sent as source text
 *                  to another machine (requests, answers, the node's code
 *                  store; "Remote tasks" below). With wlua_worker.c, the
 *                  code and the codec, and wlua_remote_plugin.c, it is also
 *                  the weftd plugin weft_lua_plugin.
 * - wlua_cluster.c the script side of remote tasks: weft.cluster's client
 *                  (jobs on weft_cluster_t, resending a job a node missed).
 * - wlua_core.c    the script side: runtime, graph and run objects, the
 *                  completion queue the script drains; wlua_open builds
 *                  the module.
 * - lua/weft_lua.i the Lua part of weft.i: what SWIG binds for Lua beyond
 *                  the plain API that weft.i binds for both languages.
 * - weft.lua       the idiomatic layer (jobs, callbacks, groups, map,
 *                  graphs), embedded into the module at build time.
 *
 * Threads: the script's lua_State is touched only by the thread that runs
 * the script (every wlua_core.c function runs there). A worker's lua_State is
 * touched only by its worker thread. What crosses between them is bytes in
 * malloc'd records (wlua_task), handed over through weft_submit (which
 * publishes the record to the worker) and the completion queue (a mutex).
 * A task's children (weft.spawn) cross between workers the same way, in
 * records private to wlua_worker.c: published by weft_submit, their results
 * read by the spawner once weft_job_wait says the child is complete.
 */
#ifndef WEFT_WLUA_H
#define WEFT_WLUA_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>
#include <weft.h>

/* Deepest nesting of tables in a copied value. */
#define WLUA_MAX_DEPTH 100
/* Most values in one sequence (arguments or results of one task). */
#define WLUA_MAX_VALUES 100000
/* Largest encoded value sequence (bytes). */
#define WLUA_MAX_BYTES ((size_t)1 << 30)
/* Room for an error message. */
#define WLUA_ERRMAX 512

/* ------------------------------------------------------------------ */
/* Byte buffers                                                        */

typedef struct wlua_buf {
    char *data;
    size_t len, cap;
} wlua_buf;

/* Appends n bytes. 0, or -1 when out of memory or past WLUA_MAX_BYTES. */
int wlua_buf_put(wlua_buf *b, const void *p, size_t n);
void wlua_buf_free(wlua_buf *b);

/* ------------------------------------------------------------------ */
/* Codec (wlua_codec.c)                                                   */

/* Encoded value sequence, version 1:
 *   "WV" 0x01  varint count  value*
 * value:
 *   0x00 nil | 0x01 false | 0x02 true
 *   0x03 integer: 8 bytes, little-endian two's complement
 *   0x04 float:   8 bytes, little-endian IEEE 754 binary64 bits
 *   0x05 string:  varint length, bytes
 *   0x06 table:   varint n, n values (keys 1..n), varint m, m (key, value)
 * varint: unsigned LEB128, at most 10 bytes. */
#define WLUA_MAGIC "WV\x01"
#define WLUA_MAGIC_LEN 3

/* Direction words for messages: "sent to a worker" / "sent back". */
typedef enum { WLUA_TO_WORKER = 0, WLUA_FROM_WORKER = 1 } wlua_dir;

/* Encodes the n values at stack slots first..first+n-1 of L, appending to
 * out. what and base name them in messages: value i is "<what> <base+i>"
 * (e.g. "argument 2", "result 1"). Returns 0, or -1 with a message in err
 * ("cannot copy argument 2: function values cannot be sent to a worker").
 * Uses one temporary stack slot for the set of tables being visited. Lua
 * errors (out of memory) may be raised: callers on worker threads run it
 * protected. Thread: the thread owning L. */
int wlua_encode(lua_State *L, int first, int n, const char *what, int base, wlua_dir dir,
              wlua_buf *out, char *err, size_t errsz);

/* True when [p, p+len) starts like an encoded value sequence. */
int wlua_is_encoded(const char *p, size_t len);

/* Decodes a value sequence and pushes its values onto L. Returns how many
 * were pushed, or -1 with a message in err (nothing left pushed). Checks
 * every length against the bytes left and WLUA_MAX_DEPTH. Lua errors (out of
 * memory) may be raised. Thread: the thread owning L. */
int wlua_decode(lua_State *L, const char *p, size_t len, char *err, size_t errsz);

/* ------------------------------------------------------------------ */
/* Task code (wlua_code.c; used by wlua_core.c and wlua_worker.c)        */

/* Registry key of the weft module table of a state: the script's module,
 * or a worker's own (the `weft` a task sees). An upvalue holding it is
 * sent as "the weft module" (weft_mask). */
#define WLUA_MODULE_KEY "weft.module"

/* A task function as bytecode. Three masks mark the upvalues (1..64) that
 * may travel, because the receiving state has its own of each: genv_mask
 * those that held the global table (usually just _ENV), self_mask those
 * that held the function itself (a recursive local function), weft_mask
 * those that held the weft module. After loading, the worker points them
 * at its global table, the loaded function and its weft module. Owned by
 * the thread of the state that made it (the script's thread, or the worker
 * that ran weft.spawn): the reference count changes only there; other
 * workers only read it while a task that holds a reference runs. */
typedef struct wlua_code {
    int refs;
    uint64_t genv_mask, self_mask, weft_mask;
    char where[128]; /* "file.lua:12", for messages */
    size_t len;
    char bytes[];
} wlua_code;

/* Checks that the function at idx can run in another state and dumps it:
 * a new wlua_code with one reference, or NULL with a message in err
 * ("weft: cannot send the task function (f.lua:3): it uses upvalue 'x'
 * ..."). May raise Lua errors (out of memory). Thread: the one owning L. */
wlua_code *wlua_code_prepare(lua_State *L, int idx, char *err, size_t errsz);
void wlua_code_release(wlua_code *c);

/* ------------------------------------------------------------------ */
/* Runtimes and tasks                                                   */

typedef enum { WLUA_JOB = 0, WLUA_MAP = 1 } wlua_kind;

typedef struct wlua_rt wlua_rt;

/* One submitted task. Made and freed by the script thread; filled in by
 * the worker that runs it, then handed back through rt's queue. */
typedef struct wlua_task {
    struct wlua_task *next;
    wlua_rt *owner;
    wlua_code *code;
    int64_t id;
    wlua_kind kind;
    char *args; /* encoded arguments */
    size_t args_len;
    char *res; /* encoded results, or encoded (message[, element]) */
    size_t res_len;
    int status; /* 0, or WEFT_ETASK (Lua error), or another WEFT_E* */
    int worker;
    double t0, t1; /* wlua_clock() when it started and ended */
} wlua_task;

struct wlua_rt {
    weft_runtime_t *rt;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* signalled when a task is queued as done */
    wlua_task *head, *tail; /* done, not yet taken by the script (mu) */
    int64_t inflight;       /* submitted, not yet taken (script thread only) */
    int64_t next_id;        /* script thread only */
};

/* weft task functions (wlua_worker.c). wlua_task_run runs a task; its
 * callback wlua_task_done queues it for the script, once weft has counted it
 * (so statistics read after a delivery include the task). */
int wlua_task_run(void *arg, void **result);
void wlua_task_done(void *data, int status, void *result);
int wlua_node_run(weft_node_ctx_t *ctx, void *arg);

/* Graph node envelope (the argument bytes of a "lua" node):
 *   "WF" 0x01  8 bytes genv mask (LE)  varint len, where
 *   varint len, bytecode  then an encoded value sequence (the arguments)
 * or, for a function with self or weft upvalues (see wlua_code):
 *   "WF" 0x02  8 bytes genv mask, 8 bytes self mask, 8 bytes weft mask
 *   (each LE)  then as version 1 from "varint len, where".
 * Version 1 is written whenever it suffices, so files stay readable by
 * older builds; both are read. */
#define WLUA_NODE_MAGIC "WF\x01"
#define WLUA_NODE_MAGIC2 "WF\x02"
#define WLUA_NODE_TASK "lua"

/* ------------------------------------------------------------------ */
/* Remote tasks: the named task "weft.lua" (wlua_remote.c)             */

/* A Lua task that travels to another machine (a weftd node with the
 * plugin weft_lua_plugin loaded, or the client's own local workers) is
 * the named task "weft.lua". Its code travels as source text, never as
 * bytecode: the node loads it with mode "t" only, so a binary chunk from
 * the network is refused whatever its bytes.
 *
 * Request (the task's argument bytes), version 1:
 *   0   3   "WR" 0x01
 *   3   1   flags: bit 0 SOURCE (the code block follows the key),
 *               bit 1 ERRVAL (a Lua error is answered as a value, see
 *               below); other bits must be 0
 *   4   32  key: SHA-256 of the code block's bytes
 *   36  ..  with SOURCE, the code block:
 *               varint n (1..WLUA_REMOTE_NAME_MAX), the chunk name;
 *               varint m (at most WLUA_REMOTE_SRC_MAX), the source text
 *           then an encoded value sequence (WLUA_MAGIC): the arguments.
 * The source is a chunk that returns a function ("return function(a, b)
 * return a + b end"); the node runs the chunk once, keeps the function,
 * and calls it with the arguments followed by, in a graph node, the first
 * result of each predecessor (weft_node_input order), as local Lua graph
 * nodes get them.
 *
 * Caching: each node keeps the code blocks it received (WLUA_STORE_MAX
 * entries, WLUA_STORE_BYTES bytes in all, least recently used dropped
 * first), and each worker state keeps the functions it made from them
 * (WLUA_FN_CACHE_MAX, least recently used dropped first), both by key. A
 * request with SOURCE is checked: its key must be the SHA-256 of its code
 * block. A request without SOURCE whose key the node does not hold is
 * answered with status WLUA_REMOTE_MISS and nothing runs: the client sends
 * it again with SOURCE.
 *
 * Answer:
 *   status 0, result an encoded value sequence: the function's results
 *     (the same bytes a local Lua graph node stores);
 *   status 0, result "WE" 0x01 then an encoded sequence of one string:
 *     with ERRVAL, a Lua error: its message and traceback (also for a
 *     request the node could not read);
 *   status WLUA_REMOTE_MISS: the key is unknown here, send the source;
 *   status WLUA_REMOTE_ERROR: without ERRVAL, a Lua error (the node also
 *     stores the message as the result, as a local Lua node does, though
 *     the distribution layer does not carry a failed task's bytes back);
 *   status WLUA_REMOTE_BADREQ: the bytes are not a version 1 request. */
#define WLUA_REMOTE_TASK "weft.lua"
#define WLUA_REMOTE_MAGIC "WR\x01"
#define WLUA_REMOTE_ERRMAGIC "WE\x01"
#define WLUA_REMOTE_HEAD 36
#define WLUA_REMOTE_KEY 32
#define WLUA_REMOTE_F_SOURCE 0x1
#define WLUA_REMOTE_F_ERRVAL 0x2
#define WLUA_REMOTE_MISS 0x4c4d   /* 19533, "LM": key not known */
#define WLUA_REMOTE_ERROR 0x4c45  /* 19525, "LE": the Lua code raised */
#define WLUA_REMOTE_BADREQ 0x4c42 /* 19522, "LB": not a request */
#define WLUA_REMOTE_NAME_MAX 255
#define WLUA_REMOTE_SRC_MAX ((size_t)64 << 20)
#define WLUA_STORE_MAX 1024
#define WLUA_STORE_BYTES ((size_t)256 << 20)
#define WLUA_FN_CACHE_MAX 256

/* A code block held by a node's store: shared by the tasks that run it
 * (refs under the store's lock). */
typedef struct wlua_source {
    int refs;
    unsigned char key[WLUA_REMOTE_KEY];
    char name[WLUA_REMOTE_NAME_MAX + 2]; /* NUL-terminated */
    size_t len;
    char text[]; /* len bytes of source, then a NUL */
} wlua_source;

/* A request, parsed: pointers into the request bytes. */
typedef struct wlua_request {
    unsigned flags;
    const unsigned char *key;
    const char *name; /* with SOURCE */
    size_t name_len;
    const char *src;
    size_t src_len;
    const char *args; /* the encoded arguments */
    size_t args_len;
} wlua_request;

/* SHA-256 of [p, p+n) into out. 0, or -1 (libcrypto failed). Thread: any. */
int wlua_sha256(const void *p, size_t n, unsigned char out[WLUA_REMOTE_KEY]);

/* Appends a request: header (flags, the key of name and src), the code
 * block when flags has SOURCE, then the encoded arguments [args,
 * args+args_len). 0, or -1 (out of memory, name or source too long).
 * The key is written to key when not NULL. Thread: any. */
int wlua_request_build(wlua_buf *out, unsigned flags, const char *name, size_t name_len,
                       const char *src, size_t src_len, const char *args, size_t args_len,
                       unsigned char key[WLUA_REMOTE_KEY]);

/* Parses request bytes (any bytes: bounds-checked, nothing trusted). 0,
 * or -1 with a message in err. Does not check the key against the code
 * block (wlua_remote_run does). Thread: any. */
int wlua_request_parse(const char *p, size_t len, wlua_request *r, char *err, size_t errsz);

/* The node's store: takes a reference to the code block of key (NULL
 * when not held), or adds one (copying name and source; returns the entry
 * with a reference, or NULL when out of memory). Thread: any. */
wlua_source *wlua_store_get(const unsigned char key[WLUA_REMOTE_KEY]);
wlua_source *wlua_store_put(const unsigned char key[WLUA_REMOTE_KEY], const char *name,
                            size_t name_len, const char *src, size_t src_len);
void wlua_source_release(wlua_source *s);

/* The task function of "weft.lua" (registered by the plugin and by the
 * Lua module, for a cluster's local workers). */
int wlua_remote_run(weft_node_ctx_t *ctx, void *arg);

/* Runs the function of source s in the calling worker's state
 * (wlua_worker.c): from the worker's function cache, or made by running
 * the chunk (mode "t") once. The arguments args, then with ctx the
 * predecessors' first results. On success out holds the encoded results
 * and 0 is returned; on a Lua error out holds the encoded message with a
 * traceback and WEFT_ETASK is returned. Thread: a worker. */
int wlua_run_source(const wlua_source *s, const char *args, size_t args_len,
                    weft_node_ctx_t *ctx, wlua_buf *out);

#ifndef WLUA_NO_REMOTE /* built with the distribution layer (lua.cmake) */
/* Adds the cluster primitives (wlua_cluster.c) to the core table at
 * index core, with their metatables. */
void wlua_cluster_open(lua_State *L, int core);
/* The weft_cluster_t of the cluster object at index i; raises when it is
 * closed. */
weft_cluster_t *wlua_cluster_of(lua_State *L, int i);
#endif

/* Monotonic clock in seconds. Thread: any. */
double wlua_clock(void);

/* varints, shared by the codec and the envelope */
int wlua_put_varint(wlua_buf *b, uint64_t v);
/* Reads a varint from *p (advanced) before end. 0, or -1 if malformed. */
int wlua_get_varint(const char **p, const char *end, uint64_t *v);

/* Adds the functions that work inside tasks (weft.spawn, weft.spawn_all,
 * weft.wait_all, weft.cancelled) to the table at index t of L: the
 * script's module gets them too, where they say that they need a task
 * (cancelled: false). wlua_worker.c. */
void wlua_task_api(lua_State *L, int t);

/* Builds the module table's contents (wlua_core.c): called from the SWIG
 * module's init with the module table at index mod; more (NULL-terminated)
 * joins the private core table that weft.lua gets (weft_lua.i's
 * graph_ptr and run_ptr). */
int wlua_open(lua_State *L, int mod, const luaL_Reg *more);

/* The C graph of the core's graph object at index i, and the C run record
 * of a run object: for the pointers weft_lua.i hands to weft.lua. Raise a
 * Lua error when the object is closed (wlua_core.c). */
weft_graph_t *wlua_graph_of(lua_State *L, int i);
weft_run_t *wlua_run_of(lua_State *L, int i);

#endif
