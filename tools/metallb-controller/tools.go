//go:build tools

// The anchor for bench/k8s-ingress.ts: MetalLB's controller (the IP-allocating half of MetalLB),
// built from its Go module by scripts/metallb-controller.sh like kube-apiserver is.
package tools

import _ "go.universe.tf/metallb/controller"
