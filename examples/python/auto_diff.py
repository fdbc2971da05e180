#!/usr/bin/env python3
"""auto_diff.py: Parallel Python's auto_diff example, with weft's own API:
methods of an instance run in worker processes.

Dual numbers (AD: a value and its derivative with respect to a parameter
t) integrate f(x, t) = 4 / (1 + (t x)^2) over [0, 1] by the midpoint rule
at t = 1: the value is pi, the derivative -(pi - 2), both in one pass. The
jobs are bound methods (calculator.calculate) of a class defined in this
script and return AD instances; the classes travel by value, the results
come back as this script's AD.

Usage: auto_diff.py [--nodes HOST:PORT,...] [PROCESSES [N [PARTS]]]   (defaults: 2, 1000000, 16)
"""
import math
import sys

import weft


class AD:
    """A dual number: value x, derivative dx."""

    def __init__(self, x, dx=0.0):
        self.x = x
        self.dx = dx

    @staticmethod
    def lift(v):
        return v if isinstance(v, AD) else AD(float(v), 0.0)

    def __add__(self, other):
        o = AD.lift(other)
        return AD(self.x + o.x, self.dx + o.dx)

    __radd__ = __add__

    def __mul__(self, other):
        o = AD.lift(other)
        return AD(self.x * o.x, self.dx * o.x + self.x * o.dx)

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = AD.lift(other)
        return AD(self.x / o.x, (self.dx * o.x - self.x * o.dx) / (o.x * o.x))

    def __rtruediv__(self, other):
        return AD.lift(other) / self


class PiCalculator:
    def __init__(self, n):
        self.n = n

    def calculate(self, start, end):
        """The midpoint sum over i in [start, end), as an AD number."""
        t = AD(1.0, 1.0)
        h = 1.0 / self.n
        total = AD(0.0, 0.0)
        for i in range(start, end):
            tx = t * ((i + 0.5) * h)
            total = total + 4.0 / (1.0 + tx * tx)
        return total * h


def main(argv):
    nodes = None
    if argv[1:2] == ["--nodes"]:        # also weftd --python nodes (key: WEFT_SECRET_FILE)
        nodes = argv[2].split(",")
        argv = argv[:1] + argv[3:]
    procs = int(argv[1]) if len(argv) > 1 else 2
    n = int(argv[2]) if len(argv) > 2 else 1000000
    parts = int(argv[3]) if len(argv) > 3 else 16
    calculator = PiCalculator(n)
    step = (n + parts - 1) // parts
    with weft.Runtime(processes=procs, nodes=nodes) as rt:
        print("Starting weft with jobs in %d worker processes%s" % (
            rt.processes, " and on %d nodes" % len(rt.nodes) if nodes else ""))
        jobs = [rt.submit(calculator.calculate, i * step, min(n, (i + 1) * step))
                for i in range(parts)]
        result = AD(0.0, 0.0)
        for job in jobs:
            result = result + job()
    print("result type:", type(result).__name__)
    print("pi      = %.10f (error %.1e)" % (result.x, result.x - math.pi))
    print("d pi/dt = %.10f (2 - pi = %.10f)" % (result.dx, 2.0 - math.pi))
    print("auto_diff.py: done")


if __name__ == "__main__":
    main(sys.argv)
