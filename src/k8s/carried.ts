// Whether a Service is carried, as pure functions. Each node writes one NodeReport (named after
// the node) saying which VIPs it carries now: sent to at least one Established BGP session, or
// answered by ARP/NDP as the L2 owner. The writer of the Services' status reads the reports of
// the nodes with a ready edgelb pod and turns edgelb.io/Served True only while some node carries
// every VIP of the Service; otherwise its reason and message say why not (no BGP session
// Established on any node, sessions up but the VIP not advertised and the nodes' reasons, no L2
// owner, no report at all). One object per node, written on change: N small writes per change
// instead of one per (Service, node) as MetalLB's ServiceL2Status/ServiceBGPStatus.
import { canonicalIp, familyOf } from '../lib/addr.js';
import type { Announce } from '../model/desired-state.js';
import type { ServicePlan } from './translate.js';
import type { NodeReportObj } from './types.js';

export const REPORT_PLURAL = 'nodereports';
export const REPORT_KIND = 'NodeReport';
/** Withheld VIPs listed in a report at most (the rest is counted): a report stays small. */
export const MAX_WITHHELD = 1000;
/** Carrier nodes named in a condition message at most (the rest is counted). */
export const MAX_NAMED = 5;

/** What a node's runtime says it carries (daemon NeighborReport.carried). */
export interface CarriedInput {
  bgp: string[];
  l2: string[];
  withheld: Array<{ vip: string; reason: string }>;
}

export interface SessionInput {
  address: string;
  state: string;
}

export type ReportStatus = NonNullable<NodeReportObj['status']>;

/** The status of this node's report (sorted, canonical addresses: equal facts, equal JSON). */
export function reportStatus(o: { node: string; pod: string; carried: CarriedInput; sessions: SessionInput[]; now: string }): ReportStatus {
  const uniq = (xs: string[]) => [...new Set(xs.map((x) => canonicalIp(x)))].sort();
  const peers = uniq(o.sessions.map((s) => s.address));
  const established = uniq(o.sessions.filter((s) => s.state.toLowerCase() === 'established').map((s) => s.address));
  const bgp = uniq(o.carried.bgp);
  const l2 = uniq(o.carried.l2);
  const withheldAll = [...o.carried.withheld].map((w) => ({ vip: canonicalIp(w.vip), reason: w.reason })).sort((a, b) => a.vip.localeCompare(b.vip));
  const withheld = withheldAll.slice(0, MAX_WITHHELD);
  return {
    node: o.node,
    pod: o.pod,
    updated: o.now,
    peers,
    established,
    sessions: `${established.length}/${peers.length}`,
    bgp,
    l2,
    carrying: `bgp ${bgp.length}, l2 ${l2.length}`,
    withheld,
    ...(withheldAll.length > withheld.length ? { withheldMore: withheldAll.length - withheld.length } : {}),
  };
}

/** Whether a report must be written again (anything but the time changed). */
export function reportChanged(prev: ReportStatus | undefined, next: ReportStatus): boolean {
  if (!prev) return true;
  const strip = (s: ReportStatus) => JSON.stringify({ ...s, updated: undefined });
  return strip(prev) !== strip(next);
}

/** Who carries what, from the reports of the nodes that count (those with a ready edgelb pod). */
export interface Carriage {
  /** Nodes with a ready pod that have written a report. */
  reporting: Map<string, ReportStatus>;
  /** Nodes with a ready pod. */
  nodes: string[];
  bgp: Map<string, string[]>;
  l2: Map<string, string[]>;
  withheld: Map<string, Array<{ node: string; reason: string }>>;
}

export function carriageOf(reports: NodeReportObj[], readyNodes: string[]): Carriage {
  // every node lists mostly the same VIPs: canonicalise each text once
  const seen = new Map<string, string | undefined>();
  const canon = (x: unknown): string | undefined => {
    if (typeof x !== 'string') return undefined;
    if (seen.has(x)) return seen.get(x);
    const v = familyOf(x) ? canonicalIp(x) : undefined;
    seen.set(x, v);
    return v;
  };
  const ready = new Set(readyNodes);
  const c: Carriage = { reporting: new Map(), nodes: [...ready].sort(), bgp: new Map(), l2: new Map(), withheld: new Map() };
  const add = <T>(m: Map<string, T[]>, k: string, v: T) => {
    const l = m.get(k);
    if (l) l.push(v);
    else m.set(k, [v]);
  };
  for (const r of [...reports].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const node = r.metadata.name;
    const s = r.status;
    if (!s || !ready.has(node)) continue;
    c.reporting.set(node, s);
    // a report is outside input (another version, a hand edit): keep addresses only, canonical
    const ips = (xs: unknown) => (Array.isArray(xs) ? xs.map(canon).filter((x): x is string => x !== undefined) : []);
    for (const v of ips(s.bgp)) add(c.bgp, v, node);
    for (const v of ips(s.l2)) add(c.l2, v, node);
    for (const w of Array.isArray(s.withheld) ? s.withheld : []) {
      const vip = canon(w?.vip);
      if (vip) add(c.withheld, vip, { node, reason: String(w.reason) });
    }
  }
  return c;
}

/** "n1, n2, n3, n4, n5 and 7 more" */
export function nameNodes(nodes: string[], max = MAX_NAMED): string {
  if (nodes.length <= max) return nodes.join(', ');
  return `${nodes.slice(0, max).join(', ')} and ${nodes.length - max} more`;
}

export interface ServedDecision {
  served: boolean;
  reason: string;
  message: string;
}

/** How one VIP is carried, or why not. */
function vipCarriage(vip: string, announce: Announce, c: Carriage): { carried: boolean; text: string; reason: string } {
  const key = canonicalIp(vip);
  const byBgp = announce !== 'l2' ? (c.bgp.get(key) ?? []) : [];
  const byL2 = announce !== 'bgp' ? (c.l2.get(key) ?? []) : [];
  if (byBgp.length + byL2.length > 0) {
    const parts = [byBgp.length ? `BGP from ${nameNodes(byBgp)}` : '', byL2.length ? `L2 owner ${nameNodes(byL2)}` : ''].filter(Boolean);
    return { carried: true, reason: 'Served', text: parts.join('; ') };
  }
  const withheld = c.withheld.get(key) ?? [];
  const why = (nodes: string[]) => {
    const named = nodes.map((n) => `${n}: ${withheld.find((w) => w.node === n)?.reason ?? 'not sent yet'}`);
    return nameNodes(named);
  };
  const reporting = [...c.reporting.keys()];
  const whys: string[] = [];
  let reason = '';
  if (announce !== 'l2') {
    const some = (xs: unknown) => Array.isArray(xs) && xs.length > 0;
    const up = reporting.filter((n) => some(c.reporting.get(n)!.established));
    if (up.length === 0) {
      const configured = reporting.filter((n) => some(c.reporting.get(n)!.peers));
      whys.push(`no BGP session Established on any node (${configured.length ? `peers configured on ${nameNodes(configured)}` : 'no node has a BGP peer'})`);
      reason = 'NoBGPSession';
    } else {
      whys.push(`BGP sessions Established on ${nameNodes(up)} but no node advertises it (${why(up)})`);
      reason = 'NotAdvertised';
    }
  }
  if (announce !== 'bgp') {
    const told = withheld.filter((w) => w.reason !== 'not-shard-master');
    whys.push(`no L2 owner answers ARP/NDP for it${told.length ? ` (${nameNodes(told.map((w) => `${w.node}: ${w.reason}`))})` : ''}`);
    reason = reason ? 'NotCarried' : 'NoL2Owner';
  }
  return { carried: false, reason, text: whys.join('; and ') };
}

/**
 * The Served condition of a Service the translation finds servable (addresses in a pool, a node
 * that may announce, a ready endpoint): True only while some node carries each of its VIPs. A plan
 * that is not servable is returned as it is (its reason already says why).
 */
export function servedDecision(plan: ServicePlan, announce: Announce, c: Carriage): ServedDecision {
  if (!plan.served) return { served: false, reason: plan.reason, message: plan.message };
  const at = `from pool ${plan.pool ?? '?'}, shard ${plan.shard ?? 0}`;
  if (c.reporting.size === 0) {
    const ready = c.nodes.length ? `${nameNodes(c.nodes)} ha${c.nodes.length === 1 ? 's' : 've'} a ready edgelb pod but no NodeReport` : 'no edgelb pod is ready';
    return { served: false, reason: 'NoNodeReport', message: `${plan.vips.join(', ')} ${at}: no node reports what it carries (${ready})` };
  }
  const per = plan.vips.map((v) => ({ vip: v, ...vipCarriage(v, announce, c) }));
  const missing = per.find((p) => !p.carried);
  if (missing) return { served: false, reason: missing.reason, message: `${missing.vip} ${at}: ${missing.text}` };
  const same = per.every((p) => p.text === per[0]!.text);
  const carriers = same ? `carried by ${per[0]!.text}` : per.map((p) => `${p.vip} carried by ${p.text}`).join('; ');
  return { served: true, reason: 'Served', message: `${plan.message}; ${carriers}` };
}
