#!/usr/bin/env bash
# The README's "Using it in your own repository", followed to the letter in a repository that is
# not this one: ci3 added as a git submodule under tools/ci3, a project whose bootstrap.sh
# sources tools/ci3/ci3/source, built once and then restored from the cache in a second clone.
# Also shows that a copy of ci3/ alone stops the script at once, with one line.
source "$(dirname "$0")/demo_setup.sh" own-repo
top="$(dirname "$here")"

# Cargo rebuilds only the two ci3 crates of the submodule when it starts from this checkout's
# compiled dependencies.
export CARGO_TARGET_DIR="$work/target"
if [ -d "$top/target/release" ]; then
  mkdir -p "$CARGO_TARGET_DIR"
  cp -r "$top/target/release" "$CARGO_TARGET_DIR/release"
fi
export CI3_STORE="file://$work/store"
# The scripts below must find their tools through their own copy of ci3, as in a repository of
# one's own: not through this checkout's, which demo_setup put on PATH.
unset _CI3_TOOLS_CHECKED
PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF -e "$top/bin" -e "$top/ci3" | paste -sd:)"
if command -v cache_content_hash >/dev/null; then
  echo "own-repo-demo: cache_content_hash is still on PATH from outside" >&2
  exit 1
fi

mine="$work/mine"
git_quiet init "$mine"
# The README's words: the whole ci3 repository as a submodule (a local path stands for its URL).
git_quiet -C "$mine" -c protocol.file.allow=always submodule add "$top" tools/ci3
mkdir -p "$mine/hello"
cat >"$mine/hello/.rebuild_patterns" <<'EOF'
^hello/src/
^hello/bootstrap\.sh$
EOF
mkdir -p "$mine/hello/src"
echo 'hello from my own repository' >"$mine/hello/src/greeting.txt"
cat >"$mine/hello/bootstrap.sh" <<'EOF'
#!/usr/bin/env bash
source "$(git rev-parse --show-toplevel)/tools/ci3/ci3/source"
name="hello-$(cache_content_hash .rebuild_patterns).tar.zst"
if ! cache_download "$name"; then
  echo "building hello" >&2
  mkdir -p build
  tr a-z A-Z <src/greeting.txt >build/greeting.txt
  cache_upload "$name" build
fi
cat build/greeting.txt
EOF
chmod +x "$mine/hello/bootstrap.sh"
echo build/ >"$mine/.gitignore"
git_quiet -C "$mine" add -A
git_quiet -C "$mine" commit -m "hello, built with ci3 from a submodule"

echo "== first build (builds the ci3 tools inside the submodule, then hello)" >&2
first="$(cd "$mine/hello" && ./bootstrap.sh 2>"$work/first.err")" || { cat "$work/first.err" >&2; exit 1; }
grep -q "building hello" "$work/first.err"
[ "$first" = "HELLO FROM MY OWN REPOSITORY" ]

echo "== a second clone restores hello from the cache" >&2
git_quiet clone "$mine" "$work/clone"
git_quiet -C "$work/clone" -c protocol.file.allow=always submodule update --init
# The tools are built once per copy of ci3; the clone's copy reuses the first build's output.
cp -r "$mine/tools/ci3/bin" "$work/clone/tools/ci3/bin"
second="$(cd "$work/clone/hello" && ./bootstrap.sh 2>"$work/second.err")" || { cat "$work/second.err" >&2; exit 1; }
if grep -q "building hello" "$work/second.err"; then
  echo "own-repo-demo: the clone built hello again instead of restoring it" >&2
  exit 1
fi
[ "$second" = "HELLO FROM MY OWN REPOSITORY" ]

echo "== ci3/ copied alone (without the rest of its repository) stops the script at once" >&2
lone="$work/lone"
git_quiet init "$lone"
cp -r "$top/ci3" "$lone/ci3"
printf '%s\n' '#!/usr/bin/env bash' 'source "$(git rev-parse --show-toplevel)/ci3/source"' \
  'echo "the build went on" >&2' 'touch went-on' >"$lone/bootstrap.sh"
set +e
(cd "$lone" && bash ./bootstrap.sh 2>"$work/lone.err")
code=$?
set -e
cat "$work/lone.err" >&2
if [ "$code" -eq 0 ] || [ -e "$lone/went-on" ] || [ "$(wc -l <"$work/lone.err")" -ne 1 ]; then
  echo "own-repo-demo: a lone ci3/ copy must stop the script with a non-zero exit (got $code)" >&2
  exit 1
fi
echo "own-repo-demo: ok" >&2
