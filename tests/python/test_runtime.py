"""Runtime, jobs, callbacks, groups, map, statistics (weft's Python API)."""
import gc
import io
import os
import re
import threading
import time
import unittest

import weft


def add(a, b):
    return a + b


def fail(msg):
    raise ValueError(msg)


class RuntimeTest(unittest.TestCase):
    def test_workers_given_automatic_and_changed(self):
        with weft.Runtime(3) as rt:
            self.assertEqual(rt.workers, 3)
            rt.workers = 1
            self.assertEqual(rt.workers, 1)
            self.assertEqual(rt.submit(add, 1, 2)(), 3)
            rt.workers = 4
            self.assertEqual(rt.workers, 4)
            self.assertEqual(rt.map(add, range(100), range(100)), [2 * i for i in range(100)])
        with weft.Runtime() as rt:
            self.assertEqual(rt.workers, weft.default_workers())
            self.assertGreaterEqual(rt.workers, 1)
        with weft.Runtime(workers=0) as rt:
            self.assertEqual(rt.workers, weft.default_workers())
            rt.workers = 0          # automatic again
            self.assertEqual(rt.workers, weft.default_workers())

    def test_change_workers_while_jobs_run(self):
        with weft.Runtime(1) as rt:
            jobs = [rt.submit(time.sleep, 0.001) for _ in range(200)]
            rt.workers = 3
            jobs += [rt.submit(add, i, 1) for i in range(200)]
            rt.workers = 1
            self.assertTrue(rt.wait())
            self.assertEqual([j() for j in jobs[200:]], [i + 1 for i in range(200)])
            self.assertTrue(all(j.done() for j in jobs))

    def test_submit_job_call_result_done_exception(self):
        with weft.Runtime(2) as rt:
            job = rt.submit(add, 20, 22)
            self.assertIsInstance(job, weft.Job)
            self.assertEqual(job(), 42)
            self.assertEqual(job(), 42)                 # again: same result
            self.assertEqual(job.result(), 42)
            self.assertEqual(job.result(timeout=5), 42)
            self.assertTrue(job.done())
            self.assertIsNone(job.exception())
            self.assertEqual(job.status, "done")
            self.assertIs(job.fn, add)
            self.assertEqual(job.args, (20, 22))
            self.assertIsNone(job.group)
            self.assertIn("add", repr(job))

    def test_many_jobs_in_order(self):
        with weft.Runtime(2) as rt:
            jobs = [rt.submit(add, i, i) for i in range(10000)]
            self.assertEqual([j() for j in jobs], [2 * i for i in range(10000)])

    def test_no_arguments_and_many_arguments(self):
        with weft.Runtime(2) as rt:
            self.assertEqual(rt.submit(lambda: "x")(), "x")
            args = tuple(range(40))
            self.assertEqual(rt.submit(lambda *a: sum(a), *args)(), sum(args))

    def test_result_timeout(self):
        with weft.Runtime(1) as rt:
            gate = threading.Event()
            started = threading.Event()

            def blocked():
                started.set()
                gate.wait(10)
                return "released"

            job = rt.submit(blocked)
            self.assertTrue(started.wait(10))
            t0 = time.monotonic()
            with self.assertRaises(TimeoutError):
                job.result(timeout=0.2)
            self.assertGreaterEqual(time.monotonic() - t0, 0.15)
            with self.assertRaises(TimeoutError):
                job.exception(timeout=0)
            self.assertFalse(job.done())
            self.assertEqual(job.status, "running")
            self.assertFalse(rt.wait(timeout=0.05))
            gate.set()
            self.assertEqual(job(), "released")
            self.assertTrue(rt.wait(timeout=5))

    def test_callback_runs_before_job_returns(self):
        seen = []
        lock = threading.Lock()

        def cb(result, tag, extra):
            with lock:
                seen.append((result, tag, extra))

        with weft.Runtime(2) as rt:
            jobs = [rt.submit(add, i, 1, callback=cb, callbackargs=("t", i)) for i in range(50)]
            for i, j in enumerate(jobs):
                self.assertEqual(j(), i + 1)
                with lock:
                    self.assertIn((i + 1, "t", i), seen)
            self.assertEqual(sorted(seen), sorted((i + 1, "t", i) for i in range(50)))
            # a callback without arguments, and callback=None
            box = []
            rt.submit(add, 1, 1, callback=box.append)()
            self.assertEqual(box, [2])
            self.assertEqual(rt.submit(add, 1, 1, callback=None)(), 2)

    def test_callback_not_called_for_failed_job_and_failing_callback_fails_job(self):
        called = []
        with weft.Runtime(2) as rt:
            j = rt.submit(fail, "x", callback=called.append)
            with self.assertRaises(weft.TaskError):
                j()
            self.assertEqual(called, [])

            def bad_cb(result):
                raise KeyError("in callback")

            j = rt.submit(add, 1, 2, callback=bad_cb)
            with self.assertRaises(weft.TaskError) as cm:
                j()
            self.assertIsInstance(cm.exception.exception, KeyError)

    def test_groups_by_name_and_object(self):
        with weft.Runtime(2) as rt:
            jobs = [rt.submit(time.sleep, 0.002, group="sleepers") for _ in range(20)]
            g = rt.group("sleepers")
            self.assertIsInstance(g, weft.Group)
            self.assertIs(rt.group("sleepers"), g)
            self.assertEqual(g.name, "sleepers")
            self.assertIs(g.runtime, rt)
            self.assertEqual(g.submitted, 20)
            self.assertTrue(rt.wait("sleepers"))
            self.assertEqual(g.pending, 0)
            self.assertTrue(all(j.done() for j in jobs))
            self.assertIs(jobs[0].group, g)

            other = rt.group("other")
            j1 = rt.submit(fail, "f", group=other)
            j2 = rt.submit(add, 1, 1, group=other)
            self.assertTrue(other.wait())
            self.assertTrue(rt.wait(other))
            self.assertEqual(other.failed, 1)
            self.assertEqual(j2(), 2)
            self.assertIsInstance(j1.exception(), ValueError)
            # a name never used is an error (issue 11: it was True), an
            # empty group made by rt.group() waits at once
            with self.assertRaises(weft.Error) as cm:
                rt.wait("never used")
            self.assertEqual(cm.exception.code, weft.ENOENT)
            self.assertIn("no group named 'never used'", str(cm.exception))
            self.assertTrue(rt.wait(rt.group("empty")))
            self.assertIn("other", repr(other))

    def test_group_wait_waits_only_for_its_group(self):
        with weft.Runtime(2) as rt:
            gate = threading.Event()
            slow = rt.submit(gate.wait, 10, group="slow")
            fast = [rt.submit(add, i, 0, group="fast") for i in range(10)]
            self.assertTrue(rt.wait("fast", timeout=5))
            self.assertEqual([j() for j in fast], list(range(10)))
            self.assertFalse(slow.done())
            gate.set()
            self.assertTrue(rt.wait(timeout=10))
            self.assertTrue(slow())

    def test_wait_all(self):
        with weft.Runtime(2) as rt:
            out = []
            jobs = [rt.submit(out.append, i) for i in range(1000)]
            self.assertTrue(rt.wait())
            self.assertEqual(rt.pending, 0)
            self.assertEqual(sorted(out), list(range(1000)))
            self.assertTrue(all(j.done() for j in jobs))

    def test_map(self):
        with weft.Runtime(2) as rt:
            self.assertEqual(rt.map(abs, [-1, -2, 3]), [1, 2, 3])
            self.assertEqual(rt.map(add, "abc", "xyz"), ["ax", "by", "cz"])
            self.assertEqual(rt.map(abs, []), [])
            with self.assertRaises(weft.TaskError):
                rt.map(fail, ["boom"])
            with self.assertRaises(TypeError):
                rt.map(abs)

    def test_nested_submit_and_wait_inside_jobs(self):
        with weft.Runtime(2) as rt:
            def fib(n):
                if n < 2:
                    return n
                a = rt.submit(fib, n - 1)
                b = rt.submit(fib, n - 2)
                return a() + b()
            self.assertEqual(rt.submit(fib, 15)(), 610)

    def test_job_waiting_for_itself_or_its_runtime_is_refused(self):
        with weft.Runtime(2) as rt:
            box = {}

            def self_wait():
                return box["job"]()

            def wait_all():
                return rt.wait()

            def close_it():
                rt.close()

            box["job"] = rt.submit(self_wait)
            with self.assertRaises(weft.TaskError) as cm:
                box["job"]()
            self.assertIsInstance(cm.exception.exception, weft.Error)
            self.assertEqual(cm.exception.exception.code, weft.EPERM)
            for fn in (wait_all, close_it):
                with self.assertRaises(weft.TaskError) as cm:
                    rt.submit(fn)()
                self.assertEqual(cm.exception.exception.code, weft.EPERM)
            self.assertEqual(rt.submit(add, 1, 1)(), 2)     # still fine

    def test_context_manager_waits_and_closes(self):
        out = []
        with weft.Runtime(2) as rt:
            for i in range(100):
                rt.submit(lambda i=i: (time.sleep(0.0005), out.append(i)))
        self.assertEqual(sorted(out), list(range(100)))
        self.assertTrue(rt.closed)
        self.assertIn("closed", repr(rt))
        with self.assertRaises(weft.Error) as cm:
            rt.submit(add, 1, 2)
        self.assertEqual(cm.exception.code, weft.EDESTROYED)
        with self.assertRaises(weft.Error):
            rt.workers
        rt.close()                                   # idempotent

    def test_close_while_other_threads_wait(self):
        for i in range(20):
            rt = weft.Runtime(2)
            jobs = [rt.submit(time.sleep, 0.005) for _ in range(4)]
            late = []

            def wait_quietly(*args):
                try:
                    rt.wait(*args)
                except weft.Error as e:         # started after close(): closed
                    late.append(e.code)

            waiters = [threading.Thread(target=j) for j in jobs]
            waiters.append(threading.Thread(target=wait_quietly))
            waiters.append(threading.Thread(target=wait_quietly, args=(rt.group("g"),)))
            for t in waiters:
                t.start()
            rt.close()
            for t in waiters:
                t.join()
            self.assertTrue(all(j.done() for j in jobs))
            self.assertTrue(all(code == weft.EDESTROYED for code in late))

    def test_jobs_outlive_their_runtime(self):
        rt = weft.Runtime(2)
        job = rt.submit(add, 2, 3)
        rt.close()
        self.assertEqual(job(), 5)
        del rt
        gc.collect()
        self.assertEqual(job(), 5)

    def test_dropped_runtime_and_fire_and_forget(self):
        out = []
        for _ in range(5):
            rt = weft.Runtime(2)
            for i in range(50):
                rt.submit(out.append, i)     # handles dropped at once
            del rt                           # jobs keep it alive until they ran
        deadline = time.monotonic() + 10
        while len(out) < 250 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(len(out), 250)
        gc.collect()
        with weft.Runtime(1) as rt:          # destroys any runtime released on a worker
            self.assertEqual(rt.submit(add, 1, 1)(), 2)

    def test_many_runtimes(self):
        for i in range(30):
            with weft.Runtime(1 + i % 3) as rt:
                self.assertEqual(rt.submit(add, i, 1)(), i + 1)

    def test_jobs_from_several_python_threads(self):
        with weft.Runtime(2) as rt:
            results = {}

            def client(k):
                jobs = [rt.submit(add, k, i) for i in range(500)]
                results[k] = [j() for j in jobs]

            ts = [threading.Thread(target=client, args=(k,)) for k in range(4)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            for k in range(4):
                self.assertEqual(results[k], [k + i for i in range(500)])

    def test_stress_threads_nesting_and_worker_changes(self):
        import random
        with weft.Runtime(2) as rt:
            errors = []

            def nested(n):
                if n == 0:
                    return 1
                return sum(rt.submit(nested, n - 1)() for _ in range(2))

            def client(seed):
                r = random.Random(seed)
                try:
                    for _ in range(20):
                        jobs = [rt.submit(add, i, seed) for i in range(r.randint(1, 300))]
                        if r.random() < 0.3:
                            jobs.append(rt.submit(nested, 4))
                        if r.random() < 0.5:
                            rt.wait()
                        for i, j in enumerate(jobs):
                            want = 16 if j.fn is nested else i + seed
                            if j() != want:
                                errors.append((seed, i, j()))
                except Exception as e:          # pragma: no cover - reported below
                    errors.append(e)

            ts = [threading.Thread(target=client, args=(k,)) for k in range(6)]
            for t in ts:
                t.start()
            for n in (1, 3, 2, 4, 1, 2):
                rt.workers = n
                time.sleep(0.02)
            for t in ts:
                t.join()
            self.assertEqual(errors, [])
            self.assertTrue(rt.wait())
            self.assertEqual(rt.pending, 0)

    def test_stats_and_print_stats(self):
        with weft.Runtime(2) as rt:
            rt.reset_stats()
            jobs = [rt.submit(add, i, 1) for i in range(100)]
            [j() for j in jobs]
            with self.assertRaises(weft.TaskError):
                rt.submit(fail, "x")()
            s = rt.stats()
            self.assertEqual(s["active_workers"], 2)
            self.assertEqual(s["jobs_submitted"], 101)
            self.assertEqual(s["jobs_run"], 101)
            self.assertEqual(s["jobs_failed"], 1)
            self.assertEqual(s["jobs_pending"], 0)
            self.assertEqual(sum(w["jobs"] for w in s["per_worker"]), 101)
            self.assertGreater(s["wall_s"], 0)
            self.assertIn("tasks_submitted", s)
            out = io.StringIO()
            rt.print_stats(out)
            text = out.getvalue()
            self.assertIn("weft job statistics: 2 workers", text)
            self.assertIn("jobs submitted: 101, failed: 1, pending: 0", text)
            self.assertRegex(text, r"Total \|\s+101 \|\s+100.00%")
            rt.reset_stats()
            self.assertEqual(rt.stats()["jobs_submitted"], 0)


    def test_stats_schema_is_weft_stats_t(self):
        # the keys Lua's rt:stats() has too: weft_stats_t's fields (read
        # from the C header), nworkers, active_workers, and per worker
        # weft_worker_stats_t's fields and its id
        top, worker = c_struct_fields("weft_stats"), c_struct_fields("weft_worker_stats")
        self.assertEqual(top, {"nworkers", "workers", "tasks_submitted", "tasks_run",
                               "tasks_stolen", "tasks_failed", "busy_s", "wall_s"})
        self.assertEqual(worker, {"tasks_run", "tasks_stolen", "busy_s", "active"})
        with weft.Runtime(2) as rt:
            rt.reset_stats()
            [j() for j in [rt.submit(abs, -i) for i in range(20)]]
            s = rt.stats()
            jobs = {"jobs_submitted", "jobs_run", "jobs_failed", "jobs_pending", "jobs_busy_s",
                    "jobs_wall_s", "per_worker", "jobs_cancelled", "jobs_failed_unseen"}
            self.assertEqual(set(s), top | {"active_workers"} | jobs)
            self.assertEqual(s["nworkers"], len(s["workers"]))
            self.assertGreaterEqual(s["nworkers"], 2)
            self.assertEqual(s["active_workers"], 2)
            for i, w in enumerate(s["workers"]):
                self.assertEqual(set(w), worker | {"id"})
                self.assertEqual(w["id"], i)
                self.assertIsInstance(w["active"], bool)
                self.assertIsInstance(w["busy_s"], float)
            self.assertEqual(sum(w["tasks_run"] for w in s["workers"]), s["tasks_run"])
            self.assertEqual(s["jobs_run"], 20)
            self.assertGreaterEqual(s["tasks_submitted"], 1)
            self.assertIsInstance(s["wall_s"], float)


def c_struct_fields(name):
    """The field names of struct `name` in weft/runtime.h."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime",
                        "include", "weft", "runtime.h")
    with open(path) as f:
        text = f.read()
    body = text[text.index("typedef struct %s {" % name):]
    body = body[body.index("{") + 1:body.index("}")]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    fields = set()
    for decl in body.split(";"):
        for part in decl.split(","):
            m = re.search(r"(\w+)\s*$", part.strip())
            if m:
                fields.add(m.group(1))
    return fields


class WrongArgumentsTest(unittest.TestCase):
    def test_runtime_arguments(self):
        with self.assertRaisesRegex(TypeError, "workers must be an int"):
            weft.Runtime("2")
        with self.assertRaisesRegex(TypeError, "workers must be an int"):
            weft.Runtime(2.0)
        with self.assertRaisesRegex(ValueError, "workers must be in 0..512"):
            weft.Runtime(-1)
        with self.assertRaisesRegex(ValueError, "workers must be in 0..512"):
            weft.Runtime(weft.MAX_WORKERS + 1)

    def test_submit_and_wait_arguments_leave_runtime_usable(self):
        with weft.Runtime(2) as rt:
            with self.assertRaisesRegex(TypeError, "fn must be callable, not int"):
                rt.submit(42)
            with self.assertRaisesRegex(TypeError, "fn is missing"):
                rt.submit()
            with self.assertRaisesRegex(TypeError, "unexpected keyword argument 'x'"):
                rt.submit(add, 1, x=2)
            with self.assertRaisesRegex(TypeError, "callback must be callable"):
                rt.submit(add, 1, 2, callback=3)
            with self.assertRaisesRegex(TypeError, "callbackargs must be a tuple"):
                rt.submit(add, 1, 2, callback=print, callbackargs=[1])
            with self.assertRaisesRegex(TypeError, "group must be a str, a weft.Group"):
                rt.submit(add, 1, 2, group=3)
            with weft.Runtime(1) as other:
                with self.assertRaisesRegex(ValueError, "belongs to another Runtime"):
                    rt.submit(add, 1, 2, group=other.group("g"))
            with self.assertRaisesRegex(TypeError, "a group name must be a str"):
                rt.group(1)
            with self.assertRaisesRegex(TypeError, "timeout must be a number"):
                rt.wait(timeout="1")
            with self.assertRaisesRegex(ValueError, "timeout must be >= 0"):
                rt.wait(timeout=-1)
            with self.assertRaisesRegex(TypeError, "workers must be an int"):
                rt.workers = "3"
            with self.assertRaisesRegex(ValueError, "workers must be in"):
                rt.workers = -2
            with self.assertRaises(AttributeError):
                del rt.workers
            j = rt.submit(add, 1, 2)
            with self.assertRaisesRegex(TypeError, "called without arguments"):
                j(1)
            with self.assertRaisesRegex(TypeError, "takes one argument: timeout"):
                j.result(1, 2)
            with self.assertRaisesRegex(TypeError, "takes one argument: timeout"):
                j.result(wait=1)
            with self.assertRaisesRegex(ValueError, "timeout must be >= 0"):
                j.result(-0.5)
            with self.assertRaises(TypeError):
                weft.Job()
            self.assertEqual(rt.submit(add, 1, 2)(), 3)     # still usable
            self.assertEqual(rt.workers, 2)

    def test_uninitialised_runtime(self):
        class Lazy(weft.Runtime):
            def __init__(self):
                pass            # forgets super().__init__()
        lazy = Lazy()
        with self.assertRaisesRegex(RuntimeError, "__init__ was not called"):
            lazy.submit(add, 1, 2)
        with weft.Runtime(1) as rt:
            with self.assertRaisesRegex(RuntimeError, "called twice"):
                rt.__init__(1)


if __name__ == "__main__":
    unittest.main()
