"""weft.pp: Parallel Python's API on weft.

A program written for Parallel Python (pp) runs unchanged with
``import pp`` replaced by ``import weft.pp as pp``::

    import weft.pp as pp

    job_server = pp.Server()                       # ncpus="autodetect"
    job = job_server.submit(sum_primes, (100,), depfuncs=(isprime,),
                            modules=("math",))
    print(job())                                   # waits, returns the result
    job_server.print_stats()

Server(ncpus="autodetect", ppservers=(), secret=None, restart=False,
       proto=2, socket_timeout=3600)
    ncpus: local workers ("autodetect": the CPUs this process may use).
    ppservers: weft nodes ("host" or "host:port"); "*" among them adds
    the nodes that discovery finds (beacons of weftd --announce, received
    on $WEFT_DISCOVER or 0.0.0.0:7118: see discover_address). secret: pp's shared secret (see secret_key_file). See
    bindings/python/README.md, "Parallel Python compatibility", for how
    each argument maps onto weft and where weft.pp differs from pp.

What pp does and weft.pp keeps: job() returns the result, or None when the
function raised (the remote traceback is written to sys.stderr, prefixed by
the job's number and function, where pp prints it on stdout); callbacks
are called as callback(*callbackargs, result) before job() returns, also
with None when the job raised; wait(group) waits for a group's jobs,
callbacks included; print_stats() prints pp's table; what a job prints in
its worker is printed here when it completes. What weft.pp adds:
job.exception (the weft.TaskError of a failed job, else None).
"""

import hashlib
import importlib
import os
import pickle
import stat
import sys
import threading
import time

import weft
from weft import _code

__all__ = ["Server", "Template", "DestroyedServerError", "version", "secret_key_file"]

version = "weft-" + weft.__version__
DEFAULT_PORT = 7117          # weftd's port (WEFT_DIST_PORT in weft/dist.h)

_KEY_CONTEXT = b"weft.pp secret v1\x00"


class DestroyedServerError(RuntimeError):
    """The Server was destroyed before the job completed, or submit() was
    called after destroy()."""


def _key_dir():
    base = os.environ.get("XDG_CONFIG_HOME")
    if not base:
        home = os.environ.get("HOME")
        if not home:
            raise weft.Error("weft.pp: no HOME (nor XDG_CONFIG_HOME) to keep the key "
                             "file of a secret in", weft.ENOENT)
        base = os.path.join(home, ".config")
    return os.path.join(base, "weft", "pp")


def secret_key_file(secret, directory=None):
    """The weft key file that stands for pp's `secret` (a str or bytes),
    created when missing; its path.

    weft authenticates with a key file (dist/PROTOCOL.md section 2), pp with
    a secret string. The key is the 64 hex digits of
    SHA-256(b"weft.pp secret v1\\0" + secret as UTF-8), so every machine that
    is given the same secret derives the same key; the file is
    DIR/secret-<first 16 hex digits of SHA-256(key)>.key, where DIR is
    `directory` or $XDG_CONFIG_HOME/weft/pp (~/.config/weft/pp), made
    0700; the file is created 0600 with O_EXCL (through a temporary file
    renamed into place), never readable by others. An existing file with
    other content, or readable by group or others, is an error
    (weft.Error EPERM) rather than used. Start a node for such clients
    with `weftd --python --secret-file "$(python3 -m weft.pp keyfile)"`
    (the command reads the secret from stdin, so that it never appears in
    a process list)."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, (bytes, bytearray)):
        raise TypeError("secret must be a str or bytes, not %s" % type(secret).__name__)
    if not secret:
        raise ValueError("secret must not be empty")
    key = hashlib.sha256(_KEY_CONTEXT + bytes(secret)).hexdigest().encode("ascii")
    d = directory if directory is not None else _key_dir()
    os.makedirs(d, mode=0o700, exist_ok=True)
    st = os.stat(d)
    if st.st_mode & 0o077 and directory is None:
        os.chmod(d, 0o700)
    path = os.path.join(d, "secret-%s.key" % hashlib.sha256(key).hexdigest()[:16])
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        tmp = "%s.%d.tmp" % (path, os.getpid())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, key + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        return path
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077:
            raise weft.Error("weft.pp: key file %s is readable or writable by others "
                             "(chmod 600 %s)" % (path, path), weft.EPERM)
        if os.read(fd, 200).strip() != key:
            raise weft.Error("weft.pp: key file %s holds another key" % path, weft.EPERM)
    finally:
        os.close(fd)
    return path


def _check_tuple(value, what):
    if not isinstance(value, tuple):
        raise TypeError("%s must be a tuple, not %s" % (what, type(value).__name__))


def _check_ncpus(ncpus):
    if ncpus == "autodetect":
        return weft.cpu_count()
    if not isinstance(ncpus, int) or isinstance(ncpus, bool):
        raise TypeError("ncpus must be an int or 'autodetect', not %r" % (ncpus,))
    if ncpus < 0:
        raise ValueError("ncpus must be >= 0, not %d" % ncpus)
    return ncpus


DISCOVER_DEFAULT = "0.0.0.0:7118"


def discover_address():
    """Where ppservers=("*",) listens for weftd's beacons (weftd --announce):
    $WEFT_DISCOVER when set, else 0.0.0.0:7118 (broadcast and unicast
    beacons on every interface of this host; beacons are signed with the
    cluster's key, and a node found still authenticates as any other)."""
    return os.environ.get("WEFT_DISCOVER") or DISCOVER_DEFAULT


def _parse_servers(ppservers):
    if isinstance(ppservers, str) or not isinstance(ppservers, (tuple, list)):
        raise TypeError("ppservers must be a tuple of \"host\" or \"host:port\" strings")
    nodes, discover = [], False
    for s in ppservers:
        if not isinstance(s, str) or not s:
            raise TypeError("ppservers must hold \"host\" or \"host:port\" strings, not %r" % (s,))
        if s == "*":
            discover = True
            continue
        if s.startswith("["):                      # [IPv6]:port
            host, _, rest = s[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else rest
            host = "[%s]" % host
        elif s.count(":") == 1:
            host, port = s.split(":")
        else:
            host, port = s, ""
        if not host or host == "[]":
            raise ValueError("ppservers: no host in %r" % s)
        if port and (not port.isdigit() or not 0 < int(port) < 65536):
            raise ValueError("ppservers: bad port in %r" % s)
        nodes.append("%s:%s" % (host, port or DEFAULT_PORT))
    return nodes, discover


class _Stat:
    """One row of print_stats: pp's _Statistics (ncores, njobs, time,
    rworker)."""

    def __init__(self, ncores, rworker=None):
        self.ncores = ncores
        self.njobs = 0
        self.time = 0.0
        self.rworker = rworker

    def __repr__(self):
        return "<weft.pp stats ncores=%d njobs=%d time=%.3f>" % (self.ncores, self.njobs,
                                                                 self.time)


class _Task:
    """A submitted job (pp's _Task): job() waits and returns the result,
    or None when the function raised. job.finished: complete, callback
    included. job.tid: its number. job.exception: the weft.TaskError of a
    failed job (a weft.pp addition), else None."""

    def __init__(self, server, tid, name, callback, callbackargs, group):
        self.server = server
        self.tid = tid
        self.name = name
        self.callback = callback
        self.callbackargs = callbackargs
        self.group = group
        self.result = None
        self.exception = None
        self.node = None
        self._destroyed = False
        self._done = threading.Event()

    @property
    def finished(self):
        return self._done.is_set()

    def wait(self):
        """Waits until the job is complete (its callback included)."""
        while not self._done.wait(0.5):
            pass

    def __call__(self, raw_result=False):
        """Waits; the result (None when the function raised). raw_result:
        the result pickled (pp returned its pickled form)."""
        self.wait()
        if self._destroyed:
            raise DestroyedServerError("the Server was destroyed before job %d (%s) "
                                       "completed" % (self.tid, self.name))
        if raw_result:
            return pickle.dumps(self.result, protocol=self.server._proto)
        return self.result

    def __repr__(self):
        return "<weft.pp job %d %s %s>" % (self.tid, self.name,
                                           "finished" if self.finished else "pending")

    def _complete(self, job):
        # on the thread that completed the weft job (done callback)
        srv = self.server
        try:
            if job.cancelled():
                self._destroyed = True
            else:
                try:
                    self.result = job()
                except Exception as e:       # TaskError; weft.Error (ENODE: workers died)
                    self.exception = e
                    self.result = None
                    srv._report_failure(self, e)
            node, seconds, output = _code.last_decoded() if not srv._threads else \
                (None, None, None)
            if output:
                # what the function printed in its worker, printed here as pp does
                sys.stdout.write(output)
                sys.stdout.flush()
            if node is None or node.startswith("unix:"):
                node = "local"      # the local worker processes, as pp's "local"
            self.node = node
            if not self._destroyed:
                srv._account(self, seconds if seconds is not None else job.serial_time)
            if self.callback is not None and not self._destroyed:
                try:
                    self.callback(*(self.callbackargs + (self.result,)))
                except Exception as e:
                    srv._report_callback(self, e)
        finally:
            self._done.set()
            srv._forget(self)


class Server:
    """pp's job server on a weft Runtime (see the module docstring)."""

    default_port = DEFAULT_PORT
    default_secret = None          # pp had a built-in secret; weft has none

    def __init__(self, ncpus="autodetect", ppservers=(), secret=None, restart=False,
                 proto=2, socket_timeout=3600):
        n = _check_ncpus(ncpus)
        nodes, discover = _parse_servers(ppservers)
        if not isinstance(restart, bool):
            raise TypeError("restart must be a bool")
        if not isinstance(proto, int) or isinstance(proto, bool) or \
                not 0 <= proto <= pickle.HIGHEST_PROTOCOL:
            raise ValueError("proto must be a pickle protocol, 0 to %d" % pickle.HIGHEST_PROTOCOL)
        if not isinstance(socket_timeout, (int, float)) or isinstance(socket_timeout, bool) \
                or not socket_timeout > 0:
            raise ValueError("socket_timeout must be a number of seconds > 0")
        if secret is not None and not isinstance(secret, (str, bytes)):
            raise TypeError("secret must be a str or None, not %s" % type(secret).__name__)
        self._proto = proto
        self._restart = restart
        self._socket_timeout = float(socket_timeout)
        self._secret_file = secret_key_file(secret) if secret is not None and \
            (nodes or discover) else None
        self._nodes = nodes
        self._discover = discover
        self._lock = threading.Lock()
        self._tid = 0
        self._pending = {}              # tid -> _Task (not complete)
        self._stats = {}
        self._destroyed = False
        self._t0 = time.monotonic()
        self._threads = os.environ.get("WEFT_PP_THREADS") == "1"
        self._old = []                  # runtimes that set_ncpus replaced, still closing
        self._rt = self._make_runtime(n)
        self._ncpus = n
        self._stats["local"] = _Stat(n)

    # -- the runtime -----------------------------------------------------

    def _make_runtime(self, n):
        """A Runtime with n local worker processes and the nodes; threads
        when WEFT_PP_THREADS=1 is set (the function then runs in this
        process)."""
        if n == 0 and not self._nodes and not self._discover:
            raise ValueError("ncpus=0 runs jobs only on ppservers, and none were given")
        if self._threads:
            return weft.Runtime(n)
        return weft.Runtime(processes=n, nodes=self._nodes, secret_file=self._secret_file,
                            discover=discover_address() if self._discover else None)

    def _retire(self, rt):
        # an old runtime (set_ncpus) finishes its jobs, then closes
        def close():
            try:
                rt.close()
            finally:
                with self._lock:
                    if rt in self._old:
                        self._old.remove(rt)
        with self._lock:
            self._old.append(rt)
        threading.Thread(target=close, name="weft.pp retire", daemon=True).start()

    # -- jobs ------------------------------------------------------------

    def submit(self, func, args=(), depfuncs=(), modules=(), callback=None, callbackargs=(),
               group="default", globals=None):
        """Submits func(*args) and returns its job (callable: job()).
        depfuncs: functions and classes func uses (sent with it when it
        travels by source); modules: names of modules imported before the
        call; callback(*callbackargs, result) runs once the job is
        complete; group: a name for wait(group); globals: a dict (such as
        globals()) whose modules, functions and classes go with func."""
        if self._destroyed:
            raise DestroyedServerError("submit() after destroy()")
        if not callable(func):
            raise TypeError("func must be callable, not %s" % type(func).__name__)
        _check_tuple(args, "args")
        _check_tuple(depfuncs, "depfuncs")
        _check_tuple(modules, "modules")
        _check_tuple(callbackargs, "callbackargs")
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable or None")
        if not isinstance(group, str):
            raise TypeError("group must be a str, not %s" % type(group).__name__)
        if globals is not None and not isinstance(globals, dict):
            raise TypeError("globals must be a dict or None")
        for m in modules:
            if not isinstance(m, str):
                raise TypeError("modules must hold module names (str), not %r" % (m,))
        name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or \
            type(func).__name__
        with self._lock:
            self._tid += 1
            task = _Task(self, self._tid, name, callback, callbackargs, group)
            self._pending[task.tid] = task
        try:
            job = self._submit(func, args, depfuncs, modules, globals, group)
        except BaseException:
            self._forget(task)
            raise
        job.add_done_callback(task._complete)
        return task

    def _submit(self, func, args, depfuncs, modules, globals, group):
        if self._threads:
            # the function runs in this process, where its own globals
            # hold what it uses; the modules are imported (so that a
            # missing one fails here, as on a pp worker)
            for m in modules:
                importlib.import_module(m)
            return self._rt.submit(func, *args, group=group)
        task = _code.Task(func, depfuncs, modules, globals, capture_output=True)
        return self._rt.submit(task, *args, group=group)

    def _forget(self, task):
        with self._lock:
            self._pending.pop(task.tid, None)

    def _account(self, task, t):
        with self._lock:
            st = self._stats.get(task.node)
            if st is None:
                st = self._stats[task.node] = _Stat(0)
            st.njobs += 1
            st.time += t if t is not None else 0.0

    def _report_failure(self, task, err):
        tb = getattr(err, "traceback", None) or "%s: %s" % (type(err).__name__, err)
        where = getattr(err, "remote_node", None) or "local"
        sys.stderr.write("weft.pp: job %d (%s) raised on %s:\n%s" % (
            task.tid, task.name, where, tb if tb.endswith("\n") else tb + "\n"))
        sys.stderr.flush()

    def _report_callback(self, task, e):
        import traceback
        sys.stderr.write("weft.pp: the callback of job %d (%s) raised:\n%s" % (
            task.tid, task.name, "".join(traceback.format_exception(type(e), e,
                                                                    e.__traceback__))))
        sys.stderr.flush()

    def wait(self, group=None):
        """Waits for every job (or the jobs of group), callbacks included."""
        if group is not None and not isinstance(group, str):
            raise TypeError("group must be a str or None")
        while True:
            with self._lock:
                tasks = [t for t in self._pending.values()
                         if group is None or t.group == group]
            if not tasks:
                return
            for t in tasks:
                t.wait()

    # -- workers and nodes -----------------------------------------------

    def get_ncpus(self):
        """The number of local workers."""
        return self._ncpus

    def set_ncpus(self, ncpus="autodetect"):
        """Changes the number of local workers ("autodetect": the CPUs this
        process may use), also while jobs run."""
        n = _check_ncpus(ncpus)
        if self._destroyed:
            raise DestroyedServerError("set_ncpus() after destroy()")
        if n == 0 and not self._nodes and not self._discover:
            raise ValueError("ncpus=0 runs jobs only on ppservers, and none were given")
        if n == self._ncpus:
            return
        if self._threads:
            self._rt.workers = n
        else:
            # a Runtime's process count is fixed: new jobs go to a new one;
            # the old one finishes the jobs it holds, then closes
            new = self._make_runtime(n)
            old, self._rt = self._rt, new
            self._retire(old)
        self._ncpus = n
        with self._lock:
            self._stats["local"].ncores = n

    def get_active_nodes(self):
        """{node: worker count}: "local" (the local workers) and each node
        connected now. weft does not learn how many workers a node runs:
        each counts 1."""
        d = {"local": self._ncpus}
        if not self._threads and (self._nodes or self._discover) and not self._rt.closed:
            info = self._rt.process_info() or {}
            for node in info.get("nodes", ()):
                if not node.startswith("unix:"):
                    d[node] = 1
        return d

    def get_stats(self):
        """{node: statistics} (ncores, njobs, time: the seconds its jobs
        ran, rworker), as pp's get_stats."""
        with self._lock:
            return dict(self._stats)

    def print_stats(self, file=None):
        """Prints pp's table: per node the job count, its share of all jobs,
        the sum of their run times and the time per job; then the time since
        the Server was made and the active task and core counts."""
        out = file or sys.stdout
        with self._lock:
            rows = [(k, s.njobs, s.time) for k, s in self._stats.items()]
            active = len(self._pending)
        total = sum(r[1] for r in rows)
        lines = ["Job execution statistics:",
                 " job count | % of all jobs | job time sum | time per job | job server"]
        for node, n, t in rows:
            if n == 0 and node != "local":
                continue
            lines.append(" %9d | %13.2f | %12.4f | %12.6f | %s" % (
                n, 100.0 * n / total if total else 0.0, t, t / n if n else 0.0, node))
        lines.append("Time elapsed since server creation %.6f" % (time.monotonic() - self._t0))
        lines.append("%d active tasks, %d cores" % (active, self._ncpus))
        out.write("\n".join(lines) + "\n\n")

    def destroy(self):
        """Stops the server: jobs not started are dropped (their job()
        raises DestroyedServerError), running ones finish, the workers
        stop. A second call does nothing."""
        if self._destroyed:
            return
        self._destroyed = True
        with self._lock:
            rts = [self._rt] + self._old
        for rt in rts:
            rt.cancel()
        for rt in rts:
            rt.close()
        self.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()
        return False

    def __repr__(self):
        return "<weft.pp.Server ncpus=%d%s>" % (self._ncpus,
                                                " destroyed" if self._destroyed else "")


class Template:
    """pp's Template: a function with its submit arguments fixed;
    template.submit(*args) submits func(*args)."""

    def __init__(self, job_server, func, depfuncs=(), modules=(), callback=None,
                 callbackargs=(), group="default", globals=None):
        if not isinstance(job_server, Server):
            raise TypeError("job_server must be a weft.pp.Server")
        self.job_server = job_server
        self.func = func
        self.depfuncs = depfuncs
        self.modules = modules
        self.callback = callback
        self.callbackargs = callbackargs
        self.group = group
        self.globals = globals

    def submit(self, *args):
        return self.job_server.submit(self.func, args, self.depfuncs, self.modules,
                                      self.callback, self.callbackargs, self.group,
                                      self.globals)


def _main(argv):
    """python3 -m weft.pp keyfile: reads a secret from stdin, prints the path
    of its key file (see secret_key_file)."""
    if len(argv) != 2 or argv[1] != "keyfile":
        sys.stderr.write("usage: python3 -m weft.pp keyfile   (the secret on stdin)\n")
        return 2
    secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        sys.stderr.write("weft.pp: no secret on stdin\n")
        return 1
    print(secret_key_file(secret))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
