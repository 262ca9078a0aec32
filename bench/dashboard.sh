#!/usr/bin/env bash
# Each dashboard page answers in under 100 ms with 10,000 CI runs and 1,000 tests in the store.
#
# Fills a directory store directly, in the layout ci3_server writes (10 sections of 1,000 run
# records, the newest a section keeps; 1,000 tests with 30 history lines each and a 10,000-line
# failed-tests feed; a live log), starts `ci3_server run` over it, then asks for each page as a
# browser does (Accept: text/html) with curl, 5 times, and prints the slowest of each.
# Usage: bench/dashboard.sh [ci3_server]   (default: target/release/ci3_server)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
server=${1:-target/release/ci3_server}
[ -x "$server" ] || { echo "no $server: cargo build --release first" >&2; exit 2; }
command -v curl >/dev/null || { echo "needs curl" >&2; exit 2; }

work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
store=$work/store

echo "filling $store ..." >&2
python3 - "$store" <<'PY'
import json, os, sys, time, hashlib
store = sys.argv[1]
now = int(time.time())
def put(name, body):
    path = os.path.join(store, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(body)
def countdown(n):
    return "".join(chr(ord("9") - (ord(c) - ord("0"))) for c in str(n).rjust(20, "0"))
for s in range(10):
    for i in range(1000):
        ts = now - (s * 1000 + i) * 60
        rec = {"status": ["PASSED", "FAILED", "RUNNING"][i % 3], "msg": f"commit {i}",
               "name": f"job {i}", "author": f"dev{i % 17}", "timestamp": ts,
               "complete": ts + 300}
        put(f".ci3/ci-runs/section{s}/~/{countdown(ts)}.json", json.dumps(rec).encode())
def hash_str_orig(cmd):
    # git hash-object of `echo $cmd`, first 16 hex digits
    data = (" ".join(cmd.split()) + "\n").encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()[:16]
feed = 0
for t in range(1000):
    cmd = f"yarn test src/module{t}.test.ts"
    h = hash_str_orig(cmd)
    for n in range(30):
        status = "FLAKED" if (t + n) % 7 == 0 else ("FAILED" if (t + n) % 11 == 0 else "PASSED")
        line = f"05-14 10:{n:02d}:00: {status} (http://ci/log{t}-{n}): {cmd} ({n + 3}s) (dev: msg)"
        micros = (now - t * 30 - n) * 1_000_000
        put(f".ci3/lists/history_{h}/~/{countdown(micros)}-{n:08x}", line.encode())
        if status != "PASSED" and feed < 10000:
            put(f".ci3/lists/failed_tests/~/{countdown(micros)}-{t:04x}{n:04x}", line.encode())
            feed += 1
log = "".join(f"\x1b[32mPASSED\x1b[0m (http://ci/l{i}): test {i} (3s)\n" for i in range(2000))
put(".ci3/logs/bench-log.log", log.encode())
PY

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
XDG_CACHE_HOME=$work/xdg "$server" run --port "$port" --store "file://$store" 2>"$work/server.log" &
pid=$!
until curl -fs "http://127.0.0.1:$port/health" >/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done

slowest=0
for page in / /_/run/section0/$(ls "$store/.ci3/ci-runs/section0/~" | head -1 | python3 -c 'import sys; c=sys.stdin.read().strip()[:-5]; print(int("".join(chr(ord("9")-(ord(x)-ord("0"))) for x in c)))') \
  /bench-log /_/tests /_/test/$(ls "$store/.ci3/lists" | grep history_ | head -1) /_/tasks /_/cache; do
  worst=0
  for _ in 1 2 3 4 5; do
    read -r code secs < <(curl -s -o /dev/null -H 'Accept: text/html' -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$port$page")
    [ "$code" = 200 ] || { echo "$page: HTTP $code" >&2; exit 1; }
    ms=$(python3 -c "print(round($secs*1000, 1))")
    worst=$(python3 -c "print(max($worst, $ms))")
  done
  printf '%-40s %6s ms\n' "$page" "$worst"
  slowest=$(python3 -c "print(max($slowest, $worst))")
done
if python3 -c "import sys; sys.exit(0 if $slowest < 100 else 1)"; then
  echo "every page under 100 ms (slowest $slowest ms)"
else
  echo "a page took $slowest ms (over 100 ms)" >&2
  exit 1
fi
