// The BFD offload port: what an XDP program needs to keep a router's BFD session Up while no
// daemon runs (kill -9, upgrade), and what the next daemon reads back to resume the session
// without a state change or a replayed sequence number. docs/bfd.md gives the design; in short:
// XDP cannot keep time and cannot compute SHA-1, so it answers each control packet the router
// sends (which arrive every negotiated interval) with the next of a window of packets the daemon
// encoded and signed ahead, and it answers only while the daemon's lease has expired.
import { encodeSigned, isMeticulous } from './auth.js';
import { BfdState } from './packet.js';
import type { BfdSession } from './session.js';

/** One Up session, as the daemon publishes it for the offload (a row of the pinned table). */
export interface BfdOffloadSession {
  key: string;
  family: 4 | 6;
  /** Our address and UDP source port: what the router's packets are sent to, and from where ours come. */
  local: string;
  srcPort: number;
  peer: string;
  /** 3784 (single hop, RFC 5881: TTL 255 sent, and required on what is answered) or 4784 (multihop). */
  dstPort: number;
  multihop: boolean;
  localDiscr: number;
  remoteDiscr: number;
  detectMult: number;
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  /** The router's advertised values: it sends every max(remoteDesiredMinTxUs, requiredMinRxUs) and
   *  declares us down after detectMult x max(remoteMinRxUs, desiredMinTxUs) without an answer. */
  remoteDesiredMinTxUs: number;
  remoteMinRxUs: number;
  remoteDetectMult: number;
  /** None for an unauthenticated session. */
  auth?: { type: number; keyId: number; meticulous: boolean };
  /**
   * UDP payloads to answer with: frames[i] carries sequence number firstSeq + i (the session's Up
   * packet, no Poll or Final). Meticulous authentication needs one per answer, the one after the
   * last number on the wire (nextFrame); keyed authentication and none need one, answered again and
   * again (RFC 5880 6.7.3 accepts a repeated sequence number for keyed types).
   */
  firstSeq: number;
  frames: Buffer[];
}

/** What went on the wire for a session, read back by the next daemon. */
export interface BfdOffloadProgress {
  key: string;
  /** Frames the offload sent. */
  sent: number;
  /** The last sequence number used on the wire, by the daemon (its lease renewals) or the offload. */
  lastSeq: number;
}

/** The port an XDP offload implements; the daemon writes through it, the next daemon reads it. */
export interface BfdOffloadPort {
  /** Replace the table with these sessions (a session not listed is no longer answered). */
  publish(sessions: BfdOffloadSession[]): void;
  /**
   * The daemon is alive until `untilMs` (monotonic): the offload stays silent until then. The
   * daemon renews it with every packet it sends (until = now + 1.5 x its interval), so the lease
   * ends within one interval of its death. lastSeq: per session key, the sequence number of that
   * packet, written before it is sent, so the offload starts after the last one on the wire.
   */
  renewLease(untilMs: number, lastSeq: Readonly<Record<string, number>>): void;
  /** What the table holds and what was sent from it (a new daemon's first call). */
  read(): { sessions: BfdOffloadSession[]; progress: BfdOffloadProgress[] };
}

/** How a new daemon resumes an Up session the offload kept alive. */
export interface BfdResume {
  localDiscr: number;
  remoteDiscr: number;
  remoteMinRxUs: number;
  remoteDesiredMinTxUs: number;
  remoteDetectMult: number;
  /** The last sequence number the peer saw from us: the next packet uses the one after. */
  xmitAuthSeq: number;
  /** The session's UDP source port (XDP answered from it): the new daemon sends from it again. */
  srcPort?: number;
}

/**
 * The offload row of an Up session: `window` frames signed ahead, numbered from the one after the
 * session's last sequence number. The daemon's own packets use the same numbers as it goes on (it
 * reports the last one with each lease renewal, and republishes before half the window is used),
 * so whoever sends, a number is never used twice. Undefined for a session that is not Up, or whose
 * source address is unknown (the offload builds the IP header from it).
 */
export function offloadSession(s: BfdSession, o: { local?: string; srcPort: number; dstPort: number; window: number }): BfdOffloadSession | undefined {
  const local = o.local ?? s.cfg.local;
  if (s.state !== BfdState.Up || !local) return undefined;
  const v = s.view();
  const auth = s.cfg.auth;
  const meticulous = auth ? isMeticulous(auth.type) : false;
  const count = auth && meticulous ? Math.max(1, o.window) : 1;
  // meticulous: numbered from the one after the last used; keyed: the number in use, repeated
  const firstSeq = meticulous ? (s.xmitAuthSeq + 1) >>> 0 : s.xmitAuthSeq;
  const packet = s.controlPacket(false, false);
  const frames = Array.from({ length: count }, (_, i) => encodeSigned(packet, auth, (firstSeq + i) >>> 0));
  return {
    key: s.cfg.key,
    family: local.includes(':') ? 6 : 4,
    local,
    srcPort: o.srcPort,
    peer: s.cfg.peer,
    dstPort: o.dstPort,
    multihop: s.cfg.multihop,
    localDiscr: s.localDiscr,
    remoteDiscr: s.remoteDiscr,
    detectMult: s.cfg.multiplier,
    desiredMinTxUs: v.desiredMinTxUs,
    requiredMinRxUs: v.requiredMinRxUs,
    remoteDesiredMinTxUs: v.remoteDesiredMinTxUs,
    remoteMinRxUs: v.remoteMinRxUs,
    remoteDetectMult: v.remoteDetectMult,
    ...(auth ? { auth: { type: auth.type, keyId: auth.keyId, meticulous } } : {}),
    firstSeq,
    frames,
  };
}

/** The resume state of a published row after what went on the wire (a new daemon's start). */
export function resumeOf(row: BfdOffloadSession, progress: BfdOffloadProgress | undefined): BfdResume {
  return {
    localDiscr: row.localDiscr,
    remoteDiscr: row.remoteDiscr,
    remoteMinRxUs: row.remoteMinRxUs,
    remoteDesiredMinTxUs: row.remoteDesiredMinTxUs,
    remoteDetectMult: row.remoteDetectMult,
    xmitAuthSeq: progress?.lastSeq ?? (row.auth?.meticulous ? (row.firstSeq - 1) >>> 0 : row.firstSeq),
    srcPort: row.srcPort,
  };
}

/**
 * The frame the offload answers with next, given the last sequence number on the wire: for
 * meticulous authentication the one numbered lastSeq + 1 (undefined once the window is used up:
 * the offload goes silent and the router's detection time runs), else the single frame.
 */
export function nextFrame(row: BfdOffloadSession, lastSeq: number): { frame: Buffer; seq: number } | undefined {
  if (!row.auth?.meticulous) return { frame: row.frames[0]!, seq: row.firstSeq };
  const i = ((lastSeq + 1 - row.firstSeq) >>> 0);
  const frame = row.frames[i];
  return frame ? { frame, seq: (row.firstSeq + i) >>> 0 } : undefined;
}
