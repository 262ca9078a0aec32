#!/usr/bin/env bash
# Benchmark: filter_test_cmds over N test lines (default 2,000) that all passed before, against
# the local S3 server test_source starts. The passes are recorded the real way, by parallelize
# at CI=1; then the filter must find every one of them (and print nothing on stdout).
# Prints the filter's wall time and its cost per line.
# Usage: bench/test_cache.sh [N]     Target: 2,000 lines in under 2 s.
set -euo pipefail
n="${1:-2000}"
here="$(cd "$(dirname "$0")/.." && pwd)"
NO_CD=1 source "$here/test_source"
set +e +o pipefail

work="$(mktemp -d "${TMPDIR:-/tmp}/ci3-bench-test-cache.XXXXXX")"
trap 'rm -rf "$work"; ci3_test_s3_stop' EXIT
git -C "$work" init -q
export root="$work" JOBLOG="$work/joblog.txt"
hash=$(hash_str bench test cache)
for i in $(seq "$n"); do
  echo "$hash:CPUS=1:NAME=t$i true test $i"
done >"$work/lines"

t0=$EPOCHREALTIME
CI=1 parallelize <"$work/lines" >"$work/first.out" || { echo "bench: the first run failed" >&2; tail "$work/first.out" >&2; exit 1; }
t1=$EPOCHREALTIME
echo "recorded $n passes with parallelize at CI=1 in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

t0=$EPOCHREALTIME
filter_test_cmds <"$work/lines" >"$work/left" 3>"$work/skipped"
code=$?
t1=$EPOCHREALTIME
[ "$code" = 0 ] || { echo "bench: filter_test_cmds exited $code" >&2; exit 1; }
left=$(wc -l <"$work/left")
skipped=$(grep -c '^SKIPPED: ' "$work/skipped")
[ "$left" = 0 ] && [ "$skipped" = "$n" ] || { echo "bench: $left lines left, $skipped skipped (expected 0 and $n)" >&2; exit 1; }
awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN {
  s = b - a
  printf "filter_test_cmds: %d lines, all cached, in %.3f s (%.3f ms per line); target < 2 s: %s\n", n, s, s * 1000 / n, (s < 2 ? "met" : "MISSED")
}'
