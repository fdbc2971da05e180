"""Helper of test_code.py (not a test itself): runs as __main__, encodes
tasks whose functions and classes live in __main__ with weft._code, has a
separate worker process (python3 -c, whose __main__ defines none of them)
run them through weft._worker, decodes the replies and prints one
"name=value" line per scenario, which the test compares exactly.

Usage: code_main_prog.py [--no-cloudpickle] [--worker-exe PYTHON]
  --no-cloudpickle: sys.modules["cloudpickle"] = None before weft is
  imported, here and in the worker, so that code travels as pp's source.
  --worker-exe: the worker's interpreter (default: this one), e.g. another
  Python of the same ABI with another cloudpickle.
"""
import hashlib as hl
import math
import struct
import subprocess
import sys

NO_CP = "--no-cloudpickle" in sys.argv
WORKER_EXE = sys.argv[sys.argv.index("--worker-exe") + 1] if "--worker-exe" in sys.argv \
    else sys.executable
if NO_CP:
    sys.modules["cloudpickle"] = None

import weft                       # noqa: E402
from weft import _code           # noqa: E402

WORKER = r"""
import struct, sys
if sys.argv[1] == "1":
    sys.modules["cloudpickle"] = None
from weft import _worker
inp, out = sys.stdin.buffer, sys.stdout.buffer
while True:
    head = inp.read(8)
    if len(head) < 8:
        break
    (n,) = struct.unpack("<Q", head)
    payload = inp.read(n)
    status, res = _worker.run(payload)
    out.write(struct.pack("<BQ", status, len(res)))
    out.write(res)
    out.flush()
"""


class Worker:
    def __init__(self):
        self.p = subprocess.Popen([WORKER_EXE, "-c", WORKER, "1" if NO_CP else "0"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def run(self, payload):
        self.p.stdin.write(struct.pack("<Q", len(payload)))
        self.p.stdin.write(payload)
        self.p.stdin.flush()
        status, n = struct.unpack("<BQ", self.p.stdout.read(9))
        return status, self.p.stdout.read(n)

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


# ---- what travels ----

def isprime(n):
    if n < 2:
        return False
    for d in range(2, int(math.sqrt(n)) + 1):
        if n % d == 0:
            return False
    return True


def sum_primes(n):
    return sum(x for x in range(2, n) if isprime(x))


class Dual:
    def __init__(self, a, b):
        self.a = a
        self.b = b

    def scale(self, k):
        return Dual(self.a * k, self.b * k)

    @classmethod
    def unit(cls, a):
        return cls(a, 1)

    def __mul__(self, o):
        return Dual(self.a * o.a, self.a * o.b + self.b * o.a)


def mul(x, y):
    return x * y


class MyError(Exception):
    pass


def fails(x):
    raise MyError("bad value %d" % x)


def digest_helper(s):
    return hl.md5(s.encode()).hexdigest()


def uses_globals(s):
    return digest_helper(s)[:8]


def with_kwargs(a, b=2, *, c=3):
    return a * 100 + b * 10 + c


def has_cloudpickle():
    return sys.modules.get("cloudpickle") is not None


def big(n):
    return bytes(range(256)) * (n // 256)


def make_closure(k):
    def add(x):
        return x + k
    return add


def main():
    enc = _code.Encoder()
    w = Worker()
    lines = []

    def call(fn, args=(), kwargs=None, **kw):
        payload, h = enc.encode(fn, args, kwargs, **kw)
        status, out = w.run(payload)
        if status == _code.STATUS_NEED_CODE:
            assert out == h
            payload, h = enc.encode(fn, args, kwargs, include_code=True, **kw)
            status, out = w.run(payload)
        if status in (0, 1):
            enc.confirm(h, "w1")
        return enc.decode(status, out, "w1")

    def show(name, value):
        lines.append("%s=%s" % (name, value))

    show("mode", "cloudpickle" if _code.have_cloudpickle() else "source")
    show("worker_has_cloudpickle", call(has_cloudpickle, modules=("sys",)))
    show("sum_primes", call(sum_primes, (100,), depfuncs=(isprime,), modules=("math",)))
    d = call(Dual(2, 3).scale, (10,))
    show("method", "%s %s %d %d" % (type(d).__name__, type(d) is Dual, d.a, d.b))
    d = call(Dual.unit, (7,))
    show("classmethod", "%s %d %d" % (type(d) is Dual, d.a, d.b))
    d = call(mul, (Dual(1, 2), Dual(3, 4)))
    show("main_class_args", "%s %d %d" % (type(d) is Dual, d.a, d.b))
    show("kwargs", call(with_kwargs, (1,), {"c": 9}))
    show("globals", call(uses_globals, ("abc",), globals=globals()))
    # a second call of known code: no code sent, a cache hit
    payload, h = enc.encode(sum_primes, (50,), depfuncs=(isprime,), modules=("math",))
    show("cached_payload_has_code", bool(payload[4] & _code.FLAG_CODE))
    show("cached", enc.decode(*w.run(payload), "w1"))
    try:
        call(fails, (5,), depfuncs=(MyError,))
    except weft.TaskError as e:
        tb = e.remote_traceback
        show("error", "%s %s %r" % (e.remote_type, type(e.exception) is MyError,
                                    e.remote_message))
        show("error_traceback_names_raise_line",
             'raise MyError("bad value %d" % x)' in tb and "code_main_prog.py" in tb)
        show("error_pid_is_worker", e.pid == w.p.pid)
    r = call(big, (8 << 20,))
    show("big", "%d %s" % (len(r), hl.sha256(r).hexdigest()[:16]))
    try:
        show("closure", call(make_closure(5), (1,)))
    except TypeError as e:
        show("closure", "TypeError: %s" % ("is a closure" in str(e)))
    try:
        show("lambda", call(lambda x: x * 3, (2,)))
    except TypeError as e:
        show("lambda", "TypeError: %s" % ("lambda" in str(e)))
    w.close()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
