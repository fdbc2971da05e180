#!/usr/bin/env python3
"""pipeline.py: a weft graph of Python tasks with C tasks in it.

    limit (Python) ---------> sum primes (C) ---------\\
    squares (Python) --\\                              >--> report (Python)
                        >--> total (C, weft.sum) -----/
    words (Python) ----/

"limit" returns b"100000"; the C task weft.sum_primes reads it as its input
and stores the sum of the primes below it (ASCII), without the GIL.
"squares" and "words" return str results, which the C task weft.sum reads
as decimal numbers. "report" receives its predecessors' results as extra
arguments, in edge order. The graph runs three times (a graph is reusable);
the last run is recorded, then written as dot (coloured by status, with
times) and as a Chrome trace, and its statistics are printed.

Usage: pipeline.py [-o DIR] [-w WORKERS]
Run from a build tree with PYTHONPATH=build/bindings/python.
"""
import argparse
import json
import os

import weft

TEXT = """In the beginning was the graph, and the graph was without cycles.
Each node ran when its predecessors were done, and the workers stole."""


def limit(n):
    return str(n).encode()            # bytes: a C successor reads them


def sum_squares(n):
    return str(sum(i * i for i in range(n)))


def count_words(text):
    return str(len(text.split()))


def report(primes, total):
    # primes: bytes stored by the C task; total: bytes stored by weft.sum
    return {"primes": int(primes), "total": int(total)}


def main():
    ap = argparse.ArgumentParser(description="a graph of Python and C tasks")
    ap.add_argument("-o", "--out", default=".", help="directory for pipeline.dot and the trace")
    ap.add_argument("-w", "--workers", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    g = weft.Graph("pipeline")
    lim = g.add(limit, 100000, name="limit")
    primes = g.add_task(weft.SUM_PRIMES_TASK, name="sum primes (C)")
    squares = g.add(sum_squares, 1000, name="squares")
    words = g.add(count_words, TEXT, name="words")
    total = g.add_task(weft.SUM_TASK, name="total (C)")
    rep = g.add(report, name="report")
    lim >> primes >> rep
    [squares, words] >> total >> rep

    with weft.Runtime(a.workers) as rt:
        g.run(rt, times=2)                         # build once, run again and again
        run = g.run(rt, record=True, progress=True)
        r = run.result(rep)
        print("sum of primes below 100000 (C task): %d" % r["primes"])
        print("sum of squares below 1000 + words: %d" % r["total"])
        print("C task result bytes:", run.result(primes))
        c = run.counts()
        print("checked: %d nodes done, %d failed" % (c["done"], c["failed"]))
        dot_path = os.path.join(a.out, "pipeline.dot")
        trace_path = os.path.join(a.out, "pipeline.trace.json")
        g.dot(run, dot_path)
        run.trace(trace_path)
        with open(trace_path) as f:
            json.load(f)                           # it is JSON
        print("wrote", dot_path, "and", trace_path)
        run.print_stats()
    print("pipeline.py: done")


if __name__ == "__main__":
    main()
