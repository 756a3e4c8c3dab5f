# SPDX-License-Identifier: MIT
"""Parallel Python's Server, Template and job objects, driving `taskfleet-run --session`."""

import atexit
import os
import pickle
import select
import shutil
import sys
import threading
import time
import traceback
import types

from . import _cbor
from ._address import parse_node_address
from ._engine import AttachedEngine, ChildEngine, app_socket_path
from ._frames import FrameReader, frame_parts, raw_pickle, unpickle_value, write_parts
from ._shared import BufferSharing, Shared, merge_shared, shared_in
from ._source import (MAIN, JobCode, SourceError, build_call_code, build_code, cloudpickle, cloudpickle_available,
                      dumps, needs_value, user_classes)

__all__ = ["Server", "Template", "TaskError", "TaskfleetError", "DestroyedServerError"]

DEFAULT_PORT = 45450          # taskfleet-agent's port: "host" in ppservers means host:45450
_MAX_FRAME_PAYLOAD = 16 << 20  # split submits well below the engine's 64 MiB frame limit
_REPLY_TIMEOUT = 30.0
_READY_TIMEOUT = 5.0  # at most this long in Server() for the local workers to start
_BIG_PART = 64 << 10  # values from this size on are written from where they are, not gathered
_MAX_VALUE = 256 << 20  # the protocol's largest task value (protocol::MaxValueSize)
# After a thread stopped reading the engine in _wait_step, the reader thread stays away this long: a
# program that waits for one result after another reads every result itself, and the reader thread
# would only wake with it for each one (and take the GIL from it).
_READER_QUIET = 0.002
# A submit this soon after a wait for a result ended is taken as the next step of a round trip.
_ROUND_TRIP_GAP = 0.001


class TaskfleetError(RuntimeError):
    """The engine cannot run the job: no usable node (wrong secret, ...), or it stopped."""


class DestroyedServerError(RuntimeError):
    """The server was destroyed before the job finished (pp's exception of the same name)."""


class TaskError(Exception):
    """The task raised: str(error) is the remote traceback; .node is where it ran."""

    def __init__(self, text, node=None):
        super().__init__(text)
        self.traceback = text
        self.node = node


def _find_run():
    """taskfleet-run: $TASKFLEET_RUN, else next to this package's install, else on PATH."""
    env = os.environ.get("TASKFLEET_RUN")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    d = here
    for _ in range(6):
        d = os.path.dirname(d)
        candidate = os.path.join(d, "bin", "taskfleet-run")
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("taskfleet-run")
    if found:
        return found
    raise TaskfleetError("taskfleet: cannot find taskfleet-run (set TASKFLEET_RUN, or install taskfleet)")


def _agent_secret_file():
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    path = os.path.join(base, "taskfleet-agent", "secret")
    return path if os.path.isfile(path) else None


def _detect_ncpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _check_ncpus(ncpus):
    if ncpus == "autodetect":
        ncpus = _detect_ncpus()
    if not isinstance(ncpus, int) or isinstance(ncpus, bool):
        raise TypeError("ncpus must have 'int' type")
    if ncpus < 0:
        raise ValueError("ncpus must be an integer > 0")
    return ncpus


class _Statistics:
    """Statistics of one node, as pp's get_stats() gives them (ncpus, time, njobs), plus Taskfleet's."""

    def __init__(self, row):
        self.ncpus = row.get("workers", 0)
        self.time = row.get("time", 0.0)
        self.njobs = row.get("tasks", 0)
        self.rworker = None
        self.name = row.get("name", "")
        self.rate = row.get("rate", 0.0)
        self.failures = row.get("failures", 0)
        self.errors = row.get("errors", 0)
        self.busy = row.get("busy", 0)

    def __repr__(self):
        return "<_Statistics njobs=%d time=%.4f ncpus=%d>" % (self.njobs, self.time, self.ncpus)


class _Task:
    """A submitted job: call it to wait for its result (pp's _Task)."""

    __slots__ = ("tid", "server", "callback", "callbackargs", "group", "finished", "arrived", "hook",
                 "_sresult", "_error", "_result", "_unpickled", "node")

    def __init__(self, server, tid, callback, callbackargs, group, hook=None):
        self.tid = tid
        self.server = server
        self.callback = callback
        self.callbackargs = callbackargs
        self.group = group
        self.finished = False   # the result is in and the callback (if any) has run
        self.arrived = False    # the result is in
        self.hook = hook        # called with the task by the thread that read its result (Executor futures)
        self._sresult = None
        self._error = None
        self._unpickled = False
        self.node = None

    def __call__(self, raw_result=False):
        """Waits for the task and returns its result (raw_result: the pickled bytes)."""
        if not self.finished:
            self.server._wait_task(self)
        if self._error is not None:
            raise self._error
        if raw_result:
            received = self._sresult
            if received is None:  # the received form is gone (_value()): pickle the value again, as pp's bytes are
                return pickle.dumps(self._result, pickle.HIGHEST_PROTOCOL)
            return raw_pickle(received)
        return self._value()

    def _value(self):
        """The result, unpickled once. The received form (a memoryview into the frame it came in) is let go then:
        the frame's buffer is freed or read into again, instead of every result being held twice. The callback
        thread and a caller may get here at once: whoever finds the received form gone finds the value set."""
        if not self._unpickled:
            received = self._sresult
            if received is not None:
                value = unpickle_value(received)
                if not self._unpickled:
                    self._result = value
                    self._unpickled = True
                self._sresult = None
        return self._result

    def wait(self):
        if not self.finished:
            self.server._wait_task(self)

    def __repr__(self):
        return "<taskfleet job %d %s>" % (self.tid, "finished" if self.finished else "pending")


class Template:
    """A function with its dependencies, submitted with different arguments (pp's Template)."""

    def __init__(self, job_server, func, depfuncs=(), modules=(), callback=None, callbackargs=(),
                 group="default", globals=None):
        self.job_server = job_server
        self.func = func
        self.depfuncs = depfuncs
        self.modules = modules
        self.callback = callback
        self.callbackargs = callbackargs
        self.group = group
        self.globals = globals

    def submit(self, *args):
        return self.job_server.submit(self.func, args, self.depfuncs, self.modules, self.callback,
                                      self.callbackargs, self.group, self.globals)


def _mib(n):
    return "%d" % (n >> 20) if n % (1 << 20) == 0 else "%.1f" % (n / (1 << 20))


def _script_filename():
    main = sys.modules.get(MAIN)
    path = getattr(main, "__file__", None)
    return os.path.basename(path) if path else "<taskfleet>"


class Server:
    """Parallel Python's job server; the work runs on Taskfleet's engine (taskfleet-run --session)."""

    default_port = DEFAULT_PORT

    def __init__(self, ncpus="autodetect", ppservers=(), secret=None, restart=False, proto=2,
                 socket_timeout=3600, attach=None, listen=None, listen_wait=600, max_value=None):
        """pp's arguments; beyond pp, attach=True (or a socket path, or TASKFLEET_ATTACH=1 in the
        environment) runs the jobs in the running desktop app instead, on its nodes, shown in its window.

        listen=PORT or "ADDR:PORT" lets agents dial this program (taskfleet-agent --connect HOST:PORT: agents
        behind NAT or a firewall, or started by Slurm, see taskfleet.slurm); port 0 picks one, read back from
        listen_port. With ncpus=0, jobs wait up to listen_wait seconds for the first agent.

        max_value: the largest pickled arguments of one task, in bytes (default: an eighth of this machine's
        memory, at most 256 MiB); submit refuses bigger ones at once, with their size, and sends nothing."""
        if attach is None:
            attach = os.environ.get("TASKFLEET_ATTACH", "") not in ("", "0")
        if not isinstance(ppservers, tuple):
            raise TypeError("ppservers argument must be a tuple")
        if secret is not None and not isinstance(secret, str):
            raise TypeError("secret must be of a string type")
        self._ncpus = _check_ncpus(ncpus)
        self._proto = proto
        self._buffer_sharing = BufferSharing(proto)
        self.socket_timeout = socket_timeout
        self._exiting = False
        self._destroyed = False
        self._creation_time = time.time()
        self.ppservers = []
        argv = ["--session", "-n", str(self._ncpus)]
        if restart:
            argv.append("-r")
        # What the engine takes; its hello says the real value (the default depends on its memory).
        self._max_value = _MAX_VALUE
        if max_value is not None:
            if isinstance(max_value, bool) or not isinstance(max_value, int) or not 0 < max_value <= _MAX_VALUE:
                raise ValueError("max_value wants bytes from 1 to %d, not %r" % (_MAX_VALUE, max_value))
            self._max_value = max_value
            argv += ["--max-value", repr(max_value / (1 << 20))]
        self.listen_port = None
        if listen is not None:
            text = str(listen).strip()
            if isinstance(listen, bool) or not text:
                raise ValueError("listen wants a port or \"ADDR:PORT\", not %r" % (listen,))
            argv += ["--listen", text, "--listen-wait", str(int(listen_wait))]
        discover = False
        for entry in ppservers:
            if not isinstance(entry, str):
                raise TypeError("ppservers entries must be strings (\"host:port\", \"host\" or \"*\")")
            text = entry.strip()
            if "*" in text:
                # Discovery: "*", "*:PORT", or pp's "192.168.1.*" (probes to 192.168.1.255).
                host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
                if port and not (port.isdigit() and port.isascii() and 0 < int(port) < 65536):
                    raise ValueError("ppservers entry %r: %r is not a port number" % (entry, port))
                discover = True
                if host != "*":
                    argv += ["--broadcast", host.replace("*", "255")]
                if port:
                    argv += ["--discovery-port", port]
                continue
            try:  # the rule of --node (one table of cases tests both), with pp's bare "host"
                host, port = parse_node_address(text, DEFAULT_PORT)
            except ValueError as e:
                raise ValueError("ppservers entry %r: %s" % (entry, e)) from None
            self.ppservers.append((host, port))
            argv += ["--node", "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)]
        if discover:
            argv.append("--discover")
            if os.environ.get("TASKFLEET_DISCOVERY_PORT"):
                argv += ["--discovery-port", os.environ["TASKFLEET_DISCOVERY_PORT"]]
            for address in filter(None, os.environ.get("TASKFLEET_BROADCAST", "").split(",")):
                argv += ["--broadcast", address]
            argv += ["--discover-wait", os.environ.get("TASKFLEET_DISCOVER_WAIT", "5")]
        env = dict(os.environ)
        if (self.ppservers or discover or listen is not None) and not attach:
            if secret is not None:
                env["TASKFLEET_SECRET"] = secret  # the child's environment only: not visible in ps
            elif not env.get("TASKFLEET_SECRET"):
                path = _agent_secret_file()
                if path is None:
                    raise ValueError("taskfleet: ppservers and listen need the cluster secret: pass secret=..., set "
                                     "TASKFLEET_SECRET, or run where taskfleet-agent stored its secret")
                argv += ["--secret-file", path]
        # Like pp: the workers import the user's modules from the script's directory and the current one.
        dirs = [os.getcwd()]
        main_file = getattr(sys.modules.get(MAIN), "__file__", None)
        if main_file:
            dirs.insert(0, os.path.dirname(os.path.abspath(main_file)))
        if env.get("PYTHONPATH"):
            dirs += env["PYTHONPATH"].split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(d for d in dirs if d))

        self._lock = threading.Lock()
        self._done_cond = threading.Condition(self._lock)
        self._writer_cond = threading.Condition(self._lock)
        self._write_lock = threading.Lock()
        self._jobs = {}
        self._pending = []
        self._waiters = 0          # threads reading the engine in _wait_step
        self._waiter_left = 0.0    # when the last of them stopped (time.monotonic())
        self._reader_cond = threading.Condition(self._lock)
        self._next_tid = 0
        self._unfinished = 0
        self._groups = {}
        self._codes = {}       # (func, depfuncs, modules, extra) -> JobCode
        self._by_source = {}   # params' content -> JobCode: one job key per distinct code
        self._replies = {}
        self._next_rid = 0
        self._fatal = None
        self._warnings = []
        self._filename = _script_filename()
        if attach:
            name = "%s (pid %d)" % (self._filename, os.getpid())
            self._engine = AttachedEngine(attach if isinstance(attach, str) else app_socket_path(), name)
            self._ncpus = int(self._engine.hello.get("workers", 0))
            self.engine_pid = self._engine.hello.get("pid")
            self._max_value = min(self._max_value, int(self._engine.hello.get("max_value", _MAX_VALUE)))
            if ppservers:
                sys.stderr.write("taskfleet: attached to the Taskfleet window: its nodes run the tasks, "
                                 "ppservers=%r is not used\n" % (ppservers,))
        else:
            self._engine = ChildEngine([_find_run()] + argv, env)
        self._in_fd = self._engine.in_fd
        self._out_fd = self._engine.out_fd
        self._read_lock = threading.Lock()
        # A thread that waits by reading the engine itself also wakes when the callback thread finishes
        # jobs (pp jobs finish after their callback): the callback thread writes a byte here.
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._frames = FrameReader(self._out_fd)
        self._eof = False
        self._reader = threading.Thread(target=self._read_loop, name="taskfleet-reader", daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name="taskfleet-writer", daemon=True)
        # Callbacks (pp's, and Executor futures' done-callbacks) run here, one at a time in completion
        # order, never on the thread that reads the engine: a callback may submit, wait, or ask for stats.
        self._callbacks = []
        self._callback_cond = threading.Condition(threading.Lock())
        self._callback_thread = threading.Thread(target=self._callback_loop, name="taskfleet-callbacks",
                                                 daemon=True)
        self._reader.start()
        self._writer.start()
        self._callback_thread.start()
        atexit.register(self.destroy)
        if not attach:
            self._wait_for_local_workers()
            if listen is not None:
                self._request("nodes")  # answered after the engine's hello, which names the port

    # ---- pp's API -------------------------------------------------------------------------------

    def submit(self, func, args=(), depfuncs=(), modules=(), callback=None, callbackargs=(),
               group="default", globals=None):
        """Queues func(*args); returns a job: job() waits and returns the result."""
        if self._exiting:
            raise DestroyedServerError("Cannot submit jobs: server instance has been destroyed")
        if not isinstance(args, tuple):
            raise TypeError("args argument must be a tuple")
        if not isinstance(depfuncs, tuple):
            raise TypeError("depfuncs argument must be a tuple")
        if not isinstance(modules, tuple):
            raise TypeError("modules argument must be a tuple")
        if not isinstance(callbackargs, tuple):
            raise TypeError("callbackargs argument must be a tuple")
        if globals is not None and not isinstance(globals, dict):
            raise TypeError("globals argument must be a dictionary")
        for module in modules:
            if not isinstance(module, str):
                raise TypeError("modules argument must be a list of strings")
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable")

        shared = ()
        if Shared.created:  # a program that never shares pays nothing for looking
            for arg in args:
                if type(arg) is Shared:
                    shared = shared_in(args)
                    break
        code = self._code_for(func, depfuncs, modules, globals, args, shared=shared)
        task_args = args
        if type(func) is types.MethodType and not code.by_value:
            task_args = (func.__self__,) + args  # shipped by source: the instance travels as the first argument
        try:
            blob = dumps(task_args, self._proto, code.by_value, bool(shared))
        except Exception as e:
            raise pickle.PicklingError("taskfleet: cannot pickle the arguments of %s (nothing was sent): %s: %s"
                                       % (code.name, type(e).__name__, e)) from e
        if blob.buffers:  # a big buffer an earlier submit carried too travels once per node from now on
            repeated = self._buffer_sharing.share_repeated(blob)
            if repeated:
                code = self._code_for(func, depfuncs, modules, globals, args, shared=merge_shared(shared, repeated))
        return self._queue(code, blob, callback, callbackargs, group)

    def share(self, obj):
        """obj pickled once and sent once per node, whatever the number of tasks it is an argument of
        (Dask's scatter, Ray's put): pass the handle to submit as an argument (directly, or as a
        keyword argument of an Executor's submit). A snapshot: later changes to obj are not seen."""
        return Shared(obj, self._proto, cloudpickle.dumps if cloudpickle is not None else None)

    def _code_for(self, func, depfuncs=(), modules=(), globals=None, args=(), calls=False, shared=()):
        """The JobCode for func: its source (pp's way, cached per node by the engine), or by value with
        cloudpickle for code that has no source (lambdas, closures, partials, notebook code). shared:
        the Shared values its tasks name; they travel in the code's parameters (once per node)."""
        extra = ()
        for arg in args:
            t = type(arg)
            if t.__module__ == MAIN:
                if t is not types.FunctionType:
                    extra += tuple(user_classes(t))
            elif t is types.FunctionType and arg.__module__ == MAIN:
                extra += (arg,)
        if globals:
            modules, depfuncs = self._from_globals(globals, modules, depfuncs)
        key_func = (func.__func__, type(func.__self__)) if type(func) is types.MethodType else func
        key = (key_func, depfuncs, modules, extra, calls, tuple(v.key for v in shared))
        code = self._codes.get(key)
        if code is not None:  # the common case: decided once per function, not per submit
            return code
        by_value = needs_value(func)
        if by_value:
            extra = ()
        try:
            params = build_code(func, depfuncs, modules, extra, self._filename, by_value, calls)
        except SourceError:
            # A class or function without source among the arguments (python3 -c, a notebook): with
            # cloudpickle, the function and the arguments travel by value instead.
            if by_value or not cloudpickle_available():
                raise
            by_value = True
            params = build_code(func, depfuncs, modules, (), self._filename, True, calls)
        if shared:
            params["shared"] = {v.key: v.cbor_value() for v in shared}
        return self._intern(key, params, by_value)

    def _intern(self, key, params, by_value):
        content = (params["source"], params["function"], tuple(params["modules"]), tuple(sorted(params.get("shared", ()))))
        with self._lock:
            code = self._by_source.get(content)
            if code is None:
                code = JobCode(params, str(len(self._by_source)), params.get("label") or params["function"],
                               by_value)
                self._by_source[content] = code
            if key is not None:
                self._codes[key] = code
        return code

    def _call_code(self, shared=()):
        """The job code of tasks that carry their own callable: [(callable, args, kwargs), ...]."""
        key = ("<calls>", tuple(v.key for v in shared))
        code = self._codes.get(key)
        if code is None:
            params = build_call_code(self._filename)
            if shared:
                params["shared"] = {v.key: v.cbor_value() for v in shared}
            code = self._intern(key, params, True)
        return code

    def _queue(self, code, blob, callback=None, callbackargs=(), group="default", hook=None):
        if len(blob) > self._max_value:  # refused here, before a byte travels; nothing is queued
            raise ValueError("taskfleet: the arguments of %s are %.1f MiB pickled, more than the %s MiB a task's "
                             "value may be (Server(max_value=...), at most 256 MiB); nothing was sent"
                             % (code.name, len(blob) / (1 << 20), _mib(self._max_value)))
        with self._lock:
            if self._fatal is not None and not self._engine.alive():
                raise TaskfleetError(self._fatal)
            tid = self._next_tid
            self._next_tid = tid + 1
            task = _Task(self, tid, callback, callbackargs, group, hook)
            self._jobs[tid] = task
            self._unfinished += 1
            groups = self._groups
            groups[group] = groups.get(group, 0) + 1
            pending = self._pending
            pending.append((code, tid, blob))
            # A round trip (a wait for the last result ended a moment ago, and this is the only task in flight):
            # the submitting thread writes it at once, without waking the writer thread. Otherwise the writer
            # thread gathers what comes into frames (each frame is one job in the engine: a loop's submits and
            # a map's chunks go out together).
            direct = (self._unfinished == 1 and len(blob) < _BIG_PART and not self._exiting
                      and time.monotonic() - self._waiter_left < _ROUND_TRIP_GAP)
            if len(pending) == 1 and not direct:
                self._writer_cond.notify()
        if direct and not self._flush(blocking=False):
            with self._lock:  # a write is under way: the writer thread takes this one with the next
                if self._pending:
                    self._writer_cond.notify()
        return task

    def _cancel(self, tids, running=True):
        """Cancels tasks in the engine: queued ones never start (their results come back "cancelled").
        running=False leaves the tasks a worker has started alone: they end with their result."""
        wanted = set(tids)
        with self._lock:
            dropped = {p[1] for p in self._pending if p[1] in wanted}
            if dropped:  # not sent yet: they end here, the engine never hears of them
                self._pending = [p for p in self._pending if p[1] not in dropped]
        if dropped:
            self._on_results([[tid, False, "cancelled", None, None, 0.0] for tid in sorted(dropped)])
        rest = sorted(wanted - dropped)
        if rest:
            self._send({"t": "cancel", "ids": rest, "running": running})

    def wait(self, group=None):
        """Waits for every job of group (all jobs when None) to finish."""
        self._flush()
        if threading.current_thread() is self._callback_thread:
            # A callback waits: the results must be in, but callbacks queued behind this one cannot run
            # before it returns, so do not wait for them.
            def arrived():
                return not any(group is None or t.group == group for t in list(self._jobs.values()))
            while not arrived():
                self._wait_step(done=arrived)
        elif group is None:
            while self._unfinished:
                self._wait_step(done=lambda: not self._unfinished)
        else:
            while self._groups.get(group):
                self._wait_step(done=lambda: not self._groups.get(group))

    @property
    def max_value(self):
        """The largest pickled arguments of one task, in bytes: what the engine takes (its hello says)."""
        return self._max_value

    def get_ncpus(self):
        """The number of local worker processes."""
        return self._ncpus

    def set_ncpus(self, ncpus="autodetect"):
        """Sets the number of local worker processes, also while jobs run (extra workers really end)."""
        ncpus = _check_ncpus(ncpus)
        self._send({"t": "set_ncpus", "n": ncpus})
        self._ncpus = ncpus

    def get_active_nodes(self):
        """{node: workers} of the local node and of the online agents ("host:port")."""
        reply = self._request("nodes")
        active = {}
        for n in reply["nodes"]:
            if n.get("local"):
                active["local"] = n.get("workers", 0)
            elif n.get("state") == "online":
                active[n["address"]] = n.get("workers", 0)
        return active

    def nodes(self):
        """Every node as a dict: name, address, state ("online", "offline", ...), workers, busy, local,
        dialed_in (the agent dialed this program: listen=), slurm_job and slurm_node (agents under Slurm)."""
        return [dict(n) for n in self._request("nodes")["nodes"]]

    def get_stats(self):
        """{node: statistics} with pp's fields (njobs, time, ncpus) and Taskfleet's (rate, failures, ...)."""
        reply = self._request("stats")
        stats = {"local": _Statistics({"workers": self._ncpus})}
        for row in reply["nodes"]:
            if row.get("id") == "local":
                row = dict(row, workers=self._ncpus)  # pp's ncpus: what set_ncpus asked for
                name = "local"
            else:
                name = row.get("address") or row.get("name")
            stats[name] = _Statistics(row)
        return stats

    def print_stats(self):
        """Prints pp's statistics table, with Taskfleet's columns after pp's."""
        stats = list(self.get_stats().items())
        walltime = time.time() - self._creation_time
        total = sum(s.njobs for _, s in stats)
        width = max([len("job server")] + [len(n) for n, s in stats if s.njobs])
        print("Job execution statistics:")
        print(" job count | % of all jobs | job time sum | time per job | " + "job server".ljust(width)
              + " | tasks/s | failures | workers")
        for name, s in stats:
            if s.njobs:
                print("    %6i |        %6.2f |     %8.4f |  %11.6f | %s | %7.1f | %8i | %7i"
                      % (s.njobs, 100.0 * s.njobs / total, s.time, s.time / s.njobs, name.ljust(width),
                         s.rate, s.failures, s.ncpus))
        print("Time elapsed since server creation %s" % walltime)
        print("%s active tasks, %s cores" % (self._unfinished, self.get_ncpus()))
        print("")

    def destroy(self):
        """Ends the engine, its workers and connections; unfinished jobs raise DestroyedServerError."""
        if self._destroyed:
            return
        self._destroyed = True
        self._exiting = True
        try:
            atexit.unregister(self.destroy)
        except Exception:
            pass
        try:
            with self._lock:
                self._pending = []
            self._send({"t": "quit"})
        except Exception:
            pass
        self._engine.end_input()
        with self._lock:
            self._writer_cond.notify_all()
        self._reader.join(timeout=10)
        self._writer.join(timeout=10)
        self._fail_all(DestroyedServerError("Server was destroyed before the job completion"))
        with self._callback_cond:
            self._callback_cond.notify_all()
        if threading.current_thread() is not self._callback_thread:
            self._callback_thread.join(timeout=10)
        self._engine.close()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    # ---- internals ------------------------------------------------------------------------------

    @staticmethod
    def _from_globals(globals_, modules, depfuncs):
        """pp's globals=: every module and every function of the user's script found there."""
        modules = list(modules)
        for name, obj in globals_.items():
            if isinstance(obj, types.ModuleType) and name != "__builtins__" and obj.__name__ != __package__:
                modules.append(obj.__name__ if obj.__name__ == name else (obj.__name__, name))
            elif isinstance(obj, types.FunctionType) and obj.__module__ == MAIN:
                depfuncs += (obj,)
        return tuple(dict.fromkeys(modules)), depfuncs

    def _flush(self, blocking=True):
        """Sends every queued submit now (the writer thread does it too; this saves a thread hop). Not
        blocking: returns False at once, sending nothing, when another thread is writing."""
        if not self._write_lock.acquire(blocking=blocking):
            return False
        try:
            with self._lock:
                pending = self._pending
                self._pending = []
            if pending:
                self._write(self._encode_submits(pending))
        finally:
            self._write_lock.release()
        return True

    @staticmethod
    def _encode_submits(pending):
        """The frames of the queued submits, as parts for write_parts: one submit message per run of
        tasks of the same code, closed at _MAX_FRAME_PAYLOAD bytes of values (a bigger value travels
        alone, in continued frames if it must); big values are referenced, never copied."""
        head = _cbor._head
        out = []
        i = 0
        n = len(pending)
        while i < n:
            code = pending[i][0]
            j = i
            size = 0
            while j < n and pending[j][0] is code and (size < _MAX_FRAME_PAYLOAD or j == i):
                size += len(pending[j][2]) + 12
                j += 1
            # Small pieces are gathered into one buffer (a writev of thousands of tiny parts costs more
            # than copying them); a big value stays a part of its own, written from where it is.
            parts = []
            small = bytearray(b"\xa4" if not code.sent else b"\xa3")
            small += b"\x61t\x66submit\x63job"
            small += _cbor.dumps(code.key)
            if not code.sent:
                small += b"\x66params"
                params = _cbor.dumps(code.params)
                if len(params) < _BIG_PART:
                    small += params
                else:
                    parts += [small, params]
                    small = bytearray()
                code.sent = True
            small += b"\x65tasks"
            small += head(4, j - i)
            for _, tid, blob in pending[i:j]:
                small += b"\x82"
                small += head(0, tid)
                if not blob.buffers and len(blob.data) < _BIG_PART:  # the common case, inline
                    small += head(2, len(blob.data))
                    small += blob.data
                    continue
                value_parts = blob.cbor_parts()[0]
                if len(blob) < _BIG_PART:
                    for p in value_parts:
                        small += p
                else:
                    parts.append(small)
                    parts += value_parts
                    small = bytearray()
            parts.append(small)
            total = sum(p.nbytes if isinstance(p, memoryview) else len(p) for p in parts)
            out += frame_parts(parts, total)
            i = j
        return out

    def _write(self, parts):
        try:
            write_parts(self._in_fd, parts)
        except OSError as e:
            self._engine_gone("taskfleet: the engine stopped (%s)" % e)

    def _send(self, message):
        """Sends one control frame after everything queued before it."""
        payload = _cbor.dumps(message)
        with self._write_lock:
            with self._lock:
                pending = self._pending
                self._pending = []
            parts = self._encode_submits(pending) if pending else []
            self._write(parts + [len(payload).to_bytes(4, "big"), payload])

    def _wait_for_local_workers(self):
        """Like pp's Server(), return with the local workers started: each has its interpreter up
        (taskfleet-run --session preloads the python plugin), so the first jobs do not pay for it.
        Bounded: on a slow machine the first tasks wait instead, as they would without this."""
        deadline = time.monotonic() + _READY_TIMEOUT
        while self._ncpus > 0 and time.monotonic() < deadline:
            for node in self._request("nodes")["nodes"]:
                if node.get("local") and node.get("ready", self._ncpus) >= min(self._ncpus, node.get("workers", 0)):
                    return
            time.sleep(0.005)

    def _request(self, kind):
        if self._destroyed:
            raise DestroyedServerError("the server has been destroyed")
        with self._lock:
            rid = self._next_rid
            self._next_rid += 1
        self._send({"t": kind, "rid": rid})
        deadline = time.monotonic() + _REPLY_TIMEOUT
        while True:
            with self._lock:
                if rid in self._replies:
                    return self._replies.pop(rid)
                left = deadline - time.monotonic()
                if left <= 0 or self._eof or not self._engine.alive() and not self._reader.is_alive():
                    raise TaskfleetError("taskfleet: the engine did not answer %r" % kind)
            # Reads the reply itself when no other thread reads.
            self._wait_step(min(left, 0.5), done=lambda: rid in self._replies)

    def _write_loop(self):
        while True:
            with self._lock:
                while not self._pending and not self._exiting:
                    self._writer_cond.wait()
                if self._exiting and not self._pending:
                    return
            self._flush()

    def _wait_task(self, task):
        self._flush()
        if threading.current_thread() is self._callback_thread:
            while not task.arrived:  # its callback may be queued behind the running one
                self._wait_step(done=lambda: task.arrived)
        else:
            while not task.finished:
                self._wait_step(done=lambda: task.finished)

    def _wait_step(self, timeout=None, done=None):
        """Waits for some results: reads them itself when no other thread is reading (one wake-up
        fewer on the round trip), else waits for the reader thread to hand them over. With a timeout,
        returns after at most that long. done: what the caller waits for, looked at again under the
        lock before sleeping (the reader may have handled it, and notified, since the caller looked)."""
        if self._read_lock.acquire(blocking=False):
            with self._lock:
                self._waiters += 1
            try:
                if not self._eof:
                    ready = select.select([self._out_fd, self._wake_r], [], [],
                                          None if timeout is None else max(timeout, 0))[0]
                    if self._wake_r in ready:
                        try:
                            os.read(self._wake_r, 4096)
                        except OSError:
                            pass
                    if self._out_fd in ready:
                        self._read_chunk()
                    return
            finally:
                with self._lock:
                    self._waiters -= 1
                    self._waiter_left = time.monotonic()
                self._read_lock.release()
        with self._lock:
            if done is not None and done():
                return
            wait = 0.05 if self._eof else 0.5
            self._done_cond.wait(wait if timeout is None else max(min(wait, timeout), 0))

    def _read_chunk(self):
        """Reads what the engine sent (blocking until something comes) and handles every whole message."""
        try:
            messages = self._frames.read()
        except OSError:
            messages = None
        except ValueError as e:  # a broken frame: the engine is not to be trusted any more
            messages = None
            self._fatal = self._fatal or "taskfleet: %s" % e
        if messages is None:
            self._eof = True
            with self._lock:
                self._done_cond.notify_all()
            if not self._exiting:
                self._engine_gone(self._fatal or "taskfleet: " + self._engine.gone_reason())
            return
        for message in messages:
            self._handle(message)

    def _read_loop(self):
        fd = self._out_fd
        try:
            while not self._eof:
                with self._lock:
                    # Another thread reads (it handles everything that arrives), or did a moment ago and
                    # will again: stay out of its way rather than wake with it for every result.
                    while not self._eof and not self._exiting:
                        quiet = self._waiter_left + _READER_QUIET - time.monotonic()
                        if not self._waiters and quiet <= 0:
                            break
                        self._reader_cond.wait(_READER_QUIET if self._waiters else quiet)
                select.select([fd], [], [])
                with self._read_lock:
                    if not self._eof and select.select([fd], [], [], 0)[0]:
                        self._read_chunk()
        except Exception:
            if not self._exiting:
                traceback.print_exc()

    def _engine_gone(self, text):
        with self._lock:
            if self._fatal is None:
                self._fatal = text
        self._fail_all(TaskfleetError(self._fatal))

    def _handle(self, message):
        kind = message.get("t")
        if kind == "results":
            self._on_results(message["r"])
        elif kind in ("stats", "nodes"):
            with self._lock:
                self._replies[message.get("rid")] = message
                self._done_cond.notify_all()
        elif kind == "warning":
            self._warnings.append(message.get("text", ""))
            sys.stderr.write("taskfleet: warning: %s\n" % message.get("text", ""))
        elif kind == "error":
            self._fail_all(TaskfleetError("taskfleet: " + message.get("text", "the engine failed")))
        elif kind == "hello":
            self.engine_pid = message.get("pid")
            self._max_value = int(message.get("max_value", self._max_value))
            self.listen_port = message.get("listen")

    def _on_results(self, rows):
        jobs = self._jobs
        done = []
        later = []
        printed = False
        for tid, ok, payload, log, node, seconds in rows:
            task = jobs.pop(tid, None)
            if task is None:
                continue
            if log:
                sys.stdout.write(log)
                printed = True
            task.node = node
            if ok:
                task._sresult = payload
            else:
                task._error = TaskError(payload, node)
            task.arrived = True
            if task.hook is not None:
                try:
                    task.hook(task)
                except Exception:
                    traceback.print_exc()
                done.append(task)
            elif task.callback is not None:
                later.append(task)  # finished once its callback ran, on the callback thread
            else:
                done.append(task)
        if printed:
            try:
                sys.stdout.flush()
            except Exception:
                pass
        if later:
            self._call_soon(later)
        if done:
            self._finish(done)

    def _call_soon(self, items):
        """Queues pp jobs (their callback runs, then they finish) or plain callables for the callback thread."""
        with self._callback_cond:
            self._callbacks.extend(items)
            self._callback_cond.notify()

    def _callback_loop(self):
        cond = self._callback_cond
        while True:
            with cond:
                while not self._callbacks and not self._destroyed:
                    cond.wait()
                if not self._callbacks:
                    return
                items = self._callbacks
                self._callbacks = []
            for item in items:
                if isinstance(item, _Task):
                    self._run_callback(item)
                    self._finish([item])
                    try:
                        os.write(self._wake_w, b"x")
                    except OSError:
                        pass  # full: a wake-up is pending anyway
                else:
                    try:
                        item()
                    except Exception:
                        sys.stderr.write("taskfleet: a callback raised:\n")
                        traceback.print_exc()

    @staticmethod
    def _run_callback(task):
        try:
            if task._error is not None:
                # The callback is not called for a task that raised; nobody may ever call this job,
                # so its traceback is shown here (pp prints it too).
                sys.stderr.write("taskfleet: job %d raised (its callback is not called):\n%s\n"
                                 % (task.tid, task._error.traceback))
                return
            task.callback(*(task.callbackargs + (task._value(),)))
        except Exception:
            sys.stderr.write("taskfleet: the callback of job %d raised:\n" % task.tid)
            traceback.print_exc()

    def _finish(self, done):
        with self._lock:
            groups = self._groups
            for task in done:
                task.finished = True
                left = groups[task.group] - 1
                if left:
                    groups[task.group] = left
                else:
                    del groups[task.group]
            self._unfinished -= len(done)
            self._done_cond.notify_all()

    def _fail_all(self, error):
        with self._lock:
            tasks = list(self._jobs.values())
            self._jobs.clear()
        futures = []
        for task in tasks:
            task._error = error
            task.arrived = True
            if task.hook is not None:
                futures.append(task)
        for task in futures:
            try:
                task.hook(task)
            except Exception:
                traceback.print_exc()
        if tasks:
            self._finish(tasks)
        else:
            with self._lock:
                self._done_cond.notify_all()
