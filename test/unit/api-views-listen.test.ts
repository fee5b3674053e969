// api.viewsListen: a listener that serves only the read-only GET /v1 views and /healthz, without a
// token, for `edgelb get --all-nodes` through the API server's pods/proxy. Writes, metrics,
// readiness and Host names (DNS rebinding) are refused; bad values are refused with their path; the
// daemon starts and stops it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createViewsServer, VIEW_ROUTES } from '../../src/api/views-server.js';
import { desiredStateViews } from '../../src/api/views.js';
import { parseConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { ConfigError } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/logger.js';

const base = 'node: { name: v1, routerId: 127.0.0.1, interface: lo }\n';

test('views listener: the four read-only views and /healthz answer without a token; nothing else does', async () => {
  let drained = 0;
  const views = { ...desiredStateViews(() => parseConfig(base).state), drain: async () => ({ drained: (drained++, true) }) };
  const app = createViewsServer({ listen: '0.0.0.0:0', views, logger: silentLogger() });
  for (const url of [...VIEW_ROUTES, '/healthz']) {
    const r = await app.inject({ url, headers: { host: '10.0.0.5:11114' } });
    assert.equal(r.statusCode, 200, url);
  }
  assert.equal(JSON.parse((await app.inject({ url: '/v1/ha', headers: { host: '10.0.0.5:11114' } })).body).node, 'v1');
  for (const [method, url, code] of [['POST', '/v1/drain', 405], ['POST', '/v1/undrain', 405], ['DELETE', '/v1/vips', 405], ['PUT', '/v1/ha', 405], ['GET', '/metrics', 404], ['GET', '/readyz', 404], ['GET', '/v1/drain', 404], ['GET', '/v1/../metrics', 404]] as const) {
    const r = await app.inject({ method, url, headers: { host: '10.0.0.5:11114', 'x-edgelb-request': '1', 'content-type': 'application/json' }, payload: method === 'GET' ? undefined : '{}' });
    assert.equal(r.statusCode, code, `${method} ${url}`);
    assert.match(JSON.parse(r.body).code, /^EDGELB_ERR_/);
  }
  assert.equal(drained, 0, 'no write reached the views');
  // a DNS-rebinding page names its own host; the API server's proxy names an address
  for (const host of ['evil.example:11114', 'evil.example', '10.0.0.5.nip.io:11114']) {
    const r = await app.inject({ url: '/v1/vips', headers: { host } });
    assert.equal(r.statusCode, 403, host);
  }
  assert.equal((await app.inject({ url: '/v1/vips', headers: { host: '[fd00::5]:11114' } })).statusCode, 200);
  assert.throws(() => createViewsServer({ listen: 'nowhere', views, logger: silentLogger() }), /viewsListen must be ip:port/);
});

const rows: Array<{ desc: string; api: string; want: RegExp }> = [
  { desc: 'not host:port', api: '{ viewsListen: "node-ip:11114" }', want: /^api\.viewsListen: must be address:port/ },
  { desc: 'the api port on the same address', api: '{ listen: 127.0.0.1:11111, viewsListen: 127.0.0.1:11111 }', want: /^api\.viewsListen: must not use the port of api\.listen/ },
  { desc: 'the api port on the wildcard', api: '{ listen: 127.0.0.1:11111, viewsListen: 0.0.0.0:11111 }', want: /^api\.viewsListen: must not use the port of api\.listen/ },
  { desc: 'the metrics port', api: '{ metricsListen: 0.0.0.0:11113, viewsListen: 10.0.0.1:11113 }', want: /^api\.viewsListen: must not use the port of api\.metricsListen/ },
];
for (const row of rows) {
  test(`config: api.viewsListen refuses ${row.desc}`, () => {
    assert.throws(
      () => parseConfig(`${base}api: ${row.api}\n`),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => row.want.test(`${i.path}: ${i.message}`)),
    );
  });
}

test('config: api.viewsListen on any address needs no token (the main API still does)', () => {
  const s = parseConfig(`${base}api: { listen: 127.0.0.1:11111, metricsListen: 0.0.0.0:11113, viewsListen: 0.0.0.0:11114 }\n`).state;
  assert.equal(s.api.viewsListen, '0.0.0.0:11114');
  assert.equal(s.api.token, undefined);
});

test('daemon: serves the views on api.viewsListen and closes it on stop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-views-'));
  try {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, `${base}api: { listen: 127.0.0.1:0, viewsListen: 127.0.0.3:0 }\n`);
    const d = await startDaemon({ config: file, logger: silentLogger() });
    try {
      assert.ok(d.views, 'the views listener started');
      const r = await fetch(`${d.views!.url}/v1/ha`);
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as { node: string }).node, 'v1');
      assert.equal((await fetch(`${d.views!.url}/v1/drain`, { method: 'POST', headers: { 'x-edgelb-request': '1' } })).status, 405);
    } finally {
      await d.stop();
    }
    await assert.rejects(fetch(`${d.views!.url}/healthz`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
