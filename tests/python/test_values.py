#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Values that must not change on the way, with the real engine: NaN and the infinities a Python
task returns reach taskfleet-run's JSON Lines exactly (as Python's json module writes them: NaN, Infinity,
-Infinity; they had become null with status ok), also through an agent, and come back exact through pp's API
and the Executor; a job file with a NaN, or with a key named twice at any level, is refused naming it and
its line (the last "plugin" had won).

Run as a script (ctest does): the functions below are then the user's own (__main__) code.
"""

import json
import math
import os
import subprocess
import tempfile
import unittest

import tfsupport
import taskfleet as pp

RUN = os.environ.get("TASKFLEET_RUN", "build/bin/taskfleet-run")

# The script of the job files below: one function, whose input names the value it returns.
SCRIPT = '''
def value(name):
    nan, inf = float("nan"), float("inf")
    return {
        "nan": nan,
        "inf": inf,
        "-inf": -inf,
        "list": [nan, 1.5, -inf, inf, 2],
        "tuple": (nan, "NaN"),
        "nested": {"a": [nan], "b": {"c": -inf}, "d": "Infinity"},
        "-0.0": -0.0,
        "text": "NaN",
    }[name]
'''

NAMES = ["nan", "inf", "-inf", "list", "tuple", "nested", "-0.0", "text"]


def value(name):
    """The same function, for pp's API (shipped by source)."""
    nan, inf = float("nan"), float("inf")
    return {
        "nan": nan,
        "inf": inf,
        "-inf": -inf,
        "list": [nan, 1.5, -inf, inf, 2],
        "tuple": (nan, "NaN"),
        "nested": {"a": [nan], "b": {"c": -inf}, "d": "Infinity"},
        "-0.0": -0.0,
        "text": "NaN",
    }[name]


def identity(*args):
    return args


def strict_json(text):
    """json.loads as a strict RFC 8259 reader: refuses NaN and Infinity (as JavaScript, Go, Qt do)."""
    def refuse(token):
        raise ValueError("not JSON: " + token)
    return json.loads(text, parse_constant=refuse)


class Same:
    """Assertions that compare floats by their value and sign, NaN equal to NaN."""

    def assertSameValue(self, got, expected, where=""):
        if isinstance(expected, float):
            self.assertIsInstance(got, float, where)
            if math.isnan(expected):
                self.assertTrue(math.isnan(got), "%s: %r is not NaN" % (where, got))
            else:
                self.assertEqual(got, expected, where)
                self.assertEqual(math.copysign(1, got), math.copysign(1, expected), "%s: sign of %r" % (where, got))
        elif isinstance(expected, (list, tuple)):
            self.assertIsInstance(got, type(expected), where)
            self.assertEqual(len(got), len(expected), where)
            for i, (g, e) in enumerate(zip(got, expected)):
                self.assertSameValue(g, e, "%s[%d]" % (where, i))
        elif isinstance(expected, dict):
            self.assertIsInstance(got, dict, where)
            self.assertEqual(sorted(got), sorted(expected), where)
            for k in expected:
                self.assertSameValue(got[k], expected[k], "%s[%r]" % (where, k))
        else:
            self.assertEqual(type(got), type(expected), where)
            self.assertEqual(got, expected, where)


def as_json_value(v):
    """What a value becomes in JSON Lines: tuples are arrays."""
    if isinstance(v, (list, tuple)):
        return [as_json_value(x) for x in v]
    if isinstance(v, dict):
        return {k: as_json_value(x) for k, x in v.items()}
    return v


class JobFileResultsTest(unittest.TestCase, Same):
    """taskfleet-run with a Python job file, results read from -o."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="tf-values-")
        with open(os.path.join(self.dir.name, "values.py"), "w") as f:
            f.write(SCRIPT)

    def tearDown(self):
        self.dir.cleanup()

    def write_job(self, text, name="job.json"):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_job(self, job, *extra):
        out = os.path.join(self.dir.name, "results.jsonl")
        p = subprocess.run([RUN, "--no-journal", "-k", "-o", out] + list(extra) + [job],
                           capture_output=True, text=True, timeout=90)
        lines = []
        if os.path.exists(out):
            with open(out) as f:
                lines = f.read().splitlines()
        return p, lines

    def check_results(self, p, lines):
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(lines), len(NAMES), lines)
        for line, name in zip(lines, NAMES):
            row = json.loads(line)  # Python's json reads NaN, Infinity and -Infinity
            self.assertEqual(row["input"], name)
            self.assertNotIn("error", row, line)
            self.assertSameValue(row["output"], as_json_value(value(name)), name)
        raw = dict(zip(NAMES, lines))
        self.assertIn('"output":NaN,', raw["nan"])
        self.assertIn('"output":Infinity,', raw["inf"])
        self.assertIn('"output":-Infinity,', raw["-inf"])
        self.assertIn('"output":[NaN,1.5,-Infinity,Infinity,2],', raw["list"])
        self.assertIn('"output":[NaN,"NaN"],', raw["tuple"])
        self.assertIn('"output":-0.0,', raw["-0.0"])
        self.assertIn('"output":"NaN",', raw["text"])  # the text stays quoted: no confusion with the number
        for name in NAMES:
            self.assertNotIn("null", raw[name])
        # A strict JSON reader refuses exactly the lines with such a number, rather than read another value.
        for name in ["nan", "inf", "-inf", "list", "tuple", "nested"]:
            with self.assertRaises(ValueError, msg=name):
                strict_json(raw[name])
        self.assertEqual(strict_json(raw["text"])["output"], "NaN")

    def job_text(self):
        return json.dumps({"plugin": "python", "script": "values.py", "function": "value", "inputs": NAMES})

    def test_nan_and_infinities_exact_in_json_lines(self):
        p, lines = self.run_job(self.write_job(self.job_text()), "-n", "1")
        self.check_results(p, lines)

    def test_nan_and_infinities_exact_through_an_agent(self):
        agent = tfsupport.Agent(workers=1)
        try:
            p, lines = self.run_job(self.write_job(self.job_text()), "-n", "0", "--node", agent.address,
                                    "--secret-file", agent.secret_file)
            self.check_results(p, lines)
            self.assertTrue(all(agent.address in json.loads(line)["node"] for line in lines), lines)
        finally:
            agent.stop()

    def test_job_file_with_nan_is_refused_naming_it(self):
        # What json.dump writes for a NaN input: not JSON, refused (exit 2) with its place, not read as null.
        text = json.dumps({"plugin": "python", "script": "values.py", "function": "value",
                           "inputs": ["nan", float("nan")]}, indent=1)
        line = 1 + text[:text.index("NaN")].count("\n")
        p, lines = self.run_job(self.write_job(text), "-n", "1")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("job.json: not valid JSON: line %d, column " % line, p.stderr)
        self.assertIn("NaN is not a JSON value: JSON has no NaN or infinity", p.stderr)
        self.assertEqual(lines, [])
        for token in ["Infinity", "-Infinity"]:
            p, _ = self.run_job(self.write_job('{"plugin": "echo",\n "inputs": [1, %s]}' % token), "-n", "1")
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("line 2, column 16: %s is not a JSON value" % token, p.stderr)

    def test_duplicate_key_at_top_level_is_refused(self):
        job = self.write_job('{"plugin":"echo","plugin":"/etc/passwd","inputs":[1]}')
        p, lines = self.run_job(job, "-n", "1")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn('job.json: line 1, column 18: duplicate key "plugin" (first at line 1, column 2)', p.stderr)
        self.assertNotIn("/etc/passwd", p.stderr)  # refused before any plugin was looked for
        self.assertEqual(lines, [])

    def test_duplicate_key_nested_in_inputs_is_refused_with_its_line(self):
        job = self.write_job('{\n  "plugin": "python", "script": "values.py", "function": "value",\n'
                             '  "inputs": [\n    "nan",\n    {"name": "x",\n     "name": "y"}\n  ]\n}\n')
        p, lines = self.run_job(job, "-n", "1")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn('job.json: line 6, column 6: duplicate key "name" (first at line 5, column 6)', p.stderr)
        self.assertEqual(lines, [])

    def test_lines_file_line_with_a_duplicate_key_fails_alone_naming_it(self):
        # A lines job reads its file as tasks start: a line that names a key twice is no input (which value
        # was meant cannot be known; it had become the last one), its task fails saying where, the rest run.
        lines_file = self.write_job('{"a": 1, "a": 2}\n{"b": 1}\n\n  {"x": {"y": 1, "y": 2}}\nplain text\n',
                                    "inputs.txt")
        job = self.write_job(json.dumps({"plugin": "echo", "inputs": {"lines": lines_file}}))
        p, lines = self.run_job(job, "-n", "1")
        self.assertEqual(p.returncode, 1, p.stderr)  # some tasks failed
        rows = sorted((json.loads(line) for line in lines), key=lambda r: r["index"])
        self.assertEqual([r["index"] for r in rows], [0, 1, 2, 3], lines)
        self.assertEqual(rows[0]["error"], '%s, line 1, column 10: duplicate key "a" (first at column 2): a key '
                         'may appear only once in an object' % lines_file)
        self.assertNotIn("output", rows[0])
        self.assertEqual(rows[1]["output"], {"b": 1})
        self.assertIn('%s, line 4, ' % lines_file, rows[2]["error"])  # the blank line 3 counts
        self.assertIn('duplicate key "y"', rows[2]["error"])
        self.assertEqual(rows[3]["output"], "plain text")


class ApiValuesTest(unittest.TestCase, Same):
    """pp's API and the Executor: values travel pickled, so they come back exactly (checked, not assumed)."""

    server = None

    @classmethod
    def setUpClass(cls):
        tfsupport.bound_test_time(200)
        cls.server = pp.Server(1)

    @classmethod
    def tearDownClass(cls):
        cls.server.destroy()

    def test_results_exact(self):
        jobs = [(name, self.server.submit(value, (name,))) for name in NAMES]
        for name, job in jobs:
            self.assertSameValue(job(), value(name), name)

    def test_arguments_exact(self):
        args = (float("nan"), float("inf"), -float("inf"), -0.0, [float("nan"), {"x": -float("inf")}])
        self.assertSameValue(self.server.submit(identity, args)(), args, "args")

    def test_executor_results_exact(self):
        with pp.Executor(max_workers=1) as ex:
            for name, got in zip(NAMES, ex.map(value, NAMES)):
                self.assertSameValue(got, value(name), name)


if __name__ == "__main__":
    unittest.main()
