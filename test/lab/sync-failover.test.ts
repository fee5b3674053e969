// Connection-state sync with real daemons, BIRD and XDP over three nodes (the demo's topology):
// long-lived onearm connections (ECMP, spread by the router's L4 hash) and fullnat connections
// (activeBackup: one node carries them), then a power cut (kill -9 and its link down) of the node
// that carries the fullnat ones and some onearm ones. Every connection keeps working on the
// survivors: the forward entries came by sync, and the dead node's SNAT address (onearm replies)
// is adopted by one survivor. Before connection sync the onearm flows of the cut node died (the
// demo said "2 of 8 onearm connections lost") and so did every fullnat flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Lab, edgeTopology, edgePlan, BirdRouter, waitUntil, type LabProcess } from './lib/index.js';
import { sleep } from '../../src/lib/backoff.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const node = [process.execPath, '--single-threaded-gc'];
const cli = [...node, `${root}dist/cli/main.js`];
const NODES = 3;
const BACKENDS = 2;
const HOLD = 3;
const VIP_ONEARM = '192.168.80.241';
const VIP_FULLNAT = '192.168.81.10';
const SNAT = (i: number) => `10.0.0.${30 + i}`;
const ONEARM_CONNS = 16;
const FULLNAT_CONNS = 6;

function config(i: number, keyFile: string, pinRoot: string): string {
  const n = edgePlan.node(i);
  const members = Array.from({ length: NODES }, (_, k) => edgePlan.node(k + 1).v4);
  const backends = Array.from({ length: BACKENDS }, (_, k) => edgePlan.backend(k + 1).v4);
  return `node: { name: edge-${i}, routerId: ${n.v4}, interface: eth0 }
api: { listen: 127.0.0.1:11111 }
cluster:
  listen: ${n.v4}:11112
  members: [${members.join(', ')}]
  keyFile: ${keyFile}
  shards: 3
  sync:
    snatAddresses: { ${Array.from({ length: NODES }, (_, k) => `edge-${k + 1}: ${SNAT(k + 1)}`).join(', ')} }
bgp:
  asn: 64513
  listenPort: 0
  peers: [{ address: ${edgePlan.router.lan4}, asn: 64512, holdTime: ${HOLD}, connectRetry: 1 }]
dataplane: { attachMode: generic, pinRoot: ${pinRoot} }
pools:
  - { name: default, cidrs: [192.168.80.240/28], announce: bgp, bgpMode: ecmp }
  - { name: ab, cidrs: [192.168.81.0/24], announce: bgp, bgpMode: activeBackup }
services:
  - { name: web, vip: ${VIP_ONEARM}, shard: 0, mode: onearm, ports: [{ port: 80, protocol: tcp, targetPort: 8080 }], endpoints: [${backends.join(', ')}] }
  - { name: web-fullnat, vip: ${VIP_FULLNAT}, shard: 1, mode: fullnat, ports: [{ port: 80, protocol: tcp, targetPort: 8080 }], endpoints: [${backends.join(', ')}] }
`;
}

interface Held {
  conns: Array<{ id: number; backend: string; sent: number; answered: number; closed: boolean; error: string }>;
}
const readHeld = (f: string): Held => {
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as Held;
  } catch {
    return { conns: [] };
  }
};

async function api<T>(lab: Lab, i: number, path: string): Promise<T | undefined> {
  const r = await lab.exec(`node${i}`, ['curl', '-s', '-f', `http://127.0.0.1:11111${path}`], { check: false });
  try {
    return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Packets of the onearm service on node i (its held flows move them). */
async function onearmPackets(lab: Lab, i: number): Promise<number> {
  const rows = (await api<Array<{ name: string; packets: number }>>(lab, i, '/v1/services')) ?? [];
  return rows.find((r) => r.name === 'web')?.packets ?? 0;
}

interface SyncRow {
  peersKnown: number;
  sent: number;
  applied: number;
  snatHeld: string[];
  dropped: Record<string, number>;
}

test('connection sync: a power cut loses no onearm or fullnat connection', { timeout: 240_000 }, async () => {
  const lab = await Lab.create(edgeTopology({ prefix: 'csync', nodes: NODES, backends: BACKENDS }));
  const daemons = new Map<number, LabProcess>();
  try {
    for (let j = 1; j <= BACKENDS; j++) {
      const be = edgePlan.backend(j).name;
      await lab.spawn(be, [...node, '--import', 'tsx', `${root}src/lab/backend-server.ts`, be, '8080'], { name: `http-${be}`, cwd: root });
    }
    const bird = await BirdRouter.start(lab, 'router', {
      asn: 64512,
      routerId: edgePlan.router.lan4,
      neighbors: Array.from({ length: NODES }, (_, k) => ({ address: edgePlan.node(k + 1).v4, asn: 64513, holdTime: HOLD, connectRetry: 1 })),
    });
    const key = lab.writeFile('cluster.key', 'sync-test-cluster-key-0123456789abcdef\n');
    for (let i = 1; i <= NODES; i++) {
      const pins = `/sys/fs/bpf/edgelb/${lab.tag}-edge-${i}`;
      lab.ownPath(pins);
      daemons.set(i, await lab.spawn(`node${i}`, [...cli, 'daemon', '--config', lab.writeFile(`e${i}.yaml`, config(i, key, pins))], { name: `edgelb-${i}` }));
    }
    await bird.waitEstablished(undefined, { timeoutMs: 30_000 });
    await lab.waitForFibRoute('router', `${VIP_ONEARM}/32`, (r) => r.nexthops.length === NODES, { timeoutMs: 30_000 });
    const fn = await lab.waitForFibRoute('router', `${VIP_FULLNAT}/32`, (r) => r.nexthops.length === 1, { timeoutMs: 30_000 });
    // every node's sync socket has heard the others
    await waitUntil(async () => {
      for (let i = 1; i <= NODES; i++) if ((await api<SyncRow>(lab, i, '/v1/sync'))?.peersKnown !== NODES - 1) return undefined;
      return true;
    }, { timeoutMs: 20_000, what: 'sync peers known' });

    const stOne = lab.path('held-onearm.json');
    const stFull = lab.path('held-fullnat.json');
    const traffic = [...node, '--import', 'tsx', `${root}src/lab/traffic.ts`, 'hold'];
    const holdOne = await lab.spawn('client', [...traffic, VIP_ONEARM, '80', String(ONEARM_CONNS), '100', stOne], { name: 'hold-onearm', cwd: root });
    const holdFull = await lab.spawn('client', [...traffic, VIP_FULLNAT, '80', String(FULLNAT_CONNS), '100', stFull], { name: 'hold-fullnat', cwd: root });
    await waitUntil(() => {
      const all = [...readHeld(stOne).conns, ...readHeld(stFull).conns];
      return all.length === ONEARM_CONNS + FULLNAT_CONNS && all.every((c) => c.answered >= 3) ? true : undefined;
    }, { timeoutMs: 20_000, what: 'held connections answered' });

    // the node that carries the fullnat flows is the one to cut; it must carry onearm flows too
    const victim = Number(/10\.0\.0\.1(\d)/.exec(fn.nexthops[0]!)?.[1]);
    assert.ok(victim >= 1 && victim <= NODES, `fullnat next hop ${fn.nexthops[0]}`);
    const p0 = await onearmPackets(lab, victim);
    await sleep(1000);
    const carried = (await onearmPackets(lab, victim)) - p0;
    assert.ok(carried > 0, `edge-${victim} carries onearm flows (${carried} packets in 1 s)`);
    // sync shipped and applied the established flows
    const before = await api<SyncRow>(lab, victim, '/v1/sync');
    assert.ok(before && before.sent >= NODES - 1, `edge-${victim} sent ${before?.sent} records`);
    assert.deepEqual(before.snatHeld, [SNAT(victim)]);

    // power cut
    const heldBefore = [readHeld(stOne), readHeld(stFull)];
    await lab.linkDown(`node${victim}`, 'eth0');
    daemons.get(victim)!.signal('SIGKILL');
    await daemons.get(victim)!.exited;
    await lab.waitForFibRoute('router', `${VIP_ONEARM}/32`, (r) => r.nexthops.length === NODES - 1, { timeoutMs: 20_000 });
    await lab.waitForFibRoute('router', `${VIP_FULLNAT}/32`, (r) => r.nexthops.length === 1 && r.nexthops[0] !== fn.nexthops[0], { timeoutMs: 20_000 });
    // TCP retransmits reach the survivors: every connection moves on (generous: RTO back-off)
    const survivors = [1, 2, 3].filter((i) => i !== victim);
    const progressed = await waitUntil(
      () => {
        const now = [readHeld(stOne), readHeld(stFull)];
        const stuck = now.flatMap((h, k) => h.conns.filter((c) => c.closed || c.error || c.answered < (heldBefore[k]!.conns.find((b) => b.id === c.id)?.answered ?? 0) + 10));
        return stuck.length === 0 ? now : undefined;
      },
      { timeoutMs: 30_000, what: 'every held connection answered 10 more requests after the cut' },
    ).catch(() => undefined);
    const after = [readHeld(stOne), readHeld(stFull)];
    const lost = after.flatMap((h) => h.conns.filter((c) => c.closed || c.error));
    assert.deepEqual(lost, [], 'no connection closed or failed');
    assert.ok(progressed, `every connection progressed: ${JSON.stringify(after.map((h) => h.conns.map((c) => c.answered)))}`);
    // exactly one survivor answers for the dead node's SNAT address
    const rows = await Promise.all(survivors.map((i) => api<SyncRow>(lab, i, '/v1/sync')));
    const holders = survivors.filter((_, k) => rows[k]?.snatHeld.includes(SNAT(victim)));
    assert.equal(holders.length, 1, `holders of ${SNAT(victim)}: ${JSON.stringify(rows.map((r) => r?.snatHeld))}`);
    for (const r of rows) assert.ok(r && r.applied > 0, `applied ${r?.applied}`);
    // sync load never starved the heartbeat: the survivors saw one death, the cut node's
    for (const i of survivors) {
      const m = await lab.exec(`node${i}`, ['curl', '-s', '-f', 'http://127.0.0.1:11111/metrics'], { check: false });
      const deaths = Number(/^edgelb_cluster_member_deaths_total (\d+)/m.exec(m.stdout)?.[1]);
      assert.equal(deaths, 1, `edge-${i} counted ${deaths} member deaths`);
    }
    holdOne.signal('SIGTERM');
    holdFull.signal('SIGTERM');
  } finally {
    await lab.teardown();
  }
});
