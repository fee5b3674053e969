// The API's defences against other local software and web pages, tried with raw HTTP/1.1 bytes
// over a real socket the way an attacker would: a DNS-rebinding Host, every content type a
// simple (preflight-free) browser request may carry, a cross-origin Origin, a missing Host, and
// the ways to get the marks wrong. The old API drained the node on every one of them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Registry } from 'prom-client';
import { createApiServer, listenApi, type ApiApp, type ApiViews } from '../../src/api/index.js';
import { desiredStateViews } from '../../src/api/views.js';
import { forgeable, hostAllowed } from '../../src/api/server.js';
import { apiRequest } from '../../src/cli/client.js';
import { silentLogger } from '../../src/lib/logger.js';

let app: ApiApp;
let port = 0;
let drains = 0;
const registry = new Registry();

before(async () => {
  const views: ApiViews = {
    ...desiredStateViews(() => undefined),
    drain: async () => {
      drains++;
      return { drained: true };
    },
  };
  app = createApiServer({ listen: '127.0.0.1:0', registry, views, logger: silentLogger() });
  port = (await listenApi(app, '127.0.0.1:0')).port;
});
after(() => app.close());

/** One raw request; resolves with the status code. */
function raw(lines: string[], body = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(got)?.[1] ?? 0)));
    s.end([...lines, `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body].join('\r\n'));
  });
}

const host = () => `Host: 127.0.0.1:${port}`;

test('Host: only localhost, loopback addresses and the listen address; names of other hosts are refused on every route', async () => {
  const rows: Array<[string, string[], number]> = [
    ['loopback with port', [host()], 200],
    ['localhost', ['Host: localhost'], 200],
    ['localhost with port, upper case', [`Host: LOCALHOST:${port}`], 200],
    ['other loopback address', ['Host: 127.0.0.53'], 200],
    ['IPv6 loopback', [`Host: [::1]:${port}`], 200],
    ['rebinding name', ['Host: evil.example'], 403],
    ['rebinding name with our port', [`Host: evil.example:${port}`], 403],
    ['name that embeds a loopback address', ['Host: 127.0.0.1.nip.io'], 403],
    ['name that starts with localhost', ['Host: localhost.evil.example'], 403],
    ['trailing dot', ['Host: localhost.'], 403],
    ['userinfo', ['Host: evil@127.0.0.1'], 403],
    ['another address', ['Host: 192.0.2.7'], 403],
    ['empty Host', ['Host: '], 403],
  ];
  for (const path of ['/v1/services', '/healthz', '/metrics']) {
    for (const [desc, headers, want] of rows) {
      assert.equal(await raw([`GET ${path} HTTP/1.1`, ...headers]), want, `${path}: ${desc}`);
    }
  }
  // HTTP/1.0 without any Host
  assert.equal(await raw(['GET /v1/services HTTP/1.0']), 403, 'no Host');
  const refused = (await registry.getSingleMetric('edgelb_api_requests_refused_total')!.get()).values.find((v) => v.labels.reason === 'host')?.value;
  assert.equal(refused, 3 * 8 + 1);
});

test('POST /v1/drain: every request a web page can send without a preflight is refused; the marks let it through', async () => {
  const before = drains;
  const post = (headers: string[], body = '') => raw(['POST /v1/drain HTTP/1.1', host(), ...headers], body);
  const refused: Array<[string, string[], string?]> = [
    ['no content type', []],
    ['text/plain (a form or fetch with no-cors)', ['Content-Type: text/plain'], '{}'],
    ['form', ['Content-Type: application/x-www-form-urlencoded'], 'a=1'],
    ['multipart', ['Content-Type: multipart/form-data; boundary=x'], '--x--'],
    ['json smuggled as a parameter', ['Content-Type: text/plain; application/json'], '{}'],
    ['json-like type', ['Content-Type: application/jsonp'], '{}'],
    ['mark with another value', ['X-Edgelb-Request: 0']],
    ['mark, but from another origin', ['X-Edgelb-Request: 1', 'Origin: http://evil.example']],
    ['json, but from another origin', ['Content-Type: application/json', 'Origin: https://evil.example'], '{}'],
    ['origin null (sandboxed page)', ['X-Edgelb-Request: 1', 'Origin: null']],
  ];
  for (const [desc, headers, body] of refused) assert.equal(await post(headers, body), 403, desc);
  assert.equal(drains, before, 'nothing drained');
  const allowed: Array<[string, string[], string?]> = [
    ['the CLI mark', ['X-Edgelb-Request: 1']],
    ['JSON', ['Content-Type: application/json'], '{}'],
    ['JSON with charset', ['Content-Type: Application/JSON; charset=utf-8'], '{}'],
    ['same origin', ['X-Edgelb-Request: 1', `Origin: http://127.0.0.1:${port}`]],
  ];
  for (const [desc, headers, body] of allowed) assert.equal(await post(headers, body), 200, desc);
  assert.equal(drains, before + allowed.length);
  // GETs need no mark
  assert.equal(await raw(['GET /v1/ha HTTP/1.1', host()]), 200);
});

test('the CLI client sends the mark: drain through apiRequest works', async () => {
  const before = drains;
  assert.deepEqual(await apiRequest(`http://127.0.0.1:${port}`, '/v1/drain', { method: 'POST' }), { drained: true });
  assert.equal(drains, before + 1);
});

test('hostAllowed and forgeable: the listen address and a wildcard listen', () => {
  assert.equal(hostAllowed('10.0.0.5:11111', '10.0.0.5'), true);
  assert.equal(hostAllowed('10.0.0.6:11111', '10.0.0.5'), false);
  assert.equal(hostAllowed('10.0.0.6', '0.0.0.0'), true, 'any address literal when listening on all');
  assert.equal(hostAllowed('edge.example', '0.0.0.0'), false, 'never a name');
  assert.equal(hostAllowed('[2001:db8::1]:80', '2001:db8:0::1'), true);
  assert.equal(hostAllowed(undefined, '127.0.0.1'), false);
  assert.equal(forgeable({ 'x-edgelb-request': '1' }, '127.0.0.1'), undefined);
  assert.match(forgeable({ 'content-type': 'text/plain' }, '127.0.0.1') ?? '', /Content-Type: application\/json or X-Edgelb-Request: 1/);
});
