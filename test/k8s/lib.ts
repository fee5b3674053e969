// Helpers for the Kubernetes tests: clients, applying YAML (real or server-side dry-run),
// creating Services/Nodes/EndpointSlices/pods, running a KubernetesSource, waiting.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import {
  KubeConfig,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  loadAllYaml,
  type KubernetesObject,
  type V1Service,
} from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { KubernetesSource, type KubernetesSourceOptions } from '../../src/k8s/source.js';
import { createLogger } from '../../src/lib/logger.js';
import type { DesiredState } from '../../src/model/desired-state.js';
import { EDGELB_NAMESPACE, type TestCluster } from './harness.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

export interface Clients {
  kc: KubeConfig;
  /** The kubeconfig file (for edgelb's own client, src/k8s/http.ts). */
  kubeconfig: string;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  discovery: DiscoveryV1Api;
  objects: KubernetesObjectApi;
}

export function clients(kubeconfig: string): Clients {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    kc,
    kubeconfig,
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    discovery: kc.makeApiClient(DiscoveryV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}

/** Every object of a YAML file, a folder of them, or a kustomization folder (its resources, recursively). */
export function loadObjects(path: string): KubernetesObject[] {
  if (statSync(path).isDirectory()) {
    const kfile = join(path, 'kustomization.yaml');
    if (existsSync(kfile)) {
      const k = parseAllDocuments(readFileSync(kfile, 'utf8'))[0]!.toJS() as { resources: string[] };
      return k.resources.flatMap((r) => loadObjects(join(path, r)));
    }
    return readdirSync(path)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .flatMap((f) => loadObjects(join(path, f)));
  }
  // loadAllYaml turns each document into the library's typed model, so that serialising it back
  // keeps fields such as x-kubernetes-validations, default and enum (raw objects would lose them)
  return (loadAllYaml(readFileSync(path, 'utf8')) as Array<KubernetesObject | null>).filter((o): o is KubernetesObject => !!o && !!o.kind);
}

/** Server-side apply (optionally dry-run All) of objects, in order. */
export async function apply(c: Clients, objs: KubernetesObject[], opts: { dryRun?: boolean } = {}): Promise<void> {
  for (const o of objs) {
    await c.objects.patch(o, undefined, opts.dryRun ? 'All' : undefined, 'edgelb-tests', true, PatchStrategy.ServerSideApply);
  }
}

export async function waitEstablished(c: Clients, names: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const n of names) {
    for (;;) {
      const crd = (await c.objects.read({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: n } })) as {
        status?: { conditions?: Array<{ type: string; status: string }> };
      };
      if (crd.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${n} not established`);
      await sleep(100);
    }
  }
  await sleep(500); // discovery of the new group
}

/**
 * CRDs, namespace and RBAC applied for real (what a user applies before the DaemonSet). By default
 * all in one (deploy/all-in-one/rbac.yaml: the edgelb ServiceAccount also holds the controller's
 * roles), as the tests that run a KubernetesSource in role 'all' need; `split` leaves it out.
 */
export async function installBase(c: Clients, o: { split?: boolean } = {}): Promise<void> {
  await apply(c, loadObjects(join(ROOT, 'crds')));
  await waitEstablished(c, ['ippools.edgelb.io', 'bgppeers.edgelb.io', 'bgppolicies.edgelb.io', 'nodereports.edgelb.io']);
  const base = ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml'].flatMap((f) => loadObjects(join(ROOT, 'manifests', f)));
  if (!o.split) base.push(...loadObjects(join(ROOT, 'deploy/all-in-one/rbac.yaml')));
  await apply(c, base);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

export async function ensureNamespace(c: Clients, name: string, labels: Record<string, string> = {}): Promise<void> {
  await apply(c, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } } as KubernetesObject]);
}

export function lbService(namespace: string, name: string, o: { ann?: Record<string, string>; ports?: Array<[number, string?]>; etp?: 'Local' | 'Cluster'; cls?: string | null } = {}): V1Service {
  return {
    metadata: { name, namespace, ...(o.ann ? { annotations: o.ann } : {}) },
    spec: {
      type: 'LoadBalancer',
      ...(o.cls === null ? {} : { loadBalancerClass: o.cls ?? 'edgelb.io/edgelb' }),
      ports: (o.ports ?? [[80]]).map(([port, protocol], i) => ({ name: `p${i}`, port, protocol: protocol ?? 'TCP', targetPort: port as never })),
      ...(o.etp ? { externalTrafficPolicy: o.etp } : {}),
    },
  };
}

export async function createPool(c: Clients, name: string, spec: object): Promise<void> {
  await c.custom.createClusterCustomObject({ group: 'edgelb.io', version: 'v1alpha1', plural: 'ippools', body: { apiVersion: 'edgelb.io/v1alpha1', kind: 'IPPool', metadata: { name }, spec } });
}

/** Run `fn` over items with at most `limit` in flight. */
export async function parallel<T>(items: T[], limit: number, fn: (x: T, i: number) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (i < items.length) {
        const k = i++;
        await fn(items[k]!, k);
      }
    }),
  );
}

export const baseSettings = (nodeName: string, extra: Partial<DesiredState> = {}): DesiredState => ({
  node: { name: nodeName, routerId: '', interface: 'eth0' },
  api: { listen: '127.0.0.1:11111' },
  bgp: { asn: 64513, routerId: '', listenPort: 179, peers: [], communities: [], largeCommunities: [] },
  pools: [],
  services: [],
  policies: [],
  dataplane: { attachMode: 'auto', maglevSize: 65537, conntrackSize: 65536, enabled: true },
  l2: { garpCount: 3, garpIntervalMs: 100, refreshIntervalMs: 0 },
  ...extra,
});

/** A KubernetesSource as the edgelb ServiceAccount (least-privilege RBAC), quiet logs. */
export function makeSource(cluster: TestCluster, nodeName: string, o: Partial<KubernetesSourceOptions> = {}): KubernetesSource {
  return new KubernetesSource({
    kubeconfig: cluster.edgelbKubeconfig,
    nodeName,
    settings: baseSettings(nodeName),
    logger: createLogger({ level: (process.env.EDGELB_TEST_LOG as 'info') ?? 'silent' }),
    registry: new Registry(),
    namespace: EDGELB_NAMESPACE,
    identity: nodeName,
    leaderRetryMs: 300,
    leaseDurationSec: 3,
    ...o,
  });
}

export async function serviceIps(c: Clients, namespace: string): Promise<Map<string, { ips: string[]; uid: string; svc: V1Service }>> {
  const out = new Map<string, { ips: string[]; uid: string; svc: V1Service }>();
  const list = await c.core.listNamespacedService({ namespace });
  for (const s of list.items) {
    out.set(s.metadata!.name!, { ips: (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip!).filter(Boolean), uid: s.metadata!.uid!, svc: s });
  }
  return out;
}

export function condition(svc: V1Service, type = 'edgelb.io/Served') {
  return svc.status?.conditions?.find((x) => x.type === type);
}

export async function mergePatch(c: Clients, obj: KubernetesObject): Promise<void> {
  await c.objects.patch(obj, undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);
}

export { setHeaderOptions };
