// Reusable zod field schemas for the YAML config: integers in a range, IP addresses, prefixes,
// durations, host:port, names. Every message follows the DESIGN format ("must be 1..65535").
import { z } from 'zod';
import { canonicalIp, familyOf, parsePrefix, formatPrefix, ipToBigInt } from '../lib/addr.js';
import { parseDuration } from '../lib/backoff.js';

/** An integer in min..max (inclusive); any other value gets "must be min..max". */
export function intRange(min: number, max: number, what = '') {
  const msg = `must be ${what ? what + ' ' : ''}${min}..${max}`;
  return z.number({ invalid_type_error: msg }).int(msg).min(min, msg).max(max, msg);
}

export const bool = z.boolean({ invalid_type_error: 'must be true or false' });

/** A non-empty string. */
export function str(what = 'a string') {
  return z.string({ invalid_type_error: `must be ${what}` }).min(1, 'must not be empty');
}

/** An IP address (either family), canonicalised (lower-case, compressed IPv6). */
export const ip = z
  .string({ invalid_type_error: 'must be an IP address' })
  .refine((s) => !s.includes('%'), 'must be an IP address without a zone (%ifname is not supported)')
  .refine((s) => familyOf(s.trim()) !== 0, 'must be an IP address')
  .transform((s) => canonicalIp(s.trim()));

/** An IPv4 address (BGP identifiers are 32 bits). */
export const ipv4 = z
  .string({ invalid_type_error: 'must be an IPv4 address' })
  .refine((s) => familyOf(s.trim()) === 4, 'must be an IPv4 address')
  .transform((s) => canonicalIp(s.trim()));

/** An IPv6 address, canonical (compressed, lower-case), without a zone. */
export const ipv6 = z
  .string({ invalid_type_error: 'must be an IPv6 address' })
  .refine((s) => !s.includes('%') && familyOf(s.trim()) === 6, 'must be an IPv6 address (no zone)')
  .transform((s) => canonicalIp(s.trim()));

/** A prefix "a.b.c.d/n" or "x::/n"; host bits must be zero (a typo otherwise). */
export const cidr = z.string({ invalid_type_error: 'must be a prefix like 192.168.80.240/28' }).transform((s, ctx) => {
  const t = s.trim();
  if (!t.includes('/')) {
    ctx.addIssue({ code: 'custom', message: 'must be a prefix like 192.168.80.240/28' });
    return z.NEVER;
  }
  try {
    const p = parsePrefix(t);
    const canon = formatPrefix(p);
    const [addr] = t.split('/');
    if (canonicalIp(addr!) !== canon.split('/')[0]) {
      ctx.addIssue({ code: 'custom', message: `has host bits set (did you mean ${canon}?)` });
      return z.NEVER;
    }
    return canon;
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `must be a prefix like 192.168.80.240/28 (${(e as Error).message})` });
    return z.NEVER;
  }
});

/** An inclusive address range "a-b" of one family, a <= b. */
export const ipRange = z.string({ invalid_type_error: 'must be a range like 10.0.0.10-10.0.0.20' }).transform((s, ctx) => {
  const parts = s.split('-').map((x) => x.trim());
  const [a, b] = parts;
  if (parts.length !== 2 || !a || !b || familyOf(a) === 0 || familyOf(a) !== familyOf(b)) {
    ctx.addIssue({ code: 'custom', message: 'must be a range like 10.0.0.10-10.0.0.20 (one family)' });
    return z.NEVER;
  }
  if (ipToBigInt(a) > ipToBigInt(b)) {
    ctx.addIssue({ code: 'custom', message: 'must go from the lower address to the higher one' });
    return z.NEVER;
  }
  return `${canonicalIp(a)}-${canonicalIp(b)}`;
});

/** A duration: a number of seconds, or "150ms", "1s", "2m", "1h". Result in ms, within min..max ms. */
export function duration(minMs: number, maxMs: number) {
  const shown = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
  const msg = `must be a duration from ${shown(minMs)} to ${shown(maxMs)} (like 150ms, 1s, 2m)`;
  return z.any().transform((v, ctx) => {
    if (v === undefined || v === null) {
      ctx.addIssue({ code: 'custom', message: 'required' });
      return z.NEVER;
    }
    let ms: number;
    try {
      if (typeof v !== 'number' && typeof v !== 'string') throw new TypeError('not a duration');
      ms = parseDuration(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: msg });
      return z.NEVER;
    }
    if (!Number.isFinite(ms) || ms < minMs || ms > maxMs) {
      ctx.addIssue({ code: 'custom', message: msg });
      return z.NEVER;
    }
    return Math.round(ms);
  });
}

export interface HostPort {
  host: string;
  port: number;
}

/** Parse "1.2.3.4:80" or "[::1]:80" (an IP literal, never a name: no DNS at load). */
export function parseHostPort(s: string): HostPort | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s.trim()) ?? /^([^:[\]]+):(\d{1,5})$/.exec(s.trim());
  if (!m) return undefined;
  const host = m[1]!;
  const port = Number(m[2]);
  if (familyOf(host) === 0 || port > 65535) return undefined;
  return { host: canonicalIp(host), port };
}

export function formatHostPort(hp: HostPort): string {
  return familyOf(hp.host) === 6 ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** "host:port" with an IP host; port 0 lets the kernel choose (tests). Canonicalised. */
export const hostPort = z.string({ invalid_type_error: 'must be address:port like 127.0.0.1:11111' }).transform((s, ctx) => {
  const hp = parseHostPort(s);
  if (!hp) {
    ctx.addIssue({ code: 'custom', message: 'must be address:port like 127.0.0.1:11111 or [::1]:11111' });
    return z.NEVER;
  }
  return formatHostPort(hp);
});

/** Names of nodes, pools, services, policies: used in pin paths, metrics and logs. */
export function name(what: string) {
  return z
    .string({ invalid_type_error: `must be a ${what} name` })
    .min(1, 'must not be empty')
    .max(253, 'must be at most 253 characters')
    .regex(/^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/, 'may hold only letters, digits, ".", "_", "-" and "/" (not at the ends)');
}

/** A BGP community "65000:100" (two 16-bit halves) or a well-known name. */
export const WELL_KNOWN_COMMUNITIES = ['no-export', 'no-advertise', 'no-export-subconfed', 'blackhole', 'graceful-shutdown'];
export const community = z.string({ invalid_type_error: 'must be a community like 65000:100' }).refine((s) => {
  if (WELL_KNOWN_COMMUNITIES.includes(s)) return true;
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(s);
  return !!m && Number(m[1]) <= 65535 && Number(m[2]) <= 65535;
}, `must be a community like 65000:100 (each half 0..65535) or one of ${WELL_KNOWN_COMMUNITIES.join(', ')}`);

/** A large community "1:2:3" (three 32-bit parts, RFC 8092). */
export const largeCommunity = z.string({ invalid_type_error: 'must be a large community like 64512:1:2' }).refine((s) => {
  const m = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/.exec(s);
  return !!m && [m[1], m[2], m[3]].every((x) => Number(x) <= 4294967295);
}, 'must be a large community like 64512:1:2 (each part 0..4294967295)');

export function list<T extends z.ZodTypeAny>(item: T) {
  return z.array(item, { invalid_type_error: 'must be a list' });
}

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}
