#!/usr/bin/env bash
# Benchmark: cache_content_hash against the plain shell pipeline of the original ci3 script
#   git ls-tree -r HEAD | awk '$4 ~ pattern {print $3}' | sort | git hash-object --stdin
# on a synthetic repository of 100,000 tracked files in 2,000 directories.
# Ours also does the dirty check (index, work tree, untracked files) that the pipeline skips.
#
# Usage: bench/content_hash.sh [RUNS]     (BENCH_DIR overrides where the repo is built)
# Targets (issue 2): ours >= 3x faster than the pipeline on a single call; median < 150 ms.
set -euo pipefail
runs="${1:-15}"
here="$(cd "$(dirname "$0")/.." && pwd)"
NO_CD=1 source "$here/ci3/source"
set +e +o pipefail
unset CI AZTEC_CACHE_COMMIT REPO_PATH PLATFORM_TAG
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

repo="${BENCH_DIR:-${TMPDIR:-/tmp}/ci3-bench-repo}"
if [ ! -f "$repo/.bench-ready" ]; then
  echo "Building the synthetic repository in $repo (100,000 files, 2,000 dirs)..." >&2
  rm -rf "$repo" && mkdir -p "$repo"
  python3 - "$repo" <<'PY'
import os, sys
root = sys.argv[1]
for p in range(100):
    for m in range(20):
        d = os.path.join(root, f"proj{p:03d}", f"mod{m:02d}")
        os.makedirs(d)
        for f in range(50):
            ext = "c" if f % 5 else "h"
            with open(os.path.join(d, f"file{f:02d}.{ext}"), "w") as fh:
                fh.write(f"// proj {p} mod {m} file {f}\nint v_{p}_{m}_{f} = {p * m * f};\n")
    with open(os.path.join(root, f"proj{p:03d}", ".rebuild_patterns"), "w") as fh:
        fh.write(f"^proj{p:03d}/mod[0-9]+/.*\\.(c|h)$\n")
PY
  (
    cd "$repo"
    git init -q -b main
    git -c core.bigFileThreshold=1m add -A
    git -c user.name=b -c user.email=b@b commit -qm synthetic
    git repack -adq
    # A checkout's index is written after its files; refresh so no entry is racily clean.
    sleep 1.1
    git update-index -q --force-write-index --refresh
    touch .bench-ready
  )
fi
cd "$repo"
files=$(git ls-files | wc -l)
# One pattern file matching 10% of the files (10 of the 100 projects).
printf '^proj00[0-4]/\n^proj00[5-9]/.*\\.(c|h)$\n' >"$repo/.git/ten_percent_patterns"
one="$repo/.git/ten_percent_patterns"

pipeline() {
  local pattern
  pattern=$(cat "$@" | sed '/^$/d' | sed 's/\\/\\\\/g' | tr '\n' '|' | sed 's/|$//')
  git ls-tree -r HEAD | awk -v pattern="($pattern)" '$4 ~ pattern {print $3}' | sort | git hash-object --stdin | cut -c1-16
}
export -f pipeline

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Median wall times (microseconds) of two commands over $runs runs, interleaved (A, B, A, B...)
# so that both see the same machine: drift on a shared host then cannot favour either side.
# Sets $a_us and $b_us. Usage: paired_medians "cmd A" "cmd B" (each run with eval).
paired_medians() {
  local t0 t1 i a=() b=()
  for ((i = 0; i < runs; i++)); do
    # Read the clock in this shell: a $(...) would add a fork to every measurement.
    t0=${EPOCHREALTIME/./}; eval "$1" >/dev/null; t1=${EPOCHREALTIME/./}; a+=($((t1 - t0)))
    t0=${EPOCHREALTIME/./}; eval "$2" >/dev/null; t1=${EPOCHREALTIME/./}; b+=($((t1 - t0)))
  done
  a_us=$(printf '%s\n' "${a[@]}" | median)
  b_us=$(printf '%s\n' "${b[@]}" | median)
}
peak_kib() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
ms() { awk -v us="$1" 'BEGIN {printf "%.1f ms", us / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }

ours=$(cache_content_hash "$one")
theirs=$(hash_str "$(pipeline "$one")-$OSTYPE-$(uname -m)")
[ "$ours" = "$theirs" ] || { echo "MISMATCH: ours $ours, pipeline+hash_str $theirs" >&2; exit 1; }

cache_content_hash "$one" >/dev/null; pipeline "$one" >/dev/null   # warm the page cache
echo "repository: $files tracked files, 2,000 directories ($repo)"
echo "single call, one pattern file matching 10% of the files (median of $runs, interleaved):"
paired_medians 'cache_content_hash "$one"' 'pipeline "$one"'
o=$a_us p=$b_us
echo "  cache_content_hash  $(ms "$o")   (includes the dirty check)"
echo "  shell pipeline      $(ms "$p")"
echo "  speed-up            $(ratio "$p" "$o")   (target >= 3x; median target < 150 ms)"
echo "  peak memory         ours $(peak_kib cache_content_hash "$one") KiB, pipeline $(peak_kib bash -c "pipeline $one") KiB (largest process)"

fifty() { for p in $(seq -f 'proj%03g' 0 49); do "$@" "$p/.rebuild_patterns"; done; }
runs_saved=$runs; runs=3
echo "50 pattern files hashed one after another (median of $runs, interleaved):"
paired_medians 'fifty cache_content_hash' 'fifty pipeline'
runs=$runs_saved
echo "  cache_content_hash  $(ms "$a_us")"
echo "  shell pipeline      $(ms "$b_us")"
echo "  speed-up            $(ratio "$b_us" "$a_us")"
