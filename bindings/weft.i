/* weft.i: the one SWIG interface for every language weft speaks.
 *
 * The common part below declares what both languages share: the module,
 * the C headers, the error codes and node statuses as constants, and the
 * plain functions that need no callbacks. Each language adds, behind its
 * #ifdef, what cannot be shared: how a script function becomes a task (the
 * GIL for Python, one lua_State per worker for Lua), how errors are raised,
 * and the idiomatic layer written in the language itself. */
#if defined(SWIGPYTHON)
%module(package="weft", moduleimport="from . import _core") core
#else
%module weft
#endif

%{
#include <weft.h>
%}

/* Constants: error codes and node statuses, generated from the C tables. */
%constant int OK = 0;
%constant int EINVAL = WEFT_EINVAL;
%constant int ENOMEM = WEFT_ENOMEM;
%constant int EBUSY = WEFT_EBUSY;
%constant int EDESTROYED = WEFT_EDESTROYED;
%constant int ETASK = WEFT_ETASK;
%constant int ESYSTEM = WEFT_ESYSTEM;
%constant int EPERM = WEFT_EPERM;
%constant int ERANGE = WEFT_ERANGE;
%constant int ENOENT = WEFT_ENOENT;
%constant int EEXIST = WEFT_EEXIST;
%constant int ECANCELED = WEFT_ECANCELED;
%constant int ECYCLE = WEFT_ECYCLE;
%constant int EPARSE = WEFT_EPARSE;
%constant int EIO = WEFT_EIO;
%constant int ENOTSUP = WEFT_ENOTSUP;
%constant int ETIMEDOUT = WEFT_ETIMEDOUT;
%constant int ESTALE = WEFT_ESTALE;
%constant int NODE_PENDING = WEFT_NODE_PENDING;
%constant int NODE_DONE = WEFT_NODE_DONE;
%constant int NODE_FAILED = WEFT_NODE_FAILED;
%constant int NODE_SKIPPED = WEFT_NODE_SKIPPED;
%constant int NODE_CANCELLED = WEFT_NODE_CANCELLED;
%constant int NODE_RUNNING = WEFT_NODE_RUNNING;

/* Plain functions shared as they are. */
const char *weft_strerror(int err);
const char *weft_err_name(int err);
const char *weft_version(void);
int weft_cpu_count(void);
int weft_default_workers(void);
const char *weft_node_status_name(int status);

#if defined(SWIGPYTHON)
%include "python/weft_python.i"
#elif defined(SWIGLUA)
%include "lua/weft_lua.i"
#endif
