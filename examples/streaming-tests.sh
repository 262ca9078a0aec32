#!/usr/bin/env bash
# Tests start as soon as their project is built (issue 22, the ci3 half): the build loop of
# examples/bootstrap-monorepo writes each project's test lines to parallelize as soon as that
# project is built, and parallelize, which reads stdin while it runs, starts them at once, while
# the next project still builds. Each project's lines go through filter_test_cmds on their own,
# since it reads its input to the end before it decides.
# Prints when each build ended and each test started: libgreet's test starts before app's build
# ends. (The app's build is made 1 s longer here, as a real build would be, so that this shows
# on any machine.)
source "$(dirname "${BASH_SOURCE[0]}")/demo_setup.sh" streaming-tests
unset REF_NAME COMMIT_HASH CI_FULL CURRENT_VERSION GITHUB_REF GITHUB_HEAD_REF root
demo_repo bootstrap-monorepo "$work/repo" "bootstrap example" --with-ci3
events="$work/events"
export events
stamp() { echo "$(date +%s.%N) $*" >>"$events"; }

cd "$work/repo"
{
  for project in libgreet app; do
    [ "$project" = app ] && sleep 1
    ./$project/bootstrap.sh build >"$work/$project-build.log" 2>&1
    stamp "$project build finished"
    # Each test line records when it started, then runs the project's own test.
    ./$project/bootstrap.sh test_cmds | filter_test_cmds |
      while read -r key cmd; do
        echo "$key bash -c 'echo \$(date +%s.%N) $project test started >>\$events; $cmd'"
      done
  done
} | JOBLOG="$work/joblog" parallelize 2 >"$work/test.log"

start=$(sort -n "$events" | head -1 | cut -d' ' -f1)
echo "=== Events, seconds from the first:"
sort -n "$events" | awk -v s="$start" '{ t = $1; $1 = ""; printf "  %6.3f %s\n", t - s, $0 }'
grep -E '^(PASSED|FAILED)' "$work/test.log" | sed 's/^/  /'
first_test=$(grep -n 'libgreet test started' < <(sort -n "$events") | cut -d: -f1)
app_built=$(grep -n 'app build finished' < <(sort -n "$events") | cut -d: -f1)
if [ "$first_test" -lt "$app_built" ]; then
  echo "=== libgreet's test started while app was still building."
else
  echo "streaming-tests: libgreet's test started only after app's build" >&2
  exit 1
fi
