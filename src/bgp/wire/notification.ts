// NOTIFICATION (RFC 4271 §4.5) with shutdown communication (RFC 9003), KEEPALIVE, and ROUTE-REFRESH (RFC 2918, RFC 7313).
import { CeaseSubcode, ErrorCode, HeaderSubcode, RouteRefreshSubcode, familyName } from './constants.js';
import { BgpDecodeError, errorName } from './errors.js';
import { BgpReader } from './reader.js';
import type { BgpWriter } from './writer.js';
import type { KeepaliveMessage, NotificationMessage, RouteRefreshMessage } from './types.js';

export function decodeNotification(body: Buffer): NotificationMessage {
  // the header check guarantees the 2 bytes of code and subcode
  return { type: 'notification', code: body[0]!, subcode: body[1]!, data: Buffer.from(body.subarray(2)) };
}

export function encodeNotification(w: BgpWriter, m: NotificationMessage): void {
  w.u8(m.code).u8(m.subcode).bytes(m.data);
}

export function describeNotification(m: NotificationMessage): string {
  let s = `NOTIFICATION ${errorName(m.code, m.subcode)} (${m.code}/${m.subcode})`;
  const text = m.code === ErrorCode.CEASE ? parseShutdownCommunication(m) : undefined;
  if (text !== undefined) s += ` ${JSON.stringify(text)}`;
  else if (m.data.length) s += ` data ${m.data.subarray(0, 64).toString('hex')}${m.data.length > 64 ? '…' : ''}`;
  return s;
}

/** Typed constructor. */
export function notificationMessage(code: number, subcode: number, data: Uint8Array = Buffer.alloc(0)): NotificationMessage {
  return { type: 'notification', code, subcode, data: Buffer.from(data) };
}

/** Cease with a shutdown communication (RFC 9003: length byte + UTF-8, at most 255 bytes, cut on a character boundary). */
export function shutdownNotification(subcode: number = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, text = ''): NotificationMessage {
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length > 255) {
    let cut = 255;
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    bytes = bytes.subarray(0, cut);
  }
  return notificationMessage(ErrorCode.CEASE, subcode, Buffer.concat([Buffer.from([bytes.length]), bytes]));
}

/** The shutdown communication of a Cease administrative shutdown/reset, if well formed. */
export function parseShutdownCommunication(m: NotificationMessage): string | undefined {
  if (m.code !== ErrorCode.CEASE || (m.subcode !== CeaseSubcode.ADMINISTRATIVE_SHUTDOWN && m.subcode !== CeaseSubcode.ADMINISTRATIVE_RESET)) return undefined;
  if (m.data.length < 1 || m.data[0] !== m.data.length - 1) return undefined;
  const text = m.data.subarray(1).toString('utf8');
  return Buffer.from(text, 'utf8').equals(m.data.subarray(1)) ? text : undefined;
}

export const keepaliveMessage = (): KeepaliveMessage => ({ type: 'keepalive' });

/** `message` is the whole message, the data of an Invalid Message Length error. */
export function decodeRouteRefresh(body: Buffer, message: Buffer): RouteRefreshMessage {
  const r = new BgpReader(body, (d) => new BgpDecodeError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, message.subarray(16, 18), 'session-reset', d));
  const afi = r.u16('afi');
  const subtype = r.u8('subtype');
  const safi = r.u8('safi');
  if (!r.atEnd) {
    // RFC 7313 §5: for BoRR/EoRR the whole message is the data; RFC 2918 has only the header error
    if (subtype === 1 || subtype === 2)
      throw new BgpDecodeError(ErrorCode.ROUTE_REFRESH, RouteRefreshSubcode.INVALID_MESSAGE_LENGTH, message, 'session-reset', `ROUTE-REFRESH length ${message.length}`);
    throw new BgpDecodeError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, message.subarray(16, 18), 'session-reset', `ROUTE-REFRESH length ${message.length}`);
  }
  return { type: 'route-refresh', afi, safi, subtype };
}

export function encodeRouteRefresh(w: BgpWriter, m: RouteRefreshMessage): void {
  w.u16(m.afi).u8(m.subtype).u8(m.safi);
}

export function describeRouteRefresh(m: RouteRefreshMessage): string {
  const sub = m.subtype === 0 ? '' : m.subtype === 1 ? ' BoRR' : m.subtype === 2 ? ' EoRR' : ` subtype ${m.subtype}`;
  return `ROUTE-REFRESH ${familyName(m.afi, m.safi)}${sub}`;
}

export const routeRefreshMessage = (afi: number, safi: number, subtype = 0): RouteRefreshMessage => ({ type: 'route-refresh', afi, safi, subtype });
