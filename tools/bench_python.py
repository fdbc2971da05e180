#!/usr/bin/env python3
"""bench_python: tiny Python tasks on weft against concurrent.futures.

Submits N tiny tasks (x + 1), then collects every result in order, on a
weft.Runtime and on a ThreadPoolExecutor with the same number of threads,
side by side in one process, interleaved; each figure is the median of
--reps repetitions. Two measurements per thread count, one key=value line
each, like weft's C benchmarks:

  bench=python_tiny ...          submit all, then job() / future.result()
                                 in order (a weft job that no worker took
                                 yet is run by the waiting thread itself)
  bench=python_tiny_workers ...  submit all into a group, wait for the group
                                 (weft: a group wait never runs jobs, so the
                                 workers run all of them; TPE: futures.wait),
                                 then read the results

  bench=python_tiny n=100000 threads=2 weft_s=0.041 tpe_s=1.210 tpe_weft=29.5

tpe_weft is tpe_s / weft_s: weft's throughput as a multiple of
ThreadPoolExecutor's. Every result is checked. Run with the build tree on
PYTHONPATH:

  PYTHONPATH=build/bindings/python python3 tools/bench_python.py --threads 1,2
"""
import argparse
import concurrent.futures
import statistics
import sys
import time

import weft


def tiny(x):
    return x + 1


def run_weft(rt, n):
    submit = rt.submit
    t0 = time.perf_counter()
    jobs = [submit(tiny, i) for i in range(n)]
    results = [job() for job in jobs]
    t = time.perf_counter() - t0
    return t, results


def run_weft_workers(rt, n):
    # group waits never run jobs themselves: the workers run all of them
    submit = rt.submit
    t0 = time.perf_counter()
    jobs = [submit(tiny, i, group="bench") for i in range(n)]
    rt.wait("bench")
    results = [job() for job in jobs]
    t = time.perf_counter() - t0
    return t, results


def run_tpe_wait(ex, n):
    submit = ex.submit
    t0 = time.perf_counter()
    futs = [submit(tiny, i) for i in range(n)]
    concurrent.futures.wait(futs)
    results = [f.result() for f in futs]
    t = time.perf_counter() - t0
    return t, results


def run_tpe(ex, n):
    submit = ex.submit
    t0 = time.perf_counter()
    futs = [submit(tiny, i) for i in range(n)]
    results = [f.result() for f in futs]
    t = time.perf_counter() - t0
    return t, results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100000, help="tasks per repetition (100000)")
    ap.add_argument("--reps", type=int, default=5, help="repetitions, median taken (5)")
    ap.add_argument("--threads", default="2", help="comma-separated thread counts (2)")
    a = ap.parse_args()
    expect = list(range(1, a.n + 1))
    modes = [("python_tiny", run_weft, run_tpe),
             ("python_tiny_workers", run_weft_workers, run_tpe_wait)]
    for threads in [int(t) for t in a.threads.split(",")]:
        for bench, weft_fn, tpe_fn in modes:
            tw, tt = [], []
            with weft.Runtime(threads) as rt, \
                    concurrent.futures.ThreadPoolExecutor(max_workers=threads) as ex:
                weft_fn(rt, min(a.n, 1000))         # warm-up: threads started
                tpe_fn(ex, min(a.n, 1000))
                for _ in range(a.reps):             # interleaved: same noise for both
                    t, r = weft_fn(rt, a.n)
                    if r != expect:
                        sys.exit("bench_python: error: weft results are wrong")
                    tw.append(t)
                    t, r = tpe_fn(ex, a.n)
                    if r != expect:
                        sys.exit("bench_python: error: ThreadPoolExecutor results are wrong")
                    tt.append(t)
            w, p = statistics.median(tw), statistics.median(tt)
            print("bench=%s n=%d threads=%d weft_s=%.4f tpe_s=%.4f tpe_weft=%.1f"
                  % (bench, a.n, threads, w, p, p / w), flush=True)


if __name__ == "__main__":
    main()
