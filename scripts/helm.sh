#!/usr/bin/env bash
# Build (once) the helm binary that the chart tests use (helm lint, helm template), from the Go
# build module in tools/helm/, into a cache folder outside the repo. Prints the binary's path.
#   scripts/helm.sh            build if missing, print the path
#   EDGELB_CACHE=/some/dir scripts/helm.sh
# Uses the machine's Go and GOPROXY; fetches nothing but Go modules. The default Kubernetes version
# (helm template without a cluster) is 1.31, as helm's own Makefile sets from its client-go.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(awk '/^require helm.sh\/helm\/v3 /{print $3}' tools/helm/go.mod)
cache="${EDGELB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgelb}"
out="$cache/helm-$version"
stamp_src=$(cat tools/helm/go.mod tools/helm/tools.go "$0" | sha256sum | cut -c1-16)
if [[ -x "$out" && -f "$out.src" && "$(cat "$out.src")" == "$stamp_src" ]]; then
  echo "$out"; exit 0
fi
command -v go >/dev/null || { echo "helm: go is not installed (apt-get install golang-go)" >&2; exit 1; }
work="$cache/build-helm"
mkdir -p "$work"
# build in a copy so the work tree stays clean (go writes go.sum)
cp tools/helm/go.mod tools/helm/tools.go "$work/"
[[ -f tools/helm/go.sum ]] && cp tools/helm/go.sum "$work/"
echo "helm: building helm.sh/helm/v3 $version into $out (first time: 3-8 min on 2 cores)" >&2
(
  cd "$work"
  export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
  go build -trimpath -o "$out.tmp" \
    -ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=31 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=31" \
    helm.sh/helm/v3/cmd/helm
)
mv "$out.tmp" "$out"
echo "$stamp_src" > "$out.src"
echo "$out"
