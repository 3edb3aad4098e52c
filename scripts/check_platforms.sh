#!/usr/bin/env bash
# `make check-platforms`: does the lock (requirements.txt) resolve to wheels on every platform and
# Python the engine supports? Resolution only (pip --dry-run, package metadata, no wheel downloaded),
# so it needs the network but no disk. Not in CI: it takes a few minutes.
#
# Plain `pip install --dry-run --platform TAG --python-version X.Y` is not enough: pip picks wheels
# for the target but evaluates environment markers (sys_platform, platform_machine, python_version),
# in the lock and in the packages' own dependencies, for THIS machine. scripts/platforms.py runs pip
# with the target's marker environment instead (read its docstring) and also checks the resolved
# set is exactly the lock's pins for that target. A recent pip (metadata-only resolution) lives in
# a small tool venv in the user's cache, made once.
#
# Prints one line per target: PASS, FAIL (exit status 1) or GAP (a combination with no TensorFlow
# wheel at all, listed in scripts/platforms.py EXPECTED_GAPS and documented in requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

TOOL="${XDG_CACHE_HOME:-$HOME/.cache}/deepprospect/pip-tool"
if ! "$TOOL/bin/python" -c 'import pip, sys; sys.exit(int(pip.__version__.split(".")[0]) < 25)' 2>/dev/null; then
  rm -rf "$TOOL"
  /usr/bin/python3 -m venv "$TOOL"
  "$TOOL/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25"
fi

JOBS=${JOBS:-5}  # network-bound: a few at once; each pip takes ~15 s and some CPU
results=$(mktemp)
trap 'rm -f "$results"' EXIT
"$TOOL/bin/python" scripts/platforms.py targets |
  xargs -P "$JOBS" -L 1 bash -c '"$0" scripts/platforms.py check "$1" "$2" || true' "$TOOL/bin/python" \
  >"$results"

printf '%-15s %-5s %-4s %s\n' platform py result detail
"$TOOL/bin/python" scripts/platforms.py targets | while read -r platform python; do
  line=$(grep -E "^$platform +$python " "$results" || printf '%-15s %-5s %-4s %s' "$platform" "$python" FAIL "no result")
  echo "$line"
done | tee "$results.table"
passed=$(grep -c ' PASS ' "$results.table" || true)
gaps=$(grep -c ' GAP ' "$results.table" || true)
failed=$(grep -vc -e ' PASS ' -e ' GAP ' "$results.table" || true)
rm -f "$results.table"
echo "check-platforms: $passed passed, $failed failed, $gaps expected gap(s)"
[[ "$failed" == 0 ]]
