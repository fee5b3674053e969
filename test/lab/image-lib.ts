// Running the edgelb image with podman the way the DaemonSet runs it: podman flags derived from
// manifests/daemonset.yaml (securityContext, host network = a lab namespace, the host's bpffs and a
// config folder for the ConfigMap), its init container's arguments, the repo's containers.conf.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { run, type ExecResult } from './lib/index.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
export const IMAGE = `localhost/edgelb:${VERSION}`;
const ENV = { CONTAINERS_CONF: join(ROOT, 'image/containers.conf') };

interface Container {
  command?: string[];
  args?: string[];
  securityContext?: {
    privileged?: boolean;
    runAsUser?: number;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    seccompProfile?: { type: string };
    capabilities?: { add?: string[]; drop?: string[] };
  };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  hostNetwork?: boolean;
  initContainers?: Container[];
  containers: Container[];
  volumes: Array<{ name: string; configMap?: unknown; hostPath?: { path: string }; secret?: { secretName: string; optional?: boolean } }>;
}

export function daemonSetPod(): PodSpec {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'manifests/daemonset.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; spec: { template: { spec: PodSpec } } });
  return docs.find((d) => d.kind === 'DaemonSet')!.spec.template.spec;
}

export function podman(args: string[], opts: { check?: boolean; timeoutMs?: number } = {}): Promise<ExecResult> {
  return run(['podman', ...args], { env: ENV, check: opts.check ?? true, timeoutMs: opts.timeoutMs ?? 120_000 });
}

/** podman flags for a container of the pod: its securityContext and mounts, the pod's host network. */
export function containerFlags(pod: PodSpec, c: Container, o: { netns: string; configDir: string }): string[] {
  if (!pod.hostNetwork) throw new Error('the DaemonSet does not use the host network');
  const f = ['--network', `ns:/run/netns/${o.netns}`];
  const sc = c.securityContext ?? {};
  if (sc.privileged) f.push('--privileged');
  if (sc.runAsUser !== undefined) f.push('--user', String(sc.runAsUser));
  if (sc.allowPrivilegeEscalation === false) f.push('--security-opt', 'no-new-privileges');
  if (sc.seccompProfile?.type === 'Unconfined') f.push('--security-opt', 'seccomp=unconfined');
  else if (sc.seccompProfile && sc.seccompProfile.type !== 'RuntimeDefault') throw new Error(`seccompProfile ${sc.seccompProfile.type} is not mapped to podman`);
  // Kubernetes mounts no tmpfs of its own on a read-only root
  if (sc.readOnlyRootFilesystem) f.push('--read-only', '--read-only-tmpfs=false');
  for (const d of sc.capabilities?.drop ?? []) f.push('--cap-drop', d);
  for (const a of sc.capabilities?.add ?? []) f.push('--cap-add', a);
  const mounts: Array<{ src: string; at: string }> = [];
  for (const m of c.volumeMounts ?? []) {
    const v = pod.volumes.find((x) => x.name === m.name);
    if (!v) throw new Error(`volume ${m.name} is not declared`);
    let src: string;
    if (v.hostPath) src = v.hostPath.path;
    else if (v.configMap) src = o.configDir;
    else if (v.secret?.optional) {
      // a missing optional Secret is an empty directory in Kubernetes: the lab node runs alone
      src = join(o.configDir, `.secret-${v.name}`);
      mkdirSync(src, { recursive: true });
    } else throw new Error(`volume ${m.name}: the image test maps only hostPath, configMap and optional Secret volumes`);
    f.push('-v', `${src}:${m.mountPath}${m.readOnly ? ':ro' : ''}`);
    mounts.push({ src, at: m.mountPath });
  }
  // a mount inside another (the key beside the config) needs its mount point in the outer source,
  // which may be read-only inside the container
  for (const inner of mounts) {
    const outer = mounts.find((o2) => o2 !== inner && inner.at.startsWith(o2.at.replace(/\/?$/, '/')));
    if (outer && outer.src.startsWith(o.configDir)) mkdirSync(join(outer.src, inner.at.slice(outer.at.replace(/\/?$/, '/').length)), { recursive: true });
  }
  return f;
}

/**
 * The forwarding init container and its edgelb arguments without --kubernetes: this lab has no
 * API server, and without it the same command takes the uplink from the config file (the chart
 * test runs it with --kubernetes against a real one, test/k8s/chart-install.test.ts).
 */
export function initContainer(pod: PodSpec): { init: Container; args: string[] } {
  const init = pod.initContainers?.find((c) => c.args?.[0] === 'forwarding');
  if (!init) throw new Error('the DaemonSet has no forwarding init container');
  return { init, args: init.args!.filter((a) => a !== '--kubernetes') };
}
