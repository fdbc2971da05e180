#!/usr/bin/python3
"""Anchors of tools/bench_dist: tiny tasks (return the argument) run by
dask.distributed (a LocalCluster over TCP) and by multiprocessing.Pool, each
for about SECONDS seconds; prints one key=value line per anchor:
  anchor=dask workers=2 tasks=... tasks_per_s=...
  anchor=mp workers=2 tasks=... tasks_per_s=...
usage: bench_dist_anchors.py WORKERS SECONDS [dask] [mp]"""
import sys
import time


def echo(x):
    return x


def run_mp(workers, seconds):
    import multiprocessing as mp
    with mp.Pool(workers) as pool:
        done, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            n = 2000
            got = list(pool.imap_unordered(echo, range(done, done + n), chunksize=1))
            if sorted(got) != list(range(done, done + n)):
                raise SystemExit("mp: wrong results")
            done += n
        dt = time.perf_counter() - t0
    print(f"anchor=mp workers={workers} tasks={done} tasks_per_s={done / dt:.0f}", flush=True)


def run_dask(workers, seconds):
    import logging
    logging.disable(logging.WARNING)
    from dask.distributed import Client, LocalCluster
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster) as client:
        client.submit(echo, 0).result()
        done, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            n = 1000
            futs = client.map(echo, range(done, done + n), pure=False)
            got = client.gather(futs)
            if got != list(range(done, done + n)):
                raise SystemExit("dask: wrong results")
            done += n
        dt = time.perf_counter() - t0
    print(f"anchor=dask workers={workers} tasks={done} tasks_per_s={done / dt:.0f}", flush=True)


if __name__ == "__main__":
    workers, seconds = int(sys.argv[1]), float(sys.argv[2])
    which = sys.argv[3:] or ["dask", "mp"]
    for w in which:
        try:
            (run_dask if w == "dask" else run_mp)(workers, seconds)
        except Exception as e:  # an anchor that cannot run is reported, not fatal
            print(f"anchor={w} error={type(e).__name__}", flush=True)
