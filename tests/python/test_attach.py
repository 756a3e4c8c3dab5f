#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Scripts attached to a running desktop app: the real `taskfleet` window (offscreen) serves
them over its user-only local socket. Run as a script: its functions are __main__ code."""

import io
import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

import tfsupport
import taskfleet as pp

APP = os.environ.get("TASKFLEET_APP") or os.path.join(tfsupport.BIN_DIR, "taskfleet")
PLUGINS = os.environ.get("TASKFLEET_PLUGIN_PATH", "")
HERE = os.path.dirname(os.path.abspath(__file__))


def square(x):
    print("squaring", x)
    return x * x


def quiet_square(x):
    return x * x


def slow(x):
    import time
    time.sleep(0.2)
    return x


def sized(i, n):
    return bytes([i % 251]) * n + i.to_bytes(4, "big")


class Window:
    """The desktop app with 2 local workers, its own settings and a script socket in a private directory."""

    def __init__(self, workers=2, socket_dir_mode=0o700):
        self.dir = tempfile.TemporaryDirectory(prefix="tf-attach-")
        sock_dir = os.path.join(self.dir.name, "run")
        os.mkdir(sock_dir)
        os.chmod(sock_dir, socket_dir_mode)
        self.socket = os.path.join(sock_dir, "app.sock")
        self.stats = os.path.join(self.dir.name, "stats.csv")
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=os.path.join(self.dir.name, "config"))
        env.pop("TASKFLEET_SECRET", None)  # no secret: no discovery, nothing else joins
        argv = [APP, "-n", str(workers), "--script-socket", self.socket, "--export-stats", self.stats]
        if PLUGINS:
            argv += ["--plugin-path", PLUGINS]
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def script(self, name, text):
        """Writes a script file (pp ships functions by their source: they must live in a file)."""
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def wait_socket(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.socket):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def stop(self):
        """Quits the window as the desktop would (SIGTERM) and returns its stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err.decode(errors="replace")


class AttachTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tfsupport.bound_test_time(200)
        cls.window = Window()
        if not cls.window.wait_socket():
            raise RuntimeError("the window did not open its script socket:\n" + cls.window.stop())

    @classmethod
    def tearDownClass(cls):
        cls.window.stop()

    def test_jobs_run_in_the_window_with_output_and_ncpus(self):
        s = pp.Server(attach=self.window.socket)
        try:
            self.assertEqual(s.get_ncpus(), 2)  # the window's local workers, not this machine's CPUs
            out = io.StringIO()
            old, sys.stdout = sys.stdout, out
            try:
                jobs = [s.submit(square, (i,)) for i in range(200)]
                results = [j() for j in jobs]
            finally:
                sys.stdout = old
            self.assertEqual(results, [i * i for i in range(200)])
            self.assertIn("squaring 199", out.getvalue())
            self.assertIn("local", s.get_active_nodes())
            stats = s.get_stats()
            self.assertGreaterEqual(stats["local"].njobs, 200)
        finally:
            s.destroy()
        self.assertIsNone(self.window.proc.poll(), "the window must outlive the script's destroy()")

    def test_big_results_mixed_with_small_ones_reach_their_tasks(self):
        # The window writes a big result to the script from where the value lies, in pieces its socket copies.
        s = pp.Server(attach=self.window.socket)
        try:
            sizes = [5, 3 << 20, 17, 1 << 20, 0, 9 << 20, 2000, (1 << 20) - 10] * 2
            jobs = [s.submit(sized, (i, n)) for i, n in enumerate(sizes)]
            for i, (job, n) in enumerate(zip(jobs, sizes)):
                self.assertEqual(job(), sized(i, n), "task %d (%d bytes)" % (i, n))
        finally:
            s.destroy()

    def test_environment_variable_attaches_unchanged_pp_code(self):
        script = textwrap.dedent("""
            import taskfleet as pp
            def cube(x):
                return x ** 3
            s = pp.Server()
            print(sum(j() for j in [s.submit(cube, (i,)) for i in range(50)]), s.get_ncpus())
        """)
        env = dict(os.environ, TASKFLEET_ATTACH="1", TASKFLEET_APP_SOCKET=self.window.socket)
        r = subprocess.run([sys.executable, self.window.script("cubes.py", script)], env=env, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), [str(sum(i ** 3 for i in range(50))), "2"])

    def test_two_scripts_at_once_get_their_own_results(self):
        a = pp.Server(attach=self.window.socket)
        b = pp.Server(attach=self.window.socket)
        try:
            ja = [a.submit(quiet_square, (i,)) for i in range(100)]
            jb = [b.submit(quiet_square, (-i - 1,)) for i in range(100)]
            self.assertEqual([j() for j in jb], [(i + 1) ** 2 for i in range(100)])
            self.assertEqual([j() for j in ja], [i * i for i in range(100)])
        finally:
            a.destroy()
            b.destroy()

    def test_script_killed_mid_job_leaves_the_window_serving(self):
        script = textwrap.dedent("""
            import sys, time, taskfleet as pp
            def slow(x):
                import time
                time.sleep(0.2)
                return x
            s = pp.Server()
            jobs = [s.submit(slow, (i,)) for i in range(200)]
            print("submitted", flush=True)
            time.sleep(60)
        """)
        env = dict(os.environ, TASKFLEET_ATTACH="1", TASKFLEET_APP_SOCKET=self.window.socket)
        p = subprocess.Popen([sys.executable, self.window.script("killed.py", script)], env=env,
                             stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(p.stdout.readline().strip(), "submitted")
            time.sleep(0.5)
        finally:
            p.kill()
            p.wait()
            p.stdout.close()
        # Its 200 slow tasks are cancelled with it: a new script's tasks run at once, not 20 s later.
        s = pp.Server(attach=self.window.socket)
        try:
            t0 = time.monotonic()
            self.assertEqual([j() for j in [s.submit(slow, (i,)) for i in range(4)]], [0, 1, 2, 3])
            self.assertLess(time.monotonic() - t0, 8.0)
        finally:
            s.destroy()
        self.assertIsNone(self.window.proc.poll())

    def test_set_ncpus_changes_the_windows_local_node(self):
        s = pp.Server(attach=self.window.socket)
        try:
            s.set_ncpus(3)
            deadline = time.monotonic() + 10
            while s.get_active_nodes().get("local") != 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(s.get_active_nodes().get("local"), 3)
            self.assertEqual([j() for j in [s.submit(quiet_square, (i,)) for i in range(30)]], [i * i for i in range(30)])
            s.set_ncpus(2)
        finally:
            s.destroy()

    def test_broken_frame_ends_only_that_script(self):
        import socket as so
        c = so.socket(so.AF_UNIX, so.SOCK_STREAM)
        c.settimeout(10)
        c.connect(self.window.socket)
        c.sendall(b"\xff\xff\xff\xffgarbage")  # a 4 GiB frame header: refused at once
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        c.close()
        self.assertIn(b"broken frame", data)  # the error frame, then the window closed the connection
        s = pp.Server(attach=self.window.socket)
        try:
            self.assertEqual(s.submit(quiet_square, (7,))(), 49)
        finally:
            s.destroy()


class NoWindowTest(unittest.TestCase):
    def test_no_window_is_a_clear_error_at_once(self):
        path = os.path.join(tempfile.mkdtemp(prefix="tf-nowindow-"), "app.sock")
        t0 = time.monotonic()
        with self.assertRaises(ConnectionError) as cm:
            pp.Server(attach=path)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertIn("cannot attach to a Taskfleet window", str(cm.exception))
        self.assertIn(path, str(cm.exception))

    def test_socket_directory_open_to_others_is_refused_by_the_window(self):
        w = Window(socket_dir_mode=0o755)
        try:
            time.sleep(3)
            self.assertIsNone(w.proc.poll(), "the window runs on without scripts")
            self.assertFalse(os.path.exists(w.socket))
        finally:
            err = w.stop()
        self.assertIn("closed to others", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
