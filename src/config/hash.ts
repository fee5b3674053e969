// Stable hashing for config defaults: FNV-1a (32 bit) of a service name picks its default shard.
// The value never depends on the process, platform or Node version, so every node agrees.

/** FNV-1a, 32 bit, over the UTF-8 bytes of `s`. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The default shard of a service: fnv1a32(name) mod shards. */
export function defaultShard(name: string, shards: number): number {
  return shards <= 1 ? 0 : fnv1a32(name) % shards;
}
