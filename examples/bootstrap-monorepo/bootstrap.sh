#!/usr/bin/env bash
# The whole monorepo: each sub-command runs on every project, in dependency order.
source $(git rev-parse --show-toplevel)/ci3/source_bootstrap

projects=(libgreet app)

function build {
  for project in "${projects[@]}"; do
    ./$project/bootstrap.sh build
  done
}

# One key for the whole tree: a deploy is skipped when no project changed.
function hash {
  echo "$(hash_str $(for project in "${projects[@]}"; do ./$project/bootstrap.sh hash; done))"
}

function test_cmds {
  for project in "${projects[@]}"; do
    ./$project/bootstrap.sh test_cmds
  done
}

function test {
  echo_header "monorepo test"
  test_cmds | filter_test_cmds | parallelize
}

case "$cmd" in
  "" | build) build ;;
  *) default_cmd_handler "$@" ;;
esac
