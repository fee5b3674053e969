// api.metricsListen: a second listener that serves only /metrics and /healthz, without a token, on
// any address (the node's, for Prometheus), while /v1 stays on the main listener; bad values are
// refused with their path; the daemon starts and stops it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, Counter } from 'prom-client';
import { createMetricsServer } from '../../src/api/server.js';
import { parseConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { ConfigError, EdgelbError } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/logger.js';

const base = 'node: { name: m1, routerId: 127.0.0.1, interface: lo }\n';

test('metrics listener: /metrics and /healthz answer without a token; /v1, drain and anything else are 404', async () => {
  const registry = new Registry();
  new Counter({ name: 'edgelb_probe_total', help: 'x', registers: [registry] }).inc(3);
  const app = createMetricsServer({ listen: '0.0.0.0:0', registry, logger: silentLogger() });
  const m = await app.inject({ url: '/metrics' });
  assert.equal(m.statusCode, 200);
  assert.match(m.body, /^edgelb_probe_total 3$/m);
  assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
  for (const [method, url] of [['GET', '/v1/ha'], ['GET', '/v1/vips'], ['POST', '/v1/drain'], ['POST', '/v1/undrain'], ['GET', '/readyz'], ['GET', '/metrics/../v1/ha'], ['DELETE', '/metrics']] as const) {
    const r = await app.inject({ method, url });
    assert.equal(r.statusCode, 404, `${method} ${url}`);
    assert.equal(JSON.parse(r.body).code, 'EDGELB_ERR_INVALID_ARGUMENT');
  }
  await app.close();
});

test('metrics listener: a listen address that is not ip:port is refused', () => {
  for (const bad of ['localhost:9100', '0.0.0.0', ':9100', '1.2.3.4:99999'])
    assert.throws(() => createMetricsServer({ listen: bad, registry: new Registry(), logger: silentLogger() }), (e: unknown) => e instanceof EdgelbError && e.code === 'EDGELB_ERR_INVALID_ARGUMENT');
});

const rows: Array<{ desc: string; api: string; want: RegExp }> = [
  { desc: 'not host:port', api: '{ metricsListen: "node-ip:9100" }', want: /^api\.metricsListen: must be address:port/ },
  { desc: 'a number', api: '{ metricsListen: 9100 }', want: /^api\.metricsListen: must be address:port/ },
  { desc: 'the api port on the same address', api: '{ listen: 127.0.0.1:11111, metricsListen: 127.0.0.1:11111 }', want: /^api\.metricsListen: must not use the port of api\.listen/ },
  { desc: 'the api port on the wildcard', api: '{ listen: 127.0.0.1:11111, metricsListen: 0.0.0.0:11111 }', want: /^api\.metricsListen: must not use the port of api\.listen/ },
];
for (const row of rows) {
  test(`config: api.metricsListen refuses ${row.desc}`, () => {
    assert.throws(
      () => parseConfig(`${base}api: ${row.api}\n`),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => row.want.test(`${i.path}: ${i.message}`)),
    );
  });
}

test('config: api.metricsListen on a non-loopback address needs no token (the main API still does)', () => {
  const s = parseConfig(`${base}api: { listen: 127.0.0.1:11111, metricsListen: 0.0.0.0:11113 }\n`).state;
  assert.equal(s.api.metricsListen, '0.0.0.0:11113');
  assert.equal(s.api.token, undefined);
});

test('daemon: serves metrics on api.metricsListen, /v1 only on api.listen, and closes both on stop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-metrics-'));
  try {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, `${base}api: { listen: 127.0.0.1:0, metricsListen: 127.0.0.2:0 }\n`);
    const d = await startDaemon({ config: file, logger: silentLogger() });
    try {
      assert.ok(d.metrics, 'the metrics listener started');
      const m = await fetch(`${d.metrics!.url}/metrics`);
      assert.equal(m.status, 200);
      assert.match(await m.text(), /^edgelb_config_last_reload_successful 1$/m);
      assert.equal((await fetch(`${d.metrics!.url}/v1/ha`)).status, 404);
      assert.equal((await fetch(`${d.api.url}/v1/ha`)).status, 200);
    } finally {
      await d.stop();
    }
    await assert.rejects(fetch(`${d.metrics!.url}/healthz`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
