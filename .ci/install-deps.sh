#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages Taskfleet needs to build and test, if any is missing.
set -euo pipefail

packages=(
    cmake ninja-build g++ pkg-config
    qt6-base-dev qt6-base-dev-tools libgl-dev
    libssl-dev
    python3-dev     # the python task plugin embeds CPython
    python3-venv    # the test that `pip install ./python` works offline, in a venv
    python3-cloudpickle python3-numpy   # lambdas and closures by value; pp's typical programs
    python3-joblib python3-sklearn      # the joblib backend's tests (scikit-learn's GridSearchCV)
    iproute2        # network namespaces for the multi-host discovery tests
    iptables        # a firewalled agent (inbound SYNs dropped) in the reverse-connection test
    xvfb xauth      # a display for the desktop app on headless machines
    clang libclang-rt-14-dev   # libFuzzer for the fuzz targets
    clang-format git   # the format check (.clang-format; .ci/format-check.sh lists the files with git)
    slurm-wlm munge # a real single-host Slurm for the Slurm agents' test
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
        # A minimal Debian has no sudo: say exactly how to go on.
        echo "These Debian packages are missing: ${missing[*]}" >&2
        echo "Installing them needs root, and this system has no sudo. Either run this script as root:" >&2
        echo "    su -c 'bash $(cd "$(dirname "$0")" && pwd)/install-deps.sh'" >&2
        echo "or install them yourself (apt-get install ${missing[*]}), then run the command again." >&2
        exit 1
    fi
    sudo="sudo"
fi
echo "Installing: ${missing[*]}"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
