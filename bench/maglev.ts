// Benchmark: Maglev (src/dataplane/maglev.ts). (1) 1,000 random backend removals and additions
// over ~100 backends: the share of the table remapped by each change, against the ideal (the
// removed/added backend's own share: nothing else needs to move). (2) Table build time for 65537
// and 655373 slots with 100 backends, against the anchor of Katran's MaglevHash populate loop
// (lib/MaglevHash.cpp: offset/skip per endpoint, next[] cursor, first free slot) ported to
// TypeScript with the same hash, alternating A, B.
import { performance } from 'node:perf_hooks';
import { maglevTable, murmur3 } from '../src/dataplane/maglev.js';
import { alternate, summarize, type BenchContext, type Row } from './lib/harness.js';
import type { Benchmark } from './run.js';

/** Katran's MaglevHash::generateHashRing, unweighted, ported as written (the anchor). */
export function katranRing(endpoints: readonly string[], size: number): Int32Array {
  const n = endpoints.length;
  const perm = new Uint32Array(n * 2);
  for (let i = 0; i < n; i++) {
    perm[2 * i] = murmur3(endpoints[i]!, 0x2b7e1516) % size; // offset
    perm[2 * i + 1] = (murmur3(endpoints[i]!, 0x28aed2a6) % (size - 1)) + 1; // skip
  }
  const result = new Int32Array(size).fill(-1);
  const next = new Uint32Array(n);
  let runs = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      const offset = perm[2 * i]!;
      const skip = perm[2 * i + 1]!;
      let cur = (offset + ((next[i]! * skip) % size)) % size;
      while (result[cur]! >= 0) {
        next[i]!++;
        cur = (offset + ((next[i]! * skip) % size)) % size;
      }
      result[cur] = i;
      next[i]!++;
      if (++runs === size) return result;
    }
  }
}

/** Deterministic PRNG (mulberry32) so every run sees its own but reproducible sequence. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Remapped share of each of `changes` random removals/additions (alternately) and the ideal share. */
export function churn(changes: number, seed: number, size = 65537): { remapped: number[]; ideal: number[] } {
  const rand = rng(seed);
  let live = Array.from({ length: 100 }, (_, i) => `10.1.${i >> 8}.${i & 255}:8080`);
  let nextId = 100;
  let table = maglevTable(live, size);
  const remapped: number[] = [];
  const ideal: number[] = [];
  for (let c = 0; c < changes; c++) {
    const before = live;
    let after: string[];
    let changed: string;
    if (c % 2 === 0) {
      changed = before[Math.floor(rand() * before.length)]!;
      after = before.filter((b) => b !== changed);
    } else {
      changed = `10.2.${nextId >> 8}.${nextId & 255}:8080`;
      nextId++;
      after = [...before, changed];
    }
    const next = maglevTable(after, size);
    let moved = 0;
    let own = 0;
    for (let s = 0; s < size; s++) {
      const was = before[table[s]!]!;
      const now = after[next[s]!]!;
      if (was !== now) moved++;
      if (was === changed || now === changed) own++;
    }
    remapped.push(moved / size);
    ideal.push(own / size);
    table = next;
    live = after;
  }
  return { remapped, ideal };
}

const bench: Benchmark = {
  name: 'maglev',
  title: 'Maglev: remapped share per backend change vs ideal; table build vs Katran MaglevHash loop',
  async run(ctx: BenchContext): Promise<Row[]> {
    // churn: 1,000 changes in all, split into the runs (each its own random sequence); per run the
    // mean remapped share and its ideal
    const changes = ctx.quick ? 20 : Math.ceil(1000 / ctx.runs);
    const rows: Row[] = [];
    const mean: number[] = [];
    const idealMean: number[] = [];
    const p99Excess: number[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      const { remapped, ideal } = churn(changes, 1 + r, ctx.quick ? 4099 : 65537);
      mean.push((remapped.reduce((a, b) => a + b, 0) / changes) * 100);
      idealMean.push((ideal.reduce((a, b) => a + b, 0) / changes) * 100);
      const excess = remapped.map((x, i) => (x - ideal[i]!) * 100);
      p99Excess.push(summarize(excess).max);
      ctx.log(`run ${r + 1}: mean remapped ${mean[r]!.toFixed(3)} % of slots, ideal ${idealMean[r]!.toFixed(3)} %, worst excess ${p99Excess[r]!.toFixed(3)} points`);
    }
    rows.push({
      bench: 'maglev',
      figure: `remapped share per change, ${changes * ctx.runs} random removals/additions over ~100 backends (mean per run of ${changes})`,
      unit: '%',
      better: 'lower',
      ours: mean,
      anchor: 'ideal (the changed backend’s own slots)',
      theirs: idealMean,
    });
    rows.push({ bench: 'maglev', figure: 'worst single change: remapped minus ideal', unit: 'points', better: 'lower', ours: p99Excess, anchor: '(ideal: 0)', theirs: [] });

    const backends = Array.from({ length: 100 }, (_, i) => `10.1.${i >> 8}.${i & 255}:8080`);
    for (const size of ctx.quick ? [65537] : [65537, 655373]) {
      const time = (fn: () => unknown) => async () => {
        const t = performance.now();
        fn();
        return performance.now() - t;
      };
      maglevTable(backends, size); // warm both (JIT) before anything is timed
      katranRing(backends, size);
      const { a, b } = await alternate(ctx.runs, time(() => maglevTable(backends, size)), time(() => katranRing(backends, size)), true);
      rows.push({ bench: 'maglev', figure: `table build, ${size} slots, 100 backends`, unit: 'ms', better: 'lower', ours: a, anchor: 'Katran MaglevHash loop (TS port, same hash)', theirs: b });
    }
    return rows;
  },
};
export default bench;
