#!/usr/bin/env bash
# Benchmark: task_status of every task of a large repository. A synthetic repository of APPS
# apps (200 by default) with FILES input files each (500), one task each; times `task_status`
# for all tasks on the directory store and on the local S3 server of test_source (after one
# `task_run` recorded every task, so each is a lookup that finds its run), TIMES times each,
# against the plain shell computing a digest per app: `git ls-files APP | git hash-object
# --stdin-paths | sha256sum`. Prints the medians and the ratios.
# Usage: bench/tasks.sh [APPS] [FILES] [TIMES]
# Targets: under 0.3 s on the directory store, under 1 s on S3 (status reads every success name
# in one listing from 16 tasks on), at least 10x the shell way.
set -euo pipefail
apps="${1:-200}"
files="${2:-500}"
times="${3:-5}"
here="$(cd "$(dirname "$0")/.." && pwd)"
NO_CD=1 source "$here/test_source"
set +e +o pipefail

work="$(mktemp -d "${TMPDIR:-/tmp}/ci3-bench-tasks.XXXXXX")"
trap 'rm -rf "$work"; ci3_test_s3_stop' EXIT
repo="$work/repo"
echo "Generating $apps apps x $files files in $repo..." >&2
python3 - "$repo" "$apps" "$files" <<'PY'
import os, sys
root, apps, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(root)
with open(os.path.join(root, ".baur.toml"), "w") as f:
    f.write('config_version = 7\n[Discover]\napplication_dirs = ["apps"]\nsearch_depth = 1\n')
for a in range(apps):
    d = os.path.join(root, "apps", f"app{a:03d}")
    os.makedirs(os.path.join(d, "src"))
    with open(os.path.join(d, ".app.toml"), "w") as f:
        f.write(f'name = "app{a:03d}"\n[[Task]]\nname = "build"\ncommand = ["true"]\n'
                '[[Task.Input.Files]]\npaths = ["src/**"]\n')
    for i in range(files):
        with open(os.path.join(d, "src", f"f{i:03d}.c"), "w") as f:
            f.write(f"int f_{a}_{i}(void) {{ return {a * files + i}; }}\n" * 8)
PY
cd "$repo"
git init -q . && git config user.email bench@example.com && git config user.name bench
git add -A && git commit -qm init

ms() { local t0=${EPOCHREALTIME/./}; "$@" >/dev/null 2>&1; echo $(( (${EPOCHREALTIME/./} - t0) / 1000 )); }
# CPU (user + system) in ms: on a shared machine the wall time says more about the other load.
cpu() { local TIMEFORMAT='%3U %3S'; { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ printf "%d\n", ($1 + $2) * 1000 }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
shell_way() {
  for d in apps/*/; do git ls-files "$d" | git hash-object --stdin-paths | sha256sum; done
}

dir_store="file://$work/store"
s3_store="s3://$CI3_S3_BUCKET/bench-tasks-$$/"
CI3_STORE="$dir_store" task_run -p 4 >/dev/null 2>&1
CI3_STORE="$s3_store" task_run -p 4 >/dev/null 2>&1
exist="$(CI3_STORE="$s3_store" task_status -q --csv -f status | grep -c Exist)"
echo "tasks Exist on S3: $exist of $apps" >&2
dir=() s3=() sh=() dcpu=()
for _ in $(seq 1 "$times"); do
  dir+=("$(CI3_STORE="$dir_store" ms task_status)")
  dcpu+=("$(CI3_STORE="$dir_store" cpu task_status)")
  s3+=("$(CI3_STORE="$s3_store" ms task_status)")
  sh+=("$(ms shell_way)")
done
d="$(median "${dir[@]}")" s="$(median "${s3[@]}")" p="$(median "${sh[@]}")"
printf 'apps x files:                  %s x %s\n' "$apps" "$files"
printf 'task_status, directory store:  %s ms (target < 300)\n' "$d"
printf '  its CPU (user + system):      %s ms\n' "$(median "${dcpu[@]}")"
printf 'task_status, local S3:         %s ms (target < 1000)\n' "$s"
printf 'shell ls-files + hash-object:  %s ms\n' "$p"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v d="$d" -v s="$s" -v p="$p" 'BEGIN { printf "ratio shell/ours: %.1fx (directory store), %.1fx (S3); target >= 10x\n", p / (d ? d : 1), p / (s ? s : 1) }'
