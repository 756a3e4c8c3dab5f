#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Big values through the Python client, with the real engine and a real taskfleet-agent on 127.0.0.1:
exact by hash (random bytes, numpy arrays of several dtypes, a value past one frame's 64 MiB),
locally and through the agent; shared values sent once per node (the agent's own byte counter);
shared handles' misuse refused at submit.

Run as a script (ctest does): the functions below are then the user's own (__main__) code.
"""

import hashlib
import os
import pickle
import unittest

import numpy as np

import tfsupport
import taskfleet as pp


def digest(value):
    data = value.tobytes() if isinstance(value, np.ndarray) else bytes(value)
    return hashlib.sha256(data).hexdigest()


def echo(value):
    return value


def total(a, i):
    return float(a.sum()) + i


def values():
    rng = np.random.default_rng(7)
    return [
        os.urandom(3 << 20),
        bytearray(os.urandom(200000)),
        rng.random(1 << 20, dtype=np.float32),
        rng.integers(-2**62, 2**62, size=1 << 19, dtype=np.int64),
        (rng.random(1 << 17) + 1j * rng.random(1 << 17)).astype(np.complex128),
        rng.random(1 << 20) > 0.5,
        np.asfortranarray(rng.random((512, 700))),       # not C-contiguous: pickled in band
        np.zeros(10, dtype=[("a", "i4"), ("b", "f8")]),
    ]


class BigDataTest(unittest.TestCase):
    agent = None

    @classmethod
    def setUpClass(cls):
        tfsupport.bound_test_time(220)
        cls.agent = tfsupport.Agent(workers=1)
        cls.local = pp.Server(2)
        cls.remote = pp.Server(0, ppservers=(cls.agent.address,), secret=tfsupport.SECRET)

    @classmethod
    def tearDownClass(cls):
        cls.local.destroy()
        cls.remote.destroy()
        cls.agent.stop()

    def check_exact(self, server):
        for value in values():
            with self.subTest(type=type(value).__name__, dtype=str(getattr(value, "dtype", ""))):
                self.assertEqual(server.submit(digest, (value,), modules=("hashlib",))(), digest(value))
                back = server.submit(echo, (value,))()
                self.assertEqual(type(back), type(value))
                self.assertEqual(digest(back), digest(value))
                if isinstance(back, np.ndarray):
                    self.assertEqual(back.dtype, value.dtype)
                    self.assertEqual(back.shape, value.shape)
                    self.assertTrue(back.flags.writeable)

    def test_exact_locally(self):
        self.check_exact(self.local)

    def test_exact_through_an_agent(self):
        self.check_exact(self.remote)

    def test_a_value_past_one_frame(self):
        value = np.frombuffer(os.urandom(80 << 20), dtype=np.uint8)  # 80 MiB: continued frames both ways
        for server in (self.local, self.remote):
            back = server.submit(echo, (value,))()
            self.assertEqual(digest(back), digest(value))

    def test_shared_value_travels_once_per_node(self):
        a = np.random.default_rng(1).random(20 * 10**6 // 8)  # 20 MB
        handle = self.remote.share(a)
        before = self.agent.bytes_received()
        jobs = [self.remote.submit(total, (handle, i)) for i in range(50)]
        expected = float(a.sum())
        self.assertEqual([j() for j in jobs], [expected + i for i in range(50)])
        sent = self.agent.bytes_received() - before
        self.assertLess(sent, 1.1 * a.nbytes, "the shared value crossed the link more than once")
        # the counter really counts: three plain submits of the same array send it three times
        before = self.agent.bytes_received()
        for i in range(3):
            self.assertEqual(self.remote.submit(total, (a, i))(), expected + i)
        self.assertGreater(self.agent.bytes_received() - before, 3 * a.nbytes)

    def test_shared_value_through_an_executor_and_locally(self):
        a = np.arange(1 << 20, dtype=np.int64)
        with pp.Executor(server=self.local) as ex:
            handle = ex.share(a)
            self.assertEqual(list(ex.map(total, [handle] * 6, range(6), chunksize=2)),
                             [float(a.sum()) + i for i in range(6)])
            self.assertEqual(ex.submit(total, handle, i=3).result(30), float(a.sum()) + 3)
        self.assertEqual(self.local.submit(total, (handle, 1))(), float(a.sum()) + 1)  # not ended: not its own

    def test_shared_handle_inside_another_object_is_refused(self):
        handle = self.local.share(b"x" * 100)
        with self.assertRaises(pickle.PicklingError):
            self.local.submit(echo, ([handle],))


if __name__ == "__main__":
    unittest.main(verbosity=2)
