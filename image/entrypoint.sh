#!/bin/sh
# The edgelb image's entrypoint: the daemon (or any edgelb command) in the foreground, with one GC
# thread (--single-threaded-gc: fewer threads competing with the heartbeat thread on busy nodes)
# and a 2 MiB semi-space (--max-semi-space-size=2: a daemon's RSS without the young generation's
# slack, no slower; bench/README.md, memory); TurboFan on the calling thread
# (--no-concurrent-recompilation: the heartbeat thread never waits on V8's shared compile queue;
# src/cluster/membership.ts, missingHeartbeatFlags).
exec /usr/local/bin/node --single-threaded-gc --no-concurrent-recompilation --max-semi-space-size=2 /opt/edgelb/dist/cli/main.js "$@"
