#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The taskfleet package's pp API on the local node, argument by argument.

Run as a script (ctest does): the functions and classes below are then the user's own
(__main__) code, as in a pp program.
"""

import io
import math
import os
import pickle
import signal
import sys
import tempfile
import threading
import time
import unittest
from contextlib import redirect_stdout

import tfsupport
import taskfleet as pp


# ---- the "user's script" ---------------------------------------------------------------------

def inc(x):
    return x + 1


def add(a, b=10):
    return a + b


def isprime(n):
    if n < 2:
        return False
    for i in range(2, int(math.sqrt(n)) + 1):
        if n % i == 0:
            return False
    return True


def sum_primes(n):
    return sum(x for x in range(2, n) if isprime(x))


def uses_helper(x):
    return helper(x) * 2


def helper(x):
    return x + 100


def uses_undefined(x):
    return not_defined_anywhere(x)  # noqa: F821


def hypot(a, b):
    return math.hypot(a, b)


def sleep_then(x, seconds):
    time.sleep(seconds)
    return x


def talk(x):
    print("task says", x)
    return x


def divide(a, b):
    return a / b


class Vector:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm2(self):
        return self.x * self.x + self.y * self.y

    def scaled(self, k):
        return Vector(self.x * k, self.y * k)


class Vector3(Vector):
    def __init__(self, x, y, z):
        super().__init__(x, y)
        self.z = z

    def norm2(self):
        return super().norm2() + self.z * self.z


def make_vector(x):
    return Vector(x, 2 * x)


def norm_of(v):
    return v.norm2()


def apply(f, x):
    return f(x)


def worker_pid_then_sleep(path, seconds):
    # First attempt: tell the test which worker runs it, then sleep until killed. A retry finds the file.
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(str(os.getpid()))
        time.sleep(seconds)
    return "done"


def interpreter_file():
    # The file whose mapping holds this interpreter's None: the worker executable when it links Python
    # statically (cmake/TaskfleetPython.cmake), else libpython3.X.so.
    addr = id(None)
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            lo, hi = (int(v, 16) for v in fields[0].split("-"))
            if lo <= addr < hi and len(fields) >= 6:
                return os.path.basename(fields[5])
    return "?"


# ---- tests -----------------------------------------------------------------------------------

class ApiTest(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        tfsupport.bound_test_time()
        cls.server = pp.Server(2)

    @classmethod
    def tearDownClass(cls):
        cls.server.destroy()

    def test_version(self):
        self.assertRegex(pp.__version__, r"^\d+\.\d+")

    def test_submit_and_call(self):
        job = self.server.submit(inc, (41,))
        self.assertEqual(job(), 42)
        self.assertTrue(job.finished)
        self.assertEqual(job(), 42)  # again: the same result
        self.assertEqual(pickle.loads(job(raw_result=True)), 42)

    def test_tasks_run_in_the_interpreter_the_build_chose(self):
        # Pure Python runs ~15-20 % faster in a worker that links libpython statically than in
        # Debian's shared libpython (docs/benchmarks.md); check the tasks really run in that copy.
        expected = "taskfleet-worker" if os.environ.get("TASKFLEET_TEST_STATIC_PYTHON") == "1" else "libpython"
        jobs = [self.server.submit(interpreter_file, ()) for _ in range(4)]
        for job in jobs:
            self.assertTrue(job().startswith(expected), job())

    def test_args_default_and_types(self):
        self.assertEqual(self.server.submit(add, (1,))(), 11)
        self.assertEqual(self.server.submit(add, (1, 2))(), 3)
        with self.assertRaises(TypeError):
            self.server.submit(inc, [1])
        with self.assertRaises(TypeError):
            self.server.submit(inc, (1,), depfuncs=[helper])
        with self.assertRaises(TypeError):
            self.server.submit(inc, (1,), modules=["math"])
        with self.assertRaises(TypeError):
            self.server.submit(inc, (1,), modules=(math,))
        with self.assertRaises(TypeError):
            self.server.submit(inc, (1,), callbackargs=[1])
        with self.assertRaises(TypeError):
            self.server.submit(inc, (1,), globals=[1])

    def test_any_picklable_object_both_ways(self):
        value = {"a": [1, 2.5, None], "b": (b"x", frozenset({3})), 7: complex(1, 2)}
        self.assertEqual(self.server.submit(apply, (repr, value))(), repr(value))
        self.assertEqual(self.server.submit(inc, (10 ** 30,))(), 10 ** 30 + 1)

    def test_depfuncs_and_modules(self):
        self.assertEqual(self.server.submit(uses_helper, (1,), (helper,))(), 202)
        self.assertEqual(self.server.submit(hypot, (3, 4), (), ("math",))(), 5.0)
        jobs = [self.server.submit(sum_primes, (n,), (isprime,), ("math",)) for n in (100, 1000)]
        self.assertEqual([j() for j in jobs], [1060, 76127])

    def test_functions_and_modules_used_travel_without_depfuncs(self):
        # Beyond pp (docs/python.md): what the function's code names is found and shipped.
        self.assertEqual(self.server.submit(uses_helper, (1,))(), 202)
        self.assertEqual(self.server.submit(sum_primes, (100,))(), 1060)

    def test_undefined_name_is_a_task_error(self):
        with self.assertRaises(pp.TaskError) as e:
            self.server.submit(uses_undefined, (1,))()
        self.assertIn("NameError", str(e.exception))
        self.assertIn("not_defined_anywhere", str(e.exception))

    def test_globals(self):
        self.assertEqual(self.server.submit(uses_helper, (1,), globals=globals())(), 202)

    def test_class_in_depfuncs_and_instances(self):
        self.assertEqual(self.server.submit(make_vector, (3,), (Vector,))().norm2(), 45)
        # An instance of a script class as argument: its class travels automatically (as in pp).
        self.assertEqual(self.server.submit(norm_of, (Vector3(1, 2, 3),))(), 14)

    def test_bound_method(self):
        v = Vector(3, 4)
        self.assertEqual(self.server.submit(v.norm2)(), 25)
        w = self.server.submit(v.scaled, (2,))()
        self.assertEqual((w.x, w.y), (6, 8))
        self.assertEqual(self.server.submit(Vector3(1, 1, 1).norm2)(), 3)

    def test_function_as_argument(self):
        self.assertEqual(self.server.submit(apply, (helper, 1))(), 101)

    def test_callbacks_with_callbackargs_and_groups(self):
        got = []
        lock = threading.Lock()

        def collect(tag, result):
            with lock:
                got.append((tag, result))

        jobs = [self.server.submit(inc, (i,), callback=collect, callbackargs=("g%d" % (i % 2),),
                                   group="g%d" % (i % 2)) for i in range(20)]
        self.server.wait("g0")
        self.assertTrue(all(j.finished for j in jobs[0::2]))
        self.server.wait()
        self.assertEqual(sorted(got), sorted(("g%d" % (i % 2), i + 1) for i in range(20)))

    def test_wait_per_group(self):
        slow = [self.server.submit(sleep_then, (i, 1.5), group="slow") for i in range(2)]
        time.sleep(0.1)  # both workers busy with the slow group
        self.server.set_ncpus(3)
        try:
            fast = [self.server.submit(sleep_then, (i, 0.01), group="fast") for i in range(5)]
            start = time.monotonic()
            self.server.wait("fast")
            self.assertTrue(all(j.finished for j in fast))
            self.assertLess(time.monotonic() - start, 1.2)
            self.assertFalse(all(j.finished for j in slow))
            self.server.wait("slow")
            self.assertTrue(all(j.finished for j in slow))
            self.server.wait("no such group")  # returns at once
        finally:
            self.server.set_ncpus(2)

    def test_template(self):
        t = pp.Template(self.server, sum_primes, (isprime,), ("math",), group="tpl")
        jobs = [t.submit(n) for n in (10, 100)]
        self.server.wait("tpl")
        self.assertEqual([j() for j in jobs], [17, 1060])
        got = []
        t2 = pp.Template(self.server, add, callback=got.append)
        t2.submit(1, 2)()
        self.assertEqual(got, [3])

    def test_task_raising(self):
        job = self.server.submit(divide, (1, 0))
        with self.assertRaises(pp.TaskError) as e:
            job()
        text = str(e.exception)
        self.assertIn("ZeroDivisionError", text)
        self.assertIn("in divide", text)
        self.assertIn("return a / b", text)  # the line of the user's source
        self.assertTrue(job.finished)
        # With a callback: the callback is not called, the traceback goes to stderr.
        called = []
        err = io.StringIO()
        old, sys.stderr = sys.stderr, err
        try:
            self.server.submit(divide, (1, 0), callback=called.append)
            self.server.wait()
        finally:
            sys.stderr = old
        self.assertEqual(called, [])
        self.assertIn("ZeroDivisionError", err.getvalue())

    def test_unpicklable_argument_refused_at_submit(self):
        before = self.server._next_tid
        with self.assertRaises(pickle.PicklingError) as e:
            self.server.submit(inc, (threading.Lock(),))
        self.assertIn("nothing was sent", str(e.exception))
        self.assertEqual(self.server._next_tid, before)
        self.assertEqual(self.server._pending, [])
        self.server.wait()  # nothing outstanding

    def test_lambda_travels_by_value(self):
        # pp refuses lambdas; with cloudpickle installed they travel by value (tests/python/test_code.py
        # covers closures, partials and the refusal without cloudpickle).
        self.assertEqual(self.server.submit(lambda x: x * 3, (5,))(), 15)

    def test_printed_output_reaches_client_stdout(self):
        out = io.StringIO()
        with redirect_stdout(out):
            self.server.submit(talk, (7,))()
        self.assertIn("task says 7", out.getvalue())

    def test_ncpus_and_active_nodes(self):
        self.assertEqual(self.server.get_ncpus(), 2)
        self.assertEqual(self.server.get_active_nodes(), {"local": 2})
        with self.assertRaises(TypeError):
            self.server.set_ncpus("two")
        with self.assertRaises(ValueError):
            self.server.set_ncpus(-1)

    def test_stats_and_print_stats(self):
        before = self.server.get_stats()["local"]
        jobs = [self.server.submit(sleep_then, (i, 0.05)) for i in range(4)]
        self.assertEqual([j() for j in jobs], [0, 1, 2, 3])
        stats = self.server.get_stats()
        self.assertIn("local", stats)
        # The engine's counts, moved by exactly these four tasks of 50 ms each.
        self.assertEqual(stats["local"].njobs - before.njobs, 4)
        self.assertGreaterEqual(stats["local"].time - before.time, 0.19)
        self.assertLess(stats["local"].time - before.time, 4 * 0.05 + 10)
        # The workers as the engine counts them, not the client's copy of what it asked for.
        local = [row for row in self.server._request("stats")["nodes"] if row.get("id") == "local"]
        self.assertEqual([row["workers"] for row in local], [2])
        out = io.StringIO()
        with redirect_stdout(out):
            self.server.print_stats()
        text = out.getvalue()
        self.assertIn("Job execution statistics:", text)
        self.assertIn(" job count | % of all jobs | job time sum | time per job | job server", text)
        self.assertIn("| tasks/s | failures | workers", text)
        self.assertRegex(text, r"\n +\d+ \| +100\.00 \| +[\d.]+ \| +[\d.]+ \| local +\| +[\d.]+ \| +0 \| +2\n")
        self.assertIn("Time elapsed since server creation", text)
        self.assertIn("active tasks, 2 cores", text)

    def test_set_ncpus_up_and_down_while_200_tasks_run(self):
        jobs = [self.server.submit(sleep_then, (i, 0.01), group="resize") for i in range(200)]
        for n in (1, 4, 1, 3):
            time.sleep(0.1)
            self.server.set_ncpus(n)
            self.assertEqual(self.server.get_active_nodes()["local"], n)  # the engine's count
        self.server.wait("resize")
        self.assertEqual([j() for j in jobs], list(range(200)))
        self.assertEqual(self.server.get_active_nodes(), {"local": 3})
        self.server.set_ncpus(2)
        self.assertEqual(self.server.get_active_nodes(), {"local": 2})

    def test_worker_killed_mid_task_result_once(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "pid")
            calls = []
            job = self.server.submit(worker_pid_then_sleep, (path, 30), callback=calls.append)
            deadline = time.monotonic() + 20
            def pid():
                try:
                    with open(path) as f:
                        return int(f.read() or 0)
                except OSError:
                    return 0
            while not pid() and time.monotonic() < deadline:
                time.sleep(0.02)
            worker = pid()
            self.assertGreater(worker, 0, "the task never wrote its worker's pid")  # never os.kill(0, ...)
            os.kill(worker, signal.SIGKILL)
            self.assertEqual(job(), "done")
            self.server.wait()
            time.sleep(0.3)  # a duplicate would arrive now
            self.assertEqual(calls, ["done"])


class ServerArgumentsTest(unittest.TestCase):
    def setUp(self):
        tfsupport.bound_test_time()

    def test_autodetect_restart_proto_timeout(self):
        s = pp.Server(ncpus="autodetect", ppservers=(), secret=None, restart=True, proto=4, socket_timeout=60)
        try:
            self.assertEqual(s.get_ncpus(), len(os.sched_getaffinity(0)))
            jobs = [s.submit(inc, (i,)) for i in range(10)]
            self.assertEqual([j() for j in jobs], list(range(1, 11)))
            s.set_ncpus()
            self.assertEqual(s.get_ncpus(), len(os.sched_getaffinity(0)))
        finally:
            s.destroy()

    def test_server_returns_with_its_local_workers_ready(self):
        # As pp's Server(): its workers are started (their interpreters up) by the time it returns,
        # so a script timing its jobs from there does not time the start-up.
        s = pp.Server(2)
        try:
            local = [n for n in s._request("nodes")["nodes"] if n.get("local")]
            self.assertEqual(len(local), 1)
            self.assertEqual(local[0].get("ready"), 2)
        finally:
            s.destroy()

    def test_bad_arguments(self):
        with self.assertRaises(TypeError):
            pp.Server(2, ppservers=["127.0.0.1:1"])
        with self.assertRaises(TypeError):
            pp.Server(2, secret=b"bytes")
        with self.assertRaises(TypeError):
            pp.Server(2.5)
        with self.assertRaises(ValueError):
            pp.Server(-1)
        with self.assertRaises(ValueError):
            pp.Server(1, ppservers=("127.0.0.1:notaport",), secret="x")

    def test_zero_ncpus_then_set_ncpus(self):
        s = pp.Server(0)
        try:
            self.assertEqual(s.get_ncpus(), 0)
            s.set_ncpus(1)
            self.assertEqual(s.submit(inc, (1,))(), 2)
        finally:
            s.destroy()

    def test_destroy_leaves_no_process(self):
        s = pp.Server(2)
        self.assertEqual(s.submit(inc, (1,))(), 2)
        engine = s._engine.pid
        workers = tfsupport.children(engine)
        self.assertGreaterEqual(len(workers), 1)
        pending = s.submit(sleep_then, (1, 20))
        time.sleep(0.2)
        start = time.monotonic()
        s.destroy()
        self.assertLess(time.monotonic() - start, 10)
        deadline = time.monotonic() + 5
        while any(tfsupport.alive(p) for p in [engine] + workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse([p for p in [engine] + workers if tfsupport.alive(p)])
        with self.assertRaises(pp.DestroyedServerError):
            pending()
        with self.assertRaises(pp.DestroyedServerError):
            s.submit(inc, (1,))
        s.destroy()  # twice is fine


if __name__ == "__main__":
    unittest.main(verbosity=2)
