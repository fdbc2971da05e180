"""Python graph nodes on threads, in worker processes and on weftd nodes
(Graph.add_remote).

Two graphs, each run on the three places, results checked equal:
- the wavefront N x N of a tiny deterministic function of its inputs
  (cell (i, j) after (i-1, j) and (i, j-1)): graph nodes per second, the
  per-node cost of encoding, travel and decoding;
- K independent CPU-bound pure-Python nodes: seconds, the speed-up that
  processes give over the GIL.

    PYTHONPATH=build/bindings/python python3 tools/bench_python_graph_remote.py \\
        [--n 30] [--wide 8] [--spin 2000000] [--procs 2] [--weftd build/dist/weftd]

With --weftd, --procs weftd nodes (`weftd --python 1` each) are started on
loopback with a fresh key and stopped at the end. Output lines:
bench=py_graph_remote on=threads|processes|nodes ...
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import weft                                   # noqa: E402
import bench_python_graph_remote_tasks as t   # noqa: E402


def wavefront(n):
    g = weft.Graph("wavefront")
    nodes = {}
    for i in range(n):
        for j in range(n):
            v = nodes[i, j] = g.add_remote(t.f, i * n + j, name="c%d_%d" % (i, j))
            if i:
                nodes[i - 1, j] >> v
            if j:
                nodes[i, j - 1] >> v
    return g


def wide(k, n):
    g = weft.Graph("wide")
    for i in range(k):
        g.add_remote(t.spin, n, name="s%d" % i)
    return g


def best_of(g, rt, reps):
    best, run = None, None
    for _ in range(reps):
        t0 = time.perf_counter()
        run = g.run(rt)
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return best, run.results()


def start_nodes(weftd, count, key, procs):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [HERE] + [p for p in sys.path if p] + [os.environ.get("PYTHONPATH", "")]))
    nodes = []
    for _ in range(count):
        p = subprocess.Popen([weftd, "--listen", "127.0.0.1:0", "--print-port", "--secret-file",
                              key, "--log-level", "error", "--python", "1", "--python-exe",
                              sys.executable], stdout=subprocess.PIPE, text=True, env=env)
        procs.append(p)
        nodes.append("127.0.0.1:%d" % int(p.stdout.readline().split()[1]))
    return nodes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=30, help="wavefront side (default 30)")
    ap.add_argument("--wide", type=int, default=8, help="CPU-bound nodes (default 8)")
    ap.add_argument("--spin", type=int, default=2000000, help="loop length of each")
    ap.add_argument("--procs", type=int, default=2, help="processes, and weftd nodes")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--weftd", help="weftd's path: also run on weftd --python nodes")
    a = ap.parse_args()
    gw, gs = wavefront(a.n), wide(a.wide, a.spin)
    procs = []
    with tempfile.TemporaryDirectory() as d:
        places = [("threads", {}), ("processes", {"processes": a.procs})]
        try:
            if a.weftd:
                key = os.path.join(d, "key")
                fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.write(fd, os.urandom(32).hex().encode())
                os.close(fd)
                places.append(("nodes", {"nodes": start_nodes(a.weftd, a.procs, key, procs),
                                         "secret_file": key}))
            want = None
            for label, kw in places:
                with weft.Runtime(a.procs, **kw) as rt:
                    sw, rw = best_of(gw, rt, a.reps)
                    ss, rs = best_of(gs, rt, 1)
                if want is None:
                    want = (rw, rs)
                elif (rw, rs) != want:
                    sys.exit("bench_python_graph_remote: results on %s differ" % label)
                print("bench=py_graph_remote on=%s workers=%d wavefront=%dx%d nodes_per_s=%.0f "
                      "wide=%d spin=%d wide_s=%.3f" % (label, a.procs, a.n, a.n,
                                                        a.n * a.n / sw, a.wide, a.spin, ss))
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)
                p.stdout.close()


if __name__ == "__main__":
    main()
