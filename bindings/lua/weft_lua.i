/* weft_lua.i: the Lua part of weft.i (included under SWIGLUA).
 *
 * weft.i binds the plain C API for Lua as for Python: the error codes and
 * node statuses as constants, and functions on graph and run pointers that
 * raise a Lua error for a negative code. What cannot be shared with Python
 * is written by hand, because it works on Lua values in more than one
 * lua_State:
 * - wlua_codec.c, wlua_code.c, wlua_worker.c and wlua_core.c (see wlua.h
 *   for the design);
 * - weft.lua, the idiomatic API (runtimes, jobs, callbacks, groups, map,
 *   graphs, runs), embedded at build time and run here with the module
 *   table and the private C primitives, which stay out of the module. It
 *   takes weft.i's graph and run functions out of the module too: they
 *   take the C pointers that only graph_ptr and run_ptr below hand out. */

%wrapper %{
/* graph_ptr(graph object) -> its weft_graph_t, for weft.i's functions;
 * run_ptr(run object) -> its weft_run_t. Neither owns what it points to:
 * weft.lua uses them only while the object is open. */
static int wlua_swig_graph_ptr(lua_State *L) {
    SWIG_NewPointerObj(L, wlua_graph_of(L, 1), SWIGTYPE_p_weft_graph, 0);
    return 1;
}

static int wlua_swig_run_ptr(lua_State *L) {
    SWIG_NewPointerObj(L, wlua_run_of(L, 1), SWIGTYPE_p_weft_run, 0);
    return 1;
}

static const luaL_Reg wlua_swig_fns[] = {{"graph_ptr", wlua_swig_graph_ptr},
                                         {"run_ptr", wlua_swig_run_ptr},
                                         {NULL, NULL}};
%}

%init %{
  /* The module table is at the top of the stack (SWIG_init pushed it). */
  wlua_open(L, lua_gettop(L), wlua_swig_fns);
%}
