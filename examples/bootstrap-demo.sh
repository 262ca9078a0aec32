#!/usr/bin/env bash
# The bootstrap example: examples/bootstrap-monorepo, whose projects are written in the original
# ci3 idioms (source_bootstrap, `./bootstrap.sh hash` composed from a dependency's hash, build =
# cache_download or build + cache_upload, default_cmd_handler), built once on an empty embedded
# directory store, hashed, then built again in a fresh clone, where every project is restored;
# then its tests run twice, the second time all skipped.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
toolbox="$(dirname "$here")/ci3"
NO_CD=1 source "$toolbox/source"   # builds the ci3 tools on first use
set +x

work="$(mktemp -d "${TMPDIR:-/tmp}/ci3-bootstrap-demo.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export XDG_CACHE_HOME="$work/cache"
unset CI3_STORE CI3_S3_BUCKET S3_BUILD_CACHE_AWS_PARAMS CACHE_LOCAL_DIR NO_CACHE NO_CACHE_UPLOAD
unset REF_NAME COMMIT_HASH CI_FULL CURRENT_VERSION GITHUB_REF GITHUB_HEAD_REF root
export CI=0

git_quiet() { git -c user.name=demo -c user.email=demo@example.invalid -c init.defaultBranch=main "$@" >/dev/null; }
cp -r "$here/bootstrap-monorepo" "$work/repo"
ln -s "$toolbox" "$work/repo/ci3"
git_quiet -C "$work/repo" init
git_quiet -C "$work/repo" add -A
git_quiet -C "$work/repo" commit -m "bootstrap example"

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
