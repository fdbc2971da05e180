"""weft._worker: runs the payloads of weft._code in a Python worker process.

run(payload) -> (status, out), called by the worker's task "weft.py":

- status 0: the task returned; out is the encoded result (weft._code
  encode_result: pickled with protocol 5, large buffers framed after it).
- status 1: the task raised, or the payload could not be run (unreadable,
  code that fails to load, arguments or a result that cannot be pickled);
  out is a pickled report: a dict with "type" (the exception's module and
  qualified name), "message" (str of it), "traceback" (the text of
  traceback.format_exception, without this module's own frames),
  "hostname", "pid", "function" (the task's name), "seconds" (how long
  the call ran before it raised, or None when it never started), "output"
  (what it printed, when the payload asked to capture it, else None) and
  "exception" (the exception itself, encoded as a result, when it pickles;
  else None).
- status 2: this worker does not hold the code of the payload's hash and
  the payload carries none; out is the 32-byte hash. The parent resubmits
  with the code.

run_node(payload, inputs) -> (status, out), for the nodes of Graph.add_remote
(weft._code's graph payloads, with the node's input bytes): status 0 with
the result's bytes (weft._code.node_value_bytes), or 1 with the report.

run() never raises, whatever the payload (BaseException included: a task
that calls sys.exit() reports SystemExit).

Code cache: each loaded code (a function, a class with a method name, or a
pickled callable, with the namespace it runs in) is kept by its SHA-256
hash, at most CACHE_SIZE entries; the least recently used goes first. A
parent told status 2 for an evicted entry sends the code again. The hash of
code that arrives is checked before it is used.
"""

import ast
import builtins
import collections
import contextlib
import io
import hashlib
import importlib
import os
import pickle
import socket
import sys
import threading
import time
import traceback

from . import _code

CACHE_SIZE = 256

_lock = threading.Lock()
_cache = collections.OrderedDict()     # hash -> _Entry
_stats = {"hits": 0, "misses": 0, "loads": 0, "evictions": 0}
_hostname = None


class _Entry:
    __slots__ = ("owner", "method", "namespace", "name")

    def __init__(self, owner, method, namespace, name):
        self.owner = owner          # the function, the class, or the callable
        self.method = method        # a method name, or None
        self.namespace = namespace  # where names of __main__ resolve
        self.name = name


def cache_info():
    """{"size", "capacity", "hits", "misses", "loads", "evictions"} of this
    process's code cache."""
    with _lock:
        d = dict(_stats)
        d["size"] = len(_cache)
        d["capacity"] = CACHE_SIZE
        return d


def clear_cache():
    """Empties the code cache (and its counters)."""
    with _lock:
        _cache.clear()
        for k in _stats:
            _stats[k] = 0


def _resolve(modname, qualname):
    try:
        obj = importlib.import_module(modname)
    except ImportError as e:
        raise ImportError("weft: %s.%s travels by reference, but module %r cannot be "
                          "imported on this worker (%s)" % (modname, qualname, modname, e),
                          name=modname) from e
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AttributeError("weft: module %r on this worker has no %s" % (
                modname, qualname)) from None
    return obj


def _import_into(ns, mods):
    """Imports pp's `modules` (bind name, module name, bind top package)
    into namespace ns (names already there are kept)."""
    for bind, modname, top in mods:
        m = importlib.import_module(modname)
        if top:
            m = sys.modules[modname.split(".")[0]]
        ns.setdefault(bind, m)


def _exec_source(ns, src):
    name, text, fname, first = src
    tree = ast.parse(text, fname)
    ast.increment_lineno(tree, first - 1)       # tracebacks name the original lines
    exec(compile(tree, fname, "exec"), ns)
    if name not in ns:
        raise NameError("weft: the source of %s did not define it" % name)
    return ns[name]


def _new_namespace():
    return {"__name__": "__main__", "__builtins__": builtins}


def _function_globals(obj):
    """The globals dicts of a function, or of the functions of a class."""
    if isinstance(obj, type):
        out = []
        for v in vars(obj).values():
            f = getattr(v, "__func__", v)
            g = getattr(f, "__globals__", None)
            if isinstance(g, dict) and all(g is not o for o in out):
                out.append(g)
        return out
    g = getattr(obj, "__globals__", None)
    return [g] if isinstance(g, dict) else []


def _load(code):
    """An _Entry from code bytes (see weft._code)."""
    spec = pickle.loads(code)
    kind = spec[0]
    method = None
    if kind == "method":
        _, inner, method = spec
        spec = pickle.loads(inner)
        kind = spec[0]
    if kind == "ref":
        _, modname, qualname, mods = spec
        owner = _resolve(modname, qualname)
        ns = _new_namespace()
        _import_into(ns, mods)
        gl = _function_globals(owner)
        return _Entry(owner, method, gl[0] if gl else ns, qualname)
    if kind == "cp":
        _, version, blob, mods = spec
        try:
            import cloudpickle
        except ImportError:
            raise ImportError("weft: this task's code was pickled with cloudpickle %s, "
                              "which cannot be imported on this worker" % version) from None
        try:
            owner, deps = pickle.loads(blob)
        except Exception as e:
            raise RuntimeError("weft: the task's code (cloudpickle %s on the parent, %s "
                               "here) does not load: %s: %s" % (
                                   version, cloudpickle.__version__, type(e).__name__, e)) from e
        gl = _function_globals(owner)
        ns = gl[0] if gl and not isinstance(owner, type) else _new_namespace()
        for g in [ns] + gl:
            _import_into(g, mods)
            for d in deps:
                g.setdefault(d.__name__, d)
        ns.setdefault(owner.__name__, owner)
        return _Entry(owner, method, ns, owner.__qualname__)
    if kind == "src":
        _, main, srcs, refs, mods = spec
        ns = _new_namespace()
        _import_into(ns, mods)
        owner = None
        for bind, modname, qualname in refs:
            ns[bind] = _resolve(modname, qualname)
        for s in srcs:
            _exec_source(ns, s)
        if main is not None:
            owner = _exec_source(ns, main)
        else:
            owner = ns[refs[-1][0]]
        return _Entry(owner, method, ns, getattr(owner, "__qualname__", "task"))
    if kind == "obj":
        _, is_cp, blob, srcs, mods = spec
        ns = _new_namespace()
        _import_into(ns, mods)
        for s in srcs:
            _exec_source(ns, s)
        _code._ctx.namespace = ns
        try:
            owner, deps = pickle.loads(blob) if is_cp else (pickle.loads(blob), [])
        finally:
            _code._ctx.namespace = None
        for d in deps:
            ns.setdefault(getattr(d, "__name__", "?"), d)
        return _Entry(owner, method, ns, type(owner).__name__)
    raise ValueError("weft: unknown code kind %r" % (kind,))


def _entry_for(h, code):
    with _lock:
        e = _cache.get(h)
        if e is not None:
            _cache.move_to_end(h)
            _stats["hits"] += 1
            return e
        _stats["misses"] += 1
    if code is None:
        return None
    code = bytes(code)
    if hashlib.sha256(code).digest() != h:
        raise ValueError("weft: the payload's code does not match its hash")
    e = _load(code)
    with _lock:
        _stats["loads"] += 1
        _cache[h] = e
        _cache.move_to_end(h)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
            _stats["evictions"] += 1
    return e


def _type_name(t):
    mod = getattr(t, "__module__", None)
    qn = getattr(t, "__qualname__", None) or getattr(t, "__name__", "?")
    if mod in (None, "builtins", "__main__"):
        return qn
    return "%s.%s" % (mod, qn)


def _report(exc, name, seconds=None, output=None):
    """The pickled failure report for exception exc (status 1's out)."""
    global _hostname
    if _hostname is None:
        try:
            _hostname = socket.gethostname()
        except OSError:
            _hostname = "?"
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next                 # this module's own frames
    try:
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    except BaseException as e:          # a broken __str__, say
        text = "(no traceback: formatting it raised %s)\n" % type(e).__name__
    try:
        msg = str(exc)
    except BaseException as e:
        msg = "(str() of the exception raised %s)" % type(e).__name__
    try:
        blob = _code.encode_result(exc)
    except BaseException:
        blob = None
    rep = {"type": _type_name(type(exc)), "message": msg, "traceback": text,
           "hostname": _hostname, "pid": os.getpid(), "function": name,
           "exception": blob, "seconds": seconds, "output": output}
    try:
        return pickle.dumps(rep, protocol=_code.PROTOCOL)
    except BaseException:
        rep["exception"] = None
        return pickle.dumps(rep, protocol=_code.PROTOCOL)


def run_node(payload, inputs):
    """Runs a remote graph node (weft._code's graph payload: b"WFN1" and a
    call's payload) with its inputs (a list of the predecessors' result
    bytes, None where one stored none): the call gets, after its own
    arguments, each input decoded by weft._code.node_value (when the node
    takes its inputs). (status, out): status 0 with out the result's
    bytes (weft._code.node_value_bytes), or status 1 with the report, as
    run(). Graph payloads carry their code: one without code fails (status
    1, never 2)."""
    try:
        flags, inner = _code.split_graph_payload(payload)
        extra = tuple(_code.node_value(x) for x in inputs) if flags & _code.GRAPH_INPUTS else ()
    except BaseException as exc:
        return _code.STATUS_RAISED, _report(exc, "graph node")
    return run(inner, extra, True)


def run(payload, extra=(), node=False):
    """Runs one payload: (status, out), as the module docstring says. extra:
    positional arguments after the payload's own (a graph node's inputs);
    node: the result is a graph node's (weft._code.node_value_bytes)."""
    name = "task"
    t0 = None
    captured = None
    try:
        flags, h, code, data, bufs = _code.split_payload(payload)
        entry = _entry_for(h, code)
        if entry is None:
            if node:
                raise RuntimeError("weft: a graph node's payload without its code (%s)"
                                   % bytes(h).hex()[:16])
            return _code.STATUS_NEED_CODE, h
        name = entry.name
        _code._ctx.namespace = entry.namespace
        try:
            instance, args, kwargs = pickle.loads(data, buffers=bufs)
            if extra:
                args = tuple(args) + extra
            if entry.method is None:
                fn = entry.owner
            else:
                fn = getattr(instance if instance is not None else entry.owner, entry.method)
                name = "%s.%s" % (entry.name, entry.method)
            if flags & _code.FLAG_CAPTURE:
                captured = io.StringIO()
                with contextlib.redirect_stdout(captured):
                    t0 = time.perf_counter()
                    result = fn(*args, **kwargs)
            else:
                t0 = time.perf_counter()
                result = fn(*args, **kwargs)
            seconds = time.perf_counter() - t0
            if node:
                out = _code.node_value_bytes(result)
            else:
                out = _code.encode_result(result, seconds,
                                          captured.getvalue() if captured is not None else None)
        finally:
            _code._ctx.namespace = None
        return _code.STATUS_OK, out
    except BaseException as exc:
        try:
            return _code.STATUS_RAISED, _report(
                exc, name, time.perf_counter() - t0 if t0 is not None else None,
                captured.getvalue() if captured is not None else None)
        except BaseException:
            return _code.STATUS_RAISED, pickle.dumps(
                {"type": "weft.WorkerError", "message": "the failure report could not be built",
                 "traceback": "", "hostname": "?", "pid": os.getpid(), "function": name,
                 "exception": None}, protocol=_code.PROTOCOL)
