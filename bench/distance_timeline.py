#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reads a TASKFLEET_TIMELINE file of one taskfleet-run job (bench_distance_netsim.sh) and prints one table row:
wall time, x work, each agent's start-up (controller start -> first task running there) in round trips, and how
busy the workers were from the first second (or the last agent's first task, if later) until the last task
started; then the start-up timeline of the
slowest agent (ms after the controller's start).

Lines: "EPOCH_US SIDE NODE EVENT [DETAIL...]" (core/net/eventtimeline.h). A task's start on an agent is its
"task-done" time minus its runtime (DETAIL), both on the agent's clock (namespaces share the machine's clock).
"""
import argparse
import collections
import sys

WORKERS_PER_AGENT = 2
TASK_S = 0.05


def header():
    print(f"{'link, agents':34} {'wall, s':>8} {'x work':>7} {'start-up, RTT':>14} {'busy':>6}  ok")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--header', action='store_true')
    ap.add_argument('--t0', type=float)
    ap.add_argument('--t1', type=float)
    ap.add_argument('--rtt-ms', type=float, default=0)
    ap.add_argument('--tasks', type=int, default=200)
    ap.add_argument('--ok', type=int, default=-1)
    ap.add_argument('--label', default='')
    ap.add_argument('timeline', nargs='?')
    a = ap.parse_args()
    if a.header:
        header()
        return 0
    t0_us = a.t0 * 1e6
    ev = collections.defaultdict(list)  # (side, node) -> [(t_ms, event, detail)]
    with open(a.timeline) as f:
        for line in f:
            p = line.split()
            if len(p) < 4:
                continue
            t = (int(p[0]) - t0_us) / 1000.0
            ev[(p[1], p[2])].append((t, p[3], p[4:]))
    nodes = sorted({n for (_, n) in ev})
    starts = {}
    intervals = []
    for n in nodes:
        first = None
        # Tasks of this run only: a copy left over from the run before (a speculative duplicate) may end later.
        runs = [t for t, e, _ in ev.get(('agent', n), []) if e == 'run']
        for t, e, d in ev.get(('agent', n), []):
            if e == 'task-done' and runs and t - int(d[0]) / 1000.0 >= runs[0] - 1:
                s = t - int(d[0]) / 1000.0
                intervals.append((s, t))
                first = s if first is None else min(first, s)
        starts[n] = first
    wall = a.t1 - a.t0
    work = a.tasks * TASK_S / (WORKERS_PER_AGENT * len(nodes) if nodes else 1)
    known = [s for s in starts.values() if s is not None]
    if a.rtt_ms > 0 and known:
        startup = f"{min(known) / a.rtt_ms:.1f}-{max(known) / a.rtt_ms:.1f}"
    elif known:
        startup = f"{min(known):.0f}-{max(known):.0f} ms"
    else:
        startup = '?'
    busy = '?'
    if intervals:
        w0 = max([1000.0] + known)  # after the first second, and once every agent has started
        w1 = max(s for s, _ in intervals)
        if w1 > w0:
            covered = sum(max(0.0, min(e, w1) - max(s, w0)) for s, e in intervals)
            busy = f"{100 * covered / (WORKERS_PER_AGENT * len(nodes) * (w1 - w0)):.0f} %"
    print(f"{a.label:34} {wall:8.2f} {wall / work:7.2f} {startup:>14} {busy:>6}  {a.ok}/{a.tasks}", flush=True)
    # The slowest agent's start-up, event by event.
    if known:
        slow = max((n for n in nodes if starts[n] is not None), key=lambda n: starts[n])
        seen = set()
        steps = []
        merged = sorted([(t, 'ctl', e, d) for t, e, d in ev.get(('ctl', slow), [])]
                        + [(t, 'agent', e, d) for t, e, d in ev.get(('agent', slow), [])])
        for t, side, e, d in merged:
            if t > starts[slow] + 1:
                break
            if e in ('task-done', 'status', 'pong') or (side, e) in seen:
                continue
            seen.add((side, e))
            steps.append(f"{'A:' if side == 'agent' else ''}{e}{'(' + ','.join(d) + ')' if d else ''} {t:.0f}")
        steps.append(f"first task {starts[slow]:.0f}")
        last = max((t for t, e, _ in ev.get(('ctl', slow), []) if e == 'results'), default=None)
        tail = f"; last result {max(t for n in nodes for t, e, _ in ev.get(('ctl', n), []) if e == 'results'):.0f}, " \
               f"exit {wall * 1000:.0f}" if last is not None else ''
        print(f"    {slow}: " + ', '.join(steps) + tail)
    return 0


if __name__ == '__main__':
    sys.exit(main())
