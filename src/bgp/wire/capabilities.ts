// Capabilities (RFC 5492) in OPEN: one table row per code with decode/encode/describe, plus typed constructors.
import { BgpDecodeError } from './errors.js';
import { CAPABILITY_NAMES, CapabilityCode, ErrorCode, OpenSubcode, familyName } from './constants.js';
import { BgpReader } from './reader.js';
import type { BgpWriter } from './writer.js';
import type { Capability, GracefulRestartCapability, GracefulRestartFamily } from './types.js';

function malformed(detail: string): BgpDecodeError {
  return new BgpDecodeError(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSPECIFIC, Buffer.alloc(0), 'session-reset', detail);
}

interface CapabilityRow {
  code: number;
  /** Decode the value bytes (reader bounded to them). */
  decode(r: BgpReader): Capability;
  /** Write the value bytes only. */
  encode(w: BgpWriter, cap: Capability): void;
}

function exact(len: number, r: BgpReader, name: string): void {
  if (r.remaining !== len) throw malformed(`${name} capability length ${r.remaining}, want ${len}`);
}

const ROWS: CapabilityRow[] = [
  {
    code: CapabilityCode.MULTIPROTOCOL,
    decode(r) {
      exact(4, r, 'multiprotocol');
      const afi = r.u16();
      r.u8(); // reserved
      return { type: 'mp', afi, safi: r.u8() };
    },
    encode(w, c) {
      if (c.type !== 'mp') return;
      w.u16(c.afi).u8(0).u8(c.safi);
    },
  },
  {
    code: CapabilityCode.ROUTE_REFRESH,
    decode(r) {
      exact(0, r, 'route-refresh');
      return { type: 'route-refresh' };
    },
    encode() {},
  },
  {
    code: CapabilityCode.EXTENDED_MESSAGE,
    decode(r) {
      exact(0, r, 'extended-message');
      return { type: 'extended-message' };
    },
    encode() {},
  },
  {
    code: CapabilityCode.ENHANCED_ROUTE_REFRESH,
    decode(r) {
      exact(0, r, 'enhanced-route-refresh');
      return { type: 'enhanced-route-refresh' };
    },
    encode() {},
  },
  {
    code: CapabilityCode.AS4,
    decode(r) {
      exact(4, r, '4-octet AS');
      const asn = r.u32();
      // RFC 7607: AS 0 is a Bad Peer AS
      if (asn === 0) throw new BgpDecodeError(ErrorCode.OPEN_MESSAGE, OpenSubcode.BAD_PEER_AS, Buffer.alloc(0), 'session-reset', '4-octet AS capability carries AS 0');
      return { type: 'as4', asn };
    },
    encode(w, c) {
      if (c.type === 'as4') w.u32(c.asn);
    },
  },
  {
    code: CapabilityCode.GRACEFUL_RESTART,
    decode(r) {
      if (r.remaining < 2 || (r.remaining - 2) % 4 !== 0) throw malformed(`graceful-restart capability length ${r.remaining}`);
      const head = r.u16();
      const families: GracefulRestartFamily[] = [];
      while (!r.atEnd) {
        const afi = r.u16();
        const safi = r.u8();
        families.push({ afi, safi, forwarding: (r.u8() & 0x80) !== 0 });
      }
      const cap: GracefulRestartCapability = { type: 'graceful-restart', restartTime: head & 0x0fff, restartState: (head & 0x8000) !== 0, families };
      if (head & 0x4000) cap.notification = true;
      return cap;
    },
    encode(w, c) {
      if (c.type !== 'graceful-restart') return;
      if (!(c.restartTime >= 0 && c.restartTime <= 4095)) throw new RangeError(`graceful restart time ${c.restartTime} must be 0..4095`);
      w.u16((c.restartState ? 0x8000 : 0) | (c.notification ? 0x4000 : 0) | (c.restartTime & 0x0fff));
      for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(f.forwarding ? 0x80 : 0);
    },
  },
];

const BY_CODE = new Map(ROWS.map((row) => [row.code, row]));
const CODE_OF: Record<Exclude<Capability['type'], 'unknown'>, number> = {
  mp: CapabilityCode.MULTIPROTOCOL,
  'route-refresh': CapabilityCode.ROUTE_REFRESH,
  'extended-message': CapabilityCode.EXTENDED_MESSAGE,
  'enhanced-route-refresh': CapabilityCode.ENHANCED_ROUTE_REFRESH,
  as4: CapabilityCode.AS4,
  'graceful-restart': CapabilityCode.GRACEFUL_RESTART,
};

export function capabilityCode(c: Capability): number {
  return c.type === 'unknown' ? c.code : CODE_OF[c.type];
}

/** Decode the capabilities inside one optional parameter of type 2. */
export function decodeCapabilities(r: BgpReader): Capability[] {
  const out: Capability[] = [];
  while (!r.atEnd) {
    const code = r.u8('capability code');
    const len = r.u8('capability length');
    const vr = r.sub(len, 'capability value');
    const row = BY_CODE.get(code);
    out.push(row ? row.decode(vr) : { type: 'unknown', code, value: Buffer.from(vr.rest()) });
  }
  return out;
}

/** Write one capability (code, length, value). */
export function encodeCapability(w: BgpWriter, c: Capability): void {
  w.u8(capabilityCode(c));
  const lenAt = w.reserveU8();
  const start = w.length;
  if (c.type === 'unknown') w.bytes(c.value);
  else BY_CODE.get(CODE_OF[c.type])!.encode(w, c);
  const len = w.length - start;
  if (len > 255) throw new RangeError(`capability ${capabilityCode(c)} value is ${len} bytes (max 255)`);
  w.setU8(lenAt, len);
}

export function describeCapability(c: Capability): string {
  switch (c.type) {
    case 'mp':
      return `mp(${familyName(c.afi, c.safi)})`;
    case 'as4':
      return `as4(${c.asn})`;
    case 'graceful-restart':
      return `graceful-restart(time ${c.restartTime}${c.restartState ? ' R' : ''}${c.notification ? ' N' : ''}${c.families
        .map((f) => ` ${familyName(f.afi, f.safi)}${f.forwarding ? '+F' : ''}`)
        .join('')})`;
    case 'unknown':
      return `${CAPABILITY_NAMES.get(c.code) ?? `cap${c.code}`}(${c.value.toString('hex')})`;
    default:
      return c.type;
  }
}

// ---- typed constructors ----

export const mpCapability = (afi: number, safi: number): Capability => ({ type: 'mp', afi, safi });
export const as4Capability = (asn: number): Capability => ({ type: 'as4', asn });
export const gracefulRestartCapability = (restartTime: number, restartState: boolean, families: GracefulRestartFamily[]): Capability => ({
  type: 'graceful-restart',
  restartTime,
  restartState,
  families,
});
