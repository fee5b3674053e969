// Adoption flags through the real CLI and a real kube-apiserver: `edgelb daemon --kubernetes`
// serves a LoadBalancer Service with no loadBalancerClass only with `--default-class`, never one
// of another class, and `--default-lbmode` is the mode of every Service without an lbmode
// annotation. The daemon runs with the data path off and no BGP: the API server is what is checked
// (status.loadBalancer.ingress written by the leader) and the daemon's own /v1/services.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startTestCluster, freePort, EDGELB_NAMESPACE } from './harness.js';
import { clients, createPool, ensureNamespace, installBase, lbService, ROOT, sleep, waitUntil, type Clients } from './lib.js';
import { LabProcess } from '../lab/lib/index.js';

const NODE = 'adopt-edge';
const POD = `edgelb-${NODE}`;
const merge = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const ingressOf = async (c: Clients, name: string) => (await c.core.readNamespacedService({ namespace: 'adopt', name })).status?.loadBalancer?.ingress?.[0]?.ip;

async function services(port: number): Promise<Array<{ name: string; mode: string }>> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/services`);
  return ((await r.json()) as Array<{ name: string; mode: string }>).map((s) => ({ name: s.name, mode: s.mode })).sort((a, b) => a.name.localeCompare(b.name));
}

test('k8s adoption: a class-less Service is served only with --default-class; --default-lbmode sets the mode', { timeout: 120_000 }, async () => {
  const cluster = await startTestCluster();
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-adopt-'));
  let daemon: LabProcess | undefined;
  const start = async (port: number, flags: string[]) => {
    const cfg = join(dir, `config-${port}.yaml`);
    writeFileSync(cfg, `node: { interface: lo, routerId: 10.78.0.2 }\napi: { listen: 127.0.0.1:${port} }\ndataplane: { enabled: false }\n`);
    daemon = await LabProcess.start('edgelb-adopt', undefined, [process.execPath, '--single-threaded-gc', join(ROOT, 'dist/cli/main.js'), 'daemon', '--kubernetes', '--config', cfg, ...flags], join(dir, `daemon-${port}.log`), {
      env: { KUBECONFIG: cluster.edgelbKubeconfig, NODE_NAME: NODE, POD_NAME: POD, POD_NAMESPACE: EDGELB_NAMESPACE },
    });
  };
  try {
    const admin = clients(cluster.adminKubeconfig);
    await installBase(admin);
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
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
