// XDP data path node-wide settings (edgelb_cfg): the SNAT port ranges (every port above 1023
// outside the kernel's ip_local_port_range and the daemon's own ports), the per-client fair share,
// the TCP state timeouts, the echo rate, the cluster-wide flow-hash key; and the address filter
// (edgelb_addrf) the program's fast path reads.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ipToBytes } from '../lib/addr.js';
import type { DataplaneSpec } from '../model/desired-state.js';
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { parseClusterKeys } from '../lib/cluster-keys.js';

export type PortRange = [number, number];

/** Defaults of the dataplane keys (docs/config.md). */
export const CT_DEFAULTS = { tcpSynTimeout: 5, tcpFinTimeout: 10, tcpRstTimeout: 2, snatClientShare: 10, icmpEchoRate: 1000 } as const;

/** The kernel's ephemeral range of the current network namespace (Linux default 32768-60999). */
export function localPortRange(read: () => string = () => readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')): PortRange {
  try {
    const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(read());
    if (m) {
      const lo = Number(m[1]);
      const hi = Number(m[2]);
      if (lo >= 1 && hi <= 65535 && lo <= hi) return [lo, hi];
    }
  } catch {
    // no procfs: Linux's default
  }
  return [32768, 60999];
}

/**
 * SNAT source ports: 1024..65535 minus the ephemeral range (the kernel's own connections from the
 * node address, health probes included) and minus the daemon's listening ports; the `max`
 * largest ranges, in ascending order.
 */
export function snatPortRanges(local: PortRange, reserved: readonly number[], max = 4): PortRange[] {
  const cut = [[local[0], local[1]] as PortRange, ...reserved.filter((p) => Number.isInteger(p) && p >= 1 && p <= 65535).map((p) => [p, p] as PortRange)].sort((a, b) => a[0] - b[0]);
  const out: PortRange[] = [];
  let from = 1024;
  for (const [lo, hi] of cut) {
    if (hi < from) continue;
    if (lo > from) out.push([from, Math.min(lo - 1, 65535)]);
    from = Math.max(from, hi + 1);
  }
  if (from <= 65535) out.push([from, 65535]);
  return out
    .sort((a, b) => b[1] - b[0] - (a[1] - a[0]))
    .slice(0, max)
    .sort((a, b) => a[0] - b[0]);
}

export const portCount = (ranges: readonly PortRange[]) => ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);

/** Ports per window one client may take of a backend: `percent` of the ranges, at least 1. */
export function snatShare(ranges: readonly PortRange[], percent: number): number {
  return Math.max(1, Math.floor((portCount(ranges) * percent) / 100));
}

/**
 * The flow-hash key: 16 bytes every node derives alike — from `dataplane.flowHashKey`, else from
 * the bytes of `dataplane.flowHashKeyFile`, else from the cluster key file's primary as read at
 * start (what it signs with: a one-key file's bytes as they are, so a copy of that file as
 * flowHashKeyFile gives the same hash: how an operator pins it before a key rotation); undefined
 * when none is set (the program then hashes with a zero key). Never follows a file live: every
 * node must keep hashing alike.
 */
export function flowHashKey(spec: Pick<DataplaneSpec, 'flowHashKey' | 'flowHashKeyFile'>, clusterKeyFile?: string, readFile: (p: string) => Buffer = (p) => readFileSync(p)): Buffer | undefined {
  let secret: Uint8Array | undefined;
  if (spec.flowHashKey !== undefined) secret = Buffer.from(spec.flowHashKey, 'utf8');
  else if (spec.flowHashKeyFile !== undefined) secret = readFile(spec.flowHashKeyFile);
  else if (clusterKeyFile !== undefined) {
    // what the primary signs with: a one-key file of before keeps its bytes (and so its hash)
    const raw = readFile(clusterKeyFile);
    const parsed = parseClusterKeys(raw);
    secret = parsed.ok ? parsed.ring.send : raw;
  }
  if (!secret || secret.length === 0) return undefined;
  return createHash('sha256').update('edgelb flow hash key\0').update(secret).digest().subarray(0, 16);
}

/** Bit of an address in a half of the filter: the BPF program's addrf_test, word for word. */
export function addrfBit(address: string): number {
  const b = Buffer.alloc(16);
  Buffer.from(ipToBytes(address)).copy(b, 0);
  // the program loads the address words in host order (little endian on every supported host)
  const x = (b.readUInt32LE(0) ^ b.readUInt32LE(4) ^ b.readUInt32LE(8) ^ b.readUInt32LE(12)) >>> 0;
  return Math.imul(x, 0x9e3779b1) >>> 16;
}

/** The filter's words: VIPs in the first half, backends in the second. */
export function addrfWords(vips: Iterable<string>, backends: Iterable<string>, wordsPerHalf: number): Uint32Array {
  const w = new Uint32Array(2 * wordsPerHalf);
  const set = (half: number, a: string) => {
    const bit = addrfBit(a);
    const i = half * wordsPerHalf + (bit >>> 5);
    w[i] = (w[i]! | (1 << (bit & 31))) >>> 0;
  };
  for (const v of vips) set(0, v);
  for (const b of backends) set(1, b);
  return w;
}

/** The SNAT port ranges in effect: one configured range, else the default ranges (and a warning when none is left). */
export function natPortRanges(o: { natPortMin?: number; natPortMax?: number; reservedPorts?: number[] }, maxRanges: number, log: Logger): PortRange[] {
  if (o.natPortMin !== undefined || o.natPortMax !== undefined) return [[o.natPortMin ?? 61000, o.natPortMax ?? 65535]];
  const r = snatPortRanges(localPortRange(), o.reservedPorts ?? [], maxRanges);
  if (r.length > 0) return r;
  log.warn({ ports: [[64512, 65535]] }, 'ip_local_port_range covers every port above 1023: SNAT uses 64512-65535, which the kernel may pick too (narrow net.ipv4.ip_local_port_range)');
  return [[64512, 65535]];
}

/** flowHashKey, with a warning when it is missing or unreadable (the hash is then unkeyed). */
export function flowHashKeyLogged(spec: Pick<DataplaneSpec, 'flowHashKey' | 'flowHashKeyFile'>, clusterKeyFile: string | undefined, log: Logger): Buffer | undefined {
  let key: Buffer | undefined;
  try {
    key = flowHashKey(spec, clusterKeyFile);
  } catch (e) {
    log.warn({ err: errorMessage(e) }, 'flow-hash key file unreadable: flow hash unkeyed');
  }
  if (!key) log.warn('no dataplane.flowHashKey and no cluster.keyFile: the flow hash is unkeyed (clients can aim at a backend)');
  else if (spec.flowHashKey === undefined && spec.flowHashKeyFile === undefined)
    log.info('the flow-hash key is derived from the cluster key file as read at this start: after a key rotation, a node that restarts derives another one and its Maglev picks differ from the others\'; before rotating, copy the key file to dataplane.flowHashKeyFile on every node (docs/architecture.md, "The cluster key")');
  return key;
}
