"""Task graphs from Python: nodes, edges, runs, results, failures, cancel,
dot, graph files, traces, progress, named tasks."""
import io
import json
import os
import tempfile
import threading
import time
import unittest

import weft

SUM_PRIMES_100000 = 454396537


def const(x):
    return x


def add_all(*xs):
    return sum(xs)


def collect(*xs):
    return list(xs)


class Fail(Exception):
    pass


def fail(*_):
    raise Fail("node failed")


class GraphTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rt = weft.Runtime(2)

    @classmethod
    def tearDownClass(cls):
        cls.rt.close()

    def test_build_and_inspect(self):
        g = weft.Graph("shapes")
        a = g.add(const, 1, name="a")
        b = g.add(const, 2)
        t = g.add_task(weft.SUM_TASK, b"5", name="t")
        self.assertEqual(g.name, "shapes")
        self.assertEqual(len(g), 3)
        self.assertEqual(g.nodes, [a, b, t])
        self.assertEqual(list(g), [a, b, t])
        self.assertEqual((a.id, b.id, t.id), (0, 1, 2))
        self.assertEqual(a.name, "a")
        self.assertEqual(b.name, "n1")             # weft's default name
        self.assertIs(g["a"], a)
        self.assertIs(g.node("t"), t)
        self.assertIs(g[1], b)
        with self.assertRaises(KeyError):
            g["nope"]
        self.assertEqual((a.kind, t.kind), ("call", "task"))
        self.assertIsNone(a.task)
        self.assertEqual(t.task, weft.SUM_TASK)
        self.assertIn("shapes", repr(g))
        self.assertIn("'a'", repr(a))
        self.assertEqual(a, g["a"])
        self.assertEqual(len({a, g["a"], b}), 2)

    def test_edges_all_ways(self):
        g = weft.Graph("edges")
        a, b, c, d, e, f = (g.add(collect, name=n) for n in "abcdef")
        a >> b >> c                 # chain
        c >> [d, e]                 # fan out
        [d, e] >> f                 # fan in
        self.assertEqual(g.edge_count, 6)
        x = g.add(const, "x", name="x")
        y = g.add(collect, name="y")
        y.succeed(x)
        x.precede(f)
        f << y                      # y before f
        g.precede(a, y)
        self.assertEqual(g.edge_count, 10)
        run = g.run(self.rt)
        self.assertEqual(run.result(x), "x")
        self.assertEqual(run.result(y), ["x", []])      # inputs in edge order
        # f's inputs: d, e, x, y in the order the edges were added
        self.assertEqual(run.result(f), [[[[[]]]], [[[[]]]], "x", ["x", []]])

    def test_edge_argument_errors(self):
        g, h = weft.Graph("g"), weft.Graph("h")
        a = g.add(const, 1)
        other = h.add(const, 2)
        with self.assertRaisesRegex(TypeError, "expected a weft.Node, not int"):
            a >> 3
        with self.assertRaisesRegex(ValueError, "belongs to another graph"):
            a >> other
        with self.assertRaisesRegex(ValueError, "belongs to another graph"):
            a.precede([other])
        with self.assertRaisesRegex(TypeError, "expected a weft.Node"):
            a.succeed("a")
        self.assertEqual(g.edge_count, 0)

    def test_inputs_results_and_rerun(self):
        calls = []
        lock = threading.Lock()

        def source(v):
            with lock:
                calls.append(v)
            return v

        g = weft.Graph("sum")
        a = g.add(source, 1, name="a")
        b = g.add(source, 2, name="b")
        c = g.add(add_all, 100, name="c")        # 100 + a + b + a (duplicate edge)
        a >> c
        b >> c
        a >> c
        run = g.run(self.rt)
        self.assertTrue(run.ok)
        self.assertEqual(run.code, 0)
        self.assertEqual(run.result(c), 104)
        self.assertEqual(run.result("a"), 1)
        self.assertEqual(run.status(c), "done")
        self.assertEqual(run.results(), {"a": 1, "b": 2, "c": 104})
        cnt = run.counts()
        self.assertEqual((cnt["total"], cnt["done"], cnt["failed"], cnt["skipped"],
                          cnt["cancelled"]), (3, 3, 0, 0, 0))
        self.assertIsNone(cnt["first_failed"])
        self.assertGreaterEqual(cnt["wall_s"], 0)
        run2 = g.run(self.rt)                    # build once, run again
        self.assertEqual(run2.result(c), 104)
        self.assertEqual(run.result(c), 104)     # the first run keeps its results
        last = g.run(self.rt, times=5)
        self.assertEqual(last.result(c), 104)
        self.assertEqual(sorted(calls), [1] * 7 + [2] * 7)
        self.assertIn("3 done", repr(last))

    def test_c_tasks_in_a_python_graph(self):
        g = weft.Graph("mixed")
        lim = g.add(lambda: b"100000", name="limit")
        primes = g.add_task(weft.SUM_PRIMES_TASK, name="primes")      # reads its input
        direct = g.add_task(weft.SUM_PRIMES_TASK, "100000", name="direct")
        three = g.add(lambda: "3", name="three")                     # str: read as bytes
        total = g.add_task(weft.SUM_TASK, b"1 2", name="total")      # 1 + 2 + 3 + primes
        back = g.add(lambda p, t: (int(p), int(t)), name="back")
        lim >> primes >> total
        three >> total
        [primes, total] >> back
        run = g.run(self.rt)
        self.assertEqual(run.result(primes), str(SUM_PRIMES_100000).encode())
        self.assertEqual(run.result(direct), str(SUM_PRIMES_100000).encode())
        self.assertEqual(run.result(total), str(SUM_PRIMES_100000 + 6).encode())
        self.assertEqual(run.result(back), (SUM_PRIMES_100000, SUM_PRIMES_100000 + 6))
        self.assertEqual(run.result(lim), b"100000")

    def test_python_node_failure(self):
        g = weft.Graph("failing")
        a = g.add(const, 1, name="a")
        bad = g.add(fail, name="bad")
        after = g.add(collect, name="after")
        independent = g.add(const, 2, name="independent")
        a >> bad >> after
        with self.assertRaises(weft.TaskError) as cm:
            g.run(self.rt)
        err = cm.exception
        self.assertEqual(err.node, "bad")
        self.assertIsInstance(err.exception, Fail)
        self.assertIs(err.__cause__, err.exception)
        self.assertIn("node 'bad' raised Fail: node failed", str(err))
        self.assertIn("in fail", err.traceback)
        run = err.run
        self.assertEqual(run.status(a), "done")
        self.assertEqual(run.status(bad), "failed")
        self.assertEqual(run.status(after), "skipped")
        self.assertEqual(run.status(independent), "done")
        self.assertEqual(run.code, weft.ETASK)
        c = run.counts()
        self.assertEqual((c["done"], c["failed"], c["skipped"]), (2, 1, 1))
        self.assertIs(c["first_failed"], bad)
        self.assertIsInstance(run.exception(bad), Fail)
        self.assertIsNone(run.exception(a))
        with self.assertRaises(weft.TaskError):
            run.result(bad)
        with self.assertRaises(weft.Error) as cm:
            run.result(after)
        self.assertEqual(cm.exception.code, weft.ENOENT)
        self.assertIn("skipped", str(cm.exception))
        # check=False: the run comes back
        run = g.run(self.rt, check=False)
        self.assertFalse(run.ok)
        with self.assertRaises(weft.TaskError):
            run.raise_for_failure()

    def test_c_node_failure(self):
        g = weft.Graph("cfail")
        bad = g.add_task(weft.SUM_PRIMES_TASK, b"not a number", name="bad")
        with self.assertRaises(weft.TaskError) as cm:
            g.run(self.rt)
        err = cm.exception
        self.assertEqual(err.node, "bad")
        self.assertIsNone(err.exception)
        self.assertEqual(err.status, weft.EINVAL)
        self.assertIn("task weft.sum_primes", str(err))
        self.assertIn("invalid argument", str(err))
        del bad

    def test_cancel_async_run(self):
        started, gate = threading.Event(), threading.Event()

        def blocker():
            started.set()
            gate.wait(10)
            return "finished"

        g = weft.Graph("cancel")
        first = g.add(blocker, name="first")
        rest = [g.add(const, i, name="n%d" % i, inputs=False) for i in range(20)]
        first >> rest
        run = g.run_async(self.rt)
        self.assertTrue(started.wait(10))
        self.assertFalse(run.done())
        self.assertFalse(run.wait(timeout=0.05))
        second = g.run_async(self.rt)             # runs may overlap
        with self.assertRaises(weft.Error) as cm:
            g.add(const, 1)                       # no changes while they run
        self.assertEqual(cm.exception.code, weft.EBUSY)
        self.assertIn("running", repr(run))
        run.cancel()
        gate.set()
        self.assertTrue(run.wait(timeout=10))
        self.assertTrue(second.wait(timeout=10))
        self.assertEqual(second.code, weft.OK)    # not cancelled: its own run
        self.assertEqual(second.result(first), "finished")
        self.assertEqual(second.counts()["done"], 21)
        self.assertEqual([second.result(n) for n in rest], list(range(20)))
        self.assertTrue(run.done())
        self.assertEqual(run.code, weft.ECANCELED)
        self.assertEqual(run.result(first), "finished")
        self.assertEqual({run.status(n) for n in rest}, {"cancelled"})
        self.assertEqual(run.counts()["cancelled"], 20)
        with self.assertRaises(weft.Error) as cm:
            run.raise_for_failure()
        self.assertEqual(cm.exception.code, weft.ECANCELED)
        self.assertTrue(g.run(self.rt).ok)        # runs again normally

    def test_jobs_a_node_submitted_see_its_cancellation(self):
        # weft.cancelled() is weft_run_cancelled(weft_current_run()), the
        # answer Lua's weft.cancelled() gives too: a job that a node
        # submitted (and did not wait for) works for the node's run, and
        # so does a job that job submits; the run completes after them.
        started = threading.Event()
        jobs = []

        def inner():
            return weft.cancelled()

        def poll():
            before = weft.cancelled()
            started.set()
            deadline = time.monotonic() + 30
            while not weft.cancelled() and time.monotonic() < deadline:
                time.sleep(0.001)
            nested = self.rt.submit(inner)      # a job of the job, same run
            return before, weft.cancelled(), nested()

        def node():
            jobs.append(self.rt.submit(poll))  # not waited for here
            return "submitted"

        g = weft.Graph("spawning")
        a = g.add(node, name="a")
        run = g.run_async(self.rt)
        self.assertTrue(started.wait(10))
        self.assertFalse(jobs[0].done())
        run.cancel()
        self.assertTrue(run.wait(timeout=30))
        self.assertTrue(jobs[0].done(), "the run completes after the job its node submitted")
        self.assertEqual(jobs[0](), (False, True, True))
        self.assertEqual(run.result(a), "submitted")   # the node had finished
        # a run that is not cancelled: False in such a job too
        quiet = weft.Graph("quiet jobs")
        seen = []
        quiet.add(lambda: seen.append(self.rt.submit(weft.cancelled)), name="q")
        quiet.run(self.rt)
        self.assertIs(seen[0](), False)
        # outside every run: False, in the main thread and in jobs
        self.assertIs(weft.cancelled(), False)
        self.assertIs(self.rt.submit(weft.cancelled)(), False)

    def test_a_node_polls_for_cancellation(self):
        started = threading.Event()

        def poller():
            before = weft.cancelled()
            started.set()
            deadline = time.monotonic() + 30
            while not weft.cancelled() and time.monotonic() < deadline:
                time.sleep(0.001)
            return before, weft.cancelled()

        g = weft.Graph("polling")
        p = g.add(poller, name="poller")
        rest = [g.add(const, i, name="r%d" % i, inputs=False) for i in range(5)]
        p >> rest
        run = g.run_async(self.rt)
        self.assertTrue(started.wait(10))
        run.cancel()
        self.assertTrue(run.wait(timeout=30))
        self.assertEqual(run.result(p), (False, True))   # stopped early, done
        self.assertEqual(run.status(p), "done")
        self.assertEqual({run.status(n) for n in rest}, {"cancelled"})
        self.assertEqual(run.code, weft.ECANCELED)
        # anywhere else: False
        self.assertFalse(weft.cancelled())
        self.assertFalse(self.rt.submit(weft.cancelled)())
        q = weft.Graph("quiet")
        n = q.add(weft.cancelled, name="n")
        self.assertIs(q.run(self.rt).result(n), False)

    def test_dropping_a_running_run_cancels_and_waits(self):
        gate = threading.Event()
        g = weft.Graph("drop")
        a = g.add(gate.wait, 10, name="a")
        b = g.add(const, 1, name="b", inputs=False)
        a >> b
        run = g.run_async(self.rt)
        threading.Timer(0.1, gate.set).start()
        del run                                   # cancels b, waits for a
        run = g.run(self.rt)
        self.assertEqual(run.result(b), 1)

    def test_a_node_cannot_change_its_running_graph(self):
        g = weft.Graph("self-changing")

        def grow():
            g.add(const, 1)

        def link():
            g.precede(g["grow"], g["link"])

        def add_task():
            g.add_task(weft.SUM_TASK)

        for fn in (grow, link, add_task):
            g.add(fn, name=fn.__name__)
        run = g.run(self.rt, check=False)
        for name in ("grow", "link", "add_task"):
            self.assertEqual(run.status(name), "failed")
            e = run.exception(name)
            self.assertIsInstance(e, weft.Error)
            self.assertEqual(e.code, weft.EBUSY)
        self.assertEqual((len(g), g.edge_count), (3, 0))

    def test_overlapping_runs_keep_their_own_results(self):
        barrier = threading.Barrier(2, timeout=30)
        seen = []

        def meet(x):
            barrier.wait()                        # both runs are inside at once
            seen.append(x)
            return len(seen)

        g = weft.Graph("overlap")
        a = g.add(meet, "x", name="a")
        b = g.add(lambda x: 10 * x, name="b")
        a >> b
        for _ in range(3):
            seen.clear()
            r1, r2 = g.run_async(self.rt), g.run_async(self.rt)
            self.assertTrue(r1.wait(timeout=30) and r2.wait(timeout=30))
            self.assertEqual(sorted([r1.result(a), r2.result(a)]), [1, 2])
            self.assertEqual(r1.result(b), 10 * r1.result(a))
            self.assertEqual(r2.result(b), 10 * r2.result(a))
            del r1, r2
        self.assertEqual(len(g), 2)

    def test_a_node_cannot_run_its_own_graph(self):
        g = weft.Graph("self-running")

        def again():
            g.run(self.rt)

        g.add(again, name="again")
        run = g.run(self.rt, check=False)
        e = run.exception("again")
        self.assertIsInstance(e, weft.Error)
        self.assertEqual(e.code, weft.EBUSY)
        self.assertIn("'self-running' cannot run inside one of its own runs", str(e))

    def test_stale_run_after_change(self):
        g = weft.Graph("stale")
        a = g.add(const, 1)
        run = g.run(self.rt)
        g.add(const, 2)
        with self.assertRaises(weft.Error) as cm:
            run.status(a)
        self.assertEqual(cm.exception.code, weft.ESTALE)

    def test_cycle(self):
        g = weft.Graph("loop")
        a, b, c = g.add(const, 1, name="a"), g.add(collect, name="b"), g.add(collect, name="c")
        a >> b >> c >> b
        with self.assertRaises(weft.Error) as cm:
            g.check()
        self.assertEqual(cm.exception.code, weft.ECYCLE)
        self.assertRegex(str(cm.exception), "cycle through node '[bc]'")
        with self.assertRaises(weft.Error) as cm:
            g.run(self.rt)
        self.assertEqual(cm.exception.code, weft.ECYCLE)

    def test_unregistered_task(self):
        g = weft.Graph("missing")
        g.add_task("no.such.task", name="m")
        with self.assertRaises(weft.Error) as cm:
            g.run(self.rt)
        self.assertEqual(cm.exception.code, weft.ENOENT)
        self.assertIn("task 'no.such.task' is not registered", str(cm.exception))

    def test_dot(self):
        g = weft.Graph("drawn")
        a = g.add(const, 1, name="load")
        b = g.add(fail, name="parse")
        a >> b
        text = g.dot()
        self.assertIn('digraph "drawn"', text)
        self.assertIn("load", text)
        self.assertIn("n0 -> n1", text)
        run = g.run(self.rt, record=True, check=False)
        colored = run.dot()
        self.assertIn("failed", colored)
        self.assertNotEqual(colored, text)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "g.dot")
            self.assertEqual(g.dot(run, path), colored)
            with open(path) as f:
                self.assertEqual(f.read(), colored)
        with self.assertRaises(TypeError):
            g.dot(run="x")
        other = weft.Graph("other")
        other.add(const, 1)
        with self.assertRaises(ValueError):
            other.dot(run)

    def test_trace_stats_and_times(self):
        g = weft.Graph("traced")
        nodes = [g.add(time.sleep, 0.002, name="s%d" % i) for i in range(6)]
        run = g.run(self.rt, record=True)
        doc = json.loads(run.trace())
        names = {e.get("name") for e in doc["traceEvents"]}
        self.assertTrue({"s0", "s5"} <= names)
        start, end, worker = run.node_time(nodes[0])
        self.assertGreaterEqual(end - start, 0.0015)
        self.assertIn(worker, (-1, 0, 1))
        text = run.stats_text()
        self.assertIn("weft run statistics: graph 'traced', 6 nodes", text)
        self.assertIn("done 6, failed 0", text)
        out = io.StringIO()
        run.print_stats(out)
        self.assertEqual(out.getvalue(), text)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "t.json")
            run.trace(p)
            with open(p) as f:
                json.load(f)
            run.save(os.path.join(d, "t.run"))
            self.assertTrue(os.path.getsize(os.path.join(d, "t.run")) > 0)
        plain = g.run(self.rt)                     # not recorded
        self.assertIsNone(plain.node_time(nodes[0]))
        with self.assertRaises(weft.Error) as cm:
            plain.trace()
        self.assertEqual(cm.exception.code, weft.ENOENT)

    def test_progress(self):
        seen = []
        g = weft.Graph("progress")
        prev = None
        for i in range(8):
            n = g.add(time.sleep, 0.02, name="p%d" % i, inputs=False)
            if prev is not None:
                prev >> n
            prev = n
        g.run(self.rt, progress=seen.append, progress_interval=0.02)
        self.assertGreaterEqual(len(seen), 2)
        self.assertIsInstance(seen[-1], weft.Progress)
        self.assertEqual((seen[-1].finished, seen[-1].total), (8, 8))
        self.assertTrue(all(p.total == 8 for p in seen))
        self.assertEqual([p.finished for p in seen], sorted(p.finished for p in seen))
        g.run(self.rt, progress=True)              # the C bar: quiet without a terminal

        def bad(p):
            raise KeyError("progress")
        with self.assertRaises(KeyError):
            g.run(self.rt, progress=bad, progress_interval=0.01)
        self.assertTrue(g.run(self.rt).ok)

    def test_registered_python_tasks_and_graph_files(self):
        def shout(arg, *inputs):
            return arg.upper() + b"".join(i or b"" for i in inputs)

        def broken(arg, *inputs):
            raise Fail("registered task failed")

        weft.register_task("test.shout", shout)
        weft.register_task("test.broken", broken)
        self.assertTrue(weft.task_registered("test.shout"))
        self.assertTrue(weft.task_registered(weft.SUM_PRIMES_TASK))
        self.assertFalse(weft.task_registered("test.nothing"))
        g = weft.Graph("files")
        a = g.add_task("test.shout", b"abc", name="a")
        b = g.add_task("test.shout", "d\u00e9f", name="b")      # str: UTF-8
        c = g.add_task("test.shout", None, name="c")
        p = g.add_task(weft.SUM_PRIMES_TASK, b"100", name="p")
        [a, b] >> c
        run = g.run(self.rt)
        self.assertEqual(run.result(c), b"ABCD\xc3\xa9F")
        self.assertEqual(run.result(p), b"1060")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "files.wg")
            g.save(path)
            with open(path) as f:
                self.assertIn("weft-graph 1", f.read())
            h = weft.Graph.load(path)
            self.assertEqual(h.name, "files")
            self.assertEqual([n.name for n in h], ["a", "b", "c", "p"])
            self.assertEqual(h["c"].task, "test.shout")
            self.assertEqual(h.edge_count, 2)
            run2 = h.run(self.rt)
            self.assertEqual(run2.result("c"), b"ABCD\xc3\xa9F")
            # a loaded graph grows like any other
            tail = h.add(lambda x: x.decode(), name="tail")
            h["c"] >> tail
            self.assertEqual(h.run(self.rt).result(tail), "ABCD\u00e9F")
            with open(os.path.join(d, "bad.wg"), "w") as f:
                f.write("weft-graph 1\nnode a t\nedge a zz\n")
            with self.assertRaises(weft.Error) as cm:
                weft.Graph.load(os.path.join(d, "bad.wg"))
            self.assertEqual(cm.exception.code, weft.EPARSE)
            self.assertIn("line 3", str(cm.exception))
            with self.assertRaises(weft.Error) as cm:
                weft.Graph.load(os.path.join(d, "missing.wg"))
            self.assertEqual(cm.exception.code, weft.EIO)
        g2 = weft.Graph("broken")
        x = g2.add_task("test.broken", b"", name="x")
        with self.assertRaises(weft.TaskError) as cm:
            g2.run(self.rt)
        self.assertIsInstance(cm.exception.exception, Fail)
        self.assertEqual(cm.exception.node, "x")
        weft.unregister_task("test.broken")
        self.assertFalse(weft.task_registered("test.broken"))
        with self.assertRaises(weft.Error) as cm:
            weft.unregister_task("test.broken")
        self.assertEqual(cm.exception.code, weft.ENOENT)
        with self.assertRaises(ValueError):
            weft.register_task("has blank", shout)
        with self.assertRaises(TypeError):
            weft.register_task("x", 3)

    def test_default_runtime(self):
        g = weft.Graph("default")
        a = g.add(const, 5)
        self.assertEqual(g.run().result(a), 5)
        self.assertIs(weft.default_runtime(), weft.default_runtime())

    def test_big_graph(self):
        g = weft.Graph("big")
        root = g.add(const, 1, name="root")
        mids = [g.add(add_all, i) for i in range(2000)]
        root >> mids
        sink = g.add(add_all, name="sink")
        mids >> sink
        run = g.run(self.rt)
        self.assertEqual(run.result(sink), sum(i + 1 for i in range(2000)))
        self.assertEqual(run.counts()["done"], 2002)

    def test_nesting_jobs_and_graphs(self):
        rt = self.rt
        g = weft.Graph("inner")
        a = g.add(const, 3, name="a")
        b = g.add(lambda x: rt.submit(lambda y: y * 2, x)(), name="b")   # a node waits for a job
        a >> b

        def job_runs_graph():
            return g.run(rt).result(b)
        self.assertEqual(rt.submit(job_runs_graph)(), 6)               # a job runs a graph

    def test_wrong_arguments(self):
        g = weft.Graph("args")
        with self.assertRaisesRegex(TypeError, "fn must be callable"):
            g.add(3)
        with self.assertRaisesRegex(TypeError, "task must be a str"):
            g.add_task(3)
        with self.assertRaisesRegex(TypeError, "argument must be bytes"):
            g.add_task(weft.SUM_TASK, 12)
        with self.assertRaisesRegex(TypeError, "node name must be a str"):
            g.add(const, 1, name=5)
        with self.assertRaisesRegex(ValueError, "task name must not be empty"):
            g.add_task("")
        with self.assertRaisesRegex(TypeError, "graph name must be a str"):
            weft.Graph(3)
        a = g.add(const, 1)
        with self.assertRaisesRegex(TypeError, "expected a weft.Runtime"):
            g.run("rt")
        with self.assertRaisesRegex(ValueError, "times must be"):
            g.run(self.rt, times=0)
        with self.assertRaisesRegex(TypeError, "progress must be"):
            g.run(self.rt, progress="yes")
        run = g.run(self.rt)
        with self.assertRaisesRegex(ValueError, "no node 7"):
            run.status(7)
        with self.assertRaises(TypeError):
            run.status(1.5)
        with self.assertRaises(KeyError):
            run.status("nope")
        closed = weft.Runtime(1)
        closed.close()
        with self.assertRaises(weft.Error) as cm:
            g.run(closed)
        self.assertEqual(cm.exception.code, weft.EDESTROYED)
        self.assertEqual(g.run(self.rt).result(a), 1)   # all still fine


if __name__ == "__main__":
    unittest.main()
