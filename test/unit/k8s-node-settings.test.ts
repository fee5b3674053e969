// Per-node settings in Kubernetes mode (issue 14, point 2: "the same node.interface and bgp.asn
// everywhere"): Node annotations override the ConfigMap for their node, each value is validated
// (a bad one is reported by name and the last good one kept), node-level changes after the start
// wait for a restart (RestartRequired), the cluster section is defaulted (point 1: no section
// meant every node master of every shard), and members are the ready pods plus this one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { NodeSettings, withClusterDefaults, withFlowHashDefault, DEFAULT_K8S_SHARDS, ANN_NODE_ASN, ANN_NODE_INTERFACE, ANN_NODE_ROUTER_ID } from '../../src/k8s/node-settings.js';
import { NodeEvents } from '../../src/k8s/node-events.js';
import { translate, type ClusterView } from '../../src/k8s/translate.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { DesiredState } from '../../src/model/desired-state.js';
import type { NodeObj } from '../../src/k8s/types.js';

const base: DesiredState = {
  node: { name: 'n1', routerId: '', interface: 'eth0' },
  api: { listen: '127.0.0.1:11111' },
  bgp: { asn: 64513, routerId: '', listenPort: 179, peers: [], communities: [], largeCommunities: [] },
  pools: [], services: [], policies: [],
  dataplane: { attachMode: 'auto', maglevSize: 65537, conntrackSize: 65536, enabled: true },
  l2: { garpCount: 3, garpIntervalMs: 100, refreshIntervalMs: 0 },
};
const nodeObj = (ann: Record<string, string>): NodeObj => ({ metadata: { name: 'n1', annotations: ann } });
const eff = (s: DesiredState) => ({ iface: s.node.interface, asn: s.bgp?.asn, routerId: s.node.routerId });

interface Row { desc: string; ann: Record<string, string>; want: { iface: string; asn: number; routerId: string }; problems: RegExp[] }
const rows: Row[] = [
  { desc: 'no annotation: the ConfigMap', ann: {}, want: { iface: 'eth0', asn: 64513, routerId: '' }, problems: [] },
  { desc: 'all three override', ann: { [ANN_NODE_INTERFACE]: 'bond0', [ANN_NODE_ASN]: '64600', [ANN_NODE_ROUTER_ID]: '10.9.9.9' }, want: { iface: 'bond0', asn: 64600, routerId: '10.9.9.9' }, problems: [] },
  { desc: 'a 4-byte ASN and spaces around it', ann: { [ANN_NODE_ASN]: ' 4200000001 ' }, want: { iface: 'eth0', asn: 4200000001, routerId: '' }, problems: [] },
  { desc: 'ASN 0', ann: { [ANN_NODE_ASN]: '0' }, want: { iface: 'eth0', asn: 64513, routerId: '' }, problems: [/edgelb\.io\/asn: "0" must be 1\.\.4294967295; using the ConfigMap's bgp\.asn/] },
  { desc: 'ASN too large', ann: { [ANN_NODE_ASN]: '4294967296' }, want: { iface: 'eth0', asn: 64513, routerId: '' }, problems: [/edgelb\.io\/asn/] },
  { desc: 'ASN with letters', ann: { [ANN_NODE_ASN]: 'AS64513' }, want: { iface: 'eth0', asn: 64513, routerId: '' }, problems: [/"AS64513"/] },
  { desc: 'ASN in hex', ann: { [ANN_NODE_ASN]: '0x10' }, want: { iface: 'eth0', asn: 64513, routerId: '' }, problems: [/edgelb\.io\/asn/] },
  { desc: 'interface too long', ann: { [ANN_NODE_INTERFACE]: 'a-very-long-ifname' }, want: { iface: 'eth0', asn: 64513, routerId: '' }, problems: [/edgelb\.io\/interface: .* must be an interface name/] },
  { desc: 'interface with a slash', ann: { [ANN_NODE_INTERFACE]: 'eth0/1' }, want: { iface: 'eth0', asn: 64513, routerId: '' }, problems: [/edgelb\.io\/interface/] },
  { desc: 'interface empty', ann: { [ANN_NODE_INTERFACE]: '' }, want: { iface: 'eth0', asn: 64513, routerId: '' }, problems: [/edgelb\.io\/interface/] },
  { desc: 'interface ".."', ann: { [ANN_NODE_INTERFACE]: '..' }, want: { iface: 'eth0', asn: 64513, routerId: '' }, problems: [/edgelb\.io\/interface/] },
  { desc: 'router id IPv6', ann: { [ANN_NODE_ROUTER_ID]: 'fd00::1' }, want: { iface: 'eth0', asn: 64513, routerId: '' }, problems: [/edgelb\.io\/router-id: "fd00::1" must be an IPv4 address/] },
  { desc: 'router id not an address', ann: { [ANN_NODE_ROUTER_ID]: '10.0.0.300' }, want: { iface: 'eth0', asn: 64513, routerId: '' }, problems: [/edgelb\.io\/router-id/] },
  { desc: 'one bad, two good', ann: { [ANN_NODE_INTERFACE]: 'eno1', [ANN_NODE_ASN]: 'x', [ANN_NODE_ROUTER_ID]: '10.1.1.1' }, want: { iface: 'eno1', asn: 64513, routerId: '10.1.1.1' }, problems: [/edgelb\.io\/asn: "x"/] },
];

for (const r of rows) {
  test(`node settings at start: ${r.desc}`, () => {
    const res = new NodeSettings().resolve(base, nodeObj(r.ann));
    assert.deepEqual(eff(res.settings), r.want);
    assert.equal(res.problems.length, r.problems.length, res.problems.map((p) => p.message).join('; '));
    r.problems.forEach((re, i) => assert.match(res.problems[i]!.message, re));
    assert.equal(res.restartRequired, '');
  });
}

test('an ASN annotation on a node whose ConfigMap has no bgp section is refused by name', () => {
  const { bgp: _bgp, ...noBgp } = base;
  const res = new NodeSettings().resolve(noBgp, nodeObj({ [ANN_NODE_ASN]: '64600' }));
  assert.match(res.problems[0]!.message, /edgelb\.io\/asn: "64600" the ConfigMap has no bgp section/);
  assert.equal(res.settings.bgp, undefined);
});

test('after the start: a changed annotation is not applied but reported as RestartRequired; a bad one keeps the last good value; removing it is RestartRequired too', () => {
  const ns = new NodeSettings();
  const first = ns.resolve(base, nodeObj({ [ANN_NODE_ASN]: '64600', [ANN_NODE_INTERFACE]: 'eno1' }));
  assert.deepEqual(eff(first.settings), { iface: 'eno1', asn: 64600, routerId: '' });

  const bad = ns.resolve(base, nodeObj({ [ANN_NODE_ASN]: 'sixty', [ANN_NODE_INTERFACE]: 'eno1' }));
  assert.match(bad.problems[0]!.message, /edgelb\.io\/asn: "sixty" must be 1\.\.4294967295; keeping 64600/);
  assert.equal(bad.restartRequired, '', 'the last good value is the running one: nothing to restart for');
  assert.deepEqual(eff(bad.settings), { iface: 'eno1', asn: 64600, routerId: '' });

  const changed = ns.resolve(base, nodeObj({ [ANN_NODE_ASN]: '64700', [ANN_NODE_INTERFACE]: 'eno1' }));
  assert.equal(changed.problems.length, 0);
  assert.match(changed.restartRequired, /asn 64600 → 64700/);
  assert.deepEqual(eff(changed.settings), { iface: 'eno1', asn: 64600, routerId: '' }, 'the node keeps running on what it started with');

  const removed = ns.resolve(base, nodeObj({}));
  assert.match(removed.restartRequired, /interface "eno1" → "eth0"/);
  const back = ns.resolve(base, nodeObj({ [ANN_NODE_ASN]: '64600', [ANN_NODE_INTERFACE]: 'eno1' }));
  assert.equal(back.restartRequired, '');
});

test('a reloaded ConfigMap: node-level changes wait for a restart, bgp communities apply', () => {
  const ns = new NodeSettings();
  ns.resolve(base, nodeObj({}));
  const reloaded = { ...base, node: { ...base.node, interface: 'eth9' }, bgp: { ...base.bgp!, communities: ['65000:1'] } };
  const r = ns.resolve(reloaded, nodeObj({}));
  assert.match(r.restartRequired, /interface "eth0" → "eth9"/);
  assert.equal(r.settings.node.interface, 'eth0');
  assert.deepEqual(r.settings.bgp!.communities, ['65000:1']);
  // an annotation naming the running interface cancels the ConfigMap's change for this node
  assert.equal(ns.resolve(reloaded, nodeObj({ [ANN_NODE_INTERFACE]: 'eth0' })).restartRequired, '');
});

test('NodeEvents writes one Warning Event on the Node per distinct problem and sets the gauges', async () => {
  const events: Array<{ ns: string; body: { reason: string; message: string; type: string; involvedObject: { kind: string; name: string } } }> = [];
  const registry = new Registry();
  const rep = new NodeEvents({ writer: { createEvent: async (ns, body) => void events.push({ ns, body: body as never }) }, nodeName: 'n1', identity: 'pod-1', logger: silentLogger(), registry });
  const ns = new NodeSettings();
  ns.resolve(base, nodeObj({}));
  const bad = ns.resolve(base, nodeObj({ [ANN_NODE_ASN]: 'x' }));
  rep.report(bad);
  rep.report(bad); // the same again: no second Event
  rep.report(ns.resolve(base, nodeObj({ [ANN_NODE_ASN]: '64999' })));
  rep.configRejected('bgp.asn: must be 1..4294967295');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events.map((e) => [e.ns, e.body.involvedObject.kind, e.body.involvedObject.name, e.body.type, e.body.reason]), [
    ['default', 'Node', 'n1', 'Warning', 'InvalidNodeSetting'],
    ['default', 'Node', 'n1', 'Warning', 'RestartRequired'],
    ['default', 'Node', 'n1', 'Warning', 'InvalidConfig'],
  ]);
  assert.match(events[0]!.body.message, /edgelb\.io\/asn: "x"/);
  assert.match(events[1]!.body.message, /asn 64513 → 64999/);
  const text = await registry.metrics();
  assert.match(text, /edgelb_node_restart_required 1/);
});

test('Kubernetes mode without a cluster section gets one: the key beside the config, several shards', () => {
  const s = withClusterDefaults(base, '/etc/edgelb');
  assert.equal(s.cluster!.listen, '0.0.0.0:11112');
  assert.equal(s.cluster!.keyFile, '/etc/edgelb/cluster/key');
  assert.equal(s.cluster!.shards, DEFAULT_K8S_SHARDS);
  assert.ok(DEFAULT_K8S_SHARDS > 1);
  const own = { ...base, cluster: { listen: '10.0.0.1:7000', members: [], shards: 2, heartbeatIntervalMs: 30, deadAfterMs: 150, holdDownMs: 0 } };
  assert.equal(withClusterDefaults(own, '/x').cluster, own.cluster, 'an explicit section is kept');
});

test('Kubernetes mode: the Secret\'s flow-hash-key beside the key keys the flow hash, unless the file gives one', () => {
  const there = (p: string) => p === '/etc/edgelb/cluster/flow-hash-key';
  assert.equal(withFlowHashDefault(base, '/etc/edgelb', there).dataplane.flowHashKeyFile, '/etc/edgelb/cluster/flow-hash-key');
  assert.equal(withFlowHashDefault(base, '/etc/edgelb', () => false), base, 'an older Secret without it: derived from the key as before');
  const own = { ...base, dataplane: { ...base.dataplane, flowHashKey: 'a cluster-wide secret' } };
  assert.equal(withFlowHashDefault(own, '/etc/edgelb', there), own, 'dataplane.flowHashKey wins');
  const file = { ...base, dataplane: { ...base.dataplane, flowHashKeyFile: '/mine' } };
  assert.equal(withFlowHashDefault(file, '/etc/edgelb', there), file, 'dataplane.flowHashKeyFile wins');
});

test('cluster members are the ready edgelb pods and this one (a starting pod is no member yet)', () => {
  const view: ClusterView = {
    services: [], slices: [], nodes: [], pools: [], peers: [], policies: [], loxiPeers: [], secrets: [],
    members: [
      { nodeName: 'n1', ip: '192.0.2.10', ready: false }, // this node, still starting
      { nodeName: 'n2', ip: '192.0.2.11', ready: true },
      { nodeName: 'n3', ip: '192.0.2.12', ready: false },
    ],
  };
  const t = translate(view, { nodeName: 'n1', settings: withClusterDefaults(base, '/etc/edgelb') });
  assert.deepEqual(t.state.cluster!.members, ['192.0.2.10:11112', '192.0.2.11:11112']);
});
