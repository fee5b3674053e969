// BFD authentication (RFC 5880 sections 6.7.2-6.7.4): signing outgoing control packets and
// checking received ones (type, key ID, sequence window against replay, password or digest).
// Pure apart from node:crypto; the session keeps the AuthRxState / AuthTxState it passes in.
import { createHash, timingSafeEqual } from 'node:crypto';
import { AUTH_LEN, BFD_HEADER_LEN, BfdAuthType, encodeControl, type BfdControlPacket, type BfdDrop } from './packet.js';

export type BfdAuthName = 'simple' | 'keyed-md5' | 'meticulous-keyed-md5' | 'keyed-sha1' | 'meticulous-keyed-sha1';

export const AUTH_TYPE_BY_NAME: Record<BfdAuthName, BfdAuthType> = {
  simple: BfdAuthType.SimplePassword,
  'keyed-md5': BfdAuthType.KeyedMd5,
  'meticulous-keyed-md5': BfdAuthType.MeticulousKeyedMd5,
  'keyed-sha1': BfdAuthType.KeyedSha1,
  'meticulous-keyed-sha1': BfdAuthType.MeticulousKeyedSha1,
};

/** One session's authentication: the type, the key ID sent and accepted, the secret. */
export interface BfdAuthConfig {
  type: BfdAuthType.SimplePassword | BfdAuthType.KeyedMd5 | BfdAuthType.MeticulousKeyedMd5 | BfdAuthType.KeyedSha1 | BfdAuthType.MeticulousKeyedSha1;
  keyId: number;
  /** 1..16 bytes (simple, MD5) or 1..20 bytes (SHA-1). Never logged. */
  key: Buffer;
}

/** Receive side: bfd.RcvAuthSeq and bfd.AuthSeqKnown. */
export interface AuthRxState {
  known: boolean;
  seq: number;
}

/** Largest secret per type (sections 4.2-4.4). */
export function maxKeyLength(type: BfdAuthType): number {
  return type === BfdAuthType.KeyedSha1 || type === BfdAuthType.MeticulousKeyedSha1 ? 20 : 16;
}

export function isMeticulous(type: BfdAuthType): boolean {
  return type === BfdAuthType.MeticulousKeyedMd5 || type === BfdAuthType.MeticulousKeyedSha1;
}

function hashName(type: BfdAuthType): 'md5' | 'sha1' {
  return type === BfdAuthType.KeyedSha1 || type === BfdAuthType.MeticulousKeyedSha1 ? 'sha1' : 'md5';
}

/** The key padded with zeros to the digest length (the value the digest field holds while hashing). */
function paddedKey(cfg: BfdAuthConfig): Buffer {
  const out = Buffer.alloc(maxKeyLength(cfg.type));
  cfg.key.copy(out, 0, 0, out.length);
  return out;
}

/**
 * Encode p with cfg's authentication section and sequence number seq (ignored for simple
 * password): the digest is computed over the whole packet with the padded key in the digest
 * field, then written in its place (sections 6.7.3, 6.7.4).
 */
export function encodeSigned(p: BfdControlPacket, cfg: BfdAuthConfig | undefined, seq: number): Buffer {
  if (!cfg) return encodeControl({ ...p, auth: undefined });
  if (cfg.type === BfdAuthType.SimplePassword) return encodeControl({ ...p, auth: { type: cfg.type, keyId: cfg.keyId, password: cfg.key } });
  const key = paddedKey(cfg);
  const buf = encodeControl({ ...p, auth: { type: cfg.type, keyId: cfg.keyId, seq: seq >>> 0, digest: key } });
  const digest = createHash(hashName(cfg.type)).update(buf).digest();
  digest.copy(buf, BFD_HEADER_LEN + 8);
  return buf;
}

/** seq in [lo, lo+span] modulo 2^32 (section 6.7.3's window). */
export function seqInWindow(seq: number, lo: number, span: number): boolean {
  return ((seq - lo) >>> 0) <= span;
}

/**
 * Check a received packet's authentication against the session's configuration (RFC 5880 6.8.6's
 * A-bit rules, then 6.7.2-6.7.4). raw is the datagram as received; p its decoding. On success the
 * receive state moves to the packet's sequence number and null is returned; on failure the state
 * is unchanged and the reason is returned.
 */
export function checkAuth(raw: Buffer, p: BfdControlPacket, cfg: BfdAuthConfig | undefined, rx: AuthRxState): BfdDrop | null {
  if (!cfg) return p.auth ? 'auth-unexpected' : null;
  const a = p.auth;
  if (!a) return 'auth-missing';
  if (a.type !== cfg.type) return 'auth-type';
  if (a.keyId !== cfg.keyId) return 'auth-key-id';
  if (a.type === BfdAuthType.SimplePassword) {
    if (a.password.length !== cfg.key.length || !timingSafeEqual(a.password, cfg.key)) return 'auth-digest';
    return null;
  }
  const meticulous = isMeticulous(a.type);
  if (rx.known) {
    // keyed: [RcvAuthSeq, RcvAuthSeq + 3*DetectMult]; meticulous: [RcvAuthSeq + 1, RcvAuthSeq + 3*DetectMult]
    const lo = meticulous ? (rx.seq + 1) >>> 0 : rx.seq;
    const span = 3 * p.detectMult - (meticulous ? 1 : 0);
    if (!seqInWindow(a.seq, lo, span)) return 'auth-seq';
  }
  const len = BFD_HEADER_LEN + AUTH_LEN[a.type]!;
  const copy = Buffer.from(raw.subarray(0, len));
  paddedKey(cfg).copy(copy, BFD_HEADER_LEN + 8);
  const want = createHash(hashName(a.type)).update(copy).digest();
  if (!timingSafeEqual(want, raw.subarray(BFD_HEADER_LEN + 8, len))) return 'auth-digest';
  rx.known = true;
  rx.seq = a.seq;
  return null;
}
