#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing, builds everything with warnings on, and runs the whole test suite:
# first the normal build, then the tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install-deps.sh

jobs=$(nproc)
status=0

echo "== build (RelWithDebInfo)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
echo "== tests"
ctest --test-dir build --output-on-failure --timeout 600 || status=1
echo "== benchmarks, quick smoke run (no timing assertions)"
timeout 300 bash bench/run_all.sh build --quick || status=1

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTASKFLEET_SANITIZE=ON -DTASKFLEET_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j "$jobs"
echo "== tests under sanitizers"
ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --timeout 900 || status=1

echo "== fuzzing (libFuzzer, ${FUZZ_SECONDS:-45} s per target)"
bash .ci/fuzz.sh || status=1

exit $status
