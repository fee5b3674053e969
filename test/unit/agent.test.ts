// Node agent table tests over engine fakes: for a sequence of desired states and events, the
// exact calls made on each engine (and none where nothing changed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, type ApplyPartialError } from '../../src/agent/agent.js';
import { Registry } from 'prom-client';
import { waitFor } from '../../src/lib/backoff.js';
import { MED_BACKUP, MED_MASTER, masterMed } from '../../src/agent/plan.js';
import type { Engines, HealthTarget, ShardView } from '../../src/agent/ports.js';
import type { Advertisement, DataplaneService } from '../../src/model/engine-inputs.js';
import type { DesiredState, ServiceSpec } from '../../src/model/desired-state.js';
import { silentLogger } from '../../src/lib/logger.js';

type Call = [engine: string, method: string, arg?: unknown];

class Fakes {
  calls: Call[] = [];
  masters = new Set<number>([0, 1, 2]);
  epochs = new Map<number, number>();
  unhealthy = new Set<string>(); // "svc|ep"
  dp = { ok: true as boolean, reason: undefined as string | undefined };
  engines(): Engines {
    return {
      bgp: {
        setPeers: (peers) => this.calls.push(['bgp', 'setPeers', peers.map((p) => p.address)]),
        setAdvertisements: (ads: Advertisement[]) => this.calls.push(['bgp', 'setAdvertisements', ads.map((a) => (a.med !== undefined ? `${a.prefix} med ${a.med}` : a.prefix))]),
        setInitialReconcileDone: () => this.calls.push(['bgp', 'setInitialReconcileDone']),
      },
      l2: { setOwned: (v) => this.calls.push(['l2', 'setOwned', v]) },
      dataplane: {
        setServices: async (list: DataplaneService[]) => {
          this.calls.push(['dataplane', 'setServices', list.map((s) => `${s.name} ${s.mode} -> ${s.backends.map((b) => `${b.address}:${b.port}`).join(',')}`)]);
        },
        health: () => (this.dp.ok ? { ok: true } : { ok: false, reason: this.dp.reason ?? 'detached' }),
      },
      health: {
        setTargets: (t: HealthTarget[]) => this.calls.push(['health', 'setTargets', t.map((x) => `${x.service}:${x.endpoints.join(',')}`)]),
        isHealthy: (s, e) => !this.unhealthy.has(`${s}|${e}`),
      },
      shards: {
        isMaster: (s) => this.masters.has(s),
        masterOf: (s) => (this.masters.has(s) ? 'edge-1' : 'edge-2'),
        view: (): ShardView[] => [0, 1, 2].map((shard) => ({ shard, state: this.masters.has(shard) ? 'MASTER' : 'BACKUP', master: this.masters.has(shard) ? 'edge-1' : 'edge-2', epoch: this.epochs.get(shard) ?? 1 })),
      },
    };
  }
  take(): Call[] {
    const c = this.calls;
    this.calls = [];
    return c;
  }
}

function svc(name: string, vip: string, over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name,
    vips: [vip],
    pool: 'bgp-pool',
    shard: 0,
    mode: 'onearm',
    ports: [{ port: 80, protocol: 'tcp', targetPort: 8080 }],
    endpoints: [
      { address: '10.0.1.2', ready: true },
      { address: '10.0.1.3', ready: true },
    ],
    probe: { type: 'http', port: 8080, path: '/healthz', intervalMs: 1000, timeoutMs: 500, retries: 2 },
    epSelect: 'maglev',
    timeoutSec: 300,
    withdrawWhenUnhealthy: true,
    localOnly: false,
    ...over,
  };
}

function state(services: ServiceSpec[], over: Partial<DesiredState> = {}): DesiredState {
  return {
    node: { name: 'edge-1', routerId: '10.0.0.11', interface: 'eth0' },
    api: { listen: '127.0.0.1:11111' },
    cluster: { listen: '10.0.0.11:11112', members: ['10.0.0.11', '10.0.0.12'], shards: 3, heartbeatIntervalMs: 30, deadAfterMs: 150, holdDownMs: 5000 },
    bgp: {
      asn: 64513,
      routerId: '10.0.0.11',
      listenPort: 179,
      communities: [],
      largeCommunities: [],
      peers: [{ address: '10.0.0.1', asn: 64512, port: 179, holdTime: 9, passive: false, connectRetry: 5, idleHold: 1, gracefulRestart: true, restartTime: 30, families: ['ipv4'], exportPolicies: [], maxPrefixes: 1000 }],
    },
    pools: [
      { name: 'bgp-pool', cidrs: ['192.168.80.240/28'], ranges: [], announce: 'bgp', bgpMode: 'ecmp', avoidBuggyIPs: true, autoAssign: true },
      { name: 'ab-pool', cidrs: ['192.168.81.0/28'], ranges: [], announce: 'bgp', bgpMode: 'activeBackup', avoidBuggyIPs: true, autoAssign: true },
      { name: 'l2-pool', cidrs: ['192.168.82.0/28'], ranges: [], announce: 'l2', bgpMode: 'ecmp', avoidBuggyIPs: true, autoAssign: true },
    ],
    services,
    policies: [],
    dataplane: { attachMode: 'auto', maglevSize: 65537, conntrackSize: 65536, enabled: true },
    l2: { garpCount: 3, garpIntervalMs: 200, refreshIntervalMs: 10000 },
    ...over,
  };
}

function newAgent(f: Fakes): Agent {
  return new Agent({ nodeName: 'edge-1', engines: f.engines(), logger: silentLogger(), dataplaneHealthIntervalMs: 0 });
}

const WEB = 'web/192.168.80.241:80/tcp onearm -> 10.0.1.2:8080,10.0.1.3:8080';

test('first apply programs every engine once, then End-of-RIB', async () => {
  const f = new Fakes();
  const a = newAgent(f);
  await a.apply(state([svc('web', '192.168.80.241')]));
  assert.deepEqual(f.take(), [
    ['health', 'setTargets', ['web:10.0.1.2,10.0.1.3']],
    ['dataplane', 'setServices', [WEB]],
    ['bgp', 'setPeers', ['10.0.0.1']],
    ['bgp', 'setAdvertisements', ['192.168.80.241/32']],
    ['bgp', 'setInitialReconcileDone'],
    ['l2', 'setOwned', []],
  ]);
});

test('a reload that adds one service touches only what changed (no peer reset, no L2 change)', async () => {
  const f = new Fakes();
  const a = newAgent(f);
  await a.apply(state([svc('web', '192.168.80.241')]));
  f.take();
  await a.apply(state([svc('web', '192.168.80.241'), svc('api', '192.168.80.242', { probe: { type: 'none', intervalMs: 1000, timeoutMs: 500, retries: 1 } })]));
  assert.deepEqual(f.take(), [
    ['dataplane', 'setServices', [WEB, 'api/192.168.80.242:80/tcp onearm -> 10.0.1.2:8080,10.0.1.3:8080']],
    ['bgp', 'setAdvertisements', ['192.168.80.241/32', '192.168.80.242/32']],
  ]);
  // the same state again: no call at all
  await a.apply(state([svc('web', '192.168.80.241'), svc('api', '192.168.80.242', { probe: { type: 'none', intervalMs: 1000, timeoutMs: 500, retries: 1 } })]));
  assert.deepEqual(f.take(), []);
});

test('endpoint unhealthy: removed from the data path; all unhealthy: VIP withdrawn; healthy again: back', async () => {
  const f = new Fakes();
  const a = newAgent(f);
  await a.apply(state([svc('web', '192.168.80.241')]));
  f.take();
  f.unhealthy.add('web|10.0.1.2');
  await a.notify('health');
  assert.deepEqual(f.take(), [['dataplane', 'setServices', ['web/192.168.80.241:80/tcp onearm -> 10.0.1.3:8080']]]);
  f.unhealthy.add('web|10.0.1.3');
  await a.notify('health');
  assert.deepEqual(f.take(), [
    ['dataplane', 'setServices', ['web/192.168.80.241:80/tcp onearm -> ']],
    ['bgp', 'setAdvertisements', []],
  ]);
  assert.equal(a.vips()[0]!.bgp.reason, 'no-healthy-endpoint');
  f.unhealthy.clear();
  await a.notify('health');
  assert.deepEqual(f.take(), [
    ['dataplane', 'setServices', [WEB]],
    ['bgp', 'setAdvertisements', ['192.168.80.241/32']],
  ]);
});

test('withdrawWhenUnhealthy false keeps the VIP announced with no healthy endpoint', async () => {
  const f = new Fakes();
  const a = newAgent(f);
  f.unhealthy.add('web|10.0.1.2').add('web|10.0.1.3');
  await a.apply(state([svc('web', '192.168.80.241', { withdrawWhenUnhealthy: false })]));
  assert.equal(a.vips()[0]!.bgp.announced, true);
});

test('data path unhealthy withdraws every VIP and says why; healthy again re-announces', async () => {
  const f = new Fakes();
  const a = newAgent(f);
  await a.apply(state([svc('web', '192.168.80.241'), svc('l2web', '192.168.82.1', { pool: 'l2-pool' })]));
  f.take();
  f.dp = { ok: false, reason: 'XDP program detached from eth0' };
  await a.notify('dataplane');
  assert.deepEqual(f.take(), [
    ['bgp', 'setAdvertisements', []],
    ['l2', 'setOwned', []],
  ]);
  const v = a.vips().find((x) => x.vip === '192.168.80.241')!;
  assert.deepEqual(v.bgp, { announced: false, reason: 'dataplane-unhealthy', detail: 'XDP program detached from eth0' });
  assert.deepEqual(a.readiness(), { ready: false, reasons: ['data path: XDP program detached from eth0'] });
  f.dp = { ok: true, reason: undefined };
  await a.notify('dataplane');
  assert.deepEqual(f.take(), [
    ['bgp', 'setAdvertisements', ['192.168.80.241/32']],
    ['l2', 'setOwned', ['192.168.82.1']],
  ]);
});

test('L2: only the shard master owns the VIP; losing mastership gives it up', async () => {
  const f = new Fakes();
  const a = newAgent(f);
  await a.apply(state([svc('a', '192.168.82.1', { pool: 'l2-pool', shard: 0 }), svc('b', '192.168.82.2', { pool: 'l2-pool', shard: 1 })]));
  assert.deepEqual(f.take().filter((c) => c[0] === 'l2'), [['l2', 'setOwned', ['192.168.82.1', '192.168.82.2']]]);
  f.masters.delete(1); // member lost/shard moved away
  await a.notify('shards');
  assert.deepEqual(f.take(), [['l2', 'setOwned', ['192.168.82.1']]]);
  const b = a.vips().find((v) => v.vip === '192.168.82.2')!;
  assert.equal(b.l2.reason, 'not-shard-master');
  assert.equal(b.master, 'edge-2');
});

test('activeBackup: master advertises the low MED, a standby the high MED', async () => {
  const f = new Fakes();
  const a = newAgent(f);
  f.masters = new Set([0]);
  await a.apply(state([svc('m', '192.168.81.1', { pool: 'ab-pool', shard: 0 }), svc('s', '192.168.81.2', { pool: 'ab-pool', shard: 1 })]));
  const ads = f.take().find((c) => c[1] === 'setAdvertisements');
  assert.deepEqual(ads, ['bgp', 'setAdvertisements', [`192.168.81.1/32 med ${MED_MASTER - 1}`, `192.168.81.2/32 med ${MED_BACKUP}`]]);
  f.masters = new Set([0, 1]); // took over shard 1, with a higher epoch: a lower MED than its old master's
  f.epochs.set(1, 2);
  await a.notify('shards');
  assert.deepEqual(f.take(), [['bgp', 'setAdvertisements', [`192.168.81.1/32 med ${MED_MASTER - 1}`, `192.168.81.2/32 med ${MED_MASTER - 2}`]]]);
  assert.ok(masterMed(2) < masterMed(1) && masterMed(1e9) >= 1 && masterMed(0) < MED_BACKUP);
});

test('drain withdraws everything and keeps it withdrawn across reloads; undrain restores', async () => {
  const f = new Fakes();
  const a = newAgent(f);
  const s = state([svc('web', '192.168.80.241'), svc('l2web', '192.168.82.1', { pool: 'l2-pool' })]);
  await a.apply(s);
  f.take();
  await a.drain();
  assert.deepEqual(f.take(), [
    ['bgp', 'setAdvertisements', []],
    ['l2', 'setOwned', []],
  ]);
  await a.apply(state([svc('web', '192.168.80.241'), svc('l2web', '192.168.82.1', { pool: 'l2-pool' }), svc('x', '192.168.80.243')]));
  assert.deepEqual(f.take().filter((c) => c[0] !== 'dataplane' && c[0] !== 'health'), []);
  assert.ok(a.vips().every((v) => v.bgp.reason === 'drained' || v.l2.reason === 'drained'));
  await a.undrain();
  assert.deepEqual(f.take(), [
    ['bgp', 'setAdvertisements', ['192.168.80.241/32', '192.168.80.243/32']],
    ['l2', 'setOwned', ['192.168.82.1']],
  ]);
});

test('externalTrafficPolicy Local: announce only with a ready local endpoint', async () => {
  const f = new Fakes();
  const a = newAgent(f);
  const remote = svc('loc', '192.168.80.244', { localOnly: true, endpoints: [{ address: '10.0.1.2', ready: true, nodeName: 'edge-2' }] });
  await a.apply(state([remote]));
  assert.equal(a.vips()[0]!.bgp.reason, 'no-local-endpoint');
  f.take();
  await a.apply(state([{ ...remote, endpoints: [...remote.endpoints, { address: '10.0.1.9', ready: true, nodeName: 'edge-1' }] }]));
  assert.deepEqual(f.take().find((c) => c[1] === 'setAdvertisements'), ['bgp', 'setAdvertisements', ['192.168.80.244/32']]);
});

test('a shared VIP stays announced while any of its services may be', async () => {
  const f = new Fakes();
  const a = newAgent(f);
  f.unhealthy.add('a|10.0.1.2').add('a|10.0.1.3');
  await a.apply(state([svc('a', '192.168.80.245'), svc('b', '192.168.80.245', { ports: [{ port: 443, protocol: 'tcp', targetPort: 8443 }] })]));
  const v = a.vips();
  assert.equal(v.length, 1);
  assert.deepEqual(v[0]!.services, ['a', 'b']);
  assert.equal(v[0]!.bgp.announced, true);
});

test('IPv6 VIPs advertise a /128 and take only IPv6 backends', async () => {
  const f = new Fakes();
  const a = newAgent(f);
  await a.apply(state([svc('v6', '2001:db8::10', { endpoints: [{ address: '10.0.1.2', ready: true }, { address: 'fd00::2', ready: true }], probe: { type: 'none', intervalMs: 1000, timeoutMs: 500, retries: 1 } })]));
  const calls = f.take();
  assert.deepEqual(calls.find((c) => c[1] === 'setAdvertisements'), ['bgp', 'setAdvertisements', ['2001:db8::10/128']]);
  assert.deepEqual(calls.find((c) => c[1] === 'setServices'), ['dataplane', 'setServices', ['v6/2001:db8::10:80/tcp onearm -> fd00::2:8080']]);
});

test('a failing engine call makes apply reject naming the engine; nothing new is announced until the data path takes it; retried with a back-off', async () => {
  const f = new Fakes();
  const engines = f.engines();
  let fail = true;
  const orig = engines.dataplane!.setServices;
  engines.dataplane!.setServices = async (l) => {
    if (fail) throw new Error('map update failed: ENOSPC');
    return orig(l);
  };
  const registry = new Registry();
  const a = new Agent({ nodeName: 'edge-1', engines, logger: silentLogger(), registry, dataplaneHealthIntervalMs: 0 });
  const errors: unknown[] = [];
  a.on('error-reconcile', (e) => errors.push(e));
  // the old agent resolved here, so the daemon logged "config applied" and set the success gauge
  await assert.rejects(a.apply(state([svc('web', '192.168.80.241')])), (e: ApplyPartialError) => {
    assert.equal(e.code, 'EDGELB_ERR_APPLY_PARTIAL');
    assert.deepEqual(e.lagging.map((l) => l.engine), ['dataplane', 'bgp']); // its pool announces by BGP only
    assert.match(e.message, /dataplane \(map update failed: ENOSPC\)/);
    return true;
  });
  assert.equal(errors.length, 1);
  const calls = f.take();
  assert.deepEqual(calls.find((c) => c[1] === 'setAdvertisements'), ['bgp', 'setAdvertisements', []], 'a VIP the data path does not serve is not announced');
  assert.deepEqual(calls.find((c) => c[1] === 'setPeers'), ['bgp', 'setPeers', ['10.0.0.1']], 'engines that do not depend on it go on');
  assert.equal(calls.find((c) => c[1] === 'setInitialReconcileDone'), undefined, 'no End-of-RIB before the first full reconcile');
  const gauge = async (engine: string) => (await registry.getSingleMetric('edgelb_agent_engine_in_sync')!.get()).values.find((v) => v.labels.engine === engine)?.value;
  assert.equal(await gauge('dataplane'), 0);
  assert.equal(await gauge('bgp-peers'), 1);
  // the engine recovers: the agent retries by itself (1 s back-off), without any new change
  fail = false;
  await waitFor(() => f.calls.some((c) => c[1] === 'setInitialReconcileDone'), { timeoutMs: 5000, intervalMs: 20, what: 'retried' });
  const later = f.take();
  assert.deepEqual(later.find((c) => c[0] === 'dataplane'), ['dataplane', 'setServices', [WEB]]);
  assert.deepEqual(later.find((c) => c[1] === 'setAdvertisements'), ['bgp', 'setAdvertisements', ['192.168.80.241/32']]);
  assert.equal(await gauge('dataplane'), 1);
  await a.apply(state([svc('web', '192.168.80.241')])); // resolves once every engine runs it
  a.stop();
});

test('while the data path lags, withdrawals still go out (drain works), new VIPs wait', async () => {
  const f = new Fakes();
  const engines = f.engines();
  const a = new Agent({ nodeName: 'edge-1', engines, logger: silentLogger(), dataplaneHealthIntervalMs: 0 });
  await a.apply(state([svc('web', '192.168.80.241')]));
  f.take();
  engines.dataplane!.setServices = async () => {
    throw new Error('map update failed');
  };
  await assert.rejects(a.apply(state([svc('web', '192.168.80.241'), svc('api', '192.168.80.242')])), { code: 'EDGELB_ERR_APPLY_PARTIAL' });
  assert.equal(f.take().find((c) => c[1] === 'setAdvertisements'), undefined, 'the new VIP waits, the old one is unchanged');
  await assert.rejects(a.drain(), { code: 'EDGELB_ERR_APPLY_PARTIAL' }); // the data path still lags: said
  assert.deepEqual(f.take().find((c) => c[1] === 'setAdvertisements'), ['bgp', 'setAdvertisements', []], 'drained: withdrawn anyway');
  a.stop();
});

test('views: services with endpoint health, ha per shard', async () => {
  const f = new Fakes();
  const a = newAgent(f);
  f.unhealthy.add('web|10.0.1.3');
  await a.apply(state([svc('web', '192.168.80.241')]));
  const s = a.services()[0]!;
  assert.deepEqual(s.endpoints, [
    { address: '10.0.1.2', ready: true, healthy: true },
    { address: '10.0.1.3', ready: true, healthy: false },
  ]);
  assert.equal(s.healthyEndpoints, 1);
  assert.equal(a.ha().shards.length, 3);
  assert.deepEqual(a.readiness(), { ready: true, reasons: [] });
});

test('a node excluded from load balancers (Kubernetes) announces nothing and says why', async () => {
  const f = new Fakes();
  const a = newAgent(f);
  const s = state([svc('web', '192.168.80.241'), svc('l2web', '192.168.82.1', { pool: 'l2-pool' })]);
  await a.apply({ ...s, node: { ...s.node, noAnnounceReason: 'node.kubernetes.io/exclude-from-external-load-balancers' } });
  const calls = f.take();
  assert.deepEqual(calls.find((c) => c[1] === 'setAdvertisements'), ['bgp', 'setAdvertisements', []]);
  assert.deepEqual(calls.find((c) => c[1] === 'setOwned'), ['l2', 'setOwned', []]);
  assert.deepEqual(a.vips()[0]!.bgp, { announced: false, reason: 'node-excluded', detail: 'node.kubernetes.io/exclude-from-external-load-balancers' });
});

test('the VIP view reads the current master even when nothing this node announces changed', async () => {
  const f = new Fakes();
  const a = newAgent(f);
  f.masters = new Set([0]);
  await a.apply(state([svc('s', '192.168.82.2', { pool: 'l2-pool', shard: 1 })]));
  assert.equal(a.vips()[0]!.master, 'edge-2');
  const engines = f.engines();
  const b = new Agent({ nodeName: 'edge-1', engines: { ...engines, shards: { ...engines.shards!, masterOf: () => 'edge-3' } }, logger: silentLogger(), dataplaneHealthIntervalMs: 0 });
  await b.apply(state([svc('s', '192.168.82.2', { pool: 'l2-pool', shard: 1 })]));
  assert.equal(b.vips()[0]!.master, 'edge-3');
});

test('carried(): what the engines hold, and the VIPs withheld with their reason (not those another node masters)', async () => {
  const f = new Fakes();
  f.masters = new Set([0]);
  const a = newAgent(f);
  assert.deepEqual(a.carried(), { ads: [], owned: [], withheld: [] });
  await a.apply(state([
    svc('web', '192.168.80.241'),
    svc('l2a', '192.168.82.1', { pool: 'l2-pool', shard: 0 }),
    svc('l2b', '192.168.82.2', { pool: 'l2-pool', shard: 1 }), // another node masters shard 1: not withheld
    svc('sick', '192.168.80.242'),
  ]));
  f.unhealthy.add('sick|10.0.1.2').add('sick|10.0.1.3');
  await a.notify('health');
  assert.deepEqual(a.carried(), { ads: ['192.168.80.241/32'], owned: ['192.168.82.1'], withheld: [{ vip: '192.168.80.242', reason: 'no-healthy-endpoint' }] });
  await a.drain();
  const d = a.carried();
  assert.deepEqual([d.ads, d.owned], [[], []]);
  assert.deepEqual(d.withheld.map((w) => w.reason), ['drained', 'drained', 'drained', 'drained']);
});
