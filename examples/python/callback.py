#!/usr/bin/env python3
"""callback.py: Parallel Python's callback example, with weft's own API:
jobs in worker processes, callbacks here.

Sums the alternating harmonic series 1 - 1/2 + 1/3 - ... over x in [1, N)
as PARTS jobs whose handles are not kept: each job's callback adds its
partial sum to one Sum object. The jobs run in worker processes; their
callbacks run in this process, on the runtime's completion thread, one at
a time, but Sum keeps its lock, as a callback of a thread runtime needs it.
rt.wait() returns once every job and its callback are done. weft calls
callback(result, *callbackargs) (pp's order is the reverse: see
examples/python/pp/callback.py).

Usage: callback.py [--nodes HOST:PORT,...] [PROCESSES [N [PARTS]]]   (defaults: 2, 20000000, 128)
"""
import math
import sys
import threading

import weft


class Sum:
    def __init__(self):
        self.value = 0.0
        self.count = 0
        self.lock = threading.Lock()

    def add(self, value):
        with self.lock:
            self.value += value
            self.count += 1


def part_sum(start, end):
    s = 0.0
    for x in range(start, end):
        if x % 2 == 0:
            s -= 1.0 / x
        else:
            s += 1.0 / x
    return s


def main(argv):
    nodes = None
    if argv[1:2] == ["--nodes"]:        # also weftd --python nodes (key: WEFT_SECRET_FILE)
        nodes = argv[2].split(",")
        argv = argv[:1] + argv[3:]
    procs = int(argv[1]) if len(argv) > 1 else 2
    n = int(argv[2]) if len(argv) > 2 else 20000000
    parts = int(argv[3]) if len(argv) > 3 else 128
    total = Sum()
    step = (n - 1) // parts + 1
    with weft.Runtime(processes=procs, nodes=nodes) as rt:
        print("Starting weft with jobs in %d worker processes%s" % (
            rt.processes, " and on %d nodes" % len(rt.nodes) if nodes else ""))
        for i in range(parts):
            start = 1 + i * step
            rt.submit(part_sum, start, min(n, start + step), callback=total.add)
        rt.wait()
        print("Partial sums added by callbacks: %d" % total.count)
        print("Sum: %.12f" % total.value)
        print("ln 2 - sum: %.3e" % (math.log(2) - total.value))
    print("callback.py: done")


if __name__ == "__main__":
    main(sys.argv)
