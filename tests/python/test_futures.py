"""Jobs as concurrent.futures Futures, weft.Executor, cancel, lost failures,
timeouts of queued jobs, map/imap with chunks, progress and timings,
statistics without GIL waits, and inspect.signature on the public API
(issue 11)."""
import concurrent.futures as cf
import gc
import inspect
import io
import logging
import sys
import threading
import time
import unittest

import weft


def add(a, b):
    return a + b


def fail(msg):
    raise ValueError(msg)


def spin(seconds):
    """Pure Python CPU work (holds the GIL) for about `seconds`."""
    end = time.thread_time() + seconds
    n = 0
    while time.thread_time() < end:
        n += 1
    return n


class Blocker:
    """Keeps the workers of a runtime busy until release()."""

    def __init__(self, rt, n=1):
        self.started = threading.Semaphore(0)
        self.gate = threading.Event()
        self.jobs = [rt.submit(self._run) for _ in range(n)]
        for _ in range(n):
            assert self.started.acquire(timeout=10)

    def _run(self):
        self.started.release()
        self.gate.wait(30)
        return "released"

    def release(self):
        self.gate.set()


class FutureProtocolTest(unittest.TestCase):
    def test_as_completed_yields_every_job_in_completion_order(self):
        with weft.Runtime(2) as rt:
            gates = [threading.Event() for _ in range(4)]
            jobs = [rt.submit(g.wait, 10) for g in gates[:2]]
            order = []
            it = cf.as_completed(jobs, timeout=10)
            gates[1].set()
            order.append(next(it))
            gates[0].set()
            order.append(next(it))
            self.assertEqual(order, [jobs[1], jobs[0]])
            with self.assertRaises(StopIteration):
                next(it)
            # already complete jobs come at once; the waiter lists are emptied
            done = set(cf.as_completed(jobs))
            self.assertEqual(done, set(jobs))
            self.assertEqual([len(j._waiters) for j in jobs], [0, 0])

    def test_wait_first_completed_first_exception_all_completed(self):
        with weft.Runtime(2) as rt:
            gate = threading.Event()
            slow = rt.submit(gate.wait, 10)
            fast = rt.submit(add, 1, 2)
            done, not_done = cf.wait([slow, fast], timeout=10, return_when=cf.FIRST_COMPLETED)
            self.assertEqual(done, {fast})
            self.assertEqual(not_done, {slow})
            bad = rt.submit(fail, "first")
            done, not_done = cf.wait([slow, bad], timeout=10, return_when=cf.FIRST_EXCEPTION)
            self.assertEqual(done, {bad})
            self.assertIsInstance(bad.exception(), ValueError)
            done, not_done = cf.wait([slow], timeout=0.05)
            self.assertEqual((done, not_done), (set(), {slow}))
            gate.set()
            done, not_done = cf.wait([slow, fast, bad], timeout=10)
            self.assertEqual((done, not_done), ({slow, fast, bad}, set()))
            self.assertIs(slow.result(), True)

    def test_states_and_methods(self):
        with weft.Runtime(1) as rt:
            b = Blocker(rt)
            queued = rt.submit(add, 1, 1)
            self.assertTrue(b.jobs[0].running())
            self.assertFalse(queued.running())
            self.assertEqual(queued._state, "PENDING")
            self.assertEqual(b.jobs[0]._state, "RUNNING")
            b.release()
            self.assertEqual(queued.result(timeout=10), 2)
            self.assertEqual(queued._state, "FINISHED")
            self.assertFalse(queued.running())
            self.assertFalse(queued.cancelled())
            self.assertFalse(queued.cancel())     # complete: cannot be cancelled


class CancelTest(unittest.TestCase):
    def test_cancel_a_queued_job(self):
        with weft.Runtime(1) as rt:
            rt.reset_stats()
            b = Blocker(rt)
            ran = []
            queued = [rt.submit(ran.append, i) for i in range(10)]
            called = []
            queued[3].add_done_callback(called.append)
            self.assertEqual(rt.pending, 11)
            self.assertTrue(queued[3].cancel())
            self.assertTrue(queued[3].cancel())              # again: still True
            self.assertFalse(b.jobs[0].cancel())             # running: not cancelled
            self.assertEqual(called, [queued[3]])            # done callback ran
            self.assertTrue(queued[3].cancelled())
            self.assertTrue(queued[3].done())
            self.assertEqual(queued[3].status, "cancelled")
            self.assertEqual(queued[3]._state, "CANCELLED_AND_NOTIFIED")
            self.assertEqual(rt.pending, 10)
            with self.assertRaises(cf.CancelledError):
                queued[3].result()
            with self.assertRaises(cf.CancelledError):
                queued[3]()
            with self.assertRaises(cf.CancelledError):
                queued[3].exception()
            self.assertEqual(queued[3].serial_time, 0.0)
            b.release()
            self.assertTrue(rt.wait())
            self.assertEqual(sorted(ran), [i for i in range(10) if i != 3])
            s = rt.stats()
            self.assertEqual(s["jobs_cancelled"], 1)
            self.assertEqual(s["jobs_run"], 10)              # the blocker and nine
            self.assertIn("jobs cancelled: 1", rt.stats_text())

    def test_cancel_group_and_runtime_and_as_completed_sees_cancelled(self):
        with weft.Runtime(1) as rt:
            b = Blocker(rt)
            a = [rt.submit(add, i, 0, group="a") for i in range(5)]
            other = [rt.submit(add, i, 0) for i in range(3)]
            waiter = cf.as_completed(a + other, timeout=10)
            self.assertEqual(rt.group("a").cancel(), 5)
            self.assertEqual(rt.group("a").pending, 0)
            got = {next(waiter) for _ in range(5)}
            self.assertEqual(got, set(a))
            self.assertTrue(all(j.cancelled() for j in a))
            self.assertEqual(rt.cancel(), 3)
            self.assertEqual({next(waiter) for _ in range(3)}, set(other))
            self.assertEqual(rt.cancel(), 0)
            b.release()
            self.assertTrue(rt.wait())
            self.assertEqual(b.jobs[0](), "released")

    def test_reverse_md5_stops_early(self):
        # the seed's reverse_md5: once a part finds the answer, the parts not
        # yet started are cancelled instead of running for nothing
        import hashlib
        secret = 25000              # in the second of 20 parts
        target = hashlib.md5(str(secret).encode()).hexdigest()
        found = []

        def part(lo, hi):
            for x in range(lo, hi):
                if hashlib.md5(str(x).encode()).hexdigest() == target:
                    return x
            return None

        with weft.Runtime(1) as rt:
            jobs = [rt.submit(part, i * 20000, (i + 1) * 20000) for i in range(20)]
            for j in cf.as_completed(jobs):
                if not j.cancelled() and j.result() is not None:
                    found.append(j.result())
                    cancelled = sum(1 for k in jobs if k.cancel())
                    break
            self.assertEqual(found, [secret])
            self.assertTrue(rt.wait())
            ran = sum(1 for k in jobs if not k.cancelled())
            self.assertEqual(ran + cancelled, 20)
            self.assertGreaterEqual(cancelled, 15)     # at most a few ran past part 1
            self.assertEqual(rt.stats()["jobs_cancelled"], cancelled)


class DoneCallbackTest(unittest.TestCase):
    def test_called_once_after_completion_and_at_once_when_complete(self):
        with weft.Runtime(2) as rt:
            seen = []
            lock = threading.Lock()

            def cb(job):
                with lock:
                    seen.append((job, job.done(), job.status))
            jobs = [rt.submit(add, i, 1) for i in range(100)]
            for j in jobs:
                j.add_done_callback(cb)
            self.assertTrue(rt.wait())
            deadline = time.monotonic() + 10
            while len(seen) < 100 and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual(sorted(id(j) for j, _, _ in seen), sorted(id(j) for j in jobs))
            self.assertTrue(all(d and st == "done" for _, d, st in seen))
            late = []
            jobs[0].add_done_callback(late.append)       # complete: called here
            self.assertEqual(late, [jobs[0]])
            with self.assertRaisesRegex(TypeError, "fn must be callable"):
                jobs[0].add_done_callback(3)

    def test_exception_in_callback_is_logged_and_references_released(self):
        class Sentinel:
            def __call__(self, job):
                raise KeyError("in done callback")
        cb = Sentinel()
        before = sys.getrefcount(cb)
        with weft.Runtime(1) as rt:
            b = Blocker(rt)
            j = rt.submit(add, 1, 2)
            j.add_done_callback(cb)
            self.assertEqual(sys.getrefcount(cb), before + 1)
            called = threading.Event()
            j.add_done_callback(lambda job: called.set())   # runs after cb's log record
            with self.assertLogs("weft", logging.ERROR) as logs:
                b.release()
                self.assertEqual(j.result(timeout=10), 3)
                # done callbacks run after the waiters are released, as
                # concurrent.futures runs them: wait for them
                self.assertTrue(called.wait(10))
            self.assertEqual(len(logs.records), 1)
            self.assertIn("done callback", logs.output[0])
            self.assertIn("KeyError", logs.output[0])
        del logs, j                 # the log record's traceback holds the frame
        gc.collect()
        self.assertEqual(sys.getrefcount(cb), before)    # called once, then dropped


class LostFailureTest(unittest.TestCase):
    def test_fire_and_forget_failure_is_logged_counted_and_raised_by_wait(self):
        with weft.Runtime(2) as rt:
            rt.reset_stats()
            with self.assertLogs("weft", logging.ERROR) as logs:
                rt.submit(fail, "forgotten")           # the handle is dropped at once
                with self.assertRaises(weft.TaskError) as cm:
                    rt.wait()
            self.assertEqual(len(logs.records), 1)
            self.assertIn("job fail raised ValueError: forgotten", logs.output[0])
            self.assertIn("Traceback", logs.output[0])
            e = cm.exception
            self.assertIsInstance(e.exception, ValueError)
            self.assertEqual(e.node, "fail")
            self.assertIn("1 job raised and nobody retrieved the exception", str(e))
            self.assertTrue(rt.wait())                 # raised once only
            s = rt.stats()
            self.assertEqual((s["jobs_failed"], s["jobs_failed_unseen"]), (1, 1))

    def test_group_lost_failures_and_kept_handles(self):
        with weft.Runtime(2) as rt:
            kept = rt.submit(fail, "kept", group="g")
            with self.assertLogs("weft", logging.ERROR) as logs:
                for i in range(3):
                    rt.submit(fail, "lost %d" % i, group="g")
                with self.assertRaises(weft.TaskError) as cm:
                    rt.group("g").wait()
            self.assertEqual(len(logs.records), 3)
            self.assertIn("3 jobs raised", str(cm.exception))
            self.assertTrue(rt.wait("g"))
            self.assertTrue(rt.wait())
            self.assertIsInstance(kept.exception(), ValueError)   # retrieved: never lost
            del kept
            self.assertTrue(rt.wait())

    def test_dropped_handle_of_an_unretrieved_failure(self):
        with weft.Runtime(1) as rt:
            j = rt.submit(fail, "late")
            self.assertTrue(rt.wait())                 # the handle is kept: no error
            with self.assertLogs("weft", logging.ERROR) as logs:
                del j
                gc.collect()
            self.assertEqual(len(logs.records), 1)
            with self.assertRaises(weft.TaskError):
                rt.wait()
            self.assertEqual(rt.stats()["jobs_failed_unseen"], 1)

    def test_wait_for_a_group_never_used(self):
        with weft.Runtime(1) as rt:
            with self.assertRaises(weft.Error) as cm:
                rt.wait("nosuch")
            self.assertEqual(cm.exception.code, weft.ENOENT)
            with self.assertRaises(weft.Error) as cm:
                rt.wait("nosuch", progress=lambda p: None)
            self.assertEqual(cm.exception.code, weft.ENOENT)
            self.assertFalse(rt._has_group("nosuch"))
            self.assertEqual(rt.submit(add, 1, 1)(), 2)


class TimeoutTest(unittest.TestCase):
    def test_result_timeout_of_a_queued_job_holds(self):
        with weft.Runtime(1) as rt:
            b = Blocker(rt)
            queued = rt.submit(time.sleep, 0.5)
            t0 = time.monotonic()
            with self.assertRaises(TimeoutError):
                queued.result(0.01)
            self.assertLess(time.monotonic() - t0, 0.2)
            self.assertEqual(queued.status, "queued")    # not run by the waiter
            t0 = time.monotonic()
            self.assertFalse(rt.wait(timeout=0.01))
            self.assertLess(time.monotonic() - t0, 0.2)
            with self.assertRaises(TimeoutError):
                queued.exception(timeout=0)
            b.release()
            self.assertIsNone(queued.result(timeout=10))


class MapTest(unittest.TestCase):
    def test_map_chunksize_imap_and_unordered(self):
        with weft.Runtime(2) as rt:
            want = [abs(i) for i in range(-50, 50)]
            for cs in (1, 2, 7, 100, 1000):
                self.assertEqual(rt.map(abs, range(-50, 50), chunksize=cs), want)
                self.assertEqual(list(rt.imap(abs, range(-50, 50), chunksize=cs)), want)
                self.assertEqual(sorted(rt.imap_unordered(abs, range(-50, 50), chunksize=cs)),
                                 sorted(want))
            m = rt.map_async(add, range(10), range(10), chunksize=3)
            self.assertEqual(len(m), 10)
            self.assertEqual(len(m.jobs), 4)
            self.assertEqual(m.get(timeout=10), [2 * i for i in range(10)])
            self.assertEqual(m.progress, 10)
            self.assertTrue(m.done())
            with self.assertRaises(weft.TaskError):
                rt.map(fail, ["x", "y"], chunksize=2)
            with self.assertRaisesRegex(ValueError, "chunksize must be an int >= 1"):
                rt.map(abs, [1], chunksize=0)

    def test_unordered_comes_in_completion_order(self):
        with weft.Runtime(2) as rt:
            out = list(rt.imap_unordered(time.sleep, [0.3, 0.01]))
            self.assertEqual(out, [None, None])
            gates = [threading.Event(), threading.Event()]
            it = rt.imap_unordered(lambda i: (gates[i].wait(10), i)[1], [0, 1])
            gates[1].set()
            self.assertEqual(next(it), 1)
            gates[0].set()
            self.assertEqual(next(it), 0)

    def test_elapsed_and_serial_time(self):
        with weft.Runtime(2) as rt:
            j = rt.submit(time.sleep, 0.05)
            j()
            self.assertGreaterEqual(j.serial_time, 0.045)
            self.assertGreaterEqual(j.elapsed, j.serial_time)
            self.assertLess(j.elapsed, 2)
            sub, start, end = j._times
            self.assertLessEqual(sub, start)
            self.assertLessEqual(start, end)
            self.assertLessEqual(end, time.monotonic())
            m = rt.map_async(time.sleep, [0.05] * 4, group="timed")
            self.assertTrue(m.wait(timeout=10))
            self.assertGreaterEqual(m.serial_time, 0.19)
            self.assertGreaterEqual(m.elapsed, 0.095)       # 2 workers: about 0.1 s
            self.assertLess(m.elapsed, m.serial_time)
            e = m.elapsed
            time.sleep(0.02)
            self.assertEqual(m.elapsed, e)                  # complete: frozen
            q = rt.submit(time.sleep, 0)
            self.assertGreaterEqual(q.elapsed, 0)


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


class ProgressTest(unittest.TestCase):
    def test_progress_bar_text(self):
        term = FakeTerminal()
        bar = weft.ProgressBar(term, width=10)
        self.assertTrue(bar.enabled)
        bar(weft.Progress(5, 10, 2.0, 2.5, 2.0))
        bar(weft.Progress(10, 10, 4.0, 2.5, 0.0))
        bar(weft.Progress(10, 10, 4.0, 2.5, 0.0))           # after the end: nothing
        self.assertEqual(term.getvalue(),
                         "\r[#####.....] 5/10 jobs  50.0% 2.5/s, 0:00:02 elapsed, 0:00:02 left"
                         "\r[##########] 10/10 jobs 100.0% 2.5/s, 0:00:04 elapsed, 0:00:00 left\n")
        quiet = io.StringIO()                               # not a terminal: nothing drawn
        weft.ProgressBar(quiet)(weft.Progress(1, 2, 1.0, 1.0, 1.0))
        self.assertEqual(quiet.getvalue(), "")
        self.assertIn("? left", bar.line(weft.Progress(0, 3, 1.0, 0.0, -1.0)))

    def test_progress_of_maps_and_waits(self):
        with weft.Runtime(2) as rt:
            seen = []
            out = rt.map(time.sleep, [0.01] * 20, chunksize=2, progress=seen.append)
            self.assertEqual(out, [None] * 20)
            self.assertEqual(seen[-1].finished, 20)
            self.assertEqual(seen[-1].total, 20)
            self.assertEqual(seen[-1].eta_s, 0.0)
            self.assertTrue(all(isinstance(p, weft.Progress) for p in seen))
            self.assertEqual([p.finished for p in seen], sorted(p.finished for p in seen))
            seen.clear()
            for _ in range(10):
                rt.submit(time.sleep, 0.02, group="p")
            self.assertTrue(rt.wait("p", progress=seen.append, progress_interval=0.02))
            self.assertEqual((seen[-1].finished, seen[-1].total), (10, 10))
            self.assertGreater(len(seen), 1)
            seen.clear()
            for _ in range(4):
                rt.submit(time.sleep, 0.01)
            self.assertTrue(rt.wait(progress=seen.append))
            self.assertEqual((seen[-1].finished, seen[-1].total), (4, 4))
            with self.assertRaisesRegex(TypeError, "progress must be"):
                rt.wait(progress=3)


class ExecutorTest(unittest.TestCase):
    def test_executor_submit_map_and_exceptions(self):
        with weft.Executor(2) as ex:
            self.assertIsInstance(ex, cf.Executor)
            self.assertEqual(ex.runtime.workers, 2)
            f = ex.submit(add, 1, b=2)
            self.assertEqual(f.result(timeout=10), 3)
            self.assertEqual(list(ex.map(add, range(5), range(5))), [0, 2, 4, 6, 8])
            self.assertEqual(list(ex.map(abs, range(-9, 0), chunksize=4)), list(range(9, 0, -1)))
            bad = ex.submit(fail, "raw")
            with self.assertRaises(ValueError) as cm:     # the task's own exception
                bad.result()
            self.assertEqual(str(cm.exception), "raw")
            self.assertIsInstance(bad.exception(), ValueError)
            with self.assertRaises(ValueError):
                list(ex.map(fail, ["m"]))
            with self.assertRaises(TimeoutError):
                list(ex.map(time.sleep, [1.0], timeout=0.05))
            rt = ex.runtime
        self.assertTrue(rt.closed)
        with self.assertRaisesRegex(RuntimeError, "cannot schedule new futures after shutdown"):
            ex.submit(add, 1, 2)

    def test_shutdown_cancel_futures_and_an_adapter_leaves_the_runtime_open(self):
        with weft.Runtime(1) as rt:
            ex = rt.executor()
            b = Blocker(rt)
            fs = [ex.submit(add, i, 0) for i in range(5)]
            other = rt.submit(add, 7, 0)
            ex.shutdown(wait=False, cancel_futures=True)
            self.assertTrue(all(f.cancelled() for f in fs))
            self.assertFalse(other.cancelled())
            b.release()
            ex.shutdown(wait=True)
            self.assertFalse(rt.closed)
            self.assertEqual(other(), 7)
            ex2 = weft.Executor(runtime=rt)
            with ex2:
                self.assertEqual(ex2.submit(add, 2, 2).result(), 4)
            self.assertFalse(rt.closed)
        with self.assertRaisesRegex(ValueError, "not both"):
            weft.Executor(2, runtime=rt)
        with self.assertRaisesRegex(TypeError, "runtime must be a weft.Runtime"):
            weft.Executor(runtime=3)

    def test_closing_map_iterator_cancels_the_rest(self):
        with weft.Runtime(1) as rt:
            ex = rt.executor()
            b = Blocker(rt)
            it = ex.map(add, range(5), range(5))
            b.release()
            self.assertEqual(next(it), 0)
            it.close()
            self.assertTrue(rt.wait())
            self.assertGreater(rt.stats()["jobs_cancelled"], 0)


class StatsTest(unittest.TestCase):
    def test_busy_time_leaves_out_waits_for_the_gil(self):
        with weft.Runtime(2) as rt:
            rt.reset_stats()
            t0 = time.monotonic()
            jobs = [rt.submit(spin, 0.05, group="cpu") for _ in range(8)]
            self.assertTrue(rt.wait("cpu"))           # the workers run them all
            wall = time.monotonic() - t0
            s = rt.stats()
            busy = sum(w["busy_s"] for w in s["per_worker"] if w["worker"] != "caller")
            # one GIL: about 0.4 s of CPU in total, never two workers' wall time
            self.assertGreaterEqual(busy, 0.35)
            self.assertLess(busy, 0.4 + 0.5 * wall)
            self.assertEqual(sum(1 for j in jobs if j.done()), 8)

    def test_header_after_the_worker_count_went_down(self):
        with weft.Runtime(4) as rt:
            rt.reset_stats()
            for _ in range(20):
                rt.submit(time.sleep, 0.01, group="s")
            self.assertTrue(rt.wait("s"))
            rows = [w for w in rt.stats()["per_worker"] if w["worker"] != "caller"]
            self.assertGreaterEqual(len(rows), 2)
            rt.workers = 1
            text = rt.stats_text()
            rows = [w for w in rt.stats()["per_worker"] if w["worker"] != "caller"]
            self.assertIn("weft job statistics: %d worker rows, 1 active now," % len(rows),
                          text.splitlines()[0])
            rt.workers = len(rows)
            self.assertIn("weft job statistics: %d workers," % len(rows), rt.stats_text())
        with weft.Runtime(1) as rt:
            rt.submit(add, 1, 1)()
            self.assertTrue(rt.stats_text().startswith("weft job statistics: 1 worker,"))


class SignatureTest(unittest.TestCase):
    def test_real_signatures(self):
        sig = lambda f: str(inspect.signature(f))
        self.assertEqual(sig(weft.Runtime.submit),
                         "(self, fn, /, *args, callback=None, callbackargs=(), group=None)")
        self.assertEqual(sig(weft.Runtime.wait),
                         "(self, group=None, timeout=None, progress=False, progress_interval=0.1)")
        self.assertEqual(sig(weft.Runtime.map),
                         "(self, fn, *iterables, group=None, chunksize=1, progress=False)")
        self.assertEqual(sig(weft.Runtime.close), "(self, /)")
        self.assertEqual(sig(weft.Runtime.group), "(self, name, /)")
        self.assertEqual(sig(weft.Job.result), "(self, /, timeout=None)")
        self.assertEqual(sig(weft.Job.__call__), "(self, /)")
        self.assertEqual(sig(weft.Job.add_done_callback), "(self, fn, /)")
        self.assertEqual(sig(weft.Group.wait), "(self, /, timeout=None)")
        self.assertEqual(sig(weft.register_task), "(name, fn, /)")
        self.assertEqual(sig(weft.Executor.submit), "(self, fn, /, *args, **kwargs)")
        self.assertEqual(sig(weft.Executor.shutdown), "(self, wait=True, *, cancel_futures=False)")

    def test_every_public_callable_has_one(self):
        missing = []

        def check(name, f):
            try:
                s = inspect.signature(f)
            except (TypeError, ValueError) as e:
                missing.append("%s: %s" % (name, e))
                return
            kinds = {p.kind for p in s.parameters.values()}
            if ({inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD} <= kinds
                    and name != "Executor.submit"):
                missing.append("%s: %s" % (name, s))
        for n in weft.__all__:
            o = getattr(weft, n)
            if inspect.isclass(o):
                if issubclass(o, BaseException) or n in ("Progress",):
                    continue
                for m in dir(o):
                    if m.startswith("_") and m != "__call__":
                        continue
                    v = inspect.getattr_static(o, m)
                    if callable(v) or isinstance(v, (classmethod, staticmethod)):
                        check("%s.%s" % (n, m), getattr(o, m))
            elif callable(o):
                check(n, o)
        self.assertEqual(missing, [])


if __name__ == "__main__":
    unittest.main()
