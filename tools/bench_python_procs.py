#!/usr/bin/env python3
"""Python jobs in worker processes: weft.Runtime(processes=N) against
multiprocessing.Pool(N).apply_async and concurrent.futures'
ProcessPoolExecutor(N), side by side in one run.

Each measurement submits --n tiny tasks (tiny(i) = i + 1) and collects
every result, --reps times; the median is reported, one key=value line per
contender, then the ratios:

    bench=py_procs_tiny n=100000 procs=2 weft_s=... weft_tasks_per_s=...
    bench=py_procs_tiny ... pool_s=... executor_s=...
    bench=py_procs_ratio weft_vs_pool=2.31 weft_vs_executor=...

Every result is checked (the sum of all of them), so a run that lost or
doubled one fails. A second measurement, --spin, runs CPU-bound pure-Python
tasks to show the parallel speed-up over threads (weft.Runtime(2) threads,
where the GIL serialises them).

With --weftd PATH, the same tiny tasks also go through --procs weftd
nodes on loopback (each `weftd --python 1`, keyed by a fresh key file):

    bench=py_procs_nodes n=100000 nodes=2 weft_nodes_s=... weft_nodes_tasks_per_s=...

With --memory N, N tiny tasks go through the worker processes in rounds of
100,000 (submitted, collected, dropped), and the resident memory of this
process and of every worker process is printed after each round:

    bench=py_procs_memory tasks=1000000 round=10 parent_kib=... workers_kib=...
    bench=py_procs_memory_growth tasks=1000000 parent_kib=+... workers_kib=+...

(growth: the last round against the second, the first being warm-up).

Usage: bench_python_procs.py [--n 100000] [--reps 3] [--procs 2]
                             [--spin 2000000] [--spin-tasks 8] [--skip-anchors]
                             [--weftd build/dist/weftd] [--memory N]
"""

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_python_procs_tasks as tasks     # noqa: E402  (importable in the workers)

import weft                                   # noqa: E402


def weft_run(rt, n):
    submit = rt.submit
    tiny = tasks.tiny
    t0 = time.perf_counter()
    jobs = [submit(tiny, i) for i in range(n)]
    total = sum(j() for j in jobs)
    return time.perf_counter() - t0, total


def pool_run(pool, n):
    tiny = tasks.tiny
    t0 = time.perf_counter()
    rs = [pool.apply_async(tiny, (i,)) for i in range(n)]
    total = sum(r.get() for r in rs)
    return time.perf_counter() - t0, total


def executor_run(ex, n):
    tiny = tasks.tiny
    t0 = time.perf_counter()
    fs = [ex.submit(tiny, i) for i in range(n)]
    total = sum(f.result() for f in fs)
    return time.perf_counter() - t0, total


def nodes_run(a, want):
    """The tiny tasks through a.procs weftd --python 1 nodes on loopback."""
    with tempfile.TemporaryDirectory() as d:
        key = os.path.join(d, "key")
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(32).hex().encode())
        os.close(fd)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        procs, nodes = [], []
        try:
            for _ in range(a.procs):
                p = subprocess.Popen([a.weftd, "--listen", "127.0.0.1:0", "--print-port",
                                      "--secret-file", key, "--log-level", "error",
                                      "--python", "1", "--python-exe", sys.executable],
                                     stdout=subprocess.PIPE, text=True, env=env)
                procs.append(p)
                nodes.append("127.0.0.1:%d" % int(p.stdout.readline().split()[1]))
            with weft.Runtime(nodes=nodes, secret_file=key) as rt:
                weft_run(rt, min(a.n, 2000))
                w = median_of(weft_run, rt, a.n, a.reps, want)
            print("bench=py_procs_nodes n=%d nodes=%d reps=%d weft_nodes_s=%.3f "
                  "weft_nodes_tasks_per_s=%.0f" % (a.n, a.procs, a.reps, w, a.n / w), flush=True)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
                p.stdout.close()


def median_of(fn, arg, n, reps, want):
    times = []
    for _ in range(reps):
        dt, total = fn(arg, n)
        if total != want:
            sys.exit("error: wrong sum %d, expected %d" % (total, want))
        times.append(dt)
    return statistics.median(times)


def rss_kib(pid="self"):
    try:
        with open("/proc/%s/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children():
    """The pids of this process's children (the worker processes)."""
    pids = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/children" % tid) as f:
                pids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return pids


def memory_run(n, procs):
    rounds = max(1, n // 100000)
    per = n // rounds
    samples = []
    with weft.Runtime(processes=procs) as rt:
        for r in range(rounds):
            t, total = weft_run(rt, per)
            if total != sum(i + 1 for i in range(per)):
                sys.exit("error: wrong memory-round sum")
            par = rss_kib()
            wk = sum(rss_kib(c) for c in children())
            samples.append((par, wk))
            print("bench=py_procs_memory tasks=%d round=%d parent_kib=%d workers_kib=%d "
                  "round_s=%.2f" % (n, r + 1, par, wk, t), flush=True)
    if len(samples) >= 2:
        base = samples[1] if len(samples) > 2 else samples[0]
        print("bench=py_procs_memory_growth tasks=%d parent_kib=%+d workers_kib=%+d"
              % (n, samples[-1][0] - base[0], samples[-1][1] - base[1]), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--spin", type=int, default=2000000)
    ap.add_argument("--spin-tasks", type=int, default=8)
    ap.add_argument("--skip-anchors", action="store_true")
    ap.add_argument("--weftd", help="weftd's path: also measure through weftd --python nodes")
    ap.add_argument("--memory", type=int, default=0,
                    help="only the memory measurement, over this many tasks")
    a = ap.parse_args()
    if a.memory > 0:
        memory_run(a.memory, a.procs)
        return
    if a.n < 1 or a.reps < 1 or a.procs < 1:
        sys.exit("error: --n, --reps and --procs must be >= 1")
    want = sum(i + 1 for i in range(a.n))
    line = "bench=py_procs_tiny n=%d procs=%d reps=%d" % (a.n, a.procs, a.reps)
    with weft.Runtime(processes=a.procs) as rt:
        weft_run(rt, min(a.n, 2000))                       # code cached in the workers
        w = median_of(weft_run, rt, a.n, a.reps, want)
    print("%s weft_s=%.3f weft_tasks_per_s=%.0f" % (line, w, a.n / w), flush=True)
    p = e = None
    if not a.skip_anchors:
        with mp.Pool(a.procs) as pool:
            pool_run(pool, min(a.n, 2000))
            p = median_of(pool_run, pool, a.n, a.reps, want)
        print("%s pool_s=%.3f pool_tasks_per_s=%.0f" % (line, p, a.n / p), flush=True)
        with cf.ProcessPoolExecutor(a.procs) as ex:
            executor_run(ex, min(a.n, 2000))
            e = median_of(executor_run, ex, a.n, a.reps, want)
        print("%s executor_s=%.3f executor_tasks_per_s=%.0f" % (line, e, a.n / e), flush=True)
        print("bench=py_procs_ratio n=%d procs=%d weft_vs_pool=%.2f weft_vs_executor=%.2f"
              % (a.n, a.procs, p / w, e / w), flush=True)
    if a.weftd:
        nodes_run(a, want)
    if a.spin > 0 and a.spin_tasks > 0:
        want_s = a.spin_tasks * tasks.spin(a.spin)
        def spin_with(rt):
            t0 = time.perf_counter()
            got = sum(rt.map(tasks.spin, [a.spin] * a.spin_tasks))
            if got != want_s:
                sys.exit("error: wrong spin sum")
            return time.perf_counter() - t0
        with weft.Runtime(a.procs) as rt:
            th = spin_with(rt)
        with weft.Runtime(processes=a.procs) as rt:
            spin_with(rt)
            pr = spin_with(rt)
        print("bench=py_procs_spin tasks=%d n=%d procs=%d threads_s=%.3f processes_s=%.3f "
              "speedup=%.2f" % (a.spin_tasks, a.spin, a.procs, th, pr, th / pr), flush=True)


if __name__ == "__main__":
    mp.set_start_method("fork" if sys.platform == "linux" else "spawn", force=True)
    main()
