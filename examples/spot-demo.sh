#!/usr/bin/env bash
# A build on a fresh machine, as a spot instance does. examples/bootstrap-monorepo is built in a
# new container of a build image (examples/spot/image.sh) that starts with nothing but a clone of
# the repository, made inside it, and the store's address: the loopback S3 server, reached over
# the host's network. That first container is killed (SIGKILL, as a spot reclaim) once a project's
# artifact is in the store and while the next one compiles; a second fresh container then builds
# again and restores every project the first one finished, building only the rest. Nothing but
# the store carries state from one container to the other.
#
# Needs root and the docker engine of the tests (test_docker: Debian's docker.io and friends).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
top="$(dirname "$here")"
# The tools (built on first use) and the S3 server, stopped on exit; the engine started below
# stops when this shell exits.
NO_CD=1 source "$top/test_source"
# ci3/source turns tracing on under BUILD_SYSTEM_DEBUG: the demo's own lines stay readable.
set +x

readonly IMAGE="ci3-build:example"
readonly SLOW_PROJECT="app"
# Both containers' names, so that every exit path can remove them.
readonly NAME1="ci3-spot-1-$$" NAME2="ci3-spot-2-$$"
work="$(mktemp -d "${TMPDIR:-/tmp}/ci3-spot-demo.XXXXXX")"
client1=""

cleanup() {
  if [ -n "${DOCKER_HOST:-}" ]; then
    docker rm -f "$NAME1" "$NAME2" >/dev/null 2>&1 || true
  fi
  if [ -n "$client1" ]; then
    kill "$client1" 2>/dev/null || true
    wait "$client1" 2>/dev/null || true
  fi
  rm -rf "$work"
  ci3_test_s3_stop
}
trap cleanup EXIT
# A signal ends the script through the EXIT trap too.
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
  echo "spot-demo: $*" >&2
  exit 1
}

# Seconds since the microsecond timestamp $1 (an EPOCHREALTIME value), to a tenth.
since() {
  local t=$(((${EPOCHREALTIME/[.,]/} - ${1/[.,]/} + 50000) / 100000))
  echo "$((t / 10)).$((t % 10))s"
}

# The artifact names in the store, one a line: a real listing of the bucket (ListObjectsV2,
# signed with SigV4), not a look at the server's files. The store's own records (.ci3/: the
# artifacts' manifests) are left out.
store_list() {
  python3 - <<'EOF'
import datetime, hashlib, hmac, os, re, urllib.parse, urllib.request

endpoint = os.environ["CI3_S3_ENDPOINT"].rstrip("/")
bucket = os.environ["CI3_S3_BUCKET"]
prefix = os.environ.get("CI3_S3_PREFIX", "build-cache/")
region = os.environ["AWS_REGION"]
key_id, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]

now = datetime.datetime.now(datetime.timezone.utc)
stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
host = urllib.parse.urlsplit(endpoint).netloc
query = "list-type=2&prefix=" + urllib.parse.quote(prefix, safe="")
empty = hashlib.sha256(b"").hexdigest()
headers = {"host": host, "x-amz-content-sha256": empty, "x-amz-date": stamp}
signed = ";".join(sorted(headers))
canonical = "\n".join(["GET", "/" + bucket, query]
                      + [k + ":" + headers[k] for k in sorted(headers)] + ["", signed, empty])
scope = f"{day}/{region}/s3/aws4_request"
to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope,
                     hashlib.sha256(canonical.encode()).hexdigest()])
key = ("AWS4" + secret).encode()
for part in (day, region, "s3", "aws4_request"):
    key = hmac.new(key, part.encode(), hashlib.sha256).digest()
signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
request = urllib.request.Request(f"{endpoint}/{bucket}?{query}", headers={
    "x-amz-content-sha256": empty, "x-amz-date": stamp,
    "Authorization": f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, "
                     f"SignedHeaders={signed}, Signature={signature}"})
body = urllib.request.urlopen(request, timeout=10).read().decode()
for name in re.findall(r"<Key>([^<]*)</Key>", body):
    name = name[len(prefix):]
    if not name.startswith(".ci3/"):
        print(name)
EOF
}

# The projects of artifact names on stdin (libgreet-HASH.tar.gz -> libgreet), sorted.
projects_of() { sed 's/-[^-]*$//' | sort -u; }
# The projects a build's stdout says it VERB (built, restored from cache), sorted.
said() { sed -n "s/^\([^: ]*\): $2\( (.*)\)\?\$/\1/p" "$1" | sort -u; }
# "a, b" of the lines on stdin; "nothing" for none.
words() { paste -sd, - | sed 's/,/, /g; s/^$/nothing/'; }

if ! ci3_test_docker_start; then
  die "the docker engine did not start (test_docker said why above); the demo needs it"
fi

echo "=== The build image $IMAGE, made offline (tools of this checkout, a C toolchain, git)"
start=$EPOCHREALTIME
bash "$here/spot/image.sh" "$IMAGE"
echo "    took $(since "$start")"

# The repository, and its remote: a bare clone, mounted read-only into each container, where a
# clone of its own is made. Its ci3/ is the build image's toolbox, as a monorepo vendors ci3.
git_quiet() {
  git -c user.name=demo -c user.email=demo@example.invalid -c init.defaultBranch=main \
    "$@" >/dev/null
}
cp -r "$here/bootstrap-monorepo" "$work/repo"
ln -s /opt/ci3/ci3 "$work/repo/ci3"
git_quiet -C "$work/repo" init
git_quiet -C "$work/repo" add -A
git_quiet -C "$work/repo" commit -m "bootstrap example"
git_quiet clone -q --bare "$work/repo" "$work/remote.git"
projects="$(cd "$work/repo" && ls -d -- */bootstrap.sh | sed 's|/bootstrap.sh$||' | sort)"

# A fresh machine: host network (the store is on loopback), the remote read-only, and in the
# environment only the store's address and credentials, and CI=1 so that builds upload.
fresh() {
  docker run --rm --name "$1" --network host \
    -v "$work/remote.git:/remote/repo.git:ro" \
    -e CI=1 -e CI3_S3_ENDPOINT -e CI3_S3_BUCKET -e AWS_REGION \
    -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY \
    "$IMAGE" spot-build "${@:2}"
}

port="${CI3_S3_ENDPOINT##*:}"
if ! docker run --rm --network host "$IMAGE" \
  bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
  die "a container on the host network cannot reach the S3 server at $CI3_S3_ENDPOINT"
fi
[ -z "$(store_list)" ] || die "the store is not empty at the start"

echo "=== Container 1: a fresh machine builds; compiling $SLOW_PROJECT is slow"
start=$EPOCHREALTIME
fresh "$NAME1" --slow "$SLOW_PROJECT" >"$work/c1.log" 2>"$work/c1.err" &
client1=$!
# The interruption: as soon as the store holds an artifact, i.e. a project finished, and the slow
# compile holds the build inside the next one (so the kill falls in a project, not between two).
# Bounded: a build that never gets there is a failure.
deadline=$((SECONDS + 120))
until [ -n "$(store_list)" ] && grep -q "^$SLOW_PROJECT: compiling" "$work/c1.log"; do
  if ! kill -0 "$client1" 2>/dev/null; then
    cat "$work/c1.log" "$work/c1.err" >&2
    die "container 1 ended before it was killed"
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    cat "$work/c1.log" "$work/c1.err" >&2
    die "after 120 s, no artifact in the store or $SLOW_PROJECT not compiling yet"
  fi
  sleep 0.2
done
docker kill --signal KILL "$NAME1" >/dev/null
status=0
wait "$client1" || status=$?
client1=""
sed 's/^/    /' "$work/c1.log"
echo "    killed (SIGKILL, exit $status) after $(since "$start")"
if [ "$status" != 137 ]; then
  cat "$work/c1.err" >&2
  die "container 1 was not killed mid-build (exit $status)"
fi

stored="$(store_list | projects_of)"
built1="$(said "$work/c1.log" built)"
echo "=== The store holds: $(store_list | words)"

echo "=== Container 2: another fresh machine builds the same commit"
start=$EPOCHREALTIME
fresh "$NAME2" >"$work/c2.log" 2>"$work/c2.err" || {
  cat "$work/c2.log" "$work/c2.err" >&2
  die "container 2's build failed"
}
sed 's/^/    /' "$work/c2.log"
echo "    took $(since "$start")"
restored2="$(said "$work/c2.log" "restored from cache")"
built2="$(said "$work/c2.log" built)"

echo "=== Summary: container 1 (killed): built $(words <<<"$built1");" \
  "container 2: restored $(words <<<"$restored2"), built $(words <<<"$built2")"
# What container 1 finished is what it uploaded; a kill between build and upload is not a
# finished project.
[ -n "$stored" ] || die "container 1 uploaded nothing"
[ "$stored" = "$built1" ] ||
  die "the store holds artifacts of [$stored] but container 1 said it built [$built1]"
[ "$stored" != "$projects" ] || die "container 1 finished every project: it was not killed halfway"
[ "$restored2" = "$stored" ] ||
  die "container 2 restored [$restored2], expected what container 1 uploaded: [$stored]"
rest="$(comm -23 <(echo "$projects") <(echo "$stored"))"
[ "$built2" = "$rest" ] || die "container 2 built [$built2], expected the rest: [$rest]"
grep -q '^the app runs:' "$work/c2.log" || die "container 2 did not check its outputs"
