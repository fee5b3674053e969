#!/usr/bin/env bash
# The addon built with AddressSanitizer + UndefinedBehaviorSanitizer (build/asan/, apart from the
# normal build), running the tests that load it with libasan preloaded into node:
#   1. build/asan: the addon with -fsanitize=address,undefined and -DEDGELB_PLANTED_OVERFLOW, which
#      adds one test-only export, plantedOverflow(n) (native/planted.cc); nothing else calls it, and
#      the normal build never has it. One build, not two: a second full sanitized build of the addon
#      costs minutes on a loaded machine.
#   2. test/asan/planted.test.ts: ASan reports the planted overflow ("heap-buffer-overflow"), so a
#      run that finds nothing is proven able to find something.
#   3. The unit tests that load the addon, then (under the lab lock) the native lab tests, against
#      the sanitized addon (EDGELB_NATIVE_PATH). Any ASan/UBSan report fails the run.
# ASAN_OPTIONS=detect_leaks=0: node and V8 keep some allocations until exit on purpose (isolate,
# code space, handles of the main context); LeakSanitizer reports those as leaks of node itself, not
# of the addon, and would fail every run. Use-after-free, overflows and UB are still fatal.
#   scripts/test-asan.sh [unit|lab|all]   (default all; prints its duration)
set -uo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
start=$(date +%s)
NODE_GYP_FLAGS=()
[[ -f /usr/include/node/node_api.h ]] && NODE_GYP_FLAGS=(--nodedir=/usr)

# a gyp project in build/asan whose native/ is the repository's (a symlink)
build() {
  local dir="build/asan"
  mkdir -p "$dir"
  ln -sfn ../../native "$dir/native"
  cp binding.gyp "$dir/binding.gyp"
  local stamp="$dir/.stamp" newest
  newest=$(ls -t binding.gyp native/*.cc native/*.h native/bpf/edgelb_shared.h | head -1)
  if [[ -f "$stamp" && -f "$dir/build/Release/edgelb.node" && "$stamp" -nt "$newest" ]]; then return 0; fi
  (cd "$dir" && EDGELB_SANITIZE=1 npx node-gyp configure build "${NODE_GYP_FLAGS[@]}" --loglevel=warn) || return 1
  touch "$stamp"
}

echo "== asan: building the sanitized addon (build/asan)"
build || { echo "asan build failed"; exit 1; }
built=$(date +%s)
echo "== asan: built in $((built - start)) s"

LIBASAN=$(gcc -print-file-name=libasan.so)
export EDGELB_ASAN_ADDON="$PWD/build/asan/build/Release/edgelb.node"
export EDGELB_ASAN_LIB="$LIBASAN"
rc=0
# the self-check runs without the preload itself (its test starts preloaded children)
scripts/test.sh asan-selfcheck test/asan/planted.test.ts || rc=1

SAN_ENV=(EDGELB_NATIVE_PATH="$EDGELB_ASAN_ADDON" LD_PRELOAD="$LIBASAN"
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)
UNIT=(test/unit/native-loader.test.ts test/unit/native-netlink.test.ts test/unit/l2-ndp-filter.test.ts
      test/unit/dataplane-xdp.test.ts test/unit/dataplane-packets.test.ts test/unit/dataplane-packets-conntrack.test.ts
      test/unit/dataplane-packets-grid.test.ts)
LAB=(test/lab/native-bpf.test.ts test/lab/native-netns.test.ts test/lab/native-cleanup.test.ts test/lab/l2-ndp-filter.test.ts)
case "$which" in
  unit|all) env "${SAN_ENV[@]}" scripts/test.sh asan-unit "${UNIT[@]}" || rc=1 ;;&
  lab|all) flock /tmp/edgelb-lab.lock env "${SAN_ENV[@]}" scripts/test.sh asan-lab "${LAB[@]}" || rc=1 ;;
esac
echo "== asan: done in $(($(date +%s) - start)) s (build $((built - start)) s)"
exit $rc
