// The one stable hash of edgelb: FNV-1a (32 bit) over the UTF-8 bytes of a string. It picks a
// service's default shard in the standalone config (hash of the name) and in Kubernetes (hash of
// "namespace/name", or of a non-numeric zoneinstance annotation). The value never depends on the
// process, platform or Node version, so every node agrees. UTF-8 bytes (not UTF-16 code units)
// so that other implementations (Go, C) give the same value; for ASCII, which every Kubernetes
// name is, both are the same, so no shard recorded before this choice moves.

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
