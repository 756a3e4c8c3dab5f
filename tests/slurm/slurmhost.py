#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A real, single-host Slurm for tests: munged, slurmctld and slurmd started by us, in a temporary directory.

    with SlurmHost(tempfile.mkdtemp()) as slurm:
        subprocess.run(["srun", "-N1", "-n2", "hostname"], env=slurm.env(), check=True)

Needs root (slurmd runs jobs as their user) and Debian's slurm-wlm and munge (.ci/install-deps.sh); see
SlurmHost.available(). Nothing system-wide is used or changed: the munge key, munged's socket, slurm.conf,
Slurm's state, spool, pid and log files all live in the work directory, the daemons listen on free ports,
and every Slurm command must run with env() (SLURM_CONF names this host's slurm.conf).

SlurmHost(workdir, nodes=N) simulates N Slurm nodes on this host (Debian's slurmd is built with
--enable-multiple-slurmd): nodes tfnode1..tfnodeN, one slurmd -N each on its own port, each with this host's
CPUs (or cpus=) and SLURMD_NODENAME=tfnodeI in its jobs' environment.

Run as a script to try it: slurmhost.py [-N NODES] [COMMAND...] starts Slurm, runs COMMAND (default: sinfo, then
srun -n2 hostname) with SLURM_CONF set, and stops Slurm.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

_DAEMONS = ("munged", "slurmctld", "slurmd")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _tail(path, lines=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return "(%s)\n" % e


class SlurmError(RuntimeError):
    pass


class SlurmHost:
    """munged + slurmctld + slurmd on this host: one Slurm node with all its CPUs (or nodes=N simulated ones,
    tfnode1..N), in partition "debug"."""

    START_TIMEOUT = 30.0
    STOP_TIMEOUT = 15.0

    def __init__(self, workdir, nodes=1, cpus=None, cluster="taskfleet"):
        self.workdir = os.path.abspath(workdir)
        self.nodes = nodes
        self.cluster = cluster
        self.node_names = []    # Slurm's node names
        self.node_cpus = cpus   # CPUs per simulated node (default: this host's)
        self.hostname = socket.gethostname().split(".")[0]
        self.conf = os.path.join(self.workdir, "slurm.conf")
        self.munge_dir = os.path.join(self.workdir, "munge")
        self.munge_socket = os.path.join(self.munge_dir, "munge.socket")
        self.node_line = None   # slurmd -C's first line: NodeName=host CPUs=... (slurm.conf's line if nodes == 1)
        self.cpus = None        # this host's CPUs
        self.procs = {}         # name -> Popen, in start order
        self.logs = {}          # name -> log files

    # ---- checks ----------------------------------------------------------------------------------

    @staticmethod
    def available():
        """(True, "") where a SlurmHost can start here, else (False, why not)."""
        if os.geteuid() != 0:
            return False, "needs root (slurmd runs jobs as their users)"
        missing = [b for b in _DAEMONS + ("sinfo", "srun", "sbatch", "squeue", "scancel") if not shutil.which(
            b, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")]
        if missing:
            return False, "missing %s (apt-get install slurm-wlm munge)" % ", ".join(missing)
        try:
            pwd.getpwnam("munge")
        except KeyError:
            return False, "no user munge (apt-get install munge)"
        return True, ""

    # ---- use -------------------------------------------------------------------------------------

    def env(self, **extra):
        """os.environ with SLURM_CONF set to this host's slurm.conf (and extra's variables)."""
        env = dict(os.environ)
        env["SLURM_CONF"] = self.conf
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def run(self, args, check=True, timeout=30, **kwargs):
        """subprocess.run(args) with env(), text output captured."""
        kwargs.setdefault("env", self.env())
        return subprocess.run(args, check=check, timeout=timeout, capture_output=True, text=True, **kwargs)

    def job_state(self, job_id):
        """squeue's state of a job ("PENDING", "RUNNING", ...), "" once it left the queue."""
        r = self.run(["squeue", "-h", "-j", str(job_id), "-o", "%T"], check=False)
        return r.stdout.strip() if r.returncode == 0 else ""

    def wait_job_state(self, job_id, states, timeout=10.0):
        """Waits until the job's state is in states ("" = gone); returns it, or raises SlurmError."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.job_state(job_id)
            if state in states:
                return state
            time.sleep(0.05)
        raise SlurmError("job %s still %r after %.0f s, not in %r\n%s" % (job_id, state, timeout, states,
                                                                          self.log_tails()))

    def log_tails(self, lines=30):
        out = []
        for name, paths in self.logs.items():
            # slurmctld -D and slurmd -D log to their log files and to stderr (.out): the log file, unless
            # the daemon died before it opened it.
            path = paths[-1]
            if not os.path.exists(path) or os.path.getsize(path) == 0:
                path = paths[0]
            out.append("---- %s: %s\n%s" % (name, path, _tail(path, lines)))
        return "".join(out)

    # ---- start, stop -----------------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        ok, why = self.available()
        if not ok:
            raise SlurmError("cannot start Slurm: " + why)
        os.makedirs(self.workdir, exist_ok=True)
        try:
            self._start_munged()
            self._write_conf()
            self._start_daemon("slurmctld", ["slurmctld", "-D", "-c", "-f", self.conf])
            if self.nodes == 1:
                self._start_daemon("slurmd", ["slurmd", "-D", "-f", self.conf])
            else:
                for name in self.node_names:
                    self._start_daemon("slurmd-" + name, ["slurmd", "-D", "-N", name, "-f", self.conf])
            self._wait_idle()
        except BaseException:
            self.stop()
            raise

    def _start_munged(self):
        # munged checks its files' permissions: the key readable by munge alone, the socket's directory
        # executable by all (clients reach the socket), no directory on the path writable by others
        # (/tmp is fine: sticky); so the work directory is 0755 and the munge directory munge's, 0755.
        os.chmod(self.workdir, 0o755)
        os.makedirs(self.munge_dir, mode=0o755, exist_ok=True)
        pw = pwd.getpwnam("munge")
        key = os.path.join(self.munge_dir, "munge.key")
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(1024))
        for path in (self.munge_dir, key):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        os.chmod(self.munge_dir, 0o755)
        args = ["munged", "-F", "--socket=" + self.munge_socket, "--key-file=" + key,
                "--pid-file=" + os.path.join(self.munge_dir, "munged.pid"),
                "--seed-file=" + os.path.join(self.munge_dir, "munged.seed")]
        # With -F munged logs to stderr (not to --log-file).
        self._start_daemon("munged", args, user=pw.pw_uid, group=pw.pw_gid)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.munge_socket):
            if self.procs["munged"].poll() is not None or time.monotonic() > deadline:
                raise SlurmError("munged did not start\n" + self.log_tails())
            time.sleep(0.05)

    def _write_conf(self):
        for d in ("state", "log"):
            os.makedirs(os.path.join(self.workdir, d), mode=0o755, exist_ok=True)
        node = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30,
                              check=True).stdout.splitlines()[0].strip()
        if not node.startswith("NodeName="):
            raise SlurmError("slurmd -C printed %r" % node)
        self.node_line = node
        fields = dict(f.split("=", 1) for f in node.split() if "=" in f)
        self.cpus = int(fields.get("CPUs", "1"))
        w = self.workdir
        if self.nodes == 1 and not self.node_cpus:
            self.node_names = [fields["NodeName"]]
            self.node_cpus = self.cpus
            node_lines = [node + " NodeAddr=127.0.0.1"]
        else:
            # Several slurmd on this host: each its own name, port, spool, pid and log file (%n: the node's name).
            self.node_cpus = self.node_cpus or self.cpus
            self.node_names = ["tfnode%d" % i for i in range(1, self.nodes + 1)]
            hw = "RealMemory=%s" % fields["RealMemory"] if "RealMemory" in fields else ""
            if self.node_cpus == self.cpus:
                hw = node.split(None, 1)[1]
            else:
                hw = "CPUs=%d %s" % (self.node_cpus, hw)
            node_lines = ["NodeName=%s NodeHostname=%s NodeAddr=127.0.0.1 Port=%d %s"
                          % (name, self.hostname, _free_port(), hw) for name in self.node_names]
        for name in self.node_names:
            os.makedirs(os.path.join(w, "spool", name), mode=0o755, exist_ok=True)
        plugstack = os.path.join(w, "plugstack.conf")
        open(plugstack, "w").close()  # not /etc/slurm's
        conf = [
            "ClusterName=%s" % self.cluster,
            # Addresses given, names not looked up: a bare Debian (debootstrap, a container) often cannot
            # resolve its own host name, and the daemons only ever talk over loopback here.
            "SlurmctldHost=%s(127.0.0.1)" % self.hostname,
            "SlurmctldPort=%d" % _free_port(),
            "SlurmdPort=%d" % _free_port(),
            "AuthType=auth/munge",
            "AuthInfo=socket=%s" % self.munge_socket,
            "CredType=cred/munge",
            "SlurmUser=root",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "MpiDefault=none",
            "MailProg=/bin/true",
            "PlugStackConfig=%s" % plugstack,
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "ReturnToService=2",
            # slurmctld schedules batch jobs on its 1 s background tick, and by default not sooner than
            # batch_sched_delay=3 s after the last run: submit-to-RUNNING is then 0-1 s.
            "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0",
            "MessageTimeout=5",
            "KillWait=5",  # scancel: SIGTERM, then SIGKILL after KillWait seconds (default 30)
            "StateSaveLocation=%s/state" % w,
            "SlurmdSpoolDir=%s/spool/%%n" % w,
            "SlurmctldPidFile=%s/slurmctld.pid" % w,
            "SlurmdPidFile=%s/slurmd-%%n.pid" % w,
            "SlurmctldLogFile=%s/log/slurmctld.log" % w,
            "SlurmdLogFile=%s/log/slurmd-%%n.log" % w,
        ] + node_lines + [
            "PartitionName=debug Nodes=%s Default=YES MaxTime=INFINITE State=UP" % ",".join(self.node_names),
        ]
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")

    def _start_daemon(self, name, args, **kwargs):
        out = os.path.join(self.workdir, "log", name + ".out")
        os.makedirs(os.path.dirname(out), mode=0o755, exist_ok=True)
        self.logs[name] = [out]
        if name == "slurmctld":
            self.logs[name].append(os.path.join(self.workdir, "log", "slurmctld.log"))
        elif name.startswith("slurmd"):
            self.logs[name].append(os.path.join(self.workdir, "log", "slurmd-%s.log" % (
                args[args.index("-N") + 1] if "-N" in args else self.node_names[0])))
        with open(out, "ab") as f:
            self.procs[name] = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                                env=self.env(), start_new_session=True, **kwargs)

    def _wait_idle(self):
        deadline = time.monotonic() + self.START_TIMEOUT
        state = ""
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise SlurmError("%s exited (%s)\n%s" % (name, p.returncode, self.log_tails()))
            r = self.run(["sinfo", "-h", "-N", "-o", "%t"], check=False, timeout=10)
            state = r.stdout.split()
            if r.returncode == 0 and state == ["idle"] * self.nodes:
                return
            time.sleep(0.1)
        raise SlurmError("Slurm's nodes are %r, not idle, after %.0f s\n%s" % (state, self.START_TIMEOUT,
                                                                             self.log_tails()))

    def stop(self):
        """Cancels every job, ends the daemons (SIGTERM, then SIGKILL) and any process left of our Slurm's jobs.
        Prints the daemons' logs if something did not end."""
        if not self.procs:
            return
        clean = True
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            try:
                jobs = self.run(["squeue", "-h", "-o", "%i"], check=False, timeout=10).stdout.split()
                if jobs:
                    self.run(["scancel", "--full"] + jobs, check=False, timeout=10)
                deadline = time.monotonic() + self.STOP_TIMEOUT
                while time.monotonic() < deadline:
                    if not self.run(["squeue", "-h", "-o", "%i"], check=False, timeout=10).stdout.strip():
                        break
                    time.sleep(0.1)
                else:
                    clean = False
                    print("slurmhost: jobs left after scancel:\n" + self.run(["squeue"], check=False).stdout,
                          file=sys.stderr)
            except subprocess.TimeoutExpired:
                clean = False
        # Daemons in reverse order: the slurmd, slurmctld, munged.
        for name in reversed(list(self.procs)):
            p = self.procs[name]
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(self.STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    clean = False
                    print("slurmhost: %s (pid %d) ignored SIGTERM: SIGKILL" % (name, p.pid), file=sys.stderr)
                    p.kill()
                    p.wait(5)
        leftovers = self._leftovers()
        if leftovers:
            clean = False
            print("slurmhost: killing processes left of Slurm's jobs: %s" % leftovers, file=sys.stderr)
            for pid in leftovers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if not clean:
            print(self.log_tails(), file=sys.stderr)
        self.procs = {}

    def _leftovers(self):
        """Processes whose environment has our SLURM_CONF (slurmstepd, job steps and their children),
        other than this process and its ancestors."""
        mine = b"\0SLURM_CONF=" + os.fsencode(self.conf) + b"\0"
        skip = set()
        pid = os.getpid()
        for _ in range(64):
            skip.add(pid)
            try:
                with open("/proc/%d/stat" % pid) as f:
                    pid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                break
            if pid <= 1:
                break
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in skip:
                continue
            try:
                with open("/proc/%s/environ" % entry, "rb") as f:
                    if mine in b"\0" + f.read() + b"\0":
                        found.append(int(entry))
            except OSError:
                pass
        return found


def main(argv):
    ok, why = SlurmHost.available()
    if not ok:
        print("slurmhost: " + why, file=sys.stderr)
        return 77
    nodes = 1
    if argv[:1] == ["-N"] and len(argv) >= 2:
        nodes, argv = int(argv[1]), argv[2:]
    work = tempfile.mkdtemp(prefix="slurmhost.")
    try:
        t0 = time.monotonic()
        with SlurmHost(work, nodes=nodes) as slurm:
            print("slurmhost: Slurm up in %.2f s: nodes %s (%s), SLURM_CONF=%s" % (
                time.monotonic() - t0, ",".join(slurm.node_names), slurm.node_line, slurm.conf), flush=True)
            commands = [argv] if argv else [["sinfo"], ["srun", "-N%d" % nodes, "-n2", "hostname"]]
            rc = 0
            for cmd in commands:
                rc = subprocess.call(cmd, env=slurm.env())
            return rc
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
