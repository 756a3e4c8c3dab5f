#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""taskfleet.Executor against the concurrent.futures contract, and taskfleet.Pool against
multiprocessing.Pool's, each with the real engine (taskfleet-run --session and its worker processes).

Run as a script (ctest does): the functions below are then the user's own (__main__) code.
"""

import asyncio
import concurrent.futures as cf
import os
import tempfile
import threading
import time
import unittest

import tfsupport
import taskfleet


def inc(x):
    return x + 1


def add(a, b=0, *, scale=1):
    return (a + b) * scale


def slow(x, seconds):
    time.sleep(seconds)
    return x


def fail_on(x, bad):
    if x == bad:
        raise ValueError("bad input %d" % x)
    return x


def record_run(path, x):
    """Appends x to path: the test counts which tasks really ran."""
    with open(path, "a") as f:
        f.write("%d\n" % x)
    return x


def ran(path):
    try:
        with open(path) as f:
            return sorted(int(line) for line in f if line.strip())
    except FileNotFoundError:
        return []


class ExecutorTest(unittest.TestCase):
    executor = None

    @classmethod
    def setUpClass(cls):
        tfsupport.bound_test_time(200)
        cls.executor = taskfleet.Executor(max_workers=2)

    @classmethod
    def tearDownClass(cls):
        cls.executor.shutdown()

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="tf-exec-")

    def tearDown(self):
        self.dir.cleanup()

    def test_is_a_concurrent_futures_executor(self):
        self.assertIsInstance(self.executor, cf.Executor)
        f = self.executor.submit(inc, 1)
        self.assertIsInstance(f, cf.Future)
        self.assertEqual(f.result(timeout=30), 2)

    def test_keyword_arguments_travel(self):
        self.assertEqual(self.executor.submit(add, 1, b=2, scale=10).result(30), 30)
        self.assertEqual(self.executor.submit(add, a=5).result(30), 5)

    def test_map_results_in_order(self):
        self.assertEqual(list(self.executor.map(inc, range(100))), list(range(1, 101)))
        self.assertEqual(list(self.executor.map(add, range(50), range(50), chunksize=7)),
                         [2 * i for i in range(50)])
        # slower tasks first: the order is still the input's
        self.assertEqual(list(self.executor.map(slow, [3, 2, 1, 0], [0.3, 0.2, 0.1, 0.0])), [3, 2, 1, 0])

    def test_map_chunksize_batches_calls_into_tasks(self):
        before = self.executor.server._next_tid
        self.assertEqual(sum(self.executor.map(inc, range(1000), chunksize=250)), sum(range(1, 1001)))
        self.assertEqual(self.executor.server._next_tid - before, 4)  # 4 engine tasks, not 1000

    def test_map_timeout_counts_from_the_call(self):
        results = self.executor.map(slow, [1, 2], [2.0, 2.0], timeout=0.5)
        start = time.monotonic()
        with self.assertRaises(cf.TimeoutError):
            list(results)
        self.assertLess(time.monotonic() - start, 1.5)

    def test_as_completed(self):
        futures = [self.executor.submit(slow, i, 0.4 - 0.1 * i) for i in range(4)]
        done = [f.result() for f in cf.as_completed(futures, timeout=30)]
        self.assertEqual(sorted(done), [0, 1, 2, 3])

    def test_wait_first_exception(self):
        futures = [self.executor.submit(slow, 1, 3.0), self.executor.submit(fail_on, 2, 2)]
        start = time.monotonic()
        done, not_done = cf.wait(futures, timeout=30, return_when=cf.FIRST_EXCEPTION)
        self.assertLess(time.monotonic() - start, 2.5)
        self.assertIn(futures[1], done)
        self.assertIn(futures[0], not_done)
        futures[0].result(30)

    def test_exception_reraised_with_remote_traceback(self):
        f = self.executor.submit(fail_on, 3, 3)
        with self.assertRaises(ValueError) as caught:
            f.result(30)
        self.assertEqual(str(caught.exception), "bad input 3")
        cause = caught.exception.__cause__
        self.assertIsInstance(cause, taskfleet.RemoteTraceback)
        # the traceback names this file and the line of the raise
        line = [i for i, text in enumerate(open(__file__).read().splitlines(), 1)
                if 'raise ValueError("bad input' in text][0]
        self.assertIn('File "%s", line %d, in fail_on' % (os.path.abspath(__file__), line), str(cause))
        self.assertIsInstance(f.exception(), ValueError)

    def test_add_done_callback_runs_off_the_reader(self):
        seen = []
        event = threading.Event()

        def cb(future):
            seen.append((future.result(), threading.current_thread().name))
            event.set()
        self.executor.submit(inc, 9).add_done_callback(cb)
        self.assertTrue(event.wait(30))
        self.assertEqual(seen[0][0], 10)
        self.assertEqual(seen[0][1], "taskfleet-callbacks")

    def test_done_callback_may_submit_and_wait(self):
        # the callback thread may use the executor and the server: no deadlock, no 30 s reply timeout
        out = []
        event = threading.Event()

        def cb(future):
            start = time.monotonic()
            out.append(self.executor.submit(inc, future.result()).result(20))
            self.executor.server.get_stats()
            out.append(time.monotonic() - start)
            event.set()
        self.executor.submit(inc, 1).add_done_callback(cb)
        self.assertTrue(event.wait(30))
        self.assertEqual(out[0], 3)
        self.assertLess(out[1], 5)

    def test_cancel_of_a_queued_future_never_runs_it(self):
        path = os.path.join(self.dir.name, "ran")
        blockers = [self.executor.submit(slow, -1, 1.0) for _ in range(2)]  # both workers busy
        time.sleep(0.2)
        queued = [self.executor.submit(record_run, path, i) for i in range(6)]
        cancelled = [f for f in queued[::2] if f.cancel()]
        self.assertEqual(len(cancelled), 3)
        for f in cancelled:
            self.assertTrue(f.cancelled())
            with self.assertRaises(cf.CancelledError):
                f.result(1)
        for b in blockers:
            b.result(30)
        self.assertEqual(sorted(f.result(30) for f in queued[1::2]), [1, 3, 5])
        time.sleep(0.3)
        self.assertEqual(ran(path), [1, 3, 5])  # the cancelled ones never ran

    def test_asyncio_run_in_executor(self):
        async def main():
            loop = asyncio.get_running_loop()
            results = await asyncio.gather(*(loop.run_in_executor(self.executor, inc, i) for i in range(10)))
            wrapped = await asyncio.wrap_future(self.executor.submit(add, 2, 3))
            return results, wrapped
        results, wrapped = asyncio.run(main())
        self.assertEqual(results, list(range(1, 11)))
        self.assertEqual(wrapped, 5)

    def test_lambda_partial_and_closure(self):
        import functools
        k = 10
        self.assertEqual(self.executor.submit(lambda x: x + k, 1).result(30), 11)
        self.assertEqual(self.executor.submit(functools.partial(add, b=4, scale=2), 1).result(30), 10)
        self.assertEqual(list(self.executor.map(lambda x: x * k, range(5), chunksize=2)), [0, 10, 20, 30, 40])


class ShutdownTest(unittest.TestCase):
    def setUp(self):
        tfsupport.bound_test_time(200)
        self.dir = tempfile.TemporaryDirectory(prefix="tf-exec-")

    def tearDown(self):
        self.dir.cleanup()

    def test_submit_after_shutdown_raises(self):
        e = taskfleet.Executor(1)
        e.shutdown()
        with self.assertRaises(RuntimeError):
            e.submit(inc, 1)

    def test_shutdown_cancel_futures(self):
        path = os.path.join(self.dir.name, "ran")
        e = taskfleet.Executor(1)
        first = e.submit(slow, 0, 1.0)
        time.sleep(0.3)
        rest = [e.submit(record_run, path, i) for i in range(20)]
        e.shutdown(wait=True, cancel_futures=True)
        self.assertEqual(first.result(0), 0)
        self.assertTrue(all(f.cancelled() for f in rest))
        self.assertEqual(ran(path), [])

    def test_context_manager_waits(self):
        with taskfleet.Executor(2) as e:
            futures = [e.submit(slow, i, 0.1) for i in range(6)]
        self.assertTrue(all(f.done() for f in futures))
        self.assertEqual([f.result() for f in futures], list(range(6)))
        self.assertFalse(tfsupport.alive(e.server.engine_pid))


class PoolTest(unittest.TestCase):
    pool = None

    @classmethod
    def setUpClass(cls):
        tfsupport.bound_test_time(200)
        cls.pool = taskfleet.Pool(2)

    @classmethod
    def tearDownClass(cls):
        cls.pool.terminate()

    def test_map_and_starmap(self):
        self.assertEqual(self.pool.map(inc, range(100)), list(range(1, 101)))
        self.assertEqual(self.pool.map(inc, range(10), chunksize=3), list(range(1, 11)))
        self.assertEqual(self.pool.starmap(add, [(1, 2), (3, 4)]), [3, 7])

    def test_imap_in_order_and_unordered(self):
        self.assertEqual(list(self.pool.imap(inc, range(20), chunksize=4)), list(range(1, 21)))
        got = list(self.pool.imap_unordered(inc, range(20)))
        self.assertEqual(sorted(got), list(range(1, 21)))

    def test_apply_and_async(self):
        self.assertEqual(self.pool.apply(add, (1, 2), {"scale": 3}), 9)
        got = []
        r = self.pool.map_async(inc, range(5), callback=got.append)
        self.assertEqual(r.get(30), [1, 2, 3, 4, 5])
        r.wait(5)
        self.assertEqual(got, [[1, 2, 3, 4, 5]])
        self.assertTrue(r.successful())
        bad = self.pool.apply_async(fail_on, (1, 1))
        with self.assertRaises(ValueError):
            bad.get(30)
        self.assertFalse(bad.successful())

    def test_closed_pool_refuses_work(self):
        p = taskfleet.Pool(1)
        p.close()
        with self.assertRaises(ValueError):
            p.map(inc, [1])
        p.join()


if __name__ == "__main__":
    unittest.main(verbosity=2)
