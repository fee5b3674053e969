// Against a real kube-apiserver: the CRDs apply, reject invalid objects with the schema's message,
// show the printer columns; every manifest passes a server-side dry-run; the RBAC is least-privilege.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startTestCluster, apiGet, EDGELB_NAMESPACE, type TestCluster } from './harness.js';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { apply, clients, installBase, loadObjects, ROOT, type Clients } from './lib.js';
import { statusOf } from '../../src/k8s/client.js';

let cluster: TestCluster;
let admin: Clients;
let edgelb: Clients;
const t0 = Date.now();

before(async () => {
  cluster = await startTestCluster();
  admin = clients(cluster.adminKubeconfig);
  edgelb = clients(cluster.edgelbKubeconfig);
  await installBase(admin);
});
after(async () => {
  await cluster?.stop();
  console.log(`# k8s crds suite: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

async function create(kind: string, plural: string, name: string, spec: object): Promise<{ ok: true } | { ok: false; status: number; message: string }> {
  try {
    await admin.custom.createClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural, body: { apiVersion: 'edgelb.io/v1alpha1', kind, metadata: { name }, spec } });
    return { ok: true };
  } catch (e) {
    const body = (e as { body?: unknown }).body;
    const message = typeof body === 'string' ? (JSON.parse(body) as { message: string }).message : (body as { message?: string })?.message ?? String(e);
    return { ok: false, status: statusOf(e), message };
  }
}

const invalid: Array<{ desc: string; kind: string; plural: string; spec: object; want: RegExp }> = [
  { desc: 'BGPPeer address not an IP', kind: 'BGPPeer', plural: 'bgppeers', spec: { address: '300.1.1.1', asn: 64512 }, want: /address must be an IPv4 or IPv6 address/ },
  { desc: 'BGPPeer hostname as address', kind: 'BGPPeer', plural: 'bgppeers', spec: { address: 'tor-a', asn: 64512 }, want: /address must be an IPv4 or IPv6 address/ },
  { desc: 'BGPPeer asn 0', kind: 'BGPPeer', plural: 'bgppeers', spec: { address: '192.0.2.1', asn: 0 }, want: /spec.asn in body should be greater than or equal to 1/ },
  { desc: 'BGPPeer asn above 32 bits', kind: 'BGPPeer', plural: 'bgppeers', spec: { address: '192.0.2.1', asn: 4294967296 }, want: /spec.asn in body should be less than or equal to 4294967295/ },
  { desc: 'BGPPeer holdTime 2', kind: 'BGPPeer', plural: 'bgppeers', spec: { address: '192.0.2.1', asn: 1, holdTime: 2 }, want: /holdTime must be 0 or at least 3 seconds/ },
  { desc: 'BGPPeer keepalive >= holdTime', kind: 'BGPPeer', plural: 'bgppeers', spec: { address: '192.0.2.1', asn: 1, holdTime: 9, keepalive: 9 }, want: /keepalive must be less than holdTime/ },
  { desc: 'BGPPeer missing asn', kind: 'BGPPeer', plural: 'bgppeers', spec: { address: '192.0.2.1' }, want: /spec.asn: Required value/ },
  { desc: 'BGPPeer unknown family', kind: 'BGPPeer', plural: 'bgppeers', spec: { address: '192.0.2.1', asn: 1, families: ['ipx'] }, want: /supported values: "ipv4", "ipv6"/ },
  { desc: 'BGPPeer password ref without name', kind: 'BGPPeer', plural: 'bgppeers', spec: { address: '192.0.2.1', asn: 1, passwordSecretRef: { key: 'x' } }, want: /spec.passwordSecretRef.name: Required value/ },
  { desc: 'BGPPeer restartTime too long', kind: 'BGPPeer', plural: 'bgppeers', spec: { address: '192.0.2.1', asn: 1, gracefulRestart: { restartTime: 5000 } }, want: /restartTime in body should be less than or equal to 4095/ },
  { desc: 'IPPool empty', kind: 'IPPool', plural: 'ippools', spec: {}, want: /an IPPool needs at least one of cidrs or ranges/ },
  { desc: 'IPPool bad CIDR', kind: 'IPPool', plural: 'ippools', spec: { cidrs: ['10.0.0.0/33'] }, want: /must be a CIDR such as 192.168.80.240\/28/ },
  { desc: 'IPPool bad range', kind: 'IPPool', plural: 'ippools', spec: { ranges: ['10.0.0.1'] }, want: /must be first-last of one family/ },
  { desc: 'IPPool l2 with activeBackup', kind: 'IPPool', plural: 'ippools', spec: { cidrs: ['10.0.0.0/28'], announce: 'l2', bgpMode: 'activeBackup' }, want: /bgpMode activeBackup needs announce bgp or both/ },
  { desc: 'IPPool unknown announce', kind: 'IPPool', plural: 'ippools', spec: { cidrs: ['10.0.0.0/28'], announce: 'ospf' }, want: /supported values: "bgp", "l2", "both"/ },
  { desc: 'BGPPolicy statement names a missing prefix set', kind: 'BGPPolicy', plural: 'bgppolicies', spec: { statements: [{ name: 's', match: { prefixSet: 'nope' } }] }, want: /every statement's match.prefixSet must name one of prefixSets/ },
  { desc: 'BGPPolicy statement names a missing community set', kind: 'BGPPolicy', plural: 'bgppolicies', spec: { statements: [{ name: 's', match: { communitySet: 'nope' } }] }, want: /every statement's match.communitySet must name one of communitySets/ },
  { desc: 'BGPPolicy minLen > maxLen', kind: 'BGPPolicy', plural: 'bgppolicies', spec: { prefixSets: [{ name: 'x', prefixes: [{ prefix: '10.0.0.0/8', minLen: 30, maxLen: 20 }] }] }, want: /minLen must not exceed maxLen/ },
  { desc: 'BGPPolicy bad community', kind: 'BGPPolicy', plural: 'bgppolicies', spec: { communitySets: [{ name: 'c', communities: ['no-export!'] }] }, want: /should match/ },
  { desc: 'BGPPolicy bad result', kind: 'BGPPolicy', plural: 'bgppolicies', spec: { statements: [{ name: 's', actions: { result: 'maybe' } }] }, want: /supported values: "accept", "reject"/ },
  { desc: 'BGPPolicy bad prefix', kind: 'BGPPolicy', plural: 'bgppolicies', spec: { prefixSets: [{ name: 'x', prefixes: [{ prefix: '10.0.0.0' }] }] }, want: /prefix in body should match/ },
  // issue 11 #2: these passed the schema and crash-looped the speaker; now the schema refuses them too
  { desc: 'BGPPolicy community 70000:1 (16-bit halves)', kind: 'BGPPolicy', plural: 'bgppolicies', spec: { statements: [{ name: 's', actions: { addCommunities: ['70000:1'] } }] }, want: /addCommunities\[0\] in body should match/ },
  { desc: 'BGPPolicy large community in addCommunities', kind: 'BGPPolicy', plural: 'bgppolicies', spec: { statements: [{ name: 's', actions: { addCommunities: ['1:2:3'] } }] }, want: /addCommunities\[0\] in body should match/ },
  { desc: 'BGPPolicy prefix 999.0.0.0/8', kind: 'BGPPolicy', plural: 'bgppolicies', spec: { prefixSets: [{ name: 'x', prefixes: [{ prefix: '999.0.0.0/8' }] }] }, want: /prefix in body should match/ },
  { desc: 'BGPPolicy nextHop a name', kind: 'BGPPolicy', plural: 'bgppolicies', spec: { statements: [{ name: 's', actions: { nextHop: 'tor-a' } }] }, want: /nextHop in body should match/ },
];

let n = 0;
for (const row of invalid) {
  test(`k8s crds: rejects ${row.desc}`, async () => {
    const r = await create(row.kind, row.plural, `bad-${n++}`, row.spec);
    assert.equal(r.ok, false, 'the API server accepted an invalid object');
    if (r.ok) return;
    assert.equal(r.status, 422);
    assert.match(r.message, row.want);
  });
}

test('k8s crds: valid objects are accepted with defaults filled in', async () => {
  assert.deepEqual(await create('BGPPeer', 'bgppeers', 'ok-peer', { address: '2001:db8::1', asn: 4200000000, families: ['ipv6'] }), { ok: true });
  assert.deepEqual(await create('IPPool', 'ippools', 'ok-pool', { cidrs: ['10.9.0.0/24', 'fd00:9::/120'], ranges: ['10.10.0.1-10.10.0.9'] }), { ok: true });
  assert.deepEqual(
    await create('BGPPolicy', 'bgppolicies', 'ok-policy', {
      prefixSets: [{ name: 'v', prefixes: [{ prefix: '10.9.0.0/24', minLen: 32, maxLen: 32 }] }],
      communitySets: [{ name: 'c', communities: ['65000:1', '1:2:3'] }],
      statements: [{ name: 's', match: { prefixSet: 'v', communitySet: 'c' }, actions: { med: 5, prepend: { count: 2 }, result: 'accept' } }],
    }),
    { ok: true },
  );
  const peer = (await admin.custom.getClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'bgppeers', name: 'ok-peer' })) as { spec: Record<string, unknown> };
  assert.equal(peer.spec.port, 179);
  assert.equal(peer.spec.holdTime, 9);
  const pool = (await admin.custom.getClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'ippools', name: 'ok-pool' })) as { spec: Record<string, unknown> };
  assert.deepEqual([pool.spec.announce, pool.spec.bgpMode, pool.spec.avoidBuggyIPs, pool.spec.autoAssign], ['bgp', 'ecmp', true, true]);
});

test('k8s crds: kubectl get bgppeers shows each node\'s session at a glance (printer columns)', async () => {
  await admin.custom.patchClusterCustomObjectStatus(
    { group: 'edgelb.io', version: 'v1alpha1', plural: 'bgppeers', name: 'ok-peer', body: { status: { summary: 'edge-1=Established edge-2=Active', established: '1/2' } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  // the server-side Table, as kubectl asks for it
  const r = await apiGet(cluster, '/apis/edgelb.io/v1alpha1/bgppeers', 'application/json;as=Table;v=v1;g=meta.k8s.io');
  assert.equal(r.status, 200);
  const table = JSON.parse(r.body) as { columnDefinitions: Array<{ name: string }>; rows: Array<{ cells: unknown[]; object: { metadata: { name: string } } }> };
  assert.deepEqual(table.columnDefinitions.map((c) => c.name), ['Name', 'Address', 'ASN', 'Established', 'Sessions', 'Age']);
  const row = table.rows.find((x) => x.cells[0] === 'ok-peer')!;
  assert.deepEqual(row.cells.slice(0, 5), ['ok-peer', '2001:db8::1', 4200000000, '1/2', 'edge-1=Established edge-2=Active']);
});

test('k8s manifests: every manifest passes a server-side dry-run (kustomization resources)', async () => {
  const objs = loadObjects(join(ROOT, 'manifests'));
  const kinds = objs.map((o) => o.kind).sort();
  for (const k of ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'Deployment', 'Namespace', 'Role', 'RoleBinding', 'ServiceAccount', 'Service', 'PodDisruptionBudget', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']) {
    assert.ok(kinds.includes(k), `manifests lack a ${k}`);
  }
  // the CRDs are their own step (crds/), and nothing live is shipped: no pool, peer, policy or Secret
  for (const k of ['CustomResourceDefinition', 'IPPool', 'BGPPeer', 'BGPPolicy', 'Secret']) assert.ok(!kinds.includes(k), `manifests ship a ${k}`);
  await apply(admin, objs, { dryRun: true });
  // the examples, in their own folder, are valid objects once the CRDs exist
  const examples = loadObjects(join(ROOT, 'manifests', 'examples'));
  assert.deepEqual(examples.map((o) => o.kind).sort(), ['BGPPeer', 'BGPPolicy', 'IPPool', 'Service']);
  await apply(admin, examples, { dryRun: true });
  // a dry-run changed nothing
  await assert.rejects(admin.core.readNamespacedConfigMap({ namespace: EDGELB_NAMESPACE, name: 'edgelb-config' }), (e) => statusOf(e) === 404);
  const ds = objs.find((o) => o.kind === 'DaemonSet') as unknown as {
    spec: { template: { spec: { hostNetwork: boolean; containers: Array<{ args: string[]; securityContext: { capabilities: { add: string[]; drop: string[] } } }> } } };
  };
  const ctr = ds.spec.template.spec.containers[0]!;
  assert.equal(ds.spec.template.spec.hostNetwork, true);
  assert.deepEqual(ctr.args, ['daemon', '--kubernetes', '--config', '/etc/edgelb/config.yaml']);
  assert.deepEqual(ctr.securityContext.capabilities.drop, ['ALL']);
  // no SYS_ADMIN (the running XDP program is taken over from its pin), never privileged
  assert.ok(!ctr.securityContext.capabilities.add.includes('SYS_ADMIN'));
  assert.ok(!('privileged' in ctr.securityContext) || !(ctr.securityContext as { privileged?: boolean }).privileged);
});

test('k8s rbac: the edgelb ServiceAccount reads Secrets only in its own namespace', async () => {
  await admin.core.createNamespacedSecret({ namespace: EDGELB_NAMESPACE, body: { metadata: { name: 'peer-pw' }, stringData: { password: 'x' } } });
  const own = await edgelb.core.listNamespacedSecret({ namespace: EDGELB_NAMESPACE });
  assert.ok(own.items.some((s) => s.metadata?.name === 'peer-pw'));
  await assert.rejects(edgelb.core.listSecretForAllNamespaces(), (e) => statusOf(e) === 403);
  await assert.rejects(edgelb.core.listNamespacedSecret({ namespace: 'default' }), (e) => statusOf(e) === 403);
  await assert.rejects(edgelb.core.listNamespacedSecret({ namespace: 'kube-system' }), (e) => statusOf(e) === 403);
  // it may not delete Services, nor write Service specs beyond a patch, nor touch pods elsewhere
  await assert.rejects(edgelb.core.deleteNamespacedService({ namespace: 'default', name: 'kubernetes' }), (e) => statusOf(e) === 403);
  await assert.rejects(edgelb.core.listNamespacedPod({ namespace: 'default' }), (e) => statusOf(e) === 403);
  // and it may read what it serves
  await edgelb.core.listServiceForAllNamespaces();
  await edgelb.discovery.listEndpointSliceForAllNamespaces();
  await edgelb.custom.listClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'bgppeers' });
});

test('k8s crds: the CRDs are structural and served (apply is idempotent)', async () => {
  await apply(admin, loadObjects(join(ROOT, 'crds')));
  const list = (await admin.custom.listClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'ippools' })) as { items: unknown[] };
  assert.ok(list.items.length >= 1);
});
