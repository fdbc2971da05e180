/* wlua_codec.c: Lua values to bytes and back (format in wlua.h).
 *
 * Values cross between lua_States as bytes, never as pointers: a worker's
 * state and the script's share nothing. The same bytes are what a graph
 * node stores as its argument and result, and what the distribution layer
 * will carry to other machines, so the format is explicit about byte order
 * and carries a version.
 *
 * What is copied: nil, booleans, integers and floats (exactly: an integer
 * stays an integer, a float keeps every bit, NaN and -0.0 included),
 * strings (any bytes, embedded zeros included) and tables of these, nested
 * up to WLUA_MAX_DEPTH levels. Keys may be any copyable value but nil/NaN.
 * Refused, with a message naming the value and where it sits: functions,
 * userdata, threads, tables with a metatable (their behaviour would not
 * travel), cyclic tables. A table reached twice without a cycle is copied
 * twice: the copy does not share it. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wlua.h"

enum { T_NIL = 0, T_FALSE = 1, T_TRUE = 2, T_INT = 3, T_FLT = 4, T_STR = 5, T_TAB = 6 };

/* ------------------------------------------------------------------ */
/* Buffers and varints                                                 */

int wlua_buf_put(wlua_buf *b, const void *p, size_t n)
{
    if (n > WLUA_MAX_BYTES - b->len)
        return -1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void wlua_buf_free(wlua_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int wlua_put_varint(wlua_buf *b, uint64_t v)
{
    unsigned char tmp[10];
    int n = 0;
    do {
        unsigned char byte = v & 0x7f;
        v >>= 7;
        tmp[n++] = (unsigned char)(byte | (v ? 0x80 : 0));
    } while (v);
    return wlua_buf_put(b, tmp, (size_t)n);
}

int wlua_get_varint(const char **p, const char *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*p >= end)
            return -1;
        unsigned char byte = (unsigned char)*(*p)++;
        if (shift == 63 && byte > 1)
            return -1; /* would overflow 64 bits */
        r |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

static int put_u64(wlua_buf *b, uint64_t v)
{
    unsigned char tmp[8];
    for (int i = 0; i < 8; i++)
        tmp[i] = (unsigned char)(v >> (8 * i));
    return wlua_buf_put(b, tmp, 8);
}

static uint64_t get_u64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)(unsigned char)p[i] << (8 * i);
    return v;
}

/* ------------------------------------------------------------------ */
/* Encoding                                                            */

typedef struct enc {
    lua_State *L;
    int visiting; /* stack slot of the table {t = true} of tables on the path */
    wlua_dir dir;
    wlua_buf *out;
    char path[200]; /* where the bad value sits, built while unwinding */
    char why[200];
    int depth;
    int cut; /* the path was too long: only its inner part is kept */
} enc;

/* Prepends s to e->path (the path is built innermost first, while the
 * recursion unwinds). A path too long to keep loses its outer part. */
static void path_prepend(enc *e, const char *s)
{
    size_t n = strlen(s), have = strlen(e->path);
    if (e->cut || n + have + 1 > sizeof e->path) {
        e->cut = 1;
        return;
    }
    memmove(e->path + n, e->path, have + 1);
    memcpy(e->path, s, n);
}

/* How the key at index k reads in a path: .name, [3], ["a b"], [true]. */
static void key_text(lua_State *L, int k, char *s, size_t sz)
{
    switch (lua_type(L, k)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, k))
            snprintf(s, sz, "[%lld]", (long long)lua_tointeger(L, k));
        else
            snprintf(s, sz, "[%.14g]", lua_tonumber(L, k));
        break;
    case LUA_TBOOLEAN:
        snprintf(s, sz, "[%s]", lua_toboolean(L, k) ? "true" : "false");
        break;
    case LUA_TSTRING: {
        size_t len;
        const char *str = lua_tolstring(L, k, &len);
        int ident = len > 0 && len <= 40 && !(str[0] >= '0' && str[0] <= '9');
        for (size_t i = 0; ident && i < len; i++) {
            char c = str[i];
            ident = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_';
        }
        if (ident)
            snprintf(s, sz, ".%s", str);
        else {
            char tmp[48];
            size_t j = 0;
            for (size_t i = 0; i < len && j + 5 < sizeof tmp; i++) {
                unsigned char c = (unsigned char)str[i];
                if (c >= 32 && c < 127 && c != '"' && c != '\\')
                    tmp[j++] = (char)c;
                else
                    j += (size_t)snprintf(tmp + j, sizeof tmp - j, "\\%u", c);
            }
            tmp[j] = '\0';
            snprintf(s, sz, "[\"%s%s\"]", tmp, j + 5 >= sizeof tmp ? "..." : "");
        }
        break;
    }
    default:
        snprintf(s, sz, "[%s key]", luaL_typename(L, k));
        break;
    }
}

static int fail(enc *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->why, sizeof e->why, fmt, ap);
    va_end(ap);
    return -1;
}

static int enc_value(enc *e, int idx);

static int enc_table(enc *e, int idx)
{
    lua_State *L = e->L;
    if (lua_getmetatable(L, idx)) {
        lua_pop(L, 1);
        return fail(e, "tables with a metatable cannot be %s (only plain data is copied)",
                    e->dir == WLUA_TO_WORKER ? "sent to a worker" : "sent back from a worker");
    }
    if (e->depth >= WLUA_MAX_DEPTH)
        return fail(e, "tables nested deeper than %d levels cannot be copied", WLUA_MAX_DEPTH);
    lua_pushvalue(L, idx);
    if (lua_rawget(L, e->visiting) != LUA_TNIL) {
        lua_pop(L, 1);
        return fail(e, "the table contains itself (cyclic tables cannot be copied)");
    }
    lua_pop(L, 1);
    if (!lua_checkstack(L, 8))
        return fail(e, "out of Lua stack space");
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, e->visiting);
    e->depth++;

    /* the array part: keys 1..n with non-nil values */
    lua_Integer n = 0;
    while (lua_rawgeti(L, idx, n + 1) != LUA_TNIL) {
        lua_pop(L, 1);
        n++;
    }
    lua_pop(L, 1);
    /* the other keys */
    uint64_t m = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!(lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 && lua_tointeger(L, -1) <= n))
            m++;
    }
    unsigned char tag = T_TAB;
    if (wlua_buf_put(e->out, &tag, 1) || wlua_put_varint(e->out, (uint64_t)n))
        return fail(e, "the encoded value is too large (over %zu bytes)", (size_t)WLUA_MAX_BYTES);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        int rc = enc_value(e, lua_gettop(L));
        lua_pop(L, 1);
        if (rc) {
            char k[32];
            snprintf(k, sizeof k, "[%lld]", (long long)i);
            path_prepend(e, k);
            return -1;
        }
    }
    if (wlua_put_varint(e->out, m))
        return fail(e, "the encoded value is too large (over %zu bytes)", (size_t)WLUA_MAX_BYTES);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int key = lua_gettop(L) - 1, val = key + 1;
        if (lua_isinteger(L, key) && lua_tointeger(L, key) >= 1 && lua_tointeger(L, key) <= n) {
            lua_pop(L, 1);
            continue;
        }
        char k[64];
        if (enc_value(e, key)) {
            size_t w = strlen(e->why);
            snprintf(e->why + w, sizeof e->why - w, " (used as a table key)");
            lua_pop(L, 2);
            return -1;
        }
        if (enc_value(e, val)) {
            key_text(L, key, k, sizeof k);
            path_prepend(e, k);
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    e->depth--;
    lua_pushvalue(L, idx);
    lua_pushnil(L);
    lua_rawset(L, e->visiting);
    return 0;
}

static int enc_value(enc *e, int idx)
{
    lua_State *L = e->L;
    unsigned char tag;
    int rc = 0;
    const char *dest = e->dir == WLUA_TO_WORKER ? "sent to a worker" : "sent back from a worker";
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        tag = T_NIL;
        rc = wlua_buf_put(e->out, &tag, 1);
        break;
    case LUA_TBOOLEAN:
        tag = lua_toboolean(L, idx) ? T_TRUE : T_FALSE;
        rc = wlua_buf_put(e->out, &tag, 1);
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            tag = T_INT;
            rc = wlua_buf_put(e->out, &tag, 1) || put_u64(e->out, (uint64_t)lua_tointeger(L, idx));
        } else {
            double d = (double)lua_tonumber(L, idx);
            uint64_t bits;
            memcpy(&bits, &d, 8);
            tag = T_FLT;
            rc = wlua_buf_put(e->out, &tag, 1) || put_u64(e->out, bits);
        }
        break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        tag = T_STR;
        rc = wlua_buf_put(e->out, &tag, 1) || wlua_put_varint(e->out, len) ||
             wlua_buf_put(e->out, s, len);
        break;
    }
    case LUA_TTABLE:
        return enc_table(e, idx);
    case LUA_TFUNCTION:
        return fail(e, "function values cannot be %s%s", dest,
                    e->dir == WLUA_TO_WORKER ? " (define functions inside the task)" : "");
    case LUA_TUSERDATA:
    case LUA_TLIGHTUSERDATA:
        return fail(e, "userdata values cannot be %s", dest);
    case LUA_TTHREAD:
        return fail(e, "coroutines (thread values) cannot be %s", dest);
    default:
        return fail(e, "%s values cannot be %s", luaL_typename(L, idx), dest);
    }
    if (rc)
        return fail(e, "the encoded value is too large (over %zu bytes)", (size_t)WLUA_MAX_BYTES);
    return 0;
}

int wlua_encode(lua_State *L, int first, int n, const char *what, int base, wlua_dir dir,
              wlua_buf *out, char *err, size_t errsz)
{
    first = lua_absindex(L, first);
    if (n > WLUA_MAX_VALUES) {
        snprintf(err, errsz, "cannot copy %d %ss: at most %d travel together", n, what,
                 WLUA_MAX_VALUES);
        return -1;
    }
    if (!lua_checkstack(L, 16)) {
        snprintf(err, errsz, "cannot copy %ss: out of Lua stack space", what);
        return -1;
    }
    lua_newtable(L);
    enc e = {.L = L, .visiting = lua_gettop(L), .dir = dir, .out = out};
    if (wlua_buf_put(out, WLUA_MAGIC, WLUA_MAGIC_LEN) || wlua_put_varint(out, (uint64_t)n)) {
        lua_pop(L, 1);
        snprintf(err, errsz, "cannot copy %ss: out of memory", what);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        e.path[0] = '\0';
        e.depth = 0;
        e.cut = 0;
        if (enc_value(&e, first + i)) {
            lua_settop(L, e.visiting - 1);
            if (e.path[0])
                snprintf(err, errsz, "cannot copy %s %d (at %s%s): %s", what, base + i,
                         e.cut ? "..." : "", e.path, e.why);
            else
                snprintf(err, errsz, "cannot copy %s %d: %s", what, base + i, e.why);
            return -1;
        }
    }
    lua_pop(L, 1);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */

typedef struct dec {
    lua_State *L;
    const char *p, *end;
    int depth;
    char *err;
    size_t errsz;
} dec;

static int bad(dec *d, const char *what)
{
    snprintf(d->err, d->errsz, "malformed value bytes: %s", what);
    return -1;
}

static int dec_value(dec *d)
{
    lua_State *L = d->L;
    if (d->p >= d->end)
        return bad(d, "truncated");
    if (!lua_checkstack(L, 4))
        return bad(d, "out of Lua stack space");
    unsigned char tag = (unsigned char)*d->p++;
    switch (tag) {
    case T_NIL:
        lua_pushnil(L);
        return 0;
    case T_FALSE:
    case T_TRUE:
        lua_pushboolean(L, tag == T_TRUE);
        return 0;
    case T_INT:
    case T_FLT:
        if (d->end - d->p < 8)
            return bad(d, "truncated number");
        if (tag == T_INT)
            lua_pushinteger(L, (lua_Integer)get_u64(d->p));
        else {
            uint64_t bits = get_u64(d->p);
            double x;
            memcpy(&x, &bits, 8);
            lua_pushnumber(L, (lua_Number)x);
        }
        d->p += 8;
        return 0;
    case T_STR: {
        uint64_t len;
        if (wlua_get_varint(&d->p, d->end, &len) || len > (uint64_t)(d->end - d->p))
            return bad(d, "string longer than the bytes left");
        lua_pushlstring(L, d->p, (size_t)len);
        d->p += len;
        return 0;
    }
    case T_TAB: {
        uint64_t n, m;
        if (d->depth >= WLUA_MAX_DEPTH)
            return bad(d, "tables nested too deep");
        /* every value takes at least one byte: a count larger than the
         * bytes left is malformed, checked before allocating */
        if (wlua_get_varint(&d->p, d->end, &n) || n > (uint64_t)(d->end - d->p))
            return bad(d, "array longer than the bytes left");
        lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
        d->depth++;
        for (uint64_t i = 1; i <= n; i++) {
            if (dec_value(d))
                return -1;
            lua_rawseti(L, -2, (lua_Integer)i);
        }
        if (wlua_get_varint(&d->p, d->end, &m) || m > (uint64_t)(d->end - d->p) / 2)
            return bad(d, "more keys than the bytes left");
        for (uint64_t i = 0; i < m; i++) {
            if (dec_value(d))
                return -1;
            if (lua_isnil(L, -1) || (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1) &&
                                     isnan((double)lua_tonumber(L, -1))))
                return bad(d, "nil or NaN table key");
            if (dec_value(d))
                return -1;
            lua_rawset(L, -3);
        }
        d->depth--;
        return 0;
    }
    default:
        return bad(d, "unknown value tag");
    }
}

int wlua_is_encoded(const char *p, size_t len)
{
    return p && len >= WLUA_MAGIC_LEN && memcmp(p, WLUA_MAGIC, WLUA_MAGIC_LEN) == 0;
}

int wlua_decode(lua_State *L, const char *p, size_t len, char *err, size_t errsz)
{
    int top = lua_gettop(L);
    dec d = {.L = L, .p = p, .end = p + len, .err = err, .errsz = errsz};
    uint64_t n;
    if (!wlua_is_encoded(p, len)) {
        snprintf(err, errsz, "malformed value bytes: not weft's Lua value format (version 1)");
        return -1;
    }
    d.p += WLUA_MAGIC_LEN;
    if (wlua_get_varint(&d.p, d.end, &n) || n > (uint64_t)(d.end - d.p) || n > WLUA_MAX_VALUES) {
        snprintf(err, errsz, "malformed value bytes: bad value count");
        return -1;
    }
    if (!lua_checkstack(L, (int)n + 8)) {
        snprintf(err, errsz, "too many values (%llu) for the Lua stack", (unsigned long long)n);
        return -1;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (dec_value(&d)) {
            lua_settop(L, top);
            return -1;
        }
    }
    if (d.p != d.end) {
        lua_settop(L, top);
        snprintf(err, errsz, "malformed value bytes: %zu bytes left over",
                 (size_t)(d.end - d.p));
        return -1;
    }
    return (int)n;
}
