#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The joblib backend "taskfleet" with Debian's joblib and scikit-learn, on the local node plus a real
taskfleet-agent on 127.0.0.1: GridSearchCV's results equal n_jobs=1's; an error inside a batch is
re-raised with its type; abort_everything() after the first error keeps later batches from running.

Run as a script (ctest does): the functions below are then the user's own (__main__) code.
"""

import os
import tempfile
import time
import unittest

import joblib
from joblib import Parallel, delayed, parallel_backend

import tfsupport
import taskfleet
import taskfleet.joblib  # noqa: F401 - registers the backend


def square(x):
    return x * x


def fail_at(x, bad, path):
    with open(path, "a") as f:
        f.write("%d\n" % x)
    if x == bad:
        raise KeyError("input %d is bad" % x)
    time.sleep(0.05)
    return x


class JoblibTest(unittest.TestCase):
    agent = None
    executor = None

    @classmethod
    def setUpClass(cls):
        tfsupport.bound_test_time(220)
        cls.agent = tfsupport.Agent(workers=2)
        cls.executor = taskfleet.Executor(1, ppservers=(cls.agent.address,), secret=tfsupport.SECRET)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(cls.executor.server.get_active_nodes()) < 2:
            time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.executor.shutdown()
        cls.agent.stop()

    def test_registered_and_sized_by_the_cluster(self):
        self.assertIn("taskfleet", joblib.parallel.BACKENDS)
        with parallel_backend("taskfleet", executor=self.executor):
            self.assertEqual(joblib.effective_n_jobs(-1), 3)  # 1 local + 2 on the agent

    def test_parallel_results_in_order(self):
        with parallel_backend("taskfleet", executor=self.executor):
            self.assertEqual(Parallel()(delayed(square)(i) for i in range(200)), [i * i for i in range(200)])
            # lambdas through delayed travel by value
            self.assertEqual(Parallel(n_jobs=-1)(delayed(lambda x: x + 1)(i) for i in range(5)), [1, 2, 3, 4, 5])

    def test_grid_search_matches_n_jobs_1(self):
        from sklearn.datasets import load_digits
        from sklearn.model_selection import GridSearchCV
        from sklearn.svm import SVC
        X, y = load_digits(return_X_y=True)
        X, y = X[:600], y[:600]
        grid = {"C": [1, 10], "gamma": [0.001, 0.0005]}
        serial = GridSearchCV(SVC(), grid, cv=5, n_jobs=1).fit(X, y)
        with parallel_backend("taskfleet", executor=self.executor):
            cluster = GridSearchCV(SVC(), grid, cv=5, n_jobs=-1).fit(X, y)
        self.assertEqual(cluster.best_params_, serial.best_params_)
        self.assertEqual(list(cluster.cv_results_["mean_test_score"]), list(serial.cv_results_["mean_test_score"]))
        nodes = {name for name, s in self.executor.server.get_stats().items() if s.njobs}
        self.assertIn(self.agent.address, nodes)  # the agent did some of the fits

    def test_error_in_a_batch_reraised_and_later_batches_aborted(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ran")
            with parallel_backend("taskfleet", executor=self.executor):
                with self.assertRaises(KeyError) as caught:
                    Parallel(n_jobs=-1, batch_size=1, pre_dispatch="all")(
                        delayed(fail_at)(i, 0, path) for i in range(400))
            self.assertIn("input 0 is bad", str(caught.exception))
            self.assertIsInstance(caught.exception.__cause__, taskfleet.RemoteTraceback)
            # Wait until every batch has ended (run or cancelled): without the abort all 400 would run
            # (about 7 s on 3 workers); with it only those already handed to a worker.
            deadline = time.monotonic() + 30
            while self.executor._live and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertFalse(self.executor._live, "batches still pending after 30 s")
            with open(path) as f:
                ran = len(f.read().split())
            self.assertLess(ran, 100, "abort_everything did not cancel the queued batches")
        # the backend still works after an abort
        with parallel_backend("taskfleet", executor=self.executor):
            self.assertEqual(Parallel()(delayed(square)(i) for i in range(3)), [0, 1, 4])

    def test_backend_with_its_own_engine(self):
        with parallel_backend("taskfleet", max_workers=2):
            self.assertEqual(Parallel()(delayed(square)(i) for i in range(10)), [i * i for i in range(10)])
        taskfleet.joblib.shutdown()


if __name__ == "__main__":
    unittest.main(verbosity=2)
