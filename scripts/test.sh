#!/usr/bin/env bash
# Run edgelb's test suites with node's test runner (TypeScript through tsx).
#   scripts/test.sh [all|unit|lab|k8s|bench-quick] [files...]
# unit: pure logic, fast, parallel. lab: network namespaces, real routers, XDP (root, serial).
# k8s: a real kube-apiserver + etcd on loopback (serial).
# bench-quick: every benchmark once with small N (`make bench QUICK=1`), so a broken one fails.
# Each suite prints its duration; the last line sums every suite: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"; shift || true
mkdir -p .cache/test-results
total_pass=0; total_fail=0; total_skip=0; rc=0

run_suite() {
  local name="$1" concurrency="$2"; shift 2
  local files=("$@")
  if ((${#files[@]} == 0)); then echo "== suite $name: no test files"; return; fi
  local tap=".cache/test-results/$name-$$.tap" start end
  start=$(date +%s)
  echo "== suite $name: ${#files[@]} files"
  node --import tsx --test --test-concurrency="$concurrency" --test-timeout=600000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" \
    "${files[@]}"
  local status=$?
  end=$(date +%s)
  local pass fail skip
  pass=$(grep -E '^# pass ' "$tap" | tail -1 | awk '{print $3}'); pass=${pass:-0}
  fail=$(grep -E '^# fail ' "$tap" | tail -1 | awk '{print $3}'); fail=${fail:-0}
  skip=$(grep -E '^# skipped ' "$tap" | tail -1 | awk '{print $3}'); skip=${skip:-0}
  if ((status != 0 && fail == 0)); then fail=1; fi
  echo "== suite $name: $pass passed, $fail failed, $skip skipped in $((end - start)) s"
  total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail)); total_skip=$((total_skip + skip))
  ((status == 0)) || rc=1
}

find_tests() { find "$1" -name '*.test.ts' 2>/dev/null | sort; }

if (($# > 0)); then
  run_suite "$which" 1 "$@"
else
  case "$which" in
    unit|all) mapfile -t f < <(find_tests test/unit); run_suite unit 2 "${f[@]}" ;;&
    lab|all)  mapfile -t f < <(find_tests test/lab);  run_suite lab 1 "${f[@]}" ;;&
    k8s|all)  mapfile -t f < <(find_tests test/k8s);  run_suite k8s 1 "${f[@]}" ;;&
    bench-quick|all) run_suite bench-quick 1 test/bench/quick.test.ts ;;
  esac
fi
echo "tests: $total_pass passed, $total_fail failed, $total_skip skipped"
exit $rc
