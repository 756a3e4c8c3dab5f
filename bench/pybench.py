# SPDX-License-Identifier: MIT
"""What the Python benchmarks share: scenarios in fresh child processes, loopback nodes (taskfleet-agent,
ppft's ppserver) started and stopped by their pid, and the agent's own byte counter.

Used by bench_pp.py, bench_executor.py and bench_bigdata.py (each imports it from its own folder).
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
PPFT = os.environ.get("PPFT_PATH") or os.path.normpath(os.path.join(SOURCE, "..", "shared", "peers", "ppft"))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def run_child(script, env, system, scenario, timeout=900, **kw):
    """Runs `script --child SYSTEM SCENARIO --key value...` and returns the JSON object it printed last."""
    argv = [PYTHON, os.path.abspath(script), "--child", system, scenario]
    for k, v in kw.items():
        argv += ["--" + k, str(v)]
    r = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, text=True)
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    if r.returncode != 0 or not lines:
        raise RuntimeError("%s %s failed (exit %s):\n%s" % (system, scenario, r.returncode, r.stderr[-3000:]))
    return json.loads(lines[-1])


def taskfleet_env(build):
    """The environment that makes the Python client use this build's engine and plugins."""
    return dict(os.environ, TASKFLEET_RUN=os.path.join(build, "bin", "taskfleet-run"),
                TASKFLEET_WORKER=os.path.join(build, "bin", "taskfleet-worker"),
                TASKFLEET_PLUGIN_PATH=os.path.join(build, "plugins"), PYTHONPATH=os.path.join(SOURCE, "python"))


def ppft_available():
    return os.path.isfile(os.path.join(PPFT, "ppft", "_pp.py"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(what + " exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError(what + " did not listen on port %d" % port)


def start_ppserver(secret, workers=2):
    """ppft's network server on 127.0.0.1; returns (process, "host:port")."""
    port = free_port()
    proc = subprocess.Popen([PYTHON, "-m", "ppft.server", "-p", str(port), "-i", "127.0.0.1", "-s", secret,
                             "-w", str(workers)], env=dict(os.environ, PYTHONPATH=PPFT),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc, "ppft.server")
    return proc, "127.0.0.1:%d" % port


def start_agent(build, tmp, secret, workers=2):
    """A taskfleet-agent on 127.0.0.1 with its state in tmp and its log in proc.log_path; (process, "host:port")."""
    secret_file = os.path.join(tmp, "secret")
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    port = free_port()
    log = open(os.path.join(tmp, "agent-%d.log" % port), "wb")
    proc = subprocess.Popen([os.path.join(build, "bin", "taskfleet-agent"), "-p", str(port), "-i", "127.0.0.1",
                             "--no-discovery", "--state-dir", os.path.join(tmp, "state-%d" % port),
                             "--secret-file", secret_file, "-w", str(workers)],
                            stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    proc.log_path = log.name
    wait_port(port, proc, "taskfleet-agent")
    return proc, "127.0.0.1:%d" % port


def agent_bytes_received(proc, timeout=10):
    """What the agent says it received from controllers (its statistics, printed on SIGUSR1)."""
    with open(proc.log_path, "rb") as f:
        before = f.read().count(b"bytes received")
    proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(proc.log_path, "rb") as f:
            found = re.findall(rb"bytes received +(\d+) from controllers", f.read())
        if len(found) > before:
            return int(found[-1])
        time.sleep(0.05)
    raise RuntimeError("the agent printed no statistics within %s s" % timeout)


def stop(proc):
    """Ends a node this bench started, by its pid."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
