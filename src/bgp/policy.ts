// Export policy: applies the BGPPolicy model (PolicySpec of src/model/desired-state.ts) to one route
// for one peer. Pure. Semantics (Junos-like, documented in docs):
// - the peer's policies run in order; in each, statements run in order; a statement matches when
//   all its conditions match (prefix set with ge/le, peer address, community set);
// - a matching statement's actions are applied; `result: accept` accepts the route at once (later
//   policies are skipped), `reject` drops it, no result goes on with the next statement;
// - a policy that ends without a result applies its defaultResult: `reject` drops the route,
//   `accept` goes on with the next policy; after the last policy the route is accepted.
import { canonicalIp, familyOf, parsePrefix, prefixCovers, type Prefix } from '../lib/addr.js';
import type { PolicySpec, PolicyStatement } from '../model/desired-state.js';
import { normalizeCommunity, normalizeLargeCommunity } from '../model/policy-check.js';

export { normalizeCommunity, normalizeLargeCommunity, validatePolicy } from '../model/policy-check.js';

/** A route on its way out to one peer: what policy may look at and change. */
export interface ExportRoute {
  prefix: string;
  med?: number;
  localPref?: number;
  /** "asn:value" */
  communities: string[];
  /** "global:local1:local2" */
  largeCommunities: string[];
  /** ASNs prepended in front of our own ASN (leftmost first). */
  prepend: number[];
  /** Explicit next hop; absent = next-hop self. */
  nextHop?: string;
}

export interface PolicyPeer {
  address: string;
  asn: number;
  localAsn: number;
}

export type PolicyVerdict =
  | { accepted: true; route: ExportRoute; by: string }
  | { accepted: false; by: string };

function prefixMatches(set: PolicySpec['prefixSets'][string], route: Prefix): boolean {
  for (const e of set) {
    const p = parsePrefix(e.prefix);
    if (!prefixCovers(p, route)) continue;
    const lo = e.minLen ?? p.len;
    const hi = e.maxLen ?? (e.minLen !== undefined ? (p.family === 4 ? 32 : 128) : p.len);
    if (route.len >= lo && route.len <= hi) return true;
  }
  return false;
}

function communityMatches(set: string[], r: ExportRoute): boolean {
  for (const c of set) {
    if (c.split(':').length === 3) {
      if (r.largeCommunities.includes(normalizeLargeCommunity(c))) return true;
    } else if (r.communities.includes(normalizeCommunity(c))) return true;
  }
  return false;
}

/** Whether a statement's conditions all hold for this route and peer. */
export function statementMatches(pol: PolicySpec, st: PolicyStatement, r: ExportRoute, peer: PolicyPeer): boolean {
  const m = st.match;
  if (m.prefixSet !== undefined) {
    const set = pol.prefixSets[m.prefixSet];
    if (!set || !prefixMatches(set, parsePrefix(r.prefix))) return false;
  }
  if (m.peers && m.peers.length > 0) {
    const a = canonicalIp(peer.address);
    if (!m.peers.some((p) => canonicalIp(p) === a)) return false;
  }
  if (m.communitySet !== undefined) {
    const set = pol.communitySets[m.communitySet];
    if (!set || !communityMatches(set, r)) return false;
  }
  return true;
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** Apply a statement's actions to a copy of the route. */
export function applyActions(st: PolicyStatement, r: ExportRoute, peer: PolicyPeer): ExportRoute {
  const a = st.actions;
  const out: ExportRoute = { ...r, communities: [...r.communities], largeCommunities: [...r.largeCommunities], prepend: [...r.prepend] };
  if (a.med !== undefined) out.med = a.med;
  // LOCAL_PREF is only sent to iBGP peers (RFC 4271 §5.1.5)
  if (a.localPref !== undefined && peer.asn === peer.localAsn) out.localPref = a.localPref;
  if (a.setCommunities) out.communities = uniq(a.setCommunities.map(normalizeCommunity));
  if (a.addCommunities) out.communities = uniq([...out.communities, ...a.addCommunities.map(normalizeCommunity)]);
  if (a.removeCommunities) {
    const rm = new Set(a.removeCommunities.map(normalizeCommunity));
    out.communities = out.communities.filter((c) => !rm.has(c));
  }
  if (a.addLargeCommunities) out.largeCommunities = uniq([...out.largeCommunities, ...a.addLargeCommunities.map(normalizeLargeCommunity)]);
  if (a.removeLargeCommunities) {
    const rm = new Set(a.removeLargeCommunities.map(normalizeLargeCommunity));
    out.largeCommunities = out.largeCommunities.filter((c) => !rm.has(c));
  }
  if (a.prepend && a.prepend.count > 0) {
    const asn = a.prepend.asn ?? peer.localAsn;
    out.prepend = [...new Array<number>(a.prepend.count).fill(asn), ...out.prepend];
  }
  if (a.nextHop !== undefined) {
    if (a.nextHop === 'self') delete out.nextHop;
    else if (familyOf(a.nextHop) === familyOf(r.prefix.split('/')[0]!)) out.nextHop = canonicalIp(a.nextHop);
  }
  return out;
}

/**
 * Run the peer's export policies (already looked up, in order) over one route.
 * `by` names what decided: "policy/statement", "policy/default" or "no-policy".
 */
export function evaluateExport(route: ExportRoute, peer: PolicyPeer, policies: PolicySpec[]): PolicyVerdict {
  let r = route;
  let by = 'no-policy';
  for (const pol of policies) {
    for (const st of pol.statements) {
      if (!statementMatches(pol, st, r, peer)) continue;
      r = applyActions(st, r, peer);
      by = `${pol.name}/${st.name}`;
      if (st.actions.result === 'accept') return { accepted: true, route: r, by };
      if (st.actions.result === 'reject') return { accepted: false, by };
    }
    if (pol.defaultResult === 'reject') return { accepted: false, by: `${pol.name}/default` };
  }
  return { accepted: true, route: r, by };
}

