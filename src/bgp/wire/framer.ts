// Framer: cuts a TCP byte stream into whole BGP messages, checking each header before buffering the body (BIRD bgp_rx).
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH } from './constants.js';
import { checkHeader } from './header.js';
import type { BgpDecodeError } from './errors.js';

/**
 * Push chunks as they arrive; get back the complete messages (header included) in order. A bad header
 * (marker, length beyond `maxLength`, type) throws BgpDecodeError code 1 as soon as its 19 bytes are
 * in, before any body is buffered; the framer then stays failed and throws the same error again.
 */
export class Framer {
  /** Largest accepted message; raise to 65535 once extended messages are negotiated. */
  maxLength: number;
  private chunks: Buffer[] = [];
  private total = 0;
  private failed: BgpDecodeError | undefined;

  constructor(maxLength = MAX_MESSAGE_LENGTH) {
    this.maxLength = maxLength;
  }

  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return this.total;
  }

  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return [];
    this.chunks.push(chunk);
    this.total += chunk.length;
    const out: Buffer[] = [];
    while (this.total >= HEADER_LENGTH) {
      const head = this.peek(HEADER_LENGTH);
      let length: number;
      try {
        length = checkHeader(head, this.maxLength).length;
      } catch (e) {
        this.failed = e as BgpDecodeError;
        this.chunks = [];
        this.total = 0;
        throw e;
      }
      if (this.total < length) break;
      out.push(this.take(length));
    }
    return out;
  }

  /** The first n buffered bytes (n <= total), without consuming them. */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    this.chunks = [Buffer.concat(this.chunks, this.total)];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let msg: Buffer;
    if (first.length >= n) {
      msg = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks, this.total);
      msg = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.total -= n;
    return msg;
  }
}
