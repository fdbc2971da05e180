"""weft.pp, Parallel Python's API: the Server's calls and their errors, and
the five seed programs (examples/python/pp) and their native versions
(examples/python) run as scripts, their output compared with values
computed here independently."""
import contextlib
import hashlib
import io
import math
import os
import socket
import re
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import weft
import weft.pp as pp

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples", "python")
PP_EXAMPLES = os.path.join(EXAMPLES, "pp")


# ---- independent references ----

def primes_below(n):
    """The primes below n, by a sieve of Eratosthenes."""
    sieve = bytearray([1]) * n
    sieve[:2] = b"\0\0"
    for p in range(2, math.isqrt(n) + 1):
        if sieve[p]:
            sieve[p * p::p] = bytearray(len(range(p * p, n, p)))
    return [i for i in range(n) if sieve[i]]


def prime_sum(n):
    return sum(primes_below(n))


def alternating_slices(n, parts):
    """The partial sums of 1 - 1/2 + 1/3 - ... over [1, n), cut as the
    examples cut it, each summed from low x up."""
    step = (n - 1) // parts + 1
    out = []
    for i in range(parts):
        lo, hi = 1 + i * step, min(n, 1 + (i + 1) * step)
        s = 0.0
        for x in range(lo, hi):
            s += (-1.0 / x) if x % 2 == 0 else (1.0 / x)
        out.append(s)
    return out


def pi_and_derivative(n, parts):
    """The midpoint sums of 4/(1+x^2) and of its derivative in t of
    4/(1+(t x)^2) at t = 1, -8x^2/(1+x^2)^2, over [0, 1] with n points, in
    plain floats."""
    h = 1.0 / n
    v = d = 0.0
    for i in range(n):
        x = (i + 0.5) * h
        q = 1.0 + x * x
        v += 4.0 / q
        d += -8.0 * x * x / (q * q)
    return v * h, d * h


def run_script(path, *args, env=None, timeout=120):
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([sys.executable, path] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=timeout, env=e)
    return p.returncode, p.stdout, p.stderr


STATS_ROW = re.compile(r"^ +(\d+) \| +(\d+\.\d\d) \| +(\d+\.\d{4}) \| +(\d+\.\d{6}) \| (\S+)$")


def stats_rows(out):
    """{server: (job count, share %)} of a print_stats table in out."""
    lines = out.splitlines()
    i = lines.index("Job execution statistics:")
    assert lines[i + 1] == " job count | % of all jobs | job time sum | time per job | job server"
    rows = {}
    for line in lines[i + 2:]:
        m = STATS_ROW.match(line)
        if not m:
            break
        rows[m.group(5)] = (int(m.group(1)), float(m.group(2)))
    return rows


# ---- tasks of this (importable) module ----

def add(a, b):
    return a + b


def slow_square(x, delay):
    time.sleep(delay)
    return x * x


class Refused(Exception):
    pass


def refuse(x):
    raise Refused("refused %d" % x)


def uses_math(x):
    return math.sqrt(x)


def talk(x):
    print("job says", x)
    return x


def die():
    os._exit(3)


def pid():
    return os.getpid()


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = pp.Server(2)

    @classmethod
    def tearDownClass(cls):
        cls.server.destroy()

    def test_submit_and_job_call(self):
        s = self.server
        jobs = [s.submit(add, (i, 10)) for i in range(20)]
        self.assertEqual([j() for j in jobs], [i + 10 for i in range(20)])
        self.assertTrue(all(j.finished for j in jobs))
        self.assertEqual([j.tid for j in jobs], list(range(jobs[0].tid, jobs[0].tid + 20)))
        self.assertEqual(s.submit(uses_math, (16.0,), (), ("math",))(), 4.0)

    def test_jobs_run_in_worker_processes(self):
        pids = {self.server.submit(pid)() for _ in range(10)}
        self.assertNotIn(os.getpid(), pids)
        self.assertLessEqual(len(pids), 2)

    def test_two_jobs_overlap_in_time(self):
        t0 = time.monotonic()
        jobs = [self.server.submit(slow_square, (i, 0.5)) for i in range(2)]
        self.assertEqual([j() for j in jobs], [0, 1])
        self.assertLess(time.monotonic() - t0, 0.95)      # serially: 1.0 s

    def test_failed_job_returns_none_and_prints_the_remote_traceback(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            job = self.server.submit(refuse, (3,))
            self.assertIsNone(job())
        self.assertTrue(job.finished)
        self.assertIsInstance(job.exception, weft.TaskError)
        self.assertEqual(job.exception.remote_type, "test_pp.Refused")
        self.assertIs(type(job.exception.exception), Refused)
        text = err.getvalue()
        self.assertTrue(text.startswith("weft.pp: job %d (refuse) raised on unix:" % job.tid),
                        text)
        self.assertIn("Traceback (most recent call last):", text)
        self.assertIn('raise Refused("refused %d" % x)', text)
        self.assertTrue(text.endswith("test_pp.Refused: refused 3\n"), text)

    def test_callback_gets_callbackargs_then_result(self):
        got = []
        lock = threading.Lock()

        def cb(*a):
            with lock:
                got.append(a)
        jobs = [self.server.submit(add, (i, 1), callback=cb, callbackargs=("tag", i))
                for i in range(6)]
        self.server.wait()
        self.assertEqual(sorted(got), [("tag", i, i + 1) for i in range(6)])
        self.assertTrue(all(j.finished for j in jobs))
        # a job that raised: the callback gets None, as in pp
        got.clear()
        with contextlib.redirect_stderr(io.StringIO()):
            self.server.submit(refuse, (1,), callback=cb, callbackargs=("x",))
            self.server.wait()
        self.assertEqual(got, [("x", None)])

    def test_what_a_job_prints_is_printed_here(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(self.server.submit(talk, (5,))(), 5)
        self.assertEqual(out.getvalue(), "job says 5\n")

    def test_callback_runs_before_job_call_returns(self):
        seen = []
        job = self.server.submit(slow_square, (3, 0.05), callback=seen.append)
        self.assertEqual(job(), 9)
        self.assertEqual(seen, [9])

    def test_wait_for_a_group(self):
        done = []
        lock = threading.Lock()

        def cb(tag, r):
            with lock:
                done.append((tag, r))
        a = [self.server.submit(slow_square, (i, 0.05), callback=cb, callbackargs=("a",),
                                group="a") for i in range(4)]
        self.server.wait("a")
        self.assertTrue(all(j.finished for j in a))
        self.assertEqual(sorted(r for t, r in done if t == "a"), [0, 1, 4, 9])
        self.server.wait("never used")                 # returns at once, as pp's
        self.server.wait()

    def test_globals_and_template(self):
        t = pp.Template(self.server, add, callback=None)
        self.assertEqual([j() for j in [t.submit(1, 2), t.submit(3, 4)]], [3, 7])
        self.assertEqual(self.server.submit(uses_math, (9.0,), globals=globals())(), 3.0)

    def test_bad_arguments(self):
        s = self.server
        cases = [
            (lambda: s.submit(add, [1, 2]), TypeError, "args must be a tuple, not list"),
            (lambda: s.submit(add, (1, 2), [add]), TypeError, "depfuncs must be a tuple, not list"),
            (lambda: s.submit(add, (1, 2), (), "math"), TypeError, "modules must be a tuple, not str"),
            (lambda: s.submit(add, (1, 2), callbackargs=1), TypeError,
             "callbackargs must be a tuple, not int"),
            (lambda: s.submit(42), TypeError, "func must be callable, not int"),
            (lambda: s.submit(add, (1, 2), callback=3), TypeError, "callback must be callable or None"),
            (lambda: s.submit(add, (1, 2), group=1), TypeError, "group must be a str, not int"),
            (lambda: s.submit(add, (1, 2), globals=[]), TypeError, "globals must be a dict or None"),
            (lambda: s.submit(add, (1, 2), (), (1,)), TypeError,
             "modules must hold module names (str), not 1"),
            (lambda: s.set_ncpus(-1), ValueError, "ncpus must be >= 0, not -1"),
            (lambda: s.set_ncpus("many"), TypeError, "ncpus must be an int or 'autodetect', not 'many'"),
            (lambda: s.set_ncpus(0), ValueError,
             "ncpus=0 runs jobs only on ppservers, and none were given"),
            (lambda: pp.Server(2, ppservers="host"), TypeError,
             'ppservers must be a tuple of "host" or "host:port" strings'),
            (lambda: pp.Server(2, ppservers=("h:0",)), ValueError, "ppservers: bad port in 'h:0'"),
            (lambda: pp.Server(2, proto=9), ValueError, "proto must be a pickle protocol, 0 to 5"),
            (lambda: pp.Server(2, socket_timeout=0), ValueError,
             "socket_timeout must be a number of seconds > 0"),
            (lambda: pp.Server(2, secret=5), TypeError, "secret must be a str or None, not int"),
            (lambda: pp.Server(True), TypeError, "ncpus must be an int or 'autodetect', not True"),
        ]
        for fn, exc, msg in cases:
            with self.assertRaises(exc, msg=msg) as cm:
                fn()
            self.assertEqual(str(cm.exception), msg)
        # a module the worker cannot import: the job fails there, as on pp
        with contextlib.redirect_stderr(io.StringIO()) as err:
            job = s.submit(add, (1, 2), (), ("no_such_module_weft",))
            self.assertIsNone(job())
        self.assertEqual(job.exception.remote_type, "ModuleNotFoundError")
        self.assertIn("No module named 'no_such_module_weft'", err.getvalue())

    def test_active_nodes_and_stats(self):
        self.assertEqual(self.server.get_active_nodes(), {"local": 2})
        self.assertEqual(self.server.get_ncpus(), 2)
        st = self.server.get_stats()
        self.assertEqual(list(st), ["local"])
        self.assertEqual(st["local"].ncores, 2)


class LifecycleTest(unittest.TestCase):
    def test_set_ncpus_between_and_during_jobs(self):
        with pp.Server(1) as s:
            self.assertEqual(s.get_ncpus(), 1)
            first = [s.submit(slow_square, (i, 0.2)) for i in range(3)]
            s.set_ncpus(2)                     # while the first jobs run
            self.assertEqual(s.get_ncpus(), 2)
            self.assertEqual(s.get_active_nodes(), {"local": 2})
            t0 = time.monotonic()
            second = [s.submit(slow_square, (i, 0.4)) for i in range(2)]
            self.assertEqual([j() for j in second], [0, 1])
            self.assertLess(time.monotonic() - t0, 0.75)   # both at once on 2 workers
            self.assertEqual([j() for j in first], [0, 1, 4])
            s.set_ncpus("autodetect")
            self.assertEqual(s.get_ncpus(), weft.cpu_count())
            self.assertEqual(s.submit(add, (2, 3))(), 5)
            s.wait()
            self.assertEqual(s.get_stats()["local"].njobs, 6)

    def test_destroy_drops_pending_jobs(self):
        s = pp.Server(1)
        jobs = [s.submit(slow_square, (i, 0.3)) for i in range(4)]
        t0 = time.monotonic()
        s.destroy()
        self.assertLess(time.monotonic() - t0, 5.0)
        for j in jobs:
            self.assertTrue(j.finished)
            with self.assertRaises(pp.DestroyedServerError) as cm:
                j()
            self.assertEqual(str(cm.exception), "the Server was destroyed before job %d "
                             "(slow_square) completed" % j.tid)
        with self.assertRaises(pp.DestroyedServerError):
            s.submit(add, (1, 2))
        s.destroy()                                        # twice: nothing

    def test_a_job_that_kills_its_workers(self):
        with pp.Server(1) as s:
            with contextlib.redirect_stderr(io.StringIO()) as err:
                job = s.submit(die)
                self.assertIsNone(job())
            # the runtime retried it on restarted workers, then gave up
            self.assertIsInstance(job.exception, weft.TaskError)
            self.assertEqual(job.exception.exception.code, weft.ENODE)
            text = err.getvalue()
            self.assertTrue(text.startswith("weft.pp: job %d (die) raised on local:\n" % job.tid),
                            text)
            self.assertIn("node lost", text)
            self.assertEqual(s.submit(add, (2, 2))(), 4)     # the server goes on

    def test_print_stats_layout(self):
        with pp.Server(2) as s:
            for j in [s.submit(slow_square, (i, 0.05)) for i in range(4)]:
                j()
            out = io.StringIO()
            s.print_stats(out)
        text = out.getvalue()
        self.assertEqual(stats_rows(text), {"local": (4, 100.0)})
        lines = text.splitlines()
        m = STATS_ROW.match(lines[2])
        total, per_job = float(m.group(3)), float(m.group(4))
        self.assertTrue(0.19 < total < 1.0, total)          # 4 jobs of 0.05 s
        self.assertAlmostEqual(per_job, total / 4, delta=1e-4)   # printed to 4 and 6 places
        self.assertRegex(lines[3], r"^Time elapsed since server creation \d+\.\d{6}$")
        self.assertEqual(lines[4], "0 active tasks, 2 cores")

    def test_threads_mode(self):
        os.environ["WEFT_PP_THREADS"] = "1"
        try:
            s = pp.Server(2)
        finally:
            del os.environ["WEFT_PP_THREADS"]
        try:
            self.assertEqual(s.submit(pid)(), os.getpid())
            with contextlib.redirect_stderr(io.StringIO()) as err:
                self.assertIsNone(s.submit(refuse, (2,))())
            self.assertIn("weft.pp: job 2 (refuse) raised on local:", err.getvalue())
        finally:
            s.destroy()

class DiscoveryTest(unittest.TestCase):
    """ppservers=("*",): a weftd --python node that announces itself on
    loopback (signed beacons to 127.0.0.1, $WEFT_DISCOVER) is found and
    runs the jobs, with no node listed."""

    def test_star_finds_an_announcing_node(self):
        with tempfile.TemporaryDirectory() as d:
            key = pp.secret_key_file(SECRET, os.path.join(d, "weft", "pp"))
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            u.close()
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                [p for p in sys.path if p] + [os.environ.get("PYTHONPATH", "")]))
            p = subprocess.Popen([WEFTD, "--listen", "127.0.0.1:0", "--print-port",
                                  "--secret-file", key, "--log-level", "error",
                                  "--announce", "127.0.0.1:%d" % port,
                                  "--announce-interval", "0.2",
                                  "--python", "1", "--python-exe", sys.executable],
                                 stdout=subprocess.PIPE, text=True, env=env, cwd=HERE)
            old = {k: os.environ.get(k) for k in ("WEFT_DISCOVER", "XDG_CONFIG_HOME")}
            try:
                line = p.stdout.readline()
                self.assertTrue(line.startswith("port "), line)
                node = "127.0.0.1:%d" % int(line.split()[1])
                os.environ["WEFT_DISCOVER"] = "127.0.0.1:%d" % port
                os.environ["XDG_CONFIG_HOME"] = d
                s = pp.Server(0, ppservers=("*",), secret=SECRET)
                try:
                    self.assertEqual(s.submit(add, (20, 22))(), 42)
                    worker = s.submit(pid)()
                    self.assertNotEqual(worker, os.getpid())
                    self.assertIn(node, s.get_active_nodes())
                finally:
                    s.destroy()
            finally:
                for k, v in old.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)
                p.stdout.close()


class SecretTest(unittest.TestCase):
    def test_key_file_of_a_secret(self):
        with tempfile.TemporaryDirectory() as d:
            kd = os.path.join(d, "keys")
            p1 = pp.secret_key_file("my secret", kd)
            self.assertEqual(stat.S_IMODE(os.stat(kd).st_mode), 0o700)
            self.assertEqual(stat.S_IMODE(os.stat(p1).st_mode), 0o600)
            key = hashlib.sha256(b"weft.pp secret v1\0my secret").hexdigest()
            with open(p1) as f:
                self.assertEqual(f.read(), key + "\n")
            self.assertEqual(os.path.basename(p1), "secret-%s.key" % hashlib.sha256(
                key.encode()).hexdigest()[:16])
            self.assertEqual(pp.secret_key_file(b"my secret", kd), p1)   # same secret, same file
            p2 = pp.secret_key_file("another", kd)
            self.assertNotEqual(p1, p2)
            os.chmod(p1, 0o644)
            with self.assertRaises(weft.Error) as cm:
                pp.secret_key_file("my secret", kd)
            self.assertEqual(cm.exception.code, weft.EPERM)
            self.assertIn("chmod 600", str(cm.exception))
            os.chmod(p1, 0o600)
            with open(p1, "w") as f:
                f.write("0" * 64 + "\n")
            with self.assertRaises(weft.Error) as cm:
                pp.secret_key_file("my secret", kd)
            self.assertIn("holds another key", str(cm.exception))
            with self.assertRaises(ValueError):
                pp.secret_key_file("", kd)
            with self.assertRaises(TypeError):
                pp.secret_key_file(3, kd)
            self.assertEqual(sorted(os.listdir(kd)), sorted([os.path.basename(p1),
                                                             os.path.basename(p2)]))

    def test_keyfile_command_reads_the_secret_from_stdin(self):
        with tempfile.TemporaryDirectory() as d:
            env = dict(os.environ, XDG_CONFIG_HOME=d)
            p = subprocess.run([sys.executable, "-m", "weft.pp", "keyfile"], input="s3cret\n",
                               capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            path = p.stdout.strip()
            self.assertTrue(path.startswith(os.path.join(d, "weft", "pp", "secret-")), path)
            with open(path) as f:
                self.assertEqual(f.read().strip(),
                                 hashlib.sha256(b"weft.pp secret v1\0s3cret").hexdigest())
            p = subprocess.run([sys.executable, "-m", "weft.pp"], capture_output=True, text=True,
                               env=env, timeout=60)
            self.assertEqual(p.returncode, 2)
            self.assertIn("usage:", p.stderr)


class SeedProgramsTest(unittest.TestCase):
    """The five pp programs, as pp would run them, and their native forms."""

    def test_pp_sum_primes(self):
        rc, out, err = run_script(os.path.join(PP_EXAMPLES, "sum_primes.py"), 2)
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("Starting pp with 2 workers\n"), out)
        want = ["Sum of primes below 100 is %d" % prime_sum(100)]
        want += ["Sum of primes below %d is %d" % (n, prime_sum(n))
                 for n in range(100000, 100800, 100)]
        self.assertEqual([l for l in out.splitlines() if l.startswith("Sum of primes below")],
                         want)
        self.assertEqual(stats_rows(out), {"local": (9, 100.0)})
        self.assertIn("\n0 active tasks, 2 cores\n", out)
        self.assertTrue(out.endswith("sum_primes.py: done\n"))
        self.assertEqual(err, "")

    def test_pp_reverse_md5(self):
        secret = 1829182
        h = hashlib.md5(str(secret).encode()).hexdigest()
        rc, out, err = run_script(os.path.join(PP_EXAMPLES, "reverse_md5.py"), 2, secret,
                                  2000000, 64)
        self.assertEqual(rc, 0, err)
        self.assertIn("hash to reverse: %s\n" % h, out)
        self.assertIn("Reverse md5 for %s is %d\n" % (h, secret), out)
        self.assertIn("parts read: %d of 64\n" % (secret // 31250 + 1), out)
        self.assertTrue(out.endswith("reverse_md5.py: done\n"))

    def test_pp_dynamic_ncpus(self):
        n, parts = 2000000, 16
        total = 0.0
        for s in alternating_slices(n, parts):
            total += s
        rc, out, err = run_script(os.path.join(PP_EXAMPLES, "dynamic_ncpus.py"), n, parts,
                                  "1,2,1")
        self.assertEqual(rc, 0, err)
        lines = [l for l in out.splitlines() if l.startswith("ncpus:")]
        self.assertEqual(len(lines), 3)
        for k, line in zip((1, 2, 1), lines):
            self.assertTrue(line.startswith("ncpus: %d, partial sum: %.15f, ln 2 - sum: %.3e, "
                                            "time: " % (k, total, math.log(2) - total)), line)
        self.assertEqual(stats_rows(out), {"local": (48, 100.0)})

    def test_pp_callback(self):
        n, parts = 2000000, 32
        slices = alternating_slices(n, parts)
        exact = math.fsum(slices)
        self.assertEqual("%.12f" % exact, "%.12f" % sum(slices))   # order-independent digits
        rc, out, err = run_script(os.path.join(PP_EXAMPLES, "callback.py"), 2, n, parts)
        self.assertEqual(rc, 0, err)
        self.assertIn("Partial sums added by callbacks: %d\nSum: %.12f\n" % (parts, exact), out)
        self.assertEqual(stats_rows(out), {"local": (parts, 100.0)})

    def test_pp_auto_diff(self):
        n, parts = 200000, 8
        v, d = pi_and_derivative(n, parts)
        rc, out, err = run_script(os.path.join(PP_EXAMPLES, "auto_diff.py"), 2, n, parts)
        self.assertEqual(rc, 0, err)
        self.assertIn("result type: AD\n", out)
        self.assertIn("pi      = %.10f (error" % v, out)
        self.assertIn("d pi/dt = %.10f (2 - pi = %.10f)\n" % (d, 2.0 - math.pi), out)
        self.assertEqual("%.10f" % d, "%.10f" % (2.0 - math.pi))
        self.assertEqual(stats_rows(out), {"local": (parts, 100.0)})

    def test_pp_programs_run_with_import_pp(self):
        """Each program is pp's: with `import pp` (a module that is weft.pp)
        in place of `import weft.pp as pp`, it runs the same."""
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "pp.py"), "w") as f:
                f.write("from weft.pp import *\nfrom weft.pp import version\n")
            src = os.path.join(PP_EXAMPLES, "auto_diff.py")
            with open(src) as f:
                text = f.read()
            self.assertEqual(text.count("import weft.pp as pp\n"), 1)
            dst = os.path.join(d, "auto_diff.py")
            with open(dst, "w") as f:
                f.write(text.replace("import weft.pp as pp\n", "import pp\n"))
            rc, out, err = run_script(dst, 2, 20000, 4)
            self.assertEqual(rc, 0, err)
            v, dd = pi_and_derivative(20000, 4)
            self.assertIn("d pi/dt = %.10f" % dd, out)

    # -- the native versions (weft.Runtime(processes=...)) --

    def test_native_sum_primes(self):
        rc, out, err = run_script(os.path.join(EXAMPLES, "sum_primes.py"), "--processes", 2)
        self.assertEqual(rc, 0, err)
        want = ["Sum of primes below %d is %d" % (n, prime_sum(n))
                for n in range(100000, 100800, 100)]
        self.assertEqual([l for l in out.splitlines() if l.startswith("Sum of primes")], want)
        self.assertIn("Total of the sums (callback): %d\n" % sum(
            prime_sum(n) for n in range(100000, 100800, 100)), out)
        self.assertIn("in 2 worker processes", out)

    def test_native_reverse_md5(self):
        rc, out, err = run_script(os.path.join(EXAMPLES, "reverse_md5.py"), "--processes", 2, 0,
                                  123456, 3200000, 64)
        self.assertEqual(rc, 0, err)
        self.assertIn("Reverse md5 of e10adc3949ba59abbe56e057f20f883e: 123456\n", out)

    def test_native_dynamic_ncpus(self):
        n, parts = 2000000, 16
        total = 0.0
        for s in alternating_slices(n, parts):
            total += s
        rc, out, err = run_script(os.path.join(EXAMPLES, "dynamic_ncpus.py"), n, parts, "1,2")
        self.assertEqual(rc, 0, err)
        lines = [l for l in out.splitlines() if l.startswith("processes:")]
        self.assertEqual(len(lines), 2)
        for k, line in zip((1, 2), lines):
            self.assertTrue(line.startswith("processes: %d, partial sum: %.15f, " % (k, total)),
                            line)

    def test_native_callback(self):
        n, parts = 2000000, 32
        exact = math.fsum(alternating_slices(n, parts))
        rc, out, err = run_script(os.path.join(EXAMPLES, "callback.py"), 2, n, parts)
        self.assertEqual(rc, 0, err)
        self.assertIn("Partial sums added by callbacks: %d\nSum: %.12f\n" % (parts, exact), out)

    def test_native_auto_diff(self):
        n, parts = 200000, 8
        v, d = pi_and_derivative(n, parts)
        rc, out, err = run_script(os.path.join(EXAMPLES, "auto_diff.py"), 2, n, parts)
        self.assertEqual(rc, 0, err)
        self.assertIn("result type: AD\n", out)
        self.assertIn("pi      = %.10f" % v, out)
        self.assertIn("d pi/dt = %.10f" % d, out)


WEFTD = os.environ.get("WEFT_WEFTD")
SECRET = "the pp secret of test_pp"


@unittest.skipUnless(WEFTD and os.path.exists(WEFTD), "WEFT_WEFTD (weftd's path) not set")
class TwoNodesTest(unittest.TestCase):
    """Two weftd nodes (--python 1) on loopback, authenticated by the key
    file that pp's secret maps to; the programs run there as pp runs them
    with ppservers."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.config = cls.dir.name
        cls.key = pp.secret_key_file(SECRET, os.path.join(cls.config, "weft", "pp"))
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
                line = p.stdout.readline()          # "port N", once it listens
                if not line.startswith("port "):
                    raise RuntimeError("weftd did not start: %r" % line)
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

    def env(self):
        # the programs pass no secret: the key comes as for every weft client
        return {"WEFT_SECRET_FILE": self.key}

    def test_server_with_secret_on_the_nodes(self):
        old = os.environ.get("XDG_CONFIG_HOME")
        os.environ["XDG_CONFIG_HOME"] = self.config      # where secret_key_file looks
        try:
            s = pp.Server(0, ppservers=tuple(self.nodes), secret=SECRET)
        finally:
            if old is None:
                del os.environ["XDG_CONFIG_HOME"]
            else:
                os.environ["XDG_CONFIG_HOME"] = old
        try:
            jobs = [s.submit(add, (i, 100)) for i in range(40)]
            self.assertEqual([j() for j in jobs], [i + 100 for i in range(40)])
            pids = {s.submit(pid)() for _ in range(20)}
            self.assertNotIn(os.getpid(), pids)
            nodes = s.get_active_nodes()
            self.assertEqual(nodes, dict({"local": 0}, **{n: 1 for n in self.nodes}))
            with contextlib.redirect_stderr(io.StringIO()) as err:
                job = s.submit(refuse, (4,))
                self.assertIsNone(job())
            self.assertIn(job.exception.remote_node, self.nodes)
            self.assertTrue(err.getvalue().startswith(
                "weft.pp: job %d (refuse) raised on %s:\n" % (job.tid, job.exception.remote_node)))
            s.wait()
            rows = s.get_stats()
            self.assertEqual(rows["local"].njobs, 0)
            self.assertEqual(sum(rows[n].njobs for n in self.nodes if n in rows), 61)
        finally:
            s.destroy()

    def test_pp_sum_primes_on_two_nodes(self):
        rc, out, err = run_script(os.path.join(PP_EXAMPLES, "sum_primes.py"), 0, *self.nodes,
                                  env=self.env())
        self.assertEqual(rc, 0, err)
        want = ["Sum of primes below 100 is %d" % prime_sum(100)]
        want += ["Sum of primes below %d is %d" % (n, prime_sum(n))
                 for n in range(100000, 100800, 100)]
        self.assertEqual([l for l in out.splitlines() if l.startswith("Sum of primes below")],
                         want)
        rows = stats_rows(out)
        self.assertEqual(rows["local"], (0, 0.0))
        self.assertEqual(set(rows) - {"local"} <= set(self.nodes), True)
        self.assertEqual(sum(n for n, _ in rows.values()), 9)

    def test_pp_auto_diff_and_callback_on_nodes_and_local(self):
        n, parts = 100000, 8
        v, d = pi_and_derivative(n, parts)
        rc, out, err = run_script(os.path.join(PP_EXAMPLES, "auto_diff.py"), 0, n, parts,
                                  *self.nodes, env=self.env())
        self.assertEqual(rc, 0, err)
        self.assertIn("result type: AD\n", out)
        self.assertIn("pi      = %.10f" % v, out)
        self.assertIn("d pi/dt = %.10f" % d, out)
        self.assertEqual(sum(c for c, _ in stats_rows(out).values()), parts)
        n, parts = 1000000, 16
        exact = math.fsum(alternating_slices(n, parts))
        rc, out, err = run_script(os.path.join(PP_EXAMPLES, "callback.py"), 1, n, parts,
                                  *self.nodes, env=self.env())
        self.assertEqual(rc, 0, err)
        self.assertIn("Partial sums added by callbacks: %d\nSum: %.12f\n" % (parts, exact), out)
        self.assertEqual(sum(c for c, _ in stats_rows(out).values()), parts)

    def test_native_programs_on_two_nodes(self):
        want = ["Sum of primes below %d is %d" % (n, prime_sum(n))
                for n in range(100000, 100800, 100)]
        nodes = ",".join(self.nodes)
        rc, out, err = run_script(os.path.join(EXAMPLES, "sum_primes.py"), "--processes", 0,
                                  "--nodes", nodes, env=self.env())
        self.assertEqual(rc, 0, err)
        self.assertIn("in 0 worker processes and on 2 nodes", out)
        self.assertEqual([l for l in out.splitlines() if l.startswith("Sum of primes")], want)
        n, parts = 100000, 8
        v, d = pi_and_derivative(n, parts)
        rc, out, err = run_script(os.path.join(EXAMPLES, "auto_diff.py"), "--nodes", nodes, 0,
                                  n, parts, env=self.env())
        self.assertEqual(rc, 0, err)
        self.assertIn("result type: AD\npi      = %.10f" % v, out)
        self.assertIn("d pi/dt = %.10f" % d, out)
        n, parts = 1000000, 16
        exact = math.fsum(alternating_slices(n, parts))
        rc, out, err = run_script(os.path.join(EXAMPLES, "callback.py"), "--nodes", nodes, 1,
                                  n, parts, env=self.env())
        self.assertEqual(rc, 0, err)
        self.assertIn("in 1 worker processes and on 2 nodes\n", out)
        self.assertIn("Partial sums added by callbacks: %d\nSum: %.12f\n" % (parts, exact), out)

    def test_pp_reverse_md5_on_two_nodes(self):
        secret = 345678
        h = hashlib.md5(str(secret).encode()).hexdigest()
        rc, out, err = run_script(os.path.join(PP_EXAMPLES, "reverse_md5.py"), 0, secret,
                                  400000, 16, *self.nodes, env=self.env())
        self.assertEqual(rc, 0, err)
        self.assertIn("Reverse md5 for %s is %d\n" % (h, secret), out)
        self.assertIn("parts read: %d of 16\n" % (secret // 25000 + 1), out)

if __name__ == "__main__":
    unittest.main()
