/* weft.i: the one SWIG interface for every language weft speaks.
 *
 * What is bound here, for Python and Lua alike, is the plain part of the C
 * API, the part that needs no callbacks: error codes and node statuses as
 * constants, error and status names, the version and CPU counts, reading a
 * graph (name, counts, node names and tasks, edges, find, check), adding
 * edges, graph files and dot, the records of runs (statuses, node codes
 * and times, counts, cancel, statistics, traces, run files, where nodes
 * ran), the placement of named-task nodes, and the task
 * registry's removal. One rule turns a failure into the language's error
 * for every one of them: an out typemap on the status type (weft_rc,
 * below) raises when a call returns a negative code, with weft_strerror's
 * message and weft_error_detail()'s detail. Python gets the exception
 * class weft/__init__.py maps the code to (ValueError and MemoryError
 * subclasses, weft.Error), Lua a Lua error.
 *
 * Graphs and runs are made, owned and freed by each language's own
 * objects (a Python graph keeps its nodes' callables beside the C graph,
 * a Lua graph its subgraphs' order of freeing), which hand these
 * functions their weft_graph_t and weft_run_t pointers. What cannot be
 * shared is written by hand behind each language's #ifdef: how a script
 * function becomes a task (the GIL-aware job queue and node callbacks for
 * Python, one lua_State per worker and value copying for Lua), and the
 * idiomatic layer written in the language itself (weft/__init__.py,
 * weft.lua) on top of all this. */
#if defined(SWIGPYTHON)
%module(package="weft", moduleimport="from . import _core") core
#else
%module weft
#endif

%{
#include <string.h>
#include <weft.h>

/* The status type of the plain API: 0 or a negative weft code. The
 * wrapper raises for a negative one and returns nothing of it (only the
 * call's outputs). */
typedef int weft_rc;
/* A value (a node status) or a negative weft code: the wrapper raises for
 * a negative one and returns the value otherwise. */
typedef int weft_rcval;

/* Every weft code, in WEFT_ERRNO_MAP's order, then 0: weft_err_code(i). */
static const int weft_swig_codes[] = {
#define WEFT_SWIG_CODE_(name, val, msg) WEFT_##name,
    WEFT_ERRNO_MAP(WEFT_SWIG_CODE_)
#undef WEFT_SWIG_CODE_
    0};

/* The i-th weft error code (from 0), 0 past the last: what the languages
 * build their tables of codes from. */
static int weft_err_code(int i) {
    return i >= 0 && (size_t)i < sizeof weft_swig_codes / sizeof weft_swig_codes[0]
               ? weft_swig_codes[i]
               : 0;
}

/* Returns code: through weft_rc's typemap, the error any call failing
 * with that code raises (Python: weft.core._check_code, Lua:
 * weft.check_code). */
static int weft_check_code(int code) { return code; }

/* The detail message as it was before the wrapped call: a call that
 * fails without setting one leaves an older message, which must not be
 * reported as this call's (weft/common.h). */
static _Thread_local char weft_swig_before[WEFT_DETAIL_MAX];

static void weft_swig_mark(void) {
    const char *d = weft_error_detail();
    size_t n = strlen(d);
    if (n >= sizeof weft_swig_before) n = sizeof weft_swig_before - 1;
    memcpy(weft_swig_before, d, n);
    weft_swig_before[n] = '\0';
}

/* The failed call's own detail message, or NULL. */
static const char *weft_swig_detail(void) {
    const char *d = weft_error_detail();
    return *d && strcmp(d, weft_swig_before) != 0 ? d : NULL;
}
%}

/* ------------------------------------------------------------------ */
/* Constants                                                           */

/* Error codes, generated from the C table: one constant per entry of
 * WEFT_ERRNO_MAP (EINVAL = -1, ...), expanded here from the macro itself,
 * and weft_err_code(i) over the same table, so a new code needs no edit
 * here nor in either language. The three functions of weft/common.h come
 * first: SWIG wraps a function where it first sees it, and what it sees in
 * an imported header it does not wrap. */
const char *weft_strerror(int err);
const char *weft_err_name(int err);
const char *weft_version(void);
%import "weft/common.h"
#define WEFT_SWIG_CONST_(name, val, msg) %constant int name = val;
WEFT_ERRNO_MAP(WEFT_SWIG_CONST_)
#undef WEFT_SWIG_CONST_
%constant int OK = 0;
int weft_err_code(int i);

/* Node statuses: the six values of weft_node_status_t (graph.h), which
 * graph files and run files spell out too, so they do not grow. */
%constant int NODE_PENDING = WEFT_NODE_PENDING;
%constant int NODE_DONE = WEFT_NODE_DONE;
%constant int NODE_FAILED = WEFT_NODE_FAILED;
%constant int NODE_SKIPPED = WEFT_NODE_SKIPPED;
%constant int NODE_CANCELLED = WEFT_NODE_CANCELLED;
%constant int NODE_RUNNING = WEFT_NODE_RUNNING;

/* Placements of named-task nodes (weft_place_t, graph.h). */
%constant int PLACE_ANY = WEFT_PLACE_ANY;
%constant int PLACE_LOCAL = WEFT_PLACE_LOCAL;
%constant int PLACE_NODE = WEFT_PLACE_NODE;

/* ------------------------------------------------------------------ */
/* Types and the one error rule                                        */

typedef struct weft_graph weft_graph_t;
typedef struct weft_run weft_run_t;
typedef unsigned int weft_node_t;
typedef int weft_rc;
typedef int weft_rcval;
typedef struct weft_node_origin weft_node_origin_t;

#if defined(SWIGPYTHON)
%{
#include "wpy.h"

/* An output's Python value, by its C type (the argout typemaps below). */
#define WEFT_SWIG_PY_weft_node_t(v) PyLong_FromUnsignedLong(v)
#define WEFT_SWIG_PY_int(v) PyLong_FromLong(v)
#define WEFT_SWIG_PY_double(v) PyFloat_FromDouble(v)
%}
/* Every wrapped call: the detail message is marked before it; the
 * hand-written functions of weft_python.i fail by setting an exception. */
%exception {
    weft_swig_mark();
    $action
    if (PyErr_Occurred()) SWIG_fail;
}
%typemap(out) weft_rc {
    if ($1 < 0) {
        wpy_raise($1, weft_swig_detail());
        SWIG_fail;
    }
    $result = SWIG_Py_Void();
}
%typemap(out) weft_rcval {
    if ($1 < 0) {
        wpy_raise($1, weft_swig_detail());
        SWIG_fail;
    }
    $result = PyLong_FromLong($1);
}
%typemap(in, numinputs=0) weft_node_t *OUT (weft_node_t tmp = WEFT_NODE_NONE),
                          int *OUT (int tmp = 0), double *OUT (double tmp = 0) {
    $1 = &tmp;
}
%typemap(argout) weft_node_t *OUT, int *OUT, double *OUT {
    PyObject *o = WEFT_SWIG_PY_$*1_type(*$1);
    if (!o) SWIG_fail;
    $result = SWIG_Python_AppendOutput($result, o);
}
/* Text a _buf writer made: a str (invalid UTF-8 replaced). */
%typemap(in, numinputs=0) weft_buf_t *OUT (weft_buf_t tmp = {NULL, 0}) { $1 = &tmp; }
%typemap(argout) weft_buf_t *OUT {
    PyObject *s = PyUnicode_DecodeUTF8($1->data ? $1->data : "", (Py_ssize_t)$1->len, "replace");
    if (!s) SWIG_fail;
    $result = SWIG_Python_AppendOutput($result, s);
}
%typemap(freearg) weft_buf_t *OUT { weft_buf_free($1); }
/* A run's counts: a dict (first_failed None when no node failed). */
%typemap(in, numinputs=0) weft_run_counts_t *OUT (weft_run_counts_t tmp) { $1 = &tmp; }
%typemap(argout) weft_run_counts_t *OUT {
    PyObject *ff = $1->first_failed == WEFT_NODE_NONE ? Py_NewRef(Py_None)
                                                      : PyLong_FromUnsignedLong($1->first_failed);
    PyObject *d = ff ? Py_BuildValue("{sKsKsKsKsKsNsisd}", "total", (unsigned long long)$1->total,
                                     "done", (unsigned long long)$1->done, "failed",
                                     (unsigned long long)$1->failed, "skipped",
                                     (unsigned long long)$1->skipped, "cancelled",
                                     (unsigned long long)$1->cancelled, "first_failed", ff,
                                     "first_code", $1->first_code, "wall_s", $1->wall_s)
                     : NULL;
    if (!d) SWIG_fail;
    $result = SWIG_Python_AppendOutput($result, d);
}
/* A string the call points at (valid while its graph lives): a str, or
 * None for NULL. */
%typemap(in, numinputs=0) const char **OUT (const char *tmp = NULL) { $1 = ($1_ltype)&tmp; }
%typemap(argout) const char **OUT {
    PyObject *s = *$1 ? PyUnicode_DecodeUTF8(*$1, (Py_ssize_t)strlen(*$1), "replace") : Py_NewRef(Py_None);
    if (!s) SWIG_fail;
    $result = SWIG_Python_AppendOutput($result, s);
}
/* Where a node ran: a dict. */
%typemap(in, numinputs=0) weft_node_origin_t *OUT (weft_node_origin_t tmp) { $1 = &tmp; }
%typemap(argout) weft_node_origin_t *OUT {
    PyObject *m = PyUnicode_DecodeUTF8($1->machine, (Py_ssize_t)strlen($1->machine), "replace");
    PyObject *d = m ? Py_BuildValue("{sNsisisdsdsdsKsK}", "machine", m, "worker", $1->worker, "attempts",
                                    $1->attempts, "lost_s", $1->lost_s, "start_s", $1->start_s, "end_s",
                                    $1->end_s, "bytes_sent", (unsigned long long)$1->bytes_sent,
                                    "bytes_received", (unsigned long long)$1->bytes_received)
                    : NULL;
    if (!d) SWIG_fail;
    $result = SWIG_Python_AppendOutput($result, d);
}

#elif defined(SWIGLUA)
%{
#include "wlua.h"

/* Pushes "weft: <message>[: <detail>] (<name>)", the message of every
 * Lua error the plain API raises. */
static void weft_swig_push_error(lua_State *L, int code) {
    const char *d = weft_swig_detail();
    lua_pushfstring(L, "weft: %s%s%s (%s)", weft_strerror(code), d ? ": " : "", d ? d : "",
                    weft_err_name(code));
}
%}
%exception {
    weft_swig_mark();
    $action
}
%typemap(out) weft_rc {
    if ($1 < 0) {
        weft_swig_push_error(L, $1);
        SWIG_fail;
    }
}
%typemap(out) weft_rcval {
    if ($1 < 0) {
        weft_swig_push_error(L, $1);
        SWIG_fail;
    }
    lua_pushinteger(L, $1);
    SWIG_arg++;
}
/* Lua 5.4 has integers: C integers come back as integers, not floats. */
%typemap(out) int, unsigned int, size_t, weft_node_t {
    lua_pushinteger(L, (lua_Integer)$1);
    SWIG_arg++;
}
%typemap(in, numinputs=0) weft_node_t *OUT (weft_node_t tmp = WEFT_NODE_NONE),
                          int *OUT (int tmp = 0), double *OUT (double tmp = 0) {
    $1 = &tmp;
}
%typemap(argout) weft_node_t *OUT, int *OUT {
    lua_pushinteger(L, (lua_Integer)*$1);
    SWIG_arg++;
}
%typemap(argout) double *OUT {
    lua_pushnumber(L, *$1);
    SWIG_arg++;
}
%typemap(in, numinputs=0) weft_buf_t *OUT (weft_buf_t tmp = {NULL, 0}) { $1 = &tmp; }
%typemap(argout) weft_buf_t *OUT {
    lua_pushlstring(L, $1->data ? $1->data : "", $1->len);
    SWIG_arg++;
}
%typemap(freearg) weft_buf_t *OUT { weft_buf_free($1); }
/* A run's counts: a table (first_failed and first_code only when a node
 * failed). */
%typemap(in, numinputs=0) weft_run_counts_t *OUT (weft_run_counts_t tmp) { $1 = &tmp; }
%typemap(argout) weft_run_counts_t *OUT {
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, (lua_Integer)$1->total);
    lua_setfield(L, -2, "total");
    lua_pushinteger(L, (lua_Integer)$1->done);
    lua_setfield(L, -2, "done");
    lua_pushinteger(L, (lua_Integer)$1->failed);
    lua_setfield(L, -2, "failed");
    lua_pushinteger(L, (lua_Integer)$1->skipped);
    lua_setfield(L, -2, "skipped");
    lua_pushinteger(L, (lua_Integer)$1->cancelled);
    lua_setfield(L, -2, "cancelled");
    if ($1->first_failed != WEFT_NODE_NONE) {
        lua_pushinteger(L, (lua_Integer)$1->first_failed);
        lua_setfield(L, -2, "first_failed");
        lua_pushinteger(L, $1->first_code);
        lua_setfield(L, -2, "first_code");
    }
    lua_pushnumber(L, $1->wall_s);
    lua_setfield(L, -2, "wall_s");
    SWIG_arg++;
}
/* A string the call points at: a string, or nil for NULL. */
%typemap(in, numinputs=0) const char **OUT (const char *tmp = NULL) { $1 = ($1_ltype)&tmp; }
%typemap(argout) const char **OUT {
    if (*$1) lua_pushstring(L, *$1);
    else lua_pushnil(L);
    SWIG_arg++;
}
/* Where a node ran: a table. */
%typemap(in, numinputs=0) weft_node_origin_t *OUT (weft_node_origin_t tmp) { $1 = &tmp; }
%typemap(argout) weft_node_origin_t *OUT {
    lua_createtable(L, 0, 8);
    lua_pushstring(L, $1->machine);
    lua_setfield(L, -2, "machine");
    lua_pushinteger(L, $1->worker);
    lua_setfield(L, -2, "worker");
    lua_pushinteger(L, $1->attempts);
    lua_setfield(L, -2, "attempts");
    lua_pushnumber(L, $1->lost_s);
    lua_setfield(L, -2, "lost_s");
    lua_pushnumber(L, $1->start_s);
    lua_setfield(L, -2, "start_s");
    lua_pushnumber(L, $1->end_s);
    lua_setfield(L, -2, "end_s");
    lua_pushinteger(L, (lua_Integer)$1->bytes_sent);
    lua_setfield(L, -2, "bytes_sent");
    lua_pushinteger(L, (lua_Integer)$1->bytes_received);
    lua_setfield(L, -2, "bytes_received");
    SWIG_arg++;
}
#endif

/* ------------------------------------------------------------------ */
/* The plain API                                                       */

/* Names and numbers. */
/* weft_strerror, weft_err_name, weft_version: declared above, before
 * weft/common.h is imported. */
int weft_cpu_count(void);
int weft_default_workers(void);
const char *weft_node_status_name(int status);

/* Reading a graph. A name is NULL (None, nil) for a bad node. */
const char *weft_graph_name(const weft_graph_t *g);
size_t weft_graph_node_count(const weft_graph_t *g);
size_t weft_graph_edge_count(const weft_graph_t *g);
const char *weft_graph_node_name(const weft_graph_t *g, weft_node_t node);
const char *weft_graph_node_task(const weft_graph_t *g, weft_node_t node);
/* -> node; WEFT_ENOENT raises. */
weft_rc weft_graph_find(const weft_graph_t *g, const char *name, weft_node_t *OUT);
/* -> before, after */
weft_rc weft_graph_edge(const weft_graph_t *g, size_t i, weft_node_t *OUT, weft_node_t *OUT);
/* -> code, node: 0 (node WEFT_NODE_NONE) or WEFT_ECYCLE with a node on
 * the cycle, which the idiomatic layers name; other codes raise. */
%typemap(out) int weft_graph_check {
#if defined(SWIGPYTHON)
    if ($1 < 0 && $1 != WEFT_ECYCLE) {
        wpy_raise($1, weft_swig_detail());
        SWIG_fail;
    }
    $result = PyLong_FromLong($1);
#else
    if ($1 < 0 && $1 != WEFT_ECYCLE) {
        weft_swig_push_error(L, $1);
        SWIG_fail;
    }
    lua_pushinteger(L, $1);
    SWIG_arg++;
#endif
}
int weft_graph_check(weft_graph_t *g, weft_node_t *OUT);

/* Changing a graph: the edges of a graph whose binding keeps no mirror of
 * them (Lua's; Python's GraphCore.precede keeps the inputs of its nodes). */
weft_rc weft_graph_precede(weft_graph_t *g, weft_node_t before, weft_node_t after);

/* Placement of named-task nodes (runs with an executor): where is the
 * address for PLACE_NODE, else None (nil). -> place, where */
weft_rc weft_graph_set_place(weft_graph_t *g, weft_node_t node, int place, const char *where);
weft_rcval weft_graph_place(const weft_graph_t *g, weft_node_t node, const char **OUT);

/* Graph files and dot: the file, or the text. */
weft_rc weft_graph_save_file(const weft_graph_t *g, const char *path);
weft_rc weft_graph_save_buf(const weft_graph_t *g, weft_buf_t *OUT);
weft_rc weft_graph_dot_buf(const weft_graph_t *g, const weft_run_t *run, weft_buf_t *OUT);

/* Run records. */
weft_rcval weft_run_node_status(const weft_run_t *run, weft_node_t node);
/* -> the node function's return value */
weft_rc weft_run_node_code(const weft_run_t *run, weft_node_t node, int *OUT);
/* -> start_s, end_s, worker; WEFT_ENOENT raises (not recorded, not run). */
weft_rc weft_run_node_time(const weft_run_t *run, weft_node_t node, double *OUT, double *OUT,
                           int *OUT);
weft_rc weft_run_counts(const weft_run_t *run, weft_run_counts_t *OUT);
/* -> {machine, worker, attempts, lost_s, start_s, end_s, bytes_sent,
 * bytes_received}; WEFT_ENOENT raises (the node did not run). */
weft_rc weft_run_node_origin(const weft_run_t *run, weft_node_t node, weft_node_origin_t *OUT);
weft_rc weft_run_cancel(weft_run_t *run);
int weft_run_cancelled(const weft_run_t *run);
weft_rc weft_run_print_stats_buf(const weft_run_t *run, weft_buf_t *OUT);
weft_rc weft_run_trace_buf(const weft_run_t *run, weft_buf_t *OUT);
weft_rc weft_run_save_buf(const weft_run_t *run, weft_buf_t *OUT);

/* Raises the error of weft code `code` when it is negative, by the rule
 * above (for scripts holding a code, and for the tests of the rule). */
#if defined(SWIGPYTHON)
%rename(_check_code) weft_check_code;
#else
%rename(check_code) weft_check_code;
#endif
weft_rc weft_check_code(int code);

/* The task registry (registering takes a callback: each language's own). */
weft_rc weft_task_unregister(const char *name);
weft_rc weft_tasks_register_builtin(void);
/* Loads a plugin library of named tasks (its weft_plugin_init registers
 * them). */
weft_rc weft_plugin_load(const char *path);

#if defined(SWIGPYTHON)
%include "python/weft_python.i"
#elif defined(SWIGLUA)
%include "lua/weft_lua.i"
#endif
