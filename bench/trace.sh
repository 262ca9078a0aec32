#!/usr/bin/env bash
# Benchmark: the tracer's overhead (issue 23). Two workloads, each run untraced, under
# `cache_trace`, under `cache_trace --probes` (stat/access/readlink stop the tracee too) and
# under `strace -f -e trace=file -o /dev/null`:
#   c:   a C build of 200 files with `make -j2` (each file includes a few system headers)
#   git: a git-heavy script (status, add, commit, log, diff, 50 rounds) in a repository of 500 files
# Prints the best of 3 wall times of each and the ratios to untraced.
# Usage: bench/trace.sh [FILES] [OTHER_CACHE_TRACE]
#   OTHER_CACHE_TRACE: another build of cache_trace (say main's, before a change) timed too, in
#   the same run, for an A/B under the same load; the load average is printed at the end.
# Targets: traced within 1.5x of untraced, and faster than strace -f.
set -euo pipefail
files="${1:-200}"
other="${2:-}"
here="$(cd "$(dirname "$0")/.." && pwd)"
NO_CD=1 source "$here/ci3/source"
set +x
command -v strace >/dev/null 2>&1 || { echo "bench: strace is needed (apt-get install strace)" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/ci3-bench-trace.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
g() { git -c user.name=b -c user.email=b@b -c init.defaultBranch=main "$@"; }

# The C project.
c="$work/c"
mkdir -p "$c/src" "$c/include"
echo '#define SCALE 3' > "$c/include/scale.h"
for i in $(seq 1 "$files"); do
  printf '#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>\n#include "scale.h"\nint f%d(int x) { char b[16]; snprintf(b, sizeof b, "%%d", x * SCALE); return (int)strlen(b) + atoi(b); }\n' "$i" > "$c/src/f$i.c"
done
printf 'int main(void) { return 0; }\n' > "$c/src/main.c"
cat > "$c/Makefile" <<'MK'
SRCS := $(wildcard src/*.c)
OBJS := $(SRCS:src/%.c=obj/%.o)
app: $(OBJS)
	cc -o $@ $^
obj/%.o: src/%.c | obj
	cc -O1 -Iinclude -c $< -o $@
obj:
	mkdir -p obj
MK
printf 'obj/\napp\n' > "$c/.gitignore"
g -C "$c" init -q && g -C "$c" add -A && g -C "$c" commit -qm c
printf '^src/\n^include/\n^Makefile$\n' > "$c/.rebuild_patterns"
c_cmd="rm -rf obj app && make -s -j2"

# The git-heavy script.
r="$work/git"
mkdir -p "$r"
for i in $(seq 1 500); do echo "line $i" > "$r/file$i.txt"; done
g -C "$r" init -q && g -C "$r" add -A && g -C "$r" commit -qm init
echo '^file' > "$r/.rebuild_patterns"
git_cmd='for i in $(seq 1 50); do echo "$i" >> file1.txt; git status --porcelain >/dev/null; git add -A; git -c user.name=b -c user.email=b@b commit -qm "r$i"; git log --oneline -5 >/dev/null; git diff HEAD~1 --stat >/dev/null; done'

# best DIR CMD...: the best wall time of 3 runs, in seconds.
best() {
  local dir="$1" min="" t s e
  shift
  for _ in 1 2 3; do
    s=$(date +%s.%N)
    (cd "$dir" && "$@" >/dev/null 2>&1) || true
    e=$(date +%s.%N)
    t=$(awk "BEGIN { print $e - $s }")
    if [ -z "$min" ] || awk "BEGIN { exit !($t < $min) }"; then min="$t"; fi
  done
  echo "$min"
}

for w in c git; do
  if [ "$w" = c ]; then dir="$c" cmd="$c_cmd"; else dir="$r" cmd="$git_cmd"; fi
  plain=$(best "$dir" bash -c "$cmd")
  traced=$(best "$dir" cache_trace "$cmd")
  probes=$(best "$dir" cache_trace --probes "$cmd")
  strace=$(best "$dir" strace -f -e trace=file -o /dev/null bash -c "$cmd")
  printf '%-4s untraced %6.2fs  cache_trace %6.2fs (%.2fx)  --probes %6.2fs (%.2fx)  strace -f %6.2fs (%.2fx)\n' \
    "$w" "$plain" "$traced" "$(awk "BEGIN { print $traced / $plain }")" \
    "$probes" "$(awk "BEGIN { print $probes / $plain }")" \
    "$strace" "$(awk "BEGIN { print $strace / $plain }")"
  if [ -n "$other" ]; then
    o=$(best "$dir" "$other" "$cmd")
    op=$(best "$dir" "$other" --probes "$cmd")
    printf '%-4s other:   cache_trace %6.2fs (%.2fx)  --probes %6.2fs (%.2fx)\n' \
      "$w" "$o" "$(awk "BEGIN { print $o / $plain }")" "$op" "$(awk "BEGIN { print $op / $plain }")"
  fi
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
