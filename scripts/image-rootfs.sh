#!/usr/bin/env bash
# Build (once) the Debian root filesystems of the edgelb image with mmdebstrap, cached outside the
# repo (like kube-apiserver): the runtime rootfs (Essential + image/packages-runtime.txt) and the
# builder rootfs (runtime + image/packages-build.txt, where the addon is compiled), as directories
# (read-only by convention: scripts/image.sh copies or overlays them). Prints the two paths, runtime
# first.
#   scripts/image-rootfs.sh
#   EDGELB_CACHE=/dir EDGELB_DEBIAN_MIRROR=http://deb.debian.org/debian scripts/image-rootfs.sh
# Variant "essential" instead of debootstrap's minbase: minbase adds only apt (and its deps), and the
# image never installs packages at run time, so apt would be dead weight.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${EDGELB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgelb}"
mirror="${EDGELB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${EDGELB_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}"
suite=bookworm
# a fixed epoch for the files mmdebstrap writes (the image's layer clamps every mtime to the
# repo's own SOURCE_DATE_EPOCH anyway), so the cache key does not move with each commit
export SOURCE_DATE_EPOCH=1700000000
pkgs() { grep -v '^\s*#' "$1" | grep -v '^\s*$' | paste -sd, -; }
runtime=$(pkgs image/packages-runtime.txt)
build=$(pkgs image/packages-build.txt)
key=$(printf '%s\n' "$suite" "$mirror" "$runtime" "$build" | cat - "$0" | sha256sum | cut -c1-16)
mkdir -p "$cache"
rt="$cache/rootfs-runtime-$key"
bt="$cache/rootfs-build-$key"
command -v mmdebstrap >/dev/null || { echo "image-rootfs: mmdebstrap is not installed (make setup)" >&2; exit 1; }
mk() { # out includes
  local out=$1 inc=$2
  [[ -d "$out" ]] && return 0
  rm -rf "$out.tmp"
  echo "image-rootfs: mmdebstrap $suite into $out (first time: a few minutes)" >&2
  mmdebstrap --quiet --mode=root --format=directory --variant=essential --include="$inc" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/* "$1"/var/cache/ldconfig/aux-cache' \
    "$suite" "$out.tmp" \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main"
  mv "$out.tmp" "$out"
}
mk "$rt" "$runtime"
mk "$bt" "$runtime,$build"
echo "$rt"
echo "$bt"
