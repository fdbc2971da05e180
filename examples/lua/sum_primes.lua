-- sum_primes.lua: Parallel Python's sum_primes.py, in Lua on weft.
--
-- Sums the primes below 100000, 100100, ..., 100700 as eight jobs that run
-- in parallel, each in its worker's own Lua state; prints one line per input
-- in submission order, then the runtime's statistics (pp's print_stats).
--
-- Usage: lua5.4 sum_primes.lua [WORKERS]    (0 or absent: weft's default)
-- From the build tree: LUA_CPATH="build/bindings/lua/?.so;;" lua5.4 ...
local weft = require "weft"

local workers = tonumber(arg[1] or "0")
if not workers or workers ~= math.floor(workers) or workers < 0 then
  io.stderr:write("usage: lua5.4 sum_primes.lua [WORKERS]\n")
  os.exit(1)
end

-- The task. It runs in a worker's state, so it takes nothing from this
-- script but its argument: isprime is defined inside it.
local function sum_primes(n)
  local function isprime(x)
    if x < 2 then return false end
    if x < 4 then return true end
    if x % 2 == 0 then return false end
    local i = 3
    while i * i <= x do
      if x % i == 0 then return false end
      i = i + 2
    end
    return true
  end
  local sum = 0
  for x = 2, n - 1 do
    if isprime(x) then sum = sum + x end
  end
  return sum
end

local rt <close> = weft.runtime(math.tointeger(workers))
print(string.format("Starting weft %s with %d workers", weft.version(), rt:workers()))

local inputs, jobs = {}, {}
for i = 1, 8 do
  inputs[i] = 100000 + 100 * (i - 1)
  jobs[i] = rt:submit(sum_primes, inputs[i])
end
for i = 1, 8 do
  print(string.format("Sum of primes below %d is %d", inputs[i], jobs[i]()))
end
rt:print_stats()
print("sum_primes.lua: done")
