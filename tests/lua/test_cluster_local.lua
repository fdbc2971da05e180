-- test_cluster_local.lua: remote Lua tasks on a cluster made only of this
-- process's local workers (weft.cluster{local_workers = n}): the whole
-- client path (requests, the cluster's I/O thread and its completion
-- callbacks, cache misses sent again, answers decoded) without a weftd,
-- so it runs under ThreadSanitizer too (label concurrency).
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local T = require "harness"
local weft = require "weft"

local cl = weft.cluster{local_workers = 2}

local SQUARE = "return function(x) return x * x end"

T.test("many jobs on the local workers", function()
  local count = T.scaled(4000)
  local jobs = {}
  for i = 1, count do jobs[i] = cl:submit(SQUARE, i) end
  local sum = 0
  for i = 1, count do
    sum = sum + jobs[i]()
    T.eq(jobs[i]:node(), "local")
  end
  T.eq(sum, count * (count + 1) * (2 * count + 1) // 6)
  local st = cl:stats()
  T.eq(#st, 1)
  T.eq(st[1].node, "local")
  T.ok(st[1].jobs >= count, "local jobs: " .. st[1].jobs)
end)

T.test("cache misses are sent again while others run", function()
  -- each code sent first without its source: every first job misses
  local count = T.scaled(400)
  local jobs = {}
  for i = 1, count do
    local src = ("return function(x) return x + %d end"):format(i)
    jobs[i] = cl:submit{src, i, cached = true, name = "code" .. i}
  end
  for i = 1, count do
    T.eq(jobs[i](), 2 * i, "job " .. i)
    local info = jobs[i]:info()
    T.eq(info.resent, true, "job " .. i)
    T.eq(info.attempts, 2, "job " .. i)
  end
  -- the codes are held now: key-only jobs run without a miss
  for i = 1, count, 37 do
    local src = ("return function(x) return x + %d end"):format(i)
    local j = cl:submit{src, 1, cached = true, name = "code" .. i}
    T.eq(j(), 1 + i)
    T.eq(j:info().resent, false)
  end
end)

T.test("past the caches' bounds: least recently used codes go, results stay right", function()
  -- 1100 codes: more than a worker keeps functions (256) and than the
  -- store keeps codes (1024)
  local n = 1100
  local function src(i) return ("return function() return %d end"):format(i) end
  local jobs = {}
  for i = 1, n do jobs[i] = cl:submit{src(i), name = "lru" .. i} end
  for i = 1, n do T.eq(jobs[i](), i, "code " .. i) end
  -- the first codes were dropped from the store: key-only jobs miss and
  -- are sent again; the last ones are still held
  local old = cl:submit{src(1), name = "lru1", cached = true}
  T.eq(old(), 1)
  T.eq(old:info().resent, true, "code 1 was dropped")
  local recent = cl:submit{src(n), name = "lru" .. n, cached = true}
  T.eq(recent(), n)
  T.eq(recent:info().resent, false, "code " .. n .. " is held")
end)

T.test("jobs dropped, cancelled and waited with timeouts", function()
  local slow = "return function(s) local t = os.clock() while os.clock() - t < s do end return s end"
  for i = 1, T.scaled(200) do
    local j = cl:submit{slow, 0.001, cached = (i % 2 == 0), name = "slow"}
    if i % 3 == 0 then j:cancel() end
    if i % 5 == 0 then j:close() end -- dropped while it may be pending
  end
  collectgarbage()
  local j = cl:submit(slow, 0.05)
  local okw = j:wait(0)
  T.eq(okw, false)
  T.same({j:wait(30)}, {true, 0.05})
end)

T.test("errors from the local workers", function()
  local j = cl:submit("return function() error({}) end")
  T.raises(function() j() end, "weft: remote job", "failed on node local",
           "(error object is a table value)")
  T.raises(function() cl:submit("return 1 +")() end, "weft.lua: cannot load the code of")
end)

T.test("a graph on the local-workers cluster", function()
  local rt <close> = weft.runtime(2)
  local g <close> = weft.graph("local_cluster")
  local a = g:add_remote("a", "return function(x) return x + 1 end", 41)
  local b = g:add("b", function(x) return x * 2 end)
  local c = g:add_remote("c", "return function(x, y) return x .. ':' .. y end", "sum")
  a:precede(b)
  b:precede(c)
  local here = g:run(rt)
  local there = g:run(rt, {cluster = cl})
  T.eq(here:result(c), "sum:84")
  T.eq(there:result(c), "sum:84")
end)

cl:close()
T.done()
