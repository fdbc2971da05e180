/* wlua_code.c: task code: a Lua function checked and dumped to bytecode
 * once (wlua_code), for the script's tasks (wlua_core.c) and for the tasks
 * a task spawns (wlua_worker.c). See wlua.h for what may travel. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wlua.h"

void wlua_code_release(wlua_code *c)
{
    if (c && --c->refs == 0)
        free(c);
}

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
    (void)L;
    return wlua_buf_put(ud, p, sz) ? 1 : 0;
}

/* Formats a message into err; returns NULL (for wlua_code_prepare). */
static wlua_code *prep_fail(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
    return NULL;
}

/* Its upvalues must each hold the global table (_ENV, or a local alias of
 * _G), the function itself (a recursive local function) or the weft
 * module: a worker has its own of each, and nothing else of the sender. */
wlua_code *wlua_code_prepare(lua_State *L, int idx, char *err, size_t errsz)
{
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 4, "prepare");
    if (lua_iscfunction(L, idx))
        return prep_fail(err, errsz,
                         "weft: cannot send the task function: C functions (like print or "
                         "math.floor) have no Lua code to copy; call them from a Lua function");
    lua_Debug ar;
    lua_pushvalue(L, idx);
    lua_getinfo(L, ">S", &ar);
    char where[128];
    snprintf(where, sizeof where, "%s:%d", ar.short_src, ar.linedefined);
    uint64_t genv = 0, self = 0, mod = 0;
    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, WLUA_MODULE_KEY);
    int m = lua_gettop(L);
    for (int i = 1;; i++) {
        const char *name = lua_getupvalue(L, idx, i);
        if (!name)
            break;
        uint64_t *mask = NULL;
        if (lua_rawequal(L, -1, g))
            mask = &genv;
        else if (lua_rawequal(L, -1, idx))
            mask = &self;
        else if (!lua_isnil(L, m) && lua_rawequal(L, -1, m))
            mask = &mod;
        lua_pop(L, 1);
        if (mask && i <= 64) {
            *mask |= (uint64_t)1 << (i - 1);
            continue;
        }
        lua_pop(L, 2);
        if (strcmp(name, "_ENV") == 0)
            return prep_fail(err, errsz,
                             "weft: cannot send the task function (%s): its _ENV is not the "
                             "global environment",
                             where);
        return prep_fail(err, errsz,
                         "weft: cannot send the task function (%s): it uses upvalue '%s' (a "
                         "local variable of an enclosing function); pass the value as an "
                         "argument",
                         where, name[0] ? name : "?");
    }
    lua_pop(L, 2);
    wlua_buf b = {0};
    lua_pushvalue(L, idx);
    int rc = lua_dump(L, dump_writer, &b, 0);
    lua_pop(L, 1);
    wlua_code *c = rc == 0 ? malloc(sizeof *c + b.len) : NULL;
    if (!c) {
        wlua_buf_free(&b);
        return prep_fail(err, errsz, "weft: cannot dump the task function (%s): out of memory",
                         where);
    }
    c->refs = 1;
    c->genv_mask = genv;
    c->self_mask = self;
    c->weft_mask = mod;
    snprintf(c->where, sizeof c->where, "%s", where);
    c->len = b.len;
    memcpy(c->bytes, b.data, b.len);
    wlua_buf_free(&b);
    return c;
}
