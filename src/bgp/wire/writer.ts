// BgpWriter: a growable big-endian byte writer with back-patched length fields.

export class BgpWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.len;
  }

  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Values out of a field's range throw RangeError (never silently truncated). */
  u8(v: number): this {
    if (!(v >= 0 && v <= 0xff && Number.isInteger(v))) throw new RangeError(`${v} does not fit 1 byte`);
    this.grow(1);
    this.buf[this.len++] = v;
    return this;
  }
  u16(v: number): this {
    if (!(v >= 0 && v <= 0xffff && Number.isInteger(v))) throw new RangeError(`${v} does not fit 2 bytes`);
    this.grow(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
    return this;
  }
  u32(v: number): this {
    if (!(v >= 0 && v <= 0xffffffff && Number.isInteger(v))) throw new RangeError(`${v} does not fit 4 bytes`);
    this.grow(4);
    this.buf.writeUInt32BE(v, this.len);
    this.len += 4;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  fill(v: number, n: number): this {
    this.grow(n);
    this.buf.fill(v, this.len, this.len + n);
    this.len += n;
    return this;
  }
  /** Reserve a 2-byte field to fill in later with setU16; returns its offset. */
  reserveU16(): number {
    const at = this.len;
    this.u16(0);
    return at;
  }
  reserveU8(): number {
    const at = this.len;
    this.u8(0);
    return at;
  }
  setU16(at: number, v: number): void {
    if (!(v >= 0 && v <= 0xffff)) throw new RangeError(`${v} does not fit 2 bytes`);
    this.buf.writeUInt16BE(v, at);
  }
  setU8(at: number, v: number): void {
    if (!(v >= 0 && v <= 0xff)) throw new RangeError(`${v} does not fit 1 byte`);
    this.buf[at] = v;
  }
  /** A copy of what was written. */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}
