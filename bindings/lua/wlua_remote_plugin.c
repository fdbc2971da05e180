/* wlua_remote_plugin.c: the weftd plugin that runs Lua code sent by
 * clients (build target weft_lua_plugin, libweft_lua_plugin.so):
 *
 *     weftd --load build/bindings/lua/libweft_lua_plugin.so
 *
 * registers the named task "weft.lua" (wlua_remote.c; the request and
 * answer formats are in wlua.h, "Remote tasks"). Each worker thread of the
 * node gets a lua_State of its own on its first Lua task, with the standard
 * libraries and the worker-side weft table (weft.spawn, weft.wait_all,
 * weft.cancelled, weft.clock), exactly as the Lua module's workers do:
 * the plugin carries the same worker code (wlua_worker.c) and its own copy
 * of the Lua core (liblua5.4), since weftd has none. Code is loaded from
 * source text only (mode "t").
 *
 * The Lua module registers "weft.lua" itself too (for a cluster's local
 * workers); in a process that loads both, the one registered last runs
 * the tasks, and either does the same. */
#include "wlua.h"

#if defined(__GNUC__)
#define PLUGIN_API __attribute__((visibility("default")))
#else
#define PLUGIN_API
#endif

PLUGIN_API int weft_plugin_init(void);
PLUGIN_API int weft_plugin_init(void)
{
    return weft_task_register(WLUA_REMOTE_TASK, wlua_remote_run, NULL);
}
