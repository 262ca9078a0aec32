#!/usr/bin/env bash
# What a fresh build machine of the spot example runs (as spot-build, inside the build image):
# clone the repository from its remote (mounted read-only at /remote/repo.git, standing for the
# git server), build it with ./bootstrap.sh, then check that every project's outputs are there and
# run the app. The environment holds only the store's address and credentials and CI=1.
#
#   spot-build [--slow PROJECT]   --slow: compiling PROJECT takes ten minutes (see slow-cc)
set -euo pipefail
if [ "${1:-}" = --slow ]; then
  export SPOT_SLOW_PROJECT="${2:?--slow needs a project}"
  export PATH="/opt/spot/slow:$PATH"
fi

git clone -q file:///remote/repo.git "$HOME/repo"
cd "$HOME/repo"
./bootstrap.sh build

# The outputs of every project, wherever they came from.
for project in */bootstrap.sh; do
  project="${project%/bootstrap.sh}"
  if [ -z "$(ls -A "$project/build" 2>/dev/null)" ]; then
    echo "spot-build: $project has no outputs in $project/build" >&2
    exit 1
  fi
  echo "outputs of $project: $(cd "$project/build" && ls | tr '\n' ' ')"
done
echo "the app runs:"
app/build/app "a fresh machine"
