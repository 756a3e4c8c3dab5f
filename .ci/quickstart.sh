#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing, builds, and runs the main job: Parallel Python's sum-of-primes demo.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTASKFLEET_BUILD_TESTS=OFF -DTASKFLEET_BUILD_BENCH=OFF >/dev/null
cmake --build build -j "$(nproc)"
echo "== taskfleet-run resources/jobs/sumprimes.json"
./build/bin/taskfleet-run --keep-order resources/jobs/sumprimes.json
# With a display, open the desktop app on the Mandelbrot example so the work is visible.
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${CI:-}" ]; then
    echo "== taskfleet resources/jobs/mandelbrot.json"
    exec ./build/bin/taskfleet resources/jobs/mandelbrot.json
fi
