#!/usr/bin/env bash
# Benchmark: cache_upload / cache_download against the shell pipeline doing the same job on the
# same local S3 server (started by test_source):
#   upload:   tar -c DIR | zstd -T0 > FILE && aws s3 cp FILE s3://...
#   download: aws s3 cp s3://... - | zstd -d | tar -x -C OUT
# on a tree of mixed files (compressible sources and incompressible blobs), 1 GiB by default.
# Prints both times, the ratios, and peak memory. Then the directory store: cache_upload into
# CI3_STORE=file://DIR against `tar -c DIR | zstd -T0 > FILE` alone.
# Usage: bench/cache.sh [SIZE_MIB]
# Targets: S3 at most 0.8x the pipeline's time; the directory store within 1.5x of archiving alone;
# peak memory < 256 MiB.
set -euo pipefail
size_mib="${1:-1024}"
here="$(cd "$(dirname "$0")/.." && pwd)"
NO_CD=1 source "$here/test_source"
set +e +o pipefail
if ! command -v aws >/dev/null 2>&1 || ! aws --version >/dev/null 2>&1; then
  echo "Installing the aws CLI from PyPI..." >&2
  python3 -m pip install -q awscli >&2 || { echo "bench: cannot install the aws CLI" >&2; exit 1; }
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/ci3-bench-cache.XXXXXX")"
trap 'rm -rf "$work"; ci3_test_s3_stop' EXIT
tree="$work/src/out"
echo "Generating a ${size_mib} MiB tree of mixed files in $tree..." >&2
python3 "$here/bench/mixed_tree.py" "$tree" "$size_mib"

export CI=1 AWS_DEFAULT_REGION=us-east-1
bucket="s3://$CI3_S3_BUCKET"
aws_s3() { aws --endpoint-url "$CI3_S3_ENDPOINT" s3 "$@" --only-show-errors; }
export -f aws_s3
# Peak RSS of a command (largest process), and its wall time.
measure() {
  local label=$1; shift
  local t0 t1 rss
  sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  t0=${EPOCHREALTIME/./}
  rss=$(/usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1)
  t1=${EPOCHREALTIME/./}
  echo "$label $(( (t1 - t0) / 1000 )) $rss"
}

cd "$work/src"
ours_up=$(measure ours-upload cache_upload bench.tar.zst out)
theirs_up=$(measure pipeline-upload bash -c "tar -c out | zstd -q -T0 > $work/pipeline.tar.zst && aws_s3 cp $work/pipeline.tar.zst $bucket/pipeline/bench.tar.zst")
mkdir -p "$work/ours-out" "$work/pipeline-out"
ours_down=$(measure ours-download cache_download bench.tar.zst "$work/ours-out")
theirs_down=$(measure pipeline-download bash -c "aws_s3 cp $bucket/pipeline/bench.tar.zst - | zstd -q -d | tar -x -C $work/pipeline-out")
dir_up=$(CI3_STORE="file://$work/dirstore" measure ours-dir-upload cache_upload bench.tar.zst out)
archive_only=$(measure archive-only bash -c "tar -c out | zstd -q -T0 > $work/archive-only.tar.zst")
diff -r "$work/ours-out/out" out >/dev/null || { echo "bench: our restored tree differs from the source" >&2; exit 1; }
diff -r "$work/pipeline-out/out" out >/dev/null || { echo "bench: the pipeline's restored tree differs" >&2; exit 1; }

ours_size=$(stat -c %s "$CI3_TEST_S3_DATA/store/$CI3_S3_BUCKET/build-cache/bench.tar.zst" 2>/dev/null || echo 0)
theirs_size=$(stat -c %s "$work/pipeline.tar.zst")
report() {
  local ours=($1) theirs=($2)
  printf '  %-9s ours %6d ms (peak %4d MiB)   pipeline %6d ms (peak %4d MiB)   ours/pipeline %.2f\n' \
    "$3" "${ours[1]}" $((ours[2] / 1024)) "${theirs[1]}" $((theirs[2] / 1024)) "$(awk -v a="${ours[1]}" -v b="${theirs[1]}" 'BEGIN {print a / b}')"
}
echo "tree: $(du -sm out | cut -f1) MiB; artifact: ours $((ours_size >> 20)) MiB, pipeline $((theirs_size >> 20)) MiB (zstd)"
report "$ours_up" "$theirs_up" upload
report "$ours_down" "$theirs_down" download
report "$dir_up" "$archive_only" dir-store
echo "  targets: ours/pipeline <= 0.80 for upload and download; dir-store (vs tar | zstd > file) <= 1.50; our peak memory < 256 MiB"
