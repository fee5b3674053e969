// Checking one BGP peer spec before the speaker applies anything (so one bad peer is refused on
// its own and never throws inside setPeers), and the identity a spec is diffed by.
import { familyOf } from '../lib/addr.js';
import type { PeerSpec } from '../model/desired-state.js';
import { validHoldTime } from './fsm.js';

/** A peer (or a policy) setPeers refused, with the reasons as "path: message". */
export interface PeerRefusal {
  address: string;
  issues: string[];
}

/** TCP_MD5SIG_MAXKEYLEN of Linux: a longer key cannot be set on a socket. */
export const MAX_MD5_KEY_BYTES = 80;

/**
 * Check one peer spec before anything is applied: every problem as "field: message". A peer with
 * problems is refused on its own; the other peers are applied.
 */
export function validatePeer(p: PeerSpec, policies: ReadonlyMap<string, string[]>): string[] {
  const issues: string[] = [];
  if (typeof p.address !== 'string' || !familyOf(p.address)) issues.push('address: must be an IPv4 or IPv6 address');
  if (!Number.isInteger(p.asn) || p.asn < 1 || p.asn > 0xffffffff) issues.push('asn: must be 1..4294967295');
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) issues.push('port: must be 1..65535');
  if (!validHoldTime(p.holdTime)) issues.push('holdTime: must be 0 or 3..65535');
  if (p.password !== undefined) {
    const n = Buffer.byteLength(p.password);
    if (n < 1 || n > MAX_MD5_KEY_BYTES) issues.push(`password: must be 1..${MAX_MD5_KEY_BYTES} bytes (TCP MD5 key), got ${n}`);
  }
  if (p.localAddress !== undefined && !familyOf(p.localAddress)) issues.push('localAddress: must be an address');
  if (p.maxPrefixes !== undefined && !(Number.isInteger(p.maxPrefixes) && p.maxPrefixes >= 0)) issues.push('maxPrefixes: must be 0 or more');
  if (p.maxPrefixesAction !== undefined && p.maxPrefixesAction !== 'warn' && p.maxPrefixesAction !== 'teardown') issues.push('maxPrefixesAction: must be warn or teardown');
  if (p.keepReceivedBytes !== undefined && !(Number.isInteger(p.keepReceivedBytes) && p.keepReceivedBytes >= 0)) issues.push('keepReceivedBytes: must be 0 or more');
  if (p.ebgpMultihop !== undefined && !(Number.isInteger(p.ebgpMultihop) && p.ebgpMultihop >= 1 && p.ebgpMultihop <= 255)) issues.push('ebgpMultihop: must be 1..255');
  for (const name of p.exportPolicies ?? []) {
    const bad = policies.get(name);
    if (bad) issues.push(...bad.map((i) => `exportPolicies[${name}].${i}`));
  }
  return issues;
}

/** Identity of a peer spec for diffing (the password's value counts, but is never shown). BFD
 *  settings are not part of it: the BFD engine applies them with a poll sequence, no BGP reset. */
export function specKey(p: PeerSpec): string {
  const { exportPolicies: _e, bfd: _b, ...rest } = p;
  void _e;
  void _b;
  return JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
}

