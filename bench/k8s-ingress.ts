// Benchmark: N LoadBalancer Services created at once (64 in flight) against a real kube-apiserver
// + etcd on loopback; the figure is each create call's return → its status.loadBalancer.ingress
// seen by a watch, p50 and p99. Side A: edgelb's Kubernetes controller (KubernetesSource, alone in
// a child process, leader before t0). Side B, the floor this API server and etcd allow: a bare
// client with the controller's RBAC that patches each Service's status itself as soon as its create
// returns. Each run uses a fresh namespace; runs alternate A, B. (MetalLB's controller as a second
// anchor is not built yet.)
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PatchStrategy, makeInformer, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { startTestCluster, type TestCluster } from '../test/k8s/harness.js';
import { clients, createPool, ensureNamespace, installBase, lbService, makeSource, parallel } from '../test/k8s/lib.js';
import { alternate, percentile, summarize, type BenchContext, type Row } from './lib/harness.js';
import type { Benchmark } from './run.js';

const self = fileURLToPath(import.meta.url);

async function controllerChild(kubeconfig: string): Promise<void> {
  const cluster = { edgelbKubeconfig: kubeconfig } as TestCluster;
  const src = makeSource(cluster, 'n1', { role: 'controller' }); // the controller process's figure (edgelb controller), no node
  await src.start();
  process.send!({ started: true });
  let peak = 0;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  process.on('message', (m: { stop?: boolean }) => {
    if (!m.stop) return;
    clearInterval(t);
    void src.stop().then(() => {
      process.send!({ peak });
      process.exit(0);
    });
  });
}

interface RunResult {
  lat: number[];
  peakMiB?: number;
}

/** Create `count` Services in `ns` and time create-return → ingress; `onCreated` runs after each create. */
async function createAndWatch(cluster: TestCluster, ns: string, count: number, onCreated: (name: string) => Promise<void>): Promise<number[]> {
  const admin = clients(cluster.adminKubeconfig);
  await ensureNamespace(admin, ns);
  const createdAt = new Map<string, number>();
  const ingressAt = new Map<string, number>();
  const inf = makeInformer<V1Service>(admin.kc, `/api/v1/namespaces/${ns}/services`, () => admin.core.listNamespacedService({ namespace: ns }));
  const seen = (s: V1Service) => {
    const n = s.metadata!.name!;
    if (!ingressAt.has(n) && s.status?.loadBalancer?.ingress?.length) ingressAt.set(n, performance.now());
  };
  inf.on('add', seen);
  inf.on('update', seen);
  await inf.start();
  try {
    const names = Array.from({ length: count }, (_, i) => `b${i}`);
    const t0 = performance.now();
    await parallel(names, 64, async (n) => {
      await admin.core.createNamespacedService({ namespace: ns, body: lbService(ns, n) });
      createdAt.set(n, performance.now());
      await onCreated(n);
    });
    while (ingressAt.size < count) {
      if (performance.now() - t0 > 600_000) throw new Error(`only ${ingressAt.size} of ${count} got an ingress in 10 min`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return names.map((n) => Math.max(0, ingressAt.get(n)! - createdAt.get(n)!));
  } finally {
    await inf.stop();
    // no namespace controller runs here (no kube-controller-manager), so delete the Services
    // themselves: their addresses go back to the pool before the next run
    await admin.core.deleteCollectionNamespacedService({ namespace: ns });
  }
}

const bench: Benchmark = {
  name: 'k8s-ingress',
  title: 'Kubernetes: N Services created at once → status.loadBalancer.ingress, edgelb controller vs a bare client patching status (the API floor)',
  async run(ctx: BenchContext): Promise<Row[]> {
    const count = ctx.quick ? 20 : 1000;
    const cluster = await startTestCluster();
    try {
      const admin = clients(cluster.adminKubeconfig);
      await installBase(admin);
      await createPool(admin, 'bench', { cidrs: ['10.112.0.0/18'] }); // 16,384 addresses: far more than the runs need
      const bare = clients(cluster.edgelbKubeconfig);
      let seq = 0;
      const edgelb = async (): Promise<RunResult> => {
        const child = fork(self, ['--controller', cluster.edgelbKubeconfig], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        const msg = <T>() => new Promise<T>((r) => child.once('message', (m) => r(m as T)));
        await msg<{ started: boolean }>();
        await new Promise((r) => setTimeout(r, 4000)); // leadership (lease 3 s) before t0
        try {
          const lat = await createAndWatch(cluster, `bench-e${seq++}`, count, async () => undefined);
          child.send({ stop: true });
          const { peak } = await msg<{ peak: number }>();
          return { lat, peakMiB: peak / 1048576 };
        } finally {
          child.kill();
        }
      };
      const floor = async (): Promise<RunResult> => {
        const ns = `bench-b${seq++}`;
        let ip = 0;
        const lat = await createAndWatch(cluster, ns, count, async (name) => {
          const k = ip++;
          await bare.core.patchNamespacedServiceStatus(
            { namespace: ns, name, body: { status: { loadBalancer: { ingress: [{ ip: `10.111.${k >> 8}.${k & 255}` }] } } } },
            // the controller's content type: strategic merge
            setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
          );
        });
        return { lat };
      };
      const { a, b } = await alternate(ctx.runs, edgelb, floor, true);
      const rows: Row[] = [];
      for (const p of [50, 99]) {
        const ours = a.map((r) => percentile(r.lat, p));
        rows.push({
          bench: 'k8s-ingress',
          figure: `${count} Services at once: create → ingress, p${p}`,
          unit: 'ms',
          better: 'lower',
          ours,
          anchor: 'bare client patching status (API floor)',
          theirs: b.map((r) => percentile(r.lat, p)),
          ...(p === 99 ? { goal: 'p99 ≤ 1 s', met: summarize(ours).median <= 1000 } : {}),
        });
      }
      rows.push({ bench: 'k8s-ingress', figure: `controller peak RSS during ${count} Services (under tsx, not dist/)`, unit: 'MiB', better: 'lower', ours: a.map((r) => r.peakMiB!), anchor: '', theirs: [] });
      ctx.log(`create → ingress p50/p99: edgelb ${summarize(rows[0]!.ours).median.toFixed(0)}/${summarize(rows[1]!.ours).median.toFixed(0)} ms, floor ${summarize(rows[0]!.theirs).median.toFixed(0)}/${summarize(rows[1]!.theirs).median.toFixed(0)} ms`);
      return rows;
    } finally {
      await cluster.stop();
    }
  },
};
export default bench;

if (process.argv[1] === self && process.argv[2] === '--controller') void controllerChild(process.argv[3]!);
