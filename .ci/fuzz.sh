#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time on seeds
# made by make_fuzz_seeds (the project's own encoders) plus the inputs that once crashed it
# (tests/fuzz/regressions/). A crash fails the run and leaves the input in BUILD_DIR/findings.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}
# BUILD_DIR (default build-fuzz): a clang build configured with TASKFLEET_BUILD_FUZZ=ON and TASKFLEET_SANITIZE=ON.
# test.sh passes its sanitizer build (build-asan), which already holds the targets; alone, this script
# configures build-fuzz itself.
build=${1:-build-fuzz}
if [ "$build" = build-fuzz ]; then
    CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DTASKFLEET_BUILD_FUZZ=ON -DTASKFLEET_SANITIZE=ON \
        -DTASKFLEET_BUILD_TESTS=OFF -DTASKFLEET_BUILD_GUI=OFF -DTASKFLEET_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target fuzz_frame fuzz_messages fuzz_beacon fuzz_jobfile fuzz_journal make_fuzz_seeds
rm -rf "$build"/seeds
"$build"/bin/make_fuzz_seeds "$build"/seeds resources/jobs

status=0
mkdir -p "$build"/findings
for target in frame messages beacon jobfile journal; do
    work=$(mktemp -d)
    cp "$build"/seeds/$target/* "$work"/
    if [ -d tests/fuzz/regressions/$target ]; then cp tests/fuzz/regressions/$target/* "$work"/; fi
    log=$build/fuzz_$target.log
    if ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$build"/bin/fuzz_$target -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 \
        -artifact_prefix="$build"/findings/$target- "$work" >"$log" 2>&1; then
        echo "fuzz_$target: $(grep -E '^Done [0-9]+ runs' "$log" | tail -1)"
    else
        echo "fuzz_$target: FAILED (see $log and $build/findings/)"
        grep -E 'ERROR|SUMMARY|#[0-9]+ ' "$log" | head -20 || true
        status=1
    fi
    rm -rf "$work"
done
exit $status
