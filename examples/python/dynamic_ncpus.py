#!/usr/bin/env python3
"""dynamic_ncpus.py: Parallel Python's dynamic_ncpus example, with weft's
own API: jobs in worker processes.

Each round sums the alternating harmonic series 1 - 1/2 + 1/3 - ... over x
in [1, N) as PARTS jobs on a Runtime with a given number of worker
processes (1, 2, 4, then 1 again by default) and adds the partial sums in
submission order, so that every round gives the same number; it prints the
process count, the sum, its distance from ln 2 and the time the round took
(the processes' start included). A Runtime's process count is fixed, so
each round has its own; for threads, `rt.workers = n` changes the count of
one runtime while it runs (see examples/python/pp/dynamic_ncpus.py for pp's
set_ncpus).

Usage: dynamic_ncpus.py [N [PARTS [P,P,...]]]   (defaults: 20000000, 64, 1,2,4,1)
"""
import math
import sys
import time

import weft


def part_sum(start, end):
    """The terms of the series for x in [start, end), from low x up."""
    s = 0.0
    for x in range(start, end):
        if x % 2 == 0:
            s -= 1.0 / x
        else:
            s += 1.0 / x
    return s


def main(argv):
    n = int(argv[1]) if len(argv) > 1 else 20000000
    parts = int(argv[2]) if len(argv) > 2 else 64
    rounds = [int(c) for c in argv[3].split(",")] if len(argv) > 3 else [1, 2, 4, 1]
    step = (n - 1) // parts + 1
    slices = [(1 + i * step, min(n, 1 + (i + 1) * step)) for i in range(parts)]
    for procs in rounds:
        t0 = time.time()
        with weft.Runtime(processes=procs) as rt:
            jobs = [rt.submit(part_sum, a, b) for a, b in slices]
            total = 0.0
            for job in jobs:
                total += job()
            count = rt.processes
        print("processes: %d, partial sum: %.15f, ln 2 - sum: %.3e, time: %.3f s" % (
            count, total, math.log(2) - total, time.time() - t0))
    print("dynamic_ncpus.py: done")


if __name__ == "__main__":
    main(sys.argv)
