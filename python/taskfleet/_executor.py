# SPDX-License-Identifier: MIT
"""taskfleet.Executor: a concurrent.futures.Executor on Taskfleet's engine (the same one as Server's).

Futures are concurrent.futures.Future objects, so as_completed, wait, add_done_callback and asyncio's
run_in_executor / wrap_future work unchanged. Keyword arguments travel; map(chunksize=N) runs N calls
per task; cancel() of a queued future removes its task from the engine.
"""

import builtins
import concurrent.futures
import functools
import importlib
import itertools
import pickle
import sys
import threading
import time
import types
from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple

from ._server import Server, TaskError, TaskfleetError
from ._shared import Shared, merge_shared, shared_in
from ._source import dumps

__all__ = ["Executor", "RemoteTraceback", "remote_exception"]


class RemoteTraceback(Exception):
    """The traceback of an exception raised on a worker: the __cause__ of the exception re-raised here
    (concurrent.futures.ProcessPoolExecutor does the same)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.tb = text

    def __str__(self) -> str:
        return self.tb


def _exception_type(name: str) -> Optional[type]:
    """The class a traceback's last line names ("ValueError", "numpy.linalg.LinAlgError", "__main__.MyError")."""
    module, _, qual = name.rpartition(".")
    try:
        if not module:
            obj = getattr(builtins, qual, None)
        else:
            mod = sys.modules.get(module) or importlib.import_module(module)
            obj = mod
            for part in qual.split("."):
                obj = getattr(obj, part)
    except Exception:
        return None
    return obj if isinstance(obj, type) and issubclass(obj, BaseException) else None


def remote_exception(error: BaseException) -> BaseException:
    """A TaskError as the exception the task raised, when its type can be made here with its message;
    its __cause__ is the remote traceback. Otherwise the TaskError itself."""
    if not isinstance(error, TaskError):
        return error
    text = error.traceback.rstrip()
    last = text.rsplit("\n", 1)[-1]
    name, sep, message = last.partition(": ")
    if not sep:
        name, message = last.strip(), ""
    cls = _exception_type(name.strip()) if name and " " not in name.strip() else None
    if cls is None or not text.startswith("Traceback"):
        return error
    try:
        exc = cls(message) if message else cls()
    except Exception:
        return error
    exc.__cause__ = RemoteTraceback('\n"""\n%s\n"""' % text)
    try:
        exc.node = error.node
    except Exception:
        pass
    return exc


class _Future(concurrent.futures.Future):
    """A Future whose result() reads the engine itself when nobody else does (one thread hop fewer),
    whose done-callbacks run on the client's callback thread, and whose cancel() reaches the engine."""

    def __init__(self, server: Server) -> None:
        super().__init__()
        self._server = server
        self._tid: Optional[int] = None
        self._on_cancel: Optional[Callable[["_Future"], None]] = None

    def _invoke_callbacks(self) -> None:
        if not self._done_callbacks:
            return
        # Called by the thread that set the result (the reader): run them on the callback thread.
        server = self._server
        if server is None or threading.current_thread() is server._callback_thread:
            super()._invoke_callbacks()
        else:
            server._call_soon([super()._invoke_callbacks])

    def cancel(self) -> bool:
        if self.cancelled():
            return True
        if not super().cancel():
            return False
        self.set_running_or_notify_cancel()  # wakes as_completed() and wait() on it
        if self._on_cancel is not None:
            self._on_cancel(self)
        return True

    def result(self, timeout: Optional[float] = None) -> Any:
        self._wait(timeout)
        return super().result(0 if self.done() else timeout)

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        self._wait(timeout)
        return super().exception(0 if self.done() else timeout)

    def _wait(self, timeout: Optional[float]) -> None:
        server = self._server
        if self.done() or server is None:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        server._flush()
        while not self.done():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            server._wait_step(left, done=self.done)


class _Batch:
    """One engine task that runs several calls (map's chunks): its futures, in order."""

    __slots__ = ("futures", "split")

    def __init__(self, futures: List[_Future], split: bool = True) -> None:
        self.futures = futures
        self.split = split  # one future per call, or one for the list of results

    def __call__(self, task: Any) -> None:
        futures = self.futures
        if task._error is None:
            try:
                values = pickle.loads(task._sresult)
            except Exception as e:
                for f in futures:
                    _settle(f, exception=TaskfleetError("taskfleet: cannot unpickle the result: %r" % (e,)))
                return
            if not self.split:
                _settle(futures[0], values)
                return
            for f, value in zip(futures, values):
                _settle(f, value)
        else:
            error = task._error
            if isinstance(error, TaskError) and error.traceback == "cancelled":
                for f in futures:  # the engine cancelled the task: nothing to tell it back
                    if not f.done() and concurrent.futures.Future.cancel(f):
                        f.set_running_or_notify_cancel()
                return
            error = remote_exception(error)
            for f in futures:
                _settle(f, exception=error)


def _settle(future: _Future, value: Any = None, exception: Optional[BaseException] = None) -> None:
    if future.done():  # cancelled here while the engine ran it: its result is dropped
        return
    try:
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(value)
    except concurrent.futures.InvalidStateError:
        pass


class Executor(concurrent.futures.Executor):
    """A concurrent.futures.Executor whose calls run on Taskfleet's nodes: local worker processes,
    agents (ppservers, discovery), or a running desktop app (attach=True), as Server's."""

    def __init__(self, max_workers: Optional[int] = None, ppservers: Tuple[str, ...] = (),
                 secret: Optional[str] = None, attach: Any = None, restart: bool = False,
                 proto: int = pickle.HIGHEST_PROTOCOL, server: Optional[Server] = None,
                 listen: Any = None, listen_wait: float = 600, max_value: Optional[int] = None) -> None:
        """max_workers: local worker processes (None: one per CPU; 0: only agents). The other arguments
        are Server's (listen: agents dial this program, see taskfleet.slurm). server: share an existing
        Server (its engine and nodes) instead of starting one."""
        if max_workers is not None and (not isinstance(max_workers, int) or max_workers < 0):
            raise ValueError("max_workers must be an integer >= 0")
        self._own = server is None
        self._server = server or Server("autodetect" if max_workers is None else max_workers, tuple(ppservers),
                                        secret=secret, restart=restart, proto=proto, attach=attach,
                                        listen=listen, listen_wait=listen_wait, max_value=max_value)
        self._proto = proto
        self._lock = threading.Lock()
        self._shutdown = False
        self._live: dict = {}  # tid -> _Batch, for shutdown(cancel_futures=True)

    def share(self, obj: Any) -> Shared:
        """obj sent once per node for any number of submits that take it as an argument (Server.share)."""
        return self._server.share(obj)

    @property
    def server(self) -> Server:
        """The pp Server underneath (get_stats, print_stats, set_ncpus, get_active_nodes)."""
        return self._server

    def __repr__(self) -> str:
        return "<taskfleet.Executor %s>" % ("shut down" if self._shutdown else "running")

    # ---- concurrent.futures.Executor

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        """Runs fn(*args, **kwargs) on a node; returns its Future."""
        return self._submit_batch(fn, [(args, kwargs)])[0]

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any], timeout: Optional[float] = None,
            chunksize: int = 1) -> Iterator[Any]:
        """Results of fn over the iterables, in order; the timeout counts from this call; chunksize calls
        travel and run as one task."""
        if chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        end = None if timeout is None else time.monotonic() + timeout
        calls = ((args, {}) for args in zip(*iterables))
        futures: List[_Future] = []
        while True:
            chunk = list(itertools.islice(calls, chunksize))
            if not chunk:
                break
            futures += self._submit_batch(fn, chunk, split=chunksize == 1)
        flat = chunksize == 1

        def results() -> Iterator[Any]:
            try:
                futures.reverse()
                while futures:
                    f = futures.pop()
                    value = f.result() if end is None else f.result(end - time.monotonic())
                    if flat:
                        yield value
                    else:
                        yield from value
            finally:
                for f in futures:
                    f.cancel()
        return results()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No more submits; cancel_futures cancels what has not run yet (in the engine too); wait waits
        for the rest. The engine ends once nothing is left (at once when wait is False)."""
        with self._lock:
            self._shutdown = True
            live = list(self._live.items())
        if cancel_futures:
            # Only what no worker has started: the engine answers "cancelled" for those (their futures
            # are then cancelled here), and the running ones end with their results, as
            # concurrent.futures promises.
            tids = [tid for tid, batch in live if not all(f.done() for f in batch.futures)]
            if tids:
                self._server._cancel(tids, running=False)
        if wait:
            for _, batch in live:
                for f in batch.futures:
                    if not f.done():
                        concurrent.futures.wait([f])
            if self._own:
                self._server.destroy()
        elif self._own:
            threading.Thread(target=self._destroy_when_done, args=(live,), daemon=True).start()

    def _destroy_when_done(self, live: List[Tuple[int, _Batch]]) -> None:
        concurrent.futures.wait([f for _, b in live for f in b.futures])
        self._server.destroy()

    # ---- internals shared with the joblib backend and Pool

    def _submit_batch(self, fn: Callable[..., Any], calls: List[Tuple[tuple, dict]],
                      split: bool = True) -> List[_Future]:
        """One engine task running fn on each (args, kwargs) of calls: one Future per call, or with
        split=False one Future whose result is the list of results (map's chunks: a Future costs
        microseconds, as much as a tiny call)."""
        if not callable(fn):
            raise TypeError("%r is not callable" % (fn,))
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
        server = self._server
        shared = shared_in(v for a, k in calls for v in itertools.chain(a, k.values())) if Shared.created else ()
        direct = isinstance(fn, (types.FunctionType, types.MethodType, types.BuiltinFunctionType, functools.partial))
        if direct:
            sample = calls[0][0] + tuple(calls[0][1].values()) if calls else ()
            code = server._code_for(fn, args=sample, calls=True, shared=shared)
            if type(fn) is types.MethodType and not code.by_value:
                calls = [((fn.__self__,) + tuple(a), k) for a, k in calls]
            args = [a for a, _ in calls]
            payload: Any = (args, [k for _, k in calls]) if any(k for _, k in calls) else (args,)
        else:  # a callable object (joblib's batches, a class instance): it travels with each task
            code = server._call_code(shared)
            payload = ([(fn, a, k) for a, k in calls],)
        try:
            blob = dumps(payload, self._proto, code.by_value, bool(shared))
        except Exception as e:
            raise pickle.PicklingError("taskfleet: cannot pickle the arguments of %s (nothing was sent): %s: %s"
                                       % (code.name, type(e).__name__, e)) from e
        if blob.buffers:  # a big buffer an earlier submit carried too travels once per node from now on
            repeated = server._buffer_sharing.share_repeated(blob)
            if repeated:
                shared = merge_shared(shared, repeated)
                code = (server._code_for(fn, args=sample, calls=True, shared=shared) if direct
                        else server._call_code(shared))
        futures = [_Future(server) for _ in (calls if split else (None,))]
        batch = _Batch(futures, split)
        for f in futures:
            f._on_cancel = self._cancel_one
        task = server._queue(code, blob, hook=self._finisher(batch))
        with self._lock:
            self._live[task.tid] = batch
        for f in futures:
            f._tid = task.tid
        return futures

    def _finisher(self, batch: _Batch) -> Callable[[Any], None]:
        def finish(task: Any) -> None:
            with self._lock:
                self._live.pop(task.tid, None)
            batch(task)
        return finish

    def _cancel_one(self, future: _Future) -> None:
        """A future was cancelled: the engine drops its task once every call of that task is cancelled."""
        tid = future._tid
        with self._lock:
            batch = self._live.get(tid)
            if batch is None or not all(f.cancelled() for f in batch.futures):
                return
        self._server._cancel([tid])

    def effective_workers(self) -> int:
        """Workers on every online node (the local ones and the agents')."""
        try:
            return max(1, sum(self._server.get_active_nodes().values()))
        except Exception:
            return max(1, self._server.get_ncpus())

