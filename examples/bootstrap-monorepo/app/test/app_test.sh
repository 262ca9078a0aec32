#!/usr/bin/env bash
# Runs the built app and checks what it prints (run from the repo root).
set -euo pipefail
out="$("$(dirname "$0")/../build/app" tests)"
expected="== the ci3 bootstrap example ==
Hello, tests!"
if [ "$out" != "$expected" ]; then
  echo "app printed: $out" >&2
  exit 1
fi
echo "app: output ok"
