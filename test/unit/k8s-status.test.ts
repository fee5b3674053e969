// Table tests of what the controller writes back (annotations, Service status and condition,
// Events, BGPPeer entries and summary) and of the Lease leader election over an in-memory Lease
// store with the API server's optimistic concurrency (resourceVersion conflicts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allocationAnnotations, desiredServiceStatus, eventObject, peerEntryChanged, peerNodeEntry, peerSummary, serviceEvent, serviceStatusPatch, withAnnotations,
} from '../../src/k8s/status.js';
import { LeaderElector, microTime } from '../../src/k8s/leader.js';
import type { AssignResult } from '../../src/k8s/ipam.js';
import type { ServicePlan } from '../../src/k8s/translate.js';
import type { ServiceObj } from '../../src/k8s/types.js';
import { createLogger } from '../../src/lib/logger.js';
import type { V1Lease } from '@kubernetes/client-node';

const svc = (ann: Record<string, string> = {}, status?: ServiceObj['status']): ServiceObj => ({
  metadata: { name: 'web', namespace: 'prod', uid: 'u1', resourceVersion: '7', annotations: ann },
  spec: { type: 'LoadBalancer' },
  ...(status ? { status } : {}),
});
const ok: AssignResult = { ok: true, reason: 'Assigned', pool: 'p', ips: ['10.0.0.1'], changed: true };
const kept: AssignResult = { ok: true, reason: 'Kept', pool: 'p', ips: ['10.0.0.1'], changed: false };
const full: AssignResult = { ok: false, reason: 'PoolFull', message: 'no free IPv4 address: p is full (2 of 2 addresses assigned)' };
const plan: ServicePlan = { key: 'prod/web', served: true, reason: 'Served', message: '10.0.0.1 from pool p, shard 0, announced by n1 via BGP ECMP (every node); 1 ready endpoint(s)', vips: ['10.0.0.1'], pool: 'p', shard: 0, nodes: ['n1'] };
const COND = 'edgelb.io/Served';

const annRows: Array<{ desc: string; svc: ServiceObj; r?: AssignResult; shard?: number; want: Record<string, string | null> }> = [
  { desc: 'new allocation writes all three', svc: svc(), r: ok, shard: 2, want: { 'edgelb.io/assigned-ips': '10.0.0.1', 'edgelb.io/assigned-pool': 'p', 'edgelb.io/assigned-shard': '2' } },
  { desc: 'unchanged allocation writes nothing', svc: svc({ 'edgelb.io/assigned-ips': '10.0.0.1', 'edgelb.io/assigned-pool': 'p', 'edgelb.io/assigned-shard': '2' }), r: kept, shard: 2, want: {} },
  { desc: 'only the shard changed', svc: svc({ 'edgelb.io/assigned-ips': '10.0.0.1', 'edgelb.io/assigned-pool': 'p', 'edgelb.io/assigned-shard': '1' }), r: kept, shard: 2, want: { 'edgelb.io/assigned-shard': '2' } },
  { desc: 'failure removes recorded keys', svc: svc({ 'edgelb.io/assigned-ips': '10.0.0.1', 'edgelb.io/assigned-pool': 'p' }), r: full, want: { 'edgelb.io/assigned-ips': null, 'edgelb.io/assigned-pool': null } },
  { desc: 'failure on a clean Service writes nothing', svc: svc(), r: full, want: {} },
  { desc: 'user annotations are left alone', svc: svc({ 'edgelb.io/lbmode': 'dsr' }), r: ok, shard: 0, want: { 'edgelb.io/assigned-ips': '10.0.0.1', 'edgelb.io/assigned-pool': 'p', 'edgelb.io/assigned-shard': '0' } },
];
for (const r of annRows) test(`k8s status: annotations — ${r.desc}`, () => assert.deepEqual(allocationAnnotations(r.svc, r.r, r.shard), r.want));

test('k8s status: withAnnotations applies a diff to a copy', () => {
  const s = svc({ a: '1', 'edgelb.io/assigned-pool': 'x' });
  const out = withAnnotations(s, { 'edgelb.io/assigned-pool': null, b: '2' });
  assert.deepEqual(out.metadata.annotations, { a: '1', b: '2' });
  assert.deepEqual(s.metadata.annotations, { a: '1', 'edgelb.io/assigned-pool': 'x' }, 'the input is not changed');
  assert.equal(withAnnotations(s, {}), s);
});

const statusRows: Array<{ desc: string; svc: ServiceObj; r?: AssignResult; plan?: ServicePlan; want: object | undefined }> = [
  { desc: 'new address: ingress and a True condition', svc: svc(), r: ok, plan, want: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] }, conditions: [{ type: COND, status: 'True', reason: 'Served', message: plan.message, lastTransitionTime: 'NOW' }] } },
  { desc: 'already shown: nothing', svc: svc({}, { loadBalancer: { ingress: [{ ip: '10.0.0.1', ipMode: 'VIP' }] }, conditions: [{ type: COND, status: 'True', reason: 'Served', message: plan.message, lastTransitionTime: '2026-01-01T00:00:00Z' }] }), r: kept, plan, want: undefined },
  { desc: 'message change keeps lastTransitionTime', svc: svc({}, { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] }, conditions: [{ type: COND, status: 'True', reason: 'Served', message: 'old', lastTransitionTime: '2026-01-01T00:00:00Z' }] }), r: kept, plan, want: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] }, conditions: [{ type: COND, status: 'True', reason: 'Served', message: plan.message, lastTransitionTime: '2026-01-01T00:00:00Z' }] } },
  { desc: 'pool full: no ingress, False PoolFull', svc: svc(), r: full, want: { loadBalancer: { ingress: [] }, conditions: [{ type: COND, status: 'False', reason: 'PoolFull', message: full.ok ? '' : full.message, lastTransitionTime: 'NOW' }] } },
  { desc: 'served but no endpoint: False NoReadyEndpoint with the address', svc: svc(), r: ok, plan: { ...plan, served: false, reason: 'NoReadyEndpoint', message: 'm' }, want: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] }, conditions: [{ type: COND, status: 'False', reason: 'NoReadyEndpoint', message: 'm', lastTransitionTime: 'NOW' }] } },
  { desc: 'other conditions are not ours to compare', svc: svc({}, { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] }, conditions: [{ type: 'other.io/X', status: 'True' }, { type: COND, status: 'True', reason: 'Served', message: plan.message }] }), r: kept, plan, want: undefined },
];
for (const r of statusRows) test(`k8s status: Service status — ${r.desc}`, () => assert.deepEqual(serviceStatusPatch(r.svc, desiredServiceStatus(r.r, r.plan), 'NOW'), r.want));

const eventRows: Array<{ desc: string; prev?: { reason: string; ips: string }; r?: AssignResult; plan?: ServicePlan; want: [string, string] | undefined }> = [
  { desc: 'first allocation: Normal IPAllocated', r: ok, plan, want: ['Normal', 'IPAllocated'] },
  { desc: 'same outcome again: nothing', prev: { reason: 'Served', ips: '10.0.0.1' }, r: kept, plan, want: undefined },
  { desc: 'pool full first time: Warning PoolFull', r: full, want: ['Warning', 'PoolFull'] },
  { desc: 'pool full again: nothing (no error loop)', prev: { reason: 'PoolFull', ips: '' }, r: full, want: undefined },
  { desc: 'endpoints gone: Warning NoReadyEndpoint', prev: { reason: 'Served', ips: '10.0.0.1' }, r: kept, plan: { ...plan, served: false, reason: 'NoReadyEndpoint', message: 'm' }, want: ['Warning', 'NoReadyEndpoint'] },
  { desc: 'endpoints back: Normal Served', prev: { reason: 'NoReadyEndpoint', ips: '10.0.0.1' }, r: kept, plan, want: ['Normal', 'Served'] },
];
for (const r of eventRows) {
  test(`k8s status: Event — ${r.desc}`, () => {
    const e = serviceEvent(r.prev, desiredServiceStatus(r.r, r.plan), r.r);
    assert.deepEqual(e ? [e.type, e.reason] : undefined, r.want);
  });
}

test('k8s status: the IPAllocated Event names the pool and where the VIP lives', () => {
  const e = serviceEvent(undefined, desiredServiceStatus(ok, plan), ok)!;
  assert.match(e.message, /^10\.0\.0\.1 from IPPool p\. 10\.0\.0\.1 from pool p, shard 0, announced by n1/);
  const obj = eventObject(svc(), e, 'edge-1', '2026-01-01T00:00:00Z') as { involvedObject: Record<string, string>; metadata: { namespace: string }; reportingInstance: string };
  assert.deepEqual(obj.involvedObject, { kind: 'Service', apiVersion: 'v1', namespace: 'prod', name: 'web', uid: 'u1', resourceVersion: '7' });
  assert.equal(obj.metadata.namespace, 'prod');
  assert.equal(obj.reportingInstance, 'edge-1');
});

test('k8s status: BGPPeer node entries and summary', () => {
  const e1 = peerNodeEntry('n1', { address: '192.0.2.1', state: 'Established', uptimeSec: 12.7, prefixesSent: 3 }, '2026-01-01T00:00:00Z');
  assert.deepEqual(e1, { node: 'n1', state: 'Established', uptimeSeconds: 12, prefixesSent: 3, updated: '2026-01-01T00:00:00Z' });
  const e2 = peerNodeEntry('n2', undefined, '2026-01-01T00:00:00Z');
  assert.equal(e2.state, 'Idle');
  const e3 = peerNodeEntry('n3', { address: 'x', state: 'Active', uptimeSec: 0, prefixesSent: 0, lastError: 'connect: ECONNREFUSED' }, 'T');
  assert.equal(e3.lastError, 'connect: ECONNREFUSED');
  assert.deepEqual(peerSummary([e2, e1, e3]), { summary: 'n1=Established n2=Idle n3=Active', established: '1/3' });
  assert.deepEqual(peerSummary([]), { summary: '', established: '0/0' });
  assert.equal(peerEntryChanged(undefined, e1), true);
  assert.equal(peerEntryChanged(e1, { ...e1, uptimeSeconds: 20, updated: '2026-01-01T00:00:10Z' }), false, 'uptime alone is refreshed only every minute');
  assert.equal(peerEntryChanged(e1, { ...e1, uptimeSeconds: 80, updated: '2026-01-01T00:01:10Z' }), true);
  assert.equal(peerEntryChanged(e1, { ...e1, state: 'Idle' }), true);
  assert.equal(peerEntryChanged(e1, { ...e1, prefixesSent: 4 }), true);
});

// ---- leader election over an in-memory Lease store (409 on a stale resourceVersion) ----
class LeaseStore {
  lease: V1Lease | undefined;
  rv = 0;
  down = false;
  async readLease(): Promise<V1Lease | undefined> {
    if (this.down) throw Object.assign(new Error('unreachable'), { code: 0 });
    return this.lease ? structuredClone(this.lease) : undefined;
  }
  async createLease(_ns: string, body: V1Lease): Promise<V1Lease> {
    if (this.down) throw new Error('unreachable');
    if (this.lease) throw Object.assign(new Error('exists'), { code: 409 });
    this.lease = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++this.rv) } };
    return this.lease;
  }
  async replaceLease(_ns: string, _n: string, body: V1Lease): Promise<V1Lease> {
    if (this.down) throw new Error('unreachable');
    if (body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
    this.lease = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++this.rv) } };
    return this.lease;
  }
}

test('k8s leader: microTime has six fractional digits', () => {
  assert.equal(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), '2026-01-02T03:04:05.678000Z');
});

test('k8s leader: one leader; the other takes over after the lease expires, or at once when released', async () => {
  const store = new LeaseStore();
  let now = 1_000_000;
  const log = createLogger({ level: 'silent' });
  const mk = (identity: string) => new LeaderElector({ writer: store, namespace: 'ns', name: 'l', identity, leaseDurationSec: 3, retryMs: 5, log, now: () => now });
  const a = mk('a');
  const b = mk('b');
  const changes: string[] = [];
  a.on('change', (v) => changes.push(`a:${v}`));
  b.on('change', (v) => changes.push(`b:${v}`));
  const until = async (f: () => boolean) => {
    for (let i = 0; i < 400 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(f(), `until failed: ${f.toString()} lease=${JSON.stringify(store.lease)} now=${now} bObserved=${JSON.stringify((b as unknown as { observed: unknown }).observed)} rv=${store.rv}`);
  };
  const a2 = mk('a');
  try {
  a.start();
  await until(() => a.isLeader);
  b.start();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(b.isLeader, false, 'b must not take a renewed lease');
  // a's API access breaks: it stops renewing; b waits a full lease duration on its own clock
  store.down = true;
  now += 1000;
  await new Promise((r) => setTimeout(r, 30));
  a.removeAllListeners();
  await a.stop(); // a dies while the API is unreachable: it cannot release the lease
  store.down = false;
  await new Promise((r) => setTimeout(r, 30)); // b sees the lease again (its clock starts at its first sight)
  now += 1500;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(b.isLeader, false, 'the lease has not been seen unchanged for 3 s yet');
  now += 2000;
  await until(() => b.isLeader);
  assert.equal(store.lease?.spec?.holderIdentity, 'b');
  assert.equal(store.lease?.spec?.leaseTransitions, 1);
  // b releases on stop; a new a takes over at once
  await b.stop();
  assert.equal(store.lease?.spec?.holderIdentity, '');
  a2.start();
  await until(() => a2.isLeader);
  await a2.stop();
  assert.deepEqual(changes.slice(0, 1), ['a:true']);
  assert.ok(changes.includes('b:true') && changes.includes('b:false'));
  } finally {
    await Promise.all([a.stop(), b.stop(), a2.stop()]);
  }
});
