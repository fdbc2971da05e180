"""weft.Runtime(processes=N, nodes=[...]): Python jobs in worker processes
and on weftd nodes started with --python. Exact results, the Job/Future
semantics, failures of tasks and of workers (kill -9 in a batch, os._exit,
a segfault), Ctrl-C, close and a killed parent leaving no process behind."""

import concurrent.futures as cf
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import weft
import proc_tasks as t

SCALE = float(os.environ.get("WEFT_TEST_SCALE", "1"))
HERE = os.path.dirname(os.path.abspath(__file__))


def alive(pid):
    """True while pid runs (a zombie counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_gone(pids, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end and any(alive(p) for p in pids):
        time.sleep(0.02)
    return [p for p in pids if alive(p)]


class Processes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rt = weft.Runtime(processes=2)

    @classmethod
    def tearDownClass(cls):
        pids = cls.rt.process_info()["pids"]
        cls.rt.close()
        assert wait_gone(pids, 5) == []

    def test_exact_results(self):
        rt = self.rt
        n = max(200, int(2000 * SCALE))
        jobs = [rt.submit(t.square, i) for i in range(n)]
        self.assertEqual([j() for j in jobs], [i * i for i in range(n)])
        self.assertEqual(rt.submit(t.add, 1, 2, c=3).result(30), 6)
        self.assertEqual(rt.submit(t.add, 1, b=5)(), 6)
        self.assertEqual(rt.submit(lambda x, y: x * y, 6, 7)(), 42)   # by value
        self.assertEqual(rt.map(t.square, range(10)), [i * i for i in range(10)])
        self.assertEqual(rt.map(t.square, range(100), chunksize=7),
                         [i * i for i in range(100)])
        self.assertEqual(list(rt.imap(t.square, range(20))), [i * i for i in range(20)])
        big = bytes(range(256)) * 1000
        self.assertEqual(rt.submit(len, big)(), 256000)
        huge = big * 12                                     # 3 MB: chunked on the wire
        self.assertEqual(rt.submit(len, huge)(), 3072000)
        self.assertEqual(rt.submit(bytes, 3000000)(), bytes(3000000))

    def test_runs_in_the_processes(self):
        pids = set(self.rt.map(t.pid_of, range(200)))
        live = set(self.rt.process_info()["pids"])
        self.assertTrue(pids <= live, (pids, live))
        self.assertNotIn(os.getpid(), pids)
        self.assertEqual(self.rt.processes, 2)

    def test_task_error(self):
        j = self.rt.submit(t.boom, 3)
        with self.assertRaises(weft.TaskError) as cm:
            j()
        e = cm.exception
        self.assertEqual(e.remote_type, "ValueError")
        self.assertIsInstance(e.exception, ValueError)
        self.assertEqual(str(e.exception), "boom 3")
        self.assertIn("job boom raised ValueError: boom 3", str(e))
        self.assertIn('raise ValueError("boom %d" % x)', e.traceback)
        self.assertEqual(j.status, "failed")
        self.assertIsInstance(j.exception(), ValueError)

    def test_callbacks_groups_wait(self):
        rt = self.rt
        seen = []
        jobs = [rt.submit(t.square, i, callback=seen.append, group="g1") for i in range(50)]
        got = []
        jobs[0].add_done_callback(lambda j: got.append(j.result()))
        self.assertTrue(rt.wait("g1", timeout=60))
        self.assertEqual(sorted(seen), sorted(i * i for i in range(50)))
        self.assertEqual(rt.group("g1").pending, 0)
        self.assertEqual(got, [0])
        args = []
        rt.submit(t.square, 3, callback=lambda r, a, b: args.append((r, a, b)),
                  callbackargs=("x", 1))()
        self.assertEqual(args, [(9, "x", 1)])
        self.assertTrue(rt.wait(timeout=60))

    def test_callback_waits_for_another_job(self):
        # callbacks run on the completion thread: one that waits for another
        # remote job gets it (that wait completes jobs itself), no hang
        rt = self.rt
        other = rt.submit(t.slow, "o", 0.3)
        got = []
        j = rt.submit(t.square, 3, callback=lambda r: got.append((r, other.result(30))))
        self.assertEqual(j.result(30), 9)
        self.assertEqual(got, [(9, "o")])
        seen = []

        def waits_for_all(r):
            try:
                rt.wait()
            except weft.Error as e:
                seen.append(e.code)
        self.assertEqual(rt.submit(t.square, 5, callback=waits_for_all).result(30), 25)
        self.assertEqual(seen, [weft.EPERM])          # it would wait for itself
        errors = []

        def close_from_callback(job):
            try:
                rt.close()
            except weft.Error as e:
                errors.append(e.code)
        k = rt.submit(t.square, 2)
        k.add_done_callback(close_from_callback)
        self.assertEqual(k.result(30), 4)
        self.assertTrue(rt.wait(timeout=30))
        end = time.monotonic() + 5
        while not errors and time.monotonic() < end:
            time.sleep(0.01)
        self.assertEqual(errors, [weft.EPERM])
        self.assertFalse(rt.closed)

    def test_futures(self):
        rt = self.rt
        jobs = [rt.submit(t.slow, i, 0.001 * (i % 3)) for i in range(30)]
        self.assertEqual(sorted(j.result() for j in cf.as_completed(jobs, timeout=60)),
                         list(range(30)))
        done, not_done = cf.wait(jobs, timeout=60)
        self.assertEqual((len(done), len(not_done)), (30, 0))
        with rt.executor() as ex:
            f = ex.submit(t.add, 1, b=2, c=3)
            self.assertEqual(f.result(30), 6)
            with self.assertRaises(ValueError):             # the task's own exception
                ex.submit(t.boom, 1).result(30)
            self.assertEqual(list(ex.map(t.square, range(10), chunksize=3)),
                             [i * i for i in range(10)])

    def test_timeout_and_cancel(self):
        rt = self.rt
        slow = rt.submit(t.slow, "s", 0.5)
        with self.assertRaises(TimeoutError):
            slow.result(0.01)
        queued = [rt.submit(t.slow, i, 0.2) for i in range(6)]
        cancelled = [j for j in queued[3:] if j.cancel()]
        self.assertEqual(len(cancelled), 3)
        for j in cancelled:
            self.assertTrue(j.cancelled())
            with self.assertRaises(cf.CancelledError):
                j.result()
        self.assertEqual([j() for j in queued[:3]], [0, 1, 2])
        self.assertEqual(slow(), "s")
        g = rt.group("gc")
        more = [rt.submit(t.slow, i, 0.3, group=g) for i in range(4)]
        self.assertEqual(g.cancel(), 4)
        self.assertTrue(all(j.cancelled() for j in more))
        self.assertTrue(rt.wait(timeout=60))

    def test_retries(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "n")
            self.assertEqual(self.rt.submit(t.flaky, p, 2, retries=2)(), 2)
            p2 = os.path.join(d, "m")
            with self.assertRaises(weft.TaskError):
                self.rt.submit(t.flaky, p2, 2, retries=1)()
            with open(p2) as f:
                self.assertEqual(f.read(), "2")              # ran twice: once + 1 retry
        with self.assertRaises(ValueError):
            self.rt.submit(t.square, 1, retries=-1)

    def test_kill9_in_a_batch(self):
        rt = self.rt
        before = rt.process_info()
        n = max(300, int(2000 * SCALE))
        jobs = [rt.submit(t.slow, i, 0.001) for i in range(n)]
        time.sleep(0.2)
        victim = before["pids"][0]
        os.kill(victim, signal.SIGKILL)
        self.assertEqual([j.result(60) for j in jobs], list(range(n)))   # each exactly once
        self.assertEqual(wait_gone([victim], 5), [])
        end = time.monotonic() + 10              # reaped and started again
        while time.monotonic() < end:
            info = rt.process_info()
            if info["restarts"] > before["restarts"] and 0 not in info["pids"]:
                break
            time.sleep(0.02)
        after = rt.process_info()
        self.assertEqual(after["restarts"], before["restarts"] + 1)
        self.assertNotIn(victim, after["pids"])
        self.assertEqual(rt.map(t.square, range(5)), [0, 1, 4, 9, 16])
        self.assertEqual(rt.process_info()["in_flight"], 0)

    def _worker_killer(self, job):
        t0 = time.monotonic()
        with self.assertRaises(weft.TaskError) as cm:
            job.result(60)
        self.assertLess(time.monotonic() - t0, 30)
        cause = cm.exception.exception
        self.assertIsInstance(cause, weft.Error)
        self.assertEqual(cause.code, weft.ENODE)
        self.assertIn("lost with 3 nodes", str(cause))
        # the pool is whole again and usable
        end = time.monotonic() + 10
        while time.monotonic() < end and 0 in self.rt.process_info()["pids"]:
            time.sleep(0.02)
        self.assertEqual(self.rt.map(t.square, range(6)), [0, 1, 4, 9, 16, 25])

    def test_os_exit(self):
        self._worker_killer(self.rt.submit(t.die, 7))

    def test_segfault(self):
        self._worker_killer(self.rt.submit(t.segfault))

    def test_no_retry(self):
        with self.assertRaises(weft.TaskError) as cm:
            self.rt.submit(t.die, 1, retries=0).result(60)
        self.assertIn("lost with 1 node", str(cm.exception))

    def test_keyboard_interrupt(self):
        rt = self.rt
        j = rt.submit(t.slow, "late", 1.0)
        timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        t0 = time.monotonic()
        with self.assertRaises(KeyboardInterrupt):
            j.result()
        self.assertLess(time.monotonic() - t0, 0.8)
        self.assertEqual(j.result(30), "late")                # nothing was cancelled
        self.assertEqual(rt.submit(t.square, 4)(), 16)
        # the same in rt.wait() and in a group's wait
        jobs = [rt.submit(t.slow, i, 2.0, group="kb") for i in range(2)]
        for wait in (rt.wait, rt.group("kb").wait):
            timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT))
            timer.start()
            t0 = time.monotonic()
            with self.assertRaises(KeyboardInterrupt):
                wait()
            self.assertLess(time.monotonic() - t0, 0.45)
            timer.join()
        self.assertEqual([j.result(30) for j in jobs], [0, 1])


class Lifecycle(unittest.TestCase):
    def test_close_leaves_no_process(self):
        rt = weft.Runtime(processes=2)
        info = rt.process_info()
        self.assertEqual(len(info["pids"]), 2)
        self.assertTrue(all(alive(p) for p in info["pids"]))
        self.assertEqual(os.stat(info["dir"]).st_mode & 0o777, 0o700)
        self.assertEqual(rt.submit(t.square, 5)(), 25)
        self.assertEqual(rt.map(t.square, range(9)), [i * i for i in range(9)])
        ws = rt.process_info()["workers"]
        self.assertEqual([w["kind"] for w in ws], ["process", "process"])
        self.assertEqual(sum(w["jobs"] for w in ws), 10)
        self.assertTrue(all(w["connected"] == 1 and w["losses"] == 0 for w in ws))
        text = rt.stats_text()
        self.assertIn("weft process statistics: 2 worker processes, 0 nodes, 0 restarts", text)
        self.assertIn(ws[0]["node"], text)
        rt.close()
        self.assertEqual(wait_gone(info["pids"], 5), [])
        self.assertFalse(os.path.exists(info["dir"]))
        with self.assertRaises(weft.Error):
            rt.submit(t.square, 1)
        rt.close()                                          # idempotent

    def test_code_by_value(self):
        # a lambda travels by value: with the first payloads until every
        # worker holds it (no job bounces), then without; a restarted
        # worker that lacks it gets it again
        with weft.Runtime(processes=2) as rt:
            k = 5
            f = lambda x: x * k                               # noqa: E731
            self.assertEqual([j() for j in [rt.submit(f, i) for i in range(40)]],
                             [i * 5 for i in range(40)])
            self.assertEqual(sum(w["jobs"] for w in rt.process_info()["workers"]), 40)
            self.assertEqual(rt.map(f, range(100)), [i * 5 for i in range(100)])
            victim = rt.process_info()["pids"][0]
            os.kill(victim, signal.SIGKILL)
            self.assertEqual(wait_gone([victim], 5), [])
            end = time.monotonic() + 10
            while time.monotonic() < end and 0 in rt.process_info()["pids"]:
                time.sleep(0.02)
            self.assertEqual(rt.map(f, range(100)), [i * 5 for i in range(100)])
            self.assertEqual(rt.process_info()["in_flight"], 0)

    def test_workers_killed_again_and_again(self):
        # 5 kills, one every 0.15 s, while 3,000 jobs run: every result
        # exactly once (max_losses raised: a job may be in flight at several
        # of the kills)
        with weft.Runtime(processes=2, max_losses=20) as rt:
            n = max(500, int(3000 * SCALE))
            calls = [0] * n

            def once(r):
                calls[r] += 1
            jobs = [rt.submit(t.slow, i, 0.0005, callback=once) for i in range(n)]
            killed = []
            for _ in range(5):
                time.sleep(0.15)
                pids = [p for p in rt.process_info()["pids"] if p]
                if pids:
                    os.kill(pids[len(killed) % len(pids)], signal.SIGKILL)
                    killed.append(pids[len(killed) % len(pids)])
            self.assertEqual([j.result(120) for j in jobs], list(range(n)))
            self.assertEqual(calls, [1] * n)              # accepted exactly once each
            self.assertEqual(wait_gone(killed, 5), [])
            self.assertEqual(rt.map(t.square, range(4)), [0, 1, 4, 9])

    def test_parent_killed_leaves_no_orphans(self):
        code = ("import weft, sys\n"
                "rt = weft.Runtime(processes=2)\n"
                "print(*rt.process_info()['pids'], flush=True)\n"
                "sys.stdin.read()\n")
        p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=HERE)
        try:
            pids = [int(x) for x in p.stdout.readline().split()]
            self.assertEqual(len(pids), 2)
            self.assertTrue(all(alive(x) for x in pids))
            p.kill()
            p.wait(10)
            self.assertEqual(wait_gone(pids, 5), [])
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(10)
            p.stdin.close()
            p.stdout.close()

    def test_executor_of_processes(self):
        with weft.Executor(processes=2) as ex:
            self.assertEqual(ex.runtime.processes, 2)
            pids = set(ex.map(t.pid_of, range(50)))
            self.assertNotIn(os.getpid(), pids)
            self.assertEqual(ex.submit(t.add, 2, c=5).result(30), 7)
            rt = ex.runtime
        self.assertTrue(rt.closed)
        with self.assertRaises(ValueError):
            weft.Executor(processes=2, runtime=rt)

    def test_bad_arguments(self):
        with self.assertRaises(ValueError):
            weft.Runtime(processes=-1)
        with self.assertRaises(TypeError):
            weft.Runtime(processes="many")
        with self.assertRaises(TypeError):
            weft.Runtime(nodes="127.0.0.1:1")
        with self.assertRaises(ValueError):
            weft.Runtime(processes=1, max_losses=0)
        with weft.Runtime(2) as rt:                          # threads: the default
            self.assertEqual(rt.processes, 0)
            self.assertIsNone(rt.process_info())

    def test_node_that_is_not_there(self):
        with tempfile.TemporaryDirectory() as d:
            key = os.path.join(d, "key")
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, os.urandom(32).hex().encode())
            os.close(fd)
            t0 = time.monotonic()
            with self.assertRaises(weft.Timeout) as cm:
                weft.Runtime(nodes=["127.0.0.1:1"], secret_file=key, start_timeout=0.5)
            self.assertLess(time.monotonic() - t0, 10)
            self.assertIn("127.0.0.1:1", str(cm.exception))

    def test_auto(self):
        with weft.Runtime(processes="auto") as rt:
            self.assertEqual(rt.processes, max(1, weft.cpu_count()))
            self.assertEqual(len(rt.process_info()["pids"]), rt.processes)


WEFTD = os.environ.get("WEFT_WEFTD")


@unittest.skipUnless(WEFTD and os.path.exists(WEFTD), "WEFT_WEFTD (weftd's path) not set")
class Nodes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.key = os.path.join(cls.dir.name, "key")
        fd = os.open(cls.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(32).hex().encode())
        os.close(fd)
        cls.procs, cls.nodes = [], []
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [p for p in sys.path if p] + [os.environ.get("PYTHONPATH", "")]))
        try:
            for _ in range(2):
                p = subprocess.Popen([WEFTD, "--listen", "127.0.0.1:0", "--print-port",
                                      "--secret-file", cls.key, "--log-level", "error",
                                      "--python", "1", "--python-exe", sys.executable],
                                     stdout=subprocess.PIPE, text=True, env=env, cwd=HERE)
                cls.procs.append(p)
                line = p.stdout.readline()
                cls.nodes.append("127.0.0.1:%d" % int(line.split()[1]))
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
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

    def test_exact_results_on_nodes(self):
        with weft.Runtime(nodes=self.nodes, secret_file=self.key) as rt:
            n = max(200, int(2000 * SCALE))
            self.assertEqual([j() for j in [rt.submit(t.square, i) for i in range(n)]],
                             [i * i for i in range(n)])
            self.assertEqual(rt.submit(lambda x: x + 1, 41)(), 42)
            with self.assertRaises(weft.TaskError) as cm:
                rt.submit(t.boom, 2)()
            self.assertEqual(cm.exception.remote_type, "ValueError")
            self.assertIn(cm.exception.remote_node, self.nodes)
            self.assertEqual(sorted(rt.process_info()["nodes"]), sorted(self.nodes))

    def test_worker_killer_on_a_node(self):
        with weft.Runtime(nodes=self.nodes[:1], secret_file=self.key) as rt:
            with self.assertRaises(weft.TaskError) as cm:
                rt.submit(t.die, 3).result(60)
            self.assertEqual(cm.exception.exception.code, weft.ENODE)
            self.assertEqual(rt.submit(t.square, 9).result(60), 81)

    def test_weftd_python_that_cannot_start(self):
        p = subprocess.run([WEFTD, "--listen", "127.0.0.1:0", "--secret-file", self.key,
                            "--python", "1", "--python-exe", "/nonexistent/python3"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("weftd: --python:", p.stderr)
        self.assertIn("exited with status 127", p.stderr)

    def test_processes_and_nodes(self):
        with weft.Runtime(processes=1, nodes=self.nodes, secret_file=self.key) as rt:
            n = max(300, int(3000 * SCALE))
            self.assertEqual(sum(rt.map(t.square, range(n))), sum(i * i for i in range(n)))
            self.assertEqual(len(rt.nodes), 2)


if __name__ == "__main__":
    unittest.main()
