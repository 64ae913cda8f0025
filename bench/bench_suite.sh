#!/usr/bin/env bash
# Benchmark: the whole test suite as CI runs it (pyproject's addopts: four xdist workers), in a
# fixed order. Prints the load average before and after (wall time means little on a busy
# machine: compare CPU time then), wall time, CPU time of pytest and everything it started, the
# time summed per phase (setup, call, teardown) and the slowest tests.
#
#     bench/bench_suite.sh [extra pytest arguments, e.g. -n 2 or tests/test_sheets.py]
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
/usr/bin/time -f '%e %U %S' -o "$out/time" \
    .venv/bin/pytest -q -p no:randomly --durations=0 "$@" >"$out/log" 2>&1 || status=$?
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
tail -n 1 "$out/log"
# the last line: time(1) writes "Command exited with non-zero status N" first when tests fail
read -r wall user sys < <(tail -n 1 "$out/time")
echo "wall ${wall} s, CPU ${user} s user + ${sys} s system"
awk '$2 ~ /^(setup|call|teardown)$/ && $1 ~ /s$/ {t[$2] += $1; n[$2]++}
     END {for (p in t) printf "  %-8s %8.1f s over %d tests\n", p, t[p], n[p]}' "$out/log"
echo "slowest:"
grep -m 15 -E '^[0-9.]+s (setup|call|teardown) ' "$out/log" | sed 's/^/  /'
if [ "$status" -ne 0 ]; then
    echo "failures:"
    grep -E '^(FAILED|ERROR) ' "$out/log" | sed 's/^/  /'
fi
exit "$status"
