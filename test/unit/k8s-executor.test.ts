// The leader's executor (controller.ts) with a fake writer: a burst of new Services is written
// before their Events, which never take more than an eighth of the write slots; the echo of the
// executor's own write is recognised (a controller does not re-plan for it), anything else is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { LeaderController } from '../../src/k8s/controller.js';
import { K8sMetrics } from '../../src/k8s/metrics.js';
import { createLogger } from '../../src/lib/logger.js';
import type { ClusterView } from '../../src/k8s/translate.js';
import type { DesiredState } from '../../src/model/desired-state.js';
import type { IPPoolObj, ServiceObj } from '../../src/k8s/types.js';

const settings: DesiredState = {
  node: { name: 'n1', routerId: '', interface: 'eth0' },
  api: { listen: '127.0.0.1:11111' },
  bgp: { asn: 64513, routerId: '', listenPort: 179, peers: [], communities: [], largeCommunities: [] },
  pools: [], services: [], policies: [],
  dataplane: { attachMode: 'auto', maglevSize: 65537, conntrackSize: 65536, enabled: true },
  l2: { garpCount: 3, garpIntervalMs: 100, refreshIntervalMs: 0 },
};
const svc = (i: number): ServiceObj => ({
  metadata: { name: `s${i}`, namespace: 'default', uid: `u${i}`, resourceVersion: '5', creationTimestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() },
  spec: { type: 'LoadBalancer', loadBalancerClass: 'edgelb.io/edgelb', ports: [{ port: 80, protocol: 'TCP' }] },
});
const pool: IPPoolObj = { metadata: { name: 'p', uid: 'p' }, spec: { cidrs: ['198.51.100.0/24'] } } as IPPoolObj;
const view = (services: ServiceObj[]): ClusterView => ({ services, slices: [], nodes: [], pools: [pool], peers: [], policies: [], loxiPeers: [], secrets: [], members: [{ nodeName: 'n1', ip: '192.0.2.1', ready: true }] });
const tick = () => new Promise((r) => setTimeout(r, 1));

function harness(concurrency: number) {
  const log: string[] = [];
  let inFlight = { service: 0, low: 0 };
  let maxLowWhileServicesWait = 0;
  let rv = 100;
  const ctl: LeaderController = new LeaderController({
    log: createLogger({ level: 'silent' }),
    identity: 'test',
    metrics: new K8sMetrics(new Registry()),
    namespaceLabels: () => undefined,
    concurrency,
    writer: {
      patchServiceStatus: async (_ns, name) => {
        inFlight.service++;
        await tick();
        inFlight.service--;
        log.push(`service ${name}`);
        return String(++rv);
      },
      createEvent: async () => {
        inFlight.low++;
        maxLowWhileServicesWait = Math.max(maxLowWhileServicesWait, inFlight.low);
        await tick();
        inFlight.low--;
        log.push('event');
      },
      applyClusterStatus: async (plural) => {
        inFlight.low++;
        await tick();
        inFlight.low--;
        log.push(`status ${plural}`);
        return String(++rv);
      },
    },
  });
  return { ctl, log, maxLow: () => maxLowWhileServicesWait, reset: () => (inFlight = { service: 0, low: 0 }) };
}

test('k8s executor: a burst of new Services is written first; Events and object status take at most an eighth of the slots', async () => {
  const h = harness(16); // 2 slots for Events and object status
  const services = Array.from({ length: 60 }, (_, i) => svc(i));
  h.ctl.reconcile(view(services), { nodeName: '', settings });
  await h.ctl.idle();
  const writes = h.log.filter((l) => l.startsWith('service')).length;
  assert.equal(writes, 60, 'every Service written once');
  assert.equal(h.log.filter((l) => l === 'event').length, 60, 'one IPAllocated Event each');
  assert.ok(h.log.includes('status ippools'), 'IPPool usage written');
  assert.ok(h.maxLow() <= 2, `at most 2 low-priority writes in flight, saw ${h.maxLow()}`);
  // the Service writes come before the Events they caused: the last Service write precedes the last Event
  assert.ok(h.log.lastIndexOf('service s59') < h.log.lastIndexOf('event'));
});

test('k8s executor: the echo of its own write is recognised, another change to the Service is not', async () => {
  const h = harness(4);
  h.ctl.reconcile(view([svc(1)]), { nodeName: '', settings });
  await h.ctl.idle();
  const mine = { ...svc(1), metadata: { ...svc(1).metadata, resourceVersion: '101' } };
  assert.equal(h.ctl.isOwnEcho(mine), true, 'the resourceVersion its write returned');
  assert.equal(h.ctl.isOwnEcho({ ...mine, metadata: { ...mine.metadata, resourceVersion: '102' } }), false, 'a later change by someone else');
  assert.equal(h.ctl.isOwnEcho(svc(2)), false, 'a Service it never wrote');
  h.ctl.reset();
  assert.equal(h.ctl.isOwnEcho(mine), false, 'forgotten after a leadership change');
});
