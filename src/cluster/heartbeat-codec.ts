// Heartbeat wire format, its authentication and its freshness rule. HMAC-SHA256 with the cluster
// key (the primary of the key ring; any listed key is accepted: lib/cluster-keys.ts) over the whole packet, checked only after the size and the layout (junk never costs an
// HMAC of 64 KB). Freshness is a challenge/response, with no wall clock anywhere: every node has a
// random boot id and numbers its heartbeats; each heartbeat to a peer echoes the peer's boot id and
// the latest sequence number heard from it. A receiver accepts a heartbeat only when it echoes the
// receiver's own boot id and one of its own heartbeats sent within the last window, so a recorded
// stream is refused by a running receiver (its echoes are old) and by a restarted one (they echo a
// boot id that is gone), and a restarted sender is accepted as soon as it has heard one heartbeat,
// whatever its clock says. Pure.
//
//   0   4  magic "EHB2"
//   4   8  sender boot id (random, new on every start of the heartbeat thread)
//  12   8  sequence number, from 1 (u64 BE)
//  20   8  echo: the receiver's boot id, as last heard (0 = nothing heard yet)
//  28   8  echo: the receiver's sequence number last heard
//  36   1  name length L, then L bytes of the node name (UTF-8)
//   .   2  payload length P (u16 BE), then P bytes of payload (the shard claims, claims-codec.ts)
//   .  32  HMAC-SHA256(key, every byte before it)
import { macOf, matchMac, ringOf, type MacKeys } from '../lib/cluster-keys.js';
import { CLAIMS_MAX_BYTES } from './claims-codec.js';

export const HB_MAGIC = 'EHB2';
export const HB_MAC_LEN = 32;
const HEAD = 36;
/** Payload limit: every claims encoding of every allowed shard count fits. */
export const HB_MAX_PAYLOAD = Math.max(4096, CLAIMS_MAX_BYTES);
export const HB_MIN_PACKET = HEAD + 1 + 2 + HB_MAC_LEN;
export const HB_MAX_PACKET = HB_MIN_PACKET + 255 + HB_MAX_PAYLOAD;

export interface Heartbeat {
  boot: bigint;
  seq: bigint;
  echoBoot: bigint;
  echoSeq: bigint;
  name: string;
  payload: Uint8Array;
}

export type HeartbeatDrop = 'malformed' | 'unauthenticated' | 'replayed' | 'stale' | 'unknown-sender' | 'rate-limited';
export const HEARTBEAT_DROPS: readonly HeartbeatDrop[] = ['malformed', 'unauthenticated', 'replayed', 'stale', 'unknown-sender', 'rate-limited'];

/** Signed with the ring's primary key (lib/cluster-keys.ts), or with `key` itself. */
export function encodeHeartbeat(h: Heartbeat, key: MacKeys): Buffer {
  const name = Buffer.from(h.name, 'utf8');
  if (name.length > 255) throw new RangeError('node name longer than 255 bytes');
  if (h.payload.length > HB_MAX_PAYLOAD) throw new RangeError(`heartbeat payload of ${h.payload.length} bytes exceeds ${HB_MAX_PAYLOAD}`);
  const b = Buffer.alloc(HEAD + 1 + name.length + 2 + h.payload.length + HB_MAC_LEN);
  b.write(HB_MAGIC, 0, 'latin1');
  b.writeBigUInt64BE(h.boot, 4);
  b.writeBigUInt64BE(h.seq, 12);
  b.writeBigUInt64BE(h.echoBoot, 20);
  b.writeBigUInt64BE(h.echoSeq, 28);
  b[HEAD] = name.length;
  name.copy(b, HEAD + 1);
  let o = HEAD + 1 + name.length;
  b.writeUInt16BE(h.payload.length, o);
  b.set(h.payload, o + 2);
  o += 2 + h.payload.length;
  macOf(key, b.subarray(0, o)).copy(b, o);
  return b;
}

/**
 * Size and layout first (cheap), then the MAC against every key form the ring accepts, `first`
 * (the form this sender used last) first; never throws. `form` is the index in ring.accept that
 * matched and `key` its key's index (0 = the primary).
 */
export function decodeHeartbeat(b: Uint8Array, keys: MacKeys, first = 0): { ok: true; hb: Heartbeat; form: number; key: number } | { ok: false; reason: HeartbeatDrop } {
  if (b.length < HB_MIN_PACKET || b.length > HB_MAX_PACKET) return { ok: false, reason: 'malformed' };
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.toString('latin1', 0, 4) !== HB_MAGIC) return { ok: false, reason: 'malformed' };
  const nl = buf[HEAD]!;
  const body = buf.length - HB_MAC_LEN;
  if (HEAD + 1 + nl + 2 > body) return { ok: false, reason: 'malformed' };
  const pl = buf.readUInt16BE(HEAD + 1 + nl);
  if (HEAD + 1 + nl + 2 + pl !== body || pl > HB_MAX_PAYLOAD) return { ok: false, reason: 'malformed' };
  const ring = ringOf(keys);
  const form = matchMac(ring, buf.subarray(0, body), buf.subarray(body), first);
  if (form < 0) return { ok: false, reason: 'unauthenticated' };
  const p = HEAD + 1 + nl + 2;
  return {
    ok: true,
    form,
    key: ring.accept[form]!.key,
    hb: {
      boot: buf.readBigUInt64BE(4),
      seq: buf.readBigUInt64BE(12),
      echoBoot: buf.readBigUInt64BE(20),
      echoSeq: buf.readBigUInt64BE(28),
      name: buf.toString('utf8', HEAD + 1, HEAD + 1 + nl),
      payload: Uint8Array.from(buf.subarray(p, p + pl)),
    },
  };
}

/** What a receiver remembers of the last heartbeat it accepted from one sender. */
export interface ReplayState {
  boot: bigint;
  seq: bigint;
  /** The receiver's own sequence number that heartbeat echoed. */
  echoSeq: bigint;
}

/** The receiver's side of the challenge: its boot id and when it sent each recent heartbeat. */
export interface Challenge {
  boot: bigint;
  /** Monotonic ms since this receiver sent heartbeat `seq`, undefined when not recent or never. */
  ageOf(seq: bigint): number | undefined;
  /** Echoes older than this are stale. */
  windowMs: number;
}

/**
 * The freshness rule. Accept when the heartbeat echoes this receiver's boot id and a heartbeat it
 * sent within the window, and then: the same sender boot with a higher sequence number, or a new
 * sender boot (a restart) whose echo is newer than the echo last accepted (so a sender's earlier
 * boot, recorded in this receiver's boot, cannot come back). Returns the new state or the reason.
 */
export function checkFresh(prev: ReplayState | undefined, h: Heartbeat, ch: Challenge): { ok: true; state: ReplayState } | { ok: false; reason: 'stale' | 'replayed' } {
  if (h.echoBoot !== ch.boot) return { ok: false, reason: 'stale' };
  const age = ch.ageOf(h.echoSeq);
  if (age === undefined || age > ch.windowMs) return { ok: false, reason: 'stale' };
  if (prev) {
    if (h.boot === prev.boot ? h.seq <= prev.seq : h.echoSeq <= prev.echoSeq) return { ok: false, reason: 'replayed' };
  }
  return { ok: true, state: { boot: h.boot, seq: h.seq, echoSeq: h.echoSeq } };
}

/** Recent send times of this node's heartbeats, by sequence number (a ring of `size`). */
export class SendLog {
  private readonly seqs: bigint[];
  private readonly times: number[];
  constructor(private readonly size = 256) {
    this.seqs = new Array<bigint>(size).fill(0n);
    this.times = new Array<number>(size).fill(0);
  }
  record(seq: bigint, nowMs: number): void {
    const i = Number(seq % BigInt(this.size));
    this.seqs[i] = seq;
    this.times[i] = nowMs;
  }
  ageOf(seq: bigint, nowMs: number): number | undefined {
    if (seq <= 0n) return undefined;
    const i = Number(seq % BigInt(this.size));
    return this.seqs[i] === seq ? nowMs - this.times[i]! : undefined;
  }
}
