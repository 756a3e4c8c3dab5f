#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Distance with the kernel's TCP (issue 27): 3 taskfleet-agents x 2 workers, each in a network namespace
# behind a packet-level switch that delays and drops frames (NETSIM, default ../shared/tools/netsim/netsim.sh),
# one `taskfleet-run -n 0 --node ... ` running TASKS sleeps of 50 ms. For each link (none; 50 ms each way;
# 50 +- 10 ms; 50 +- 10 ms with 2 % loss): a run on fresh agents (empty plugin caches) and a second run with
# the plugins cached (same state folders). Prints the job's wall time (process start to exit) and, from the
# event timeline (TASKFLEET_TIMELINE, docs/scale.md), each agent's start-up in round trips: controller start
# -> first task running there. Needs root. Usage:
#   bench/bench_distance_netsim.sh [BUILD_DIR] [--tasks N] [--rounds N] [--links LIST] [--stripped] [--keep DIR]
#   LIST: comma-separated of none,50,50j,50jl (default all four); --stripped ships a stripped copy of the sleep
#   plugin (19 KB, as the .deb installs it) instead of the build tree's (25 KB since the build splits debug
#   information into .so.debug files; 900 KB before, or with -DTASKFLEET_SPLIT_PLUGIN_DEBUG=OFF);
#   --keep keeps the timelines in DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
tasks=200
rounds=1
links=none,50,50j,50jl
keep=
stripped=
while [[ $# -gt 0 ]]; do
    case $1 in
    --tasks) tasks=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --links) links=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --stripped) stripped=1; shift ;;
    --quick) tasks=60; links=none,50; shift ;;
    -*) sed -n '3,12p' "$0"; exit 2 ;;
    *) build=$1; shift ;;
    esac
done
NETSIM=${NETSIM:-$here/../../shared/tools/netsim/netsim.sh}
[[ $(id -u) == 0 ]] || { echo "needs root (network namespaces)" >&2; exit 2; }
command -v ethtool >/dev/null || { echo "netsim needs ethtool (checksum offload off on its veths)" >&2; exit 2; }
[[ -x $NETSIM || -f $NETSIM ]] || { echo "no netsim at $NETSIM (set NETSIM=)" >&2; exit 2; }
bin=$(cd "$build/bin" && pwd)
plugins=$(cd "$build/plugins" && pwd)
py=$(command -v python3)
work=$(mktemp -d /tmp/tf-distance.XXXXXX)
agents=()
stop_agents() {
    for p in "${agents[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${agents[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    agents=()
}
cleanup() {
    stop_agents
    bash "$NETSIM" down || true
    [[ -n $keep ]] && { mkdir -p "$keep"; cp "$work"/*.timeline "$keep"/ 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT
(umask 077 && head -c 32 /dev/urandom | base64 >"$work/secret")
plugin=sleep
if [[ -n $stripped ]]; then
    mkdir -p "$work/plugins"
    strip -o "$work/plugins/libtaskfleet_sleep.so" "$plugins/libtaskfleet_sleep.so"
    plugin=$work/plugins/libtaskfleet_sleep.so
fi
"$py" - "$tasks" "$plugin" >"$work/job.json" <<'EOF'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"name": f"{n} sleeps of 50 ms", "plugin": sys.argv[2], "timeout": 60, "inputs": [50] * n}))
EOF

warm_neighbours() {
    # Static ARP entries both ways: on a real WAN the first hop is a router whose address is long resolved; through
    # the switch an ARP exchange would add a round trip to the first connection that is no part of Taskfleet.
    local rmac hmac
    rmac=$(cat /sys/class/net/tfsim-r/address)
    for i in 1 2 3; do
        hmac=$(ip netns exec tfsim-h$i cat /sys/class/net/eth0/address)
        ip neigh replace 10.253.0.1$i lladdr "$hmac" dev tfsim-r nud permanent
        ip -n tfsim-h$i neigh replace 10.253.0.1 lladdr "$rmac" dev eth0 nud permanent
    done
}

start_agents() { # fresh state folders
    rm -rf "$work"/agent*
    for i in 1 2 3; do
        TASKFLEET_TIMELINE=$work/run.timeline ip netns exec tfsim-h$i "$bin/taskfleet-agent" -i 10.253.0.1$i -p 45450 \
            -w 2 --state-dir "$work/agent$i" --secret-file "$work/secret" --no-discovery -t 0 \
            >"$work/agent$i.log" 2>&1 &
        agents+=($!)
    done
    for i in 1 2 3; do # bounded: 10 s
        for _ in $(seq 100); do
            ip netns exec tfsim-h$i ss -ltn 2>/dev/null | grep -q "10.253.0.1$i:45450" && break
            sleep 0.1
        done
    done
    sleep 0.5 # workers started
}

run_job() { # $1: label; prints wall seconds and start-up RTTs from the timeline
    local label=$1 rtt_ms=$2
    : >"$work/run.timeline"
    # The agents append to the same file (one write per line, O_APPEND): they were started with it.
    local t0 t1
    t0=$(date +%s.%N)
    TASKFLEET_TIMELINE=$work/run.timeline "$bin/taskfleet-run" -n 0 --node 10.253.0.11:45450 --node 10.253.0.12:45450 \
        --node 10.253.0.13:45450 --secret-file "$work/secret" --plugin-path "$plugins" --no-journal \
        --connect-timeout 30 -o "$work/results.jsonl" "$work/job.json" 2>"$work/run.log" || {
        echo "taskfleet-run failed ($label):" >&2
        tail -n 20 "$work/run.log" >&2
        return 1
    }
    t1=$(date +%s.%N)
    local ok
    ok=$(grep -c '"output"' "$work/results.jsonl" || true)
    [[ -n $keep ]] && cp "$work/run.timeline" "$work/${label// /_}.timeline" 2>/dev/null || true
    "$py" "$here/distance_timeline.py" --t0 "$t0" --t1 "$t1" --rtt-ms "$rtt_ms" --tasks "$tasks" --ok "$ok" \
        --label "$label" "$work/run.timeline"
}

echo "$tasks x 50 ms sleeps on 3 agents x 2 workers (kernel TCP through netsim), plugin $(stat -c %s "${plugin/#sleep/$plugins/libtaskfleet_sleep.so}") bytes; work $("$py" -c "print(f'{$tasks*0.05/6:.2f}')") s"
"$py" "$here/distance_timeline.py" --header
IFS=, read -ra L <<<"$links"
for l in "${L[@]}"; do
    case $l in
    none) d=0 j=0 loss=0 name="no delay" ;;
    50) d=50 j=0 loss=0 name="50 ms each way" ;;
    50j) d=50 j=10 loss=0 name="50+-10 ms" ;;
    50jl) d=50 j=10 loss=2 name="50+-10 ms, 2 % loss" ;;
    *) echo "unknown link $l" >&2; exit 2 ;;
    esac
    for r in $(seq "$rounds"); do
        stop_agents
        MAXSECS=300 bash "$NETSIM" up 3 "$d" "$j" "$loss" >/dev/null
        warm_neighbours
        start_agents
        run_job "$name, fresh" $((2 * d))
        run_job "$name, cached" $((2 * d))
        stop_agents
    done
done
