#!/usr/bin/env -S node --single-threaded-gc --no-concurrent-recompilation --max-semi-space-size=2
// The `edgelb` binary: parses the command line and runs the command (see program.ts).
import { main } from './program.js';

const code = await main(process.argv);
process.exitCode = code;
// everything the command opened is closed by now; do not let a stray handle hold the exit
setTimeout(() => process.exit(code), 3000).unref();
