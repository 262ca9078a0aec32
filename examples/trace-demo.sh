#!/usr/bin/env bash
# An undeclared input found and fixed (issue 23): in a copy of examples/baur-monorepo, site's
# build script starts reading a shared footer that its .app.toml does not declare. Its cached
# output would go stale when the footer changes; `task_trace` runs the task traced and names the
# file with the input that would cover it; once declared, the trace is clean.
source "$(dirname "${BASH_SOURCE[0]}")/demo_setup.sh" trace-demo
demo_repo baur-monorepo "$work/repo" "baur example"
fail() { echo "trace-demo: $*" >&2; exit 1; }
cd "$work/repo"

mkdir -p common
echo "<footer>shared</footer>" > common/footer.html
sed -i 's|^  echo "</body></html>"|  cat ../common/footer.html\n  echo "</body></html>"|' site/build.sh
git_quiet add -A && git_quiet commit -m "site: a shared footer"

# traced EXPECTED: task_trace -s site.build, its findings but the toolchain summary, indented.
traced() {
  local code
  set +e
  task_trace -s site.build 2>"$work/err" >"$work/out"
  code=$?
  set -e
  grep -v "outside the repository" "$work/out" | sed 's/^/    /' || true
  [ "$code" = "$1" ] || { cat "$work/err" >&2; fail "task_trace: exit $code, expected $1"; }
}

echo "=== task_trace site.build: the footer is read but not declared"
traced 1
echo "    (exit 1: something undeclared was read)"

echo "=== Declared as suggested: ../common/*.html among site.build's inputs"
sed -i 's|paths = \["pages/\*\*", "build.sh"\]|paths = ["pages/**", "build.sh", "../common/*.html"]|' site/.app.toml
git_quiet commit -am "site: declare the footer"
traced 0
echo "    (exit 0: every file read is declared)"
