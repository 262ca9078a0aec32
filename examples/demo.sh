#!/usr/bin/env bash
# The main job: the demo monorepo of examples/monorepo built twice on the embedded directory
# store. The first build compiles every project and fills the cache; the second, in a fresh
# clone, restores every project from the cache and compiles nothing.
source "$(dirname "${BASH_SOURCE[0]}")/demo_setup.sh" demo
demo_repo monorepo "$work/repo" "demo monorepo" --with-ci3

run_build() {
  local dir=$1 log=$2
  (cd "$dir" && ./bootstrap.sh) >"$log" 2>"$log.err" || { cat "$log" "$log.err" >&2; return 1; }
  sed 's/^/    /' "$log"
}

# Seconds since the microsecond timestamp $1 (an EPOCHREALTIME value), to a tenth.
since() {
  local t=$(((${EPOCHREALTIME/[.,]/} - ${1/[.,]/} + 50000) / 100000))
  echo "$((t / 10)).$((t % 10))s"
}

echo "=== Build 1: empty cache ($XDG_CACHE_HOME/ci3/store)"
start=$EPOCHREALTIME
run_build "$work/repo" "$work/build1.log"
echo "    took $(since "$start"); store holds: $(ls "$XDG_CACHE_HOME/ci3/store" | tr '\n' ' ')"

git_quiet clone -q "$work/repo" "$work/clone"
echo "=== Build 2: a fresh clone, same inputs"
start=$EPOCHREALTIME
run_build "$work/clone" "$work/build2.log"
echo "    took $(since "$start")"

built1=$(grep -c ': built' "$work/build1.log" || true)
restored2=$(grep -c ': restored from cache' "$work/build2.log" || true)
built2=$(grep -c ': built' "$work/build2.log" || true)
echo "=== The restored outputs run:"
"$work/clone/app/build/app" ci3
"$work/clone/tool/build/tool" restored from the cache
echo "=== cache_stats: what the cache did on this machine"
cache_stats | sed 's/^/    /'
echo "=== Summary: build 1 built $built1 projects; build 2 restored $restored2 and built $built2."
if [ "$built1" -ne 3 ] || [ "$restored2" -ne 3 ] || [ "$built2" -ne 0 ]; then
  echo "demo: expected 3 built, then 3 restored and 0 built" >&2
  exit 1
fi
