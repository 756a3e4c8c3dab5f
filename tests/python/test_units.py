#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Python client's own parts, without an engine: the CBOR codec against RFC 8949's examples, the
address rule against the table the C++ test reads too, and what a job ships (source pieces at their
own lines, pp's module strings, code by value).

Run as a script (ctest does): the functions below are then the user's own (__main__) code.
"""

import functools
import hashlib
import json
import math
import os
import pickle
import threading
import unittest

from taskfleet import _cbor, _frames, _source
from taskfleet import parse_node_address

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "node-addresses.jsonl")


def helper(x):
    return x * 2


def shipped(x):
    return helper(x) + math.floor(1.5)


class Shape:
    def area(self):
        return 0


class Square(Shape):
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side ** 2


class CborTest(unittest.TestCase):
    # (value, encoding) pairs from RFC 8949 appendix A
    EXAMPLES = [
        (0, "00"), (23, "17"), (24, "1818"), (100, "1864"), (1000, "1903e8"), (1000000, "1a000f4240"),
        (1000000000000, "1b000000e8d4a51000"), (-1, "20"), (-1000, "3903e7"), (1.1, "fb3ff199999999999a"),
        (False, "f4"), (True, "f5"), (None, "f6"), (b"", "40"), (b"\x01\x02\x03\x04", "4401020304"),
        ("", "60"), ("a", "6161"), ("\u00fc", "62c3bc"), ("\u6c34", "63e6b0b4"), ([], "80"),
        ([1, [2, 3], [4, 5]], "8301820203820405"), ({}, "a0"), ({"a": 1, "b": [2, 3]}, "a26161016162820203"),
    ]

    def test_encodes_rfc_examples(self):
        for value, hexed in self.EXAMPLES:
            self.assertEqual(_cbor.dumps(value).hex(), hexed, value)

    def test_decodes_rfc_examples_and_other_forms(self):
        for value, hexed in self.EXAMPLES:
            self.assertEqual(_cbor.loads(bytes.fromhex(hexed)), value, hexed)
        self.assertEqual(_cbor.loads(bytes.fromhex("f93c00")), 1.0)               # half float
        self.assertTrue(math.isinf(_cbor.loads(bytes.fromhex("f97c00"))))
        self.assertEqual(_cbor.loads(bytes.fromhex("9f018202039f0405ffff")), [1, [2, 3], [4, 5]])  # indefinite
        self.assertEqual(_cbor.loads(bytes.fromhex("5f42010243030405ff")), b"\x01\x02\x03\x04\x05")

    def test_refuses_broken_input(self):
        for hexed in ["", "18", "62c3", "a1", "ff", "1c"]:
            with self.assertRaises(Exception, msg=hexed):
                _cbor.loads(bytes.fromhex(hexed))

    def test_big_byte_string_round_trip(self):
        blob = os.urandom(3 << 20)
        self.assertEqual(_cbor.loads(_cbor.dumps({"r": [blob]}))["r"][0], blob)


class AddressTest(unittest.TestCase):
    def test_the_shared_table(self):
        with open(TABLE, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        self.assertGreaterEqual(len(rows), 30)  # the table is the specification: not truncated
        for row in rows:
            with self.subTest(text=row["text"], default_port=row.get("default_port", 0)):
                if "error" in row:
                    with self.assertRaises(ValueError) as caught:
                        parse_node_address(row["text"], row.get("default_port", 0))
                    self.assertIn(row["error"], str(caught.exception))
                else:
                    self.assertEqual(parse_node_address(row["text"], row.get("default_port", 0)),
                                     (row["host"], row["port"]))


class SourceTest(unittest.TestCase):
    def run_params(self, params):
        """Runs the generated job source as the python plugin would, in a fresh module dict."""
        glob = {"__name__": "__taskfleet_job__"}
        exec(compile(params["source"], params["filename"], "exec"), glob)
        return glob[params["function"]]

    def test_pieces_keep_their_lines_and_file(self):
        params = _source.build_code(shipped, (), (), (), "test_units.py")
        self.assertIn("import math", params["source"])
        fn = self.run_params(params)
        self.assertEqual(fn(3), 7)
        code = fn.__code__
        self.assertEqual(code.co_filename, os.path.abspath(__file__))
        with open(__file__) as f:
            line = f.read().splitlines().index("def shipped(x):") + 1
        self.assertEqual(code.co_firstlineno, line)

    def test_classes_ship_bases_first(self):
        params = _source.build_code(Square(2).area, (), (), (), "t.py")
        source = params["source"]
        self.assertLess(source.index("class Shape"), source.index("class Square"))

    def test_module_strings_as_ppft(self):
        self.assertEqual(_source.import_lines(["numpy", "numpy as np", "import numpy as np", "from os import path",
                                               "  os.path ", ("numpy", "N")]),
                         ["import numpy", "import numpy as np", "from os import path", "import os.path",
                          "import numpy as N"])

    def test_what_needs_to_travel_by_value(self):
        k = 3

        def closure(x):
            return x + k
        self.assertTrue(_source.needs_value(lambda x: x))
        self.assertTrue(_source.needs_value(closure))
        self.assertTrue(_source.needs_value(functools.partial(shipped, 1)))
        self.assertFalse(_source.needs_value(shipped))
        self.assertFalse(_source.needs_value(Square(1).area))
        self.assertFalse(_source.needs_value(len))

    def test_by_value_code_runs_without_the_client(self):
        k = 5
        params = _source.build_code(lambda x: x * k, (), (), (), "t.py", by_value=True, calls=True)
        fn = self.run_params(params)
        self.assertEqual(fn([(2,), (3,)]), [10, 15])
        self.assertEqual(fn([(2,), ()], [{}, {"x": 4}]), [10, 20])
        self.assertEqual(params["function"], _source.CALLS)
        self.assertIn("lambda", params["label"])

    def test_call_code_carries_callables(self):
        fn = self.run_params(_source.build_call_code("t.py"))
        self.assertEqual(fn([(shipped, (1,), {}), (max, (1, 9), {})]), [3, 9])

    def test_dumps_falls_back_to_cloudpickle(self):
        blob = _source.dumps((lambda: 1,), pickle.HIGHEST_PROTOCOL, False)
        self.assertEqual(pickle.loads(blob.data)[0](), 1)


class FramesTest(unittest.TestCase):
    """Big values through a real pipe: exact frames, continued frames, out-of-band buffers."""

    def roundtrip(self, messages):
        """Writes each (parts, size) message with frame_parts/write_parts from a thread; reads them back."""
        r, w = os.pipe()

        def writer():
            try:
                for parts, size in messages:
                    _frames.write_parts(w, _frames.frame_parts(parts, size))
            finally:
                os.close(w)
        t = threading.Thread(target=writer)
        t.start()
        reader = _frames.FrameReader(r)
        got = []
        try:
            while True:
                batch = reader.read()
                if batch is None:
                    break
                got += batch
        finally:
            t.join()
            os.close(r)
        return got

    @staticmethod
    def message(value):
        payload = _cbor.dumps({"t": "x", "v": value})
        return [payload], len(payload)

    def test_small_and_big_frames_in_one_stream(self):
        big = os.urandom(5 << 20)
        values = [b"a", big, "text", b"b" * 700000, 7]
        got = self.roundtrip([self.message(v) for v in values])
        self.assertEqual([bytes(m["v"]) if isinstance(m["v"], memoryview) else m["v"] for m in got], values)
        self.assertIsInstance(got[1]["v"], memoryview)  # read in place, not copied out

    def test_continued_frames_past_the_frame_limit(self):
        self.assertEqual(_frames.MAX_FRAME, 64 << 20)
        value = bytearray(os.urandom(1 << 20)) * 70  # 70 MiB: two frames
        head = _cbor._head
        parts = [b"\xa2\x61t\x61x\x61v", head(2, len(value)), memoryview(value)]
        size = sum(len(p) for p in parts)
        framed = _frames.frame_parts(parts, size)
        self.assertTrue(int.from_bytes(framed[0], "big") & _frames.CONTINUED)
        got = self.roundtrip([(parts, size)])
        self.assertEqual(hashlib.sha256(got[0]["v"]).digest(), hashlib.sha256(value).digest())

    def test_out_of_band_buffers(self):
        import numpy as np
        a = np.arange(1 << 20, dtype=np.float64)
        small = np.arange(10)
        p = _frames.pickle_value({"a": a, "small": small}, 2)
        self.assertEqual(len(p.buffers), 1)           # the big array, not copied into the pickle
        self.assertLess(len(p.data), 4096)
        parts, size = p.cbor_parts()
        payload = bytearray().join(bytes(x) for x in parts)  # a big frame's own buffer, as FrameReader has it
        value = _cbor.loads(payload, views=True)
        self.assertIsInstance(value, _cbor.Tag)
        back = _frames.unpickle_value(value)
        self.assertTrue(np.array_equal(back["a"], a))
        self.assertTrue(back["a"].flags.writeable)
        back["a"][0] = 5  # in place: the array lives in the frame's buffer, not a copy of it
        self.assertEqual(value.value[1].cast("d")[0], 5)
        copied = _frames.unpickle_value(_cbor.loads(bytes(payload), views=True))  # read-only memory: copied
        self.assertTrue(copied["a"].flags.writeable)
        self.assertTrue(np.array_equal(back["small"], small))
        self.assertEqual(pickle.loads(_frames.raw_pickle(value))["a"].sum(), a.sum() + 5)

    def test_a_broken_length_is_an_error(self):
        r, w = os.pipe()
        os.write(w, (0x7FFFFFFF).to_bytes(4, "big"))
        os.close(w)
        with self.assertRaises(ValueError):
            _frames.FrameReader(r).read()
        os.close(r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
