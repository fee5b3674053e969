// The 19-byte message header (RFC 4271 §4.1): marker, length and type checks shared by the framer and decodeMessage.
import { ErrorCode, HEADER_LENGTH, HeaderSubcode, MARKER_LENGTH, MAX_MESSAGE_LENGTH, MessageType } from './constants.js';
import { BgpDecodeError } from './errors.js';
import type { BgpWriter } from './writer.js';

/** Smallest legal length per message type (RFC 4271 §6.1, RFC 2918). */
const MIN_LENGTH: Record<number, number> = {
  [MessageType.OPEN]: 29,
  [MessageType.UPDATE]: 23,
  [MessageType.NOTIFICATION]: 21,
  [MessageType.KEEPALIVE]: 19,
  [MessageType.ROUTE_REFRESH]: 23,
};

export interface Header {
  length: number;
  type: number;
}

/**
 * Check the header at `buf[0..19)`: all-ones marker (Connection Not Synchronized), a length within
 * the type's bounds and `maxLength` (Bad Message Length, data: the length field), a known type
 * (Bad Message Type, data: the type). OPEN and KEEPALIVE stay within 4096 even with extended messages (RFC 8654).
 */
export function checkHeader(buf: Buffer, maxLength: number): Header {
  for (let i = 0; i < MARKER_LENGTH; i++)
    if (buf[i] !== 0xff) throw new BgpDecodeError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED, Buffer.alloc(0), 'session-reset', 'marker is not all ones');
  const length = buf.readUInt16BE(16);
  const type = buf[TYPE_OFFSET]!;
  const lengthField = buf.subarray(16, 18);
  const min = MIN_LENGTH[type];
  if (min === undefined) {
    if (length < HEADER_LENGTH || length > maxLength) throw new BgpDecodeError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, lengthField, 'session-reset', `length ${length}`);
    throw new BgpDecodeError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_TYPE, Buffer.from([type]), 'session-reset', `message type ${type}`);
  }
  const max = type === MessageType.OPEN || type === MessageType.KEEPALIVE ? Math.min(maxLength, MAX_MESSAGE_LENGTH) : maxLength;
  if (length < min || length > max || (type === MessageType.KEEPALIVE && length !== HEADER_LENGTH))
    throw new BgpDecodeError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, lengthField, 'session-reset', `length ${length} for message type ${type} (allowed ${min}..${max})`);
  return { length, type };
}

export function writeHeader(w: BgpWriter, type: number): number {
  w.fill(0xff, MARKER_LENGTH);
  const at = w.reserveU16();
  w.u8(type);
  return at;
}

/** Offset of the type field in the header. */
export const TYPE_OFFSET = MARKER_LENGTH + 2;

/** The type field of a framed message, or undefined when the buffer is shorter than a header. */
export function messageTypeOf(buf: Buffer): number | undefined {
  return buf.length >= HEADER_LENGTH ? buf[TYPE_OFFSET] : undefined;
}
