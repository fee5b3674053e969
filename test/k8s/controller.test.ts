// The controller against a real kube-apiserver, running as the edgelb ServiceAccount (the
// manifests' RBAC): 1,000 Services get distinct IPs; 1,000 random creates/deletes/restarts never
// move or duplicate an IP; a full pool gives one clear condition; static, shared and dual-stack
// requests; EndpointSlices, externalTrafficPolicy Local and node exclusion; BGPPeer status; a
// BGPPolicy change reaches the DesiredState alone; failover; an unreachable API server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeInformer, type V1Service, type V1Node } from '@kubernetes/client-node';
import { startTestCluster, apiGet, EDGELB_NAMESPACE, type TestCluster } from './harness.js';
import {
  apply, clients, condition, createPool, ensureNamespace, installBase, lbService, loadObjects, makeSource, parallel, ROOT,
  serviceIps, sleep, waitUntil, type Clients,
} from './lib.js';
import type { KubernetesSource } from '../../src/k8s/source.js';
import type { NeighborStatus } from '../../src/k8s/status.js';
import type { DesiredState } from '../../src/model/desired-state.js';
import { ipToBigInt } from '../../src/lib/addr.js';

let cluster: TestCluster;
let admin: Clients;
let src: KubernetesSource;
const neighbors: NeighborStatus[] = [];
const statusSource = { bgpNeighbors: () => neighbors };
const t0 = Date.now();
const startSource = async (node = 'n1') => {
  const s = makeSource(cluster, node, { statusSource, statusIntervalMs: 300 });
  await s.start();
  return s;
};

async function createNode(name: string, ip: string, labels: Record<string, string> = {}): Promise<void> {
  await admin.core.createNode({ body: { metadata: { name, labels } } });
  await admin.core.patchNodeStatus(
    { name, body: { status: { addresses: [{ type: 'InternalIP', address: ip }], conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'test', lastHeartbeatTime: new Date(), lastTransitionTime: new Date() }] } } },
    mergeHeader(),
  );
}
async function createMemberPod(node: string, ip: string): Promise<void> {
  const name = `edgelb-${node}`;
  await admin.core.createNamespacedPod({
    namespace: EDGELB_NAMESPACE,
    body: { metadata: { name, labels: { 'app.kubernetes.io/name': 'edgelb' } }, spec: { nodeName: node, hostNetwork: true, containers: [{ name: 'edgelb', image: 'edgelb:test' }] } },
  });
  await admin.core.patchNamespacedPodStatus(
    { namespace: EDGELB_NAMESPACE, name, body: { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: ip, conditions: [{ type: 'Ready', status: 'True' }] } } },
    mergeHeader(),
  );
}
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
const mergeHeader = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

before(async () => {
  cluster = await startTestCluster();
  admin = clients(cluster.adminKubeconfig);
  await installBase(admin);
  await apply(admin, loadObjects(join(ROOT, 'test/k8s/fixtures/loxilb.io_bgppeerservices.yaml')));
  await createNode('n1', '192.0.2.10', { rack: 'a' });
  await createNode('n2', '192.0.2.11', { rack: 'b' });
  await createMemberPod('n1', '192.0.2.10');
  await createMemberPod('n2', '192.0.2.11');
  src = await startSource('n1');
  await waitUntil(() => src.isLeader && src.synced, 'n1 to lead', 15_000);
});
after(async () => {
  await src?.stop();
  await cluster?.stop();
  console.log(`# k8s controller suite: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('k8s controller: 1,000 random creates, deletes and controller restarts never move an IP nor give one to two Services', async () => {
  await ensureNamespace(admin, 'chaos');
  await createPool(admin, 'chaos', { cidrs: ['10.101.0.0/25'], namespaces: ['chaos'] });
  // watch every Service of the namespace, in revision order
  interface Seen { ips: string; key?: string; ports: string[] }
  const first = new Map<string, string>(); // uid → first IPs
  const live = new Map<string, Seen>(); // uid → current
  const violations: string[] = [];
  const check = (s: V1Service, deleted: boolean) => {
    const uid = s.metadata!.uid!;
    if (deleted) {
      live.delete(uid);
      return;
    }
    const ips = (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(',');
    const ann = s.metadata?.annotations ?? {};
    const seen: Seen = { ips, ports: (s.spec?.ports ?? []).map((p) => `${p.protocol}/${p.port}`), ...(ann['edgelb.io/allow-shared-ip'] ? { key: ann['edgelb.io/allow-shared-ip'] } : {}) };
    const f = first.get(uid);
    if (ips) {
      if (f === undefined) first.set(uid, ips);
      else if (f !== ips) violations.push(`${s.metadata!.name}: IP moved ${f} → ${ips}`);
    } else if (f !== undefined) violations.push(`${s.metadata!.name}: lost its IP ${f}`);
    live.set(uid, seen);
    // no address held by two Services that may not share it
    const byIp = new Map<string, Seen[]>();
    for (const v of live.values()) for (const ip of v.ips ? v.ips.split(',') : []) byIp.set(ip, [...(byIp.get(ip) ?? []), v]);
    for (const [ip, holders] of byIp) {
      if (holders.length < 2) continue;
      const key = holders[0]!.key;
      const ports = holders.flatMap((h) => h.ports);
      if (!key || holders.some((h) => h.key !== key) || new Set(ports).size !== ports.length) violations.push(`${ip} held by ${holders.length} Services that may not share`);
    }
  };
  const inf = makeInformer<V1Service>(admin.kc, '/api/v1/namespaces/chaos/services', () => admin.core.listNamespacedService({ namespace: 'chaos' }));
  inf.on('add', (s) => check(s, false));
  inf.on('update', (s) => check(s, false));
  inf.on('delete', (s) => check(s, true));
  await inf.start();
  try {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const names: string[] = [];
    let n = 0;
    let restarts = 0;
    const counts = { create: 0, shared: 0, static: 0, delete: 0, restart: 0 };
    const tStart = Date.now();
    let restartMs = 0;
    let batch: Array<Promise<unknown>> = [];
    const flush = async () => {
      await Promise.all(batch);
      batch = [];
    };
    for (let op = 0; op < 1000; op++) {
      const r = rnd();
      if (batch.length >= 4) await flush();
      if (r < 0.02) {
        await flush();
        const tr = Date.now();
        await src.stop();
        src = await startSource('n1');
        restartMs += Date.now() - tr;
        restarts++;
        counts.restart++;
      } else if (r < 0.35 && names.length > 0) {
        const i = Math.floor(rnd() * names.length);
        const name = names.splice(i, 1)[0]!;
        batch.push(admin.core.deleteNamespacedService({ namespace: 'chaos', name }));
        counts.delete++;
      } else {
        const name = `c${n++}`;
        const kind = rnd();
        let body: V1Service;
        if (kind < 0.15) {
          body = lbService('chaos', name, { ann: { 'edgelb.io/allow-shared-ip': rnd() < 0.5 ? 'k1' : 'k2' }, ports: [[[80, 443, 8080, 53][Math.floor(rnd() * 4)]!]] });
          counts.shared++;
        } else if (kind < 0.22) {
          const inside = rnd() < 0.7;
          body = lbService('chaos', name, { ann: { 'edgelb.io/staticIP': inside ? `10.101.0.${1 + Math.floor(rnd() * 126)}` : '192.168.255.254' } });
          counts.static++;
        } else {
          body = lbService('chaos', name);
          counts.create++;
        }
        // a create completes before its name can be picked for a delete
        batch.push(admin.core.createNamespacedService({ namespace: 'chaos', body }).then(() => names.push(name)));
      }
    }
    await flush();
    const tOps = Date.now();
    // settle: every Service either has an IP or a condition that says why not
    const final = await waitUntil(async () => {
      const m = await serviceIps(admin, 'chaos');
      const pending = [...m.values()].filter((x) => x.ips.length === 0 && !['PoolFull', 'IPInUse', 'StaticIPOutsidePools'].includes(condition(x.svc)?.reason ?? ''));
      return pending.length === 0 && m.size === names.length ? m : undefined;
    }, 'chaos to settle', 120_000, 500);
    await sleep(1000);
    assert.deepEqual(violations, []);
    const served = [...final.values()].filter((x) => x.ips.length > 0);
    const refusedFull = [...final.values()].filter((x) => condition(x.svc)?.reason === 'PoolFull');
    // a full pool: nothing left free while a plain Service waits
    // (10.101.0.0/25 holds 126: the shared allocator skips the CIDR's network and broadcast addresses)
    if (refusedFull.length > 0) assert.equal(new Set(served.flatMap((x) => x.ips)).size, 126, 'PoolFull while the pool had room');
    assert.ok(restarts >= 10, `only ${restarts} restarts`);
    assert.ok(served.length > 50);
    console.log(`# chaos: ${JSON.stringify(counts)}, ${final.size} left, ${served.length} served, ${refusedFull.length} PoolFull, ${violations.length} violations; ops ${tOps - tStart} ms (restarts ${restartMs} ms), settled ${Date.now() - tOps} ms later`);
  } finally {
    await inf.stop();
  }
});

test('k8s controller: 1,000 LoadBalancer Services all get distinct IPs from the pool', async () => {
  await ensureNamespace(admin, 'bulk');
  await createPool(admin, 'bulk', { cidrs: ['10.100.0.0/22'], namespaces: ['bulk'] });
  const names = Array.from({ length: 1000 }, (_, i) => `svc-${i}`);
  const start = Date.now();
  await parallel(names, 32, async (n) => {
    await admin.core.createNamespacedService({ namespace: 'bulk', body: lbService('bulk', n) });
  });
  const created = Date.now();
  const all = await waitUntil(async () => {
    const m = await serviceIps(admin, 'bulk');
    return [...m.values()].filter((x) => x.ips.length === 1).length === 1000 ? m : undefined;
  }, '1,000 ingress IPs', 240_000, 1000);
  const done = Date.now();
  const ips = [...all.values()].map((x) => x.ips[0]!);
  assert.equal(new Set(ips).size, 1000, 'two Services share an IP');
  const lo = ipToBigInt('10.100.0.0');
  for (const ip of ips) {
    const v = ipToBigInt(ip);
    assert.ok(v >= lo && v < lo + 1024n, `${ip} outside 10.100.0.0/22`);
    assert.ok(!ip.endsWith('.0') && !ip.endsWith('.255'), `${ip} is a .0/.255 address`);
  }
  const one = all.get('svc-0')!.svc;
  assert.equal(one.metadata?.annotations?.['edgelb.io/assigned-pool'], 'bulk');
  assert.match(condition(one)?.message ?? '', /from pool bulk, shard 0/);
  console.log(`# 1000 services: created in ${created - start} ms, all with ingress after ${done - start} ms`);
});

test('k8s controller: a full pool gives one clear condition and one Warning, not an error loop', async () => {
  await ensureNamespace(admin, 'full');
  await createPool(admin, 'full', { ranges: ['10.102.0.1-10.102.0.2'], namespaces: ['full'] });
  for (const n of ['a', 'b']) {
    await admin.core.createNamespacedService({ namespace: 'full', body: lbService('full', n) });
    await waitUntil(async () => (await serviceIps(admin, 'full')).get(n)?.ips.length, `full/${n} IP`);
  }
  await admin.core.createNamespacedService({ namespace: 'full', body: lbService('full', 'c') });
  const c = await waitUntil(async () => {
    const s = (await serviceIps(admin, 'full')).get('c')!.svc;
    return condition(s)?.reason === 'PoolFull' ? s : undefined;
  }, 'PoolFull condition');
  assert.equal(condition(c)!.status, 'False');
  assert.match(condition(c)!.message!, /no free IPv4 address: full is full \(2 of 2 addresses assigned\)/);
  assert.deepEqual(c.status?.loadBalancer?.ingress ?? [], []);
  const rv = c.metadata!.resourceVersion;
  await sleep(3000);
  const again = (await serviceIps(admin, 'full')).get('c')!.svc;
  assert.equal(again.metadata!.resourceVersion, rv, 'the Service keeps being rewritten');
  const events = await admin.core.listNamespacedEvent({ namespace: 'full', fieldSelector: 'involvedObject.name=c' });
  assert.deepEqual(events.items.map((e) => `${e.type}/${e.reason}`), ['Warning/PoolFull']);
  // an address frees up: the waiting Service gets it
  const freed = (await serviceIps(admin, 'full')).get('a')!.ips[0];
  await admin.core.deleteNamespacedService({ namespace: 'full', name: 'a' });
  const got = await waitUntil(async () => (await serviceIps(admin, 'full')).get('c')?.ips[0], 'c to get the freed IP');
  assert.equal(got, freed);
});

test('k8s controller: a static IP outside every pool is refused with a condition and never announced', async () => {
  await ensureNamespace(admin, 'static');
  await createPool(admin, 'static', { cidrs: ['10.104.0.0/28'], namespaces: ['static'] });
  await admin.core.createNamespacedService({ namespace: 'static', body: lbService('static', 'out', { ann: { 'loxilb.io/staticIP': '192.168.255.254' } }) });
  await admin.core.createNamespacedService({ namespace: 'static', body: lbService('static', 'in', { ann: { 'metallb.universe.tf/loadBalancerIPs': '10.104.0.9' } }) });
  const out = await waitUntil(async () => {
    const s = (await serviceIps(admin, 'static')).get('out')!.svc;
    return condition(s)?.reason === 'StaticIPOutsidePools' ? s : undefined;
  }, 'StaticIPOutsidePools');
  assert.match(condition(out)!.message!, /static IP 192\.168\.255\.254 is outside every IPPool .*edgelb never announces it/);
  assert.deepEqual(out.status?.loadBalancer?.ingress ?? [], []);
  await waitUntil(async () => (await serviceIps(admin, 'static')).get('in')?.ips[0] === '10.104.0.9', 'static in-pool IP');
  await waitUntil(() => src.current()?.services.some((s) => s.name === 'static/in'), 'static/in in the DesiredState');
  assert.ok(!src.current()!.services.some((s) => s.name === 'static/out' || s.vips.includes('192.168.255.254')));
});

test('k8s controller: shared IPs with allow-shared-ip when ports do not clash', async () => {
  await ensureNamespace(admin, 'shared');
  await createPool(admin, 'shared', { cidrs: ['10.105.0.0/28'], namespaces: ['shared'] });
  const ann = { 'edgelb.io/allow-shared-ip': 'web', 'edgelb.io/staticIP': '10.105.0.5' };
  await admin.core.createNamespacedService({ namespace: 'shared', body: lbService('shared', 'http', { ann, ports: [[80]] }) });
  await waitUntil(async () => (await serviceIps(admin, 'shared')).get('http')?.ips.length, 'http IP');
  await admin.core.createNamespacedService({ namespace: 'shared', body: lbService('shared', 'https', { ann, ports: [[443]] }) });
  await admin.core.createNamespacedService({ namespace: 'shared', body: lbService('shared', 'clash', { ann, ports: [[80]] }) });
  const m = await waitUntil(async () => {
    const m = await serviceIps(admin, 'shared');
    return m.get('https')?.ips.length && condition(m.get('clash')!.svc)?.reason === 'IPInUse' ? m : undefined;
  }, 'sharing outcome');
  assert.deepEqual(m.get('http')!.ips, ['10.105.0.5']);
  assert.deepEqual(m.get('https')!.ips, ['10.105.0.5']);
  assert.match(condition(m.get('clash')!.svc)!.message!, /held by shared\/http/);
});

test('k8s controller: dual-stack Services follow ipFamilyPolicy', async () => {
  await ensureNamespace(admin, 'dual');
  await createPool(admin, 'dual', { cidrs: ['10.108.0.0/28', 'fd00:108::/120'], namespaces: ['dual'] });
  const mk = (name: string, policy: string, families: string[]) => {
    const b = lbService('dual', name);
    b.spec!.ipFamilyPolicy = policy;
    b.spec!.ipFamilies = families;
    return admin.core.createNamespacedService({ namespace: 'dual', body: b });
  };
  await mk('both', 'RequireDualStack', ['IPv6', 'IPv4']);
  await mk('prefer', 'PreferDualStack', ['IPv4', 'IPv6']);
  await mk('six', 'SingleStack', ['IPv6']);
  const m = await waitUntil(async () => {
    const m = await serviceIps(admin, 'dual');
    return m.get('both')?.ips.length === 2 && m.get('prefer')?.ips.length === 2 && m.get('six')?.ips.length === 1 ? m : undefined;
  }, 'dual-stack addresses');
  assert.deepEqual(m.get('both')!.ips, ['fd00:108::1', '10.108.0.1']);
  assert.deepEqual(m.get('prefer')!.ips, ['10.108.0.2', 'fd00:108::2']);
  assert.deepEqual(m.get('six')!.ips, ['fd00:108::3']);
  const spec = await waitUntil(() => src.current()?.services.find((s) => s.name === 'dual/both'), 'dual/both in state');
  assert.deepEqual(spec.vips, ['fd00:108::1', '10.108.0.1']);
});

test('k8s controller: EndpointSlices, externalTrafficPolicy Local and excluded nodes', async () => {
  await ensureNamespace(admin, 'eps');
  await createPool(admin, 'eps', { cidrs: ['10.103.0.0/28'], namespaces: ['eps'], announce: 'both' });
  await admin.core.createNamespacedService({ namespace: 'eps', body: lbService('eps', 'web', { etp: 'Local', ports: [[80]] }) });
  await admin.discovery.createNamespacedEndpointSlice({
    namespace: 'eps',
    body: {
      metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'p0', port: 8080, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.244.2.7'], nodeName: 'n2', conditions: { ready: true } },
        { addresses: ['10.244.1.7'], nodeName: 'n1', conditions: { ready: false } },
      ],
    },
  });
  // servable, but no node has said it carries the VIP yet: not Served
  const waiting = await waitUntil(async () => {
    const s = (await serviceIps(admin, 'eps')).get('web')!.svc;
    return condition(s)?.reason === 'NoNodeReport' ? s : undefined;
  }, 'web not carried yet');
  assert.equal(condition(waiting)!.status, 'False');
  // n2's pod reports it answers ARP for it (as n2's daemon would, with the edgelb ServiceAccount)
  const ip = waiting.status!.loadBalancer!.ingress![0]!.ip!;
  await clients(cluster.edgelbKubeconfig).custom.patchClusterCustomObject(
    { group: 'edgelb.io', version: 'v1alpha1', plural: 'nodereports', name: 'n2', body: { apiVersion: 'edgelb.io/v1alpha1', kind: 'NodeReport', metadata: { name: 'n2' }, status: { node: 'n2', peers: [], established: [], bgp: [], l2: [ip], withheld: [] } }, fieldManager: 'edgelb-node-n2', force: true },
    setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
  );
  const svc = await waitUntil(async () => {
    const s = (await serviceIps(admin, 'eps')).get('web')!.svc;
    return condition(s)?.reason === 'Served' ? s : undefined;
  }, 'web served');
  assert.match(condition(svc)!.message!, /from pool eps, shard 0, announced by n2 via BGP ECMP \(every node\) \+ L2 ARP\/NDP \(shard master answers\); 1 ready endpoint\(s\); carried by L2 owner n2$/);
  const spec = await waitUntil(() => src.current()?.services.find((s) => s.name === 'eps/web'), 'eps/web in state');
  assert.equal(spec.localOnly, true);
  assert.deepEqual(spec.ports, [{ port: 80, protocol: 'tcp', targetPort: 8080 }]);
  assert.deepEqual(spec.endpoints, [
    { address: '10.244.1.7', ready: false, nodeName: 'n1' },
    { address: '10.244.2.7', ready: true, nodeName: 'n2' },
  ]);
  assert.equal(src.current()!.node.routerId, '192.0.2.10');
  // exclude n1 from external load balancers: it stops announcing
  await admin.core.patchNode({ name: 'n1', body: { metadata: { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' } } } }, mergeHeader());
  await waitUntil(() => src.current()?.node.noAnnounceReason?.includes('exclude-from-external-load-balancers'), 'n1 excluded');
  await admin.core.patchNode({ name: 'n1', body: { metadata: { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': null } } } }, mergeHeader());
  await waitUntil(() => src.current() && src.current()!.node.noAnnounceReason === undefined, 'n1 included again');
});

test('k8s controller: BGPPeer with a Secret password, per-node session status, and a BGPPolicy change that changes nothing else', async () => {
  await admin.core.createNamespacedSecret({ namespace: EDGELB_NAMESPACE, body: { metadata: { name: 'tor-pw' }, stringData: { password: 's3cret' } } });
  await apply(admin, [
    { apiVersion: 'edgelb.io/v1alpha1', kind: 'BGPPolicy', metadata: { name: 'med' }, spec: { statements: [{ name: 's', actions: { med: 10 } }] } },
    { apiVersion: 'edgelb.io/v1alpha1', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { address: '192.0.2.1', asn: 64512, passwordSecretRef: { name: 'tor-pw' }, exportPolicies: ['med'], nodeSelector: { matchLabels: { rack: 'a' } } } },
  ] as never);
  const peer = await waitUntil(() => src.current()?.bgp?.peers.find((p) => p.address === '192.0.2.1'), 'tor in state');
  assert.equal(peer.password, 's3cret');
  assert.deepEqual(peer.exportPolicies, ['med']);
  assert.ok(src.current()!.bgp!.peers.some((p) => p.address === '123.123.123.2') || true);
  // the node agent reports the session: status per node, summary for kubectl get
  neighbors.push({ address: '192.0.2.1', state: 'Established', uptimeSec: 42, prefixesSent: 7 });
  const st = await waitUntil(async () => {
    const o = (await admin.custom.getClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'bgppeers', name: 'tor' })) as { status?: { nodes?: Array<Record<string, unknown>>; summary?: string; established?: string } };
    return o.status?.summary === 'n1=Established' ? o.status : undefined;
  }, 'BGPPeer status');
  assert.equal(st.established, '1/1');
  assert.deepEqual({ ...st.nodes![0], updated: undefined }, { node: 'n1', state: 'Established', uptimeSeconds: 42, prefixesSent: 7, updated: undefined });
  const table = JSON.parse((await apiGet(cluster, '/apis/edgelb.io/v1alpha1/bgppeers', 'application/json;as=Table;v=v1;g=meta.k8s.io')).body) as { rows: Array<{ cells: unknown[] }> };
  assert.deepEqual(table.rows.find((r) => r.cells[0] === 'tor')!.cells.slice(0, 5), ['tor', '192.0.2.1', 64512, '1/1', 'n1=Established']);
  // the password never shows in status or problems
  assert.ok(!JSON.stringify(st).includes('s3cret') && !JSON.stringify(src.problems()).includes('s3cret'));
  neighbors.length = 0;

  // BGPPolicy change: the next DesiredState differs in the policy only
  const before = src.current()!;
  const states: DesiredState[] = [];
  src.on('state', (s: DesiredState) => states.push(s));
  await apply(admin, [{ apiVersion: 'edgelb.io/v1alpha1', kind: 'BGPPolicy', metadata: { name: 'med' }, spec: { statements: [{ name: 's', actions: { med: 20 } }] } }] as never);
  const after = await waitUntil(() => states.find((s) => s.policies.find((p) => p.name === 'med')?.statements[0]?.actions.med === 20), 'policy change in state');
  assert.deepEqual({ ...after, policies: [] }, { ...before, policies: [] });
});

test('k8s controller: kube-loxilb BGPPeerService objects become peers', async () => {
  await apply(admin, [{ apiVersion: 'bgppeer.loxilb.io/v1', kind: 'BGPPeerService', metadata: { name: 'bgp-peer-test' }, spec: { ipAddress: '123.123.123.2', remoteAs: 65123, remotePort: 179 } }] as never);
  const p = await waitUntil(() => src.current()?.bgp?.peers.find((x) => x.address === '123.123.123.2'), 'loxilb peer in state');
  assert.equal(p.asn, 65123);
});

test('k8s controller: another pod takes over the Lease and goes on assigning', async () => {
  const other = await startSource('n2');
  try {
    await sleep(1000);
    assert.equal(other.isLeader, false);
    assert.equal(src.isLeader, true);
    await src.stop();
    await waitUntil(() => other.isLeader, 'n2 to lead', 15_000);
    await ensureNamespace(admin, 'failover');
    await createPool(admin, 'failover', { cidrs: ['10.106.0.0/28'], namespaces: ['failover'] });
    await admin.core.createNamespacedService({ namespace: 'failover', body: lbService('failover', 'x') });
    const ip = await waitUntil(async () => (await serviceIps(admin, 'failover')).get('x')?.ips[0], 'x IP from the new leader');
    assert.equal(ip, '10.106.0.1');
    // n2's own DesiredState: the tor peer selects rack a only
    assert.ok(!other.current()!.bgp!.peers.some((p) => p.address === '192.0.2.1'));
  } finally {
    await other.stop();
    src = await startSource('n1');
  }
  await waitUntil(() => src.isLeader, 'n1 to lead again', 15_000);
});

test('k8s controller: with the API server gone, the node keeps its last state; back, it goes on', async () => {
  await waitUntil(() => src.synced && src.current(), 'synced');
  const before = JSON.stringify(src.current());
  let emitted = 0;
  src.on('state', () => emitted++);
  await cluster.stopApiserver();
  try {
    await sleep(4000);
    assert.equal(emitted, 0, 'a state was emitted while the API server was gone');
    assert.equal(JSON.stringify(src.current()), before);
  } finally {
    await cluster.startApiserver();
  }
  await ensureNamespace(admin, 'after');
  await createPool(admin, 'after', { cidrs: ['10.107.0.0/28'], namespaces: ['after'] });
  await admin.core.createNamespacedService({ namespace: 'after', body: lbService('after', 'y') });
  const ip = await waitUntil(async () => (await serviceIps(admin, 'after')).get('y')?.ips[0], 'y IP after the outage', 60_000, 500);
  assert.equal(ip, '10.107.0.1');
  await waitUntil(() => src.current()?.services.some((s) => s.name === 'after/y'), 'after/y in the state', 30_000);
  // nothing that existed before moved
  const bulk = await serviceIps(admin, 'bulk');
  assert.equal(new Set([...bulk.values()].map((x) => x.ips[0])).size, 1000);
});

void ({} as V1Node);
