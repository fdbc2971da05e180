/* fuzz_lua_codec: libFuzzer harness of the bytes-to-Lua decoders that
 * remote Lua tasks expose to the network: the value decoder (wlua_decode,
 * bindings/lua/wlua_codec.c) and the "weft.lua" request parser
 * (wlua_request_parse, bindings/lua/wlua_remote.c). The first input byte
 * picks one:
 * - even: the rest is a value sequence. A sequence that decodes must
 *   encode again (every decoded value is copyable), and that encoding
 *   must decode to as many values.
 * - odd: the rest is a request. A request that parses must point inside
 *   the bytes it was given, and its arguments are decoded as above.
 * One lua_State serves every input; each decode runs under lua_pcall (a
 * memory error is a Lua error) and the stack is emptied after it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "wlua.h"

typedef struct input {
    const char *p;
    size_t n;
    int values; /* decoded count, or -1 */
} input;

static int decode_body(lua_State *L)
{
    input *in = lua_touserdata(L, 1);
    lua_settop(L, 0);
    char err[WLUA_ERRMAX];
    int n = wlua_decode(L, in->p, in->n, err, sizeof err);
    in->values = n;
    if (n < 0) {
        if (lua_gettop(L) != 0 || !err[0])
            abort(); /* a failure leaves nothing pushed and says why */
        return 0;
    }
    if (lua_gettop(L) != n)
        abort();
    wlua_buf b = {0};
    if (wlua_encode(L, 1, n, "value", 1, WLUA_FROM_WORKER, &b, err, sizeof err) != 0)
        abort(); /* decoded values are always copyable */
    lua_settop(L, 0);
    int again = wlua_decode(L, b.data, b.len, err, sizeof err);
    wlua_buf_free(&b);
    if (again != n)
        abort();
    lua_settop(L, 0);
    return 0;
}

static void decode(lua_State *L, const char *p, size_t n)
{
    input in = {p, n, -1};
    lua_pushcfunction(L, decode_body);
    lua_pushlightuserdata(L, &in);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) { /* out of memory only */
        if (!lua_isstring(L, -1))
            abort();
    }
    lua_settop(L, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lua_State *L;
    if (!L && !(L = luaL_newstate()))
        abort();
    if (size < 1 || size > (1 << 20))
        return 0;
    size_t n = size - 1;
    char *p = malloc(n ? n : 1); /* exact size: ASan sees any overread */
    if (!p)
        return 0;
    memcpy(p, data + 1, n);
    if (data[0] & 1) {
        wlua_request r;
        char err[WLUA_ERRMAX];
        if (wlua_request_parse(p, n, &r, err, sizeof err) == 0) {
            const char *end = p + n;
            if (r.args < p || r.args + r.args_len != end || !r.key ||
                (const char *)r.key + WLUA_REMOTE_KEY > end)
                abort();
            if ((r.flags & WLUA_REMOTE_F_SOURCE) &&
                (!r.name || r.name < p || r.name + r.name_len > end || r.src < p ||
                 r.src + r.src_len > r.args))
                abort();
            decode(L, r.args, r.args_len);
        } else if (!err[0]) {
            abort();
        }
    } else {
        decode(L, p, n);
    }
    free(p);
    return 0;
}
