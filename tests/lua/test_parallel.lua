-- test_parallel.lua: Lua tasks run truly in parallel, each worker in its
-- own lua_State; completions reach the script on its own thread.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local T = require "harness"
local weft = require "weft"

-- CPU-bound: about n steps of integer work.
local function spin(n)
  local x = 0
  for i = 1, n do x = (x + i * i) % 1000003 end
  return x
end

-- How many steps take about `seconds` of CPU here (measured on this
-- thread, so the test adapts to slow and sanitizer builds).
local function steps_for(seconds)
  local n = 100000
  while true do
    local t0 = os.clock()
    spin(n)
    local dt = os.clock() - t0
    if dt > 0.05 then return math.floor(n * seconds / dt) end
    n = n * 4
  end
end

T.test("two CPU-bound tasks on two workers overlap in time", function()
  local rt <close> = weft.runtime(2)
  local n = steps_for(0.4)
  -- warm both workers up (their states are made on the first task)
  rt:map(function(x) return x end, {1, 2, 3, 4}, 1)
  local t0 = weft.clock()
  local a = rt:submit(spin, n)
  local b = rt:submit(spin, n)
  T.eq(a(), b())
  local wall = weft.clock() - t0
  local ia, ib = a:info(), b:info()
  T.ok(ia.worker ~= ib.worker, "the two tasks ran on different workers")
  -- overlap of the two [start, finish] intervals, as the workers saw them
  local overlap = math.min(ia.finish, ib.finish) - math.max(ia.start, ib.start)
  local sum = ia.elapsed + ib.elapsed
  print(string.format("  task times %.3f s + %.3f s, overlap %.3f s, wall %.3f s, "
                      .. "sum/wall %.2f", ia.elapsed, ib.elapsed, overlap, wall, sum / wall))
  T.ok(overlap > 0.25 * math.min(ia.elapsed, ib.elapsed),
       string.format("the tasks overlap (%.3f s of %.3f s)", overlap, ia.elapsed))
  T.ok(wall < sum, string.format("wall %.3f s below the sum of task times %.3f s", wall, sum))
end)

T.test("each worker has its own state", function()
  local rt <close> = weft.runtime(2)
  -- each task reports its worker's state identity (a table kept in the
  -- worker's registry-like global) and how many tasks that state has run
  local function whoami(steps)
    local x = 0
    for i = 1, steps do x = x + i end
    STATE_ID = STATE_ID or tostring({}):match("0x%x+") or tostring(math.random())
    TASKS = (TASKS or 0) + 1
    return STATE_ID, TASKS, x
  end
  local ids, by_worker = {}, {}
  local jobs = {}
  for i = 1, 64 do jobs[i] = rt:submit(whoami, 20000) end
  for i = 1, 64 do
    local id = jobs[i]()
    local w = jobs[i]:info().worker
    ids[id] = (ids[id] or 0) + 1
    by_worker[w] = by_worker[w] or id
    T.eq(by_worker[w], id, "a worker keeps one state")
  end
  local states, total = 0, 0
  for _, count in pairs(ids) do states = states + 1; total = total + count end
  T.eq(total, 64)
  T.ok(states >= 1 and states <= 2, "one state per worker: " .. states)
  T.eq(STATE_ID, nil, "none of it leaked into the script's state")
end)

T.test("completions are delivered on the script thread", function()
  local rt <close> = weft.runtime(2)
  local main_co = coroutine.running()
  local script_table = {}
  local seen = 0
  for i = 1, 100 do
    rt:submit{function(k) return k end, i, callback = function(ok, k)
      local co, ismain = coroutine.running()
      T.ok(ismain and co == main_co, "callback runs on the script's main coroutine")
      script_table[k] = true -- the script's own table, by upvalue
      seen = seen + 1
    end}
  end
  rt:wait()
  T.eq(seen, 100)
  for i = 1, 100 do T.eq(script_table[i], true) end
  -- from inside a coroutine of the script, deliveries happen there
  local co = coroutine.wrap(function()
    local job = rt:submit{function() return "from co" end, callback = function(ok, v)
      local _, ismain = coroutine.running()
      T.eq(ismain, false, "a callback runs on the coroutine that waits")
      seen = seen + 1
    end}
    return job()
  end)
  T.eq(co(), "from co")
  T.eq(seen, 101)
end)

T.test("many tasks on four workers, exact results", function()
  local rt <close> = weft.runtime(4)
  local n = T.scaled(4000)
  local jobs = {}
  for i = 1, n do jobs[i] = rt:submit(function(k) return k, k * k, tostring(k) end, i) end
  local sum = 0
  for i = 1, n do
    local k, sq, s = jobs[i]()
    T.eq(k, i); T.eq(sq, i * i); T.eq(s, tostring(i))
    sum = sum + k
  end
  T.eq(sum, n * (n + 1) // 2)
  local st = rt:stats()
  local ran = 0
  for _, w in ipairs(st.workers) do ran = ran + w.tasks_run end
  T.eq(ran, st.tasks_run)
  T.ok(st.tasks_run >= n)
end)

T.test("changing the worker count while tasks run", function()
  local rt <close> = weft.runtime(1)
  local n = T.scaled(400)
  local done = 0
  for i = 1, n do
    rt:submit{spin, 2000 + i, callback = function(ok) T.ok(ok); done = done + 1 end}
    if i == n // 4 then rt:set_workers(4) end
    if i == n // 2 then rt:set_workers(2) end
    if i == 3 * n // 4 then rt:set_workers(1) end
  end
  T.eq(rt:wait(), true)
  T.eq(done, n, "every task delivered exactly once")
  rt:set_workers(3)
  local r = rt:map(function(x) return x + 1 end, {1, 2, 3, 4, 5, 6}, 1)
  T.same(r, {2, 3, 4, 5, 6, 7})
end)

T.test("graph nodes run in parallel too", function()
  local rt <close> = weft.runtime(2)
  local g <close> = weft.graph("par")
  local n = steps_for(0.3)
  local a = g:add("a", spin, n)
  local b = g:add("b", spin, n)
  local run = g:run(rt)
  local sa, ea, wa = run:time(a)
  local sb, eb, wb = run:time(b)
  T.ok(wa ~= wb, "different workers")
  local overlap = math.min(ea, eb) - math.max(sa, sb)
  T.ok(overlap > 0.25 * math.min(ea - sa, eb - sb),
       string.format("nodes overlap: %.3f s", overlap))
end)

T.done()
