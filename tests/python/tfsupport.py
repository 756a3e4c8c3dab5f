# SPDX-License-Identifier: MIT
"""Helpers for the Python client's tests: real taskfleet-agent processes on 127.0.0.1, bounded waits."""

import faulthandler
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import time

BIN_DIR = os.path.dirname(os.environ.get("TASKFLEET_RUN", "build/bin/taskfleet-run"))
AGENT = os.environ.get("TASKFLEET_AGENT") or os.path.join(BIN_DIR, "taskfleet-agent")
SECRET = "python client test secret, long enough for a real cluster"
TEST_TIMEOUT = 120  # seconds: a hung test dumps its threads and exits instead of hanging ctest


def bound_test_time(seconds=TEST_TIMEOUT):
    faulthandler.dump_traceback_later(seconds, exit=True)


def write_secret(path, secret=SECRET):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return path


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid):
    """True if pid runs (a zombie counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children(pid):
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return out


class Agent:
    """A taskfleet-agent on 127.0.0.1 with a temporary state dir; stopped (by its own pid) on stop()."""

    def __init__(self, secret=SECRET, workers=2, extra=(), discovery=False):
        self.dir = tempfile.TemporaryDirectory(prefix="tf-pyagent-")
        self.secret_file = write_secret(os.path.join(self.dir.name, "secret"), secret)
        argv = [AGENT, "-p", "0", "-i", "127.0.0.1", "--state-dir", os.path.join(self.dir.name, "state"),
                "--secret-file", self.secret_file, "-w", str(workers)]
        if not discovery:
            argv.append("--no-discovery")
        argv += list(extra)
        self.log_path = os.path.join(self.dir.name, "agent.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._log)
        self.port = None
        deadline = time.monotonic() + 15
        buf = b""
        while time.monotonic() < deadline and self.port is None:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            m = re.search(rb"taskfleet-agent listening on (\S+):(\d+),", buf)
            if m:
                self.port = int(m.group(2))
        if self.port is None:
            self.stop()
            raise RuntimeError("taskfleet-agent did not announce its port: %r" % buf)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def statistics(self, timeout=10):
        """The agent's statistics (SIGUSR1 prints them to its log in one write): the newest block, as text."""
        head = b"taskfleet-agent statistics"
        with open(self.log_path, "rb") as f:
            before = f.read().count(head)
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                text = f.read()
            if text.count(head) > before:
                block = text[text.rfind(head):]
                if b"value cache" in block:  # its last line
                    return block.decode(errors="replace")
            time.sleep(0.05)
        raise RuntimeError("the agent printed no statistics within %s s" % timeout)

    def bytes_received(self, timeout=10):
        """Bytes the agent received from controllers, from its own statistics (SIGUSR1 prints them)."""
        return int(re.findall(r"bytes received +(\d+) from controllers", self.statistics(timeout))[-1])

    def log(self):
        """What the agent has logged so far."""
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self._log.close()
        self.dir.cleanup()
