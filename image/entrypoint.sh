#!/bin/sh
# The edgelb image's entrypoint: the daemon (or any edgelb command) in the foreground, with one GC
# thread (--single-threaded-gc: fewer threads competing with the heartbeat thread on busy nodes)
# and a 2 MiB semi-space (--max-semi-space-size=2: a daemon's RSS without the young generation's
# slack, no slower; bench/README.md, memory).
exec /usr/local/bin/node --single-threaded-gc --max-semi-space-size=2 /opt/edgelb/dist/cli/main.js "$@"
