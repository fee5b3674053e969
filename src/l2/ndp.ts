// IPv6 neighbour discovery (RFC 4861): neighbour solicitation / advertisement codec, the ICMPv6
// checksum, solicited-node multicast addresses and their MACs. Pure.
import { bytesToIp, ipToBytes } from '../lib/addr.js';
import { ETHERTYPE_IPV6, encodeEthernet, formatMac } from './ethernet.js';
import { IgnoreReason, ignore, ok, type Decoded } from './reasons.js';

export const IPV6_HEADER_LEN = 40;
export const NEXT_HEADER_ICMPV6 = 58;
export const ICMPV6_NS = 135;
export const ICMPV6_NA = 136;
export const OPT_SOURCE_LL = 1;
export const OPT_TARGET_LL = 2;
export const NA_FLAG_ROUTER = 0x80;
export const NA_FLAG_SOLICITED = 0x40;
export const NA_FLAG_OVERRIDE = 0x20;
export const ALL_NODES = 'ff02::1';

export interface Ipv6Header {
  src: string;
  dst: string;
  hopLimit: number;
  nextHeader: number;
  payload: Uint8Array; // exactly payload-length bytes
}

export interface NeighbourSolicitation {
  src: string;
  dst: string;
  target: string;
  /** Source link-layer address option, when present. */
  sourceMac?: Uint8Array;
}

export interface NeighbourAdvertisement {
  src: string;
  dst: string;
  target: string;
  router: boolean;
  solicited: boolean;
  override: boolean;
  targetMac?: Uint8Array;
}

/** Solicited-node multicast address of an IPv6 address: ff02::1:ffXX:XXXX (RFC 4291 §2.7.1). */
export function solicitedNodeAddress(ip: string): string {
  const a = ipToBytes(ip);
  const m = ipToBytes('ff02::1:ff00:0');
  m[13] = a[13]!;
  m[14] = a[14]!;
  m[15] = a[15]!;
  return bytesToIp(m);
}

/** Ethernet MAC of an IPv6 multicast group: 33:33 and the address's last 32 bits (RFC 2464 §7). */
export function multicastMac(group: string): Uint8Array {
  const a = ipToBytes(group);
  return Uint8Array.of(0x33, 0x33, a[12]!, a[13]!, a[14]!, a[15]!);
}

/** ICMPv6 checksum over the IPv6 pseudo-header and the message (checksum field taken as zero). */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, msg: Uint8Array): number {
  let sum = 0;
  const add16 = (b: Uint8Array, len: number, skip = -1) => {
    for (let i = 0; i < len; i += 2) {
      if (i === skip) continue;
      sum += (b[i]! << 8) | (i + 1 < len ? b[i + 1]! : 0);
    }
  };
  add16(src, 16);
  add16(dst, 16);
  sum += msg.length >>> 16;
  sum += msg.length & 0xffff;
  sum += NEXT_HEADER_ICMPV6;
  add16(msg, msg.length, 2);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function encodeIpv6(h: Ipv6Header): Uint8Array {
  const b = new Uint8Array(IPV6_HEADER_LEN + h.payload.length);
  b[0] = 0x60; // version 6, traffic class 0, flow label 0
  b[4] = h.payload.length >> 8;
  b[5] = h.payload.length & 0xff;
  b[6] = h.nextHeader;
  b[7] = h.hopLimit;
  b.set(ipToBytes(h.src), 8);
  b.set(ipToBytes(h.dst), 24);
  b.set(h.payload, IPV6_HEADER_LEN);
  return b;
}

export function decodeIpv6(b: Uint8Array): Decoded<Ipv6Header> {
  if (b.length < IPV6_HEADER_LEN) return ignore(IgnoreReason.Ipv6Truncated);
  if (b[0]! >> 4 !== 6) return ignore(IgnoreReason.Ipv6BadVersion);
  const plen = (b[4]! << 8) | b[5]!;
  if (b.length < IPV6_HEADER_LEN + plen) return ignore(IgnoreReason.Ipv6Truncated);
  return ok({
    nextHeader: b[6]!,
    hopLimit: b[7]!,
    src: bytesToIp(b.subarray(8, 24)),
    dst: bytesToIp(b.subarray(24, 40)),
    payload: b.subarray(IPV6_HEADER_LEN, IPV6_HEADER_LEN + plen),
  });
}

function linkLayerOption(type: number, mac: Uint8Array): Uint8Array {
  const o = new Uint8Array(8);
  o[0] = type;
  o[1] = 1; // length in units of 8 bytes
  o.set(mac.subarray(0, 6), 2);
  return o;
}

/** Walk NDP options; returns the link-layer address of `want`, or a reason for a bad option. */
function findLinkLayerOption(opts: Uint8Array, want: number): Decoded<Uint8Array | undefined> {
  let found: Uint8Array | undefined;
  for (let i = 0; i < opts.length; ) {
    if (i + 2 > opts.length) return ignore(IgnoreReason.NdpBadOption);
    const len = opts[i + 1]! * 8;
    if (len === 0 || i + len > opts.length) return ignore(IgnoreReason.NdpBadOption);
    if (opts[i] === want && len >= 8) found = opts.slice(i + 2, i + 8);
    i += len;
  }
  return ok(found);
}

function icmpMessage(type: number, first4: Uint8Array, target: string, opt?: Uint8Array): Uint8Array {
  const m = new Uint8Array(24 + (opt?.length ?? 0));
  m[0] = type;
  m.set(first4, 4);
  m.set(ipToBytes(target), 8);
  if (opt) m.set(opt, 24);
  return m;
}

function ipv6Frame(src: string, dst: string, dstMac: Uint8Array, srcMac: Uint8Array, icmp: Uint8Array): Uint8Array {
  const c = icmpv6Checksum(ipToBytes(src), ipToBytes(dst), icmp);
  icmp[2] = c >> 8;
  icmp[3] = c & 0xff;
  const ip = encodeIpv6({ src, dst, hopLimit: 255, nextHeader: NEXT_HEADER_ICMPV6, payload: icmp });
  return encodeEthernet({ dst: dstMac, src: srcMac, etherType: ETHERTYPE_IPV6, payload: ip });
}

/** A neighbour solicitation frame (used by tests and probes; the announcer only answers them). */
export function encodeNeighbourSolicitation(ns: NeighbourSolicitation, srcMac: Uint8Array): Uint8Array {
  const opt = ns.sourceMac ? linkLayerOption(OPT_SOURCE_LL, ns.sourceMac) : undefined;
  const icmp = icmpMessage(ICMPV6_NS, new Uint8Array(4), ns.target, opt);
  const dstMac = ipToBytes(ns.dst)[0] === 0xff ? multicastMac(ns.dst) : srcMac;
  return ipv6Frame(ns.src, ns.dst, dstMac, srcMac, icmp);
}

/** A neighbour advertisement frame with the target link-layer option. */
export function encodeNeighbourAdvertisement(na: NeighbourAdvertisement, srcMac: Uint8Array, dstMac: Uint8Array): Uint8Array {
  const flags = (na.router ? NA_FLAG_ROUTER : 0) | (na.solicited ? NA_FLAG_SOLICITED : 0) | (na.override ? NA_FLAG_OVERRIDE : 0);
  const opt = linkLayerOption(OPT_TARGET_LL, na.targetMac ?? srcMac);
  const icmp = icmpMessage(ICMPV6_NA, Uint8Array.of(flags, 0, 0, 0), na.target, opt);
  return ipv6Frame(na.src, na.dst, dstMac, srcMac, icmp);
}

/** Decode an IPv6 payload (after Ethernet) as a neighbour solicitation, validated per RFC 4861 §7.1.1. */
export function decodeNeighbourSolicitation(b: Uint8Array): Decoded<NeighbourSolicitation> {
  const ipr = decodeIpv6(b);
  if (!ipr.ok) return ipr;
  const ip = ipr.value;
  if (ip.nextHeader !== NEXT_HEADER_ICMPV6) return ignore(IgnoreReason.NotIcmpv6);
  const m = ip.payload;
  if (m.length < 4) return ignore(IgnoreReason.NdpTruncated);
  if (m[0] !== ICMPV6_NS) return ignore(IgnoreReason.NotNeighbourSolicitation);
  if (ip.hopLimit !== 255) return ignore(IgnoreReason.NdpBadHopLimit);
  if (m[1] !== 0) return ignore(IgnoreReason.NdpBadCode);
  if (m.length < 24) return ignore(IgnoreReason.NdpTruncated);
  const srcB = b.subarray(8, 24);
  const dstB = b.subarray(24, 40);
  if (icmpv6Checksum(srcB, dstB, m) !== ((m[2]! << 8) | m[3]!)) return ignore(IgnoreReason.NdpBadChecksum);
  const targetB = m.subarray(8, 24);
  if (targetB[0] === 0xff) return ignore(IgnoreReason.NdpMulticastTarget);
  const opt = findLinkLayerOption(m.subarray(24), OPT_SOURCE_LL);
  if (!opt.ok) return opt;
  const unspecified = srcB.every((x) => x === 0);
  if (unspecified && (opt.value !== undefined || ip.dst !== solicitedNodeAddress(bytesToIp(targetB)))) {
    return ignore(IgnoreReason.NdpBadDad);
  }
  const ns: NeighbourSolicitation = { src: ip.src, dst: ip.dst, target: bytesToIp(targetB) };
  if (opt.value) ns.sourceMac = opt.value;
  return ok(ns);
}

/** Decode an IPv6 payload as a neighbour advertisement (tests, lab captures). */
export function decodeNeighbourAdvertisement(b: Uint8Array): Decoded<NeighbourAdvertisement> {
  const ipr = decodeIpv6(b);
  if (!ipr.ok) return ipr;
  const ip = ipr.value;
  if (ip.nextHeader !== NEXT_HEADER_ICMPV6) return ignore(IgnoreReason.NotIcmpv6);
  const m = ip.payload;
  if (m.length < 24) return ignore(IgnoreReason.NdpTruncated);
  if (m[0] !== ICMPV6_NA) return ignore(IgnoreReason.NotNeighbourSolicitation);
  if (ip.hopLimit !== 255) return ignore(IgnoreReason.NdpBadHopLimit);
  if (m[1] !== 0) return ignore(IgnoreReason.NdpBadCode);
  if (icmpv6Checksum(b.subarray(8, 24), b.subarray(24, 40), m) !== ((m[2]! << 8) | m[3]!)) return ignore(IgnoreReason.NdpBadChecksum);
  const opt = findLinkLayerOption(m.subarray(24), OPT_TARGET_LL);
  if (!opt.ok) return opt;
  const f = m[4]!;
  const na: NeighbourAdvertisement = {
    src: ip.src,
    dst: ip.dst,
    target: bytesToIp(m.subarray(8, 24)),
    router: (f & NA_FLAG_ROUTER) !== 0,
    solicited: (f & NA_FLAG_SOLICITED) !== 0,
    override: (f & NA_FLAG_OVERRIDE) !== 0,
  };
  if (opt.value) na.targetMac = opt.value;
  return ok(na);
}

/**
 * The advertisement answering `ns` for `vip` from `mac` (RFC 4861 §7.2.4): to the solicitor
 * (its SLLAO or the frame's source MAC) with S and O set; a DAD probe from :: is answered to
 * all-nodes with S clear.
 */
export function neighbourAdvertisementReply(ns: NeighbourSolicitation, frameSrcMac: Uint8Array, vip: string, mac: Uint8Array): Uint8Array {
  if (ns.src === '::') {
    return encodeNeighbourAdvertisement(
      { src: vip, dst: ALL_NODES, target: vip, router: false, solicited: false, override: true },
      mac,
      multicastMac(ALL_NODES),
    );
  }
  return encodeNeighbourAdvertisement(
    { src: vip, dst: ns.src, target: vip, router: false, solicited: true, override: true },
    mac,
    ns.sourceMac ?? frameSrcMac,
  );
}

/** Unsolicited advertisement (RFC 4861 §7.2.6): to all-nodes, Override set, Solicited clear. */
export function unsolicitedAdvertisementFrame(vip: string, mac: Uint8Array): Uint8Array {
  return encodeNeighbourAdvertisement(
    { src: vip, dst: ALL_NODES, target: vip, router: false, solicited: false, override: true },
    mac,
    multicastMac(ALL_NODES),
  );
}

export function nsToString(ns: NeighbourSolicitation): string {
  return `ndp ns who-has ${ns.target} from ${ns.src}${ns.sourceMac ? ` (${formatMac(ns.sourceMac)})` : ''}`;
}
