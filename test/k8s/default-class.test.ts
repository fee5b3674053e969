// Adoption through a real kube-apiserver. `edgelb daemon --kubernetes --controller` serves a LoadBalancer
// Service with no loadBalancerClass only with `--default-class`, never one of another class, and
// `--default-lbmode` is the mode of every Service without an lbmode annotation (the daemon runs with
// the data path off and no BGP: checked are status.loadBalancer.ingress written by the leader and
// the daemon's own /v1/services). And what `edgelb migrate` prints passes the CRD schemas (with
// their CEL rules) in a server-side dry-run.
import { test, before, after } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import type { KubernetesObject } from '@kubernetes/client-node';
import { migrateTexts } from '../../src/migrate/index.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startTestCluster, freePort, EDGELB_NAMESPACE, type TestCluster } from './harness.js';
import { apply, clients, createPool, ensureNamespace, installBase, lbService, ROOT, sleep, waitUntil, type Clients } from './lib.js';
import { LabProcess } from '../lab/lib/index.js';

const NODE = 'adopt-edge';
const POD = `edgelb-${NODE}`;
const merge = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const ingressOf = async (c: Clients, name: string) => (await c.core.readNamespacedService({ namespace: 'adopt', name })).status?.loadBalancer?.ingress?.[0]?.ip;

async function services(port: number): Promise<Array<{ name: string; mode: string }>> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/services`);
  return ((await r.json()) as Array<{ name: string; mode: string }>).map((s) => ({ name: s.name, mode: s.mode })).sort((a, b) => a.name.localeCompare(b.name));
}

let cluster: TestCluster;
let admin: Clients;
before(async () => {
  cluster = await startTestCluster();
  admin = clients(cluster.adminKubeconfig);
  await installBase(admin);
});
after(async () => {
  await cluster?.stop();
});

test('k8s adoption: a class-less Service is served only with --default-class; --default-lbmode sets the mode', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-adopt-'));
  let daemon: LabProcess | undefined;
  const start = async (port: number, flags: string[]) => {
    const cfg = join(dir, `config-${port}.yaml`);
    writeFileSync(cfg, `node: { interface: lo, routerId: 10.78.0.2 }\napi: { listen: 127.0.0.1:${port} }\ndataplane: { enabled: false }\n`);
    daemon = await LabProcess.start('edgelb-adopt', undefined, [process.execPath, '--single-threaded-gc', join(ROOT, 'dist/cli/main.js'), 'daemon', '--kubernetes', '--controller', '--config', cfg, ...flags], join(dir, `daemon-${port}.log`), {
      env: { KUBECONFIG: cluster.edgelbKubeconfig, NODE_NAME: NODE, POD_NAME: POD, POD_NAMESPACE: EDGELB_NAMESPACE },
    });
  };
  try {
    await admin.core.createNode({ body: { metadata: { name: NODE } } });
    await admin.core.patchNodeStatus({ name: NODE, body: { status: { addresses: [{ type: 'InternalIP', address: '10.78.0.2' }] } } }, merge());
    await admin.core.createNamespacedPod({ namespace: EDGELB_NAMESPACE, body: { metadata: { name: POD, labels: { 'app.kubernetes.io/name': 'edgelb' } }, spec: { nodeName: NODE, hostNetwork: true, containers: [{ name: 'edgelb', image: 'edgelb:test' }] } } });
    await admin.core.patchNamespacedPodStatus({ namespace: EDGELB_NAMESPACE, name: POD, body: { status: { phase: 'Running', podIP: '10.78.0.2', hostIP: '10.78.0.2', conditions: [{ type: 'Ready', status: 'True' }] } } }, merge());
    await createPool(admin, 'adopt', { cidrs: ['192.168.91.0/28'] });
    await ensureNamespace(admin, 'adopt');
    await admin.core.createNamespacedService({ namespace: 'adopt', body: lbService('adopt', 'classed') });
    await admin.core.createNamespacedService({ namespace: 'adopt', body: lbService('adopt', 'plain', { cls: null }) });
    await admin.core.createNamespacedService({ namespace: 'adopt', body: lbService('adopt', 'plain-fullnat', { cls: null, ann: { 'loxilb.io/lbmode': 'fullnat' } }) });
    await admin.core.createNamespacedService({ namespace: 'adopt', body: lbService('adopt', 'foreign', { cls: 'example.com/other-lb' }) });

    // without the flags: only the Service of our class, in edgelb's default mode
    const p1 = await freePort();
    await start(p1, []);
    await waitUntil(() => ingressOf(admin, 'classed'), 'ingress of the classed Service', 60_000, 200);
    assert.deepEqual(await waitUntil(async () => ((await services(p1)).length ? services(p1) : undefined), '/v1/services', 30_000, 200), [{ name: 'adopt/classed', mode: 'onearm' }]);
    await sleep(1000); // a few more reconcile rounds: the class-less Services stay untouched
    assert.equal(await ingressOf(admin, 'plain'), undefined, 'a class-less Service was served without --default-class');
    assert.equal(await ingressOf(admin, 'plain-fullnat'), undefined);
    await daemon!.stop('SIGTERM', 5000);
    daemon = undefined;

    // with --default-class --default-lbmode dnat: the class-less ones too; an annotation still wins
    const p2 = await freePort();
    await start(p2, ['--default-class', '--default-lbmode', 'dnat']);
    await waitUntil(() => ingressOf(admin, 'plain'), 'ingress of the class-less Service', 60_000, 200);
    await waitUntil(() => ingressOf(admin, 'plain-fullnat'), 'ingress of the annotated class-less Service', 30_000, 200);
    const want = [
      { name: 'adopt/classed', mode: 'dnat' },
      { name: 'adopt/plain', mode: 'dnat' },
      { name: 'adopt/plain-fullnat', mode: 'fullnat' },
    ];
    assert.deepEqual(await waitUntil(async () => ((await services(p2)).length === 3 ? services(p2) : undefined), '/v1/services with 3 services', 30_000, 200), want);
    assert.equal(await ingressOf(admin, 'foreign'), undefined, 'a Service of another class was served');
  } catch (e) {
    process.stdout.write('\n--- edgelb ---\n' + (daemon?.output().split('\n').slice(-40).join('\n') ?? '') + '\n');
    throw e;
  } finally {
    await daemon?.stop('SIGTERM', 3000);
    rmSync(dir, { recursive: true, force: true });
  }
});

// fields the documentation-shaped fixtures leave out, so every mapping meets the schemas once
const KITCHEN_SINK = `
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: Sink_Pool, labels: { all: "yes" } }
spec:
  addresses: ["2001:db8:5::10-2001:db8:5::2f", 10.55.0.1-10.55.0.77, 10.56.0.9/24, 10.57.0.7]
  autoAssign: false
  serviceAllocation: { priority: 7, namespaces: [a], namespaceSelectors: [{ matchLabels: { t: x } }], serviceSelectors: [{ matchExpressions: [{ key: k, operator: DoesNotExist }] }] }
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: sink-peer }
spec: { myASN: 4200000000, peerASN: 4200000001, peerAddress: "2001:db8::ff", holdTime: 3s, keepaliveTime: 1s, connectTime: 1h30m, dualStackAddressFamily: true, enableGracefulRestart: false, password: "p@ss word", nodeSelectors: [{ matchLabels: { h: a } }, { matchLabels: { h: b } }] }
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: { name: sink-adv }
spec: { ipAddressPoolSelectors: [{ matchLabels: { all: "yes" } }], localPref: 4294967295, communities: ["0:0", "65535:65535", "large:4294967295:0:1"], peers: [sink-peer] }
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: { name: sink-l2 }
`;

test('k8s migrate: every converted object passes the CRD schemas and their CEL rules (server-side dry-run)', async () => {
  const fix = join(ROOT, 'test/unit/fixtures/migrate');
  const inputs = readdirSync(fix)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ tool: f.startsWith('metallb') ? ('metallb' as const) : ('kube-loxilb' as const), name: f, text: readFileSync(join(fix, f), 'utf8') }));
  inputs.push({ tool: 'metallb', name: 'kitchen-sink.yaml', text: KITCHEN_SINK });
  let n = 0;
  const kinds = new Set<string>();
  for (const i of inputs) {
    const objs = migrateTexts(i.tool, [{ name: i.name, text: i.text }]).migration.objects.map((c) => c.obj as unknown as KubernetesObject);
    try {
      await apply(admin, objs, { dryRun: true });
    } catch (e) {
      const body = (e as { body?: unknown }).body;
      throw new Error(`${i.name}: the API server refused a converted object: ${typeof body === 'string' ? body : JSON.stringify(body ?? String(e))}`);
    }
    n += objs.length;
    for (const o of objs) kinds.add(o.kind!);
  }
  assert.deepEqual([...kinds].sort(), ['BGPPeer', 'BGPPolicy', 'IPPool', 'Secret']);
  assert.ok(n >= 20, `${n} objects checked`);
});
