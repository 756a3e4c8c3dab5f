#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Big values through the Python client, with the real engine and a real taskfleet-agent on 127.0.0.1:
exact by hash (random bytes, numpy arrays of several dtypes, a value past one frame's 64 MiB),
locally and through the agent; shared values sent once per node (the agent's own byte counter);
shared handles' misuse refused at submit.

Run as a script (ctest does): the functions below are then the user's own (__main__) code.
"""

import hashlib
import json
import os
import pickle
import re
import subprocess
import tempfile
import time
import tracemalloc
import unittest

import numpy as np

import tfsupport
import taskfleet as pp


def digest(value):
    data = value.tobytes() if isinstance(value, np.ndarray) else bytes(value)
    return hashlib.sha256(data).hexdigest()


def echo(value):
    return value


def four_mib(i):
    return bytes([i]) * (4 << 20)  # the last byte says which task it was


def sized(i, n):
    # Around the size from which workers and the engine write a result in a frame of its own (1 MiB).
    return bytes([i % 251]) * n + i.to_bytes(4, "big")


MIXED_SIZES = [10, (1 << 20) - 64, 3, 1 << 20, (1 << 20) + 5, 100, 5 << 20, 7, 0, 2 << 20, 1000, 1 << 19]


def total(a, i):
    return float(a.sum()) + i


def scale_in_place(a, i):
    a *= i
    return float(a.sum())


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

    def test_big_and_small_results_mixed_each_reach_their_task(self):
        # Small results wait in the worker and the engine to go out together; a big one goes in a frame of its
        # own, after those queued before it. Each task must get its own value, whatever the mix.
        for server in (self.local, self.remote):
            sizes = MIXED_SIZES * 3
            jobs = [server.submit(sized, (i, n)) for i, n in enumerate(sizes)]
            for i, (job, n) in enumerate(zip(jobs, sizes)):
                self.assertEqual(job(), sized(i, n), "task %d (%d bytes)" % (i, n))

    def test_a_value_past_one_frame(self):
        value = np.frombuffer(os.urandom(80 << 20), dtype=np.uint8)  # 80 MiB: continued frames both ways
        for server in (self.local, self.remote):
            back = server.submit(echo, (value,))()
            self.assertEqual(digest(back), digest(value))

    def test_results_taken_are_held_once(self):
        # A result's received form (the frame it came in) is let go once the value is taken: 16 results of 4 MiB
        # held by the caller cost their 64 MiB in the client plus at most the few free frame buffers it keeps for
        # the next frames (_frames._SPARES), not twice 64 MiB. pp's raw_result still works after.
        from taskfleet import _frames
        n, size = 16, 4 << 20
        tracemalloc.start()  # before the frames arrive: their buffers are traced too
        try:
            jobs = [self.local.submit(four_mib, (i,)) for i in range(n)]
            held = [j() for j in jobs]
            kept = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        self.assertEqual([len(v) for v in held], [size] * n)
        self.assertEqual([v[-1] for v in held], list(range(n)))
        bound = n * size + _frames._SPARES * (size + (1 << 20)) + (2 << 20)
        self.assertLess(kept, bound, "results held %.1f MiB in the client (bound %.1f MiB, twice the values %.1f)"
                        % (kept / 2**20, bound / 2**20, 2 * n * size / 2**20))
        self.assertEqual(pickle.loads(jobs[3](raw_result=True)), four_mib(3))

    def test_values_alive_keep_their_memory_while_more_frames_arrive(self):
        # The client reads big frames into buffers it uses again once nothing refers to them. Arrays returned
        # out of band (views into such a buffer) and results not yet taken must never be overwritten.
        rng = np.random.default_rng(11)
        arrays = [rng.random(1 << 18) for _ in range(12)]  # 2 MiB each: buffers that are kept for reuse
        digests = [digest(a) for a in arrays]
        first = self.local.submit(echo, (arrays[0],))()
        jobs = [self.local.submit(echo, (a,)) for a in arrays[1:]]
        for j in jobs:
            j.wait()  # all arrived, none taken yet
        taken = [j() for j in reversed(jobs)]
        self.assertEqual([digest(v) for v in reversed(taken)], digests[1:])
        self.assertEqual(digest(first), digests[0])
        for i in range(8):  # many more frames through the buffers; the arrays held still read the same
            self.local.submit(four_mib, (i,))()
            self.local.submit(echo, (arrays[i],))()
        self.assertEqual(digest(first), digests[0])
        self.assertEqual([digest(v) for v in reversed(taken)], digests[1:])

    def test_shared_value_travels_once_per_node(self):
        a = np.random.default_rng(1).random(20 * 10**6 // 8)  # 20 MB
        handle = self.remote.share(a)
        before = self.agent.bytes_received()
        jobs = [self.remote.submit(total, (handle, i)) for i in range(50)]
        expected = float(a.sum())
        self.assertEqual([j() for j in jobs], [expected + i for i in range(50)])
        sent = self.agent.bytes_received() - before
        self.assertLess(sent, 1.1 * a.nbytes, "the shared value crossed the link more than once")
        # the counter really counts: three submits of three different arrays send three arrays
        before = self.agent.bytes_received()
        for i in range(3):
            other = a + i
            self.assertEqual(self.remote.submit(total, (other, 0))(), float(other.sum()))
        self.assertGreater(self.agent.bytes_received() - before, 3 * a.nbytes)

    def test_the_same_array_in_many_plain_submits_travels_once_more(self):
        # No share(): from its second submit on, a repeated big buffer travels with the job's shared values,
        # once per node; the first submit carried it with its task.
        a = np.random.default_rng(2).random(20 * 10**6 // 8)  # 20 MB
        before = self.agent.bytes_received()
        jobs = [self.remote.submit(scale_in_place, (a, i)) for i in range(50)]
        # each task got its own copy: one that wrote to its array changed no other task's
        self.assertEqual([j() for j in jobs], [float((a * i).sum()) for i in range(50)])
        sent = self.agent.bytes_received() - before
        self.assertLess(sent, 2.2 * a.nbytes, "a repeated array crossed the link once per task")
        self.assertEqual(float(a[0]), float(np.random.default_rng(2).random(1)[0]))  # the caller's is untouched
        with pp.Executor(server=self.remote) as ex:
            before = self.agent.bytes_received()
            self.assertEqual(list(ex.map(scale_in_place, [a] * 8, range(8))), [float((a * i).sum()) for i in range(8)])
            self.assertLess(self.agent.bytes_received() - before, 1.2 * a.nbytes)  # its buffer is known already
        local = [self.local.submit(scale_in_place, (a, i)) for i in range(6)]
        self.assertEqual([j() for j in local], [float((a * i).sum()) for i in range(6)])

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


class BoundedValueCacheTest(unittest.TestCase):
    """An agent whose value cache (--value-cache 30 MiB) is smaller than what the program shares: least recently
    used values are evicted and sent again when needed, and one value bigger than the whole cache still runs."""

    @classmethod
    def setUpClass(cls):
        tfsupport.bound_test_time(220)
        cls.agent = tfsupport.Agent(workers=1, extra=("--value-cache", "30"))
        cls.server = pp.Server(0, ppservers=(cls.agent.address,), secret=tfsupport.SECRET)

    @classmethod
    def tearDownClass(cls):
        cls.server.destroy()
        cls.agent.stop()

    def evictions(self):
        return int(re.search(r"value cache +\d+ bytes in \d+ values, limit \d+ bytes, (\d+) evicted",
                             self.agent.statistics()).group(1))

    def test_an_evicted_value_is_sent_again(self):
        rng = np.random.default_rng(3)
        a, b = rng.random(20 * 10**6 // 8), rng.random(20 * 10**6 // 8)  # 20 MB each: both do not fit
        ha, hb = self.server.share(a), self.server.share(b)
        before, evicted = self.agent.bytes_received(), self.evictions()
        for handle, array in ((ha, a), (hb, b), (ha, a)):
            jobs = [self.server.submit(total, (handle, i)) for i in range(4)]
            self.assertEqual([j() for j in jobs], [float(array.sum()) + i for i in range(4)])
        sent = self.agent.bytes_received() - before
        self.assertGreaterEqual(self.evictions() - evicted, 2, "a was not evicted for b, nor b for a")
        self.assertGreater(sent, 3 * a.nbytes, "the evicted value was not sent again")
        self.assertLess(sent, 3.3 * a.nbytes, "a value crossed the link more often than evictions explain")

    def test_a_value_bigger_than_the_cache_runs_and_the_agent_says_so(self):
        big = np.random.default_rng(4).random(40 * 10**6 // 8)  # 40 MB against 30 MiB
        handle = self.server.share(big)
        jobs = [self.server.submit(total, (handle, i)) for i in range(3)]
        self.assertEqual([j() for j in jobs], [float(big.sum()) + i for i in range(3)])
        log = self.agent.log()
        self.assertIn("value cache full", log)
        # once its tasks are done it is let go, and the cache is back within its limit
        deadline = time.monotonic() + 10
        while "FULL" in self.agent.statistics() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertNotIn("FULL", self.agent.statistics())
        self.assertIn("value cache back within its limit", self.agent.log())


def physical_memory():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


class ValueLimitTest(unittest.TestCase):
    """The per-value limit: a task's arguments bigger than it are refused at submit, naming their size and
    the limit, before a byte travels; the other tasks are unaffected."""

    def test_default_is_an_eighth_of_the_memory_at_most_256_mib(self):
        server = pp.Server(0)
        try:
            server.get_active_nodes()  # the engine's hello has been read by the time its reply is
            self.assertEqual(server.max_value, min(256 << 20, physical_memory() // 8))
        finally:
            server.destroy()

    def test_bigger_arguments_are_refused_at_submit_and_nothing_is_lost(self):
        server = pp.Server(1, max_value=1 << 20)
        try:
            self.assertEqual(server.max_value, 1 << 20)
            small = server.submit(len, (b"s" * 1000,))
            t0 = time.monotonic()
            with self.assertRaises(ValueError) as caught:
                server.submit(len, (b"x" * (3 << 20),))
            self.assertLess(time.monotonic() - t0, 1.0)  # at once: nothing to send, nothing to wait for
            self.assertIn("the arguments of len are 3.0 MiB pickled, more than the 1 MiB a task's value may be",
                          str(caught.exception))
            self.assertIn("nothing was sent", str(caught.exception))
            after = server.submit(len, (b"a" * 2000,))
            self.assertEqual((small(), after()), (1000, 2000))
            server.wait()
            self.assertEqual(sum(s.njobs for s in server.get_stats().values()), 2)  # the refused one never ran
        finally:
            server.destroy()

    def test_executor_refuses_too(self):
        with pp.Executor(1, max_value=1 << 20) as ex:
            with self.assertRaises(ValueError):
                ex.submit(len, b"x" * (2 << 20))
            self.assertEqual(ex.submit(len, b"y" * 10).result(timeout=60), 10)

    def test_job_file_input_over_max_value_fails_alone(self):
        run = os.environ.get("TASKFLEET_RUN", "build/bin/taskfleet-run")
        with tempfile.TemporaryDirectory() as d:
            job = os.path.join(d, "big.json")
            with open(job, "w") as f:
                json.dump({"plugin": "echo", "inputs": ["small", "x" * (2 << 20), 7]}, f)
            p = subprocess.run([run, "--no-journal", "-n", "1", "--max-value", "1", "-k", job],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        rows = [json.loads(line) for line in p.stdout.splitlines()]
        self.assertEqual([r["index"] for r in rows], [0, 1, 2])
        self.assertEqual(rows[0]["output"], "small")
        self.assertEqual(rows[1]["error"], "input 1 is 2.0 MiB, more than the 1 MiB a task's input may be")
        self.assertEqual(rows[2]["output"], 7)

    def test_limit_outside_the_protocol_is_refused(self):
        for bad in (0, -1, (256 << 20) + 1, 1.5, True):
            with self.assertRaises(ValueError, msg=repr(bad)):
                pp.Server(0, max_value=bad)


if __name__ == "__main__":
    unittest.main(verbosity=2)
