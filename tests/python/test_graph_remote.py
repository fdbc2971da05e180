"""Python graph nodes in worker processes and on weftd --python nodes
(Graph.add_remote): the same results as on threads, failures with the
remote traceback, cancellation, mixed graphs, graph files, weft-run on a
cluster."""
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

import weft
import graph_remote_tasks as t

HERE = os.path.dirname(os.path.abspath(__file__))
WEFTD = os.environ.get("WEFT_WEFTD")
WEFT_RUN = (os.path.join(os.path.dirname(os.path.dirname(WEFTD)), "tools", "weft-run")
            if WEFTD else None)
N = 10


def diamond():
    g = weft.Graph("diamond")
    a = g.add_remote(t.f, 1, name="a")
    b = g.add_remote(t.f, 2, name="b")
    c = g.add_remote(t.f, 3, name="c")
    d = g.add_remote(t.f, 4, name="d")
    a >> [b, c]
    [b, c] >> d
    return g


def diamond_expected():
    a = t.f(1)
    b, c = t.f(2, a), t.f(3, a)
    return {"a": a, "b": b, "c": c, "d": t.f(4, b, c)}


def wavefront(n=N):
    g = weft.Graph("wavefront")
    nodes = {}
    for i in range(n):
        for j in range(n):
            v = nodes[i, j] = g.add_remote(t.f, i * n + j, name="w%d_%d" % (i, j))
            if i:
                nodes[i - 1, j] >> v
            if j:
                nodes[i, j - 1] >> v
    return g


def wavefront_expected(n=N):
    out = {}
    for i in range(n):
        for j in range(n):
            ins = ([out[i - 1, j]] if i else []) + ([out[i, j - 1]] if j else [])
            out[i, j] = t.f(i * n + j, *ins)
    return {"w%d_%d" % k: v for k, v in out.items()}


def mixed():
    """remote -> local Python -> C task -> remote, and a remote node that
    reads a C task's bytes."""
    g = weft.Graph("mixed")
    a = g.add_remote(t.f, 5, name="a")
    b = g.add(lambda x: x + 1, name="b")              # a local Python node
    c = g.add_remote(t.as_bytes, name="c")            # bytes for the C task
    s = g.add_task(weft.SUM_TASK, b"10", name="s")    # C: 10 + c's number
    e = g.add_remote(t.from_bytes, b"7", name="e")    # gets s's bytes
    h = g.add_remote(t.echo, name="h")                # several kinds of value
    o = g.add_remote(t.f, 11, name="o", inputs=False)  # an edge that only orders
    a >> b >> c >> s >> e
    [a, b, s] >> h
    [a, s] >> o
    return g


def mixed_expected():
    a = t.f(5)
    b = a + 1
    s = str(10 + b).encode()
    return {"a": a, "b": b, "c": str(b).encode(), "s": s, "e": 7 + int(s),
            "h": (a, b, s), "o": t.f(11)}


class Common:
    """The same checks on each kind of runtime (self.rt)."""

    def test_diamond_and_wavefront(self):
        self.assertEqual(diamond().run(self.rt).results(), diamond_expected())
        run = wavefront().run(self.rt, record=True)
        self.assertEqual(run.results(), wavefront_expected())
        self.assertEqual(run.counts()["done"], N * N)
        self.check_machines(run)

    def test_failure_skips_descendants(self):
        g = weft.Graph("fails")
        a = g.add_remote(t.f, 1, name="a")
        x = g.add_remote(t.boom, name="x")
        y = g.add_remote(t.f, 2, name="y")
        z = g.add_remote(t.f, 3, name="z")
        a >> x >> y
        a >> z
        run = g.run(self.rt, check=False)
        self.assertEqual(run.code, weft.ETASK)
        self.assertEqual([run.status(n) for n in "axyz"], ["done", "failed", "skipped", "done"])
        with self.assertRaises(weft.TaskError) as cm:
            run.raise_for_failure()
        e = cm.exception
        self.assertEqual(e.node, "x")
        self.assertEqual(e.remote_type, "ValueError")
        self.assertEqual(e.remote_message, "boom after (%d,)" % t.f(1))
        self.assertIn('graph_remote_tasks.py", line', e.remote_traceback)
        self.assertIn("in boom", e.remote_traceback)
        self.assertIsInstance(e.exception, ValueError)
        self.assertIsInstance(run.exception(x), ValueError)
        self.assertIsNone(run.exception(a))
        self.assertIn("node 'x' raised ValueError", str(e))
        self.assertIn(e.remote_node, self.machines())
        with self.assertRaises(weft.TaskError):
            run.result(x)
        with self.assertRaises(weft.TaskError) as cm:
            g.run(self.rt)
        self.assertEqual(cm.exception.remote_type, "ValueError")

    def test_mixed_graph(self):
        self.assertEqual(mixed().run(self.rt).results(), mixed_expected())

    def test_cancel(self):
        g = weft.Graph("cancel")
        prev = None
        for k in range(20):
            v = g.add_remote(t.slow, 0.1, name="s%d" % k)
            if prev is not None:
                prev >> v
            prev = v
        run = g.run_async(self.rt)
        deadline = time.monotonic() + 20
        while run.status("s0") != "done" and time.monotonic() < deadline:
            time.sleep(0.01)
        run.cancel()
        self.assertTrue(run.wait(30))
        self.assertEqual(run.code, weft.ECANCELED)
        c = run.counts()
        self.assertEqual(c["failed"], 0)
        self.assertGreaterEqual(c["cancelled"], 10)
        self.assertEqual(c["done"] + c["cancelled"] + c["skipped"], 20)
        self.assertEqual(run.status("s0"), "done")
        self.assertEqual(run.status("s19"), "cancelled")

    def test_subgraph_of_remote_nodes(self):
        sub = diamond()
        g = weft.Graph("outer")
        a = g.add_remote(t.f, 9, name="a")
        s = g.add_subgraph(sub, name="sub")
        b = g.add(lambda *x: x, name="b")                  # gets the sinks' tuple
        a >> s >> b
        run = g.run(self.rt)
        d = diamond_expected()["d"]
        self.assertEqual(run.result(s), (d,))
        self.assertEqual(run.result(b), ((d,),))
        self.assertEqual(run.subrun(s).results(), diamond_expected())
        bad = weft.Graph("inner")
        bad.add_remote(t.boom, name="x")
        g = weft.Graph("outer2")
        g.add_subgraph(bad, name="sub")
        with self.assertRaises(weft.TaskError) as cm:
            g.run(self.rt)
        self.assertEqual(cm.exception.path, ("sub", "x"))
        self.assertEqual(cm.exception.remote_type, "ValueError")
        self.assertIn("in subgraph node 'sub'", str(cm.exception))

    def test_save_load_run(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "w.wg")
            wavefront(4).save(path)
            g = weft.Graph.load(path)
            self.assertEqual(g.node("w0_0").kind, "remote")
            self.assertEqual(g.node("w0_0").task, "weft.py")
            self.assertEqual(g.run(self.rt).results(), wavefront_expected(4))


class Threads(Common, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rt = weft.Runtime(2)

    @classmethod
    def tearDownClass(cls):
        cls.rt.close()

    def machines(self):
        return ["local"]

    def check_machines(self, run):
        self.assertEqual(run.origin("w0_0")["machine"], "local")
        self.assertEqual(run.result(wavefront(1).run(self.rt)._id("w0_0")), t.f(0))

    def test_runs_in_this_process(self):
        g = weft.Graph("here")
        p = g.add_remote(t.pid, name="p")
        self.assertEqual(g.run(self.rt).result(p), os.getpid())

    def test_result_bytes(self):
        g = weft.Graph("bytes")
        a = g.add_remote(t.as_bytes, name="a")           # raw bytes
        b = g.add_remote(t.f, 3, name="b")               # pickled frame
        run = g.run(self.rt)
        self.assertEqual(run._core.raw(a.id), b"0")
        self.assertTrue(run._core.raw(b.id).startswith(b"WFR1"))
        for v in [b"", b"WFR1 looks like a frame", None, bytearray(b"x"), "str", (1, 2)]:
            g = weft.Graph("v")
            x = g.add_remote(t.echo, v, name="x")
            y = g.add_remote(t.echo, name="y")
            x >> y
            r = g.run(self.rt)
            self.assertEqual(r.result(x), (v,))
            self.assertEqual(r.result(y), ((v,),))

    def test_save_refuses_by_value(self):
        g = weft.Graph("lam")
        g.add_remote(lambda: 1, name="lam")
        self.assertEqual(g.run(self.rt).result("lam"), 1)
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(weft.Error) as cm:
                g.save(os.path.join(d, "x.wg"))
        self.assertEqual(cm.exception.code, weft.ENOTSUP)
        self.assertIn("remote node 'lam'", str(cm.exception))
        outer = weft.Graph("outer")
        outer.add_subgraph(g, name="s")
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(weft.Error) as cm:
                outer.save(os.path.join(d, "x.wg"))
        self.assertEqual(cm.exception.code, weft.ENOTSUP)
        self.assertIn("remote node 'lam' of subgraph 'lam'", str(cm.exception))

    def test_bad_input(self):
        with self.assertRaises(TypeError):
            weft.Graph().add_remote(42)
        g = weft.Graph("bad")
        g.add_task("weft.py", b"not a payload", name="bad")
        with self.assertRaises(weft.TaskError) as cm:
            g.run(self.rt)
        self.assertIn("runs Python graph nodes", str(cm.exception))
        self.assertEqual(cm.exception.status, weft.EINVAL)
        self.assertIsInstance(cm.exception.exception, weft.InvalidArgument)


class Processes(Common, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rt = weft.Runtime(2, processes=2)

    @classmethod
    def tearDownClass(cls):
        cls.rt.close()

    def machines(self):
        return [w["node"] for w in self.rt.process_info()["workers"]]

    def check_machines(self, run):
        seen = {run.origin(n)["machine"] for n in wavefront_expected()}
        self.assertTrue(seen <= set(self.machines()), seen)

    def test_runs_in_worker_processes(self):
        g = weft.Graph("pids")
        ps = [g.add_remote(t.pid, name="p%d" % k) for k in range(8)]
        run = g.run(self.rt)
        pids = set(self.rt.process_info()["pids"])
        self.assertTrue({run.result(p) for p in ps} <= pids)
        self.assertEqual(g.run(self.rt, local=True).result(ps[0]), os.getpid())

    def test_close_waits_for_a_run(self):
        with weft.Runtime(1, processes=1) as rt:
            g = weft.Graph("slow")
            a = g.add_remote(t.slow, 0.2, name="a")
            b = g.add_remote(t.f, 1, name="b")
            a >> b
            run = g.run_async(rt)
        self.assertTrue(run.done())
        self.assertEqual(run.result(b), t.f(1, 1))

    def test_a_node_that_kills_its_workers(self):
        with weft.Runtime(1, processes=2, max_losses=2) as rt:
            g = weft.Graph("killer")
            a = g.add_remote(t.f, 1, name="a")
            k = g.add_remote(t.die, name="k")
            b = g.add_remote(t.f, 2, name="b")
            a >> k >> b
            run = g.run(rt, check=False)
            self.assertEqual([run.status(n) for n in "akb"], ["done", "failed", "skipped"])
            with self.assertRaises(weft.TaskError) as cm:
                run.raise_for_failure()
            self.assertEqual(cm.exception.status, weft.ENODE)
            self.assertEqual(cm.exception.node, "k")
            self.assertEqual(g.run(rt, check=False).status("a"), "done")   # still usable

    def test_graphs_without_remote_nodes_stay_here(self):
        weft.register_task("test_graph_remote.here", lambda arg: str(os.getpid()))
        g = weft.Graph("here")
        h = g.add_task("test_graph_remote.here", name="h")
        self.assertEqual(g.run(self.rt).result(h), str(os.getpid()).encode())
        # with a remote node, task nodes go to the workers unless placed local
        g.add_remote(t.f, 1, name="r")
        h.set_place("local")
        run = g.run(self.rt)
        self.assertEqual(run.result(h), str(os.getpid()).encode())
        self.assertEqual(run.result("r"), t.f(1))
        self.assertIn(run.origin("r")["machine"], self.machines())


@unittest.skipUnless(WEFTD and os.path.exists(WEFTD), "WEFT_WEFTD (weftd's path) not set")
class Nodes(Common, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.key = os.path.join(cls.dir.name, "key")
        fd = os.open(cls.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(32).hex().encode())
        os.close(fd)
        cls.procs, cls.nodes, cls.rt = [], [], None
        # the workers import weft and graph_remote_tasks through PYTHONPATH
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [HERE] + [p for p in sys.path if p] + [os.environ.get("PYTHONPATH", "")]))
        try:
            for _ in range(2):
                p = subprocess.Popen([WEFTD, "--listen", "127.0.0.1:0", "--print-port",
                                      "--secret-file", cls.key, "--log-level", "error",
                                      "--python", "1", "--python-exe", sys.executable],
                                     stdout=subprocess.PIPE, text=True, env=env,
                                     cwd=cls.dir.name)
                cls.procs.append(p)
                line = p.stdout.readline()
                cls.nodes.append("127.0.0.1:%d" % int(line.split()[1]))
            cls.rt = weft.Runtime(2, nodes=cls.nodes, secret_file=cls.key)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.rt is not None:
            cls.rt.close()
        for p in cls.procs:
            if p.poll() is None:
                p.terminate()
        for p in cls.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
            p.stdout.close()
        cls.dir.cleanup()

    def machines(self):
        return self.nodes

    def check_machines(self, run):
        seen = {run.origin(n)["machine"] for n in wavefront_expected()}
        self.assertTrue(seen <= set(self.nodes), seen)

    def weft_run(self, path, *args):
        return subprocess.run([WEFT_RUN, path, "--nodes", ",".join(self.nodes), "--key-file",
                               self.key, "--quiet"] + list(args),
                              capture_output=True, timeout=60, cwd=self.dir.name)

    def test_a_node_that_kills_weftds_workers(self):
        g = weft.Graph("killer")
        k = g.add_remote(t.die, name="k")
        b = g.add_remote(t.f, 2, name="b")
        k >> b
        run = g.run(self.rt, check=False)
        self.assertEqual([run.status(n) for n in "kb"], ["failed", "skipped"])
        with self.assertRaises(weft.TaskError) as cm:
            run.raise_for_failure()
        e = cm.exception
        self.assertEqual(e.status, weft.ENODE)
        self.assertEqual(e.exception.code, weft.ENODE)
        self.assertIn("node 'k' failed on 127.0.0.1:", str(e))
        self.assertEqual(diamond().run(self.rt).results(), diamond_expected())

    @unittest.skipUnless(WEFT_RUN and os.path.exists(WEFT_RUN), "weft-run not built")
    def test_weft_run_on_the_cluster(self):
        g = wavefront(5)
        out = g.add_remote(t.as_bytes, name="out")
        g["w4_4"] >> out
        g["w2_3"] >> out
        path = os.path.join(self.dir.name, "wf.wg")
        g.save(path)
        local = g.run(self.rt, local=True)
        want = str(local.result("w4_4") + local.result("w2_3")).encode()
        self.assertEqual(local.result(out), want)
        runfile = os.path.join(self.dir.name, "wf.run")
        p = self.weft_run(path, "--print", "out", "--run-out", runfile)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, want + b"\n")
        with open(runfile) as f:
            text = f.read()
        self.assertEqual(len(re.findall(r"^node \d+ \S+ done ", text, re.M)), 26, text)
        self.assertIn("counts 26 0 0 0", text)
        # a failing node: exit status 1, its descendants skipped
        g = weft.Graph("fails")
        a = g.add_remote(t.f, 1, name="a")
        x = g.add_remote(t.boom, name="x")
        y = g.add_remote(t.as_bytes, name="y")
        a >> x >> y
        path = os.path.join(self.dir.name, "fails.wg")
        g.save(path)
        p = self.weft_run(path, "--print", "y", "--run-out", runfile)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stdout, b"")
        with open(runfile) as f:
            text = f.read()
        self.assertRegex(text, r"(?m)^node 1 x failed ")
        self.assertRegex(text, r"(?m)^node 2 y skipped ")


if __name__ == "__main__":
    unittest.main()
