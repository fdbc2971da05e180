/* weft_lua.i: the Lua-specific part of weft.i (included under SWIGLUA).
 *
 * SWIG makes the module (luaopen_weft) with the common part: the error
 * codes and node statuses as constants, and the plain functions. What
 * cannot be shared with Python is written by hand, because it works on Lua
 * values in more than one lua_State:
 * - wlua_codec.c, wlua_worker.c and wlua_core.c (see wlua.h for the design);
 * - weft.lua, the idiomatic API (runtimes, jobs, callbacks, groups, map,
 *   graphs, runs), embedded at build time and run here with the module
 *   table and the private C primitives, which stay out of the module. */
%{
#include "wlua.h"
%}

%init %{
  /* The module table is at the top of the stack (SWIG_init pushed it). */
  wlua_open(L, lua_gettop(L));
%}
