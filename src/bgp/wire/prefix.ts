// NLRI prefix encoding (RFC 4271 §4.3 / RFC 4760 §5): length byte + the fewest address bytes, both families.
import { EdgelbError } from '../../lib/errors.js';
import { BgpDecodeError } from './errors.js';
import type { BgpReader } from './reader.js';
import { BgpWriter } from './writer.js';
import { bytesToIp } from '../../lib/addr.js';

export type IpFamily = 4 | 6;

function badPrefix(p: string, family: IpFamily, why: string): EdgelbError {
  return new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `not an IPv${family} prefix: ${JSON.stringify(p)} (${why})`);
}

/** Parse a dotted quad into out[at..at+4); false if it is not one. */
function parseV4Into(s: string, out: Uint8Array, at: number): boolean {
  let n = 0;
  let octet = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a final '.'
    if (c === 46) {
      if (digits === 0 || n === 4) return false;
      out[at + n++] = octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return false; // no leading zeros
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return false;
    } else return false;
  }
  return n === 4;
}

const groups = new Uint16Array(8);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parse an IPv6 address (RFC 4291 text forms, embedded dotted quad allowed) into out[0..16); false if invalid. */
function parseV6Into(s: string, out: Uint8Array): boolean {
  const n = s.length;
  let count = 0; // groups parsed
  let gap = -1; // where "::" stands, in groups
  let i = 0;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
  } else if (s.charCodeAt(0) === 58) return false;
  while (i < n) {
    let v = 0;
    let j = i;
    while (j < n && j - i < 5) {
      const h = hexValue(s.charCodeAt(j));
      if (h < 0) break;
      v = (v << 4) | h;
      j++;
    }
    if (j < n && s.charCodeAt(j) === 46) {
      // an embedded dotted quad ends the address and fills two groups
      if (count > 6 || !parseV4Into(s.slice(i), out, 12)) return false;
      groups[count++] = (out[12]! << 8) | out[13]!;
      groups[count++] = (out[14]! << 8) | out[15]!;
      i = n;
      break;
    }
    if (j === i || j - i > 4 || count === 8) return false;
    groups[count++] = v;
    i = j;
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === n) return false; // a single trailing colon
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  const fill = 8 - count;
  for (let k = 0, g = 0; k < 8; k++) {
    const x = gap >= 0 && k >= gap && k < gap + fill ? 0 : groups[g++]!;
    out[k * 2] = x >> 8;
    out[k * 2 + 1] = x & 0xff;
  }
  return true;
}

const scratch = new Uint8Array(16);

/**
 * Write one prefix ("10.0.0.0/8", "2001:db8::/32"; a bare address is a host prefix) in wire form: the
 * length byte and the fewest address bytes, host bits cleared. Throws EDGELB_ERR_INVALID_ARGUMENT.
 */
export function writePrefix(w: BgpWriter, p: string, family: IpFamily): void {
  const slash = p.indexOf('/');
  const max = family === 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    // 1 to 3 decimal digits (read in place: this runs once per prefix of a 100k transfer)
    const digits = p.length - slash - 1;
    if (digits < 1 || digits > 3) throw badPrefix(p, family, 'bad length');
    len = 0;
    for (let i = slash + 1; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (c < 48 || c > 57) throw badPrefix(p, family, 'bad length');
      len = len * 10 + (c - 48);
    }
    if (len > max) throw badPrefix(p, family, `length above ${max}`);
  }
  const addr = slash < 0 ? p : p.slice(0, slash);
  const ok = family === 4 ? parseV4Into(addr, scratch, 0) : parseV6Into(addr, scratch);
  if (!ok) throw badPrefix(p, family, 'bad address');
  const n = (len + 7) >> 3;
  w.u8(len);
  for (let i = 0; i < n; i++) w.u8(i === n - 1 && len & 7 ? scratch[i]! & (0xff00 >> (len & 7)) : scratch[i]!);
}

export function writePrefixes(w: BgpWriter, prefixes: readonly string[], family: IpFamily): void {
  for (const p of prefixes) writePrefix(w, p, family);
}

/** Wire bytes of one prefix. */
export function prefixBytes(p: string, family: IpFamily): Buffer {
  const w = new BgpWriter(17);
  writePrefix(w, p, family);
  return w.toBuffer();
}

/** Many prefixes encoded back to back, with where each one ends (for packing them into messages). */
export function encodePrefixList(prefixes: readonly string[], family: IpFamily): { bytes: Buffer; ends: Uint32Array } {
  const w = new BgpWriter(prefixes.length * (family === 4 ? 5 : 17) + 16);
  const ends = new Uint32Array(prefixes.length);
  for (let i = 0; i < prefixes.length; i++) {
    writePrefix(w, prefixes[i]!, family);
    ends[i] = w.length;
  }
  return { bytes: w.toBuffer(), ends };
}

/** RFC 5952 text of the 16 bytes at b[0..16). */
export function formatV6(b: Uint8Array): string {
  return bytesToIp(b.subarray(0, 16));
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
      out.push(`${formatV6(addr)}/${len}`);
    }
  }
  return out;
}

/** The BgpDecodeError maker used for syntactically wrong NLRI / withdrawn fields (RFC 7606 §5.3: session reset). */
export function invalidNetworkField(detail: string): BgpDecodeError {
  return new BgpDecodeError(3, 10, Buffer.alloc(0), 'session-reset', detail);
}
