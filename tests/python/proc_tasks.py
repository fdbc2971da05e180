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
