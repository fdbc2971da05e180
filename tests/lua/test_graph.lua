-- test_graph.lua: graphs of Lua nodes: building, running, data between
-- nodes, failures, cancellation, dot, traces, statistics, graph files.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local T = require "harness"
local weft = require "weft"

local rt = weft.runtime(2)

T.test("build and run a diamond", function()
  local g <close> = weft.graph("diamond")
  T.eq(g:name(), "diamond")
  local a = g:add("a", function(x) return x + 1 end, 10)          -- 11
  local b = g:add("b", function(k, v) return v * k end, 2)        -- 22
  local c = g:add("c", function(k, v) return v * k end, 3)        -- 33
  local d = g:add("d", function(x, y) return x + y, "sum" end)    -- 55
  a:precede(b, c)
  d:succeed(b, c)
  T.eq(g:node_count(), 4)
  T.eq(g:edge_count(), 4)
  T.eq(a:name(), "a")
  T.eq(a:id(), 0)
  T.eq(d:id(), 3)
  T.eq(g:node("c"), c, "lookup gives the same node object")
  T.eq(g:node("zz"), nil)
  T.eq(#g:nodes(), 4)
  T.eq(g:check(), true)
  T.eq(tostring(g), "weft.graph 'diamond' (4 nodes, 4 edges)")
  T.eq(tostring(d), "weft.node 'd'")
  local run = g:run(rt)
  T.eq(run:ok(), true)
  T.eq(run:result(a), 11)
  T.eq(run:result("b"), 22)
  T.eq(run:result(c), 33)
  local sum, tag = run:result(d)
  T.eq(sum, 55)
  T.eq(tag, "sum")
  for _, n in ipairs(g:nodes()) do T.eq(run:status(n), "done") end
  local counts = run:counts()
  T.eq(counts.total, 4); T.eq(counts.done, 4); T.eq(counts.failed, 0)
  T.eq(counts.skipped, 0); T.eq(counts.cancelled, 0); T.eq(counts.first_failed, nil)
  T.eq(run:error(), nil)
  T.eq(run:graph(), g)
  T.eq(g:last_run(), run)
  -- run again: a graph is reusable
  local again = g:run(rt, {record = false})
  T.eq(again:result(d), 55)
  T.eq(again:time(a), nil, "no times without record")
end)

T.test("inputs come in edge order, first result each", function()
  local g <close> = weft.graph("order")
  local x = g:add("x", function() return "x", "ignored" end)
  local y = g:add("y", function() return "y" end)
  local z = g:add("z", function() end)                 -- no result: nil
  local j = g:add("join", function(sep, ...) return table.concat({...}, sep), select("#", ...) end, "+")
  j:succeed(y, x)
  g:precede(z, j)
  local run = g:run(rt)
  local s, n = run:result(j)
  T.eq(n, 3)
  T.eq(s, "y+x") -- concat stops at the nil from z
  -- tables travel between nodes as copies
  local g2 <close> = weft.graph("tables")
  local p = g2:add("p", function() return {list = {1, 2, 3}, name = "p"} end)
  local q = g2:add("q", function(t) t.list[4] = 4 return t end)
  p:precede(q)
  local r2 = g2:run(rt)
  T.same(r2:result(q), {list = {1, 2, 3, 4}, name = "p"})
  T.same(r2:result(p), {list = {1, 2, 3}, name = "p"})
end)

T.test("a failing node: message, skipped descendants, other branches", function()
  local g <close> = weft.graph("fail")
  local src = g:add("src", function() return 1 end)
  local bad = g:add("count_3", function(v) local t = nil; return t.field + v end)
  local after = g:add("after_bad", function(v) return v end)
  local ok = g:add("independent", function(v) return v + 1 end)
  src:precede(bad, ok)
  bad:precede(after)
  local err = T.raises(function() g:run(rt) end,
    "weft: node 'count_3' failed: ", "test_graph.lua:", "attempt to index a nil value")
  T.ok(err:find("^.-test_graph.lua:%d+: weft: node"), "raised at the caller: " .. err)
  local run = g:last_run()
  T.eq(run:status(src), "done")
  T.eq(run:status(bad), "failed")
  T.eq(run:status(after), "skipped")
  T.eq(run:status(ok), "done")
  T.eq(run:result(ok), 2)
  T.eq(run:result(bad), nil)
  T.ok(run:node_error(bad):find("attempt to index a nil value", 1, true))
  T.eq(run:node_error(ok), nil)
  local c = run:counts()
  T.eq(c.done, 2); T.eq(c.failed, 1); T.eq(c.skipped, 1)
  T.eq(c.first_failed, "count_3")
  T.eq(c.first_code, weft.ETASK)
  T.eq(run:ok(), false)
  T.ok(run:error():find("weft: node 'count_3' failed:", 1, true))
  -- an async run raises the same from wait(), every time, also after done()
  local ra = g:run_async(rt)
  while not ra:done() do end
  T.raises(function() ra:wait() end, "weft: node 'count_3' failed: ")
  T.raises(function() ra:wait() end, "weft: node 'count_3' failed: ")
  -- check = false: no error, the run tells
  local r2 = g:run(rt, {check = false})
  T.eq(r2:ok(), false)
  T.eq(r2:status(after), "skipped")
  -- error values that are not strings
  local g2 <close> = weft.graph()
  g2:add("tbl", function() error({code = 1}) end)
  T.raises(function() g2:run(rt) end, "weft: node 'tbl' failed: (error object is a table value)")
  -- and the runtime is still usable
  T.eq(rt:submit(function() return "alive" end)(), "alive")
end)

T.test("cycles are found before anything runs", function()
  local g <close> = weft.graph("loop")
  local a = g:add("a", function() return 1 end)
  local b = g:add("b", function() return 2 end)
  local c = g:add("c", function() return 3 end)
  g:chain(a, b, c)
  c:precede(a)
  local ok, node = g:check()
  T.eq(ok, false)
  T.ok(node == a or node == b or node == c)
  T.raises(function() g:run(rt) end, "weft: graph 'loop' has a cycle through node '")
  local self_loop <close> = weft.graph("self")
  local s = self_loop:add("s", function() end)
  s:precede(s)
  T.raises(function() self_loop:run(rt) end, "has a cycle through node 's'")
end)

T.test("cancel", function()
  local g <close> = weft.graph("slow")
  local first = g:add("first", function(t) -- busy for a while
    local x = 0
    for i = 1, t do x = x + i % 7 end
    return x
  end, 3e7)
  local later = {}
  for i = 1, 5 do
    later[i] = g:add("later_" .. i, function(v) return v end)
    first:precede(later[i])
  end
  local run = g:run_async(rt)
  run:cancel()
  T.eq(run:wait(), true)
  T.eq(run:cancelled(), true)
  T.eq(run:ok(), false)
  local c = run:counts()
  T.eq(c.total, 6)
  T.eq(c.cancelled + c.done, 6)
  T.ok(c.cancelled >= 5, "the later nodes were cancelled: " .. c.cancelled)
  for i = 1, 5 do T.eq(run:status(later[i]), "cancelled") end
  -- the graph runs normally afterwards
  local r2 = g:run(rt)
  T.eq(r2:ok(), true)
  T.eq(r2:result(later[1]), r2:result(first))
end)

T.test("async runs, wait with timeout, done", function()
  local g <close> = weft.graph("async")
  g:add("spin", function(n) local x = 0 for i = 1, n do x = x + i end return x end, 2e6)
  local run <close> = g:run_async(rt)
  while not run:done() do end
  T.eq(run:wait(0), true)
  T.eq(run:result("spin"), 2000001000000)
  local r2 = g:run_async(rt)
  T.raises(function() r2:wait(-1) end, "bad argument #1 to 'wait'")
  T.eq(r2:wait(), true)
end)

T.test("a graph runs again before its last run ends, each run with its own results", function()
  local g <close> = weft.graph("overlap")
  local a = g:add("a", function(n, k) local x = 0 for i = 1, n do x = x + i % k end return k end, 3e6, 1)
  local b = g:add("b", function(k) return k * 10 end)
  a:precede(b)
  local r1 = g:run_async(rt)
  local r2 = g:run_async(rt)                -- while r1 goes
  T.eq(r1:wait(), true); T.eq(r2:wait(), true)
  T.eq(r1:result(b), 10); T.eq(r2:result(b), 10)
  T.eq(r1:counts().done, 2); T.eq(r2:counts().done, 2)
  T.ok(r1 ~= r2)
end)

T.test("dot, trace and statistics", function()
  local g <close> = weft.graph("shown")
  local a = g:add("load", function() return 1 end)
  local b = g:add("left", function(v) return v end)
  local c = g:add("right", function(v) return v end)
  a:precede(b, c)
  local dot = g:dot()
  T.ok(dot:find("^digraph"), dot)
  T.ok(dot:find('"load"', 1, true) and dot:find('"right"', 1, true), dot)
  T.ok(dot:find("->", 1, true))
  local run = g:run(rt)
  local coloured = g:dot(run)
  T.ok(#coloured > #dot, "the run adds colours and times")
  T.eq(run:dot(), coloured)
  local trace = run:trace()
  T.ok(trace:find('"traceEvents"', 1, true) or trace:find('"ph"', 1, true), trace)
  T.ok(trace:find('"left"', 1, true), trace)
  local s, e, w = run:time(b)
  T.ok(s >= 0 and e >= s and w >= 0, "node time")
  local st = run:stats()
  T.eq(st.done, 3)
  local nodes = 0
  for _, wk in pairs(st.workers) do nodes = nodes + wk.nodes end
  T.eq(nodes, 3)
  T.ok(st.busy_s >= 0)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  run:print_stats(f)
  f:close()
  local text = assert(io.open(path)):read("a")
  os.remove(path)
  T.ok(text:find("weft run statistics: graph 'shown', 3 nodes", 1, true), text)
  T.ok(text:find("done 3, failed 0, skipped 0, cancelled 0", 1, true), text)
  -- a stale run after the graph changed
  g:add("extra", function() end)
  T.raises(function() run:status(a) end, "WEFT_ESTALE")
end)

T.test("progress callback on the script thread", function()
  local g <close> = weft.graph("progress")
  for i = 1, 8 do
    g:add("n" .. i, function(k) local x = 0 for j = 1, 2e5 do x = x + j end return k end, i)
  end
  local reports, last = 0, nil
  local run = g:run(rt, {progress = function(p, r)
    reports = reports + 1
    last = p
    T.eq(getmetatable(r) ~= nil, true)
  end, interval = 0.001})
  T.ok(reports >= 1)
  T.eq(last.total, 8)
  T.eq(last.finished, 8)
  T.eq(run:result("n8"), 8)
  -- an error in the progress callback cancels the run and is raised
  local g2 <close> = weft.graph("bad progress")
  g2:add("x", function() local s = 0 for j = 1, 1e6 do s = s + j end return s end)
  T.raises(function() g2:run(rt, {progress = function() error("progress broke", 0) end}) end,
           "weft: the progress callback failed: progress broke")
  -- closing the run or its graph from the callback is refused
  T.raises(function() g2:run(rt, {progress = function(_, r) r:close() end}) end,
           "cannot close a run from its own progress callback")
  T.raises(function() g2:run(rt, {progress = function() g2:close() end}) end,
           "cannot close a graph from its run's progress callback")
  T.eq(g2:run(rt):ok(), true)
end)

T.test("subgraphs", function()
  local inner = weft.graph("inner")
  local i1 = inner:add("i1", function() return "inner result" end)
  local outer <close> = weft.graph("outer")
  local pre = outer:add("pre", function() return 1 end)
  local sub = outer:add_subgraph("sub", inner)
  local post = outer:add("post", function() return 2 end)
  outer:chain(pre, sub, post)
  local run = outer:run(rt)
  T.eq(run:status(sub), "done")
  T.eq(run:result(post), 2)
  T.ok(outer:dot():find("cluster", 1, true))
  inner = nil
  i1 = nil
  collectgarbage()
  T.eq(outer:run(rt):ok(), true, "the subgraph lives as long as its parent")
end)

T.test("graph files carry Lua nodes", function()
  local g = weft.graph("saved")
  local a = g:add("make", function(n) return n * 2 end, 21)
  local b = g:add("use", function(prefix, v) return prefix .. v end, "answer=")
  a:precede(b)
  local path = os.tmpname()
  g:save(path)
  g:close()
  local text = assert(io.open(path)):read("a")
  T.ok(text:find("weft-graph 1", 1, true))
  T.ok(text:find("node make lua", 1, true), text:sub(1, 200))
  local g2 <close> = weft.load_graph(path)
  os.remove(path)
  T.eq(g2:name(), "saved")
  T.eq(g2:node_count(), 2)
  local run = g2:run(rt)
  T.eq(run:result("use"), "answer=42")
  T.raises(function() weft.load_graph("/nonexistent/file.wg") end,
           "weft: cannot load graph file /nonexistent/file.wg")
end)

T.test("closing graphs and runs", function()
  local g = weft.graph("closing")
  g:add("a", function() return 1 end)
  local run = g:run(rt)
  run:close()
  T.raises(function() run:result("a") end, "weft: the run is closed")
  local run2 = g:run(rt)
  g:close()
  T.eq(g:closed(), true)
  T.raises(function() run2:status("a") end, "graph is closed")
  T.raises(function() g:add("b", function() end) end, "weft: the graph is closed")
  g:close()
  T.eq(tostring(g), "weft.graph (closed)")
  -- closing a graph that runs waits for the run
  local g3 = weft.graph("busy")
  g3:add("spin", function() local x = 0 for i = 1, 1e7 do x = x + 1 end return x end)
  local r3 = g3:run_async(rt)
  g3:close()
  T.eq(g3:closed(), true)
  T.raises(function() r3:result("spin") end, "graph is closed")
  -- forgotten graphs and runs are collected
  for i = 1, 20 do
    local gg = weft.graph("tmp" .. i)
    gg:add("x", function() return 1 end)
    gg:run(rt)
  end
  collectgarbage()
  collectgarbage()
end)

T.test("graphs refuse what tasks refuse", function()
  local g <close> = weft.graph("refuse")
  local up = 1
  T.raises(function() g:add("u", function() return up end) end, "it uses upvalue 'up'")
  T.raises(function() g:add("f", function() end, print) end,
           "weft: cannot copy argument 3: function values cannot be sent to a worker")
  T.eq(g:node_count(), 0, "nothing was added")
end)

rt:close()
T.done()
