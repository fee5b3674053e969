// Build module for helm, used by edgelb's chart tests (test/k8s/chart-*.test.ts) for `helm lint`
// and `helm template`. Built by scripts/helm.sh into ~/.cache/edgelb, from the Go module proxy.
module edgelb.io/tools/helm

go 1.22.0

require helm.sh/helm/v3 v3.16.4
