// Wires bench/dataplane-wrk.ts (wrk through a VIP: edgelb XDP onearm vs iptables DNAT+MASQUERADE
// on the same node; not edited here) into the harness table: it is run as a process once per run
// and its two result lines are read back. Inside each process the order is iptables, XDP,
// iptables again (the anchor's value is the mean of its two runs).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { BenchContext, Row } from './lib/harness.js';
import type { Benchmark } from './run.js';

const SCRIPT = fileURLToPath(new URL('./dataplane-wrk.ts', import.meta.url));
const REPO = fileURLToPath(new URL('..', import.meta.url));

export interface WrkResult {
  rps: number;
  cpuMsPerKReq: number;
}

/** The anchor's and edgelb's lines of dataplane-wrk's output: req/s and CPU ms per 1k requests. */
export function parseWrk(out: string): { iptables: WrkResult; xdp: WrkResult } {
  const line = (label: string): WrkResult => {
    const l = out.split('\n').find((x) => x.startsWith(label));
    const m = l ? /\s(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)(?:\s|$)/.exec(l.slice(label.length)) : null;
    if (!m) throw new Error(`dataplane-wrk printed no "${label}" result:\n${out.slice(-1500)}`);
    return { rps: Number(m[1]), cpuMsPerKReq: Number(m[2]) };
  };
  return { iptables: line('iptables DNAT+MASQUERADE (anchor)'), xdp: line('edgelb XDP onearm (generic)') };
}

const bench: Benchmark = {
  name: 'dataplane-wrk',
  title: 'HTTP req/s and CPU per request through a VIP: XDP onearm vs iptables DNAT+MASQUERADE (bench/dataplane-wrk.ts)',
  async run(ctx: BenchContext): Promise<Row[]> {
    const seconds = ctx.quick ? '1' : '8';
    const got: Array<{ iptables: WrkResult; xdp: WrkResult }> = [];
    for (let i = 0; i < ctx.runs; i++) {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', SCRIPT, seconds, '32'], { cwd: REPO, maxBuffer: 16 << 20, timeout: 600_000 });
      got.push(parseWrk(stdout));
    }
    const anchor = 'iptables DNAT+MASQUERADE, same node';
    return [
      { bench: 'dataplane-wrk', figure: `HTTP through the VIP, wrk -c32 ${seconds} s, 3 backends`, unit: 'req/s', better: 'higher', ours: got.map((g) => g.xdp.rps), anchor, theirs: got.map((g) => g.iptables.rps) },
      { bench: 'dataplane-wrk', figure: 'machine CPU per 1k requests', unit: 'ms', better: 'lower', ours: got.map((g) => g.xdp.cpuMsPerKReq), anchor, theirs: got.map((g) => g.iptables.cpuMsPerKReq) },
    ];
  },
};
export default bench;
