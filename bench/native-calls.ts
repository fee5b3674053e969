// Native addon call costs beside the anchor of a no-op N-API call measured in the same run: BPF
// map lookup/update by fd (two syscalls: the map-info check, then the operation) and through an
// openMap handle (one syscall), and one BPF_PROG_TEST_RUN per call. Also ICMP echo round trips to
// 127.0.0.1 through the addon beside `ping -c N -i 0` wall time per echo.
//   npx tsx bench/native-calls.ts [iterations]   (root: BPF and raw ICMP)
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadNative, packageRoot } from '../src/native/index.js';
import { Pinger } from '../src/health/probe-ping.js';

const N = Number(process.argv[2] ?? 200_000);
const n = loadNative();
const root = packageRoot();
execFileSync('make', ['-s', 'build/bpf/probe.bpf.o'], { cwd: root });

function nsPerCall(fn: () => unknown, reps: number): number {
  for (let i = 0; i < Math.min(reps, 1000); i++) fn(); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) fn();
  return Number(process.hrtime.bigint() - t0) / reps;
}

const obj = n.openBpfObject(join(root, 'build/bpf/probe.bpf.o'));
try {
  const fd = obj.mapFd('probe_counters');
  const key = Buffer.alloc(4);
  const val = Buffer.alloc(8);
  const anchor = nsPerCall(() => n.trackedResources(), N);
  const lookup = nsPerCall(() => n.mapLookup(fd, key), N);
  const update = nsPerCall(() => n.mapUpdate(fd, key, val), N);
  const handle = n.openMap(fd);
  const hLookup = nsPerCall(() => handle.lookup(key), N);
  const hUpdate = nsPerCall(() => handle.update(key, val), N);
  handle.close();
  const pkt = Buffer.alloc(64);
  const run = n.progTestRun(obj.progFd('probe_xdp'), pkt, 1_000_000);
  const call = nsPerCall(() => n.progTestRun(obj.progFd('probe_xdp'), pkt), N / 10);
  console.log(`anchor: no-op N-API call                 ${anchor.toFixed(0)} ns`);
  console.log(`mapLookup (array, 8-byte value)          ${lookup.toFixed(0)} ns  = ${(lookup / anchor).toFixed(1)}x anchor`);
  console.log(`mapUpdate (array, 8-byte value)          ${update.toFixed(0)} ns  = ${(update / anchor).toFixed(1)}x anchor`);
  console.log(`openMap handle: lookup                   ${hLookup.toFixed(0)} ns  = ${(hLookup / anchor).toFixed(1)}x anchor`);
  console.log(`openMap handle: update                   ${hUpdate.toFixed(0)} ns  = ${(hUpdate / anchor).toFixed(1)}x anchor`);
  console.log(`progTestRun, one packet per call         ${call.toFixed(0)} ns  = ${(call / anchor).toFixed(1)}x anchor`);
  console.log(`probe_xdp in the kernel (1e6 repeats)    ${run.durationNs} ns/packet`);
} finally {
  obj.close();
}

// ICMP echo to 127.0.0.1: our pinger (sequential) vs the ping binary, per echo
const echoes = 200;
const pinger = new Pinger(loadNative);
const spec = { type: 'ping' as const, intervalMs: 1000, timeoutMs: 1000, retries: 1 };
let t0 = process.hrtime.bigint();
for (let i = 0; i < echoes; i++) {
  const o = await pinger.probe({ address: '127.0.0.1', port: undefined, spec });
  if (!o.ok) throw new Error(`echo failed: ${JSON.stringify(o)}`);
}
const ours = Number(process.hrtime.bigint() - t0) / echoes / 1000;
pinger.close();
t0 = process.hrtime.bigint();
execFileSync('ping', ['-q', '-c', String(echoes), '-i', '0', '127.0.0.1'], { stdio: 'ignore' });
const ping = Number(process.hrtime.bigint() - t0) / echoes / 1000;
console.log(`anchor: ping -i 0 127.0.0.1, per echo    ${ping.toFixed(1)} µs (process start included)`);
console.log(`Pinger.probe 127.0.0.1, per echo         ${ours.toFixed(1)} µs  = ${(ours / ping).toFixed(2)}x anchor`);
