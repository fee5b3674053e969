// BgpReader: a bounded reader that checks every length before reading and fails with a context-specific BgpDecodeError.
import type { BgpDecodeError } from './errors.js';

/** Makes the error thrown when a read would cross the reader's end. */
export type ShortReadError = (detail: string) => BgpDecodeError;

export class BgpReader {
  private pos: number;
  private readonly end: number;

  constructor(
    private readonly buf: Buffer,
    private readonly onShort: ShortReadError,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }
  get offset(): number {
    return this.pos;
  }
  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos) throw this.onShort(`${what}: need ${n} bytes, ${this.end - this.pos} left`);
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }
  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  /** n bytes as a view into the message (copy it if you keep it beyond the message buffer's life). */
  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** A reader over the next n bytes (consumed from this one), failing with its own error. */
  sub(n: number, what: string, onShort: ShortReadError = this.onShort): BgpReader {
    this.need(n, what);
    const r = new BgpReader(this.buf, onShort, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
  /** The rest of this reader as a view. */
  rest(): Buffer {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }
}
