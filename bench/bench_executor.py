#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""taskfleet's concurrent.futures Executor and joblib backend beside the standard library's
ProcessPoolExecutor and joblib's default backend (loky), in one run (issue 22's goals).

Each scenario runs in a fresh child process, the peer and taskfleet alternating:
- Executor.map(inc, range(N), chunksize=1000): calls/s, beside ProcessPoolExecutor(2) (ratio);
- one submit(...).result() round trip at a time: the median, beside ProcessPoolExecutor(2);
- a done-callback that calls get_stats(): the median time get_stats takes there (goal: < 50 ms);
- scikit-learn GridSearchCV(SVC(), grid, cv=5) on the bundled digits data: taskfleet on the local node
  (1 worker) plus one loopback taskfleet-agent (1 worker), beside joblib's default backend with
  n_jobs=2; both must give n_jobs=1's best_params_ and mean test scores.

Usage: bench/bench_executor.py [--build BUILD_DIR] [--quick]
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
SECRET = "bench_executor secret: long enough for a real cluster, loopback only"


def inc(x):
    return x + 1


# ---- children ---------------------------------------------------------------------------------

def executor(system, workers, node=""):
    if system == "taskfleet":
        import taskfleet
        if node:
            return taskfleet.Executor(workers, ppservers=(node,), secret=SECRET)
        return taskfleet.Executor(workers)
    import concurrent.futures
    return concurrent.futures.ProcessPoolExecutor(workers)


def child(args):
    out = {}
    if args.scenario == "map":
        with executor(args.system, 2) as ex:
            list(ex.map(inc, range(4000), chunksize=1000))  # workers up, code cached
            t0 = time.perf_counter()
            total = sum(ex.map(inc, range(args.n), chunksize=1000))
            seconds = time.perf_counter() - t0
        assert total == args.n * (args.n + 1) // 2
        out = {"rate": args.n / seconds, "seconds": seconds}
    elif args.scenario == "roundtrip":
        with executor(args.system, 2) as ex:
            for _ in range(20):
                ex.submit(inc, 1).result()
            times = []
            for i in range(args.n):
                t0 = time.perf_counter()
                ex.submit(inc, i).result()
                times.append(time.perf_counter() - t0)
        out = {"median_ms": statistics.median(times) * 1e3}
    elif args.scenario == "callback_stats":
        import threading
        import taskfleet
        with taskfleet.Executor(2) as ex:
            times = []
            done = threading.Event()

            def cb(_):
                t0 = time.perf_counter()
                ex.server.get_stats()
                times.append(time.perf_counter() - t0)
                done.set()
            for i in range(args.n):
                done.clear()
                ex.submit(inc, i).add_done_callback(cb)
                if not done.wait(60):
                    raise RuntimeError("the callback did not run within 60 s")
        out = {"median_ms": statistics.median(times) * 1e3, "max_ms": max(times) * 1e3}
    elif args.scenario == "gridsearch":
        from joblib import parallel_backend
        from sklearn.datasets import load_digits
        from sklearn.model_selection import GridSearchCV
        from sklearn.svm import SVC
        X, y = load_digits(return_X_y=True)
        if args.n:
            X, y = X[:args.n], y[:args.n]
        grid = {"C": [1, 10, 100], "gamma": [0.001, 0.0005, 0.0001]}
        # Each system first runs a small search, so that its workers have started and imported
        # scikit-learn (loky keeps its workers between calls, as taskfleet does): the timed search
        # compares dispatch and data movement, not interpreter start-up.
        warm = {"C": [1], "gamma": [0.001]}
        if args.system == "serial":
            t0 = time.perf_counter()
            search = GridSearchCV(SVC(), grid, cv=5, n_jobs=1).fit(X, y)
        elif args.system == "loky":
            GridSearchCV(SVC(), warm, cv=4, n_jobs=2).fit(X[:200], y[:200])
            t0 = time.perf_counter()
            search = GridSearchCV(SVC(), grid, cv=5, n_jobs=2).fit(X, y)
        else:
            import taskfleet.joblib
            ex = executor("taskfleet", 1, args.node)
            deadline = time.monotonic() + 20
            while len(ex.server.get_active_nodes()) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            with parallel_backend("taskfleet", executor=ex):
                GridSearchCV(SVC(), warm, cv=4, n_jobs=-1).fit(X[:200], y[:200])
                t0 = time.perf_counter()
                search = GridSearchCV(SVC(), grid, cv=5, n_jobs=-1).fit(X, y)
        seconds = time.perf_counter() - t0
        out = {"seconds": seconds, "best": search.best_params_,
               "scores": [float(s) for s in search.cv_results_["mean_test_score"]]}
    print(json.dumps(out), flush=True)


# ---- the parent ----------------------------------------------------------------------------------

def run_child(env, system, scenario, **kw):
    return pybench.run_child(__file__, env, system, scenario, **kw)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--quick", action="store_true", help="small sizes (CI's smoke run)")
    ap.add_argument("--child", nargs=2, metavar=("SYSTEM", "SCENARIO"), help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--node", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.system, args.scenario = args.child
        return child(args)

    build = os.path.abspath(args.build)
    env = pybench.taskfleet_env(build)
    q = args.quick
    rounds = 1 if q else 3
    rows = []

    def add(name, unit, peer_name, peer, ours, better, target, met):
        ratio = (ours / peer if better == "higher" else peer / ours) if peer and ours else float("nan")
        rows.append({"name": name, "unit": unit, "peer": peer_name, "peer_value": peer, "taskfleet": ours,
                     "ratio": ratio, "target": target, "met": met})
        print("  %-52s %s %10.4g  taskfleet %10.4g %s  (%.2fx)" % (name, peer_name, peer, ours, unit, ratio),
              file=sys.stderr, flush=True)

    n_map = 20000 if q else 200000
    best = {"ppe": 0.0, "taskfleet": 0.0}
    for _ in range(rounds):  # alternate; keep the best of each (the least disturbed run)
        for system in ("ppe", "taskfleet"):
            best[system] = max(best[system], run_child(env, system, "map", n=n_map)["rate"])
    add("Executor.map(inc, range(%d), chunksize=1000)" % n_map, "calls/s", "ProcessPoolExecutor(2)", best["ppe"],
        best["taskfleet"], "higher", ">= 200,000/s and > ProcessPoolExecutor",
        best["taskfleet"] >= 200000 and best["taskfleet"] > best["ppe"])

    n_rt = 200 if q else 2000
    rt = {s: statistics.median(run_child(env, s, "roundtrip", n=n_rt)["median_ms"] for _ in range(rounds))
          for s in ("ppe", "taskfleet")}
    add("submit(...).result(), one at a time (median)", "ms", "ProcessPoolExecutor(2)", rt["ppe"], rt["taskfleet"],
        "lower", "< ProcessPoolExecutor", rt["taskfleet"] < rt["ppe"])

    cb = run_child(env, "taskfleet", "callback_stats", n=20 if q else 200)
    add("get_stats() inside a done-callback (median; max %.1f ms)" % cb["max_ms"], "ms", "goal", 50.0,
        cb["median_ms"], "lower", "< 50 ms", cb["max_ms"] < 50)

    samples = 500 if q else 0
    tmp = tempfile.TemporaryDirectory(prefix="bench-exec-")
    agent, address = pybench.start_agent(build, tmp.name, SECRET, 1)
    try:
        serial = run_child(env, "serial", "gridsearch", n=samples)
        loky = run_child(env, "loky", "gridsearch", n=samples)
        ours = run_child(env, "taskfleet", "gridsearch", n=samples, node=address)
    finally:
        pybench.stop(agent)
        tmp.cleanup()
    same = ours["best"] == serial["best"] and ours["scores"] == serial["scores"]
    add("GridSearchCV(SVC(), 9 params, cv=5), digits%s: wall" % (" [:500]" if q else ""), "s",
        "joblib loky n_jobs=2", loky["seconds"], ours["seconds"], "lower",
        "same results as n_jobs=1 (serial %.2f s)" % serial["seconds"], same)

    print("\n| measure | peer | peer | taskfleet | ratio (x, >1 = taskfleet better) | target | met |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %.4g %s | %.4g %s | %.2f | %s | %s |" % (r["name"], r["peer"], r["peer_value"], r["unit"],
                                                            r["taskfleet"], r["unit"], r["ratio"], r["target"],
                                                            "yes" if r["met"] else "no"))
    print(json.dumps({"bench": "executor", "quick": q, "rows": rows}))
    if not same:
        print("bench_executor: GridSearchCV on taskfleet gave other results than n_jobs=1", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
