// Health probers against real servers on loopback: TCP, UDP, HTTP and HTTPS (a self-signed
// certificate made with openssl in the test), each with the failure reason it must report.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import dgram from 'node:dgram';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { probeTcp, probeUdp, probeHttp, type ProbeOutcome, type ProbeRequest } from '../../src/health/index.js';
import type { ProbeSpec } from '../../src/model/desired-state.js';

const closers: Array<() => void> = [];
let dir: string;
const ports: Record<string, number> = {};

function spec(over: Partial<ProbeSpec>): ProbeSpec {
  return { type: 'tcp', intervalMs: 1000, timeoutMs: 300, retries: 1, ...over };
}

/** A port that nothing listens on (bound then closed). */
async function closedPort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const p = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function listenTcp(name: string, host: string, onConn: (s: net.Socket) => void): Promise<void> {
  const srv = net.createServer(onConn);
  await new Promise<void>((r) => srv.listen(0, host, r));
  ports[name] = (srv.address() as AddressInfo).port;
  closers.push(() => srv.close());
}

async function listenUdp(name: string, type: 'udp4' | 'udp6', host: string, onMsg: (s: dgram.Socket, m: Buffer, r: dgram.RemoteInfo) => void): Promise<void> {
  const s = dgram.createSocket(type);
  s.on('message', (m, r) => onMsg(s, m, r));
  await new Promise<void>((r) => s.bind(0, host, r));
  ports[name] = s.address().port;
  closers.push(() => s.close());
}

function httpHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    if (req.url === '/healthz') res.end('status: ok');
    else if (req.url === '/fail') {
      res.statusCode = 503;
      res.end('status: down');
    } else if (req.url === '/redirect') {
      res.statusCode = 302;
      res.setHeader('location', '/healthz');
      res.end();
    } else if (req.url === '/slow') setTimeout(() => res.end('late'), 2000).unref();
    else if (req.url === '/echo') res.end(`${req.method} ${body}`);
    else {
      res.statusCode = 404;
      res.end('no');
    }
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgelb-health-'));
  // TCP: an acceptor that says nothing, a PING/PONG server, a server that closes at once
  await listenTcp('tcpSilent', '127.0.0.1', () => {});
  await listenTcp('tcpPong', '127.0.0.1', (s) => s.on('data', (d) => s.write(String(d).includes('PING') ? '+PONG\r\n' : '-ERR\r\n')));
  await listenTcp('tcpClose', '127.0.0.1', (s) => s.end('bye'));
  await listenTcp('tcp6', '::1', () => {});
  // UDP: echo, a silent one, one answering something else
  await listenUdp('udpEcho', 'udp4', '127.0.0.1', (s, m, r) => s.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
  await listenUdp('udpSilent', 'udp4', '127.0.0.1', () => {});
  await listenUdp('udpOther', 'udp4', '127.0.0.1', (s, _m, r) => s.send('nope', r.port, r.address));
  await listenUdp('udp6Echo', 'udp6', '::1', (s, m, r) => s.send(m, r.port, r.address));
  ports.closed4 = await closedPort('127.0.0.1');
  ports.closed6 = await closedPort('::1');
  // HTTP on both families, HTTPS with a self-signed certificate
  for (const [name, host] of [['http', '127.0.0.1'], ['http6', '::1']] as const) {
    const srv = http.createServer(httpHandler);
    await new Promise<void>((r) => srv.listen(0, host, r));
    ports[name] = (srv.address() as AddressInfo).port;
    closers.push(() => srv.closeAllConnections());
    closers.push(() => srv.close());
  }
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=edgelb-test',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  const tls = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, httpHandler);
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  ports.https = (tls.address() as AddressInfo).port;
  closers.push(() => tls.closeAllConnections());
  closers.push(() => tls.close());
});

after(() => {
  for (const c of closers) c();
  rmSync(dir, { recursive: true, force: true });
});

interface Row {
  desc: string;
  run: () => Promise<ProbeOutcome>;
  want: { ok: true } | { ok: false; failure: string };
}

function req(address: string, port: string | number, s: Partial<ProbeSpec>): ProbeRequest {
  return { address, port: typeof port === 'number' ? port : ports[port]!, spec: spec(s) };
}

const rows: Row[] = [
  // ---- tcp
  { desc: 'tcp: a listener is healthy', run: () => probeTcp(req('127.0.0.1', 'tcpSilent', {})), want: { ok: true } },
  { desc: 'tcp: IPv6 listener', run: () => probeTcp(req('::1', 'tcp6', {})), want: { ok: true } },
  { desc: 'tcp: closed port is refused', run: () => probeTcp(req('127.0.0.1', 'closed4', {})), want: { ok: false, failure: 'refused' } },
  { desc: 'tcp: closed IPv6 port is refused', run: () => probeTcp(req('::1', 'closed6', {})), want: { ok: false, failure: 'refused' } },
  { desc: 'tcp: request/response matches', run: () => probeTcp(req('127.0.0.1', 'tcpPong', { request: 'PING\r\n', response: '+PONG' })), want: { ok: true } },
  { desc: 'tcp: wrong answer times out waiting', run: () => probeTcp(req('127.0.0.1', 'tcpPong', { request: 'HELLO\r\n', response: '+PONG' })), want: { ok: false, failure: 'timeout' } },
  { desc: 'tcp: silent server times out on expected response', run: () => probeTcp(req('127.0.0.1', 'tcpSilent', { request: 'PING', response: 'PONG' })), want: { ok: false, failure: 'timeout' } },
  { desc: 'tcp: server closes before the response', run: () => probeTcp(req('127.0.0.1', 'tcpClose', { response: 'hello' })), want: { ok: false, failure: 'closed' } },
  { desc: 'tcp: response sent unasked is accepted', run: () => probeTcp(req('127.0.0.1', 'tcpClose', { response: 'bye' })), want: { ok: true } },
  { desc: 'tcp: no port', run: () => probeTcp({ address: '127.0.0.1', port: undefined, spec: spec({}) }), want: { ok: false, failure: 'error' } },
  // ---- udp
  { desc: 'udp: echo with expected response', run: () => probeUdp(req('127.0.0.1', 'udpEcho', { type: 'udp', request: 'ping', response: 'echo:ping' })), want: { ok: true } },
  { desc: 'udp: IPv6 echo', run: () => probeUdp(req('::1', 'udp6Echo', { type: 'udp', request: 'ping6', response: 'ping6' })), want: { ok: true } },
  { desc: 'udp: default payload is echoed', run: () => probeUdp(req('127.0.0.1', 'udpEcho', { type: 'udp', response: 'edgelb-probe' })), want: { ok: true } },
  { desc: 'udp: closed port answers ICMP unreachable', run: () => probeUdp(req('127.0.0.1', 'closed4', { type: 'udp' })), want: { ok: false, failure: 'refused' } },
  { desc: 'udp: closed port with expected response', run: () => probeUdp(req('127.0.0.1', 'closed4', { type: 'udp', response: 'x' })), want: { ok: false, failure: 'refused' } },
  { desc: 'udp: silent server without expected response is healthy', run: () => probeUdp(req('127.0.0.1', 'udpSilent', { type: 'udp' })), want: { ok: true } },
  { desc: 'udp: silent server with expected response times out', run: () => probeUdp(req('127.0.0.1', 'udpSilent', { type: 'udp', response: 'pong' })), want: { ok: false, failure: 'timeout' } },
  { desc: 'udp: another answer is a mismatch', run: () => probeUdp(req('127.0.0.1', 'udpOther', { type: 'udp', response: 'pong' })), want: { ok: false, failure: 'mismatch' } },
  // ---- http
  { desc: 'http: 200 on the path', run: () => probeHttp(req('127.0.0.1', 'http', { type: 'http', path: '/healthz' }), false), want: { ok: true } },
  { desc: 'http: IPv6', run: () => probeHttp(req('::1', 'http6', { type: 'http', path: '/healthz', response: 'ok' }), false), want: { ok: true } },
  { desc: 'http: expected body', run: () => probeHttp(req('127.0.0.1', 'http', { type: 'http', path: '/healthz', response: 'status: ok' }), false), want: { ok: true } },
  { desc: 'http: body mismatch', run: () => probeHttp(req('127.0.0.1', 'http', { type: 'http', path: '/healthz', response: 'ready' }), false), want: { ok: false, failure: 'mismatch' } },
  { desc: 'http: 503 is a status failure', run: () => probeHttp(req('127.0.0.1', 'http', { type: 'http', path: '/fail' }), false), want: { ok: false, failure: 'status' } },
  { desc: 'http: 503 with matching body is still a failure', run: () => probeHttp(req('127.0.0.1', 'http', { type: 'http', path: '/fail', response: 'status' }), false), want: { ok: false, failure: 'status' } },
  { desc: 'http: 404 is a status failure', run: () => probeHttp(req('127.0.0.1', 'http', { type: 'http', path: '/missing' }), false), want: { ok: false, failure: 'status' } },
  { desc: 'http: 302 counts as up', run: () => probeHttp(req('127.0.0.1', 'http', { type: 'http', path: '/redirect' }), false), want: { ok: true } },
  { desc: 'http: request body is POSTed', run: () => probeHttp(req('127.0.0.1', 'http', { type: 'http', path: '/echo', request: 'are-you-there', response: 'POST are-you-there' }), false), want: { ok: true } },
  { desc: 'http: slow answer times out', run: () => probeHttp(req('127.0.0.1', 'http', { type: 'http', path: '/slow' }), false), want: { ok: false, failure: 'timeout' } },
  { desc: 'http: closed port is refused', run: () => probeHttp(req('127.0.0.1', 'closed4', { type: 'http' }), false), want: { ok: false, failure: 'refused' } },
  // ---- https
  { desc: 'https: self-signed backend is probed', run: () => probeHttp(req('127.0.0.1', 'https', { type: 'https', path: '/healthz', response: 'ok' }), true), want: { ok: true } },
  { desc: 'https: 503 over TLS', run: () => probeHttp(req('127.0.0.1', 'https', { type: 'https', path: '/fail' }), true), want: { ok: false, failure: 'status' } },
  { desc: 'https: plain HTTP server fails the TLS handshake', run: () => probeHttp(req('127.0.0.1', 'http', { type: 'https', path: '/healthz' }), true), want: { ok: false, failure: 'error' } },
  { desc: 'http: a TLS server resets plain HTTP', run: () => probeHttp(req('127.0.0.1', 'https', { type: 'http', path: '/healthz', timeoutMs: 500 }), false), want: { ok: false, failure: 'closed' } },
];

for (const row of rows) {
  test(row.desc, async () => {
    const out = await row.run();
    if (row.want.ok) {
      assert.equal(out.ok, true, `${row.desc}: ${JSON.stringify(out)}`);
      assert.equal(out.failure, undefined);
    } else {
      assert.equal(out.ok, false, `${row.desc}: ${JSON.stringify(out)}`);
      assert.equal(out.failure, row.want.failure, `${row.desc}: ${JSON.stringify(out)}`);
    }
    assert.ok(out.rttMs >= 0 && out.rttMs < 3000);
  });
}

test('a timeout is reported close to timeoutMs', async () => {
  const t0 = performance.now();
  const out = await probeTcp(req('127.0.0.1', 'tcpSilent', { request: 'x', response: 'never', timeoutMs: 200 }));
  const took = performance.now() - t0;
  assert.equal(out.failure, 'timeout');
  assert.ok(took >= 190 && took < 1000, `took ${took} ms`);
});
