#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A packet switch that delays, jitters and drops Ethernet frames between network namespaces.

    packetswitch.py [--delay-ms D] [--jitter-ms J] [--loss-pct L] [--seed S] [--max-seconds T]
                    [--ifname NAME] NETNS [NETNS ...]

This kernel has no sch_netem, so a WAN is made in user space, one level below TCP: for each NETNS (a
name under /var/run/netns, made beforehand with `ip netns add`) the switch creates a TAP device NAME
(default "tfsw0") inside that namespace and keeps its file descriptor. Every frame a namespace sends
through its TAP device is read here and written to the destination namespace's TAP device after
D ± J ms (uniform; with J > 0 frames may overtake each other, as on a real path), or dropped with
probability L %. The kernel's own TCP runs at both ends, so handshakes, slow start, retransmission
timeouts and reordering are real -- unlike a relay that re-sends a byte stream.

The switch only makes the devices: the caller gives them addresses and sets them up (`ip -n NETNS addr
add ... dev NAME; ip -n NETNS link set NAME up`). It prints "ready" on stdout once every device exists.

A frame goes to the port that sent a frame from its destination MAC address (learned), else to every
other port (broadcast, ARP, unknown). One frame from A to B is delayed once: D each way.

Bounded: it exits after --max-seconds (default 300), on SIGTERM/SIGINT, and when its parent dies
(PR_SET_PDEATHSIG), so it never outlives the test that started it. Its TAP devices are not persistent:
the kernel removes them when the switch exits. Python 3 standard library only; needs root.
"""

import argparse
import ctypes
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA  # _IOW('T', 202, int)
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000  # raw Ethernet frames, no 4-byte packet-information header
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1

libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


def open_tap(netns, ifname):
    """A TAP device named ifname inside namespace netns; returns its non-blocking fd.

    A TUN/TAP device is created in the network namespace of the process that opens /dev/net/tun, so the
    switch enters netns for the open and the TUNSETIFF, then returns to its own namespace. The fd keeps
    working from any namespace."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(os.path.join("/var/run/netns", netns), os.O_RDONLY)
    try:
        setns(target)
        try:
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
            try:
                fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", ifname.encode(), IFF_TAP | IFF_NO_PI))
            except OSError:
                os.close(fd)
                raise
        finally:
            setns(own)
    finally:
        os.close(target)
        os.close(own)
    return fd


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--delay-ms", type=float, default=0.0, help="one-way delay of every frame")
    ap.add_argument("--jitter-ms", type=float, default=0.0, help="delay is uniform in delay ± jitter")
    ap.add_argument("--loss-pct", type=float, default=0.0, help="share of frames dropped")
    ap.add_argument("--seed", type=int, default=1, help="random seed for jitter and loss (reproducible runs)")
    ap.add_argument("--max-seconds", type=float, default=300.0, help="exit after this long, whatever happens")
    ap.add_argument("--ifname", default="tfsw0", help="name of the TAP device in each namespace")
    ap.add_argument("netns", nargs="+", help="network namespaces (ip netns add) to connect")
    args = ap.parse_args()

    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)  # the test that started us is gone: so are we
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    deadline = time.monotonic() + args.max_seconds

    ports = [open_tap(ns, args.ifname) for ns in args.netns]  # port i = namespace i
    print("ready", flush=True)

    rnd = random.Random(args.seed)
    where = {}  # MAC address -> port that sent from it
    queue = []  # heap of (due time, sequence number, out port, frame): the frames on the wire
    seq = 0
    counts = {"in": 0, "out": 0, "lost": 0}
    poller = select.poll()
    for fd in ports:
        poller.register(fd, select.POLLIN)

    while not stop and time.monotonic() < deadline:
        now = time.monotonic()
        wait_ms = 200 if not queue else max(0, int((queue[0][0] - now) * 1000))
        try:
            events = poller.poll(min(wait_ms, 200))
        except InterruptedError:
            events = []
        for fd, _ in events:
            src = ports.index(fd)
            for _ in range(256):  # drain, bounded so that one busy port cannot starve the queue
                try:
                    frame = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if len(frame) < 14:
                    continue
                counts["in"] += 1
                dst_mac, src_mac = frame[0:6], frame[6:12]
                where[src_mac] = src
                dst = where.get(dst_mac)
                outs = [dst] if dst is not None and dst != src else [p for p in range(len(ports)) if p != src]
                for out in outs:
                    if args.loss_pct > 0 and rnd.random() * 100 < args.loss_pct:
                        counts["lost"] += 1
                        continue
                    delay = args.delay_ms + (rnd.uniform(-args.jitter_ms, args.jitter_ms) if args.jitter_ms else 0)
                    seq += 1
                    heapq.heappush(queue, (time.monotonic() + max(0.0, delay) / 1000, seq, out, frame))
        now = time.monotonic()
        while queue and queue[0][0] <= now:  # everything due: onto the destination's device
            _, _, out, frame = heapq.heappop(queue)
            try:
                os.write(ports[out], frame)
                counts["out"] += 1
            except OSError:  # device down or its queue full: the frame is lost, as on a wire
                counts["lost"] += 1
    print("frames in %(in)d, out %(out)d, lost %(lost)d" % counts, flush=True)
    for fd in ports:
        os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
