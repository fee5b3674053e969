// What edgelb writes back, as pure functions: a Service's allocation annotations, its
// status (ingress + the edgelb.io/Served condition), the Event worth sending, and the BGPPeer
// per-node session entries and summary.
import { ANN_ASSIGNED_IPS, ANN_ASSIGNED_POOL, ANN_ASSIGNED_SHARD, CONDITION_TYPE } from './annotations.js';
import type { CarriedInput } from './carried.js';
import type { AssignResult } from './ipam.js';
import type { ServicePlan } from './translate.js';
import type { BGPPeerNodeStatus, K8sCondition, ServiceObj } from './types.js';

export interface NeighborStatus {
  address: string;
  state: string;
  uptimeSec: number;
  prefixesSent: number;
  lastError?: string;
}

/** The node agent provides this: the BGP sessions of this node, for BGPPeer status, and what
 *  it carries, for its NodeReport (undefined until the node agent exists). */
export interface NodeStatusSource {
  bgpNeighbors(): NeighborStatus[];
  carried?(): CarriedInput | undefined;
}

/** Annotations that record an allocation (null removes a key). Empty object: nothing to change. */
export function allocationAnnotations(svc: ServiceObj, r: AssignResult | undefined, shard: number | undefined): Record<string, string | null> {
  const cur = svc.metadata.annotations ?? {};
  const want: Record<string, string | null> = r?.ok
    ? { [ANN_ASSIGNED_IPS]: r.ips.join(','), [ANN_ASSIGNED_POOL]: r.pool, [ANN_ASSIGNED_SHARD]: shard === undefined ? null : String(shard) }
    : { [ANN_ASSIGNED_IPS]: null, [ANN_ASSIGNED_POOL]: null, [ANN_ASSIGNED_SHARD]: null };
  const diff: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(want)) {
    if (v === null ? k in cur : cur[k] !== v) diff[k] = v;
  }
  return diff;
}

/** Apply annotation changes to a copy of the Service (what the cache will show after the write). */
export function withAnnotations(svc: ServiceObj, diff: Record<string, string | null>): ServiceObj {
  if (Object.keys(diff).length === 0) return svc;
  const annotations = { ...(svc.metadata.annotations ?? {}) };
  for (const [k, v] of Object.entries(diff)) {
    if (v === null) delete annotations[k];
    else annotations[k] = v;
  }
  return { ...svc, metadata: { ...svc.metadata, annotations } };
}

export interface DesiredServiceStatus {
  ingress: string[];
  condition: Omit<K8sCondition, 'lastTransitionTime'>;
}

export function desiredServiceStatus(r: AssignResult | undefined, plan: ServicePlan | undefined): DesiredServiceStatus {
  if (r && !r.ok) return { ingress: [], condition: { type: CONDITION_TYPE, status: 'False', reason: r.reason, message: r.message } };
  if (!r || !plan) return { ingress: [], condition: { type: CONDITION_TYPE, status: 'False', reason: 'Pending', message: 'waiting for an address' } };
  return {
    ingress: r.ips,
    condition: { type: CONDITION_TYPE, status: plan.served ? 'True' : 'False', reason: plan.reason, message: plan.message },
  };
}

/** The status patch to send, or undefined when the Service already shows it. */
export function serviceStatusPatch(svc: ServiceObj, want: DesiredServiceStatus, nowIso: string): object | undefined {
  const curIngress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '');
  const cur = svc.status?.conditions?.find((c) => c.type === CONDITION_TYPE);
  const sameIngress = curIngress.length === want.ingress.length && curIngress.every((ip, i) => ip === want.ingress[i]);
  const c = want.condition;
  const sameCond = cur !== undefined && cur.status === c.status && cur.reason === c.reason && cur.message === c.message;
  if (sameIngress && sameCond) return undefined;
  const lastTransitionTime = cur && cur.status === c.status && cur.lastTransitionTime ? new Date(cur.lastTransitionTime).toISOString().replace(/\.\d{3}Z$/, 'Z') : nowIso;
  return {
    loadBalancer: { ingress: want.ingress.map((ip) => ({ ip })) },
    conditions: [{ ...c, lastTransitionTime }],
  };
}

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** An Event when the outcome changed (reason or addresses), never for the same outcome twice. */
export function serviceEvent(prev: { reason: string; ips: string } | undefined, want: DesiredServiceStatus, r: AssignResult | undefined): EventSpec | undefined {
  const ips = want.ingress.join(',');
  const reason = want.condition.reason ?? '';
  if (prev && prev.reason === reason && prev.ips === ips) return undefined;
  if (r?.ok && r.changed && (!prev || prev.ips !== ips)) {
    return { type: 'Normal', reason: 'IPAllocated', message: `${ips} from IPPool ${r.pool}. ${want.condition.message ?? ''}`.trim() };
  }
  return { type: want.condition.status === 'True' ? 'Normal' : 'Warning', reason, message: want.condition.message ?? '' };
}

/** The object an Event is about. Cluster-scoped objects' Events go to the default namespace. */
export interface InvolvedObject {
  kind: string;
  apiVersion: string;
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

/** A core/v1 Event about any object. */
export function involvedEvent(o: InvolvedObject, e: EventSpec, instance: string, nowIso: string): { namespace: string; body: object } {
  const ns = o.namespace ?? 'default';
  return {
    namespace: ns,
    body: {
      metadata: { generateName: `${o.name}.`, namespace: ns },
      involvedObject: { ...o },
      type: e.type,
      reason: e.reason,
      message: e.message.slice(0, 1024),
      source: { component: 'edgelb' },
      reportingComponent: 'edgelb.io/edgelb',
      reportingInstance: instance,
      firstTimestamp: nowIso,
      lastTimestamp: nowIso,
      count: 1,
    },
  };
}

/** A core/v1 Event about a Service. */
export function eventObject(svc: ServiceObj, e: EventSpec, instance: string, nowIso: string): object {
  const ns = svc.metadata.namespace ?? 'default';
  return involvedEvent({ kind: 'Service', apiVersion: 'v1', namespace: ns, name: svc.metadata.name, uid: svc.metadata.uid, resourceVersion: svc.metadata.resourceVersion } as InvolvedObject, e, instance, nowIso).body;
}

/** This node's entry in a BGPPeer's status (a peer without a session yet shows Idle). */
export function peerNodeEntry(node: string, n: NeighborStatus | undefined, nowIso: string): BGPPeerNodeStatus {
  return {
    node,
    state: n?.state ?? 'Idle',
    uptimeSeconds: Math.max(0, Math.floor(n?.uptimeSec ?? 0)),
    prefixesSent: n?.prefixesSent ?? 0,
    ...(n?.lastError ? { lastError: n.lastError.slice(0, 512) } : {}),
    updated: nowIso,
  };
}

/** Whether an entry changed enough to write (state, prefixes, error; uptime only every `refreshSec`). */
export function peerEntryChanged(prev: BGPPeerNodeStatus | undefined, next: BGPPeerNodeStatus, refreshSec = 60): boolean {
  if (!prev) return true;
  if (prev.state !== next.state || prev.prefixesSent !== next.prefixesSent || prev.lastError !== next.lastError) return true;
  return Date.parse(next.updated) - Date.parse(prev.updated) >= refreshSec * 1000;
}

/** "n1=Established n2=Active" and "1/2", for `kubectl get bgppeers`. */
export function peerSummary(nodes: BGPPeerNodeStatus[]): { summary: string; established: string } {
  const sorted = [...nodes].sort((a, b) => a.node.localeCompare(b.node));
  const est = sorted.filter((n) => n.state.toLowerCase() === 'established').length;
  return { summary: sorted.map((n) => `${n.node}=${n.state}`).join(' '), established: `${est}/${sorted.length}` };
}
