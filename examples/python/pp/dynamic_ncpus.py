#!/usr/bin/env python3
"""dynamic_ncpus.py: Parallel Python's dynamic_ncpus example, in pp's API
on weft.

One job server; before each round the number of workers is changed with
set_ncpus (1, 2, 4, then back to 1 by default). Each round sums the
alternating harmonic series 1 - 1/2 + 1/3 - ... over x in [1, N) as PARTS
jobs and adds the partial sums in submission order, so every round gives
the same number; it prints the worker count, the sum, its distance from
ln 2 and the time the round took.

Usage: dynamic_ncpus.py [N [PARTS [NCPUS,NCPUS,...]]]
       (defaults: 20000000, 64, 1,2,4,1)

Written for pp: with `import pp` instead of the line below it runs on
Parallel Python.
"""
import math
import sys
import time

import weft.pp as pp


def part_sum(start, end):
    """1/start - ... : the terms of the alternating harmonic series for x in
    [start, end), +1/x for odd x, -1/x for even x, added from low x up."""
    s = 0.0
    for x in range(start, end):
        if x % 2 == 0:
            s -= 1.0 / x
        else:
            s += 1.0 / x
    return s


def run_round(job_server, n, parts):
    step = (n - 1) // parts + 1
    jobs = []
    for i in range(parts):
        start = 1 + i * step
        end = min(n, start + step)
        jobs.append(job_server.submit(part_sum, (start, end)))
    total = 0.0
    for job in jobs:
        total += job()
    return total


def main(argv):
    n = int(argv[1]) if len(argv) > 1 else 20000000
    parts = int(argv[2]) if len(argv) > 2 else 64
    rounds = [int(c) for c in argv[3].split(",")] if len(argv) > 3 else [1, 2, 4, 1]
    job_server = pp.Server(rounds[0])
    for ncpus in rounds:
        job_server.set_ncpus(ncpus)
        t0 = time.time()
        total = run_round(job_server, n, parts)
        print("ncpus: %d, partial sum: %.15f, ln 2 - sum: %.3e, time: %.3f s" % (
            job_server.get_ncpus(), total, math.log(2) - total, time.time() - t0))
    job_server.print_stats()
    job_server.destroy()
    print("dynamic_ncpus.py: done")


if __name__ == "__main__":
    main(sys.argv)
