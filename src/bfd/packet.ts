// BFD control packet codec (RFC 5880 section 4): Buffer <-> typed packet, with the optional
// authentication section (4.2-4.4). Pure: no sockets, no timers, no logger. Decoding never throws:
// it returns the packet or the reason of section 6.8.6 the packet must be discarded for, so the
// caller can count it.

export const BFD_VERSION = 1;
/** Mandatory section length (section 4.1). */
export const BFD_HEADER_LEN = 24;
/** RFC 5881 / 5883 destination ports. */
export const BFD_PORT_SINGLE_HOP = 3784;
export const BFD_PORT_MULTI_HOP = 4784;
/** RFC 5881 section 4: source ports. */
export const BFD_SRC_PORT_MIN = 49152;
export const BFD_SRC_PORT_MAX = 65535;

/** Session states (section 4.1 "Sta"). */
export enum BfdState {
  AdminDown = 0,
  Down = 1,
  Init = 2,
  Up = 3,
}
export const STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'] as const;
export type BfdStateName = (typeof STATE_NAMES)[number];

/** Diagnostic codes (section 4.1 "Diag"). */
export enum BfdDiag {
  None = 0,
  ControlDetectionTimeExpired = 1,
  EchoFunctionFailed = 2,
  NeighborSignaledSessionDown = 3,
  ForwardingPlaneReset = 4,
  PathDown = 5,
  ConcatenatedPathDown = 6,
  AdministrativelyDown = 7,
  ReverseConcatenatedPathDown = 8,
}

/** Authentication types (section 4.1 "Auth Type"). */
export enum BfdAuthType {
  None = 0,
  SimplePassword = 1,
  KeyedMd5 = 2,
  MeticulousKeyedMd5 = 3,
  KeyedSha1 = 4,
  MeticulousKeyedSha1 = 5,
}

/** Auth Len of the digest types (sections 4.3, 4.4); simple password is 4..19 (4.2). */
export const AUTH_LEN: Partial<Record<BfdAuthType, number>> = {
  [BfdAuthType.KeyedMd5]: 24,
  [BfdAuthType.MeticulousKeyedMd5]: 24,
  [BfdAuthType.KeyedSha1]: 28,
  [BfdAuthType.MeticulousKeyedSha1]: 28,
};

export type BfdAuthSection =
  | { type: BfdAuthType.SimplePassword; keyId: number; password: Buffer }
  | { type: BfdAuthType.KeyedMd5 | BfdAuthType.MeticulousKeyedMd5 | BfdAuthType.KeyedSha1 | BfdAuthType.MeticulousKeyedSha1; keyId: number; seq: number; digest: Buffer };

export interface BfdControlPacket {
  version: number;
  diag: BfdDiag;
  state: BfdState;
  poll: boolean;
  final: boolean;
  /** Control Plane Independent. */
  cpi: boolean;
  demand: boolean;
  /** Multipoint: always false on the wire we accept. */
  multipoint: boolean;
  detectMult: number;
  myDiscr: number;
  yourDiscr: number;
  /** Microseconds. */
  desiredMinTx: number;
  requiredMinRx: number;
  requiredMinEchoRx: number;
  auth?: BfdAuthSection;
}

/** Why a received packet was discarded: the checks of RFC 5880 6.8.6 and 6.7, in their order. */
export type BfdDrop =
  | 'short' // shorter than the mandatory section (or its Length field)
  | 'version'
  | 'length' // Length < 24, < 26 with A, or more than the datagram
  | 'detect-mult-zero'
  | 'multipoint'
  | 'my-discr-zero'
  | 'your-discr-zero-state' // Your Discriminator 0 while State is not Down/AdminDown
  | 'auth-malformed' // Auth Len does not match the type, or overruns Length
  | 'unknown-session'
  | 'auth-unexpected' // A set, no authentication configured
  | 'auth-missing' // A clear, authentication configured
  | 'auth-type' // a different type than configured
  | 'auth-key-id'
  | 'auth-seq' // sequence number out of the window (replayed or too old)
  | 'auth-digest' // wrong digest or password
  | 'ttl' // RFC 5881 section 5: single-hop packet with TTL/hop limit below 255
  | 'source' // from a port or address this session does not accept
  | 'rate'; // over the per-source receive budget

export type DecodeResult = { ok: true; packet: BfdControlPacket } | { ok: false; drop: BfdDrop };

const FLAG_P = 0x20;
const FLAG_F = 0x10;
const FLAG_C = 0x08;
const FLAG_A = 0x04;
const FLAG_D = 0x02;
const FLAG_M = 0x01;

/**
 * Decode one BFD control packet (the UDP payload). Applies the packet-only checks of 6.8.6
 * (version, length, detect mult, multipoint, my/your discriminator); the session-dependent checks
 * (which session, authentication) belong to the caller.
 */
export function decodeControl(buf: Buffer): DecodeResult {
  if (buf.length < BFD_HEADER_LEN) return { ok: false, drop: 'short' };
  const version = buf[0]! >> 5;
  if (version !== BFD_VERSION) return { ok: false, drop: 'version' };
  const flags = buf[1]!;
  const hasAuth = (flags & FLAG_A) !== 0;
  const length = buf[3]!;
  if (length < BFD_HEADER_LEN || (hasAuth && length < BFD_HEADER_LEN + 2) || length > buf.length) return { ok: false, drop: 'length' };
  const detectMult = buf[2]!;
  if (detectMult === 0) return { ok: false, drop: 'detect-mult-zero' };
  if (flags & FLAG_M) return { ok: false, drop: 'multipoint' };
  const myDiscr = buf.readUInt32BE(4);
  if (myDiscr === 0) return { ok: false, drop: 'my-discr-zero' };
  const yourDiscr = buf.readUInt32BE(8);
  const state = (flags >> 6) as BfdState;
  if (yourDiscr === 0 && state !== BfdState.Down && state !== BfdState.AdminDown) return { ok: false, drop: 'your-discr-zero-state' };
  const packet: BfdControlPacket = {
    version,
    diag: (buf[0]! & 0x1f) as BfdDiag,
    state,
    poll: (flags & FLAG_P) !== 0,
    final: (flags & FLAG_F) !== 0,
    cpi: (flags & FLAG_C) !== 0,
    demand: (flags & FLAG_D) !== 0,
    multipoint: false,
    detectMult,
    myDiscr,
    yourDiscr,
    desiredMinTx: buf.readUInt32BE(12),
    requiredMinRx: buf.readUInt32BE(16),
    requiredMinEchoRx: buf.readUInt32BE(20),
  };
  if (hasAuth) {
    const auth = decodeAuth(buf.subarray(BFD_HEADER_LEN, length));
    if (!auth) return { ok: false, drop: 'auth-malformed' };
    packet.auth = auth;
  }
  return { ok: true, packet };
}

function decodeAuth(b: Buffer): BfdAuthSection | undefined {
  const type = b[0]! as BfdAuthType;
  const len = b[1]!;
  if (len !== b.length || len < 3) return undefined; // the section fills the rest of Length exactly
  if (type === BfdAuthType.SimplePassword) {
    if (len < 4 || len > 19) return undefined; // password 1..16 bytes
    return { type, keyId: b[2]!, password: Buffer.from(b.subarray(3, len)) };
  }
  const want = AUTH_LEN[type];
  if (want === undefined || len !== want) return undefined;
  return {
    type: type as Exclude<BfdAuthType, BfdAuthType.None | BfdAuthType.SimplePassword>,
    keyId: b[2]!,
    seq: b.readUInt32BE(4),
    digest: Buffer.from(b.subarray(8, len)),
  };
}

/** Encode a control packet; the auth section (if any) is written as given (see auth.ts to sign). */
export function encodeControl(p: BfdControlPacket): Buffer {
  const authLen = p.auth ? authSectionLength(p.auth) : 0;
  const out = Buffer.alloc(BFD_HEADER_LEN + authLen);
  out[0] = ((p.version & 0x7) << 5) | (p.diag & 0x1f);
  out[1] =
    ((p.state & 0x3) << 6) |
    (p.poll ? FLAG_P : 0) |
    (p.final ? FLAG_F : 0) |
    (p.cpi ? FLAG_C : 0) |
    (p.auth ? FLAG_A : 0) |
    (p.demand ? FLAG_D : 0) |
    (p.multipoint ? FLAG_M : 0);
  out[2] = p.detectMult & 0xff;
  out[3] = out.length;
  out.writeUInt32BE(p.myDiscr >>> 0, 4);
  out.writeUInt32BE(p.yourDiscr >>> 0, 8);
  out.writeUInt32BE(p.desiredMinTx >>> 0, 12);
  out.writeUInt32BE(p.requiredMinRx >>> 0, 16);
  out.writeUInt32BE(p.requiredMinEchoRx >>> 0, 20);
  if (p.auth) {
    const a = p.auth;
    out[24] = a.type;
    out[25] = authLen;
    out[26] = a.keyId & 0xff;
    if (a.type === BfdAuthType.SimplePassword) a.password.copy(out, 27);
    else {
      out.writeUInt32BE(a.seq >>> 0, 28);
      a.digest.copy(out, 32, 0, authLen - 8);
    }
  }
  return out;
}

export function authSectionLength(a: BfdAuthSection): number {
  if (a.type === BfdAuthType.SimplePassword) return 3 + a.password.length;
  return AUTH_LEN[a.type]!;
}

/** One line for logs (never the password or digest). */
export function controlToString(p: BfdControlPacket): string {
  const flags = `${p.poll ? 'P' : ''}${p.final ? 'F' : ''}${p.cpi ? 'C' : ''}${p.auth ? 'A' : ''}${p.demand ? 'D' : ''}`;
  const auth = p.auth ? ` auth=${BfdAuthType[p.auth.type]}/${p.auth.keyId}${'seq' in p.auth ? `#${p.auth.seq}` : ''}` : '';
  return `BFD v${p.version} ${STATE_NAMES[p.state]} diag=${BfdDiag[p.diag] ?? p.diag} [${flags}] mult=${p.detectMult} my=${p.myDiscr} your=${p.yourDiscr} tx=${p.desiredMinTx}us rx=${p.requiredMinRx}us echo=${p.requiredMinEchoRx}us${auth}`;
}

/** A control packet with the fields a sender does not vary filled in. */
export function controlPacket(f: Partial<BfdControlPacket> & Pick<BfdControlPacket, 'state' | 'myDiscr' | 'yourDiscr' | 'detectMult' | 'desiredMinTx' | 'requiredMinRx'>): BfdControlPacket {
  return { version: BFD_VERSION, diag: BfdDiag.None, poll: false, final: false, cpi: false, demand: false, multipoint: false, requiredMinEchoRx: 0, ...f };
}
