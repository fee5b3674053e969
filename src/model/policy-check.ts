// What makes a BGP export policy (PolicySpec) valid, and the community syntax it uses: one check
// for every path a policy arrives by (the YAML loader, a BGPPolicy CR, the speaker's setPeers),
// so a policy that passed it never makes export evaluation throw. Pure; imports only lib/.
import { familyOf, parsePrefix } from '../lib/addr.js';
import type { PolicySpec } from './desired-state.js';

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
