"""weft._code and weft._worker: tasks encoded, run by the worker hook and
decoded (encode -> run -> decode), in this process and, for code that lives
in __main__, between two processes (code_main_prog.py), with and without
cloudpickle."""
import functools
import io
import os
import pickle
import socket
import struct
import subprocess
import sys
import threading
import unittest

import weft
from weft import _code, _worker

HERE = os.path.dirname(os.path.abspath(__file__))
PROG = os.path.join(HERE, "code_main_prog.py")


# ---- functions and classes of an importable module (this one) ----

def square(x):
    return x * x


def combine(a, b=2, *, c=3):
    return (a, b, c)


class Boom(Exception):
    pass


def explode(x):
    helper_raises(x)


def helper_raises(x):
    raise Boom("boom %d" % x)


class Unpicklable(Exception):
    def __init__(self, msg):
        super().__init__(msg)
        self.lock = threading.Lock()       # locks do not pickle


def raise_unpicklable():
    raise Unpicklable("holds a lock")


class Unloadable(Exception):
    """Pickles, but its reconstruction fails on the parent."""

    def __reduce__(self):
        return (_refuse, ("no",))


def _refuse(arg):
    raise RuntimeError("refused")


def raise_unloadable():
    raise Unloadable("x")


def describe(value):
    return (type(value).__name__, len(value), bool(getattr(value, "readonly", False)))


def chatty(x):
    print("hello", x)
    if x < 0:
        raise ValueError("negative")
    print("bye")
    return 2 * x


def uses_math_sqrt(x):
    import math
    return math.sqrt(x)


def make_big(n):
    return b"\xab" * n


def make_bytearray(n):
    return bytearray(b"\x01" * n)


KEPT = []


def keep(value):
    KEPT.append(value)
    return len(value)


def lent(data):
    """A memoryview of memory no Python object owns (mv.obj is None), as the
    C task hands the worker hook, with the ctypes buffer that holds it."""
    import ctypes
    buf = ctypes.create_string_buffer(data, len(data))
    f = ctypes.pythonapi.PyMemoryView_FromMemory
    f.restype = ctypes.py_object
    f.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int)
    mv = f(ctypes.addressof(buf), len(data), 0x100)      # PyBUF_READ
    assert mv.obj is None
    return mv, buf


def exits():
    sys.exit(3)


class Counter:
    def __init__(self, start):
        self.start = start

    def add(self, k):
        return self.start + k


class Adder:
    """A callable instance that is unhashable (it defines __eq__ only)."""

    def __init__(self, k):
        self.k = k

    def __eq__(self, other):
        return isinstance(other, Adder) and other.k == self.k

    def __call__(self, x):
        return x + self.k


def encode_run_decode(enc, fn, args=(), kwargs=None, node="n1", **kw):
    """One task: encode, run (sending the code if the worker asks), decode."""
    payload, h = enc.encode(fn, args, kwargs, **kw)
    status, out = _worker.run(payload)
    if status == _code.STATUS_NEED_CODE:
        payload, h = enc.encode(fn, args, kwargs, include_code=True, **kw)
        status, out = _worker.run(payload)
    return enc.decode(status, out, node)


def split_out(out):
    """(number of buffers, data length) of a status-0 reply."""
    _magic, _flags, nbuf, dlen, _s, _o = struct.unpack_from("<4sB3xIQdI", out, 0)
    return nbuf, dlen


class InProcessTest(unittest.TestCase):
    def setUp(self):
        _worker.clear_cache()
        self.enc = _code.Encoder()

    def test_by_reference_sends_its_small_code_always(self):
        payload, h = self.enc.encode(square, (7,), None)
        flags, h2, code, _data, bufs = _code.split_payload(payload)
        self.assertEqual(h, h2)
        self.assertEqual(len(h), 32)
        self.assertTrue(flags & _code.FLAG_CODE)
        self.assertEqual(pickle.loads(code)[:3], ("ref", "test_code", "square"))
        self.assertLess(len(payload), 200)
        self.assertEqual(bufs, [])
        status, out = _worker.run(payload)
        self.assertEqual(status, 0)
        value, seconds, output = _code.decode_result_timed(out)
        self.assertEqual(value, 49)
        self.assertIsNone(output)
        self.assertTrue(0.0 <= seconds < 1.0, seconds)
        self.assertEqual(self.enc.decode(*_worker.run(payload), "n1"), 49)
        # the same function: the same hash
        self.assertEqual(self.enc.encode(square, (8,), None)[1], h)

    def test_builtin_and_stdlib_functions_by_reference(self):
        import math
        self.assertEqual(encode_run_decode(self.enc, math.sqrt, (16.0,)), 4.0)
        self.assertEqual(encode_run_decode(self.enc, len, ([1, 2, 3],)), 3)
        self.assertEqual(encode_run_decode(self.enc, os.path.join, ("a", "b")), "a/b")

    def test_kwargs(self):
        self.assertEqual(encode_run_decode(self.enc, combine, (1,), {"c": 9}), (1, 2, 9))
        self.assertEqual(encode_run_decode(self.enc, combine, (1, 5)), (1, 5, 3))
        with self.assertRaises(weft.TaskError) as cm:
            encode_run_decode(self.enc, combine, (1,), {"d": 1})
        self.assertEqual(cm.exception.remote_type, "TypeError")
        self.assertIn("unexpected keyword argument 'd'", cm.exception.remote_message)

    def test_closure_and_lambda_by_cloudpickle(self):
        k = 41
        self.assertEqual(encode_run_decode(self.enc, lambda x: x + k, (1,)), 42)

        def local(x, y=1):
            return x * k + y
        self.assertEqual(encode_run_decode(self.enc, local, (2,), {"y": 0}), 82)
        code = pickle.loads(_code.split_payload(
            self.enc.encode(local, (1,), None, include_code=True)[0])[2])
        self.assertEqual(code[0], "cp")

    def test_bound_method_and_partial(self):
        self.assertEqual(encode_run_decode(self.enc, Counter(10).add, (5,)), 15)
        self.assertEqual(encode_run_decode(self.enc, Counter(20).add, (5,)), 25)
        # one class, one code: the instance travels with the data
        h1 = self.enc.encode(Counter(1).add, (0,), None)[1]
        h2 = self.enc.encode(Counter(2).add, (0,), None)[1]
        self.assertEqual(h1, h2)
        self.assertEqual(encode_run_decode(self.enc, functools.partial(combine, 7), (8,)),
                         (7, 8, 3))

    def test_captured_output(self):
        import contextlib
        here = io.StringIO()
        with contextlib.redirect_stdout(here):
            self.assertEqual(encode_run_decode(self.enc, chatty, (3,), capture_output=True), 6)
        self.assertEqual(here.getvalue(), "")                 # not printed by the worker
        self.assertEqual(_code.last_decoded()[2], "hello 3\nbye\n")
        with self.assertRaises(weft.TaskError):
            encode_run_decode(self.enc, chatty, (-1,), capture_output=True)
        self.assertEqual(_code.last_decoded()[2], "hello -1\n")
        # not asked: nothing captured
        with contextlib.redirect_stdout(here):
            self.assertEqual(encode_run_decode(self.enc, chatty, (1,)), 2)
        self.assertEqual(here.getvalue(), "hello 1\nbye\n")
        self.assertIsNone(_code.last_decoded()[2])

    def test_unhashable_callable_and_task_wrapper(self):
        self.assertEqual(encode_run_decode(self.enc, Adder(5), (1,)), 6)
        self.assertEqual(encode_run_decode(self.enc, Adder(7), (1,)), 8)
        t = _code.Task(uses_math_sqrt, (), ("math",))
        self.assertEqual(t(25.0), 5.0)                     # called here, on threads
        self.assertEqual((t.__name__, t.__qualname__), ("uses_math_sqrt", "uses_math_sqrt"))
        h1 = self.enc.encode(t, (4.0,), None)[1]
        h2 = self.enc.encode(uses_math_sqrt, (4.0,), None, modules=("math",))[1]
        self.assertEqual(h1, h2)
        self.assertEqual(encode_run_decode(self.enc, t, (16.0,)), 4.0)
        with self.assertRaises(TypeError):
            _code.Task(3)

    def test_exception_with_remote_traceback(self):
        with self.assertRaises(weft.TaskError) as cm:
            encode_run_decode(self.enc, explode, (7,), node="node-a")
        e = cm.exception
        self.assertEqual(e.remote_type, "test_code.Boom")
        self.assertEqual(e.remote_message, "boom 7")
        self.assertIs(type(e.exception), Boom)
        self.assertEqual(e.exception.args, ("boom 7",))
        self.assertIs(e.__cause__, e.exception)
        self.assertEqual(e.remote_node, "node-a")
        self.assertEqual(e.hostname, socket.gethostname())
        self.assertEqual(e.pid, os.getpid())
        self.assertEqual(e.worker, "%s pid %d" % (socket.gethostname(), os.getpid()))
        self.assertEqual(e.node, "explode")
        self.assertEqual(e.traceback, e.remote_traceback)
        tb = e.remote_traceback
        self.assertTrue(tb.startswith("Traceback (most recent call last):\n"), tb)
        self.assertIn("in explode\n    helper_raises(x)", tb)
        self.assertIn('raise Boom("boom %d" % x)', tb)
        self.assertTrue(tb.endswith("test_code.Boom: boom 7\n"), tb)
        self.assertNotIn("_worker.py", tb)
        node, seconds, _ = _code.last_decoded()
        self.assertEqual(node, "node-a")
        self.assertTrue(0.0 <= seconds < 1.0, seconds)
        s = str(e)
        self.assertTrue(s.startswith("job explode raised test_code.Boom: boom 7 (node node-a, "
                                     "worker %s pid %d)\nremote traceback:\n" % (
                                         socket.gethostname(), os.getpid())), s)
        self.assertIn("helper_raises", s)

    def test_unpicklable_exception(self):
        with self.assertRaises(weft.TaskError) as cm:
            encode_run_decode(self.enc, raise_unpicklable)
        e = cm.exception
        self.assertIsNone(e.exception)
        self.assertEqual(e.remote_type, "test_code.Unpicklable")
        self.assertEqual(e.remote_message, "holds a lock")
        self.assertIn("raise Unpicklable", e.remote_traceback)

    def test_exception_that_does_not_unpickle_here(self):
        with self.assertRaises(weft.TaskError) as cm:
            encode_run_decode(self.enc, raise_unloadable)
        self.assertIsNone(cm.exception.exception)
        self.assertEqual(cm.exception.remote_type, "test_code.Unloadable")

    def test_system_exit_is_reported_not_raised(self):
        with self.assertRaises(weft.TaskError) as cm:
            encode_run_decode(self.enc, exits)
        self.assertEqual(cm.exception.remote_type, "SystemExit")
        self.assertEqual(cm.exception.remote_message, "3")

    def test_unpicklable_result(self):
        with self.assertRaises(weft.TaskError) as cm:
            encode_run_decode(self.enc, threading.Lock)
        self.assertEqual(cm.exception.remote_type, "_pickle.PicklingError")
        self.assertIn("cannot pickle", cm.exception.remote_message)

    def test_unpicklable_argument_fails_at_encode(self):
        with self.assertRaises(pickle.PicklingError) as cm:
            self.enc.encode(square, (threading.Lock(),), None)
        self.assertIn("cannot pickle", str(cm.exception))

    def test_bad_arguments(self):
        with self.assertRaises(TypeError) as cm:
            self.enc.encode(42, (), None)
        self.assertEqual(str(cm.exception), "weft: the task must be callable, not int")
        with self.assertRaises(TypeError):
            self.enc.encode(square, 3, None)
        with self.assertRaises(TypeError):
            self.enc.encode(square, (1,), [1])
        with self.assertRaises(TypeError) as cm:
            self.enc.encode(square, (1,), None, modules="math")
        self.assertIn("not a str", str(cm.exception))
        with self.assertRaises(ValueError):
            self.enc.encode(square, (1,), None, modules=("no such",))

    def test_huge_bytes_result_out_of_band(self):
        n = 64 << 20
        payload, h = self.enc.encode(make_big, (n,), None)
        status, out = _worker.run(payload)
        self.assertEqual(status, 0)
        nbuf, dlen = split_out(out)
        self.assertEqual(nbuf, 1)                  # the bytes travel beside the pickle
        self.assertLess(dlen, 200)
        self.assertEqual(len(out), 32 + 8 + dlen + n)
        r = self.enc.decode(status, out, "n1")
        self.assertIs(type(r), bytes)
        self.assertEqual(len(r), n)
        self.assertEqual(r[:3] + r[-3:], b"\xab" * 6)
        r = encode_run_decode(self.enc, make_bytearray, (1 << 20,))
        self.assertIs(type(r), bytearray)
        self.assertEqual(r, bytearray(b"\x01" * (1 << 20)))

    def test_large_arguments_out_of_band(self):
        big = b"x" * (1 << 20)
        payload, _ = self.enc.encode(describe, (big,), None)
        _f, _h, _c, data, bufs = _code.split_payload(payload)
        self.assertEqual(len(bufs), 1)
        self.assertLess(len(data), 300)
        self.assertEqual(encode_run_decode(self.enc, describe, (big,)), ("bytes", 1 << 20, False))
        self.assertEqual(encode_run_decode(self.enc, describe, (bytearray(big),)),
                         ("bytearray", 1 << 20, False))
        # a memoryview arrives as a read-only view into the payload
        self.assertEqual(encode_run_decode(self.enc, describe, (memoryview(big),)),
                         ("memoryview", 1 << 20, True))
        # in a list, and as a keyword argument
        self.assertEqual(encode_run_decode(self.enc, len, ([big, big, b"s"],)), 3)
        payload, _ = self.enc.encode(combine, (1,), {"b": big})
        self.assertEqual(len(_code.split_payload(payload)[4]), 1)
        # small values stay in band
        payload, _ = self.enc.encode(describe, (b"small",), None)
        self.assertEqual(_code.split_payload(payload)[4], [])
        mv = memoryview(bytearray(range(12))).cast("i", (3,))
        self.assertEqual(encode_run_decode(self.enc, list, (mv,)), mv.tolist())

    def test_lent_memory_is_never_viewed_after_the_call(self):
        import ctypes
        big = b"q" * (1 << 20)
        payload, _ = self.enc.encode(keep, (memoryview(big),), None)
        mv, buf = lent(payload)
        del KEPT[:]
        status, out = _worker.run(mv)
        mv.release()
        self.assertEqual(self.enc.decode(status, out, "n"), 1 << 20)
        ctypes.memset(buf, 0, len(payload))        # the C side reuses the memory
        self.assertEqual(KEPT[0].obj is None, False)
        self.assertEqual(bytes(KEPT[0][:4]), b"qqqq")
        del KEPT[:]
        # a memoryview result decoded from lent memory: its own copy
        out = _code.encode_result(memoryview(big))
        mv, buf = lent(out)
        r = self.enc.decode(0, mv, "n")
        mv.release()
        ctypes.memset(buf, 0, len(out))
        self.assertEqual(bytes(r[-4:]), b"qqqq")
        # from owned memory it stays a view, no copy
        r = self.enc.decode(0, out, "n")
        self.assertIs(r.obj, out)

    def test_code_cache_miss_hit_and_needs_code(self):
        fn = lambda x: x * 2        # noqa: E731 -- by value: its code is not sent unasked
        payload, h = self.enc.encode(fn, (4,), None)
        self.assertFalse(_code.split_payload(payload)[0] & _code.FLAG_CODE)
        self.assertEqual(_worker.run(payload), (2, h))
        self.assertTrue(self.enc.needs_code(h, ["a"]))
        with self.assertRaises(weft.Error) as cm:
            self.enc.decode(2, h, "a")
        self.assertEqual(cm.exception.code, weft.ENOENT)
        self.assertIn("node a lacks the code", str(cm.exception))
        payload, h2 = self.enc.encode(fn, (4,), None, include_code=True)
        self.assertEqual(h2, h)
        st, out = _worker.run(payload)
        self.assertEqual((st, self.enc.decode(st, out, "a")), (0, 8))
        self.enc.confirm(h, "a")
        self.assertFalse(self.enc.needs_code(h, ["a"]))
        self.assertTrue(self.enc.needs_code(h, ["a", "b"]))
        payload, _ = self.enc.encode(fn, (5,), None)
        self.assertEqual(self.enc.decode(*_worker.run(payload), "a"), 10)
        info = _worker.cache_info()
        self.assertEqual((info["hits"], info["misses"], info["loads"], info["size"]), (1, 2, 1, 1))
        self.assertEqual(info["capacity"], _worker.CACHE_SIZE)
        self.enc.forget(h, "a")
        self.assertTrue(self.enc.needs_code(h, ["a"]))

    def test_cache_evicts_least_recently_used(self):
        old = _worker.CACHE_SIZE
        _worker.CACHE_SIZE = 2
        try:
            fns = [eval("lambda x: x + %d" % i) for i in range(3)]
            hashes = []
            for f in fns:
                payload, h = self.enc.encode(f, (0,), None, include_code=True)
                self.assertEqual(_worker.run(payload)[0], 0)
                hashes.append(h)
            self.assertEqual(_worker.cache_info()["evictions"], 1)
            # the first was evicted: the worker asks for it again
            self.assertEqual(_worker.run(self.enc.encode(fns[0], (0,), None)[0]), (2, hashes[0]))
            self.assertEqual(self.enc.decode(*_worker.run(
                self.enc.encode(fns[2], (1,), None)[0]), "n"), 3)
        finally:
            _worker.CACHE_SIZE = old

    def test_malformed_payloads_report_not_raise(self):
        good, h = self.enc.encode(square, (3,), None)
        for bad in (b"", b"WFT1", b"nope" * 20, good[:-1], good + b"x",
                    good[:4] + b"\x01" + good[5:40] + b"\xff\xff\xff\xff" + good[44:]):
            status, out = _worker.run(bad)
            self.assertEqual(status, 1)
            rep = pickle.loads(out)
            self.assertEqual(rep["type"], "ValueError", rep)
        # code that does not match its hash
        flags, h, code, data, bufs = _code.split_payload(good)
        tampered = bytearray(good)
        tampered[-len(data) - 5] ^= 1
        status, out = _worker.run(bytes(tampered))
        self.assertEqual(status, 1)
        self.assertIn(pickle.loads(out)["message"],
                      ("weft: the payload's code does not match its hash",))

    def test_unknown_status(self):
        with self.assertRaises(weft.Error) as cm:
            self.enc.decode(7, b"", "n")
        self.assertIn("unknown reply status 7 from node n", str(cm.exception))

    def test_source_mode_forced_in_process(self):
        # functions of this module travel by reference even without cloudpickle
        enc = _code.Encoder(use_cloudpickle=False)
        self.assertEqual(encode_run_decode(enc, square, (9,)), 81)

        k = len(HERE)

        def closure(x):
            return x + k
        with self.assertRaises(TypeError) as cm:
            enc.encode(closure, (1,), None)
        self.assertIn("is a closure", str(cm.exception))


class TwoProcessTest(unittest.TestCase):
    """Code of __main__ between a parent and a separate worker process."""

    EXPECTED_COMMON = [
        "sum_primes=1060",
        "method=Dual True 20 30",
        "classmethod=True 7 1",
        "main_class_args=True 3 10",
        "kwargs=129",
        "globals=90015098",
        "cached_payload_has_code=False",
        "cached=328",
        "error=MyError True 'bad value 5'",
        "error_traceback_names_raise_line=True",
        "error_pid_is_worker=True",
        "big=8388608 %s" % __import__("hashlib").sha256(
            bytes(range(256)) * ((8 << 20) // 256)).hexdigest()[:16],
    ]

    def run_prog(self, *args):
        p = subprocess.run([sys.executable, PROG] + list(args), capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.splitlines()

    def test_with_cloudpickle(self):
        self.assertEqual(self.run_prog(), ["mode=cloudpickle", "worker_has_cloudpickle=True"] +
                         self.EXPECTED_COMMON + ["closure=6", "lambda=6"])

    def test_without_cloudpickle_pp_source(self):
        self.assertEqual(self.run_prog("--no-cloudpickle"),
                         ["mode=source", "worker_has_cloudpickle=False"] +
                         self.EXPECTED_COMMON +
                         ["closure=TypeError: True", "lambda=TypeError: True"])


def other_python():
    """Another interpreter of this ABI (Debian's /usr/bin/python3 beside a
    pyenv one, say) that can import weft and cloudpickle, or None."""
    exe = "/usr/bin/python3"
    if not os.path.exists(exe) or os.path.realpath(exe) == os.path.realpath(sys.executable):
        return None
    import sysconfig
    p = subprocess.run([exe, "-c", "import sysconfig, cloudpickle, weft; "
                        "print(sysconfig.get_config_var('SOABI'), cloudpickle.__version__)"],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0 or p.stdout.split()[:1] != [sysconfig.get_config_var("SOABI")]:
        return None
    return exe


class OtherInterpreterTest(TwoProcessTest):
    """The worker is another interpreter of the same ABI, with its own
    cloudpickle (a weftd --python-exe that is not the client's Python)."""

    def setUp(self):
        self.exe = other_python()
        if self.exe is None:
            self.skipTest("no other Python of this ABI with weft and cloudpickle")

    def run_prog(self, *args):
        return TwoProcessTest.run_prog(self, *(args + ("--worker-exe", self.exe)))

if __name__ == "__main__":
    unittest.main()
