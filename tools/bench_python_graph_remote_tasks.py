"""Node functions of bench_python_graph_remote.py (importable by the
workers: they travel by reference)."""

M = 1000003


def f(i, *inputs):
    return (i * 7919 + sum((k + 1) * x for k, x in enumerate(inputs))) % M


def spin(n, *inputs):
    s = 0
    for i in range(n):
        s += i * i
    return s % M
