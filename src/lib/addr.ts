// IPv4/IPv6 address and prefix helpers: parse, format, compare, test membership. Pure.
import { isIP } from 'node:net';

export type Family = 4 | 6;

export function familyOf(ip: string): Family | 0 {
  const f = isIP(ip);
  return f === 4 ? 4 : f === 6 ? 6 : 0;
}

/** Parse an address into bytes (4 or 16). Throws on invalid input. */
export function ipToBytes(ip: string): Uint8Array {
  const f = familyOf(ip);
  if (f === 4) return Uint8Array.from(ip.split('.').map((x) => Number(x)));
  if (f !== 6) throw new TypeError(`not an IP address: ${ip}`);
  let s = ip.replace(/%.*$/, '');
  // an embedded dotted quad (::ffff:1.2.3.4) becomes two hex groups
  const v4 = s.match(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    s = s.slice(0, -v4[0].length) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  let groups: number[];
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    const left = groupsOf(s.slice(0, dbl));
    const right = groupsOf(s.slice(dbl + 2));
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    groups = groupsOf(s);
  }
  if (groups.length !== 8) throw new TypeError(`not an IP address: ${ip}`);
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** Format 4 or 16 bytes as a canonical address (RFC 5952 for IPv6). */
export function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new TypeError(`address must be 4 or 16 bytes, got ${b.length}`);
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[i * 2]! << 8) | b[i * 2 + 1]!);
  // longest run of zero groups (length >= 2) becomes "::"
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Canonical text form of an address (lower-case, compressed IPv6). */
export function canonicalIp(ip: string): string {
  return bytesToIp(ipToBytes(ip));
}

export interface Prefix {
  family: Family;
  addr: Uint8Array; // network address, host bits zeroed
  len: number;
}

/** Parse "a.b.c.d/n" or "x::/n" (host bits are cleared). A bare address is a host prefix. */
export function parsePrefix(cidr: string): Prefix {
  const [ip, lenStr, extra] = cidr.split('/');
  if (extra !== undefined || ip === undefined) throw new TypeError(`not a prefix: ${cidr}`);
  const family = familyOf(ip);
  if (!family) throw new TypeError(`not a prefix: ${cidr}`);
  const max = family === 4 ? 32 : 128;
  const len = lenStr === undefined ? max : /^\d+$/.test(lenStr) ? Number(lenStr) : NaN;
  if (!Number.isInteger(len) || len < 0 || len > max) throw new TypeError(`prefix length of ${cidr} must be 0..${max}`);
  const addr = ipToBytes(ip);
  for (let bit = len; bit < max; bit++) addr[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { family, addr, len };
}

export function formatPrefix(p: Prefix): string {
  return `${bytesToIp(p.addr)}/${p.len}`;
}

export function prefixContains(p: Prefix, ip: string): boolean {
  if (familyOf(ip) !== p.family) return false;
  const b = ipToBytes(ip);
  for (let bit = 0; bit < p.len; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((b[bit >> 3]! & m) !== (p.addr[bit >> 3]! & m)) return false;
  }
  return true;
}

/** Whether prefix `inner` lies inside prefix `outer`. */
export function prefixCovers(outer: Prefix, inner: Prefix): boolean {
  return outer.family === inner.family && inner.len >= outer.len && prefixContains(outer, bytesToIp(inner.addr));
}

/** Address as a bigint, for ranges and arithmetic. */
export function ipToBigInt(ip: string): bigint {
  let v = 0n;
  for (const x of ipToBytes(ip)) v = (v << 8n) | BigInt(x);
  return v;
}

export function bigIntToIp(v: bigint, family: Family): string {
  const n = family === 4 ? 4 : 16;
  const b = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return bytesToIp(b);
}

/** Host prefix length of a family: 32 or 128. */
export function hostLen(family: Family): number {
  return family === 4 ? 32 : 128;
}

/**
 * The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d, in any spelling, with or
 * without a zone), which dual-stack sockets report for IPv4 peers; any other input unchanged.
 * The one place that unmaps: sockets, the BGP listener and the heartbeat receiver all use it.
 */
export function unmapIpv4(ip: string): string {
  if (familyOf(ip) !== 6 || !/ffff/i.test(ip)) return ip;
  const b = ipToBytes(ip);
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return ip;
  if (b[10] !== 0xff || b[11] !== 0xff) return ip;
  return bytesToIp(b.subarray(12));
}

export function isLoopbackOrUnspecified(ip: string): boolean {
  const c = canonicalIp(ip);
  return c.startsWith('127.') || c === '::1' || c === '0.0.0.0' || c === '::';
}
