// Connection-state sync in Kubernetes mode (issue 15): three `edgelb daemon --kubernetes` with the
// XDP data path, members from edgelb's ready pods, the cluster key where the chart mounts it, the
// sync socket on its own port (cluster.sync in the ConfigMap-like settings file) and each node's
// SNAT address from its Node's edgelb.io/snat-address annotation. Long-lived onearm connections
// through BIRD (ECMP over the three nodes) are synced to the peers; a power cut of a node that
// carries some loses none of them (a survivor answers for its SNAT address); once the dead node's
// pod is deleted it is no sync target any more, and a new node's pod makes it one, without restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MultiNodeLab, LAN } from './multinode-lab.js';
import { createPool, ensureNamespace, lbService, ROOT, waitUntil } from './lib.js';
import type { LabProcess } from '../lab/lib/index.js';

const SYNC_PORT = 11116;
const CONNS = 12;
const BACKEND = `${LAN.prefix}.100`;
const snat = (index: number) => `${LAN.prefix}.${40 + index}`;
const NAMES = ['s1', 's2', 's3'];
const node = [process.execPath, '--single-threaded-gc'];

const settings = (keyFile: string) => `node: { interface: eth0 }
api: { listen: 127.0.0.1:11111 }
bgp: { asn: 64513, listenPort: 0 }
cluster:
  listen: 0.0.0.0:11112
  keyFile: ${keyFile}
  shards: 3
  sync: { port: ${SYNC_PORT} }
dataplane: { attachMode: generic }
`;

interface SyncRow {
  peers: number;
  peersKnown: number;
  peerAddresses: string[];
  sent: number;
  received: number;
  applied: number;
  snatHeld: string[];
  dropped: Record<string, number>;
}
interface Held {
  conns: Array<{ id: number; answered: number; closed: boolean; error: string }>;
}
const readHeld = (f: string): Held => {
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as Held;
  } catch {
    return { conns: [] };
  }
};

async function api<T>(m: MultiNodeLab, name: string, path: string): Promise<T | undefined> {
  const r = await m.lab.exec(name, ['curl', '-sf', '--max-time', '2', `http://127.0.0.1:11111${path}`], { check: false });
  try {
    return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
  } catch {
    return undefined;
  }
}
const syncOf = (m: MultiNodeLab, name: string) => api<SyncRow>(m, name, '/v1/sync');
const onearmPackets = async (m: MultiNodeLab, name: string) => ((await api<Array<{ name: string; packets: number }>>(m, name, '/v1/services')) ?? []).find((r) => r.name === 'shop/web')?.packets ?? 0;
const syncAddr = (m: MultiNodeLab, name: string) => `${m.node(name).addr}:${SYNC_PORT}`;

test('k8s sync: members from the pods sync onearm flows; a power cut loses none; a member that goes away is no sync target', { timeout: 360_000 }, async () => {
  const m = await MultiNodeLab.start({
    prefix: 'ksync',
    nodes: NAMES.map((name, k) => ({ name, index: k + 1, uplink: 'eth0', annotations: { 'edgelb.io/snat-address': snat(k + 1) } })),
    settings,
  });
  const holds: LabProcess[] = [];
  try {
    const { admin, lab } = m;
    for (const n of [...NAMES, 's4']) lab.ownPath(`/sys/fs/bpf/edgelb/mn-${n}`);
    // a backend on the LAN, its own sender checksums (veth offload off)
    await lab.addNode({ name: 'be1', role: 'node' });
    await lab.addLink({ a: { node: 'be1', ifname: 'eth0', addrs: [`${BACKEND}/${LAN.len}`], txOffloadOff: true }, b: { node: 'router', ifname: 'be1', bridge: 'br0' } });
    await lab.spawn('be1', [...node, '--import', 'tsx', join(ROOT, 'src/lab/backend-server.ts'), 'be1', '8080'], { name: 'http-be1', cwd: ROOT });
    // the client is the router itself: full checksums on what it sends
    await lab.exec('router', ['ethtool', '-K', 'br0', 'tx', 'off']);

    await admin.custom.createClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'bgppeers', body: { apiVersion: 'edgelb.io/v1alpha1', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { address: LAN.router, asn: 64512 } } });
    await createPool(admin, 'edge', { cidrs: ['192.168.93.0/28'], announce: 'bgp', bgpMode: 'ecmp' });
    await ensureNamespace(admin, 'shop');
    await admin.core.createNamespacedService({ namespace: 'shop', body: lbService('shop', 'web', { ann: { 'edgelb.io/lbmode': 'onearm' } }) });
    await admin.discovery.createNamespacedEndpointSlice({
      namespace: 'shop',
      body: { metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', ports: [{ name: 'p0', port: 8080, protocol: 'TCP' }], endpoints: [{ addresses: [BACKEND], conditions: { ready: true } }] },
    });

    for (const n of NAMES) await m.startDaemon(n);
    for (const n of NAMES) await waitUntil(() => m.ha(n), `API of ${n}`, 60_000, 300);
    for (const n of NAMES) await m.markReady(n);

    // sync peers are the other ready pods, and each has heard the others
    await waitUntil(async () => {
      for (const n of NAMES) {
        const s = await syncOf(m, n);
        const want = NAMES.filter((x) => x !== n).map((x) => syncAddr(m, x)).sort();
        if (!s || s.peersKnown !== 2 || JSON.stringify(s.peerAddresses) !== JSON.stringify(want)) return undefined;
      }
      return true;
    }, 'every node syncs with the two others', 90_000, 500);
    for (const [k, n] of NAMES.entries()) assert.deepEqual((await syncOf(m, n))!.snatHeld, [snat(k + 1)], `${n} answers for its annotated SNAT address`);

    const vip = await waitUntil(async () => (await admin.core.readNamespacedService({ namespace: 'shop', name: 'web' })).status?.loadBalancer?.ingress?.[0]?.ip, 'ingress IP', 60_000, 300);
    await m.bird!.waitEstablished(NAMES.map((n) => m.node(n).addr), { timeoutMs: 60_000 });
    await lab.waitForFibRoute('router', `${vip}/32`, (r) => r.nexthops.length === 3, { timeoutMs: 60_000 });

    const st = lab.path('held.json');
    holds.push(await lab.spawn('router', [...node, '--import', 'tsx', join(ROOT, 'src/lab/traffic.ts'), 'hold', vip, '80', String(CONNS), '100', st], { name: 'hold', cwd: ROOT }));
    await waitUntil(() => {
      const h = readHeld(st).conns;
      return h.length === CONNS && h.every((c) => c.answered >= 3) ? true : undefined;
    }, 'held connections answered', 30_000, 300);

    // every flow's translation reached both peers of the node that made it
    const applied = await waitUntil(async () => {
      const rows = await Promise.all(NAMES.map((n) => syncOf(m, n)));
      const sum = rows.reduce((a, r) => a + (r?.applied ?? 0), 0);
      return sum >= 2 * CONNS ? rows : undefined;
    }, `at least ${2 * CONNS} flow records applied on the peers`, 30_000, 500);
    // (an 'unknown-sender' or two are fine: a pod heard before its Pod object reached this node)
    for (const r of applied) assert.equal((r!.dropped.unauthenticated ?? 0) + (r!.dropped.replayed ?? 0), 0, JSON.stringify(r!.dropped));

    // power cut of a node that carries flows
    let victim = '';
    for (const n of NAMES) {
      const p0 = await onearmPackets(m, n);
      await new Promise((r) => setTimeout(r, 700));
      if ((await onearmPackets(m, n)) > p0) {
        victim = n;
        break;
      }
    }
    assert.ok(victim, 'a node carries onearm flows');
    const vIndex = NAMES.indexOf(victim) + 1;
    const survivors = NAMES.filter((n) => n !== victim);
    const before = readHeld(st);
    await lab.linkDown(victim, 'eth0');
    await m.kill(victim);
    await lab.waitForFibRoute('router', `${vip}/32`, (r) => r.nexthops.length === 2, { timeoutMs: 40_000 });
    const progressed = await waitUntil(() => {
      const now = readHeld(st).conns;
      const stuck = now.filter((c) => c.closed || c.error || c.answered < (before.conns.find((b) => b.id === c.id)?.answered ?? 0) + 10);
      return stuck.length === 0 ? now : undefined;
    }, 'every held connection answered 10 more requests after the cut', 45_000, 500).catch(() => undefined);
    const after = readHeld(st).conns;
    assert.deepEqual(after.filter((c) => c.closed || c.error), [], 'no connection closed or failed');
    assert.ok(progressed, `every connection progressed: ${JSON.stringify(after.map((c) => c.answered))}`);
    const holders = [];
    for (const n of survivors) if ((await syncOf(m, n))!.snatHeld.includes(snat(vIndex))) holders.push(n);
    assert.equal(holders.length, 1, `one survivor answers for ${snat(vIndex)}`);

    // the dead node's pod is deleted: the survivors stop syncing to it, without a restart
    for (const n of survivors) assert.ok((await syncOf(m, n))!.peerAddresses.includes(syncAddr(m, victim)), 'a dead member stays a target until its pod goes');
    await m.deletePod(victim);
    await waitUntil(async () => {
      for (const n of survivors) {
        const s = await syncOf(m, n);
        if (!s || s.peers !== 1 || s.peerAddresses.includes(syncAddr(m, victim))) return undefined;
      }
      return true;
    }, 'the survivors no longer sync to the deleted pod', 30_000, 500);
    // a new node joins: it becomes a sync peer of the survivors and gets their flows (bulk)
    await m.addNode({ name: 's4', index: 4, uplink: 'eth0', annotations: { 'edgelb.io/snat-address': snat(4) } });
    await m.startDaemon('s4');
    await waitUntil(() => m.ha('s4'), 'API of s4', 60_000, 300);
    await m.markReady('s4');
    const s4 = await waitUntil(async () => {
      const s = await syncOf(m, 's4');
      return s && s.peersKnown === 2 && s.applied > 0 ? s : undefined;
    }, 's4 syncs with the survivors and applied their flows', 60_000, 500);
    assert.deepEqual(s4.peerAddresses, survivors.map((n) => syncAddr(m, n)).sort());
    for (const h of holds) h.signal('SIGTERM');
  } catch (e) {
    process.stderr.write(m.logs(60));
    throw e;
  } finally {
    await m.teardown();
  }
});
