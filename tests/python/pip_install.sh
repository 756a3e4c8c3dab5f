#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `pip install ./python` and `pip install -e ./python` work with no network (the build backend needs
# nothing): a fresh venv, pip's default isolated build, --no-index. Each installed package imports and
# reports the version of taskfleet/_version.py, with the Slurm batch script under the venv's share/; the editable one is imported from the source tree and
# sees an edit at once; py.typed is installed (PEP 561).
set -euo pipefail
src="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src" "$work/src"           # pip may write build files beside the sources: not into the checkout
mkdir -p "$work/resources" && cp -r "$src/../resources/slurm" "$work/resources/slurm"  # the wheel carries it
/usr/bin/python3 -m venv "$work/venv"
pip=("$work/venv/bin/pip" --no-cache-dir --disable-pip-version-check -q)
py="$work/venv/bin/python"
expected=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$src/taskfleet/_version.py")
cd "$work"

"${pip[@]}" install --no-index "$work/src"
version=$("$py" -c 'import taskfleet, taskfleet._engine, taskfleet._server, taskfleet._executor; print(taskfleet.__version__)')
where=$("$py" -c 'import taskfleet, os; print(os.path.dirname(taskfleet.__file__))')
case "$where" in
    "$work/venv/"*) ;;
    *) echo "taskfleet imported from $where, not from the venv" >&2; exit 1 ;;
esac
[ "$version" = "$expected" ] || { echo "installed version $version, _version.py says $expected" >&2; exit 1; }
[ -f "$where/py.typed" ] || { echo "py.typed is not installed" >&2; exit 1; }
script=$("$py" -c 'from taskfleet.slurm import find_script; print(find_script())')
[ "$script" = "$work/venv/share/taskfleet/slurm/taskfleet-agents.sbatch" ] && [ -x "$script" ] \
    || { echo "the Slurm batch script is not installed into the venv (found: $script)" >&2; exit 1; }
shown=$("$work/venv/bin/pip" show taskfleet)
grep -q "^Version: $expected\$" <<<"$shown"
"${pip[@]}" uninstall -y taskfleet

"${pip[@]}" install --no-index -e "$work/src"
where=$("$py" -c 'import taskfleet, os; print(os.path.dirname(taskfleet.__file__))')
[ "$where" = "$work/src/taskfleet" ] || { echo "editable install imports from $where, not $work/src/taskfleet" >&2; exit 1; }
echo 'EDITED = True' >> "$work/src/taskfleet/_version.py"
"$py" -c 'import taskfleet._version as v; assert v.EDITED' || { echo "an edit is not seen by the editable install" >&2; exit 1; }
"${pip[@]}" uninstall -y taskfleet
echo "pip install ./python and pip install -e ./python: taskfleet $expected installed into a venv and imported, no network used"
