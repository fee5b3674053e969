// Values as MetalLB and kube-loxilb write them → as edgelb's CRDs take them: pool addresses (CIDR,
// "a-b" range, bare address), ranges as covering prefixes (for BGPPolicy prefix sets), Go
// durations ("1m30s"), and Kubernetes object names. Pure.
import { bigIntToIp, canonicalIp, familyOf, formatPrefix, hostLen, ipToBigInt, parsePrefix, type Family } from '../lib/addr.js';

export type PoolAddress =
  | { ok: true; cidr: string; note?: string }
  | { ok: true; range: string; note?: string }
  | { ok: false; message: string };

/** One entry of an address list: "10.0.0.0/24", "10.0.0.1-10.0.0.9", or a bare address (a /32 or /128). */
export function poolAddress(entry: string): PoolAddress {
  const t = entry.trim();
  if (t === '') return { ok: false, message: 'empty entry' };
  if (t.includes('/')) {
    const [ip, len, extra] = t.split('/');
    if (extra !== undefined || !ip || !familyOf(ip.trim()) || !/^\d{1,3}$/.test((len ?? '').trim()))
      return { ok: false, message: `"${t}" is not a CIDR (like 192.168.10.0/24) or a range (like 192.168.9.1-192.168.9.5)` };
    const fam = familyOf(ip.trim()) as Family;
    const n = Number(len!.trim());
    if (n > hostLen(fam)) return { ok: false, message: `"${t}": prefix length ${n} is more than ${hostLen(fam)}` };
    const canon = formatPrefix(parsePrefix(`${ip.trim()}/${n}`));
    if (canon.split('/')[0] !== canonicalIp(ip.trim())) return { ok: true, cidr: canon, note: `"${t}" has host bits set; written as ${canon} (the same addresses)` };
    return { ok: true, cidr: canon };
  }
  const parts = t.split('-').map((x) => x.trim());
  if (parts.length === 2) {
    const [a, b] = parts as [string, string];
    const fa = familyOf(a);
    const fb = familyOf(b);
    if (!fa || !fb) return { ok: false, message: `"${t}": ${!fa ? a : b} is not an IP address` };
    if (fa !== fb) return { ok: false, message: `"${t}": a range must stay in one family (IPv${fa} to IPv${fb})` };
    if (ipToBigInt(a) > ipToBigInt(b)) return { ok: false, message: `"${t}": the range ends before it starts` };
    return { ok: true, range: `${canonicalIp(a)}-${canonicalIp(b)}` };
  }
  if (familyOf(t)) {
    const f = familyOf(t) as Family;
    const cidr = `${canonicalIp(t)}/${hostLen(f)}`;
    return { ok: true, cidr, note: `"${t}" is a single address; written as ${cidr}` };
  }
  return { ok: false, message: `"${t}" is not a CIDR (like 192.168.10.0/24) or a range (like 192.168.9.1-192.168.9.5)` };
}

/** The fewest prefixes that cover exactly first..last (one family). */
export function rangeToPrefixes(first: string, last: string): string[] {
  const fam = familyOf(first) as Family;
  const bits = hostLen(fam);
  let a = ipToBigInt(first);
  const b = ipToBigInt(last);
  const out: string[] = [];
  while (a <= b && out.length < 512) {
    let size = 0; // host bits of the largest aligned block at a that fits
    while (size < bits && (a & ((1n << BigInt(size + 1)) - 1n)) === 0n && a + (1n << BigInt(size + 1)) - 1n <= b) size++;
    out.push(`${bigIntToIp(a, fam)}/${bits - size}`);
    a += 1n << BigInt(size);
  }
  return out;
}

/** Prefixes of a pool's cidrs and ranges, for a BGPPolicy prefix set (each VIP is a host route). */
export function poolPrefixes(cidrs: string[], ranges: string[]): Array<{ prefix: string; minLen: number; maxLen: number }> {
  const out: Array<{ prefix: string; minLen: number; maxLen: number }> = [];
  const add = (p: string) => {
    const max = familyOf(p.split('/')[0]!) === 6 ? 128 : 32;
    out.push({ prefix: p, minLen: Number(p.split('/')[1]), maxLen: max });
  };
  cidrs.forEach(add);
  for (const r of ranges) {
    const [a, b] = r.split('-') as [string, string];
    rangeToPrefixes(a, b).forEach(add);
  }
  return out;
}

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** A Go duration ("90s", "1m30s", "9m0s", "500ms") in seconds, or undefined when it is not one. */
export function goDuration(s: string): number | undefined {
  const t = s.trim();
  if (t === '0') return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(t)) return undefined;
  let total = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  return total;
}

/** A valid Kubernetes object name (DNS-1123 subdomain) made from `s`: lower case, other characters as "-". */
export function k8sName(s: string): string {
  const n = s
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 253)
    .replace(/[^a-z0-9]+$/g, '');
  return n === '' ? 'unnamed' : n;
}
