// Benchmark: power cut of an edge node → a BIRD router removes the node's route from its kernel FIB
// (`ip monitor route` there), p50 and p99. Three sides, each on its own node of the same bridge
// (edge topology, one node per side, identical links), all with the same BGP hold time (3 s, the
// demo's): edgelb's daemon with BFD 3 × 100 ms; FRR's own bfdd + bgpd (+ zebra) as the edge speaker
// with the same timers (the anchor); edgelb's daemon without BFD (the hold timer alone). A run
// starts the side's speaker, waits until the router has the session Established, its BFD session
// Up with the negotiated 300 ms detection time (BFD sides) and the route in its FIB, waits a random
// 1–2 s (so the cut falls at any phase of the keepalives and BFD packets), then cuts the power the
// same way for every side: one `sh -c 'date +%s%N; ip link set eth0 down; kill -9 PIDS'` in the
// node's namespace; the clock starts at the printed time. The link goes down before the kill: a
// killed process's TCP socket is closed by the kernel, which sends a FIN (or RST) to the router —
// something a powered-off node never sends, and which BIRD would take as the end of the session at
// once. The sides rotate (run i starts with side i mod 3).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, edgeTopology, edgePlan, BirdRouter, FRR_DAEMON_DIR, FRR_TMP_DIR, waitUntil, type LabProcess, type NeighborConfig } from '../test/lab/lib/index.js';
import { routeDeleted, withBirdFib, type FibMonitor } from './lib/bird-fib.js';
import { percentile, rotate, summarize, type BenchContext, type Row } from './lib/harness.js';
import { DAEMON_NODE_FLAGS, REPO } from './lib/senders.js';
import type { Benchmark } from './run.js';

const R = edgePlan.router;
const ROUTER_ASN = 64512;
const EDGE_ASN = 64513;
/** the BGP hold time of every side (s): keepalives every second */
export const HOLD = 3;
export const BFD = { minRx: 100, minTx: 100, multiplier: 3 };
const DETECT_MS = BFD.multiplier * Math.max(BFD.minRx, BFD.minTx);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** wall-clock ms with sub-ms precision (the same clock as `date +%s%N` in the namespaces) */
const nowMs = () => performance.timeOrigin + performance.now();

interface Side {
  name: string;
  node: string;
  address: string;
  vip: string;
  bfd: boolean;
  /** start the speaker; returns its processes (all killed by the power cut) */
  start(lab: Lab, tag: string): Promise<LabProcess[]>;
}

/** The edgelb daemon's configuration for one side: one peer (the router), one VIP, no data path. */
export function edgelbConfig(name: string, address: string, vip: string, bfd: boolean): string {
  const b = bfd ? `, bfd: { minRx: ${BFD.minRx}ms, minTx: ${BFD.minTx}ms, multiplier: ${BFD.multiplier} }` : '';
  return `node: { name: ${name}, routerId: ${address}, interface: eth0 }
api: { listen: 127.0.0.1:11111 }
bgp:
  asn: ${EDGE_ASN}
  listenPort: 0
  peers: [{ address: ${R.lan4}, asn: ${ROUTER_ASN}, holdTime: ${HOLD}, connectRetry: 1${b} }]
dataplane: { enabled: false }
pools: [{ name: p, cidrs: [192.168.81.0/24], announce: bgp }]
services:
  - { name: svc, vip: ${vip}, ports: [{ port: 80 }], endpoints: [10.0.0.200] }
`;
}

function edgelbSide(i: number, bfd: boolean): Side {
  const n = edgePlan.node(i);
  const vip = `192.168.81.${i}`;
  return {
    name: bfd ? `edgelb + BFD ${BFD.multiplier}×${BFD.minTx} ms` : `edgelb without BFD (hold ${HOLD} s)`,
    node: n.name,
    address: n.v4,
    vip,
    bfd,
    async start(lab, tag) {
      const cfg = lab.writeFile(`${tag}.yaml`, edgelbConfig(`edge-${i}`, n.v4, vip, bfd));
      return [await lab.spawn(n.name, [process.execPath, ...DAEMON_NODE_FLAGS, join(REPO, 'dist/cli/main.js'), 'daemon', '--config', cfg], { name: tag, cwd: REPO })];
    },
  };
}

/** FRR 8.4's bgpd + bfdd (+ zebra) as the edge speaker: `network VIP/32`, BFD profile 3 × 100 ms, hold 3 s. */
export function frrSpeakerConfigs(address: string, vip: string): { bgpd: string; bfdd: string } {
  const bgpd = [
    'frr defaults traditional',
    'hostname bench-frr-edge',
    `router bgp ${EDGE_ASN}`,
    ` bgp router-id ${address}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ' no bgp network import-check',
    ` neighbor ${R.lan4} remote-as ${ROUTER_ASN}`,
    ` neighbor ${R.lan4} update-source ${address}`,
    ` neighbor ${R.lan4} timers ${HOLD / 3} ${HOLD}`,
    ` neighbor ${R.lan4} timers connect 1`,
    ` neighbor ${R.lan4} bfd`,
    ` neighbor ${R.lan4} bfd profile edge`,
    ' address-family ipv4 unicast',
    `  network ${vip}/32`,
    `  neighbor ${R.lan4} activate`,
    ' exit-address-family',
    'exit',
    '',
  ].join('\n');
  const bfdd = ['hostname bench-frr-edge', 'bfd', ' profile edge', `  receive-interval ${BFD.minRx}`, `  transmit-interval ${BFD.minTx}`, `  detect-multiplier ${BFD.multiplier}`, ' exit', 'exit', ''].join('\n');
  return { bgpd, bfdd };
}

function frrSide(i: number): Side {
  const n = edgePlan.node(i);
  const vip = `192.168.81.${i}`;
  return {
    name: `FRR bfdd + bgpd, BFD ${BFD.multiplier}×${BFD.minTx} ms`,
    node: n.name,
    address: n.v4,
    vip,
    bfd: true,
    async start(lab, tag) {
      const dir = lab.path(tag);
      mkdirSync(dir, { recursive: true });
      const conf = frrSpeakerConfigs(n.v4, vip);
      const files = { zebra: join(dir, 'zebra.conf'), bfdd: join(dir, 'bfdd.conf'), bgpd: join(dir, 'bgpd.conf') };
      writeFileSync(files.zebra, 'hostname bench-frr-edge\n', { mode: 0o600 });
      writeFileSync(files.bfdd, conf.bfdd, { mode: 0o600 });
      writeFileSync(files.bgpd, conf.bgpd, { mode: 0o600 });
      const common = ['--vty_socket', dir, '-z', join(dir, 'zserv.api'), '-u', 'root', '-g', 'frrvty', '-P', '0'];
      const vtysh = (cmd: string, d: string) => lab.exec(n.name, ['vtysh', '--vty_socket', dir, '-d', d, '-c', cmd], { check: false });
      const procs: LabProcess[] = [];
      const daemon = async (d: 'zebra' | 'bfdd' | 'bgpd', extra: string[]) => {
        const p = await lab.spawn(n.name, [join(FRR_DAEMON_DIR, d), '-f', files[d], '-i', join(dir, `${d}.pid`), ...extra, ...common], { name: `${tag}-${d}` });
        procs.push(p);
        lab.ownPath(join(FRR_TMP_DIR, `${d}.${p.pid}`));
        await waitUntil(
          async () => {
            if (!p.running) throw new Error(`${tag} ${d} exited:\n${p.output().slice(-2000)}`);
            return (await vtysh('show version', d)).code === 0;
          },
          (x) => x,
          { timeoutMs: 20_000, intervalMs: 100, what: `${tag} ${d} vty` },
        );
      };
      await daemon('zebra', []);
      // its own control socket: the default (/var/run/frr/bfdd.sock) is shared by every namespace
      await daemon('bfdd', ['--bfdctl', join(dir, 'bfdd.sock')]);
      await daemon('bgpd', ['-p', '0']);
      return procs;
    },
  };
}

/** The router's view of one side: BGP Established, BFD Up at 300 ms detection (BFD sides), the route in the FIB. */
async function ready(lab: Lab, bird: BirdRouter, s: Side): Promise<void> {
  await bird.waitEstablished([s.address], { timeoutMs: 60_000 });
  if (s.bfd) {
    await waitUntil(
      async () => (await bird.bfdSessions()).find((x) => x.peer === s.address),
      (x) => x?.state === 'Up' && x.detectMs === DETECT_MS,
      { timeoutMs: 30_000, intervalMs: 100, what: `${s.name}: BFD Up at the router with ${DETECT_MS} ms detection` },
    );
  }
  await lab.waitForFibRoute('router', `${s.vip}/32`, () => true, { timeoutMs: 30_000 });
}

/** One power cut of a side: ms from the cut to the route's deletion in the router's FIB. */
async function powerCut(lab: Lab, bird: BirdRouter, mon: FibMonitor, s: Side, tag: string): Promise<number> {
  const procs = await s.start(lab, tag);
  try {
    await ready(lab, bird, s);
    await sleep(1000 + Math.random() * 1000);
    const deleted = mon.next(routeDeleted(s.vip), HOLD * 1000 + 10_000, `FIB deletion of ${s.vip}`);
    const r = await lab.exec(s.node, ['sh', '-c', `date +%s%N; ip link set eth0 down; kill -9 ${procs.map((p) => p.pid).join(' ')}`]);
    const cutMs = Number(BigInt(r.stdout.trim().split('\n')[0]!) / 1000n) / 1000;
    const ms = (await deleted) - cutMs;
    await Promise.all(procs.map((p) => p.exited));
    return ms;
  } finally {
    for (const p of procs) if (p.running) p.signal('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await lab.linkUp(s.node, 'eth0');
    // the route is gone before the next run of this side (also after a failed run)
    await waitUntil(() => lab.fibRoutes('router', `${s.vip}/32`), (x) => x.length === 0, { timeoutMs: HOLD * 1000 + 10_000, what: `${s.vip} gone` });
  }
}

const bench: Benchmark = {
  name: 'bfd-powercut',
  title: `power cut of an edge node → BIRD router FIB flush: edgelb BFD ${BFD.multiplier}×${BFD.minTx} ms vs FRR bfdd+bgpd (same timers) vs edgelb without BFD (hold ${HOLD} s)`,
  async run(ctx: BenchContext): Promise<Row[]> {
    const runs = ctx.quick ? 1 : Math.max(20, ctx.runs); // 20 a side: a p99 between the two highest, not one outlier
    const sides = [edgelbSide(1, true), frrSide(2), edgelbSide(3, false)];
    const neighbor = (s: Side): NeighborConfig => ({ address: s.address, asn: EDGE_ASN, holdTime: HOLD, connectRetry: 1, name: s.node, ...(s.bfd ? { bfd: BFD } : {}) });
    const spec = edgeTopology({ prefix: 'bpc', nodes: sides.length, client: false, ipv6: false });
    return withBirdFib(spec, { asn: ROUTER_ASN, routerId: R.lan4, neighbors: sides.map(neighbor) }, { clock: nowMs }, async ({ lab, bird, fib }) => {
      const times = await rotate(
        runs,
        sides.map((s, k) => async (i: number) => {
          const ms = await powerCut(lab, bird, fib, s, `side${k}-run${i}`);
          ctx.log(`run ${i + 1}/${runs} ${s.name}: ${ms.toFixed(1)} ms`);
          return ms;
        }),
      );
      const [ours, frr, noBfd] = times as [number[], number[], number[]];
      for (const [k, s] of sides.entries()) {
        const t = times[k]!;
        ctx.log(`${s.name}: p50 ${percentile(t, 50).toFixed(1)} ms, p99 ${percentile(t, 99).toFixed(1)} ms, min–max ${summarize(t).min.toFixed(1)}–${summarize(t).max.toFixed(1)} ms over ${t.length}`);
      }
      const what = `power cut → BIRD router FIB flush (BFD ${BFD.multiplier}×${BFD.minTx} ms, detection ${DETECT_MS} ms; hold ${HOLD} s)`;
      const rows: Row[] = [];
      for (const [anchor, theirs] of [
        [sides[1]!.name, frr],
        [sides[2]!.name, noBfd],
      ] as const) {
        rows.push({ bench: 'bfd-powercut', figure: `${what}, per run`, unit: 'ms', better: 'lower', ours, anchor, theirs, goal: `p50 ≤ 2 × detection (${2 * DETECT_MS} ms)`, met: percentile(ours, 50) <= 2 * DETECT_MS });
        rows.push({ bench: 'bfd-powercut', figure: `${what}, p99 of ${ours.length} runs`, unit: 'ms', better: 'lower', ours: [percentile(ours, 99)], anchor, theirs: [percentile(theirs, 99)], note: '(one value per side: the p99 of its runs)' });
      }
      return rows;
    });
  },
};
export default bench;
