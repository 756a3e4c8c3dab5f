# SPDX-License-Identifier: MIT
"""A joblib backend on Taskfleet's engine: scikit-learn's n_jobs, joblib.Parallel, on the cluster.

    import taskfleet.joblib            # registers the backend "taskfleet"
    with joblib.parallel_backend("taskfleet"):          # or ("taskfleet", ppservers=..., secret=...)
        GridSearchCV(SVC(), grid, n_jobs=-1).fit(X, y)

Works with joblib 1.2 (Debian 12: apply_async, whose result has .get()) and joblib >= 1.5 (submit and
retrieve_result_callback). Each of joblib's batches is one task; a task that raises re-raises the
same exception type here, with the remote traceback as its cause; abort_everything() cancels the
batches still queued.
"""

import atexit
import threading
from typing import Any, Callable, Dict, Optional, Tuple

import joblib
from joblib._parallel_backends import ParallelBackendBase

try:
    from joblib._parallel_backends import AutoBatchingMixin
except ImportError:  # pragma: no cover - every joblib since 0.10 has it
    AutoBatchingMixin = object  # type: ignore

from ._executor import Executor, _Future

__all__ = ["TaskfleetBackend", "register", "shutdown"]

_executors: Dict[Tuple[Any, ...], Executor] = {}
_executors_lock = threading.Lock()


def _shared_executor(options: Dict[str, Any]) -> Executor:
    """One engine per distinct set of options, kept for the life of the program: scikit-learn makes a
    new backend for every Parallel call, and starting workers each time would cost their start-up."""
    key = tuple(sorted((k, v if not isinstance(v, list) else tuple(v)) for k, v in options.items()))
    with _executors_lock:
        executor = _executors.get(key)
        if executor is None:
            executor = Executor(**options)
            _executors[key] = executor
        return executor


def shutdown() -> None:
    """Ends the engines this module started (at exit, or when the program wants them gone sooner)."""
    with _executors_lock:
        executors = list(_executors.values())
        _executors.clear()
    for e in executors:
        e.shutdown(wait=False, cancel_futures=True)


atexit.register(shutdown)


class _BatchResult:
    """What joblib 1.2 waits on (an AsyncResult's .get())."""

    __slots__ = ("future",)

    def __init__(self, future: _Future) -> None:
        self.future = future

    def get(self, timeout: Optional[float] = None) -> Any:
        return self.future.result(timeout)


class TaskfleetBackend(AutoBatchingMixin, ParallelBackendBase):  # type: ignore[misc]
    """joblib's ParallelBackendBase on a taskfleet.Executor."""

    supports_timeout = True
    supports_retrieve_callback = True  # joblib >= 1.5
    uses_threads = False
    supports_sharedmem = False

    def __init__(self, nesting_level: Optional[int] = None, inner_max_num_threads: Optional[int] = None,
                 executor: Optional[Executor] = None, **options: Any) -> None:
        """executor: an Executor to run on; else options (max_workers, ppservers, secret, attach) choose
        a shared one."""
        super().__init__(nesting_level=nesting_level, inner_max_num_threads=inner_max_num_threads)
        self._given = executor
        self._options = options
        self._executor: Optional[Executor] = None
        self._pending: Dict[int, _Future] = {}
        self._lock = threading.Lock()

    @property
    def executor(self) -> Executor:
        if self._executor is None:
            self._executor = self._given or _shared_executor(self._options)
        return self._executor

    def effective_n_jobs(self, n_jobs: Optional[int]) -> int:
        """The cluster's workers (every online node's), whatever n_jobs asks: the cluster decides."""
        if n_jobs == 0:
            raise ValueError("n_jobs == 0 in Parallel has no meaning")
        return self.executor.effective_workers()

    def configure(self, n_jobs: int = 1, parallel: Any = None, prefer: Any = None, require: Any = None,
                  **backend_args: Any) -> int:
        if require == "sharedmem":
            raise ValueError("the taskfleet backend runs tasks in other processes: require='sharedmem' "
                             "cannot be met")
        self.parallel = parallel
        return self.effective_n_jobs(n_jobs)

    def _run(self, func: Callable[[], Any]) -> _Future:
        future = self.executor._submit_batch(func, [((), {})])[0]
        with self._lock:
            self._pending[id(future)] = future
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: _Future) -> None:
        with self._lock:
            self._pending.pop(id(future), None)

    # joblib 1.2: apply_async(batch, callback) -> object with .get(); the callback on success only
    def apply_async(self, func: Callable[[], Any], callback: Optional[Callable[[Any], None]] = None) -> _BatchResult:
        future = self._run(func)
        result = _BatchResult(future)
        if callback is not None:
            def done(f: _Future) -> None:
                if not f.cancelled() and f.exception() is None:
                    callback(f.result())
            future.add_done_callback(done)
        return result

    # joblib >= 1.5: submit(batch, callback) -> future; the callback always, then retrieve_result_callback
    def submit(self, func: Callable[[], Any], callback: Optional[Callable[[Any], None]] = None) -> _Future:
        future = self._run(func)
        if callback is not None:
            future.add_done_callback(callback)
        return future

    def retrieve_result_callback(self, out: Any) -> Any:
        return out.result()

    def retrieve_result(self, out: Any, timeout: Optional[float] = None) -> Any:
        return out.result(timeout)

    def abort_everything(self, ensure_ready: bool = True) -> None:
        """An error ended the Parallel call: what has not run is cancelled, in the engine too."""
        with self._lock:
            pending = list(self._pending.values())
            self._pending.clear()
        for f in pending:
            f.cancel()

    def terminate(self) -> None:
        pass  # the engine is shared (see _shared_executor); shutdown() ends it


def register(name: str = "taskfleet") -> None:
    """Registers the backend with joblib under name (importing this module did it for "taskfleet")."""
    joblib.register_parallel_backend(name, TaskfleetBackend)


register()
