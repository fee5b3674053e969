// Benchmark: native addon call costs beside the anchor of a no-op N-API call, alternating in the
// same process: BPF map lookup/update by fd (the map-info check, then the operation) and through an
// openMap handle (one syscall), and one BPF_PROG_TEST_RUN per call. Also ICMP echo round trips to
// 127.0.0.1: our Pinger (socket set-up included) beside `ping -c N -i 0` (process start included).
// Root (BPF and raw ICMP).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadNative, packageRoot } from '../src/native/index.js';
import { Pinger } from '../src/health/probe-ping.js';
import { alternate, type BenchContext, type Row } from './lib/harness.js';
import type { Benchmark } from './run.js';

function nsPerCall(fn: () => unknown, reps: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) fn();
  return Number(process.hrtime.bigint() - t0) / reps;
}

const bench: Benchmark = {
  name: 'native-calls',
  title: 'addon calls (BPF map ops, prog test run) vs a no-op N-API call; Pinger vs ping(8)',
  async run(ctx: BenchContext): Promise<Row[]> {
    const N = ctx.quick ? 20_000 : 200_000;
    const runs = Math.max(ctx.runs, 3);
    const n = loadNative();
    const root = packageRoot();
    execFileSync('make', ['-s', 'build/bpf/probe.bpf.o'], { cwd: root });
    const rows: Row[] = [];
    const obj = n.openBpfObject(join(root, 'build/bpf/probe.bpf.o'));
    try {
      const fd = obj.mapFd('probe_counters');
      const key = Buffer.alloc(4);
      const val = Buffer.alloc(8);
      const handle = n.openMap(fd);
      const pkt = Buffer.alloc(64);
      const prog = obj.progFd('probe_xdp');
      const noop = () => n.trackedResources();
      try {
        for (const [what, fn, reps] of [
          ['mapLookup by fd (array, 8-byte value)', () => n.mapLookup(fd, key), N],
          ['mapUpdate by fd (array, 8-byte value)', () => n.mapUpdate(fd, key, val), N],
          ['openMap handle lookup', () => handle.lookup(key), N],
          ['openMap handle update', () => handle.update(key, val), N],
          ['progTestRun, one packet per call', () => n.progTestRun(prog, pkt), N / 10],
        ] as const) {
          nsPerCall(fn, 1000); // warm both
          nsPerCall(noop, 1000);
          const { a, b } = await alternate(runs, async () => nsPerCall(fn, reps), async () => nsPerCall(noop, reps), true);
          rows.push({ bench: 'native-calls', figure: what, unit: 'ns', better: 'lower', ours: a, anchor: 'no-op N-API call', theirs: b });
        }
      } finally {
        handle.close();
      }
    } finally {
      obj.close();
    }
    const echoes = ctx.quick ? 50 : 200;
    const spec = { type: 'ping' as const, intervalMs: 1000, timeoutMs: 1000, retries: 1 };
    const ours = async () => {
      const t0 = process.hrtime.bigint();
      const pinger = new Pinger(loadNative);
      try {
        for (let i = 0; i < echoes; i++) {
          const o = await pinger.probe({ address: '127.0.0.1', port: undefined, spec });
          if (!o.ok) throw new Error(`echo failed: ${JSON.stringify(o)}`);
        }
      } finally {
        pinger.close();
      }
      return Number(process.hrtime.bigint() - t0) / echoes / 1000;
    };
    const ping = async () => {
      const t0 = process.hrtime.bigint();
      execFileSync('ping', ['-q', '-c', String(echoes), '-i', '0', '127.0.0.1'], { stdio: 'ignore' });
      return Number(process.hrtime.bigint() - t0) / echoes / 1000;
    };
    const { a, b } = await alternate(runs, ours, ping, true);
    rows.push({ bench: 'native-calls', figure: `ICMP echo to 127.0.0.1, per echo (${echoes} sequential)`, unit: 'µs', better: 'lower', ours: a, anchor: 'ping -i 0 (process start included)', theirs: b });
    return rows;
  },
};
export default bench;
