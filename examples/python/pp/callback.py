#!/usr/bin/env python3
"""callback.py: Parallel Python's callback example, in pp's API on weft.

Sums the alternating harmonic series 1 - 1/2 + 1/3 - ... over x in [1, N)
as PARTS jobs whose handles are not kept: each job's callback adds its
partial sum to one Sum object. Callbacks may run on several threads at
once, so Sum guards its value with a lock. wait() returns once every job
and its callback are done; the total is printed to 12 decimals (digits
that do not depend on the order the callbacks ran in).

Usage: callback.py [NCPUS [N [PARTS [NODE ...]]]]
       (defaults: autodetect, 20000000, 128)

Written for pp: with `import pp` instead of the line below it runs on
Parallel Python.
"""
import math
import sys
import threading

import weft.pp as pp


class Sum:
    """A total that callbacks add to, under a lock."""

    def __init__(self):
        self.value = 0.0
        self.count = 0
        self.lock = threading.Lock()

    def add(self, value):
        """The callback: pp passes the job's result last."""
        with self.lock:
            self.value += value
            self.count += 1


def part_sum(start, end):
    """The terms of the alternating harmonic series for x in [start, end)."""
    s = 0.0
    for x in range(start, end):
        if x % 2 == 0:
            s -= 1.0 / x
        else:
            s += 1.0 / x
    return s


def main(argv):
    ncpus = int(argv[1]) if len(argv) > 1 else "autodetect"
    n = int(argv[2]) if len(argv) > 2 else 20000000
    parts = int(argv[3]) if len(argv) > 3 else 128
    job_server = pp.Server(ncpus, ppservers=tuple(argv[4:]))
    print("Starting pp with", job_server.get_ncpus(), "workers")

    total = Sum()
    step = (n - 1) // parts + 1
    for i in range(parts):
        start = 1 + i * step
        end = min(n, start + step)
        job_server.submit(part_sum, (start, end), callback=total.add)
    job_server.wait()

    print("Partial sums added by callbacks: %d" % total.count)
    print("Sum: %.12f" % total.value)
    print("ln 2 - sum: %.3e" % (math.log(2) - total.value))
    job_server.print_stats()
    job_server.destroy()
    print("callback.py: done")


if __name__ == "__main__":
    main(sys.argv)
