#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Parallel Python (ppft) and taskfleet's pp API side by side, in one run.

The same code runs with `import ppft as pp` and with `import taskfleet as pp`, each scenario in a
fresh child process: tiny tasks (x + 1) locally and through one loopback node (ppft's ppserver,
taskfleet-agent), one task at a time (median round trip), Server() to the first result, and pp's
sum-of-primes demo on 2 workers (wall time, parallel efficiency).

Usage: bench/bench_pp.py [--build BUILD_DIR] [--quick]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import pybench

SOURCE = pybench.SOURCE
PPFT = pybench.PPFT
SECRET = "bench_pp secret: long enough for a real cluster, loopback only"


# ---- what the child processes run (the "user's script") --------------------------------------

def inc(x):
    return x + 1


def _load_demo():
    # pp's demo functions, from resources/jobs/sum_primes.py, as this script's own (__main__) code.
    path = os.path.join(SOURCE, "resources", "jobs", "sum_primes.py")
    with open(path) as f:
        text = f.read()
    text = text.split('\nif __name__ == "__main__":')[0]
    exec(compile(text, path, "exec"), globals())


_load_demo()


def child(args):
    if args.system == "ppft":
        sys.path.insert(0, PPFT)
        import ppft as pp
    else:
        import taskfleet as pp
    ppservers = (args.node,) if args.node else ()
    ncpus = 0 if args.node else args.workers
    kw = {"secret": SECRET} if args.node else {}
    out = {}
    if args.scenario == "startup":
        t0 = time.perf_counter()
        s = pp.Server(ncpus, ppservers=ppservers, **kw)
        s.submit(inc, (1,))()
        out["seconds"] = time.perf_counter() - t0
    elif args.scenario == "tiny":
        s = pp.Server(ncpus, ppservers=ppservers, **kw)
        s.submit(inc, (0,))()  # warm: workers and code in place
        t0 = time.perf_counter()
        jobs = [s.submit(inc, (i,)) for i in range(args.n)]
        results = [j() for j in jobs]
        elapsed = time.perf_counter() - t0
        assert results == [i + 1 for i in range(args.n)]
        out["rate"] = args.n / elapsed
    elif args.scenario == "roundtrip":
        s = pp.Server(ncpus, ppservers=ppservers, **kw)
        s.submit(inc, (0,))()
        times = []
        for i in range(args.n):
            t0 = time.perf_counter()
            s.submit(inc, (i,))()
            times.append(time.perf_counter() - t0)
        out["median_ms"] = statistics.median(times) * 1e3
    elif args.scenario == "alone":
        # One big task at a time on one worker: how fast the worker's interpreter itself runs pure Python.
        s = pp.Server(1, ppservers=ppservers, **kw)
        s.submit(inc, (0,))()
        n = int(args.inputs)
        best = None
        for _ in range(args.n or 3):
            t0 = time.perf_counter()
            out["sum"] = s.submit(sum_primes, (n,), (isprime,), ("math",))()
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        out["seconds"] = best
    elif args.scenario == "demo":
        s = pp.Server(ncpus, ppservers=ppservers, **kw)
        inputs = [int(v) for v in args.inputs.split(",")]
        t0 = time.perf_counter()
        jobs = [s.submit(sum_primes, (n,), (isprime,), ("math",)) for n in inputs]
        out["sums"] = [j() for j in jobs]
        out["seconds"] = time.perf_counter() - t0
    s.destroy()
    print(json.dumps(out), flush=True)


# ---- the parent: runs the children and prints the table --------------------------------------

def run_child(system, scenario, env, **kw):
    return pybench.run_child(__file__, env, system, scenario, **kw)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--quick", action="store_true", help="small sizes (CI's smoke run)")
    ap.add_argument("--child", nargs=2, metavar=("SYSTEM", "SCENARIO"), help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--node", default="", help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=2, help=argparse.SUPPRESS)
    ap.add_argument("--inputs", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.system, args.scenario = args.child
        return child(args)

    build = os.path.abspath(args.build)
    if not os.path.isfile(os.path.join(PPFT, "ppft", "_pp.py")):
        print("bench_pp: ppft not found at %s (set PPFT_PATH): nothing to compare, skipped" % PPFT)
        return 0
    tf_env = pybench.taskfleet_env(build)
    pp_env = dict(os.environ, PYTHONPATH=PPFT)
    envs = {"ppft": pp_env, "taskfleet": tf_env}
    q = args.quick
    sizes = {
        "tiny_local": {"ppft": 2000 if q else 20000, "taskfleet": 5000 if q else 100000},
        "tiny_node": {"ppft": 40 if q else 300, "taskfleet": 5000 if q else 100000},
        "roundtrip": 200 if q else 2000,
        "startup_runs": 2 if q else 5,
        "demo_rounds": 1 if q else 7,
        "demo": [20000 + 1000 * i for i in range(4)] if q else [200000 + 1000 * i for i in range(12)],
    }
    rows = []  # (name, unit, ppft, taskfleet, better: "higher"/"lower", target text, target met)

    def add(name, unit, a, b, better, target, met):
        rows.append((name, unit, a, b, better, target, met))
        print("  %-44s ppft %10.4g  taskfleet %10.4g %s" % (name, a, b, unit), file=sys.stderr, flush=True)

    print("bench_pp: ppft from %s, taskfleet from %s%s" % (PPFT, build, " (--quick)" if q else ""),
          file=sys.stderr, flush=True)
    r = {s: run_child(s, "tiny", envs[s], n=sizes["tiny_local"][s]) for s in envs}
    add("tiny tasks, local, 2 workers", "tasks/s", r["ppft"]["rate"], r["taskfleet"]["rate"], "higher",
        ">= 10x ppft", r["taskfleet"]["rate"] >= 10 * r["ppft"]["rate"])

    tmp = tempfile.TemporaryDirectory(prefix="bench-pp-")
    ppserver, pp_addr = pybench.start_ppserver(SECRET)
    agent, tf_addr = pybench.start_agent(build, tmp.name, SECRET)
    try:
        a = run_child("ppft", "tiny", pp_env, n=sizes["tiny_node"]["ppft"], node=pp_addr)
        b = run_child("taskfleet", "tiny", tf_env, n=sizes["tiny_node"]["taskfleet"], node=tf_addr)
        add("tiny tasks, one loopback node (2 workers)", "tasks/s", a["rate"], b["rate"], "higher",
            ">= 20000/s", b["rate"] >= 20000)
    finally:
        pybench.stop(ppserver)
        pybench.stop(agent)
        tmp.cleanup()

    r = {s: run_child(s, "roundtrip", envs[s], n=sizes["roundtrip"]) for s in envs}
    add("submit -> result, one at a time (median)", "ms", r["ppft"]["median_ms"], r["taskfleet"]["median_ms"],
        "lower", "< ppft", r["taskfleet"]["median_ms"] < r["ppft"]["median_ms"])

    r = {s: statistics.median(run_child(s, "startup", envs[s])["seconds"] for _ in range(sizes["startup_runs"]))
         for s in envs}
    add("Server() -> first result (median)", "s", r["ppft"], r["taskfleet"], "lower", "< ppft",
        r["taskfleet"] < r["ppft"])

    # The demo is seconds of pure CPU: on a shared machine one run of it varies by 20-30 % (steal time),
    # more than the difference measured. So: rounds that interleave serial, ppft and taskfleet (who goes
    # first alternates), and the best of each (the run least disturbed); the medians are printed too.
    inputs = sizes["demo"]
    demo = {s: [] for s in envs}
    serials = []
    for _ in range(sizes["demo_rounds"]):
        t0 = time.perf_counter()
        serial_sums = [sum_primes(n) for n in inputs]
        serials.append(time.perf_counter() - t0)
        order = list(envs) if len(serials) % 2 else list(reversed(list(envs)))  # alternate who goes first
        for s in order:
            out = run_child(s, "demo", envs[s], inputs=",".join(map(str, inputs)))
            assert out["sums"] == serial_sums, s + " computed wrong sums"
            demo[s].append(out["seconds"])
    serial = min(serials)
    r = {s: {"seconds": min(demo[s])} for s in envs}
    print("  demo rounds (s): serial %s; %s" % (
        " ".join("%.2f" % x for x in serials),
        "; ".join("%s %s (median %.2f)" % (s, " ".join("%.2f" % x for x in demo[s]), statistics.median(demo[s]))
                  for s in envs)), file=sys.stderr, flush=True)
    eff = {s: serial / (2 * r[s]["seconds"]) for s in envs}

    # Why the demo's efficiency can fall short: the interpreter a task runs in. ppft's workers are this
    # python3 (Debian's is statically linked with libpython); taskfleet's python plugin embeds the shared
    # libpython3.x.so. One task alone on one worker against the same call here, best of 3 each.
    n_alone = inputs[-1]
    here = None
    for _ in range(3):
        t0 = time.perf_counter()
        expected = sum_primes(n_alone)
        dt = time.perf_counter() - t0
        here = dt if here is None else min(here, dt)
    alone = {}
    for s in envs:
        out = run_child(s, "alone", envs[s], inputs=n_alone, n=3)
        assert out["sum"] == expected, s + " computed a wrong sum"
        alone[s] = out["seconds"]
    add("one sum_primes task alone / same call here", "x", alone["ppft"] / here, alone["taskfleet"] / here, "lower",
        "(diagnostic)", None)
    add("sum_primes demo, 2 workers: wall time (best of rounds)", "s", r["ppft"]["seconds"], r["taskfleet"]["seconds"], "lower",
        "<= ppft", r["taskfleet"]["seconds"] <= r["ppft"]["seconds"] * 1.02)
    add("sum_primes demo, 2 workers: parallel efficiency", "", eff["ppft"], eff["taskfleet"], "higher",
        ">= 0.95", eff["taskfleet"] >= 0.95)

    print()
    print("Parallel Python (ppft %s) and taskfleet's pp API, same machine, same run%s"
          % ("1.7", ", --quick sizes" if q else ""))
    print("(serial sum_primes time %.2f s for %d inputs; tiny sizes: ppft %d/%d, taskfleet %d/%d local/node)"
          % (serial, len(inputs), sizes["tiny_local"]["ppft"], sizes["tiny_node"]["ppft"],
             sizes["tiny_local"]["taskfleet"], sizes["tiny_node"]["taskfleet"]))
    print("%-48s | %12s | %12s | %8s | %-12s | %s" % ("measure", "ppft", "taskfleet", "ratio", "target", "met"))
    print("-" * 110)
    for name, unit, a, b, better, target, met in rows:
        ratio = (b / a if better == "higher" else a / b) if a and b else float("nan")
        fmt = lambda v: ("%.3f" % v) if v < 100 else ("%.0f" % v)
        print("%-48s | %12s | %12s | %7.2fx | %-12s | %s" % (name + (" (%s)" % unit if unit else ""), fmt(a),
                                                             fmt(b), ratio, target, "-" if met is None else "yes" if met else "NO"))
    print("(ratio: how many times better taskfleet is; > 1 is better)")
    print(json.dumps({"bench": "bench_pp", "quick": q, "results": [
        {"measure": n, "unit": u, "ppft": a, "taskfleet": b, "target": t, "met": m}
        for n, u, a, b, _, t, m in rows]}))
    # Targets are for the full sizes; a missed one is printed ("NO"), not an error of the run.
    return 0


if __name__ == "__main__":
    sys.exit(main())
