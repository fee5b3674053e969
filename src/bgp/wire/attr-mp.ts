// MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760): next hops (IPv6 global + link-local) and per-family prefixes.
import { EdgelbError } from '../../lib/errors.js';
import { bytesToIp, familyOf, ipToBytes } from '../../lib/addr.js';
import { Afi, Safi, familyName } from './constants.js';
import { readPrefixes, writePrefixes, type IpFamily } from './prefix.js';
import type { BgpDecodeError } from './errors.js';
import type { BgpReader } from './reader.js';
import type { BgpWriter } from './writer.js';
import type { MpReach, MpUnreach } from './types.js';

/** The prefix family of a supported AFI/SAFI (unicast IPv4 and IPv6), or undefined. */
export function prefixFamily(afi: number, safi: number): IpFamily | undefined {
  if (safi !== Safi.UNICAST) return undefined;
  return afi === Afi.IPV4 ? 4 : afi === Afi.IPV6 ? 6 : undefined;
}

export type MpReachResult =
  | { ok: true; value: MpReach }
  /** Next hop field unusable, but the NLRI were found: treat-as-withdraw them. */
  | { ok: false; value: MpReach; detail: string };

/** Decode MP_REACH_NLRI of a supported family. Short reads and bad prefixes throw through `bad`. */
export function readMpReach(r: BgpReader, afi: number, safi: number, bad: (d: string) => BgpDecodeError, extendedNextHop = false): MpReachResult {
  const family = prefixFamily(afi, safi)!;
  const nhLen = r.u8('next hop length');
  const nh = r.bytes(nhLen, 'next hop');
  r.u8('reserved');
  const nlri = readPrefixes(r, family, bad);
  const value: MpReach = { afi, safi, nextHops: [], nlri };
  // IPv4 next hop for IPv4; IPv6 global (16) or global + link-local (32) for IPv6, and for IPv4 only
  // when RFC 8950 was negotiated (otherwise the length is inconsistent: RFC 7606 §7.11, treat-as-withdraw)
  if (nhLen === 4 && family === 4) value.nextHops = [bytesToIp(nh)];
  else if (family === 4 && !extendedNextHop) return { ok: false, value, detail: `next hop length ${nhLen} for ${familyName(afi, safi)} without the extended next hop capability (RFC 8950)` };
  else if (nhLen === 16) value.nextHops = [bytesToIp(nh)];
  else if (nhLen === 32) value.nextHops = [bytesToIp(nh.subarray(0, 16)), bytesToIp(nh.subarray(16))];
  else return { ok: false, value, detail: `next hop length ${nhLen} for ${familyName(afi, safi)}` };
  return { ok: true, value };
}

export function readMpUnreach(r: BgpReader, afi: number, safi: number, bad: (d: string) => BgpDecodeError): MpUnreach {
  return { afi, safi, withdrawn: readPrefixes(r, prefixFamily(afi, safi)!, bad) };
}

function familyOrThrow(afi: number, safi: number): IpFamily {
  const f = prefixFamily(afi, safi);
  if (!f) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `unsupported address family ${familyName(afi, safi)}`);
  return f;
}

/** Next hop field bytes: one or two addresses (IPv6 global then link-local). */
export function nextHopBytes(m: MpReach): Uint8Array {
  const family = familyOrThrow(m.afi, m.safi);
  if (m.nextHops.length < 1 || m.nextHops.length > 2) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `MP_REACH needs 1 or 2 next hops, got ${m.nextHops.length}`);
  const parts = m.nextHops.map((ip) => {
    const f = familyOf(ip);
    if (!f) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `MP_REACH next hop ${JSON.stringify(ip)} is not an address`);
    return ipToBytes(ip);
  });
  const v4 = parts.length === 1 && parts[0]!.length === 4;
  if (v4 ? family !== 4 : parts.some((p) => p.length !== 16)) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `MP_REACH next hops ${m.nextHops.join(',')} do not fit ${familyName(m.afi, m.safi)}`);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function writeMpReach(w: BgpWriter, m: MpReach): void {
  const nh = nextHopBytes(m);
  w.u16(m.afi).u8(m.safi).u8(nh.length).bytes(nh).u8(0);
  writePrefixes(w, m.nlri, familyOrThrow(m.afi, m.safi));
}

export function writeMpUnreach(w: BgpWriter, m: MpUnreach): void {
  w.u16(m.afi).u8(m.safi);
  // an empty one (End-of-RIB) may name any family
  if (m.withdrawn.length > 0) writePrefixes(w, m.withdrawn, familyOrThrow(m.afi, m.safi));
}
