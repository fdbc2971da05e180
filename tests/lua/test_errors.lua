-- test_errors.lua: wrong arguments give clear errors, failing tasks give
-- errors that name the job or node and carry the task's message, and the
-- runtime stays usable after every one of them.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local T = require "harness"
local weft = require "weft"

local rt = weft.runtime(2)
local function alive()
  T.eq(rt:submit(function(x) return x + 1 end, 41)(), 42, "the runtime still works")
end

-- The text of one of weft's C headers.
local function c_header(name)
  local dir = arg[0]:match("(.*/)") or "./"
  local f = assert(io.open(dir .. "../../runtime/include/weft/" .. name))
  local text = f:read("a")
  f:close()
  return text
end

T.test("every code of the C table is exposed", function()
  local body = c_header("common.h"):match("#define WEFT_ERRNO_MAP%(X%)(.-)typedef enum weft_errno")
  local n, seen = 0, {}
  for name, code, msg in body:gmatch('X%((%w+),%s*(%-?%d+),%s*"([^"]*)"%)') do
    code = math.tointeger(tonumber(code))
    n = n + 1
    seen[name] = code
    T.eq(weft[name], code, name)
    T.eq(math.type(weft[name]), "integer", name)
    T.eq(weft.err_name(code), "WEFT_" .. name)
    T.eq(weft.strerror(code), msg)
    -- the error any call failing with the code raises: a Lua error
    local ok, err = pcall(weft.check_code, code)
    T.eq(ok, false, name)
    T.eq(err, "weft: " .. msg .. " (WEFT_" .. name .. ")")
  end
  T.ok(n >= 17, "codes in the header: " .. n)
  T.same(weft.ERRORS, seen)
  T.eq(select("#", weft.check_code(0)), 0)
  T.raises(function() weft.check_code(-1000) end, "weft: unknown error (WEFT_UNKNOWN)")
  T.raises(function() weft.check_code("x") end, "check_code")
end)

T.test("the plain API raises by one rule", function()
  local g <close> = weft.graph("plain")
  g:add("a", function() return 1 end)
  -- a failure with a detail message: the message, the detail, the name
  T.raises(function() g:save("/nonexistent-dir/x.wg") end,
           "weft: cannot save graph 'plain' to /nonexistent-dir/x.wg: input/output error: ",
           "/nonexistent-dir/x.wg", "(WEFT_EIO)")
  T.raises(function() weft.load_graph("/nonexistent-dir/x.wg") end, "/nonexistent-dir/x.wg")
  T.raises(function() weft.load_plugin("/nonexistent-dir/plugin.so") end,
           "weft: input/output error: ", "/nonexistent-dir/plugin.so", "(WEFT_EIO)")
  T.raises(function() weft.load_plugin("") end, "(WEFT_EINVAL)")
  -- the graph and run functions are weft.lua's, not the module's
  T.eq(weft.weft_graph_find, nil)
  T.eq(weft.weft_run_counts, nil)
end)

T.test("runtime arguments", function()
  T.raises(function() weft.runtime("two") end,
           "bad argument #1 to 'runtime' (integer expected, got string)")
  T.raises(function() weft.runtime(1.5) end,
           "bad argument #1 to 'runtime' (integer expected, got number)")
  T.raises(function() weft.runtime(-1) end,
           "bad argument #1 to 'runtime' (must be at least 0, got -1)")
  T.raises(function() weft.runtime(100000) end, "weft: worker count 100000 out of range 0..512")
  local r2 = weft.runtime(2.0) -- an integral float is fine
  T.eq(r2:workers(), 2)
  r2:close()
  T.raises(function() rt:set_workers("x") end,
           "bad argument #1 to 'set_workers' (integer expected, got string)")
  T.raises(function() rt:set_workers(-3) end, "must be at least 0")
  T.raises(function() rt.workers() end,
           "calling 'workers' on bad self (weft.runtime expected, got nil)")
  T.raises(function() rt.submit(42) end,
           "calling 'submit' on bad self (weft.runtime expected, got number)")
  alive()
end)

T.test("submit arguments", function()
  T.raises(function() rt:submit() end,
           "bad argument #1 to 'submit' (function expected, got nil)")
  T.raises(function() rt:submit("print(1)") end,
           "bad argument #1 to 'submit' (function expected, got string)")
  T.raises(function() rt:submit(42, 1) end,
           "bad argument #1 to 'submit' (function expected, got number)")
  T.raises(function() rt:submit{} end, "bad argument #1 to 'submit' (function expected, got nil)")
  T.raises(function() rt:submit{function() end, callbak = print} end,
           "bad argument #1 to 'submit' (unknown option 'callbak')")
  T.raises(function() rt:submit{function() end, callback = 3} end,
           "option 'callback' must be a function, got number")
  T.raises(function() rt:submit{function() end, group = 3} end,
           "option 'group' must be a group name or a group of this runtime")
  T.raises(function() rt:submit{function() end, group = ""} end, "must not be empty")
  T.raises(function() rt:submit({function() end}, 1) end,
           "no arguments expected after the options table")
  T.raises(function() rt:submit{function() end, 1, 2, n = 1} end, "unexpected index 3")
  T.raises(function() rt:submit(setmetatable({}, {__call = function() end})) end,
           "function expected, got table")
  alive()
end)

T.test("map, group, poll, wait arguments", function()
  T.raises(function() rt:map(nil, {}) end, "bad argument #1 to 'map' (function expected, got nil)")
  T.raises(function() rt:map(function() end, "abc") end,
           "bad argument #2 to 'map' (table expected, got string)")
  T.raises(function() rt:map(function() end, {1}, 0) end,
           "bad argument #3 to 'map' (must be at least 1, got 0)")
  T.raises(function() rt:map(function() end, {print}) end,
           "weft: cannot copy element 1: function values cannot be sent to a worker")
  T.raises(function() rt:map(function(x) return x end, {1, 2, {f = print}}, 2) end,
           "weft: cannot copy element 3 (at .f): function values")
  T.raises(function() rt:group(1) end, "bad argument #1 to 'group' (string expected, got number)")
  T.raises(function() rt:group("") end, "group name must not be empty")
  T.raises(function() rt:wait(5) end, "bad argument #1 to 'wait' (string expected, got number)")
  local g = rt:group("args")
  T.raises(function() g:submit(nil) end, "bad argument #1 to 'submit' (function expected, got nil)")
  T.raises(function() g.wait(rt) end,
           "calling 'wait' on bad self (weft.group expected, got weft.runtime)")
  alive()
end)

T.test("job methods", function()
  local job = rt:submit(function() return 1 end)
  T.raises(function() job.wait() end, "calling 'wait' on bad self (weft.job expected, got nil)")
  T.raises(function() job.done(rt) end, "calling 'done' on bad self")
  T.eq(job(), 1)
end)

T.test("a failing job names the job and keeps the message", function()
  local job = rt:submit(function(t) return t.missing.field end, {})
  local err = T.raises(function() job() end,
    "weft: job " .. job:id() .. " failed: ", "test_errors.lua:",
    "attempt to index a nil value (field 'missing')")
  T.ok(err:find("^.-test_errors.lua:%d+: weft: job"), "raised where job() was called: " .. err)
  T.raises(function() job:wait() end, "weft: job " .. job:id() .. " failed")
  T.eq(job:ok(), false)
  T.ok(job:error():find("attempt to index a nil value", 1, true))
  T.eq(tostring(job), "weft.job " .. job:id() .. " (failed)")
  -- error() with a string, a level 0 string, a table, a number
  T.raises(function() rt:submit(function() error("plain") end)() end, "failed: ", ": plain")
  T.raises(function() rt:submit(function() error("bare", 0) end)() end, "failed: bare")
  T.raises(function() rt:submit(function() error({}) end)() end,
           "failed: (error object is a table value)")
  T.raises(function() rt:submit(function() error(setmetatable({}, {__tostring = function()
    return "custom" end})) end)() end, "failed: custom")
  T.raises(function() rt:submit(function() error(42) end)() end, "failed: 42")
  -- a runtime error deep in the worker: the traceback's first line
  T.raises(function() rt:submit(function() return ("x"):bad() end)() end,
           "attempt to call a nil value (method 'bad')")
  -- globals of the script do not exist in the worker
  SCRIPT_ONLY = function() return 1 end
  T.raises(function() rt:submit(function() return SCRIPT_ONLY() end)() end,
           "attempt to call a nil value (global 'SCRIPT_ONLY')")
  SCRIPT_ONLY = nil
  alive()
end)

T.test("a worker survives many failures", function()
  local jobs = {}
  for i = 1, 200 do
    jobs[i] = rt:submit(function(k) if k % 2 == 1 then error("odd " .. k, 0) end return k end, i)
  end
  local ok, n, first = rt:wait()
  T.eq(ok, false)
  T.eq(n, 100)
  T.ok(first:find("failed: odd %d+"))
  for i = 1, 200 do
    if i % 2 == 0 then T.eq(jobs[i](), i) else T.eq(jobs[i]:ok(), false) end
  end
  -- an error inside a worker that runs out of stack or memory-hungry code
  T.raises(function() rt:submit(function() local function f() return f() + 1 end return f() end)() end,
           "stack overflow")
  alive()
end)

T.test("callback errors are raised at the delivery point", function()
  local job = rt:submit{function() return 1 end, callback = function() error("in callback", 0) end}
  local err = T.raises(function() job() end,
                       "weft: callback of job " .. job:id() .. " failed: in callback")
  T.eq(job:done(), true, "the job itself completed")
  T.eq(job(), 1, "and its result is there")
  alive()
  local j2 = rt:submit{function() return 1 end, callback = function() local x = nil; return x.y end}
  T.raises(function() rt:wait() end, "weft: callback of job " .. j2:id() .. " failed:",
           "attempt to index a nil value")
  T.eq(rt:wait(), true)
  alive()
  T.ok(err)
end)

T.test("graph arguments", function()
  T.raises(function() weft.graph(5) end, "bad argument #1 to 'graph' (string expected, got number)")
  local g <close> = weft.graph("g")
  T.raises(function() g:add(5, function() end) end,
           "bad argument #1 to 'add' (string expected, got number)")
  T.raises(function() g:add("x", "code") end,
           "bad argument #2 to 'add' (function expected, got string)")
  local a = g:add("a", function() return 1 end)
  local other <close> = weft.graph("other")
  local o = other:add("o", function() end)
  T.raises(function() a:precede(o) end, "bad argument #1 to 'precede' (node of another graph)")
  T.raises(function() a:precede("nope") end, "no node named 'nope'")
  T.raises(function() a:precede(3) end, "node or node name expected, got number")
  T.raises(function() g:precede(a) end,
           "bad argument #2 to 'precede' (node or node name expected, got nil)")
  T.raises(function() g:run() end, "bad argument #1 to 'run' (weft.runtime expected, got nil)")
  T.raises(function() g:run(rt, {recrod = true}) end, "unknown option 'recrod'")
  T.raises(function() g:run(rt, {progress = 1}) end, "option 'progress' must be a function")
  T.raises(function() g:run(rt, "fast") end, "bad argument #2 to 'run' (table expected, got string)")
  T.raises(function() g:dot(5) end, "bad argument #1 to 'dot' (weft.run expected, got number)")
  T.raises(function() g:save(nil) end, "bad argument #1 to 'save' (string expected, got nil)")
  T.raises(function() g:add_subgraph("s", g) end, "WEFT_EINVAL")
  T.raises(function() weft.load_graph(nil) end, "bad argument #1 to 'load_graph'")
  local run = g:run(rt)
  T.raises(function() run:status("zz") end, "no node named 'zz'")
  T.raises(function() run:result(o) end, "node of another graph")
  T.raises(function() run:print_stats(1) end, "open file expected, got number")
  T.raises(function() other:dot(run) end, "run of another graph")
  T.eq(run:result(a), 1)
  -- a closed runtime
  local r2 = weft.runtime(1)
  r2:close()
  T.raises(function() g:run(r2) end, "weft: the runtime is closed")
  alive()
end)

T.test("weft.deserialize arguments", function()
  T.raises(function() weft.deserialize(nil) end,
           "bad argument #1 to 'deserialize' (string expected, got nil)")
  T.raises(function() weft.serialize(print) end,
           "weft: cannot copy value 1: function values cannot be sent to a worker")
end)

rt:close()
T.done()
