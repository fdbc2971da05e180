"""Functions for test_graph_remote (importable: they travel by reference,
and graph files name them)."""
import os
import time

M = 1000003


def f(i, *inputs):
    """A deterministic function of its argument and inputs."""
    return (i * 7919 + sum((k + 1) * x for k, x in enumerate(inputs))) % M


def as_bytes(*inputs):
    return str(sum(inputs)).encode()


def from_bytes(b, *inputs):
    return int(b) + sum(int(x) for x in inputs)


def echo(*inputs):
    return inputs


def boom(*inputs):
    raise ValueError("boom after %r" % (inputs,))


def slow(s, *inputs):
    time.sleep(s)
    return 1


def pid(*inputs):
    return os.getpid()


def die(*inputs):
    os._exit(3)
