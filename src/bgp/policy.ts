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

const WELL_KNOWN: Record<string, string> = {
  'no-export': '65535:65281',
  'no-advertise': '65535:65282',
  'no-export-subconfed': '65535:65283',
  'no-peer': '65535:65284',
  blackhole: '65535:666',
  'graceful-shutdown': '65535:0',
};

/** Normalise a community: "65000:1" stays, well-known names become numbers. Throws on bad input. */
export function normalizeCommunity(c: string): string {
  const w = WELL_KNOWN[c.toLowerCase()];
  if (w) return w;
  const m = /^(\d+):(\d+)$/.exec(c.trim());
  if (!m || Number(m[1]) > 65535 || Number(m[2]) > 65535) throw new TypeError(`not a community: ${c}`);
  return `${Number(m[1])}:${Number(m[2])}`;
}

/** Normalise a large community "g:l1:l2" (each 0..4294967295). Throws on bad input. */
export function normalizeLargeCommunity(c: string): string {
  const m = /^(\d+):(\d+):(\d+)$/.exec(c.trim());
  if (!m || [m[1], m[2], m[3]].some((x) => Number(x) > 0xffffffff)) throw new TypeError(`not a large community: ${c}`);
  return `${Number(m[1])}:${Number(m[2])}:${Number(m[3])}`;
}

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

/**
 * Check a policy's references and values; returns problems as "path: message" (empty: valid).
 * The one validation the speaker relies on (setPeers refuses a policy with problems, so export
 * evaluation never throws) and the one the YAML loader and the Kubernetes BGPPolicy path call.
 * Never throws, whatever the input's shape.
 */
export function validatePolicy(p: PolicySpec): string[] {
  try {
    return checkPolicy(p);
  } catch (err) {
    return [`policy: ${(err as Error)?.message ?? String(err)}`];
  }
}

function checkPolicy(p: PolicySpec): string[] {
  const issues: string[] = [];
  if (!Array.isArray(p.statements)) return ['statements: must be a list'];
  if (p.defaultResult !== 'accept' && p.defaultResult !== 'reject') issues.push('defaultResult: must be accept or reject');
  for (const [name, set] of Object.entries(p.prefixSets)) {
    set.forEach((e, i) => {
      try {
        const pf = parsePrefix(e.prefix);
        const max = pf.family === 4 ? 32 : 128;
        if (e.minLen !== undefined && (e.minLen < pf.len || e.minLen > max)) issues.push(`prefixSets.${name}[${i}].minLen: must be ${pf.len}..${max}`);
        if (e.maxLen !== undefined && (e.maxLen < (e.minLen ?? pf.len) || e.maxLen > max)) issues.push(`prefixSets.${name}[${i}].maxLen: must be ${e.minLen ?? pf.len}..${max}`);
      } catch (err) {
        issues.push(`prefixSets.${name}[${i}].prefix: ${(err as Error).message}`);
      }
    });
  }
  for (const [name, set] of Object.entries(p.communitySets)) {
    set.forEach((c, i) => {
      try {
        if (c.split(':').length === 3) normalizeLargeCommunity(c);
        else normalizeCommunity(c);
      } catch (err) {
        issues.push(`communitySets.${name}[${i}]: ${(err as Error).message}`);
      }
    });
  }
  p.statements.forEach((st, i) => {
    const at = `statements[${i}]`;
    if (st.match.prefixSet !== undefined && !p.prefixSets[st.match.prefixSet]) issues.push(`${at}.match.prefixSet: no prefix set named ${st.match.prefixSet}`);
    if (st.match.communitySet !== undefined && !p.communitySets[st.match.communitySet]) issues.push(`${at}.match.communitySet: no community set named ${st.match.communitySet}`);
    const a = st.actions;
    if (a.med !== undefined && !(Number.isInteger(a.med) && a.med >= 0 && a.med <= 0xffffffff)) issues.push(`${at}.actions.med: must be 0..4294967295`);
    if (a.localPref !== undefined && !(Number.isInteger(a.localPref) && a.localPref >= 0 && a.localPref <= 0xffffffff)) issues.push(`${at}.actions.localPref: must be 0..4294967295`);
    if (a.prepend && !(Number.isInteger(a.prepend.count) && a.prepend.count >= 0 && a.prepend.count <= 16)) issues.push(`${at}.actions.prepend.count: must be 0..16`);
    if (a.nextHop !== undefined && a.nextHop !== 'self' && !familyOf(a.nextHop)) issues.push(`${at}.actions.nextHop: must be an address or "self"`);
    for (const k of ['addCommunities', 'setCommunities', 'removeCommunities'] as const) {
      for (const c of a[k] ?? []) {
        try {
          normalizeCommunity(c);
        } catch (err) {
          issues.push(`${at}.actions.${k}: ${(err as Error).message}`);
        }
      }
    }
    for (const k of ['addLargeCommunities', 'removeLargeCommunities'] as const) {
      for (const c of a[k] ?? []) {
        try {
          normalizeLargeCommunity(c);
        } catch (err) {
          issues.push(`${at}.actions.${k}: ${(err as Error).message}`);
        }
      }
    }
  });
  return issues;
}
