#!/usr/bin/env bash
# Benchmark: the ci3 server in front of S3 (the local S3 server test_source starts).
#  1. A 1 GiB artifact (a mixed tree, bench/mixed_tree.py): cache_upload and cache_download
#     through `ci3_server` (CI3_STORE=ci3+http://...) against the same tools straight to S3, and
#     the server's peak memory (VmHWM) during each transfer.
#  2. filter_test_cmds of 2,000 test lines, half of them passed before, through the server.
#  3. Load: 32 clients (downloads, uploads, 100-key mgets) against two servers over one bucket
#     for 60 s (bench/server_load.py): requests per second, p50/p99, errors, and every artifact
#     read back whole afterwards.
# Usage: bench/server.sh [SIZE_MIB] [LOAD_SECONDS]
# Targets: through the server within 1.2x of direct; server peak memory < 128 MiB; the filter
# < 0.5 s; zero errors under load.
set -euo pipefail
size_mib="${1:-1024}"
load_seconds="${2:-60}"
here="$(cd "$(dirname "$0")/.." && pwd)"
NO_CD=1 source "$here/test_source"
set +e +o pipefail

work="$(mktemp -d "${TMPDIR:-/tmp}/ci3-bench-server.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  rm -rf "$work"
  ci3_test_s3_stop
}
trap cleanup EXIT

# The servers take a password, as a team's would; the tools and the load send it (Basic).
export CI3_PASSWORD="bench-$RANDOM$RANDOM"
echo "$CI3_PASSWORD" >"$work/password"

# A ci3_server over the bucket's `server/` prefix on a free port; its pid in $server_pid.
serve() {
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  XDG_CACHE_HOME="$work/xdg-$port" ci3_server run --port "$port" \
    --store "s3://$CI3_S3_BUCKET/server/" --password-file "$work/password" >"$work/server-$port.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 1 600); do
    [ "$(curl -s "http://127.0.0.1:$port/health" 2>/dev/null)" = ci3-server ] && break
    sleep 0.05
  done
  server_url="http://127.0.0.1:$port"
}
peak_mib() { awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$1/status"; }
# Resets a process's peak (Linux: 5 into clear_refs), so that each transfer has its own.
peak_reset() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
ms() {
  local t0 t1
  sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  t0=${EPOCHREALTIME/./}
  "$@" >/dev/null 2>>"$work/tools.log" || { echo "bench: failed: $*" >&2; tail -5 "$work/tools.log" >&2; exit 1; }
  t1=${EPOCHREALTIME/./}
  echo $(( (t1 - t0) / 1000 ))
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

serve; a_pid=$server_pid; a_url=$server_url
serve; b_url=$server_url

echo "Generating a ${size_mib} MiB tree of mixed files..." >&2
python3 "$here/bench/mixed_tree.py" "$work/src/out" "$size_mib"
cd "$work/src"
export CI=1
direct="s3://$CI3_S3_BUCKET/direct/"
through="ci3+${a_url}"
direct_up=$(CI3_STORE=$direct ms cache_upload bench.tar.zst out)
peak_reset "$a_pid"
through_up=$(CI3_STORE=$through ms cache_upload bench.tar.zst out)
peak_up=$(peak_mib "$a_pid")
mkdir -p "$work/direct-out" "$work/through-out"
direct_down=$(CI3_STORE=$direct ms cache_download bench.tar.zst "$work/direct-out")
peak_reset "$a_pid"
through_down=$(CI3_STORE=$through ms cache_download bench.tar.zst "$work/through-out")
peak_down=$(peak_mib "$a_pid")
# s3s-fs keeps an object as a file of its key; MinIO does not (then no size is shown).
artifact=$(find "$CI3_TEST_S3_DATA/store" -path '*direct/bench.tar.zst' -type f -printf '%s' 2>/dev/null)
diff -r "$work/through-out/out" out >/dev/null || { echo "bench: the tree restored through the server differs" >&2; exit 1; }
echo "${size_mib} MiB tree, a $(( ${artifact:-0} >> 20 )) MiB artifact, through ci3_server vs straight to S3:"
echo "  upload   through $through_up ms   direct $direct_up ms   through/direct $(ratio "$through_up" "$direct_up")"
echo "  download through $through_down ms   direct $direct_down ms   through/direct $(ratio "$through_down" "$direct_down")"
echo "  server peak memory: upload $peak_up MiB, download $peak_down MiB"

# 2,000 test lines; the even ones passed before (their kv keys set, as run_test_cmd sets them).
python3 - "$a_url" "$work/lines" <<'PY'
import base64, hashlib, os, sys, urllib.request
url, out = sys.argv[1:]
lines = ["%016x yarn test --case case_%04d" % (i * 7919, i) for i in range(2000)]
for i, line in enumerate(lines):
    if i % 2 == 0:
        blob = (line + "\n").encode()
        key = hashlib.sha1(b"blob %d\0" % len(blob) + blob).hexdigest()[:16]
        auth = "Basic " + base64.b64encode(b"aztec:" + os.environ["CI3_PASSWORD"].encode()).decode()
        request = urllib.request.Request(url + "/kv/" + key, b"log-%d" % i, {"Authorization": auth}, method="PUT")
        urllib.request.urlopen(request).read()
open(out, "w").write("\n".join(lines) + "\n")
PY
t0=${EPOCHREALTIME/./}
# CI=1 as on a runner: the filter must then reach the server with the password, or it says so.
root="$work/src" CI3_SERVER="$a_url" CI3_STORE="" filter_test_cmds <"$work/lines" >"$work/kept" 2>"$work/filter.err" ||
  { echo "bench: filter_test_cmds failed:" >&2; cat "$work/filter.err" >&2; exit 1; }
t1=${EPOCHREALTIME/./}
kept=$(wc -l <"$work/kept")
[ "$kept" = 1000 ] || { echo "bench: filter_test_cmds kept $kept of 2000 lines, not the 1000 never passed:" >&2; grep -v '^SKIPPED' "$work/filter.err" >&2; exit 1; }
echo "filter_test_cmds of 2000 lines through the server (1000 passed before): $(( (t1 - t0) / 1000 )) ms, kept $kept"

if [ "$load_seconds" != 0 ]; then
  echo "Load:"
  python3 "$here/bench/server_load.py" "$load_seconds" 32 "$a_url" "$b_url" || exit 1
fi
echo "  targets: through/direct <= 1.20; server peak < 128 MiB; filter of 2,000 lines < 0.5 s; 0 errors under load"
