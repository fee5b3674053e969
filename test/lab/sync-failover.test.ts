// Connection-state sync with real daemons, BIRD and XDP over three nodes (the demo's topology):
// long-lived onearm connections over IPv4 and IPv6 (ECMP, spread by the router's L4 hash) and
// fullnat connections (activeBackup: one node carries them), then a power cut (kill -9 and its
// link down) of the node that carries the fullnat ones and some onearm ones. Every connection
// keeps working on the survivors: the forward entries came by sync, and the dead node's SNAT
// addresses (onearm replies; IPv4 by ARP, IPv6 by NDP) are adopted by survivors. Before connection sync the onearm flows of the cut node died (the
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
const VIP_ONEARM6 = 'fd00:80::10';
const SNAT6 = (i: number) => `fd00::${30 + i}`;
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
    snatAddresses6: { ${Array.from({ length: NODES }, (_, k) => `edge-${k + 1}: "${SNAT6(k + 1)}"`).join(', ')} }
bgp:
  asn: 64513
  listenPort: 0
  peers: [{ address: ${edgePlan.router.lan4}, asn: 64512, holdTime: ${HOLD}, connectRetry: 1, families: [ipv4, ipv6] }]
dataplane: { attachMode: generic, pinRoot: ${pinRoot} }
pools:
  - { name: default, cidrs: [192.168.80.240/28], announce: bgp, bgpMode: ecmp }
  - { name: ab, cidrs: [192.168.81.0/24], announce: bgp, bgpMode: activeBackup }
  - { name: v6, cidrs: ["fd00:80::/120"], announce: bgp, bgpMode: ecmp }
services:
  - { name: web, vip: ${VIP_ONEARM}, shard: 0, mode: onearm, ports: [{ port: 80, protocol: tcp, targetPort: 8080 }], endpoints: [${backends.join(', ')}] }
  - { name: web6, vip: "${VIP_ONEARM6}", shard: 0, mode: onearm, ports: [{ port: 80, protocol: tcp, targetPort: 8080 }], endpoints: [${Array.from({ length: BACKENDS }, (_, k) => `"${edgePlan.backend(k + 1).v6}"`).join(', ')}] }
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

/** Packets of an onearm service on node i (its held flows move them). */
async function onearmPackets(lab: Lab, i: number, name = 'web'): Promise<number> {
  const rows = (await api<Array<{ name: string; packets: number }>>(lab, i, '/v1/services')) ?? [];
  return rows.find((r) => r.name === name)?.packets ?? 0;
}

interface SyncRow {
  peersKnown: number;
  sent: number;
  applied: number;
  snatHeld: string[];
  dropped: Record<string, number>;
}

test('connection sync: a power cut loses no onearm (IPv4, IPv6) or fullnat connection', { timeout: 240_000 }, async () => {
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
      // IPv6 VIPs over the IPv4 sessions (next hop: the node's IPv6 address)
      neighbors: Array.from({ length: NODES }, (_, k) => ({ address: edgePlan.node(k + 1).v4, asn: 64513, holdTime: HOLD, connectRetry: 1, families: [4, 6] as Array<4 | 6> })),
    });
    const key = lab.writeFile('cluster.key', 'sync-test-cluster-key-0123456789abcdef\n');
    for (let i = 1; i <= NODES; i++) {
      const pins = `/sys/fs/bpf/edgelb/${lab.tag}-edge-${i}`;
      lab.ownPath(pins);
      daemons.set(i, await lab.spawn(`node${i}`, [...cli, 'daemon', '--config', lab.writeFile(`e${i}.yaml`, config(i, key, pins))], { name: `edgelb-${i}` }));
    }
    await bird.waitEstablished(undefined, { timeoutMs: 30_000 });
    await lab.waitForFibRoute('router', `${VIP_ONEARM}/32`, (r) => r.nexthops.length === NODES, { timeoutMs: 30_000 });
    await lab.waitForFibRoute('router', `${VIP_ONEARM6}/128`, (r) => r.nexthops.length === NODES, { timeoutMs: 30_000 });
    const fn = await lab.waitForFibRoute('router', `${VIP_FULLNAT}/32`, (r) => r.nexthops.length === 1, { timeoutMs: 30_000 });
    // every node's sync socket has heard the others
    await waitUntil(async () => {
      for (let i = 1; i <= NODES; i++) if ((await api<SyncRow>(lab, i, '/v1/sync'))?.peersKnown !== NODES - 1) return undefined;
      return true;
    }, { timeoutMs: 20_000, what: 'sync peers known' });

    const stOne = lab.path('held-onearm.json');
    const stFull = lab.path('held-fullnat.json');
    const stSix = lab.path('held-onearm6.json');
    const traffic = [...node, '--import', 'tsx', `${root}src/lab/traffic.ts`, 'hold'];
    const holdOne = await lab.spawn('client', [...traffic, VIP_ONEARM, '80', String(ONEARM_CONNS), '100', stOne], { name: 'hold-onearm', cwd: root });
    const holdFull = await lab.spawn('client', [...traffic, VIP_FULLNAT, '80', String(FULLNAT_CONNS), '100', stFull], { name: 'hold-fullnat', cwd: root });
    // the nodes' IPv6 next hop toward the client, resolved as traffic would have it (the IPv4 one is
    // by the BGP session; over IPv6 nothing else talks to the router here, and an unresolved next
    // hop hands packets to the kernel, which does not forward IPv6 without all.forwarding)
    for (let i = 1; i <= NODES; i++) await lab.exec(`node${i}`, ['ping', '-6', '-c', '1', '-W', '2', edgePlan.router.lan6], { check: false });
    const holdSix = await lab.spawn('client', [...traffic, VIP_ONEARM6, '80', String(ONEARM_CONNS), '100', stSix], { name: 'hold-onearm6', cwd: root });
    await waitUntil(() => {
      const all = [...readHeld(stOne).conns, ...readHeld(stFull).conns, ...readHeld(stSix).conns];
      return all.length === 2 * ONEARM_CONNS + FULLNAT_CONNS && all.every((c) => c.answered >= 3) ? true : undefined;
    }, { timeoutMs: 20_000, what: 'held connections answered' }).catch(async (e: unknown) => {
      const diag = [JSON.stringify(readHeld(stSix).conns.map((c) => [c.answered, c.error]))];
      diag.push((await lab.exec('be1', ['ip', '-6', 'neigh'], { check: false })).stdout);
      for (let i = 1; i <= NODES; i++) diag.push(JSON.stringify(await api(lab, i, '/v1/services')), JSON.stringify(await api(lab, i, '/v1/sync')));
      diag.push((await lab.exec('node1', ['ip', '-6', 'addr'], { check: false })).stdout, (await lab.exec('node1', ['ip', '-6', 'route'], { check: false })).stdout);
      diag.push((await lab.exec('node1', ['curl', '-s', 'http://127.0.0.1:11111/metrics'], { check: false })).stdout.split('\n').filter((l) => /edgelb_dataplane_(verdicts|packets|events)/.test(l) && !/ 0$/.test(l)).join('\n'));
      process.stderr.write(diag.join('\n') + '\n' + lab.logs(30));
      throw e;
    });

    // the node that carries the fullnat flows is the one to cut; it must carry onearm flows too
    const victim = Number(/10\.0\.0\.1(\d)/.exec(fn.nexthops[0]!)?.[1]);
    assert.ok(victim >= 1 && victim <= NODES, `fullnat next hop ${fn.nexthops[0]}`);
    const p0 = await onearmPackets(lab, victim);
    const q0 = await onearmPackets(lab, victim, 'web6');
    await sleep(1000);
    const carried = (await onearmPackets(lab, victim)) - p0;
    const carried6 = (await onearmPackets(lab, victim, 'web6')) - q0;
    assert.ok(carried > 0, `edge-${victim} carries onearm flows (${carried} packets in 1 s)`);
    assert.ok(carried6 > 0, `edge-${victim} carries IPv6 onearm flows (${carried6} packets in 1 s)`);
    // sync shipped and applied the established flows
    const before = await api<SyncRow>(lab, victim, '/v1/sync');
    assert.ok(before && before.sent >= NODES - 1, `edge-${victim} sent ${before?.sent} records`);
    assert.deepEqual(before.snatHeld, [SNAT(victim), SNAT6(victim)]);

    // power cut
    const heldBefore = [readHeld(stOne), readHeld(stFull), readHeld(stSix)];
    await lab.linkDown(`node${victim}`, 'eth0');
    daemons.get(victim)!.signal('SIGKILL');
    await daemons.get(victim)!.exited;
    await lab.waitForFibRoute('router', `${VIP_ONEARM}/32`, (r) => r.nexthops.length === NODES - 1, { timeoutMs: 20_000 });
    await lab.waitForFibRoute('router', `${VIP_ONEARM6}/128`, (r) => r.nexthops.length === NODES - 1, { timeoutMs: 20_000 });
    await lab.waitForFibRoute('router', `${VIP_FULLNAT}/32`, (r) => r.nexthops.length === 1 && r.nexthops[0] !== fn.nexthops[0], { timeoutMs: 20_000 });
    // TCP retransmits reach the survivors: every connection moves on (generous: RTO back-off)
    const survivors = [1, 2, 3].filter((i) => i !== victim);
    const progressed = await waitUntil(
      () => {
        const now = [readHeld(stOne), readHeld(stFull), readHeld(stSix)];
        const stuck = now.flatMap((h, k) => h.conns.filter((c) => c.closed || c.error || c.answered < (heldBefore[k]!.conns.find((b) => b.id === c.id)?.answered ?? 0) + 10));
        return stuck.length === 0 ? now : undefined;
      },
      { timeoutMs: 30_000, what: 'every held connection answered 10 more requests after the cut' },
    ).catch(() => undefined);
    const after = [readHeld(stOne), readHeld(stFull), readHeld(stSix)];
    const lost = after.flatMap((h) => h.conns.filter((c) => c.closed || c.error));
    assert.deepEqual(lost, [], 'no connection closed or failed');
    assert.ok(progressed, `every connection progressed: ${JSON.stringify(after.map((h) => h.conns.map((c) => c.answered)))}`);
    // exactly one survivor answers for each of the dead node's SNAT addresses
    const rows = await Promise.all(survivors.map((i) => api<SyncRow>(lab, i, '/v1/sync')));
    for (const addr of [SNAT(victim), SNAT6(victim)]) {
      const holders = survivors.filter((_, k) => rows[k]?.snatHeld.includes(addr));
      assert.equal(holders.length, 1, `holders of ${addr}: ${JSON.stringify(rows.map((r) => r?.snatHeld))}`);
    }
    for (const r of rows) assert.ok(r && r.applied > 0, `applied ${r?.applied}`);
    // sync load never starved the heartbeat: the survivors saw one death, the cut node's
    for (const i of survivors) {
      const m = await lab.exec(`node${i}`, ['curl', '-s', '-f', 'http://127.0.0.1:11111/metrics'], { check: false });
      const deaths = Number(/^edgelb_cluster_member_deaths_total (\d+)/m.exec(m.stdout)?.[1]);
      assert.equal(deaths, 1, `edge-${i} counted ${deaths} member deaths`);
    }
    holdOne.signal('SIGTERM');
    holdFull.signal('SIGTERM');
    holdSix.signal('SIGTERM');
  } finally {
    await lab.teardown();
  }
});
