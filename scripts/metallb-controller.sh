#!/usr/bin/env bash
# Build (once) MetalLB's controller, the anchor of bench/k8s-ingress.ts, from the Go module pinned
# in tools/metallb-controller/, into the cache folder kube-apiserver uses (~/.cache/edgelb).
# Prints the binary's path; `--crds` prints the folder of MetalLB's CRD manifests instead (they
# ship in the same module, so the anchor's CRDs are the version its controller was built from).
#   scripts/metallb-controller.sh [--crds]
# Uses the machine's Go and GOPROXY; fetches nothing but Go modules.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(awk '/^require go.universe.tf\/metallb /{print $3}' tools/metallb-controller/go.mod)
cache="${EDGELB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgelb}"
out="$cache/metallb-controller-$version"
command -v go >/dev/null || { echo "metallb-controller: go is not installed (apt-get install golang-go)" >&2; exit 1; }
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
stamp_src=$(cat tools/metallb-controller/go.mod tools/metallb-controller/tools.go "$0" | sha256sum | cut -c1-16)
if [[ ! -x "$out" || ! -f "$out.src" || "$(cat "$out.src")" != "$stamp_src" ]]; then
  mkdir -p "$cache/build-metallb"
  # build in a copy so the work tree stays clean (go writes go.sum)
  cp tools/metallb-controller/go.mod tools/metallb-controller/tools.go "$cache/build-metallb/"
  [[ -f tools/metallb-controller/go.sum ]] && cp tools/metallb-controller/go.sum "$cache/build-metallb/"
  echo "metallb-controller: building go.universe.tf/metallb $version into $out (first time: 3-10 min on 2 cores)" >&2
  (cd "$cache/build-metallb" && go build -trimpath -o "$out.tmp" -ldflags="-s -w" go.universe.tf/metallb/controller)
  mv "$out.tmp" "$out"
  echo "$stamp_src" > "$out.src"
fi
if [[ "${1:-}" == --crds ]]; then
  echo "$(cd "$cache/build-metallb" && go list -m -f '{{.Dir}}' go.universe.tf/metallb)/config/crd/bases"
else
  echo "$out"
fi
