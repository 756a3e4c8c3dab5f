#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every benchmark program of a build tree in turn; extra arguments (e.g. --quick) go to each.
# Usage: bench/run_all.sh [BUILD_DIR] [--quick]   (BUILD_DIR defaults to ./build)
# Exits non-zero if any program fails; prints each table and, at the end, all JSON lines.
set -uo pipefail
build=build
if [[ $# -gt 0 && $1 != --* ]]; then
    build=$1
    shift
fi
bin="$build/bin"
status=0
json=()
for b in bench_local_echo bench_agent_echo bench_sumprimes bench_big_job bench_many_agents bench_distance bench_python \
    bench_bigdata_run bench_fairshare bench_storm bench_window_scale; do
    echo "== $b $*"
    if ! out=$("$bin/$b" "$@"); then
        echo "$out"
        echo "!! $b failed" >&2
        status=1
        continue
    fi
    echo "$out"
    json+=("$(grep '^{' <<<"$out" | tail -n 1)")
done
# The Python client beside its peers, each in one run: ppft (../shared/peers/ppft) for pp's API and big
# values, ProcessPoolExecutor and joblib's loky for the Executor and the joblib backend, Dask where installed.
if [[ -x /usr/bin/python3 ]]; then
    for py in bench_pp.py bench_executor.py bench_bigdata.py; do
        echo "== $py $*"
        if ! out=$(/usr/bin/python3 "$(dirname "$0")/$py" --build "$build" "$@"); then
            echo "$out"
            echo "!! $py failed" >&2
            status=1
        else
            echo "$out"
            json+=("$(grep '^{' <<<"$out" | tail -n 1)")
        fi
    done
fi
echo "== JSON"
printf '%s\n' "${json[@]}"
exit $status
