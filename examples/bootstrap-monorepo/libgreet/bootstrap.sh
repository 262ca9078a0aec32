#!/usr/bin/env bash
# libgreet, a static C library: built, or restored from the cache when its sources did not change.
source $(git rev-parse --show-toplevel)/ci3/source_bootstrap

hash=$(cache_content_hash .rebuild_patterns)

function build {
  echo_header "libgreet build"
  if cache_download libgreet-$hash.tar.gz; then
    echo "libgreet: restored from cache"
    return
  fi
  mkdir -p build
  cc -O2 -Wall -Iinclude -c src/greet.c -o build/greet.o
  ar rcs build/libgreet.a build/greet.o
  cp include/greet.h build/
  cache_upload libgreet-$hash.tar.gz build
  echo "libgreet: built"
}

# One line per test: the key its result is cached under, then the command, run from the root.
function test_cmds {
  echo "$hash libgreet/test/greet_test.sh"
}

function test {
  echo_header "libgreet test"
  test_cmds | filter_test_cmds | parallelize
}

case "$cmd" in
  "" | build) build ;;
  hash) echo $hash ;;
  *) default_cmd_handler "$@" ;;
esac
