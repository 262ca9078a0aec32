#!/usr/bin/env bash
# The build image of the spot example, made offline from this machine's own files, since no image
# may be pulled: bash, git, coreutils and the other commands build scripts call, a C toolchain
# (gcc, binutils, libc's headers and start files) for the example's projects, and the ci3 toolbox
# at /opt/ci3 as a build image would carry it: ci3/ plus the prebuilt bin/ with its .built stamp
# and no crates/, which ci3/source takes as ready tools (it builds only when it finds sources
# newer than the stamp), so no Rust toolchain is needed inside. Each executable brings the shared
# libraries ldd finds for it, and the loader.
#
#   bash examples/spot/image.sh TAG    imports the image as TAG into the engine at $DOCKER_HOST
#
# Needs a Debian host (dpkg lists libc's headers) with the tools built into bin/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
top="$(cd "$here/../.." && pwd)"
tag="${1:?usage: bash examples/spot/image.sh TAG}"

die() {
  echo "spot image: $*" >&2
  exit 1
}

[ -f "$top/bin/.built" ] || die "no tools in $top/bin: source ci3/source first, it builds them"
for tool in gcc dpkg ldd docker; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing on this machine"
done

stage="$(mktemp -d "${TMPDIR:-/tmp}/ci3-spot-image.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
list="$stage/paths"
mkdir -p "$root"
: >"$list"

# add PATH...: each path with every link of its symlink chain, written with the directories
# resolved (/lib/x -> /usr/lib/x), so that the image's own /lib -> usr/lib links lead to them.
add() {
  local p dir target
  for p in "$@"; do
    while :; do
      dir="$(realpath "$(dirname "$p")")"
      p="$dir/$(basename "$p")"
      [ -e "$p" ] || [ -L "$p" ] || die "$p is missing on this machine"
      echo "$p" >>"$list"
      [ -L "$p" ] || break
      target="$(readlink "$p")"
      case "$target" in
        /*) p="$target" ;;
        *) p="$dir/$target" ;;
      esac
    done
  done
}

# add_tree DIR: everything under DIR.
add_tree() {
  local dir
  dir="$(realpath "$1")"
  find "$dir" >>"$list"
}

# The commands: build scripts' (the example's, ci3/source's, source_bootstrap's) and those the
# tools start themselves (bash, git).
for cmd in bash sh env git tar gzip zstd find xargs sed grep awk flock cc gcc ar as ld; do
  add "$(command -v "$cmd")"
done
while IFS= read -r path; do
  [ -f "$path" ] && add "$path"
done < <(dpkg -L coreutils | grep -E '^/(usr/)?bin/')
# git's helper programs (the file:// transport runs git-upload-pack), and the templates a clone
# copies, found from them: PREFIX/libexec/git-core -> PREFIX/share/git-core/templates.
add_tree "$(git --exec-path)"
templates="$(dirname "$(dirname "$(git --exec-path)")")/share/git-core/templates"
if [ -d "$templates" ]; then
  add_tree "$templates"
fi

# The compiler's own programs, start files and libraries, wherever this gcc keeps them.
for prog in cc1 collect2 lto-wrapper; do
  path="$(gcc -print-prog-name="$prog")"
  [ -f "$path" ] && add "$path"
done
for file in liblto_plugin.so crt1.o Scrt1.o crti.o crtn.o crtbegin.o crtbeginS.o crtend.o \
  crtendS.o libgcc.a libgcc_eh.a libgcc_s.so libgcc_s.so.1 libc.so libc_nonshared.a libc.so.6 \
  libm.so libm.so.6; do
  path="$(gcc -print-file-name="$file")"
  # gcc prints the bare name back when it has no such file.
  [ "$path" != "$file" ] && add "$path"
done
add_tree "$(gcc -print-file-name=include)"
# libc's and the kernel's headers (stdio.h includes bits/, asm/, linux/ ones).
while IFS= read -r path; do
  [ -f "$path" ] && add "$path"
done < <(dpkg -L libc6-dev linux-libc-dev | grep '^/usr/include/')

# The shared libraries of every executable and library so far (ldd lists the whole closure).
while IFS= read -r path; do
  if [ -f "$path" ] && [ ! -L "$path" ] && { [ -x "$path" ] || [[ $path == *.so* ]]; }; then
    ldd "$path" 2>/dev/null |
      awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' || true
  fi
done < <(sort -u "$list") | sort -u >"$stage/libs"
while IFS= read -r path; do
  add "$path"
done <"$stage/libs"

# Copied as they are (links stay links); parent directories come into being on the way.
sort -u "$list" | sed 's|^/||' | tar -C / --no-recursion -c -T - -f - | tar -C "$root" -x -f -

# The toolbox. Its tools' libraries (libc, libm, libgcc_s) came with the compiler's.
mkdir -p "$root/opt/ci3"
cp -r "$top/ci3" "$root/opt/ci3/ci3"
mkdir -p "$root/opt/ci3/bin"
cp "$top"/bin/* "$root/opt/ci3/bin/"
for tool in "$root"/opt/ci3/bin/*; do
  ldd "$tool" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while IFS= read -r lib; do
    [ -e "$root$(realpath "$lib")" ] || die "$(basename "$tool") needs $lib, which the image lacks"
  done
  break # one is enough: every tool links the same libraries
done
# Its stamp, as ci3/source wrote it: without it the tools count as missing and it would build.
touch "$root/opt/ci3/bin/.built"

# The example's build commands inside the container.
mkdir -p "$root/usr/local/bin" "$root/opt/spot/slow"
cp "$here/build.sh" "$root/usr/local/bin/spot-build"
cp "$here/slow-cc" "$root/opt/spot/slow/cc"
chmod 755 "$root/usr/local/bin/spot-build" "$root/opt/spot/slow/cc"

# The merged-/usr links of this machine, a home, a /tmp anyone may write, and who root is.
for link in bin sbin lib lib64; do
  if [ -L "/$link" ]; then
    ln -s "$(readlink "/$link")" "$root/$link"
  fi
done
mkdir -p "$root/root" "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp"
chmod 755 "$root"
echo 'root:x:0:0:root:/root:/bin/bash' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
  --change 'ENV HOME=/root' \
  --change 'WORKDIR /root' - "$tag" >/dev/null
echo "spot image: $tag, $(du -sm "$root" | cut -f1) MiB" >&2
