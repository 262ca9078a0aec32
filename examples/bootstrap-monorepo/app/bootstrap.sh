#!/usr/bin/env bash
# app, a C program linked against libgreet that prints the banner of assets/: its key covers
# libgreet's key, its own sources and the assets directory.
source $(git rev-parse --show-toplevel)/ci3/source_bootstrap

hash=$(hash_str $(../libgreet/bootstrap.sh hash) $(cache_content_hash .rebuild_patterns ../assets))

function build {
  echo_header "app build"
  if cache_download app-$hash.tar.gz; then
    echo "app: restored from cache"
    return
  fi
  mkdir -p build
  cc -O2 -Wall -I../libgreet/build src/main.c ../libgreet/build/libgreet.a -o build/app
  cp ../assets/banner.txt build/
  cache_upload app-$hash.tar.gz build
  echo "app: built"
}

function test_cmds {
  echo "$hash app/test/app_test.sh"
}

function test {
  echo_header "app test"
  test_cmds | filter_test_cmds | parallelize
}

case "$cmd" in
  "" | build) build ;;
  hash) echo $hash ;;
  *) default_cmd_handler "$@" ;;
esac
