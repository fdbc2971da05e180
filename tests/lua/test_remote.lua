-- test_remote.lua: Lua tasks and graph nodes on weftd nodes (the plugin
-- weft_lua_plugin, task "weft.lua"). Two weftd processes on loopback are
-- started here (ports chosen by the kernel, a key file made here with mode
-- 0600) and stopped at the end, also when a test fails; each runs under
-- `timeout`, so a killed test cannot leave one behind for long.
--
-- ctest sets WEFT_LUA_WEFTD (build/dist/weftd) and WEFT_LUA_PLUGIN
-- (build/bindings/lua/libweft_lua_plugin.so).
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local T = require "harness"
local weft = require "weft"

local WEFTD = assert(os.getenv("WEFT_LUA_WEFTD"), "WEFT_LUA_WEFTD is not set")
local PLUGIN = assert(os.getenv("WEFT_LUA_PLUGIN"), "WEFT_LUA_PLUGIN is not set")

local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Shell commands run without the sanitizer runtime that sanitizer runs
-- preload into lua5.4 (the tools they start are not built with it).
local NOPRELOAD = "unset LD_PRELOAD; "
local function execute(cmd) return os.execute(NOPRELOAD .. cmd) end
local function popen_line(cmd)
  local f = io.popen(NOPRELOAD .. cmd)
  local line = f:read("l")
  f:close()
  return line
end

local function read_file(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function sleep(s) execute("sleep " .. s) end

local dir = popen_line("mktemp -d")
assert(dir and dir ~= "", "mktemp -d failed")
local key = dir .. "/key"
assert(execute("umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \\n' > " .. sh_quote(key)))

local nodes = {} -- {pid =, port =, addr =, log =}

local function stop_nodes()
  for _, n in ipairs(nodes) do
    if n.pid then
      execute("kill " .. n.pid .. " 2>/dev/null")
      -- bounded: up to 5 s for a clean exit, then SIGKILL
      for _ = 1, 50 do
        if not execute("kill -0 " .. n.pid .. " 2>/dev/null") then break end
        sleep(0.1)
      end
      execute("kill -9 " .. n.pid .. " 2>/dev/null")
      n.pid = nil
    end
  end
end

-- This process's id: the parent of the shell that popen starts.
local MY_PID = popen_line("echo $PPID")

local function start_node(i)
  local out, log, pidf = dir .. "/port" .. i, dir .. "/log" .. i, dir .. "/pid" .. i
  -- weftd under `timeout`, and a watcher that stops it as soon as this
  -- process is gone (a test killed or crashed leaves no node behind)
  local cmd = string.format(
    "(timeout -s TERM 600 %s --listen 127.0.0.1:0 --print-port --secret-file %s --workers 2 " ..
    "--load %s >%s 2>%s & w=$!; echo $w >%s; " ..
    "while kill -0 %s 2>/dev/null && kill -0 $w 2>/dev/null; do sleep 0.2; done; " ..
    "kill $w 2>/dev/null) </dev/null >/dev/null 2>&1 &",
    sh_quote(WEFTD), sh_quote(key), sh_quote(PLUGIN), sh_quote(out), sh_quote(log),
    sh_quote(pidf), MY_PID)
  assert(execute(cmd), "cannot start weftd")
  local n = {log = log}
  nodes[#nodes + 1] = n
  for _ = 1, 100 do -- at most 10 s
    n.pid = n.pid or tonumber((read_file(pidf) or ""):match("%d+"))
    local port = (read_file(out) or ""):match("port (%d+)")
    if port then
      n.port, n.addr = tonumber(port), "127.0.0.1:" .. port
      return n
    end
    sleep(0.1)
  end
  error("weftd did not start: " .. (read_file(log) or "(no log)"))
end

local ok, err = pcall(function() start_node(1); start_node(2) end)
if not ok then
  stop_nodes()
  print("FAIL setup\n" .. tostring(err))
  print("\n0 passed, 1 failed")
  os.exit(1, true)
end

local cl
ok, err = pcall(function()
  cl = weft.cluster{nodes = {nodes[1].addr, nodes[2].addr}, secret_file = key}
  assert(cl:wait_nodes(2, 10))
end)
if not ok then
  stop_nodes()
  print("FAIL setup\n" .. tostring(err))
  print("\n0 passed, 1 failed")
  os.exit(1, true)
end
local addrs = {[nodes[1].addr] = true, [nodes[2].addr] = true}

-- pp's sum_primes, as the source text of a chunk that returns it
local SUM_PRIMES = [[
return function(n)
  local function isprime(x)
    if x < 2 then return false end
    for i = 2, math.floor(math.sqrt(x)) do
      if x % i == 0 then return false end
    end
    return true
  end
  local sum = 0
  for x = 2, n - 1 do if isprime(x) then sum = sum + x end end
  return sum
end
]]
local sum_primes = load(SUM_PRIMES)()

T.test("many remote jobs give exact results on both nodes", function()
  local count = T.scaled(400)
  local before = {}
  for _, s in ipairs(cl:stats()) do before[s.node] = s.jobs end
  local jobs = {}
  for i = 1, count do jobs[i] = cl:submit(SUM_PRIMES, 1000 + i) end
  local used = {}
  for i = 1, count do
    T.eq(jobs[i](), sum_primes(1000 + i), "job " .. i)
    local node = jobs[i]:node()
    T.ok(addrs[node], "ran on one of the nodes: " .. tostring(node))
    used[node] = (used[node] or 0) + 1
  end
  local total = 0
  for _, s in ipairs(cl:stats()) do
    T.ok(addrs[s.node], s.node)
    T.eq(s.connected, true, s.node)
    T.eq(s.workers, 2, s.node)
    total = total + (s.jobs - (before[s.node] or 0))
    T.ok((used[s.node] or 0) > 0, "node " .. s.node .. " ran jobs")
  end
  -- every job once, plus a resend for each that met a node without the code
  local resent = 0
  for i = 1, count do if jobs[i]:info().resent then resent = resent + 1 end end
  T.eq(total, count + resent, "jobs accepted")
end)

T.test("values travel as for local tasks", function()
  local j = cl:submit("return function(...) return select('#', ...), ... end",
                      nil, 1, 2.5, "a\0b", {1, 2, {x = true}}, -0.0, nil)
  local n, a, b, c, d, e, f, g = j()
  T.eq(n, 7)
  T.eq(a, nil)
  T.eq(b, 1)
  T.eq(c, 2.5)
  T.eq(d, "a\0b")
  T.same(e, {1, 2, {x = true}})
  T.eq(1 / f, -math.huge, "-0.0 keeps its sign")
  T.eq(g, nil)
  T.eq(select("#", cl:submit{"return function(...) return ... end", nil, nil, n = 2}()), 2)
  T.raises(function() cl:submit("return function(f) end", print) end,
           "cannot copy argument 1", "function values cannot be sent")
end)

T.test("an error raised remotely names the job and the node", function()
  local j = cl:submit("return function(x)\n  if x > 1 then error('too big: ' .. x) end\nend", 5)
  local msg = T.raises(function() j() end, "failed on node 127.0.0.1:", "too big: 5",
                       "stack traceback:")
  T.ok(msg:match("weft: remote job %d+ failed on node 127%.0%.0%.1:%d+: %[remote chunk " ..
                 "[^%]]*test_remote%.lua:%d+%]:2: too big: 5"), msg)
  T.ok(addrs[j:node()], "node of the failed job")
  T.eq(j:ok(), false)
  T.ok(msg:find(j:error(), 1, true), "job:error() is the message raised")
  -- the same message again, raised at each wait
  T.raises(function() j:wait() end, "too big: 5")
  -- named chunks
  T.raises(function() cl:submit{"return function() error('x') end", name = "mine"}() end,
           ": mine:1: x")
  -- source that does not load, and a chunk that returns no function
  T.raises(function() cl:submit("return function(") () end,
           "weft.lua: cannot load the code of [remote chunk")
  T.raises(function() cl:submit("return 42")() end,
           "returned number, not a function")
  -- the cluster goes on
  T.eq(cl:submit("return function(a, b) return a + b end", 2, 3)(), 5)
end)

local function decode_errval(bytes)
  T.eq(bytes:sub(1, 3), "WE\1", "an error value")
  return weft.deserialize(bytes:sub(4))
end

T.test("binary chunks are refused", function()
  local dumped = string.dump(function() return 1 end)
  -- as cl:submit would send it
  T.raises(function() cl:submit(dumped)() end, "binary (precompiled) chunk",
           "loaded in text mode only")
  -- crafted requests: with the message as a value, and as a failure
  local req = weft.remote_request(weft.REMOTE_SOURCE | weft.REMOTE_ERRVAL, "=bin", dumped)
  local msg = decode_errval(cl:run_task("weft.lua", req)())
  T.ok(msg:find("weft.lua: refused the code of bin: it is a binary (precompiled) chunk", 1, true),
       msg)
  req = weft.remote_request(weft.REMOTE_SOURCE, "=bin", dumped)
  T.raises(function() cl:run_task("weft.lua", req)() end,
           "failed with status " .. weft.REMOTE_ERROR, "the Lua code raised an error")
  -- the task's own load, loadfile and dofile load text only on a node
  local f, e = cl:submit("return function(b) return load(b) end", dumped)()
  T.eq(f, nil)
  T.ok(e:find("attempt to load a binary chunk (mode is 't')", 1, true), e)
  f, e = cl:submit("return function(b) return load(b, 'x', 'b') end", dumped)()
  T.eq(f, nil)
  T.ok(e:find("attempt to load a binary chunk (mode is 't')", 1, true), e)
  T.eq(cl:submit("return function() return load('return 6 * 7')() end")(), 42)
  local path = dir .. "/chunk.luac"
  local out = assert(io.open(path, "wb"))
  out:write(dumped)
  out:close()
  f, e = cl:submit("return function(p) return loadfile(p) end", path)()
  T.eq(f, nil)
  T.ok(e:find("attempt to load a binary chunk (mode is 't')", 1, true), e)
  T.raises(function() cl:submit("return function(p) return dofile(p) end", path)() end,
           "attempt to load a binary chunk")
end)

T.test("malformed requests get a clear answer", function()
  local function errval_of(bytes) return decode_errval(cl:run_task("weft.lua", bytes)()) end
  T.raises(function() cl:run_task("weft.lua", "hello")() end,
           "failed with status " .. weft.REMOTE_BADREQ, "the node could not read the request")
  -- a readable header asking for the error as a value
  local good = weft.remote_request(weft.REMOTE_SOURCE | weft.REMOTE_ERRVAL, "=x",
                                   "return function() return 1 end")
  T.eq(weft.deserialize(cl:run_task("weft.lua", good)()), 1)
  local m = errval_of(good:sub(1, 40))
  T.ok(m:find("weft.lua: malformed request: bad", 1, true), m)
  -- a source byte changed: the key no longer matches the code
  local bad = good:gsub("return 1", "return 2")
  m = errval_of(bad)
  T.eq(m, "weft.lua: malformed request: the key is not the SHA-256 of the code block")
  -- unknown flags: refused (the ERRVAL bit, readable, is honoured)
  T.eq(errval_of(good:sub(1, 3) .. "\255" .. good:sub(5)),
       "weft.lua: malformed request: unknown flags")
end)

T.test("cache miss: the job is sent again with the source", function()
  local src = "return function(x) return x * 3, 'miss " .. tostring(os.time()) .. "' end"
  -- a key no node holds, without source: the miss status, nothing ran
  local req = weft.remote_request(weft.REMOTE_ERRVAL, "=fresh", src, 7)
  T.raises(function() cl:run_task("weft.lua", req)() end,
           "failed with status " .. weft.REMOTE_MISS, "a cache miss")
  -- cl:submit with cached = true sends only the key first: the node
  -- misses, the callback sends it again with the source
  local j = cl:submit{src, 7, cached = true}
  local a, b = j()
  T.eq(a, 21)
  T.ok(b:match("^miss "), b)
  local info = j:info()
  T.eq(info.resent, true)
  T.eq(info.attempts, 2)
  T.ok(addrs[info.node], info.node)
  -- once a node holds the code, a key-only request runs there: send it
  -- to both nodes (with source), then key-only requests never miss
  local src2 = "return function(x) return -x end"
  local seen, batch = {}, {}
  for i = 1, 50 do batch[i] = cl:submit{src2, 1, name = "src2"} end
  for i = 1, 50 do
    T.eq(batch[i](), -1)
    seen[batch[i]:node()] = true
  end
  T.ok(seen[nodes[1].addr] and seen[nodes[2].addr], "both nodes ran src2")
  req = weft.remote_request(weft.REMOTE_ERRVAL, "=src2", src2, 5)
  for _ = 1, 20 do
    T.eq(weft.deserialize(cl:run_task("weft.lua", req)()), -5)
  end
  -- the submit path without a miss: not resent
  local k = cl:submit{src2, 9, name = "src2", cached = true}
  T.eq(k(), -9)
  T.eq(k:info().resent, false)
end)

T.test("waiting with a timeout, done, cancel", function()
  local j = cl:submit("return function(s) local t = os.clock() while os.clock() - t < s do end " ..
                      "return 'slept' end", 0.3)
  T.eq(j:done(), false)
  T.eq(j:wait(0), false)
  T.eq(j:ok(), nil)
  local okw, v = j:wait(30)
  T.eq(okw, true)
  T.eq(v, "slept")
  T.eq(j:done(), true)
  T.raises(function() j:wait(-1) end, "timeout must not be negative")
  local c = cl:submit("return function(s) local t = os.clock() while os.clock() - t < s do end " ..
                      "end", 0.2)
  c:cancel()
  local msg = T.raises(function() c() end, "weft: remote job")
  T.ok(msg:find("cancel", 1, true) or msg:find("failed", 1, true), msg)
  c:close()
  T.raises(function() c() end, "the job is closed")
end)

T.test("tasks on the nodes can spawn and see the worker's weft", function()
  local j = cl:submit([[
return function(n)
  local function fib(k)
    if k < 2 then return k end
    local a = weft.spawn(fib, k - 1)
    local b = weft.spawn(fib, k - 2)
    return a() + b()
  end
  return fib(n), type(weft.clock()), weft.cancelled()
end]], 12)
  local f, clk, cancelled = j()
  T.eq(f, 144)
  T.eq(clk, "number")
  T.eq(cancelled, false)
end)

-- The same graph of Lua nodes, run here and on the cluster.
local function build_graph()
  local g = weft.graph("remote")
  local src_n = g:add_remote("source", "return function(n) return n end", 2000)
  local parts = {}
  for i = 1, 6 do
    -- part i: the primes below n + 100 i, n from the source node
    parts[i] = g:add_remote("part" .. i, (SUM_PRIMES:gsub("return function%(n%)",
                            "return function(k, m) local n = m + 100 * k")), i)
    src_n:precede(parts[i])
  end
  local total = g:add_remote("total",
    "return function(...) local s = 0 for i = 1, select('#', ...) do s = s + select(i, ...) end " ..
    "return s, select('#', ...) end")
  for i = 1, 6 do parts[i]:precede(total) end
  -- a local node (function) in the same graph, after the remote total
  local fmt_node = g:add("fmt", function(s) return ("total %d"):format(s) end)
  total:precede(fmt_node)
  return g, parts, total, fmt_node
end

T.test("a graph of Lua nodes on the cluster: the same results as here", function()
  local rt <close> = weft.runtime(2)
  local g <close>, parts, total, fmt_node = build_graph()
  local here = g:run(rt)
  local want = 0
  for i = 1, 6 do
    local v = here:result(parts[i])
    T.eq(v, sum_primes(2000 + 100 * i), "part " .. i)
    want = want + v
  end
  T.same({here:result(total)}, {want, 6})
  T.eq(here:result(fmt_node), ("total %d"):format(want))
  local there = g:run(rt, {cluster = cl})
  for i = 1, 6 do T.eq(there:result(parts[i]), here:result(parts[i]), "part " .. i) end
  T.same({there:result(total)}, {want, 6})
  T.eq(there:result(fmt_node), ("total %d"):format(want))
  T.same(there:counts().done, 9)
end)

T.test("a layered graph of remote nodes: every result as here", function()
  local rt <close> = weft.runtime(2)
  local g <close> = weft.graph("layers")
  local width, depth = 12, 4
  local layers = {}
  -- layer 1: tables; later layers: each node combines two of the layer
  -- above (its arguments first, then the inputs in edge order)
  local first = "return function(i) return {i = i, s = ('n' .. i), f = i / 4} end"
  local later = [[
return function(layer, a, b)
  return {i = a.i * 3 + b.i + layer, s = a.s .. '+' .. b.s, f = a.f - b.f / 2}
end]]
  for l = 1, depth do
    layers[l] = {}
    for k = 1, width do
      local name = ("L%dN%d"):format(l, k)
      if l == 1 then
        layers[l][k] = g:add_remote(name, first, k)
      else
        local n = g:add_remote(name, later, l)
        layers[l - 1][k]:precede(n)
        layers[l - 1][k % width + 1]:precede(n)
        layers[l][k] = n
      end
    end
  end
  local function cluster_jobs()
    local n = 0
    for _, st in ipairs(cl:stats()) do n = n + st.jobs end
    return n
  end
  local here = g:run(rt)
  local before = cluster_jobs()
  local there = g:run(rt, {cluster = cl})
  T.eq(there:counts().done, width * depth)
  T.eq(cluster_jobs() - before, width * depth, "every node ran on the cluster")
  for l = 1, depth do
    for k = 1, width do
      T.same(there:result(layers[l][k]), here:result(layers[l][k]), ("L%dN%d"):format(l, k))
    end
  end
  T.eq(here:result(layers[2][1]).i, 1 * 3 + 2 + 2)
end)

T.test("a failing remote graph node fails its run; its descendants are skipped", function()
  local rt <close> = weft.runtime(2)
  local g <close> = weft.graph("remote_fail")
  local a = g:add_remote("a", "return function() return 1 end")
  local b = g:add_remote("b", "return function(x) error('b broke') end")
  local c = g:add_remote("c", "return function(x) return x end")
  a:precede(b)
  b:precede(c)
  -- here: the message of the node's error
  local msg = T.raises(function() g:run(rt) end, "weft: node 'b' failed:", "b broke")
  T.ok(msg:find("[remote node b]:1: b broke", 1, true), msg)
  for _, opts in ipairs{{}, {cluster = cl}} do
    local run = g:run(rt, {cluster = opts.cluster, check = false})
    T.eq(run:status(a), "done")
    T.eq(run:status(b), "failed")
    T.eq(run:status(c), "skipped")
    T.eq(run:ok(), false)
    local e = run:node_error(b)
    -- a failed task's bytes come back from a cluster node too: the message
    T.ok(e:find("[remote node b]:1: b broke", 1, true), e)
    T.ok(run:error():find("b broke", 1, true), run:error())
  end
end)

T.test("a cluster with local workers runs Lua tasks here", function()
  local lc <close> = weft.cluster{local_workers = 2}
  local j = lc:submit(SUM_PRIMES, 5000)
  T.eq(j(), sum_primes(5000))
  T.eq(j:node(), "local")
end)

T.test("bad arguments and unreachable nodes", function()
  T.raises(function() weft.cluster() end, "bad argument #1 to 'cluster' (table expected")
  T.raises(function() weft.cluster{nodes = {1}} end, "nodes[1] must be a string")
  T.raises(function() weft.cluster{node = {}} end, "unknown option 'node'")
  T.raises(function() weft.cluster{nodes = {"no port here:x"}, secret_file = key} end,
           "weft: cannot create the cluster")
  T.raises(function() weft.cluster{nodes = {}} end, "weft: cannot create the cluster")
  T.raises(function() cl:submit(42) end, "string (source of a chunk) expected")
  T.raises(function() cl:submit{"x", bogus = 1} end, "unknown option 'bogus'")
  local far <close> = weft.cluster{nodes = {"127.0.0.1:1"}, secret_file = key}
  local okw, err = far:wait_nodes(1, 0.3)
  T.eq(okw, false)
  T.ok(err:find("127.0.0.1:1", 1, true), err)
  far:close()
  T.raises(function() far:submit("return function() end") end, "the cluster is closed")
end)

T.test("statistics", function()
  local st = cl:stats()
  T.eq(#st, 2)
  local text = {}
  local f = io.tmpfile()
  cl:print_stats(f)
  f:seek("set")
  text = f:read("a")
  f:close()
  T.ok(text:find(nodes[1].addr, 1, true) and text:find(nodes[2].addr, 1, true), text)
end)

T.test("throughput: small remote tasks on 2 nodes", function()
  local count = T.scaled(10000)
  local src = "return function(x) return x + 1 end"
  cl:submit(src, 0)() -- the code reaches one node first; the other misses once
  local t0 = weft.clock()
  local jobs = {}
  for i = 1, count do jobs[i] = cl:submit(src, i) end
  local sum = 0
  for i = 1, count do sum = sum + jobs[i]() end
  local dt = weft.clock() - t0
  T.eq(sum, count * (count + 1) // 2 + count)
  local resent = 0
  for i = 1, count do if jobs[i]:info().resent then resent = resent + 1 end end
  print(string.format("bench=lua_remote tasks=%d nodes=2 workers_per_node=2 s=%.3f " ..
                      "tasks_per_s=%.0f us_per_task=%.1f resent=%d", count, dt, count / dt,
                      dt / count * 1e6, resent))
end)

cl:close()

T.test("the nodes stop cleanly, their logs free of sanitizer reports", function()
  stop_nodes()
  for i, n in ipairs(nodes) do
    local log = read_file(n.log) or ""
    T.ok(not log:find("Sanitizer", 1, true) and not log:find("runtime error", 1, true),
         "node " .. i .. " log:\n" .. log)
    T.ok(log:find("listening on 127.0.0.1:" .. n.port, 1, true), "node " .. i .. " log:\n" .. log)
  end
end)

stop_nodes()
execute("rm -rf " .. sh_quote(dir))
T.done()
