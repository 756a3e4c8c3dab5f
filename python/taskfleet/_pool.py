# SPDX-License-Identifier: MIT
"""taskfleet.Pool: multiprocessing.Pool's mapping methods on Taskfleet's engine (through an Executor)."""

import concurrent.futures
import itertools
import threading
from typing import Any, Callable, Iterable, Iterator, List, Optional

from ._executor import Executor, _Future

__all__ = ["Pool", "AsyncResult"]


class AsyncResult:
    """multiprocessing's AsyncResult over the futures of one call or one map."""

    def __init__(self, futures: List[_Future], single: bool, callback: Optional[Callable[[Any], None]] = None,
                 error_callback: Optional[Callable[[BaseException], None]] = None) -> None:
        self._futures = futures
        self._single = single
        self._done = threading.Event()
        self._left = len(futures)
        self._lock = threading.Lock()
        self._callback = callback
        self._error_callback = error_callback
        if not futures:
            self._finished()
        for f in futures:
            f.add_done_callback(self._one_done)

    def _one_done(self, _: Any) -> None:
        with self._lock:
            self._left -= 1
            last = self._left == 0
        if last:
            self._finished()

    def _finished(self) -> None:
        try:
            if self.successful():
                if self._callback is not None:
                    self._callback(self._value())
            elif self._error_callback is not None:
                self._error_callback(self._error())
        finally:
            self._done.set()

    def _error(self) -> Optional[BaseException]:
        for f in self._futures:
            if f.cancelled():
                return concurrent.futures.CancelledError()
            e = f.exception()
            if e is not None:
                return e
        return None

    def _value(self) -> Any:
        if self._single:
            return self._futures[0].result()
        return [v for f in self._futures for v in f.result()]  # each future holds one chunk's results

    def ready(self) -> bool:
        return all(f.done() for f in self._futures)

    def successful(self) -> bool:
        if not self.ready():
            raise ValueError("%r not ready" % self)
        return self._error() is None

    def wait(self, timeout: Optional[float] = None) -> None:
        concurrent.futures.wait(self._futures, timeout)
        if self.ready():
            self._done.wait(timeout)

    def get(self, timeout: Optional[float] = None) -> Any:
        self.wait(timeout)
        if not self.ready():
            raise TimeoutError
        error = self._error()
        if error is not None:
            raise error
        return self._value()


class Pool:
    """multiprocessing.Pool's map, imap, imap_unordered, starmap, apply and their _async forms, run on
    Taskfleet's nodes. processes: local workers (None: one per CPU); ppservers, secret, attach as
    Server's; executor: share an Executor instead of starting an engine."""

    def __init__(self, processes: Optional[int] = None, initializer: Optional[Callable[..., Any]] = None,
                 initargs: tuple = (), maxtasksperchild: Optional[int] = None, *, ppservers: tuple = (),
                 secret: Optional[str] = None, attach: Any = None, executor: Optional[Executor] = None) -> None:
        if initializer is not None:
            raise ValueError("taskfleet.Pool has no initializer: workers are shared by every job of the "
                             "engine; do the set-up inside the function (it runs once per worker if it "
                             "caches its result in a global)")
        if processes is not None and processes < 0:
            raise ValueError("Number of processes must be at least 0")
        self._own = executor is None
        self._executor = executor or Executor(processes, ppservers=ppservers, secret=secret, attach=attach,
                                              restart=maxtasksperchild == 1)
        self._state = "run"

    def _check(self) -> None:
        if self._state != "run":
            raise ValueError("Pool not running")

    def _workers(self) -> int:
        return self._executor.effective_workers()

    def _chunksize(self, n: int, chunksize: Optional[int]) -> int:
        if chunksize is not None:
            if chunksize < 1:
                raise ValueError("Chunksize must be 1+, not {0:n}".format(chunksize))
            return chunksize
        size, extra = divmod(n, self._workers() * 4)  # multiprocessing.Pool's rule
        return size + 1 if extra or not size else size

    def _submit_all(self, func: Callable[..., Any], argtuples: Iterable[tuple], chunksize: int) -> List[_Future]:
        calls = ((tuple(a), {}) for a in argtuples)
        futures: List[_Future] = []
        while True:
            chunk = list(itertools.islice(calls, chunksize))
            if not chunk:
                return futures
            futures += self._executor._submit_batch(func, chunk, split=False)  # one future per chunk

    # ---- blocking

    def apply(self, func: Callable[..., Any], args: tuple = (), kwds: Optional[dict] = None) -> Any:
        return self.apply_async(func, args, kwds).get()

    def map(self, func: Callable[..., Any], iterable: Iterable[Any], chunksize: Optional[int] = None) -> List[Any]:
        return self.map_async(func, iterable, chunksize).get()

    def starmap(self, func: Callable[..., Any], iterable: Iterable[Iterable[Any]],
                chunksize: Optional[int] = None) -> List[Any]:
        return self.starmap_async(func, iterable, chunksize).get()

    # ---- asynchronous

    def apply_async(self, func: Callable[..., Any], args: tuple = (), kwds: Optional[dict] = None,
                    callback: Optional[Callable[[Any], None]] = None,
                    error_callback: Optional[Callable[[BaseException], None]] = None) -> AsyncResult:
        self._check()
        futures = self._executor._submit_batch(func, [(tuple(args), dict(kwds or {}))])
        return AsyncResult(futures, True, callback, error_callback)

    def map_async(self, func: Callable[..., Any], iterable: Iterable[Any], chunksize: Optional[int] = None,
                  callback: Optional[Callable[[Any], None]] = None,
                  error_callback: Optional[Callable[[BaseException], None]] = None) -> AsyncResult:
        items = list(iterable)
        return self.starmap_async(func, [(x,) for x in items], chunksize, callback, error_callback)

    def starmap_async(self, func: Callable[..., Any], iterable: Iterable[Iterable[Any]],
                      chunksize: Optional[int] = None, callback: Optional[Callable[[Any], None]] = None,
                      error_callback: Optional[Callable[[BaseException], None]] = None) -> AsyncResult:
        self._check()
        items = [tuple(a) for a in iterable]
        futures = self._submit_all(func, items, self._chunksize(len(items), chunksize))
        return AsyncResult(futures, False, callback, error_callback)

    # ---- iterators

    def imap(self, func: Callable[..., Any], iterable: Iterable[Any], chunksize: int = 1) -> Iterator[Any]:
        """Results in order, each as soon as it and those before it are in."""
        self._check()
        futures = self._submit_all(func, ((x,) for x in iterable), self._chunksize(0, chunksize))
        return (v for f in futures for v in f.result())

    def imap_unordered(self, func: Callable[..., Any], iterable: Iterable[Any], chunksize: int = 1) -> Iterator[Any]:
        """Results in the order they come in."""
        self._check()
        futures = self._submit_all(func, ((x,) for x in iterable), self._chunksize(0, chunksize))
        return (v for f in concurrent.futures.as_completed(futures) for v in f.result())

    # ---- life

    def close(self) -> None:
        """No more work; join() then waits for what was submitted."""
        if self._state == "run":
            self._state = "close"

    def terminate(self) -> None:
        """Cancels what has not run and ends the engine (if this Pool started it)."""
        self._state = "terminate"
        if self._own:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def join(self) -> None:
        if self._state == "run":
            raise ValueError("Pool is still running")
        if self._own:
            self._executor.shutdown(wait=True)

    def __enter__(self) -> "Pool":
        self._check()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.terminate()  # as multiprocessing.Pool's
