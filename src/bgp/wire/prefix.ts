// NLRI prefix encoding (RFC 4271 §4.3 / RFC 4760 §5): length byte + the fewest address bytes, both families.
import { EdgelbError } from '../../lib/errors.js';
import { bytesToIp, parsePrefix } from '../../lib/addr.js';
import { BgpDecodeError } from './errors.js';
import type { BgpReader } from './reader.js';
import type { BgpWriter } from './writer.js';

export type IpFamily = 4 | 6;

function badPrefix(p: string, family: IpFamily, why: string): EdgelbError {
  return new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `not an IPv${family} prefix: ${JSON.stringify(p)} (${why})`);
}

/** Wire bytes of one prefix ("10.0.0.0/8" or "2001:db8::/32"); a bare address is a host prefix. */
export function prefixBytes(p: string, family: IpFamily): Uint8Array {
  if (family === 4) {
    // fast path for the common dotted-quad case
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(p);
    if (m) {
      const len = m[5] === undefined ? 32 : Number(m[5]);
      const a = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
      if (len > 32 || a.some((x) => x > 255)) throw badPrefix(p, 4, 'out of range');
      const n = (len + 7) >> 3;
      const out = new Uint8Array(1 + n);
      out[0] = len;
      for (let i = 0; i < n; i++) out[1 + i] = a[i]!;
      if (len & 7) out[n]! &= (0xff00 >> (len & 7)) & 0xff;
      return out;
    }
  }
  let parsed;
  try {
    parsed = parsePrefix(p);
  } catch (e) {
    throw badPrefix(p, family, (e as Error).message);
  }
  if (parsed.family !== family) throw badPrefix(p, family, 'wrong family');
  const n = (parsed.len + 7) >> 3;
  const out = new Uint8Array(1 + n);
  out[0] = parsed.len;
  out.set(parsed.addr.subarray(0, n), 1);
  return out;
}

export function writePrefixes(w: BgpWriter, prefixes: readonly string[], family: IpFamily): void {
  for (const p of prefixes) w.bytes(prefixBytes(p, family));
}

/** Wire size of one prefix. */
export function prefixSize(p: string, family: IpFamily): number {
  return prefixBytes(p, family).length;
}

/**
 * Read prefixes until the reader ends. A length beyond the family's maximum or a truncated address is
 * an error made by `bad` (the caller knows which NOTIFICATION applies). Bits past the length are cleared.
 */
export function readPrefixes(r: BgpReader, family: IpFamily, bad: (detail: string) => BgpDecodeError): string[] {
  const max = family === 4 ? 32 : 128;
  const out: string[] = [];
  while (!r.atEnd) {
    const len = r.u8('prefix length');
    if (len > max) throw bad(`prefix length ${len} > ${max}`);
    const n = (len + 7) >> 3;
    if (n > r.remaining) throw bad(`prefix /${len} needs ${n} bytes, ${r.remaining} left`);
    const raw = r.bytes(n);
    if (family === 4) {
      const b0 = n > 0 ? raw[0]! : 0;
      const b1 = n > 1 ? raw[1]! : 0;
      const b2 = n > 2 ? raw[2]! : 0;
      let b3 = n > 3 ? raw[3]! : 0;
      let v = ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
      if (len < 32) v = (v & ~(0xffffffff >>> len)) >>> 0;
      b3 = v & 0xff;
      out.push(`${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${b3}/${len}`);
    } else {
      const addr = new Uint8Array(16);
      addr.set(raw);
      if (len & 7) addr[n - 1]! &= (0xff00 >> (len & 7)) & 0xff;
      out.push(`${bytesToIp(addr)}/${len}`);
    }
  }
  return out;
}

/** The BgpDecodeError maker used for syntactically wrong NLRI / withdrawn fields (RFC 7606 §5.3: session reset). */
export function invalidNetworkField(detail: string): BgpDecodeError {
  return new BgpDecodeError(3, 10, Buffer.alloc(0), 'session-reset', detail);
}
