#!/usr/bin/env bash
# A Rust binary: restored from the cache, else compiled with rustc and uploaded.
source "$(git rev-parse --show-toplevel)/ci3/source"
name="tool-$(cache_content_hash .rebuild_patterns).tar.zst"
if cache_download "$name"; then
  echo "tool: restored from cache ($name)"
  exit 0
fi
mkdir -p build
rustc -O --edition 2021 src/main.rs -o build/tool
cache_upload "$name" build
echo "tool: built ($name)"
