#!/usr/bin/env bash
# A C static library: restored from the cache, else compiled and uploaded.
source "$(git rev-parse --show-toplevel)/ci3/source"
start=$EPOCHREALTIME
# Seconds since $start, to a tenth: bash's microsecond clock, no date(1) per call.
took() { local t=$(((${EPOCHREALTIME/[.,]/} - ${start/[.,]/} + 50000) / 100000)); echo "$((t / 10)).$((t % 10))s"; }
name="libgreet-$(cache_content_hash .rebuild_patterns).tar.gz"
if cache_download "$name"; then
  echo "libgreet: restored from cache ($(took))"
  exit 0
fi
mkdir -p build
cc -O2 -Wall -Iinclude -c src/greet.c -o build/greet.o
ar rcs build/libgreet.a build/greet.o
cp include/greet.h build/
cache_upload "$name" build
echo "libgreet: built ($(took))"
