// Dotted-quad IPv4 addresses as 32-bit numbers, for the fixed 4-byte fields (BGP identifier, NEXT_HOP, AGGREGATOR).
import { EdgelbError } from '../../lib/errors.js';

export function ipv4String(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** Throws EDGELB_ERR_INVALID_ARGUMENT unless `s` is a dotted quad. */
export function ipv4Number(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m || m.slice(1).some((x) => Number(x) > 255)) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `not an IPv4 address: ${JSON.stringify(s)}`);
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}
