#!/usr/bin/env bash
# A tour of the helpers a ci3 build script calls around its commands, each step saying what it
# does: echo_header, get_num_cpus, hash_str, dump_fail, denoise, retry, parallelize (and its
# alias parallelise) and cache_log. Run it from anywhere: `bash examples/helpers/build.sh`.
# It leaves nothing behind: its scratch files and, when no store is configured, the store it
# keeps its log in are a temporary directory removed on exit.
source "$(dirname "$0")/../../ci3/source"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/ci3-helpers-example.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

echo_header "ci3 helpers tour"

# get_num_cpus: what this process may use (a cgroup quota counts); get_num_cpus_max caps it.
cpus=$(get_num_cpus)
echo "get_num_cpus: $cpus CPU(s) usable here; get_num_cpus_max 2 says $(get_num_cpus_max 2)."

# hash_str: 16 hex chars naming some strings, e.g. the parts of a cache key.
echo "hash_str example helpers: $(hash_str example helpers)"

echo_header "dump_fail: quiet unless it fails"
# On success only the command's stdout comes through...
dump_fail "echo 'the command said this on stdout'; echo 'and this on stderr, not shown' >&2"
# ...on failure both streams go to stderr after a line naming the command; the status is kept.
status=0
dump_fail "echo 'output of a failing command'; exit 3" 2>"$scratch/dump_fail.err" || status=$?
echo "dump_fail of a failing command exited $status; it printed on stderr:"
sed 's/^/  | /' "$scratch/dump_fail.err"

echo_header "denoise: a dot per line of output"
# With DENOISE=1 the output is kept in a log and shown only if the command fails.
DENOISE=1 denoise "for i in \$(seq 100); do echo line \$i; done"

echo_header "retry: up to 3 attempts"
# This command fails twice, then succeeds: retry runs it until it does (RETRY_SLEEP apart).
echo 0 >"$scratch/attempts"
RETRY_SLEEP=0.2 retry "n=\$((\$(cat '$scratch/attempts') + 1)); echo \$n >'$scratch/attempts'; echo \"attempt \$n\"; [ \$n -ge 3 ]"
echo "retry succeeded after $(cat "$scratch/attempts") attempts."

echo_header "parallelize: commands from stdin, at most JOBS at once"
# Each job's output is printed whole when it ends; the joblog records every job.
for i in 1 2 3 4; do
  echo "sleep 0.2; echo 'job $i done'"
done | JOBLOG="$scratch/joblog" parallelize 2
echo "parallelize wrote a joblog of $(wc -l <"$scratch/joblog") jobs (number, exit, seconds, command):"
sed 's/^/  | /' "$scratch/joblog"
# parallelise is the same tool; with no JOBS it runs half the CPUs at once.
printf 'echo "spelled %s"\n' parallelise | JOBLOG="$scratch/joblog2" parallelise

echo_header "cache_log: keep a log in the store"
if [ -z "${CI3_STORE:-}${CI3_S3_BUCKET:-}${S3_BUILD_CACHE_AWS_PARAMS:-}" ]; then
  # No store configured: use a directory store of our own rather than ~/.cache/ci3/store.
  export CI3_STORE="file://$scratch/store"
  echo "No store configured: CI3_STORE=$CI3_STORE for this run."
fi
key=$(uuid)
# DUP=1 also shows the log as it is written; the KEY is known before the log exists, so a
# script can print where its log will be.
{
  echo "build log of the helpers tour"
  echo "cpus=$cpus"
} | DUP=1 cache_log "helpers tour" "$key"
log="${CI3_STORE#file://}/.ci3/logs/$key.log"
if [[ ${CI3_STORE:-} == file://* ]] && [ -f "$log" ]; then
  echo "Read back from the store ($(wc -l <"$log") lines): $(head -1 "$log")"
fi

echo_header "done"
echo "Every helper ran."
