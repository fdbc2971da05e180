-- test_runtime.lua: runtimes, jobs, callbacks, groups, map, poll, stats.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local T = require "harness"
local weft = require "weft"

T.test("module", function()
  T.eq(weft.version(), "0.1.0")
  T.eq(weft.EINVAL, -1)
  T.eq(weft.ETASK, -5)
  T.eq(weft.strerror(weft.EINVAL), "invalid argument")
  T.eq(weft.err_name(weft.ECYCLE), "WEFT_ECYCLE")
  T.eq(weft.node_status_name(weft.NODE_DONE), "done")
  T.ok(weft.cpu_count() >= 1)
  T.ok(weft.default_workers() >= 1)
  T.eq(math.type(weft.clock()), "float")
  T.eq(package.loaded.weft, weft)
  T.eq(require "weft", weft, "require again gives the same module")
end)

T.test("runtime workers and set_workers", function()
  local rt = weft.runtime(2)
  T.eq(rt:workers(), 2)
  rt:set_workers(3)
  T.eq(rt:workers(), 3)
  rt:set_workers(1)
  T.eq(rt:workers(), 1)
  T.eq(rt:submit(function() return 7 end)(), 7, "still runs after lowering")
  rt:set_workers(0)
  T.eq(rt:workers(), weft.default_workers())
  T.eq(tostring(rt):match("^weft.runtime"), "weft.runtime")
  rt:close()
  T.eq(rt:closed(), true)
  T.eq(tostring(rt), "weft.runtime (closed)")
  rt:close() -- twice: nothing
  T.raises(function() rt:submit(function() end) end, "weft: the runtime is closed")
  T.raises(function() rt:workers() end, "weft: the runtime is closed")
  local d = weft.runtime()
  T.eq(d:workers(), weft.default_workers())
  d:close()
end)

T.test("submit returns results", function()
  local rt <close> = weft.runtime(2)
  local job = rt:submit(function(a, b) return a + b, a * b, "done" end, 6, 7)
  local s, p, w = job()
  T.eq(s, 13)
  T.eq(p, 42)
  T.eq(w, "done")
  T.eq(select("#", job:wait()), 3, "job:wait() gives the same three results")
  T.eq(job:done(), true)
  T.eq(job:ok(), true)
  T.eq(job:error(), nil)
  T.eq(math.type(job:id()), "integer")
  -- no results, and nil in the middle of results
  T.eq(select("#", rt:submit(function() end)()), 0)
  local a, b, c = rt:submit(function() return 1, nil, 3 end)()
  T.eq(a, 1); T.eq(b, nil); T.eq(c, 3)
  -- nil arguments keep their places
  local n, x = rt:submit(function(...) return select("#", ...), (select(3, ...)) end,
                         nil, nil, "third", nil)()
  T.eq(n, 4)
  T.eq(x, "third")
  -- the task sees the worker's standard libraries
  T.eq(rt:submit(function(s) return string.upper(s), math.maxinteger, type(io.write) end,
                 "abc")(), "ABC")
end)

T.test("job info comes from the worker", function()
  local rt <close> = weft.runtime(2)
  local before = weft.clock()
  local job = rt:submit(function() local x = 0 for i = 1, 1e5 do x = x + i end return x end)
  T.eq(job:info(), nil, "nothing before the job is delivered")
  T.eq(job(), 5000050000)
  local info = job:info()
  T.eq(info.id, job:id())
  T.ok(info.worker >= 0 and info.worker < 2, "worker index " .. tostring(info.worker))
  T.ok(info.start >= before and info.finish >= info.start and info.finish <= weft.clock())
  T.eq(info.elapsed, info.finish - info.start)
  T.eq(tostring(job), "weft.job " .. job:id() .. " (done)")
end)

T.test("table form with callback and group", function()
  local rt <close> = weft.runtime(2)
  local got = {}
  local job = rt:submit{function(x, y) return x .. y end, "a", "b",
                        callback = function(ok, v) got[#got + 1] = {ok, v} end}
  T.eq(#got, 0, "callbacks run only at a delivery point")
  T.eq(job(), "ab")
  T.same(got, {{true, "ab"}})
  -- n keeps trailing nils; callbacks see failures as (false, message)
  local n = rt:submit{function(...) return select("#", ...) end, 1, nil, n = 2}()
  T.eq(n, 2)
  local seen
  rt:submit{function() error("nope", 0) end, callback = function(ok, msg) seen = {ok, msg} end}
  rt:wait()
  T.same(seen, {false, "nope"})
  -- a group given by name
  local j2 = rt:submit{function() return 1 end, group = "g1"}
  T.eq(rt:group("g1"):pending() >= 0, true)
  T.eq(rt:wait("g1"), true)
  T.eq(j2:done(), true)
end)

T.test("callbacks run on the script thread", function()
  local rt <close> = weft.runtime(2)
  CALLBACK_TOTAL = 0 -- a global of the script's state
  local count = 0
  local results = {}
  for i = 1, 64 do
    rt:submit{function(k) return k * k end, i, callback = function(ok, v)
      T.ok(ok)
      CALLBACK_TOTAL = CALLBACK_TOTAL + v -- script globals are reachable
      count = count + 1                   -- and upvalues too
      results[#results + 1] = v
    end}
  end
  T.eq(count, 0, "nothing delivered before a delivery point")
  T.eq(rt:wait(), true)
  T.eq(count, 64)
  local want = 0
  for i = 1, 64 do want = want + i * i end
  T.eq(CALLBACK_TOTAL, want)
  CALLBACK_TOTAL = nil
  -- a callback may submit more work
  local chained
  rt:submit{function() return 1 end, callback = function(_, v)
    rt:submit{function(x) return x + 1 end, v, callback = function(_, w) chained = w end}
  end}
  rt:wait()
  T.eq(chained, 2)
end)

T.test("groups", function()
  local rt <close> = weft.runtime(2)
  local g = rt:group("batch")
  T.eq(rt:group("batch"), g, "same name, same group")
  T.eq(g:name(), "batch")
  local jobs = {}
  for i = 1, 20 do jobs[i] = g:submit(function(x) return x + 1 end, i) end
  T.eq(g:wait(), true)
  T.eq(g:pending(), 0)
  for i = 1, 20 do T.eq(jobs[i]:done(), true) end
  T.eq(jobs[20](), 21)
  -- failures since the last wait, then cleared
  for i = 1, 5 do
    g:submit(function(x) if x % 2 == 0 then error("even " .. x, 0) end return x end, i)
  end
  local ok, n, first = g:wait()
  T.eq(ok, false)
  T.eq(n, 2)
  T.ok(first:find("failed: even %d"), first)
  T.eq(g:wait(), true, "failures are reported once")
  local total, first_ever = g:failures()
  T.eq(total, 2)
  T.ok(first_ever:find("even"))
  -- another group is independent
  local other = rt:group("other")
  other:submit(function() return 1 end)
  T.eq(other:wait(), true)
  T.eq(tostring(other), "weft.group 'other' (0 pending)")
end)

T.test("rt:wait reports failures once", function()
  local rt <close> = weft.runtime(2)
  for i = 1, 10 do rt:submit(function(x) return x end, i) end
  T.eq(rt:wait(), true)
  rt:submit(function() error("boom", 0) end)
  rt:submit(function() return 1 end)
  local ok, n, first = rt:wait()
  T.eq(ok, false)
  T.eq(n, 1)
  T.ok(first:find("failed: boom", 1, true), first)
  T.eq(rt:wait(), true)
  T.eq(rt:pending(), 0)
end)

T.test("map", function()
  local rt <close> = weft.runtime(2)
  local list = {}
  for i = 1, 1000 do list[i] = i end
  local sq = rt:map(function(x) return x * x end, list)
  T.eq(#sq, 1000)
  for i = 1, 1000 do T.eq(sq[i], i * i) end
  -- chunk sizes, including 1 and bigger than the list
  for _, chunk in ipairs({1, 7, 5000}) do
    local r = rt:map(function(s) return s:upper() end, {"a", "b", "c"}, chunk)
    T.same(r, {"A", "B", "C"})
  end
  T.same(rt:map(function(x) return x end, {}), {})
  -- tables in, tables out
  local r = rt:map(function(t) return {t[1] + t[2], tag = t.tag} end,
                   {{1, 2, tag = "x"}, {3, 4, tag = "y"}})
  T.same(r, {{3, tag = "x"}, {7, tag = "y"}})
  -- an element failing names the element
  local err = T.raises(function()
    rt:map(function(x) if x == 7 then error("seven!", 0) end return x end, list, 3)
  end, "weft: map element 7 failed: seven!")
  T.ok(err:find("test_runtime.lua"), "raised at the caller: " .. err)
  -- and the runtime is still fine
  T.eq(rt:map(function(x) return -x end, {1})[1], -1)
  T.eq(rt:pending(), 0)
end)

T.test("poll and done", function()
  local rt <close> = weft.runtime(1)
  T.eq(rt:poll(), 0, "nothing to deliver")
  local delivered = 0
  local job = rt:submit{function() local x = 0 for i = 1, 2e6 do x = x + i end return x end,
                        callback = function() delivered = delivered + 1 end}
  local t0 = weft.clock()
  local n = 0
  while n == 0 do n = rt:poll(0.05) end
  T.eq(n, 1)
  T.eq(delivered, 1)
  T.eq(job:done(), true)
  T.ok(weft.clock() - t0 < 60)
  T.eq(job(), 2000001000000)
  -- done() delivers what is ready without waiting
  local j = rt:submit(function() return "x" end)
  while not j:done() do end
  T.eq(j(), "x")
  T.raises(function() rt:poll(-1) end, "bad argument #1 to 'poll'")
  T.raises(function() rt:poll("x") end, "bad argument #1 to 'poll' (number expected, got string)")
end)

T.test("thousands of tasks, exact counts", function()
  local rt <close> = weft.runtime(2)
  local n = T.scaled(5000)
  local sum, calls = 0, 0
  local jobs = {}
  for i = 1, n do
    jobs[i] = rt:submit{function(x) return x * 2 end, i,
                        callback = function(ok, v) calls = calls + 1; sum = sum + v end}
  end
  T.eq(rt:wait(), true)
  T.eq(calls, n)
  T.eq(sum, n * (n + 1))
  local total = 0
  for i = 1, n do total = total + jobs[i]() end
  T.eq(total, n * (n + 1))
  local st = rt:stats()
  T.ok(st.tasks_run >= n, "tasks_run " .. st.tasks_run)
  T.eq(rt:pending(), 0)
end)

T.test("stats and print_stats", function()
  local rt <close> = weft.runtime(2)
  rt:reset_stats()
  for i = 1, 10 do rt:submit(function(x) return x end, i) end
  rt:submit(function() error("x") end)
  rt:wait()
  local st = rt:stats()
  T.eq(st.nworkers >= 2, true)
  T.eq(st.active_workers, 2)
  T.eq(st.tasks_submitted, 11)
  T.eq(st.tasks_run, 11)
  T.eq(st.tasks_failed, 1)
  T.eq(math.type(st.wall_s), "float")
  local run = 0
  for _, w in ipairs(st.workers) do
    run = run + w.tasks_run
    T.eq(type(w.active), "boolean")
    T.eq(math.type(w.busy_s), "float")
  end
  T.eq(run, 11)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  rt:print_stats(f)
  f:close()
  local text = assert(io.open(path)):read("a")
  os.remove(path)
  T.ok(text:find("weft execution statistics: 2 active workers", 1, true), text)
  T.ok(text:find("tasks submitted: 11, failed: 1", 1, true), text)
  rt:print_stats() -- to stdout
  T.raises(function() rt:print_stats("x") end,
           "bad argument #1 to 'print_stats' (open file expected, got string)")
end)

-- The field names of struct `name` in weft/runtime.h.
local function c_struct_fields(name)
  local dir = arg[0]:match("(.*/)") or "./"
  local f = assert(io.open(dir .. "../../runtime/include/weft/runtime.h"))
  local text = f:read("a")
  f:close()
  local body = text:match("typedef struct " .. name .. " {(.-)}")
  body = body:gsub("/%*.-%*/", "")
  local fields = {}
  for decl in body:gmatch("[^;]+") do
    for part in decl:gmatch("[^,]+") do
      local id = part:match("([%w_]+)%s*$")
      if id then fields[id] = true end
    end
  end
  return fields
end

local function keys(t)
  local k = {}
  for key in pairs(t) do k[key] = true end
  return k
end

T.test("stats: the schema of weft_stats_t", function()
  -- the keys Python's rt.stats() has too (beside its job counters)
  local top, worker = c_struct_fields("weft_stats"), c_struct_fields("weft_worker_stats")
  T.same(top, {nworkers = true, workers = true, tasks_submitted = true, tasks_run = true,
               tasks_stolen = true, tasks_failed = true, busy_s = true, wall_s = true})
  T.same(worker, {tasks_run = true, tasks_stolen = true, busy_s = true, active = true})
  local rt <close> = weft.runtime(2)
  rt:reset_stats()
  for i = 1, 20 do rt:submit(function(x) return x end, i) end
  rt:wait()
  local st = rt:stats()
  top.active_workers = true
  T.same(keys(st), top)
  worker.id = true
  T.eq(#st.workers, st.nworkers)
  for i, w in ipairs(st.workers) do
    T.same(keys(w), worker)
    T.eq(w.id, i - 1)
  end
  T.eq(st.active_workers, 2)
  T.eq(st.tasks_run, 20)
end)

T.test("close delivers, __close and __gc", function()
  local delivered = 0
  do
    local rt <close> = weft.runtime(2)
    for i = 1, 10 do
      rt:submit{function() return 1 end, callback = function() delivered = delivered + 1 end}
    end
  end -- __close: delivers, then closes
  T.eq(delivered, 10)
  -- a callback error is raised by close, after the runtime is closed
  local rt = weft.runtime(1)
  rt:submit{function() return 1 end, callback = function() error("cb broke", 0) end}
  rt:submit{function() return 2 end, callback = function() delivered = delivered + 1 end}
  T.raises(function() rt:close() end, "weft: callback of job", "cb broke")
  T.eq(rt:closed(), true)
  T.eq(delivered, 11, "the other callback still ran")
  -- forgotten runtimes are closed by the garbage collector
  for _ = 1, 5 do
    local r = weft.runtime(2)
    r:submit(function() return 1 end)
  end
  collectgarbage()
  collectgarbage()
end)

T.test("job of a closed runtime", function()
  local rt = weft.runtime(1)
  local job = rt:submit(function() return 5 end)
  rt:close()
  T.eq(job(), 5, "close delivered it")
end)

T.test("worker globals persist per worker, not in the script", function()
  local rt <close> = weft.runtime(1)
  rt:submit(function() COUNTER = (COUNTER or 0) + 1 end)()
  local v = rt:submit(function() COUNTER = (COUNTER or 0) + 1 return COUNTER end)()
  T.eq(v, 2, "one worker, one state, kept between tasks")
  T.eq(COUNTER, nil, "the script's globals are not the worker's")
  -- set_workers starts fresh workers with fresh states
end)

T.done()
