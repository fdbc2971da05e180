"""Ctrl-C (SIGINT) while waiting raises KeyboardInterrupt and leaves the
runtime usable."""
import os
import signal
import threading
import time
import unittest

import weft


def sigint_after(delay):
    """Sends SIGINT to this process from another thread after delay s."""
    t = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
    t.start()
    return t


def long_task(started, stop):
    started.set()
    while not stop.is_set():
        time.sleep(0.01)
    return "finished"


@unittest.skipUnless(hasattr(signal, "SIGINT"), "needs SIGINT")
class InterruptTest(unittest.TestCase):
    def setUp(self):
        self.assertIs(signal.getsignal(signal.SIGINT), signal.default_int_handler)

    def test_job_running_on_a_worker(self):
        with weft.Runtime(2) as rt:
            started, stop = threading.Event(), threading.Event()
            job = rt.submit(long_task, started, stop)
            self.assertTrue(started.wait(10))         # it runs on a worker
            timer = sigint_after(0.2)
            t0 = time.monotonic()
            with self.assertRaises(KeyboardInterrupt):
                job()
            timer.join()
            self.assertLess(time.monotonic() - t0, 5)
            # the runtime works; the interrupted wait left the job alone
            self.assertEqual(rt.submit(abs, -4)(), 4)
            self.assertEqual(rt.map(abs, [-1, -2]), [1, 2])
            self.assertFalse(job.done())
            stop.set()
            self.assertEqual(job(), "finished")

    def test_job_run_by_the_waiting_thread(self):
        with weft.Runtime(1) as rt:
            started, stop = threading.Event(), threading.Event()
            blocker = rt.submit(long_task, started, stop)   # keeps the one worker busy
            self.assertTrue(started.wait(10))
            sleeper = rt.submit(time.sleep, 30)              # job() runs it right here
            timer = sigint_after(0.2)
            t0 = time.monotonic()
            with self.assertRaises(KeyboardInterrupt):
                sleeper()
            timer.join()
            self.assertLess(time.monotonic() - t0, 5)
            # Ctrl-C stopped that job: it is marked failed with the interrupt
            self.assertEqual(sleeper.status, "failed")
            self.assertIsInstance(sleeper.exception(), KeyboardInterrupt)
            with self.assertRaises(weft.TaskError):
                sleeper()
            self.assertEqual(rt.submit(abs, -5)(), 5)
            stop.set()
            self.assertEqual(blocker(), "finished")
            self.assertTrue(rt.wait())

    def test_wait_all_and_group(self):
        with weft.Runtime(2) as rt:
            started, stop = threading.Event(), threading.Event()
            job = rt.submit(long_task, started, stop, group="long")
            self.assertTrue(started.wait(10))
            for wait in (lambda: rt.wait(), lambda: rt.wait("long"),
                         lambda: rt.group("long").wait()):
                timer = sigint_after(0.2)
                with self.assertRaises(KeyboardInterrupt):
                    wait()
                timer.join()
            self.assertEqual(rt.submit(abs, -6)(), 6)
            stop.set()
            self.assertTrue(rt.wait())
            self.assertEqual(job(), "finished")

    def test_new_waits(self):
        # concurrent.futures' waits on jobs, the Executor's map, map results,
        # imap_unordered and waits with progress: Ctrl-C raises promptly,
        # cancels nothing, and the runtime stays usable
        import concurrent.futures as cf
        with weft.Runtime(2) as rt:
            ex = rt.executor()
            started, stop = threading.Event(), threading.Event()
            job = rt.submit(long_task, started, stop, group="long")
            self.assertTrue(started.wait(10))
            waits = [
                lambda: next(cf.as_completed([job])),
                lambda: cf.wait([job], return_when=cf.FIRST_COMPLETED),
                lambda: list(ex.map(lambda j: j(), [job])),
                lambda: rt.map_async(lambda j: j(), [job]).get(),
                lambda: list(rt.imap_unordered(lambda j: j(), [job])),
                lambda: rt.wait("long", progress=lambda p: None),
                lambda: job.result(timeout=30),
            ]
            for i, wait in enumerate(waits):
                timer = sigint_after(0.2)
                t0 = time.monotonic()
                with self.assertRaises(KeyboardInterrupt, msg="wait %d" % i):
                    wait()
                timer.join()
                self.assertLess(time.monotonic() - t0, 5, "wait %d" % i)
                self.assertFalse(job.done())
                self.assertFalse(job.cancelled())
            self.assertEqual(rt.submit(abs, -8)(), 8)
            self.assertEqual(ex.submit(abs, -9).result(), 9)
            stop.set()
            self.assertEqual(job(), "finished")
            self.assertTrue(rt.wait())
            self.assertEqual(rt.stats()["jobs_cancelled"], 0)

    def test_graph_run(self):
        with weft.Runtime(2) as rt:
            started, stop = threading.Event(), threading.Event()
            g = weft.Graph("interrupted")
            a = g.add(long_task, started, stop, name="long")
            b = g.add(abs, -1, name="after", inputs=False)
            a >> b
            run = g.run_async(rt)
            self.assertTrue(started.wait(10))
            timer = sigint_after(0.2)
            releaser = threading.Timer(0.5, stop.set)
            releaser.start()
            with self.assertRaises(KeyboardInterrupt):
                run.wait()
            timer.join()
            releaser.join()
            # the interrupt cancelled the rest, and waited for the running node
            self.assertTrue(run.done())
            self.assertEqual(run.status(a), "done")
            self.assertEqual(run.status(b), "cancelled")
            self.assertEqual(run.code, weft.ECANCELED)
            # the blocking form, then the graph runs again normally
            started.clear()
            stop.clear()
            timer = sigint_after(0.3)
            releaser = threading.Timer(0.6, stop.set)
            releaser.start()
            with self.assertRaises(KeyboardInterrupt):
                g.run(rt)
            timer.join()
            releaser.join()
            stop.set()
            run = g.run(rt)
            self.assertEqual(run.result(b), 1)
            self.assertEqual(rt.submit(abs, -7)(), 7)


if __name__ == "__main__":
    unittest.main()
