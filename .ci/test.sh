#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing, builds everything with warnings on, and runs the whole test suite:
# first the normal build, then the tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install-deps.sh

jobs=$(nproc)
status=0
# Every test must run: ctest fails on an empty run, and where we are root (CI) a suite that needs
# root (namespaces) fails instead of skipping.
ctest_flags=(--output-on-failure --no-tests=error)
if [ "$(id -u)" -eq 0 ]; then
    export TASKFLEET_REQUIRE_ROOT_TESTS=1
fi
step_start=$(date +%s)
step() { echo "== $1 (after $(( $(date +%s) - step_start )) s)"; current_step=$1; }
# The verdict of every step, printed as a table at the end: a newcomer sees at once which step broke.
verdicts=()
verdict() {   # verdict STATUS: records the current step's result (0 = passed)
    if [ "$1" -eq 0 ]; then verdicts+=("passed  $current_step"); else verdicts+=("FAILED  $current_step"); status=1; fi
}
# ctest writes JUnit; .ci/check-suites.py compares it with tests/ci-suites.txt, so that a suite that is not
# registered, not run or skipped fails CI (ctest's exit code misses all three). Enforced where we are root
# (CI), where no suite has a reason to skip; elsewhere it is printed.
check_suites() {   # check_suites BUILD_DIR
    local rc=0
    /usr/bin/python3 .ci/check-suites.py "$1/ctest-junit.xml" tests/ci-suites.txt || rc=$?
    if [ "$rc" -ne 0 ] && [ "$(id -u)" -ne 0 ]; then
        echo "check-suites: not root, so suites that need root may skip: not counted as a failure"
        rc=0
    fi
    return $rc
}

# The bare Debian root file system the package and container tests start from, made in the background
# while the build and the tests run: on a fresh machine debootstrap is minutes of mostly network time.
# (Cached: on a machine that has it this returns at once. Needs root, as those two tests do.)
rootfs_pid=""
rootfs_log=$(mktemp)
if [ "$(id -u)" -eq 0 ]; then
    bash .ci/debian-rootfs.sh >"$rootfs_log" 2>&1 &
    rootfs_pid=$!
fi
# If a step ends the script early (set -e), the background job and its log go with it.
trap '[ -n "$rootfs_pid" ] && kill "$rootfs_pid" 2>/dev/null; rm -f "$rootfs_log"' EXIT

step "format (.clang-format)"
rc=0; bash .ci/format-check.sh || rc=$?; verdict $rc

step "build (RelWithDebInfo)"
# Every option this script relies on is set here, whatever an earlier configure of build/ left
# in its cache (the quick start, a developer's own settings).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTASKFLEET_BUILD_GUI=ON \
    -DTASKFLEET_BUILD_TESTS=ON -DTASKFLEET_BUILD_BENCH=ON -DTASKFLEET_SANITIZE=OFF -DTASKFLEET_BUILD_FUZZ=OFF >/dev/null
rc=0; cmake --build build -j "$jobs" || rc=$?; verdict $rc
[ "$rc" -eq 0 ] || { printf '%s\n' "${verdicts[@]}"; exit 1; }
step "tests"
rc=0; ctest --test-dir build "${ctest_flags[@]}" -j "$jobs" --timeout 600 --output-junit "$PWD/build/ctest-junit.xml" || rc=$?
verdict $rc
step "every required suite ran in build/ (tests/ci-suites.txt)"
rc=0; check_suites build || rc=$?; verdict $rc
step "benchmarks, quick smoke run (no timing assertions)"
rc=0; timeout 300 bash bench/run_all.sh build --quick || rc=$?; verdict $rc

if [ -n "$rootfs_pid" ] && ! wait "$rootfs_pid"; then
    echo "== the Debian root file system could not be made:"
    cat "$rootfs_log"
    current_step="the bare Debian root file system (.ci/debian-rootfs.sh)"
    verdict 1
fi
rootfs_pid=""
step "Debian package: build-deb, cpack -G DEB, install/run/purge in a bare Debian 12 chroot"
rc=0; bash .ci/deb-test.sh || rc=$?; verdict $rc
step "containers: Dockerfile, swarm stack and docker run recipe on a private dockerd"
rc=0; bash .ci/docker-test.sh build || rc=$?; verdict $rc

step "build (ASan + UBSan, clang, with the libFuzzer targets)"
# One sanitizer build serves the tests and the fuzzers: clang, so it can hold the libFuzzer targets (a
# separate fuzz build cost CI over two minutes). A build-asan configured earlier with another compiler
# is configured afresh (CMake keeps the first compiler in its cache).
if [ -f build-asan/CMakeCache.txt ] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' build-asan/CMakeCache.txt; then
    rm -rf build-asan
fi
CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTASKFLEET_BUILD_GUI=ON \
    -DTASKFLEET_BUILD_TESTS=ON -DTASKFLEET_SANITIZE=ON -DTASKFLEET_BUILD_BENCH=OFF -DTASKFLEET_BUILD_FUZZ=ON >/dev/null
rc=0; cmake --build build-asan -j "$jobs" || rc=$?; verdict $rc
step "tests under sanitizers"
rc=0
ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan "${ctest_flags[@]}" -j "$jobs" --timeout 900 \
    --output-junit "$PWD/build-asan/ctest-junit.xml" || rc=$?
verdict $rc
step "every required suite ran in build-asan/ (tests/ci-suites.txt)"
rc=0; check_suites build-asan || rc=$?; verdict $rc

step "fuzzing (libFuzzer, ${FUZZ_SECONDS:-20} s per target, the sanitizer build's targets)"
rc=0; bash .ci/fuzz.sh build-asan || rc=$?; verdict $rc

step "done, status $status"
echo "== the steps and their verdicts (details above, under each step's '==' line):"
printf '   %s\n' "${verdicts[@]}"
passed=$(printf '%s\n' "${verdicts[@]}" | grep -c '^passed' || true)
echo "steps: $passed passed, $(( ${#verdicts[@]} - passed )) failed"
exit $status
