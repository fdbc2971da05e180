"""Tasks for the process tests (importable: they travel by reference)."""
import os
import time


def square(x):
    return x * x


def add(a, b=0, *, c=0):
    return a + b + c


def pid():
    return os.getpid()


def slow(x, s):
    time.sleep(s)
    return x


def boom(x):
    raise ValueError("boom %d" % x)


def die(code):
    os._exit(code)


def segfault():
    import ctypes
    ctypes.string_at(0)


def spin(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


def flaky(path, fails):
    """Raises the first `fails` times it runs (counted in the file path)."""
    n = 0
    if os.path.exists(path):
        with open(path) as f:
            n = int(f.read() or 0)
    with open(path, "w") as f:
        f.write(str(n + 1))
    if n < fails:
        raise RuntimeError("flaky run %d" % n)
    return n


def pid_of(_x):
    return os.getpid()
