// The Helm chart (charts/edgelb) against a real kube-apiserver: helm lint; helm template piped into
// a server-side dry-run (defaults, and with pools, peers and a ServiceMonitor); no live example
// objects by default; the same DaemonSet as manifests/; values that make no sense are refused;
// and the uninstall rule the daemon applies on a stop signal (its DaemonSet gone = uninstall, a
// rolling update = restart) with the chart's own RBAC.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
  for (const k of ['command', 'args', 'env', 'volumeMounts', 'resources']) assert.deepEqual(JSON.parse(JSON.stringify(chart.initContainers![0]![k] ?? null)), JSON.parse(JSON.stringify(kust.initContainers![0]![k] ?? null)), `init container ${k}`);
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

test('chart: the init step runs `edgelb forwarding --kubernetes` with the node name and the config (it resolves the uplink per Node)', () => {
  const spec = dsOf(template()).spec.template.spec;
  const [init, main] = [spec.initContainers![0]!, spec.containers[0]!];
  assert.equal(init.image, main.image, 'the edgelb image: its entrypoint is edgelb');
  assert.equal(init.command, undefined);
  assert.deepEqual(init.args, ['forwarding', '--kubernetes', '--config', '/etc/edgelb/config.yaml']);
  const env = JSON.parse(JSON.stringify(init.env)) as Array<{ name: string; valueFrom?: unknown }>;
  assert.deepEqual(env.find((e) => e.name === 'NODE_NAME')?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
  const mounts = JSON.parse(JSON.stringify(init.volumeMounts)) as Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  assert.deepEqual(mounts, [{ name: 'config', mountPath: '/etc/edgelb', readOnly: true }]);
  // no interface name is baked into the pod spec any more: a VLAN name in values reaches the
  // config (the command reads it there), not the init container
  const vlan = template(['--set', 'config.node.interface=bond0.100']);
  assert.deepEqual(dsOf(vlan).spec.template.spec.initContainers![0]!.args, init.args);
  assert.equal(cfgNode(vlan).interface, 'bond0.100');
  const none = dsOf(template(['--set', 'forwardingInit.enabled=false'])).spec.template.spec;
  assert.equal(none.initContainers, undefined);
});

const cfgNode = (objs: KubernetesObject[]) =>
  (parseYaml((objs.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'edgelb-config') as unknown as { data: Record<string, string> }).data['config.yaml']!) as { node: { interface: string } }).node;

test('chart: the init step enables forwarding on the Node\'s edgelb.io/interface uplink, as the chart\'s ServiceAccount; a bad annotation never reaches a sysctl path', async () => {
  const objs = template().filter((o) => o.kind !== 'CustomResourceDefinition');
  await apply(admin, objs.filter((o) => /Role|ServiceAccount/.test(o.kind!)));
  const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'edgelb-config') as unknown as { data: Record<string, string> };
  const init = dsOf(objs).spec.template.spec.initContainers![0]!;
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-fwd-'));
  const nodes = ['fwd-ann', 'fwd-bad', 'fwd-plain', 'fwd-missing', 'fwd-dotdot'];
  try {
    writeFileSync(join(dir, 'config.yaml'), cm.data['config.yaml']!);
    const args = (init.args as string[]).map((a) => (a === '/etc/edgelb/config.yaml' ? join(dir, 'config.yaml') : a));
    const ann: Record<string, string | undefined> = { 'fwd-ann': 'bond0', 'fwd-bad': 'x/../../eth1', 'fwd-plain': undefined, 'fwd-missing': 'eno9', 'fwd-dotdot': '..' };
    for (const name of nodes) {
      const a = ann[name];
      await admin.core.createNode({ body: { metadata: { name, ...(a !== undefined ? { annotations: { 'edgelb.io/interface': a } } : {}) } } });
    }
    // a fresh /proc/sys look-alike per run: eth0 (the chart's default) and bond0, forwarding off
    const run = (node: string) => {
      const sys = join(dir, `sys-${node}`);
      for (const fam of ['ipv4', 'ipv6']) for (const i of ['eth0', 'bond0', 'all']) {
        mkdirSync(join(sys, 'net', fam, 'conf', i), { recursive: true });
        writeFileSync(join(sys, 'net', fam, 'conf', i, 'forwarding'), '0\n');
      }
      writeFileSync(join(sys, 'net', 'ipv4', 'forwarding'), '0\n');
      const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), ...args, '--proc-sys', sys], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, KUBECONFIG: cluster.edgelbKubeconfig, NODE_NAME: node },
      });
      const on = (fam: string, i: string) => readFileSync(join(sys, 'net', fam, 'conf', i, 'forwarding'), 'utf8').trim() === '1';
      const global = readFileSync(join(sys, 'net', 'ipv4', 'forwarding'), 'utf8').trim();
      return { code: r.status, out: r.stdout, err: r.stderr, on, global, sys };
    };
    const a = run('fwd-ann');
    assert.equal(a.code, 0, a.err);
    assert.ok(a.on('ipv4', 'bond0') && a.on('ipv6', 'bond0'), 'the annotated uplink forwards');
    assert.ok(!a.on('ipv4', 'eth0') && !a.on('ipv4', 'all'), 'only that interface');
    assert.match(a.out, /ipv4 forwarding on bond0: enabled/);
    const p = run('fwd-plain');
    assert.equal(p.code, 0, p.err);
    assert.ok(p.on('ipv4', 'eth0') && p.on('ipv6', 'eth0') && !p.on('ipv4', 'bond0'), "no annotation: the ConfigMap's interface");
    for (const node of ['fwd-bad', 'fwd-dotdot']) {
      const b = run(node);
      assert.equal(b.code, 0, b.err);
      assert.match(b.err, /refused edgelb\.io\/interface: .* must be an interface name.*using the ConfigMap's node\.interface/);
      assert.ok(b.on('ipv4', 'eth0') && !b.on('ipv4', 'bond0'), `${node}: the ConfigMap's interface, as the daemon does`);
      assert.equal(b.global, '0', `${node}: the host-wide switch is untouched`);
      assert.ok(!existsSync(join(b.sys, 'eth1')) && !existsSync(join(b.sys, 'net', 'ipv4', 'conf', 'x')), 'nothing written outside');
    }
    const m = run('fwd-missing');
    assert.equal(m.code, 1, 'an uplink the node lacks fails the init container (the kubelet retries it)');
    assert.match(m.err, /could not enable ipv4 forwarding on eno9: no interface eno9 on this node/);
    assert.ok(!existsSync(join(m.sys, 'net', 'ipv4', 'conf', 'eno9')), 'no file created');
  } finally {
    for (const name of nodes) await admin.core.deleteNode({ name }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
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
