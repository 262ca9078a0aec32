#!/usr/bin/env bash
# A C program linked against libgreet: its key covers libgreet's sources too.
source "$(git rev-parse --show-toplevel)/ci3/source"
start=$EPOCHREALTIME
# Seconds since $start, to a tenth: bash's microsecond clock, no date(1) per call.
took() { local t=$(((${EPOCHREALTIME/[.,]/} - ${start/[.,]/} + 50000) / 100000)); echo "$((t / 10)).$((t % 10))s"; }
name="app-$(cache_content_hash .rebuild_patterns).tar.zst"
if cache_download "$name"; then
  echo "app: restored from cache ($(took))"
  exit 0
fi
mkdir -p build
cc -O2 -Wall -I../libgreet/build src/main.c ../libgreet/build/libgreet.a -o build/app
cache_upload "$name" build
echo "app: built ($(took))"
