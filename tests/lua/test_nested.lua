-- test_nested.lua: tasks that spawn tasks and wait for them (fork-join from
-- Lua), nested in one worker's lua_State while they wait; cancellation
-- polled by graph nodes; job:wait(timeout).
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local T = require "harness"
local weft = require "weft"

-- "file.lua:12": how messages name a task function.
local function where(fn)
  local info = debug.getinfo(fn, "S")
  return info.short_src .. ":" .. info.linedefined
end

-- Gates between the script and tasks are files: a task spins until a file
-- exists (for at most 20 s, so a broken test fails instead of hanging).
local function open_gate(path)
  local f = assert(io.open(path, "w"))
  f:close()
end

local function await_file(path, limit)
  local t0 = weft.clock()
  while weft.clock() - t0 < (limit or 20) do
    local f = io.open(path)
    if f then f:close(); return true end
  end
  return false
end

local function tmpname()
  local path = os.tmpname()
  os.remove(path) -- only the name: the file's existence is the signal
  return path
end

-- One task per call: fib(n) spawns fib(n-1) and fib(n-2) and waits.
local function fib(n)
  if n < 2 then return n end
  local a = weft.spawn(fib, n - 1)
  local b = weft.spawn(fib, n - 2)
  return a:wait() + b()
end

-- The number of calls (tasks) of fib(n): C(n) = 1 + C(n-1) + C(n-2).
local function fib_calls(n)
  if n < 2 then return 1 end
  return 1 + fib_calls(n - 1) + fib_calls(n - 2)
end

T.test("fib(20), one task per call, on 1 and 2 workers", function()
  for _, workers in ipairs{1, 2} do
    local rt <close> = weft.runtime(workers)
    rt:submit(function() end)() -- the workers' states exist
    rt:reset_stats()
    local t0 = weft.clock()
    T.eq(rt:submit(fib, 20)(), 6765, workers .. " workers")
    local dt = weft.clock() - t0
    local st = rt:stats()
    T.eq(st.tasks_submitted, fib_calls(20), "one task per call")
    T.eq(fib_calls(20), 21891)
    T.eq(st.tasks_run, 21891)
    T.eq(st.tasks_failed, 0)
    print(string.format("  %d worker(s): fib(20) in %.3f s, %.2f us per task", workers, dt,
                        dt / 21891 * 1e6))
    T.eq(rt:pending(), 0)
  end
end)

T.test("fork-join inside map elements, graph nodes and with wait_all", function()
  local rt <close> = weft.runtime(2)
  local function fib2(n) -- waits for both children at once
    if n < 2 then return n end
    local a, b = weft.wait_all(weft.spawn(fib2, n - 1), weft.spawn(fib2, n - 2))
    return a + b
  end
  T.eq(rt:submit(fib2, 15)(), 610)
  T.same(rt:map(fib, {1, 2, 3, 10, 15}), {1, 1, 2, 55, 610})
  local g <close> = weft.graph("nested")
  local a = g:add("a", fib, 12)
  local b = g:add("b", function(x)
    local hs = weft.spawn_all(function(k) return k * k end, {x, x + 1, x + 2})
    return weft.wait_all(hs) -- a list of first results
  end)
  a:precede(b)
  local run = g:run(rt)
  T.eq(run:result(a), 144)
  T.same(run:result(b), {144 * 144, 145 * 145, 146 * 146})
  -- every result of a child, nils included; wait_all keeps the first
  local r = rt:submit(function()
    local h = weft.spawn(function() return 1, nil, 3 end)
    local n = select("#", h:wait())
    local x, y, z = h() -- a second wait gives the same results
    local first = weft.wait_all(h)
    local empty = weft.wait_all{}
    return n, x, y, z, first, #empty, select("#", weft.wait_all())
  end)
  T.same({r()}, {3, 1, nil, 3, 1, 0, 0})
  -- arguments travel like submit's: nil holes, tables, integers and floats
  local s = rt:submit(function()
    local h = weft.spawn(function(...) return select("#", ...), ... end, nil, {k = {1.5}}, nil, 2)
    return h()
  end)
  local n, a1, t, a3, i = s()
  T.eq(n, 4); T.eq(a1, nil); T.same(t, {k = {1.5}}); T.eq(a3, nil); T.eq(i, 2)
  T.eq(math.type(i), "integer")
end)

T.test("deep chains of nested spawns", function()
  local function chain(n)
    if n == 0 then return 0 end
    return weft.spawn(chain, n - 1)() + 1
  end
  for _, workers in ipairs{1, 2} do
    local rt <close> = weft.runtime(workers)
    T.eq(rt:submit(chain, 1000)(), 1000, workers .. " workers")
  end
  -- far too deep for one thread's stack: a clear error, then business as usual
  local rt <close> = weft.runtime(1)
  local job = rt:submit(chain, 1000000)
  local err = T.raises(function() job() end,
                       "weft: job " .. job:id() .. " failed: weft: spawned task (" ..
                       where(chain) .. ") failed: weft: cannot start this Lua task: ",
                       " Lua tasks already wait below it on this worker thread and its stack " ..
                       "is nearly full (spawned tasks nested too deep)")
  print("  " .. err:match("cannot start.-wait below"))
  T.eq(rt:submit(chain, 500)(), 500)
  T.eq(rt:submit(fib, 10)(), 55)
end)

T.test("the waiting task's state survives tasks nested in its lua_State", function()
  local rt <close> = weft.runtime(1) -- one worker: children run inside the parent's wait
  local args = {}
  for i = 1, 50 do args[i] = i * 3 end
  local r = {rt:submit(function(...)
    SHARED = "parent"
    local before = {...}
    -- a coroutine waits too: nested tasks run on stacks of their own
    local co = coroutine.wrap(function(x)
      local h = weft.spawn(function(y)
        local seen = SHARED
        SHARED = "child " .. y -- the same globals: the parent sees it
        -- a grandchild nested deeper still
        return seen, weft.spawn(function(z) return z * 2 end, y)()
      end, x)
      local seen, twice = h()
      coroutine.yield(seen, twice)
      return "resumed"
    end)
    local seen, twice = co(21)
    local after = co()
    local same = #before == select("#", ...)
    for i = 1, #before do same = same and before[i] == select(i, ...) end
    return seen, twice, after, SHARED, same, select("#", ...)
  end, table.unpack(args))()}
  T.same(r, {"parent", 42, "resumed", "child 21", true, 50})
  T.eq(SHARED, nil, "none of it in the script's state")
  -- a map element that fails through a child keeps its element number
  T.raises(function()
    rt:map(function(x)
      if x == 3 then return weft.spawn(function() error("boom", 0) end)() end
      return weft.spawn(function(y) return y end, x)()
    end, {1, 2, 3, 4}, 4)
  end, "weft: map element 3 failed: weft: spawned task (")
end)

-- Task code cannot take functions as arguments nor use the script's locals:
-- failing children are defined inside the tasks, which report where.
T.test("errors in children", function()
  local rt <close> = weft.runtime(2)
  -- caught in the parent: it goes on
  local msg, ok, w = rt:submit(function()
    local function boom(m) error(m, 0) end
    local info = debug.getinfo(boom, "S")
    local h = weft.spawn(boom, "boom")
    local ok, err = pcall(h.wait, h)
    return err, ok, info.short_src .. ":" .. info.linedefined
  end)()
  T.eq(msg, "weft: spawned task (" .. w .. ") failed: boom")
  T.eq(ok, false)
  -- not caught: the job fails with the child's message
  local job = rt:submit(function()
    local function boom(m) error(m, 0) end
    return weft.spawn(boom, "deep trouble")()
  end)
  local err = T.raises(function() job() end,
                       "weft: job " .. job:id() .. " failed: weft: spawned task (")
  T.eq(err:match("failed: weft: spawned task %(.-%) failed: (.*)$"), "deep trouble")
  -- through a chain of waits: one prefix, naming the child that failed
  local function relay(n)
    if n == 0 then return weft.spawn(function() error("root cause", 0) end)() end
    return weft.spawn(relay, n - 1)()
  end
  local info = debug.getinfo(relay, "S")
  local inner = info.short_src .. ":" .. (info.linedefined + 1)
  local j2 = rt:submit(relay, 5)
  T.raises(function() j2() end,
           "weft: job " .. j2:id() .. " failed: weft: spawned task (" .. inner ..
           ") failed: root cause")
  T.eq(j2:error(), "weft: spawned task (" .. inner .. ") failed: root cause")
  -- wait_all waits for every child, then reports the first failure and the count
  local e3, done3, first, w3 = rt:submit(function()
    local function boom(m) error(m, 0) end
    local info2 = debug.getinfo(boom, "S")
    local hs = {}
    for i = 1, 6 do
      hs[i] = i % 2 == 0 and weft.spawn(boom, "failure " .. i) or
              weft.spawn(function(k) return k end, i)
    end
    local _, e = pcall(weft.wait_all, hs)
    local done = 0
    for i = 1, 6 do if hs[i]:done() then done = done + 1 end end
    return e, done, hs[1](), info2.short_src .. ":" .. info2.linedefined
  end)()
  T.eq(e3, "weft: spawned task (" .. w3 ..
       ") failed: failure 2 (and 2 more spawned tasks failed)")
  T.eq(done3, 6)
  T.eq(first, 1)
  -- error objects that are not strings, results that cannot be copied
  local e4, e5, e6 = rt:submit(function()
    local h = weft.spawn(function() error({}) end)
    local _, a = pcall(h.wait, h)
    local _, b = pcall(function() local v = weft.spawn(function() return print end)() return v end)
    local _, c = pcall(h.wait, nil)
    return a, b, c
  end)()
  T.ok(e4:find(") failed: (error object is a table value)", 1, true), e4)
  T.ok(e5:find(") failed: cannot copy result 1: function values cannot be sent back from a " ..
               "worker", 1, true), e5)
  T.ok(e6:find("(weft.handle expected, got nil)", 1, true), e6)
  T.eq(rt:submit(fib, 8)(), 21, "the runtime still works")
end)

T.test("children not waited for complete before their parent and are not lost", function()
  local rt <close> = weft.runtime(2)
  local path = os.tmpname()
  local n = 40
  rt:submit(function() end)()
  rt:reset_stats()
  local job = rt:submit(function(p, count)
    -- many writers, one line each (O_APPEND)
    local function child(q, name, kids)
      local f = assert(io.open(q, "a"))
      f:write(name, "\n")
      f:close()
      for j = 1, kids do weft.spawn(child, q, name .. "." .. j, 0) end -- nor these
    end
    for i = 1, count do
      weft.spawn(child, p, "child " .. i, 3) -- the handle is dropped at once
      if i % 10 == 0 then collectgarbage() end -- handles collected mid-flight
    end
    return "parent returned"
  end, path, n)
  T.eq(job(), "parent returned")
  local lines = {}
  for line in io.lines(path) do lines[#lines + 1] = line end
  os.remove(path)
  T.eq(#lines, n + 3 * n, "every child and grandchild ran before the job completed")
  table.sort(lines)
  T.eq(lines[1], "child 1")
  T.eq(lines[2], "child 1.1")
  local st = rt:stats()
  T.eq(st.tasks_run, 1 + n + 3 * n)
  T.eq(st.tasks_failed, 0)
  -- a failure nobody waited for fails the parent, named as such
  local j2 = rt:submit(function()
    local function boom(m) error(m, 0) end
    weft.spawn(function() return 1 end)
    weft.spawn(boom, "unseen failure")
    weft.spawn(boom, "second unseen failure")
    return "ignored"
  end)
  local err = T.raises(function() j2() end, "weft: job " .. j2:id() ..
                       " failed: weft: spawned task (")
  T.eq(err:match("failed: weft: spawned task %(.-%) (.*)$"), "failed (never waited for): " ..
       "unseen failure")
  -- ... unless the parent failed by itself, or saw the failure already
  local j3 = rt:submit(function()
    weft.spawn(function() error("child's", 0) end)
    error("parent's own", 0)
  end)
  T.raises(function() j3() end, "weft: job " .. j3:id() .. " failed: parent's own")
  local j4 = rt:submit(function()
    local h = weft.spawn(function() error("seen", 0) end)
    return (pcall(h.wait, h))
  end)
  T.eq(j4(), false)
  -- graph nodes: their successors start only after the node's children
  local g <close> = weft.graph("unwaited")
  local path2 = os.tmpname()
  local a = g:add("a", function(p)
    for i = 1, 8 do
      weft.spawn(function(q, k)
        local f = assert(io.open(q, "a")); f:write(k, "\n"); f:close()
      end, p, i)
    end
    return p
  end, path2)
  local b = g:add("b", function(p)
    local count = 0
    for _ in io.lines(p) do count = count + 1 end
    return count
  end)
  a:precede(b)
  T.eq(g:run(rt):result(b), 8)
  os.remove(path2)
  T.eq(rt:pending(), 0)
end)

T.test("who may wait for a handle", function()
  local rt <close> = weft.runtime(1) -- one worker: the order of nesting is known
  local r = {rt:submit(function()
    HANDLE = weft.spawn(function() return "child of the first task" end)
    -- another task, nested while this one waits, finds the handle unfinished
    local other = weft.spawn(function()
      local _, err = pcall(HANDLE.wait, HANDLE)
      return err, HANDLE:done()
    end)
    local err, done = other()
    return err, done, HANDLE(), tostring(HANDLE)
  end)()}
  local w = r[1]:match("spawned task %((.-)%)")
  T.eq(r[1], "weft: cannot wait for spawned task (" .. w .. ") here: only the task that " ..
       "spawned it can wait for it, until that task has finished")
  T.eq(r[2], false)
  T.eq(r[3], "child of the first task")
  T.eq(r[4], "weft.handle (" .. w .. ", done)")
  -- once its spawner has finished, any later task on the worker may read it
  T.same({rt:submit(function() return HANDLE:done(), HANDLE(), (HANDLE:wait(0)) end)()},
         {true, "child of the first task", true})
end)

T.test("cancellation seen by a polling node", function()
  local rt <close> = weft.runtime(2)
  local started = tmpname()
  local g <close> = weft.graph("cancel me")
  -- steps of work; each polls weft.cancelled() and stops when it is true
  local poller = g:add("poller", function(gate, steps)
    local before = weft.cancelled()
    local f = assert(io.open(gate, "w")); f:close() -- "I am running"
    local done, t0 = 0, weft.clock()
    for i = 1, steps do
      if weft.cancelled() then break end
      if weft.clock() - t0 > 20 then break end -- never hang a broken test
      -- a step that waits for a child: nested tasks come and go in between
      done = i + weft.spawn(function(k) return k - k end, i)()
    end
    -- a child of the node sees the run's cancellation too, at any depth
    local child = weft.spawn(function()
      return weft.cancelled(), weft.spawn(function() return weft.cancelled() end)()
    end)
    local c1, c2 = child()
    return done, before, weft.cancelled(), c1, c2
  end, started, math.maxinteger)
  local later = {}
  for i = 1, 5 do
    later[i] = g:add("later_" .. i, function(v) return v end)
    poller:precede(later[i])
  end
  local run = g:run_async(rt)
  T.ok(await_file(started), "the poller started")
  os.remove(started)
  run:cancel()
  T.eq(run:wait(), true)
  T.eq(run:cancelled(), true)
  local steps, before, after, child, grandchild = run:result(poller)
  T.eq(child, true, "a spawned child sees the cancellation")
  T.eq(grandchild, true, "and so does its child")
  T.ok(steps >= 0 and steps < math.maxinteger, "the poller stopped early: " .. tostring(steps))
  T.eq(before, false, "not cancelled when it started")
  T.eq(after, true, "cancelled when it stopped")
  T.eq(run:status(poller), "done")
  for i = 1, 5 do T.eq(run:status(later[i]), "cancelled") end
  local c = run:counts()
  T.eq(c.total, 6); T.eq(c.done, 1); T.eq(c.cancelled, 5)
  T.eq(c.failed, 0); T.eq(c.skipped, 0)
  -- a run that is not cancelled: false all along, also in a node's child
  local g2 <close> = weft.graph("quiet")
  local q = g2:add("q", function()
    return weft.cancelled(), weft.spawn(function() return weft.cancelled() end)()
  end)
  T.same({g2:run(rt):result(q)}, {false, false})
  -- outside nodes: false
  T.eq(weft.cancelled(), false)
  T.eq(rt:submit(function() return weft.cancelled() end)(), false)
end)

T.test("weft.cancelled() answers as in Python: weft_current_run", function()
  local rt <close> = weft.runtime(2)
  local started, seen = tmpname(), tmpname()
  local g <close> = weft.graph("spawner")
  -- the node spawns a poller and never waits for it (the node ends after it)
  local a = g:add("a", function(gate, out)
    weft.spawn(function(p, q)
      local before = weft.cancelled()
      local f = assert(io.open(p, "w")); f:close() -- "I am running"
      local t0 = weft.clock()
      while not weft.cancelled() and weft.clock() - t0 < 20 do end
      local nested = weft.spawn(function() return weft.cancelled() end)()
      f = assert(io.open(q, "w"))
      f:write(tostring(before), " ", tostring(weft.cancelled()), " ", tostring(nested))
      f:close()
    end, gate, out)
    return "spawned"
  end, started, seen)
  local run = g:run_async(rt)
  T.ok(await_file(started), "the spawned task started")
  os.remove(started)
  run:cancel()
  T.eq(run:wait(), true)
  local f = assert(io.open(seen), "the run ended after the task its node spawned")
  local text = f:read("a")
  f:close()
  os.remove(seen)
  T.eq(text, "false true true")
  T.eq(run:result(a), "spawned")
  -- outside every run: false, in the script and in a job it submitted
  T.eq(weft.cancelled(), false)
  T.eq(rt:submit(function() return weft.cancelled() end)(), false)
end)

T.test("job:wait(timeout)", function()
  local rt <close> = weft.runtime(2)
  local gate = tmpname()
  local job = rt:submit(function(p)
    local t0 = weft.clock()
    while weft.clock() - t0 < 20 do
      local f = io.open(p)
      if f then f:close(); return "through", 2 end
    end
    return "gate never opened"
  end, gate)
  T.eq(job:wait(0), false, "0: just looks")
  local t0 = weft.clock()
  T.eq(job:wait(0.05), false, "times out while the gate is shut")
  T.ok(weft.clock() - t0 >= 0.049, "waited the timeout")
  T.eq(job(0.01), false, "job(timeout) too")
  T.eq(job:done(), false)
  open_gate(gate)
  T.same({job:wait(20)}, {true, "through", 2})
  T.same({job:wait(0)}, {true, "through", 2}, "finished: true and the results at once")
  T.same({job:wait()}, {"through", 2}, "without a timeout: the results alone")
  os.remove(gate)
  -- a failed job raises, with or without a timeout
  local bad = rt:submit(function() error("nope", 0) end)
  T.raises(function() bad:wait(20) end, "weft: job " .. bad:id() .. " failed: nope")
  T.raises(function() bad:wait(0) end, "weft: job " .. bad:id() .. " failed: nope")
  -- a task that returns false is no timeout
  T.same({rt:submit(function() return false end):wait(math.huge)}, {true, false})
  -- bad timeouts
  T.raises(function() job:wait(-1) end, "bad argument #1 to 'wait' (timeout must not be negative)")
  T.raises(function() job:wait(0 / 0) end, "bad argument #1 to 'wait' (timeout must not be NaN)")
  T.raises(function() job:wait("1") end, "bad argument #1 to 'wait' (number expected, got string)")
  T.raises(function() job:wait({}) end, "bad argument #1 to 'wait' (number expected, got table)")
  T.raises(function() job(-0.5) end, "timeout must not be negative")
  local g <close> = weft.graph("t")
  g:add("n", function() end)
  local run = g:run_async(rt)
  T.raises(function() run:wait(0 / 0) end, "bad argument #1 to 'wait' (timeout must not be NaN)")
  T.raises(function() run:wait(-2) end, "bad argument #1 to 'wait' (timeout must not be negative)")
  T.raises(function() rt:poll(0 / 0) end, "bad argument #1 to 'poll' (timeout must not be NaN)")
  T.eq(run:wait(math.huge), true)
end)

T.test("h:wait(timeout) inside a task", function()
  local rt <close> = weft.runtime(2)
  local started, timed_out, gate = tmpname(), tmpname(), tmpname()
  local job = rt:submit(function(s, t, g)
    local function exists(p) local f = io.open(p) if f then f:close() end return f ~= nil end
    local h = weft.spawn(function(s2, g2)
      local function there(p) local f = io.open(p) if f then f:close() end return f ~= nil end
      local f = assert(io.open(s2, "w")); f:close()
      local t0 = weft.clock()
      while not there(g2) and weft.clock() - t0 < 20 do end
      return "child done"
    end, s, g)
    -- the other worker takes the child; then this one has nothing to help with
    local t0 = weft.clock()
    while not exists(s) and weft.clock() - t0 < 20 do end
    local first = h:wait(0.05)
    local f = assert(io.open(t, "w")); f:close()
    return first, h:wait(20)
  end, started, timed_out, gate)
  T.ok(await_file(timed_out), "the first wait timed out")
  open_gate(gate)
  T.same({job()}, {false, true, "child done"})
  for _, p in ipairs{started, timed_out, gate} do os.remove(p) end
  local msgs = {rt:submit(function()
    local h = weft.spawn(function() return 1 end)
    local r = {}
    for _, bad in ipairs{-1, 0 / 0, "soon"} do
      r[#r + 1] = select(2, pcall(function() local v = h:wait(bad) return v end))
    end
    return table.unpack(r)
  end)()}
  T.eq(#msgs, 3)
  T.ok(msgs[1]:find("bad argument #1 to 'wait' (timeout must not be negative)", 1, true), msgs[1])
  T.ok(msgs[2]:find("bad argument #1 to 'wait' (timeout must not be NaN)", 1, true), msgs[2])
  T.ok(msgs[3]:find("bad argument #1 to 'wait' (number expected, got string)", 1, true), msgs[3])
end)

T.test("bad arguments and misuse", function()
  local rt <close> = weft.runtime(2)
  -- on the script's thread: a clear error (use rt:submit there)
  for _, name in ipairs{"spawn", "spawn_all", "wait_all"} do
    T.raises(function() weft[name](fib, 1) end,
             "weft." .. name .. " works only inside a task or graph node running on a worker " ..
             "(on the script's thread, use rt:submit)")
  end
  T.eq(weft.cancelled(), false)
  local limit = 10
  local function uses_upvalue(x) return x + limit end
  local submit_err = T.raises(function() rt:submit(uses_upvalue, 1) end,
                              "weft: cannot send the task function")
  local r = {rt:submit(function()
    local out = {}
    local function try(f) out[#out + 1] = select(2, pcall(f)) end
    local lim = 10
    local function up(x) return x + lim end
    try(function() local h = weft.spawn() return h end)
    try(function() local h = weft.spawn(42) return h end)
    try(function() local h = weft.spawn(up, 1) return h end)
    try(function() local h = weft.spawn(print) return h end)
    try(function() local h = weft.spawn(function() end, 1, function() end) return h end)
    try(function() local h = weft.spawn(function() end, weft.spawn(function() end)) return h end)
    try(function() local h = weft.spawn_all(function() end, "list") return h end)
    try(function() local h = weft.spawn_all(function() end, {1, 2, print}) return h end)
    try(function() local v = weft.wait_all(1, 2) return v end)
    try(function() local v = weft.wait_all{weft.spawn(function() end), "x"} return v end)
    try(function() local v = weft.spawn(function() return weft.spawn(function() end) end)() return v end)
    out[#out + 1] = weft.runtime == nil and require("weft") == weft and
                    math.type(weft.clock()) == "float"
    return table.unpack(out)
  end)()}
  T.eq(#r, 12, "results: " .. #r)
  T.ok(r[1]:find("bad argument #1 to 'spawn' (function expected, got no value)", 1, true), r[1])
  T.ok(r[2]:find("bad argument #1 to 'spawn' (function expected, got number)", 1, true), r[2])
  T.ok(r[3]:find("weft: cannot send the task function (", 1, true) and
       r[3]:find("): it uses upvalue 'lim' (a local variable of an enclosing function); pass " ..
                 "the value as an argument", 1, true), r[3])
  T.ok(submit_err:find("): it uses upvalue 'limit' (a local variable of an enclosing " ..
                       "function); pass the value as an argument", 1, true), submit_err)
  T.ok(r[4]:find("weft: cannot send the task function: C functions (like print or " ..
                 "math.floor) have no Lua code to copy; call them from a Lua function", 1, true),
       r[4])
  T.ok(r[5]:find("weft: cannot copy argument 3: function values cannot be sent to a worker", 1,
                 true), r[5])
  T.ok(r[6]:find("weft: cannot copy argument 2: userdata values cannot be sent to a worker", 1,
                 true), r[6])
  T.ok(r[7]:find("bad argument #2 to 'spawn_all' (table expected, got string)", 1, true), r[7])
  T.ok(r[8]:find("weft: cannot copy element 3: function values cannot be sent", 1, true), r[8])
  T.ok(r[9]:find("bad argument #1 to 'wait_all' (weft.handle expected, got number)", 1, true),
       r[9])
  T.ok(r[10]:find("bad argument #1 to 'wait_all' (element 2 is a string, not a weft.handle)", 1,
                  true), r[10])
  T.ok(r[11]:find("cannot copy result 1: userdata values cannot be sent back from a worker", 1,
                  true), r[11])
  T.eq(r[12], true, "inside a task, weft is the worker's module")
  T.eq(rt:submit(fib, 12)(), 144, "the runtime still works")
end)

T.test("recursive and weft upvalues travel, also through graph files", function()
  local rt <close> = weft.runtime(2)
  -- fib has two upvalues: itself and the script's weft module
  local names = {}
  for i = 1, 2 do names[i] = debug.getupvalue(fib, i) end
  table.sort(names)
  T.same(names, {"fib", "weft"})
  local g <close> = weft.graph("saved")
  g:add("f", fib, 16)
  g:add("plain", function(x) return x + 1 end, 1)
  local path = os.tmpname()
  g:save(path)
  local text = assert(io.open(path)):read("a")
  local loaded <close> = weft.load_graph(path)
  os.remove(path)
  local run = loaded:run(rt)
  T.eq(run:result("f"), 987)
  T.eq(run:result("plain"), 2)
  -- the second envelope version only where it is needed
  T.ok(text:find('node f lua x"574602', 1, true), text:sub(1, 300))
  T.ok(text:find('node plain lua x"574601', 1, true), text:sub(1, 300))
end)

T.done()
