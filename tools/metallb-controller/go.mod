module edgelb.local/tools/metallb-controller

go 1.24

require go.universe.tf/metallb v0.15.2
