# SPDX-License-Identifier: MIT
"""A small CBOR codec (RFC 8949) covering what taskfleet-run's session protocol uses.

Maps, arrays, text, bytes, integers, floats, booleans and null; definite lengths only on
output, indefinite lengths accepted on input. Pure Python, no dependency.
"""

import struct

__all__ = ["dumps", "loads", "CBORError", "Tag", "KEPT_TAGS"]


class CBORError(ValueError):
    pass


class Tag:
    """A tagged value whose tag matters to the client (KEPT_TAGS); other tags are dropped on decode."""

    __slots__ = ("tag", "value")

    def __init__(self, tag, value):
        self.tag = tag
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Tag) and (self.tag, self.value) == (other.tag, other.value)

    def __repr__(self):
        return "Tag(%d, %r)" % (self.tag, self.value)


KEPT_TAGS = {0x74660005}  # a pickle with out-of-band buffers (_frames.PICKLE5_TAG)


_pack_d = struct.Struct(">d").pack
_pack_B = struct.Struct(">BB").pack
_pack_H = struct.Struct(">BH").pack
_pack_I = struct.Struct(">BI").pack
_pack_Q = struct.Struct(">BQ").pack
_unpack_H = struct.Struct(">H").unpack_from
_unpack_I = struct.Struct(">I").unpack_from
_unpack_Q = struct.Struct(">Q").unpack_from
_unpack_e = struct.Struct(">e").unpack_from
_unpack_f = struct.Struct(">f").unpack_from
_unpack_d = struct.Struct(">d").unpack_from

# Headers of small values, precomputed: major type << 5 | n.
_SMALL = [[bytes((major << 5 | n,)) for n in range(24)] for major in range(8)]


def _head(major, n):
    if n < 24:
        return _SMALL[major][n]
    m = major << 5
    if n < 0x100:
        return _pack_B(m | 24, n)
    if n < 0x10000:
        return _pack_H(m | 25, n)
    if n < 0x100000000:
        return _pack_I(m | 26, n)
    if n < 0x10000000000000000:
        return _pack_Q(m | 27, n)
    raise CBORError("integer too large for CBOR: %d" % n)


def _encode(obj, out):
    t = type(obj)
    if t is int:
        if obj >= 0:
            out.append(_head(0, obj))
        else:
            out.append(_head(1, -1 - obj))
    elif t is Tag:
        out.append(_head(6, obj.tag))
        _encode(obj.value, out)
    elif t is bytes or t is bytearray or t is memoryview:
        out.append(_head(2, len(obj)))
        out.append(bytes(obj))
    elif t is str:
        b = obj.encode("utf-8")
        out.append(_head(3, len(b)))
        out.append(b)
    elif t is list or t is tuple:
        out.append(_head(4, len(obj)))
        for item in obj:
            _encode(item, out)
    elif t is dict:
        out.append(_head(5, len(obj)))
        for k, v in obj.items():
            _encode(k, out)
            _encode(v, out)
    elif obj is None:
        out.append(b"\xf6")
    elif obj is True:
        out.append(b"\xf5")
    elif obj is False:
        out.append(b"\xf4")
    elif t is float:
        out.append(b"\xfb" + _pack_d(obj))
    elif isinstance(obj, int):
        _encode(int(obj), out)
    else:
        raise CBORError("cannot encode a %s as CBOR" % t.__name__)


def dumps(obj):
    """Encodes obj as CBOR bytes."""
    out = []
    _encode(obj, out)
    return b"".join(out)


def _length(data, pos, info):
    if info < 24:
        return info, pos
    if info == 24:
        return data[pos], pos + 1
    if info == 25:
        return _unpack_H(data, pos)[0], pos + 2
    if info == 26:
        return _unpack_I(data, pos)[0], pos + 4
    if info == 27:
        return _unpack_Q(data, pos)[0], pos + 8
    if info == 31:
        return -1, pos
    raise CBORError("bad additional information %d" % info)


_BREAK = object()


def _decode(data, pos):
    b = data[pos]
    pos += 1
    major = b >> 5
    info = b & 31
    if major == 0:
        if info < 24:
            return info, pos
        return _length(data, pos, info)
    if major == 3:
        n, pos = _length(data, pos, info) if info >= 24 else (info, pos)
        if n < 0:
            parts = []
            while data[pos] != 0xFF:
                part, pos = _decode(data, pos)
                parts.append(part)
            return "".join(parts), pos + 1
        end = pos + n
        return str(data[pos:end], "utf-8"), end
    if major == 2:
        n, pos = _length(data, pos, info) if info >= 24 else (info, pos)
        if n < 0:
            parts = []
            while data[pos] != 0xFF:
                part, pos = _decode(data, pos)
                parts.append(part)
            return b"".join(parts), pos + 1
        end = pos + n
        return data[pos:end], end
    if major == 4:
        n, pos = _length(data, pos, info) if info >= 24 else (info, pos)
        items = []
        append = items.append
        if n < 0:
            while data[pos] != 0xFF:
                item, pos = _decode(data, pos)
                append(item)
            return items, pos + 1
        for _ in range(n):
            item, pos = _decode(data, pos)
            append(item)
        return items, pos
    if major == 5:
        n, pos = _length(data, pos, info) if info >= 24 else (info, pos)
        result = {}
        if n < 0:
            while data[pos] != 0xFF:
                k, pos = _decode(data, pos)
                result[k], pos = _decode(data, pos)
            return result, pos + 1
        for _ in range(n):
            k, pos = _decode(data, pos)
            result[k], pos = _decode(data, pos)
        return result, pos
    if major == 1:
        n, pos = _length(data, pos, info)
        return -1 - n, pos
    if major == 7:
        if info == 20:
            return False, pos
        if info == 21:
            return True, pos
        if info == 22 or info == 23:
            return None, pos
        if info == 27:
            return _unpack_d(data, pos)[0], pos + 8
        if info == 26:
            return _unpack_f(data, pos)[0], pos + 4
        if info == 25:
            return _unpack_e(data, pos)[0], pos + 2
        raise CBORError("unsupported simple value %d" % info)
    if major == 6:  # a tag: the tagged value, wrapped only for the tags the client acts on
        tag, pos = _length(data, pos, info)
        value, pos = _decode(data, pos)
        return (Tag(tag, value) if tag in KEPT_TAGS else value), pos
    raise CBORError("bad CBOR")


def loads(data, views=False):
    """Decodes one CBOR item from bytes; the whole input must be that item. views: byte strings come
    back as memoryviews into data (no copy; data must stay unchanged while they live)."""
    data = memoryview(data) if views else bytes(data)
    try:
        value, pos = _decode(data, 0)
    except (IndexError, struct.error) as e:
        raise CBORError("truncated CBOR") from e
    if pos != len(data):
        raise CBORError("%d bytes after the CBOR item" % (len(data) - pos))
    return value
