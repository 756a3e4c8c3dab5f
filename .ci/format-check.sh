#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fails if a C++ file is not formatted as .clang-format says. Fix with:
#   git ls-files '*.cpp' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
bad=()
while IFS= read -r f; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.cpp' '*.h')
if [ ${#bad[@]} -gt 0 ]; then
    echo "Not formatted as .clang-format says (${#bad[@]} files):"
    printf '  %s\n' "${bad[@]}"
    echo "Fix: git ls-files '*.cpp' '*.h' | xargs clang-format -i"
    exit 1
fi
echo "format: $(git ls-files '*.cpp' '*.h' | wc -l) C++ files as .clang-format says"
