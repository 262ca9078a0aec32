#!/usr/bin/env bash
# Benchmark: the task graph. APPS apps (200) in layers of 20, each app past the first layer
# reading the outputs of two apps of the layer before, against the same apps without those
# inputs; directory store.
#  1. All Exist: task_status of the graph vs of the repository without dependencies (target:
#     within 1.2x).
#  2. All Pending: task_run -p 4 with a 50 ms command per task, vs the bound the critical path
#     and 4 workers set: max(layers, ceil(apps / 4)) x 50 ms (target: within 1.2x), and the
#     same run of the apps without dependencies (what the tasks cost apart from their order).
# Usage: bench/graph.sh [APPS] [TIMES]
set -euo pipefail
apps="${1:-200}"
times="${2:-5}"
here="$(cd "$(dirname "$0")/.." && pwd)"
NO_CD=1 source "$here/ci3/source"
set +e +o pipefail

work="$(mktemp -d "${TMPDIR:-/tmp}/ci3-bench-graph.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export XDG_CACHE_HOME="$work/cache"
unset CI3_READ_STORES CI3_SIGNING_KEY CI3_TRUSTED_KEYS

# make_repo DIR DEPS: DEPS=1 gives each app past the first layer two upstream apps.
make_repo() {
  python3 - "$1" "$apps" "$2" <<'PY'
import os, sys
root, apps, deps = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
os.makedirs(root)
with open(os.path.join(root, ".baur.toml"), "w") as f:
    f.write('config_version = 7\n[Discover]\napplication_dirs = ["apps"]\nsearch_depth = 1\n')
with open(os.path.join(root, ".gitignore"), "w") as f:
    f.write("out/\n")
for a in range(apps):
    d = os.path.join(root, "apps", f"a{a:03d}")
    os.makedirs(d)
    layer, pos = divmod(a, 20)
    ups = []
    if deps and layer > 0:
        ups = [f"a{(layer - 1) * 20 + pos:03d}", f"a{(layer - 1) * 20 + (pos + 1) % 20:03d}"]
    paths = ['"src.txt"'] + [f'"../{u}/out/o.txt"' for u in ups]
    cat = " ".join(["src.txt"] + [f"../{u}/out/o.txt" for u in ups])
    with open(os.path.join(d, ".app.toml"), "w") as f:
        f.write(f'name = "a{a:03d}"\n[[Task]]\nname = "build"\n'
                f'command = ["sh", "-c", "sleep 0.05; mkdir -p out; cat {cat} > out/o.txt"]\n'
                f'[[Task.Input.Files]]\npaths = [{", ".join(paths)}]\n'
                '[[Task.Output.File]]\npath = "out/o.txt"\n')
    with open(os.path.join(d, "src.txt"), "w") as f:
        f.write(f"{a}\n")
PY
  (cd "$1" && git init -q . && git -c user.email=b@e -c user.name=b add -A &&
    git -c user.email=b@e -c user.name=b commit -qm init)
}

ms() { local t0=${EPOCHREALTIME/./}; "$@" >/dev/null 2>&1; echo $(( (${EPOCHREALTIME/./} - t0) / 1000 )); }
# CPU (user + system) in ms: on a shared machine the wall time says more about the other load.
cpu() { local TIMEFORMAT='%3U %3S'; { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ printf "%d\n", ($1 + $2) * 1000 }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
in_repo() { local dir=$1 store=$2; shift 2; (cd "$dir" && CI3_STORE="file://$store" "$@"); }

echo "Generating $apps apps in layers of 20, with and without dependencies..." >&2
make_repo "$work/graph" 1
make_repo "$work/flat" 0
# Files written in the second the index was are racily clean: every status would hash them
# again, in whichever repository the clock happened to catch (the 1.06x-1.36x spread). A
# refresh a second later records their stat data, as a repository some time old has it.
sleep 1
for r in graph flat; do git -C "$work/$r" update-index -q --refresh; done

# 2 first: every task Pending on an empty store.
runs=()
for i in $(seq 1 "$times"); do
  rm -rf "$work/graph/apps"/*/out
  runs+=("$(in_repo "$work/graph" "$work/store-run-$i" ms task_run -p 4)")
done
exist="$(in_repo "$work/graph" "$work/store-run-1" task_status -q --csv -f status | grep -c Exist)"
echo "tasks Exist after task_run: $exist of $apps" >&2
layers=$(( (apps + 19) / 20 ))
per_worker=$(( (apps + 3) / 4 ))
bound=$(( (layers > per_worker ? layers : per_worker) * 50 ))

# The same run without dependencies: what running 200 tasks costs apart from their order.
flat_runs=()
for i in $(seq 1 "$times"); do
  rm -rf "$work/flat/apps"/*/out
  flat_runs+=("$(in_repo "$work/flat" "$work/store-flat-$i" ms task_run -p 4)")
done

# What a task's command costs run alone, process starts included (the 50 ms are a sleep): the
# bound with it, and the plain shell running the same commands 4 at once, in no order.
flat_cmd='sleep 0.05; mkdir -p out; cat src.txt > out/o.txt'
alone="$(cd "$work/flat/apps" && ms bash -c "for a in a0[0-3]?; do (cd \$a && sh -c '$flat_cmd'); done")"
one=$(( alone / 40 ))
measured_bound=$(( (layers > per_worker ? layers : per_worker) * one ))
rm -rf "$work/flat/apps"/*/out
xargs_ms="$(cd "$work/flat/apps" && ms bash -c "ls -d a* | xargs -P 4 -I{} sh -c 'cd {} && $flat_cmd'")"

# 1: all Exist.
in_repo "$work/flat" "$work/store-flat" task_run -p 4 >/dev/null 2>&1
g=() f=() gc=() fc=()
for _ in $(seq 1 "$times"); do
  g+=("$(in_repo "$work/graph" "$work/store-run-1" ms task_status)")
  f+=("$(in_repo "$work/flat" "$work/store-flat" ms task_status)")
  gc+=("$(in_repo "$work/graph" "$work/store-run-1" cpu task_status)")
  fc+=("$(in_repo "$work/flat" "$work/store-flat" cpu task_status)")
done
gm="$(median "${g[@]}")" fm="$(median "${f[@]}")" rm_="$(median "${runs[@]}")"
printf 'apps:                                   %s (%s layers of 20)\n' "$apps" "$layers"
printf 'task_status, all Exist, with the graph: %s ms\n' "$gm"
printf 'task_status, all Exist, no dependencies: %s ms\n' "$fm"
awk -v g="$gm" -v f="$fm" 'BEGIN { printf "ratio graph/flat: %.2fx (target <= 1.2x)\n", g / (f ? f : 1) }'
gcm="$(median "${gc[@]}")" fcm="$(median "${fc[@]}")"
awk -v g="$gcm" -v f="$fcm" 'BEGIN { printf "  CPU (user + system): %d ms vs %d ms, %.2fx\n", g, f, g / (f ? f : 1) }'
printf 'task_run -p 4, all Pending, 50 ms each: %s ms\n' "$rm_"
printf 'critical-path bound:                    %s ms\n' "$bound"
printf 'task_run -p 4, no dependencies:         %s ms\n' "$(median "${flat_runs[@]}")"
printf 'one command alone:                      %s ms\n' "$one"
printf 'bound with that command:                %s ms\n' "$measured_bound"
printf 'xargs -P 4, same commands, no order:    %s ms\n' "$xargs_ms"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v r="$rm_" -v b="$bound" 'BEGIN { printf "ratio run/bound: %.2fx (target <= 1.2x)\n", r / b }'
awk -v r="$rm_" -v b="$measured_bound" 'BEGIN { printf "ratio run/bound with the command as measured alone: %.2fx\n", r / b }'
awk -v r="$rm_" -v x="$xargs_ms" 'BEGIN { printf "ratio run/xargs -P 4: %.2fx\n", r / x }'
