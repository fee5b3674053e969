// The sync thread's delta queue and its coalescing rule (worker.ts): flows are queued as they
// come out of the ring buffer (bounded: the excess is dropped and counted) and leave in
// packet-sized batches. At most `packetsPerTick` delta packets leave between two tick() calls (the
// rest waits for the next). A full batch leaves at once. A partial batch leaves at once while more
// than half of the tick's packets are left (light load: a flow is not kept waiting for company
// that may not come); past that it waits at most one window after its first entry, so under load
// the packets fill up. A burst packs anyway: while the thread works the ring fills, and a drain
// brings many entries at once. Partial packets only go out when the sender has caught up (fewer
// than a packet queued), so they never lower the rate a backlog drains at.
// Clock and timer are injected: the rule is tested with counts, never with timing.

export interface SendQueueOptions {
  recordLen: number;
  perPacket: number;
  /** Records queued at most; beyond, dropped and counted (onDrop). */
  limit: number;
  /** Longest wait (ms) of a partial batch after its first entry. */
  windowMs: number;
  /** Delta packets that may leave between two tick() calls. */
  packetsPerTick: number;
  /** Milliseconds, monotonic. */
  now(): number;
  /** Run fn after ms; returns the cancel function. */
  schedule(fn: () => void, ms: number): () => void;
  /** One batch to every peer that can take it. */
  ship(batch: Buffer): void;
  onDrop(n: number): void;
}

export class SendQueue {
  private parts: Buffer[] = [];
  private count = 0;
  /** When the oldest unsent entry was queued (valid while count > 0). */
  private firstAt = 0;
  private budget: number;
  private cancel: (() => void) | undefined;

  constructor(private readonly o: SendQueueOptions) {
    if (o.perPacket < 1 || o.packetsPerTick < 1 || o.windowMs < 0) throw new RangeError('send queue: perPacket and packetsPerTick ≥ 1, windowMs ≥ 0');
    this.budget = o.packetsPerTick;
  }

  get queued(): number {
    return this.count;
  }

  /** Queue records (whole records of recordLen bytes) and send what the rule lets leave now. */
  add(records: Buffer): void {
    let n = Math.floor(records.length / this.o.recordLen);
    const room = this.o.limit - this.count;
    if (n > room) {
      this.o.onDrop(n - room);
      n = room;
    }
    if (n <= 0) return;
    const now = this.o.now();
    if (this.count === 0) this.firstAt = now;
    this.parts.push(records.subarray(0, n * this.o.recordLen));
    this.count += n;
    this.pump(this.light());
  }

  /** A new tick: the packet budget is refilled and what waited for it leaves. */
  tick(): void {
    this.budget = this.o.packetsPerTick;
    this.pump(this.light());
  }

  /** More than half of this tick's packets left (light load). */
  light(): boolean {
    return 2 * this.budget > this.o.packetsPerTick;
  }

  /** Forget every queued record (nobody to send them to); returns how many. */
  clear(): number {
    const n = this.count;
    this.parts = [];
    this.count = 0;
    this.disarm();
    return n;
  }

  /** Send full batches; the partial rest too when `all` or its window is over; else arm the timer. */
  private pump(all: boolean): void {
    if (this.count === 0) return this.disarm();
    const due = all || this.o.now() - this.firstAt >= this.o.windowMs;
    const buf = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    const step = this.o.perPacket * this.o.recordLen;
    let off = 0;
    while (this.budget > 0 && off < buf.length && (buf.length - off >= step || due)) {
      this.o.ship(buf.subarray(off, off + step));
      off += step;
      this.budget--;
    }
    const rest = buf.subarray(off);
    this.parts = rest.length ? [rest] : [];
    this.count = rest.length / this.o.recordLen;
    if (this.count === 0) return this.disarm();
    if (this.budget === 0) return this.disarm(); // tick() sends the rest
    // the rest is a partial batch: it leaves when the window of its oldest entry ends
    if (!this.cancel) {
      const wait = Math.max(0, this.firstAt + this.o.windowMs - this.o.now());
      this.cancel = this.o.schedule(() => {
        this.cancel = undefined;
        this.pump(true); // a coarse timer may fire a little early: its window is over
      }, wait);
    }
  }

  private disarm(): void {
    if (this.cancel) this.cancel();
    this.cancel = undefined;
  }
}
