"""Errors: task exceptions as TaskError, weft codes as Python exceptions."""
import os
import re
import unittest

import weft
from weft import _core
from weft import core as _swig

# weft's C header, whose table WEFT_ERRNO_MAP the binding is generated from
COMMON_H = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime",
                        "include", "weft", "common.h")


def errno_map():
    """[(name, code, message)] of WEFT_ERRNO_MAP, read from the C header."""
    with open(COMMON_H) as f:
        text = f.read()
    body = text[text.index("#define WEFT_ERRNO_MAP(X)"):text.index("typedef enum weft_errno")]
    return [(m.group(1), int(m.group(2)), m.group(3))
            for m in re.finditer(r'X\((\w+),\s*(-?\d+),\s*"([^"]*)"\)', body)]


class Boom(Exception):
    pass


def explode(x):
    helper_that_raises(x)


def helper_that_raises(x):
    raise Boom("boom %s" % x)


class TaskErrorTest(unittest.TestCase):
    def test_job_raises_task_error_with_cause_and_traceback(self):
        with weft.Runtime(2) as rt:
            job = rt.submit(explode, 7)
            with self.assertRaises(weft.TaskError) as cm:
                job()
            err = cm.exception
            self.assertIsInstance(err, weft.Error)
            self.assertEqual(err.code, weft.ETASK)
            self.assertEqual(err.name, "WEFT_ETASK")
            self.assertEqual(err.node, "explode")
            self.assertIsInstance(err.exception, Boom)
            self.assertIs(err.__cause__, err.exception)
            self.assertEqual(str(err.exception), "boom 7")
            self.assertIn("job explode raised", str(err))
            self.assertIn("Boom: boom 7", str(err))
            # the traceback names the task's own frames
            self.assertIn("helper_that_raises", err.traceback)
            self.assertIn("Boom: boom 7", err.traceback)
            self.assertIsNotNone(err.exception.__traceback__)
            # the job keeps the outcome
            self.assertEqual(job.status, "failed")
            self.assertTrue(job.done())
            self.assertIs(job.exception(), err.exception)
            with self.assertRaises(weft.TaskError):
                job.result(timeout=1)
            # and the runtime goes on
            self.assertEqual(rt.submit(abs, -3)(), 3)

    def test_base_exceptions_in_tasks_fail_the_job(self):
        def leave():
            raise SystemExit(3)

        with weft.Runtime(2) as rt:
            j = rt.submit(leave)
            rt.wait()
            self.assertIsInstance(j.exception(), SystemExit)
            with self.assertRaises(weft.TaskError):
                j()

    def test_many_failures(self):
        with weft.Runtime(2) as rt:
            jobs = [rt.submit(explode, i) if i % 3 == 0 else rt.submit(abs, i)
                    for i in range(300)]
            for i, j in enumerate(jobs):
                if i % 3 == 0:
                    self.assertIsInstance(j.exception(), Boom)
                else:
                    self.assertEqual(j(), i)
            self.assertEqual(rt.stats()["jobs_failed"], 100)

    def test_task_error_can_be_made_by_hand(self):
        e = weft.TaskError("msg", node="n", exception=ValueError("v"))
        self.assertEqual(e.node, "n")
        self.assertIn("ValueError: v", e.traceback)
        self.assertIsNone(weft.TaskError("plain").traceback)


class CodeMappingTest(unittest.TestCase):
    def test_codes_map_to_exception_classes(self):
        cases = [
            (weft.EINVAL, weft.InvalidArgument, ValueError),
            (weft.ERANGE, weft.InvalidArgument, ValueError),
            (weft.ENOMEM, weft.OutOfMemory, MemoryError),
            (weft.ETIMEDOUT, weft.Timeout, TimeoutError),
            (weft.EBUSY, weft.Error, Exception),
            (weft.ECYCLE, weft.Error, Exception),
            (weft.ENOTSUP, weft.Error, Exception),
            (weft.ESTALE, weft.Error, Exception),
        ]
        for code, cls, base in cases:
            with self.subTest(code=code):
                with self.assertRaises(cls) as cm:
                    _core._check_code(code)
                e = cm.exception
                self.assertIsInstance(e, base)
                self.assertIsInstance(e, weft.Error)
                self.assertEqual(e.code, code)
                self.assertEqual(e.name, weft.err_name(code))
                self.assertEqual(str(e), weft.strerror(code))
        self.assertIsNone(_core._check_code(0))

    def test_every_code_of_the_c_table_is_exposed(self):
        table = errno_map()
        self.assertGreaterEqual(len(table), 17)
        special = {"EINVAL": (weft.InvalidArgument, ValueError),
                   "ERANGE": (weft.InvalidArgument, ValueError),
                   "ENOMEM": (weft.OutOfMemory, MemoryError),
                   "ETIMEDOUT": (weft.Timeout, TimeoutError)}
        self.assertEqual(weft.ERRORS, {name: code for name, code, _ in table})
        self.assertEqual(set(weft.EXCEPTIONS), {code for _, code, _ in table})
        for name, code, message in table:
            with self.subTest(name=name):
                self.assertEqual(getattr(weft, name), code)          # weft.EBUSY
                self.assertEqual(getattr(_swig, name), code)         # weft.i's constant
                self.assertEqual(weft.err_name(code), "WEFT_" + name)
                self.assertEqual(weft.strerror(code), message)
                cls, base = special.get(name, (weft.Error, weft.Error))
                self.assertIs(weft.error_class(code), cls)
                with self.assertRaises(weft.Error) as cm:
                    _core._check_code(code)
                e = cm.exception
                self.assertIs(type(e), cls)
                self.assertIsInstance(e, base)
                self.assertEqual(e.code, code)
                self.assertEqual(e.name, "WEFT_" + name)
                self.assertEqual(str(e), message)
        # a code weft does not define: weft.Error, "unknown error"
        with self.assertRaises(weft.Error) as cm:
            _core._check_code(-1000)
        self.assertIs(type(cm.exception), weft.Error)
        self.assertEqual(str(cm.exception), "unknown error")

    def test_the_plain_api_raises_by_one_rule(self):
        # weft.i's functions: a negative code raises its class, with
        # weft_strerror's message and the call's own detail message
        g = weft.Graph("plain")
        g.add_task("weft.echo", b"x", name="a")
        with self.assertRaises(weft.Error) as cm:
            weft.Graph.load("/nonexistent-dir/g.wg")
        self.assertEqual(cm.exception.code, weft.EIO)
        self.assertIn("/nonexistent-dir/g.wg", str(cm.exception))
        with self.assertRaises(weft.InvalidArgument) as cm:   # EINVAL, no detail of its own
            _swig.weft_graph_precede(g._g, 0, 5)
        self.assertEqual(str(cm.exception), "invalid argument")   # not the load's detail
        self.assertEqual(cm.exception.code, weft.EINVAL)
        with self.assertRaises(weft.Error) as cm:
            _swig.weft_graph_find(g._g, "nope")
        self.assertEqual(cm.exception.code, weft.ENOENT)
        self.assertEqual(_swig.weft_graph_find(g._g, "a"), 0)
        with self.assertRaises(TypeError):
            _swig.weft_graph_node_count("not a graph")
        with self.assertRaises(OverflowError):
            _swig.weft_graph_node_name(g._g, -1)
        self.assertIsNone(_swig.weft_graph_node_name(g._g, 7))   # a bad node: no name
        self.assertEqual(_swig.weft_graph_node_count(None), 0)
        with self.assertRaises(weft.Error) as cm:      # the loader's reason as the detail
            weft.load_plugin("/nonexistent-dir/plugin.so")
        self.assertEqual(cm.exception.code, weft.EIO)
        self.assertIn("/nonexistent-dir/plugin.so", str(cm.exception))
        with self.assertRaises(weft.InvalidArgument):
            weft.load_plugin("")

    def test_strerror_and_names(self):
        self.assertEqual(weft.strerror(weft.EINVAL), "invalid argument")
        self.assertEqual(weft.err_name(weft.EBUSY), "WEFT_EBUSY")
        self.assertEqual(weft.strerror(0), "success")
        self.assertGreaterEqual(weft.cpu_count(), 1)
        self.assertRegex(weft.__version__, r"^\d+\.\d+\.\d+$")

    def test_error_from_the_c_layer_carries_details(self):
        g = weft.Graph("g")
        a = g.add(abs, -1, name="a")
        with self.assertRaises(weft.Error) as cm:
            g.save("/nonexistent-dir/x.wg")
        # a Python node cannot be written down: ENOTSUP naming it
        self.assertEqual(cm.exception.code, weft.ENOTSUP)
        self.assertIn("'a'", str(cm.exception))
        del a


if __name__ == "__main__":
    unittest.main()
