#!/usr/bin/env python3
"""The Python anchors of tools/bench_dist: tiny tasks on multiprocessing's Pool
and on a dask.distributed LocalCluster over TCP on loopback.

Each anchor runs the same task as weft's benchmark (return the 8 argument
bytes) as many times as it completes in about --seconds (default 10), in
doubling rounds, and reports tasks per second over all rounds:

  bench=dist_anchor nodes=N mp_tasks_per_s=... mp_map_tasks_per_s=...
        dask_tasks_per_s=... dask_map_tasks_per_s=...

  mp_tasks_per_s        Pool(N).apply_async, one call per task, then get():
                        the per-task API a pp user writes
  mp_map_tasks_per_s    Pool(N).map with chunksize 1024: batched
  dask_tasks_per_s      Client.submit per task, then gather
  dask_map_tasks_per_s  Client.map over the whole round, then gather

  dask_nodes_per_s      (--anchors dask_graph) a --grid x --grid wavefront
                        of tiny tasks (each hashes its coordinates and its
                        two predecessors' results, as weft.hash does in
                        bench_dist's graph=wavefront), submitted as futures
                        that depend on futures, then gathered: dask's graph
                        rate; dask_grid says the grid

N is the worker (process) count, the "nodes" of weft's lines. dask comes
from Debian's python3-distributed, installed into /usr/bin/python3's
dist-packages: run this script with that interpreter. An anchor that cannot
be had prints `<key>=unavailable` and the reason on stderr; the exit status
is 0 as long as the arguments were good.

Network: dask's scheduler and workers listen on 127.0.0.1 only, on ports the
kernel picks, with no dashboard; everything is shut down before exit.
"""
import argparse
import multiprocessing
import sys
import time


def echo(b):
    return b


def timed_rounds(run_round, seconds, first=256):
    """Runs run_round(n) with n doubling until `seconds` have passed; returns
    (tasks, elapsed) over all rounds."""
    done, spent, n = 0, 0.0, first
    while spent < seconds:
        t0 = time.perf_counter()
        run_round(n)
        spent += time.perf_counter() - t0
        done += n
        n *= 2
        # the next round would overrun by far: take one of the same size
        if spent + 2 * (spent / done) * n > seconds * 1.5:
            n //= 2
    return done, spent


def check(results, n):
    if len(results) != n:
        raise RuntimeError("expected %d results, got %d" % (n, len(results)))
    for i, r in enumerate(results):
        if r != i.to_bytes(8, "little"):
            raise RuntimeError("result %d is wrong: %r" % (i, r))


def mp_anchor(nodes, seconds):
    ctx = multiprocessing.get_context("fork")
    out = {}
    with ctx.Pool(nodes) as pool:
        def per_task(n):
            futs = [pool.apply_async(echo, (i.to_bytes(8, "little"),)) for i in range(n)]
            check([f.get(timeout=120) for f in futs], n)

        def mapped(n):
            check(pool.map(echo, [i.to_bytes(8, "little") for i in range(n)], chunksize=1024), n)

        t, s = timed_rounds(per_task, seconds)
        out["mp_tasks_per_s"] = t / s
        t, s = timed_rounds(mapped, seconds, first=4096)
        out["mp_map_tasks_per_s"] = t / s
    return out


def dask_anchor(nodes, seconds):
    from distributed import Client, LocalCluster

    out = {}
    cluster = LocalCluster(n_workers=nodes, threads_per_worker=1, processes=True,
                           host="127.0.0.1", scheduler_port=0, dashboard_address=None,
                           silence_logs=50)
    try:
        with Client(cluster) as client:
            def per_task(n):
                futs = [client.submit(echo, i.to_bytes(8, "little"), pure=False)
                        for i in range(n)]
                check(client.gather(futs), n)

            def mapped(n):
                futs = client.map(echo, [i.to_bytes(8, "little") for i in range(n)],
                                  pure=False)
                check(client.gather(futs), n)

            t, s = timed_rounds(per_task, seconds, first=64)
            out["dask_tasks_per_s"] = t / s
            t, s = timed_rounds(mapped, seconds, first=64)
            out["dask_map_tasks_per_s"] = t / s
    finally:
        cluster.close()
    return out


def cell(i, j, up, left):
    import hashlib
    h = hashlib.blake2b(digest_size=8)
    h.update(b"%d,%d" % (i, j))
    h.update(up or b"")
    h.update(left or b"")
    return h.digest()


def dask_graph_anchor(nodes, grid):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=nodes, threads_per_worker=1, processes=True,
                           host="127.0.0.1", scheduler_port=0, dashboard_address=None,
                           silence_logs=50)
    try:
        with Client(cluster) as client:
            def run(n):
                futs = {}
                for i in range(n):
                    for j in range(n):
                        futs[i, j] = client.submit(cell, i, j, futs.get((i - 1, j)),
                                                   futs.get((i, j - 1)), pure=False)
                corner = futs[n - 1, n - 1].result(timeout=600)
                local = {}
                for i in range(n):   # the same grid here: the corner must match
                    for j in range(n):
                        local[i, j] = cell(i, j, local.get((i - 1, j)), local.get((i, j - 1)))
                if corner != local[n - 1, n - 1]:
                    raise RuntimeError("dask's wavefront corner is wrong")
            run(10)                  # warm up
            t0 = time.perf_counter()
            run(grid)
            return {"dask_nodes_per_s": grid * grid / (time.perf_counter() - t0),
                    "dask_grid": grid}
    finally:
        cluster.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="time per anchor and API (default 10)")
    ap.add_argument("--anchors", default="mp,dask", help="comma list of mp,dask,dask_graph")
    ap.add_argument("--grid", type=int, default=100, help="dask_graph's wavefront side (100)")
    a = ap.parse_args()
    if a.nodes < 1 or a.seconds <= 0:
        ap.error("--nodes must be >= 1 and --seconds > 0")
    anchors = [x for x in a.anchors.split(",") if x]
    for x in anchors:
        if x not in ("mp", "dask", "dask_graph"):
            ap.error("unknown anchor %r" % x)
    fields = {}
    for name, fn, keys in (("mp", mp_anchor, ("mp_tasks_per_s", "mp_map_tasks_per_s")),
                           ("dask", dask_anchor, ("dask_tasks_per_s", "dask_map_tasks_per_s")),
                           ("dask_graph", lambda n, s: dask_graph_anchor(n, a.grid),
                            ("dask_nodes_per_s",))):
        if name not in anchors:
            continue
        try:
            fields.update(fn(a.nodes, a.seconds))
        except Exception as e:  # an anchor missing here is reported, not fatal
            print("bench_dist_anchors: %s unavailable: %s: %s" % (name, type(e).__name__, e),
                  file=sys.stderr)
            for k in keys:
                fields[k] = "unavailable"
    line = ["bench=dist_anchor", "nodes=%d" % a.nodes]
    for k, v in fields.items():
        line.append("%s=%s" % (k, v if isinstance(v, (str, int)) else "%.0f" % v))
    print(" ".join(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
