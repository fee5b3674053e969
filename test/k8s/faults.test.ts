// Containment through a real kube-apiserver (issue 11): objects that pass the CRD schema but are
// wrong each get a Valid=False condition and a Warning Event naming the field, and are left out;
// the controller and the node stay up and other Services keep being served. Also: a tenant's
// assigned-ips annotation cannot take another Service's VIP, and a throwing translation is
// contained (counted, the last good state kept, never an unhandled rejection).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { KubernetesObject } from '@kubernetes/client-node';
import { startTestCluster, EDGELB_NAMESPACE, type TestCluster } from './harness.js';
import { apply, clients, condition, ensureNamespace, installBase, lbService, makeSource, serviceIps, sleep, waitUntil, type Clients } from './lib.js';
import type { KubernetesSource } from '../../src/k8s/source.js';
import { translate, type ClusterView, type TranslateOptions } from '../../src/k8s/translate.js';
import type { DesiredState } from '../../src/model/desired-state.js';

let cluster: TestCluster;
let admin: Clients;
let src: KubernetesSource;
const registry = new Registry();
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
const t0 = Date.now();
// the real translation, made to throw while a Service named "boom" exists
const guarded = (v: ClusterView, o: TranslateOptions) => {
  if (v.services.some((s) => s.metadata.name === 'boom')) throw new TypeError("Cannot read properties of undefined (reading 'boom')");
  return translate(v, o);
};

before(async () => {
  process.on('unhandledRejection', onUnhandled);
  cluster = await startTestCluster();
  admin = clients(cluster.adminKubeconfig);
  await installBase(admin);
  await ensureNamespace(admin, 'faults');
  await apply(admin, [{ apiVersion: 'edgelb.io/v1alpha1', kind: 'IPPool', metadata: { name: 'good' }, spec: { cidrs: ['10.120.0.0/28'] } } as KubernetesObject]);
  await sleep(1100); // the overlapping pool below is younger, whatever the names
  src = makeSource(cluster, 'n1', { registry, translate: guarded });
  await src.start();
  await waitUntil(() => src.isLeader && src.synced, 'n1 to lead', 15_000);
  await admin.core.createNamespacedService({ namespace: 'faults', body: lbService('faults', 'steady') });
  await waitUntil(() => src.current()?.services.some((s) => s.name === 'faults/steady'), 'steady served');
});
after(async () => {
  await src?.stop();
  await cluster?.stop();
  process.off('unhandledRejection', onUnhandled);
  console.log(`# k8s faults suite: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

const cr = (kind: string, name: string, spec: object) => ({ apiVersion: 'edgelb.io/v1alpha1', kind, metadata: { name }, spec }) as KubernetesObject;
const secret = (name: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: EDGELB_NAMESPACE }, stringData: data }) as KubernetesObject;

const rows: Array<{ desc: string; objs: KubernetesObject[]; plural: string; name: string; reason: string; message: RegExp }> = [
  {
    desc: 'BGPPolicy with a large community above 32 bits',
    objs: [cr('BGPPolicy', 'big-community', { statements: [{ name: 's', actions: { addLargeCommunities: ['4294967296:1:1'] } }] })],
    plural: 'bgppolicies', name: 'big-community', reason: 'InvalidPolicy', message: /^spec\.statements\[0\]\.actions\.addLargeCommunities: .*4294967296:1:1/,
  },
  {
    desc: 'BGPPolicy with minLen shorter than its prefix',
    objs: [cr('BGPPolicy', 'short-minlen', { prefixSets: [{ name: 'v', prefixes: [{ prefix: '10.0.0.0/24', minLen: 8 }] }] })],
    plural: 'bgppolicies', name: 'short-minlen', reason: 'InvalidPolicy', message: /^spec\.prefixSets\.v\[0\]\.minLen: must be 24\.\.32/,
  },
  {
    desc: 'BGPPeer naming an unknown policy',
    objs: [cr('BGPPeer', 'ghost-policy', { address: '192.0.2.21', asn: 64512, exportPolicies: ['ghost'] })],
    plural: 'bgppeers', name: 'ghost-policy', reason: 'PolicyNotFound', message: /^spec\.exportPolicies: BGPPolicy "ghost" does not exist/,
  },
  {
    desc: 'BGPPeer whose Secret is missing',
    objs: [cr('BGPPeer', 'no-secret', { address: '192.0.2.22', asn: 64512, passwordSecretRef: { name: 'absent' } })],
    plural: 'bgppeers', name: 'no-secret', reason: 'SecretNotFound', message: /^spec\.passwordSecretRef\.name: Secret absent is not in edgelb's namespace/,
  },
  {
    desc: 'BGPPeer whose Secret lacks the key',
    objs: [secret('wrong-key', { md5: 'x' }), cr('BGPPeer', 'no-key', { address: '192.0.2.23', asn: 64512, passwordSecretRef: { name: 'wrong-key' } })],
    plural: 'bgppeers', name: 'no-key', reason: 'SecretKeyNotFound', message: /^spec\.passwordSecretRef\.key: Secret wrong-key has no key "password"/,
  },
  {
    desc: 'BGPPeer whose Secret holds an 81-byte password',
    objs: [secret('too-long', { password: 'p'.repeat(81) }), cr('BGPPeer', 'long-password', { address: '192.0.2.24', asn: 64512, passwordSecretRef: { name: 'too-long' } })],
    plural: 'bgppeers', name: 'long-password', reason: 'InvalidPassword', message: /^spec\.passwordSecretRef: the password in Secret too-long key "password" is 81 bytes; TCP MD5 needs 1 to 80/,
  },
  {
    desc: 'IPPool overlapping an older pool',
    objs: [cr('IPPool', 'overlap', { cidrs: ['10.120.0.8/29'] })],
    plural: 'ippools', name: 'overlap', reason: 'PoolOverlap', message: /^spec\.cidrs\[0\] \(10\.120\.0\.8\/29\) overlaps spec\.cidrs\[0\] \(10\.120\.0\.0\/28\) of older IPPool good/,
  },
];

test('k8s faults: objects that pass the schema but are wrong each get a condition and an Event naming the field; everything else goes on', async () => {
  // a good peer and a good policy, to prove they keep working next to the bad ones
  await apply(admin, [cr('BGPPolicy', 'fine', { statements: [{ name: 's', actions: { med: 7 } }] }), cr('BGPPeer', 'fine', { address: '192.0.2.20', asn: 64512, exportPolicies: ['fine', 'big-community'] })]);
  for (const r of rows) await apply(admin, r.objs);
  for (const r of rows) {
    const cond = await waitUntil(async () => {
      const o = (await admin.custom.getClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: r.plural, name: r.name })) as { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } };
      const c = o.status?.conditions?.find((x) => x.type === 'Valid');
      return c?.status === 'False' ? c : undefined;
    }, `${r.desc}: condition`);
    assert.equal(cond.reason, r.reason, r.desc);
    assert.match(cond.message, r.message, r.desc);
    assert.ok(!cond.message.includes('p'.repeat(20)), 'a password in a condition');
    const ev = await waitUntil(async () => {
      const l = await admin.core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${r.name}` });
      return l.items.find((e) => e.reason === r.reason);
    }, `${r.desc}: Event`);
    assert.equal(ev.type, 'Warning');
    assert.match(ev.message ?? '', r.message);
  }
  // the good objects are Valid and used; the bad ones are left out of the node's state
  await waitUntil(async () => {
    const o = (await admin.custom.getClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'bgppeers', name: 'fine' })) as { status?: { conditions?: Array<{ type: string; status: string; reason: string }> } };
    return o.status?.conditions?.find((c) => c.type === 'Valid' && c.reason === 'PolicyInvalid');
  }, 'fine peer told its second policy is invalid');
  const st = await waitUntil(() => {
    const s = src.current();
    return s && s.policies.some((p) => p.name === 'fine') ? s : undefined;
  }, 'good policy in state');
  assert.deepEqual(st.policies.map((p) => p.name), ['fine']);
  // peers with a Secret problem are left out; a peer with a policy problem is kept without that policy
  assert.deepEqual(st.bgp!.peers.map((p) => [p.address, p.exportPolicies]), [['192.0.2.20', ['fine']], ['192.0.2.21', []]]);
  assert.deepEqual(st.pools.map((p) => p.name), ['good']);
  assert.ok(st.services.some((s) => s.name === 'faults/steady'));
  // the controller goes on assigning
  await admin.core.createNamespacedService({ namespace: 'faults', body: lbService('faults', 'later') });
  const ip = await waitUntil(async () => (await serviceIps(admin, 'faults')).get('later')?.ips[0], 'later gets an IP');
  assert.match(ip, /^10\.120\.0\./);
  // fixing a Secret brings its peer back
  await apply(admin, [secret('too-long', { password: 'p'.repeat(80) })]);
  await waitUntil(() => src.current()?.bgp?.peers.some((p) => p.address === '192.0.2.24'), 'fixed peer in state');
  assert.deepEqual(unhandled, []);
});

test('k8s faults: a tenant\'s assigned-ips annotation cannot take another Service\'s VIP (nodes announce only status)', async () => {
  const owner = await waitUntil(async () => (await serviceIps(admin, 'faults')).get('steady')?.ips[0], 'steady IP');
  const seen: string[] = [];
  const onState = (s: DesiredState) => {
    for (const svc of s.services) if (svc.name === 'faults/thief' && svc.vips.includes(owner)) seen.push(svc.name);
  };
  src.on('state', onState);
  try {
    await admin.core.createNamespacedService({ namespace: 'faults', body: lbService('faults', 'thief', { ann: { 'edgelb.io/assigned-ips': owner } }) });
    const thief = await waitUntil(async () => {
      const s = (await serviceIps(admin, 'faults')).get('thief')!.svc;
      return condition(s)?.reason === 'IPInUse' ? s : undefined;
    }, 'thief refused');
    assert.match(condition(thief)!.message!, new RegExp(`annotation edgelb\\.io/assigned-ips asks for ${owner.replace(/\./g, '\\.')}, which faults/steady holds`));
    assert.deepEqual(thief.status?.loadBalancer?.ingress ?? [], []);
    await sleep(1500);
    assert.deepEqual(seen, [], 'the node announced the stolen VIP for the thief');
    assert.ok(!src.current()!.services.some((s) => s.name === 'faults/thief'));
    assert.equal((await serviceIps(admin, 'faults')).get('steady')!.ips[0], owner);
    const ev = await admin.core.listNamespacedEvent({ namespace: 'faults', fieldSelector: 'involvedObject.name=thief' });
    assert.ok(ev.items.some((e) => e.type === 'Warning' && e.reason === 'IPInUse'));
  } finally {
    src.off('state', onState);
  }
});

test('k8s faults: a throwing translation is logged, counted and contained; the last good state stays', async () => {
  const before = JSON.stringify(src.current());
  const count = async () => (await registry.getSingleMetricAsString('edgelb_k8s_translate_errors_total')).match(/_total (\d+)/)?.[1];
  await admin.core.createNamespacedService({ namespace: 'faults', body: lbService('faults', 'boom') });
  await waitUntil(async () => Number(await count()) >= 1, 'the throw counted');
  await sleep(500);
  assert.equal(JSON.stringify(src.current()), before, 'the state changed while translation failed');
  assert.deepEqual(unhandled, []);
  await admin.core.deleteNamespacedService({ namespace: 'faults', name: 'boom' });
  await admin.core.createNamespacedService({ namespace: 'faults', body: lbService('faults', 'after-boom') });
  await waitUntil(() => src.current()?.services.some((s) => s.name === 'faults/after-boom'), 'after-boom served once the throw is gone');
  assert.deepEqual(unhandled, []);
});

