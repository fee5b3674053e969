// Config load cost: validating a large file (N services, pools, peers) against the anchor of only
// parsing its YAML, in the same run. Reload latency is dominated by this.
//   npx tsx bench/config-load.ts [services]
import { parse } from 'yaml';
import { parseConfig } from '../src/config/load.js';

const N = Number(process.argv[2] ?? 2000);

function makeYaml(n: number, allocate: boolean): string {
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

function time(fn: () => unknown, reps: number): number {
  fn(); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1e6 / reps;
}

for (const allocate of [false, true]) {
  const text = makeYaml(N, allocate);
  const anchor = time(() => parse(text), 5);
  const ours = time(() => parseConfig(text, { readSecret: () => 'x' }), 5);
  console.log(
    `${N} services (${allocate ? 'pool-allocated' : 'explicit vip'}): validate ${ours.toFixed(1)} ms vs YAML parse alone ${anchor.toFixed(1)} ms → ratio ${(ours / anchor).toFixed(2)}`,
  );
}
