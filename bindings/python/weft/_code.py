"""weft._code: the code and data that travel to Python worker processes
(parent side). The worker side is weft._worker.

A task goes to a worker as one payload (bytes): the function's *code*,
which the worker caches by content hash, and the call's *data* (the
arguments, pickled with protocol 5, large buffers out of band).

How a function travels (Encoder.encode picks the first that applies):

- by reference ("ref"): module name and qualified name, imported on the
  worker, when the function lives in a module that was imported (it has a
  __spec__), not in __main__, and its qualified name holds no "<locals>"
  or "<lambda>". Builtin functions and methods of importable classes too.
- by value with cloudpickle ("cp") when cloudpickle can be imported:
  functions of __main__, lambdas, closures, classes of __main__.
- by source ("src"), Parallel Python's way, when cloudpickle is missing:
  the dedented source text of the function (inspect.getsource), of each of
  `depfuncs` (functions or classes) and of the classes of __main__ that the
  arguments use, executed on the worker in one fresh namespace (its
  __name__ is "__main__") after the `modules` are imported into it.
  Closures and lambdas cannot travel this way (a clear TypeError says so).

A bound method (obj.method) travels as the code of its class plus the
method's name; the instance goes with the data, so that one class's code is
cached once for every instance. Other callables (functools.partial,
instances with __call__) are pickled whole as their code.

`modules` (names such as "math" or "os.path", pp's tuple) are imported on
the worker before the call and bound in the function's namespace under
their first component ("os.path" binds "os"), as pp's `import` does.
`globals` (pp's globals=globals()): every module found in the dict is
imported on the worker under the name it has there, and every function and
class of the dict defined in __main__ is added to depfuncs; other values
are ignored (pp's rule).

Code encoded once per function (with its depfuncs, modules and globals)
is remembered by the Encoder (at most ENCODER_CACHE entries, least recently
used dropped): a global of __main__ that a by-value function captured is
the value it had at the first submit.

Classes and functions of __main__ inside the data (instances of a class of
__main__ as arguments or results, exceptions of such classes) are pickled
by name and looked up on the other side in the task's namespace (on the
worker) or in __main__ (on the parent); they are added to the code so that
the worker defines them.

Payload layout (integers little-endian):

    b"WFT1"  u8 flags (1: code present)  3 zero bytes
    32 bytes SHA-256 of the code bytes
    u32 number of out-of-band buffers n
    u64 code length, u64 data length, n * u64 buffer lengths
    code bytes, data bytes, buffer 1 .. n

A status-0 result ("out") is the same without code and hash:

    b"WFR1"  u8 flags  3 zero bytes  u32 n  u64 data length
    f64 seconds the call ran on the worker  u32 output length
    n * u64 buffer lengths  output (UTF-8)  data  buffers

The output is what the call printed on sys.stdout when the payload asked
for it (payload flag 4, capture_output: pp printed a task's output on the
parent); empty otherwise.

Flag 2 ("foreign") says that some buffer came from a type's own protocol-5
reduction (numpy's) rather than from this module's.

Copies of large buffers (bytes, bytearray and memoryview values of at least
OOB_MIN bytes at the top level of the arguments, of the keyword arguments
or of a result, or directly inside a list, tuple or dict there; bytearray
and memoryview values anywhere; numpy arrays, whose pickling is protocol 5
aware, anywhere): pickling writes no copy of them; joining the payload
copies each once; the receiver reads them in place (a memoryview argument
is a read-only view into the received payload, no copy) and a bytes or
bytearray value is rebuilt with one copy (a bytes object owns its memory).
Smaller values, and bytes nested deeper, travel inside the pickle stream.

Lent memory: the worker's task hands run() a memoryview of bytes it frees
after the call, and the parent decodes replies the same way (mv.obj is
None). Nothing may view such memory after the call, so there a memoryview
value gets its own copy, and foreign buffers (numpy arrays) are copied
before unpickling; bytes and bytearray values are copies anyway.
"""

import collections
import hashlib
import inspect
import io
import pickle
import struct
import sys
import textwrap
import threading
import types

try:
    import cloudpickle as _cloudpickle
except ImportError:           # also when sys.modules["cloudpickle"] is None
    _cloudpickle = None

PROTOCOL = 5
OOB_MIN = 64 * 1024          # smaller buffers travel inside the pickle stream
ENCODER_CACHE = 1024         # encoded code entries an Encoder remembers
HASH_SIZE = 32

PAYLOAD_MAGIC = b"WFT1"
RESULT_MAGIC = b"WFR1"
_PHEAD = struct.Struct("<4sB3x32sIQQ")    # magic, flags, hash, nbuf, code len, data len
_RHEAD = struct.Struct("<4sB3xIQdI")      # magic, flags, nbuf, data len, run seconds,
                                          # output len
FLAG_CODE = 1
FLAG_FOREIGN = 2      # some buffer came from a type's own reduction (numpy)
FLAG_CAPTURE = 4      # payload: the worker captures what the call prints (pp's way)

STATUS_OK = 0
STATUS_RAISED = 1
STATUS_NEED_CODE = 2


def have_cloudpickle():
    """True when by-value code uses cloudpickle (else pp's source text)."""
    return _cloudpickle is not None


# ---------------------------------------------------------------------------
# Names of __main__ inside data

_ctx = threading.local()      # .namespace: the running task's namespace (worker)


def _main_object(qualname):
    """Unpickles a class or function of __main__ pickled by name: looked up
    in the namespace of the task this thread runs (on a worker), else in
    sys.modules["__main__"] (on the parent)."""
    ns = getattr(_ctx, "namespace", None)
    head, _, rest = qualname.partition(".")
    obj = None
    if ns is not None and head in ns:
        obj = ns[head]
    else:
        main = sys.modules.get("__main__")
        if main is not None and hasattr(main, head):
            obj = getattr(main, head)
    if obj is None:
        raise pickle.UnpicklingError(
            "weft: %r of __main__ is not defined here (pass it in depfuncs, or "
            "define it in an importable module)" % qualname)
    for part in rest.split(".") if rest else ():
        obj = getattr(obj, part)
    return obj


def _is_main_name(obj):
    """True for a class or plain function defined (as far as its module and
    qualified name say) at a reachable place of __main__."""
    return (getattr(obj, "__module__", None) == "__main__"
            and "<" not in getattr(obj, "__qualname__", "<"))


class _Big:
    """Marks a large bytes value for out-of-band pickling (bytes itself
    bypasses reducer_override)."""
    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __reduce_ex__(self, protocol):
        return (bytes, (pickle.PickleBuffer(self.obj),))


def _memoryview_restore(buf, fmt, shape):
    mv = memoryview(buf)
    if mv.obj is None:
        # lent memory (a worker's payload, a reply being decoded): valid only
        # during the call that received it, so the view gets its own copy
        mv = memoryview(bytes(mv))
    if fmt == "B" and len(shape) == 1:
        return mv
    return mv.cast("B").cast(fmt, shape)


def _mark_big(obj, depth=1):
    """obj with its large bytes values wrapped in _Big: obj itself, and
    the values inside lists, tuples and dicts (of at most 4096 items) down
    to `depth` levels; containers are rebuilt only where something
    changed."""
    t = type(obj)
    if t is bytes:
        return _Big(obj) if len(obj) >= OOB_MIN else obj
    if depth <= 0:
        return obj
    if t is tuple or t is list:
        if len(obj) > 4096:
            return obj
        new = [_mark_big(x, depth - 1) for x in obj]
        if any(a is not b for a, b in zip(new, obj)):
            return t(new)
        return obj
    if t is dict:
        if len(obj) > 4096:
            return obj
        new = {k: _mark_big(v, depth - 1) for k, v in obj.items()}
        if any(new[k] is not v for k, v in obj.items()):
            return new
    return obj


class _DataPickler(pickle.Pickler):
    """Protocol-5 pickler of arguments and results: large buffers out of
    band; classes and functions of __main__ by name (recorded in
    .main_names); bytearray and memoryview out of band."""

    def __init__(self, file, buffers):
        # buffers None: everything in band (code, reports). The callback
        # holds the list, not the pickler: no cycle keeps the PickleBuffers
        # (and the exports they hold) alive after the pickler goes.
        self.state = _BufState()
        super().__init__(file, protocol=PROTOCOL,
                         buffer_callback=_collector(buffers, self.state)
                         if buffers is not None else None)
        self._buffers = buffers
        self.main_names = []

    def _ours(self, obj):
        pb = pickle.PickleBuffer(obj)
        self.state.ours.add(id(pb))
        self.state.keep.append(pb)       # alive while pickling: ids stay unique
        return pb

    def reducer_override(self, obj):
        t = type(obj)
        if t is _Big:
            return (bytes, (self._ours(obj.obj),))
        if t is bytearray:
            if len(obj) >= OOB_MIN and self._buffers is not None:
                return (bytearray, (self._ours(obj),))
            return NotImplemented
        if t is memoryview:
            shape = obj.shape if obj.ndim else (1,)
            if obj.c_contiguous and obj.nbytes >= OOB_MIN and self._buffers is not None:
                return (_memoryview_restore, (self._ours(obj), obj.format, shape))
            return (_memoryview_restore, (obj.tobytes(), obj.format, shape))
        if (isinstance(obj, type) or t is types.FunctionType) and _is_main_name(obj):
            self.main_names.append(obj)
            return (_main_object, (obj.__qualname__,))
        return NotImplemented


class _BufState:
    """Which out-of-band buffers came from this module's own reductions
    (their receivers copy them, or view them knowingly) and whether any
    came from elsewhere (a type's own protocol-5 reduction, numpy's:
    "foreign", which a receiver of lent memory must copy)."""
    __slots__ = ("ours", "keep", "foreign")

    def __init__(self):
        self.ours = set()
        self.keep = []
        self.foreign = False


def _collector(buffers, state):
    def collect(pb):
        if pb.raw().nbytes < OOB_MIN:
            return True                      # in band
        if id(pb) not in state.ours:
            state.foreign = True
        buffers.append(pb)
        return False                         # out of band
    return collect


def _release(buffers):
    for pb in buffers:
        pb.release()


def _dumps_data(obj):
    """(data bytes, [PickleBuffer], [__main__ objects named], foreign
    buffers?) for obj.
    Falls back to cloudpickle for values plain pickle refuses (lambdas,
    local classes) when cloudpickle is there."""
    buffers = []
    f = io.BytesIO()
    p = _DataPickler(f, buffers)
    try:
        p.dump(_mark_big(obj))
        return f.getvalue(), buffers, p.main_names, p.state.foreign
    except (pickle.PicklingError, AttributeError, TypeError) as e:
        if _cloudpickle is None:
            raise pickle.PicklingError("weft: cannot pickle %s: %s" % (_describe(obj), e)) from e
        buffers = []
        try:
            data = _cloudpickle.dumps(obj, protocol=PROTOCOL,
                                      buffer_callback=_collector(buffers, _BufState()))
        except Exception as e2:
            raise pickle.PicklingError("weft: cannot pickle %s: %s" % (_describe(obj), e2)) \
                from e2
        return data, buffers, [], bool(buffers)


def _describe(obj):
    s = repr(obj)
    return s if len(s) <= 80 else s[:77] + "..."


def _frame_lengths(buffers):
    return [pb.raw().nbytes for pb in buffers]


def encode_result(value, seconds=0.0, output=None):
    """A status-0 "out": value pickled, large buffers framed after it, with
    the seconds the call ran and the text it printed (when captured). Used
    by the worker; here so that both sides share one format."""
    data, buffers, _, foreign = _dumps_data(_mark_big(value, 1))
    lens = _frame_lengths(buffers)
    text = output.encode("utf-8", "replace") if output else b""
    parts = [_RHEAD.pack(RESULT_MAGIC, FLAG_FOREIGN if foreign else 0, len(buffers), len(data),
                         float(seconds), len(text)),
             struct.pack("<%dQ" % len(lens), *lens), text, data]
    parts.extend(pb.raw() for pb in buffers)
    try:
        return b"".join(parts)
    finally:
        del parts
        _release(buffers)


def decode_result(out):
    """The value of a status-0 "out" (see encode_result)."""
    return decode_result_timed(out)[0]


def decode_result_timed(out):
    """(value, seconds the call ran, its printed text or None) of a
    status-0 "out"."""
    mv = memoryview(out)
    if len(mv) < _RHEAD.size:
        raise ValueError("weft: result too short (%d bytes)" % len(mv))
    magic, flags, nbuf, dlen, seconds, olen = _RHEAD.unpack_from(mv, 0)
    if magic != RESULT_MAGIC:
        raise ValueError("weft: not a weft result (magic %r)" % bytes(magic))
    pos = _RHEAD.size
    if pos + 8 * nbuf > len(mv):
        raise ValueError("weft: result length mismatch")
    lens = struct.unpack_from("<%dQ" % nbuf, mv, pos)
    pos += 8 * nbuf
    if pos + olen + dlen + sum(lens) != len(mv):
        raise ValueError("weft: result length mismatch")
    output = bytes(mv[pos:pos + olen]).decode("utf-8", "replace") if olen else None
    pos += olen
    data = mv[pos:pos + dlen]
    pos += dlen
    return pickle.loads(data, buffers=_buffers(mv, pos, lens, flags)), seconds, output


def _buffers(mv, pos, lens, flags):
    """The out-of-band buffers of a frame at pos: views into it, except
    foreign buffers of lent memory (mv.obj None: a memoryview the caller
    releases after the call), which are copied, since their consumer may
    keep a view."""
    copy = bool(flags & FLAG_FOREIGN) and mv.obj is None
    bufs = []
    for n in lens:
        b = mv[pos:pos + n]
        bufs.append(bytes(b) if copy else b)
        pos += n
    return bufs


def split_payload(payload):
    """(flags, hash, code memoryview or None, data memoryview, [buffer
    memoryviews]) of a payload; ValueError when it is malformed."""
    mv = memoryview(payload)
    if mv.ndim != 1 or mv.itemsize != 1:
        mv = mv.cast("B")
    if len(mv) < _PHEAD.size:
        raise ValueError("weft: payload too short (%d bytes)" % len(mv))
    magic, flags, h, nbuf, clen, dlen = _PHEAD.unpack_from(mv, 0)
    if magic != PAYLOAD_MAGIC:
        raise ValueError("weft: not a weft payload (magic %r)" % bytes(magic))
    pos = _PHEAD.size
    if pos + 8 * nbuf > len(mv):
        raise ValueError("weft: payload length mismatch")
    lens = struct.unpack_from("<%dQ" % nbuf, mv, pos)
    pos += 8 * nbuf
    if pos + clen + dlen + sum(lens) != len(mv):
        raise ValueError("weft: payload length mismatch")
    code = mv[pos:pos + clen] if flags & FLAG_CODE else None
    pos += clen
    data = mv[pos:pos + dlen]
    pos += dlen
    return flags, bytes(h), code, data, _buffers(mv, pos, lens, flags)


# ---------------------------------------------------------------------------
# Code

def _check_modules(modules):
    if isinstance(modules, str):
        raise TypeError("modules must be a tuple of module names, not a str "
                        "(write (%r,))" % modules)
    out = []
    for m in modules:
        if not isinstance(m, str):
            raise TypeError("modules must hold module names (str), not %s" % type(m).__name__)
        if not m or not all(part.isidentifier() for part in m.split(".")):
            raise ValueError("modules: %r is not a module name" % m)
        out.append((m.split(".")[0], m, True))    # bind the top package, as `import a.b`
    return out


def _globals_parts(g):
    """(modules [(bind name, module name, bind top)], depfuncs) taken from a
    globals dict, pp's rule: its modules, and its functions and classes."""
    if g is None:
        return [], []
    if not isinstance(g, dict):
        raise TypeError("globals must be a dict (such as globals()), not %s" % type(g).__name__)
    mods, deps = [], []
    for name, v in g.items():
        if name.startswith("__"):
            continue
        if isinstance(v, types.ModuleType):
            mods.append((name, v.__name__, False))
        elif (isinstance(v, type) or isinstance(v, types.FunctionType)) and _is_main_name(v):
            deps.append(v)
    return mods, deps


def _importable(obj):
    """(module name, qualified name) when obj can be imported by name on a
    worker that has the same modules installed, else None."""
    mod = getattr(obj, "__module__", None)
    qn = getattr(obj, "__qualname__", None)
    if not isinstance(mod, str) or not isinstance(qn, str) or mod == "__main__":
        return None
    if "<" in qn:
        return None
    m = sys.modules.get(mod)
    if m is None or (getattr(m, "__spec__", None) is None and mod != "builtins"):
        return None
    o = m
    for part in qn.split("."):
        o = getattr(o, part, None)
        if o is None:
            return None
    if o is not obj and not (isinstance(obj, types.BuiltinFunctionType) and o == obj):
        return None
    return mod, qn


def _source_of(obj):
    """The dedented source text of a function or class, with its file name
    and first line (for tracebacks on the worker)."""
    what = "class" if isinstance(obj, type) else "function"
    name = getattr(obj, "__qualname__", repr(obj))
    if isinstance(obj, types.FunctionType):
        if obj.__name__ == "<lambda>":
            raise TypeError("weft: lambda %s cannot travel by source (pp's way, used "
                            "because cloudpickle is not installed): use a def" % name)
        if obj.__code__.co_freevars:
            raise TypeError("weft: function %s is a closure (it uses %s of an enclosing "
                            "function); without cloudpickle it cannot travel by source: "
                            "make it a module-level function" % (
                                name, ", ".join(obj.__code__.co_freevars)))
    try:
        lines, first = inspect.getsourcelines(obj)
        fname = inspect.getsourcefile(obj) or "<unknown>"
    except (OSError, TypeError) as e:
        raise TypeError("weft: the source of %s %s is not available (%s); without "
                        "cloudpickle a function travels by its source text" % (what, name, e)) from e
    return (obj.__name__, textwrap.dedent("".join(lines)), fname, first)


class Task:
    """A function with pp's depfuncs, modules and globals attached, so that
    it can go through an API that passes only a callable (Runtime.submit):
    Encoder.encode(Task(fn, depfuncs, modules, globals), args, kwargs)
    encodes fn with them; capture_output=True: what the call prints on the
    worker comes back (see last_decoded). Calling a Task calls fn (on
    threads, where nothing travels)."""
    def __init__(self, fn, depfuncs=(), modules=(), globals=None, capture_output=False):
        if not callable(fn):
            raise TypeError("weft: the task must be callable, not %s" % type(fn).__name__)
        self.capture_output = bool(capture_output)
        self.fn = fn
        self.depfuncs = tuple(depfuncs)
        self.modules = modules
        self.globals = globals
        # the job's name in errors and statistics: the function's
        self.__qualname__ = getattr(fn, "__qualname__", None) or type(fn).__name__
        self.__name__ = getattr(fn, "__name__", None) or self.__qualname__

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self):
        return "<weft task %s>" % self.__qualname__


def last_decoded():
    """(node, seconds the call ran on its worker, captured output or None)
    of the last reply this thread decoded (Encoder.decode), or (None, None,
    None). The completion thread of a Runtime with processes decodes a
    job's reply and then completes that job (its callbacks run there), so a
    done callback of a remote job reads where and how long it ran here."""
    return (getattr(_ctx, "node", None), getattr(_ctx, "seconds", None),
            getattr(_ctx, "output", None))


def _callable_target(fn):
    """(owner, method name, instance) for a callable: owner is the function,
    the class (bound and class methods) or None; instance the object a
    bound method is bound to (None otherwise)."""
    if isinstance(fn, types.MethodType):
        target = fn.__self__
        name = fn.__func__.__name__
        if isinstance(target, type):               # classmethod
            return target, name, None
        return type(target), name, target
    return fn, None, None


class Encoder:
    """Encodes tasks for worker processes and decodes their replies. One per
    runtime; thread-safe.

    encode(fn, args, kwargs, depfuncs=(), modules=(), globals=None,
           include_code=False) -> (payload bytes, code hash bytes)
    decode(status, out, node) -> the result, or raises weft.TaskError
    confirm(code_hash, node): node now holds that code
    forget(code_hash, node): node lost it (its cache dropped it)
    needs_code(code_hash, live_nodes) -> True until every live node confirmed

    use_cloudpickle: None picks cloudpickle when importable; False forces
    pp's source text for by-value code (True without cloudpickle: ValueError).
    """

    def __init__(self, use_cloudpickle=None):
        if use_cloudpickle and _cloudpickle is None:
            raise ValueError("use_cloudpickle=True, but cloudpickle cannot be imported")
        self._cp = _cloudpickle if use_cloudpickle in (None, True) else None
        self._lock = threading.Lock()
        self._codes = collections.OrderedDict()   # key -> (code, hash, by ref?, globals)
        # hash -> set of nodes, and hash -> the callable's name (for errors):
        # bounded too (a forgotten confirmation only costs sending the code again)
        self._confirmed = collections.OrderedDict()
        self._names = collections.OrderedDict()

    # -- code ------------------------------------------------------------

    def _code_for(self, owner, method, depfuncs, modules, g, extra):
        """(code bytes, hash, by reference?) of a callable, remembered."""
        key = (owner, method, depfuncs, modules, id(g) if g is not None else None, extra)
        try:
            hash(key)
        except TypeError:           # an unhashable callable object: not remembered
            key = None
        with self._lock:
            hit = self._codes.get(key) if key is not None else None
            if hit is not None and hit[3] is g:
                self._codes.move_to_end(key)
                return hit[0], hit[1], hit[2]
        code, by_ref = self._make_code(owner, depfuncs, modules, g, extra)
        if method is not None:
            # the method's name is part of the code (and of its hash)
            code = pickle.dumps(("method", code, method), protocol=PROTOCOL)
        h = hashlib.sha256(code).digest()
        with self._lock:
            if key is not None:
                self._codes[key] = (code, h, by_ref, g)
                self._codes.move_to_end(key)
                while len(self._codes) > ENCODER_CACHE:
                    self._codes.popitem(last=False)
            self._names[h] = (getattr(owner, "__qualname__", None) or type(owner).__name__) + \
                ("." + method if method else "")
            self._names.move_to_end(h)
            while len(self._names) > 4 * ENCODER_CACHE:
                self._names.popitem(last=False)
        return code, h, by_ref

    def _make_code(self, owner, depfuncs, modules, g, extra):
        """(code bytes, True when by reference)."""
        mods = _check_modules(modules)
        gmods, gdeps = _globals_parts(g)
        mods += gmods
        deps = []
        for d in list(depfuncs) + gdeps + list(extra):
            if not (isinstance(d, type) or callable(d)):
                raise TypeError("depfuncs must hold functions and classes, not %s"
                                % type(d).__name__)
            if d is not owner and d not in deps:
                deps.append(d)
        ref = _importable(owner) if owner is not None else None
        if ref is not None and not any(_importable(d) is None for d in deps):
            return pickle.dumps(("ref", ref[0], ref[1], mods), protocol=PROTOCOL), True
        if not isinstance(owner, (type, types.FunctionType, types.BuiltinFunctionType)):
            # partial objects, callable instances: the object itself is the code
            if self._cp is not None:
                blob = self._cp.dumps((owner, deps), protocol=PROTOCOL)
                return pickle.dumps(("obj", True, blob, [], mods), protocol=PROTOCOL), False
            f = io.BytesIO()
            p = _DataPickler(f, None)
            p.dump(owner)
            srcs = [_source_of(d) for d in dict.fromkeys(deps + p.main_names)]
            return pickle.dumps(("obj", False, f.getvalue(), srcs, mods),
                                protocol=PROTOCOL), False
        if self._cp is not None:
            blob = self._cp.dumps((owner, deps), protocol=PROTOCOL)
            return pickle.dumps(("cp", self._cp.__version__, blob, mods),
                                protocol=PROTOCOL), False
        srcs = []
        refs = []
        for d in deps:
            r = _importable(d)
            if r is not None:
                refs.append((d.__name__, r[0], r[1]))
            else:
                srcs.append(_source_of(d))
        if ref is not None:
            refs.append((owner.__name__, ref[0], ref[1]))
            main = None
        else:
            main = _source_of(owner)
        return pickle.dumps(("src", main, srcs, refs, mods), protocol=PROTOCOL), False

    # -- tasks -----------------------------------------------------------

    def encode(self, fn, args=(), kwargs=None, depfuncs=(), modules=(), globals=None,
               include_code=False, capture_output=False):
        """(payload, code hash) for fn(*args, **kwargs); see the module
        docstring. TypeError for a non-callable fn or bad depfuncs/modules;
        pickle.PicklingError (naming the value) for arguments that cannot
        be pickled."""
        if isinstance(fn, Task):
            capture_output = capture_output or fn.capture_output
            depfuncs = fn.depfuncs + tuple(depfuncs)
            modules = tuple(fn.modules) + tuple(modules) if not isinstance(fn.modules, str) \
                else fn.modules
            globals = fn.globals if globals is None else globals
            fn = fn.fn
        if not callable(fn):
            raise TypeError("weft: the task must be callable, not %s" % type(fn).__name__)
        if not isinstance(args, tuple):
            if isinstance(args, list):
                args = tuple(args)
            else:
                raise TypeError("args must be a tuple, not %s" % type(args).__name__)
        if kwargs is None:
            kwargs = {}
        elif not isinstance(kwargs, dict):
            raise TypeError("kwargs must be a dict, not %s" % type(kwargs).__name__)
        if isinstance(depfuncs, (str, bytes)) or not hasattr(depfuncs, "__iter__"):
            raise TypeError("depfuncs must be a tuple of functions and classes")
        if isinstance(modules, bytes) or not hasattr(modules, "__iter__"):
            raise TypeError("modules must be a tuple of module names")
        _check_modules(modules)
        modules = tuple(modules)
        owner, method, instance = _callable_target(fn)
        data, buffers, main_names, foreign = _dumps_data((instance, _mark_big(args, 2),
                                                          _mark_big(kwargs, 2)))
        extra = tuple(o for o in dict.fromkeys(main_names) if o is not owner)
        code, h, by_ref = self._code_for(owner, method, tuple(depfuncs), tuple(modules),
                                         globals, extra)
        send = include_code or by_ref
        lens = _frame_lengths(buffers)
        flags = (FLAG_CODE if send else 0) | (FLAG_FOREIGN if foreign else 0) | \
            (FLAG_CAPTURE if capture_output else 0)
        parts = [_PHEAD.pack(PAYLOAD_MAGIC, flags, h, len(buffers),
                             len(code) if send else 0, len(data)),
                 struct.pack("<%dQ" % len(lens), *lens)]
        if send:
            parts.append(code)
        parts.append(data)
        parts.extend(pb.raw() for pb in buffers)
        try:
            return b"".join(parts), h
        finally:
            del parts
            _release(buffers)

    # -- replies ---------------------------------------------------------

    def decode(self, status, out, node):
        """The result of a reply (status, out) from node: status 0 gives the
        value; status 1 raises weft.TaskError carrying the remote exception;
        status 2 (the worker lacks the code: out is its hash) forgets that
        node's copy and raises weft.Error (ENOENT) — the caller resubmits
        with include_code=True instead of decoding such replies."""
        import weft
        _ctx.node = node
        _ctx.seconds = _ctx.output = None
        if status == STATUS_OK:
            value, _ctx.seconds, _ctx.output = decode_result_timed(out)
            return value
        if status == STATUS_RAISED:
            raise self._task_error(out, node)
        if status == STATUS_NEED_CODE:
            h = bytes(out)
            self.forget(h, node)
            raise weft.Error("weft: node %s lacks the code %s of %s (resubmit with "
                             "include_code=True)" % (node, h.hex()[:16],
                                                     self._names.get(h, "a task")),
                             weft.ENOENT)
        raise weft.Error("weft: unknown reply status %r from node %s" % (status, node),
                         weft.EPROTO if hasattr(weft, "EPROTO") else None)

    def _task_error(self, out, node):
        import weft
        try:
            rep = pickle.loads(out)
            if not isinstance(rep, dict):
                raise ValueError("not a dict")
        except Exception as e:
            return weft.TaskError("a task on node %s failed and its report could not be read "
                                  "(%s: %s)" % (node, type(e).__name__, e))
        exc = None
        _ctx.seconds = rep.get("seconds")
        _ctx.output = rep.get("output")
        if rep.get("exception") is not None:
            try:
                exc = decode_result(rep["exception"])
                if not isinstance(exc, BaseException):
                    exc = None
            except Exception:
                exc = None
        return remote_error(rep, node, exc)

    # -- code held by nodes ----------------------------------------------

    def confirm(self, code_hash, node):
        """Records that node now holds the code of code_hash."""
        h = bytes(code_hash)
        with self._lock:
            self._confirmed.setdefault(h, set()).add(node)
            self._confirmed.move_to_end(h)
            while len(self._confirmed) > 4 * ENCODER_CACHE:
                self._confirmed.popitem(last=False)

    def forget(self, code_hash, node):
        """Records that node no longer holds that code."""
        with self._lock:
            s = self._confirmed.get(bytes(code_hash))
            if s is not None:
                s.discard(node)

    def needs_code(self, code_hash, live_nodes):
        """True until every node of live_nodes confirmed code_hash."""
        with self._lock:
            s = self._confirmed.get(bytes(code_hash))
            if not s:
                return True
            return not all(n in s for n in live_nodes)


def remote_error(rep, node, exc):
    """The weft.TaskError for a worker's failure report rep (a dict: type,
    message, traceback, hostname, pid, function) from node. Attributes:
    .remote_type (the exception's qualified type name), .remote_message,
    .remote_traceback (== .traceback, the worker's traceback text),
    .remote_node (the weft node the task ran on, as the runtime names it),
    .hostname, .pid, .worker ("hostname pid N"), .node (the function's
    name, as for every job's TaskError), .exception (the original
    exception when it could be unpickled here, else None; also
    __cause__)."""
    import weft
    rtype = rep.get("type", "Exception")
    msg = rep.get("message", "")
    tb = rep.get("traceback", "")
    host = rep.get("hostname", "?")
    pid = rep.get("pid", 0)
    fname = rep.get("function", "task")
    worker = "%s pid %s" % (host, pid)
    text = "job %s raised %s: %s (node %s, worker %s)\nremote traceback:\n%s" % (
        fname, rtype, msg, node, worker, tb.rstrip("\n"))
    err = weft.TaskError(text, node=fname, exception=exc, traceback=tb)
    err.remote_type = rtype
    err.remote_message = msg
    err.remote_traceback = tb
    err.remote_node = node
    err.hostname = host
    err.pid = pid
    err.worker = worker
    if exc is not None:
        err.__cause__ = exc
    return err


# ---------------------------------------------------------------------------
# Graph nodes (Graph.add_remote; bindings/python/wpy_gnode.c)
#
# A remote graph node's argument: b"WFN1", u8 flags (GRAPH_INPUTS: the
# node is called with its inputs), 3 zero bytes, then the call's payload
# (always with its code). Its result bytes, and those of a Python node
# whose result such a node reads: node_value_bytes(value).

GRAPH_MAGIC = b"WFN1"
GRAPH_INPUTS = 1
_GHEAD = struct.Struct("<4sB3x")


def graph_payload(encoder, fn, args, inputs):
    """(argument bytes of a remote graph node running fn(*args, *inputs),
    True when its code travels by reference)."""
    payload, _ = encoder.encode(fn, args, {}, include_code=True)
    _, _, code, _, _ = split_payload(payload)
    return (_GHEAD.pack(GRAPH_MAGIC, GRAPH_INPUTS if inputs else 0) + payload,
            code_by_reference(bytes(code)))


def code_by_reference(code):
    """True when code bytes (Encoder's) name an importable function (or a
    method of an importable class) rather than carry it by value."""
    spec = pickle.loads(code)
    if spec[0] == "method":
        spec = pickle.loads(spec[1])
    return spec[0] == "ref"


def split_graph_payload(arg):
    """(flags, the call's payload as a memoryview) of a remote node's
    argument; ValueError when it is not one."""
    mv = memoryview(arg)
    if len(mv) < _GHEAD.size or bytes(mv[:4]) != GRAPH_MAGIC:
        raise ValueError("weft: not a graph node payload")
    return mv[4], mv[_GHEAD.size:]


def node_value_bytes(value):
    """A Python graph node's result bytes: a non-empty bytes value that does
    not begin with the result magic as it is (C successors read it as is);
    any other value as encode_result's frame."""
    if type(value) is bytes and value and not value.startswith(RESULT_MAGIC):
        return value
    return encode_result(value)


def node_value(data):
    """The value of a Python graph node's result bytes (node_value_bytes'
    inverse); None for none; other bytes (a C task's) as bytes."""
    if data is None:
        return None
    if bytes(data[:4]) == RESULT_MAGIC:
        return decode_result(data)
    return bytes(data)
