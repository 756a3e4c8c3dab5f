#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing, builds the programs, and runs the main job: Parallel Python's
# sum-of-primes demo. Safe in any order with .ci/test.sh and any number of times: it configures
# build/ with every option it relies on set explicitly, and builds only the programs and plugins
# (tests are not switched off, so a later .ci/test.sh finds them).
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTASKFLEET_BUILD_GUI=ON \
    -DTASKFLEET_SANITIZE=OFF -DTASKFLEET_BUILD_FUZZ=OFF >/dev/null
cmake --build build -j "$(nproc)" --target taskfleet-run taskfleet-worker taskfleet-agent taskfleet taskfleet-plugins
echo "== ./build/bin/taskfleet-run --keep-order resources/jobs/sumprimes.json"
./build/bin/taskfleet-run --keep-order resources/jobs/sumprimes.json
# With a display, open the desktop app on the Mandelbrot example so the work is visible.
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${CI:-}" ]; then
    echo "== ./build/bin/taskfleet resources/jobs/mandelbrot.json"
    exec ./build/bin/taskfleet resources/jobs/mandelbrot.json
fi
