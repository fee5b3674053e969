// OPEN message (RFC 4271 §4.2, RFC 9072 extended parameters): decode with §6.2 checks, encode, describe, construct.
import { EdgelbError } from '../../lib/errors.js';
import { AS_TRANS, BGP_VERSION, ErrorCode, HeaderSubcode, MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH, OpenSubcode, OptionalParameterType } from './constants.js';
import { BgpDecodeError } from './errors.js';
import { BgpReader } from './reader.js';
import { ipv4Number, ipv4String } from './ipv4.js';
import { decodeCapabilities, describeCapability, encodeCapability } from './capabilities.js';
import { BgpWriter, BgpWriter as Writer } from './writer.js';
import type { AfiSafi, Capability, CodecContext, OpenMessage } from './types.js';

const openError = (subcode: number, detail: string, data: Uint8Array = Buffer.alloc(0)) =>
  new BgpDecodeError(ErrorCode.OPEN_MESSAGE, subcode, data, 'session-reset', detail);

/** Decode an OPEN body (after the header); `lengthField` is the header's length, for Bad Message Length data. */
export function decodeOpen(body: Buffer, lengthField: number): OpenMessage {
  const badLength = (detail: string) => {
    const data = Buffer.alloc(2);
    data.writeUInt16BE(lengthField);
    return new BgpDecodeError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, data, 'session-reset', `OPEN ${detail}`);
  };
  const r = new BgpReader(body, badLength);
  const version = r.u8('version');
  // §6.2: the data is the largest locally supported version number
  if (version !== BGP_VERSION) throw openError(OpenSubcode.UNSUPPORTED_VERSION, `version ${version}`, Buffer.from([0, BGP_VERSION]));
  const myAsn = r.u16('my AS');
  const holdTime = r.u16('hold time');
  const id = r.u32('BGP identifier');
  let optLen = r.u8('optional parameters length');
  let extended = false;
  // RFC 9072: a non-extended length of 255 followed by parameter type 255 announces 2-byte lengths
  if (optLen === 255 && r.remaining >= 3 && body[r.offset] === 255) {
    r.u8();
    optLen = r.u16('extended optional parameters length');
    extended = true;
  }
  if (optLen !== r.remaining) throw badLength(`optional parameters length ${optLen} but ${r.remaining} bytes follow`);
  const malformed = (detail: string) => openError(OpenSubcode.UNSPECIFIC, detail);
  const params = r.sub(optLen, 'optional parameters', malformed);
  const capabilities: Capability[] = [];
  while (!params.atEnd) {
    const type = params.u8('parameter type');
    const len = extended ? params.u16('parameter length') : params.u8('parameter length');
    const value = params.sub(len, 'parameter value');
    if (type !== OptionalParameterType.CAPABILITIES) throw openError(OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER, `optional parameter type ${type}`);
    capabilities.push(...decodeCapabilities(value));
  }
  // RFC 7607: AS 0 is never acceptable
  if (myAsn === 0) throw openError(OpenSubcode.BAD_PEER_AS, 'my AS is 0', Buffer.from([0, 0]));
  if (holdTime === 1 || holdTime === 2) throw openError(OpenSubcode.UNACCEPTABLE_HOLD_TIME, `hold time ${holdTime}`);
  // RFC 6286: any non-zero 32-bit value is a valid identifier
  if (id === 0) throw openError(OpenSubcode.BAD_BGP_IDENTIFIER, 'BGP identifier 0.0.0.0', body.subarray(5, 9));
  return { type: 'open', version, myAsn, holdTime, bgpId: ipv4String(id), capabilities };
}

export function encodeOpen(w: BgpWriter, m: OpenMessage): void {
  if (!Number.isInteger(m.myAsn) || m.myAsn < 0 || m.myAsn > 0xffff) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `OPEN myAsn ${m.myAsn} must fit 2 bytes (use AS_TRANS)`);
  w.u8(m.version).u16(m.myAsn).u16(m.holdTime).u32(ipv4Number(m.bgpId));
  // one capabilities parameter per run of capabilities that fits 255 bytes
  const chunks: Buffer[] = [];
  let cur = new Writer(64);
  for (const c of m.capabilities) {
    const one = new Writer(16);
    encodeCapability(one, c);
    if (cur.length + one.length > 255) {
      chunks.push(cur.toBuffer());
      cur = new Writer(64);
    }
    cur.bytes(one.toBuffer());
  }
  if (cur.length > 0) chunks.push(cur.toBuffer());
  const total = chunks.reduce((n, c) => n + 2 + c.length, 0);
  if (total > 255) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `OPEN optional parameters are ${total} bytes (max 255)`);
  w.u8(total);
  for (const c of chunks) w.u8(OptionalParameterType.CAPABILITIES).u8(c.length).bytes(c);
}

export function describeOpen(m: OpenMessage): string {
  return `OPEN v${m.version} as ${peerAsn(m)} hold ${m.holdTime} id ${m.bgpId} caps [${m.capabilities.map(describeCapability).join(' ')}]`;
}

// ---- constructor and session helpers ----

export interface OpenOptions {
  asn: number;
  holdTime: number;
  bgpId: string;
  /** Capabilities besides 4-octet AS (added from `asn` unless present). */
  capabilities?: Capability[];
}

/** A typed OPEN: myAsn is AS_TRANS for a 4-byte ASN, and the 4-octet AS capability is always sent. */
export function openMessage(o: OpenOptions): OpenMessage {
  const caps = [...(o.capabilities ?? [])];
  if (!caps.some((c) => c.type === 'as4')) caps.push({ type: 'as4', asn: o.asn });
  return { type: 'open', version: BGP_VERSION, myAsn: o.asn > 0xffff ? AS_TRANS : o.asn, holdTime: o.holdTime, bgpId: o.bgpId, capabilities: caps };
}

/** The peer's real AS: the 4-octet AS capability if sent, else the 2-byte field. */
export function peerAsn(open: OpenMessage): number {
  const c = open.capabilities.find((x) => x.type === 'as4');
  return c && c.type === 'as4' ? c.asn : open.myAsn;
}

export function findCapability<T extends Capability['type']>(open: OpenMessage, type: T): Extract<Capability, { type: T }> | undefined {
  return open.capabilities.find((c) => c.type === type) as Extract<Capability, { type: T }> | undefined;
}

/** Address families the OPEN announces (RFC 4760: none announced means IPv4 unicast only). */
export function openFamilies(open: OpenMessage): AfiSafi[] {
  const mp = open.capabilities.filter((c) => c.type === 'mp') as AfiSafi[];
  return mp.length > 0 ? mp.map((c) => ({ afi: c.afi, safi: c.safi })) : [{ afi: 1, safi: 1 }];
}
