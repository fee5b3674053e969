// Packet builder for data-path tests: Ethernet + IPv4/IPv6 + TCP/UDP/ICMP with checksums computed
// from scratch (so comparing the XDP program's incrementally updated output with a freshly built
// packet checks its checksums byte for byte), and a small parser for reading outputs.
import { familyOf, ipToBytes, bytesToIp } from '../../../src/lib/addr.js';

export const TCP_SYN = 0x02;
export const TCP_ACK = 0x10;
export const TCP_PSH = 0x08;
export const TCP_FIN = 0x01;
export const TCP_RST = 0x04;

export interface PktSpec {
  srcMac?: string;
  dstMac?: string;
  src: string;
  dst: string;
  proto: 'tcp' | 'udp' | 'icmp';
  sport?: number;
  dport?: number;
  ttl?: number;
  tcpFlags?: number;
  seq?: number;
  /** TCP acknowledgment number (default 0). */
  ack?: number;
  /** TCP window (default 64240). */
  window?: number;
  payload?: Buffer;
  /** IPv4 UDP without a checksum (0). */
  udpNoChecksum?: boolean;
  /** IPv4: MF flag / fragment offset (8-byte units). IPv6: adds a fragment header. */
  frag?: { more: boolean; offset: number };
  id?: number;
  /** ICMP/ICMPv6 message: type, code, 4 bytes after the checksum, and the body (e.g. an inner packet). */
  icmp?: { type: number; code: number; rest?: number; body?: Buffer };
}

const mac = (m: string) => Buffer.from(m.split(':').map((x) => parseInt(x, 16)));

export function checksum(...parts: Buffer[]): number {
  let sum = 0;
  const all = Buffer.concat(parts);
  for (let i = 0; i + 1 < all.length; i += 2) sum += all.readUInt16BE(i);
  if (all.length % 2) sum += all[all.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function pseudo(src: Buffer, dst: Buffer, proto: number, len: number): Buffer {
  if (src.length === 4) {
    const p = Buffer.alloc(12);
    src.copy(p, 0);
    dst.copy(p, 4);
    p[9] = proto;
    p.writeUInt16BE(len, 10);
    return p;
  }
  const p = Buffer.alloc(40);
  src.copy(p, 0);
  dst.copy(p, 16);
  p.writeUInt32BE(len, 32);
  p[39] = proto;
  return p;
}

/** The L4 segment with its checksum. */
function l4(spec: PktSpec, src: Buffer, dst: Buffer): { proto: number; bytes: Buffer } {
  const payload = spec.payload ?? Buffer.alloc(0);
  const v6 = src.length === 16;
  if (spec.proto === 'tcp') {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(spec.sport ?? 40000, 0);
    h.writeUInt16BE(spec.dport ?? 80, 2);
    h.writeUInt32BE(spec.seq ?? 1000, 4);
    h.writeUInt32BE(spec.ack ?? 0, 8);
    h[12] = 5 << 4;
    h[13] = spec.tcpFlags ?? TCP_SYN;
    h.writeUInt16BE(spec.window ?? 64240, 14);
    const seg = Buffer.concat([h, payload]);
    seg.writeUInt16BE(checksum(pseudo(src, dst, 6, seg.length), seg), 16);
    return { proto: 6, bytes: seg };
  }
  if (spec.proto === 'udp') {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(spec.sport ?? 40000, 0);
    h.writeUInt16BE(spec.dport ?? 53, 2);
    h.writeUInt16BE(8 + payload.length, 4);
    const seg = Buffer.concat([h, payload]);
    if (!(spec.udpNoChecksum && !v6)) {
      const c = checksum(pseudo(src, dst, 17, seg.length), seg);
      seg.writeUInt16BE(c === 0 ? 0xffff : c, 6);
    }
    return { proto: 17, bytes: seg };
  }
  const ic = spec.icmp ?? { type: 8, code: 0 };
  const h = Buffer.alloc(8);
  h[0] = ic.type;
  h[1] = ic.code;
  h.writeUInt32BE(ic.rest ?? 0, 4);
  const msg = Buffer.concat([h, ic.body ?? payload]);
  const proto = v6 ? 58 : 1;
  msg.writeUInt16BE(v6 ? checksum(pseudo(src, dst, 58, msg.length), msg) : checksum(msg), 2);
  return { proto, bytes: msg };
}

/** IP packet (L3 onward). */
export function ipPacket(spec: PktSpec): Buffer {
  const src = Buffer.from(ipToBytes(spec.src));
  const dst = Buffer.from(ipToBytes(spec.dst));
  const seg = l4(spec, src, dst);
  if (familyOf(spec.src) === 4) {
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + seg.bytes.length, 2);
    ip.writeUInt16BE(spec.id ?? 0x1234, 4);
    let frag = 0x4000; // DF
    if (spec.frag) frag = (spec.frag.more ? 0x2000 : 0) | spec.frag.offset;
    ip.writeUInt16BE(frag, 6);
    ip[8] = spec.ttl ?? 64;
    ip[9] = seg.proto;
    src.copy(ip, 12);
    dst.copy(ip, 16);
    ip.writeUInt16BE(checksum(ip), 10);
    return Buffer.concat([ip, seg.bytes]);
  }
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(0x60000000, 0);
  let body = seg.bytes;
  let next = seg.proto;
  if (spec.frag) {
    const fh = Buffer.alloc(8);
    fh[0] = seg.proto;
    fh.writeUInt16BE((spec.frag.offset << 3) | (spec.frag.more ? 1 : 0), 2);
    fh.writeUInt32BE(spec.id ?? 0x1234, 4);
    body = Buffer.concat([fh, body]);
    next = 44;
  }
  ip.writeUInt16BE(body.length, 4);
  ip[6] = next;
  ip[7] = spec.ttl ?? 64;
  src.copy(ip, 8);
  dst.copy(ip, 24);
  return Buffer.concat([ip, body]);
}

/** Ethernet frame. */
export function frame(spec: PktSpec): Buffer {
  const eth = Buffer.alloc(14);
  mac(spec.dstMac ?? '02:00:00:00:00:10').copy(eth, 0);
  mac(spec.srcMac ?? '02:00:00:00:00:01').copy(eth, 6);
  eth.writeUInt16BE(familyOf(spec.src) === 4 ? 0x0800 : 0x86dd, 12);
  return Buffer.concat([eth, ipPacket(spec)]);
}

/** ICMP error body: the offending packet's IP header and first 8 bytes of its L4 header. */
export function icmpQuote(inner: PktSpec): Buffer {
  const p = ipPacket(inner);
  const hl = familyOf(inner.src) === 4 ? 20 : 40;
  return p.subarray(0, hl + 8);
}

export interface Parsed {
  dstMac: string;
  srcMac: string;
  family: 4 | 6;
  src: string;
  dst: string;
  ttl: number;
  proto: number;
  sport: number;
  dport: number;
}

const macStr = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

export function parse(f: Buffer): Parsed {
  const type = f.readUInt16BE(12);
  if (type === 0x0800) {
    const l4o = 14 + (f[14]! & 0x0f) * 4;
    return {
      dstMac: macStr(f.subarray(0, 6)),
      srcMac: macStr(f.subarray(6, 12)),
      family: 4,
      src: bytesToIp(f.subarray(26, 30)),
      dst: bytesToIp(f.subarray(30, 34)),
      ttl: f[22]!,
      proto: f[23]!,
      sport: f.length >= l4o + 4 ? f.readUInt16BE(l4o) : 0,
      dport: f.length >= l4o + 4 ? f.readUInt16BE(l4o + 2) : 0,
    };
  }
  return {
    dstMac: macStr(f.subarray(0, 6)),
    srcMac: macStr(f.subarray(6, 12)),
    family: 6,
    src: bytesToIp(f.subarray(22, 38)),
    dst: bytesToIp(f.subarray(38, 54)),
    ttl: f[21]!,
    proto: f[20]!,
    sport: f.length >= 58 ? f.readUInt16BE(54) : 0,
    dport: f.length >= 58 ? f.readUInt16BE(56) : 0,
  };
}

/** The flow cache's slot of an IPv4 TCP tuple: fc_index in native/bpf/fcache.h (4096 slots), for
 * tests and benches that need two flows on one slot. */
export function fcSlot4(src: string, dst: string, sport: number, dport: number): number {
  const le = (a: string) => Buffer.from(a.split('.').map(Number)).readUInt32LE(0);
  const ports = Buffer.from([sport >> 8, sport & 255, dport >> 8, dport & 255]).readUInt32LE(0);
  let h = (Math.imul(le(src), 0x9e3779b1) ^ Math.imul(le(dst), 0x85ebca77) ^ Math.imul(ports, 0xc2b2ae3d) ^ 6) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return h >>> 20;
}
