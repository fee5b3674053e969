// Two `edgelb controller` processes (the Deployment's two replicas, the real binary from dist/)
// against a real kube-apiserver as the edgelb-controller ServiceAccount (the split RBAC of
// manifests/): one holds the Lease and writes; kill -9 it and the other takes the Lease over and
// writes (a new Service gets its ingress, the old one keeps its address). A clean stop (SIGTERM)
// releases the Lease at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { startTestCluster, EDGELB_NAMESPACE, type TestCluster } from './harness.js';
import { clients, createPool, ensureNamespace, installBase, lbService, serviceIps, waitUntil, ROOT, type Clients } from './lib.js';

let cluster: TestCluster;
let admin: Clients;
let kubeconfig = '';
const procs = new Map<string, ChildProcess>();
const t0 = Date.now();

function startController(id: string): ChildProcess {
  const log = join(cluster.dir, `controller-${id}.log`);
  const out = createWriteStream(log);
  const child = spawn(process.execPath, ['--single-threaded-gc', join(ROOT, 'dist/cli/main.js'), 'controller', '--listen', '127.0.0.1:0', '--lease-duration', '3', '--log-level', 'debug'], {
    env: { ...process.env, KUBECONFIG: kubeconfig, POD_NAME: id, POD_NAMESPACE: EDGELB_NAMESPACE },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  procs.set(id, child);
  return child;
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null || c.signalCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

async function lease() {
  return admin.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: EDGELB_NAMESPACE, name: 'edgelb-leader' }).catch(() => undefined);
}

before(async () => {
  cluster = await startTestCluster();
  admin = clients(cluster.adminKubeconfig);
  await installBase(admin, { split: true });
  // a token of the controller's ServiceAccount (TokenRequest), as its pods get one
  const tr = await admin.core.createNamespacedServiceAccountToken({ namespace: EDGELB_NAMESPACE, name: 'edgelb-controller', body: { spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 3600 } } });
  kubeconfig = join(cluster.dir, 'controller.kubeconfig');
  writeFileSync(kubeconfig, readFileSync(cluster.edgelbKubeconfig, 'utf8').replace(/token: "[^"]+"/, `token: "${tr.status!.token}"`), { mode: 0o600 });
  await createPool(admin, 'pool', { cidrs: ['198.51.100.0/28'] });
  await ensureNamespace(admin, 'apps');
});
after(async () => {
  for (const c of procs.values()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all([...procs.values()].map(exited));
  await cluster?.stop();
  console.log(`# k8s controller failover suite: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('controller failover: kill -9 the Lease holder, the other replica takes over the writes', async () => {
  startController('ctl-a');
  startController('ctl-b');
  const first = await waitUntil(async () => (await lease())?.spec?.holderIdentity || undefined, 'a Lease holder', 60_000);
  assert.ok(['ctl-a', 'ctl-b'].includes(first));
  const transitions = (await lease())!.spec!.leaseTransitions ?? 0;
  await admin.core.createNamespacedService({ namespace: 'apps', body: lbService('apps', 's1') });
  const ip1 = await waitUntil(async () => (await serviceIps(admin, 'apps')).get('s1')?.ips[0], 's1 ingress from the first holder', 30_000);

  const holder = procs.get(first)!;
  holder.kill('SIGKILL');
  await exited(holder);
  const killedAt = Date.now();
  await admin.core.createNamespacedService({ namespace: 'apps', body: lbService('apps', 's2') });
  const ip2 = await waitUntil(async () => (await serviceIps(admin, 'apps')).get('s2')?.ips[0], 's2 ingress from the surviving replica', 60_000);
  const l = (await lease())!;
  const other = first === 'ctl-a' ? 'ctl-b' : 'ctl-a';
  assert.equal(l.spec!.holderIdentity, other, 'the survivor holds the Lease');
  assert.equal(l.spec!.leaseTransitions, transitions + 1);
  assert.notEqual(ip2, ip1);
  assert.deepEqual((await serviceIps(admin, 'apps')).get('s1')?.ips, [ip1], 's1 keeps its address across the failover');
  console.log(`# takeover after kill -9: s2 had its ingress ${Date.now() - killedAt} ms after the kill (lease 3 s)`);

  // a clean stop releases the Lease at once (the next replica need not wait out the duration)
  const survivor = procs.get(other)!;
  survivor.kill('SIGTERM');
  assert.equal(await exited(survivor), 0);
  assert.equal((await lease())!.spec!.holderIdentity, '', 'released on SIGTERM');
  const c = startController('ctl-c');
  await waitUntil(async () => (await lease())?.spec?.holderIdentity === 'ctl-c', 'ctl-c takes the released Lease', 30_000);
  await admin.core.createNamespacedService({ namespace: 'apps', body: lbService('apps', 's3') });
  await waitUntil(async () => (await serviceIps(admin, 'apps')).get('s3')?.ips[0], 's3 ingress from ctl-c', 30_000);
  c.kill('SIGTERM');
  assert.equal(await exited(c), 0);
});

test('controller: a bad --lease-duration is refused with exit 1 and the option named', async () => {
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'controller', '--lease-duration', '0.5'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  assert.equal(await exited(child), 1);
  assert.match(err, /--lease-duration must be an integer 2\.\.300/);
});
