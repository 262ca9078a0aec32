#!/usr/bin/env bash
# Compiles and runs libgreet's unit test against the built library (run from the repo root).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
cc -Wall -Iinclude test/greet_test.c build/libgreet.a -o build/greet_test
./build/greet_test
