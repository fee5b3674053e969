// HealthChecker state machine with injected probers (fast, deterministic outcomes): unknown counts
// as healthy, `retries` consecutive failures mark down, one success brings back, diffs keep state
// and timers, 'none' is never probed, metrics follow, stop() ends probing. Plus one run with the
// real TCP prober against a loopback server that goes away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { HealthChecker, type HealthTarget, type ProbeOutcome, type ProbeRequest, type Probers } from '../../src/health/index.js';
import type { ProbeSpec } from '../../src/model/desired-state.js';
import { silentLogger } from '../../src/lib/logger.js';
import { waitFor, sleep } from '../../src/lib/backoff.js';
import { EdgelbError } from '../../src/lib/errors.js';

/** A prober whose answer per endpoint the test sets; it counts calls. */
function fakeProber() {
  const up = new Map<string, boolean>();
  const calls = new Map<string, number>();
  const seen: ProbeRequest[] = [];
  const prober = async (r: ProbeRequest): Promise<ProbeOutcome> => {
    calls.set(r.address, (calls.get(r.address) ?? 0) + 1);
    seen.push(r);
    return up.get(r.address) === false ? { ok: false, failure: 'refused', rttMs: 0 } : { ok: true, rttMs: 0 };
  };
  const all = { tcp: prober, udp: prober, http: prober, https: prober, ping: prober } satisfies Probers;
  return { up, calls, seen, probers: all, count: (a: string) => calls.get(a) ?? 0 };
}

function probe(over: Partial<ProbeSpec> = {}): ProbeSpec {
  return { type: 'tcp', intervalMs: 15, timeoutMs: 10, retries: 2, ...over };
}

function setup(over: { probers?: Partial<Probers> } = {}) {
  const fake = fakeProber();
  const registry = new Registry();
  const hc = new HealthChecker({ logger: silentLogger(), registry, probers: over.probers ?? fake.probers, firstProbeJitterMs: 0 });
  const changes: Array<[string, string, boolean]> = [];
  hc.on('change', (s: string, e: string, h: boolean) => changes.push([s, e, h]));
  return { fake, registry, hc, changes };
}

async function gauge(registry: Registry): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric('edgelb_endpoint_healthy')!.get();
  return Object.fromEntries(m.values.map((v) => [`${v.labels.service}/${v.labels.endpoint}`, v.value]));
}

test('endpoints start healthy (unknown) and go down only after `retries` consecutive failures', async () => {
  const { fake, hc, changes, registry } = setup();
  try {
    fake.up.set('10.0.0.2', false);
    hc.setTargets([{ service: 'web', endpoints: ['10.0.0.1', '10.0.0.2'], probe: probe({ retries: 3 }), port: 80 }]);
    // before any probe: both count as healthy
    assert.deepEqual(hc.healthy('web'), ['10.0.0.1', '10.0.0.2']);
    assert.equal(hc.status('web')[1]!.state, 'unknown');
    await waitFor(() => fake.count('10.0.0.2') >= 2, { timeoutMs: 2000 });
    // two failures of three: still healthy
    if (fake.count('10.0.0.2') < 3) assert.equal(hc.isHealthy('web', '10.0.0.2'), true);
    await waitFor(() => !hc.isHealthy('web', '10.0.0.2'), { timeoutMs: 2000 });
    assert.ok(fake.count('10.0.0.2') >= 3);
    assert.deepEqual(hc.healthy('web'), ['10.0.0.1']);
    assert.deepEqual(changes, [['web', '10.0.0.2', false]]);
    const st = hc.status('web');
    assert.deepEqual(st.map((s) => [s.endpoint, s.state, s.healthy]), [
      ['10.0.0.1', 'healthy', true],
      ['10.0.0.2', 'unhealthy', false],
    ]);
    assert.equal(st[1]!.lastOutcome?.failure, 'refused');
    assert.deepEqual(await gauge(registry), { 'web/10.0.0.1': 1, 'web/10.0.0.2': 0 });

    // one success brings it back
    fake.up.set('10.0.0.2', true);
    await waitFor(() => hc.isHealthy('web', '10.0.0.2'), { timeoutMs: 2000 });
    assert.deepEqual(changes, [
      ['web', '10.0.0.2', false],
      ['web', '10.0.0.2', true],
    ]);
    assert.deepEqual(await gauge(registry), { 'web/10.0.0.1': 1, 'web/10.0.0.2': 1 });
    const probes = await registry.getSingleMetric('edgelb_health_probes_total')!.get();
    const byResult = Object.fromEntries(probes.values.map((v) => [v.labels.result, v.value]));
    assert.ok(byResult.ok! > 0 && byResult.refused! >= 3);
  } finally {
    hc.stop();
  }
});

test('retries table: failures needed before an endpoint is marked down', async () => {
  for (const retries of [1, 2, 4]) {
    const { fake, hc, changes } = setup();
    try {
      fake.up.set('10.1.0.1', false);
      let failuresAtChange = -1;
      hc.on('change', () => (failuresAtChange = fake.count('10.1.0.1')));
      hc.setTargets([{ service: 's', endpoints: ['10.1.0.1'], probe: probe({ retries }), port: 1 }]);
      await waitFor(() => changes.length > 0, { timeoutMs: 2000 });
      assert.equal(failuresAtChange, retries, `retries ${retries}`);
    } finally {
      hc.stop();
    }
  }
});

test('setTargets diffs: unchanged endpoints keep state and timers, removed ones leave, changed probes keep health', async () => {
  const { fake, hc, changes, registry } = setup();
  try {
    fake.up.set('10.0.0.2', false);
    const web: HealthTarget = { service: 'web', endpoints: ['10.0.0.1', '10.0.0.2'], probe: probe({ retries: 1 }), port: 80 };
    hc.setTargets([web]);
    await waitFor(() => !hc.isHealthy('web', '10.0.0.2'), { timeoutMs: 2000 });

    // same targets again (new objects, same content): nothing restarts, no event, state kept
    const before = fake.count('10.0.0.1');
    hc.setTargets([{ ...web, endpoints: [...web.endpoints], probe: { ...web.probe } }]);
    assert.equal(hc.isHealthy('web', '10.0.0.2'), false);
    assert.equal(fake.count('10.0.0.1'), before); // no immediate re-probe
    assert.equal(changes.length, 1);

    // add an endpoint and a service, drop nothing
    hc.setTargets([
      { ...web, endpoints: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] },
      { service: 'dns', endpoints: ['10.0.1.1'], probe: probe({ type: 'udp' }), port: 53 },
    ]);
    assert.deepEqual(hc.healthy('web'), ['10.0.0.1', '10.0.0.3']);
    await waitFor(() => fake.count('10.0.1.1') > 0, { timeoutMs: 2000 });

    // a changed probe keeps the endpoint's health until probes say otherwise
    hc.setTargets([
      { ...web, endpoints: ['10.0.0.1', '10.0.0.2', '10.0.0.3'], probe: probe({ retries: 1, type: 'http', path: '/x' }) },
      { service: 'dns', endpoints: ['10.0.1.1'], probe: probe({ type: 'udp' }), port: 53 },
    ]);
    assert.equal(hc.isHealthy('web', '10.0.0.2'), false);
    await waitFor(() => fake.seen.some((r) => r.spec.type === 'http' && r.address === '10.0.0.2'), { timeoutMs: 2000 });
    assert.equal(fake.seen.filter((r) => r.spec.type === 'http')[0]!.port, 80);

    // remove an endpoint and a service: gone from healthy(), status() and metrics; probing stops
    hc.setTargets([{ ...web, endpoints: ['10.0.0.1'] }]);
    assert.deepEqual(hc.healthy('web'), ['10.0.0.1']);
    assert.deepEqual(hc.healthy('dns'), []);
    assert.equal(hc.isHealthy('dns', '10.0.1.1'), true); // no longer watched: unknown
    assert.equal(hc.isHealthy('web', '10.0.0.2'), true);
    assert.deepEqual(await gauge(registry), { 'web/10.0.0.1': 1 });
    const dnsCalls = fake.count('10.0.1.1');
    const e2 = fake.count('10.0.0.2');
    await sleep(80);
    assert.equal(fake.count('10.0.1.1'), dnsCalls);
    assert.equal(fake.count('10.0.0.2'), e2);
    assert.deepEqual(hc.status().map((s) => `${s.service}/${s.endpoint}`), ['web/10.0.0.1']);
  } finally {
    hc.stop();
  }
});

test('endpoints never given to setTargets are unknown: healthy, but not listed', () => {
  const { hc } = setup();
  try {
    assert.equal(hc.isHealthy('web', '10.9.9.9'), true);
    assert.deepEqual(hc.healthy('web'), []);
    assert.deepEqual(hc.status(), []);
  } finally {
    hc.stop();
  }
});

test('probe port: probe.port wins over the target port', async () => {
  const { fake, hc } = setup();
  try {
    hc.setTargets([
      { service: 'a', endpoints: ['10.2.0.1'], probe: probe({ port: 8080 }), port: 80 },
      { service: 'b', endpoints: ['10.2.0.2'], probe: probe(), port: 443 },
    ]);
    await waitFor(() => fake.count('10.2.0.1') > 0 && fake.count('10.2.0.2') > 0, { timeoutMs: 2000 });
    assert.equal(fake.seen.find((r) => r.address === '10.2.0.1')!.port, 8080);
    assert.equal(fake.seen.find((r) => r.address === '10.2.0.2')!.port, 443);
  } finally {
    hc.stop();
  }
});

test("probe type 'none' is always healthy and never probed", async () => {
  const { fake, hc, registry } = setup();
  try {
    fake.up.set('10.3.0.1', false);
    hc.setTargets([{ service: 'n', endpoints: ['10.3.0.1'], probe: probe({ type: 'none' }) }]);
    await sleep(60);
    assert.equal(fake.count('10.3.0.1'), 0);
    assert.equal(hc.isHealthy('n', '10.3.0.1'), true);
    assert.equal(hc.status('n')[0]!.state, 'healthy');
    assert.deepEqual(await gauge(registry), { 'n/10.3.0.1': 1 });
  } finally {
    hc.stop();
  }
});

test('a prober that throws counts as a failed probe with reason error', async () => {
  const { hc, changes } = setup({
    probers: {
      tcp: async () => {
        throw new Error('boom');
      },
    },
  });
  try {
    hc.setTargets([{ service: 't', endpoints: ['10.4.0.1'], probe: probe({ retries: 1 }), port: 1 }]);
    await waitFor(() => changes.length === 1, { timeoutMs: 2000 });
    assert.equal(hc.status('t')[0]!.lastOutcome?.failure, 'error');
    assert.equal(hc.status('t')[0]!.lastOutcome?.detail, 'boom');
  } finally {
    hc.stop();
  }
});

test('invalid input and use after stop are refused; stop() ends probing', async () => {
  const { fake, hc } = setup();
  assert.throws(
    () => hc.setTargets([
      { service: 'x', endpoints: ['10.5.0.1'], probe: probe() },
      { service: 'x', endpoints: ['10.5.0.2'], probe: probe() },
    ]),
    (e: unknown) => e instanceof EdgelbError && e.code === 'EDGELB_ERR_INVALID_ARGUMENT',
  );
  hc.setTargets([{ service: 'x', endpoints: ['10.5.0.1', '10.5.0.1'], probe: probe() }]);
  assert.deepEqual(hc.healthy('x'), ['10.5.0.1']); // duplicates collapse
  await waitFor(() => fake.count('10.5.0.1') > 0, { timeoutMs: 2000 });
  hc.stop();
  hc.stop();
  const n = fake.count('10.5.0.1');
  await sleep(60);
  assert.equal(fake.count('10.5.0.1'), n);
  assert.throws(() => hc.setTargets([]), EdgelbError);
});

test('two checkers may share one registry', () => {
  const registry = new Registry();
  const a = new HealthChecker({ logger: silentLogger(), registry });
  const b = new HealthChecker({ logger: silentLogger(), registry });
  a.stop();
  b.stop();
});

test('real TCP probes: a loopback server that goes away is marked down, and up when it returns', async () => {
  const srv = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const hc = new HealthChecker({ logger: silentLogger(), registry: new Registry(), firstProbeJitterMs: 0 });
  const changes: boolean[] = [];
  hc.on('change', (_s: string, _e: string, h: boolean) => changes.push(h));
  try {
    hc.setTargets([{ service: 'real', endpoints: ['127.0.0.1'], probe: probe({ intervalMs: 30, timeoutMs: 200, retries: 2 }), port }]);
    await waitFor(() => hc.status('real')[0]!.state === 'healthy', { timeoutMs: 3000 });
    await new Promise<void>((r) => srv.close(() => r()));
    await waitFor(() => !hc.isHealthy('real', '127.0.0.1'), { timeoutMs: 3000 });
    assert.equal(hc.status('real')[0]!.lastOutcome?.failure, 'refused');
    const again = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => again.listen(port, '127.0.0.1', r));
    try {
      await waitFor(() => hc.isHealthy('real', '127.0.0.1'), { timeoutMs: 3000 });
    } finally {
      again.close();
    }
    assert.deepEqual(changes, [false, true]);
  } finally {
    hc.stop();
  }
});
