// Pool address blocks: which pool holds an address, and the deterministic standalone allocation
// of a service address (the first free address of the pool, CIDRs then ranges in file order,
// skipping the network and broadcast addresses of IPv4 CIDRs shorter than /31).
import { bigIntToIp, canonicalIp, familyOf, ipToBigInt, parsePrefix, type Family } from '../lib/addr.js';

export interface Block {
  family: Family;
  first: bigint;
  last: bigint;
  /** Written as a CIDR (network/broadcast are skipped for IPv4 /0../30 when allocating). */
  cidr: boolean;
  text: string;
}

export function poolBlocks(pool: { cidrs: readonly string[]; ranges: readonly string[] }): Block[] {
  const out: Block[] = [];
  for (const c of pool.cidrs) {
    const p = parsePrefix(c);
    const bits = p.family === 4 ? 32 : 128;
    let first = 0n;
    for (const x of p.addr) first = (first << 8n) | BigInt(x);
    const last = first + (1n << BigInt(bits - p.len)) - 1n;
    out.push({ family: p.family, first, last, cidr: true, text: c });
  }
  for (const r of pool.ranges) {
    const [a, b] = r.split('-') as [string, string];
    out.push({ family: familyOf(a) as Family, first: ipToBigInt(a), last: ipToBigInt(b), cidr: false, text: r });
  }
  return out;
}

export function blockContains(b: Block, ip: string): boolean {
  if (familyOf(ip) !== b.family) return false;
  const v = ipToBigInt(ip);
  return v >= b.first && v <= b.last;
}

export function blocksOverlap(a: Block, b: Block): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** Where the next search of a pool starts: addresses before it are all used or skipped. */
export interface Cursor {
  block: number;
  next: bigint | undefined;
}

/**
 * The first address of the blocks, in order, that is not in `used`. IPv4 CIDRs of /30 or wider
 * skip their network and broadcast addresses; with `avoidBuggyIPs`, IPv4 addresses ending in .0
 * or .255 are skipped too. Returns undefined when the pool is full. With a `cursor` (allocations
 * in order while `used` only grows) the search resumes where the last one ended, so n
 * allocations cost O(n) instead of O(n²).
 */
export function firstFree(blocks: readonly Block[], used: ReadonlySet<string>, avoidBuggyIPs = false, cursor?: Cursor): string | undefined {
  for (let bi = cursor?.block ?? 0; bi < blocks.length; bi++) {
    const b = blocks[bi]!;
    let first = b.first;
    let last = b.last;
    if (b.cidr && b.family === 4 && last - first >= 3n) {
      first += 1n;
      last -= 1n;
    }
    if (cursor && cursor.block === bi && cursor.next !== undefined && cursor.next > first) first = cursor.next;
    // bounded walk: a block can hold at most used.size used addresses; 512 covers .0/.255 skips
    let tries = 0;
    const limit = used.size + 512;
    for (let v = first; v <= last && tries <= limit; v++, tries++) {
      if (avoidBuggyIPs && b.family === 4) {
        const low = Number(v & 0xffn);
        if (low === 0 || low === 255) continue;
      }
      const ip = bigIntToIp(v, b.family);
      if (!used.has(ip)) {
        if (cursor) {
          cursor.block = bi;
          cursor.next = v + 1n;
        }
        return ip;
      }
    }
    if (cursor) {
      cursor.block = bi + 1;
      cursor.next = undefined;
    }
  }
  return undefined;
}

export function canonical(ip: string): string {
  return canonicalIp(ip);
}
