// Connection-sync wire format (UDP, its own socket, never inside the heartbeat), its
// authentication and its replay rule. HMAC-SHA256 with the cluster key (signed with the key ring's
// primary, any listed key accepted: lib/cluster-keys.ts) over the whole packet,
// checked only after size and layout. Records are opaque here: fixed SYNC_RECORD_LEN-byte flow
// records encoded and decoded by the addon (native/ct_sync.cc), so the conntrack layout is never
// copied into TypeScript. Pure: no sockets, no clock.
//
//   0   4  magic "ECS1"
//   4   1  kind (1 hello, 2 delta, 3 bulk)
//   5   1  reserved, 0
//   6   2  record count N (u16 BE)
//   8   8  sender boot id (random per start of the sync thread, never 0)
//  16   8  sequence number, from 1 (u64 BE), one counter per sender boot for every receiver
//  24   8  echo: the receiver's boot id as last heard (0 = nothing heard yet)
//  32   1  name length L, then L bytes of the sender's node name (UTF-8)
//   .      N * SYNC_RECORD_LEN bytes of records
//   .  32  HMAC-SHA256(key, every byte before it)
import { macOf, matchMac, ringOf, type MacKeys } from '../lib/cluster-keys.js';

export const SYNC_MAGIC = 'ECS1';
export const SYNC_MAC_LEN = 32;
/** One flow (both conntrack entries) on the wire; native/ct_sync.h EDGELB_SYNC_RECORD_LEN. */
export const SYNC_RECORD_LEN = 88;
const HEAD = 33;
/** One Ethernet frame: 1500 - IPv4 header (20) - UDP header (8). */
export const SYNC_MAX_PACKET = 1472;
export const SYNC_MIN_PACKET = HEAD + SYNC_MAC_LEN;

export const SyncKind = { hello: 1, delta: 2, bulk: 3 } as const;
export type SyncKindName = keyof typeof SyncKind;
const KIND_NAMES = new Map<number, SyncKindName>(Object.entries(SyncKind).map(([k, v]) => [v, k as SyncKindName]));

export interface SyncPacket {
  kind: SyncKindName;
  boot: bigint;
  seq: bigint;
  echoBoot: bigint;
  name: string;
  /** N * SYNC_RECORD_LEN bytes. */
  records: Uint8Array;
}

/** Why a datagram was dropped (metrics label; permanent names). */
export type SyncDrop = 'malformed' | 'truncated' | 'oversize' | 'unauthenticated' | 'replayed' | 'stale' | 'unknown-sender';
export const SYNC_DROPS: readonly SyncDrop[] = ['malformed', 'truncated', 'oversize', 'unauthenticated', 'replayed', 'stale', 'unknown-sender'];

/** Records that fit one packet from a sender with this name. */
export function recordsPerPacket(name: string): number {
  return Math.floor((SYNC_MAX_PACKET - SYNC_MIN_PACKET - Buffer.byteLength(name, 'utf8')) / SYNC_RECORD_LEN);
}

export function encodeSync(p: SyncPacket, key: MacKeys): Buffer {
  const name = Buffer.from(p.name, 'utf8');
  if (name.length > 255) throw new RangeError('node name longer than 255 bytes');
  if (p.records.length % SYNC_RECORD_LEN !== 0) throw new RangeError(`records are ${p.records.length} bytes, not a multiple of ${SYNC_RECORD_LEN}`);
  const n = p.records.length / SYNC_RECORD_LEN;
  const len = HEAD + name.length + p.records.length + SYNC_MAC_LEN;
  if (len > SYNC_MAX_PACKET) throw new RangeError(`sync packet of ${len} bytes exceeds ${SYNC_MAX_PACKET}`);
  if (p.boot === 0n) throw new RangeError('boot id 0 is reserved');
  const b = Buffer.alloc(len);
  b.write(SYNC_MAGIC, 0, 'latin1');
  b[4] = SyncKind[p.kind];
  b.writeUInt16BE(n, 6);
  b.writeBigUInt64BE(p.boot, 8);
  b.writeBigUInt64BE(p.seq, 16);
  b.writeBigUInt64BE(p.echoBoot, 24);
  b[32] = name.length;
  name.copy(b, HEAD);
  b.set(p.records, HEAD + name.length);
  const body = len - SYNC_MAC_LEN;
  macOf(key, b.subarray(0, body)).copy(b, body);
  return b;
}

/**
 * Size and layout first (cheap), then the MAC against every key form the ring accepts (`first`,
 * the form this sender used last, first); never throws. `key` is the matching key's index (0 =
 * the primary), `form` the index in ring.accept.
 */
export function decodeSync(b: Uint8Array, keys: MacKeys, first = 0): { ok: true; packet: SyncPacket; form: number; key: number } | { ok: false; reason: SyncDrop } {
  if (b.length > SYNC_MAX_PACKET) return { ok: false, reason: 'oversize' };
  if (b.length < SYNC_MIN_PACKET) return { ok: false, reason: 'malformed' };
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.toString('latin1', 0, 4) !== SYNC_MAGIC || buf[5] !== 0) return { ok: false, reason: 'malformed' };
  const kind = KIND_NAMES.get(buf[4]!);
  if (!kind) return { ok: false, reason: 'malformed' };
  const n = buf.readUInt16BE(6);
  const nl = buf[32]!;
  const want = HEAD + nl + n * SYNC_RECORD_LEN + SYNC_MAC_LEN;
  if (want > SYNC_MAX_PACKET) return { ok: false, reason: 'oversize' };
  if (buf.length < want) return { ok: false, reason: 'truncated' };
  if (buf.length > want) return { ok: false, reason: 'malformed' };
  if (kind === 'hello' && n !== 0) return { ok: false, reason: 'malformed' };
  const body = want - SYNC_MAC_LEN;
  const ring = ringOf(keys);
  const form = matchMac(ring, buf.subarray(0, body), buf.subarray(body), first);
  if (form < 0) return { ok: false, reason: 'unauthenticated' };
  const boot = buf.readBigUInt64BE(8);
  if (boot === 0n) return { ok: false, reason: 'malformed' };
  return {
    ok: true,
    form,
    key: ring.accept[form]!.key,
    packet: {
      kind,
      boot,
      seq: buf.readBigUInt64BE(16),
      echoBoot: buf.readBigUInt64BE(24),
      name: buf.toString('utf8', HEAD, HEAD + nl),
      records: Uint8Array.from(buf.subarray(HEAD + nl, body)),
    },
  };
}

/** Sequence numbers a receiver still accepts below the highest seen (reordering on the wire). */
export const REPLAY_WINDOW = 64;
const RETIRED_MAX = 16;

/**
 * One receiver's view of one sender: its current boot, the highest sequence number and a window
 * bitmap, and the boots it had before (never accepted again while this receiver runs).
 *
 * Rules: a packet carrying records must echo this receiver's boot (a recording made before this
 * receiver started is refused: 'stale'). A sender's new boot replaces the current one only when
 * the packet echoes this receiver's boot, or when nothing is known of the sender yet (first
 * contact; hellos may carry echo 0). Within a boot, each sequence number is accepted once, and
 * not at all below the window.
 */
export class ReplayGuard {
  boot = 0n;
  private max = 0n;
  private bits = 0n;
  private readonly retired: bigint[] = [];

  constructor(private readonly selfBoot: bigint) {}

  /** Accept or refuse; on acceptance the state advances. `newBoot` says the sender restarted (or first contact). */
  check(p: Pick<SyncPacket, 'kind' | 'boot' | 'seq' | 'echoBoot'>): { ok: true; newBoot: boolean } | { ok: false; reason: 'replayed' | 'stale' } {
    const echoes = p.echoBoot === this.selfBoot;
    if (p.kind !== 'hello' && !echoes) return { ok: false, reason: 'stale' };
    if (p.seq <= 0n) return { ok: false, reason: 'replayed' };
    if (p.boot !== this.boot) {
      if (this.retired.includes(p.boot)) return { ok: false, reason: 'replayed' };
      if (this.boot !== 0n && !echoes) return { ok: false, reason: 'stale' };
      if (this.boot !== 0n) {
        this.retired.push(this.boot);
        if (this.retired.length > RETIRED_MAX) this.retired.shift();
      }
      this.boot = p.boot;
      this.max = p.seq;
      this.bits = 1n;
      return { ok: true, newBoot: true };
    }
    if (p.seq > this.max) {
      const shift = p.seq - this.max;
      this.bits = shift >= BigInt(REPLAY_WINDOW) ? 1n : ((this.bits << shift) | 1n) & ((1n << BigInt(REPLAY_WINDOW)) - 1n);
      this.max = p.seq;
      return { ok: true, newBoot: false };
    }
    const back = this.max - p.seq;
    if (back >= BigInt(REPLAY_WINDOW)) return { ok: false, reason: 'replayed' };
    const bit = 1n << back;
    if (this.bits & bit) return { ok: false, reason: 'replayed' };
    this.bits |= bit;
    return { ok: true, newBoot: false };
  }
}
