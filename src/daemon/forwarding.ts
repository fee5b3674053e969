// Forwarding on the uplink. The XDP data path finds next hops with bpf_fib_lookup, which answers
// "forwarding disabled" unless the interface forwards, so edgelb turns IPv4 and IPv6 forwarding on
// for its uplink only (never host-wide). The daemon tries at start (it can where /proc/sys is
// writable: standalone, the lab). In Kubernetes its container sees /proc/sys read-only, so the
// chart's privileged init container runs `edgelb forwarding --kubernetes`: it resolves the uplink
// the daemon will use on this node exactly as the daemon does (the ConfigMap's node.interface, or
// the Node's edgelb.io/interface annotation when that is a valid name: k8s/node-settings.ts) and
// sets forwarding there. An interface name reaches a /proc/sys path only after validation.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { sleep } from '../lib/backoff.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import type { DesiredState } from '../model/desired-state.js';
import { interfaceNameProblem, NodeSettings, type NodeSettingProblem } from '../k8s/node-settings.js';
import type { NodeObj } from '../k8s/types.js';

export type Family = 'ipv4' | 'ipv6';

export interface ForwardingResult {
  family: Family;
  path: string;
  /** on: it was already; enabled: we set it; no-ipv6: the host runs without IPv6; failed: see error */
  outcome: 'on' | 'enabled' | 'no-ipv6' | 'failed';
  error?: string;
}

/** The two sysctl files of `iface`; throws EDGELB_ERR_INVALID_ARGUMENT for anything not an interface name. */
export function forwardingPaths(iface: string, procSys = '/proc/sys'): Array<{ family: Family; path: string }> {
  const why = interfaceNameProblem(iface);
  if (why) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `refusing to set forwarding on ${JSON.stringify(iface)}: it ${why}`);
  return (['ipv4', 'ipv6'] as const).map((family) => ({ family, path: join(procSys, 'net', family, 'conf', iface, 'forwarding') }));
}

/** Turns IPv4 and IPv6 forwarding on for `iface` (only it); never throws for a write that fails. */
export function enableForwarding(iface: string, procSys = '/proc/sys'): ForwardingResult[] {
  return forwardingPaths(iface, procSys).map(({ family, path }): ForwardingResult => {
    if (family === 'ipv6' && !existsSync(join(procSys, 'net', 'ipv6'))) return { family, path, outcome: 'no-ipv6' };
    try {
      if (readFileSync(path, 'utf8').trim() === '1') return { family, path, outcome: 'on' };
      writeFileSync(path, '1');
      return { family, path, outcome: 'enabled' };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const error = code === 'ENOENT' ? `no interface ${iface} on this node` : code === 'EROFS' ? `${path} is read-only here` : errorMessage(e);
      return { family, path, outcome: 'failed', error };
    }
  });
}

export const FORWARDING_METRIC = 'edgelb_uplink_forwarding';

/**
 * Records what the daemon found at start in edgelb_uplink_forwarding{interface, family}: 1 when
 * that family forwards on the uplink, 0 when it does not and could not be turned on (Kubernetes:
 * the init container has not run for this uplink; delete the pod). No series for a host without IPv6.
 */
export function recordForwarding(registry: Registry, iface: string, results: readonly ForwardingResult[]): void {
  const g =
    (registry.getSingleMetric(FORWARDING_METRIC) as Gauge<'interface' | 'family'> | undefined) ??
    new Gauge({ name: FORWARDING_METRIC, help: "1 when the uplink forwards for this family (the XDP data path's bpf_fib_lookup needs it), 0 when it could not be turned on", labelNames: ['interface', 'family'], registers: [registry] });
  for (const r of results) if (r.outcome !== 'no-ipv6') g.set({ interface: iface, family: r.family }, r.outcome === 'failed' ? 0 : 1);
}

/** The uplink the daemon will run with on `node`, and the annotations it refuses (each with its message). */
export function resolveUplink(base: DesiredState, node: NodeObj | undefined): { iface: string; problems: NodeSettingProblem[] } {
  const r = new NodeSettings().resolve(base, node);
  return { iface: r.settings.node.interface, problems: r.problems };
}

export interface ForwardingInitOptions {
  configPath: string;
  /** Read this node's annotations (edgelb.io/interface) from the API server. */
  kubernetes: boolean;
  procSys?: string;
  /** The Node, or undefined when it does not exist; throws when the API server cannot answer. */
  readNode?: (name: string) => Promise<NodeObj | undefined>;
  /** Attempts to read the Node before giving up (the kubelet then restarts the init container). */
  attempts?: number;
  retryMs?: number;
  out: (s: string) => void;
  err: (s: string) => void;
}

async function defaultReadNode(name: string): Promise<NodeObj | undefined> {
  const { KubeWriter, loadKubeClient } = await import('../k8s/client.js');
  return new KubeWriter(await loadKubeClient()).readNode(name);
}

/**
 * `edgelb forwarding`: sets forwarding on the uplink this node's daemon will use. Returns the exit
 * code: 0 when both families forward (or the host has no IPv6), 1 when a write failed. A refused
 * annotation is reported and the ConfigMap's interface used, as the daemon does (it also posts the
 * InvalidNodeSetting Event). Throws when the config or the Node cannot be read.
 */
export async function runForwardingInit(o: ForwardingInitOptions): Promise<number> {
  const { state } = await loadConfig(o.configPath, { kubernetes: o.kubernetes });
  let node: NodeObj | undefined;
  if (o.kubernetes) {
    const readNode = o.readNode ?? defaultReadNode;
    const attempts = o.attempts ?? 10;
    for (let i = 1; ; i++) {
      try {
        node = await readNode(state.node.name);
        break;
      } catch (e) {
        if (i >= attempts) throw new EdgelbError('EDGELB_ERR_K8S', `cannot read Node ${state.node.name} (for its edgelb.io/interface annotation) after ${attempts} attempts: ${errorMessage(e)}`, { cause: e });
        o.err(`edgelb forwarding: reading Node ${state.node.name} failed (${errorMessage(e)}), retrying\n`);
        await sleep(o.retryMs ?? 2000);
      }
    }
    if (!node) o.err(`edgelb forwarding: no Node ${state.node.name}: using the ConfigMap's node.interface\n`);
  }
  const { iface, problems } = resolveUplink(state, node);
  for (const p of problems) o.err(`edgelb forwarding: refused ${p.message}\n`);
  let failed = false;
  for (const r of enableForwarding(iface, o.procSys)) {
    if (r.outcome === 'failed') {
      failed = true;
      o.err(`edgelb forwarding: could not enable ${r.family} forwarding on ${iface}: ${r.error}\n`);
    } else if (r.outcome === 'no-ipv6') o.out(`${r.family} forwarding on ${iface}: skipped, this host runs without IPv6\n`);
    else o.out(`${r.family} forwarding on ${iface}: ${r.outcome === 'on' ? 'already on' : 'enabled'}\n`);
  }
  return failed ? 1 : 0;
}
