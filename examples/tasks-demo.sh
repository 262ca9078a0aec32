#!/usr/bin/env bash
# The task runner on a repository configured for baur (examples/baur-monorepo, unchanged baur
# files): every task Pending on an empty embedded directory store, `baur run` builds and records
# them, then a fresh clone finds them Exist and `baur run --restore` brings their outputs back
# without running anything; an input changed in the clone makes its task Pending again, and
# `baur diff inputs` names the change.
source "$(dirname "${BASH_SOURCE[0]}")/demo_setup.sh" tasks-demo
unset GREETING
demo_repo baur-monorepo "$work/repo" "baur example"

fail() { echo "tasks-demo: $*" >&2; exit 1; }
# The status column of every task, one line: "greet.build=Exist site.build=Pending ...".
statuses() { baur status --csv -q -f task-id,status 2>/dev/null | tr ',' '=' | tr '\n' ' '; }
expect() {
  local got
  got="$(statuses)"
  echo "    $got"
  [ "$got" = "$1" ] || fail "expected: $1"
}

cd "$work/repo"
echo "=== baur status on an empty store"
expect "greet.build=Pending site.build=Pending site.check=Pending "
echo "=== baur run"
baur run 2>&1 | sed 's/^/    /'
expect "greet.build=Exist site.build=Exist site.check=Exist "

git_quiet clone -q "$work/repo" "$work/clone"
cd "$work/clone"
echo "=== A fresh clone: nothing built, every task Exist; baur run --restore runs nothing"
expect "greet.build=Exist site.build=Exist site.check=Exist "
baur run --restore 2>&1 | sed 's/^/    /'
[ -x greet/dist/greet ] || fail "greet/dist/greet was not restored with its mode"
echo "    the restored program: $(greet/dist/greet demo)"
cmp -s site/dist/index.html "$work/repo/site/dist/index.html" || fail "site/dist/index.html differs"
echo "    site/dist/index.html: the same bytes as the first build"

echo "=== A changed draft: site.build excludes drafts and stays Exist, site.check reads them"
echo "still not ready" > site/pages/next.draft
expect "greet.build=Exist site.build=Exist site.check=Pending "
echo "=== An edited page makes both site tasks Pending, and baur diff inputs names it"
git checkout -q site/pages/next.draft
echo "<p>Edited.</p>" >> site/pages/index.md
expect "greet.build=Exist site.build=Pending site.check=Pending "
set +e
baur diff inputs site.build^ site.build 2>/dev/null | sed 's/^/    /'
code=${PIPESTATUS[0]}
set -e
[ "$code" = 2 ] || fail "baur diff inputs: exit $code, expected 2 (different)"
echo "    (exit 2: the inputs differ)"
echo "=== baur ls runs"
baur ls runs 2>/dev/null | sed 's/^/    /'
echo "=== Summary: 3 tasks built and recorded; a fresh clone restored 2 outputs and ran nothing."
