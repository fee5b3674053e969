// `edgelb get … --all-nodes` client logic (src/cli/all-nodes.ts) over a local HTTP server that
// answers as the kube-apiserver does (pod list, pods/proxy answers and Status errors recorded from
// a real one): pods/proxy paths, which pods are asked and on which port, merged rows under NODE,
// and every way a node can fail becoming an error row. The real API server is in
// test/k8s/served-lab.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { allNodesTable, errorText, getAllNodes, podProxyPath, podTargets, type ApiServer } from '../../src/cli/all-nodes.js';
import { main } from '../../src/cli/program.js';
import type { HaRow, VipRow } from '../../src/model/views.js';

const vip = (v: string, announced: boolean): VipRow => ({
  vip: v, services: ['web/shop'], pool: 'edge', shard: 0, master: 'n1', interface: 'eth0', announce: 'bgp', bgpMode: 'ecmp',
  bgp: announced ? { announced: true, reason: 'announced' } : { announced: false, reason: 'drained' }, l2: { announced: false, reason: 'not-in-pool-mode' },
});
const pod = (name: string, node: string | undefined, o: { phase?: string; ip?: string; port?: number; deleting?: boolean } = {}) => ({
  metadata: { name, ...(o.deleting ? { deletionTimestamp: '2026-12-07T00:00:00Z' } : {}) },
  spec: { ...(node ? { nodeName: node } : {}), containers: [{ name: 'edgelb', ports: [{ name: 'metrics', containerPort: 11113 }, ...(o.port ? [{ name: 'views', containerPort: o.port }] : [])] }] },
  status: { phase: o.phase ?? 'Running', ...(o.ip !== undefined ? { podIP: o.ip } : { podIP: '10.0.0.1' }) },
});
// what a kube-apiserver answers when it cannot dial a pod (recorded)
const DIAL_REFUSED = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'error trying to reach service: dial tcp 10.77.0.2:1: connect: connection refused', reason: 'ServiceUnavailable', code: 503 });

let server: Server;
let api: ApiServer;
const seen: string[] = [];
let pods: unknown[] = [];
const answers = new Map<string, { status: number; body: string; delayMs?: number }>();

before(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.headers.authorization ?? ''} ${req.url}`);
    const u = req.url ?? '';
    if (u.startsWith('/api/v1/namespaces/edgelb-system/pods?')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'PodList', items: pods }));
      return;
    }
    const a = answers.get(u);
    if (!a) {
      res.writeHead(404).end(JSON.stringify({ kind: 'Status', message: `no recorded answer for ${u}`, code: 404 }));
      return;
    }
    setTimeout(() => res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body), a.delayMs ?? 0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  api = { server: `http://127.0.0.1:${port}`, options: async () => ({ headers: { authorization: 'Bearer user-token' } }) };
});
after(() => new Promise<void>((r) => server.close(() => r())));

test('all-nodes: the pods/proxy path names namespace, pod and port, escaped; bad ports and paths are refused', () => {
  assert.equal(podProxyPath('edgelb-system', 'edgelb-x7k2p', 11114, '/v1/vips'), '/api/v1/namespaces/edgelb-system/pods/edgelb-x7k2p:11114/proxy/v1/vips');
  assert.equal(podProxyPath('a/b', 'p?q', 1, '/v1/ha'), '/api/v1/namespaces/a%2Fb/pods/p%3Fq:1/proxy/v1/ha');
  for (const port of [0, 65536, 1.5, Number.NaN]) assert.throws(() => podProxyPath('ns', 'p', port, '/v1/ha'), /views port must be 1\.\.65535/);
  assert.throws(() => podProxyPath('ns', 'p', 1, 'v1/ha'), /must start with "\/"/);
});

test('all-nodes: which pods are asked, on their named "views" port, and why the others are not', () => {
  const t = podTargets({ items: [
    pod('b', 'n2', { port: 12000 }), pod('a', 'n1'), pod('c', 'n3', { phase: 'Pending' }), pod('d', 'n4', { ip: '' }), pod('e', undefined),
    pod('f', 'n5', { deleting: true }), pod('g', 'n6', { port: 70000 }), { metadata: {} }, null, 'junk',
  ] }, 11114);
  assert.deepEqual(t.map((x) => [x.node, x.pod, x.port, x.skip ?? '']), [
    ['(pod e, unscheduled)', 'e', 11114, ''],
    ['n1', 'a', 11114, ''],
    ['n2', 'b', 12000, ''],
    ['n3', 'c', 11114, 'pod is Pending, not Running'],
    ['n4', 'd', 11114, 'pod has no IP yet'],
    ['n5', 'f', 11114, 'pod is terminating'],
    ['n6', 'g', 11114, ''], // a port out of range is ignored, not used
  ]);
  assert.throws(() => podTargets({ kind: 'Status' }, 1), /no items list/);
  assert.throws(() => podTargets(null, 1), /no items list/);
});

test('all-nodes: API server and daemon error bodies become one line', () => {
  assert.equal(errorText(503, DIAL_REFUSED), '503: error trying to reach service: dial tcp 10.77.0.2:1: connect: connection refused');
  assert.equal(errorText(403, '{"code":"EDGELB_ERR_API_FORBIDDEN","message":"nope"}'), '403: nope');
  assert.equal(errorText(502, '<html>bad gateway</html>\n'), '502: <html>bad gateway</html>');
  assert.equal(errorText(500, ''), '500: no body');
});

test('all-nodes: rows merged under NODE, each failing node one error row, with the user\'s credentials on every call', async () => {
  pods = [pod('edgelb-a', 'n1'), pod('edgelb-b', 'n2', { port: 12000 }), pod('edgelb-c', 'n3'), pod('edgelb-d', 'n4'), pod('edgelb-e', 'n5', { phase: 'Pending' }), pod('edgelb-f', 'n6')];
  answers.clear();
  answers.set('/api/v1/namespaces/edgelb-system/pods/edgelb-a:11114/proxy/v1/vips', { status: 200, body: JSON.stringify([vip('192.168.90.1', true)]) });
  answers.set('/api/v1/namespaces/edgelb-system/pods/edgelb-b:12000/proxy/v1/vips', { status: 200, body: JSON.stringify([vip('192.168.90.1', false), vip('192.168.90.2', true)]) });
  answers.set('/api/v1/namespaces/edgelb-system/pods/edgelb-c:11114/proxy/v1/vips', { status: 503, body: DIAL_REFUSED });
  answers.set('/api/v1/namespaces/edgelb-system/pods/edgelb-d:11114/proxy/v1/vips', { status: 200, body: JSON.stringify([{ vip: 1 }]) });
  answers.set('/api/v1/namespaces/edgelb-system/pods/edgelb-f:11114/proxy/v1/vips', { status: 200, body: '[]', delayMs: 1500 });
  seen.length = 0;
  const got = await getAllNodes('/v1/vips', { api, timeoutMs: 500 });
  assert.deepEqual(got.map((a) => [a.node, 'error' in a ? 'error' : a.body.length]), [['n1', 1], ['n2', 2], ['n3', 'error'], ['n4', 'error'], ['n5', 'error'], ['n6', 'error']]);
  const err = (n: string) => (got.find((a) => a.node === n) as { error: string }).error;
  assert.match(err('n3'), /^503: error trying to reach service/);
  assert.match(err('n4'), /\/v1\/vips: \[0\]\.vip should be string/);
  assert.equal(err('n5'), 'pod is Pending, not Running');
  assert.match(err('n6'), /no answer within 0\.5 s/);
  assert.ok(seen.every((s) => s.startsWith('Bearer user-token ')), 'every call carries the kubeconfig credentials');
  assert.ok(!seen.some((s) => s.includes('edgelb-e')), 'a pod that is not running is not asked');
  const text = allNodesTable('/v1/vips', got);
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0]!, /^NODE {2}VIP +SERVICES +POOL/);
  assert.match(lines[1]!, /^n1 {4}192\.168\.90\.1 .* yes +no \(not-in-pool-mode\)$/);
  assert.match(lines[2]!, /^n2 {4}192\.168\.90\.1 .* no \(drained\)/);
  assert.match(lines[3]!, /^n2 {4}192\.168\.90\.2 /);
  assert.match(lines[4]!, /^n3 {4}error: 503: error trying to reach service/);
  assert.equal(lines.length, 8);
});

test('all-nodes: ha rows per shard; a view nobody answered still has its headers', () => {
  const ha: HaRow = { node: 'n1', drained: false, shards: [{ shard: 0, state: 'MASTER', master: 'n1', epoch: 2 }, { shard: 1, state: 'BACKUP', master: 'n2', epoch: 1 }] };
  const t = allNodesTable('/v1/ha', [{ node: 'n1', pod: 'a', body: ha }, { node: 'n2', pod: 'b', body: { node: 'n2', drained: true, shards: [] } }]);
  assert.deepEqual(t.trimEnd().split('\n').map((l) => l.split(/ {2,}/)), [
    ['NODE', 'DRAINED', 'SHARD', 'STATE', 'MASTER', 'EPOCH'],
    ['n1', 'no', '0', 'MASTER', 'n1', '2'],
    ['n1', 'no', '1', 'BACKUP', 'n2', '1'],
    ['n2', 'yes'],
  ]);
  assert.match(allNodesTable('/v1/bgp/neighbors', [{ node: 'n1', pod: 'a', error: 'down' }]), /^NODE {2}PEER {2}ASN .*\nn1 {4}error: down\n$/);
});

test('all-nodes: the listing itself failing is one clear error (exit 69 unreachable, 1 refused), not a stack', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) };
  const dir = (await import('node:fs')).mkdtempSync((await import('node:path')).join((await import('node:os')).tmpdir(), 'edgelb-kc-'));
  const kc = `${dir}/kc`;
  (await import('node:fs')).writeFileSync(kc, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`);
  assert.equal(await main(['node', 'edgelb', 'get', 'vips', '--all-nodes', '--kubeconfig', kc], io), 69);
  assert.match(err.join(''), /^edgelb: EDGELB_ERR_API_UNREACHABLE: the Kubernetes API server at http:\/\/127\.0\.0\.1:1 did not answer/);
  err.length = 0;
  assert.equal(await main(['node', 'edgelb', 'get', 'vips', '--all-nodes', '--kubeconfig', `${dir}/missing`], io), 1);
  assert.match(err.join(''), /EDGELB_ERR_INVALID_ARGUMENT: cannot read the kubeconfig/);
  err.length = 0;
  assert.equal(await main(['node', 'edgelb', 'get', 'vips', '--all-nodes', '--views-port', 'x'], io), 1);
  assert.match(err.join(''), /--views-port must be a port number/);
  (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
});
