#!/usr/bin/env bash
# The bootstrap example: examples/bootstrap-monorepo, whose projects are written in the original
# ci3 idioms (source_bootstrap, `./bootstrap.sh hash` composed from a dependency's hash, build =
# cache_download or build + cache_upload, default_cmd_handler), built once on an empty embedded
# directory store, hashed, then built again in a fresh clone, where every project is restored;
# then its tests run twice, the second time all skipped.
source "$(dirname "${BASH_SOURCE[0]}")/demo_setup.sh" bootstrap-demo
unset REF_NAME COMMIT_HASH CI_FULL CURRENT_VERSION GITHUB_REF GITHUB_HEAD_REF root
demo_repo bootstrap-monorepo "$work/repo" "bootstrap example" --with-ci3

# ./bootstrap.sh ARGS in $1, its stdout indented; stderr kept and shown only on failure.
run_in() {
  local dir=$1 log=$2
  shift 2
  (cd "$dir" && ./bootstrap.sh "$@") >"$log" 2>"$log.err" || { cat "$log" "$log.err" >&2; return 1; }
  sed 's/^/    /' "$log"
}

echo "=== ./bootstrap.sh (build) on an empty cache"
run_in "$work/repo" "$work/build1.log"

echo "=== ./bootstrap.sh hash, and each project's"
run_in "$work/repo" "$work/hash1.log" hash
for project in libgreet app; do
  echo "    $project: $(cd "$work/repo/$project" && ./bootstrap.sh hash)"
done

git_quiet clone -q "$work/repo" "$work/clone"
echo "=== A fresh clone: the same hash, then ./bootstrap.sh build restores every project"
run_in "$work/clone" "$work/hash2.log" hash
run_in "$work/clone" "$work/build2.log" build
echo "=== The restored app runs:"
"$work/clone/app/build/app" "bootstrap demo"

# The tests twice, as CI runs them: the second run skips every test that passed (the test cache
# is in the same store).
echo "=== CI=1 ./bootstrap.sh test, twice"
CI=1 run_in "$work/clone" "$work/test1.log" test
CI=1 run_in "$work/clone" "$work/test2.log" test
passed1=$(grep -c '^PASSED: ' "$work/test1.log" || true)
passed2=$(grep -c '^PASSED: ' "$work/test2.log" || true)
skipped2=$(grep -c '^SKIPPED: ' "$work/test2.log.err" || true)
echo "    first run passed $passed1 tests; the second passed $passed2 and skipped $skipped2"
if [ "$passed1" -lt 2 ] || [ "$passed2" -ne 0 ] || [ "$skipped2" -ne "$passed1" ]; then
  echo "bootstrap-demo: expected every test to pass, then every one to be skipped" >&2
  exit 1
fi

built1=$(grep -c ': built' "$work/build1.log" || true)
restored2=$(grep -c ': restored from cache' "$work/build2.log" || true)
built2=$(grep -c ': built' "$work/build2.log" || true)
echo "=== Summary: build 1 built $built1 projects; build 2 restored $restored2 and built $built2."
if [ "$built1" -ne 2 ] || [ "$restored2" -ne 2 ] || [ "$built2" -ne 0 ]; then
  echo "bootstrap-demo: expected 2 built, then 2 restored and 0 built" >&2
  exit 1
fi
if ! cmp -s "$work/hash1.log" "$work/hash2.log" || ! grep -qE '^[0-9a-f]{16}$' "$work/hash1.log"; then
  echo "bootstrap-demo: the clone's hash differs from the first checkout's (or is not a key)" >&2
  exit 1
fi
