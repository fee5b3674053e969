#!/usr/bin/env bash
# Run edgelb's benchmarks one after the other (root: most build network namespaces). Each prints
# its figures beside an anchor measured in the same run, as a ratio.
#   scripts/bench.sh [name…]     e.g. scripts/bench.sh bgp-push dataplane-testrun
set -uo pipefail
cd "$(dirname "$0")/.."
names=("$@")
if ((${#names[@]} == 0)); then
  names=(bgp-codec config-load native-calls dataplane-testrun bgp-latency bgp-push dataplane-wrk failover-l2 k8s-ingress)
fi
rc=0
for n in "${names[@]}"; do
  echo "== bench $n"
  start=$(date +%s)
  node --import tsx "bench/$n.ts" || rc=1
  echo "== bench $n: $(( $(date +%s) - start )) s"
done
exit $rc
