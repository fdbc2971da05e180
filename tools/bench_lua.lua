-- bench_lua.lua: CPU-bound Lua tasks on weft's workers against the same
-- work run serially in the script's own state, side by side in one run.
--
-- The work is Parallel Python's sum_primes: task i sums the primes below
-- BASE + STEP*i with pp's isprime (trial division by 2..ceil(sqrt(n))).
-- For each thread count, each repetition times the serial loop and then
-- weft (submit every task, wait for all), alternately, so that both see
-- the same machine; the lines report medians:
--
--   bench=lua_primes tasks=8 threads=2 reps=5 weft_s=0.093 serial_s=0.180 speedup=1.94
--
-- speedup = serial_s / weft_s. Every result is checked against the serial
-- one (exit status 1 and an "error:" line otherwise).
--
-- A second line per thread count measures the cost of a task itself:
-- EMPTY tasks that return their argument (submit, copy the argument over
-- and the result back, deliver), as the median time per task:
--
--   bench=lua_empty tasks=20000 threads=2 reps=5 weft_s=0.21 us_per_task=10.5
--
-- A third measures nested fork-join: fib(FIB) with one task per call, each
-- call spawning its two children with weft.spawn and waiting for them from
-- inside the task (so waiting workers run other calls nested in their own
-- lua_State), against the plain recursive fib in the script's state:
--
--   bench=lua_fib n=22 tasks=57313 threads=2 reps=5 weft_s=0.06 serial_s=0.003 us_per_task=1.05
--
-- us_per_task = weft_s / tasks: the cost of a spawned Lua task (spawn, copy
-- the argument over and the result back, wait), the work itself being
-- negligible.
--
-- Usage: lua5.4 tools/bench_lua.lua [--threads 1,2] [--reps 5] [--tasks 8]
--                                   [--base 100000] [--step 100] [--empty 20000]
--                                   [--fib 22]
-- From the build tree: LUA_CPATH="build/bindings/lua/?.so;;" lua5.4 ...
local weft = require "weft"

local opts = {threads = "1,2", reps = 5, tasks = 8, base = 100000, step = 100, empty = 20000,
              fib = 22}
do
  local i = 1
  while arg[i] do
    local key = arg[i]:match("^%-%-(%w+)$")
    if not key or opts[key] == nil or not arg[i + 1] then
      io.stderr:write("usage: lua5.4 bench_lua.lua [--threads 1,2] [--reps 5] [--tasks 8] "
                      .. "[--base 100000] [--step 100] [--empty 20000] [--fib 22]\n")
      os.exit(2)
    end
    opts[key] = key == "threads" and arg[i + 1] or math.tointeger(tonumber(arg[i + 1]))
    if not opts[key] or (key ~= "threads" and opts[key] < 1) then
      io.stderr:write("bench_lua.lua: error: bad value for --", key, "\n")
      os.exit(2)
    end
    i = i + 2
  end
end
local threads = {}
for t in opts.threads:gmatch("[^,]+") do
  local n = math.tointeger(tonumber(t))
  if not n or n < 1 or n > weft.MAX_WORKERS then
    io.stderr:write("bench_lua.lua: error: bad thread count '", t, "'\n")
    os.exit(2)
  end
  threads[#threads + 1] = n
end

-- pp's sum_primes, unchanged in spirit: no upvalues, so it can travel.
local function sum_primes(n)
  local function isprime(x)
    if x < 2 then return false end
    if x == 2 then return true end
    local max = math.ceil(math.sqrt(x))
    local i = 2
    while i <= max do
      if x % i == 0 then return false end
      i = i + 1
    end
    return true
  end
  local sum = 0
  for x = 2, n - 1 do
    if isprime(x) then sum = sum + x end
  end
  return sum
end

local inputs = {}
for i = 1, opts.tasks do inputs[i] = opts.base + opts.step * (i - 1) end

local function median(list)
  table.sort(list)
  local n = #list
  if n % 2 == 1 then return list[(n + 1) // 2] end
  return (list[n // 2] + list[n // 2 + 1]) / 2
end

local expected = {}
local function run_serial()
  local t0 = weft.clock()
  for i, n in ipairs(inputs) do expected[i] = sum_primes(n) end
  return weft.clock() - t0
end

local failed = false
local function run_weft(rt)
  local t0 = weft.clock()
  local jobs = {}
  for i, n in ipairs(inputs) do jobs[i] = rt:submit(sum_primes, n) end
  rt:wait()
  local dt = weft.clock() - t0
  for i = 1, #inputs do
    local got = jobs[i]()
    if got ~= expected[i] then
      print(string.format("bench_lua.lua: error: task %d: weft gave %s, serial %s", i,
                          tostring(got), tostring(expected[i])))
      failed = true
    end
  end
  return dt
end

local function run_empty(rt)
  local t0 = weft.clock()
  local n, sum = opts.empty, 0
  for i = 1, n do
    rt:submit{function(x) return x end, i, callback = function(_, v) sum = sum + v end}
  end
  rt:wait()
  local dt = weft.clock() - t0
  if sum ~= n * (n + 1) // 2 then
    print(string.format("bench_lua.lua: error: empty tasks summed to %d, not %d", sum,
                        n * (n + 1) // 2))
    failed = true
  end
  return dt
end

-- Fork-join: one task per call, both children spawned and waited for.
local function fib_spawn(n)
  if n < 2 then return n end
  local a, b = weft.spawn(fib_spawn, n - 1), weft.spawn(fib_spawn, n - 2)
  return a() + b()
end

local function fib_serial(n)
  if n < 2 then return n end
  return fib_serial(n - 1) + fib_serial(n - 2)
end

local function fib_calls(n)
  if n < 2 then return 1 end
  return 1 + fib_calls(n - 1) + fib_calls(n - 2)
end

local function run_fib(rt)
  local t0 = weft.clock()
  local got = rt:submit(fib_spawn, opts.fib)()
  local dt = weft.clock() - t0
  local t1 = weft.clock()
  local want = fib_serial(opts.fib)
  local st = weft.clock() - t1
  if got ~= want then
    print(string.format("bench_lua.lua: error: fib(%d) with spawned tasks gave %s, not %d",
                        opts.fib, tostring(got), want))
    failed = true
  end
  return dt, st
end

print(string.format("# weft %s, %s, %d usable CPUs, sum_primes below %d..%d (%d tasks)",
                    weft.version(), _VERSION, weft.cpu_count(), inputs[1], inputs[#inputs],
                    #inputs))
run_serial() -- warm up the script's state
for _, nt in ipairs(threads) do
  local rt <close> = weft.runtime(nt)
  run_weft(rt) -- warm up: every worker makes its Lua state and loads the function
  local ws, ss = {}, {}
  for r = 1, opts.reps do
    ss[r] = run_serial()
    ws[r] = run_weft(rt)
  end
  local w, s = median(ws), median(ss)
  print(string.format("bench=lua_primes tasks=%d threads=%d reps=%d weft_s=%.4f serial_s=%.4f "
                      .. "speedup=%.2f", #inputs, nt, opts.reps, w, s, s / w))
  local es = {}
  for r = 1, opts.reps do es[r] = run_empty(rt) end
  local e = median(es)
  print(string.format("bench=lua_empty tasks=%d threads=%d reps=%d weft_s=%.4f us_per_task=%.2f",
                      opts.empty, nt, opts.reps, e, 1e6 * e / opts.empty))
  run_fib(rt) -- warm up: the nested threads of every worker's state
  local fw, fs = {}, {}
  for r = 1, opts.reps do fw[r], fs[r] = run_fib(rt) end
  local calls = fib_calls(opts.fib)
  local f = median(fw)
  print(string.format("bench=lua_fib n=%d tasks=%d threads=%d reps=%d weft_s=%.4f serial_s=%.4f "
                      .. "us_per_task=%.2f", opts.fib, calls, nt, opts.reps, f, median(fs),
                      1e6 * f / calls))
  io.stdout:flush()
end
os.exit(failed and 1 or 0, true)
