// The shard claims a node carries in every heartbeat, in a compact binary form whose size is
// bounded for every allowed shard count (cluster.shards up to 4096): a bitmap of the shards held
// and each held shard's epoch as a varint. JSON of 460 claims already passed the old 4096-byte
// payload limit and killed the heartbeat thread. Pure; decode never throws.
//
//   0   1  version (1)
//   1   1  flags: bit 0 = eligible for masterships
//   2   2  shard count S of the sender (u16 BE)
//   4   ⌈S/8⌉  bitmap: bit (7 - s mod 8) of byte s/8 set = shard s held
//   .   for each held shard, ascending: its epoch, unsigned LEB128 (at most 5 bytes, < 2^32)
import type { ShardClaims } from './shard-manager.js';

export const CLAIMS_VERSION = 1;
export const MAX_SHARDS = 4096;
/** The largest encoding: every one of 4096 shards held with a 5-byte epoch. */
export const CLAIMS_MAX_BYTES = 4 + MAX_SHARDS / 8 + MAX_SHARDS * 5;
const MAX_EPOCH = 0xffffffff;

export function encodeClaims(claims: ShardClaims, shards: number): Uint8Array {
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) throw new RangeError(`shard count must be 1..${MAX_SHARDS}`);
  const held = [...claims.c].filter(([s]) => Number.isInteger(s) && s >= 0 && s < shards).sort((a, b) => a[0] - b[0]);
  const bitmap = Math.ceil(shards / 8);
  const out = new Uint8Array(4 + bitmap + held.length * 5);
  out[0] = CLAIMS_VERSION;
  out[1] = claims.e ? 1 : 0;
  out[2] = shards >> 8;
  out[3] = shards & 0xff;
  let o = 4 + bitmap;
  let last = -1;
  for (const [s, epoch] of held) {
    if (s === last) continue; // one claim per shard
    last = s;
    out[4 + (s >> 3)]! |= 0x80 >> (s & 7);
    let e = Math.min(Math.max(0, Math.floor(epoch)), MAX_EPOCH);
    do {
      const b = e & 0x7f;
      e = Math.floor(e / 128);
      out[o++] = e > 0 ? b | 0x80 : b;
    } while (e > 0);
  }
  return out.subarray(0, o);
}

/** The claims in `b`, or undefined when it is not a well-formed encoding. */
export function decodeClaims(b: Uint8Array): ShardClaims | undefined {
  if (b.length < 4 || b[0] !== CLAIMS_VERSION || (b[1]! & ~1) !== 0) return undefined;
  const shards = (b[2]! << 8) | b[3]!;
  if (shards < 1 || shards > MAX_SHARDS) return undefined;
  const bitmap = Math.ceil(shards / 8);
  if (b.length < 4 + bitmap) return undefined;
  const c: Array<[number, number]> = [];
  let o = 4 + bitmap;
  for (let s = 0; s < bitmap * 8; s++) {
    if (!(b[4 + (s >> 3)]! & (0x80 >> (s & 7)))) continue;
    if (s >= shards) return undefined;
    let e = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      if (o >= b.length || i >= 5) return undefined;
      const x = b[o++]!;
      e += (x & 0x7f) * mul;
      mul *= 128;
      if (!(x & 0x80)) break;
    }
    if (e > MAX_EPOCH) return undefined;
    c.push([s, e]);
  }
  if (o !== b.length) return undefined;
  return { e: (b[1]! & 1) === 1, c };
}

/** The Membership payload codec for shard claims (runtime.ts passes it). */
export function claimsPayloadCodec(shards: number): { encode(p: unknown): Uint8Array; decode(b: Uint8Array): unknown } {
  return {
    encode: (p) => encodeClaims(p as ShardClaims, shards),
    decode: (b) => decodeClaims(b),
  };
}
