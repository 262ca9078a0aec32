#!/usr/bin/env bash
# A C program linked against libgreet: its key covers libgreet's sources too.
source "$(git rev-parse --show-toplevel)/ci3/source"
name="app-$(cache_content_hash .rebuild_patterns).tar.zst"
if cache_download "$name"; then
  echo "app: restored from cache ($name)"
  exit 0
fi
mkdir -p build
cc -O2 -Wall -I../libgreet/build src/main.c ../libgreet/build/libgreet.a -o build/app
cache_upload "$name" build
echo "app: built ($name)"
