// Least privilege with the real kube-apiserver (RBAC authorizer on, admission policies on): the two
// identities of manifests/ and of the chart (rendered by helm, not copied) — the speaker (the
// DaemonSet) and the controller (the Deployment) — each do their part and none of the other's.
// Tokens are real ServiceAccount tokens bound to a pod on a node (TokenRequest), as a kubelet
// mounts them, so the admission policy sees the node name a speaker may write for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinationV1Api, AppsV1Api, PatchStrategy, setHeaderOptions, loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { startTestCluster, EDGELB_NAMESPACE, type TestCluster } from './harness.js';
import { apply, baseSettings, clients, createPool, ensureNamespace, lbService, loadObjects, serviceIps, waitEstablished, waitUntil, ROOT, type Clients } from './lib.js';
import { KubernetesSource, type KubernetesSourceOptions, type SourceRole } from '../../src/k8s/source.js';
import { KubeWriter, loadKubeClient, statusOf } from '../../src/k8s/client.js';
import { createLogger } from '../../src/lib/logger.js';

interface Install {
  what: string;
  ns: string;
  speaker: string;
  controller: string;
  objects: () => KubernetesObject[];
}

const RBAC_KINDS = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

function helmTemplate(release: string, ns: string, extra: string[] = []): KubernetesObject[] {
  const helm = execFileSync(join(ROOT, 'scripts/helm.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  const r = spawnSync(helm, ['template', release, join(ROOT, 'charts/edgelb'), '--namespace', ns, ...extra], {
    encoding: 'utf8',
    env: { ...process.env, HELM_CACHE_HOME: '/tmp/edgelb-helm/cache', HELM_CONFIG_HOME: '/tmp/edgelb-helm/config', HELM_DATA_HOME: '/tmp/edgelb-helm/data' },
  });
  assert.equal(r.status, 0, r.stderr);
  return (loadAllYaml(r.stdout) as Array<KubernetesObject | null>).filter((o): o is KubernetesObject => !!o && !!o.kind);
}

const INSTALLS: Install[] = [
  { what: 'manifests', ns: EDGELB_NAMESPACE, speaker: 'edgelb', controller: 'edgelb-controller', objects: () => loadObjects(join(ROOT, 'manifests')) },
  {
    what: 'chart',
    ns: 'lb-system',
    speaker: 'lb-edgelb',
    controller: 'lb-edgelb-controller',
    objects: () => [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lb-system' } } as KubernetesObject, ...helmTemplate('lb', 'lb-system')],
  },
];

let cluster: TestCluster;
let admin: Clients;
const speakerKc: Record<string, string> = {};
const t0 = Date.now();
const merge = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const ssa = () => setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const denied = (e: unknown) => statusOf(e) === 403 || statusOf(e) === 422;
const forbidden = (e: unknown) => statusOf(e) === 403;

/** A kubeconfig holding a token that TokenRequest bound to a pod of `sa` on `node`. */
async function podToken(ns: string, sa: string, node: string): Promise<string> {
  const pod = `${sa}-${node}`;
  const p = await admin.core.createNamespacedPod({
    namespace: ns,
    body: { metadata: { name: pod, labels: { test: 'rbac' } }, spec: { nodeName: node, serviceAccountName: sa, containers: [{ name: 'c', image: 'edgelb:test' }] } },
  });
  const tr = await admin.core.createNamespacedServiceAccountToken({
    namespace: ns,
    name: sa,
    body: { spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 3600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod, uid: p.metadata!.uid! } } },
  });
  const file = join(cluster.dir, `${ns}-${pod}.kubeconfig`);
  writeFileSync(
    file,
    `apiVersion: v1\nkind: Config\nclusters: [{ name: t, cluster: { server: "${cluster.server}", certificate-authority-data: "${cluster.caData}" } }]\n` +
      `users: [{ name: u, user: { token: "${tr.status!.token}" } }]\ncontexts: [{ name: c, context: { cluster: t, user: u } }]\ncurrent-context: c\n`,
    { mode: 0o600 },
  );
  return file;
}

/** Server-side apply of a BGPPeer's status as `manager` (what the speakers and the controller send). */
function applyPeerStatus(c: Clients, name: string, status: object, manager: string) {
  return c.custom.patchClusterCustomObjectStatus(
    { group: 'edgelb.io', version: 'v1alpha1', plural: 'bgppeers', name, body: { apiVersion: 'edgelb.io/v1alpha1', kind: 'BGPPeer', metadata: { name }, status }, fieldManager: manager, force: true },
    ssa(),
  );
}

/** Server-side apply of a NodeReport, as a node's speaker writes its own. */
async function applyReport(c: Clients, name: string) {
  return new KubeWriter(await loadKubeClient(c.kubeconfig)).applyClusterObject('nodereports', 'NodeReport', { name }, { status: { node: name, carrying: '0/0' } }, `edgelb-node-${name}`);
}

const entry = (node: string, state = 'Established') => ({ node, state, uptimeSeconds: 5, prefixesSent: 1, updated: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') });

function source(kubeconfig: string, ns: string, role: SourceRole, node: string, extra: Partial<KubernetesSourceOptions> = {}): KubernetesSource {
  return new KubernetesSource({
    kubeconfig,
    nodeName: node,
    settings: baseSettings(node),
    logger: createLogger({ level: (process.env.EDGELB_TEST_LOG as 'info') ?? 'silent' }),
    registry: new Registry(),
    namespace: ns,
    identity: `${role}-${node}`,
    leaderRetryMs: 300,
    leaseDurationSec: 3,
    role,
    ...extra,
  });
}

before(async () => {
  cluster = await startTestCluster();
  admin = clients(cluster.adminKubeconfig);
  await apply(admin, loadObjects(join(ROOT, 'crds')));
  await waitEstablished(admin, ['ippools.edgelb.io', 'bgppeers.edgelb.io', 'bgppolicies.edgelb.io', 'nodereports.edgelb.io']);
  for (const i of INSTALLS) await apply(admin, i.objects().filter((o) => RBAC_KINDS.has(o.kind!)));
  for (const n of ['n1', 'n2']) await admin.core.createNode({ body: { metadata: { name: n } } });
  await ensureNamespace(admin, 'apps');
  await admin.core.createNamespacedService({ namespace: 'apps', body: lbService('apps', 'web') });
  await createPool(admin, 'pool', { cidrs: ['198.51.100.0/28'] });
  await admin.custom.createClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'bgppeers', body: { apiVersion: 'edgelb.io/v1alpha1', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { address: '192.0.2.1', asn: 64512 } } });
  // the API server loads new admission policies a moment after they are created: wait until each
  // install's policy refuses its speaker another node's entry
  for (const i of INSTALLS) {
    const sp = clients((speakerKc[i.what] = await podToken(i.ns, i.speaker, 'n1')));
    await waitUntil(() => applyPeerStatus(sp, 'tor', { nodes: [entry('n2', 'Idle')] }, 'edgelb-node-n2').then(() => false, denied), `the ${i.what} admission policy in force`, 30_000, 250);
    await waitUntil(() => applyReport(sp, 'n2').then(() => false, denied), `the ${i.what} NodeReport policy in force`, 30_000, 250);
  }
  // another node's entry, written as that node's speaker would (the admin here)
  await applyPeerStatus(admin, 'tor', { nodes: [entry('n2')] }, 'edgelb-node-n2');
});
after(async () => {
  await cluster?.stop();
  console.log(`# k8s rbac suite: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('rbac: the chart and the manifests carry both identities, and the DaemonSet and Deployment run as them', () => {
  for (const i of INSTALLS) {
    const objs = i.objects();
    const names = (k: string) => objs.filter((o) => o.kind === k).map((o) => o.metadata!.name).sort();
    assert.deepEqual(names('ServiceAccount'), [i.speaker, i.controller].sort(), i.what);
    assert.deepEqual(names('ClusterRole'), [i.speaker, i.controller].sort(), i.what);
    const spec = (k: string) => (objs.find((o) => o.kind === k) as unknown as { spec: { template: { spec: { serviceAccountName: string; containers: Array<{ args: string[] }> } } } }).spec.template.spec;
    assert.equal(spec('DaemonSet').serviceAccountName, i.speaker, i.what);
    assert.ok(!spec('DaemonSet').containers[0]!.args.includes('--controller'), `${i.what}: the DaemonSet is a speaker only`);
    assert.equal(spec('Deployment').serviceAccountName, i.controller, i.what);
    assert.equal(spec('Deployment').containers[0]!.args[0], 'controller', i.what);
  }
  // the chart's roles are the manifests' roles (names aside)
  const rules = (objs: KubernetesObject[], kind: string, name: string) => JSON.stringify((objs.find((o) => o.kind === kind && o.metadata!.name === name) as unknown as { rules: unknown }).rules);
  const [m, c] = [INSTALLS[0]!, INSTALLS[1]!];
  for (const kind of ['ClusterRole', 'Role']) {
    assert.equal(rules(c.objects(), kind, c.controller), rules(m.objects(), kind, m.controller), `${kind} of the controller`);
    assert.equal(rules(c.objects(), kind, c.speaker).replace(/lb-edgelb/g, 'edgelb'), rules(m.objects(), kind, m.speaker), `${kind} of the speaker`);
  }
  // the chart's all-in-one mode: no Deployment, the DaemonSet writes, its ServiceAccount holds the controller's roles
  const aio = helmTemplate('lb', 'lb-system', ['--set', 'controller.mode=allInOne']);
  assert.ok(!aio.some((o) => o.kind === 'Deployment' || o.kind?.startsWith('ValidatingAdmissionPolicy')));
  const ds = aio.find((o) => o.kind === 'DaemonSet') as unknown as { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } };
  assert.ok(ds.spec.template.spec.containers[0]!.args.includes('--controller'));
  for (const b of aio.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') as unknown as Array<{ subjects: Array<{ name: string }> }>) {
    assert.deepEqual(b.subjects.map((s) => s.name), ['lb-edgelb']);
  }
});

for (const i of INSTALLS) {
  test(`rbac (${i.what}): the speaker reads, creates Events and writes its own BGPPeer entry — and nothing of the controller's`, async () => {
    const kc = speakerKc[i.what]!;
    const sp = clients(kc);
    // its part
    await sp.core.listServiceForAllNamespaces();
    await sp.core.listNode();
    await sp.discovery.listEndpointSliceForAllNamespaces();
    await sp.custom.listClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'ippools' });
    await sp.core.listNamespacedSecret({ namespace: i.ns });
    await sp.core.listNamespacedPod({ namespace: i.ns });
    await assert.rejects(sp.kc.makeApiClient(AppsV1Api).readNamespacedDaemonSet({ namespace: i.ns, name: i.speaker }), (e) => statusOf(e) === 404, 'may read its own DaemonSet (absent here)');
    await sp.core.createNamespacedEvent({ namespace: 'apps', body: { metadata: { generateName: 'web.' }, involvedObject: { kind: 'Service', namespace: 'apps', name: 'web' }, reason: 'Test', message: 'speaker', type: 'Normal' } });
    // the real code: a speaker source syncs every watch and writes its node's entry
    const src = source(kc, i.ns, 'speaker', 'n1', { statusSource: { bgpNeighbors: () => [{ address: '192.0.2.1', state: 'Established', uptimeSec: 3, prefixesSent: 2 }] }, statusIntervalMs: 200 });
    await src.start();
    try {
      await waitUntil(() => src.current(), 'the speaker state');
      await waitUntil(async () => {
        const p = (await admin.custom.getClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'bgppeers', name: 'tor' })) as { status?: { nodes?: Array<{ node: string; prefixesSent: number }> } };
        return p.status?.nodes?.find((n) => n.node === 'n1')?.prefixesSent === 2;
      }, 'n1 entry in BGPPeer tor');
      assert.equal(src.isLeader, false, 'a speaker never takes the Lease');
    } finally {
      await src.stop();
    }
    // not the controller's part
    await assert.rejects(sp.core.patchNamespacedServiceStatus({ namespace: 'apps', name: 'web', body: { status: { loadBalancer: { ingress: [{ ip: '198.51.100.9' }] } } } }, merge()), forbidden, 'Service status');
    await assert.rejects(sp.core.patchNamespacedService({ namespace: 'apps', name: 'web', body: { metadata: { annotations: { x: 'y' } } } }, merge()), forbidden, 'Service metadata');
    await assert.rejects(sp.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: i.ns, name: 'edgelb-leader' }), forbidden, 'Lease');
    await assert.rejects(sp.kc.makeApiClient(CoordinationV1Api).createNamespacedLease({ namespace: i.ns, body: { metadata: { name: 'edgelb-leader' }, spec: { holderIdentity: 'x' } } }), forbidden, 'Lease');
    await assert.rejects(
      sp.custom.patchClusterCustomObjectStatus({ group: 'edgelb.io', version: 'v1alpha1', plural: 'ippools', name: 'pool', body: { status: { assigned: 1 } } }, merge()),
      forbidden,
      'IPPool status',
    );
    await assert.rejects(applyPeerStatus(sp, 'tor', { nodes: [entry('n2', 'Idle')] }, 'edgelb-node-n2'), denied, "another node's entry");
    await assert.rejects(applyPeerStatus(sp, 'tor', { summary: 'n1=Established', established: '1/1' }, 'edgelb-leader'), denied, 'the summary');
    await assert.rejects(sp.core.listNamespacedSecret({ namespace: 'default' }), forbidden, 'Secrets elsewhere');
    await assert.rejects(sp.core.listSecretForAllNamespaces(), forbidden, 'Secrets cluster-wide');
    const peer = (await admin.custom.getClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'bgppeers', name: 'tor' })) as { status: { nodes: Array<{ node: string; state: string }>; summary?: string } };
    assert.equal(peer.status.nodes.find((n) => n.node === 'n2')?.state, 'Established', "n2's entry untouched");
    await applyReport(sp, 'n1');
    await assert.rejects(applyReport(sp, 'n2'), denied, "another node's NodeReport");
    // its own entry it may also remove
    await applyPeerStatus(sp, 'tor', { nodes: [] }, 'edgelb-node-n1');
  });

  test(`rbac (${i.what}): the controller holds the Lease and writes Service and object status — and nothing of the speakers'`, async () => {
    const kc = await podToken(i.ns, i.controller, 'n2');
    const ctl = clients(kc);
    const svc = `svc-${i.what}`;
    await admin.core.createNamespacedService({ namespace: 'apps', body: lbService('apps', svc) });
    // the real code: a controller source syncs every watch, takes the Lease, assigns and writes
    const src = source(kc, i.ns, 'controller', '');
    await src.start();
    try {
      await waitUntil(() => src.isLeader, 'the controller takes the Lease');
      await waitUntil(async () => (await serviceIps(admin, 'apps')).get(svc)?.ips.length === 1, `${svc} gets its ingress from the controller`, 30_000);
      await waitUntil(async () => {
        const p = (await admin.custom.getClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'ippools', name: 'pool' })) as { status?: { assigned?: number } };
        const ips = [...(await serviceIps(admin, 'apps')).values()].filter((s) => s.ips.length > 0).length;
        return p.status?.assigned === ips;
      }, 'IPPool usage written');
      assert.equal(src.current(), undefined, 'a controller emits no node state');
    } finally {
      await src.stop();
    }
    await ctl.core.patchNamespacedServiceStatus({ namespace: 'apps', name: svc, body: { status: { conditions: [] } } }, merge()).catch((e) => assert.fail(`status patch: ${statusOf(e)}`));
    await applyPeerStatus(ctl, 'tor', { summary: 'n2=Established', established: '1/1' }, 'edgelb-leader');
    await new KubeWriter(await loadKubeClient(ctl.kubeconfig)).createEvent('apps', { metadata: { generateName: 'web.' }, involvedObject: { kind: 'Service', namespace: 'apps', name: 'web' }, reason: 'Test', message: 'controller', type: 'Normal' });
    // not the speakers' part, nor anything else
    await assert.rejects(applyPeerStatus(ctl, 'tor', { nodes: [entry('n1')] }, 'edgelb-node-n1'), denied, "a node's entry");
    await assert.rejects(applyReport(ctl, 'n2'), forbidden, 'a NodeReport');
    await assert.rejects(ctl.core.patchNamespacedService({ namespace: 'apps', name: 'web', body: { spec: { loadBalancerClass: null } } }, merge()), forbidden, 'Service spec');
    await assert.rejects(ctl.core.deleteNamespacedService({ namespace: 'apps', name: 'web' }), forbidden, 'delete a Service');
    await assert.rejects(ctl.kc.makeApiClient(AppsV1Api).readNamespacedDaemonSet({ namespace: i.ns, name: i.speaker }), forbidden, 'the DaemonSet');
    await assert.rejects(ctl.core.patchNode({ name: 'n1', body: { metadata: { labels: { x: 'y' } } } }, merge()), forbidden, 'a Node');
    await assert.rejects(ctl.core.listNamespacedSecret({ namespace: 'default' }), forbidden, 'Secrets elsewhere');
    await assert.rejects(ctl.core.createNamespacedPod({ namespace: i.ns, body: { metadata: { name: 'x' }, spec: { containers: [{ name: 'c', image: 'x' }] } } }), forbidden, 'create pods');
  });
}

test('rbac: a speaker token not bound to a pod (no node name) cannot write any BGPPeer status', async () => {
  const sp = clients(cluster.edgelbKubeconfig); // the static token of edgelb-system:edgelb
  await assert.rejects(applyPeerStatus(sp, 'tor', { nodes: [entry('n1')] }, 'edgelb-node-n1'), denied);
});
