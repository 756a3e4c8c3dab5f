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
from typing import Any, Callable, Iterable, Optional, Tuple

from . import _cbor
from ._frames import PICKLE5_TAG, Pickled, pickle_value

__all__ = ["Shared", "shared_in", "dumps_with_shared"]

PID = "taskfleet-shared"


class Shared:
    """A value pickled once, at share() time (a snapshot: later changes to the object are not seen)."""

    __slots__ = ("key", "nbytes", "_cbor", "__weakref__")
    created = 0  # how many were ever made: until one is, submits need not look for them

    def __init__(self, obj: Any, protocol: int, dumps: Optional[Callable[..., bytes]] = None) -> None:
        Shared.created += 1
        p = pickle_value(obj, protocol, dumps)
        buffers = [bytes(b) for b in p.buffers]  # the snapshot: copied once
        digest = hashlib.sha256(p.data)
        for b in buffers:
            digest.update(len(b).to_bytes(8, "big"))
            digest.update(b)
        self.key = digest.hexdigest()
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
