# shellcheck shell=bash
# What the demos share, sourced as `source "$(dirname "$0")/demo_setup.sh" NAME`: strict mode,
# the ci3 tools on PATH (built on first use), a scratch directory `$work` removed on exit that
# holds a fresh embedded store ($XDG_CACHE_HOME/ci3/store), no store settings from outside, CI=0,
# and `demo_repo` to turn an example tree into a git repository.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
toolbox="$(dirname "$here")/ci3"
NO_CD=1 source "$toolbox/source"   # builds the ci3 tools on first use
set +x

work="$(mktemp -d "${TMPDIR:-/tmp}/ci3-$1.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export XDG_CACHE_HOME="$work/cache"
unset CI3_STORE CI3_S3_BUCKET S3_BUILD_CACHE_AWS_PARAMS CI3_READ_STORES CACHE_LOCAL_DIR NO_CACHE \
  NO_CACHE_UPLOAD
export CI=0

git_quiet() { git -c user.name=demo -c user.email=demo@example.invalid -c init.defaultBranch=main "$@" >/dev/null; }

# demo_repo TREE DEST MESSAGE [--with-ci3]: examples/TREE copied to DEST and committed; with
# --with-ci3 the toolbox is linked in as ci3/, as a monorepo vendors it.
demo_repo() {
  cp -r "$here/$1" "$2"
  if [ "${4:-}" = --with-ci3 ]; then
    ln -s "$toolbox" "$2/ci3"
  fi
  git_quiet -C "$2" init
  git_quiet -C "$2" add -A
  git_quiet -C "$2" commit -m "$3"
}
