#!/usr/bin/env bash
# A C static library: restored from the cache, else compiled and uploaded.
source "$(git rev-parse --show-toplevel)/ci3/source"
name="libgreet-$(cache_content_hash .rebuild_patterns).tar.gz"
if cache_download "$name"; then
  echo "libgreet: restored from cache ($name)"
  exit 0
fi
mkdir -p build
cc -O2 -Wall -Iinclude -c src/greet.c -o build/greet.o
ar rcs build/libgreet.a build/greet.o
cp include/greet.h build/
cache_upload "$name" build
echo "libgreet: built ($name)"
