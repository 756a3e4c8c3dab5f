#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fails when ctest did not run every suite CI must run (tests/ci-suites.txt), or skipped one.

ctest's own exit code misses both: --no-tests=error catches only an empty run, a suite that CMake
did not register (e.g. no Python embedding files) is simply absent, and a suite that skips in
initTestCase is reported "Skipped" with exit code 0.

    check-suites.py JUNIT_XML SUITES_FILE      (JUNIT_XML from ctest --output-junit)
"""

import sys
import xml.etree.ElementTree as ET


def main():
    junit, listing = sys.argv[1], sys.argv[2]
    with open(listing, encoding="utf-8") as f:
        expected = [line.split("#")[0].strip() for line in f]
    expected = [name for name in expected if name]
    ran, skipped, failed = set(), set(), set()
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name")
        status = case.get("status", "run")
        if case.find("skipped") is not None or status in ("notrun", "disabled"):
            skipped.add(name)
        elif case.find("failure") is not None or case.find("error") is not None or status == "fail":
            failed.add(name)
        else:
            ran.add(name)
    missing = [n for n in expected if n not in ran | skipped | failed]
    skipped_expected = sorted(n for n in expected if n in skipped)
    extra = sorted((ran | skipped | failed) - set(expected))
    print("check-suites: %d of %d required suites ran (%d failed)" % (
        len([n for n in expected if n in ran | failed]), len(expected), len(failed)))
    if extra:
        print("check-suites: not in %s (add them): %s" % (listing, " ".join(extra)))
    if missing:
        print("check-suites: MISSING (not registered or not run): %s" % " ".join(missing))
    if skipped_expected:
        print("check-suites: SKIPPED: %s" % " ".join(skipped_expected))
    return 1 if missing or skipped_expected or extra else 0


if __name__ == "__main__":
    sys.exit(main())
