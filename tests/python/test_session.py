#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The engine behind pp's API (taskfleet-run --session) with a journal (--journal FILE) that cannot be
written: a full disk, made here by a file-size limit on the engine (RLIMIT_FSIZE, SIGXFSZ ignored, so
writes past it fail with EFBIG as they would with ENOSPC). The session must say so as it happens, naming
the file and the reason, lose no result, and end saying that the journal is incomplete (the
failure was once silent). A journal with room is complete and says nothing.

Run as a script (ctest does): the functions below are then the user's own (__main__) code.
"""

import os
import re
import subprocess
import sys
import tempfile
import textwrap
import unittest

import tfsupport

RUN = os.environ.get("TASKFLEET_RUN", "build/bin/taskfleet-run")

# The engine as the client starts it, with --journal and a file-size limit added (a wrapper in
# TASKFLEET_RUN: the client starts whatever that names).
WRAPPER = textwrap.dedent('''\
    #!/usr/bin/python3
    import os, resource, signal, sys
    limit = int(os.environ["TEST_FSIZE_LIMIT"])
    if limit > 0:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    os.execv(os.environ["TEST_REAL_RUN"], [os.environ["TEST_REAL_RUN"]] + sys.argv[1:]
             + ["--journal", os.environ["TEST_JOURNAL"]])
''')

# The client: 40 tasks of 4 KiB results each (the journal needs about 170 KB), every result checked.
CLIENT = textwrap.dedent('''\
    import taskfleet as pp

    def block(i):
        return str(i % 10) * 4096

    server = pp.Server(1)
    jobs = [server.submit(block, (i,)) for i in range(40)]
    bad = [i for i, job in enumerate(jobs) if job() != str(i % 10) * 4096]
    print("results ok" if not bad else "wrong results: %r" % bad)
    server.destroy()
''')


class SessionJournal(unittest.TestCase):
    def run_client(self, limit):
        tmp = tempfile.mkdtemp(prefix="tf-session-")
        wrapper = os.path.join(tmp, "taskfleet-run")
        with open(wrapper, "w") as f:
            f.write(WRAPPER)
        os.chmod(wrapper, 0o755)
        client = os.path.join(tmp, "client.py")
        with open(client, "w") as f:
            f.write(CLIENT)
        journal = os.path.join(tmp, "session.tfj")
        env = dict(os.environ, TASKFLEET_RUN=wrapper, TEST_REAL_RUN=os.path.abspath(RUN), TEST_JOURNAL=journal,
                   TEST_FSIZE_LIMIT=str(limit))
        p = subprocess.run([sys.executable, client], env=env, capture_output=True, text=True, timeout=120)
        return p, journal

    def test_full_journal_is_said_and_loses_nothing(self):
        p, journal = self.run_client(48 * 1024)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("results ok", p.stdout, p.stderr)
        # Said to the client as it happened (the client prints warning frames), with the path and the reason.
        self.assertIn("taskfleet: warning: cannot write journal %s: File too large" % journal, p.stderr)
        self.assertIn("the session goes on without a journal", p.stderr)
        self.assertEqual(p.stderr.count("taskfleet: warning: cannot write journal"), 1, p.stderr)  # once
        # And by the engine as it ends, for whoever reads its log.
        self.assertRegex(p.stderr, "(?m)^taskfleet-run: cannot write journal %s: File too large; the journal is "
                         "incomplete$" % re.escape(journal))
        self.assertLessEqual(os.path.getsize(journal), 48 * 1024)

    def test_journal_with_room_is_complete_and_quiet(self):
        p, journal = self.run_client(0)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("results ok", p.stdout, p.stderr)
        self.assertNotIn("cannot write journal", p.stderr)
        self.assertGreater(os.path.getsize(journal), 40 * 4096)  # every result is in it


if __name__ == "__main__":
    tfsupport.bound_test_time()
    unittest.main()
