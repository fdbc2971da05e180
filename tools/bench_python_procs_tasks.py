"""The tasks of bench_python_procs.py, in a module of their own so that
every contender's workers import them by reference."""


def tiny(i):
    return i + 1


def spin(n):
    s = 0
    for i in range(n):
        s += i & 7
    return s
