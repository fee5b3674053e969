// The REST API through app.inject(): every route, readiness 503 with reasons, Prometheus text,
// the bearer token, error bodies with stable codes, and the views computed from a desired state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createApiServer, listenApi, desiredStateViews, type ApiViews, type BfdRow, type NeighborRow, type ServiceRow, type VipRow } from '../../src/api/index.js';
import { EdgelbError } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/logger.js';
import { parseConfig } from '../../src/config/index.js';

const STATE = parseConfig(
  `
node: { name: edge-1, routerId: 10.0.0.11, interface: eth0 }
cluster: { listen: 10.0.0.11:11112, members: [10.0.0.11], shards: 2 }
bgp: { asn: 64513, peers: [{ address: 10.0.0.1, asn: 64512, passwordFile: /pw, bfd: { auth: { type: keyed-sha1, keyId: 3, keyFile: /bfd } } }] }
pools: [{ name: default, cidrs: [192.168.80.240/28], bgpMode: activeBackup }]
services:
  - { name: web, vip: 192.168.80.241, shard: 1, ports: [{ port: 80, targetPort: 8080 }], endpoints: [10.0.1.2, 10.0.1.3] }
  - { name: dns, vip: 192.168.80.241, shard: 1, mode: dsr, ports: [{ port: 53, protocol: udp }], endpoints: [10.0.1.4] }
`,
  { readSecret: (p: string) => (p === '/bfd' ? 'bfd-secret' : 'hunter2-secret') },
).state;

const SERVICE: ServiceRow = { name: 'a', vips: ['192.0.2.1'], pool: 'p', shard: 0, mode: 'onearm', ports: [], endpoints: [] };
const VIP: VipRow = {
  vip: '192.0.2.1', services: ['a'], pool: 'p', shard: 0, master: null, interface: 'eth0', announce: 'bgp', bgpMode: 'ecmp',
  bgp: { announced: true, reason: 'announced' }, l2: { announced: false, reason: 'not-in-pool-mode' },
};
const NEIGHBOR: NeighborRow = { address: '10.0.0.1', port: 179, asn: 65000, state: 'Established', uptime: 5, prefixesSent: 1, prefixesReceived: 0, lastError: null };
const BFD: BfdRow = {
  peer: '10.0.0.1', multihop: false, state: 'Up', remoteState: 'Up', diag: 0, localDiscr: 7, remoteDiscr: 9, txIntervalMs: 100, detectTimeMs: 300,
  multiplier: 3, remoteMultiplier: 3, auth: 'meticulous-keyed-sha1/1', upSeconds: 12, flaps: 0,
};

/** What the CLI sends with every request (docs/api.md). */
const MARK = { 'x-edgelb-request': '1' };

function fakeViews(over: Partial<ApiViews> = {}): ApiViews & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    services: () => [SERVICE],
    vips: () => [VIP],
    ha: () => ({ node: 'n1', drained: false, shards: [] }),
    bgpNeighbors: () => [NEIGHBOR],
    bfd: () => [BFD],
    readiness: () => ({ ready: true, reasons: [] }),
    drain: async () => {
      calls.push('drain');
      return { drained: true };
    },
    undrain: async () => {
      calls.push('undrain');
      return { drained: false };
    },
    ...over,
  };
}

function server(views: ApiViews, token?: string, listen = '127.0.0.1:0') {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return { app: createApiServer({ listen, token, registry, views, logger: silentLogger() }), registry };
}

test('api: /healthz, /v1 routes return the views as JSON', async () => {
  const { app } = server(fakeViews());
  try {
    const routes: Array<[string, unknown]> = [
      ['/healthz', { status: 'ok' }],
      ['/v1/services', [SERVICE]],
      ['/v1/vips', [VIP]],
      ['/v1/ha', { node: 'n1', drained: false, shards: [] }],
      ['/v1/bgp/neighbors', [NEIGHBOR]],
      ['/v1/bfd', [BFD]],
    ];
    for (const [url, want] of routes) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 200, url);
      assert.match(String(r.headers['content-type']), /application\/json/);
      assert.deepEqual(r.json(), want, url);
    }
  } finally {
    await app.close();
  }
});

test('api: /readyz is 200 when ready and 503 with the reasons when not', async () => {
  let ready = false;
  const { app } = server(fakeViews({ readiness: () => (ready ? { ready, reasons: [] } : { ready, reasons: ['data path not attached', 'caches not synced'] }) }));
  try {
    let r = await app.inject('/readyz');
    assert.equal(r.statusCode, 503);
    assert.deepEqual(r.json(), { ready: false, reasons: ['data path not attached', 'caches not synced'] });
    ready = true;
    r = await app.inject('/readyz');
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { ready: true, reasons: [] });
  } finally {
    await app.close();
  }
});

test('api: /metrics is Prometheus text with the default process metrics and request counts', async () => {
  const { app } = server(fakeViews());
  try {
    await app.inject('/v1/services');
    const r = await app.inject('/metrics');
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /text\/plain/);
    assert.match(r.body, /^process_cpu_user_seconds_total \d/m);
    assert.match(r.body, /^nodejs_heap_size_total_bytes \d/m);
    assert.match(r.body, /^edgelb_api_requests_total\{route="\/v1\/services",status="200"\} 1$/m);
  } finally {
    await app.close();
  }
});

test('api: POST /v1/drain and /v1/undrain call the views', async () => {
  const views = fakeViews();
  const { app } = server(views);
  try {
    let r = await app.inject({ method: 'POST', url: '/v1/drain', headers: MARK });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { drained: true });
    r = await app.inject({ method: 'POST', url: '/v1/undrain', headers: MARK });
    assert.deepEqual(r.json(), { drained: false });
    assert.deepEqual(views.calls, ['drain', 'undrain']);
    r = await app.inject({ method: 'GET', url: '/v1/drain' });
    assert.equal(r.statusCode, 404);
  } finally {
    await app.close();
  }
});

test('api: errors carry a stable code', async () => {
  const { app } = server(
    fakeViews({
      drain: async () => {
        throw new EdgelbError('EDGELB_ERR_BGP_SESSION', 'speaker is stopping');
      },
      services: () => {
        throw new Error('boom');
      },
    }),
  );
  try {
    let r = await app.inject({ method: 'POST', url: '/v1/drain', headers: MARK });
    assert.equal(r.statusCode, 500);
    assert.deepEqual(r.json(), { code: 'EDGELB_ERR_BGP_SESSION', message: 'speaker is stopping' });
    r = await app.inject('/v1/services');
    assert.equal(r.statusCode, 500);
    assert.equal(r.json().code, 'EDGELB_ERR_INTERNAL');
    r = await app.inject('/v2/nothing');
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().code, 'EDGELB_ERR_INVALID_ARGUMENT');
  } finally {
    await app.close();
  }
});

test('api: with a token, /v1 and /metrics need it; /healthz and /readyz do not', async () => {
  const { app } = server(fakeViews(), 'tok-123456');
  try {
    for (const url of ['/v1/services', '/v1/vips', '/v1/ha', '/v1/bgp/neighbors', '/metrics']) {
      let r = await app.inject(url);
      assert.equal(r.statusCode, 401, url);
      assert.equal(r.json().code, 'EDGELB_ERR_API_UNAUTHORIZED');
      r = await app.inject({ url, headers: { authorization: 'Bearer wrong' } });
      assert.equal(r.statusCode, 401, url);
      r = await app.inject({ url, headers: { authorization: 'Bearer tok-123456' } });
      assert.equal(r.statusCode, 200, url);
    }
    const d = await app.inject({ method: 'POST', url: '/v1/drain', headers: MARK });
    assert.equal(d.statusCode, 401);
    assert.equal((await app.inject('/healthz')).statusCode, 200);
    assert.equal((await app.inject('/readyz')).statusCode, 200);
  } finally {
    await app.close();
  }
});

test('api: a non-loopback listen without a token is refused', () => {
  for (const listen of ['0.0.0.0:11111', '10.0.0.1:11111', '[::]:11111']) {
    assert.throws(() => server(fakeViews(), undefined, listen), (e: unknown) => e instanceof EdgelbError && e.code === 'EDGELB_ERR_INVALID_ARGUMENT');
  }
  assert.throws(() => server(fakeViews(), undefined, 'localhost:1'), /ip:port/);
  const { app } = server(fakeViews(), 'tok', '0.0.0.0:11111');
  void app.close();
});

test('api: listenApi on port 0 reports the real port, and the server answers on it', async () => {
  const { app } = server(fakeViews());
  try {
    const a = await listenApi(app, '127.0.0.1:0');
    assert.ok(a.port > 0);
    assert.equal(a.url, `http://127.0.0.1:${a.port}`);
    const r = await fetch(`${a.url}/v1/services`);
    assert.deepEqual(await r.json(), [SERVICE]);
  } finally {
    await app.close();
  }
});

test('api: desired-state views list services, VIPs, shards and peers without the password', async () => {
  const views = desiredStateViews(() => STATE);
  const { app } = server(views);
  try {
    const services = (await app.inject('/v1/services')).json();
    assert.deepEqual(services.map((s: { name: string }) => s.name), ['web', 'dns']);
    assert.deepEqual(services[0].ports, [{ port: 80, protocol: 'tcp', targetPort: 8080 }]);
    assert.deepEqual(services[0].endpoints, [
      { address: '10.0.1.2', ready: true },
      { address: '10.0.1.3', ready: true },
    ]);
    const vips = (await app.inject('/v1/vips')).json();
    assert.equal(vips.length, 1);
    assert.deepEqual(vips[0].services, ['web', 'dns']);
    assert.equal(vips[0].bgpMode, 'activeBackup');
    const ha = (await app.inject('/v1/ha')).json();
    assert.equal(ha.node, 'edge-1');
    assert.equal(ha.shards.length, 2);
    const peersText = (await app.inject('/v1/bgp/neighbors')).body;
    assert.ok(!peersText.includes('hunter2'), 'password must never be served');
    assert.deepEqual(JSON.parse(peersText)[0].address, '10.0.0.1');
    // without an agent no BFD runs: the configured session is Down, its key never served
    const bfdText = (await app.inject('/v1/bfd')).body;
    assert.deepEqual(JSON.parse(bfdText).map((r: BfdRow) => [r.peer, r.state, r.auth]), [['10.0.0.1', 'Down', 'keyed-sha1/3']]);
    assert.ok(!bfdText.includes('bfd-secret'));
    await app.inject({ method: 'POST', url: '/v1/drain', headers: MARK });
    assert.equal((await app.inject('/v1/ha')).json().drained, true);
    await app.inject({ method: 'POST', url: '/v1/undrain', headers: MARK });
    assert.equal((await app.inject('/v1/ha')).json().drained, false);
  } finally {
    await app.close();
  }
  const empty = desiredStateViews(() => undefined);
  assert.deepEqual(empty.readiness(), { ready: false, reasons: ['no configuration applied yet'] });
  assert.deepEqual(empty.services(), []);
});
