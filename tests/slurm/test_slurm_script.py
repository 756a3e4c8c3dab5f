#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""resources/slurm/taskfleet-agents.sbatch and taskfleet.slurm.SlurmAgents on a real Slurm (SlurmHost, two
simulated nodes), with a stand-in for taskfleet-agent that records its arguments and environment: what
the job starts, where, and that scancel ends it. Needs root and slurm-wlm + munge; skips otherwise.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SOURCE, "python"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "python"))

from slurmhost import SlurmHost  # noqa: E402
from tfsupport import alive  # noqa: E402
from taskfleet.slurm import SlurmAgents, SlurmError  # noqa: E402

SCRIPT = os.path.join(SOURCE, "resources", "slurm", "taskfleet-agents.sbatch")
FAKE_AGENT = r"""#!/bin/bash
# taskfleet-agent's stand-in: writes its arguments and Slurm variables to $FAKE_AGENT_LOG/agent-PID, sleeps.
# The trap is set before the log appears: a test that sees the log may scancel at once.
log="$FAKE_AGENT_LOG/agent-$$"
trap 'echo "term" >> "$log"; exit 0' TERM
{ echo "job=${SLURM_JOB_ID:-}"; echo "node=${SLURMD_NODENAME:-}"; echo "rank=${SLURM_PROCID:-}"
  printf 'arg=%s\n' "$@"; } > "$log.tmp" && mv "$log.tmp" "$log"
sleep 300 &
wait
"""
OK, WHY = SlurmHost.available()


def wait_for(predicate, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


@unittest.skipUnless(OK, "no Slurm here: " + WHY)
class SlurmScriptTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tf-slurm-test.")
        os.chmod(cls.dir, 0o755)
        cls.slurm = SlurmHost(os.path.join(cls.dir, "slurm"), nodes=2)
        cls.slurm.start()
        cls.agent = os.path.join(cls.dir, "fake-agent")
        with open(cls.agent, "w") as f:
            f.write(FAKE_AGENT)
        os.chmod(cls.agent, 0o755)
        cls.secret = os.path.join(cls.dir, "secret")
        fd = os.open(cls.secret, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"a test secret, long enough for a real cluster\n")
        os.close(fd)

    @classmethod
    def tearDownClass(cls):
        cls.slurm.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.logs = tempfile.mkdtemp(dir=self.dir)
        self.tmp = tempfile.mkdtemp(dir=self.dir)  # the agents' TMPDIR: their state directories go there
        os.chmod(self.tmp, 0o755)

    def env(self, **extra):
        return self.slurm.env(FAKE_AGENT_LOG=self.logs, TASKFLEET_AGENT=self.agent, TMPDIR=self.tmp, **extra)

    def agents(self, count, timeout=10):
        """{pid: {"job", "node", "rank", "args", "term"}} of the fake agents once count have started."""
        def started():
            names = [n for n in os.listdir(self.logs) if n.startswith("agent-") and not n.endswith(".tmp")]
            return names if len(names) >= count else None
        names = wait_for(started, timeout) or []
        self.assertEqual(len(names), count, "fake agents started: %s\n%s" % (names, self.slurm.log_tails()))
        found = {}
        for name in names:
            with open(os.path.join(self.logs, name)) as f:
                lines = f.read().splitlines()
            info = {"args": [], "term": "term" in lines}
            for line in lines:
                key, _, value = line.partition("=")
                if key == "arg":
                    info["args"].append(value)
                elif key in ("job", "node", "rank"):
                    info[key] = value
            found[int(name.split("-")[1])] = info
        return found

    def sbatch(self, options, args, env):
        argv = ["sbatch", "--parsable", "--output=%s/job-%%j.out" % self.logs]
        return subprocess.run(argv + options + [SCRIPT] + args, env=env, capture_output=True, text=True,
                              timeout=60, cwd=self.dir)

    def job_output(self, job):
        with open(os.path.join(self.logs, "job-%s.out" % job)) as f:
            return f.read()

    def test_one_agent_per_node(self):
        t0 = time.monotonic()
        r = self.sbatch(["-N2", "--cpus-per-task=2"], ["controller.example:45460"],
                        self.env(TASKFLEET_SECRET_FILE=self.secret))
        self.assertEqual(r.returncode, 0, r.stderr)
        job = r.stdout.strip()
        agents = self.agents(2)
        started = time.monotonic() - t0
        self.assertEqual(sorted(a["node"] for a in agents.values()), ["tfnode1", "tfnode2"])
        for pid, a in agents.items():
            self.assertEqual(a["job"], job)
            state = os.path.join(self.tmp, "taskfleet-agent-%s-%s" % (job, a["node"]))
            self.assertEqual(a["args"], ["--connect", "controller.example:45460", "--no-listen", "--no-discovery",
                                         "--workers", "2", "--secret-file", self.secret, "--state-dir", state])
            self.assertTrue(os.path.isdir(state))
        self.assertEqual(self.slurm.job_state(job), "RUNNING")
        t1 = time.monotonic()
        self.slurm.run(["scancel", job])
        self.assertTrue(wait_for(lambda: not any(alive(p) for p in agents), 10), "agents still run after scancel")
        gone = time.monotonic() - t1
        self.slurm.wait_job_state(job, ("",), timeout=15)
        self.assertEqual(os.listdir(self.tmp), [], "state directories left")
        print("\none agent per node: started %.2f s after sbatch, gone %.2f s after scancel" % (started, gone),
              file=sys.stderr)

    def test_two_agents_per_node_and_agent_args(self):
        env = self.env(TASKFLEET_CONTROLLER="ctl-a:1,ctl-b:2", TASKFLEET_SECRET_FILE=self.secret,
                       TASKFLEET_AGENTS_PER_NODE=2, TASKFLEET_AGENT_ARGS="-t 600  --debug")
        r = self.sbatch(["-N1", "--ntasks-per-node=2", "--cpus-per-task=1"], [], env)
        self.assertEqual(r.returncode, 0, r.stderr)
        job = r.stdout.strip()
        agents = self.agents(2)
        self.assertEqual(sorted(a["rank"] for a in agents.values()), ["0", "1"])
        for a in agents.values():
            self.assertEqual(len({a["node"] for a in agents.values()}), 1)
            state = os.path.join(self.tmp, "taskfleet-agent-%s-%s-%s" % (job, a["node"], a["rank"]))
            self.assertEqual(a["args"], ["--connect", "ctl-a:1", "--connect", "ctl-b:2", "--no-listen",
                                         "--no-discovery", "--workers", "1", "--secret-file", self.secret,
                                         "-t", "600", "--debug", "--state-dir", state])
        self.slurm.run(["scancel", job])
        self.assertTrue(wait_for(lambda: not any(alive(p) for p in agents), 10), "agents still run after scancel")
        self.slurm.wait_job_state(job, ("",), timeout=15)
        self.assertEqual(os.listdir(self.tmp), [])
        self.assertTrue(all(a["term"] for a in self.agents(2).values()), "an agent did not get SIGTERM")
        self.assertIn("2 agent(s)", self.job_output(job))

    def test_refusals(self):
        cases = [({"TASKFLEET_SECRET_FILE": self.secret}, [], "no controller"),
                 ({}, ["h:1"], "TASKFLEET_SECRET_FILE is not set"),
                 ({"TASKFLEET_SECRET_FILE": self.secret + ".missing"}, ["h:1"], "cannot read the secret file"),
                 ({"TASKFLEET_SECRET_FILE": self.secret, "TASKFLEET_AGENTS_PER_NODE": "x"}, ["h:1"], "not a positive"),
                 ({"TASKFLEET_SECRET_FILE": self.secret, "TASKFLEET_AGENT": "", "PATH": "/usr/bin:/bin"}, ["h:1"],
                  "not on PATH")]
        loose = os.path.join(self.dir, "loose-secret")
        with open(loose, "w") as f:
            f.write("secret\n")
        os.chmod(loose, 0o640)
        cases.append(({"TASKFLEET_SECRET_FILE": loose}, ["h:1"], "readable by others (mode 640)"))
        jobs = []
        for extra, args, message in cases:
            env = self.env()
            env.pop("TASKFLEET_SECRET_FILE", None)
            env.update(extra)
            r = self.sbatch([], args, env)
            self.assertEqual(r.returncode, 0, r.stderr)
            jobs.append(r.stdout.strip())
        for job, (extra, args, message) in zip(jobs, cases):
            self.slurm.wait_job_state(job, ("",), timeout=15)
            exit_code = self.slurm.run(["scontrol", "show", "job", "-o", job]).stdout.split("ExitCode=")[1].split()[0]
            self.assertEqual(exit_code, "2:0", message)
            self.assertIn(message, self.job_output(job))

    def test_slurm_agents(self):
        home = tempfile.mkdtemp(dir=self.dir)
        old_home, old_cwd = os.environ.get("HOME"), os.getcwd()
        os.environ["HOME"] = home
        os.chdir(self.logs)
        try:
            t0 = time.monotonic()
            with SlurmAgents(nodes=2, cpus_per_node=2, agents_per_node=2, time="10:00", partition="debug",
                             env=self.env(), port=45999) as agents:
                secret = os.path.join(home, ".taskfleet", "slurm-secret")
                self.assertEqual(oct(os.stat(secret).st_mode & 0o777), "0o600")
                self.assertEqual(oct(os.stat(os.path.dirname(secret)).st_mode & 0o777), "0o700")
                self.assertEqual(len(agents.secret), 64)
                self.assertEqual(agents.server_kwargs(), {"listen": ":45999", "secret": agents.secret})
                self.assertEqual(agents.agents, 4)
                self.assertTrue(wait_for(lambda: agents.state() == "RUNNING", 10), agents.state())
                found = self.agents(4)
                started = time.monotonic() - t0
                self.assertEqual(sorted(a["node"] for a in found.values()), ["tfnode1"] * 2 + ["tfnode2"] * 2)
                for a in found.values():
                    self.assertEqual(a["job"], agents.job_id)
                    self.assertEqual(a["args"][:8], ["--connect", agents.controller, "--no-listen", "--no-discovery",
                                                     "--workers", "1", "--secret-file", secret])
                self.assertTrue(agents.controller.endswith(":45999"))
                self.assertEqual(os.path.dirname(agents.output_file()), self.logs)

                class FakeServer:  # pp.Server's get_active_nodes(), with these agents online
                    def __init__(self, *agents):
                        self.agents = agents

                    def get_active_nodes(self):
                        return dict({"local": 0}, **{a: 1 for a in self.agents})

                t1 = time.monotonic()
                with self.assertRaises(TimeoutError) as caught:
                    agents.wait(FakeServer("a:1", "b:1", "c:1"), timeout=1)
                self.assertLess(time.monotonic() - t1, 3)
                self.assertIn("3 of 4 agents online", str(caught.exception))
                self.assertIn("RUNNING", str(caught.exception))
                self.assertIn("4 agent(s)", str(caught.exception))  # the job output's tail
                self.assertEqual(len(agents.wait(FakeServer("a:1", "b:1", "c:1", "d:1"), timeout=1)), 5)
                t2 = time.monotonic()
                agents.cancel()
                agents.cancel()
                self.assertTrue(wait_for(lambda: not any(alive(p) for p in found), 10))
                gone = time.monotonic() - t2
                self.assertTrue(wait_for(lambda: agents.state() not in ("RUNNING", "COMPLETING"), 10))
                self.assertIn(agents.state(), ("CANCELLED", ""))
                with self.assertRaises(SlurmError) as caught:
                    agents.wait(FakeServer(), timeout=10)
                self.assertIn("job ended", str(caught.exception))
            print("\nSlurmAgents: 4 agents %.2f s after submitting, gone %.2f s after cancel()" % (started, gone),
                  file=sys.stderr)
        finally:
            os.chdir(old_cwd)
            if old_home is None:
                os.environ.pop("HOME", None)
            else:
                os.environ["HOME"] = old_home

    def test_slurm_agents_refusals(self):
        with self.assertRaises(ValueError):
            SlurmAgents(nodes=0, env=self.env())
        with self.assertRaises(SlurmError) as caught:
            SlurmAgents(secret_file=self.secret, partition="nosuchpartition", env=self.env())
        self.assertIn("invalid partition", str(caught.exception).lower())
        loose = os.path.join(self.dir, "loose-secret2")
        with open(loose, "w") as f:
            f.write("secret\n")
        os.chmod(loose, 0o644)
        with self.assertRaises(ValueError) as caught:
            SlurmAgents(secret_file=loose, env=self.env())
        self.assertIn("chmod 600", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
