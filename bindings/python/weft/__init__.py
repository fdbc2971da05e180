"""weft: a work-stealing task runtime and task graphs, from Python.

Jobs, the way Parallel Python (pp) runs them::

    import weft

    def square(x):
        return x * x

    with weft.Runtime() as rt:                # workers: 0 = automatic
        jobs = [rt.submit(square, i) for i in range(10)]
        print([job() for job in jobs])        # job() waits, returns the result
        rt.print_stats()

Graphs of Python callables and named C tasks::

    g = weft.Graph("demo")
    a = g.add(load, "input.txt", name="load")
    b = g.add(count, name="count")            # called as count(<a's result>)
    c = g.add_task("weft.sum_primes", b"100000", name="primes")   # C
    a >> b                                    # a runs before b
    run = g.run(rt, record=True)
    print(run.result(b), run.result(c))       # 454396537 as bytes for c
    print(g.dot(run))

A node runs fn(*args, *inputs): `inputs` are its predecessors' results in
the order the edges were added (the object a Python node returned; the bytes
a task node stored, or None). See bindings/python/README.md for the whole
guide: errors, the GIL, named tasks, graph files, traces.
"""

import atexit as _atexit
import collections as _collections
import concurrent.futures as _cf
import itertools as _itertools
import logging as _logging
import os as _os
import sys as _sys
import threading as _threading
import time as _time
import traceback as _traceback
import weakref as _weakref

from . import core as _swig        # SWIG's module: weft.i's plain C API, GraphCore, RunCore
from . import _core as _c          # the extension: RuntimeBase, Job, Group

__version__ = _swig.weft_version()

# ---------------------------------------------------------------------------
# Errors

class Error(Exception):
    """A weft error. `.code` is weft's (negative) error code, `.name` its
    symbolic name (e.g. "WEFT_EBUSY"); the message is weft_strerror's text,
    with details."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code
        self.name = _swig.weft_err_name(code) if code is not None else None


class InvalidArgument(Error, ValueError):
    """WEFT_EINVAL / WEFT_ERANGE: also a ValueError."""


class OutOfMemory(Error, MemoryError):
    """WEFT_ENOMEM: also a MemoryError."""


class Timeout(Error, TimeoutError):
    """WEFT_ETIMEDOUT: also a TimeoutError."""


class TaskError(Error):
    """A task or a graph node failed.

    `.node`: the job's function name, or the graph node's name (for a
    node inside a subgraph, that inner node's name);
    `.exception`: the exception the Python code raised (also `__cause__`),
    or None for a C task that returned a nonzero code (then in `.status`);
    `.traceback`: the task's traceback as text; `.run`: the graph Run, for
    graph runs (inspect the other nodes there); `.path`: the node names
    from the top graph down to the failed node (the subgraph nodes it ran
    in, then `.node`); `.node_run`: the Run holding `.node` (`.run`, or the
    subgraph's run for a node inside a subgraph)."""

    def __init__(self, message, node=None, exception=None, traceback=None, run=None,
                 status=None, path=None, node_run=None):
        super().__init__(message, _swig.ETASK)
        self.node = node
        self.exception = exception
        self.run = run
        self.status = status
        self.path = tuple(path) if path is not None else ((node,) if node is not None else ())
        self.node_run = node_run if node_run is not None else run
        if traceback is None and exception is not None:
            traceback = "".join(_traceback.format_exception(
                type(exception), exception, exception.__traceback__))
        self.traceback = traceback


# weft's error codes, as in weft.h (weft.EBUSY, ...): every code of the C
# table WEFT_ERRNO_MAP, which weft.i expands into constants and into
# weft_err_code(i), so a new code appears here without an edit.
# ERRORS: {name without WEFT_: code}.
ERRORS = {}
_i = 0
while _swig.weft_err_code(_i) != 0:
    _code = _swig.weft_err_code(_i)
    ERRORS[_swig.weft_err_name(_code)[len("WEFT_"):]] = _code
    _i += 1
del _i, _code
globals().update(ERRORS)
OK = 0

# EXCEPTIONS: {code: the class its errors raise}, for every code: the
# codes of bad arguments are also ValueErrors, ENOMEM a MemoryError,
# ETIMEDOUT a TimeoutError; every other code (and any code weft does not
# define) raises weft.Error itself.
_SPECIAL = {"EINVAL": InvalidArgument, "ERANGE": InvalidArgument, "ENOMEM": OutOfMemory,
            "ETIMEDOUT": Timeout}
EXCEPTIONS = {code: _SPECIAL.get(name, Error) for name, code in ERRORS.items()}
_c._setup(EXCEPTIONS, Error, TaskError)


def error_class(code):
    """The exception class weft error code `code` raises."""
    return EXCEPTIONS.get(code, Error)


def _error(code, detail=None):
    """The exception for a weft code, as the C layer raises it: weft_strerror's
    message, then ": detail"."""
    msg = _swig.weft_strerror(code)
    return error_class(code)(msg + ": " + detail if detail else msg, code)


strerror = _swig.weft_strerror
err_name = _swig.weft_err_name
cpu_count = _swig.weft_cpu_count          # CPUs this process may use
default_workers = _swig.weft_default_workers
MAX_WORKERS = _c.MAX_WORKERS

Job = _c.Job
Group = _c.Group

_log = _logging.getLogger("weft")


def _job_done(job, cond, waiters, callbacks):
    # Called by the C layer once a job is complete (done, failed or
    # cancelled), on the thread that completed it: wakes the waiters that
    # concurrent.futures.wait() and as_completed() installed, then calls the
    # add_done_callback() callables, as concurrent.futures.Future does.
    if cond is not None:
        with cond:
            if waiters:
                if job.cancelled():
                    for w in list(waiters):
                        w.add_cancelled(job)
                elif job.status == "failed":
                    for w in list(waiters):
                        w.add_exception(job)
                else:
                    for w in list(waiters):
                        w.add_result(job)
            cond.notify_all()
    if callbacks:
        for fn in callbacks:
            try:
                fn(job)
            except Exception:
                _log.exception("exception calling the done callback %r of %r", fn, job)


def _job_lost(name, exc):
    # A job raised and nobody retrieved its exception, and nobody can any
    # more (its handle was dropped): logged once, here.
    _log.error("job %s raised %s: %s (nobody retrieved the exception)", name,
               type(exc).__name__, exc, exc_info=(type(exc), exc, exc.__traceback__))


_c._setup_jobs(_job_done, _job_lost, _threading.Condition, _cf.CancelledError)

# Named tasks (process-wide): C tasks this module registers, and Python
# functions registered by the user.
SUM_PRIMES_TASK = "weft.sum_primes"   # arg or first input: N in ASCII; result: the sum of primes < N
SUM_TASK = "weft.sum"                 # sums the decimal numbers in its arg and inputs
register_task = _c.register_task
task_registered = _c.task_registered
load_plugin = _swig.weft_plugin_load     # load_plugin(path): a library of named C tasks


def unregister_task(name):
    """Removes a registered name (weft.Error ENOENT, naming it, if none)."""
    if not isinstance(name, str):
        raise TypeError("unregister_task: name must be a str, not %s" % type(name).__name__)
    try:
        _swig.weft_task_unregister(name)
    except Error as e:
        if e.code == ENOENT:
            raise _error(ENOENT, name) from None
        raise
cancelled = _c.cancelled                 # was the run this thread works for cancelled?

# ---------------------------------------------------------------------------
# Runtime

_live_runtimes = _weakref.WeakSet()


class Runtime(_c.RuntimeBase):
    """A weft runtime: worker threads that run submitted jobs and graphs.

    Runtime(workers=0): 0 means automatic (the CPUs this process may use,
    or WEFT_NUM_THREADS). `rt.workers` reads the count; assigning it changes
    it while jobs run (pp's set_ncpus).

    submit(fn, *args, callback=None, callbackargs=(), group=None) -> Job
        Queues fn(*args). job() waits and returns the result (pp's job());
        a job that raised makes job() raise TaskError, with the original
        exception as __cause__ and .exception, its traceback text as
        .traceback. callback(result, *callbackargs) runs once fn succeeded,
        before job() returns. group: a name or a Group (pp's group=).
    wait(group=None, timeout=None, progress=False) -> bool
        Waits for every job (or a group's). Failed jobs whose handles are
        kept do not raise here; lost failures (raised, dropped unretrieved:
        logged by the logger "weft") raise TaskError, once.
    map(fn, *iterables, chunksize=1) -> list
        [fn(*a) for a in zip(*iterables)], run as jobs, results in order;
        map_async, imap and imap_unordered are its other forms.
    cancel()
        Cancels every job not yet started (job.cancel() cancels one).
    executor()
        A concurrent.futures.Executor on this runtime (weft.Executor).
    stats() / print_stats(file=None)
        Per worker: jobs run, busy seconds (CPU time: not the GIL waits).
    close()
        Waits for every job, then stops the workers (and the worker
        processes); `with Runtime() as rt:` does it on exit.

    Where jobs run is chosen explicitly: by default (processes=None or 0,
    no nodes) on the runtime's worker threads, in this interpreter, where
    pure-Python code holds the GIL and runs one job at a time.
    Runtime(processes=N) runs them in N worker processes instead
    (processes=True or "auto": one per CPU), truly in parallel; and
    nodes=["host:port", ...] sends them to weftd nodes started with
    --python (with secret_file, or WEFT_SECRET_FILE, the cluster's key);
    discover="ADDR:PORT" adds the nodes whose signed beacons arrive there
    (weftd --announce; "0.0.0.0:7118" takes broadcast and unicast ones,
    "127.0.0.1:PORT" loopback only) and waits for one at least; both may
    be given, and jobs then go to whichever has fewer in flight
    per process or node. The function and arguments travel pickled
    (weft._code: importable functions by reference, others by value), the
    result comes back the same way, and submit(fn, *args, **kwargs) passes
    kwargs to fn; retries=k runs a job whose task raised again up to k
    times (retries=0: a job whose worker died fails at once instead of
    going to another worker). A worker process that dies (crash,
    os._exit, kill -9) is started again; the jobs it held run again on
    the others (a result is accepted once); a job that kills 3 workers
    fails with weft.Error ENODE (max_losses=3). Runtime() waits up to
    start_timeout seconds (30) for every process and node to be ready
    (weft.Timeout naming the one that was not; 0: no wait). Graphs keep
    running on the threads, unless they have remote nodes
    (Graph.add_remote), whose named-task nodes go to the processes or
    nodes. A
    Runtime with processes or nodes lives until close() (or the exit
    handler's close), even when no reference to it is left.

    Jobs are concurrent.futures Futures (as_completed, wait, cancel,
    add_done_callback). A thread that waits without a timeout for a job
    that has not started yet runs it itself, the way weft's workers help
    while they wait (wait() for every job runs any queued job); a wait with
    a timeout only sleeps, so that the timeout holds. Ctrl-C while waiting
    raises KeyboardInterrupt, cancels nothing and leaves the runtime usable.
    """

    def __init__(self, workers=0, processes=None, nodes=None, secret_file=None,
                 start_timeout=30.0, max_losses=3, discover=None):
        super().__init__(workers)
        _live_runtimes.add(self)
        self._enc = None
        nprocs = _process_count(processes)
        if nodes is None:
            nodes = []
        elif isinstance(nodes, str) or not all(isinstance(n, str) for n in nodes):
            raise TypeError("nodes must be a list of 'host:port' strings")
        nodes = list(nodes)
        if secret_file is not None and not isinstance(secret_file, (str, _os.PathLike)):
            raise TypeError("secret_file must be a path or None")
        if not isinstance(max_losses, int) or isinstance(max_losses, bool) or max_losses < 1:
            raise ValueError("max_losses must be an int >= 1")
        if discover is not None and not isinstance(discover, str):
            raise TypeError("discover must be an 'ADDR:PORT' str or None")
        if not nprocs and not nodes and discover is None:
            return
        from ._code import Encoder
        enc = Encoder()
        self._fast = _FastEncoder(enc)
        try:
            _c._remote_start(self, _worker_argv(), nprocs, nodes,
                             None if secret_file is None else _os.fspath(secret_file),
                             _done_hook(enc), self._recode, float(start_timeout),
                             max_losses, discover)
        except BaseException:
            self.close()
            raise
        self._enc = enc
        self._nprocs = nprocs
        self._nodes = nodes
        # every worker process and node, by the names replies carry
        self._fast.nodes = [w["node"] for w in _c._remote_info(self)["workers"]]
        self.submit = self._submit_remote     # shadows RuntimeBase.submit

    def _submit_remote(self, fn, /, *args, callback=None, callbackargs=(), group=None,
                       retries=None, **kwargs):
        # submit() of a runtime with processes or nodes (see the class doc)
        payload, h = self._fast.encode(fn, args, kwargs)
        if retries is None:
            retries = -1
        elif not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ValueError("retries must be an int >= 0 or None")
        return _rsubmit(self, fn, args, kwargs, payload, h, callback, callbackargs, group,
                        retries)

    def _recode(self, fn, args, kwargs, node, code_hash):
        # node lacks the code of a payload (it restarted, or evicted it):
        # the payload again, with it
        self._fast.lost(code_hash, node)
        return self._enc.encode(fn, args, kwargs, include_code=True)[0]

    @property
    def processes(self):
        """The number of worker processes (0: jobs run on threads or nodes)."""
        return getattr(self, "_nprocs", 0) if self._enc is not None else 0

    @property
    def nodes(self):
        """The weftd nodes jobs go to (a list; empty when none)."""
        return list(getattr(self, "_nodes", ())) if self._enc is not None else []

    def process_info(self):
        """The worker processes and nodes now: {"pids": [pid of each worker
        process, 0 while one restarts], "restarts": int, "dir": the private
        socket directory, "nodes": [nodes connected now], "processes": N,
        "in_flight": jobs sent and not answered, "workers": per worker
        process and node a dict: node, kind ("process" or "node"),
        connected, jobs, share, time_s, bytes_sent, bytes_received, retries,
        losses, connects, rtt_s}; None for a runtime that runs its jobs on
        threads."""
        if self.closed:
            return None
        return _c._remote_info(self)

    def close(self, /):
        """Waits for every job and for the graph runs whose nodes went to
        the processes or nodes, then stops the workers and the worker
        processes."""
        runs = getattr(self, "_graph_runs", None)
        if runs:
            for run in list(runs):
                run.wait()
        super().close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        if self.closed:
            return "<weft.Runtime closed>"
        if self._enc is not None:
            return "<weft.Runtime workers=%d processes=%d nodes=%d pending=%d>" % (
                self.workers, self.processes, len(self.nodes), self.pending)
        return "<weft.Runtime workers=%d pending=%d>" % (self.workers, self.pending)

    def wait(self, group=None, timeout=None, progress=False, progress_interval=0.1):
        """Waits for every job (or a group's: a name or a Group; a name never
        used is weft.Error ENOENT). True once complete, False if the timeout
        passed first. Failed jobs whose handles are kept do not make it
        raise; a lost failure (a job that raised and was dropped with its
        exception unretrieved, which is logged once through the logger
        "weft" and counted in stats()["jobs_failed_unseen"]) makes the next
        wait covering it raise TaskError. progress: True draws a progress
        bar on stderr when it is a terminal; a callable gets a Progress
        every progress_interval seconds and once at the end. Ctrl-C raises
        KeyboardInterrupt and cancels nothing."""
        if not progress:
            return super().wait(group, timeout)
        if isinstance(group, str) and not self._has_group(group):
            return super().wait(group, timeout)     # weft.Error ENOENT
        g = self.group(group) if isinstance(group, str) else group
        pending = g.pending if g is not None else self.pending
        base = (g.submitted if g is not None else self._stats()["jobs_submitted"]) - pending

        def count():
            p = g.pending if g is not None else self.pending
            sub = g.submitted if g is not None else self._stats()["jobs_submitted"]
            return sub - p - base, sub - base
        return _watch(_reporter(progress), count, lambda t: super(Runtime, self).wait(g, t),
                      timeout, progress_interval, _time.monotonic())

    def map(self, fn, *iterables, group=None, chunksize=1, progress=False):
        """Runs fn on each element (or on zipped elements of several
        iterables) as jobs; returns the results in order. Raises TaskError
        for the first (in order) job that raised, after all have run.
        chunksize: items per job (fewer, larger jobs). progress: as for
        wait()."""
        if not iterables:
            raise TypeError("map() needs at least one iterable")
        if chunksize == 1 and not progress:
            submit = self.submit
            jobs = [submit(fn, *a, group=group) for a in zip(*iterables)]
            return [job() for job in jobs]
        return self.map_async(fn, *iterables, group=group, chunksize=chunksize).get(
            progress=progress)

    def map_async(self, fn, *iterables, group=None, chunksize=1):
        """Submits fn over the (zipped) iterables, chunksize items per job,
        and returns a MapResult at once (wait, get, iterate, progress,
        elapsed, serial_time, cancel)."""
        if not iterables:
            raise TypeError("map_async() needs at least one iterable")
        return MapResult(self, fn, iterables, group, chunksize)

    def imap(self, fn, *iterables, group=None, chunksize=1):
        """Like map() but an iterator: every job is submitted at once and the
        results come in order, each as soon as it is ready (TaskError where
        a job raised)."""
        return iter(self.map_async(fn, *iterables, group=group, chunksize=chunksize))

    def imap_unordered(self, fn, *iterables, group=None, chunksize=1):
        """Like imap() but the results come in the order they complete."""
        return self.map_async(fn, *iterables, group=group, chunksize=chunksize).unordered()

    def executor(self):
        """A concurrent.futures.Executor running on this runtime (weft.Executor):
        its shutdown() leaves the runtime open."""
        return Executor(runtime=self)

    def stats(self):
        """The statistics as a dict, in the one schema of every weft binding
        (Lua's rt:stats() has the same keys), named after the C struct
        weft_stats_t: nworkers, active_workers (the current count),
        tasks_submitted, tasks_run, tasks_stolen, tasks_failed, busy_s,
        wall_s (since creation or reset_stats()) and workers, a list of
        {id, tasks_run, tasks_stolen, busy_s, active} per worker slot. The
        C runtime counts its own tasks: the ones that run Python jobs (each
        runs as many queued jobs as it finds) and graph nodes. The job
        queue's counters come beside them: jobs_submitted, jobs_run,
        jobs_failed, jobs_pending, jobs_busy_s, jobs_wall_s and per_worker
        (a list of {worker, jobs, busy_s}; worker "caller" counts jobs run
        by threads that waited for them)."""
        return self._stats()

    def stats_text(self):
        """The statistics table print_stats() prints, as a str."""
        s = self._stats()
        run = s["jobs_run"]
        active = s["active_workers"]
        rows = sum(1 for w in s["per_worker"] if w["worker"] != "caller")
        # rows: every worker slot that ran jobs or is active; after the count
        # went down, more rows than active workers
        head = "%d worker%s" % (active, "" if active == 1 else "s")
        if rows > active:
            head = "%d worker rows, %d active now" % (rows, active)
        lines = ["weft job statistics: %s, %.3f s wall time" % (head, s["jobs_wall_s"]),
                 " worker |     jobs run | % of all |   busy s | time per job"]
        for w in s["per_worker"]:
            n = w["jobs"]
            lines.append(" %6s | %12d | %7.2f%% | %8.3f | %10.3f us" % (
                w["worker"], n, 100.0 * n / run if run else 0.0, w["busy_s"],
                1e6 * w["busy_s"] / n if n else 0.0))
        lines.append("  Total | %12d | %7.2f%% | %8.3f | %10.3f us" % (
            run, 100.0 if run else 0.0, s["jobs_busy_s"],
            1e6 * s["jobs_busy_s"] / run if run else 0.0))
        lines.append("jobs submitted: %d, failed: %d, pending: %d" % (
            s["jobs_submitted"], s["jobs_failed"], s["jobs_pending"]))
        if s["jobs_cancelled"] or s["jobs_failed_unseen"]:
            lines.append("jobs cancelled: %d, failures nobody retrieved: %d" % (
                s["jobs_cancelled"], s["jobs_failed_unseen"]))
        info = self.process_info() if self._enc is not None else None
        if info is not None:
            # pp's print_stats per node: the worker processes and weftd nodes
            ws = info["workers"]
            total = sum(w["jobs"] for w in ws)
            lines.append("weft process statistics: %d worker process%s, %d node%s, "
                         "%d restart%s" % (
                             info["processes"], "" if info["processes"] == 1 else "es",
                             len(self.nodes), "" if len(self.nodes) == 1 else "s",
                             info["restarts"], "" if info["restarts"] == 1 else "s"))
            lines.append(" %-40s |     jobs | %% of all |   time s | time per job | losses"
                         % "worker")
            for w in ws:
                n = w["jobs"]
                name = w["node"] if len(w["node"]) <= 40 else "..." + w["node"][-37:]
                lines.append(" %-40s | %8d | %7.2f%% | %8.3f | %9.3f us | %6d" % (
                    name, n, 100.0 * n / total if total else 0.0, w["time_s"],
                    1e6 * w["time_s"] / n if n else 0.0, w["losses"]))
        return "\n".join(lines) + "\n"

    def print_stats(self, file=None):
        """Prints the statistics table (pp's print_stats) to file (default
        sys.stdout)."""
        (file or _sys.stdout).write(self.stats_text())


_rsubmit = _c._rsubmit


def _process_count(processes):
    # Runtime(processes=...): None/0/False none, True/"auto" one per CPU, N
    if processes is None or processes is False:
        return 0
    if processes is True or processes == "auto":
        return max(1, cpu_count())
    if not isinstance(processes, int):
        raise TypeError("processes must be an int, True, 'auto' or None, not %s"
                        % type(processes).__name__)
    if processes < 0 or processes > 256:
        raise ValueError("processes must be in 0..256, not %d" % processes)
    return processes


# A worker process starts as `python -c _BOOT`: the parent's sys.path
# first (as multiprocessing's spawn does), so that the worker imports weft
# and the tasks' modules from where this process found them, then
# weft._procworker (the arguments the pool appends follow in sys.argv).
_BOOT = ("import sys; sys.path[:0] = %r; "
         "from weft._procworker import main; main(sys.argv[1:])")


def _worker_argv():
    path = [_os.getcwd() if p == "" else p for p in _sys.path]
    return [_sys.executable, "-c", _BOOT % (path,)]


_PLAIN = frozenset((int, float, str, bool, type(None)))
_FUNCTION = type(lambda: None)


class _FastEncoder:
    """weft._code's Encoder.encode, for the commonest call: a plain function
    with a few small scalar arguments (int, float, str, bool, None, and
    bytes under weft._code.OOB_MIN). Encoder.encode costs some 13 us a
    task, most of it in machinery such calls do not need (out-of-band
    buffers, __main__ classes in the data); this builds the same payload
    (weft._code's documented layout: header, code, the data pickled with
    protocol 5) in some 3 us.

    The payload of each function's first call is made by the Encoder and
    compared byte for byte with the one this would make; a function whose
    payloads differ (weft._code changed, or a case this does not know)
    always goes through the Encoder. Anything else goes there too.

    Code sent by value (a function of __main__, a lambda) goes with every
    payload until every worker process and node confirmed it (the
    Encoder's needs_code), then payloads go without it; a worker that
    lacks it anyway answers so, and the job is sent again with it (see
    Runtime._recode)."""

    def __init__(self, enc):
        import pickle
        import struct
        from . import _code
        self._enc = enc
        self._code = _code
        self._dumps = pickle.dumps
        self._proto = _code.PROTOCOL
        self._oob = _code.OOB_MIN
        self._head = struct.Struct("<4sB3x32sI")     # magic, flags, hash, buffer count
        self._fns = {}                               # fn -> (prefix, code, hash) or None
        self._held = set()                           # hashes every worker confirmed
        self._flag_code = _code.FLAG_CODE
        self.nodes = []                              # every worker's name (set by Runtime)

    def lost(self, code_hash, node):
        """node lacks the code of code_hash: send it again until it confirms."""
        self._enc.forget(code_hash, node)
        self._held.discard(bytes(code_hash))

    def encode(self, fn, args, kwargs):
        payload, h = self._encode(fn, args, kwargs)
        if payload[4] & self._flag_code or h in self._held:   # flags: the 5th byte
            return payload, h
        if self._enc.needs_code(h, self.nodes):
            return self._enc.encode(fn, args, kwargs, include_code=True)[0], h
        self._held.add(h)
        return payload, h

    def _plain(self, args, kwargs):
        for a in args:
            t = type(a)
            if t not in _PLAIN and not (t is bytes and len(a) < self._oob):
                return False
        for a in kwargs.values():
            t = type(a)
            if t not in _PLAIN and not (t is bytes and len(a) < self._oob):
                return False
        return True

    def _encode(self, fn, args, kwargs):
        # the payload without code for by-value functions (see encode)
        if type(fn) is not _FUNCTION or not self._plain(args, kwargs):
            return self._enc.encode(fn, args, kwargs)
        hit = self._fns.get(fn, False)
        if hit is None:
            return self._enc.encode(fn, args, kwargs)
        data = self._dumps((None, args, kwargs), self._proto)
        if hit is not False:
            prefix, code, h = hit
            return b"".join((prefix, (len(code)).to_bytes(8, "little"),
                             len(data).to_bytes(8, "little"), code, data)), h
        payload, h = self._enc.encode(fn, args, kwargs)
        entry = None
        try:
            flags, h2, code, _data, bufs = self._code.split_payload(payload)
            code = bytes(code) if code is not None else b""
            prefix = self._head.pack(self._code.PAYLOAD_MAGIC, flags, h2, 0)
            mine = b"".join((prefix, len(code).to_bytes(8, "little"),
                             len(data).to_bytes(8, "little"), code, data))
            if not bufs and h2 == h and mine == payload:
                entry = (prefix, code, h)
        except Exception:
            entry = None
        if len(self._fns) >= 1024:
            self._fns.clear()
        self._fns[fn] = entry
        return payload, h


def _done_hook(enc):
    # Called by the completion thread (GIL held) for each reply: the value,
    # or raises the job's exception.
    decode, confirm = enc.decode, enc.confirm

    def done(status, out, node, code_hash):
        if status == 0:
            confirm(code_hash, node)
            return decode(0, out, node)
        if status == 4:        # a weft error on the way (weftd's forwarder)
            code, _, msg = bytes(out).partition(b" ")
            raise _error(int(code), "node %s: %s" % (node, msg.decode("utf-8", "replace")))
        return decode(status, out, node)
    return done


def _run_chunk(fn, chunk):
    return [fn(*a) for a in chunk]


def _chunks(iterables, size):
    it = zip(*iterables)
    while True:
        chunk = tuple(_itertools.islice(it, size))
        if not chunk:
            return
        yield chunk


def _fmt_s(s):
    s = int(s + 0.5)
    return "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)


class ProgressBar:
    """A text progress bar: finished/total, percent, rate, time left, drawn
    on one line of `file` (default sys.stderr) only when it is a terminal.
    Call it with a Progress; `unit` names what is counted."""

    def __init__(self, file=None, unit="jobs", width=30):
        self.file = file if file is not None else _sys.stderr
        self.unit = unit
        self.width = width
        isatty = getattr(self.file, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self._ended = False

    def line(self, p):
        """The bar's text for Progress p."""
        frac = p.finished / p.total if p.total else 1.0
        n = int(self.width * min(max(frac, 0.0), 1.0))
        left = "?" if p.eta_s < 0 else _fmt_s(p.eta_s)
        return "[%s%s] %d/%d %s %5.1f%% %.1f/s, %s elapsed, %s left" % (
            "#" * n, "." * (self.width - n), p.finished, p.total, self.unit, 100.0 * frac,
            p.rate, _fmt_s(p.elapsed_s), left)

    def __call__(self, p):
        if not self.enabled or self._ended:
            return
        self.file.write("\r" + self.line(p))
        if p.total and p.finished >= p.total:
            self.file.write("\n")
            self._ended = True
        self.file.flush()


def _reporter(progress):
    if progress is True:
        return ProgressBar()
    if callable(progress):
        return progress
    raise TypeError("progress must be True, False or a callable, not %s"
                    % type(progress).__name__)


def _watch(report, count, wait_slice, timeout, interval, t0):
    """Waits in slices of `interval` (wait_slice(seconds) -> complete?),
    calling report(Progress) after each and once at the end; count() ->
    (finished, total). True once complete, False at the timeout."""
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be >= 0 (or None for no limit)")
    if not interval > 0:
        raise ValueError("progress_interval must be > 0")
    deadline = None if timeout is None else _time.monotonic() + timeout
    while True:
        left = interval if deadline is None else max(0.0, min(interval,
                                                              deadline - _time.monotonic()))
        ok = wait_slice(left)
        n, total = count()
        el = _time.monotonic() - t0
        rate = n / el if el > 0 else 0.0
        eta = 0.0 if n >= total else ((total - n) / rate if rate > 0 else -1.0)
        report(Progress(n, total, el, rate, eta))
        if ok:
            return True
        if deadline is not None and _time.monotonic() >= deadline:
            return False


class MapResult:
    """The jobs of one map_async(): every item submitted at once, chunksize
    items per job. len() is the item count; wait(), get(), iteration (in
    order), unordered() (in completion order), done(), cancel(), progress
    (items complete), elapsed (ipyparallel's: seconds from the first
    submit to the last completion, or to now) and serial_time (the sum of
    the jobs' run times)."""

    def __init__(self, rt, fn, iterables, group, chunksize):
        if not isinstance(chunksize, int) or isinstance(chunksize, bool) or chunksize < 1:
            raise ValueError("chunksize must be an int >= 1")
        self.runtime = rt
        self.chunksize = chunksize
        self._t0 = _time.monotonic()
        submit = rt.submit
        if chunksize == 1:
            self._jobs = [submit(fn, *a, group=group) for a in zip(*iterables)]
            self._sizes = None
            self._n = len(self._jobs)
        else:
            chunks = list(_chunks(iterables, chunksize))
            self._jobs = [submit(_run_chunk, fn, c, group=group) for c in chunks]
            self._sizes = [len(c) for c in chunks]
            self._n = sum(self._sizes)

    def __len__(self):
        return self._n

    @property
    def jobs(self):
        """The jobs (one per chunk), in order."""
        return list(self._jobs)

    def done(self):
        return all(j.done() for j in self._jobs)

    ready = done

    @property
    def progress(self):
        """Items whose job is complete."""
        if self._sizes is None:
            return sum(1 for j in self._jobs if j.done())
        return sum(n for j, n in zip(self._jobs, self._sizes) if j.done())

    @property
    def elapsed(self):
        ends = [j._times[2] for j in self._jobs]
        if not ends:
            return 0.0
        end = max(ends) if None not in ends else _time.monotonic()
        return end - min(j._times[0] for j in self._jobs)

    @property
    def serial_time(self):
        return sum(j.serial_time for j in self._jobs)

    def cancel(self):
        """Cancels the jobs not yet started; returns how many."""
        return sum(1 for j in self._jobs if j.cancel())

    def _wait_all(self, timeout):
        deadline = None if timeout is None else _time.monotonic() + timeout
        for j in self._jobs:
            if deadline is None:
                j._wait()
            elif not j._wait(max(0.0, deadline - _time.monotonic())):
                return False
        return True

    def wait(self, timeout=None, progress=False, progress_interval=0.1):
        """True once every job is complete, False if the timeout passed
        first. progress: as for Runtime.wait()."""
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must be >= 0 (or None for no limit)")
        if not progress:
            return self._wait_all(timeout)
        return _watch(_reporter(progress), lambda: (self.progress, self._n), self._wait_all,
                      timeout, progress_interval, self._t0)

    def get(self, timeout=None, progress=False):
        """The results in order (waiting first): TaskError for the first job
        (in order) that raised; TimeoutError if the timeout passed first."""
        if not self.wait(timeout, progress):
            raise TimeoutError("the map did not complete in time")
        if self._sizes is None:
            return [j() for j in self._jobs]
        out = []
        for j in self._jobs:
            out.extend(j())
        return out

    def __iter__(self):
        for j in self._jobs:
            if self._sizes is None:
                yield j()
            else:
                yield from j()

    def unordered(self):
        """An iterator over the results in the order their jobs complete."""
        import queue
        q = queue.SimpleQueue()
        for j in self._jobs:
            j.add_done_callback(q.put)
        for _ in range(len(self._jobs)):
            j = q.get()
            if self._sizes is None:
                yield j()
            else:
                yield from j()

    def __repr__(self):
        return "<weft.MapResult %d/%d items done>" % (self.progress, self._n)


_executor_ids = _itertools.count(1)
_RESERVED_KW = frozenset(("callback", "callbackargs", "group", "retries"))


class Executor(_cf.Executor):
    """A concurrent.futures.Executor on a weft Runtime: Executor(max_workers=None)
    makes and owns a Runtime (max_workers None or 0: automatic);
    Executor(processes=N) owns a Runtime whose jobs run in N worker
    processes (a ProcessPoolExecutor in its place; processes="auto": one
    per CPU); Executor(runtime=rt) (or rt.executor()) uses rt and leaves it
    open.

    submit(fn, /, *args, **kwargs) returns a weft.Job, a Future as
    concurrent.futures.wait() and as_completed() accept; its result() and
    exception() raise the task's own exception, as a Future's do.
    map(fn, *iterables, timeout=None, chunksize=1) is concurrent.futures'
    map, but Ctrl-C while it waits cancels nothing (the jobs go on); only
    closing the iterator early cancels the jobs not yet started.
    shutdown(wait=True, *, cancel_futures=False): cancel_futures cancels
    this executor's jobs not yet started; wait waits for the others (and
    closes an owned Runtime)."""

    def __init__(self, max_workers=None, runtime=None, processes=None):
        if runtime is not None and (max_workers is not None or processes is not None):
            raise ValueError("give max_workers or processes, or runtime, not both")
        if runtime is not None and not isinstance(runtime, Runtime):
            raise TypeError("runtime must be a weft.Runtime, not %s" % type(runtime).__name__)
        self._own = runtime is None
        self._rt = Runtime(max_workers or 0, processes=processes) if runtime is None else runtime
        self._group = self._rt.group("weft.Executor-%d" % next(_executor_ids))
        self._shut = False
        self._lock = _threading.Lock()

    @property
    def runtime(self):
        return self._rt

    def submit(self, fn, /, *args, **kwargs):
        with self._lock:
            if self._shut:
                raise RuntimeError("cannot schedule new futures after shutdown")
        if kwargs and (self._rt._enc is None or
                       not _RESERVED_KW.isdisjoint(kwargs)):
            import functools
            fn = functools.partial(fn, **kwargs)
            kwargs = {}
        job = self._rt.submit(fn, *args, group=self._group, **kwargs)
        job._raw_errors()
        return job

    submit.__doc__ = _cf.Executor.submit.__doc__

    def map(self, fn, *iterables, timeout=None, chunksize=1):
        if not isinstance(chunksize, int) or isinstance(chunksize, bool) or chunksize < 1:
            raise ValueError("chunksize must be an int >= 1")
        end = None if timeout is None else _time.monotonic() + timeout
        if chunksize == 1:
            jobs = [self.submit(fn, *a) for a in zip(*iterables)]
        else:
            jobs = [self.submit(_run_chunk, fn, c) for c in _chunks(iterables, chunksize)]

        def results():
            i = 0
            try:
                while i < len(jobs):
                    j = jobs[i]
                    r = j.result() if end is None else j.result(max(0.0, end - _time.monotonic()))
                    jobs[i] = None          # drop it, as concurrent.futures does
                    i += 1
                    if chunksize == 1:
                        yield r
                    else:
                        yield from r
            except GeneratorExit:
                for j in jobs[i:]:
                    j.cancel()
                raise
        return results()

    def shutdown(self, wait=True, *, cancel_futures=False):
        with self._lock:
            self._shut = True
        if cancel_futures:
            self._group.cancel()
        if wait:
            try:
                self._rt.wait(self._group)
            except TaskError:
                pass            # lost failures: logged already; shutdown does not raise
            if self._own:
                self._rt.close()

    shutdown.__doc__ = _cf.Executor.shutdown.__doc__


_default_runtime = None


def default_runtime():
    """A process-wide Runtime with the automatic worker count, made on first
    use and closed at exit. Graph.run uses it when given no runtime."""
    global _default_runtime
    if _default_runtime is None or _default_runtime.closed:
        _default_runtime = Runtime()
    return _default_runtime


@_atexit.register
def _close_at_exit():
    # Runtimes still open at exit: wait for their jobs and stop their
    # threads while the interpreter is whole (worker threads take the GIL).
    for rt in list(_live_runtimes):
        try:
            rt.close()
        except BaseException:      # an interrupted close: leave the rest to the OS
            pass
    _c._shutdown()

# ---------------------------------------------------------------------------
# Graphs

Progress = _collections.namedtuple("Progress", "finished total elapsed_s rate eta_s")
Progress.__doc__ = """Progress of a run, given to a progress callback: nodes
finished of total, seconds elapsed, nodes per second and estimated seconds
left (negative when unknown)."""


_PLACES = ("any", "local", "node")   # weft_place_t's values, in order
PY_TASK = _c.PY_TASK                  # "weft.py": remote Python nodes' task
_graph_enc = None


def _graph_encoder():
    # one Encoder for graph payloads and their failure reports
    global _graph_enc
    if _graph_enc is None:
        from ._code import Encoder
        _graph_enc = Encoder()
    return _graph_enc


from . import _code as _code_mod   # noqa: E402


class Node:
    """A node of a Graph. `a >> b` (or a.precede(b), b.succeed(a)) makes a
    run before b and b receive a's result as an input; `a >> [b, c]`,
    `[a, b] >> c` and chains `a >> b >> c` work too."""

    __slots__ = ("graph", "id")

    def __init__(self, graph, id):
        self.graph = graph
        self.id = id

    @property
    def name(self):
        return _swig.weft_graph_node_name(self.graph._g, self.id)

    @property
    def task(self):
        """The registered task name of a task node; None for a Python node."""
        return _swig.weft_graph_node_task(self.graph._g, self.id)

    @property
    def place(self):
        """Where a task node may run when its run has an executor (a
        cluster): ("any", None), ("local", None) or ("node", "host:port")."""
        p, where = _swig.weft_graph_place(self.graph._g, self.id)
        return (_PLACES[p], where)

    def set_place(self, place, where=None):
        """Sets place ("any", "local" or "node" with where="host:port") of
        a task node; saved in graph files."""
        if place not in _PLACES:
            raise ValueError("place must be 'any', 'local' or 'node', not %r" % (place,))
        _swig.weft_graph_set_place(self.graph._g, self.id, _PLACES.index(place), where)

    @property
    def kind(self):
        """"call" (a Python callable), "remote" (add_remote's: a Python
        callable as task "weft.py"), "task" (a registered task) or
        "subgraph" (a node running a whole graph)."""
        return self.graph._core.node_kind(self.id)

    @property
    def subgraph(self):
        """The Graph a subgraph node runs (None for other nodes). For a
        loaded graph file, one of the graphs the file defines: it lives as
        long as this Graph or the file's top Graph does."""
        return self.graph._subs.get(self.id)

    def precede(self, *others):
        """This node runs before each of others (nodes or lists of nodes)."""
        for o in self.graph._nodes_of(others):
            self.graph._core.precede(self.id, o.id)
        return self

    def succeed(self, *others):
        """This node runs after each of others."""
        for o in self.graph._nodes_of(others):
            self.graph._core.precede(o.id, self.id)
        return self

    def __rshift__(self, other):
        self.precede(other)
        return other

    def __rrshift__(self, other):      # [a, b] >> c
        self.succeed(other)
        return self

    def __lshift__(self, other):       # b << a: the same edge as a >> b
        self.succeed(other)
        return other

    def __rlshift__(self, other):      # [b, c] << a
        self.precede(other)
        return self

    def __eq__(self, other):
        return isinstance(other, Node) and other.graph is self.graph and other.id == self.id

    def __hash__(self):
        return hash((id(self.graph), self.id))

    def __index__(self):
        return self.id

    def __repr__(self):
        return "<weft.Node %d %r of %r>" % (self.id, self.name, self.graph.name)


class Graph:
    """A task graph (a DAG) of Python callables and named tasks.

    Build it once, run it many times: run() blocks, run_async() returns a
    Run at once (wait(), cancel()). A node fails when its function raises
    (or a C task returns nonzero): its descendants are skipped, independent
    branches finish, and run() raises TaskError naming the first failed
    node. A cycle is reported before anything runs (weft.Error, code
    ECYCLE)."""

    def __init__(self, name="graph"):
        if not isinstance(name, str):
            raise TypeError("a graph name must be a str, not %s" % type(name).__name__)
        self._core = _swig.GraphCore(name)
        self._g = self._core.graph()   # the C graph, for weft.i's functions
        self._nodes = []
        self._subs = {}      # subgraph node id -> the Graph it runs
        self._byref = {}     # remote node id -> its code travels by reference

    @classmethod
    def load(cls, path):
        """Reads a graph file (see graph/FORMAT.md). Its nodes are task
        nodes: the tasks must be registered (in C, or with register_task)
        by the time the graph runs."""
        return cls._of_core(_swig.GraphCore.load(_os.fspath(path)), {})

    @classmethod
    def _of_core(cls, core, seen):
        """The Graph of a loaded core, and of the graphs its subgraph nodes
        run (one Graph per inner graph, however often the file uses it)."""
        g = cls.__new__(cls)
        g._core = core
        g._g = core.graph()
        seen[core.key()] = g
        n = _swig.weft_graph_node_count(g._g)
        g._nodes = [Node(g, i) for i in range(n)]
        g._subs = {}
        g._byref = {}
        for i in range(n):
            sub = core.subgraph(i)
            if sub is not None:
                g._subs[i] = seen.get(sub.key()) or cls._of_core(sub, seen)
        return g

    def save(self, path):
        """Writes the graph file. Task nodes and remote Python nodes
        (add_remote: `node NAME weft.py x"..."`, the function by reference)
        can be written down: a node of add() cannot, nor a remote node
        whose function is not importable by reference (a function of
        __main__, a lambda, a closure, or arguments holding classes of
        __main__): weft.Error, code ENOTSUP, naming the node. For add()'s,
        register the function with register_task and add it with add_task,
        or use add_remote with a function of a module."""
        self._check_savable(set())
        _swig.weft_graph_save_file(self._g, _os.fspath(path))

    def _check_savable(self, seen):
        # remote nodes by value, here and in the subgraphs saved with it
        if id(self) in seen:
            return
        seen.add(id(self))
        for i, by_ref in sorted(self._byref.items()):
            if not by_ref:
                raise _error(ENOTSUP, "remote node '%s'%s: its function is not importable by "
                             "reference (define it in a module, not in __main__, and use "
                             "arguments of importable types), so a graph file cannot name "
                             "it" % (_swig.weft_graph_node_name(self._g, i),
                                     "" if not seen or len(seen) == 1 else
                                     " of subgraph %r" % self.name))
        for sub in self._subs.values():
            sub._check_savable(seen)

    @property
    def name(self):
        return _swig.weft_graph_name(self._g)

    @property
    def nodes(self):
        return list(self._nodes)

    @property
    def edge_count(self):
        return _swig.weft_graph_edge_count(self._g)

    def __len__(self):
        return len(self._nodes)

    def __iter__(self):
        return iter(list(self._nodes))

    def __getitem__(self, key):
        """g["name"] or g[id]: the node."""
        if isinstance(key, str):
            try:
                i = _swig.weft_graph_find(self._g, key)
            except Error as e:
                if e.code == ENOENT:
                    raise KeyError(key) from None
                raise
            return self._nodes[i]
        return self._nodes[key]

    def node(self, name):
        """The first node called name (KeyError if none)."""
        return self[name]

    def _node(self, x):
        if isinstance(x, Node):
            if x.graph is not self:
                raise ValueError("node %r belongs to another graph" % (x,))
            return x
        raise TypeError("expected a weft.Node, not %s" % type(x).__name__)

    def _nodes_of(self, items):
        out = []
        for x in items:
            if isinstance(x, (list, tuple, set, frozenset)):
                out.extend(self._node(y) for y in x)
            else:
                out.append(self._node(x))
        return out

    def add(self, fn, *args, name=None, inputs=True):
        """Adds a node running fn(*args, *inputs) on a worker, with the GIL
        held only while Python code runs, and returns the Node. `inputs`
        are the predecessors' results in the order the edges were added
        (duplicates included); inputs=False calls fn(*args) alone, for edges
        that only order. The result is kept in the run (run.result(node))
        and given to successors; a bytes-like or str result is also stored
        as bytes for successor task nodes."""
        if not callable(fn):
            raise TypeError("Graph.add: fn must be callable, not %s" % type(fn).__name__)
        i = self._core.add_call(name, fn, args, bool(inputs))
        node = Node(self, i)
        self._nodes.append(node)
        return node

    def add_remote(self, fn, *args, name=None, inputs=True):
        """Adds a node running fn(*args, *inputs) where the runtime runs
        named tasks, and returns the Node: in this process on a plain
        Runtime (worker threads), in the worker processes of
        Runtime(processes=N), on the weftd --python nodes of
        Runtime(nodes=[...]) (the nodes when a runtime has both). The call
        travels as a task node of task "weft.py" whose argument is the
        encoded call (weft._code: fn by reference when importable, else by
        value; its code always included), so graph files can hold it
        (save()) and weft-run can run it on weftd --python nodes.

        Semantics are those of add(), wherever it runs: `inputs` are the
        predecessors' results in edge order (the value a Python node
        returned, decoded; the bytes a C task node stored, or None);
        inputs=False calls fn(*args) alone. run.result(node) is the value
        fn returned. fn's exception fails the node (its descendants are
        skipped) and run.result() / raise_for_failure() raise TaskError
        with the remote exception's type, message and traceback and the
        machine (.remote_type, .remote_message, .remote_traceback,
        .remote_node, .hostname, .pid).

        Result bytes (what a C successor, weft_run_result or weft-run
        --print see): a non-empty bytes value not beginning with b"WFR1"
        as it is; any other value as weft._code's pickled result frame. A
        node of add() whose successor is a remote node stores its result
        by the same rule (a C successor of it then reads that too)."""
        if not callable(fn):
            raise TypeError("Graph.add_remote: fn must be callable, not %s" % type(fn).__name__)
        arg, by_ref = _code_mod.graph_payload(_graph_encoder(), fn, args, bool(inputs))
        i = self._core.add_task(name, PY_TASK, arg)
        self._byref[i] = by_ref
        node = Node(self, i)
        self._nodes.append(node)
        return node

    def add_task(self, task, arg=None, name=None):
        """Adds a node running the registered task `task` (a C function, or
        a Python function registered with register_task) with the argument
        bytes `arg` (bytes-like, str as UTF-8, or None). C tasks run without
        the GIL. Returns the Node."""
        if not isinstance(task, str):
            raise TypeError("Graph.add_task: task must be a str, not %s" % type(task).__name__)
        i = self._core.add_task(name, task, arg)
        node = Node(self, i)
        self._nodes.append(node)
        return node

    def add_subgraph(self, sub, name=None):
        """Adds a node that runs the whole graph `sub` (a Graph: Python
        nodes, task nodes, a loaded graph file, other subgraph nodes, to any
        depth) on the same runtime, and returns the Node. The node succeeds
        when every node of sub does; it fails when one fails (run() then
        raises TaskError naming the inner node). Its result, given to its
        successors as their input and by run.result(node), is a tuple of
        the results of sub's sink nodes (those without successors), in node
        order; run.subrun(node) gives the whole run of sub. name defaults to
        sub's name. This graph keeps sub alive; sub may be added several
        times, to several graphs, but not to itself nor to a graph it
        contains (InvalidArgument / weft.Error ECYCLE). sub must not be
        changed while a graph running it runs (weft.Error EBUSY)."""
        if not isinstance(sub, Graph):
            raise TypeError("Graph.add_subgraph: sub must be a weft.Graph, not %s"
                            % type(sub).__name__)
        i = self._core.add_subgraph(name, sub._core)
        self._subs[i] = sub
        node = Node(self, i)
        self._nodes.append(node)
        return node

    def precede(self, before, after):
        """Edge: before runs before after."""
        self._core.precede(self._node(before).id, self._node(after).id)

    def edges(self):
        """Every edge as a (before, after) pair of Nodes, in the order they
        were added."""
        return [tuple(self._nodes[v] for v in _swig.weft_graph_edge(self._g, i))
                for i in range(self.edge_count)]

    def check(self):
        """Raises weft.Error (ECYCLE, naming a node on the cycle) if the
        graph has a cycle."""
        rc, v = _swig.weft_graph_check(self._g)
        if rc == ECYCLE:
            raise _error(rc, "cycle through node '%s'" % _swig.weft_graph_node_name(self._g, v))

    def run_async(self, rt=None, record=False, progress=False, progress_interval=0.1,
                  local=False):
        """Starts a run and returns its Run at once. rt: a Runtime (default:
        default_runtime()); on a Runtime with processes or nodes the named
        task nodes (add_remote's, and C tasks not placed "local") run there,
        and local=True keeps every node in this process. record: keep each
        node's start, end and worker
        (for timed dot labels, traces and per-worker statistics).
        progress: True draws weft's progress bar on stderr (when it is a
        terminal); a callable gets a Progress every progress_interval
        seconds while a thread waits for the run, and once at the end."""
        if rt is None:
            rt = default_runtime()
        bar = progress is True
        cb = None
        if callable(progress):
            def cb(*a, _f=progress):
                _f(Progress(*a))
        elif progress not in (True, False, None):
            raise TypeError("progress must be True, False or a callable, not %s"
                            % type(progress).__name__)
        core = self._core.start(rt, bool(record), bar, cb, float(progress_interval), bool(local))
        run = Run(self, core, rt)
        if getattr(rt, "_enc", None) is not None and not local:
            # its nodes may use the runtime's cluster: close() waits for it first
            if getattr(rt, "_graph_runs", None) is None:
                rt._graph_runs = _weakref.WeakSet()
            rt._graph_runs.add(run)
        return run

    def run(self, rt=None, record=False, progress=False, times=1, check=True,
            progress_interval=0.1, local=False):
        """Runs the graph `times` times one after another (stopping at the
        first run that fails) and returns the last Run. With check=True a
        failed run raises TaskError (its .run is the Run) and a cancelled
        one weft.Error (ECANCELED). Ctrl-C cancels the run, waits for the
        nodes already running and raises KeyboardInterrupt."""
        if not isinstance(times, int) or times < 1:
            raise ValueError("times must be an int >= 1")
        run = None
        for _ in range(times):
            run = None     # free the previous run's results first
            run = self.run_async(rt, record, progress, progress_interval, local)
            run.wait()
            if run.code != 0:
                if check:
                    run.raise_for_failure()
                break
        return run

    def dot(self, run=None, path=None):
        """The graph in graphviz's dot language, as a str; with a run, nodes
        are coloured by status (and labelled with times when recorded). With
        path, also writes it there."""
        if run is not None and not isinstance(run, Run):
            raise TypeError("run must be a weft.Run or None")
        if run is not None and run.graph is not self:
            raise _error(EINVAL, "the run belongs to another graph")
        text = _swig.weft_graph_dot_buf(self._g, run._r if run is not None else None)
        if path is not None:
            with open(path, "w") as f:
                f.write(text)
        return text

    def __repr__(self):
        return "<weft.Graph %r: %d nodes, %d edges>" % (self.name, len(self), self.edge_count)


class Run:
    """One run of a Graph: wait for it, cancel it, read each node's status
    and result, its counts and statistics, its trace."""

    def __init__(self, graph, core, rt):
        self.graph = graph
        self.runtime = rt
        self._core = core
        self._r = core.run()   # the C run record, for weft.i's functions

    def _id(self, node):
        if isinstance(node, str):
            node = self.graph[node]
        if isinstance(node, Node):
            if node.graph is not self.graph:
                raise ValueError("node %r belongs to another graph" % (node,))
            return node.id
        if isinstance(node, int) and not isinstance(node, bool):
            n = len(self.graph._nodes)
            if not 0 <= node < n:
                raise _error(EINVAL, "no node %d in this graph (it has %d)" % (node, n))
            return node
        raise TypeError("expected a weft.Node, a node name or id, not %s" % type(node).__name__)

    def wait(self, timeout=None):
        """Waits for the run: True once complete, False if the timeout passed
        first. Ctrl-C: cancels the run, waits for the running nodes (a second
        Ctrl-C stops that wait) and raises KeyboardInterrupt."""
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must be >= 0 (or None for no limit)")
        try:
            return self._core.wait(-1.0 if timeout is None else float(timeout))
        except KeyboardInterrupt:
            _swig.weft_run_cancel(self._r)
            self._core.wait(-1.0)
            raise

    def cancel(self):
        """Cancels every node not yet started (running nodes finish)."""
        _swig.weft_run_cancel(self._r)

    def done(self):
        return self._core.done()

    @property
    def code(self):
        """0, ETASK (a node failed) or ECANCELED, once complete."""
        self.wait()
        return self._core.code()

    @property
    def ok(self):
        return self.code == 0

    def origin(self, node):
        """Where a node that ran ran: {"machine": "local" or "host:port",
        "worker", "attempts", "lost_s", "start_s", "end_s", "bytes_sent",
        "bytes_received"}. A node that did not run raises weft.Error
        (ENOENT)."""
        return _swig.weft_run_node_origin(self._r, self._id(node))

    def status(self, node):
        """"pending", "running", "done", "failed", "skipped" or "cancelled"."""
        return _swig.weft_node_status_name(_swig.weft_run_node_status(self._r, self._id(node)))

    def result(self, node):
        """A done node's result (the Python object a call node returned; the
        bytes a task node stored, or None; for a subgraph node, the tuple of
        its subgraph's sink results). A failed node raises TaskError; a node
        that did not run raises weft.Error (ENOENT)."""
        i = self._id(node)
        self.wait()
        st = self.status(i)
        if st == "done":
            return self._core.result(i)
        if st == "failed":
            raise self._task_error(i)
        raise Error("node %r has no result: it is %s"
                    % (_swig.weft_graph_node_name(self.graph._g, i), st), ENOENT)

    def exception(self, node):
        """The exception a failed Python node raised (None otherwise; for a
        remote node, the remote exception when it could be unpickled here,
        or the weft.Error that failed it)."""
        self.wait()
        i = self._id(node)
        exc = self._core.error(i)[0]
        if exc is None and self.graph._core.node_kind(i) == "remote" and \
                _swig.weft_run_node_status(self._r, i) == _swig.NODE_FAILED:
            err = self._remote_failure(i)
            exc = err.exception if err is not None else None
        return exc

    def results(self):
        """{node name: result} of every done node."""
        self.wait()
        out = {}
        for n in self.graph._nodes:
            if _swig.weft_run_node_status(self._r, n.id) == _swig.NODE_DONE:
                out[n.name] = self._core.result(n.id)
        return out

    def counts(self):
        """{total, done, failed, skipped, cancelled, first_failed (a Node or
        None), first_code, wall_s}."""
        c = _swig.weft_run_counts(self._r)
        if c["first_failed"] is not None:
            c["first_failed"] = self.graph._nodes[c["first_failed"]]
        return c

    def subrun(self, node):
        """The Run of the subgraph that a subgraph node ran in this run
        (waits for this run first): its statuses, results, exceptions,
        counts, dot, and subrun() for deeper subgraphs. It keeps this run's
        results alive. weft.Error ENOENT if the node did not run its
        subgraph (skipped, cancelled); InvalidArgument for other nodes."""
        i = self._id(node)
        self.wait()
        sub = self.graph._subs.get(i)
        if sub is None:
            raise InvalidArgument("node %r is not a subgraph node"
                                  % _swig.weft_graph_node_name(self.graph._g, i), EINVAL)
        return Run(sub, self._core.subrun(i), self.runtime)

    def node_time(self, node):
        """(start_s, end_s, worker) of a node of a recorded run (None if it
        did not run or the run was not recorded)."""
        try:
            return tuple(_swig.weft_run_node_time(self._r, self._id(node)))
        except Error as e:
            if e.code == ENOENT:
                return None
            raise

    def _remote_failure(self, i):
        """The TaskError of failed remote node i (add_remote), from the
        report its result bytes carry, or None when they carry none."""
        raw = self._core.raw(i)
        if not raw:
            return None
        name = _swig.weft_graph_node_name(self.graph._g, i)
        try:
            machine = self.origin(i)["machine"]
        except Error:
            machine = "local"
        status, body = raw[0], raw[1:]
        if status == 1:
            err = _graph_encoder()._task_error(body, machine)
            if getattr(err, "remote_type", None) is not None:
                err.args = ("node %r raised %s" % (name, err.args[0].partition(" raised ")[2]),)
        elif status == 4:
            code, _, msg = body.partition(b" ")
            try:
                code = int(code)
            except ValueError:
                code = EPROTO
            err = TaskError("node %r failed on %s: %s" % (
                name, machine, msg.decode("utf-8", "replace")), status=code)
            err.exception = _error(code, msg.decode("utf-8", "replace"))
        else:
            return None
        err.node = name
        err.path = (name,)
        err.run = err.node_run = self
        if err.status is None:
            err.status = ETASK
        return err

    def _failure(self, i):
        """(path, run, id, exception, code) of the failure of node i: for a
        subgraph node that failed because an inner node did, that node's."""
        name = _swig.weft_graph_node_name(self.graph._g, i)
        exc, code = self._core.error(i)
        if i in self.graph._subs and code == ETASK:
            try:
                sr = self.subrun(i)
                ff = _swig.weft_run_counts(sr._r)["first_failed"]
            except Error:
                ff = None
            if ff is not None:
                path, run, j, exc, code = sr._failure(ff)
                return (name,) + path, run, j, exc, code
        return (name,), self, i, exc, code

    def _task_error(self, i):
        path, run, j, exc, code = self._failure(i)
        if exc is None and run.graph._core.node_kind(j) == "remote":
            err = run._remote_failure(j)
            if err is not None:
                if len(path) > 1:
                    err.args = ("%s (in subgraph node %s)" % (
                        err.args[0], " > ".join(repr(p) for p in path[:-1])),)
                    err.path = path
                err.run = self
                return err
        name = path[-1]
        where = ""
        if len(path) > 1:
            where = " (in subgraph node %s)" % " > ".join(repr(p) for p in path[:-1])
        if exc is not None:
            msg = "node %r%s raised %s: %s" % (name, where, type(exc).__name__, exc)
        else:
            task = _swig.weft_graph_node_task(run.graph._g, j)
            what = "task %s" % task if task else "subgraph"
            msg = "node %r%s (%s) failed with status %d (%s)" % (
                name, where, what, code, _swig.weft_strerror(code))
        err = TaskError(msg, node=name, exception=exc, run=self, status=code, path=path,
                        node_run=run)
        err.__cause__ = exc
        return err

    def raise_for_failure(self):
        """Raises TaskError for the first failed node, or weft.Error
        (ECANCELED) if the run was cancelled; returns None if it succeeded."""
        code = self.code
        if code == ETASK:
            c = _swig.weft_run_counts(self._r)
            raise self._task_error(c["first_failed"])
        if code == ECANCELED:
            raise Error("the run of graph %r was cancelled" % self.graph.name, code)

    def stats_text(self):
        """weft's run statistics (print_stats style) as a str."""
        self.wait()
        return _swig.weft_run_print_stats_buf(self._r)

    def print_stats(self, file=None):
        (file or _sys.stdout).write(self.stats_text())

    def trace(self, path=None):
        """The run as Chrome trace-event JSON (chrome://tracing, Perfetto),
        one track per worker; needs record=True. Returns the text; with
        path, also writes it there."""
        self.wait()
        try:
            text = _swig.weft_run_trace_buf(self._r)
        except Error as e:
            if e.code == ENOENT:
                raise _error(ENOENT, "a trace needs a run made with record=True") from None
            raise
        if path is not None:
            with open(path, "w") as f:
                f.write(text)
        return text

    def save(self, path=None):
        """The run file (node statuses and times) that weft-dot draws
        alongside the graph file. Returns the text; with path, writes it."""
        self.wait()
        text = _swig.weft_run_save_buf(self._r)
        if path is not None:
            with open(path, "w") as f:
                f.write(text)
        return text

    def dot(self, path=None):
        """graph.dot(run=self)."""
        self.wait()
        return self.graph.dot(self, path)

    def __repr__(self):
        if not self._core.done():
            return "<weft.Run of %r: running>" % self.graph.name
        c = _swig.weft_run_counts(self._r)
        return "<weft.Run of %r: %d done, %d failed, %d skipped, %d cancelled>" % (
            self.graph.name, c["done"], c["failed"], c["skipped"], c["cancelled"])


__all__ = ["Runtime", "Job", "Group", "MapResult", "Executor", "ProgressBar", "Graph", "Node", "Run", "Progress", "Error",
           "InvalidArgument", "OutOfMemory", "Timeout", "TaskError", "ERRORS", "EXCEPTIONS",
           "error_class", "cancelled", "default_runtime",
           "register_task", "unregister_task", "task_registered", "load_plugin", "SUM_PRIMES_TASK",
           "SUM_TASK", "cpu_count", "default_workers", "strerror", "err_name",
           "MAX_WORKERS"]
