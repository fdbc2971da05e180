-- test_copy.lua: how values travel between the script and the workers:
-- exact copies of what can be copied, clear refusals of the rest.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local T = require "harness"
local weft = require "weft"

local rt = weft.runtime(2)

-- The identity task: what comes back went to a worker's state and back.
local function echo(...) return ... end
local function roundtrip(...) return rt:submit(echo, ...)() end

T.test("numbers stay integers or floats, exactly", function()
  local values = {0, 1, -1, 42, math.maxinteger, math.mininteger, 0.0, -0.0, 1.0, 0.5,
                  -1.5, 1e308, 5e-324, math.huge, -math.huge, 2^53, 2^63, 1/3, math.pi}
  for _, v in ipairs(values) do
    local got = roundtrip(v)
    T.eq(got, v)
    T.eq(math.type(got), math.type(v), "math.type of " .. tostring(v))
    if v == 0 and math.type(v) == "float" then
      T.eq(1 / got, 1 / v, "the sign of zero")
    end
  end
  local nan = roundtrip(0 / 0)
  T.ok(nan ~= nan, "NaN stays NaN")
  T.eq(math.type(nan), "float")
  -- the worker sees the types too
  local a, b = rt:submit(function(x, y) return math.type(x), math.type(y) end, 3, 3.0)()
  T.eq(a, "integer")
  T.eq(b, "float")
  -- and 3 == 3.0 but the copy keeps them apart
  local i, f = roundtrip(3, 3.0)
  T.eq(math.type(i), "integer")
  T.eq(math.type(f), "float")
end)

T.test("nil and booleans", function()
  local a, b, c, d = roundtrip(nil, true, false, nil)
  T.eq(a, nil); T.eq(b, true); T.eq(c, false); T.eq(d, nil)
  T.eq(select("#", roundtrip(nil, nil, nil)), 3, "trailing nils keep their count")
end)

T.test("strings with any bytes", function()
  local s = "a\0b\0\0c"
  local got = roundtrip(s)
  T.eq(got, s)
  T.eq(#got, 6)
  T.eq(rt:submit(function(x) return #x, x:byte(2) end, s)(), 6)
  local all = {}
  for i = 0, 255 do all[#all + 1] = string.char(i) end
  all = table.concat(all)
  T.eq(roundtrip(all), all)
  T.eq(roundtrip(""), "")
  local big = string.rep("xyz\0", 250000) -- 1 MB
  T.eq(roundtrip(big), big)
end)

T.test("nested tables", function()
  local t = {
    1, 2.5, "three", true, {4, {5, {6}}},
    name = "weft", [10] = "sparse", [-1] = "negative", [0] = "zero",
    [1.5] = "float key", [true] = "bool key", [false] = 0,
    nested = {deep = {deeper = {deepest = "here", list = {1, 2, 3}}}},
    ["with space"] = {["\0"] = "nul key"},
  }
  local got = roundtrip(t)
  T.same(got, t)
  T.ok(got ~= t, "a copy, not the same table")
  T.eq(math.type(got[2]), "float")
  T.eq(math.type(got[1]), "integer")
  -- holes in the array part
  local holes = {1, nil, 3, nil, nil, 6}
  local g = roundtrip(holes)
  T.eq(g[1], 1); T.eq(g[2], nil); T.eq(g[3], 3); T.eq(g[6], 6)
  -- tables as keys are copied too
  local k = roundtrip({[{1, 2}] = "table key"})
  local key = next(k)
  T.same(key, {1, 2})
  T.eq(k[key], "table key")
  -- a table reached twice (no cycle) is copied twice
  local shared = {x = 1}
  local two = roundtrip({a = shared, b = shared})
  T.same(two.a, {x = 1})
  T.same(two.b, {x = 1})
  T.ok(two.a ~= two.b, "the copy does not share it")
  -- the worker can change its copy; ours stays as it was
  local mine = {1, 2, 3}
  local theirs = rt:submit(function(x) x[1] = 100; x[4] = 4 return x end, mine)()
  T.same(mine, {1, 2, 3})
  T.same(theirs, {100, 2, 3, 4})
end)

T.test("nesting up to the depth limit", function()
  T.eq(weft.MAX_DEPTH, 100)
  local function nest(n)
    local t = {}
    local inner = t
    for _ = 2, n do inner[1] = {}; inner = inner[1] end
    inner.bottom = true
    return t
  end
  local ok = roundtrip(nest(weft.MAX_DEPTH))
  local d, x = 1, ok
  while x[1] do x = x[1]; d = d + 1 end
  T.eq(d, weft.MAX_DEPTH)
  T.eq(x.bottom, true)
  T.raises(function() rt:submit(echo, nest(weft.MAX_DEPTH + 1)) end,
           "weft: cannot copy argument 2 (at ",
           "tables nested deeper than 100 levels cannot be copied")
end)

T.test("serialize and deserialize", function()
  local bytes = weft.serialize(1, "two", {3.0})
  T.eq(type(bytes), "string")
  T.eq(bytes:sub(1, 3), "WV\1", "magic and format version")
  local a, b, c = weft.deserialize(bytes)
  T.eq(a, 1); T.eq(b, "two"); T.same(c, {3.0})
  -- little-endian, fixed layout: 1 value, integer 258
  T.eq(weft.serialize(258), "WV\1\1\3\2\1\0\0\0\0\0\0")
  T.eq(weft.serialize(), "WV\1\0")
  T.eq(select("#", weft.deserialize("WV\1\0")), 0)
  -- malformed bytes are refused, not trusted
  T.raises(function() weft.deserialize("nope") end, "not weft's Lua value format")
  T.raises(function() weft.deserialize("WV\1\1\5\200\200\200\1") end, "malformed value bytes")
  T.raises(function() weft.deserialize("WV\1\1\6\255\255\255\255\15") end, "malformed value bytes")
  T.raises(function() weft.deserialize(bytes .. "x") end, "left over")
  T.raises(function() weft.deserialize(bytes:sub(1, -2)) end, "malformed value bytes")
  T.raises(function() weft.deserialize("WV\1\1\9") end, "unknown value tag")
end)

T.test("function arguments are refused", function()
  local err = T.raises(function() rt:submit(echo, 1, print) end,
    "weft: cannot copy argument 3: function values cannot be sent to a worker")
  T.ok(err:find("^.-test_copy.lua:%d+: weft: "), "raised at the caller: " .. err)
  T.raises(function() rt:submit(echo, function() end) end,
    "weft: cannot copy argument 2: function values cannot be sent to a worker")
  T.raises(function() rt:submit(echo, {a = {b = {1, 2, function() end}}}) end,
    "weft: cannot copy argument 2 (at .a.b[3]): function values cannot be sent to a worker")
  T.raises(function() rt:submit(echo, {[print] = 1}) end,
    "function values cannot be sent to a worker", "(used as a table key)")
  T.raises(function() rt:submit(echo, {["a key"] = print}) end, "(at [\"a key\"])")
end)

T.test("userdata, threads and metatables are refused", function()
  T.raises(function() rt:submit(echo, io.stdout) end,
    "weft: cannot copy argument 2: userdata values cannot be sent to a worker")
  T.raises(function() rt:submit(echo, 1, coroutine.create(function() end)) end,
    "weft: cannot copy argument 3: coroutines (thread values) cannot be sent to a worker")
  T.raises(function() rt:submit(echo, setmetatable({}, {})) end,
    "weft: cannot copy argument 2: tables with a metatable cannot be sent to a worker")
  T.raises(function() rt:submit(echo, rt) end, "tables with a metatable")
end)

T.test("cyclic tables are refused", function()
  local t = {1, 2}
  t.self = t
  T.raises(function() rt:submit(echo, t) end,
    "weft: cannot copy argument 2 (at .self): the table contains itself (cyclic tables cannot be copied)")
  local a, b = {}, {}
  a.b, b.a = b, a
  T.raises(function() rt:submit(echo, "x", a) end,
    "weft: cannot copy argument 3 (at .b.a): the table contains itself")
  T.raises(function() weft.serialize(t) end, "cyclic")
end)

T.test("task functions with upvalues are refused", function()
  local captured = 42
  local err = T.raises(function() rt:submit(function() return captured end) end,
    "weft: cannot send the task function (", "it uses upvalue 'captured'",
    "pass the value as an argument")
  T.ok(err:find("test_copy.lua:%d+: weft:"), err)
  T.raises(function() rt:submit(print, 1) end,
    "weft: cannot send the task function: C functions")
  T.raises(function() rt:map(math.floor, {1.5}) end, "C functions")
  -- a function with its own _ENV table
  local env = {}
  local f = load("return x", "chunk", "t", env)
  T.raises(function() rt:submit(f) end, "its _ENV is not the global environment")
  -- _ENV (globals) is fine, so are locals, nested functions and aliases of _G
  local G = _G
  local ok = rt:submit(function(n)
    local function fact(k) if k <= 1 then return 1 end return k * fact(k - 1) end
    return fact(n), G.type(G), string.rep("a", 2)
  end, 5)
  local f5, ty, aa = ok()
  T.eq(f5, 120); T.eq(ty, "table"); T.eq(aa, "aa")
end)

T.test("results that cannot be copied fail the job", function()
  local job = rt:submit(function() return 1, print end)
  T.raises(function() job() end, "weft: job " .. job:id() .. " failed: cannot copy result 2: ",
           "function values cannot be sent back from a worker")
  T.eq(job:ok(), false)
  local cyc = rt:submit(function() local t = {} t[1] = t return t end)
  T.raises(function() cyc() end, "cannot copy result 1 (at [1]): the table contains itself")
  local mt = rt:submit(function() return setmetatable({}, {__index = string}) end)
  T.raises(function() mt() end, "tables with a metatable cannot be sent back from a worker")
  local co = rt:submit(function() return io.stdout end)
  T.raises(function() co() end, "userdata values cannot be sent back")
  T.eq(rt:submit(echo, "still fine")(), "still fine")
end)

T.test("a refused submit leaves nothing behind", function()
  local before = rt:pending()
  for _ = 1, 100 do pcall(rt.submit, rt, echo, print) end
  T.eq(rt:pending(), before)
  T.eq(rt:wait(), true)
end)

T.test("many values", function()
  local many = {}
  for i = 1, 200 do many[i] = i end
  local got = table.pack(roundtrip(table.unpack(many)))
  T.eq(got.n, 200)
  T.eq(got[200], 200)
  local big = {}
  for i = 1, 100000 do big[i] = i * 1.5 end
  local back = roundtrip(big)
  T.eq(#back, 100000)
  T.eq(back[100000], 150000.0)
  -- at most 100000 values travel together (arguments, or results)
  T.eq(select("#", roundtrip(table.unpack(big, 1, 100000))), 100000)
  T.raises(function() rt:submit(echo, table.unpack({}, 1, 100001)) end,
           "weft: cannot copy 100001 arguments: at most 100000 travel together")
  T.raises(function() rt:submit(function() return table.unpack({}, 1, 100001) end)() end,
           "cannot copy 100001 results: at most 100000 travel together")
end)

rt:close()
T.done()
