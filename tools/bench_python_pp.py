#!/usr/bin/env python3
"""bench_python_pp.py: Parallel Python's sum_primes and callback programs,
serial, on weft worker processes and on multiprocessing.Pool, in one run.

- sum_primes x8: the sums of the primes below 100000, 100100, ...,
  100700, one job each (pp's sum_primes example).
- callback: the alternating harmonic series over [1, N) as PARTS jobs whose
  callbacks add the partial sums up under a lock (pp's callback example).

Each is timed serially (plain calls in this process), with
weft.Runtime(processes=P) (submit, then job() or rt.wait()), and with
multiprocessing.Pool(P) (apply_async, then get() or wait()); the runtime
and the pool are started before the timing (their start is reported
apart), and one warm-up round runs first, so that the times are those of a
program that submits work to a running server. The median of REPS
repetitions is printed as key=value lines, then the ratios
serial/weft and pool/weft (above 1: weft is faster). The three are run in
turn within each repetition, so that other load on the machine weighs on
them alike; the 1-minute load average before and after is printed too,
and the `cpu=` lines give the median CPU seconds the worker processes
used per run (serial: this process), which load from other programs does
not inflate: on a busy machine they show the work each way costs when the
wall-clock ratios cannot.

Parallel Python itself (the ppft package) is not installed on the build
machine; the line `ppft=...` says whether it was found, and it is not
timed.

Usage: bench_python_pp.py [--reps R] [--procs P] [--n N] [--parts K] [--quick]
       --quick: small sizes for a smoke test (the figures mean nothing then).
"""
import argparse
import importlib.util
import math
import multiprocessing
import os
import statistics
import sys
import threading
import time

import weft


def isprime(n):
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    top = int(math.sqrt(n))
    d = 3
    while d <= top:
        if n % d == 0:
            return False
        d += 2
    return True


def sum_primes(n):
    return sum(x for x in range(2, n) if isprime(x))


def part_sum(start, end):
    s = 0.0
    for x in range(start, end):
        if x % 2 == 0:
            s -= 1.0 / x
        else:
            s += 1.0 / x
    return s


class Sum:
    def __init__(self):
        self.value = 0.0
        self.lock = threading.Lock()

    def add(self, v):
        with self.lock:
            self.value += v


def cpu_seconds(pids):
    """User + system CPU seconds used so far by the processes pids (Linux
    /proc; None elsewhere)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def median_times(fns, reps):
    """[(median seconds, median CPU seconds of its processes, last output)]
    of each (fn, pids) of fns, run in turn within each repetition (serial,
    weft, pool, serial, ...), so that a load that comes and goes on the
    machine falls on all of them alike. The CPU seconds are those the
    processes in pids used during the run (this process's own for the
    serial run), which other load on the machine does not inflate."""
    times = [[] for _ in fns]
    cpus = [[] for _ in fns]
    outs = [None] * len(fns)
    for _ in range(reps):
        for i, (fn, pids) in enumerate(fns):
            c0 = cpu_seconds(pids)
            t0 = time.perf_counter()
            outs[i] = fn()
            times[i].append(time.perf_counter() - t0)
            c1 = cpu_seconds(pids)
            if c0 is not None and c1 is not None:
                cpus[i].append(c1 - c0)
    return [(statistics.median(t), statistics.median(c) if c else float("nan"), o)
            for t, c, o in zip(times, cpus, outs)]


def load_average():
    try:
        return "%.2f" % os.getloadavg()[0]
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--n", type=int, default=20000000, help="callback: the series' length")
    ap.add_argument("--parts", type=int, default=128, help="callback: jobs")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.reps < 1 or a.procs < 1 or a.n < 2 or a.parts < 1:
        ap.error("--reps, --procs, --parts must be >= 1 and --n >= 2")
    inputs = list(range(100000, 100800, 100))
    if a.quick:
        inputs = list(range(10000, 10800, 100))
        a.n = min(a.n, 200000)
        a.parts = min(a.parts, 16)
    step = (a.n - 1) // a.parts + 1
    slices = [(1 + i * step, min(a.n, 1 + (i + 1) * step)) for i in range(a.parts)]

    found = importlib.util.find_spec("ppft") or importlib.util.find_spec("pp")
    print("ppft=%s" % ("installed_not_timed" if found else "not_installed"))
    print("python=%s cpus=%d procs=%d reps=%d cloudpickle=%s" % (
        sys.version.split()[0], weft.cpu_count(), a.procs, a.reps,
        importlib.util.find_spec("cloudpickle") is not None))

    load0 = load_average()
    # the pool first: it forks this process, which must not have weft's
    # threads and connections yet (a fork copies their sockets, not them)
    t0 = time.perf_counter()
    pool = multiprocessing.Pool(a.procs)
    pool_start = time.perf_counter() - t0
    t0 = time.perf_counter()
    rt = weft.Runtime(processes=a.procs)
    weft_start = time.perf_counter() - t0
    print("start weft_s=%.4f pool_s=%.4f" % (weft_start, pool_start))
    me = [os.getpid()]
    wpids = [p for p in rt.process_info()["pids"] if p]
    ppids = [p.pid for p in pool._pool]      # the pool's worker processes
    try:
        # -- sum_primes x8 --
        def serial_primes():
            return [sum_primes(n) for n in inputs]

        def weft_primes():
            jobs = [rt.submit(sum_primes, n) for n in inputs]
            return [j() for j in jobs]

        def pool_primes():
            rs = [pool.apply_async(sum_primes, (n,)) for n in inputs]
            return [r.get() for r in rs]

        expect = weft_primes()                      # warm-up: workers hold the code
        if pool_primes() != expect:
            raise SystemExit("pool and weft disagree on sum_primes")
        (s_t, s_c, s_out), (w_t, w_c, w_out), (p_t, p_c, p_out) = median_times(
            [(serial_primes, me), (weft_primes, wpids), (pool_primes, ppids)], a.reps)
        if not s_out == w_out == p_out == expect:
            raise SystemExit("results differ between serial, weft and pool")
        print("bench=pp_sum_primes jobs=%d serial_s=%.4f weft_s=%.4f pool_s=%.4f "
              "serial_weft=%.2f pool_weft=%.2f total=%d" % (
                  len(inputs), s_t, w_t, p_t, s_t / w_t, p_t / w_t, sum(expect)))
        print("cpu=pp_sum_primes serial_cpu_s=%.4f weft_workers_cpu_s=%.4f "
              "pool_workers_cpu_s=%.4f" % (s_c, w_c, p_c))

        # -- callback --
        def serial_cb():
            acc = Sum()
            for lo, hi in slices:
                acc.add(part_sum(lo, hi))
            return acc.value

        def weft_cb():
            acc = Sum()
            for lo, hi in slices:
                rt.submit(part_sum, lo, hi, callback=acc.add)
            rt.wait()
            return acc.value

        def pool_cb():
            acc = Sum()
            rs = [pool.apply_async(part_sum, (lo, hi), callback=acc.add) for lo, hi in slices]
            for r in rs:
                r.wait()            # the pool calls the callback before it sets ready
            return acc.value

        ref = math.fsum(part_sum(lo, hi) for lo, hi in slices) if a.quick else None
        weft_cb()
        pool_cb()
        (s_t, s_c, s_v), (w_t, w_c, w_v), (p_t, p_c, p_v) = median_times(
            [(serial_cb, me), (weft_cb, wpids), (pool_cb, ppids)], a.reps)
        for v in (w_v, p_v):
            if abs(v - s_v) > 1e-12:
                raise SystemExit("callback sums differ: %r %r" % (s_v, v))
        if ref is not None and abs(ref - s_v) > 1e-12:
            raise SystemExit("callback sum wrong")
        print("bench=pp_callback jobs=%d n=%d serial_s=%.4f weft_s=%.4f pool_s=%.4f "
              "serial_weft=%.2f pool_weft=%.2f sum=%.12f" % (
                  len(slices), a.n, s_t, w_t, p_t, s_t / w_t, p_t / w_t, s_v))
        print("cpu=pp_callback serial_cpu_s=%.4f weft_workers_cpu_s=%.4f "
              "pool_workers_cpu_s=%.4f" % (s_c, w_c, p_c))
        print("loadavg_before=%s loadavg_after=%s" % (load0, load_average()))
    finally:
        pool.close()
        pool.join()
        rt.close()


if __name__ == "__main__":
    main()
