// Whole messages: encodeMessage / decodeMessage (header + body) and describeMessage for logs.
import { EdgelbError } from '../../lib/errors.js';
import { ErrorCode, HEADER_LENGTH, HeaderSubcode, MAX_MESSAGE_LENGTH, MessageType } from './constants.js';
import { BgpDecodeError } from './errors.js';
import { checkHeader, writeHeader } from './header.js';
import { decodeOpen, describeOpen, encodeOpen } from './open.js';
import { decodeUpdate, describeUpdate, encodeUpdate } from './update.js';
import {
  decodeNotification,
  decodeRouteRefresh,
  describeNotification,
  describeRouteRefresh,
  encodeNotification,
  encodeRouteRefresh,
} from './notification.js';
import { BgpWriter } from './writer.js';
import type { BgpMessage, CodecContext } from './types.js';

const TYPE_CODE: Record<BgpMessage['type'], number> = {
  open: MessageType.OPEN,
  update: MessageType.UPDATE,
  notification: MessageType.NOTIFICATION,
  keepalive: MessageType.KEEPALIVE,
  'route-refresh': MessageType.ROUTE_REFRESH,
};

/**
 * Encode a message with its 19-byte header. Throws EdgelbError EDGELB_ERR_INVALID_ARGUMENT for a value
 * that cannot be encoded or a message longer than ctx.maxLength (4096 for OPEN and KEEPALIVE).
 */
export function encodeMessage(msg: BgpMessage, ctx: CodecContext): Buffer {
  const w = new BgpWriter(msg.type === 'keepalive' ? HEADER_LENGTH : 128);
  const lenAt = writeHeader(w, TYPE_CODE[msg.type]);
  try {
    switch (msg.type) {
      case 'open':
        encodeOpen(w, msg);
        break;
      case 'update':
        encodeUpdate(w, msg, ctx);
        break;
      case 'notification':
        encodeNotification(w, msg);
        break;
      case 'route-refresh':
        encodeRouteRefresh(w, msg);
        break;
      case 'keepalive':
        break;
    }
  } catch (e) {
    if (e instanceof EdgelbError) throw e;
    throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `cannot encode ${msg.type}: ${(e as Error).message}`, { cause: e });
  }
  const max = msg.type === 'open' || msg.type === 'keepalive' ? MAX_MESSAGE_LENGTH : ctx.maxLength;
  if (w.length > max) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `${msg.type} of ${w.length} bytes exceeds the ${max}-byte maximum`);
  w.setU16(lenAt, w.length);
  return w.toBuffer();
}

/**
 * Decode one complete message (header included; the framer's output). Throws BgpDecodeError with the
 * NOTIFICATION to send; an UPDATE with recoverable RFC 7606 errors is returned with `errors` (and
 * `treatAsWithdraw` when that applies) instead.
 */
export function decodeMessage(buf: Buffer, ctx: CodecContext): BgpMessage {
  if (buf.length < HEADER_LENGTH)
    throw new BgpDecodeError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, Buffer.alloc(0), 'session-reset', `message of ${buf.length} bytes is shorter than a header`);
  const h = checkHeader(buf, ctx.maxLength);
  if (h.length !== buf.length)
    throw new BgpDecodeError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, buf.subarray(16, 18), 'session-reset', `length field ${h.length} but ${buf.length} bytes given`);
  const body = buf.subarray(HEADER_LENGTH);
  switch (h.type) {
    case MessageType.OPEN:
      return decodeOpen(body, h.length);
    case MessageType.UPDATE:
      return decodeUpdate(body, ctx);
    case MessageType.NOTIFICATION:
      return decodeNotification(body);
    case MessageType.KEEPALIVE:
      return { type: 'keepalive' };
    default:
      return decodeRouteRefresh(body, buf);
  }
}

/** One line for logs. */
export function describeMessage(msg: BgpMessage): string {
  switch (msg.type) {
    case 'open':
      return describeOpen(msg);
    case 'update':
      return describeUpdate(msg);
    case 'notification':
      return describeNotification(msg);
    case 'route-refresh':
      return describeRouteRefresh(msg);
    case 'keepalive':
      return 'KEEPALIVE';
  }
}
