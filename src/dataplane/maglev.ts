// Maglev consistent hashing (Eisenbud et al., NSDI 2016): a pure, deterministic lookup table.
// Every node that is given the same set of backends builds the same table, whatever order the
// backends come in, so a flow that ECMP moves to another node still finds the same backend.

/** 32-bit MurmurHash3 of a string's UTF-8 bytes (the permutation seeds). */
export function murmur3(text: string, seed: number): number {
  const data = Buffer.from(text, 'utf8');
  let h = seed >>> 0;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const nblocks = data.length >> 2;
  for (let i = 0; i < nblocks; i++) {
    let k = data.readUInt32LE(i * 4);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  let k = 0;
  const tail = nblocks * 4;
  const rest = data.length & 3;
  if (rest >= 3) k ^= data[tail + 2]! << 16;
  if (rest >= 2) k ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    k ^= data[tail]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const MAGLEV_DEFAULT_SIZE = 65537;
const SEED_OFFSET = 0x2b7e1516;
const SEED_SKIP = 0x28aed2a6;

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * Build the Maglev table: `size` slots (a prime), each the index of a backend in `backends`
 * (identified by a stable key such as "10.0.1.2:8080"), or -1 for every slot when the list is
 * empty. Duplicate keys are treated as one backend (the first index is used).
 */
export function maglevTable(backends: readonly string[], size: number = MAGLEV_DEFAULT_SIZE): Int32Array {
  if (!isPrime(size)) throw new RangeError(`maglev table size must be a prime, got ${size}`);
  const table = new Int32Array(size).fill(-1);
  // canonical order: sorted unique keys, so the input order never matters
  const firstIndex = new Map<string, number>();
  backends.forEach((b, i) => {
    if (!firstIndex.has(b)) firstIndex.set(b, i);
  });
  const keys = [...firstIndex.keys()].sort();
  const n = keys.length;
  if (n === 0) return table;
  if (n > size) throw new RangeError(`maglev table of ${size} slots cannot hold ${n} backends`);
  const offset = new Uint32Array(n);
  const skip = new Uint32Array(n);
  const next = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    offset[i] = murmur3(keys[i]!, SEED_OFFSET) % size;
    skip[i] = (murmur3(keys[i]!, SEED_SKIP) % (size - 1)) + 1;
  }
  const slotOwner = new Int32Array(size).fill(-1);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      // c = (offset + next * skip) mod size, walked without overflow
      let c = (offset[i]! + ((next[i]! * skip[i]!) % size)) % size;
      while (slotOwner[c] !== -1) {
        next[i]!++;
        c = (offset[i]! + ((next[i]! * skip[i]!) % size)) % size;
      }
      slotOwner[c] = i;
      next[i]!++;
      if (++filled === size) {
        for (let s = 0; s < size; s++) table[s] = firstIndex.get(keys[slotOwner[s]!]!)!;
        return table;
      }
    }
  }
}

/** Slots per backend index (for balance checks and stats). */
export function slotCounts(table: Int32Array, backends: number): number[] {
  const counts = new Array<number>(backends).fill(0);
  for (const b of table) if (b >= 0) counts[b]!++;
  return counts;
}
