# SPDX-License-Identifier: MIT
"""Values that many tasks share, sent once per node: server.share(obj) (Dask's scatter, Ray's put).

A Shared handle passed as an argument (positional or keyword, at the top level) of any number of
submits is pickled as a persistent id; the value itself travels with the job's code, in its
parameters, which the engine content-addresses and sends once per node and once per worker, where
the python plugin unpickles it once for every task of the job (plugins/python).
"""

import hashlib
import io
import pickle
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import collections
import threading

from . import _cbor
from ._frames import PICKLE5_TAG, BufferRef, Pickled, pickle_value

__all__ = ["Shared", "shared_in", "merge_shared", "dumps_with_shared", "BufferSharing"]

PID = "taskfleet-shared"


class Shared:
    """A value pickled once, at share() time (a snapshot: later changes to the object are not seen)."""

    __slots__ = ("key", "nbytes", "_cbor", "__weakref__")
    created = 0  # how many were ever made: until one is, submits need not look for them

    def __init__(self, obj: Any, protocol: int, dumps: Optional[Callable[..., bytes]] = None,
                 key: Optional[str] = None) -> None:
        Shared.created += 1
        p = pickle_value(obj, protocol, dumps)
        buffers = [bytes(b) for b in p.buffers]  # the snapshot: copied once
        if key is None:
            digest = hashlib.sha256(p.data)
            for b in buffers:
                digest.update(len(b).to_bytes(8, "big"))
                digest.update(b)
            key = digest.hexdigest()
        self.key = key
        self.nbytes = len(p.data) + sum(len(b) for b in buffers)
        self._cbor = _cbor.Tag(PICKLE5_TAG, [p.data] + buffers) if buffers else p.data

    def cbor_value(self) -> Any:
        return self._cbor

    def __repr__(self) -> str:
        return "<taskfleet shared value %s, %d bytes>" % (self.key[:12], self.nbytes)

    def __reduce__(self) -> Any:
        raise pickle.PicklingError("a taskfleet shared value can be an argument of submit only (directly, "
                                   "not inside another object)")


def shared_in(values: Iterable[Any]) -> Tuple[Shared, ...]:
    """The Shared handles among values (top level only), each once, in a stable order."""
    found = {v.key: v for v in values if type(v) is Shared}
    return tuple(found[k] for k in sorted(found))


def merge_shared(*groups: Tuple[Shared, ...]) -> Tuple[Shared, ...]:
    """The Shared values of several groups, each once, in shared_in's stable order."""
    found = {v.key: v for group in groups for v in group}
    return tuple(found[k] for k in sorted(found))


def dumps_with_shared(obj: Any, protocol: int, pickler: Any) -> Pickled:
    """obj pickled by pickler (pickle.Pickler or cloudpickle's), Shared handles as persistent ids."""

    class _Pickler(pickler):  # type: ignore[misc, valid-type]
        def persistent_id(self, value: Any) -> Any:
            if type(value) is Shared:
                return (PID, value.key)
            return None

    def dumps(value: Any, protocol: int, buffer_callback: Any) -> bytes:
        f = io.BytesIO()
        _Pickler(f, protocol, buffer_callback=buffer_callback).dump(value)
        return f.getvalue()
    return pickle_value(obj, protocol, dumps)


class BufferSharing:
    """Big buffers that several submits carry, sent once per node without share() (docs/python.md).

    Each out-of-band buffer of at least MIN_BYTES in a task's pickled arguments is fingerprinted (its size and
    a few sampled bytes: microseconds). A buffer whose fingerprint an earlier submit had is hashed (SHA-256, the
    only proof that it is the same bytes) and from then on travels as one of the job's shared values, which
    the engine sends once per node and the python plugin keeps once per worker; the task names it by key and
    each task still gets its own copy. A buffer seen once costs nothing more, so distinct data is not slowed.
    The values held for this are bounded (HOLD_BYTES); beyond it, buffers travel with their tasks as before.
    """

    MIN_BYTES = 1 << 20
    HOLD_BYTES = 1 << 30
    FINGERPRINTS = 4096
    SAMPLES = 16

    def __init__(self, protocol: int) -> None:
        self._protocol = protocol
        self._seen: "collections.OrderedDict[tuple, bool]" = collections.OrderedDict()
        self._shares: Dict[str, Shared] = {}
        self._held = 0
        self._lock = threading.Lock()

    def _fingerprint(self, view: memoryview) -> tuple:
        n = view.nbytes
        step = max(1, (n - 32) // self.SAMPLES)
        return (n, bytes(view[:32]), bytes(view[-32:])) + tuple(bytes(view[i:i + 8]) for i in range(0, n - 8, step))

    def share_repeated(self, pickled: Pickled) -> Tuple[Shared, ...]:
        """Replaces repeated big buffers of pickled by references; returns the Shared values they name."""
        found: List[Shared] = []
        for i, view in enumerate(pickled.buffers):
            if type(view) is BufferRef or view.nbytes < self.MIN_BYTES:
                continue
            fp = self._fingerprint(view)
            with self._lock:
                seen = fp in self._seen
                self._seen[fp] = True
                self._seen.move_to_end(fp)
                while len(self._seen) > self.FINGERPRINTS:
                    self._seen.popitem(last=False)
            if not seen:
                continue
            key = "buffer-" + hashlib.sha256(view).hexdigest()
            with self._lock:
                shared = self._shares.get(key)
                if shared is None:
                    if self._held + view.nbytes > self.HOLD_BYTES:
                        continue
                    shared = Shared(pickle.PickleBuffer(view), self._protocol, key=key)
                    self._shares[key] = shared
                    self._held += view.nbytes
            pickled.buffers[i] = BufferRef(key)
            found.append(shared)
        return tuple(found)
