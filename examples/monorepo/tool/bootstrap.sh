#!/usr/bin/env bash
# A Rust binary: restored from the cache, else compiled with rustc and uploaded.
source "$(git rev-parse --show-toplevel)/ci3/source"
start=$EPOCHREALTIME
# Seconds since $start, to a tenth: bash's microsecond clock, no date(1) per call.
took() { local t=$(((${EPOCHREALTIME/[.,]/} - ${start/[.,]/} + 50000) / 100000)); echo "$((t / 10)).$((t % 10))s"; }
name="tool-$(cache_content_hash .rebuild_patterns).tar.zst"
if cache_download "$name"; then
  echo "tool: restored from cache ($(took))"
  exit 0
fi
mkdir -p build
rustc -O --edition 2021 src/main.rs -o build/tool
cache_upload "$name" build
echo "tool: built ($(took))"
