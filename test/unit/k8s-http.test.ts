// edgelb's own Kubernetes client (src/k8s/http.ts) against a local HTTP server standing in for the
// API server: what it reads from kubeconfigs (token, token file, basic auth, several files in
// KUBECONFIG, a kubeconfig it must hand to @kubernetes/client-node: an exec plugin), broken
// kubeconfigs, error answers (a Status, not JSON, nobody listening), and watch streams (events
// cut across chunks, a broken line, a refused watch, stop).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeApiError, KubeClient } from '../../src/k8s/http.js';
import { statusOf } from '../../src/k8s/client.js';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  type: string | undefined;
  body: string;
}
const seen: Seen[] = [];
let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_q, res) => res.end('{}');
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, type: req.headers['content-type'], body });
    handler(req, res, body);
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
const dir = mkdtempSync(join(tmpdir(), 'edgelb-http-'));
after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(name: string, user: Record<string, unknown>, o: { cluster?: Record<string, unknown>; current?: string } = {}): string {
  const p = join(dir, name);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: url, ...o.cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    'current-context': o.current ?? 'x',
  };
  writeFileSync(p, JSON.stringify(doc)); // JSON is YAML
  return p;
}

test('http: a token kubeconfig signs each request; query, body and content type as given', async () => {
  handler = (_q, res) => res.end('{"metadata":{"resourceVersion":"7"}}');
  const c = await KubeClient.load(kubeconfig('token', { token: 'T1' }));
  const r = await c.request<{ metadata: { resourceVersion: string } }>('PATCH', '/api/v1/namespaces/a/services/b/status', {
    query: { fieldManager: 'edgelb leader', force: true, skipped: undefined },
    body: { status: { x: 1 } },
    contentType: 'application/strategic-merge-patch+json',
  });
  assert.equal(r.metadata.resourceVersion, '7');
  const s = seen.at(-1)!;
  assert.equal(s.method, 'PATCH');
  assert.equal(s.url, '/api/v1/namespaces/a/services/b/status?fieldManager=edgelb+leader&force=true');
  assert.equal(s.auth, 'Bearer T1');
  assert.equal(s.type, 'application/strategic-merge-patch+json');
  assert.deepEqual(JSON.parse(s.body), { status: { x: 1 } });
});

test('http: tokenFile (relative to the kubeconfig), basic auth, and several files in KUBECONFIG', async () => {
  writeFileSync(join(dir, 'tok'), 'FROM-FILE\n');
  await (await KubeClient.load(kubeconfig('tf', { tokenFile: 'tok' }))).request('GET', '/x');
  assert.equal(seen.at(-1)!.auth, 'Bearer FROM-FILE');
  await (await KubeClient.load(kubeconfig('basic', { username: 'ann', password: 'pw' }))).request('GET', '/x');
  assert.equal(seen.at(-1)!.auth, `Basic ${Buffer.from('ann:pw').toString('base64')}`);
  // the first file names the context, the second defines it: merged as kubectl merges them
  const a = join(dir, 'a');
  writeFileSync(a, 'apiVersion: v1\nkind: Config\ncurrent-context: x\n');
  const b = kubeconfig('b', { token: 'FROM-B' }, { current: '' });
  const old = process.env.KUBECONFIG;
  process.env.KUBECONFIG = [a, join(dir, 'missing'), b].join(':');
  try {
    await (await KubeClient.load()).request('GET', '/x');
  } finally {
    if (old === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = old;
  }
  assert.equal(seen.at(-1)!.auth, 'Bearer FROM-B');
});

test('http: an exec plugin kubeconfig is signed by @kubernetes/client-node', async () => {
  const cred = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: 'FROM-EXEC' } });
  const p = kubeconfig('exec', { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: process.execPath, args: ['-e', `console.log(${JSON.stringify(cred)})`] } }, { cluster: { 'insecure-skip-tls-verify': true } });
  await (await KubeClient.load(p)).request('GET', '/x');
  assert.equal(seen.at(-1)!.auth, 'Bearer FROM-EXEC');
});

test('http: broken kubeconfigs are refused with what is wrong', async () => {
  await assert.rejects(KubeClient.load(kubeconfig('nocontext', { token: 't' }, { current: 'nope' })), /No active cluster.*"nope"/);
  const p = join(dir, 'nocluster');
  writeFileSync(p, 'current-context: x\ncontexts: [{name: x, context: {cluster: gone, user: u}}]\n');
  await assert.rejects(KubeClient.load(p), /No active cluster.*"gone"/);
  writeFileSync(p, 'clusters: [unclosed\n');
  await assert.rejects(KubeClient.load(p));
  writeFileSync(p, '');
  await assert.rejects(KubeClient.load(p), /No active cluster/);
  await assert.rejects(KubeClient.load(join(dir, 'absent')), /no such file/);
});

test('http: error answers carry their status; not JSON, or nobody listening, is an error too', async () => {
  const c = KubeClient.forServer(url, { token: 't' });
  handler = (_q, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404,"message":"services \\"b\\" not found"}');
  await assert.rejects(c.request('GET', '/api/v1/namespaces/a/services/b'), (e) => e instanceof KubeApiError && statusOf(e) === 404 && /not found/.test(e.message));
  handler = (_q, res) => res.writeHead(500).end('<html>oops');
  await assert.rejects(c.request('GET', '/x'), (e) => statusOf(e) === 500 && /oops/.test((e as Error).message));
  handler = (_q, res) => res.end('not json');
  await assert.rejects(c.request('GET', '/x'), /not JSON/);
  await assert.rejects(KubeClient.forServer('http://127.0.0.1:1').request('GET', '/x'), (e) => statusOf(e) === 0);
});

test('http: watch delivers events cut across chunks in order; a broken line ends it with an error; stop ends it quietly', async () => {
  const c = KubeClient.forServer(url);
  handler = (req, res) => {
    assert.match(req.url!, /watch=true/);
    assert.match(req.url!, /resourceVersion=5/);
    res.writeHead(200);
    const text = ['{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"6"}}}', '{"type":"DELETED","object":{"metadata":{"name":"a","resourceVersion":"7"}}}', '{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"8"}}}', ''].join('\n');
    res.write(text.slice(0, 30));
    setTimeout(() => res.end(text.slice(30)), 20);
  };
  const got: string[] = [];
  const w = await c.watch('/api/v1/services', { resourceVersion: '5' }, (t, o) => got.push(`${t}:${(o.metadata as { resourceVersion: string }).resourceVersion}`));
  assert.equal(await w.done, undefined);
  assert.deepEqual(got, ['ADDED:6', 'DELETED:7', 'BOOKMARK:8']);

  handler = (_q, res) => {
    res.writeHead(200);
    res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"MODIFIED",garbage\n');
  };
  const got2: string[] = [];
  const w2 = await c.watch('/api/v1/services', {}, (t) => got2.push(t));
  assert.ok((await w2.done) instanceof Error);
  assert.deepEqual(got2, ['ADDED']);

  handler = (_q, res) => res.writeHead(410).end('{"kind":"Status","code":410,"message":"too old resource version"}');
  await assert.rejects(c.watch('/api/v1/services', { resourceVersion: '1' }, () => undefined), (e) => statusOf(e) === 410);

  handler = (_q, res) => res.writeHead(200).write('');
  const w3 = await c.watch('/api/v1/services', {}, () => undefined);
  w3.stop();
  assert.equal(await w3.done, undefined);
});
