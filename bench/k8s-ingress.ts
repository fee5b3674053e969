// Benchmark: N LoadBalancer Services created at once (64 in flight) against a real kube-apiserver
// + etcd on loopback; the figure is each create call's return → its status.loadBalancer.ingress
// seen by a watch, p50 and p99. Three sides, rotating which goes first, a fresh namespace per run:
// - edgelb: the `edgelb controller` process as its Deployment runs it (dist/cli/main.js, the
//   image's node flags, the edgelb ServiceAccount's RBAC), its peak RSS at N Services too, read from
//   /proc like MetalLB's;
// - MetalLB: MetalLB's controller built from its Go module (scripts/metallb-controller.sh), an
//   IPAddressPool of the same size, `--lb-class` set to edgelb's class so it serves the same
//   Services, webhooks off; its peak RSS too;
// - the floor this API server and etcd allow: a bare client with the controller's RBAC that
//   patches each Service's status itself as soon as its create returns.
// Each controller is started before t0 and is live (a probe Service got its address) when the
// Services are created; each run deletes its Services, and the controller process, after.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PatchStrategy, makeInformer, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { freePort, startTestCluster, type TestCluster, EDGELB_NAMESPACE } from '../test/k8s/harness.js';
import { apply, clients, createPool, ensureNamespace, installBase, lbService, loadObjects, parallel, waitEstablished, ROOT } from '../test/k8s/lib.js';
import { percentile, rotate, summarize, type BenchContext, type Row } from './lib/harness.js';
import { DAEMON_NODE_FLAGS } from './lib/senders.js';
import { procStatus } from './bgp-transfer.js';
import type { Benchmark } from './run.js';

const EDGELB_CLI = join(ROOT, 'dist/cli/main.js');
const METALLB_NS = 'metallb-system';

interface RunResult {
  lat: number[];
  peakMiB?: number;
}

/** A controller process under test: live before t0, stopped after, its peak RSS read at stop. */
interface Controller {
  stop(): Promise<number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until a probe Service in `ns` gets an address (the controller is live and synced), then delete it. */
async function probe(cluster: TestCluster, ns: string, what: string): Promise<void> {
  const admin = clients(cluster.adminKubeconfig);
  await ensureNamespace(admin, ns);
  await admin.core.createNamespacedService({ namespace: ns, body: lbService(ns, 'probe') });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await admin.core.readNamespacedServiceStatus({ namespace: ns, name: 'probe' });
    if (s.status?.loadBalancer?.ingress?.length) break;
    if (Date.now() > deadline) throw new Error(`${what}: probe Service got no address in 60 s`);
    await sleep(50);
  }
  await admin.core.deleteNamespacedService({ namespace: ns, name: 'probe' });
}

/** `edgelb controller` from dist/ (the image's flags and command), the only replica: the leader. */
async function startEdgelb(cluster: TestCluster): Promise<Controller> {
  const args = [...DAEMON_NODE_FLAGS, EDGELB_CLI, 'controller', '--listen', '127.0.0.1:0', '--lease-duration', '2', '--log-level', 'warn'];
  const env = { ...process.env, KUBECONFIG: cluster.edgelbKubeconfig, POD_NAME: 'bench-leader', POD_NAMESPACE: EDGELB_NAMESPACE };
  const child: ChildProcess = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const exited = () => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
  try {
    await probe(cluster, 'bench-probe', 'edgelb');
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${String(e)}\n${err}`);
  }
  return {
    async stop() {
      try {
        return await procStatus(child.pid!, 'VmHWM');
      } finally {
        // SIGTERM releases the Lease, so the next run's controller takes it at once
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited();
        clearTimeout(t);
      }
    },
  };
}

/** MetalLB's objects, once per cluster: its CRDs (from the module its controller was built from), namespace, pool. */
async function installMetallb(cluster: TestCluster, cidr: string): Promise<string> {
  const bin = execFileSync(join(ROOT, 'scripts/metallb-controller.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  const crds = execFileSync(join(ROOT, 'scripts/metallb-controller.sh'), ['--crds'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  const admin = clients(cluster.adminKubeconfig);
  await apply(admin, loadObjects(crds));
  await waitEstablished(admin, ['ipaddresspools.metallb.io', 'l2advertisements.metallb.io']);
  await ensureNamespace(admin, METALLB_NS);
  await admin.custom.createNamespacedCustomObject({
    group: 'metallb.io',
    version: 'v1beta1',
    namespace: METALLB_NS,
    plural: 'ipaddresspools',
    body: { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'bench', namespace: METALLB_NS }, spec: { addresses: [cidr], autoAssign: true } },
  });
  return bin;
}

/** MetalLB's controller as deployed (its own client settings), against the same API server. */
async function startMetallb(cluster: TestCluster, bin: string): Promise<Controller> {
  const port = await freePort();
  const args = [`--namespace=${METALLB_NS}`, '--webhook-mode=disabled', '--disable-cert-rotation', '--lb-class=edgelb.io/edgelb', `--port=${port}`, '--log-level=warn'];
  const child: ChildProcess = spawn(bin, args, { env: { ...process.env, KUBECONFIG: cluster.adminKubeconfig }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  try {
    await probe(cluster, 'bench-probe', 'metallb');
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${String(e)}\n${err}`);
  }
  return {
    async stop() {
      try {
        return await procStatus(child.pid!, 'VmHWM');
      } finally {
        child.kill('SIGKILL');
        await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      }
    },
  };
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
      if (performance.now() - t0 > 300_000) throw new Error(`only ${ingressAt.size} of ${count} got an ingress in 5 min`);
      await sleep(50);
    }
    return names.map((n) => Math.max(0, ingressAt.get(n)! - createdAt.get(n)!));
  } finally {
    await inf.stop();
    // no namespace controller runs here (no kube-controller-manager), so delete the Services
    // themselves: their addresses go back to the pool before the next run
    await admin.core.deleteCollectionNamespacedService({ namespace: ns });
  }
}

/** One controller run: start it (not timed), create and time, stop it and read its peak RSS. */
async function controllerRun(cluster: TestCluster, ns: string, count: number, start: () => Promise<Controller>): Promise<RunResult> {
  const c = await start();
  let lat: number[] = [];
  try {
    lat = await createAndWatch(cluster, ns, count, async () => undefined);
  } catch (e) {
    await c.stop().catch(() => undefined);
    throw e;
  }
  return { lat, peakMiB: await c.stop() };
}

const bench: Benchmark = {
  name: 'k8s-ingress',
  title: "Kubernetes: N Services created at once → status.loadBalancer.ingress: edgelb's compiled controller vs MetalLB's controller, beside a bare client patching status (the API floor)",
  async run(ctx: BenchContext): Promise<Row[]> {
    const count = ctx.quick ? 20 : 1000;
    const cluster = await startTestCluster();
    try {
      const admin = clients(cluster.adminKubeconfig);
      await installBase(admin);
      // 16,384 addresses each: far more than the runs need
      await createPool(admin, 'bench', { cidrs: ['10.112.0.0/18'] });
      const metallbBin = await installMetallb(cluster, '10.113.0.0/18');
      const bare = clients(cluster.edgelbKubeconfig);
      let seq = 0;
      const edgelb = () => controllerRun(cluster, `bench-e${seq++}`, count, () => startEdgelb(cluster));
      const metallb = () => controllerRun(cluster, `bench-m${seq++}`, count, () => startMetallb(cluster, metallbBin));
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
      const [a, m, b] = await rotate<RunResult>(ctx.runs, [edgelb, metallb, floor]);
      const rows: Row[] = [];
      const pct = (rs: RunResult[], p: number) => rs.map((r) => percentile(r.lat, p));
      for (const p of [50, 99]) {
        const ours = pct(a!, p);
        const theirs = pct(m!, p);
        const med = summarize(ours).median;
        rows.push({
          bench: 'k8s-ingress',
          figure: `${count} Services at once: create → ingress, p${p}`,
          unit: 'ms',
          better: 'lower',
          ours,
          anchor: 'MetalLB controller (same API server, equivalent pool)',
          theirs,
          ...(p === 99 ? { goal: 'p99 ≤ 1 s and ahead of MetalLB', met: med <= 1000 && med < summarize(theirs).median } : {}),
        });
      }
      for (const p of [50, 99]) {
        rows.push({ bench: 'k8s-ingress', figure: `${count} Services at once: create → ingress, p${p}`, unit: 'ms', better: 'lower', ours: pct(a!, p), anchor: 'bare client patching status (API floor)', theirs: pct(b!, p) });
      }
      const peak = a!.map((r) => r.peakMiB!);
      rows.push({
        bench: 'k8s-ingress',
        figure: `leader controller peak RSS through ${count} Services (dist/, production flags)`,
        unit: 'MiB',
        better: 'lower',
        ours: peak,
        anchor: 'MetalLB controller peak RSS',
        theirs: m!.map((r) => r.peakMiB!),
        goal: 'leader ≤ 150 MiB at 1,000 Services',
        met: summarize(peak).median <= 150,
      });
      const med = (xs: number[]) => summarize(xs).median.toFixed(0);
      ctx.log(`create → ingress p50/p99: edgelb ${med(rows[0]!.ours)}/${med(rows[1]!.ours)} ms, MetalLB ${med(rows[0]!.theirs)}/${med(rows[1]!.theirs)} ms, floor ${med(rows[2]!.theirs)}/${med(rows[3]!.theirs)} ms; peak RSS edgelb ${med(peak)} MiB`);
      return rows;
    } finally {
      await cluster.stop();
    }
  },
};
export default bench;
