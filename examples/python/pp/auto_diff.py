#!/usr/bin/env python3
"""auto_diff.py: Parallel Python's auto_diff example, in pp's API on weft.

Automatic differentiation with dual numbers: an AD number carries a value
and its derivative with respect to one parameter t, and its arithmetic
applies the rules of differentiation. A PiCalculator integrates
f(x, t) = 4 / (1 + (t x)^2) over [0, 1] by the midpoint rule with N
points, at t = 1, in AD numbers: the value is pi and the derivative is
d/dt = -(pi - 2), both found in one pass.

The jobs are methods of an instance (calculator.calculate) of a class
defined in this script, and they return AD instances: both classes go to
the workers by value, and the results come back as AD numbers that are
added up here.

Usage: auto_diff.py [NCPUS [N [PARTS [NODE ...]]]]
       (defaults: autodetect, 1000000, 16)

Written for pp: with `import pp` instead of the line below it runs on
Parallel Python.
"""
import math
import sys

import weft.pp as pp


class AD:
    """A dual number: value x and derivative dx (with respect to t)."""

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

    def __sub__(self, other):
        o = AD.lift(other)
        return AD(self.x - o.x, self.dx - o.dx)

    def __rsub__(self, other):
        return AD.lift(other) - self

    def __mul__(self, other):
        o = AD.lift(other)
        return AD(self.x * o.x, self.dx * o.x + self.x * o.dx)

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = AD.lift(other)
        return AD(self.x / o.x, (self.dx * o.x - self.x * o.dx) / (o.x * o.x))

    def __rtruediv__(self, other):
        return AD.lift(other) / self

    def __repr__(self):
        return "AD(%r, %r)" % (self.x, self.dx)


class PiCalculator:
    """Integrates 4 / (1 + (t x)^2) for x in [0, 1] with n midpoints."""

    def __init__(self, n):
        self.n = n

    def calculate(self, start, end):
        """The sum over the midpoints i in [start, end), as an AD number."""
        t = AD(1.0, 1.0)               # the parameter: t = 1, dt/dt = 1
        h = 1.0 / self.n
        total = AD(0.0, 0.0)
        for i in range(start, end):
            x = (i + 0.5) * h
            tx = t * x
            total = total + 4.0 / (1.0 + tx * tx)
        return total * h


def main(argv):
    ncpus = int(argv[1]) if len(argv) > 1 else "autodetect"
    n = int(argv[2]) if len(argv) > 2 else 1000000
    parts = int(argv[3]) if len(argv) > 3 else 16
    job_server = pp.Server(ncpus, ppservers=tuple(argv[4:]))
    print("Starting pp with", job_server.get_ncpus(), "workers")

    calculator = PiCalculator(n)
    step = (n + parts - 1) // parts
    jobs = [job_server.submit(calculator.calculate, (i * step, min(n, (i + 1) * step)),
                              (AD,))
            for i in range(parts)]
    result = AD(0.0, 0.0)
    for job in jobs:
        result = result + job()
    print("result type:", type(result).__name__)
    print("pi      = %.10f (error %.1e)" % (result.x, result.x - math.pi))
    print("d pi/dt = %.10f (2 - pi = %.10f)" % (result.dx, 2.0 - math.pi))
    job_server.print_stats()
    job_server.destroy()
    print("auto_diff.py: done")


if __name__ == "__main__":
    main(sys.argv)
