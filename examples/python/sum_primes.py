#!/usr/bin/env python3
"""sum_primes.py: Parallel Python's sum_primes example, on weft.

Computes the sums of the primes below 100000, 100100, ..., 100700 as eight
jobs, prints each result through its job handle (job() waits and returns
the result, as in pp), adds the results up in a callback, and prints the
runtime's statistics (pp's print_stats).

Usage: sum_primes.py [--processes N] [--nodes HOST:PORT,...] [WORKERS]
       WORKERS: threads (0 or absent: automatic); --processes N: the jobs
       run in N worker processes instead, truly in parallel (the function
       travels by value, since it lives in __main__); --nodes: also on
       weftd nodes started with --python (the key: WEFT_SECRET_FILE).

Run from a build tree with PYTHONPATH=build/bindings/python. The same sums
as examples/sum_primes.c.
"""
import math
import sys
import threading

import weft


def isprime(n):
    """True if n is prime (trial division, as pp's example)."""
    if not isinstance(n, int):
        raise TypeError("argument passed to isprime is not of 'int' type")
    if n < 2:
        return False
    if n == 2:
        return True
    if n % 2 == 0:
        return False
    limit = math.isqrt(n)
    i = 3
    while i <= limit:
        if n % i == 0:
            return False
        i += 2
    return True


def sum_primes(n):
    """The sum of the primes below n."""
    return sum(x for x in range(2, n) if isprime(x))


class Total:
    """Adds results up in a callback; callbacks run on worker threads."""

    def __init__(self):
        self.value = 0
        self.lock = threading.Lock()

    def add(self, result, label):
        with self.lock:
            self.value += result
        assert label == "sum"


def main():
    argv = sys.argv[1:]
    processes, nodes = None, None
    while argv[:1] in (["--processes"], ["--nodes"]):
        if argv[0] == "--processes":
            processes = int(argv[1])
        else:
            nodes = argv[1].split(",")
        argv = argv[2:]
    workers = int(argv[0]) if argv else 0
    total = Total()
    with weft.Runtime(workers, processes=processes, nodes=nodes) as rt:
        if nodes:
            print("Starting weft with jobs in", rt.processes, "worker processes and on",
                  len(rt.nodes), "nodes")
        elif processes:
            print("Starting weft with jobs in", rt.processes, "worker processes")
        else:
            print("Starting weft with", rt.workers, "workers")
        inputs = range(100000, 100800, 100)
        jobs = [(n, rt.submit(sum_primes, n, callback=total.add, callbackargs=("sum",)))
                for n in inputs]
        for n, job in jobs:
            print("Sum of primes below", n, "is", job())
        rt.wait()
        print("Total of the sums (callback):", total.value)
        rt.print_stats()
    print("sum_primes.py: done")


if __name__ == "__main__":
    main()
