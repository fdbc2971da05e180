"""Subgraph nodes from Python: Graph.add_subgraph, inputs and results across
the subgraph boundary, Run.subrun, failures inside subgraphs, containment
cycles, nesting, lifetimes and reference counts."""
import gc
import os
import sys
import tempfile
import threading
import unittest
import weakref

import weft


def const(x):
    return x


def times10(x):
    return x * 10


def collect(*xs):
    return xs


class Boom(Exception):
    pass


def boom(*_):
    raise Boom("inner node failed")


class SubgraphTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rt = weft.Runtime(2)

    @classmethod
    def tearDownClass(cls):
        cls.rt.close()

    def make_sub(self, name="sub", k=2):
        sub = weft.Graph(name)
        a = sub.add(const, k, name="a")
        b = sub.add(times10, name="b")        # gets a's result
        c = sub.add_task(weft.SUM_TASK, b"5", name="c")
        a >> b
        return sub

    def test_inputs_results_and_subrun(self):
        sub = self.make_sub()
        g = weft.Graph("main")
        x = g.add(const, 1, name="x")
        s = g.add_subgraph(sub)
        y = g.add(collect, name="y")
        x >> s >> y
        self.assertEqual(s.name, "sub")              # the subgraph's name by default
        self.assertEqual(s.kind, "subgraph")
        self.assertIs(s.subgraph, sub)
        self.assertIsNone(x.subgraph)
        self.assertIsNone(s.task)
        run = g.run(self.rt)
        # a subgraph node gives the tuple of its sinks' results (b, c)
        self.assertEqual(run.result(s), (20, b"5"))
        self.assertEqual(run.result(y), ((20, b"5"),))
        self.assertEqual(run.status(s), "done")
        sr = run.subrun(s)
        self.assertIs(sr.graph, sub)
        self.assertTrue(sr.ok)
        self.assertEqual(sr.results(), {"a": 2, "b": 20, "c": b"5"})
        self.assertEqual(sr.result("b"), 20)
        self.assertEqual(sr.status("a"), "done")
        self.assertEqual(sr.counts()["done"], 3)
        self.assertEqual(run.results()["y"], ((20, b"5"),))
        # subrun of other nodes
        with self.assertRaises(weft.InvalidArgument):
            run.subrun(x)
        text = g.dot(run)
        self.assertIn('subgraph "cluster_n1"', text)
        self.assertIn("a", sr.dot())

    def test_named_and_inputs_false(self):
        sub = self.make_sub()
        g = weft.Graph("main")
        s = g.add_subgraph(sub, name="stage")
        z = g.add(const, "only", name="z", inputs=False)
        s >> z
        self.assertEqual(s.name, "stage")
        self.assertIs(g["stage"], s)
        self.assertEqual(g.run(self.rt).result(z), "only")

    def test_parent_keeps_the_subgraph(self):
        sub = self.make_sub()
        ref = weakref.ref(sub)
        g = weft.Graph("main")
        s = g.add_subgraph(sub)
        del sub
        gc.collect()
        self.assertIsNotNone(ref())                  # the parent holds it
        run = g.run(self.rt)
        self.assertEqual(run.result(s), (20, b"5"))
        sr = run.subrun(s)
        del g, s, run
        gc.collect()
        self.assertEqual(sr.result("b"), 20)         # a subrun keeps its top run
        self.assertIsNotNone(ref())
        del sr
        gc.collect()
        self.assertIsNone(ref())

    def test_cycles_refused(self):
        a, b, c = weft.Graph("A"), weft.Graph("B"), weft.Graph("C")
        a.add(const, 1)
        with self.assertRaises(ValueError) as cm:
            a.add_subgraph(a)
        self.assertEqual(cm.exception.code, weft.EINVAL)
        self.assertIn("itself", str(cm.exception))
        a.add_subgraph(b)
        b.add_subgraph(c)
        for inner, outer in ((a, b), (a, c), (b, c)):
            with self.assertRaises(weft.Error) as cm:
                outer.add_subgraph(inner)
            self.assertEqual(cm.exception.code, weft.ECYCLE)
            self.assertEqual(cm.exception.name, "WEFT_ECYCLE")
            self.assertIn("cycle", str(cm.exception))
            self.assertIn("'%s'" % inner.name, str(cm.exception))
        self.assertEqual((len(b), len(c)), (1, 0))   # nothing was added
        with self.assertRaises(TypeError):
            a.add_subgraph("B")
        # shared subgraphs are fine: a diamond of containment
        d = weft.Graph("D")
        d.add_subgraph(b)
        d.add_subgraph(c)
        d.run(self.rt)

    def test_failure_inside_a_subgraph(self):
        sub = weft.Graph("sub")
        ok = sub.add(const, 1, name="ok")
        bad = sub.add(boom, name="bad")
        after = sub.add(const, 2, name="after")
        ok >> bad >> after
        g = weft.Graph("main")
        s = g.add_subgraph(sub, name="inner")
        nxt = g.add(const, 3, name="next")
        other = g.add(const, 4, name="other")
        s >> nxt
        with self.assertRaises(weft.TaskError) as cm:
            g.run(self.rt)
        e = cm.exception
        self.assertEqual(e.node, "bad")
        self.assertEqual(e.path, ("inner", "bad"))
        self.assertIn("'bad'", str(e))
        self.assertIn("'inner'", str(e))
        self.assertIsInstance(e.exception, Boom)
        self.assertIs(e.__cause__, e.exception)
        self.assertIn("inner node failed", e.traceback)
        self.assertEqual(e.code, weft.ETASK)
        run = e.run
        self.assertIs(run.graph, g)
        self.assertEqual(run.status(s), "failed")
        self.assertEqual(run.status(nxt), "skipped")
        self.assertEqual(run.status(other), "done")
        self.assertIs(e.node_run.graph, sub)
        self.assertEqual(e.node_run.status("bad"), "failed")
        self.assertEqual(e.node_run.status("after"), "skipped")
        self.assertIsInstance(e.node_run.exception("bad"), Boom)
        with self.assertRaises(weft.TaskError) as cm2:
            run.result(s)
        self.assertEqual(cm2.exception.path, ("inner", "bad"))
        with self.assertRaises(weft.Error) as cm3:
            run.subrun(nxt)
        self.assertEqual(cm3.exception.code, weft.EINVAL)

    def test_skipped_subgraph_node_has_no_subrun(self):
        sub = self.make_sub()
        g = weft.Graph("main")
        f = g.add(boom, name="f")
        s = g.add_subgraph(sub)
        f >> s
        run = g.run(self.rt, check=False)
        self.assertEqual(run.status(s), "skipped")
        with self.assertRaises(weft.Error) as cm:
            run.subrun(s)
        self.assertEqual(cm.exception.code, weft.ENOENT)
        self.assertIn("skipped", str(cm.exception))

    def test_deep_nesting(self):
        depth = 30
        inner = weft.Graph("level0")
        inner.add(const, "leaf", name="leaf")
        graphs = [inner]
        for d in range(1, depth):
            outer = weft.Graph("level%d" % d)
            outer.add_subgraph(graphs[-1], name="s%d" % d)
            graphs.append(outer)
        top = graphs[-1]
        del graphs, inner, outer
        run = top.run(self.rt)
        expected = "leaf"
        for _ in range(1, depth):
            expected = (expected,)
        self.assertEqual(run.result("s%d" % (depth - 1)), expected)
        r = run
        for d in range(depth - 1, 0, -1):
            r = r.subrun("s%d" % d)
        self.assertEqual(r.graph.name, "level0")
        self.assertEqual(r.result("leaf"), "leaf")
        # a failure at the bottom names the whole path
        r.graph.add(boom, name="deep")
        with self.assertRaises(weft.TaskError) as cm:
            top.run(self.rt)
        self.assertEqual(cm.exception.node, "deep")
        self.assertEqual(len(cm.exception.path), depth)
        self.assertEqual(cm.exception.path[0], "s%d" % (depth - 1))

    def test_results_are_per_run(self):
        counter = iter(range(1000))
        sub = weft.Graph("sub")
        sub.add(lambda: next(counter), name="tick")
        g = weft.Graph("main")
        s = g.add_subgraph(sub)
        r1 = g.run(self.rt)
        r2 = g.run(self.rt)
        self.assertEqual(r1.subrun(s).result("tick"), 0)
        self.assertEqual(r2.subrun(s).result("tick"), 1)
        self.assertEqual(r1.result(s), (0,))
        # the subgraph also runs on its own, with its own results
        r3 = sub.run(self.rt)
        self.assertEqual(r3.result("tick"), 2)
        self.assertEqual(r2.subrun(s).result("tick"), 1)

    def test_same_subgraph_twice(self):
        sub = self.make_sub(k=3)
        g = weft.Graph("main")
        s1 = g.add_subgraph(sub, name="first")
        s2 = g.add_subgraph(sub, name="second")
        s1 >> s2
        run = g.run(self.rt)
        self.assertEqual(run.result(s1), (30, b"5"))
        self.assertEqual(run.result(s2), (30, b"5"))
        a, b = run.subrun(s1), run.subrun(s2)
        self.assertIsNot(a, b)
        self.assertEqual(a.result("b"), 30)
        self.assertEqual(b.result("b"), 30)

    def test_same_subgraph_at_once(self):
        # two subgraph nodes share one graph with no edge between them: both
        # runs of it go at the same time (the barrier needs both inside)
        barrier = threading.Barrier(2, timeout=30)
        order = []

        def meet(tag):
            barrier.wait()
            order.append(tag)
            return len(order)

        sub = weft.Graph("shared")
        sub.add(meet, "x", name="meet")
        g = weft.Graph("main")
        s1 = g.add_subgraph(sub, name="left")
        s2 = g.add_subgraph(sub, name="right")
        for _ in range(3):
            order.clear()
            barrier.reset()
            run = g.run(self.rt)
            self.assertEqual(sorted(run.result(s1) + run.result(s2)), [1, 2])
            self.assertEqual(run.subrun(s1).status("meet"), "done")
            self.assertEqual(run.subrun(s2).status("meet"), "done")
            self.assertEqual(run.counts()["done"], 2)

    def test_task_successor_and_c_subgraph(self):
        sub = weft.Graph("csub")
        p = sub.add_task(weft.SUM_PRIMES_TASK, b"100", name="p")
        q = sub.add_task(weft.SUM_TASK, name="q")      # sums p's result
        p >> q
        g = weft.Graph("main")
        s = g.add_subgraph(sub)
        t = g.add_task(weft.SUM_TASK, b"1", name="t")  # a task gets no bytes from it
        s >> t
        run = g.run(self.rt)
        self.assertEqual(run.result(s), (b"1060",))
        self.assertEqual(run.result(t), b"1")
        self.assertEqual(run.subrun(s).result(p), b"1060")

    def test_loaded_graph_file_as_subgraph(self):
        fg = weft.Graph("filed")
        p = fg.add_task(weft.SUM_PRIMES_TASK, b"100", name="p")
        q = fg.add_task(weft.SUM_TASK, b"1", name="q")
        p >> q
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "g.weft")
            fg.save(path)
            loaded = weft.Graph.load(path)
        g = weft.Graph("main")
        s = g.add_subgraph(loaded)
        y = g.add(collect, name="y")
        s >> y
        run = g.run(self.rt)
        self.assertEqual(run.result(y), ((b"1061",),))
        self.assertEqual(run.subrun(s).results(), {"p": b"1060", "q": b"1061"})

    def test_subgraphs_of_a_loaded_file(self):
        # a file whose top graph runs 'pair' twice (shared, unordered: the
        # two runs may overlap) and 'outer', which runs 'pair' once more
        text = "\n".join([
            "weft-graph 1",
            "name top",
            "graph pair",
            "  node p %s \"100\"" % weft.SUM_PRIMES_TASK,
            "  node q %s \"1\"" % weft.SUM_TASK,
            "  edge p q",
            "end",
            "graph outer",
            "  subgraph inner pair",
            "end",
            "subgraph left pair",
            "subgraph right pair",
            "subgraph deep outer",
            ""])
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "top.wg")
            with open(path, "w") as f:
                f.write(text)
            g = weft.Graph.load(path)
        left, right, deep = g["left"], g["right"], g["deep"]
        self.assertEqual(left.kind, "subgraph")
        pair = left.subgraph
        self.assertIs(right.subgraph, pair)          # one Graph per file graph
        self.assertEqual(pair.name, "pair")
        self.assertEqual(len(pair), 2)
        self.assertIs(deep.subgraph["inner"].subgraph, pair)
        run = g.run(self.rt)
        self.assertEqual(run.result(left), (b"1061",))
        self.assertEqual(run.subrun(left).results(), {"p": b"1060", "q": b"1061"})
        self.assertEqual(run.subrun(right).result("q"), b"1061")
        inner = run.subrun(deep).subrun("inner")
        self.assertEqual(inner.status("p"), "done")
        self.assertEqual(inner.result("q"), b"1061")
        self.assertIn("cluster", g.dot(run))
        # a failure inside names its path
        bad = text.replace('node q %s "1"' % weft.SUM_TASK, 'node q %s "x"' % weft.SUM_TASK)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.wg")
            with open(path, "w") as f:
                f.write(bad)
            b = weft.Graph.load(path)
        with self.assertRaises(weft.TaskError) as cm:
            b.run(self.rt)
        self.assertEqual(cm.exception.node, "q")
        self.assertIn(cm.exception.path, (("left", "q"), ("right", "q"), ("deep", "inner", "q")))
        # an inner graph keeps the whole file alive, and runs on its own
        ref = weakref.ref(g)
        del g, run, left, right, deep, inner
        gc.collect()
        self.assertIsNone(ref())
        self.assertEqual(pair.run(self.rt).result("q"), b"1061")
        del pair
        gc.collect()

    def test_registered_python_task_failing_inside(self):
        def bad_task(arg, *inputs):
            raise Boom("registered task failed")
        weft.register_task("test_subgraph.bad", bad_task)
        try:
            sub = weft.Graph("sub")
            sub.add_task("test_subgraph.bad", b"x", name="rt_bad")
            g = weft.Graph("main")
            g.add_subgraph(sub, name="holder")
            with self.assertRaises(weft.TaskError) as cm:
                g.run(self.rt)
            self.assertEqual(cm.exception.path, ("holder", "rt_bad"))
            self.assertIsInstance(cm.exception.exception, Boom)
        finally:
            weft.unregister_task("test_subgraph.bad")

    def test_subgraph_cannot_change_while_a_parent_runs(self):
        started, release = threading.Event(), threading.Event()

        def block():
            started.set()
            release.wait(10)

        sub = self.make_sub()
        g = weft.Graph("main")
        b = g.add(block, name="block")
        s = g.add_subgraph(sub)
        b >> s
        run = g.run_async(self.rt)
        try:
            self.assertTrue(started.wait(10))
            for change in (lambda: sub.add(const, 1),
                           lambda: sub.add_task(weft.SUM_TASK),
                           lambda: sub.precede(sub["a"], sub["c"]),
                           lambda: sub.add_subgraph(weft.Graph("other"))):
                with self.assertRaises(weft.Error) as cm:
                    change()
                self.assertEqual(cm.exception.code, weft.EBUSY)
            with self.assertRaises(weft.Error):
                g.add_subgraph(weft.Graph("x"))
        finally:
            release.set()
        self.assertTrue(run.ok)
        self.assertEqual(run.result(s), (20, b"5"))
        sub.add(const, 1, name="later")               # allowed again
        # the old subrun is stale now
        with self.assertRaises(weft.Error) as cm:
            run.result(s)
        self.assertEqual(cm.exception.code, weft.ESTALE)

    def test_cancel_reaches_the_subgraph(self):
        started, release = threading.Event(), threading.Event()

        def block():
            started.set()
            release.wait(10)

        sub = weft.Graph("sub")
        b = sub.add(block, name="block")
        rest = sub.add(const, 1, name="rest")
        b >> rest
        g = weft.Graph("main")
        s = g.add_subgraph(sub)
        run = g.run_async(self.rt)
        self.assertTrue(started.wait(10))
        run.cancel()
        release.set()
        # a cancelled run reports cancellation at every depth (issue 7.5)
        self.assertEqual(run.code, weft.ECANCELED)
        self.assertEqual(run.status(s), "cancelled")
        sr = run.subrun(s)
        self.assertEqual(sr.status(b), "done")
        self.assertEqual(sr.status(rest), "cancelled")
        self.assertEqual(sr.code, weft.ECANCELED)
        with self.assertRaises(weft.Error) as cm:
            run.raise_for_failure()
        self.assertEqual(cm.exception.code, weft.ECANCELED)

    def test_reference_counts(self):
        payload = object()
        fn = lambda: payload                          # noqa: E731
        base_payload, base_fn = sys.getrefcount(payload), sys.getrefcount(fn)
        sub = weft.Graph("sub")
        sub.add(fn, name="p")
        base_sub = sys.getrefcount(sub)
        g = weft.Graph("main")
        s = g.add_subgraph(sub)
        s2 = g.add_subgraph(sub)
        s >> s2
        self.assertEqual(sys.getrefcount(sub), base_sub + 2)   # g._subs, twice
        self.assertEqual(sys.getrefcount(fn), base_fn + 1)     # sub's node
        for _ in range(20):
            run = g.run(self.rt)
            self.assertIs(run.result(s)[0], payload)
            subs = [run.subrun(s), run.subrun(s2), run.subrun(s)]
            self.assertIs(subs[2].result("p"), payload)
            # held by both subruns' storage (results), plus this frame's
            self.assertEqual(sys.getrefcount(payload), base_payload + 2)
            del subs, run
            self.assertEqual(sys.getrefcount(payload), base_payload)
        # a failing inner node: its exception goes with the run
        sub.add(boom, name="bad")
        base_sub += 1                                 # the new Node refers to sub
        with self.assertRaises(weft.TaskError) as cm:
            g.run(self.rt)
        exc = cm.exception.exception
        base_exc = sys.getrefcount(exc)
        err = cm.exception
        del cm
        del err
        gc.collect()
        self.assertLess(sys.getrefcount(exc), base_exc)
        del g, s, s2
        gc.collect()
        self.assertEqual(sys.getrefcount(sub), base_sub)
        self.assertEqual(sys.getrefcount(payload), base_payload)
        del sub
        gc.collect()
        self.assertEqual(sys.getrefcount(fn), base_fn)


if __name__ == "__main__":
    unittest.main()
