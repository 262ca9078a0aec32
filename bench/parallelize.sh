#!/usr/bin/env bash
# Wall time of N trivial commands (default 2,000) through our parallelize and through GNU parallel,
# with the same job count (JOBS, default nproc) and both writing a joblog and grouping output.
# Run from anywhere; builds the tools first. Installs GNU parallel from Debian if missing and root.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${N:-2000}
jobs=${JOBS:-$(nproc)}
cargo build --release -q -p ci3-tools --bin parallelize
ours="${CARGO_TARGET_DIR:-target}/release/parallelize"

if ! command -v parallel >/dev/null; then
  echo "GNU parallel is missing; installing it (apt-get install -y parallel)." >&2
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    { apt-get update -qq && apt-get install -y -qq parallel; } >&2 || true
  fi
  command -v parallel >/dev/null || echo "Could not install GNU parallel: timing ours only." >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq "$n"); do
  if ((i % 2)); then echo "echo $i"; else echo true; fi
done >"$tmp/commands"

# Seconds (with decimals) that "$@" takes with the commands on stdin and its output discarded.
time_it() {
  local start=$EPOCHREALTIME
  "$@" <"$tmp/commands" >"$tmp/out" 2>/dev/null
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'
}

echo "$n commands, $jobs jobs at once"
ours_s=$(JOBLOG="$tmp/ours.joblog" time_it "$ours" "$jobs")
[ "$(wc -l <"$tmp/ours.joblog")" = "$n" ] || { echo "ours did not run them all" >&2; exit 1; }
echo "ours (parallelize): ${ours_s}s"
if command -v parallel >/dev/null; then
  theirs_s=$(PARALLEL_SHELL=bash time_it parallel --will-cite --joblog "$tmp/theirs.joblog" -j "$jobs")
  echo "GNU parallel:       ${theirs_s}s"
  awk -v a="$ours_s" -v b="$theirs_s" 'BEGIN { printf "ratio ours/theirs: %.2f\n", a / b }'
fi
