// Benchmark: config load cost, validating a large file (N services, 16 peers, pools) against the
// anchor of only parsing its YAML, alternating in the same process. Reload latency is dominated
// by this.
import { performance } from 'node:perf_hooks';
import { parse } from 'yaml';
import { parseConfig } from '../src/config/load.js';
import { alternate, type BenchContext, type Row } from './lib/harness.js';
import type { Benchmark } from './run.js';

export function makeYaml(n: number, allocate: boolean): string {
  const lines = [
    'node: { name: edge-1, routerId: 10.0.0.11, interface: eth0 }',
    'cluster: { listen: 10.0.0.11:11112, members: [10.0.0.11], shards: 8 }',
    'bgp:',
    '  asn: 64513',
    '  peers:',
    ...Array.from({ length: 16 }, (_, i) => `    - { address: 10.0.0.${i + 1}, asn: 64512 }`),
    'pools:',
    '  - { name: big, cidrs: [10.128.0.0/16], bgpMode: activeBackup }',
    '  - { name: v6, cidrs: ["2001:db8:100::/64"] }',
    'services:',
  ];
  for (let i = 0; i < n; i++) {
    const addr = allocate ? 'pool: big' : `vip: 10.128.${i >> 8}.${(i & 255) | 0}`;
    lines.push(`  - { name: svc-${i}, ${addr}, ports: [{ port: 80, targetPort: 8080 }, 443], endpoints: [10.1.${i & 255}.1, 10.1.${i & 255}.2, 10.1.${i & 255}.3], probe: { type: tcp, interval: 2s } }`);
  }
  return lines.join('\n') + '\n';
}

const timed = (fn: () => unknown) => async () => {
  const s = performance.now();
  fn();
  return performance.now() - s;
};

const bench: Benchmark = {
  name: 'config-load',
  title: 'config validation of N services vs parsing the same YAML alone',
  async run(ctx: BenchContext): Promise<Row[]> {
    const n = ctx.quick ? 200 : 2000;
    const rows: Row[] = [];
    for (const allocate of [false, true]) {
      const text = makeYaml(n, allocate);
      const ours = () => parseConfig(text, { readSecret: () => 'x' });
      const anchor = () => parse(text);
      ours();
      anchor();
      const { a, b } = await alternate(Math.max(ctx.runs, 3), timed(ours), timed(anchor), true);
      rows.push({ bench: 'config-load', figure: `load + validate ${n} services (${allocate ? 'pool-allocated' : 'explicit vip'})`, unit: 'ms', better: 'lower', ours: a, anchor: 'YAML parse alone', theirs: b });
    }
    return rows;
  },
};
export default bench;
