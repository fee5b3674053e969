// Table tests of the leader's pure plan (plan.ts): the cluster as it will be → the writes to make.
// Each row is {desc, input, want}; the executor (controller.ts) is tested through the real
// kube-apiserver in test/k8s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planWrites, validCondition, type ObjectStatusWrite, type ServiceWrite } from '../../src/k8s/plan.js';
import type { ClusterView } from '../../src/k8s/translate.js';
import type { DesiredState } from '../../src/model/desired-state.js';
import type { BGPPeerObj, BGPPolicyObj, IPPoolObj, ServiceObj } from '../../src/k8s/types.js';

const settings: DesiredState = {
  node: { name: 'n1', routerId: '', interface: 'eth0' },
  api: { listen: '127.0.0.1:11111' },
  bgp: { asn: 64513, routerId: '', listenPort: 179, peers: [], communities: [], largeCommunities: [] },
  pools: [], services: [], policies: [],
  dataplane: { attachMode: 'auto', maglevSize: 65537, conntrackSize: 65536, enabled: true },
  l2: { garpCount: 3, garpIntervalMs: 100, refreshIntervalMs: 0 },
};
const NOW = '2026-12-07T00:00:00Z';
let seq = 0;
function svc(name: string, o: { ann?: Record<string, string>; ingress?: string[]; cond?: { reason: string; status?: 'True' | 'False'; message?: string }; cls?: string; created?: number } = {}): ServiceObj {
  return {
    metadata: { name, namespace: 'default', uid: `u-${name}`, resourceVersion: '5', annotations: o.ann ?? {}, creationTimestamp: new Date(Date.UTC(2026, 0, 1) + (o.created ?? seq++) * 1000).toISOString() },
    spec: { type: 'LoadBalancer', loadBalancerClass: o.cls ?? 'edgelb.io/edgelb', ports: [{ port: 80, protocol: 'TCP' }] },
    ...(o.ingress || o.cond
      ? {
          status: {
            loadBalancer: { ingress: (o.ingress ?? []).map((ip) => ({ ip })) },
            ...(o.cond ? { conditions: [{ type: 'edgelb.io/Served', status: o.cond.status ?? 'False', reason: o.cond.reason, message: o.cond.message ?? '', lastTransitionTime: NOW }] } : {}),
          },
        }
      : {}),
  };
}
const pool = (name: string, spec: IPPoolObj['spec'], status?: IPPoolObj['status'], created = 0): IPPoolObj => ({
  metadata: { name, uid: `p-${name}`, creationTimestamp: new Date(Date.UTC(2026, 0, 1) + created * 1000).toISOString() },
  spec,
  ...(status ? { status } : {}),
});
const validOk = { type: 'Valid', status: 'True' as const, reason: 'Valid', message: 'in use', lastTransitionTime: NOW };

function view(v: Partial<ClusterView>): ClusterView {
  return { services: [], slices: [], nodes: [], pools: [pool('p', { ranges: ['10.1.0.1-10.1.0.2'] }, { assigned: 0, available: '2', conditions: [validOk] })], peers: [], policies: [], loxiPeers: [], secrets: [], members: [{ nodeName: 'n1', ip: '192.0.2.10', ready: true }], ...v };
}
const plan = (v: Partial<ClusterView>) => planWrites({ view: view(v), opts: { nodeName: 'n1', settings }, namespaceLabels: () => undefined, now: NOW });
const svcWrites = (v: Partial<ClusterView>) => plan(v).writes.filter((w): w is ServiceWrite => w.kind === 'service');
const objWrites = (v: Partial<ClusterView>) => plan(v).writes.filter((w): w is ObjectStatusWrite => w.kind === 'object-status');
const ingressOf = (w: ServiceWrite) => ((w.body.status as { loadBalancer?: { ingress: Array<{ ip: string }> } } | undefined)?.loadBalancer?.ingress ?? []).map((i) => i.ip);
const condOf = (w: ServiceWrite) => (w.body.status as { conditions?: Array<{ reason: string; status: string; message: string }> } | undefined)?.conditions?.[0];

interface Row { desc: string; v: Partial<ClusterView>; want: (p: ReturnType<typeof plan>) => void }
const served = 'no ready endpoint, so the VIP is withdrawn until one is ready';
const rows: Row[] = [
  {
    desc: 'a new Service: one write carrying ingress, condition and the allocation annotations, and an IPAllocated Event',
    v: { services: [svc('a')] },
    want: (p) => {
      const [w, ...rest] = p.writes;
      assert.deepEqual(rest.map((x) => x.kind === 'object-status' && [x.name, x.status.assigned]), [['p', 1]]);
      assert.ok(w && w.kind === 'service');
      assert.deepEqual(ingressOf(w), ['10.1.0.1']);
      assert.equal(condOf(w)!.reason, 'NoReadyEndpoint');
      assert.deepEqual(w.body.metadata, { annotations: { 'edgelb.io/assigned-ips': '10.1.0.1', 'edgelb.io/assigned-pool': 'p', 'edgelb.io/assigned-shard': '0' } });
      assert.deepEqual(w.event && [w.event.type, w.event.reason], ['Normal', 'IPAllocated']);
      assert.equal(p.allocations, 1);
    },
  },
  {
    desc: 'a Service that already shows what it should: no write at all',
    v: {
      services: [svc('a', { ingress: ['10.1.0.1'], ann: { 'edgelb.io/assigned-ips': '10.1.0.1', 'edgelb.io/assigned-pool': 'p', 'edgelb.io/assigned-shard': '0' }, cond: { reason: 'NoReadyEndpoint', message: `10.1.0.1 from pool p, shard 0: ${served}` } })],
      pools: [pool('p', { ranges: ['10.1.0.1-10.1.0.2'] }, { assigned: 1, available: '1', conditions: [validOk] })],
    },
    want: (p) => assert.deepEqual(p.writes, []),
  },
  {
    desc: 'oldest first: the older Service gets the first address whatever the list order',
    v: { services: [svc('young', { created: 20 }), svc('old', { created: 10 })] },
    want: (p) => {
      const ws = p.writes.filter((w): w is ServiceWrite => w.kind === 'service');
      assert.deepEqual(ws.map((w) => [w.name, ingressOf(w)[0]]), [['old', '10.1.0.1'], ['young', '10.1.0.2']]);
    },
  },
  {
    desc: 'a full pool: PoolFull condition, a Warning Event, no annotation to remove',
    v: { services: [svc('a', { ingress: ['10.1.0.1'], created: 1 }), svc('b', { ingress: ['10.1.0.2'], created: 2 }), svc('c', { created: 3 })] },
    want: (p) => {
      const c = svcWrites({ services: [svc('a', { ingress: ['10.1.0.1'], created: 1 }), svc('b', { ingress: ['10.1.0.2'], created: 2 }), svc('c', { created: 3 })] }).find((w) => w.name === 'c')!;
      assert.equal(condOf(c)!.reason, 'PoolFull');
      assert.deepEqual(c.event && [c.event.type, c.event.reason], ['Warning', 'PoolFull']);
      assert.equal(c.body.metadata, undefined);
      assert.deepEqual(p.ipamFailures, ['PoolFull']);
    },
  },
  {
    desc: 'the same refusal already shown: no write, no second Event',
    v: { services: [svc('a', { ingress: ['10.1.0.1'], created: 1 }), svc('b', { ingress: ['10.1.0.2'], created: 2 }), svc('c', { created: 3, cond: { reason: 'PoolFull', message: 'no free IPv4 address: p is full (2 of 2 addresses assigned)' } })] },
    want: (p) => assert.equal(p.writes.filter((w) => w.kind === 'service' && w.name === 'c').length, 0),
  },
  {
    desc: 'a tenant\'s assigned-ips annotation naming another Service\'s VIP is refused (IPInUse), and the annotation stays',
    v: { services: [svc('owner', { ingress: ['10.1.0.1'], created: 1 }), svc('thief', { created: 0, ann: { 'edgelb.io/assigned-ips': '10.1.0.1' } })] },
    want: (p) => {
      const w = p.writes.find((x): x is ServiceWrite => x.kind === 'service' && x.name === 'thief')!;
      assert.deepEqual(ingressOf(w), []);
      assert.equal(condOf(w)!.reason, 'IPInUse');
      assert.match(condOf(w)!.message, /annotation edgelb\.io\/assigned-ips asks for 10\.1\.0\.1, which default\/owner holds/);
      assert.equal(w.body.metadata, undefined);
      assert.deepEqual(w.event && [w.event.type, w.event.reason], ['Warning', 'IPInUse']);
      assert.ok(!p.writes.some((x) => x.kind === 'service' && x.name === 'owner' && ingressOf(x).length > 0 && ingressOf(x)[0] !== '10.1.0.1'));
    },
  },
  {
    desc: 'a Service no longer ours loses the ingress and the annotations edgelb wrote, in one write',
    v: { services: [svc('gone', { cls: 'other', ingress: ['10.1.0.1'], ann: { 'edgelb.io/assigned-ips': '10.1.0.1', 'edgelb.io/assigned-pool': 'p' } })] },
    want: (p) => {
      const w = p.writes.find((x): x is ServiceWrite => x.kind === 'service')!;
      assert.deepEqual(w.body, { status: { loadBalancer: { ingress: [] } }, metadata: { annotations: { 'edgelb.io/assigned-ips': null, 'edgelb.io/assigned-pool': null } } });
    },
  },
  {
    desc: 'IPPool usage and a Valid condition when they changed',
    v: { services: [svc('a', { ingress: ['10.1.0.1'] })], pools: [pool('p', { ranges: ['10.1.0.1-10.1.0.2'] })] },
    want: (p) => {
      const w = p.writes.find((x): x is ObjectStatusWrite => x.kind === 'object-status')!;
      assert.deepEqual([w.plural, w.name], ['ippools', 'p']);
      assert.deepEqual(w.status, { assigned: 1, available: '1', conditions: [validOk] });
      assert.equal(w.event, undefined);
    },
  },
  {
    desc: 'overlapping IPPools: the younger gets Valid=False naming both fields and one Warning Event',
    v: { pools: [pool('p', { ranges: ['10.1.0.1-10.1.0.2'] }, { assigned: 0, available: '2', conditions: [validOk] }, 0), pool('q', { cidrs: ['10.1.0.0/30'] }, undefined, 5)] },
    want: (p) => {
      const w = p.writes.find((x): x is ObjectStatusWrite => x.kind === 'object-status' && x.name === 'q')!;
      const c = (w.status.conditions as Array<{ status: string; reason: string; message: string }>)[0]!;
      assert.deepEqual([c.status, c.reason], ['False', 'PoolOverlap']);
      assert.match(c.message, /^spec\.cidrs\[0\] \(10\.1\.0\.0\/30\) overlaps spec\.ranges\[0\] \(10\.1\.0\.1-10\.1\.0\.2\) of older IPPool p/);
      assert.deepEqual(w.event && [w.event.type, w.event.reason], ['Warning', 'PoolOverlap']);
    },
  },
  {
    desc: 'a BGPPolicy with a bad community and a BGPPeer naming an unknown policy: a condition each, naming the field',
    v: {
      policies: [{ metadata: { name: 'bad' }, spec: { statements: [{ name: 's', actions: { addCommunities: ['70000:1'] } }] } } as BGPPolicyObj],
      peers: [{ metadata: { name: 'tor' }, spec: { address: '192.0.2.1', asn: 64512, exportPolicies: ['ghost'] } } as BGPPeerObj],
    },
    want: (p) => {
      const ws = p.writes.filter((x): x is ObjectStatusWrite => x.kind === 'object-status');
      const cond = (name: string) => (ws.find((w) => w.name === name)!.status.conditions as Array<{ reason: string; message: string }>)[0]!;
      assert.equal(cond('bad').reason, 'InvalidPolicy');
      assert.match(cond('bad').message, /^spec\.statements\[0\]\.actions\.addCommunities: /);
      assert.equal(cond('tor').reason, 'PolicyNotFound');
      assert.match(cond('tor').message, /^spec\.exportPolicies: BGPPolicy "ghost" does not exist/);
    },
  },
  {
    desc: 'a BGPPeer whose Secret is missing: SecretNotFound on that peer; a good peer is Valid',
    v: {
      peers: [
        { metadata: { name: 'a' }, spec: { address: '192.0.2.1', asn: 64512, passwordSecretRef: { name: 'nope' } } } as BGPPeerObj,
        { metadata: { name: 'b' }, spec: { address: '192.0.2.2', asn: 64512 } } as BGPPeerObj,
      ],
    },
    want: (p) => {
      const ws = p.writes.filter((x): x is ObjectStatusWrite => x.kind === 'object-status');
      const cond = (name: string) => (ws.find((w) => w.name === name)!.status.conditions as Array<{ status: string; reason: string }>)[0]!;
      assert.deepEqual([cond('a').status, cond('a').reason], ['False', 'SecretNotFound']);
      assert.deepEqual([cond('b').status, cond('b').reason], ['True', 'Valid']);
    },
  },
];

for (const r of rows) test(`k8s plan: ${r.desc}`, () => r.want(plan(r.v)));

test('k8s plan: same input, same writes (pure)', () => {
  const v = { services: [svc('a', { created: 1 }), svc('b', { created: 2 })] };
  assert.deepEqual(plan(v), plan(v));
});

test('k8s plan: planning against the writes it asked for gives nothing more to do (the executor\'s overlay)', () => {
  const services = [svc('a', { created: 1 }), svc('b', { created: 2 })];
  const first = svcWrites({ services });
  assert.equal(first.length, 2);
  const pools = [pool('p', { ranges: ['10.1.0.1-10.1.0.2'] }, { assigned: 2, available: '0', conditions: [validOk] })];
  assert.deepEqual(svcWrites({ services: first.map((w) => w.after), pools }), []);
  assert.deepEqual(objWrites({ services: first.map((w) => w.after), pools }), []);
});

test('k8s plan: validCondition keeps lastTransitionTime while the status holds', () => {
  const prev = { type: 'Valid', status: 'False' as const, reason: 'X', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' };
  assert.equal(validCondition([{ object: 'o', reason: 'Y', message: 'n' }], prev, NOW).lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.equal(validCondition([], prev, NOW).lastTransitionTime, NOW);
});
