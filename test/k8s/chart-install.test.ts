// The Helm chart (charts/edgelb) against a real kube-apiserver: helm lint; helm template piped into
// a server-side dry-run (defaults, and with pools, peers and a ServiceMonitor); no live example
// objects by default; the same DaemonSet as manifests/; values that make no sense are refused;
// and the uninstall rule the daemon applies on a stop signal (its DaemonSet gone = uninstall, a
// rolling update = restart) with the chart's own RBAC.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';
import { startTestCluster, EDGELB_NAMESPACE, type TestCluster } from './harness.js';
import { apply, clients, installBase, loadObjects, waitEstablished, ROOT, type Clients } from './lib.js';
import { daemonSetStopMode } from '../../src/daemon/kubernetes.js';
import { parseConfig } from '../../src/config/load.js';
import { statusOf } from '../../src/k8s/client.js';

const CHART = join(ROOT, 'charts/edgelb');
let helm = '';
let cluster: TestCluster;
let admin: Clients;
const t0 = Date.now();

function runHelm(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(helm, args, { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: '/tmp/edgelb-helm/cache', HELM_CONFIG_HOME: '/tmp/edgelb-helm/config', HELM_DATA_HOME: '/tmp/edgelb-helm/data' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function template(extra: string[] = []): KubernetesObject[] {
  const r = runHelm(['template', 'edgelb', CHART, '--namespace', EDGELB_NAMESPACE, '--include-crds', ...extra]);
  assert.equal(r.code, 0, r.err);
  return (loadAllYaml(r.out) as Array<KubernetesObject | null>).filter((o): o is KubernetesObject => !!o && !!o.kind);
}

type Ds = { spec: { template: { spec: Record<string, unknown> & { initContainers?: Array<Record<string, unknown>>; containers: Array<Record<string, unknown>> } } } };
const dsOf = (objs: KubernetesObject[]) => objs.find((o) => o.kind === 'DaemonSet') as unknown as Ds;

before(async () => {
  helm = execFileSync(join(ROOT, 'scripts/helm.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  cluster = await startTestCluster();
  admin = clients(cluster.adminKubeconfig);
  await installBase(admin);
});
after(async () => {
  await cluster?.stop();
  console.log(`# k8s chart suite: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('chart: helm lint --strict passes', () => {
  const r = runHelm(['lint', '--strict', CHART]);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('chart: its crds/ are the repo\'s CRDs, byte for byte', () => {
  const files = readdirSync(join(ROOT, 'crds')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
  assert.deepEqual(readdirSync(join(CHART, 'crds')).sort(), files);
  for (const f of files) assert.equal(readFileSync(join(CHART, 'crds', f), 'utf8'), readFileSync(join(ROOT, 'crds', f), 'utf8'), f);
});

test('chart: helm template with the defaults passes a server-side dry-run, and ships nothing live', async () => {
  const objs = template();
  const kinds = objs.map((o) => o.kind).sort();
  assert.deepEqual(kinds, [
    'ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRoleBinding', 'ConfigMap',
    'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition',
    'DaemonSet', 'Deployment', 'PodDisruptionBudget', 'Role', 'Role', 'RoleBinding', 'RoleBinding', 'Secret', 'Service',
    'ServiceAccount', 'ServiceAccount', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ValidatingAdmissionPolicyBinding',
  ]);
  await apply(admin, objs, { dryRun: true });
  // a dry-run changed nothing
  await assert.rejects(admin.core.readNamespacedConfigMap({ namespace: EDGELB_NAMESPACE, name: 'edgelb-config' }), (e) => statusOf(e) === 404);
  const cm = objs.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
  const cfg = parseYaml(cm.data['config.yaml']!) as { api: { listen: string; metricsListen: string } };
  assert.equal(cfg.api.listen, '127.0.0.1:11111', '/v1 stays on loopback');
  assert.equal(cfg.api.metricsListen, '0.0.0.0:11113');
});

test('chart: the DaemonSet is the one of manifests/ (securityContext, mounts, init step, probes, resources)', () => {
  const chart = dsOf(template()).spec.template.spec;
  const kust = dsOf(loadObjects(join(ROOT, 'manifests'))).spec.template.spec;
  for (const k of ['hostNetwork', 'dnsPolicy', 'priorityClassName', 'terminationGracePeriodSeconds', 'nodeSelector', 'tolerations']) assert.deepEqual(chart[k], kust[k], k);
  const [c, m] = [chart.containers[0]!, kust.containers[0]!];
  for (const k of ['args', 'securityContext', 'resources', 'livenessProbe', 'readinessProbe', 'ports']) assert.deepEqual(c[k], m[k], `container ${k}`);
  const norm = (v: Array<{ name: string }>) => v.map((x) => ({ ...x })).sort((a, b) => a.name.localeCompare(b.name));
  assert.deepEqual(norm(c.volumeMounts as Array<{ name: string }>), norm(m.volumeMounts as Array<{ name: string }>));
  assert.deepEqual(chart.initContainers![0]!.command, kust.initContainers![0]!.command);
  assert.deepEqual(JSON.parse(JSON.stringify(chart.initContainers![0]!.securityContext)), { privileged: true });
  const sc = c.securityContext as { capabilities: { add: string[]; drop: string[] }; readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
  assert.deepEqual(sc.capabilities.drop, ['ALL']);
  assert.deepEqual([...sc.capabilities.add].sort(), ['BPF', 'NET_ADMIN', 'NET_BIND_SERVICE', 'NET_RAW', 'PERFMON', 'SYS_NICE']);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.deepEqual(JSON.parse(JSON.stringify((sc as { seccompProfile?: unknown }).seccompProfile)), { type: 'Unconfined' }, 'bpf() is not filtered');
  const env = (c.env as Array<{ name: string; value?: string }>).find((e) => e.name === 'EDGELB_DAEMONSET');
  assert.equal(env?.value, 'edgelb', 'the pod knows its DaemonSet (uninstall vs update)');
});

test('chart: the controller Deployment is the one of manifests/ (split mode, the default), and the admission policy the same', () => {
  const pick = (objs: KubernetesObject[], k: string) => objs.find((o) => o.kind === k) as unknown as { spec: Record<string, unknown> & { replicas?: number; template: { spec: Record<string, unknown> & { containers: Array<Record<string, unknown>> } } } };
  const [chart, kust] = [template(), loadObjects(join(ROOT, 'manifests'))];
  const [cd, md] = [pick(chart, 'Deployment'), pick(kust, 'Deployment')];
  assert.equal(cd.spec.replicas, 2);
  assert.equal(md.spec.replicas, 2);
  const [c, m] = [cd.spec.template.spec.containers[0]!, md.spec.template.spec.containers[0]!];
  for (const k of ['securityContext', 'resources', 'livenessProbe', 'ports', 'volumeMounts']) assert.deepEqual(JSON.parse(JSON.stringify(c[k])), JSON.parse(JSON.stringify(m[k])), `container ${k}`);
  assert.deepEqual((c.args as string[]).slice(0, 3), m.args);
  for (const k of ['hostNetwork', 'terminationGracePeriodSeconds']) assert.deepEqual(cd.spec.template.spec[k], md.spec.template.spec[k], k);
  // the same rules, with the release's names
  const rules = (objs: KubernetesObject[]) => JSON.stringify(objs.filter((o) => o.kind === 'ValidatingAdmissionPolicy').map((o) => (o as unknown as { spec: { validations: unknown } }).spec.validations));
  assert.equal(rules(chart), rules(kust));
});

test('chart: the init step follows config.node.interface (VLAN names included)', () => {
  const init = dsOf(template(['--set', 'config.node.interface=bond0.100'])).spec.template.spec.initContainers![0]!;
  assert.deepEqual(init.command, ['/usr/sbin/sysctl', '-w', 'net/ipv4/conf/bond0.100/forwarding=1', 'net/ipv6/conf/bond0.100/forwarding=1']);
  const none = dsOf(template(['--set', 'forwardingInit.enabled=false'])).spec.template.spec;
  assert.equal(none.initContainers, undefined);
});

test('chart: pools, peers, policies and a ServiceMonitor from values pass a server-side dry-run', async () => {
  // the Prometheus operator's CRD, as small as the API server accepts, so the dry-run can check it
  // (loadAllYaml: the typed model keeps x-kubernetes-preserve-unknown-fields when serialising)
  const stub = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: servicemonitors.monitoring.coreos.com }
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: { kind: ServiceMonitor, plural: servicemonitors, singular: servicemonitor, listKind: ServiceMonitorList }
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, properties: { spec: { type: object, x-kubernetes-preserve-unknown-fields: true } } } }
`;
  await apply(admin, loadAllYaml(stub) as KubernetesObject[]);
  await waitEstablished(admin, ['servicemonitors.monitoring.coreos.com']);
  const objs = template([
    '--set', 'metrics.serviceMonitor.enabled=true',
    '--set', 'grafanaDashboard.enabled=true',
    '--set-json', 'pools=[{"name":"default","spec":{"cidrs":["192.0.2.240/28"],"announce":"bgp"}}]',
    '--set-json', 'peers=[{"name":"tor-a","spec":{"address":"10.0.0.1","asn":64512,"passwordSecretRef":{"name":"tor-a-password","key":"password"}}}]',
    '--set-json', 'policies=[{"name":"p","spec":{"defaultResult":"accept"}}]',
  ]);
  for (const k of ['IPPool', 'BGPPeer', 'BGPPolicy', 'ServiceMonitor']) assert.ok(objs.some((o) => o.kind === k), k);
  const dash = objs.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'edgelb-dashboard') as unknown as { data: Record<string, string> };
  assert.deepEqual(JSON.parse(dash.data['edgelb.json']!), JSON.parse(readFileSync(join(CHART, 'dashboards/edgelb.json'), 'utf8')));
  await apply(admin, objs, { dryRun: true });
  // an invalid pool from values is refused by the CRD's schema, as kubectl would show
  const bad = template(['--set-json', 'pools=[{"name":"bad","spec":{"cidrs":["10.0.0.0/33"]}}]']).filter((o) => o.kind === 'IPPool');
  await assert.rejects(apply(admin, bad, { dryRun: true }), (e) => statusOf(e) === 422);
});

test('chart: sync.enabled gives the config a cluster section with cluster.sync (valid in Kubernetes mode) and the DaemonSet its UDP port', () => {
  const off = template();
  const cfgOf = (objs: KubernetesObject[]) => (objs.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'edgelb-config') as unknown as { data: Record<string, string> }).data['config.yaml']!;
  assert.equal((parseYaml(cfgOf(off)) as { cluster?: unknown }).cluster, undefined, 'off by default: no cluster section');
  const portsOf = (objs: KubernetesObject[]) => dsOf(objs).spec.template.spec.containers[0]!.ports as Array<{ name: string; containerPort: number; protocol: string }>;
  assert.equal(portsOf(off).find((p) => p.name === 'sync'), undefined);
  const on = template(['--set', 'sync.enabled=true', '--set-json', 'config.cluster={"shards":4,"sync":{"snatAddresses6":{"edge-1":"fd00::31"}}}']);
  assert.deepEqual({ ...portsOf(on).find((p) => p.name === 'sync') }, { name: 'sync', containerPort: 11116, protocol: 'UDP' });
  const text = cfgOf(on);
  assert.deepEqual((parseYaml(text) as { cluster: unknown }).cluster, { listen: '0.0.0.0:11112', keyFile: '/etc/edgelb/cluster/key', shards: 4, sync: { port: 11116, snatAddresses6: { 'edge-1': 'fd00::31' } } });
  // the daemon accepts it (the key file as the Secret mount gives it)
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-chart-'));
  try {
    const key = join(dir, 'key');
    writeFileSync(key, 'k'.repeat(32), { mode: 0o400 });
    const st = parseConfig(text.replace('/etc/edgelb/cluster/key', key), { kubernetes: true, env: { NODE_NAME: 'edge-1' } }).state;
    assert.deepEqual(st.cluster!.sync, { port: 11116, snatAddresses: {}, snatAddresses6: { 'edge-1': 'fd00::31' }, refreshMs: 2000, queueLimit: 65536 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('chart: values that cannot work are refused by helm with the key named', () => {
  for (const [args, want] of [
    [['--set', 'config.node.interface=null'], /config\.node\.interface is required/],
    [['--set-json', 'pools=[{"name":"x"}]'], /pools\[\]\.spec is required/],
    [['--set-json', 'peers=[{"spec":{"address":"10.0.0.1","asn":1}}]'], /peers\[\]\.name is required/],
  ] as Array<[string[], RegExp]>) {
    const r = runHelm(['template', 'edgelb', CHART, '--namespace', EDGELB_NAMESPACE, ...args]);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.err, want);
  }
});

test('chart: a stop signal is an uninstall only once the DaemonSet is deleted (the chart\'s RBAC allows the check)', async () => {
  const objs = template().filter((o) => o.kind !== 'CustomResourceDefinition');
  await apply(admin, objs);
  const env = { EDGELB_DAEMONSET: 'edgelb', POD_NAMESPACE: EDGELB_NAMESPACE };
  // as the pod's ServiceAccount: the DaemonSet is there (a rolling update, a restart)
  assert.equal(await daemonSetStopMode(env, cluster.edgelbKubeconfig), 'restart');
  // least privilege: no other DaemonSet can be read
  await assert.rejects(daemonSetStopMode({ ...env, EDGELB_DAEMONSET: 'kube-proxy' }, cluster.edgelbKubeconfig), (e) => statusOf(e) === 403);
  // helm uninstall / kubectl delete: the DaemonSet goes first, then its pods get SIGTERM
  const ds = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'edgelb', namespace: EDGELB_NAMESPACE } };
  await admin.objects.delete(ds);
  assert.equal(await daemonSetStopMode(env, cluster.edgelbKubeconfig), 'uninstall');
  // a foreground delete keeps the object (with a deletionTimestamp) until its pods are gone
  await apply(admin, objs.filter((o) => o.kind === 'DaemonSet'));
  assert.equal(await daemonSetStopMode(env, cluster.edgelbKubeconfig), 'restart');
  await admin.objects.delete(ds, undefined, undefined, undefined, undefined, 'Foreground');
  assert.equal(await daemonSetStopMode(env, cluster.edgelbKubeconfig), 'uninstall');
});

test('chart: the cluster key Secret is random, mounted where Kubernetes mode looks, and kept across upgrades (lookup)', async () => {
  const secretOf = (objs: KubernetesObject[]) => objs.find((o) => o.kind === 'Secret' && o.metadata?.name === 'edgelb-cluster-key') as unknown as { data: { key: string; 'flow-hash-key': string } } | undefined;
  const [a, b] = [secretOf(template()), secretOf(template())];
  assert.ok(a && Buffer.from(a.data.key, 'base64').length >= 32, 'a key of 32 bytes or more');
  assert.equal(a.data['flow-hash-key'], a.data.key, 'the flow-hash key starts as a copy of the key');
  assert.notEqual(a.data.key, b!.data.key, 'random per fresh install');
  const ds = dsOf(template()).spec.template.spec as unknown as { containers: Array<{ volumeMounts: Array<{ name: string; mountPath: string }> }>; volumes: Array<{ name: string; secret?: { secretName: string } }> };
  assert.equal(ds.containers[0]!.volumeMounts.find((v) => v.name === 'cluster-key')?.mountPath, '/etc/edgelb/cluster', 'cluster/key beside /etc/edgelb/config.yaml');
  assert.equal(ds.volumes.find((v) => v.name === 'cluster-key')?.secret?.secretName, 'edgelb-cluster-key');
  // an upgrade renders against the cluster: the Secret that is there keeps its key
  const existing = Buffer.from('the-key-of-the-first-install-0123456789abcdef').toString('base64');
  // (an earlier test may have applied the chart for real: start from a Secret with a known key)
  await admin.core.deleteNamespacedSecret({ namespace: EDGELB_NAMESPACE, name: 'edgelb-cluster-key' }).catch(() => undefined);
  await admin.core.createNamespacedSecret({ namespace: EDGELB_NAMESPACE, body: { metadata: { name: 'edgelb-cluster-key' }, data: { key: existing } } });
  try {
    const kept = secretOf(template(['--dry-run=server', '--kubeconfig', cluster.adminKubeconfig]));
    assert.equal(kept?.data.key, existing);
    assert.equal(kept?.data['flow-hash-key'], existing, 'an upgrade from a Secret without it: a copy of the key it has (the hash the nodes use)');
  } finally {
    await admin.core.deleteNamespacedSecret({ namespace: EDGELB_NAMESPACE, name: 'edgelb-cluster-key' });
  }
  // mid-rotation (two keys, one per line): both items are kept as they are
  const rotating = Buffer.from('the-new-key-0123456789abcdef-0123\nthe-key-of-the-first-install-0123456789abcdef\n').toString('base64');
  await admin.core.createNamespacedSecret({ namespace: EDGELB_NAMESPACE, body: { metadata: { name: 'edgelb-cluster-key' }, data: { key: rotating, 'flow-hash-key': existing } } });
  try {
    const kept = secretOf(template(['--dry-run=server', '--kubeconfig', cluster.adminKubeconfig]));
    assert.deepEqual(kept?.data, { key: rotating, 'flow-hash-key': existing });
  } finally {
    await admin.core.deleteNamespacedSecret({ namespace: EDGELB_NAMESPACE, name: 'edgelb-cluster-key' });
  }
  // a Secret of your own: none is made, yours is mounted
  const own = template(['--set', 'clusterKeySecret=mine']);
  assert.equal(secretOf(own), undefined);
  assert.equal((dsOf(own).spec.template.spec as unknown as { volumes: Array<{ name: string; secret?: { secretName: string } }> }).volumes.find((v) => v.name === 'cluster-key')?.secret?.secretName, 'mine');
});
