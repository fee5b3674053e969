// Benchmark: resident memory of the compiled daemon as a user runs it (`node --single-threaded-gc
// dist/cli/main.js daemon`), an idle node agent: one BGP session Established to a BIRD router,
// one Service announced, data path off (its maps are kernel memory, not the process's), after an
// idle period. Anchors, started and measured the same way in alternating runs: gobgpd holding the
// same session and the same route (a BGP speaker daemon of the same role), and a bare node process
// with the same flags (the runtime's floor).
import { Lab, edgeTopology, edgePlan, BirdRouter, GobgpRouter, waitUntil } from '../test/lab/lib/index.js';
import { alternate, summarize, type BenchContext, type Row } from './lib/harness.js';
import { DAEMON_NODE_FLAGS, REPO } from './lib/senders.js';
import { procStatus } from './bgp-transfer.js';
import type { Benchmark } from './run.js';

const R = edgePlan.router;
const N1 = edgePlan.node(1);
const VIP = '192.168.80.241';

function daemonYaml(): string {
  return [
    `node: { name: bench-1, routerId: ${N1.v4}, interface: eth0 }`,
    'api: { listen: 127.0.0.1:11111 }',
    'dataplane: { enabled: false }',
    'bgp:',
    '  asn: 64601',
    `  peers: [{ address: ${R.lan4}, asn: 64512, connectRetry: 1 }]`,
    'pools:',
    '  - { name: default, cidrs: [192.168.80.240/28], announce: bgp }',
    'services:',
    '  - { name: web, vip: ' + VIP + ', ports: [{ port: 80, targetPort: 8080 }], endpoints: [10.0.0.101] }',
    '',
  ].join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const bench: Benchmark = {
  name: 'memory',
  title: 'RSS of the compiled daemon, idle node agent (one BGP session, one VIP) vs gobgpd doing the same, and a bare node',
  async run(ctx: BenchContext): Promise<Row[]> {
    const idleMs = ctx.quick ? 2000 : 15_000;
    const lab = await Lab.create(edgeTopology({ prefix: 'bmem', nodes: 1, client: false, ipv6: false }));
    try {
      const bird = await BirdRouter.start(lab, 'router', { asn: 64512, routerId: R.lan4, kernelExport: false, neighbors: [{ address: N1.v4, asn: 64601, name: 'agent' }] });
      const cfg = lab.writeFile('edgelb.yaml', daemonYaml(), 0o600);
      const established = async (what: string) => {
        await bird.waitEstablished(undefined, { timeoutMs: 60_000 });
        await bird.waitRoute(`${VIP}/32`, undefined, { timeoutMs: 30_000 }).catch((e: unknown) => {
          throw new Error(`${what}: VIP not received: ${String(e)}`);
        });
      };
      const daemon = async (): Promise<number> => {
        const p = await lab.spawn(N1.name, [process.execPath, ...DAEMON_NODE_FLAGS, 'dist/cli/main.js', 'daemon', '--config', cfg], { name: 'edgelb-daemon', cwd: REPO });
        try {
          await established('edgelb daemon');
          await sleep(idleMs);
          if (!p.running) throw new Error(`daemon exited:\n${p.output().slice(-2000)}`);
          return await procStatus(p.pid, 'VmRSS');
        } finally {
          await p.stop();
          await waitUntil(async () => (await bird.neighbors())[0]?.state !== 'Established', (x) => x, { timeoutMs: 30_000, what: 'session down' });
        }
      };
      const gobgp = async (): Promise<number> => {
        const g = await GobgpRouter.start(lab, N1.name, { asn: 64601, routerId: N1.v4, listenPort: -1, neighbors: [{ address: R.lan4, asn: 64512 }] });
        try {
          await g.announce(`${VIP}/32`);
          await established('gobgpd');
          await sleep(idleMs);
          return await procStatus(g.processes[0]!.pid, 'VmRSS');
        } finally {
          await g.stop();
          await waitUntil(async () => (await bird.neighbors())[0]?.state !== 'Established', (x) => x, { timeoutMs: 30_000, what: 'session down' });
        }
      };
      const bare = async (): Promise<number> => {
        const p = await lab.spawn(N1.name, [process.execPath, ...DAEMON_NODE_FLAGS, '-e', 'setInterval(() => {}, 1e9)'], { name: 'bare-node' });
        try {
          await sleep(idleMs);
          return await procStatus(p.pid, 'VmRSS');
        } finally {
          await p.stop();
        }
      };
      const ab = await alternate(ctx.runs, daemon, gobgp, true);
      const floor: number[] = [];
      for (let i = 0; i < ctx.runs; i++) floor.push(await bare());
      ctx.log(`idle RSS: daemon ${summarize(ab.a).median.toFixed(1)} MiB, gobgpd ${summarize(ab.b).median.toFixed(1)} MiB, bare node ${summarize(floor).median.toFixed(1)} MiB`);
      const goal = { goal: 'node agent ≤ 80 MiB idle', met: summarize(ab.a).median <= 80 };
      return [
        { bench: 'memory', figure: `compiled daemon RSS, idle node agent (1 session, 1 VIP, ${idleMs / 1000} s idle)`, unit: 'MiB', better: 'lower', ours: ab.a, anchor: 'gobgpd, same session and route', theirs: ab.b, ...goal },
        { bench: 'memory', figure: `compiled daemon RSS, idle node agent (1 session, 1 VIP, ${idleMs / 1000} s idle)`, unit: 'MiB', better: 'lower', ours: ab.a, anchor: 'bare node (same flags)', theirs: floor, note: '(bare node runs after the pairs)' },
      ];
    } catch (e) {
      console.error(lab.logs(15));
      throw e;
    } finally {
      await lab.teardown();
    }
  },
};
export default bench;
