# SPDX-License-Identifier: MIT
"""Frames between the client and the engine, with big values at memory speed.

A frame is a 4-byte big-endian length and a CBOR map (docs/protocol.md); a message larger than
MAX_FRAME travels as continued frames (the length's top bit set on all but the last), as
core/protocol/frame.h has it. Here:

- Reading: small frames are parsed out of one reusable 64 KiB read buffer (a bigger one would copy
  most of each big frame out of it); a frame bigger than half of it is read straight into a buffer
  of its own (os.readv), and its byte strings are decoded as
  memoryviews into it, so a 50 MB result is copied once, by the kernel. Buffers of up to 8 MiB are
  used again for later frames once nothing refers to what was read into them (a stream of 1 MiB
  results then costs no new pages per result).
- Writing: a message is a list of parts (headers and the values themselves, as memoryviews), written
  with os.writev: a big argument is never joined into a second buffer.
- Pickles with out-of-band buffers (protocol 5: numpy arrays and other buffer-protocol objects)
  travel as CBOR tag PICKLE5_TAG over [pickle, buffer, ...]; the python plugin reads and writes the
  same form (plugins/python).
"""

import mmap
import os
import pickle
from typing import Any, List, Optional, Sequence, Tuple

from . import _cbor

__all__ = ["MAX_FRAME", "PICKLE5_TAG", "SHARED_BUFFER_TAG", "BufferRef", "Pickled", "FrameReader", "frame_parts", "write_parts", "pickle_value",
           "unpickle_value", "raw_pickle"]

MAX_FRAME = 64 << 20          # core/protocol/frame.h MaxFrameSize
MAX_MESSAGE = 320 << 20       # MaxMessageSize: what continued frames may join to
CONTINUED = 0x80000000        # ContinuedFrameBit
PICKLE5_TAG = 0x74660005      # "tf" 5: a pickle and its out-of-band buffers
SHARED_BUFFER_TAG = 0x74660006  # in place of one of those buffers: the key of the job's shared value holding it
_READ_SIZE = 1 << 16
_IOV_MAX = 1024
_OOB_MIN = 64 << 10           # buffers smaller than this stay in the pickle (a part costs more)
_SPARE_MAX = 8 << 20          # big-frame buffers up to this size are kept for the next big frames...
_SPARES = 4                   # ... this many of them
_HUGE_PAGES = getattr(mmap, "MADV_HUGEPAGE", None)  # bigger frames are read into mappings that ask for them


class FrameError(ValueError):
    pass


class FrameReader:
    """Reads whole messages from a file descriptor; read() blocks until some bytes come."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._chunk = bytearray(_READ_SIZE)
        self._rest = b""           # the start of a frame that did not fit the last read
        self._big: Optional[Any] = None  # a big frame's payload (a bytearray or an mmap), being filled in place
        self._big_size = 0  # its size (the buffer may be a bigger spare)
        self._have = 0
        self._big_continued = False
        self._parts: List[Any] = []  # payloads of continued frames so far
        self._parts_size = 0
        self._spares: List[bytearray] = []  # big-frame buffers that may be free again (see _big_buffer)

    def read(self) -> Optional[List[Any]]:
        """The messages completed by one read (maybe none); None at the end of the stream."""
        if self._big is not None:
            n = os.readv(self.fd, [memoryview(self._big)[self._have:self._big_size]])
            if n == 0:
                return None
            self._have += n
            if self._have < self._big_size:
                return []
            big, self._big = self._big, None
            payload = memoryview(big)[:self._big_size] if len(big) != self._big_size else big
            out: List[Any] = []
            self._payload(payload, self._big_continued, True, out)
            del payload
            if len(big) <= _SPARE_MAX:  # a spare taken for this frame left the list (_big_buffer)
                self._spares.append(big)
                del self._spares[:-_SPARES]
            return out
        n = os.readv(self.fd, [self._chunk])
        if n == 0:
            return None
        if self._rest:
            data = memoryview(self._rest + bytes(memoryview(self._chunk)[:n]))
            self._rest = b""
        else:
            data = memoryview(self._chunk)[:n]
        out = []
        pos = 0
        end = len(data)
        while end - pos >= 4:
            word = int.from_bytes(data[pos:pos + 4], "big")
            size = word & ~CONTINUED
            if size > MAX_FRAME:
                raise FrameError("the engine sent a frame of %d bytes (at most %d)" % (size, MAX_FRAME))
            if end - pos - 4 < size:
                if size > _READ_SIZE // 2:  # read the rest straight into a buffer of its own
                    big = self._big_buffer(size)
                    have = end - pos - 4
                    big[:have] = data[pos + 4:end]
                    self._big, self._big_size, self._have = big, size, have
                    self._big_continued = bool(word & CONTINUED)
                    pos = end
                break
            self._payload(bytes(data[pos + 4:pos + 4 + size]), bool(word & CONTINUED), False, out)
            pos += 4 + size
        if pos < end:
            self._rest = bytes(data[pos:end])
        return out

    def _big_buffer(self, size: int) -> Any:
        """A buffer of at least size bytes for a big frame: a spare one nothing refers to any more, or a new one."""
        for i in range(len(self._spares) - 1, -1, -1):  # the newest first: still in the CPU's caches
            buf = self._spares[i]
            if size <= len(buf) <= 2 * size:
                try:
                    buf.append(0)  # a bytearray cannot change size while a view of it lives: then it is not free
                except BufferError:
                    continue
                del buf[-1]
                del self._spares[i]
                return buf
        if size > _SPARE_MAX and _HUGE_PAGES is not None:
            # A mapping of its own, not zero-filled first (bytearray(size) writes every page before the read
            # does), asking for huge pages: one page fault per 2 MiB instead of one per 4 KiB. It is unmapped
            # when the last value viewing it goes.
            buf = mmap.mmap(-1, size)
            try:
                buf.madvise(_HUGE_PAGES)
            except OSError:
                pass
            return buf
        return bytearray(size)

    def _payload(self, payload: Any, continued: bool, own: bool, out: List[Any]) -> None:
        if continued or self._parts:
            self._parts.append(payload)
            self._parts_size += len(payload)
            if self._parts_size > MAX_MESSAGE:
                raise FrameError("the engine sent a message of more than %d bytes" % MAX_MESSAGE)
            if continued:
                return
            payload = bytearray().join(self._parts)
            self._parts, self._parts_size = [], 0
            own = True
        out.append(_cbor.loads(payload, views=own))


def frame_parts(parts: Sequence[Any], size: int) -> List[Any]:
    """Length-prefixed frames around a message whose payload is parts (size bytes in all)."""
    if size <= MAX_FRAME:
        return [size.to_bytes(4, "big")] + list(parts)
    out: List[Any] = []
    left = size
    room = 0
    for part in parts:
        view = memoryview(part).cast("B") if not isinstance(part, bytes) else memoryview(part)
        while len(view):
            if room == 0:
                room = min(MAX_FRAME, left)
                left -= room
                out.append((room | (CONTINUED if left else 0)).to_bytes(4, "big"))
            take = min(room, len(view))
            out.append(view[:take])
            view = view[take:]
            room -= take
    return out


def write_parts(fd: int, parts: Sequence[Any]) -> None:
    """Writes every part, in order, with as few system calls as the kernel allows."""
    views = [memoryview(p).cast("B") if not isinstance(p, (bytes, bytearray)) else p for p in parts if len(p)]
    i = 0
    while i < len(views):
        written = os.writev(fd, views[i:i + _IOV_MAX])
        while written:
            n = len(views[i])
            if written >= n:
                written -= n
                i += 1
            else:
                views[i] = memoryview(views[i])[written:]
                written = 0


class BufferRef:
    """In a Pickled's buffers, a buffer that travels in the job's shared values instead (_shared.BufferSharing)."""

    __slots__ = ("key", "nbytes")

    def __init__(self, key: str) -> None:
        self.key = key
        self.nbytes = 0  # what it adds to the task's own value


class Pickled:
    """A value pickled with protocol 5: the pickle and its out-of-band buffers (maybe none)."""

    __slots__ = ("data", "buffers")

    def __init__(self, data: bytes, buffers: List[Any]) -> None:
        self.data = data
        self.buffers = buffers

    def __len__(self) -> int:
        return len(self.data) + sum(b.nbytes for b in self.buffers)

    def cbor_parts(self) -> Tuple[List[Any], int]:
        """(parts, size) of its CBOR form: a byte string, or PICKLE5_TAG over [pickle, buffers...]."""
        head = _cbor._head
        if not self.buffers:
            h = head(2, len(self.data))
            return [h, self.data], len(h) + len(self.data)
        parts: List[Any] = [head(6, PICKLE5_TAG), head(4, 1 + len(self.buffers)), head(2, len(self.data)), self.data]
        for b in self.buffers:
            if type(b) is BufferRef:
                key = b.key.encode()
                parts.append(head(6, SHARED_BUFFER_TAG) + head(3, len(key)) + key)
                continue
            parts.append(head(2, b.nbytes))
            parts.append(b)
        return parts, sum(len(p) if isinstance(p, bytes) else p.nbytes for p in parts)


def pickle_value(obj: Any, protocol: int, dumps: Any = None) -> Pickled:
    """obj pickled with protocol >= 5; big contiguous buffers (numpy arrays, bytearrays, ...) out of band,
    so they are not copied into the pickle."""
    buffers: List[memoryview] = []

    def take(buf: pickle.PickleBuffer) -> bool:
        try:
            view = buf.raw()
        except BufferError:  # not contiguous: in band
            return True
        if view.nbytes < _OOB_MIN:
            return True  # small: in band
        buffers.append(view)
        return False
    data = (dumps or pickle.dumps)(obj, protocol=max(protocol, 5), buffer_callback=take)
    return Pickled(data, buffers)


def unpickle_value(value: Any) -> Any:
    """What the engine sent back as a result (bytes, a memoryview, or the tagged out-of-band form)."""
    if isinstance(value, _cbor.Tag):
        if value.tag != PICKLE5_TAG or not isinstance(value.value, list) or not value.value:
            raise pickle.UnpicklingError("unknown tagged value %r" % (value.tag,))
        # In place where the frame had a buffer of its own (writable: numpy arrays made from it are, as
        # in-band ones are); a copy where it was read-only memory.
        buffers = [b if isinstance(b, memoryview) and not b.readonly else bytearray(b) for b in value.value[1:]]
        return pickle.loads(value.value[0], buffers=buffers)
    return pickle.loads(value)


def raw_pickle(value: Any) -> bytes:
    """pp's job(raw_result=True): the result as one in-band pickle."""
    if isinstance(value, _cbor.Tag):
        return pickle.dumps(unpickle_value(value), pickle.HIGHEST_PROTOCOL)
    return bytes(value)
