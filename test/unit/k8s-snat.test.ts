// Kubernetes mode, connection sync: each node's SNAT addresses from its Node's
// edgelb.io/snat-address annotation over the ConfigMap's map, read for every Node (a survivor
// adopts a dead node's), and the values that must not be used (bad, duplicate) refused with a
// Problem on that Node. Table tests of the pure part, then through translate().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANN_NODE_SNAT, parseSnatAnnotation, snatFromNodes } from '../../src/k8s/snat-annotations.js';
import { translate, type ClusterView } from '../../src/k8s/translate.js';
import type { ClusterSyncSpec, DesiredState } from '../../src/model/desired-state.js';
import type { NodeObj } from '../../src/k8s/types.js';

const node = (name: string, snat?: string): NodeObj => ({ metadata: { name, ...(snat !== undefined ? { annotations: { [ANN_NODE_SNAT]: snat } } : {}) }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.10' }] } });
const base: ClusterSyncSpec = { port: 11116, snatAddresses: {}, refreshMs: 2000, queueLimit: 65536 };

const parseRows: Array<{ raw: string; want: ReturnType<typeof parseSnatAnnotation> | 'refused' }> = [
  { raw: '10.0.0.31', want: { ok: true, v4: '10.0.0.31' } },
  { raw: ' 2001:DB8::0031 ', want: { ok: true, v6: '2001:db8::31' } },
  { raw: '10.0.0.31,2001:db8::31', want: { ok: true, v4: '10.0.0.31', v6: '2001:db8::31' } },
  { raw: '2001:db8::31, 10.0.0.31', want: { ok: true, v4: '10.0.0.31', v6: '2001:db8::31' } },
  { raw: '', want: 'refused' },
  { raw: ',', want: 'refused' },
  { raw: 'eth0', want: 'refused' },
  { raw: '10.0.0.31,10.0.0.32', want: 'refused' },
  { raw: '2001:db8::31,2001:db8::32', want: 'refused' },
  { raw: '10.0.0.31,2001:db8::31,10.0.0.32', want: 'refused' },
  { raw: '10.0.0.31/32', want: 'refused' },
  { raw: 'fe80::1%eth0', want: 'refused' },
  { raw: 'fe80::1', want: 'refused' },
  { raw: '127.0.0.1', want: 'refused' },
  { raw: '224.0.0.5', want: 'refused' },
  { raw: '0.0.0.0', want: 'refused' },
  { raw: '::', want: 'refused' },
  { raw: 'ff02::1', want: 'refused' },
  { raw: '10.0.0.300', want: 'refused' },
];
for (const r of parseRows) {
  test(`snat annotation ${JSON.stringify(r.raw)} is ${r.want === 'refused' ? 'refused' : 'read'}`, () => {
    const got = parseSnatAnnotation(r.raw);
    if (r.want === 'refused') assert.equal(got.ok, false);
    else assert.deepEqual(got, r.want);
  });
}

test('snat: every Node\'s annotation lays over the ConfigMap\'s map, per family', () => {
  const spec = { ...base, snatAddresses: { n1: '10.0.0.31', n3: '10.0.0.33' }, snatAddresses6: { n3: '2001:db8::33' } };
  const r = snatFromNodes(spec, [node('n2', '10.0.0.32,2001:db8::32'), node('n1', '2001:db8::31'), node('n3')]);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.sync.snatAddresses, { n1: '10.0.0.31', n2: '10.0.0.32', n3: '10.0.0.33' });
  assert.deepEqual(r.sync.snatAddresses6, { n1: '2001:db8::31', n2: '2001:db8::32', n3: '2001:db8::33' });
  assert.deepEqual(spec.snatAddresses, { n1: '10.0.0.31', n3: '10.0.0.33' }, 'the ConfigMap spec is not changed');
});

test('snat: a bad annotation is a Problem on its Node, and the ConfigMap\'s address stays', () => {
  const r = snatFromNodes({ ...base, snatAddresses: { n1: '10.0.0.31' } }, [node('n1', 'not-an-address')]);
  assert.deepEqual(r.sync.snatAddresses, { n1: '10.0.0.31' });
  assert.equal(r.sync.snatAddresses6, undefined);
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0]!.object, 'Node n1');
  assert.equal(r.problems[0]!.reason, 'InvalidSnatAddress');
  assert.match(r.problems[0]!.message, /edgelb\.io\/snat-address/);
});

test('snat: one address on two Nodes: the first by name keeps it, the other gets none of that family', () => {
  const r = snatFromNodes(base, [node('n2', '10.0.0.31,2001:db8::32'), node('n1', '10.0.0.31')]);
  assert.deepEqual(r.sync.snatAddresses, { n1: '10.0.0.31' });
  assert.deepEqual(r.sync.snatAddresses6, { n2: '2001:db8::32' });
  assert.deepEqual(r.problems.map((p) => [p.object, p.reason]), [['Node n2', 'DuplicateSnatAddress']]);
  // an annotation that takes the ConfigMap's address of another node is refused the same way
  const c = snatFromNodes({ ...base, snatAddresses: { n1: '10.0.0.31' } }, [node('n2', '10.0.0.31')]);
  assert.deepEqual(c.sync.snatAddresses, { n1: '10.0.0.31' });
  assert.equal(c.problems[0]!.reason, 'DuplicateSnatAddress');
});

const settings: DesiredState = {
  node: { name: 'ignored', routerId: '', interface: 'eth0' },
  api: { listen: '127.0.0.1:11111' },
  cluster: { listen: '0.0.0.0:11112', members: [], shards: 3, heartbeatIntervalMs: 100, deadAfterMs: 500, holdDownMs: 1000, keyFile: '/etc/edgelb/cluster/key', sync: base },
  pools: [], services: [], policies: [],
  dataplane: { attachMode: 'auto', maglevSize: 65537, conntrackSize: 65536, enabled: true },
  l2: { garpCount: 3, garpIntervalMs: 100, refreshIntervalMs: 0 },
};
const view = (nodes: NodeObj[]): ClusterView => ({
  services: [], slices: [], nodes, pools: [], peers: [], policies: [], loxiPeers: [], secrets: [], reports: [],
  members: [{ nodeName: 'n1', ip: '192.0.2.10', ready: true }, { nodeName: 'n2', ip: '192.0.2.11', ready: true }],
});

test('translate: the state carries every Node\'s SNAT addresses and the sync port; problems name the Node', () => {
  const t = translate(view([node('n1', '10.0.0.31'), node('n2', '10.0.0.32,2001:db8::32'), node('n3', 'x')]), { nodeName: 'n1', settings });
  assert.deepEqual(t.state.cluster!.sync, { ...base, snatAddresses: { n1: '10.0.0.31', n2: '10.0.0.32' }, snatAddresses6: { n2: '2001:db8::32' } });
  assert.deepEqual(t.state.cluster!.members, ['192.0.2.10:11112', '192.0.2.11:11112']);
  assert.deepEqual(t.problems.filter((p) => p.object === 'Node n3').map((p) => p.reason), ['InvalidSnatAddress']);
  // without sync in the settings, no SNAT map and no problem from the annotations
  const { sync: _s, ...noSync } = settings.cluster!;
  const u = translate(view([node('n3', 'x')]), { nodeName: 'n1', settings: { ...settings, cluster: noSync } });
  assert.equal(u.state.cluster!.sync, undefined);
  assert.deepEqual(u.problems, []);
});
