#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What code a job can ship, with the real engine: lambdas, closures, partials, code from python3 -c
(by value, with cloudpickle) and the refusal without cloudpickle; pp's `modules` strings as ppft reads
them; remote tracebacks that name this file's lines; callbacks that re-enter the client.

Run as a script (ctest does): the functions below are then the user's own (__main__) code. Note that
numpy and os.path are deliberately NOT imported at the top: the `modules` tests rely on `modules`.
"""

import functools
import os
import subprocess
import sys
import threading
import time
import unittest

import tfsupport
import taskfleet as pp


def uses_np(n):
    return int(np.arange(n).sum())  # noqa: F821 - np comes from the job's modules


def uses_path(p):
    return path.basename(p)  # noqa: F821 - path comes from "from os import path"


def uses_numpy(n):
    return int(numpy.ones(n).sum())  # noqa: F821 - numpy comes from the job's modules


def scale(x, factor=1, offset=0):
    return x * factor + offset


def make_adder(k):
    def inner(x):
        return x + k
    return inner


def divide(a, b):
    # a few lines so that the failing one is not the def's
    q = a
    q = q / b
    return q


def inc(x):
    return x + 1


def line_of(text):
    with open(__file__) as f:
        return [i for i, line in enumerate(f.read().splitlines(), 1) if text in line][0]


def run_python(code, env_extra=None, timeout=60):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env)


class CodeTest(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        tfsupport.bound_test_time(200)
        cls.server = pp.Server(2)

    @classmethod
    def tearDownClass(cls):
        cls.server.destroy()

    # ---- modules as ppft reads them

    def test_modules_strings_as_ppft_reads_them(self):
        self.assertEqual(self.server.submit(uses_np, (5,), modules=("numpy as np",))(), 10)
        self.assertEqual(self.server.submit(uses_np, (5,), modules=("import numpy as np",))(), 10)
        self.assertEqual(self.server.submit(uses_path, ("/a/b.txt",), modules=("from os import path",))(), "b.txt")
        self.assertEqual(self.server.submit(uses_numpy, (3,), modules=("numpy",))(), 3)
        bad = self.server.submit(uses_np, (5,), modules=("no_such_module_here as np",))
        with self.assertRaises(pp.TaskError) as caught:
            bad()
        self.assertIn("no_such_module_here", str(caught.exception))

    # ---- code without source travels by value

    def test_lambda(self):
        self.assertEqual(self.server.submit(lambda x: x + 1, (1,))(), 2)

    def test_partial_keeps_its_keywords(self):
        self.assertEqual(self.server.submit(functools.partial(scale, factor=4), (2,))(), 8)
        self.assertEqual(self.server.submit(functools.partial(scale, 3, offset=1), (), )(), 4)

    def test_closure_free_variable_travels(self):
        add10 = make_adder(10)
        self.assertEqual(self.server.submit(add10, (1,))(), 11)
        add20 = make_adder(20)  # same code, another value: not mixed up with the first
        self.assertEqual([self.server.submit(add20, (1,))(), self.server.submit(add10, (2,))()], [21, 12])

    def test_nested_def_with_closure_over_a_loop_variable(self):
        jobs = []
        for k in range(3):
            def times(x, k=k):
                return x * k
            jobs.append(self.server.submit(times, (10,)))
        self.assertEqual([j() for j in jobs], [0, 10, 20])

    def test_code_from_python3_c_with_a_class_and_an_instance(self):
        code = (
            "import taskfleet as pp\n"
            "class Point:\n"
            "    def __init__(self, x, y): self.x, self.y = x, y\n"
            "    def norm1(self): return abs(self.x) + abs(self.y)\n"
            "def total(points): return sum(p.norm1() for p in points)\n"
            "s = pp.Server(1)\n"
            "print(s.submit(total, ([Point(1, -2), Point(3, 4)],))())\n"
            "print(s.submit(lambda p: p.norm1() * 10, (Point(1, 1),))())\n"
            "s.destroy()\n")
        out = run_python(code)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.split(), ["10", "20"])

    def test_without_cloudpickle_a_clear_refusal_at_submit(self):
        code = (
            "import sys; sys.modules['cloudpickle'] = None  # as if not installed\n"
            "import taskfleet as pp\n"
            "s = pp.Server(1)\n"
            "try:\n"
            "    s.submit(lambda x: x, (1,))\n"
            "except pp.SourceError as e:\n"
            "    print('REFUSED', e)\n"
            "else:\n"
            "    print('ACCEPTED')\n"
            "s.destroy()\n")
        out = run_python(code)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("REFUSED", out.stdout)
        self.assertIn("python3-cloudpickle", out.stdout)

    # ---- tracebacks point at the user's file

    def test_remote_traceback_names_this_file_and_line(self):
        job = self.server.submit(divide, (1, 0))
        with self.assertRaises(pp.TaskError) as caught:
            job()
        text = str(caught.exception)
        self.assertIn('File "%s", line %d, in divide' % (os.path.abspath(__file__), line_of("q = q / b")), text)
        self.assertIn("q = q / b", text)  # the line's text too, from the shipped source
        self.assertIn("ZeroDivisionError", text)

    # ---- callbacks re-enter the client

    def _callback_case(self, action):
        """Runs action(result) in a job's callback; returns (value, seconds it took)."""
        out = {}
        done = threading.Event()

        def callback(result):
            start = time.monotonic()
            try:
                out["value"] = action(result)
            except BaseException as e:  # noqa: B902 - reported to the test
                out["error"] = e
            out["seconds"] = time.monotonic() - start
            done.set()
        self.server.submit(inc, (1,), callback=callback)
        self.assertTrue(done.wait(20), "the callback deadlocked")
        if "error" in out:
            raise out["error"]
        return out["value"], out["seconds"]

    def test_callback_may_get_stats(self):
        stats, seconds = self._callback_case(lambda r: self.server.get_stats())
        self.assertIn("local", stats)
        self.assertLess(seconds, 2.0)

    def test_callback_may_print_stats(self):
        _, seconds = self._callback_case(lambda r: self.server.print_stats())
        self.assertLess(seconds, 2.0)

    def test_callback_may_submit_and_wait_for_another_job(self):
        value, _ = self._callback_case(lambda r: self.server.submit(inc, (r,))())
        self.assertEqual(value, 3)

    def test_callback_may_wait_for_everything(self):
        def action(r):
            jobs = [self.server.submit(inc, (i,)) for i in range(5)]
            self.server.wait()
            return [j() for j in jobs]
        value, _ = self._callback_case(action)
        self.assertEqual(value, [1, 2, 3, 4, 5])

    def test_callback_may_wait_for_a_job_with_its_own_callback(self):
        later = []

        def action(r):
            other = self.server.submit(inc, (10,), callback=later.append)
            return other()  # its own callback runs after this one returns
        value, _ = self._callback_case(action)
        self.assertEqual(value, 11)
        self.server.wait()
        self.assertEqual(later, [11])

    def test_callbacks_run_in_completion_order_on_one_thread(self):
        names = set()
        order = []

        def cb(result):
            names.add(threading.current_thread().name)
            order.append(result)
        jobs = [self.server.submit(inc, (i,), callback=cb) for i in range(30)]
        self.server.wait()
        self.assertEqual(names, {"taskfleet-callbacks"})
        self.assertEqual(sorted(order), list(range(1, 31)))
        self.assertTrue(all(j.finished for j in jobs))


if __name__ == "__main__":
    unittest.main(verbosity=2)
