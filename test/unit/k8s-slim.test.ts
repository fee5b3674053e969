// The watch caches' projections (src/k8s/slim.ts): every field types.ts declares (what edgelb
// reads) survives, and what it does not read (managedFields, kubectl's last-applied copy, a Node's
// images, a Pod's containers) is gone. The fixtures are typed Full<…>: every field of the type,
// nested, is required, so a field added to types.ts and not to the fixture fails `make lint`, and
// one added to the fixture and not kept by slim.ts fails here. The Reflector applies the
// projection to listed and to watched objects (a watch served by a local HTTP server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { KubernetesObject } from '@kubernetes/client-node';
import { KubeClient, Reflector } from '../../src/k8s/client.js';
import { createLogger } from '../../src/lib/logger.js';
import {
  LAST_APPLIED,
  slimCustom,
  slimEndpointSlice,
  slimMeta,
  slimmer,
  slimNamespace,
  slimNode,
  slimPod,
  slimSecret,
  slimService,
} from '../../src/k8s/slim.js';
import type {
  BGPPeerObj,
  BGPPolicyObj,
  EndpointSliceObj,
  IPPoolObj,
  LoxiBGPPeerServiceObj,
  NamespaceObj,
  NodeObj,
  NodeReportObj,
  ObjectMeta,
  PodObj,
  SecretObj,
  ServiceObj,
} from '../../src/k8s/types.js';

/** Every field, at every depth, required. */
type Full<T> = T extends Array<infer U> ? Array<Full<U>> : T extends Date ? T : T extends object ? { [K in keyof T]-?: Full<T[K]> } : T;
type Obj = Record<string, unknown>;

const meta = (name: string, namespace?: string): Full<ObjectMeta> => ({
  name,
  namespace: namespace ?? '',
  uid: `uid-${name}`,
  resourceVersion: '42',
  generation: 3,
  creationTimestamp: '2026-12-07T08:00:00Z',
  labels: { app: name },
  annotations: { 'edgelb.io/pool': 'p', 'edgelb.io/assigned-ips': '10.0.0.1' },
});

const cond = { type: 'edgelb.io/Served', status: 'True' as const, reason: 'Announced', message: 'by 2 nodes', lastTransitionTime: '2026-12-07T08:00:01Z', observedGeneration: 3 };

/** What the API server adds that edgelb never reads. */
const junkMeta = {
  managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: '2026-12-07T08:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:ports': {} } } }],
  ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'u' }],
  finalizers: ['service.kubernetes.io/load-balancer-cleanup'],
  selfLink: '/api/v1/x',
};

/** `o` with junk added at the top, in metadata (and kubectl's copy among the annotations), and in `extra`. */
function withJunk(o: Obj, extra: Obj = {}): Obj {
  const m = o.metadata as Obj;
  const out: Obj = { apiVersion: 'v1', kind: 'Thing', ...o, metadata: { ...m, ...junkMeta, annotations: { ...(m.annotations as Obj), [LAST_APPLIED]: JSON.stringify(o) } } };
  for (const [k, v] of Object.entries(extra)) out[k] = typeof v === 'object' && v && !Array.isArray(v) ? { ...(out[k] as Obj), ...(v as Obj) } : v;
  return out;
}

const service: Full<ServiceObj> = {
  metadata: meta('web', 'apps'),
  spec: {
    type: 'LoadBalancer',
    loadBalancerClass: 'edgelb.io/edgelb',
    loadBalancerIP: '10.0.0.1',
    ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http', nodePort: 31000 }],
    ipFamilies: ['IPv4', 'IPv6'],
    ipFamilyPolicy: 'PreferDualStack',
    externalTrafficPolicy: 'Local',
    clusterIP: '10.96.0.10',
  },
  status: { loadBalancer: { ingress: [{ ip: '10.0.0.1', hostname: 'h', ipMode: 'VIP' }] }, conditions: [cond] },
};

const slice: Full<EndpointSliceObj> = {
  metadata: meta('web-abc', 'apps'),
  addressType: 'IPv4',
  endpoints: [{ addresses: ['10.244.0.5'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'n1' }],
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
};

const node: Full<NodeObj> = {
  metadata: meta('n1'),
  spec: { unschedulable: true },
  status: { addresses: [{ type: 'InternalIP', address: '192.0.2.1' }], conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] },
};

const pod: Full<PodObj> = {
  metadata: meta('edgelb-x', 'edgelb-system'),
  spec: { nodeName: 'n1' },
  status: { podIP: '10.244.0.9', conditions: [{ type: 'Ready', status: 'True' }] },
};

const secret: Full<SecretObj> = { metadata: meta('bgp', 'edgelb-system'), data: { password: 'cGFzcw==' }, stringData: { key: 'k' } };
const namespace: Full<NamespaceObj> = { metadata: meta('apps') };

const pool: Full<IPPoolObj> = {
  metadata: meta('pool'),
  spec: {
    cidrs: ['10.0.0.0/24'],
    ranges: ['10.0.1.1-10.0.1.9'],
    avoidBuggyIPs: true,
    autoAssign: false,
    announce: 'both',
    bgpMode: 'activeBackup',
    priority: 2,
    namespaces: ['apps'],
    namespaceSelector: { matchLabels: { a: 'b' }, matchExpressions: [{ key: 'k', operator: 'In', values: ['v'] }] },
    serviceSelector: { matchLabels: { c: 'd' }, matchExpressions: [{ key: 'k', operator: 'Exists', values: [] }] },
  },
  status: { assigned: 1, available: '255', conditions: [cond] },
};

const peer: Full<BGPPeerObj> = {
  metadata: meta('tor'),
  spec: {
    address: '192.0.2.254',
    asn: 64512,
    port: 179,
    holdTime: 9,
    keepalive: 3,
    passwordSecretRef: { name: 'bgp', key: 'password' },
    ebgpMultihop: 2,
    gtsm: false,
    passive: false,
    connectRetry: 5,
    localAddress: '192.0.2.1',
    nodeSelector: { matchLabels: { rack: 'a' }, matchExpressions: [] },
    families: ['ipv4'],
    gracefulRestart: { enabled: true, restartTime: 30 },
    bfdProfile: 'x',
    bfd: { minRx: 300, minTx: 300, multiplier: 3, auth: { type: 'keyed-sha1', keyId: 1, secretRef: { name: 'bfd', key: 'key' } } },
    exportPolicies: ['p'],
    maxPrefixes: 100,
  },
  status: { nodes: [{ node: 'n1', state: 'Established', uptimeSeconds: 5, prefixesSent: 1, lastError: '', updated: 'now' }], summary: '1/1', established: '1', conditions: [cond] },
};

const policy: Full<BGPPolicyObj> = {
  metadata: meta('p'),
  spec: {
    prefixSets: [{ name: 's', prefixes: [{ prefix: '10.0.0.0/8', minLen: 8, maxLen: 32 }] }],
    communitySets: [{ name: 'c', communities: ['65000:1'] }],
    statements: [{ name: 'st', match: { prefixSet: 's' }, actions: { result: 'accept' } }] as Full<BGPPolicyObj>['spec']['statements'],
    defaultResult: 'reject',
    peers: ['tor'],
  },
  status: { conditions: [cond] },
};

const loxi: Full<LoxiBGPPeerServiceObj> = { metadata: meta('lp'), spec: { ipAddress: '192.0.2.7', remoteAs: 65001, remotePort: 179 } };

const report: Full<NodeReportObj> = {
  metadata: meta('n1'),
  status: {
    node: 'n1',
    pod: 'edgelb-x',
    updated: 'now',
    peers: ['192.0.2.254'],
    established: ['192.0.2.254'],
    sessions: '1/1',
    bgp: ['10.0.0.1'],
    l2: ['10.0.0.2'],
    carrying: 'bgp 1, l2 1',
    withheld: [{ vip: '10.0.0.3', reason: 'no peer' }],
    withheldMore: 0,
  },
};

const cases: Array<[string, (o: Obj) => Obj, Obj, Obj]> = [
  ['Service', slimService, service, { spec: { selector: { app: 'web' }, sessionAffinity: 'None', clusterIPs: ['10.96.0.10'], internalTrafficPolicy: 'Cluster' } }],
  ['EndpointSlice', slimEndpointSlice, slice, { endpoints: [{ ...slice.endpoints[0], targetRef: { kind: 'Pod', name: 'web-1' }, zone: 'z', hints: {} }] }],
  ['Node', slimNode, node, { spec: { podCIDR: '10.244.0.0/24', taints: [] }, status: { images: [{ names: ['x'], sizeBytes: 1 }], nodeInfo: { kernelVersion: '6' }, capacity: { cpu: '2' } } }],
  ['Pod', slimPod, pod, { spec: { containers: [{ name: 'edgelb', image: 'edgelb' }], volumes: [] }, status: { phase: 'Running', hostIP: '192.0.2.1', containerStatuses: [] } }],
  ['Secret', slimSecret, secret, { type: 'Opaque', immutable: false }],
  ['Namespace', slimNamespace, namespace, { spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }],
  ['IPPool', slimCustom, pool, {}],
  ['BGPPeer', slimCustom, peer, {}],
  ['BGPPolicy', slimCustom, policy, {}],
  ['BGPPeerService', slimCustom, loxi, {}],
  ['NodeReport', slimCustom, report, {}],
];

for (const [kind, slim, full, extra] of cases) {
  test(`slim ${kind}: every field edgelb reads survives; managedFields, kubectl's copy and unread fields are dropped`, () => {
    const raw = withJunk(full, extra);
    const out = slim(structuredClone(raw));
    assert.deepEqual(out, full);
    const m = out.metadata as Obj;
    assert.equal(m.managedFields, undefined);
    assert.equal((m.annotations as Obj)[LAST_APPLIED], undefined);
    // the projection does not alter the object it was given (the informer may still hold it)
    assert.deepEqual(slim(structuredClone(raw)), out);
  });
}

test('slim: objects with absent or odd parts (no spec, null status, endpoints not a list) are projected without a throw', () => {
  assert.deepEqual(slimService({ metadata: { name: 'a' } }), { metadata: { name: 'a' }, spec: {} });
  assert.deepEqual(slimService({ metadata: { name: 'a' }, spec: null, status: 'x' }), { metadata: { name: 'a' }, spec: {} });
  assert.deepEqual(slimEndpointSlice({ metadata: { name: 's' }, addressType: 'IPv4', endpoints: 'x' }), { metadata: { name: 's' }, addressType: 'IPv4' });
  assert.deepEqual(slimEndpointSlice({ metadata: { name: 's' }, endpoints: [null, { addresses: ['1.2.3.4'], zone: 'z' }] }), { metadata: { name: 's' }, endpoints: [null, { addresses: ['1.2.3.4'] }] });
  assert.deepEqual(slimNode({ metadata: { name: 'n', annotations: null } }), { metadata: { name: 'n', annotations: null } });
  assert.deepEqual(slimMeta(undefined), {});
  assert.deepEqual(slimMeta({ name: 'x', annotations: { [LAST_APPLIED]: '{}' } }), { name: 'x', annotations: {} });
  // an object without metadata (never cached by the informer) passes through unchanged
  const bare = { kind: 'Status', code: 410 } as unknown as KubernetesObject;
  assert.equal(slimmer(slimService)(bare), bare);
  assert.equal(slimmer(slimService)(null as unknown as KubernetesObject), null);
});

/** A stand-in API server: answers every watch of /api/v1/services with `events`, one JSON line each, then holds the stream open. */
async function watchServer(events: Obj[]): Promise<{ server: Server; url: string; watches: () => number }> {
  let watches = 0;
  const server = createServer((req, res) => {
    if (!req.url?.startsWith('/api/v1/services') || !req.url.includes('watch=true')) {
      res.writeHead(404).end();
      return;
    }
    watches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    for (const e of events) res.write(JSON.stringify(e) + '\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${a.port}`, watches: () => watches };
}

test('reflector: listed and watched objects are cached and handed on as the projection', async () => {
  const listed = withJunk({ ...structuredClone(service), metadata: { ...meta('listed', 'apps'), resourceVersion: '10' } }, { spec: { selector: { a: 'b' } } });
  const watched = withJunk({ ...structuredClone(service), metadata: { ...meta('watched', 'apps'), resourceVersion: '11' } }, { spec: { selector: { a: 'b' } } });
  const srv = await watchServer([{ type: 'ADDED', object: watched }, { type: 'BOOKMARK', object: { kind: 'Service', metadata: { resourceVersion: '12' } } }]);
  const kc = KubeClient.forServer(srv.url);
  const seen: Obj[] = [];
  const r = new Reflector<KubernetesObject>(
    'services',
    kc,
    '/api/v1/services',
    async () => ({ items: [structuredClone(listed) as unknown as KubernetesObject], metadata: { resourceVersion: '10' } }),
    (o) => void (o && seen.push(o as unknown as Obj)),
    createLogger({ level: 'silent' }),
    undefined,
    false,
    slimmer(slimService),
  );
  try {
    await r.start();
    const deadline = Date.now() + 10_000;
    while (r.list().length < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    const byName = new Map(r.list().map((o) => [o.metadata!.name!, o as unknown as Obj]));
    assert.deepEqual(byName.get('listed'), { ...service, metadata: { ...meta('listed', 'apps'), resourceVersion: '10' } });
    assert.deepEqual(byName.get('watched'), { ...service, metadata: { ...meta('watched', 'apps'), resourceVersion: '11' } });
    assert.deepEqual(seen.map((o) => (o.metadata as Obj).name), ['listed', 'watched']);
    for (const o of seen) assert.equal((o.metadata as Obj).managedFields, undefined);
    assert.equal(srv.watches(), 1);
  } finally {
    await r.stop();
    srv.server.closeAllConnections();
    await new Promise((res) => srv.server.close(res));
  }
});
