#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A pp client program for the deployment tests (.ci/deb-test.sh, .ci/docker-test.sh): Parallel Python's
sum-of-primes demo through ``import taskfleet as pp``, each result checked against a sieve (computed here,
independently of the task code). Prints "input sum node" lines; exits non-zero on any wrong or missing sum.

  pp_sum_primes.py --ncpus 2                                   local workers
  pp_sum_primes.py --ppservers 127.0.0.1:45450 --secret-file F  an agent (ncpus 0: every task runs there)
  pp_sum_primes.py --listen-agent /usr/bin/taskfleet-agent --secret-file F
        Server(listen="127.0.0.1:0"), then that agent started with --connect 127.0.0.1:<listen_port>
        --no-listen: it dials this program, which waits until it is online (dialed_in) and runs the tasks on it.

Options: --inputs N... (default: those of resources/jobs/sum_primes.json), --expect-package DIR (the
taskfleet package must be imported from DIR: the installed one, not a checkout's), --agent-workers N,
--agent-state-dir DIR, --timeout S (the whole program, default 240).
"""

import argparse
import faulthandler
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


# ---- the task: Parallel Python's demo, as in resources/jobs/sum_primes.py -------------------
def isprime(n):
    """Returns True if n is prime and False otherwise"""
    if not isinstance(n, int):
        raise TypeError("argument passed to is_prime is not of 'int' type")
    if n < 2:
        return False
    if n == 2:
        return True
    max = int(math.ceil(math.sqrt(n)))
    i = 2
    while i <= max:
        if n % i == 0:
            return False
        i += 1
    return True


def sum_primes(n):
    """Calculates sum of all primes below given integer n"""
    return sum([x for x in range(2, n) if isprime(x)])


# ---- the reference: a sieve, run here ------------------------------------------------------
def sieve_sums(inputs):
    top = max(inputs)
    composite = bytearray(top)
    for i in range(2, math.isqrt(top - 1) + 1):
        if not composite[i]:
            composite[i * i::i] = b"\1" * len(range(i * i, top, i))
    return {n: sum(i for i in range(2, n) if not composite[i]) for n in inputs}


class Timeout(Exception):
    pass


def log(text):
    print("pp_sum_primes: " + text, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ncpus", type=int, default=None,
                    help="local workers (default 0 with --ppservers or --listen-agent, else 2)")
    ap.add_argument("--ppservers", action="append", default=[], metavar="HOST:PORT")
    ap.add_argument("--secret-file", help="the cluster secret (whitespace-trimmed, as the agent reads it)")
    ap.add_argument("--listen", default=None, metavar="ADDR:PORT",
                    help="Server(listen=...) (default 127.0.0.1:0 with --listen-agent)")
    ap.add_argument("--listen-agent", metavar="PATH", help="start this taskfleet-agent, dialing the program")
    ap.add_argument("--agent-workers", type=int, default=2)
    ap.add_argument("--agent-state-dir", default=None)
    ap.add_argument("--inputs", type=int, nargs="+", default=list(range(100000, 100800, 100)))
    ap.add_argument("--expect-package", metavar="DIR", help="fail unless taskfleet is imported from DIR")
    ap.add_argument("--timeout", type=int, default=240)
    args = ap.parse_args()

    remote = bool(args.ppservers or args.listen_agent)
    ncpus = args.ncpus if args.ncpus is not None else (0 if remote else 2)
    listen = args.listen if args.listen is not None else ("127.0.0.1:0" if args.listen_agent else None)
    secret = None
    if args.secret_file:
        with open(args.secret_file) as f:
            secret = f.read().strip()
    elif remote:
        ap.error("--ppservers and --listen-agent need --secret-file")

    # Bounded: an alarm raises in the main thread (the finally below still stops the agent); should even
    # that hang, faulthandler ends the process with a traceback of every thread.
    def on_alarm(signum, frame):
        raise Timeout("no answer within %d s" % args.timeout)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.timeout)
    faulthandler.dump_traceback_later(args.timeout + 30, exit=True)

    import taskfleet as pp
    package_dir = os.path.dirname(os.path.abspath(pp.__file__))
    log("taskfleet %s from %s, Python %s (%s)" % (pp.__version__, package_dir, sys.version.split()[0],
                                                    sys.executable))
    if args.expect_package and package_dir != os.path.abspath(args.expect_package):
        log("FAILED: taskfleet imported from %s, expected %s" % (package_dir, args.expect_package))
        return 1

    expected = sieve_sums(args.inputs)
    failures = []   # found while cleaning up
    rc = run(args, pp, ncpus, listen, secret, expected, failures)
    return rc or (1 if failures else 0)


def run(args, pp, ncpus, listen, secret, expected, failures):
    remote = bool(args.ppservers or args.listen_agent)
    agent = None
    state_dir = None
    server = None
    start = time.monotonic()
    try:
        server = pp.Server(ncpus=ncpus, ppservers=tuple(args.ppservers), secret=secret, listen=listen)
        what = "Server(ncpus=%d%s%s)" % (ncpus, ", ppservers=%r" % (tuple(args.ppservers),) if args.ppservers else "",
                                         ", listen=%r" % listen if listen else "")
        if listen is not None:
            if not server.listen_port:
                log("FAILED: %s: no listen_port" % what)
                return 1
            what += ": listen_port %d" % server.listen_port
        log(what)

        if args.listen_agent:
            state_dir = args.agent_state_dir or tempfile.mkdtemp(prefix="pp-agent-")
            os.makedirs(state_dir, mode=0o700, exist_ok=True)
            argv = [args.listen_agent, "--connect", "127.0.0.1:%d" % server.listen_port, "--no-listen",
                    "--state-dir", state_dir, "-w", str(args.agent_workers), "--secret-file", args.secret_file,
                    "-t", "30"]
            log("+ " + " ".join(argv))
            agent_log = open(os.path.join(state_dir, "agent.log"), "w+")
            agent = subprocess.Popen(argv, stdout=agent_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while True:
                dialed = [n for n in server.nodes() if n.get("dialed_in") and n.get("state") == "online"]
                if dialed:
                    break
                if agent.poll() is not None:
                    agent_log.seek(0)
                    log("FAILED: the agent exited (%d):\n%s" % (agent.returncode, agent_log.read()))
                    return 1
                if time.monotonic() > deadline:
                    log("FAILED: the agent did not dial in within 60 s; nodes: %r" % server.nodes())
                    return 1
                time.sleep(0.2)
            names = ", ".join("%s (%s workers)" % (n.get("name"), n.get("workers")) for n in dialed)
            log("agent pid %d dialed in after %.2f s: %s" % (agent.pid, time.monotonic() - start, names))

        t_jobs = time.monotonic()
        jobs = [(n, server.submit(sum_primes, (n,), (isprime,), ("math",))) for n in args.inputs]
        wrong = 0
        for n, job in jobs:
            got = job()
            ok = got == expected[n]
            wrong += not ok
            print("%d %s %s%s" % (n, got, getattr(job, "node", None) or "?",
                                  "" if ok else "   WRONG: expected %d" % expected[n]), flush=True)
        took = time.monotonic() - t_jobs

        stats = server.get_stats()
        ran = {name: s.njobs for name, s in stats.items() if s.njobs}
        log("tasks per node: %s" % ", ".join("%s %d" % kv for kv in sorted(ran.items())))
        if wrong:
            log("FAILED: %d of %d sums wrong" % (wrong, len(jobs)))
            return 1
        if sum(ran.values()) != len(jobs):
            log("FAILED: the statistics count %d tasks, not %d" % (sum(ran.values()), len(jobs)))
            return 1
        if ncpus == 0 and ran.get("local", 0):
            log("FAILED: ncpus=0, yet %d tasks ran locally" % ran["local"])
            return 1
        if ncpus > 0 and not remote and ran.get("local", 0) != len(jobs):
            log("FAILED: local workers only, yet the tasks ran on %r" % ran)
            return 1
        log("%d right sums in %.2f s (%.2f s with the start): %s" % (
            len(jobs), took, time.monotonic() - start, " ".join(str(expected[n]) for n in args.inputs)))
        return 0
    except Timeout as e:
        log("FAILED: %s" % e)
        return 1
    finally:
        signal.alarm(0)
        if server is not None:
            server.destroy()
        if agent is not None:
            if agent.poll() is None:
                agent.terminate()
                try:
                    agent.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    agent.kill()
                    agent.wait(timeout=15)
            log("agent exited %d" % agent.returncode)
            if agent.returncode not in (0, -signal.SIGTERM):
                agent_log.seek(0)
                print(agent_log.read(), flush=True)
                log("FAILED: the agent did not stop cleanly on SIGTERM (exit %d)" % agent.returncode)
                failures.append("agent exit")
            agent_log.close()
        if state_dir is not None and args.agent_state_dir is None:
            shutil.rmtree(state_dir, ignore_errors=True)
        faulthandler.cancel_dump_traceback_later()


if __name__ == "__main__":
    sys.exit(main())
