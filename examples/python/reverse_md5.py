#!/usr/bin/env python3
"""reverse_md5.py: Parallel Python's reverse_md5 example, on weft.

Finds the number whose decimal text has a given MD5 hash by trying
0 .. N-1, split into PARTS jobs. As soon as one job finds it, the jobs that
have not started yet are cancelled (job.cancel()), instead of running on
for nothing as in pp; concurrent.futures.as_completed() gives the jobs in
the order they finish.

Usage: reverse_md5.py [--processes P] [WORKERS [SECRET [N [PARTS]]]]
       (defaults: automatic, 1234567, 20000000, 128); --processes P: the
       jobs run in P worker processes, truly in parallel (a job already
       running in a process when the number is found runs to its end there,
       its result dropped).

Run from a build tree with PYTHONPATH=build/bindings/python. The same
search as examples/reverse_md5.c.
"""
import concurrent.futures
import hashlib
import sys

import weft


def md5test(target, start, end):
    """The x in [start, end) whose MD5 hex digest is target, or None."""
    for x in range(start, end):
        if hashlib.md5(str(x).encode()).hexdigest() == target:
            return x
    return None


def main(argv):
    processes = None
    if argv[1:2] == ["--processes"]:
        processes = int(argv[2])
        argv = argv[:1] + argv[3:]
    workers = int(argv[1]) if len(argv) > 1 else 0
    secret = int(argv[2]) if len(argv) > 2 else 1234567
    n = int(argv[3]) if len(argv) > 3 else 20000000
    parts = int(argv[4]) if len(argv) > 4 else 128
    target = hashlib.md5(str(secret).encode()).hexdigest()
    step = (n + parts - 1) // parts
    with weft.Runtime(workers, processes=processes) as rt:
        if processes:
            print("Starting weft with jobs in %d worker processes" % rt.processes)
        else:
            print("Starting weft with %d workers" % rt.workers)
        jobs = [rt.submit(md5test, target, i * step, min(n, (i + 1) * step))
                for i in range(parts)]
        answer = None
        for job in concurrent.futures.as_completed(jobs):
            if not job.cancelled() and job.result() is not None:
                answer = job.result()
                break
        cancelled = sum(1 for job in jobs if job.cancel())
        rt.wait()
        ran = sum(1 for job in jobs if not job.cancelled())
        if answer is None:
            print("Reverse md5 of %s: not found below %d" % (target, n))
        else:
            print("Reverse md5 of %s: %d" % (target, answer))
        print("parts: %d, run: %d, cancelled: %d" % (parts, ran, cancelled))
        rt.print_stats()
    print("reverse_md5.py: done")
    return 0 if answer == secret else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
