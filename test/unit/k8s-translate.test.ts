// Translation table tests: Services, EndpointSlices, Nodes, IPPools, BGPPeers, BGPPolicies,
// Secrets and edgelb pods → one node's DesiredState and the per-Service plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translate, shardOf, leastLoadedShard, nodeNoAnnounceReason, type ClusterView } from '../../src/k8s/translate.js';
import type { DesiredState } from '../../src/model/desired-state.js';
import { fnv1a32 } from '../../src/config/hash.js';
import type { ServiceObj, EndpointSliceObj, NodeObj, BGPPeerObj, BGPPolicyObj } from '../../src/k8s/types.js';

const settings: DesiredState = {
  node: { name: 'ignored', routerId: '', interface: 'eth0' },
  api: { listen: '127.0.0.1:11111' },
  cluster: { listen: '0.0.0.0:11112', members: [], shards: 3, heartbeatIntervalMs: 100, deadAfterMs: 500, holdDownMs: 1000 },
  bgp: { asn: 64513, routerId: '', listenPort: 179, peers: [], communities: [], largeCommunities: [] },
  pools: [], services: [], policies: [],
  dataplane: { attachMode: 'auto', maglevSize: 65537, conntrackSize: 65536, enabled: true },
  l2: { garpCount: 3, garpIntervalMs: 100, refreshIntervalMs: 0 },
};

function svc(name: string, ann: Record<string, string> = {}, spec: Partial<ServiceObj['spec']> = {}, ips = ['10.1.0.1']): ServiceObj {
  return {
    metadata: { name, namespace: 'default', annotations: { ...(ips.length ? { 'edgelb.io/assigned-ips': ips.join(',') } : {}), ...ann } },
    spec: { type: 'LoadBalancer', loadBalancerClass: 'edgelb.io/edgelb', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], ...spec },
    ...(ips.length ? { status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } } } : {}),
  };
}
function slice(svcName: string, eps: Array<{ ip: string; node?: string; ready?: boolean | null; terminating?: boolean }>, ports = [{ name: 'http', port: 8081, protocol: 'TCP' }], addressType: 'IPv4' | 'IPv6' | 'FQDN' = 'IPv4'): EndpointSliceObj {
  return {
    metadata: { name: `${svcName}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': svcName } },
    addressType, ports,
    endpoints: eps.map((e) => ({ addresses: [e.ip], ...(e.node ? { nodeName: e.node } : {}), conditions: { ready: e.ready === undefined ? true : e.ready, ...(e.terminating ? { terminating: true } : {}) } })),
  };
}
function node(name: string, labels: Record<string, string> = {}, conds: Array<{ type: string; status: string }> = [], ip = '192.0.2.10'): NodeObj {
  return { metadata: { name, labels }, status: { addresses: [{ type: 'InternalIP', address: ip }], conditions: conds } };
}
const pool = (name: string, cidrs: string[], extra: object = {}) => ({ metadata: { name }, spec: { cidrs, ...extra } });
const peer = (name: string, spec: Partial<BGPPeerObj['spec']> = {}): BGPPeerObj => ({ metadata: { name }, spec: { address: '192.0.2.1', asn: 64512, ...spec } });
const policy = (name: string, spec: Partial<BGPPolicyObj['spec']> = {}): BGPPolicyObj => ({ metadata: { name }, spec });

function view(v: Partial<ClusterView>): ClusterView {
  return {
    services: [], slices: [], nodes: [node('n1', { rack: 'a' }), node('n2', {}, [], '192.0.2.11')], pools: [pool('p', ['10.1.0.0/24', 'fd00:1::/120'])], peers: [], policies: [], loxiPeers: [], secrets: [],
    members: [{ nodeName: 'n1', ip: '192.0.2.10', ready: true }, { nodeName: 'n2', ip: '192.0.2.11', ready: true }],
    ...v,
  };
}
const run = (v: Partial<ClusterView>, opts: { nodeName?: string; defaultClass?: boolean } = {}) => translate(view(v), { nodeName: opts.nodeName ?? 'n1', settings, ...(opts.defaultClass ? { defaultClass: true } : {}) });

interface Row { desc: string; v: Partial<ClusterView>; check: (t: ReturnType<typeof run>) => void; opts?: { nodeName?: string; defaultClass?: boolean } }
const S = (t: ReturnType<typeof run>, name = 'default/a') => t.state.services.find((s) => s.name === name);
const P = (t: ReturnType<typeof run>, name = 'default/a') => t.plans.find((s) => s.key === name)!;

const rows: Row[] = [
  { desc: 'a Service with an assigned IP becomes a ServiceSpec', v: { services: [svc('a')] }, check: (t) => { const s = S(t)!; assert.deepEqual(s.vips, ['10.1.0.1']); assert.equal(s.pool, 'p'); assert.equal(s.mode, 'onearm'); assert.equal(s.epSelect, 'maglev'); assert.equal(s.localOnly, false); } },
  { desc: 'other class is ignored', v: { services: [svc('a', {}, { loadBalancerClass: 'other' })] }, check: (t) => assert.equal(t.state.services.length, 0) },
  { desc: 'no class ignored without defaultClass', v: { services: [svc('a', {}, { loadBalancerClass: undefined })] }, check: (t) => assert.equal(t.state.services.length, 0) },
  { desc: 'no class served with defaultClass', opts: { defaultClass: true }, v: { services: [svc('a', {}, { loadBalancerClass: undefined })] }, check: (t) => assert.equal(t.state.services.length, 1) },
  { desc: 'ClusterIP type is ignored', v: { services: [svc('a', {}, { type: 'ClusterIP' })] }, check: (t) => assert.equal(t.state.services.length, 0) },
  { desc: 'no assigned IP: pending, not in state', v: { services: [svc('a', {}, {}, [])] }, check: (t) => { assert.equal(t.state.services.length, 0); assert.equal(P(t).reason, 'Pending'); } },
  { desc: 'status ingress is read when no annotation', v: { services: [{ ...svc('a', {}, {}, []), status: { loadBalancer: { ingress: [{ ip: '10.1.0.9' }] } } }] }, check: (t) => assert.deepEqual(S(t)!.vips, ['10.1.0.9']) },
  { desc: 'recorded VIP outside every pool is never announced', v: { services: [svc('a', {}, {}, ['172.16.0.1'])] }, check: (t) => { assert.equal(S(t), undefined); assert.equal(P(t).reason, 'NotInPool'); assert.ok(t.problems.some((p) => p.reason === 'NotInPool')); } },
  { desc: 'dual-stack VIPs', v: { services: [svc('a', {}, {}, ['10.1.0.1', 'fd00:1::1'])] }, check: (t) => assert.deepEqual(S(t)!.vips, ['10.1.0.1', 'fd00:1::1']) },
  { desc: 'lbmode fullnat', v: { services: [svc('a', { 'edgelb.io/lbmode': 'fullnat' })] }, check: (t) => assert.equal(S(t)!.mode, 'fullnat') },
  { desc: 'loxilb.io/lbmode default means dnat', v: { services: [svc('a', { 'loxilb.io/lbmode': 'default' })] }, check: (t) => assert.equal(S(t)!.mode, 'dnat') },
  { desc: 'loxilb.io/lbmode dsr', v: { services: [svc('a', { 'loxilb.io/lbmode': 'dsr' })] }, check: (t) => assert.equal(S(t)!.mode, 'dsr') },
  { desc: 'bad lbmode: default mode and a problem', v: { services: [svc('a', { 'edgelb.io/lbmode': 'magic' })] }, check: (t) => { assert.equal(S(t)!.mode, 'onearm'); assert.ok(t.problems.some((p) => p.reason === 'InvalidAnnotation' && /lbmode "magic"/.test(p.message))); } },
  { desc: 'epselect rr (loxilb roundrobin spelling too)', v: { services: [svc('a', { 'loxilb.io/epselect': 'roundrobin' })] }, check: (t) => assert.equal(S(t)!.epSelect, 'rr') },
  { desc: 'epselect hash', v: { services: [svc('a', { 'edgelb.io/epselect': 'hash' })] }, check: (t) => assert.equal(S(t)!.epSelect, 'hash') },
  { desc: 'timeout annotation', v: { services: [svc('a', { 'loxilb.io/timeout': '60' })] }, check: (t) => assert.equal(S(t)!.timeoutSec, 60) },
  { desc: 'default timeout 300', v: { services: [svc('a')] }, check: (t) => assert.equal(S(t)!.timeoutSec, 300) },
  { desc: 'liveness yes: probe of the port protocol', v: { services: [svc('a', { 'loxilb.io/liveness': 'yes' })] }, check: (t) => assert.equal(S(t)!.probe.type, 'tcp') },
  { desc: 'no liveness: no probe', v: { services: [svc('a')] }, check: (t) => assert.equal(S(t)!.probe.type, 'none') },
  { desc: 'probetype http with port, req, resp, timeout, retries', v: { services: [svc('a', { 'loxilb.io/liveness': 'yes', 'loxilb.io/probetype': 'http', 'loxilb.io/probeport': '3000', 'loxilb.io/probereq': 'health', 'loxilb.io/proberesp': 'ok', 'loxilb.io/probetimeout': '10', 'loxilb.io/proberetries': '3' })] }, check: (t) => assert.deepEqual(S(t)!.probe, { type: 'http', intervalMs: 5000, timeoutMs: 10000, retries: 3, port: 3000, path: '/health', response: 'ok' }) },
  { desc: 'probetype tcp keeps probereq as payload', v: { services: [svc('a', { 'edgelb.io/probetype': 'tcp', 'edgelb.io/probereq': 'PING' })] }, check: (t) => assert.equal(S(t)!.probe.request, 'PING') },
  { desc: 'probetype none', v: { services: [svc('a', { 'loxilb.io/liveness': 'yes', 'loxilb.io/probetype': 'none' })] }, check: (t) => assert.equal(S(t)!.probe.type, 'none') },
  { desc: 'probetype ping', v: { services: [svc('a', { 'loxilb.io/probetype': 'ping' })] }, check: (t) => assert.equal(S(t)!.probe.type, 'ping') },
  { desc: 'bad probetype is a problem', v: { services: [svc('a', { 'loxilb.io/probetype': 'carrier-pigeon' })] }, check: (t) => assert.ok(t.problems.some((p) => /probetype/.test(p.message))) },
  { desc: 'endpoints from slices; targetPort from the slice port by name', v: { services: [svc('a')], slices: [slice('a', [{ ip: '10.244.0.5', node: 'n1' }, { ip: '10.244.1.5', node: 'n2', ready: false }])] }, check: (t) => { const s = S(t)!; assert.deepEqual(s.endpoints, [{ address: '10.244.0.5', ready: true, nodeName: 'n1' }, { address: '10.244.1.5', ready: false, nodeName: 'n2' }]); assert.deepEqual(s.ports, [{ port: 80, protocol: 'tcp', targetPort: 8081 }]); } },
  { desc: 'targetPort from spec when no slice', v: { services: [svc('a')] }, check: (t) => assert.equal(S(t)!.ports[0]!.targetPort, 8080) },
  { desc: 'named targetPort without slice falls back to port', v: { services: [svc('a', {}, { ports: [{ name: 'x', port: 81, targetPort: 'web' }] })] }, check: (t) => assert.equal(S(t)!.ports[0]!.targetPort, 81) },
  { desc: 'nil ready counts as ready', v: { services: [svc('a')], slices: [slice('a', [{ ip: '10.244.0.5', ready: null }])] }, check: (t) => assert.equal(S(t)!.endpoints[0]!.ready, true) },
  { desc: 'terminating is not ready', v: { services: [svc('a')], slices: [slice('a', [{ ip: '10.244.0.5', terminating: true }])] }, check: (t) => assert.equal(S(t)!.endpoints[0]!.ready, false) },
  { desc: 'slices of another namespace are ignored', v: { services: [svc('a')], slices: [{ ...slice('a', [{ ip: '10.244.0.5' }]), metadata: { name: 'z', namespace: 'other', labels: { 'kubernetes.io/service-name': 'a' } } }] }, check: (t) => assert.equal(S(t)!.endpoints.length, 0) },
  { desc: 'FQDN slices are ignored', v: { services: [svc('a')], slices: [slice('a', [{ ip: '10.244.0.5' }], undefined, 'FQDN')] }, check: (t) => assert.equal(S(t)!.endpoints.length, 0) },
  { desc: 'duplicate addresses across slices are merged (ready wins)', v: { services: [svc('a')], slices: [slice('a', [{ ip: '10.244.0.5', ready: false }]), { ...slice('a', [{ ip: '10.244.0.5' }]), metadata: { name: 'a-y', namespace: 'default', labels: { 'kubernetes.io/service-name': 'a' } } }] }, check: (t) => assert.deepEqual(S(t)!.endpoints.map((e) => e.ready), [true]) },
  { desc: 'IPv6 slice endpoints are canonicalised', v: { services: [svc('a')], slices: [slice('a', [{ ip: 'FD00:0:0::5' }], undefined, 'IPv6')] }, check: (t) => assert.equal(S(t)!.endpoints[0]!.address, 'fd00::5') },
  { desc: 'SCTP port is skipped with a problem', v: { services: [svc('a', {}, { ports: [{ port: 80 }, { port: 9999, protocol: 'SCTP' }] })] }, check: (t) => { assert.equal(S(t)!.ports.length, 1); assert.ok(t.problems.some((p) => p.reason === 'UnsupportedProtocol')); } },
  { desc: 'UDP port', v: { services: [svc('a', {}, { ports: [{ port: 53, protocol: 'UDP' }] })] }, check: (t) => assert.deepEqual(S(t)!.ports, [{ port: 53, protocol: 'udp', targetPort: 53 }]) },
  { desc: 'externalTrafficPolicy Local → localOnly', v: { services: [svc('a', {}, { externalTrafficPolicy: 'Local' })] }, check: (t) => assert.equal(S(t)!.localOnly, true) },
  { desc: 'Local: only nodes with a ready local endpoint announce', v: { services: [svc('a', {}, { externalTrafficPolicy: 'Local' })], slices: [slice('a', [{ ip: '10.244.1.5', node: 'n2' }, { ip: '10.244.0.5', node: 'n1', ready: false }])] }, check: (t) => assert.deepEqual(P(t).nodes, ['n2']) },
  { desc: 'Local without a ready local endpoint: NoLocalEndpoint', v: { services: [svc('a', {}, { externalTrafficPolicy: 'Local' })], slices: [slice('a', [{ ip: '10.244.1.5', node: 'n9' }])] }, check: (t) => assert.equal(P(t).reason, 'NoLocalEndpoint') },
  { desc: 'Cluster policy: every edgelb node announces', v: { services: [svc('a')], slices: [slice('a', [{ ip: '10.244.1.5', node: 'n2' }])] }, check: (t) => { assert.deepEqual(P(t).nodes, ['n1', 'n2']); assert.equal(P(t).reason, 'Served'); assert.match(P(t).message, /10\.1\.0\.1 from pool p, shard \d, announced by n1, n2 via BGP ECMP/); } },
  { desc: 'no ready endpoint: plan says so', v: { services: [svc('a')] }, check: (t) => assert.equal(P(t).reason, 'NoReadyEndpoint') },
  { desc: 'excluded node does not announce (label)', v: { services: [svc('a')], nodes: [node('n1', { 'node.kubernetes.io/exclude-from-external-load-balancers': '' }), node('n2')], slices: [slice('a', [{ ip: '10.244.1.5' }])] }, check: (t) => { assert.deepEqual(P(t).nodes, ['n2']); assert.match(t.state.node.noAnnounceReason!, /exclude-from-external-load-balancers/); } },
  { desc: 'NetworkUnavailable node does not announce', v: { services: [svc('a')], nodes: [node('n1', {}, [{ type: 'NetworkUnavailable', status: 'True' }]), node('n2')], slices: [slice('a', [{ ip: '10.244.1.5' }])] }, check: (t) => { assert.deepEqual(P(t).nodes, ['n2']); assert.match(t.state.node.noAnnounceReason!, /NetworkUnavailable/); } },
  { desc: 'NetworkUnavailable False is fine', v: { nodes: [node('n1', {}, [{ type: 'NetworkUnavailable', status: 'False' }])] }, check: (t) => assert.equal(t.state.node.noAnnounceReason, undefined) },
  { desc: 'no edgelb pod ready: NoAnnouncingNode', v: { services: [svc('a')], members: [] }, check: (t) => assert.equal(P(t).reason, 'NoAnnouncingNode') },
  { desc: 'pool announce l2 says so', v: { services: [svc('a')], pools: [pool('p', ['10.1.0.0/24'], { announce: 'l2' })], slices: [slice('a', [{ ip: '10.244.1.5' }])] }, check: (t) => assert.match(P(t).how!, /^L2 ARP\/NDP/) },
  { desc: 'pool activeBackup both', v: { services: [svc('a')], pools: [pool('p', ['10.1.0.0/24'], { announce: 'both', bgpMode: 'activeBackup' })] }, check: (t) => { assert.deepEqual(t.state.pools[0], { name: 'p', cidrs: ['10.1.0.0/24'], ranges: [], announce: 'both', bgpMode: 'activeBackup', avoidBuggyIPs: true, autoAssign: true }); assert.match(P(t).how!, /activeBackup.*\+ L2/); } },
  { desc: 'invalid pool is skipped with a problem', v: { pools: [pool('bad', []), pool('p', ['10.1.0.0/24'])] }, check: (t) => { assert.deepEqual(t.state.pools.map((p) => p.name), ['p']); assert.ok(t.problems.some((p) => p.object === 'IPPool bad')); } },
  { desc: 'overlapping pools: the older keeps the addresses, the other is refused naming both fields', v: { services: [svc('a', { 'edgelb.io/assigned-pool': 'q' })], pools: [{ ...pool('q', ['10.2.0.0/24', '10.1.0.0/25']), metadata: { name: 'q', creationTimestamp: '2026-01-02T00:00:00Z' } }, { ...pool('p', ['10.1.0.0/24']), metadata: { name: 'p', creationTimestamp: '2026-01-01T00:00:00Z' } }] }, check: (t) => { assert.equal(S(t)!.pool, 'p'); assert.deepEqual(t.state.pools.map((p) => p.name), ['p']); const pr = t.problems.find((p) => p.object === 'IPPool q')!; assert.equal(pr.reason, 'PoolOverlap'); assert.equal(pr.message, 'spec.cidrs[1] (10.1.0.0/25) overlaps spec.cidrs[0] (10.1.0.0/24) of older IPPool p; this pool is not used'); } },
  { desc: 'regression: the user-writable assigned-ips annotation alone is never announced (only status is)', v: { services: [svc('a', { 'edgelb.io/assigned-ips': '10.1.0.7' }, {}, [])] }, check: (t) => { assert.equal(S(t), undefined); assert.equal(P(t).reason, 'Pending'); } },
  { desc: 'regression: a BGPPolicy the CRD schema let through (70000:1, 1:2:3, 999.0.0.0/8) is refused naming the fields, the rest goes on', v: { peers: [peer('tor', { exportPolicies: ['bad', 'good'] })], policies: [policy('bad', { prefixSets: [{ name: 'v', prefixes: [{ prefix: '999.0.0.0/8' }] }], statements: [{ name: 's', actions: { addCommunities: ['70000:1', '1:2:3'] } }] }), policy('good', { statements: [{ name: 's', actions: { med: 5 } }] })] }, check: (t) => { assert.deepEqual(t.state.policies.map((p) => p.name), ['good']); assert.deepEqual(t.state.bgp!.peers[0]!.exportPolicies, ['good']); const pr = t.problems.find((p) => p.object === 'BGPPolicy bad')!; assert.equal(pr.reason, 'InvalidPolicy'); assert.match(pr.message, /spec\.prefixSets\.v\[0\]\.prefix: /); assert.match(pr.message, /spec\.statements\[0\]\.actions\.addCommunities: .*70000:1/); assert.match(pr.message, /spec\.statements\[0\]\.actions\.addCommunities: .*1:2:3/); assert.ok(t.problems.some((p) => p.object === 'BGPPeer tor' && p.reason === 'PolicyInvalid' && /spec\.exportPolicies: BGPPolicy "bad"/.test(p.message))); } },
  { desc: 'regression: an 81-byte Secret password skips that peer only, naming the field', v: { peers: [peer('tor', { passwordSecretRef: { name: 's' } }), peer('ok', { address: '192.0.2.2', passwordSecretRef: { name: 's80' } })], secrets: [{ metadata: { name: 's' }, stringData: { password: 'x'.repeat(81) } }, { metadata: { name: 's80' }, stringData: { password: 'y'.repeat(80) } }] }, check: (t) => { assert.deepEqual(t.state.bgp!.peers.map((p) => p.address), ['192.0.2.2']); const pr = t.problems.find((p) => p.object === 'BGPPeer tor')!; assert.equal(pr.reason, 'InvalidPassword'); assert.match(pr.message, /^spec\.passwordSecretRef: .* is 81 bytes; TCP MD5 needs 1 to 80/); assert.ok(!pr.message.includes('xxxx')); } },
  { desc: 'a Secret without the key: SecretKeyNotFound naming spec.passwordSecretRef.key', v: { peers: [peer('tor', { passwordSecretRef: { name: 's', key: 'md5' } })], secrets: [{ metadata: { name: 's' }, data: { password: 'eA==' } }] }, check: (t) => { assert.equal(t.state.bgp!.peers.length, 0); assert.match(t.problems.find((p) => p.reason === 'SecretKeyNotFound')!.message, /^spec\.passwordSecretRef\.key: Secret s has no key "md5"/); } },
  { desc: 'shard from zoneinstance (loxilb llb-inst2)', v: { services: [svc('a', { 'loxilb.io/zoneinstance': 'llb-inst2' })] }, check: (t) => assert.equal(S(t)!.shard, 2) },
  { desc: 'shard from assigned annotation', v: { services: [svc('a', { 'edgelb.io/assigned-shard': '1' })] }, check: (t) => assert.equal(S(t)!.shard, 1) },
  { desc: 'zoneinstance wraps modulo shards', v: { services: [svc('a', { 'edgelb.io/zoneinstance': '4' })] }, check: (t) => assert.equal(S(t)!.shard, 1) },
  { desc: 'router id from the Node InternalIP', v: {}, check: (t) => { assert.equal(t.state.node.routerId, '192.0.2.10'); assert.equal(t.state.node.name, 'n1'); assert.equal(t.state.bgp!.routerId, '192.0.2.10'); } },
  { desc: 'cluster members are the edgelb pods, with the listen port', v: {}, check: (t) => assert.deepEqual(t.state.cluster!.members, ['192.0.2.10:11112', '192.0.2.11:11112']) },
  { desc: 'BGPPeer with defaults', v: { peers: [peer('tor')] }, check: (t) => assert.deepEqual(t.state.bgp!.peers, [{ address: '192.0.2.1', asn: 64512, port: 179, holdTime: 9, passive: false, connectRetry: 5, idleHold: 1, gracefulRestart: true, restartTime: 30, families: ['ipv4'], exportPolicies: [], maxPrefixes: 10000 }]) },
  { desc: 'BGPPeer fields', v: { peers: [peer('tor', { port: 1179, holdTime: 30, keepalive: 10, ebgpMultihop: 2, gtsm: true, passive: true, families: ['ipv4', 'ipv6'], gracefulRestart: { enabled: false, restartTime: 60 }, maxPrefixes: 5 })] }, check: (t) => { const p = t.state.bgp!.peers[0]!; assert.equal(p.port, 1179); assert.equal(p.holdTime, 30); assert.equal(p.keepalive, 10); assert.equal(p.ebgpMultihop, 2); assert.equal(p.gtsm, true); assert.equal(p.passive, true); assert.deepEqual(p.families, ['ipv4', 'ipv6']); assert.equal(p.gracefulRestart, false); assert.equal(p.restartTime, 60); assert.equal(p.maxPrefixes, 5); } },
  { desc: 'BGPPeer nodeSelector matches this node', v: { peers: [peer('a', { nodeSelector: { matchLabels: { rack: 'a' } } }), peer('b', { address: '192.0.2.2', nodeSelector: { matchLabels: { rack: 'b' } } })] }, check: (t) => assert.deepEqual(t.state.bgp!.peers.map((p) => p.address), ['192.0.2.1']) },
  { desc: 'BGPPeer bfd: defaults 300 ms x 3; intervals and multiplier carried', v: { peers: [peer('tor', { bfd: {} }), peer('b', { address: '192.0.2.2', bfd: { minRx: 100, minTx: 50, multiplier: 5 } })] }, check: (t) => assert.deepEqual(Object.fromEntries(t.state.bgp!.peers.map((p) => [p.address, p.bfd])), { '192.0.2.2': { minRxMs: 100, minTxMs: 50, multiplier: 5 }, [t.state.bgp!.peers.find((p) => p.address !== '192.0.2.2')!.address]: { minRxMs: 300, minTxMs: 300, multiplier: 3 } }) },
  { desc: 'BGPPeer bfd auth key from a Secret (default key "key")', v: { peers: [peer('tor', { bfd: { auth: { type: 'meticulous-keyed-sha1', keyId: 4, secretRef: { name: 'b' } } } })], secrets: [{ metadata: { name: 'b' }, data: { key: Buffer.from('bfd-key').toString('base64') } }] }, check: (t) => assert.deepEqual(t.state.bgp!.peers[0]!.bfd!.auth, { type: 'meticulous-keyed-sha1', keyId: 4, key: 'bfd-key' }) },
  { desc: 'BGPPeer bfd auth: a missing Secret or a 17-byte MD5 key skips that peer, naming spec.bfd.auth, never the key', v: { peers: [peer('tor', { bfd: { auth: { type: 'keyed-md5', keyId: 1, secretRef: { name: 'nope' } } } }), peer('long', { address: '192.0.2.2', bfd: { auth: { type: 'keyed-md5', keyId: 1, secretRef: { name: 'l' } } } })], secrets: [{ metadata: { name: 'l' }, stringData: { key: 'z'.repeat(17) } }] }, check: (t) => { assert.equal(t.state.bgp!.peers.length, 0); assert.match(t.problems.find((p) => p.object === 'BGPPeer tor')!.message, /^spec\.bfd\.auth\.secretRef\.name: Secret nope/); const pr = t.problems.find((p) => p.object === 'BGPPeer long')!; assert.match(pr.message, /is 17 bytes; it needs 1 to 16/); assert.ok(!pr.message.includes('zzz')); } },
  { desc: 'BGPPeer password from a Secret', v: { peers: [peer('tor', { passwordSecretRef: { name: 's' } })], secrets: [{ metadata: { name: 's' }, data: { password: Buffer.from('hunter2').toString('base64') } }] }, check: (t) => assert.equal(t.state.bgp!.peers[0]!.password, 'hunter2') },
  { desc: 'BGPPeer password Secret with a custom key', v: { peers: [peer('tor', { passwordSecretRef: { name: 's', key: 'md5' } })], secrets: [{ metadata: { name: 's' }, data: { md5: Buffer.from('k').toString('base64') } }] }, check: (t) => assert.equal(t.state.bgp!.peers[0]!.password, 'k') },
  { desc: 'missing Secret: peer skipped, problem never shows a password', v: { peers: [peer('tor', { passwordSecretRef: { name: 'nope' } })] }, check: (t) => { assert.equal(t.state.bgp!.peers.length, 0); assert.ok(t.problems.some((p) => p.reason === 'SecretNotFound')); } },
  { desc: 'export policies: peer list then policies naming the peer', v: { peers: [peer('tor', { exportPolicies: ['x'] })], policies: [policy('x'), policy('y', { peers: ['tor'] }), policy('z', { peers: ['other'] })] }, check: (t) => assert.deepEqual(t.state.bgp!.peers[0]!.exportPolicies, ['x', 'y']) },
  { desc: 'unknown export policy is skipped with a problem', v: { peers: [peer('tor', { exportPolicies: ['ghost'] })] }, check: (t) => { assert.deepEqual(t.state.bgp!.peers[0]!.exportPolicies, []); assert.ok(t.problems.some((p) => p.reason === 'PolicyNotFound')); } },
  { desc: 'BGPPolicy → PolicySpec', v: { policies: [policy('x', { prefixSets: [{ name: 'vips', prefixes: [{ prefix: '10.1.0.0/24', minLen: 32, maxLen: 32 }] }], communitySets: [{ name: 'c', communities: ['65000:1'] }], statements: [{ name: 's1', match: { prefixSet: 'vips' }, actions: { med: 50, addCommunities: ['65000:7'], result: 'accept' } }], defaultResult: 'reject' })] }, check: (t) => assert.deepEqual(t.state.policies, [{ name: 'x', prefixSets: { vips: [{ prefix: '10.1.0.0/24', minLen: 32, maxLen: 32 }] }, communitySets: { c: ['65000:1'] }, statements: [{ name: 's1', match: { prefixSet: 'vips' }, actions: { med: 50, addCommunities: ['65000:7'], result: 'accept' } }], defaultResult: 'reject' }]) },
  { desc: 'kube-loxilb BGPPeerService becomes a peer', v: { loxiPeers: [{ metadata: { name: 'bgp-peer-test' }, spec: { ipAddress: '123.123.123.2', remoteAs: 65123, remotePort: 179 } }] }, check: (t) => assert.deepEqual(t.state.bgp!.peers.map((p) => [p.address, p.asn, p.port]), [['123.123.123.2', 65123, 179]]) },
  { desc: 'an edgelb BGPPeer wins over a BGPPeerService for the same address', v: { peers: [peer('tor', { asn: 1 })], loxiPeers: [{ metadata: { name: 'x' }, spec: { ipAddress: '192.0.2.1', remoteAs: 2 } }] }, check: (t) => assert.deepEqual(t.state.bgp!.peers.map((p) => p.asn), [1]) },
  { desc: 'services are sorted by key (stable output)', v: { services: [svc('b', {}, {}, ['10.1.0.2']), svc('a')] }, check: (t) => assert.deepEqual(t.state.services.map((s) => s.name), ['default/a', 'default/b']) },
];

for (const r of rows) test(`k8s translate: ${r.desc}`, () => r.check(run(r.v, r.opts)));

test('k8s translate: same input, same output (deterministic)', () => {
  const v = { services: [svc('a'), svc('b', {}, {}, ['10.1.0.2'])], peers: [peer('tor')], policies: [policy('x')] };
  assert.deepEqual(run(v), run(v));
});

test('k8s translate: a BGPPolicy change changes only the policies', () => {
  const base = { services: [svc('a')], peers: [peer('tor', { exportPolicies: ['x'] })] };
  const t1 = run({ ...base, policies: [policy('x', { statements: [{ name: 's', actions: { med: 10 } }] })] });
  const t2 = run({ ...base, policies: [policy('x', { statements: [{ name: 's', actions: { med: 20 } }] })] });
  assert.deepEqual({ ...t1.state, policies: [] }, { ...t2.state, policies: [] });
  assert.notDeepEqual(t1.state.policies, t2.state.policies);
});

test('k8s translate: shardOf and leastLoadedShard', () => {
  assert.equal(leastLoadedShard([3, 1, 1]), 1);
  assert.equal(leastLoadedShard([0, 0, 0]), 0);
  const s = svc('a');
  assert.equal(shardOf(s, 3).source, 'hash');
  assert.equal(shardOf(s, 3).shard, shardOf(s, 3).shard);
  assert.equal(shardOf(svc('a', { 'edgelb.io/assigned-shard': '7' }), 3).source, 'hash', 'a recorded shard beyond the count is ignored');
  assert.equal(nodeNoAnnounceReason(undefined), undefined);
  // the one hash (config/hash.ts, UTF-8 bytes) gives the values the former UTF-16 hash gave for ASCII names
  assert.equal(fnv1a32('default/a'), 3389716262);
  assert.equal(fnv1a32('prod/web-frontend'), 1533663260);
  assert.equal(shardOf(s, 7).shard, 3389716262 % 7);
  assert.equal(shardOf(svc('a', { 'edgelb.io/zoneinstance': 'llb-zone' }), 5).shard, 3747513614 % 5);
});
