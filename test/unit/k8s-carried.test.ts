// The Served decision from the nodes' reports (src/k8s/carried.ts): a servable Service is Served
// only while some node with a ready pod carries every VIP (BGP sent to an Established session, or
// the L2 owner), and the condition names the carriers or says why there are none. Also the
// report a node writes (canonical, bounded) and the write-on-change rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { carriageOf, MAX_WITHHELD, nameNodes, reportChanged, reportStatus, servedDecision } from '../../src/k8s/carried.js';
import { planWrites } from '../../src/k8s/plan.js';
import type { ServicePlan } from '../../src/k8s/translate.js';
import type { NodeReportObj } from '../../src/k8s/types.js';
import type { Announce } from '../../src/model/desired-state.js';
import type { DesiredState } from '../../src/model/desired-state.js';
import type { ClusterView } from '../../src/k8s/translate.js';
import type { ServiceWrite } from '../../src/k8s/plan.js';

const NOW = '2026-12-07T05:00:00Z';
const PLAN: ServicePlan = {
  key: 'prod/web',
  served: true,
  reason: 'Served',
  message: '10.0.0.1 from pool p, shard 0, announced by n1, n2 via BGP ECMP (every node); 1 ready endpoint(s)',
  vips: ['10.0.0.1'],
  pool: 'p',
  shard: 0,
  nodes: ['n1', 'n2'],
};

function report(node: string, s: { peers?: string[]; est?: string[]; bgp?: string[]; l2?: string[]; withheld?: Array<[string, string]> }): NodeReportObj {
  const sessions = (s.peers ?? []).map((address) => ({ address, state: (s.est ?? []).includes(address) ? 'Established' : 'Active' }));
  return {
    metadata: { name: node },
    status: reportStatus({ node, pod: `edgelb-${node}`, carried: { bgp: s.bgp ?? [], l2: s.l2 ?? [], withheld: (s.withheld ?? []).map(([vip, reason]) => ({ vip, reason })) }, sessions, now: NOW }),
  };
}

const rows: Array<{ desc: string; plan?: ServicePlan; announce?: Announce; reports: NodeReportObj[]; ready?: string[]; want: [boolean, string, RegExp] }> = [
  {
    desc: 'BGP: one node sends it to an Established session → Served, naming the node',
    reports: [report('n1', { peers: ['10.9.0.1'], est: ['10.9.0.1'], bgp: ['10.0.0.1'] }), report('n2', { peers: ['10.9.0.1'] })],
    want: [true, 'Served', /; carried by BGP from n1$/],
  },
  {
    desc: 'BGP: every session down on every node → NoBGPSession',
    reports: [report('n1', { peers: ['10.9.0.1'] }), report('n2', { peers: ['10.9.0.1'] })],
    want: [false, 'NoBGPSession', /^10\.0\.0\.1 from pool p, shard 0: no BGP session Established on any node \(peers configured on n1, n2\)$/],
  },
  {
    desc: 'BGP: no node has a peer at all',
    reports: [report('n1', {}), report('n2', {})],
    want: [false, 'NoBGPSession', /no BGP session Established on any node \(no node has a BGP peer\)/],
  },
  {
    desc: 'BGP: sessions up but the VIP is withheld → NotAdvertised with each node\'s reason',
    reports: [report('n1', { peers: ['10.9.0.1'], est: ['10.9.0.1'], withheld: [['10.0.0.1', 'no-healthy-endpoint']] }), report('n2', { peers: ['10.9.0.1'], est: ['10.9.0.1'] })],
    want: [false, 'NotAdvertised', /BGP sessions Established on n1, n2 but no node advertises it \(n1: no-healthy-endpoint, n2: not sent yet\)/],
  },
  {
    desc: 'BGP: a carrier whose pod is not ready does not count',
    reports: [report('n1', { peers: ['10.9.0.1'], est: ['10.9.0.1'], bgp: ['10.0.0.1'] }), report('n2', { peers: ['10.9.0.1'] })],
    ready: ['n2'],
    want: [false, 'NoBGPSession', /peers configured on n2\)/],
  },
  {
    desc: 'L2: the owner answers ARP → Served',
    announce: 'l2',
    reports: [report('n1', { l2: ['10.0.0.1'] }), report('n2', { withheld: [] })],
    want: [true, 'Served', /carried by L2 owner n1$/],
  },
  {
    desc: 'L2: nobody owns it → NoL2Owner (not-shard-master is not a reason worth naming)',
    announce: 'l2',
    reports: [report('n1', { withheld: [['10.0.0.1', 'drained']] }), report('n2', { withheld: [['10.0.0.1', 'not-shard-master']] })],
    want: [false, 'NoL2Owner', /^10\.0\.0\.1 from pool p, shard 0: no L2 owner answers ARP\/NDP for it \(n1: drained\)$/],
  },
  {
    desc: 'an L2-only pool ignores a BGP advertisement it does not use',
    announce: 'l2',
    reports: [report('n1', { peers: ['10.9.0.1'], est: ['10.9.0.1'], bgp: ['10.0.0.1'] })],
    want: [false, 'NoL2Owner', /no L2 owner/],
  },
  {
    desc: 'both: either way is enough',
    announce: 'both',
    reports: [report('n1', { l2: ['10.0.0.1'] }), report('n2', { peers: ['10.9.0.1'], est: ['10.9.0.1'], bgp: ['10.0.0.1'] })],
    want: [true, 'Served', /carried by BGP from n2; L2 owner n1$/],
  },
  {
    desc: 'both: neither → NotCarried naming both causes',
    announce: 'both',
    reports: [report('n1', { peers: ['10.9.0.1'] })],
    want: [false, 'NotCarried', /no BGP session Established on any node \(peers configured on n1\); and no L2 owner answers ARP\/NDP for it$/],
  },
  {
    desc: 'no report from any ready node → NoNodeReport',
    reports: [],
    want: [false, 'NoNodeReport', /no node reports what it carries \(n1, n2 have a ready edgelb pod but no NodeReport\)/],
  },
  {
    desc: 'no ready pod at all',
    reports: [report('n1', { bgp: ['10.0.0.1'] })],
    ready: [],
    want: [false, 'NoNodeReport', /no edgelb pod is ready/],
  },
  {
    desc: 'dual stack: one VIP carried and the other not → False naming the VIP not carried',
    plan: { ...PLAN, vips: ['10.0.0.1', 'fd00::1'] },
    reports: [report('n1', { peers: ['10.9.0.1'], est: ['10.9.0.1'], bgp: ['10.0.0.1'] })],
    want: [false, 'NotAdvertised', /^fd00::1 from pool p/],
  },
  {
    desc: 'dual stack: carriers differ per VIP → listed per VIP',
    plan: { ...PLAN, vips: ['10.0.0.1', 'fd00::1'] },
    reports: [report('n1', { peers: ['10.9.0.1'], est: ['10.9.0.1'], bgp: ['10.0.0.1', 'fd00::1'] }), report('n2', { peers: ['10.9.0.1'], est: ['10.9.0.1'], bgp: ['10.0.0.1'] })],
    want: [true, 'Served', /; 10\.0\.0\.1 carried by BGP from n1, n2; fd00::1 carried by BGP from n1$/],
  },
  {
    desc: 'a reported VIP written in another form (uncompressed IPv6) still matches',
    plan: { ...PLAN, vips: ['fd00::1'] },
    reports: [{ metadata: { name: 'n1' }, status: { peers: ['10.9.0.1'], established: ['10.9.0.1'], bgp: ['fd00:0:0:0:0:0:0:1'] } }],
    want: [true, 'Served', /carried by BGP from n1$/],
  },
  {
    desc: 'a plan that is not servable keeps its own reason, whatever the reports say',
    plan: { ...PLAN, served: false, reason: 'NoReadyEndpoint', message: 'no ready endpoint' },
    reports: [report('n1', { peers: ['10.9.0.1'], est: ['10.9.0.1'], bgp: ['10.0.0.1'] })],
    want: [false, 'NoReadyEndpoint', /^no ready endpoint$/],
  },
  {
    desc: 'a report without status (written by hand) counts as no report',
    reports: [{ metadata: { name: 'n1' } }],
    want: [false, 'NoNodeReport', /no node reports/],
  },
];

for (const r of rows) {
  test(`k8s carried: ${r.desc}`, () => {
    const c = carriageOf(r.reports, r.ready ?? ['n1', 'n2']);
    const d = servedDecision(r.plan ?? PLAN, r.announce ?? 'bgp', c);
    assert.equal(d.served, r.want[0]);
    assert.equal(d.reason, r.want[1]);
    assert.match(d.message, r.want[2]);
  });
}

test('k8s carried: many carriers are named up to five, the rest counted (a message stays short)', () => {
  const nodes = Array.from({ length: 12 }, (_, i) => `n${String(i).padStart(2, '0')}`);
  const c = carriageOf(nodes.map((n) => report(n, { peers: ['10.9.0.1'], est: ['10.9.0.1'], bgp: ['10.0.0.1'] })), nodes);
  const d = servedDecision(PLAN, 'bgp', c);
  assert.match(d.message, /carried by BGP from n00, n01, n02, n03, n04 and 7 more$/);
  assert.equal(nameNodes([]), '');
});

test('k8s carried: a report is canonical (sorted, deduplicated, compressed IPv6) and says its counts', () => {
  const s = reportStatus({
    node: 'n1',
    pod: 'p',
    now: NOW,
    carried: { bgp: ['10.0.0.2', '10.0.0.1', '10.0.0.1'], l2: ['FD00:0::1'], withheld: [{ vip: '10.0.0.9', reason: 'drained' }, { vip: '10.0.0.3', reason: 'drained' }] },
    sessions: [{ address: '10.9.0.2', state: 'Active' }, { address: '10.9.0.1', state: 'Established' }],
  });
  assert.deepEqual(s.bgp, ['10.0.0.1', '10.0.0.2']);
  assert.deepEqual(s.l2, ['fd00::1']);
  assert.deepEqual(s.peers, ['10.9.0.1', '10.9.0.2']);
  assert.deepEqual(s.established, ['10.9.0.1']);
  assert.equal(s.sessions, '1/2');
  assert.equal(s.carrying, 'bgp 2, l2 1');
  assert.deepEqual(s.withheld?.map((w) => w.vip), ['10.0.0.3', '10.0.0.9']);
  assert.equal(s.withheldMore, undefined);
});

test('k8s carried: a node withholding many VIPs lists 1,000 and counts the rest (the object stays small)', () => {
  const withheld = Array.from({ length: MAX_WITHHELD + 250 }, (_, i) => ({ vip: `10.1.${i >> 8}.${i & 255}`, reason: 'drained' }));
  const s = reportStatus({ node: 'n1', pod: 'p', now: NOW, carried: { bgp: [], l2: [], withheld }, sessions: [] });
  assert.equal(s.withheld?.length, MAX_WITHHELD);
  assert.equal(s.withheldMore, 250);
});

test('k8s carried: a report is written again only when what it says changed, not for the time alone', () => {
  const base = { node: 'n1', pod: 'p', carried: { bgp: ['10.0.0.1'], l2: [], withheld: [] }, sessions: [{ address: '10.9.0.1', state: 'Established' }] };
  const a = reportStatus({ ...base, now: NOW });
  assert.equal(reportChanged(undefined, a), true);
  assert.equal(reportChanged(a, reportStatus({ ...base, now: '2026-12-07T06:00:00Z' })), false);
  // a session flapping between Connect and Active is not a change worth a write; going down is
  assert.equal(reportChanged(reportStatus({ ...base, sessions: [{ address: '10.9.0.1', state: 'Connect' }], now: NOW }), reportStatus({ ...base, sessions: [{ address: '10.9.0.1', state: 'Active' }], now: NOW })), false);
  assert.equal(reportChanged(a, reportStatus({ ...base, sessions: [{ address: '10.9.0.1', state: 'Active' }], now: NOW })), true);
  assert.equal(reportChanged(a, reportStatus({ ...base, carried: { ...base.carried, bgp: [] }, now: NOW })), true);
});

// the leader's plan uses the decision: same cluster, the condition follows the reports alone
const settings: DesiredState = {
  node: { name: 'n1', routerId: '', interface: 'eth0' },
  api: { listen: '127.0.0.1:11111' },
  bgp: { asn: 64513, routerId: '', listenPort: 179, peers: [], communities: [], largeCommunities: [] },
  pools: [], services: [], policies: [],
  dataplane: { attachMode: 'auto', maglevSize: 65537, conntrackSize: 65536, enabled: true },
  l2: { garpCount: 3, garpIntervalMs: 100, refreshIntervalMs: 0 },
};
function clusterView(reports: NodeReportObj[] | undefined): ClusterView {
  return {
    services: [{
      metadata: { name: 'web', namespace: 'prod', uid: 'u1', creationTimestamp: NOW, annotations: { 'edgelb.io/assigned-ips': '10.0.0.1', 'edgelb.io/assigned-pool': 'p', 'edgelb.io/assigned-shard': '0' } },
      spec: { type: 'LoadBalancer', loadBalancerClass: 'edgelb.io/edgelb', ports: [{ port: 80, protocol: 'TCP' }] },
      status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } },
    }],
    slices: [{ metadata: { name: 'web-1', namespace: 'prod', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.0.5'], conditions: { ready: true } }] }],
    nodes: [],
    pools: [{ metadata: { name: 'p', creationTimestamp: NOW }, spec: { cidrs: ['10.0.0.0/29'], announce: 'bgp' } }],
    peers: [], policies: [], loxiPeers: [], secrets: [],
    members: [{ nodeName: 'n1', ip: '192.0.2.10', ready: true }],
    ...(reports ? { reports } : {}),
  };
}
function servedCondition(reports: NodeReportObj[] | undefined) {
  const p = planWrites({ view: clusterView(reports), opts: { nodeName: 'n1', settings }, namespaceLabels: () => undefined, now: NOW });
  const w = p.writes.find((x): x is ServiceWrite => x.kind === 'service');
  return (w?.body.status as { conditions: Array<{ status: string; reason: string; message: string }> }).conditions[0]!;
}

test('k8s carried: the leader writes Served from the reports — session down False, carried True; untracked keeps the plan', () => {
  const down = servedCondition([report('n1', { peers: ['10.9.0.1'] })]);
  assert.deepEqual([down.status, down.reason], ['False', 'NoBGPSession']);
  const up = servedCondition([report('n1', { peers: ['10.9.0.1'], est: ['10.9.0.1'], bgp: ['10.0.0.1'] })]);
  assert.deepEqual([up.status, up.reason], ['True', 'Served']);
  assert.match(up.message, /carried by BGP from n1$/);
  const none = servedCondition([]);
  assert.deepEqual([none.status, none.reason], ['False', 'NoNodeReport']);
  const untracked = servedCondition(undefined);
  assert.deepEqual([untracked.status, untracked.reason], ['True', 'Served']);
});

test('k8s carried: a broken report (not lists, not addresses) is read as carrying nothing, never a throw', () => {
  const bad = { metadata: { name: 'n1' }, status: { bgp: 'x' as unknown as string[], l2: [42, null, 'nope', '10.0.0.1'] as unknown as string[], established: {} as unknown as string[], withheld: [null, { vip: 7 }, { vip: '10.0.0.1', reason: 'drained' }] as unknown as Array<{ vip: string; reason: string }> } };
  const c = carriageOf([bad], ['n1']);
  assert.deepEqual(c.bgp.size, 0);
  assert.deepEqual(c.l2.get('10.0.0.1'), ['n1']);
  assert.deepEqual(c.withheld.get('10.0.0.1'), [{ node: 'n1', reason: 'drained' }]);
  const d = servedDecision(PLAN, 'bgp', c);
  assert.deepEqual([d.served, d.reason], [false, 'NoBGPSession']);
});
