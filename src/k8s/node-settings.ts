// Per-node settings in Kubernetes mode. The ConfigMap gives one set for every node; a Node's
// annotations override it for that node: edgelb.io/interface (the uplink), edgelb.io/asn and
// edgelb.io/router-id. Each value is validated as the config file validates it: a bad one is
// reported (an Event on the Node naming it) and the last good value is kept (the ConfigMap's if
// none was good yet). Node-level settings are what the running engines were built with, so a
// change (an annotation, a ConfigMap reload) does not apply live: the node keeps running on the
// values it started with and reports RestartRequired (an Event on the Node, and a gauge) until
// the pod restarts. Pure except for the time given by the caller; the source writes the Events.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { familyOf } from '../lib/addr.js';
import type { ClusterSpec, DesiredState } from '../model/desired-state.js';
import type { NodeObj } from './types.js';

export const ANN_NODE_INTERFACE = 'edgelb.io/interface';
export const ANN_NODE_ASN = 'edgelb.io/asn';
export const ANN_NODE_ROUTER_ID = 'edgelb.io/router-id';

/** Shards when the ConfigMap has no cluster section: divisible by 2, 3, 4 and 6 nodes. */
export const DEFAULT_K8S_SHARDS = 12;
export const DEFAULT_K8S_CLUSTER_LISTEN = '0.0.0.0:11112';

/**
 * Kubernetes mode without a `cluster` section: one is made, so the members are always edgelb's
 * ready pods (one pod alone masters every shard; several spread them) and never "every node is
 * master". The key is `cluster/key` beside the config file (the chart mounts its Secret at
 * /etc/edgelb/cluster/key); without it a lone node still runs, several master nothing.
 */
export function withClusterDefaults(base: DesiredState, configDir: string): DesiredState {
  if (base.cluster) return base;
  const keyFile = join(configDir, 'cluster', 'key');
  const cluster: ClusterSpec = {
    listen: DEFAULT_K8S_CLUSTER_LISTEN,
    members: [],
    shards: DEFAULT_K8S_SHARDS,
    heartbeatIntervalMs: 30,
    deadAfterMs: 150,
    holdDownMs: 5000,
    keyFile,
  };
  return { ...base, cluster };
}

/**
 * Kubernetes mode: the chart's Secret also holds `flow-hash-key` (a copy of the cluster key made
 * once, kept across upgrades), mounted beside the key. When the file gives no flow-hash key of
 * its own, that file keys the flow hash, so a rotation of the cluster key never changes it.
 */
export function withFlowHashDefault(base: DesiredState, configDir: string, exists: (p: string) => boolean = existsSync): DesiredState {
  if (base.dataplane.flowHashKey !== undefined || base.dataplane.flowHashKeyFile !== undefined) return base;
  const file = join(configDir, 'cluster', 'flow-hash-key');
  return exists(file) ? { ...base, dataplane: { ...base.dataplane, flowHashKeyFile: file } } : base;
}

/** Whether the default key file exists (for the start-up log). */
export function clusterKeyPresent(s: DesiredState): boolean {
  return !!s.cluster?.keyFile && existsSync(s.cluster.keyFile);
}

/**
 * Why `raw` is not a Linux interface name ('' when it is one): 1..15 characters, no "/", ":" or
 * white space, not "." or "..". The name becomes part of /proc/sys paths, so this is the guard.
 */
export function interfaceNameProblem(raw: string): string {
  return /^[^\s/:]{1,15}$/.test(raw) && raw !== '.' && raw !== '..' ? '' : 'must be an interface name (1..15 characters, no "/", ":" or spaces)';
}

type Key = 'interface' | 'asn' | 'routerId';

interface Rule {
  annotation: string;
  /** The value as used, or why it is refused. */
  check(raw: string, base: DesiredState): { ok: true; value: string | number } | { ok: false; why: string };
}

const RULES: Record<Key, Rule> = {
  interface: {
    annotation: ANN_NODE_INTERFACE,
    check: (raw) => {
      const why = interfaceNameProblem(raw);
      return why ? { ok: false, why } : { ok: true, value: raw };
    },
  },
  asn: {
    annotation: ANN_NODE_ASN,
    check: (raw, base) => {
      if (!base.bgp) return { ok: false, why: 'the ConfigMap has no bgp section, so this node speaks no BGP' };
      const n = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
      return n >= 1 && n <= 4294967295 ? { ok: true, value: n } : { ok: false, why: 'must be 1..4294967295' };
    },
  },
  routerId: {
    annotation: ANN_NODE_ROUTER_ID,
    check: (raw) => (familyOf(raw) === 4 ? { ok: true, value: raw } : { ok: false, why: 'must be an IPv4 address' }),
  },
};

export interface NodeSettingProblem {
  annotation: string;
  value: string;
  /** Says what was refused, why, and what is used instead. */
  message: string;
}

export interface ResolvedSettings {
  /** The settings to run with: the started node-level values (the ConfigMap and the annotations). */
  settings: DesiredState;
  /** Annotations refused now (each with its message). */
  problems: NodeSettingProblem[];
  /** What differs from the values the node started with ('' when nothing): restart to apply. */
  restartRequired: string;
}

/** The node-level part of the settings: what the engines are built from at start. */
export function nodeLevel(s: DesiredState): string {
  const cluster = s.cluster ? { ...s.cluster, members: [] } : undefined;
  return JSON.stringify({ node: s.node, api: s.api, cluster, bgp: s.bgp ? { asn: s.bgp.asn, routerId: s.bgp.routerId, listenPort: s.bgp.listenPort } : undefined, dataplane: s.dataplane, l2: s.l2 });
}

function describeChange(a: DesiredState, b: DesiredState): string {
  const parts: string[] = [];
  const diff = (what: string, x: unknown, y: unknown) => {
    if (JSON.stringify(x) !== JSON.stringify(y)) parts.push(`${what} ${JSON.stringify(x ?? null)} → ${JSON.stringify(y ?? null)}`);
  };
  diff('interface', a.node.interface, b.node.interface);
  diff('asn', a.bgp?.asn, b.bgp?.asn);
  diff('routerId', a.node.routerId, b.node.routerId);
  if (!parts.length) parts.push('ConfigMap node-level settings (node, api, cluster, bgp, dataplane, l2)');
  return parts.join(', ');
}

/** Resolves one node's settings, remembering the last good annotation values and the start. */
export class NodeSettings {
  private readonly lastGood = new Map<Key, string | number>();
  private started: DesiredState | undefined;

  /** The ConfigMap's settings overlaid with the Node's good annotations. */
  private overlay(base: DesiredState, node: NodeObj | undefined, problems: NodeSettingProblem[]): DesiredState {
    const ann = node?.metadata.annotations ?? {};
    const used = new Map<Key, string | number>();
    for (const key of Object.keys(RULES) as Key[]) {
      const rule = RULES[key];
      const raw = ann[rule.annotation];
      if (raw === undefined) {
        this.lastGood.delete(key); // removed: the ConfigMap's value again
        continue;
      }
      const r = rule.check(raw.trim(), base);
      if (r.ok) {
        this.lastGood.set(key, r.value);
        used.set(key, r.value);
        continue;
      }
      const kept = this.lastGood.get(key);
      if (kept !== undefined) used.set(key, kept);
      const fallback = kept !== undefined ? `keeping ${JSON.stringify(kept)}` : `using the ConfigMap's ${key === 'asn' ? `bgp.asn` : `node.${key}`}`;
      problems.push({ annotation: rule.annotation, value: raw, message: `${rule.annotation}: ${JSON.stringify(raw)} ${r.why}; ${fallback}` });
    }
    const node2 = { ...base.node };
    if (used.has('interface')) node2.interface = used.get('interface') as string;
    if (used.has('routerId')) node2.routerId = used.get('routerId') as string;
    const out: DesiredState = { ...base, node: node2 };
    if (base.bgp && used.has('asn')) out.bgp = { ...base.bgp, asn: used.get('asn') as number };
    return out;
  }

  /**
   * The settings for this node now. The first call fixes the node-level values the node runs
   * with; later differences are reported in `restartRequired` and not applied.
   */
  resolve(base: DesiredState, node: NodeObj | undefined): ResolvedSettings {
    const problems: NodeSettingProblem[] = [];
    const wanted = this.overlay(base, node, problems);
    if (!this.started) this.started = wanted;
    const start = this.started;
    const restartRequired = nodeLevel(wanted) === nodeLevel(start) ? '' : describeChange(start, wanted);
    // node-level values stay those of the start; the rest (e.g. bgp communities) follows the ConfigMap
    const settings: DesiredState = {
      ...wanted,
      node: start.node,
      api: start.api,
      dataplane: start.dataplane,
      l2: start.l2,
      ...(start.cluster ? { cluster: start.cluster } : {}),
    };
    if (!start.cluster) delete settings.cluster;
    if (wanted.bgp && start.bgp) settings.bgp = { ...wanted.bgp, asn: start.bgp.asn, routerId: start.bgp.routerId, listenPort: start.bgp.listenPort };
    else if (start.bgp) settings.bgp = start.bgp;
    else delete settings.bgp;
    return { settings, problems, restartRequired };
  }
}
