// The one pool allocator of edgelb, used by the standalone config (deterministic first-free
// allocation in file order) and by the Kubernetes IPAM (k8s/ipam.ts): a pool's address blocks,
// which pool holds an address, overlaps, pool sizes and the first free address.
//
// One rule for which addresses are handed out (membership always covers the whole block):
// - IPv4 CIDRs of /30 and wider skip their network and broadcast addresses;
// - IPv6 CIDRs shorter than /127 skip their first address (the subnet-router anycast address,
//   RFC 4291 section 2.6.1);
// - with avoidBuggyIPs, IPv4 addresses ending in .0 or .255 are skipped everywhere.
// Ranges ("first-last") hand out every address they name (avoidBuggyIPs aside).
import { bigIntToIp, canonicalIp, familyOf, ipToBigInt, parsePrefix, type Family } from '../lib/addr.js';

export interface Block {
  family: Family;
  first: bigint;
  last: bigint;
  /** Written as a CIDR (see the rule above for what allocation skips). */
  cidr: boolean;
  text: string;
  /** Where it was written: "cidrs[0]", "ranges[1]". */
  field: string;
}

/** The blocks of a pool, CIDRs then ranges; each bad entry is an error naming its field. */
export function parseBlocks(pool: { cidrs: readonly string[]; ranges: readonly string[] }): { blocks: Block[]; errors: string[] } {
  const blocks: Block[] = [];
  const errors: string[] = [];
  pool.cidrs.forEach((c, i) => {
    let p;
    try {
      p = parsePrefix(c);
    } catch {
      errors.push(`cidrs[${i}]: "${c}" is not a CIDR`);
      return;
    }
    const bits = p.family === 4 ? 32 : 128;
    let first = 0n;
    for (const x of p.addr) first = (first << 8n) | BigInt(x);
    blocks.push({ family: p.family, first, last: first + (1n << BigInt(bits - p.len)) - 1n, cidr: true, text: c, field: `cidrs[${i}]` });
  });
  pool.ranges.forEach((r, i) => {
    const [a, b, extra] = r.split('-').map((x) => x.trim());
    const fa = a ? familyOf(a) : 0;
    const fb = b ? familyOf(b) : 0;
    if (extra !== undefined || !fa || fa !== fb) {
      errors.push(`ranges[${i}]: "${r}" must be "first-last" of one family`);
      return;
    }
    const first = ipToBigInt(a!);
    const last = ipToBigInt(b!);
    if (last < first) {
      errors.push(`ranges[${i}]: "${r}" ends before it starts`);
      return;
    }
    blocks.push({ family: fa, first, last, cidr: false, text: r, field: `ranges[${i}]` });
  });
  return { blocks, errors };
}

/** The blocks of a pool already validated (the config schema checked every entry). */
export function poolBlocks(pool: { cidrs: readonly string[]; ranges: readonly string[] }): Block[] {
  const { blocks, errors } = parseBlocks(pool);
  if (errors.length) throw new Error(errors.join('; '));
  return blocks;
}

export function blockContains(b: Block, ip: string): boolean {
  if (familyOf(ip) !== b.family) return false;
  const v = ipToBigInt(ip);
  return v >= b.first && v <= b.last;
}

export function blocksOverlap(a: Block, b: Block): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** The part of a block that allocation walks (the rule in the header). */
export function allocatable(b: Block): { first: bigint; last: bigint } {
  if (b.cidr && b.family === 4 && b.last - b.first >= 3n) return { first: b.first + 1n, last: b.last - 1n };
  if (b.cidr && b.family === 6 && b.last - b.first >= 3n) return { first: b.first + 1n, last: b.last };
  return { first: b.first, last: b.last };
}

/** An IPv4 address ending in .0 or .255 (skipped with avoidBuggyIPs). */
export function isBuggy(v: bigint, family: Family): boolean {
  if (family !== 4) return false;
  const low = v & 0xffn;
  return low === 0n || low === 255n;
}

/** Count of x in [0, n] with x % 256 == r. */
function countMod(n: bigint, r: bigint): bigint {
  return n < r ? 0n : (n - r) / 256n + 1n;
}

/** How many addresses allocation can hand out from a block. */
export function blockSize(b: Block, avoidBuggyIPs: boolean): bigint {
  const { first, last } = allocatable(b);
  let n = last - first + 1n;
  if (avoidBuggyIPs && b.family === 4) {
    for (const m of [0n, 255n]) n -= countMod(last, m) - (first === 0n ? 0n : countMod(first - 1n, m));
  }
  return n;
}

/** Where the next search of a pool starts: addresses before it are all used or skipped. */
export interface Cursor {
  block: number;
  next: bigint | undefined;
}

/** What the allocator asks about used addresses (numbers, so a scan does not format strings). */
export interface UsedAddresses {
  has(v: bigint, family: Family): boolean;
  readonly size: number;
}

/**
 * The first address of the blocks, in order (only blocks of `family` when given), that is not
 * used, by the rule in the header. Undefined when none is left. With a `cursor` (allocations in
 * order while the used set only grows) the search resumes where the last one ended, so n
 * allocations cost O(n) instead of O(n²). The walk of a block is bounded by used.size + 512
 * steps (a block holds at most used.size used addresses; 512 covers the .0/.255 skips).
 */
export function firstFreeValue(
  blocks: readonly Block[],
  used: UsedAddresses,
  avoidBuggyIPs: boolean,
  o: { family?: Family; cursor?: Cursor } = {},
): { value: bigint; family: Family } | undefined {
  const cursor = o.cursor;
  for (let bi = cursor?.block ?? 0; bi < blocks.length; bi++) {
    const b = blocks[bi]!;
    if (o.family !== undefined && b.family !== o.family) continue;
    let { first } = allocatable(b);
    const { last } = allocatable(b);
    if (cursor && cursor.block === bi && cursor.next !== undefined && cursor.next > first) first = cursor.next;
    let tries = 0;
    const limit = used.size + 512;
    for (let v = first; v <= last && tries <= limit; v++, tries++) {
      if (avoidBuggyIPs && isBuggy(v, b.family)) continue;
      if (!used.has(v, b.family)) {
        if (cursor) {
          cursor.block = bi;
          cursor.next = v + 1n;
        }
        return { value: v, family: b.family };
      }
    }
    if (cursor) {
      cursor.block = bi + 1;
      cursor.next = undefined;
    }
  }
  return undefined;
}

/** firstFreeValue over a set of address strings (the standalone config's allocation). */
export function firstFree(blocks: readonly Block[], used: ReadonlySet<string>, avoidBuggyIPs = false, cursor?: Cursor): string | undefined {
  const r = firstFreeValue(blocks, { has: (v, f) => used.has(bigIntToIp(v, f)), size: used.size }, avoidBuggyIPs, cursor ? { cursor } : {});
  return r && bigIntToIp(r.value, r.family);
}

export function canonical(ip: string): string {
  return canonicalIp(ip);
}
