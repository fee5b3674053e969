// Shard ownership: pure, deterministic functions that give the master of every shard from the
// eligible nodes and the shards they hold now (their claims, carried in every heartbeat), plus the
// quorum rule. Every node that sees the same live set and the same claims computes the same
// owners. Rules, in order:
//   1. quotas: with S shards and N eligible nodes, exactly S mod N nodes may master ⌈S/N⌉ shards
//      and the others ⌊S/N⌋;
//   2. a shard keeps its current master while that master is eligible and within its quota (so a
//      leave moves only the leaver's shards, and a join moves only what the joiner must get);
//   3. a master over its quota gives up its lowest-scoring shards; when more nodes hold ⌈S/N⌉ than
//      allowed, the last by name give one up;
//   4. every free shard, in shard order, goes to the node with the highest rendezvous score
//      (SHA-256 of shard and node name) that still has room. From no claims at all (cold start)
//      this is rendezvous hashing with bounded loads.
import { createHash } from 'node:crypto';

/** Score of a node for a shard: the first 8 bytes of SHA-256("edgelb-shard/<shard>/<node>"). */
export function shardScore(shard: number, node: string): bigint {
  return createHash('sha256').update(`edgelb-shard/${shard}/${node}`).digest().readBigUInt64BE(0);
}

/**
 * Master of every shard (index = shard number) among `nodes`, keeping the `current` masters
 * (index = shard, '' = none) where the rules allow. '' for every shard when no node is eligible.
 * The order of `nodes` does not matter; duplicates are ignored.
 */
export function planShards(shards: number, nodes: readonly string[], current: readonly string[] = []): string[] {
  const names = [...new Set(nodes)].sort();
  const out = new Array<string>(Math.max(0, shards)).fill('');
  if (names.length === 0 || shards <= 0) return out;
  const n = names.length;
  const q = Math.floor(shards / n);
  const r = shards % n;
  const eligible = new Set(names);
  // rule 2: keep current masters that are eligible
  const held = new Map<string, number[]>(names.map((x) => [x, []]));
  for (let s = 0; s < shards; s++) {
    const c = current[s];
    if (c && eligible.has(c)) held.get(c)!.push(s);
  }
  // rule 3: trim to ⌈S/N⌉, then allow only r nodes at ⌈S/N⌉
  const byScoreDesc = (node: string) => (a: number, b: number) => {
    const sa = shardScore(a, node);
    const sb = shardScore(b, node);
    return sa > sb ? -1 : sa < sb ? 1 : a - b;
  };
  for (const node of names) {
    const list = held.get(node)!.sort(byScoreDesc(node));
    if (list.length > q + 1) list.length = q + 1;
  }
  const bigs = names.filter((x) => held.get(x)!.length === q + 1);
  for (const node of bigs.slice(r)) held.get(node)!.length = q;
  let big = Math.min(bigs.length, r);
  const load = new Map<string, number>();
  for (const node of names) {
    for (const s of held.get(node)!) out[s] = node;
    load.set(node, held.get(node)!.length);
  }
  // rule 4: free shards to the best-scoring node with room
  for (let s = 0; s < shards; s++) {
    if (out[s] !== '') continue;
    let best = '';
    let bestScore = -1n;
    for (const node of names) {
      const l = load.get(node)!;
      if (!(l < q || (l === q && big < r))) continue;
      const sc = shardScore(s, node);
      if (sc > bestScore) {
        best = node;
        bestScore = sc;
      }
    }
    if (!best) throw new Error(`planShards: no room for shard ${s} (bug)`);
    if (load.get(best)! === q) big++;
    load.set(best, load.get(best)! + 1);
    out[s] = best;
  }
  return out;
}

/** Owners from nothing held (cold start): rendezvous hashing with bounded loads. */
export function assignShards(shards: number, nodes: readonly string[]): string[] {
  return planShards(shards, nodes, []);
}

/**
 * Quorum: more than half of the configured members are live. With exactly half live (the
 * two-node case, or 2 of 4), the half that holds the tie-breaker (the lowest configured member
 * address) keeps quorum and the other half gives up its masterships, so a split never leaves two
 * masters. Consequence for two nodes: if the tie-breaker node dies, the other cannot tell that from
 * a partition and stops answering; run three nodes (or a third, shard-less member) for failover.
 */
export function hasQuorum(live: number, members: number, tieBreakerLive: boolean): boolean {
  if (members <= 1) return true;
  return live * 2 > members || (live * 2 === members && tieBreakerLive);
}

/** Shards counted per node, for balance checks and views. */
export function loads(owners: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const o of owners) if (o) m.set(o, (m.get(o) ?? 0) + 1);
  return m;
}
