// NLRI prefix encoding (RFC 4271 §4.3 / RFC 4760 §5): length byte + the fewest address bytes, both families.
import { EdgelbError } from '../../lib/errors.js';
import { BgpDecodeError } from './errors.js';
import type { BgpReader } from './reader.js';
import { BgpWriter } from './writer.js';

export type IpFamily = 4 | 6;

function badPrefix(p: string, family: IpFamily, why: string): EdgelbError {
  return new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `not an IPv${family} prefix: ${JSON.stringify(p)} (${why})`);
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const DEC_OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

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

/** Parse an IPv6 address (RFC 4291 text forms, embedded dotted quad allowed) into out[0..16); false if invalid. */
function parseV6Into(s: string, out: Uint8Array): boolean {
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string, last: boolean): number[] | undefined => {
    if (part === '') return [];
    const xs = part.split(':');
    const res: number[] = [];
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      if (last && i === xs.length - 1 && x.includes('.')) {
        const q = new Uint8Array(4);
        if (!x.split('.').every((o) => DEC_OCTET.test(o)) || !parseV4Into(x, q, 0)) return undefined;
        res.push((q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!);
      } else if (HEX_GROUP.test(x)) res.push(parseInt(x, 16));
      else return undefined;
    }
    return res;
  };
  const left = groups(halves[0]!, halves.length === 1);
  const right = halves.length === 2 ? groups(halves[1]!, true) : [];
  if (!left || !right) return false;
  const fill = 8 - left.length - right.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return false;
  const all = [...left, ...new Array<number>(fill).fill(0), ...right];
  for (let i = 0; i < 8; i++) {
    out[i * 2] = all[i]! >> 8;
    out[i * 2 + 1] = all[i]! & 0xff;
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
  const addr = slash < 0 ? p : p.slice(0, slash);
  const max = family === 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const l = p.slice(slash + 1);
    if (!/^\d{1,3}$/.test(l)) throw badPrefix(p, family, 'bad length');
    len = Number(l);
    if (len > max) throw badPrefix(p, family, `length above ${max}`);
  }
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
  const g = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = (b[i * 2]! << 8) | b[i * 2 + 1]!;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return g.map((x) => x.toString(16)).join(':');
  const head = g.slice(0, bestStart).map((x) => x.toString(16)).join(':');
  const tail = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':');
  return `${head}::${tail}`;
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
