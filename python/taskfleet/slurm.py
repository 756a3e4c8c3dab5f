# SPDX-License-Identifier: MIT
"""Taskfleet agents as a Slurm job, in the spirit of dask-jobqueue: the agents dial out to this program.

    import taskfleet as pp
    from taskfleet.slurm import SlurmAgents

    with SlurmAgents(nodes=10, cpus_per_node=32, time="1:00:00", partition="batch") as agents:
        job_server = pp.Server(ncpus=0, **agents.server_kwargs())
        agents.wait(job_server)            # until the 10 agents are online
        jobs = [job_server.submit(f, (x,)) for x in range(1000)]
        ...
    # leaving the block (or the program) cancels the Slurm job: the agents end with it

SlurmAgents submits resources/slurm/taskfleet-agents.sbatch (installed in <prefix>/share/taskfleet/slurm)
with sbatch: one taskfleet-agent per node (agents_per_node=N: N, each with cpus_per_node/N workers) that
connects to the controller, this host's port 45460 by default, where the Server listens (listen=":45460").
The cluster secret travels in a file, never on a command line: secret_file=, else ~/.taskfleet/slurm-secret,
created (random, mode 0600) if missing; compute nodes must see it (a shared home).
"""

import atexit
import os
import secrets
import shutil
import socket
import stat
import subprocess
import time as _time

from ._address import format_node_address, parse_node_address

__all__ = ["SlurmAgents", "SlurmError", "DEFAULT_CONTROLLER_PORT", "find_script"]

DEFAULT_CONTROLLER_PORT = 45460  # where the Server listens for agents that dial out (Server(listen=":45460"))
SCRIPT_NAME = "taskfleet-agents.sbatch"
_SECRET_FILE = os.path.join("~", ".taskfleet", "slurm-secret")
_ALIVE = ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING")


class SlurmError(RuntimeError):
    """A Slurm command failed (sbatch refused the job, ...): the message has its output."""


def find_script():
    """taskfleet-agents.sbatch: $TASKFLEET_SLURM_SCRIPT, else in <prefix>/share/taskfleet/slurm next to this
    package's install, else in the source tree's resources/slurm."""
    env = os.environ.get("TASKFLEET_SLURM_SCRIPT")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    d = here
    for _ in range(6):
        d = os.path.dirname(d)
        candidate = os.path.join(d, "share", "taskfleet", "slurm", SCRIPT_NAME)
        if os.path.isfile(candidate):
            return candidate
    candidate = os.path.join(os.path.dirname(os.path.dirname(here)), "resources", "slurm", SCRIPT_NAME)
    if os.path.isfile(candidate):
        return candidate
    raise SlurmError("taskfleet: cannot find %s (pass script=, set TASKFLEET_SLURM_SCRIPT, or install taskfleet)"
                     % SCRIPT_NAME)


def _find_agent():
    """taskfleet-agent next to this package's install (as _server finds taskfleet-run), else None: PATH's."""
    d = os.path.dirname(os.path.abspath(__file__))
    for _ in range(6):
        d = os.path.dirname(d)
        candidate = os.path.join(d, "bin", "taskfleet-agent")
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _this_host():
    """This host's name as the compute nodes should dial it: the FQDN, unless that is only localhost."""
    fqdn = socket.getfqdn()
    if not fqdn or fqdn.split(".")[0] == "localhost":
        return socket.gethostname()
    return fqdn


def _read_secret(path, create):
    """The secret in path (a file only the user can read); created, random, if create and missing."""
    path = os.path.abspath(os.path.expanduser(path))
    if create and not os.path.exists(path):
        directory = os.path.dirname(path)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        text = secrets.token_hex(32)
        try:  # O_EXCL: a program starting at the same time keeps the file the other one wrote
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(text + "\n")
    try:
        st = os.stat(path)
    except OSError as e:
        raise ValueError("taskfleet: cannot use the secret file %s: %s" % (path, e.strerror)) from None
    if not stat.S_ISREG(st.st_mode):
        raise ValueError("taskfleet: the secret file %s is not a regular file" % path)
    if st.st_mode & 0o077:
        raise ValueError("taskfleet: the secret file %s is readable by others (mode %o): chmod 600 %s"
                         % (path, stat.S_IMODE(st.st_mode), path))
    with open(path) as f:
        secret = f.read().strip()
    if not secret:
        raise ValueError("taskfleet: the secret file %s is empty" % path)
    return path, secret


class SlurmAgents:
    """A Slurm job of taskfleet-agents dialing this program's Server; see the module's docstring.

    nodes, cpus_per_node (the job's CPUs per node; default: Slurm's, 1 per agent unless sbatch_args has
    --exclusive), time (--time, e.g. "1:00:00"), partition, job_name and sbatch_args (more sbatch options)
    make the sbatch command; agents_per_node agents run on each node. controller is the HOST:PORT the agents
    dial (default: this host's name and port); secret_file the cluster secret's file (default
    ~/.taskfleet/slurm-secret, created if missing); script the batch script (default: find_script());
    env more environment variables for sbatch and so the job (e.g. TASKFLEET_AGENT, the agent's path on the
    nodes; TASKFLEET_AGENT_ARGS). The job is submitted at once; it is cancelled by cancel(), on leaving a
    with block, and when the program exits.
    """

    def __init__(self, nodes=1, cpus_per_node=None, time=None, partition=None, controller=None, secret_file=None,
                 agents_per_node=1, job_name="taskfleet-agents", sbatch_args=(), script=None, env=None,
                 port=DEFAULT_CONTROLLER_PORT):
        if not isinstance(nodes, int) or nodes < 1:
            raise ValueError("nodes must be an integer >= 1")
        if not isinstance(agents_per_node, int) or agents_per_node < 1:
            raise ValueError("agents_per_node must be an integer >= 1")
        if cpus_per_node is not None and (not isinstance(cpus_per_node, int) or cpus_per_node < 1):
            raise ValueError("cpus_per_node must be an integer >= 1")
        if isinstance(sbatch_args, str):
            raise TypeError("sbatch_args must be a sequence of arguments, not a string")
        if controller is None:
            controller = format_node_address(_this_host(), port)
        host, self.port = parse_node_address(controller, port)
        self.controller = format_node_address(host, self.port)
        self.nodes = nodes
        self.agents_per_node = agents_per_node
        self.agents = nodes * agents_per_node
        self.secret_file, self.secret = _read_secret(secret_file or _SECRET_FILE, create=secret_file is None)
        self.script = os.path.abspath(script or find_script())
        self.job_id = None
        self._cancelled = False
        self._env = dict(os.environ)
        self._env.update({k: str(v) for k, v in (env or {}).items()})
        self._env["TASKFLEET_CONTROLLER"] = self.controller
        self._env["TASKFLEET_SECRET_FILE"] = self.secret_file
        self._env["TASKFLEET_AGENTS_PER_NODE"] = str(agents_per_node)
        if "TASKFLEET_AGENT" not in self._env:
            agent = _find_agent()
            if agent:
                self._env["TASKFLEET_AGENT"] = agent
        argv = ["sbatch", "--parsable", "--nodes=%d" % nodes, "--ntasks-per-node=%d" % agents_per_node,
                "--job-name=%s" % job_name]
        if cpus_per_node is not None:
            argv.append("--cpus-per-task=%d" % max(1, cpus_per_node // agents_per_node))
        if time is not None:
            argv.append("--time=%s" % time)
        if partition is not None:
            argv.append("--partition=%s" % partition)
        argv += [str(a) for a in sbatch_args]
        argv += [self.script, self.controller]
        self.sbatch_argv = argv
        out = self._slurm(argv, "sbatch could not submit the agents' job")
        self.job_id = out.strip().split(";")[0]
        if not self.job_id.isdigit():
            raise SlurmError("sbatch printed %r, not a job id" % out.strip())
        atexit.register(self.cancel)

    def _slurm(self, argv, what, timeout=60):
        if not shutil.which(argv[0], path=self._env.get("PATH")):
            raise SlurmError("%s: %s is not on PATH (is this a Slurm cluster's login node?)" % (what, argv[0]))
        try:
            r = subprocess.run(argv, env=self._env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SlurmError("%s: %s did not answer in %d s" % (what, argv[0], timeout)) from None
        if r.returncode != 0:
            raise SlurmError("%s: %s exited with %d: %s" % (what, " ".join(argv), r.returncode,
                                                            (r.stderr or r.stdout).strip()))
        return r.stdout

    def server_kwargs(self):
        """The Server's arguments that let the agents in: pp.Server(ncpus=0, **agents.server_kwargs())."""
        return {"listen": ":%d" % self.port, "secret": self.secret}

    def _job_fields(self):
        """scontrol's fields of the job (JobState, Reason, StdOut, ...); {} once Slurm forgot it."""
        try:
            out = self._slurm(["scontrol", "show", "job", "-o", self.job_id], "scontrol", timeout=30)
        except SlurmError:
            return {}
        fields = {}
        for word in out.split():
            key, sep, value = word.partition("=")
            if sep and key not in fields:
                fields[key] = value
        return fields

    def state(self):
        """The job's state as squeue says it ("PENDING", "RUNNING", ...); then scontrol's ("CANCELLED",
        "FAILED", ...); "" once Slurm forgot the job."""
        try:
            out = self._slurm(["squeue", "-h", "-j", self.job_id, "-o", "%T"], "squeue", timeout=30).strip()
        except SlurmError:
            out = ""
        return out or self._job_fields().get("JobState", "")

    def output_file(self):
        """The job's output file (the agents' log): scontrol's StdOut, else the script's default name."""
        path = self._job_fields().get("StdOut")
        return path or os.path.abspath("taskfleet-agents-%s.out" % self.job_id)

    def _report(self, lines=20):
        fields = self._job_fields()
        state = fields.get("JobState") or self.state() or "unknown to Slurm"
        text = "Slurm job %s: %s" % (self.job_id, state)
        if fields.get("Reason") not in (None, "None"):
            text += " (%s)" % fields["Reason"]
        path = fields.get("StdOut") or self.output_file()
        try:
            with open(path, errors="replace") as f:
                tail = "".join(f.readlines()[-lines:])
            text += "\n---- %s (last %d lines):\n%s" % (path, lines, tail)
        except OSError as e:
            text += "\n(no output: %s: %s)" % (path, e.strerror)
        return text

    def wait(self, server, timeout=60):
        """Waits until server (a pp.Server) has at least self.agents agents of this Slurm job online;
        returns its get_active_nodes(). Raises TimeoutError saying the job's state and output if they are not, and
        SlurmError at once if the job ended."""
        deadline = _time.monotonic() + timeout
        next_check = _time.monotonic() + 2.0
        active = {}
        while True:
            active = server.get_active_nodes()
            online = self._online(server, active)
            if len(online) >= self.agents:
                return active
            now = _time.monotonic()
            if now >= next_check:
                next_check = now + 2.0
                state = self.state()
                if state and state not in _ALIVE:  # "": squeue and scontrol did not answer, or forgot the job
                    raise SlurmError("the agents' job ended with %d of %d agents online\n%s"
                                     % (len(online), self.agents, self._report()))
            if now >= deadline:
                raise TimeoutError("%d of %d agents online after %g s\n%s"
                                   % (len(online), self.agents, timeout, self._report()))
            _time.sleep(min(0.25, max(0.0, deadline - now)))

    def _online(self, server, active):
        """The online agents of this Slurm job: a taskfleet Server tells each agent's job (the agents
        report SLURM_JOB_ID in their hello); another pp-like server only its nodes, all counted."""
        nodes = getattr(server, "nodes", None)
        if callable(nodes):
            return [n["address"] for n in nodes()
                    if n.get("state") == "online" and n.get("slurm_job") == str(self.job_id)]
        return [n for n in active if n != "local"]

    def cancel(self):
        """scancel: the agents end with the job. Once; again does nothing."""
        if self.job_id is None or self._cancelled:
            return
        self._cancelled = True
        atexit.unregister(self.cancel)
        try:
            self._slurm(["scancel", self.job_id], "scancel", timeout=30)
        except SlurmError:
            pass  # already ended, or Slurm is gone: nothing else to do

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cancel()
        return False

    def __repr__(self):
        return "<SlurmAgents job %s: %d agent(s) -> %s>" % (self.job_id, self.agents, self.controller)
