// Whole messages: encodeMessage / decodeMessage (header + body) and describeMessage for logs.
import { EdgelbError } from '../../lib/errors.js';
import type { BgpMessage, CodecContext } from './types.js';

/** Encode a message with its 19-byte header. Throws EDGELB_ERR_INVALID_ARGUMENT if it cannot be sent in ctx. */
export function encodeMessage(msg: BgpMessage, ctx: CodecContext): Buffer {
  void msg; void ctx;
  throw new EdgelbError('EDGELB_ERR_INTERNAL', 'encodeMessage: not implemented yet');
}

/** Decode one complete message (header included). Throws BgpDecodeError; recoverable UPDATE errors come back in `errors`. */
export function decodeMessage(buf: Buffer, ctx: CodecContext): BgpMessage {
  void buf; void ctx;
  throw new EdgelbError('EDGELB_ERR_INTERNAL', 'decodeMessage: not implemented yet');
}

/** One line for logs. */
export function describeMessage(msg: BgpMessage): string {
  return msg.type;
}
