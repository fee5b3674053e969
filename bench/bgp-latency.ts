// Benchmark: latency from setAdvertisements (edgelb) to the VIP in the router's kernel FIB (BIRD
// exporting to the kernel), and from the withdrawal to its removal, p50/p99 over N changes; the
// anchor is GoBGP (`gobgp global rib add/del`, CLI start included) measured in the same run.
//   npx tsx bench/bgp-latency.ts [changes]     (root: builds network namespaces)
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Lab, edgeTopology, edgePlan, BirdRouter, GobgpRouter } from '../test/lab/lib/index.js';
import { EdgeNode, peerSpec } from '../test/lab/bgp-node.js';

const N = Number(process.argv[2] ?? 100);
const R = edgePlan.router;
const N1 = edgePlan.node(1);
const N2 = edgePlan.node(2);
const VIP_E = '192.168.80.241';
const VIP_G = '192.168.80.242';

/** Route events of a namespace's kernel FIB, as they happen (`ip monitor route`). */
class FibMonitor {
  private waiters: Array<{ test: (l: string) => boolean; resolve: (t: number) => void }> = [];
  private readonly child;
  constructor(netns: string) {
    this.child = spawn('ip', ['-n', netns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const t = performance.now();
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(line)) return true;
        w.resolve(t);
        return false;
      });
    });
  }
  /** Resolves with the time of the first event line matching `test` (register before acting). */
  next(test: (l: string) => boolean, timeoutMs = 20_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no FIB event in time')), timeoutMs);
      this.waiters.push({
        test,
        resolve: (v) => {
          clearTimeout(t);
          resolve(v);
        },
      });
    });
  }
  stop(): void {
    this.child.kill();
  }
}

const added = (vip: string) => (l: string) => l.startsWith(`${vip} `) || l.startsWith(`${vip}/32 `);
const deleted = (vip: string) => (l: string) => l.startsWith(`Deleted ${vip} `) || l.startsWith(`Deleted ${vip}/32 `);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main(): Promise<void> {
  const lab = await Lab.create(edgeTopology({ prefix: 'bgl', nodes: 2, client: false, ipv6: false }));
  let mon: FibMonitor | undefined;
  try {
    const bird = await BirdRouter.start(lab, 'router', {
      asn: 64512,
      routerId: R.lan4,
      neighbors: [
        { address: N1.v4, asn: 64601, name: 'edgelb' },
        { address: N2.v4, asn: 64602, name: 'gobgp' },
      ],
    });
    const edge = await EdgeNode.start(lab, N1.name, {
      asn: 64601,
      routerId: N1.v4,
      peers: [peerSpec(R.lan4, 64512, { localAddress: N1.v4, families: ['ipv4'] })],
      reconciled: true,
    });
    const gobgp = await GobgpRouter.start(lab, N2.name, {
      asn: 64602,
      routerId: N2.v4,
      listenPort: -1,
      neighbors: [{ address: R.lan4, asn: 64512, localAddress: N2.v4 }],
    });
    await bird.waitEstablished(undefined, { timeoutMs: 30_000 });
    mon = new FibMonitor(lab.netns('router'));
    await new Promise((r) => setTimeout(r, 500));

    const lat = { edgelbAdd: [] as number[], edgelbDel: [] as number[], gobgpAdd: [] as number[], gobgpDel: [] as number[] };
    for (let i = 0; i < N; i++) {
      // edgelb
      let ev = mon.next(added(VIP_E));
      let t0 = performance.now();
      await edge.setAds([{ prefix: `${VIP_E}/32` }]);
      lat.edgelbAdd.push((await ev) - t0);
      ev = mon.next(deleted(VIP_E));
      t0 = performance.now();
      await edge.setAds([]);
      lat.edgelbDel.push((await ev) - t0);
      // GoBGP (anchor)
      ev = mon.next(added(VIP_G));
      t0 = performance.now();
      await gobgp.announce(`${VIP_G}/32`);
      lat.gobgpAdd.push((await ev) - t0);
      ev = mon.next(deleted(VIP_G));
      t0 = performance.now();
      await gobgp.withdraw(`${VIP_G}/32`);
      lat.gobgpDel.push((await ev) - t0);
    }
    const nb = (await edge.neighbors())[0]!;
    console.log(`\nbgp-latency: ${N} advertise/withdraw changes, to the kernel FIB of a BIRD router (ms; same run)`);
    console.log('change             p50      p99      max    p50 vs GoBGP');
    const rows: Array<[string, number[], number[]]> = [
      ['edgelb advertise', lat.edgelbAdd, lat.gobgpAdd],
      ['edgelb withdraw', lat.edgelbDel, lat.gobgpDel],
      ['gobgp advertise', lat.gobgpAdd, lat.gobgpAdd],
      ['gobgp withdraw', lat.gobgpDel, lat.gobgpDel],
    ];
    for (const [name, xs, anchor] of rows) {
      console.log(`${name.padEnd(17)} ${pct(xs, 50).toFixed(1).padStart(6)}  ${pct(xs, 99).toFixed(1).padStart(7)}  ${Math.max(...xs).toFixed(1).padStart(7)}  ${(pct(xs, 50) / pct(anchor, 50)).toFixed(2).padStart(8)}x`);
    }
    console.log(`(edgelb's session stayed up: established ${nb.establishedAt}, last error ${JSON.stringify(nb.lastError)})`);
    console.log(JSON.stringify({ bench: 'bgp-latency', n: N, p50: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, pct(v, 50)])), p99: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, pct(v, 99)])) }));
  } catch (e) {
    console.error(lab.logs(20));
    throw e;
  } finally {
    mon?.stop();
    await lab.teardown();
  }
}

await main();
