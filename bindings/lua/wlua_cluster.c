/* wlua_cluster.c: the Lua client of a weft cluster (weft.cluster), the
 * script side of remote tasks (wlua.h, "Remote tasks"; weft.lua wraps
 * these primitives into the cluster and job objects).
 *
 * A cluster object holds a weft_cluster_t (weft/dist.h). cl:submit(src,
 * ...) sends the named task "weft.lua" with a request made of the code's
 * key, its source when the cluster has not sent this code before (or
 * always, on request), and the encoded arguments. Each remote job (rjob)
 * is a small record shared by the script thread, which waits and reads
 * its answer, and the cluster's I/O thread, whose completion callback
 * handles a cache miss: a node that does not hold the code answers
 * WLUA_REMOTE_MISS without running anything, and the callback sends the
 * task again at once, with the source, to the node that missed (so that
 * node holds the code from then on; should that node be lost before it
 * answers, once more to any node). So a miss costs one round trip on that
 * task, whether or not the script is waiting for it yet.
 *
 * Threads and lifetimes: the djob handles are freed by the script thread
 * only (the callback may not free jobs). The record is freed when the
 * last of its two references goes: the Lua object's (collected or
 * closed) and the callback's (held while an attempt is out; the resend
 * takes it over). mu guards what both threads touch: dropped, att[1..],
 * natt, send_rc. The script reads attempt i+1 only after weft_djob_wait on
 * attempt i returned, which happens after attempt i's callback (the
 * cluster marks a job done only once its callback has returned), so the
 * callback has decided by then whether there is a next attempt. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wlua.h"

#define CLUSTER_MT "weft.core.cluster"
#define RJOB_MT "weft.core.rjob"

typedef struct wlua_rjob {
    atomic_int refs;          /* the Lua object's; the callback's while an attempt is out */
    pthread_mutex_t mu;
    weft_cluster_t *c;        /* for the resend (I/O thread, in the callback) */
    weft_djob_t *att[3];      /* attempts: the first (set by the script thread), the
                                 resend to the node that missed, the resend to any
                                 node when that node was lost (mu) */
    int natt;                 /* attempts made (mu) */
    int send_rc;              /* a resend's submit error (mu) */
    int dropped;              /* no more resends: freed or cancelled (mu) */
    int raw;                  /* cl:run_task: the answer is bytes, not Lua values */
    char *full;               /* the request with the source, for a miss; NULL if sent */
    size_t full_len;
} wlua_rjob;

static void rjob_unref(wlua_rjob *j)
{
    /* acq_rel: the last one sees everything the other did to the record */
    if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) == 1) {
        pthread_mutex_destroy(&j->mu);
        free(j->full);
        free(j);
    }
}

/* The completion callback, on the cluster's I/O thread (must not block
 * or free jobs). */
static void rjob_done(void *data, weft_djob_t *job, int rc)
{
    wlua_rjob *j = data;
    int status = 0;
    if (rc == WEFT_ETASK)
        weft_djob_status(job, &status);
    pthread_mutex_lock(&j->mu);
    /* a miss (first attempt), or the node that missed lost (second) */
    int miss = rc == WEFT_ETASK && status == WLUA_REMOTE_MISS && j->natt == 1;
    int lost = rc == WEFT_ENODE && j->natt == 2;
    if (j->full && !j->dropped && (miss || lost)) {
        weft_dsubmit_opts_t o = {.callback = rjob_done, .callback_data = j};
        const char *node = weft_djob_node(job);
        if (miss && node[0] && strcmp(node, "local") != 0)
            o.node = node;
        weft_djob_t *again = NULL;
        int r = weft_cluster_submit(j->c, WLUA_REMOTE_TASK, j->full, j->full_len, &o, &again);
        if (r == 0) {
            j->att[j->natt++] = again;
            pthread_mutex_unlock(&j->mu);
            return; /* the callback's reference goes on with the resend */
        }
        j->send_rc = r;
    }
    pthread_mutex_unlock(&j->mu);
    rjob_unref(j);
}

/* Frees the handles and drops the Lua object's reference (script thread).
 * A pending attempt is cancelled. */
static void rjob_drop(wlua_rjob *j)
{
    weft_djob_t *att[3];
    pthread_mutex_lock(&j->mu);
    j->dropped = 1;
    int n = j->natt;
    memcpy(att, j->att, sizeof att);
    memset(j->att, 0, sizeof j->att);
    pthread_mutex_unlock(&j->mu);
    for (int i = 0; i < n; i++)
        if (att[i])
            weft_djob_free(att[i]);
    rjob_unref(j);
}

static int rjob_gc(lua_State *L)
{
    wlua_rjob **box = luaL_checkudata(L, 1, RJOB_MT);
    if (*box)
        rjob_drop(*box);
    *box = NULL;
    return 0;
}

static weft_cluster_t *cl_get(lua_State *L, int i)
{
    weft_cluster_t **box = luaL_checkudata(L, i, CLUSTER_MT);
    if (!*box)
        luaL_error(L, "weft: the cluster is closed");
    return *box;
}

weft_cluster_t *wlua_cluster_of(lua_State *L, int i) { return cl_get(L, i); }

static wlua_rjob *rjob_get(lua_State *L, int i)
{
    wlua_rjob **box = luaL_checkudata(L, i, RJOB_MT);
    if (!*box)
        luaL_error(L, "weft: the job is closed");
    return *box;
}

/* nil, "weft: WHAT: message[: detail] (WEFT_E...)" */
static int fail_detail(lua_State *L, int rc, const char *what)
{
    const char *d = weft_error_detail();
    lua_pushnil(L);
    lua_pushfstring(L, "weft: %s: %s%s%s (%s)", what, weft_strerror(rc), d && d[0] ? ": " : "",
                    d ? d : "", weft_err_name(rc));
    return 2;
}

static double opt_field_num(lua_State *L, int t, const char *k, double dflt)
{
    lua_getfield(L, t, k);
    double v = lua_isnil(L, -1) ? dflt : (double)luaL_checknumber(L, -1);
    lua_pop(L, 1);
    return v;
}

/* cl_new(opts) -> cluster | nil, message. opts (checked by weft.lua):
 * nodes = {"host:port", ...}, secret_file, local_workers, connect_timeout,
 * dead_after, grace, max_losses. */
static int c_cl_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    lua_getfield(L, 1, "secret_file");
    o.secret_file = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1); /* kept on the stack */
    o.local_workers = (int)opt_field_num(L, 1, "local_workers", 0);
    o.connect_timeout_s = opt_field_num(L, 1, "connect_timeout", o.connect_timeout_s);
    o.dead_after_s = opt_field_num(L, 1, "dead_after", o.dead_after_s);
    o.grace_s = opt_field_num(L, 1, "grace", o.grace_s);
    o.max_losses = (int)opt_field_num(L, 1, "max_losses", o.max_losses);
    lua_getfield(L, 1, "nodes");
    int nt = lua_gettop(L);
    size_t count = lua_isnil(L, nt) ? 0 : (size_t)luaL_len(L, nt);
    if (count > 4096)
        return luaL_error(L, "weft: too many nodes (%d; at most 4096)", (int)count);
    const char **nodes = calloc(count ? count : 1, sizeof *nodes);
    if (!nodes)
        return luaL_error(L, "weft: out of memory");
    for (size_t i = 0; i < count; i++) {
        lua_rawgeti(L, nt, (lua_Integer)i + 1);
        nodes[i] = lua_tostring(L, -1); /* strings, checked by weft.lua; kept on the stack */
    }
    weft_cluster_t **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, CLUSTER_MT);
    int rc = weft_cluster_create(nodes, count, &o, box);
    free(nodes);
    if (rc != 0)
        return fail_detail(L, rc, "cannot create the cluster");
    return 1;
}

/* cl_close(cluster): cancels what is pending, closes the connections. */
static int c_cl_close(lua_State *L)
{
    weft_cluster_t **box = luaL_checkudata(L, 1, CLUSTER_MT);
    if (*box) {
        weft_cluster_t *c = *box;
        *box = NULL;
        weft_cluster_free(c);
    }
    return 0;
}

static int c_cl_closed(lua_State *L)
{
    weft_cluster_t **box = luaL_checkudata(L, 1, CLUSTER_MT);
    lua_pushboolean(L, *box == NULL);
    return 1;
}

/* cl_wait_nodes(cluster, n, timeout) -> true | nil, message */
static int c_cl_wait_nodes(lua_State *L)
{
    weft_cluster_t *c = cl_get(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    double t = (double)luaL_checknumber(L, 3);
    if (n < 0)
        return luaL_argerror(L, 1, "node count must not be negative");
    int rc = weft_cluster_wait_nodes(c, (size_t)n, t > 1e9 ? INFINITY : t);
    if (rc != 0)
        return fail_detail(L, rc, "waiting for nodes");
    lua_pushboolean(L, 1);
    return 1;
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

/* cl_stats(cluster) -> {{node=, connected=, workers=, jobs=, ...}, ...} */
static int c_cl_stats(lua_State *L)
{
    weft_cluster_t *c = cl_get(L, 1);
    weft_node_stats_t *st = NULL;
    size_t n = 0;
    int rc = weft_cluster_stats(c, &st, &n);
    if (rc != 0)
        return fail_detail(L, rc, "cluster statistics");
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 14);
        lua_pushstring(L, st[i].node);
        lua_setfield(L, -2, "node");
        lua_pushboolean(L, st[i].connected);
        lua_setfield(L, -2, "connected");
        set_int(L, "workers", st[i].workers);
        set_int(L, "jobs", (lua_Integer)st[i].jobs);
        set_num(L, "share", st[i].share);
        set_num(L, "time_s", st[i].time_s);
        set_num(L, "time_per_job_s", st[i].time_per_job_s);
        set_int(L, "bytes_sent", (lua_Integer)st[i].bytes_sent);
        set_int(L, "bytes_received", (lua_Integer)st[i].bytes_received);
        set_int(L, "retries", (lua_Integer)st[i].retries);
        set_int(L, "losses", (lua_Integer)st[i].losses);
        set_int(L, "connects", (lua_Integer)st[i].connects);
        set_int(L, "last_error", st[i].last_error);
        set_num(L, "rtt_s", st[i].rtt_s);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    free(st);
    return 1;
}

/* cl_stats_text(cluster) -> the printed table */
static int c_cl_stats_text(lua_State *L)
{
    weft_cluster_t *c = cl_get(L, 1);
    weft_buf_t b = {0};
    int rc = weft_cluster_print_stats_buf(c, &b);
    if (rc != 0)
        return fail_detail(L, rc, "cluster statistics");
    lua_pushlstring(L, b.data ? b.data : "", b.len);
    weft_buf_free(&b);
    return 1;
}

/* Submits request [p, p+len) as task; the new job object is pushed.
 * full (owned, may be NULL): the request with the source, for a miss. */
static int submit(lua_State *L, weft_cluster_t *c, const char *task, const char *p, size_t len,
                  char *full, size_t full_len, int raw)
{
    wlua_rjob **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, RJOB_MT);
    wlua_rjob *j = calloc(1, sizeof *j);
    if (!j) {
        free(full);
        return luaL_error(L, "weft: out of memory");
    }
    pthread_mutex_init(&j->mu, NULL);
    atomic_init(&j->refs, 2); /* the object's and the callback's */
    j->natt = 1;
    j->c = c;
    j->raw = raw;
    j->full = full;
    j->full_len = full_len;
    weft_dsubmit_opts_t o = {.callback = rjob_done, .callback_data = j};
    /* the callback reads no attempt of the array: only natt (set above) */
    int rc = weft_cluster_submit(c, task, p, len, &o, &j->att[0]);
    if (rc != 0) {
        j->att[0] = NULL;
        j->natt = 0;
        atomic_store(&j->refs, 1); /* no callback will come */
        rjob_unref(j);
        return fail_detail(L, rc, "cannot submit");
    }
    *box = j;
    return 1;
}

/* cl_submit(cluster, sent, name, src, cached, ...) -> job | nil, message
 * sent: the cluster's table of keys sent with their source (key -> true).
 * The first request of a code not in sent carries the source (and its key
 * enters sent); later ones carry only the key, unless the node misses.
 * cached: true to send only the key even the first time. */
static int c_cl_submit(lua_State *L)
{
    weft_cluster_t *c = cl_get(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t name_len, src_len;
    const char *name = luaL_checklstring(L, 3, &name_len);
    const char *src = luaL_checklstring(L, 4, &src_len);
    int cached = lua_toboolean(L, 5);
    int nargs = lua_gettop(L) - 5;
    char err[WLUA_ERRMAX];
    wlua_buf args = {0}, req = {0}, full = {0};
    if (wlua_encode(L, 6, nargs, "argument", 1, WLUA_TO_WORKER, &args, err, sizeof err)) {
        wlua_buf_free(&args);
        return luaL_error(L, "weft: %s", err);
    }
    unsigned char key[WLUA_REMOTE_KEY];
    if (wlua_request_build(&full, WLUA_REMOTE_F_SOURCE | WLUA_REMOTE_F_ERRVAL, name, name_len,
                           src, src_len, args.data, args.len, key)) {
        wlua_buf_free(&args);
        wlua_buf_free(&full);
        return luaL_error(L, "weft: cannot make the request: out of memory, or the source is "
                             "over %d MiB", (int)(WLUA_REMOTE_SRC_MAX >> 20));
    }
    lua_pushlstring(L, (const char *)key, sizeof key);
    int sent = lua_rawget(L, 2) != LUA_TNIL || cached;
    lua_pop(L, 1);
    if (!sent) {
        lua_pushlstring(L, (const char *)key, sizeof key);
        lua_pushboolean(L, 1);
        lua_rawset(L, 2);
        wlua_buf_free(&args);
        int r = submit(L, c, WLUA_REMOTE_TASK, full.data, full.len, NULL, 0, 0);
        wlua_buf_free(&full);
        return r;
    }
    if (wlua_request_build(&req, WLUA_REMOTE_F_ERRVAL, name, name_len, src, src_len, args.data,
                           args.len, NULL)) {
        wlua_buf_free(&args);
        wlua_buf_free(&full);
        wlua_buf_free(&req);
        return luaL_error(L, "weft: cannot make the request: out of memory");
    }
    wlua_buf_free(&args);
    int r = submit(L, c, WLUA_REMOTE_TASK, req.data, req.len, full.data, full.len, 0);
    wlua_buf_free(&req); /* full now belongs to the job */
    return r;
}

/* cl_run_task(cluster, task, bytes) -> job | nil, message: any named task
 * with raw argument bytes; its answer is the result bytes. */
static int c_cl_run_task(lua_State *L)
{
    weft_cluster_t *c = cl_get(L, 1);
    const char *task = luaL_checkstring(L, 2);
    size_t len;
    const char *p = luaL_checklstring(L, 3, &len);
    return submit(L, c, task, p, len, NULL, 0, 1);
}

/* The attempt after attempt i, once attempt i is complete: NULL when i
 * is the last. */
static weft_djob_t *next_attempt(wlua_rjob *j, int i)
{
    pthread_mutex_lock(&j->mu);
    weft_djob_t *next = i + 1 < j->natt ? j->att[i + 1] : NULL;
    pthread_mutex_unlock(&j->mu);
    return next;
}

/* Waits for the attempt whose outcome counts (the last one), for at most
 * timeout seconds in all; *which gets it. Returns its code, or
 * WEFT_ETIMEDOUT. */
static int wait_outcome(wlua_rjob *j, double timeout, int *status, weft_djob_t **which)
{
    double t0 = wlua_clock();
    weft_djob_t *a = j->att[0];
    for (int i = 0;; i++) {
        double left = isinf(timeout) ? timeout : timeout - (wlua_clock() - t0);
        int rc = weft_djob_wait(a, left < 0 ? 0 : left, status);
        if (rc == WEFT_ETIMEDOUT)
            return rc;
        weft_djob_t *next = next_attempt(j, i);
        if (!next) {
            *which = a;
            pthread_mutex_lock(&j->mu);
            int send_rc = j->send_rc;
            pthread_mutex_unlock(&j->mu);
            /* a miss that could not be sent again: say why */
            if (rc == WEFT_ETASK && *status == WLUA_REMOTE_MISS && send_rc)
                return send_rc;
            return rc;
        }
        a = next;
    }
}

static const char *status_text(int status)
{
    switch (status) {
    case WLUA_REMOTE_MISS:
        return "the node does not hold the code (a cache miss)";
    case WLUA_REMOTE_ERROR:
        return "the Lua code raised an error";
    case WLUA_REMOTE_BADREQ:
        return "the node could not read the request";
    default:
        return "the task failed";
    }
}

/* rjob_wait(job, timeout|nil) ->
 *   "timeout"                       not finished in time
 *   "ok", node, values...           (raw jobs: "ok", node, bytes)
 *   "error", node, message          a Lua error raised remotely
 *   "failed", node, message, code   the job failed (lost, cancelled, ...) */
static int c_rjob_wait(lua_State *L)
{
    wlua_rjob *j = rjob_get(L, 1);
    double timeout = lua_isnoneornil(L, 2) ? INFINITY : (double)luaL_checknumber(L, 2);
    if (timeout > 1e9)
        timeout = INFINITY;
    int status = 0;
    weft_djob_t *which = NULL;
    int rc = wait_outcome(j, timeout, &status, &which);
    if (rc == WEFT_ETIMEDOUT) {
        lua_pushliteral(L, "timeout");
        return 1;
    }
    const char *node = weft_djob_node(which);
    if (rc != 0) {
        lua_pushliteral(L, "failed");
        lua_pushstring(L, node);
        const char *e = weft_djob_error(which);
        if (rc == WEFT_ETASK)
            lua_pushfstring(L, "%s (%s)", e && e[0] ? e : "failed", status_text(status));
        else
            lua_pushfstring(L, "%s (%s)", e && e[0] ? e : weft_strerror(rc), weft_err_name(rc));
        lua_pushinteger(L, rc);
        return 4;
    }
    const void *d = NULL;
    size_t len = 0;
    weft_djob_result(which, &d, &len);
    const char *p = d;
    if (j->raw) {
        lua_pushliteral(L, "ok");
        lua_pushstring(L, node);
        lua_pushlstring(L, p ? p : "", len);
        return 3;
    }
    char err[WLUA_ERRMAX];
    if (p && len >= 3 && memcmp(p, WLUA_REMOTE_ERRMAGIC, 3) == 0) {
        lua_pushliteral(L, "error");
        lua_pushstring(L, node);
        int top = lua_gettop(L);
        int n = wlua_decode(L, p + 3, len - 3, err, sizeof err);
        if (n < 1 || lua_type(L, top + 1) != LUA_TSTRING) {
            lua_settop(L, top);
            lua_pushfstring(L, "(unreadable error message: %s)", n < 0 ? err : "no string");
        }
        lua_settop(L, top + 1);
        return 3;
    }
    lua_pushliteral(L, "ok");
    lua_pushstring(L, node);
    int n = wlua_decode(L, p, len, err, sizeof err);
    if (n < 0) {
        lua_settop(L, 1);
        lua_pushliteral(L, "failed");
        lua_pushstring(L, node);
        lua_pushfstring(L, "cannot read the results: %s", err);
        lua_pushinteger(L, WEFT_EPROTO);
        return 4;
    }
    return n + 2;
}

/* rjob_done(job) -> finished? (a miss being sent again is not) */
static int c_rjob_done(lua_State *L)
{
    wlua_rjob *j = rjob_get(L, 1);
    int status;
    weft_djob_t *which;
    lua_pushboolean(L, wait_outcome(j, 0, &status, &which) != WEFT_ETIMEDOUT);
    return 1;
}

/* rjob_info(job) -> {node, attempts, resent} (once finished) */
static int c_rjob_info(lua_State *L)
{
    wlua_rjob *j = rjob_get(L, 1);
    pthread_mutex_lock(&j->mu);
    int n = j->natt;
    weft_djob_t *att[3];
    memcpy(att, j->att, sizeof att);
    pthread_mutex_unlock(&j->mu);
    int attempts = 0;
    for (int i = 0; i < n; i++)
        attempts += weft_djob_attempts(att[i]);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, weft_djob_node(att[n - 1]));
    lua_setfield(L, -2, "node");
    set_int(L, "attempts", attempts);
    lua_pushboolean(L, n > 1);
    lua_setfield(L, -2, "resent");
    return 1;
}

static int c_rjob_cancel(lua_State *L)
{
    wlua_rjob *j = rjob_get(L, 1);
    pthread_mutex_lock(&j->mu);
    j->dropped = 1; /* no resend after this */
    int n = j->natt;
    weft_djob_t *att[3];
    memcpy(att, j->att, sizeof att);
    pthread_mutex_unlock(&j->mu);
    for (int i = 0; i < n; i++)
        weft_djob_cancel(att[i]);
    return 0;
}

/* remote_request(flags, name, src, args...) -> bytes: a "weft.lua"
 * request, as cl:submit makes them (for tests and other clients). */
static int c_remote_request(lua_State *L)
{
    lua_Integer flags = luaL_checkinteger(L, 1);
    size_t name_len, src_len;
    const char *name = luaL_checklstring(L, 2, &name_len);
    const char *src = luaL_checklstring(L, 3, &src_len);
    char err[WLUA_ERRMAX];
    wlua_buf args = {0}, req = {0};
    if (wlua_encode(L, 4, lua_gettop(L) - 3, "argument", 1, WLUA_TO_WORKER, &args, err,
                    sizeof err)) {
        wlua_buf_free(&args);
        return luaL_error(L, "weft: %s", err);
    }
    int rc = wlua_request_build(&req, (unsigned)flags & 0xff, name, name_len, src, src_len,
                                args.data, args.len, NULL);
    wlua_buf_free(&args);
    if (rc) {
        wlua_buf_free(&req);
        return luaL_error(L, "weft: cannot make the request (chunk name of 1..%d bytes, source "
                             "under %d MiB)",
                          WLUA_REMOTE_NAME_MAX, (int)(WLUA_REMOTE_SRC_MAX >> 20));
    }
    lua_pushlstring(L, req.data, req.len);
    wlua_buf_free(&req);
    return 1;
}

static const luaL_Reg cluster_fns[] = {
    {"cl_new", c_cl_new},
    {"cl_close", c_cl_close},
    {"cl_closed", c_cl_closed},
    {"cl_wait_nodes", c_cl_wait_nodes},
    {"cl_stats", c_cl_stats},
    {"cl_stats_text", c_cl_stats_text},
    {"cl_submit", c_cl_submit},
    {"cl_run_task", c_cl_run_task},
    {"rjob_wait", c_rjob_wait},
    {"rjob_done", c_rjob_done},
    {"rjob_info", c_rjob_info},
    {"rjob_cancel", c_rjob_cancel},
    {"rjob_close", rjob_gc},
    {"remote_request", c_remote_request},
    {NULL, NULL},
};

void wlua_cluster_open(lua_State *L, int core)
{
    core = lua_absindex(L, core);
    luaL_newmetatable(L, CLUSTER_MT);
    lua_pushcfunction(L, c_cl_close);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "weft internal object");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    luaL_newmetatable(L, RJOB_MT);
    lua_pushcfunction(L, rjob_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "weft internal object");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    lua_pushvalue(L, core);
    luaL_setfuncs(L, cluster_fns, 0);
    lua_pop(L, 1);
    lua_pushinteger(L, WLUA_REMOTE_F_SOURCE);
    lua_setfield(L, core, "REMOTE_SOURCE");
    lua_pushinteger(L, WLUA_REMOTE_F_ERRVAL);
    lua_setfield(L, core, "REMOTE_ERRVAL");
    lua_pushinteger(L, WLUA_REMOTE_MISS);
    lua_setfield(L, core, "REMOTE_MISS");
    lua_pushinteger(L, WLUA_REMOTE_ERROR);
    lua_setfield(L, core, "REMOTE_ERROR");
    lua_pushinteger(L, WLUA_REMOTE_BADREQ);
    lua_setfield(L, core, "REMOTE_BADREQ");
}
