#!/usr/bin/env bash
# Build (once) the real kube-apiserver that edgelb's Kubernetes tests run against, from the Go build
# module in tools/kube-apiserver/, into a cache folder outside the repo. Prints the binary's path.
#   scripts/kube-apiserver.sh            build if missing, print the path
#   EDGELB_CACHE=/some/dir scripts/kube-apiserver.sh
# Uses the machine's Go and GOPROXY; fetches nothing but Go modules.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(awk '/^require k8s.io\/kubernetes /{print $3}' tools/kube-apiserver/go.mod)
cache="${EDGELB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgelb}"
out="$cache/kube-apiserver-$version"
stamp_src=$(cat tools/kube-apiserver/go.mod tools/kube-apiserver/tools.go "$0" | sha256sum | cut -c1-16)
if [[ -x "$out" && -f "$out.src" && "$(cat "$out.src")" == "$stamp_src" ]]; then
  echo "$out"; exit 0
fi
command -v go >/dev/null || { echo "kube-apiserver: go is not installed (apt-get install golang-go)" >&2; exit 1; }
mkdir -p "$cache/build"
# build in a copy so the work tree stays clean (go writes go.sum)
cp tools/kube-apiserver/go.mod tools/kube-apiserver/tools.go "$cache/build/"
[[ -f tools/kube-apiserver/go.sum ]] && cp tools/kube-apiserver/go.sum "$cache/build/"
echo "kube-apiserver: building k8s.io/kubernetes $version into $out (first time: 10-25 min on 2 cores)" >&2
(
  cd "$cache/build"
  export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
  v=k8s.io/component-base/version
  minor=$(echo "$version" | cut -d. -f2)
  go build -trimpath -o "$out.tmp" \
    -ldflags="-s -w -X $v.gitVersion=$version -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean" \
    k8s.io/kubernetes/cmd/kube-apiserver
)
mv "$out.tmp" "$out"
echo "$stamp_src" > "$out.src"
echo "$out"
