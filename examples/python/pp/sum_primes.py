#!/usr/bin/env python3
"""sum_primes.py: Parallel Python's sum_primes example, in pp's API on weft.

Sums the primes below 100000, 100100, ..., 100700 (eight jobs, one per
bound), prints each sum through its job (job() waits for the result) and
the job server's statistics.

Usage: sum_primes.py [NCPUS [NODE ...]]
       NCPUS: local workers ("autodetect" when absent); NODE: weft nodes
       ("host:port", or "*" for discovery), pp's ppservers.

The program is written for pp: with `import pp` instead of the line below
it runs on Parallel Python.
"""
import math
import sys

import weft.pp as pp


def isprime(n):
    """True if n is a prime number (trial division by odd numbers)."""
    if not isinstance(n, int):
        raise TypeError("isprime expects an int, not %s" % type(n).__name__)
    if n < 2:
        return False
    if n == 2:
        return True
    if n % 2 == 0:
        return False
    top = int(math.sqrt(n))
    d = 3
    while d <= top:
        if n % d == 0:
            return False
        d += 2
    return True


def sum_primes(n):
    """The sum of the primes below n."""
    return sum(x for x in range(2, n) if isprime(x))


def main(argv):
    ncpus = int(argv[1]) if len(argv) > 1 else "autodetect"
    ppservers = tuple(argv[2:])
    job_server = pp.Server(ncpus, ppservers=ppservers)
    print("Starting pp with", job_server.get_ncpus(), "workers")

    # one job first: sum_primes travels with its helper isprime and the
    # module it uses
    job1 = job_server.submit(sum_primes, (100,), (isprime,), ("math",))
    print("Sum of primes below 100 is", job1())

    inputs = tuple(range(100000, 100800, 100))
    jobs = [(n, job_server.submit(sum_primes, (n,), (isprime,), ("math",))) for n in inputs]
    for n, job in jobs:
        print("Sum of primes below", n, "is", job())
    job_server.print_stats()
    job_server.destroy()
    print("sum_primes.py: done")


if __name__ == "__main__":
    main(sys.argv)
