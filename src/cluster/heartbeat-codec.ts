// Heartbeat wire format and its authentication: HMAC-SHA256 with the cluster key over the whole
// packet; a boot identity (boot time + random nonce) and a sequence number against replay. Pure.
//
//   0   4  magic "EHB1"
//   4   8  boot time, ms since the epoch (u64 BE)   } boot identity: changes on every restart
//  12   8  boot nonce, random                       }
//  20   8  sequence number, from 1 (u64 BE)
//  28   1  name length L, then L bytes of the node name (UTF-8)
//   .   2  payload length P (u16 BE), then P bytes of payload (JSON: eligibility and claims)
//   .  32  HMAC-SHA256(key, every byte before it)
import { createHmac, timingSafeEqual } from 'node:crypto';

export const HB_MAGIC = 'EHB1';
export const HB_MAC_LEN = 32;
export const HB_MAX_PAYLOAD = 4096;

export interface Heartbeat {
  bootTime: bigint;
  nonce: bigint;
  seq: bigint;
  name: string;
  payload: Uint8Array;
}

export type HeartbeatDrop = 'malformed' | 'unauthenticated' | 'replayed' | 'unknown-sender';

export function encodeHeartbeat(h: Heartbeat, key: Uint8Array): Buffer {
  const name = Buffer.from(h.name, 'utf8');
  if (name.length > 255) throw new RangeError('node name longer than 255 bytes');
  if (h.payload.length > HB_MAX_PAYLOAD) throw new RangeError('heartbeat payload too long');
  const b = Buffer.alloc(28 + 1 + name.length + 2 + h.payload.length + HB_MAC_LEN);
  b.write(HB_MAGIC, 0, 'latin1');
  b.writeBigUInt64BE(h.bootTime, 4);
  b.writeBigUInt64BE(h.nonce, 12);
  b.writeBigUInt64BE(h.seq, 20);
  b[28] = name.length;
  name.copy(b, 29);
  let o = 29 + name.length;
  b.writeUInt16BE(h.payload.length, o);
  b.set(h.payload, o + 2);
  o += 2 + h.payload.length;
  createHmac('sha256', key).update(b.subarray(0, o)).digest().copy(b, o);
  return b;
}

/** Verify the MAC first, then parse; never throws. */
export function decodeHeartbeat(b: Uint8Array, key: Uint8Array): { ok: true; hb: Heartbeat } | { ok: false; reason: HeartbeatDrop } {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length < 28 + 1 + 2 + HB_MAC_LEN || buf.toString('latin1', 0, 4) !== HB_MAGIC) return { ok: false, reason: 'malformed' };
  const body = buf.subarray(0, buf.length - HB_MAC_LEN);
  const want = createHmac('sha256', key).update(body).digest();
  if (!timingSafeEqual(want, buf.subarray(buf.length - HB_MAC_LEN))) return { ok: false, reason: 'unauthenticated' };
  const nl = buf[28]!;
  if (29 + nl + 2 > body.length) return { ok: false, reason: 'malformed' };
  const pl = buf.readUInt16BE(29 + nl);
  if (29 + nl + 2 + pl !== body.length) return { ok: false, reason: 'malformed' };
  return {
    ok: true,
    hb: {
      bootTime: buf.readBigUInt64BE(4),
      nonce: buf.readBigUInt64BE(12),
      seq: buf.readBigUInt64BE(20),
      name: buf.toString('utf8', 29, 29 + nl),
      payload: Uint8Array.from(buf.subarray(31 + nl, 31 + nl + pl)),
    },
  };
}

/** What a receiver remembers of one sender, to refuse replays. */
export interface ReplayState {
  bootTime: bigint;
  nonce: bigint;
  seq: bigint;
}

/**
 * Replay rule: within one boot the sequence number must grow; a different boot identity is
 * accepted only when its boot time is later (a restarted node), so a packet recorded from an
 * earlier boot is refused. Returns the new state, or null to drop the packet as replayed.
 */
export function checkReplay(prev: ReplayState | undefined, h: Heartbeat): ReplayState | null {
  const next = { bootTime: h.bootTime, nonce: h.nonce, seq: h.seq };
  if (!prev) return next;
  if (h.bootTime === prev.bootTime && h.nonce === prev.nonce) return h.seq > prev.seq ? next : null;
  return h.bootTime > prev.bootTime ? next : null;
}
