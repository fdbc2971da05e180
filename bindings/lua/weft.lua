-- weft.lua: the idiomatic Lua API of weft, built on the plain C API that
-- weft.i binds (SWIG's functions on graph and run pointers, raising Lua
-- errors) and on the private C core (wlua_core.c: runtimes, task code,
-- graph and run objects).
--
-- Embedded into the module at build time and run once by luaopen_weft with
-- the module table (already holding SWIG's constants and functions) and the
-- private core table.
--
-- Where things happen:
-- * A task runs on a worker thread, in that worker's own lua_State: its
--   function travels as bytecode, its arguments and results as bytes.
-- * Everything else happens here, on the script's thread: a finished task
--   waits in a queue until the script reaches a delivery point (job:wait(),
--   job(), job:done(), rt:wait(), group:wait(), rt:poll(), rt:map(),
--   rt:close()); then its job is completed and its callback runs, in the
--   script's state, so callbacks may use the script's globals and upvalues.
-- * Inside a task, `weft` is the worker's own small module (wlua_worker.c):
--   weft.spawn, weft.spawn_all, weft.wait_all, weft.cancelled, weft.clock.
--   The same C functions sit in this module too, where spawning says that
--   it needs a task and weft.cancelled() is false.
local weft, core = ...

-- The library functions used, taken now: a script that later changes its
-- globals does not change weft.
local type, error, select, pcall, tostring = type, error, select, pcall, tostring
local pairs, ipairs = pairs, ipairs
local setmetatable, getmetatable, rawget = setmetatable, getmetatable, rawget
local fmt, unpack, mtype = string.format, table.unpack, math.type
local math, io = math, io
local getinfo, pack = debug.getinfo, table.pack

-- ---------------------------------------------------------------------
-- Errors

-- Raises msg at the user's call: level 1 is the caller of the API
-- function that calls raise.
local function raise(msg, level)
  error(msg, (level or 1) + 2)
end

local function typename(v)
  local mt = getmetatable(v)
  if type(mt) == "table" and type(rawget(mt, "__name")) == "string" then
    return mt.__name
  end
  return type(v)
end

local function argerror(n, fname, msg, level)
  raise(fmt("bad argument #%d to '%s' (%s)", n, fname, msg), (level or 1) + 1)
end

local function typeerror(n, fname, expected, v, level)
  argerror(n, fname, fmt("%s expected, got %s", expected, typename(v)), (level or 1) + 1)
end

-- The plain C API (weft.i), taken out of the module table: its functions
-- take the C pointers of graphs and runs, which only this file hands out.
local C = {}
for k, v in pairs(weft) do
  if type(k) == "string" and (k:match("^weft_graph_") or k:match("^weft_run_") or
                              k:match("^weft_tasks?_") or k == "weft_err_code") then
    C[k] = v
  end
end
for k in pairs(C) do weft[k] = nil end

-- Calls a function of C, raising its error at the user's call (level as
-- for raise); at most three results.
local function call(level, f, ...)
  local ok, a, b, c = pcall(f, ...)
  if not ok then raise(a, (level or 1) + 1) end
  return a, b, c
end

local function check_self(self, class, fname, level)
  if getmetatable(self) ~= class then
    raise(fmt("calling '%s' on bad self (%s expected, got %s)", fname, class.__name,
              typename(self)), (level or 1) + 1)
  end
end

local function check_int(v, n, fname, lo, level)
  local i = math.tointeger(v)
  if i == nil then typeerror(n, fname, "integer", v, (level or 1) + 1) end
  if lo and i < lo then
    argerror(n, fname, fmt("must be at least %d, got %d", lo, i), (level or 1) + 1)
  end
  return i
end

-- Checks an optional timeout in seconds: nil, or a number that is neither
-- NaN nor negative (0: just look; math.huge: as long as it takes).
local function check_timeout(v, n, fname, level)
  if v == nil then return nil end
  level = (level or 1) + 1
  if type(v) ~= "number" then typeerror(n, fname, "number", v, level) end
  if v ~= v then argerror(n, fname, "timeout must not be NaN", level) end
  if v < 0 then argerror(n, fname, "timeout must not be negative", level) end
  return v
end

-- Checks an options table: only the allowed keys (and, with positional,
-- integer keys as well).
local function check_options(opts, allowed, n, fname, level, positional)
  if opts == nil then return {} end
  if type(opts) ~= "table" then typeerror(n, fname, "table", opts, (level or 1) + 1) end
  for k in pairs(opts) do
    if not allowed[k] and not (positional and mtype(k) == "integer") then
      argerror(n, fname, fmt("unknown option '%s'", tostring(k)), (level or 1) + 1)
    end
  end
  return opts
end

-- ---------------------------------------------------------------------
-- Task code: each function is checked and dumped once (weak cache)

local code_cache = setmetatable({}, {__mode = "k"})

local function code_of(fn, n, fname, level)
  if type(fn) ~= "function" then typeerror(n, fname, "function", fn, (level or 1) + 1) end
  local code = code_cache[fn]
  if code then return code end
  local err
  code, err = core.prepare(fn)
  if not code then raise(err, (level or 1) + 1) end
  code_cache[fn] = code
  return code
end

-- ---------------------------------------------------------------------
-- Runtimes and jobs

local Runtime = {__name = "weft.runtime"}
Runtime.__index = Runtime
local Job = {__name = "weft.job"}
Job.__index = Job
local Group = {__name = "weft.group"}
Group.__index = Group

local function live(self, fname, level)
  check_self(self, Runtime, fname, (level or 1) + 1)
  if self._closed then raise("weft: the runtime is closed", (level or 1) + 1) end
end

--- weft.runtime([workers]) -> runtime. workers: 0 or nil for the default
--- (WEFT_NUM_THREADS, else the usable CPUs).
function weft.runtime(workers)
  if workers == nil then workers = 0 end
  workers = check_int(workers, 1, "runtime", 0)
  local c, err = core.rt_new(workers)
  if not c then raise(err) end
  return setmetatable({
    _c = c,
    _jobs = {},        -- id -> job, until delivered
    _groups = {},      -- name -> group
    _failed = {},      -- failed jobs delivered since the last rt:wait()
    _closed = false,
  }, Runtime)
end

-- Completes job id with what the worker sent, then runs its callback.
local function deliver(rt, id, ok, worker, t0, t1, x, elem)
  local job = rt._jobs[id]
  if not job then return end
  rt._jobs[id] = nil
  job._done, job._ok, job._worker, job._t0, job._t1 = true, ok, worker, t0, t1
  if ok then
    job._res = x
  else
    job._err, job._elem = x, elem
    if not job._map then -- remembered until a wait reports it (unless seen before)
      rt._failed[#rt._failed + 1] = job
      local g = job._group
      if g then
        g._failed[#g._failed + 1] = job
        g._total_fail = g._total_fail + 1
        g._first_ever = g._first_ever or fmt("job %d failed: %s", id, x)
      end
    end
  end
  if job._group then job._group._pending = job._group._pending - 1 end
  local cb = job._cb
  if cb then
    job._cb = nil
    job._seen = true -- the callback is told of a failure
    local okc, err
    if ok then
      okc, err = pcall(cb, true, unpack(x, 1, x.n))
    else
      okc, err = pcall(cb, false, x)
    end
    if not okc then
      error(fmt("weft: callback of job %d failed: %s", id, tostring(err)), 0)
    end
  end
end

-- Delivers one finished task: timeout 0 only looks, < 0 waits while any
-- task is in flight, > 0 waits that long. false when none was delivered.
local function pump(rt, timeout)
  local id, ok, worker, t0, t1, x, elem = core.rt_take(rt._c, timeout)
  if not id then return false end
  deliver(rt, id, ok, worker, t0, t1, x, elem)
  return true
end

-- Takes the failures listed in holder._failed that nobody has seen yet (no
-- callback was told, job() did not raise them): false, count, first
-- message; or true when there are none.
local function report_failures(holder)
  local n, first = 0, nil
  for _, job in ipairs(holder._failed) do
    if not job._seen then
      n = n + 1
      first = first or fmt("job %d failed: %s", job._id, job._err)
    end
  end
  holder._failed = {}
  if n > 0 then return false, n, first end
  return true
end

local function new_job(rt, code, cb, group, base, level, ...)
  local id, err = core.rt_submit(rt._c, code, base, ...)
  if not id then raise(err, level + 1) end
  local job = setmetatable({_rt = rt, _id = id, _cb = cb, _group = group}, Job)
  rt._jobs[id] = job
  if group then group._pending = group._pending + 1 end
  return job
end

local submit_options = {callback = true, group = true, n = true}

--- rt:submit(fn, ...) -> job: runs fn(...) on a worker.
--- rt:submit{fn, ..., callback = f, group = "name", n = nargs}: the same
--- with options; callback(ok, ...) runs on this thread when the job is
--- delivered; n counts the arguments when some are nil.
function Runtime:submit(fn, ...)
  live(self, "submit")
  if type(fn) ~= "table" or getmetatable(fn) ~= nil then
    local code = code_of(fn, 1, "submit")
    return (new_job(self, code, nil, nil, 2, 1, ...)) -- no tail call: error levels count frames
  end
  if select("#", ...) > 0 then
    argerror(2, "submit", "no arguments expected after the options table")
  end
  local opts = check_options(fn, submit_options, 1, "submit", 1, true)
  for k in pairs(opts) do
    if mtype(k) == "integer" and (k < 1 or (opts.n and k > opts.n + 1)) then
      argerror(1, "submit", fmt("unexpected index %d in the options table", k))
    elseif type(k) == "number" and mtype(k) ~= "integer" then
      argerror(1, "submit", fmt("unexpected key %s in the options table", tostring(k)))
    end
  end
  local cb, group = opts.callback, opts.group
  if cb ~= nil and type(cb) ~= "function" then
    argerror(1, "submit", "option 'callback' must be a function, got " .. typename(cb))
  end
  if type(group) == "string" then
    if group == "" then argerror(1, "submit", "option 'group' must not be empty") end
    group = self:group(group)
  elseif group ~= nil and (getmetatable(group) ~= Group or group._rt ~= self) then
    argerror(1, "submit", "option 'group' must be a group name or a group of this runtime")
  end
  local n = opts.n
  if n ~= nil then n = check_int(n, 1, "submit", 0) else n = #opts - 1 end
  local code = code_of(opts[1], 1, "submit")
  return (new_job(self, code, cb, group, 2, 1, unpack(opts, 2, n + 1)))
end

--- rt:map(fn, list[, chunk]) -> results: {fn(list[1]), fn(list[2]), ...}
--- (first result of each), computed on the workers in chunks of elements.
function Runtime:map(fn, list, chunk)
  live(self, "map")
  local code = code_of(fn, 1, "map")
  if type(list) ~= "table" then typeerror(2, "map", "table", list) end
  local n = #list
  if chunk ~= nil then chunk = check_int(chunk, 3, "map", 1) end
  if n == 0 then return {} end
  chunk = chunk or math.max(1, math.ceil(n / (4 * core.rt_workers(self._c))))
  if chunk > 10000 then chunk = 10000 end -- values per message stay small
  local jobs, out = {}, {}
  for i = 1, n, chunk do
    local last = math.min(n, i + chunk - 1)
    local id, err = core.rt_submit_map(self._c, code, i, unpack(list, i, last))
    if not id then
      -- wait for what was submitted: nothing of the map stays in flight
      for _, job in ipairs(jobs) do
        while not job._done and pump(self, -1) do end
      end
      raise(err)
    end
    local job = setmetatable({_rt = self, _id = id, _map = true, _base = i}, Job)
    self._jobs[id] = job
    jobs[#jobs + 1] = job
  end
  local failure
  for _, job in ipairs(jobs) do
    while not job._done do
      if not pump(self, -1) then raise("weft: a map task was lost") end
    end
    if job._ok then
      local res = job._res
      for j = 1, math.min(chunk, n - job._base + 1) do
        out[job._base + j - 1] = res[j]
      end
    elseif not failure then
      failure = fmt("weft: map element %d failed: %s", job._base + job._elem - 1, job._err)
    end
  end
  if failure then raise(failure) end
  return out
end

--- rt:poll([timeout]) -> count: delivers the tasks that have finished
--- (running their callbacks); with a timeout, waits up to that many
--- seconds for the first one.
function Runtime:poll(timeout)
  live(self, "poll")
  timeout = check_timeout(timeout, 1, "poll") or 0
  local n = 0
  if pump(self, 0) or (timeout > 0 and pump(self, timeout)) then
    n = 1
    while pump(self, 0) do n = n + 1 end
  end
  return n
end

--- rt:wait([group]) -> true | false, failures, first message
--- Waits for every task (or the group's), delivering them; reports the
--- jobs delivered since the previous wait that failed without anyone
--- noticing (no callback told, job() not raised).
function Runtime:wait(group)
  live(self, "wait")
  if group ~= nil then
    if type(group) ~= "string" then typeerror(1, "wait", "string", group) end
    local ok, n, first = self:group(group):wait()
    return ok, n, first
  end
  while pump(self, -1) do end
  local ok, n, first = report_failures(self)
  return ok, n, first
end

--- rt:pending() -> tasks submitted and not yet delivered
function Runtime:pending()
  live(self, "pending")
  return core.rt_inflight(self._c)
end

function Runtime:workers()
  live(self, "workers")
  return core.rt_workers(self._c)
end

--- rt:set_workers(n): n = 0 means the default count.
function Runtime:set_workers(n)
  live(self, "set_workers")
  n = check_int(n, 1, "set_workers", 0)
  local ok, err = core.rt_set_workers(self._c, n)
  if not ok then raise(err) end
end

--- rt:group(name) -> the group called name (made on first use)
function Runtime:group(name)
  live(self, "group")
  if type(name) ~= "string" then typeerror(1, "group", "string", name) end
  if name == "" then argerror(1, "group", "group name must not be empty") end
  local g = self._groups[name]
  if not g then
    g = setmetatable({_rt = self, _name = name, _pending = 0, _failed = {}, _total_fail = 0},
                     Group)
    self._groups[name] = g
  end
  return g
end

function Runtime:stats()
  live(self, "stats")
  local st, err = core.rt_stats(self._c)
  if not st then raise(err) end
  return st
end

--- rt:print_stats([file]): the table of pp's print_stats (io.stdout).
function Runtime:print_stats(file)
  live(self, "print_stats")
  if file ~= nil and io.type(file) ~= "file" then
    typeerror(1, "print_stats", "open file", file)
  end
  local text, err = core.rt_stats_text(self._c)
  if not text then raise(err) end
  local out = file or io.stdout
  out:write(text)
  out:flush()
end

function Runtime:reset_stats()
  live(self, "reset_stats")
  local ok, err = core.rt_reset_stats(self._c)
  if not ok then raise(err) end
end

function Runtime:closed()
  check_self(self, Runtime, "closed")
  return self._closed
end

--- rt:close(): delivers every task (callbacks run), then stops the workers.
--- A callback's error is raised after the runtime is closed. Closing twice
--- does nothing. Also __close (local rt <close> = ...) and, without
--- delivering, when the runtime is collected.
function Runtime:close()
  check_self(self, Runtime, "close")
  if self._closed then return end
  local first_err
  while true do
    local ok, err = pcall(function() while pump(self, -1) do end end)
    if ok then break end
    first_err = first_err or err
  end
  self._closed = true
  core.rt_close(self._c)
  if first_err then error(first_err, 0) end
end

Runtime.__close = Runtime.close

function Runtime.__tostring(self)
  if self._closed then return "weft.runtime (closed)" end
  return fmt("weft.runtime (%d workers)", core.rt_workers(self._c))
end

-- Jobs ---------------------------------------------------------------

local function job_check(self, fname)
  check_self(self, Job, fname, 2)
end

local function job_finish(self, level)
  local rt = self._rt
  while not self._done do
    if rt._closed then
      raise(fmt("weft: job %d was never delivered: its runtime is closed", self._id), level + 1)
    end
    if not pump(rt, -1) then raise(fmt("weft: job %d was lost", self._id), level + 1) end
  end
end

-- Delivers finished tasks until the job is done or timeout seconds have
-- passed (0: only what is ready); true when the job is done.
local function job_finish_by(self, timeout, level)
  local rt = self._rt
  if self._done then return true end
  if rt._closed then
    raise(fmt("weft: job %d was never delivered: its runtime is closed", self._id), level + 1)
  end
  local deadline = core.clock() + timeout
  while not self._done do
    local left = deadline - core.clock()
    if left <= 0 then
      while not self._done and pump(rt, 0) do end -- a last look at what is ready
      return self._done == true
    end
    if not pump(rt, left) and core.rt_inflight(rt._c) == 0 then
      raise(fmt("weft: job %d was lost", self._id), level + 1)
    end
  end
  return true
end

--- job:wait() / job() -> the task's results; raises if the task failed.
--- job:wait(timeout) / job(timeout): waits at most timeout seconds (0:
--- just looks): true and the results once the job has finished, false if
--- it has not finished in time (the job goes on; wait again later). Like
--- run:wait(timeout); raises, as without a timeout, if the task failed.
function Job:wait(timeout)
  job_check(self, "wait")
  if timeout == nil then
    job_finish(self, 1)
  else
    check_timeout(timeout, 1, "wait")
    if not job_finish_by(self, timeout, 1) then return false end
  end
  if not self._ok then
    self._seen = true
    raise(fmt("weft: job %d failed: %s", self._id, self._err))
  end
  if timeout == nil then return unpack(self._res, 1, self._res.n) end
  return true, unpack(self._res, 1, self._res.n)
end

Job.__call = Job.wait

--- job:done() -> whether the job has finished (delivers what is ready).
function Job:done()
  job_check(self, "done")
  if not self._done and not self._rt._closed then
    while not self._done and pump(self._rt, 0) do end
  end
  return self._done == true
end

--- job:ok() -> nil while running, then true or false.
function Job:ok()
  job_check(self, "ok")
  if not self._done then return nil end
  return self._ok
end

--- job:error() -> the failure message, or nil.
function Job:error()
  job_check(self, "error")
  return self._err
end

function Job:id()
  job_check(self, "id")
  return self._id
end

--- job:info() -> {id, worker, start, finish, elapsed} once finished (start
--- and finish on weft.clock()'s scale, measured by the worker), else nil.
function Job:info()
  job_check(self, "info")
  if not self._done then return nil end
  return {id = self._id, worker = self._worker, start = self._t0, finish = self._t1,
          elapsed = self._t1 - self._t0}
end

function Job.__tostring(self)
  local state = not self._done and "pending" or self._ok and "done" or "failed"
  return fmt("weft.job %d (%s)", self._id, state)
end

-- Groups -------------------------------------------------------------

--- group:submit(fn, ...) -> job, counted in the group.
function Group:submit(fn, ...)
  check_self(self, Group, "submit")
  live(self._rt, "submit")
  local code = code_of(fn, 1, "submit")
  return (new_job(self._rt, code, nil, self, 2, 1, ...))
end

--- group:wait() -> true | false, failures, first message: as rt:wait(),
--- for the jobs of the group.
function Group:wait()
  check_self(self, Group, "wait")
  live(self._rt, "wait")
  while self._pending > 0 do
    if not pump(self._rt, -1) then raise("weft: a job of group '" .. self._name .. "' was lost") end
  end
  local ok, n, first = report_failures(self)
  return ok, n, first
end

function Group:pending()
  check_self(self, Group, "pending")
  return self._pending
end

--- group:failures() -> jobs of the group that failed so far, first message
function Group:failures()
  check_self(self, Group, "failures")
  return self._total_fail, self._first_ever
end

function Group:name()
  check_self(self, Group, "name")
  return self._name
end

function Group.__tostring(self)
  return fmt("weft.group '%s' (%d pending)", self._name, self._pending)
end

-- ---------------------------------------------------------------------
-- Clusters: Lua tasks on weftd nodes (wlua_cluster.c; wlua.h "Remote
-- tasks"). Code travels as source text of a chunk that returns the task
-- function; arguments and results are copied as for local tasks.

local Cluster = {__name = "weft.cluster"}
Cluster.__index = Cluster
local RJob = {__name = "weft.remote_job"}
RJob.__index = RJob

local cluster_options = {nodes = true, secret_file = true, local_workers = true,
                         connect_timeout = true, dead_after = true, grace = true,
                         max_losses = true}

local function cl_live(self, fname, level)
  check_self(self, Cluster, fname, (level or 1) + 1)
  if self._closed then raise("weft: the cluster is closed", (level or 1) + 1) end
end

--- weft.cluster{nodes = {"host:port", ...}, secret_file = path,
--- local_workers = 0, connect_timeout, dead_after, grace, max_losses}
--- -> cluster (connects in the background: cl:wait_nodes(n, timeout))
function weft.cluster(opts)
  if type(opts) ~= "table" then typeerror(1, "cluster", "table", opts) end
  check_options(opts, cluster_options, 1, "cluster")
  local nodes = opts.nodes or {}
  if type(nodes) ~= "table" then argerror(1, "cluster", "option 'nodes' must be a list") end
  for i = 1, #nodes do
    if type(nodes[i]) ~= "string" then
      argerror(1, "cluster", fmt("nodes[%d] must be a string, got %s", i, typename(nodes[i])))
    end
  end
  if opts.secret_file ~= nil and type(opts.secret_file) ~= "string" then
    argerror(1, "cluster", "option 'secret_file' must be a string")
  end
  if opts.local_workers ~= nil then check_int(opts.local_workers, 1, "cluster", 0) end
  if opts.max_losses ~= nil then check_int(opts.max_losses, 1, "cluster", 1) end
  for _, k in ipairs{"connect_timeout", "dead_after", "grace"} do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v ~= v or v < 0) then
      argerror(1, "cluster", fmt("option '%s' must be a number of seconds", k))
    end
  end
  if not core.cl_new then
    raise("weft: this weft was built without the distribution layer (no clusters)")
  end
  local c, err = core.cl_new(opts)
  if not c then raise(err) end
  return setmetatable({_c = c, _sent = {}, _next = 0, _closed = false}, Cluster)
end

--- cl:wait_nodes(n, timeout) -> true once n nodes are connected, or false
--- and the reason after timeout seconds
function Cluster:wait_nodes(n, timeout)
  cl_live(self, "wait_nodes")
  n = check_int(n, 1, "wait_nodes", 0)
  if timeout == nil then timeout = math.huge end
  check_timeout(timeout, 2, "wait_nodes")
  local ok, err = core.cl_wait_nodes(self._c, n, timeout)
  if ok then return true end
  return false, err
end

-- The chunk name of source sent from the caller's line (level: the
-- caller of the API function).
local function chunk_name(level)
  local info = getinfo(level + 2, "Sl")
  if not info then return "=[remote chunk]" end
  -- the file's name without its directories: Lua cuts chunk names at
  -- LUA_IDSIZE (60) bytes, which a long path would fill
  return fmt("=[remote chunk %s:%d]", info.short_src:match("[^/]*$"), info.currentline)
end

local submit_options = {n = true, name = true, cached = true}

local function new_rjob(cl, c, what)
  cl._next = cl._next + 1
  return setmetatable({_c = c, _id = cl._next, _what = what, _done = false}, RJob)
end

--- cl:submit(source, ...) -> job running the function that the chunk
--- `source` returns ("return function(a, b) return a + b end") with the
--- arguments, on a node of the cluster.
--- cl:submit{source, ..., n = nargs, name = "chunk name", cached = true}:
--- n counts the arguments when some are nil; name names the chunk in
--- messages (default "[remote chunk file.lua:LINE]" of the call); cached
--- sends only the code's key the first time too (the nodes are expected
--- to hold it: a node that does not answers a miss, and the job is sent
--- again with the source).
function Cluster:submit(src, ...)
  cl_live(self, "submit")
  local name, cached
  if type(src) == "table" then
    local t = check_options(src, submit_options, 1, "submit", 1, true)
    if t.name ~= nil and type(t.name) ~= "string" then
      argerror(1, "submit", "option 'name' must be a string")
    end
    name = t.name and "=" .. t.name
    cached = t.cached
    src = t[1]
    if type(src) ~= "string" then typeerror(1, "submit", "source string at [1]", src) end
    local n = t.n ~= nil and check_int(t.n, 1, "submit", 0) or #t - 1
    name = name or chunk_name(1)
    local c, err = core.cl_submit(self._c, self._sent, name, src, cached, unpack(t, 2, n + 1))
    if not c then raise(err) end
    return new_rjob(self, c, name)
  end
  if type(src) ~= "string" then typeerror(1, "submit", "string (source of a chunk)", src) end
  name = chunk_name(1)
  local c, err = core.cl_submit(self._c, self._sent, name, src, false, ...)
  if not c then raise(err) end
  return new_rjob(self, c, name)
end

--- cl:run_task(task, bytes) -> job running the registered task `task`
--- with argument bytes on a node; job() returns its result bytes
function Cluster:run_task(task, bytes)
  cl_live(self, "run_task")
  if type(task) ~= "string" then typeerror(1, "run_task", "string", task) end
  if type(bytes) ~= "string" then typeerror(2, "run_task", "string", bytes) end
  local c, err = core.cl_run_task(self._c, task, bytes)
  if not c then raise(err) end
  return new_rjob(self, c, "task " .. task)
end

--- cl:stats() -> one table per node (then "local"): node, connected,
--- workers, jobs, share, time_s, time_per_job_s, bytes_sent,
--- bytes_received, retries, losses, connects, last_error, rtt_s
function Cluster:stats()
  cl_live(self, "stats")
  local st, err = core.cl_stats(self._c)
  if not st then raise(err) end
  return st
end

--- cl:print_stats([file]): pp's print_stats, the C table
function Cluster:print_stats(file)
  cl_live(self, "print_stats")
  if file ~= nil and io.type(file) ~= "file" then
    typeerror(1, "print_stats", "open file", file)
  end
  local text, err = core.cl_stats_text(self._c)
  if not text then raise(err) end
  local out = file or io.stdout
  out:write(text)
  out:flush()
end

function Cluster:closed()
  check_self(self, Cluster, "closed")
  return self._closed
end

--- cl:close(): cancels pending jobs, closes the connections
function Cluster:close()
  check_self(self, Cluster, "close")
  if self._closed then return end
  core.cl_close(self._c)
  self._closed = true
end

Cluster.__close = Cluster.close

function Cluster.__tostring(self)
  if self._closed then return "weft.cluster (closed)" end
  return "weft.cluster"
end

local function rjob_check(self, fname)
  check_self(self, RJob, fname, 2)
  if self._closed then raise("weft: the job is closed", 2) end
end

-- Records the job's outcome once core.rjob_wait gave one; false on timeout.
local function rjob_settle(self, state, node, ...)
  if state == "timeout" then return false end
  self._done, self._node = true, node
  if state == "ok" then
    self._ok, self._res = true, pack(...)
  elseif state == "error" then
    self._ok = false
    self._err = fmt("weft: remote job %d failed on node %s: %s", self._id, node, (...))
  else
    self._ok = false
    self._err = fmt("weft: remote job %d failed: %s", self._id, (...))
    self._code = select(2, ...)
  end
  return true
end

--- job:wait([timeout]) / job([timeout]): as a local job's wait: the
--- results, or with a timeout true and the results, false if not yet
--- finished; raises the remote error ("weft: remote job 3 failed on node
--- 127.0.0.1:7117: [remote chunk x.lua:5]:2: boom" and its traceback)
function RJob:wait(timeout)
  rjob_check(self, "wait")
  check_timeout(timeout, 1, "wait")
  if not self._done and not rjob_settle(self, core.rjob_wait(self._c, timeout)) then
    return false
  end
  if not self._ok then raise(self._err) end
  if timeout == nil then return unpack(self._res, 1, self._res.n) end
  return true, unpack(self._res, 1, self._res.n)
end

RJob.__call = RJob.wait

--- job:done() -> whether it has finished (never blocks)
function RJob:done()
  rjob_check(self, "done")
  if not self._done and core.rjob_done(self._c) then rjob_settle(self, core.rjob_wait(self._c, 0)) end
  return self._done
end

function RJob:ok()
  rjob_check(self, "ok")
  if not self:done() then return nil end
  return self._ok
end

--- job:error() -> the failure message once finished, or nil
function RJob:error()
  rjob_check(self, "error")
  self:done()
  return self._err
end

--- job:node() -> the node that ran it ("host:port", "local"), once finished
function RJob:node()
  rjob_check(self, "node")
  self:done()
  return self._node
end

function RJob:id()
  check_self(self, RJob, "id")
  return self._id
end

--- job:info() -> {id, node, attempts, resent} (resent: the node missed the
--- code and it was sent again with the source)
function RJob:info()
  rjob_check(self, "info")
  self:done()
  local t = core.rjob_info(self._c)
  t.id = self._id
  return t
end

--- job:cancel(): not yet sent, it fails at once; sent, the node skips it
--- unless it started
function RJob:cancel()
  rjob_check(self, "cancel")
  core.rjob_cancel(self._c)
end

--- job:close(): frees the job (a pending one is cancelled)
function RJob:close()
  check_self(self, RJob, "close")
  if self._closed then return end
  core.rjob_close(self._c)
  self._closed = true
end

RJob.__close = RJob.close

function RJob.__tostring(self)
  local state = not self._done and "pending" or self._ok and "done" or "failed"
  return fmt("weft.remote_job %d (%s)", self._id, state)
end

--- weft.remote_request(flags, chunkname, source, ...) -> the argument bytes
--- of task "weft.lua" (flags: weft.REMOTE_SOURCE, weft.REMOTE_ERRVAL)
function weft.remote_request(flags, name, src, ...)
  if not core.remote_request then
    raise("weft: this weft was built without the distribution layer (no remote tasks)")
  end
  check_int(flags, 1, "remote_request", 0)
  if type(name) ~= "string" then typeerror(2, "remote_request", "string", name) end
  if type(src) ~= "string" then typeerror(3, "remote_request", "string", src) end
  return core.remote_request(flags, name, src, ...)
end
weft.REMOTE_SOURCE, weft.REMOTE_ERRVAL = core.REMOTE_SOURCE, core.REMOTE_ERRVAL
weft.REMOTE_MISS, weft.REMOTE_ERROR, weft.REMOTE_BADREQ =
  core.REMOTE_MISS, core.REMOTE_ERROR, core.REMOTE_BADREQ

-- ---------------------------------------------------------------------
-- Graphs

local Graph = {__name = "weft.graph"}
Graph.__index = Graph
local Node = {__name = "weft.node"}
Node.__index = Node
local Run = {__name = "weft.run"}
Run.__index = Run

local function graph_live(self, fname, level)
  check_self(self, Graph, fname, (level or 1) + 1)
  if self._closed then raise("weft: the graph is closed", (level or 1) + 1) end
end

-- _c: the core's graph object; _p: its C graph, for C's functions (used
-- only while the graph is open).
local function wrap_graph(c)
  return setmetatable({_c = c, _p = core.graph_ptr(c), _nodes = {}, _subs = {}, _closed = false},
                      Graph)
end

--- weft.graph([name]) -> an empty graph
function weft.graph(name)
  if name ~= nil and type(name) ~= "string" then typeerror(1, "graph", "string", name) end
  local c, err = core.graph_new(name)
  if not c then raise(err) end
  return wrap_graph(c)
end

--- weft.load_graph(path) -> the graph in a graph file (see weft's README)
function weft.load_graph(path)
  if type(path) ~= "string" then typeerror(1, "load_graph", "string", path) end
  local c, err = core.graph_load(path)
  if not c then raise(err) end
  return wrap_graph(c)
end

local function node_of(g, id)
  local node = g._nodes[id]
  if not node then
    node = setmetatable({_g = g, _id = id}, Node)
    g._nodes[id] = node
  end
  return node
end

-- The node id of a node object or a node name, in graph g.
local function node_id(g, v, n, fname, level)
  if getmetatable(v) == Node then
    if v._g ~= g then argerror(n, fname, "node of another graph", (level or 1) + 1) end
    return v._id
  elseif type(v) == "string" then
    local ok, id = pcall(C.weft_graph_find, g._p, v)
    if not ok then argerror(n, fname, fmt("no node named '%s'", v), (level or 1) + 1) end
    return id
  end
  typeerror(n, fname, "node or node name", v, (level or 1) + 1)
end

--- g:add(name, fn, ...) -> node running fn(..., inputs...) where inputs
--- are the first results of the node's predecessors, in edge order.
function Graph:add(name, fn, ...)
  graph_live(self, "add")
  if name ~= nil and type(name) ~= "string" then typeerror(1, "add", "string", name) end
  local code = code_of(fn, 2, "add")
  local id, err = core.graph_add(self._c, name, code, 3, ...)
  if not id then raise(err) end
  return node_of(self, id)
end

--- g:add_remote(name, source, ...) -> node running the function that the
--- chunk `source` returns (as cl:submit) with the arguments, then the first
--- result of each predecessor in edge order (as g:add). A named-task node
--- "weft.lua": on a cluster's nodes when run with {cluster = cl}, else here.
function Graph:add_remote(name, src, ...)
  graph_live(self, "add_remote")
  if name ~= nil and type(name) ~= "string" then typeerror(1, "add_remote", "string", name) end
  if type(src) ~= "string" then typeerror(2, "add_remote", "string (source of a chunk)", src) end
  if not core.graph_add_remote then
    raise("weft: this weft was built without the distribution layer (no remote nodes)")
  end
  local cn = name and fmt("=[remote node %s]", name) or chunk_name(1)
  local id, err = core.graph_add_remote(self._c, name, cn, src, 3, ...)
  if not id then raise(err) end
  return node_of(self, id)
end

--- g:add_subgraph(name, sub) -> node that runs the whole graph sub
function Graph:add_subgraph(name, sub)
  graph_live(self, "add_subgraph")
  if name ~= nil and type(name) ~= "string" then typeerror(1, "add_subgraph", "string", name) end
  if getmetatable(sub) ~= Graph then typeerror(2, "add_subgraph", "weft.graph", sub) end
  if sub._closed then argerror(2, "add_subgraph", "the graph is closed") end
  local id, err = core.graph_add_subgraph(self._c, name, sub._c)
  if not id then raise(err) end
  self._subs[#self._subs + 1] = sub
  return node_of(self, id)
end

--- g:precede(a, b): a runs before b (nodes or node names)
function Graph:precede(a, b)
  graph_live(self, "precede")
  local ia, ib = node_id(self, a, 1, "precede"), node_id(self, b, 2, "precede")
  call(1, C.weft_graph_precede, self._p, ia, ib)
end

--- g:chain(a, b, c, ...): a before b before c ...
function Graph:chain(...)
  graph_live(self, "chain")
  local ids = {}
  for i = 1, select("#", ...) do ids[i] = node_id(self, (select(i, ...)), i, "chain") end
  for i = 1, #ids - 1 do call(1, C.weft_graph_precede, self._p, ids[i], ids[i + 1]) end
end

--- g:node(name) -> the node called name, or nil
function Graph:node(name)
  graph_live(self, "node")
  if type(name) ~= "string" then typeerror(1, "node", "string", name) end
  local ok, id = pcall(C.weft_graph_find, self._p, name)
  return ok and node_of(self, id) or nil
end

--- g:nodes() -> every node, in the order they were added
function Graph:nodes()
  graph_live(self, "nodes")
  local n = C.weft_graph_node_count(self._p)
  local list = {}
  for i = 0, n - 1 do list[i + 1] = node_of(self, i) end
  return list
end

function Graph:name()
  graph_live(self, "name")
  return C.weft_graph_name(self._p)
end

function Graph:node_count()
  graph_live(self, "node_count")
  return C.weft_graph_node_count(self._p)
end

function Graph:edge_count()
  graph_live(self, "edge_count")
  return C.weft_graph_edge_count(self._p)
end

--- g:edges() -> every edge as {before, after} (nodes), in the order added
function Graph:edges()
  graph_live(self, "edges")
  local list = {}
  for i = 0, C.weft_graph_edge_count(self._p) - 1 do
    local a, b = call(1, C.weft_graph_edge, self._p, i)
    list[i + 1] = {node_of(self, a), node_of(self, b)}
  end
  return list
end

--- g:check() -> true | false, a node on a cycle
function Graph:check()
  graph_live(self, "check")
  local rc, id = call(1, C.weft_graph_check, self._p)
  if rc == 0 then return true end
  return false, node_of(self, id)
end

--- g:dot([run]) -> the graph in graphviz's dot language (coloured by the
--- run's statuses when given)
function Graph:dot(run)
  graph_live(self, "dot")
  local rc = nil
  if run ~= nil then
    if getmetatable(run) ~= Run then typeerror(1, "dot", "weft.run", run) end
    if run._g ~= self then argerror(1, "dot", "run of another graph") end
    if run._closed then raise("weft: the run is closed") end
    rc = run._p
  end
  return (call(1, C.weft_graph_dot_buf, self._p, rc))
end

--- g:save(path): writes a graph file (Lua nodes carry their bytecode)
function Graph:save(path)
  graph_live(self, "save")
  if type(path) ~= "string" then typeerror(1, "save", "string", path) end
  local ok, err = pcall(C.weft_graph_save_file, self._p, path)
  if not ok then
    raise(fmt("weft: cannot save graph '%s' to %s: %s", C.weft_graph_name(self._p), path,
              (err:gsub("^weft: ", ""))))
  end
end

local run_options = {record = true, progress_bar = true, progress = true, interval = true,
                     check = true, cluster = true}

local function start_run(g, rt, opts, fname, level)
  level = (level or 1) + 1
  graph_live(g, fname, level)
  if getmetatable(rt) ~= Runtime then typeerror(1, fname, "weft.runtime", rt, level) end
  live(rt, fname, level)
  opts = check_options(opts, run_options, 2, fname, level)
  if opts.progress ~= nil and type(opts.progress) ~= "function" then
    argerror(2, fname, "option 'progress' must be a function", level)
  end
  if opts.interval ~= nil and type(opts.interval) ~= "number" then
    argerror(2, fname, "option 'interval' must be a number", level)
  end
  if opts.cluster ~= nil then
    if getmetatable(opts.cluster) ~= Cluster then
      argerror(2, fname, "option 'cluster' must be a weft.cluster", level)
    end
    cl_live(opts.cluster, fname, level)
  end
  local record = opts.record ~= false
  local run
  local progress = opts.progress and function(p) return opts.progress(p, run) end
  local c, err = core.run_start(g._c, rt._c, record, opts.progress_bar, progress, opts.interval,
                                opts.cluster and opts.cluster._c)
  if not c then raise(err, level) end
  run = setmetatable({_c = c, _p = core.run_ptr(c), _g = g, _rt = rt,
                      _check = opts.check ~= false, _finished = false}, Run)
  g._last = run
  return run
end

local function node_name(g, id)
  return C.weft_graph_node_name(g._p, id)
end

-- How a failed node's code reads when it left no message: remote Lua
-- nodes fail with a status of their own (wlua.h) and store their message,
-- which comes back from a cluster node with the failure (PROTOCOL.md 5.3).
local remote_codes = not core.REMOTE_ERROR and {} or {
  [core.REMOTE_ERROR] = "raised a Lua error on a cluster node",
  [core.REMOTE_BADREQ] = "the cluster node could not read the node's request",
  [core.REMOTE_MISS] = "the cluster node did not hold the node's code",
}

local function code_text(code)
  if remote_codes[code] then return fmt("status %d: %s", code, remote_codes[code]) end
  return fmt("returned %d (%s)", code, weft.strerror(code))
end

-- The Lua error for a finished run, or nil (a cancelled run is not an
-- error: the script asked for it).
local function run_error(run, rc)
  if rc == 0 or rc == weft.ECANCELED then return nil end
  if rc == weft.ETASK then
    local ok, counts = pcall(C.weft_run_counts, run._p)
    local id = ok and counts.first_failed
    if id then
      local res = core.run_result(run._c, id)
      local msg = type(res) == "table" and res[1] or
                  code_text(counts.first_code)
      return fmt("weft: node '%s' failed: %s", node_name(run._g, id), tostring(msg))
    end
  end
  return fmt("weft: run of graph '%s' failed: %s (%s)", run._g:name(), weft.strerror(rc),
             weft.err_name(rc))
end

-- Waits for the run's end (timeout nil: as long as it takes); false on
-- timeout. Raises the progress callback's error, once.
local function finish_run(run, timeout, level)
  if run._finished then return true end
  local rc, perr = core.run_wait(run._c, timeout)
  if rc == weft.ETIMEDOUT then return false end
  run._finished, run._rc = true, rc
  if perr then raise("weft: the progress callback failed: " .. perr, level + 1) end
  return true
end

-- Raises the run's failure when the run checks (opts.check ~= false).
local function check_run(run, level)
  if run._check then
    local msg = run_error(run, run._rc)
    if msg then raise(msg, level + 1) end
  end
end

--- g:run(rt[, opts]) -> run, once every node has finished.
--- opts: record (default true: node times, traces), progress_bar,
--- progress = function(p, run) (on this thread), interval (seconds),
--- check (default true: raise if a node failed; the run stays available
--- as g:last_run()).
function Graph:run(rt, opts)
  local run = start_run(self, rt, opts, "run")
  finish_run(run, nil, 1)
  check_run(run, 1)
  return run
end

--- g:run_async(rt[, opts]) -> run, at once; run:wait() for the end.
function Graph:run_async(rt, opts)
  return (start_run(self, rt, opts, "run_async"))
end

--- g:last_run() -> the most recent run started (also when g:run raised)
function Graph:last_run()
  check_self(self, Graph, "last_run")
  return self._last
end

function Graph:closed()
  check_self(self, Graph, "closed")
  return self._closed
end

--- g:close(): frees the graph and its runs (after a run still going ends).
function Graph:close()
  check_self(self, Graph, "close")
  if self._closed then return end
  core.graph_close(self._c)
  self._closed = true
  self._last = nil
end

Graph.__close = Graph.close

function Graph.__tostring(self)
  if self._closed then return "weft.graph (closed)" end
  return fmt("weft.graph '%s' (%d nodes, %d edges)", C.weft_graph_name(self._p),
             C.weft_graph_node_count(self._p), C.weft_graph_edge_count(self._p))
end

-- Nodes --------------------------------------------------------------

--- a:precede(b, ...): a runs before each of b, ...
function Node:precede(...)
  check_self(self, Node, "precede")
  local g = self._g
  graph_live(g, "precede")
  for i = 1, select("#", ...) do
    call(1, C.weft_graph_precede, g._p, self._id, node_id(g, (select(i, ...)), i, "precede"))
  end
  return self
end

--- a:succeed(b, ...): a runs after each of b, ...
function Node:succeed(...)
  check_self(self, Node, "succeed")
  local g = self._g
  graph_live(g, "succeed")
  for i = 1, select("#", ...) do
    call(1, C.weft_graph_precede, g._p, node_id(g, (select(i, ...)), i, "succeed"), self._id)
  end
  return self
end

function Node:name()
  check_self(self, Node, "name")
  graph_live(self._g, "name")
  return node_name(self._g, self._id)
end

function Node:id()
  check_self(self, Node, "id")
  return self._id
end

function Node:graph()
  check_self(self, Node, "graph")
  return self._g
end

local places = {[0] = "any", "local", "node"} -- weft_place_t's values
local place_codes = {any = 0, ["local"] = 1, node = 2}

--- node:place() -> "any", "local" or "node", and the address ("host:port")
--- for "node": where a task node may run when its run has an executor
function Node:place()
  check_self(self, Node, "place")
  graph_live(self._g, "place")
  local p, where = call(1, C.weft_graph_place, self._g._p, self._id)
  return places[p], where
end

--- node:set_place(place[, where]): place "any", "local" or "node" (where:
--- "host:port") of a task node; saved in graph files
function Node:set_place(place, where)
  check_self(self, Node, "set_place")
  graph_live(self._g, "set_place")
  local code = place_codes[place]
  if not code then argerror(1, "set_place", "'any', 'local' or 'node' expected") end
  call(1, C.weft_graph_set_place, self._g._p, self._id, code, where)
  return self
end

function Node.__tostring(self)
  if self._g._closed then return "weft.node (closed graph)" end
  return fmt("weft.node '%s'", node_name(self._g, self._id))
end

-- Runs ---------------------------------------------------------------

local function run_live(self, fname, level)
  check_self(self, Run, fname, (level or 1) + 1)
  if self._closed then raise("weft: the run is closed", (level or 1) + 1) end
  if self._g._closed then raise("weft: the run's graph is closed", (level or 1) + 1) end
end

local function run_done(self, fname)
  run_live(self, fname, 2)
  finish_run(self, nil, 2)
end

--- run:wait([timeout]) -> true when finished, false on timeout; raises
--- like g:run if a node failed (unless opts.check was false).
function Run:wait(timeout)
  run_live(self, "wait")
  check_timeout(timeout, 1, "wait")
  if not finish_run(self, timeout, 1) then return false end
  check_run(self, 1)
  return true
end

--- run:done() -> whether the run has finished (does not raise)
function Run:done()
  run_live(self, "done")
  return (finish_run(self, 0, 1))
end

--- run:cancel(): nodes not started yet are cancelled
function Run:cancel()
  run_live(self, "cancel")
  call(1, C.weft_run_cancel, self._p)
end

--- run:ok() -> true if every node succeeded (waits for the end)
function Run:ok()
  run_done(self, "ok")
  return self._rc == 0
end

--- run:cancelled() -> true if the run was cancelled
function Run:cancelled()
  run_done(self, "cancelled")
  return self._rc == weft.ECANCELED
end

--- run:error() -> the failure message (as raised), or nil
function Run:error()
  run_done(self, "error")
  return run_error(self, self._rc)
end

local status_names = {[0] = "pending", "done", "failed", "skipped", "cancelled", "running"}

--- run:status(node) -> "done", "failed", "skipped", "cancelled",
--- "pending" or "running"
function Run:status(node)
  run_live(self, "status")
  local st = call(1, C.weft_run_node_status, self._p, node_id(self._g, node, 1, "status"))
  return status_names[st] or "unknown"
end

--- run:result(node) -> the values the node returned (nothing if it did
--- not succeed); bytes stored by a non-Lua node come as one string
function Run:result(node)
  run_done(self, "result")
  local id = node_id(self._g, node, 1, "result")
  if call(1, C.weft_run_node_status, self._p, id) ~= weft.NODE_DONE then return end
  local res, err = core.run_result(self._c, id)
  if err then raise(err) end
  if type(res) == "table" then return unpack(res, 1, res.n) end
  return res
end

--- run:node_error(node) -> the node's error message if it failed, else nil
function Run:node_error(node)
  run_done(self, "node_error")
  local id = node_id(self._g, node, 1, "node_error")
  if call(1, C.weft_run_node_status, self._p, id) ~= weft.NODE_FAILED then return nil end
  local res = core.run_result(self._c, id)
  if type(res) == "table" then return res[1] end
  local code = call(1, C.weft_run_node_code, self._p, id)
  return code_text(code)
end

--- run:time(node) -> start, finish (seconds since the run began), worker
--- (recorded runs; nil if the node did not run)
function Run:time(node)
  run_done(self, "time")
  local ok, s, e, w = pcall(C.weft_run_node_time, self._p, node_id(self._g, node, 1, "time"))
  if ok then return s, e, w end
end

--- run:origin(node) -> {machine = "local" or "host:port", worker, attempts,
--- lost_s, start_s, end_s, bytes_sent, bytes_received} (nil if the node did
--- not run)
function Run:origin(node)
  run_live(self, "origin")
  local ok, o = pcall(C.weft_run_node_origin, self._p, node_id(self._g, node, 1, "origin"))
  if ok then return o end
end

--- run:counts() -> {total, done, failed, skipped, cancelled, wall_s,
--- first_failed = node name, first_code}
function Run:counts()
  run_live(self, "counts")
  local c = call(1, C.weft_run_counts, self._p)
  if c.first_failed then c.first_failed = node_name(self._g, c.first_failed) end
  return c
end

--- run:stats() -> run:counts() plus workers = {[w] = {nodes, busy_s}} and
--- busy_s, from the recorded node times
function Run:stats()
  run_done(self, "stats")
  local st = self:counts()
  local workers, busy = {}, 0
  for id = 0, C.weft_graph_node_count(self._g._p) - 1 do
    local ok, s, e, w = pcall(C.weft_run_node_time, self._p, id)
    if ok then
      local wk = workers[w] or {worker = w, nodes = 0, busy_s = 0}
      workers[w] = wk
      wk.nodes, wk.busy_s = wk.nodes + 1, wk.busy_s + (e - s)
      busy = busy + (e - s)
    end
  end
  st.workers, st.busy_s = workers, busy
  return st
end

function Run:print_stats(file)
  run_done(self, "print_stats")
  if file ~= nil and io.type(file) ~= "file" then
    typeerror(1, "print_stats", "open file", file)
  end
  local text = call(1, C.weft_run_print_stats_buf, self._p)
  local out = file or io.stdout
  out:write(text)
  out:flush()
end

--- run:trace() -> Chrome trace-event JSON (recorded runs)
function Run:trace()
  run_done(self, "trace")
  return (call(1, C.weft_run_trace_buf, self._p))
end

--- run:save() -> the run file (node statuses and times) that weft-dot
--- draws alongside the graph file
function Run:save()
  run_done(self, "save")
  return (call(1, C.weft_run_save_buf, self._p))
end

--- run:dot() -> g:dot(run)
function Run:dot()
  run_done(self, "dot")
  return (self._g:dot(self))
end

function Run:graph()
  check_self(self, Run, "graph")
  return self._g
end

--- run:close(): frees the run record (waits if it still runs)
function Run:close()
  check_self(self, Run, "close")
  if self._closed then return end
  core.run_close(self._c)
  self._closed = true
end

Run.__close = Run.close

function Run.__tostring(self)
  if self._closed then return "weft.run (closed)" end
  return fmt("weft.run of '%s' (%s)", self._g._closed and "?" or self._g:name(),
             not self._finished and "running" or
             self._rc == 0 and "ok" or weft.err_name(self._rc))
end

-- ---------------------------------------------------------------------
-- Module functions

weft.version = weft.weft_version
weft.strerror = weft.weft_strerror
weft.err_name = weft.weft_err_name
-- SWIG's Lua wrappers return C ints as floats: make them integers again.
local swig_cpu_count, swig_default_workers = weft.weft_cpu_count, weft.weft_default_workers
function weft.cpu_count() return math.tointeger(swig_cpu_count()) end
function weft.default_workers() return math.tointeger(swig_default_workers()) end
weft.node_status_name = weft.weft_node_status_name
--- weft.load_plugin(path): loads a library of named C tasks (weft_plugin_load)
weft.load_plugin = weft.weft_plugin_load
if math.type(weft.EINVAL) ~= "integer" then -- constants, likewise
  for k, v in pairs(weft) do
    if type(k) == "string" and k:match("^[A-Z_]+$") and math.tointeger(v) then
      weft[k] = math.tointeger(v)
    end
  end
end
-- weft.ERRORS: {name without WEFT_ = code} for every code of the C table
-- WEFT_ERRNO_MAP, which weft.i expands into the constants (weft.EINVAL,
-- ...) and into weft_err_code(i): a new code needs no edit here.
weft.ERRORS = {}
do
  local i = 0
  while math.tointeger(C.weft_err_code(i)) ~= 0 do
    local code = math.tointeger(C.weft_err_code(i))
    weft.ERRORS[weft.err_name(code):sub(#"WEFT_" + 1)] = code
    i = i + 1
  end
end
weft.MAX_WORKERS = 512
weft.MAX_DEPTH = core.MAX_DEPTH

--- weft.clock() -> seconds on the monotonic clock that job:info() uses
weft.clock = core.clock

--- weft.serialize(...) -> bytes: the values as a task's arguments travel
--- weft.deserialize(bytes) -> the values
function weft.serialize(...)
  local s, err = core.serialize(...)
  if not s then raise(err) end
  return s
end

function weft.deserialize(s)
  if type(s) ~= "string" then typeerror(1, "deserialize", "string", s) end
  return core.deserialize(s)
end

return weft
