#!/usr/bin/env bash
# Benchmark: what signing costs an upload. cache_upload of the same tree as bench/cache.sh (mixed
# files, 1 GiB by default) to the local S3 server of test_source, with and without
# CI3_SIGNING_KEY, interleaved RUNS times each; prints the fastest of each and their ratio.
# Usage: bench/signing.sh [SIZE_MIB] [RUNS]
# Target: signed/unsigned - 1 < 5%.
set -euo pipefail
size_mib="${1:-1024}"
runs="${2:-3}"
here="$(cd "$(dirname "$0")/.." && pwd)"
NO_CD=1 source "$here/test_source"
set +e +o pipefail

work="$(mktemp -d "${TMPDIR:-/tmp}/ci3-bench-signing.XXXXXX")"
trap 'rm -rf "$work"; ci3_test_s3_stop' EXIT
tree="$work/src/out"
echo "Generating a ${size_mib} MiB tree of mixed files in $tree..." >&2
python3 "$here/bench/mixed_tree.py" "$tree" "$size_mib"

export CI=1
cache_keygen "$work/key" >/dev/null 2>&1
cd "$work/src"
ms() { local t0=${EPOCHREALTIME/./}; "$@" 2>/dev/null; echo $(( (${EPOCHREALTIME/./} - t0) / 1000 )); }
plain=() signed=()
for i in $(seq 1 "$runs"); do
  plain+=("$(ms cache_upload "bench-plain-$i.tar.zst" out)")
  signed+=("$(CI3_SIGNING_KEY="$work/key/ci3-signing.key" ms cache_upload "bench-signed-$i.tar.zst" out)")
done
min() { printf '%s\n' "$@" | sort -n | head -1; }
p=$(min "${plain[@]}") s=$(min "${signed[@]}")
CI3_TRUSTED_KEYS="$work/key/ci3-signing.pub" cache_verify "bench-signed-1.tar.zst" >&2 \
  || { echo "bench: the signed artifact does not verify" >&2; exit 1; }
echo "tree: $(du -sm out | cut -f1) MiB; upload to S3, fastest of $runs: unsigned ${p} ms (${plain[*]}), signed ${s} ms (${signed[*]})"
awk -v s="$s" -v p="$p" 'BEGIN { printf "  signed/unsigned %.3f: signing costs %+.1f%% of upload time (target < 5%%)\n", s / p, (s / p - 1) * 100 }'
