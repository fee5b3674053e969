#!/bin/sh
# The edgelb image's entrypoint: the daemon (or any edgelb command) in the foreground, with one GC
# thread (--single-threaded-gc: fewer threads competing with the heartbeat thread on busy nodes).
exec /usr/local/bin/node --single-threaded-gc /opt/edgelb/dist/cli/main.js "$@"
