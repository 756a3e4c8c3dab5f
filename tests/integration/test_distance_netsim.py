#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""distance_netsim: 100 ms away with the kernel's TCP costs at most 1.5 x the job plus 10 round trips.

Three taskfleet-agents (2 workers each) in network namespaces, and taskfleet-run in a fourth, joined by
tests/support/packetswitch.py (TAP devices, frames delayed in user space: this kernel has no netem).
One `taskfleet-run -n 0 --node ... x3` runs 200 x 50 ms `sleep` tasks on fresh agents, once through the
switch with no delay and once with 50 ms each way (a 100 ms round trip), same binaries both times (so an
ASan build compares with itself). Fails if delayed > 1.5 x unimpaired + 10 x 0.1 s, or if a task is
missing. A product that idles its workers a round trip per task, or spends many round trips starting
up, fails; noise does not: a run over the bound is measured again once (both links) and must fail twice.

Needs root (namespaces, /dev/net/tun) and `ip`. Without them it skips (exit 77), but fails where
TASKFLEET_REQUIRE_ROOT_TESTS is set (CI runs as root). Addresses are 10.254.N.0/24 (N random), inside the
namespaces only; nothing in this machine's own namespace is touched. Every wait is bounded; the agents,
taskfleet-run and the switch are stopped by their pids and the namespaces deleted, also on failure.
"""

import ctypes
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
from tfsupport import alive  # noqa: E402  (a zombie counts as gone)

SWITCH = os.path.join(os.path.dirname(HERE), "support", "packetswitch.py")
BIN = os.path.dirname(os.environ.get("TASKFLEET_RUN", "build/bin/taskfleet-run"))
RUN = os.environ.get("TASKFLEET_RUN") or os.path.join(BIN, "taskfleet-run")
AGENT = os.environ.get("TASKFLEET_AGENT") or os.path.join(BIN, "taskfleet-agent")
PLUGINS = os.environ.get("TASKFLEET_PLUGIN_PATH", "")
TASKS, TASK_MS, AGENTS, WORKERS = 200, 50, 3, 2
DELAY_MS = 50  # each way: RTT 100 ms
RTT = 2 * DELAY_MS / 1000
PORT = 45450
PREFIX = "tfdn-"  # namespaces are tfdn-<pid>-<name>
SKIP = 77
TIME_BOUND = 240  # seconds for the whole test (ctest's TIMEOUT is 300): then it cleans up and fails
libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    """In a child before exec: SIGTERM when this test dies, even by SIGKILL (survives `ip netns exec`'s exec)."""
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def log(*a):
    print(*a, flush=True)


def ip(*args, timeout=10):
    subprocess.run(["ip", *args], check=True, timeout=timeout, stdout=subprocess.DEVNULL)


def stop(proc, grace=5):
    """SIGTERM to proc (by its pid), SIGKILL after grace seconds; reaps it."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def remove_stale_namespaces():
    """Namespaces of an earlier run of this test that died (SIGKILL) before its cleanup."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10).stdout
    for line in out.splitlines():
        m = re.match(r"(%s(\d+)-\S+)" % re.escape(PREFIX), line)
        if m and not alive(int(m.group(2))):
            subprocess.run(["ip", "netns", "del", m.group(1)], timeout=10)


class Lab:
    """Controller namespace + AGENTS agent namespaces behind one packet switch with delay_ms each way."""

    def __init__(self, work, net, delay_ms):
        self.work, self.net, self.delay_ms = work, net, delay_ms
        self.names = ["%s%d-c" % (PREFIX, os.getpid())] + ["%s%d-h%d" % (PREFIX, os.getpid(), i + 1)
                                                             for i in range(AGENTS)]
        self.addrs = ["10.254.%d.1" % net] + ["10.254.%d.%d" % (net, 11 + i) for i in range(AGENTS)]
        self.made, self.switch, self.agents, self.job = [], None, [], None

    def up(self):
        for ns in self.names:
            ip("netns", "add", ns)
            self.made.append(ns)
            ip("-n", ns, "link", "set", "lo", "up")
        self.switch = subprocess.Popen([sys.executable, SWITCH, "--delay-ms", str(self.delay_ms), "--max-seconds",
                                        str(TIME_BOUND), *self.names], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        ready, _, _ = select.select([self.switch.stdout], [], [], 10)
        line = self.switch.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            raise RuntimeError("packet switch not ready: %r" % line)
        macs = []
        for ns, addr in zip(self.names, self.addrs):
            ip("-n", ns, "addr", "add", addr + "/24", "dev", "tfsw0")
            ip("-n", ns, "link", "set", "tfsw0", "up")
            macs.append(subprocess.run(["ip", "netns", "exec", ns, "cat", "/sys/class/net/tfsw0/address"],
                                       capture_output=True, text=True, timeout=10, check=True).stdout.strip())
        # Neighbour entries filled beforehand: on a WAN the first hop is a router resolved long ago; an ARP
        # exchange through the switch would add a round trip that is no part of Taskfleet.
        for i in range(1, AGENTS + 1):
            ip("-n", self.names[0], "neigh", "replace", self.addrs[i], "lladdr", macs[i], "dev", "tfsw0",
               "nud", "permanent")
            ip("-n", self.names[i], "neigh", "replace", self.addrs[0], "lladdr", macs[0], "dev", "tfsw0",
               "nud", "permanent")

    def start_agents(self, secret):
        for i in range(1, AGENTS + 1):
            logf = open(os.path.join(self.work, "agent%d.log" % i), "wb")
            p = subprocess.Popen(["ip", "netns", "exec", self.names[i], AGENT, "-i", self.addrs[i], "-p", str(PORT),
                                  "-w", str(WORKERS), "--state-dir", os.path.join(self.work, "agent%d" % i),
                                  "--secret-file", secret, "--no-discovery", "-t", "0"],
                                 stdout=subprocess.PIPE, stderr=logf, preexec_fn=die_with_parent)
            # (`ip netns exec` execs the program: p.pid is the agent's pid)
            logf.close()
            self.agents.append(p)
        for p in self.agents:  # each says where it listens once it does; bounded: 30 s (ASan starts slowly)
            deadline, buf = time.monotonic() + 30, b""
            while b"taskfleet-agent listening on" not in buf:
                left = deadline - time.monotonic()
                ready, _, _ = select.select([p.stdout], [], [], max(0, min(left, 0.5)))
                chunk = os.read(p.stdout.fileno(), 4096) if ready else b""
                if ready and not chunk or left <= 0:
                    raise RuntimeError("an agent did not start: %r (see %s)" % (buf, self.work))
                buf += chunk
        time.sleep(0.5)  # its workers started

    def run_job(self, secret, job):
        """Wall time of taskfleet-run from start to exit; fails unless every task gave an output."""
        out = os.path.join(self.work, "results.jsonl")
        argv = ["ip", "netns", "exec", self.names[0], RUN, "-n", "0"]
        for a in self.addrs[1:]:
            argv += ["--node", "%s:%d" % (a, PORT)]
        argv += ["--secret-file", secret, "--plugin-path", PLUGINS, "--no-journal", "--connect-timeout", "30", "-o",
                 out, job]
        with open(os.path.join(self.work, "run.log"), "wb") as logf:
            t0 = time.monotonic()
            p = self.job = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=logf, preexec_fn=die_with_parent)
            try:
                rc = p.wait(120)
            except subprocess.TimeoutExpired:
                raise RuntimeError("taskfleet-run ran over 120 s")  # down() stops it
            wall = time.monotonic() - t0
        if rc != 0:
            with open(os.path.join(self.work, "run.log"), errors="replace") as f:
                raise RuntimeError("taskfleet-run exited %d:\n%s" % (rc, f.read()[-3000:]))
        with open(out) as f:
            ok = sum(1 for line in f if '"output"' in line)
        if ok != TASKS:
            raise RuntimeError("%d of %d tasks gave an output" % (ok, TASKS))
        return wall

    def down(self):
        """Stops every process and deletes every namespace this lab made; each step is tried even if one fails."""
        steps = [lambda p=p: stop(p) for p in self.agents + [self.job, self.switch]]
        steps += [lambda ns=ns: subprocess.run(["ip", "netns", "del", ns], timeout=10) for ns in self.made]
        self.agents, self.job, self.switch, self.made = [], None, None, []
        first = None
        for step in steps:
            try:
                step()
            except BaseException as e:  # noqa: BLE001 -- finish the clean-up, then report the first error
                first = first or e
        if first:
            raise first


def measure(work, secret, job, delay_ms):
    """One job on fresh agents (empty plugin caches) behind a switch with delay_ms each way."""
    for i in range(1, AGENTS + 1):
        shutil.rmtree(os.path.join(work, "agent%d" % i), ignore_errors=True)
    lab = Lab(work, random.randint(1, 254), delay_ms)
    try:
        lab.up()
        lab.start_agents(secret)
        return lab.run_job(secret, job)
    finally:
        lab.down()


def main():
    why = None
    if os.geteuid() != 0:
        why = "needs root (network namespaces, TAP devices)"
    elif not shutil.which("ip"):
        why = "needs `ip` (iproute2)"
    elif not os.path.exists("/dev/net/tun"):
        why = "needs /dev/net/tun"
    if why:
        if os.environ.get("TASKFLEET_REQUIRE_ROOT_TESTS"):
            log("FAIL: " + why + " (TASKFLEET_REQUIRE_ROOT_TESTS is set)")
            return 1
        log("SKIP: " + why)
        return SKIP
    def out_of_time(signum, _frame):
        # Once: the clean-up that follows must not be interrupted by a second signal.
        signal.alarm(0)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise TimeoutError("the test ran over %d s" % TIME_BOUND if signum == signal.SIGALRM else "terminated")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.signal(signal.SIGTERM, out_of_time)  # ctest's timeout: clean up too
    signal.alarm(TIME_BOUND)
    remove_stale_namespaces()
    work = tempfile.mkdtemp(prefix="tf-distance-netsim.")
    try:
        secret = os.path.join(work, "secret")
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, os.urandom(24).hex().encode() + b"\n")
        os.close(fd)
        job = os.path.join(work, "job.json")
        with open(job, "w") as f:
            json.dump({"name": "distance_netsim", "plugin": "sleep", "timeout": 60, "inputs": [TASK_MS] * TASKS}, f)
        work_s = TASKS * TASK_MS / 1000 / (AGENTS * WORKERS)
        log("%d x %d ms sleeps on %d agents x %d workers (work %.2f s), fresh agents each run"
            % (TASKS, TASK_MS, AGENTS, WORKERS, work_s))
        for attempt in (1, 2):
            near = measure(work, secret, job, 0)
            far = measure(work, secret, job, DELAY_MS)
            bound = 1.5 * near + 10 * RTT
            log("attempt %d: no delay %.2f s; %d ms each way %.2f s (%.1f round trips over the unimpaired run); "
                "bound 1.5 x %.2f + 10 x %.1f = %.2f s" % (attempt, near, DELAY_MS, far, (far - near) / RTT, near, RTT,
                                                           bound))
            if far <= bound:
                log("PASS")
                return 0
        log("FAIL: the job behind a %d ms round trip took %.2f s > %.2f s, twice" % (2 * DELAY_MS, far, bound))
        return 1
    except Exception as e:  # noqa: BLE001 -- any failure of the set-up or the job fails the test, with its reason
        log("FAIL: %s" % e)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
