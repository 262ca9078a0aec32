#!/usr/bin/env bash
# Benchmark: a task's history at scale. Records RUNS runs (5000 by default) of one task on the
# local S3 server of test_source with real `task_run --force` runs, several at once, then
# times `task_runs --limit 20`, `task_status` and `task_runs --has-input calc/in.txt --limit 3`
# of that task TIMES times each and prints the medians. The first two answer from object
# listings, never from downloading records; --has-input reads records, 16 at once, and stops
# at the limit.
# Usage: bench/task_history.sh [RUNS] [TIMES]
# Target: each median under 1 s.
set -euo pipefail
runs="${1:-5000}"
times="${2:-9}"
here="$(cd "$(dirname "$0")/.." && pwd)"
NO_CD=1 source "$here/test_source"
set +e +o pipefail

work="$(mktemp -d "${TMPDIR:-/tmp}/ci3-bench-history.XXXXXX")"
trap 'rm -rf "$work"; ci3_test_s3_stop' EXIT
repo="$work/repo"
mkdir -p "$repo/calc"
cd "$repo"
git init -q .
git config user.email bench@example.com
git config user.name bench
printf 'config_version = 7\n[Discover]\napplication_dirs = ["."]\nsearch_depth = 2\n' > .baur.toml
cat > calc/.app.toml <<'TOML'
name = "calc"
[[Task]]
name = "build"
command = ["true"]
[[Task.Input.Files]]
paths = ["*.txt"]
TOML
echo 1 > calc/in.txt
git add -A && git commit -qm init

export CI3_STORE="s3://$CI3_S3_BUCKET/bench-history-$$/"
echo "Recording $runs runs of calc.build in $CI3_STORE..." >&2
t0=${EPOCHREALTIME/./}
seq 1 "$runs" | xargs -P "$(( $(nproc) * 2 ))" -n 50 sh -c 'for _ in "$@"; do task_run --force calc.build >/dev/null 2>&1 || exit 255; done' _
echo "recorded in $(( (${EPOCHREALTIME/./} - t0) / 1000000 )) s" >&2
n="$(task_runs -q calc.build | wc -l)"
echo "runs listed: $n" >&2

ms() { local t0=${EPOCHREALTIME/./}; "$@" >/dev/null 2>&1; echo $(( (${EPOCHREALTIME/./} - t0) / 1000 )); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
last=() status=() has=()
for _ in $(seq 1 "$times"); do
  last+=("$(ms task_runs --limit 20 calc.build)")
  status+=("$(ms task_status calc.build)")
  has+=("$(ms task_runs --has-input calc/in.txt --limit 3 calc.build)")
done
got="$(task_runs -q --has-input calc/in.txt --limit 3 calc.build | wc -l)"
[ "$got" = 3 ] || echo "task_runs --has-input --limit 3 listed $got runs, not 3" >&2
printf 'runs recorded:               %s\n' "$n"
printf 'task_runs --limit 20 median: %s ms (target < 1000)\n' "$(median "${last[@]}")"
printf 'task_status median:          %s ms (target < 1000)\n' "$(median "${status[@]}")"
printf 'task_runs --has-input FILE --limit 3 median: %s ms (target < 1000)\n' "$(median "${has[@]}")"
