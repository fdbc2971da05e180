-- harness.lua: a small test harness for weft's Lua tests.
--
--   local T = require "harness"        -- LUA_PATH has tests/lua (ctest sets it)
--   T.test("name", function() T.eq(1 + 1, 2) end)
--   T.done()                           -- prints "N passed, M failed", exits
--
-- Each test runs under xpcall; a failing assertion or error counts the test
-- as failed, prints its message and traceback, and the next test runs. The
-- final line is exactly "N passed, M failed"; the exit status is nonzero
-- when M > 0. A test named on the command line (lua test_x.lua NAME...) runs
-- alone.
local T = {passed = 0, failed = 0}

local only = {}
for i = 1, #arg do only[arg[i]] = true end
local filter = next(only) ~= nil

-- Scale for counts in stress-like tests (WEFT_TEST_SCALE, as for the C
-- suites; sanitizer runs use a fraction). At least 1 of anything.
T.scale = tonumber(os.getenv("WEFT_TEST_SCALE") or "") or 1.0
function T.scaled(n)
  return math.max(1, math.floor(n * T.scale + 0.5))
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if math.type(v) == "float" then return string.format("%.17g (float)", v) end
  return tostring(v)
end

local function fail(msg, level)
  error("assertion failed: " .. msg, (level or 1) + 2)
end

function T.ok(v, msg, level)
  if not v then fail(msg or "expected a true value, got " .. show(v), level) end
  return v
end

-- Equal values of the same Lua type (and math.type for numbers); NaN
-- equals NaN.
function T.eq(got, want, msg, level)
  local same = got == want or (got ~= got and want ~= want)
  if same and type(got) == "number" and math.type(got) ~= math.type(want) then same = false end
  if not same then
    fail(string.format("%sexpected %s, got %s", msg and msg .. ": " or "", show(want), show(got)),
         level)
  end
end

-- Deep equality of tables (keys and values, recursively, exact types).
local function deq(a, b, path)
  if type(a) ~= "table" or type(b) ~= "table" then
    local same = a == b or (a ~= a and b ~= b)
    if same and type(a) == "number" and math.type(a) ~= math.type(b) then same = false end
    if not same then return path .. ": " .. show(a) .. " ~= " .. show(b) end
    return nil
  end
  for k, v in pairs(a) do
    local d = deq(v, b[k], path .. "[" .. show(k) .. "]")
    if d then return d end
  end
  for k in pairs(b) do
    if a[k] == nil then return path .. "[" .. show(k) .. "]: missing on the left" end
  end
  return nil
end

function T.same(got, want, msg, level)
  local d = deq(got, want, "value")
  if d then fail((msg and msg .. ": " or "") .. d, level) end
end

-- fn(...) must raise an error whose message contains each of the plain
-- (not pattern) strings given. Returns the message.
function T.raises(fn, ...)
  local ok, err = pcall(fn)
  if ok then fail("expected an error, none was raised", 1) end
  err = tostring(err)
  for i = 1, select("#", ...) do
    local want = select(i, ...)
    if not err:find(want, 1, true) then
      fail(string.format("error message %q does not contain %q", err, want), 1)
    end
  end
  return err
end

function T.test(name, fn)
  if filter and not only[name] then return end
  io.stdout:flush()
  local t0 = os.clock()
  local ok, err = xpcall(fn, debug.traceback)
  collectgarbage()
  if ok then
    T.passed = T.passed + 1
    print(string.format("PASS %s (%.2f s cpu)", name, os.clock() - t0))
  else
    T.failed = T.failed + 1
    print(string.format("FAIL %s\n%s", name, tostring(err)))
  end
  io.stdout:flush()
end

function T.done()
  print(string.format("\n%d passed, %d failed", T.passed, T.failed))
  io.stdout:flush()
  os.exit(T.failed == 0 and 0 or 1, true)
end

-- The resident set size of this process in KiB (/proc/self/status VmRSS).
function T.rss_kib()
  local f = io.open("/proc/self/status")
  if not f then return nil end
  for line in f:lines() do
    local kb = line:match("^VmRSS:%s+(%d+)")
    if kb then f:close(); return tonumber(kb) end
  end
  f:close()
  return nil
end

return T
