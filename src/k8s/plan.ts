// The leader's decisions as one pure function (MetalLB-clean): the cluster as it will be once the
// leader's own writes land → the list of writes to make. IPAM is rebuilt from the Services'
// status every time (the status is the record), new addresses are given oldest Service first,
// and each Service gets at most one write (status, condition and the allocation annotations in
// one PATCH of the status subresource) plus an Event when its outcome changed. IPPools, BGPPeers
// and BGPPolicies get their status (usage, session summary, a Valid condition naming the field
// at fault) and a Warning Event when they turn invalid. A Service is Served only while a node
// reports carrying its VIPs (carried.ts). controller.ts executes the list.
import { ANN_ASSIGNED_IPS, CONDITION_TYPE, isOurs, serviceKey } from './annotations.js';
import { carriageOf, servedDecision } from './carried.js';
import { Ipam, type AssignResult, type RebuildProblem } from './ipam.js';
import { objectProblems, validPools, type Problem } from './objects.js';
import {
  allocationAnnotations,
  desiredServiceStatus,
  peerSummary,
  serviceEvent,
  serviceStatusPatch,
  withAnnotations,
  type EventSpec,
} from './status.js';
import { leastLoadedShard, shardOf, translate, type ClusterView, type TranslateOptions } from './translate.js';
import type { K8sCondition, ServiceObj } from './types.js';

/** The condition type written on IPPools, BGPPeers and BGPPolicies. */
export const VALID_CONDITION = 'Valid';

export interface ServiceWrite {
  kind: 'service';
  key: string;
  namespace: string;
  name: string;
  /** The body of one PATCH of the status subresource (status and/or metadata.annotations). */
  body: { status?: object; metadata?: { annotations: Record<string, string | null> } };
  /** Sent after the write succeeded. */
  event?: EventSpec;
  /** The Service as it will be once the write lands (what the next plan must see). */
  after: ServiceObj;
}

export interface ObjectStatusWrite {
  kind: 'object-status';
  plural: 'ippools' | 'bgppeers' | 'bgppolicies';
  objKind: 'IPPool' | 'BGPPeer' | 'BGPPolicy';
  name: string;
  uid?: string;
  status: Record<string, unknown>;
  event?: EventSpec;
}

export type Write = ServiceWrite | ObjectStatusWrite;

export interface PlanInput {
  view: ClusterView;
  opts: TranslateOptions;
  namespaceLabels: (ns: string) => Record<string, string> | undefined;
  /** RFC 3339 time for new conditions. */
  now: string;
}

export interface Plan {
  writes: Write[];
  allocations: number;
  /** Reasons of refused assignments (metrics). */
  ipamFailures: string[];
  /** Addresses found recorded twice or outside every pool while rebuilding IPAM. */
  rebuildProblems: RebuildProblem[];
}

const byAge = (a: ServiceObj, b: ServiceObj) =>
  new Date(a.metadata.creationTimestamp ?? 0).getTime() - new Date(b.metadata.creationTimestamp ?? 0).getTime() || serviceKey(a).localeCompare(serviceKey(b));

/** Every write the leader should make now. Pure: same input, same list. */
export function planWrites(input: PlanInput): Plan {
  const { view, opts } = input;
  const shards = opts.settings.cluster?.shards ?? 1;
  const ipam = new Ipam(validPools(view.pools).ipamPools, input.namespaceLabels);
  const ours = view.services.filter((s) => isOurs(s, opts.defaultClass)).sort(byAge);
  const rebuildProblems = ipam.rebuild(ours);

  // assign, oldest first; a Service without a shard gets the least loaded one, once
  const loads = new Array<number>(shards).fill(0);
  for (const s of ours) {
    const sh = shardOf(s, shards);
    if (sh.source !== 'hash') loads[sh.shard]!++;
  }
  const assigned: Array<{ svc: ServiceObj; r: AssignResult; ann: Record<string, string | null> }> = [];
  const ipamFailures: string[] = [];
  for (const svc of ours) {
    const r = ipam.assign(svc);
    let shard: number | undefined;
    if (r.ok) {
      const sh = shardOf(svc, shards);
      shard = sh.shard;
      if (sh.source === 'hash') {
        shard = leastLoadedShard(loads);
        loads[shard]!++;
      }
    } else ipamFailures.push(r.reason);
    // a refused request keeps the user's annotation (theirs to remove); otherwise record the outcome
    const ann = !r.ok && r.fromRequest ? {} : allocationAnnotations(svc, r, shard);
    assigned.push({ svc, r, ann });
  }

  // plans as the nodes will see them once the statuses are written
  const future = assigned.map(({ svc, r, ann }) => withIngress(withAnnotations(svc, ann), r.ok ? r.ips : []));
  const others = view.services.filter((s) => !isOurs(s, opts.defaultClass));
  const { plans } = translate({ ...view, services: [...future, ...others] }, opts);
  const planByKey = new Map(plans.map((p) => [p.key, p]));
  // Served only while some node carries the VIPs (when the nodes' reports are tracked)
  if (view.reports) {
    const carriage = carriageOf(view.reports, view.members.filter((m) => m.ready).map((m) => m.nodeName));
    const announceOf = new Map(validPools(view.pools).pools.map((p) => [p.name, p.announce]));
    for (const [k, p] of planByKey) {
      if (!p.served) continue;
      const d = servedDecision(p, announceOf.get(p.pool ?? '') ?? 'bgp', carriage);
      planByKey.set(k, { ...p, ...d });
    }
  }

  const writes: Write[] = [];
  for (const { svc, r, ann } of assigned) {
    const want = desiredServiceStatus(r, planByKey.get(serviceKey(svc)));
    const status = serviceStatusPatch(svc, want, input.now);
    const hasAnn = Object.keys(ann).length > 0;
    if (!status && !hasAnn) continue;
    const cur = svc.status?.conditions?.find((c) => c.type === CONDITION_TYPE);
    const prev = cur ? { reason: cur.reason ?? '', ips: (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').join(',') } : undefined;
    const event = status ? serviceEvent(prev, want, r) : undefined;
    writes.push(serviceWrite(svc, status, hasAnn ? ann : undefined, event));
  }
  // Services that are no longer ours lose what edgelb wrote
  for (const svc of others) {
    if (svc.metadata.annotations?.[ANN_ASSIGNED_IPS] === undefined) continue;
    const ann = allocationAnnotations(svc, undefined, undefined);
    const ingress = svc.status?.loadBalancer?.ingress ?? [];
    const status = ingress.length > 0 ? { loadBalancer: { ingress: [] } } : undefined;
    if (status || Object.keys(ann).length > 0) writes.push(serviceWrite(svc, status, Object.keys(ann).length > 0 ? ann : undefined, undefined));
  }
  writes.push(...objectWrites(view, ipam, input.now));
  return { writes, allocations: ipam.allocations().length, ipamFailures, rebuildProblems };
}

function withIngress(svc: ServiceObj, ips: string[]): ServiceObj {
  return { ...svc, status: { ...(svc.status ?? {}), loadBalancer: { ingress: ips.map((ip) => ({ ip })) } } };
}

function serviceWrite(svc: ServiceObj, status: object | undefined, ann: Record<string, string | null> | undefined, event: EventSpec | undefined): ServiceWrite {
  let after = ann ? withAnnotations(svc, ann) : svc;
  if (status) after = { ...after, status: { ...(after.status ?? {}), ...(status as ServiceObj['status']) } };
  return {
    kind: 'service',
    key: serviceKey(svc),
    namespace: svc.metadata.namespace ?? 'default',
    name: svc.metadata.name,
    body: { ...(status ? { status } : {}), ...(ann ? { metadata: { annotations: ann } } : {}) },
    ...(event ? { event } : {}),
    after,
  };
}

/** The Valid condition of an object: True, or False with the first problem's reason and every message. */
export function validCondition(problems: Problem[], prev: K8sCondition | undefined, now: string): K8sCondition {
  const c: K8sCondition = problems.length
    ? { type: VALID_CONDITION, status: 'False', reason: problems[0]!.reason, message: problems.map((p) => p.message).join('; ').slice(0, 1024) }
    : { type: VALID_CONDITION, status: 'True', reason: 'Valid', message: 'in use' };
  const keep = prev && prev.status === c.status && prev.lastTransitionTime;
  return { ...c, lastTransitionTime: keep ? new Date(prev.lastTransitionTime!).toISOString().replace(/\.\d{3}Z$/, 'Z') : now };
}

const sameCondition = (a: K8sCondition | undefined, b: K8sCondition) => a !== undefined && a.status === b.status && a.reason === b.reason && a.message === b.message;

/** IPPool usage, the BGPPeer summary, and the Valid condition of every edgelb object. */
function objectWrites(view: ClusterView, ipam: Ipam, now: string): ObjectStatusWrite[] {
  const problems = objectProblems(view);
  const of = (obj: string) => problems.filter((p) => p.object === obj);
  const out: ObjectStatusWrite[] = [];
  const push = (
    plural: ObjectStatusWrite['plural'],
    objKind: ObjectStatusWrite['objKind'],
    o: { metadata: { name: string; uid?: string }; status?: { conditions?: K8sCondition[] } },
    fields: Record<string, unknown>,
    fieldsSame: boolean,
  ) => {
    const probs = of(`${objKind} ${o.metadata.name}`);
    const prev = o.status?.conditions?.find((c) => c.type === VALID_CONDITION);
    const cond = validCondition(probs, prev, now);
    if (fieldsSame && sameCondition(prev, cond)) return;
    const event: EventSpec | undefined =
      !sameCondition(prev, cond) && cond.status === 'False' ? { type: 'Warning', reason: cond.reason!, message: cond.message! } : undefined;
    out.push({ kind: 'object-status', plural, objKind, name: o.metadata.name, ...(o.metadata.uid ? { uid: o.metadata.uid } : {}), status: { ...fields, conditions: [cond] }, ...(event ? { event } : {}) });
  };
  for (const p of view.pools) {
    const u = ipam.usage(p.metadata.name);
    const available = String(u.size - BigInt(u.assigned));
    push('ippools', 'IPPool', p, { assigned: u.assigned, available }, p.status?.assigned === u.assigned && p.status?.available === available);
  }
  for (const p of view.peers) {
    const s = peerSummary(p.status?.nodes ?? []);
    push('bgppeers', 'BGPPeer', p, s, p.status?.summary === s.summary && p.status?.established === s.established);
  }
  for (const p of view.policies) push('bgppolicies', 'BGPPolicy', p, {}, true);
  return out;
}
