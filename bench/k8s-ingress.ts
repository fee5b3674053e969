// Benchmark: time from Service create to status.loadBalancer.ingress for 1,000 LoadBalancer
// Services created at once (p50, p99, throughput) against a real kube-apiserver, and the
// controller's RSS. Anchors measured in the same run: the API server's own create latency for the
// same Services, and the RSS of an idle Node process holding the same client library.
//   npx tsx bench/k8s-ingress.ts [count=1000]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makeInformer, type V1Service } from '@kubernetes/client-node';
import { startTestCluster } from '../test/k8s/harness.js';
import { clients, createPool, ensureNamespace, installBase, lbService, makeSource, parallel } from '../test/k8s/lib.js';

const self = fileURLToPath(import.meta.url);

async function controllerChild(): Promise<void> {
  // the controller alone in this process, as in a DaemonSet pod
  const idleRss = process.memoryUsage().rss;
  const [kubeconfig] = process.argv.slice(3);
  const cluster = { edgelbKubeconfig: kubeconfig } as never;
  const src = makeSource(cluster, 'n1');
  await src.start();
  process.send!({ started: true, idleRss });
  let peak = 0;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  process.on('message', async (m: { stop?: boolean }) => {
    if (!m.stop) return;
    clearInterval(t);
    const rss = process.memoryUsage().rss;
    await src.stop();
    process.send!({ rss, peak });
    process.exit(0);
  });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 1000);
  const cluster = await startTestCluster();
  try {
    const admin = clients(cluster.adminKubeconfig);
    await installBase(admin);
    await ensureNamespace(admin, 'bench');
    await createPool(admin, 'bench', { cidrs: ['10.110.0.0/21'] });

    const child = fork(self, ['--controller', cluster.edgelbKubeconfig], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const msg = <T>() => new Promise<T>((r) => child.once('message', (m) => r(m as T)));
    const started = await msg<{ idleRss: number }>();
    await new Promise((r) => setTimeout(r, 2000)); // leadership

    const createdAt = new Map<string, number>();
    const createMs: number[] = [];
    const ingressAt = new Map<string, number>();
    const inf = makeInformer<V1Service>(admin.kc, '/api/v1/namespaces/bench/services', () => admin.core.listNamespacedService({ namespace: 'bench' }));
    const seen = (s: V1Service) => {
      const n = s.metadata!.name!;
      if (!ingressAt.has(n) && s.status?.loadBalancer?.ingress?.length) ingressAt.set(n, performance.now());
    };
    inf.on('add', seen);
    inf.on('update', seen);
    await inf.start();

    const names = Array.from({ length: count }, (_, i) => `b${i}`);
    const t0 = performance.now();
    await parallel(names, 64, async (n) => {
      const t = performance.now();
      createdAt.set(n, t);
      await admin.core.createNamespacedService({ namespace: 'bench', body: lbService('bench', n) });
      createMs.push(performance.now() - t);
    });
    const tCreated = performance.now();
    while (ingressAt.size < count) {
      if (performance.now() - t0 > 600_000) throw new Error(`only ${ingressAt.size} of ${count} got an ingress in 10 min`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const tDone = performance.now();
    await inf.stop();
    child.send({ stop: true });
    const mem = await msg<{ rss: number; peak: number }>();

    const lat = names.map((n) => ingressAt.get(n)! - createdAt.get(n)!);
    const mb = (b: number) => (b / 1048576).toFixed(0);
    const f = (x: number) => x.toFixed(0);
    console.log(`k8s-ingress: ${count} LoadBalancer Services created at once (64 in flight), kube-apiserver v1.30.14 + etcd 3.4.23 on loopback`);
    console.log(`  create → ingress  p50 ${f(pct(lat, 50))} ms  p99 ${f(pct(lat, 99))} ms   | anchor: API create call p50 ${f(pct(createMs, 50))} ms p99 ${f(pct(createMs, 99))} ms   ratio p50 ${(pct(lat, 50) / pct(createMs, 50)).toFixed(1)}x`);
    console.log(`  throughput        ${(count / ((tDone - t0) / 1000)).toFixed(1)} Services/s to ingress   | anchor: ${(count / ((tCreated - t0) / 1000)).toFixed(1)} creates/s   ratio ${((tCreated - t0) / (tDone - t0)).toFixed(2)}`);
    console.log(`  controller RSS    ${mb(mem.rss)} MiB (peak ${mb(mem.peak)} MiB)   | anchor: idle Node + client library ${mb(started.idleRss)} MiB   ratio ${(mem.peak / started.idleRss).toFixed(1)}x`);
  } finally {
    await cluster.stop();
  }
}

if (process.argv[2] === '--controller') void controllerChild();
else await main();
