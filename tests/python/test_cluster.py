#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The taskfleet package with real taskfleet-agent processes on 127.0.0.1: an agent named
in ppservers, "*" (discovery), and a wrong secret. Run as a script: its functions are __main__ code."""

import io
import math
import os
import sys
import time
import unittest

import tfsupport
import taskfleet as pp


def isprime(n):
    if n < 2:
        return False
    for i in range(2, int(math.sqrt(n)) + 1):
        if n % i == 0:
            return False
    return True


def sum_primes(n):
    return sum(x for x in range(2, n) if isprime(x))


def where(x):
    print("running", x)
    return (x * x, os.getpid())


def expected_sum(n):
    sieve = bytearray([1]) * n
    sieve[:2] = b"\x00\x00"
    for i in range(2, int(n ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytearray(len(sieve[i * i::i]))
    return sum(i for i in range(n) if sieve[i])


class ClusterTest(unittest.TestCase):
    def setUp(self):
        tfsupport.bound_test_time()

    def test_agent_named_in_ppservers(self):
        agent = tfsupport.Agent()
        try:
            s = pp.Server(0, ppservers=(agent.address,), secret=tfsupport.SECRET)
            try:
                inputs = [100000 + 100 * i for i in range(8)]
                jobs = [s.submit(sum_primes, (n,), (isprime,), ("math",)) for n in inputs]
                self.assertEqual([j() for j in jobs], [expected_sum(n) for n in inputs])
                self.assertTrue(all(agent.address in j.node for j in jobs), [j.node for j in jobs])
                out = io.StringIO()
                old, sys.stdout = sys.stdout, out
                try:
                    squares = [s.submit(where, (i,)) for i in range(50)]
                    self.assertEqual([j()[0] for j in squares], [i * i for i in range(50)])
                finally:
                    sys.stdout = old
                self.assertIn("running 49", out.getvalue())  # what remote tasks print reaches the client
                self.assertEqual(s.get_active_nodes(), {"local": 0, agent.address: 2})
                stats = s.get_stats()
                self.assertEqual(stats[agent.address].njobs, 58)
                self.assertEqual(stats[agent.address].ncpus, 2)
            finally:
                s.destroy()
        finally:
            agent.stop()

    def test_host_without_port_means_45450(self):
        s = pp.Server(1, ppservers=("127.0.0.1",), secret=tfsupport.SECRET)
        try:
            self.assertEqual(s.ppservers, [("127.0.0.1", pp.DEFAULT_PORT)])
            self.assertEqual(s.submit(sum_primes, (10,))(), 17)  # runs locally meanwhile
        finally:
            s.destroy()

    def test_discovery_finds_an_agent(self):
        port = tfsupport.free_udp_port()
        agent = tfsupport.Agent(discovery=True, extra=["--discovery-port", "0", "-b", "127.0.0.1",
                                                       "--announce-port", str(port)])
        os.environ["TASKFLEET_DISCOVERY_PORT"] = str(port)
        os.environ["TASKFLEET_BROADCAST"] = "127.0.0.1"
        try:
            s = pp.Server(0, ppservers=("*",), secret=tfsupport.SECRET)
            try:
                jobs = [s.submit(sum_primes, (n,)) for n in (10, 100, 1000)]
                self.assertEqual([j() for j in jobs], [17, 1060, 76127])
                self.assertTrue(all(agent.address in j.node for j in jobs), [j.node for j in jobs])
                self.assertIn(agent.address, s.get_active_nodes())
            finally:
                s.destroy()
        finally:
            del os.environ["TASKFLEET_DISCOVERY_PORT"]
            del os.environ["TASKFLEET_BROADCAST"]
            agent.stop()

    def test_wrong_secret_is_a_clear_error_within_seconds(self):
        agent = tfsupport.Agent()
        try:
            s = pp.Server(0, ppservers=(agent.address,), secret="not the cluster's secret at all")
            try:
                start = time.monotonic()
                job = s.submit(sum_primes, (10,))
                with self.assertRaises(pp.TaskfleetError) as e:
                    job()
                self.assertLess(time.monotonic() - start, 8)
                self.assertIn(agent.address, str(e.exception))
                self.assertIn("secret", str(e.exception))
            finally:
                s.destroy()
            # With local workers too: a warning, and the jobs run locally.
            err = io.StringIO()
            old, sys.stderr = sys.stderr, err
            try:
                s = pp.Server(1, ppservers=(agent.address,), secret="not the cluster's secret at all")
                try:
                    self.assertEqual(s.submit(sum_primes, (10,))(), 17)
                    deadline = time.monotonic() + 8
                    while not s._warnings and time.monotonic() < deadline:
                        time.sleep(0.05)
                finally:
                    s.destroy()
            finally:
                sys.stderr = old
            self.assertIn("secret", err.getvalue())
        finally:
            agent.stop()

    def test_no_node_at_all_is_an_error_not_a_hang(self):
        s = pp.Server(0)
        try:
            with self.assertRaises(pp.TaskfleetError) as e:
                s.submit(sum_primes, (10,))()
            self.assertIn("set_ncpus", str(e.exception))
        finally:
            s.destroy()


if __name__ == "__main__":
    unittest.main(verbosity=2)
