// Communities (RFC 1997), extended communities (RFC 4360) and large communities (RFC 8092): text forms and codecs.
import { EdgelbError } from '../../lib/errors.js';
import type { BgpWriter } from './writer.js';

const bad = (what: string, s: string) => new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `not a ${what}: ${JSON.stringify(s)}`);

/** "65000:1" → 32-bit value. */
export function communityValue(s: string): number {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(s);
  if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff) throw bad('community (asn:value, 16 bits each)', s);
  return ((Number(m[1]) << 16) | Number(m[2])) >>> 0;
}
export function communityString(v: number): string {
  return `${v >>> 16}:${v & 0xffff}`;
}

/** "global:local1:local2" → three 32-bit values. */
export function largeCommunityValues(s: string): [number, number, number] {
  const m = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/.exec(s);
  const v = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [];
  if (!m || v.some((x) => x > 0xffffffff)) throw bad('large community (global:local1:local2, 32 bits each)', s);
  return v as [number, number, number];
}

export function writeCommunities(w: BgpWriter, list: readonly string[]): void {
  for (const c of list) w.u32(communityValue(c));
}
export function writeLargeCommunities(w: BgpWriter, list: readonly string[]): void {
  for (const c of list) for (const v of largeCommunityValues(c)) w.u32(v);
}
export function writeExtendedCommunities(w: BgpWriter, list: readonly Buffer[]): void {
  for (const c of list) {
    if (c.length !== 8) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `an extended community is 8 bytes, got ${c.length}`);
    w.bytes(c);
  }
}

/** Route target (type 0x00/0x02, two-octet AS specific) or route origin (subtype 0x03) extended community. */
export function twoOctetAsExtendedCommunity(subtype: 'rt' | 'soo', asn: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 0x00;
  b[1] = subtype === 'rt' ? 0x02 : 0x03;
  b.writeUInt16BE(asn, 2);
  b.writeUInt32BE(value >>> 0, 4);
  return b;
}

/** "rt:65000:1", "soo:65000:1", "rt:1.2.3.4:5", "rt4:4200000000:1", else "ext:<hex>". */
export function describeExtendedCommunity(b: Buffer): string {
  if (b.length !== 8) return `ext:${b.toString('hex')}`;
  const type = b[0]! & 0x3f; // without the IANA-authority and transitive bits... 0x40 marks non-transitive
  const sub = b[1]!;
  const kind = sub === 0x02 ? 'rt' : sub === 0x03 ? 'soo' : undefined;
  if (kind && type === 0x00) return `${kind}:${b.readUInt16BE(2)}:${b.readUInt32BE(4)}`;
  if (kind && type === 0x01) return `${kind}:${b[2]}.${b[3]}.${b[4]}.${b[5]}:${b.readUInt16BE(6)}`;
  if (kind && type === 0x02) return `${kind}4:${b.readUInt32BE(2)}:${b.readUInt16BE(6)}`;
  return `ext:${b.toString('hex')}`;
}
