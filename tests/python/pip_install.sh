#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `pip install ./python` works with no network (its build backend needs nothing): a fresh venv,
# pip's default isolated build, --no-index. Then the installed package imports and reports its version.
set -euo pipefail
src="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src" "$work/src"           # pip may write build files beside the sources: not into the checkout
/usr/bin/python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --no-index --no-cache-dir --disable-pip-version-check -q "$work/src"
cd "$work"
version=$("$work/venv/bin/python" -c 'import taskfleet, taskfleet._engine, taskfleet._server; print(taskfleet.__version__)')
where=$("$work/venv/bin/python" -c 'import taskfleet; print(taskfleet.__file__)')
case "$where" in
    "$work/venv/"*) ;;
    *) echo "taskfleet imported from $where, not from the venv" >&2; exit 1 ;;
esac
grep -q "^__version__ = \"$version\"" "$src/taskfleet/__init__.py"
"$work/venv/bin/pip" uninstall -y -q taskfleet
echo "pip install ./python: taskfleet $version installed into a venv and imported, no network used"
