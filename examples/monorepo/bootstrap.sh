#!/usr/bin/env bash
# Builds every project of the monorepo in dependency order; each one restores its outputs from
# the cache when its inputs did not change.
source "$(git rev-parse --show-toplevel)/ci3/source"
for project in libgreet app tool; do
  "./$project/bootstrap.sh"
done
