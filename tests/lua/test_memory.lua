-- test_memory.lua: memory stays flat over many tasks: the script's Lua
-- heap (collectgarbage "count") and the process (VmRSS) after a warm-up,
-- then ten times as much work.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local T = require "harness"
local weft = require "weft"

-- Under AddressSanitizer freed memory is held in quarantine on purpose:
-- the process size says nothing there, only the Lua heap is checked.
local asan = (os.getenv("LD_PRELOAD") or ""):find("asan") ~= nil

-- One round of everything that allocates: jobs with tables both ways,
-- callbacks, failures, groups, map, a graph run.
local function round(rt, g, n)
  local total = 0
  for i = 1, n do
    rt:submit{function(t) return {sum = t[1] + t[2], s = ("x"):rep(100)} end, {i, i},
              callback = function(ok, r) total = total + r.sum end}
  end
  for i = 1, n // 10 do
    rt:submit(function(k) error("failure " .. k, 0) end, i)
  end
  local grp = rt:group("memory")
  for i = 1, n // 10 do grp:submit(function(k) return k end, i) end
  grp:wait()
  rt:wait()
  local list = {}
  for i = 1, n // 4 do list[i] = i end
  local sq = rt:map(function(x) return x * x end, list)
  assert(#sq == n // 4)
  local run = g:run(rt)
  assert(run:result("b") == 3)
  run:close()
  return total
end

T.test("memory stays flat over many tasks", function()
  local rt <close> = weft.runtime(2)
  local g <close> = weft.graph("mem")
  local a = g:add("a", function() return 1 end)
  local b = g:add("b", function(v) return v + 2 end)
  a:precede(b)
  local n = T.scaled(2000)
  for _ = 1, 2 do round(rt, g, n) end -- warm up: worker states, caches, allocator
  collectgarbage(); collectgarbage()
  local lua0, rss0 = collectgarbage("count"), T.rss_kib()
  local rounds = 10
  for r = 1, rounds do
    local total = round(rt, g, n)
    T.eq(total, n * (n + 1), "round " .. r)
  end
  collectgarbage(); collectgarbage()
  local lua1, rss1 = collectgarbage("count"), T.rss_kib()
  print(string.format("  %d tasks: Lua heap %.0f -> %.0f KiB, VmRSS %s -> %s KiB",
                      rounds * (n + n // 5 + n // 4 + 2), lua0, lua1, tostring(rss0),
                      tostring(rss1)))
  T.ok(lua1 - lua0 < 256, string.format("Lua heap grew by %.0f KiB", lua1 - lua0))
  if rss0 and not asan then
    T.ok(rss1 - rss0 < 8192, string.format("VmRSS grew by %d KiB", rss1 - rss0))
  end
  T.eq(rt:pending(), 0)
end)

T.test("runtimes made and closed in a loop", function()
  collectgarbage(); collectgarbage()
  local rss0 = T.rss_kib()
  for i = 1, T.scaled(60) do
    local rt <close> = weft.runtime(2)
    T.eq(rt:submit(function(k) return k end, i)(), i)
    rt:map(function(x) return x end, {1, 2, 3, 4}, 1) -- both workers make a state
  end
  collectgarbage(); collectgarbage()
  local rss1 = T.rss_kib()
  print(string.format("  VmRSS %s -> %s KiB", tostring(rss0), tostring(rss1)))
  if rss0 and not asan then
    T.ok(rss1 - rss0 < 8192, string.format("VmRSS grew by %d KiB", rss1 - rss0))
  end
end)

T.done()
