# SPDX-License-Identifier: MIT
"""How a Server reaches Taskfleet's engine: taskfleet-run --session as its child, or a running desktop app.

Both speak the same frames (docs/python.md): the Server reads and writes raw file descriptors and
asks the engine object only how to start, end and explain an end.
"""

import fcntl
import os
import socket
import subprocess
import tempfile

from . import _cbor

__all__ = ["ChildEngine", "AttachedEngine", "app_socket_path"]

HELLO_TIMEOUT = 10.0
PIPE_BYTES = 1 << 20


def app_socket_path():
    """Where the desktop app lets scripts attach: the rule of sched::defaultScriptSocketPath()."""
    path = os.environ.get("TASKFLEET_APP_SOCKET")
    if path:
        return path
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "taskfleet", "app.sock")
    return os.path.join(tempfile.gettempdir(), "taskfleet-%d" % os.getuid(), "app.sock")


class ChildEngine:
    """taskfleet-run --session, started as this process's child, over its stdin and stdout."""

    attached = False

    def __init__(self, argv, env):
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                      close_fds=True, bufsize=0)
        self.pid = self._proc.pid
        self.in_fd = self._proc.stdin.fileno()
        self.out_fd = self._proc.stdout.fileno()
        # Pipes of 1 MiB (the unprivileged maximum) instead of 64 KiB, as the engine's own workers have: a big
        # value crosses with 16 times fewer wake-ups of each side. Best effort: a refusal keeps the default size.
        for fd in (self.in_fd, self.out_fd):
            try:
                fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
            except OSError:
                pass
        self.hello = None  # read by the Server's reader with everything else

    def alive(self):
        return self._proc.poll() is None

    def gone_reason(self):
        return "the engine (taskfleet-run) stopped with exit code %s" % self._proc.wait()

    def end_input(self):
        try:
            self._proc.stdin.close()
        except Exception:
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def close(self):
        try:
            self._proc.stdout.close()
        except Exception:
            pass


class AttachedEngine:
    """A running desktop app (`taskfleet`), over the local socket only its user can open."""

    attached = True

    def __init__(self, path, client_name):
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._closed = False
        try:
            self._sock.settimeout(HELLO_TIMEOUT)
            self._sock.connect(path)
            self.hello = self._read_frame()
            if self.hello.get("t") != "hello":
                raise OSError("it did not greet")
            self._sock.settimeout(None)
        except (OSError, ValueError) as e:
            self._sock.close()
            raise ConnectionError(
                "taskfleet: cannot attach to a Taskfleet window at %s (%s): start the desktop app `taskfleet` "
                "(it lets scripts attach unless started with --no-scripts), or create Server() without attach"
                % (path, e.strerror if isinstance(e, OSError) and e.strerror else e)) from None
        self.in_fd = self.out_fd = self._sock.fileno()
        payload = _cbor.dumps({"t": "client", "name": client_name})
        self._sock.sendall(len(payload).to_bytes(4, "big") + payload)

    def _read_exactly(self, n):
        data = b""
        while len(data) < n:
            chunk = self._sock.recv(n - len(data))
            if not chunk:
                raise OSError("the window closed the connection")
            data += chunk
        return data

    def _read_frame(self):
        size = int.from_bytes(self._read_exactly(4), "big")
        if size > 1 << 20:
            raise ValueError("its greeting is %d bytes long" % size)
        return _cbor.loads(self._read_exactly(size))

    def alive(self):
        return not self._closed

    def gone_reason(self):
        self._closed = True
        return "the Taskfleet window closed the connection (it quit, or was closed)"

    def end_input(self):
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        self._closed = True
        self._sock.close()
