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
python3 - "$tree" "$size_mib" <<'PY'
import os, sys, random
root, total = sys.argv[1], int(sys.argv[2]) << 20
rng = random.Random(42)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(3, 12))) for _ in range(5000)]
written, n = 0, 0
while written < total:
    d = os.path.join(root, f"pkg{n % 64:02d}", f"mod{(n // 64) % 16:02d}")
    os.makedirs(d, exist_ok=True)
    if n % 4 == 0:
        data = os.urandom(rng.randint(1, 8) << 20)
        name = f"blob{n}.bin"
    else:
        want = rng.randint(4, 256) << 10
        parts, size = [], 0
        while size < want:
            line = b" ".join(rng.choice(words) for _ in range(rng.randint(3, 10))) + b";\n"
            parts.append(line); size += len(line)
        data = b"".join(parts)
        name = f"src{n}.c"
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    written += len(data); n += 1
print(f"{n} files, {written >> 20} MiB", file=sys.stderr)
PY

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
