"""Reference counting is exact: jobs and graph runs hold their functions,
arguments and results exactly as long as they live, and a million tasks
leave memory flat."""
import gc
import os
import sys
import unittest

import weft

SCALE = float(os.environ.get("WEFT_TEST_SCALE", "1"))


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise unittest.SkipTest("no VmRSS in /proc/self/status")


def ident(x):
    return x


def keep(x, *rest):
    return (x, rest)


def raise_with(x):
    raise ValueError("holds", x)


class Sentinel:
    pass


class RefcountTest(unittest.TestCase):
    def settle(self):
        for _ in range(3):
            gc.collect()

    def test_jobs_release_everything(self):
        s = Sentinel()
        self.settle()
        base = sys.getrefcount(s)
        seen = []
        with weft.Runtime(2) as rt:
            jobs = [rt.submit(ident, s) for _ in range(1000)]
            jobs += [rt.submit(keep, s, s, callback=seen.append, callbackargs=())
                     for _ in range(100)]
            jobs += [rt.submit(keep, 1, callback=lambda r, x: None, callbackargs=(s,))
                     for _ in range(100)]
            jobs += [rt.submit(raise_with, s, group="g") for _ in range(100)]
            rt.wait()
            self.assertGreater(sys.getrefcount(s), base + 1000)
            for j in jobs[:1000]:
                self.assertIs(j(), s)
            for j in jobs[1200:]:
                with self.assertRaises(weft.TaskError):
                    j()
            del j, jobs, seen
            self.settle()
            self.assertEqual(sys.getrefcount(s), base)
            # fire and forget: dropped handles
            for _ in range(1000):
                rt.submit(ident, s)
            rt.wait()
            self.settle()
            self.assertEqual(sys.getrefcount(s), base)
        self.settle()
        self.assertEqual(sys.getrefcount(s), base)

    def test_functions_and_runtime_are_released(self):
        s = Sentinel()
        fn = lambda: s            # noqa: E731
        self.settle()
        base_fn, base_s = sys.getrefcount(fn), sys.getrefcount(s)
        rt = weft.Runtime(2)
        rt_base = sys.getrefcount(rt)
        jobs = [rt.submit(fn) for _ in range(100)]
        self.assertEqual(sys.getrefcount(fn), base_fn + 100)
        self.assertEqual(sys.getrefcount(rt), rt_base + 100)
        self.assertEqual([j() for j in jobs], [s] * 100)
        del jobs
        self.settle()
        self.assertEqual(sys.getrefcount(fn), base_fn)
        self.assertEqual(sys.getrefcount(s), base_s)
        self.assertEqual(sys.getrefcount(rt), rt_base)
        rt.close()

    def test_graphs_and_runs_release_everything(self):
        s = Sentinel()
        self.settle()
        base = sys.getrefcount(s)
        with weft.Runtime(2) as rt:
            g = weft.Graph("refs")
            a = g.add(ident, s, name="a")
            b = g.add(keep, s, name="b")          # keep(s, <a's result>)
            c = g.add(raise_with, s, name="c", inputs=False)
            a >> b
            runs = [g.run(rt, check=False) for _ in range(20)]
            self.assertIs(runs[-1].result(a), s)
            self.assertEqual(runs[-1].result(b), (s, (s,)))
            del runs
            self.settle()
            # only the graph's own references remain: a's and b's and c's args
            self.assertEqual(sys.getrefcount(s), base + 3)
            run = g.run(rt, check=False)
            del g, a, b, c          # the run keeps its graph alive
            self.assertIs(run.result(0), s)
            del run
            self.settle()
            self.assertEqual(sys.getrefcount(s), base)


@unittest.skipIf(os.environ.get("WEFT_TEST_SANITIZER"),
                 "RSS is meaningless under a sanitizer (freed memory sits in quarantine)")
class MemoryTest(unittest.TestCase):
    def test_a_million_jobs_leave_memory_flat(self):
        total = max(int(1000000 * SCALE), 50000)
        batch = 10000
        with weft.Runtime(2) as rt:
            def one_batch(k):
                jobs = [rt.submit(ident, i) for i in range(k, k + batch)]
                got = [j() for j in jobs]
                self.assertEqual(got[0], k)
                self.assertEqual(got[-1], k + batch - 1)
            done = 0
            for _ in range(5):                  # warm-up: caches, arenas
                one_batch(done)
                done += batch
            gc.collect()
            before = rss_kib()
            while done < total:
                one_batch(done)
                done += batch
            gc.collect()
            after = rss_kib()
            self.assertEqual(rt.stats()["jobs_run"], done)
        growth = after - before
        self.assertLess(growth, 4096, "RSS grew by %d KiB over %d jobs" % (growth, done))

    def test_graph_reruns_leave_memory_flat(self):
        g = weft.Graph("rerun")
        src = g.add(ident, b"7 " * 50, name="src")
        mids = [g.add(len, name="m%d" % i) for i in range(50)]
        src >> mids
        t = g.add_task(weft.SUM_TASK, b"1", name="t")
        src >> t
        reps = max(int(2000 * SCALE), 200)
        with weft.Runtime(2) as rt:
            for _ in range(50):
                g.run(rt)
            gc.collect()
            before = rss_kib()
            for _ in range(reps):
                run = g.run(rt)
            self.assertEqual(run.result("m3"), 100)
            del run
            gc.collect()
            after = rss_kib()
        self.assertLess(after - before, 4096, "RSS grew by %d KiB over %d runs"
                        % (after - before, reps))


def tiny(i):
    return i + 1


def workers_kib():
    """Resident memory of this process's children (the worker processes)."""
    total = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/children" % tid) as f:
                pids = f.read().split()
        except OSError:
            continue
        for pid in pids:
            try:
                with open("/proc/%s/status" % pid) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
            except OSError:
                pass
    return total


@unittest.skipIf(os.environ.get("WEFT_TEST_SANITIZER"),
                 "RSS is meaningless under a sanitizer (freed memory sits in quarantine)")
class ProcessMemoryTest(unittest.TestCase):
    def test_jobs_through_processes_leave_memory_flat(self):
        """Rounds of tiny jobs through 2 worker processes: after the first
        two rounds (warm-up, caches, allocator pools) neither this process
        nor the workers grow. tools/bench_python_procs.py --memory 1000000
        measures a million."""
        per = max(2000, int(50000 * SCALE))
        rounds = []
        with weft.Runtime(processes=2) as rt:
            for r in range(5):
                jobs = [rt.submit(tiny, i) for i in range(per)]
                self.assertEqual(sum(j() for j in jobs), per * (per + 1) // 2)
                del jobs
                gc.collect()
                rounds.append((rss_kib(), workers_kib()))
        self.assertGreater(rounds[-1][1], 0, "no worker process seen")
        grow_parent = rounds[-1][0] - rounds[1][0]
        grow_workers = rounds[-1][1] - rounds[1][1]
        self.assertLess(grow_parent, 8192, "this process grew %d KiB over 3 rounds of %d: %r"
                        % (grow_parent, per, rounds))
        self.assertLess(grow_workers, 4096, "the workers grew %d KiB over 3 rounds of %d: %r"
                        % (grow_workers, per, rounds))


if __name__ == "__main__":
    unittest.main()
